"""Textual terminal UI (the only subpackage that imports textual)."""
