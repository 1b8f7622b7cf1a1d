"""Plain-text tables: the one formatter behind every table the CLI prints and the reports write.

Headless and light (no pandas import at module level), so the CLI can import it at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["LANGS", "check_lang", "format_rows", "format_table", "problems_table"]

#: Languages of every table header and label gridscope writes (English, Chinese).
LANGS: tuple[str, ...] = ("en", "zh")


def check_lang(lang: str) -> str:
    """``lang`` normalised (``"ZH "`` → ``"zh"``); an :class:`~gridscope.errors.InputError` unless it is in
    :data:`LANGS`."""
    key = str(lang).strip().lower()
    if key not in LANGS:
        from .errors import InputError

        raise InputError(f"unknown language {lang!r}: use 'en' or 'zh'")
    return key


def _cell(value: Any, fmt: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if fmt is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return fmt.format(value)
    return str(value)


def format_rows(header: Sequence[str], rows: Iterable[Sequence[Any]], *, formats: Sequence[str | None] | None = None,
                right: Sequence[bool] | None = None) -> str:
    """Align ``rows`` under ``header``.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : iterable of sequences
        Cell values; NaN and None print as ``-``.
    formats : sequence of str or None, optional
        A ``str.format`` pattern per column for numbers (``"{:.3f}"``); None prints ``str(value)``.
    right : sequence of bool, optional
        Right-align the column (default: left for the first column, right for the others).

    Returns
    -------
    str
        The table, lines joined by newlines, trailing blanks stripped.
    """
    n = len(header)
    formats = list(formats) if formats is not None else [None] * n
    right = list(right) if right is not None else [i > 0 for i in range(n)]
    cells = [[_cell(v, formats[i]) for i, v in enumerate(row)] for row in rows]
    widths = [max([len(header[i]), *(len(r[i]) for r in cells)]) for i in range(n)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if right[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths,
                                                                                             strict=True))).rstrip()

    return "\n".join([line(list(header)), *(line(r) for r in cells)])


def format_table(df: Any, floatfmt: Mapping[str, str] | None = None, *, default: str = "{:.4g}") -> str:
    """Render a DataFrame as an aligned plain-text table, index first.

    Parameters
    ----------
    df : pandas.DataFrame
    floatfmt : mapping of column name to format, optional
        ``str.format`` pattern per column for floats; other floats use ``default``.
    default : str
        Pattern for float columns not in ``floatfmt``.
    """
    floatfmt = dict(floatfmt or {})
    header = [str(df.index.name or ""), *map(str, df.columns)]
    formats: list[str | None] = [None]
    for c in df.columns:
        formats.append(floatfmt.get(str(c), default) if df[c].dtype.kind == "f" else floatfmt.get(str(c)))
    rows = ([idx, *row] for idx, row in zip(df.index, df.itertuples(index=False, name=None), strict=True))
    return format_rows(header, rows, formats=formats)


def problems_table(problems: Sequence[Any]) -> str:
    """Validation problems as a table (table, index, name, problem) with a closing count line."""
    rows = [(p.table, "" if p.index is None else p.index, "" if p.name is None else p.name, p.message)
            for p in problems]
    text = format_rows(("table", "index", "name", "problem"), rows, right=[False] * 4)
    return f"{text}\n{len(problems)} problem(s)"
