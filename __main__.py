"""``python -m gridscope`` runs the command-line interface."""

from gridscope.cli import main

if __name__ == "__main__":
    main()
