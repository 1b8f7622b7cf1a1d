"""The disclosure table (可开放容量信息公开表): open capacity in the shape grid companies publish.

One row per substation, main transformer (主变), 10 kV feeder and distribution transformer (配变), each with
its name, voltage, rating, maximum load, load rate, reserved capacity (已批未接), open capacity, N-1 open
capacity, grade and a note (``note``, 备注: on a feeder row the pre-existing violations off the supply path that
a load at the feeder's buses would make worse, from the bus table's ``ac_offpath_note``: a note, not a limit).
Every figure is *copied* from the open-capacity tables of
:func:`gridscope.assess_capacity` (:class:`~gridscope.capacity.api.CapacityResult`); nothing is recomputed
here, so the disclosure can never disagree with ``cap.table(level)``.

Headers in English or Chinese (``lang="zh"``: 层级, 名称, 电压等级(kV), 额定容量(MVA), 最大负荷(MVA), 负载率(%),
已批未接(MVA), 可开放容量(MVA), N-1可开放容量(MVA), 等级, 备注). Written atomically, text cells formula-safe
(:mod:`gridscope.cells`), as one Excel sheet plus the metadata sheet, or one CSV file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..cells import safe_frame
from ..errors import InputError
from ..grid.io import atomic_write
from ..textfmt import check_lang
from .export import export_tables, translate
from .open_capacity import resolve_level

__all__ = ["DISCLOSURE_COLUMNS", "DISCLOSURE_LEVELS", "LEVEL_NAMES_ZH", "disclosure_table", "feeder_offpath_notes",
           "write_disclosure"]

#: Levels of the disclosure, top down (the bus level is not published).
DISCLOSURE_LEVELS: tuple[str, ...] = ("substation", "main_transformer", "feeder", "distribution_transformer")

#: Columns of the disclosure table, in order. ``parent`` is the substation of a main transformer or feeder
#: and the feeder of a distribution transformer; ``id`` the row's id in its level's table.
DISCLOSURE_COLUMNS: list[str] = ["level", "id", "name", "parent", "voltage_kv", "rating_mva", "peak_mva",
                                 "load_rate_percent", "reserved_mva", "open_capacity_mva",
                                 "n1_open_capacity_mva", "grade", "note"]

#: Chinese names of the levels (the ``level`` column with ``lang="zh"``; a feeder with a voltage is named by it,
#: ``11kV线路``).
LEVEL_NAMES_ZH: dict[str, str] = {"substation": "变电站", "main_transformer": "主变", "feeder": "10kV线路",
                                  "distribution_transformer": "配变"}

_PARENT = {"main_transformer": "substation", "feeder": "substation", "distribution_transformer": "feeder"}
_HEADERS_ZH = {"level": "层级", "parent": "所属"}  # the others: capacity.export.COLUMNS_ZH
_SHEET = {"en": "disclosure", "zh": "可开放容量公开"}


def disclosure_table(result: Any, *, levels: tuple[str, ...] | list[str] | None = None) -> pd.DataFrame:
    """The disclosure rows of a capacity result, copied from its level tables.

    Parameters
    ----------
    result : CapacityResult
        From :func:`gridscope.assess_capacity` (with ``net["reserved_capacity"]`` or CLI ``--reserved`` for
        the reserved column).
    levels : sequence of str, optional
        Levels to include (default :data:`DISCLOSURE_LEVELS`); aliases as in
        :func:`~gridscope.capacity.open_capacity.resolve_level`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DISCLOSURE_COLUMNS` (English names, level codes as values), rows level by level in
        the order of each level's table. ``note`` is empty except on feeder rows whose buses carry an
        ``ac_offpath_note`` in the bus table (:func:`feeder_offpath_notes`).

    Raises
    ------
    InputError
        Unknown level, or the bus level (not part of a disclosure).
    """
    chosen = [resolve_level(lv) for lv in (levels if levels is not None else DISCLOSURE_LEVELS)]
    bad = [lv for lv in chosen if lv not in DISCLOSURE_LEVELS]
    if bad:
        raise InputError(f"level(s) {', '.join(bad)} are not part of the disclosure table; use "
                         f"{', '.join(DISCLOSURE_LEVELS)}")
    parts = []
    for level in DISCLOSURE_LEVELS:
        if level not in chosen:
            continue
        t = result.table(level)
        part = pd.DataFrame({c: t[c] if c in t.columns else pd.Series(float("nan"), index=t.index)
                             for c in DISCLOSURE_COLUMNS if c not in ("level", "parent", "note")})
        notes = feeder_offpath_notes(result) if level == "feeder" else {}
        part["note"] = [notes.get(n, "") for n in t["name"]] if "name" in t.columns else ""
        parent = _PARENT.get(level)
        part.insert(0, "level", level)
        part.insert(3, "parent", t[parent].astype(object) if parent and parent in t.columns else None)
        parts.append(part)
    if not parts or not any(len(p) for p in parts):
        return pd.DataFrame(columns=DISCLOSURE_COLUMNS)
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return out[DISCLOSURE_COLUMNS]


def feeder_offpath_notes(result: Any) -> dict[Any, str]:
    """Per feeder name, the distinct off-path notes of its buses (bus table ``ac_offpath_note``), joined.

    Parameters
    ----------
    result : CapacityResult

    Returns
    -------
    dict
        Feeder name -> ``"<n> bus(es): <note>; <note>"``; feeders without a note (and every feeder when the bus
        table has no exact AC columns) are absent.
    """
    tables = getattr(result, "tables", {})
    bus = tables.get("bus") if isinstance(tables, dict) else None
    if bus is None or "ac_offpath_note" not in bus.columns or "feeder" not in bus.columns:
        return {}
    note = bus["ac_offpath_note"].fillna("").astype(str)
    has = bus[(note != "") & bus["feeder"].notna()].assign(_note=note)
    out: dict[Any, str] = {}
    for feeder, grp in has.groupby("feeder", sort=False):
        distinct = list(dict.fromkeys(grp["_note"]))
        out[feeder] = f"{len(grp)} bus(es): " + "; ".join(distinct)
    return out


def _localised(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``table`` with the level names and the two headers :mod:`.export` does not know in ``lang``."""
    if lang != "zh":
        return table
    out = table.copy()
    names = out["level"].map(lambda v: LEVEL_NAMES_ZH.get(v, v))
    # a feeder is named by its own voltage (20 kV SimBench feeders are not 10kV线路)
    kv = pd.to_numeric(out["voltage_kv"], errors="coerce")
    feeder = (out["level"] == "feeder") & kv.notna()
    names[feeder] = [f"{v:g}kV线路" for v in kv[feeder]]
    out["level"] = names
    return out.rename(columns=_HEADERS_ZH)


def write_disclosure(result: Any, path: str | os.PathLike[str], *, lang: str = "en", overwrite: bool = False,
                     levels: tuple[str, ...] | list[str] | None = None) -> list[Path]:
    """Write the disclosure table of ``result`` as Excel (``.xlsx``) or CSV (``.csv``).

    Parameters
    ----------
    result : CapacityResult
        From :func:`gridscope.assess_capacity`.
    path : path-like
        ``.xlsx``: one sheet (``disclosure`` / ``可开放容量公开``, grades coloured) plus the metadata sheet,
        through :func:`gridscope.capacity.export.export_tables`. ``.csv``: that one file (UTF-8, with a
        byte-order mark for ``lang="zh"`` so Excel shows the Chinese headers), text cells escaped.
    lang : {"en", "zh"}
        Header language.
    overwrite : bool
        Replace an existing file (CLI ``--force``).
    levels : sequence of str, optional
        See :func:`disclosure_table`.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    InputError
        Unknown language or suffix, or an existing file without ``overwrite``.
    """
    key = check_lang(lang)
    suffix = Path(path).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError(f"the disclosure table is written as .xlsx or .csv, got {os.fspath(path)!r}")
    table = _localised(disclosure_table(result, levels=levels), key)
    if suffix == ".xlsx":
        return export_tables({_SHEET[key]: table}, result.metadata(), path, fmt="xlsx", lang=key,
                             overwrite=overwrite)
    safe = safe_frame(translate(table, key))
    encoding = "utf-8-sig" if key == "zh" else "utf-8"
    return [atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False, encoding=encoding),
                         overwrite=overwrite)]
