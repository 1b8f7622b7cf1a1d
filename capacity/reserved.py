"""Reserved capacity (已批未接, approved but not yet connected) read from the planner's CSV or Excel file.

:func:`read_reserved` turns the file into the ``net["reserved_capacity"]`` table of DESIGN.md §2
(``element``, ``element_index``, ``p_mw``, ``note``), checking every row and reporting all problems at once.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..grid.untrusted import read_input_table

__all__ = ["ELEMENT_ALIASES", "read_reserved"]

#: Element names accepted in the ``element`` column (English table names and the usual Chinese terms).
ELEMENT_ALIASES: dict[str, str] = {
    "bus": "bus", "母线": "bus", "节点": "bus",
    "load": "load", "负荷": "load", "用户": "load",
    "trafo": "trafo", "transformer": "trafo", "变压器": "trafo", "配变": "trafo", "主变": "trafo",
    "line": "line", "线路": "line", "馈线": "line",
}

#: Power units accepted in an optional ``unit`` column, as the factor to MW.
_UNIT_TO_MW = {"mw": 1.0, "kw": 1e-3}


def _power_mw(row: pd.Series, columns: set[str]) -> tuple[float, str | None]:
    """The row's active power in MW from ``p_mw`` or ``p_kw``, scaled by an optional ``unit`` column."""
    col = "p_mw" if "p_mw" in columns else "p_kw"
    raw = row.get(col)
    factor = 1.0 if col == "p_mw" else 1e-3
    if "unit" in columns and isinstance(row.get("unit"), str) and row["unit"].strip():
        unit = row["unit"].strip().lower()
        if unit not in _UNIT_TO_MW:
            return math.nan, f"unit {row['unit']!r} is not MW or kW"
        factor = _UNIT_TO_MW[unit]
    value = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
    if not (math.isfinite(value) and value >= 0):
        return math.nan, f"{col} {raw!r} must be a finite number >= 0"
    return float(value) * factor, None


def _element_index(net: Any, element: str, row: pd.Series, columns: set[str]) -> tuple[int, str | None]:
    """The element's index from ``element_index`` or, failing that, from its ``name``."""
    raw = row.get("element_index") if "element_index" in columns else None
    if isinstance(raw, str) and raw.strip():
        try:
            idx = int(float(raw))
        except ValueError:
            return -1, f"element_index {raw!r} is not an integer"
        if idx not in net[element].index:
            return -1, f"{element} {idx} does not exist"
        return idx, None
    name = row.get("name") if "name" in columns else None
    if not (isinstance(name, str) and name.strip()):
        return -1, "neither element_index nor name given"
    hits = net[element].index[net[element]["name"].astype(str) == name.strip()]
    if len(hits) != 1:
        return -1, f"{element} named {name!r} {'does not exist' if len(hits) == 0 else 'is not unique'}"
    return int(hits[0]), None


def read_reserved(path: str | os.PathLike[str], net: Any, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read the reserved-capacity file into a ``net["reserved_capacity"]`` table.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv`` (UTF-8) or ``.xlsx`` with columns ``element`` (bus/load/trafo/line or 母线/负荷/配变/线路...),
        ``element_index`` or ``name``, ``p_mw`` or ``p_kw`` (an optional ``unit`` column, MW or kW, overrides
        the column's unit), optional ``note``.
    net : pandapowerNet
        The network the rows refer to; it is not modified.
    sheet : str or int
        Excel sheet name or position.

    Returns
    -------
    pandas.DataFrame
        Columns ``element``, ``element_index``, ``p_mw``, ``note``.

    Raises
    ------
    InputError
        Listing every bad row (file row numbers, header = row 1) or a missing column, unreadable or
        oversized file.
    """
    path = Path(path)
    raw = read_input_table(path, what="reserved capacity file", sheet=sheet)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    columns = set(raw.columns)
    missing = [label for label, ok in (("element", "element" in columns),
                                       ("element_index or name", bool({"element_index", "name"} & columns)),
                                       ("p_mw or p_kw", bool({"p_mw", "p_kw"} & columns))) if not ok]
    if missing:
        raise InputError(f"{path}: missing column(s): {', '.join(missing)}")
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, int], int] = {}
    for pos, row in raw.iterrows():
        file_row = int(pos) + 2  # header is row 1
        text = str(row["element"]).strip() if isinstance(row["element"], str) else ""
        element = ELEMENT_ALIASES.get(text.lower(), ELEMENT_ALIASES.get(text))
        if element is None or element not in net:
            problems.append(f"row {file_row}: element {row['element']!r} is not one of "
                            "bus/load/trafo/line (母线/负荷/配变/线路)")
            continue
        idx, why_idx = _element_index(net, element, row, columns)
        p_mw, why_p = _power_mw(row, columns)
        for why in (why_idx, why_p):
            if why:
                problems.append(f"row {file_row}: {why}")
        if why_idx or why_p:
            continue
        if (element, idx) in seen:
            problems.append(f"row {file_row}: {element} {idx} repeats row {seen[(element, idx)]}")
            continue
        seen[(element, idx)] = file_row
        note = row.get("note") if "note" in columns else None
        rows.append({"element": element, "element_index": idx, "p_mw": p_mw,
                     "note": note if isinstance(note, str) else ""})
    if problems:
        raise InputError(f"{path} has {len(problems)} invalid row(s):\n  " + "\n  ".join(problems))
    return pd.DataFrame(rows, columns=["element", "element_index", "p_mw", "note"])
