"""What every ``gridscope`` command shares: error handling (no tracebacks, exit codes), the problems table and
the one progress bar. Used by :mod:`gridscope.cli` and :mod:`gridscope.cli_study`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from .errors import GridscopeError, InputError, ValidationError

__all__ = ["handle_errors", "parse_targets", "print_problems", "progress_bar"]


def print_problems(problems: list[Any], *, file: Any = None) -> None:
    """Print validation problems as an aligned table (table, index, name, problem) with a count line."""
    from .textfmt import problems_table

    click.echo(problems_table(problems), file=file or sys.stderr)


def progress_bar() -> Callable[[Any], None] | None:
    """The one progress display of the CLI: a bar with ETA on stderr, only when stderr is a terminal.

    It receives :class:`gridscope.progress.Progress` records from every long call (Monte Carlo, time series,
    exact bus capacity, capacity tables, connection evaluation); Ctrl-C cancels.
    """
    if not sys.stderr.isatty():
        return None
    state = {"what": None}

    def show(p: Any) -> None:
        if state["what"] not in (None, p.what):
            sys.stderr.write("\n")
        state["what"] = p.what
        eta = p.eta_s
        eta_text = f"ETA {eta:6.1f} s" if eta == eta else "ETA      - "
        figures = "  ".join(f"{k} {v:.4g}" for k, v in list(p.figures.items())[:2])
        sys.stderr.write(f"\r{p.what}: [{'#' * int(30 * p.fraction):<30}] {p.done:,.0f}/{p.total:,.0f}  "
                         f"{eta_text}  {figures}  (Ctrl-C to cancel)")
        if p.done >= p.total:
            sys.stderr.write("\n")
            state["what"] = None
        sys.stderr.flush()

    return show


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for commands: print gridscope errors without a traceback and exit with their code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            click.echo(f"error: {str(exc).splitlines()[0]}", err=True)  # names the network in a many-net study
            print_problems(exc.problems)
            sys.exit(exc.exit_code)
        except GridscopeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(130)

    return wrapper


def parse_targets(items: tuple[str, ...], zones: list[str] | None = None) -> dict[str, float]:
    """``--target ZONE=PERCENT`` items as a dict; with ``zones`` (the network's), a zone not among them is refused."""
    out, bad = {}, []
    for item in items:
        zone, _, value = item.partition("=")
        try:
            out[zone.strip()] = float(value)
        except ValueError:
            bad.append(item)
    problems = [f"--target takes ZONE=PERCENT (e.g. B=99.965), got: {', '.join(bad)}"] if bad else []
    unknown = [z for z in out if zones is not None and z not in zones]
    if unknown:
        problems.append(f"--target names zone(s) not in the network: {', '.join(unknown)}; "
                        f"its zones are: {', '.join(zones or [])}")
    if problems:
        raise InputError("; ".join(problems))
    return out
