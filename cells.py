"""The one rule for writing text into spreadsheet cells safely (CSV and Excel), against formula injection.

A spreadsheet treats a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (also tab and carriage return,
and the full-width ``＝ ＋ － ＠`` that Excel normalises) as a formula. Element names and notes come from
network files of any origin, so every exported table passes its text through here:

* CSV (:func:`safe_text`, :func:`safe_frame`): such text gets a leading single quote, as the OWASP
  CSV-injection advice says; a spreadsheet then shows it as text. :func:`unescape_text` undoes it.
* Excel (:func:`write_safe_cell`, :func:`write_frame`; :func:`append_safe_rows` for write-only sheets):
  openpyxl makes any ``str`` starting with ``=`` a formula cell; such text is stored as an explicit string cell
  (``data_type "s"``) with the ``quotePrefix`` style, so Excel neither evaluates it nor turns it into a formula
  when the cell is edited. The text itself is unchanged.

Only text is escaped: numbers (negative ones included) stay numbers, and text that is exactly a plain decimal
number (``"-2.5"``) is harmless and left as it is. Text with leading spaces before a trigger is escaped too.
Headless: no spreadsheet library is imported here (openpyxl worksheets are passed in).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "append_safe_rows", "is_risky", "safe_frame", "safe_text", "unescape_text",
           "write_frame", "write_safe_cell"]

#: First characters that make a spreadsheet read a cell as a formula (ASCII and full-width forms).
FORMULA_TRIGGERS: frozenset[str] = frozenset("=+-@\t\r＝＋－＠")

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# Characters openpyxl refuses in a cell (XML 1.0 control characters); replaced so an export never fails.
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")


def is_risky(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula (see :data:`FORMULA_TRIGGERS`)."""
    stripped = text.lstrip(" ")
    if not stripped or stripped[0] not in FORMULA_TRIGGERS:
        return False
    return _PLAIN_NUMBER.fullmatch(stripped) is None


def safe_text(value: Any) -> Any:
    """``value`` for a CSV cell: risky text gets a leading ``'``; anything that is not text is returned as is.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object
        ``"'" + value`` for risky text, else ``value`` unchanged.
    """
    if isinstance(value, str) and is_risky(value):
        return "'" + value
    return value


def unescape_text(value: Any) -> Any:
    """Undo :func:`safe_text` (for reading an exported CSV back)."""
    if isinstance(value, str) and value.startswith("'") and is_risky(value[1:]):
        return value[1:]
    return value


def _holds_text(dtype: Any) -> bool:
    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype)


def _safe_labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.set_levels([_safe_labels(level) for level in index.levels])
    if _holds_text(index.dtype):
        return index.map(safe_text)
    return index


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` ready for ``to_csv``: text in object/string/categorical columns, the index and the
    column labels passed through :func:`safe_text`; numeric columns untouched."""
    out = df.copy()
    for col in out.columns:
        if _holds_text(out[col].dtype):
            out[col] = out[col].astype(object).map(safe_text)
    out.index = _safe_labels(out.index)
    out.columns = _safe_labels(out.columns)
    return out


def _cell_value(value: Any) -> Any:
    """A value openpyxl accepts: numpy scalars to Python, NaN/NaT to empty, other objects to text."""
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, bool | int | float | str) or hasattr(value, "isoformat"):
        return value
    return str(value)


def write_safe_cell(ws: Any, row: int, col: int, value: Any) -> Any:
    """Write ``value`` to cell (``row``, ``col``) (1-based) of the openpyxl worksheet ``ws``, never as a formula.

    Parameters
    ----------
    ws : openpyxl.worksheet.worksheet.Worksheet
        The sheet.
    row, col : int
        1-based position.
    value : object
        Numbers, booleans and dates are written as such; text as an explicit string cell, with the
        ``quotePrefix`` style when it is risky (:func:`is_risky`).

    Returns
    -------
    openpyxl.cell.Cell
        The cell (for styling).
    """
    value = _cell_value(value)
    if isinstance(value, str):
        value = _ILLEGAL_XML.sub("\ufffd", value)
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        # openpyxl infers "f" (formula) for "=..." and "e" for error codes: the text is plain text.
        cell.data_type = "s"
        if is_risky(value):
            cell.quotePrefix = True
    return cell


def append_safe_rows(ws: Any, rows: Iterable[Sequence[Any]],
                     style: Callable[[int, Sequence[Any]], Mapping[int, Mapping[str, Any]] | None] | None = None
                     ) -> int:
    """Append ``rows`` to the write-only openpyxl worksheet ``ws`` with the rule of :func:`write_safe_cell`.

    A write-only workbook streams its rows (a 200k-row sheet in a third of the time and a fraction of the memory
    of :func:`write_safe_cell`'s random-access cells). Numbers, booleans, dates and harmless text go in as plain
    values; risky text (:func:`is_risky`), text that openpyxl would read as an error code (``#N/A``) and styled
    cells go in as cells of their own, text with ``data_type "s"`` (and ``quotePrefix`` when risky).

    Parameters
    ----------
    ws : openpyxl.worksheet._write_only.WriteOnlyWorksheet
        The sheet (column widths and frozen panes must be set before the first row).
    rows : iterable of sequences
        The rows, in order.
    style : callable, optional
        ``style(i, values)`` -> ``{column position (0-based): {"fill": ..., "font": ...}}`` or None for row
        ``i`` (0-based).

    Returns
    -------
    int
        Rows written.
    """
    from openpyxl.cell import WriteOnlyCell  # deferred: headless callers never need openpyxl
    from openpyxl.cell.cell import ERROR_CODES

    n = 0
    for values in rows:
        styled = style(n, values) if style is not None else None
        out: list[Any] = []
        for j, raw in enumerate(values):
            value = _cell_value(raw)
            attrs = styled.get(j) if styled else None
            text = isinstance(value, str)
            if text:
                value = _ILLEGAL_XML.sub("\ufffd", value)
            risky = text and is_risky(value)
            if not (attrs or risky or (text and value in ERROR_CODES)):
                out.append(value)
                continue
            cell = WriteOnlyCell(ws, value=value)
            if text:
                cell.data_type = "s"
                if risky:
                    cell.quotePrefix = True
            for key, v in (attrs or {}).items():
                setattr(cell, key, v)
            out.append(cell)
        ws.append(out)
        n += 1
    return n


def write_frame(ws: Any, df: pd.DataFrame, *, start_row: int = 1, header: bool = True) -> int:
    """Write ``df`` (header row, then its rows; no index) into ``ws`` through :func:`write_safe_cell`.

    Returns
    -------
    int
        The next free row.
    """
    row = start_row
    if header:
        for j, c in enumerate(df.columns, start=1):
            write_safe_cell(ws, row, j, str(c))
        row += 1
    for values in df.itertuples(index=False, name=None):
        for j, v in enumerate(values, start=1):
            write_safe_cell(ws, row, j, v)
        row += 1
    return row
