"""The ``gridscope`` command line (click). Thin: parse, call the API, print or write.

Heavy libraries are imported inside the commands so ``gridscope --help`` stays instant. Every
:class:`~gridscope.errors.GridscopeError` is printed as one clear message (no traceback) and mapped to its
exit code; validation problems are printed as a table.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from .errors import GridscopeError, ValidationError


def print_problems(problems: list[Any], *, file: Any = None) -> None:
    """Print validation problems as an aligned table (table, index, name, message)."""
    out = file or sys.stderr
    rows = [(str(p.table), str(p.index), str(p.name if p.name is not None else ""), str(p.message))
            for p in problems]
    head = ("table", "index", "name", "problem")
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(3)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(head[:3], widths, strict=True)) + "  " + head[3], file=out)
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3], file=out)
    click.echo(f"{len(problems)} problem(s)", file=out)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for commands: print gridscope errors without a traceback and exit with their code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            print_problems(exc.problems)
            sys.exit(exc.exit_code)
        except GridscopeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gridscope")
def main() -> None:
    """gridscope: distribution-grid reliability and capacity analysis.

    NET is a built-in name (rbts2, rbts2-e, mv_oberrhein, cigre_mv, case33bw), a pandapower .json/.xlsx
    file, or simbench:<code>.
    """


# Commands are added below, one block per area (network, reliability, capacity). Keep each block thin.
