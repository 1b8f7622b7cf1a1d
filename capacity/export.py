"""The one export writer for capacity results: CSV, Excel and JSON, with English or Chinese headers.

Used by :class:`~gridscope.capacity.api.CapacityResult` (``to_excel`` / ``to_csv`` / ``to_json``), by
:class:`~gridscope.capacity.connection.ConnectionDecision`, by the CLI (``gridscope capacity --out``) and by
the TUI's export dialog. Every file is written atomically (:func:`gridscope.grid.io.atomic_write`; the CSV
set as a whole, :func:`~gridscope.grid.io.atomic_write_many`); an existing file is replaced only with
``overwrite=True`` (CLI ``--force``), and then all destinations are checked before anything is written. Text
that a spreadsheet would read as a formula (``=…``, ``+…``, ``-…``, ``@…``) is
written as text (Excel) or escaped with a leading ``'`` (CSV) by :mod:`gridscope.cells`; JSON is left as is.

=========  ==================================================================================================
format     layout
=========  ==================================================================================================
``xlsx``   one sheet per table (level) plus a ``metadata`` sheet (network, hash, date, limits, version);
           the ``grade`` column and the open-capacity cells are filled green / yellow / red.
``csv``    one file per table, ``<prefix>_<table>.csv`` (or ``<dir>/open_capacity_<table>.csv`` when given a
           directory), and ``<prefix>_metadata.csv``; UTF-8 (with a byte-order mark when ``lang="zh"``, so
           Excel shows the Chinese headers).
``json``   ``{"metadata": {...}, "tables": {"<table>": [{column: value, ...}, ...]}}``; NaN is ``null``.
=========  ==================================================================================================
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cells import append_safe_rows, safe_frame
from ..errors import InputError
from ..grid.io import atomic_write, atomic_write_many
from ..textfmt import check_lang
from .open_capacity import resolve_level

__all__ = ["COLUMNS_ZH", "GRADE_FILLS", "SHEETS_ZH", "export_tables", "translate", "write_capacity",
           "write_flags_csv"]

#: Chinese column headers (English header -> Chinese header).
COLUMNS_ZH: dict[str, str] = {
    "id": "编号",
    "name": "名称",
    "source": "电源",
    "n_units": "主变台数",
    "n_feeders": "出线数",
    "substation": "变电站",
    "feeder": "所属线路",
    "voltage_kv": "电压等级(kV)",
    "rating_mva": "额定容量(MVA)",
    "rating_a": "额定电流(A)",
    "limit_percent": "负载率限值(%)",
    "peak_mva": "最大负荷(MVA)",
    "peak_time": "最大负荷时刻",
    "load_rate_percent": "负载率(%)",
    "reserved_mva": "已批未接(MVA)",
    "open_capacity_mva": "可开放容量(MVA)",
    "n1_open_capacity_mva": "N-1可开放容量(MVA)",
    "binding_level": "受限环节",
    "binding_element": "受限元件",
    "grade": "等级",
    "n1_note": "N-1说明",
    "ties": "联络开关",
    "transfer_mva": "可转供容量(MVA)",
    # connection evaluation tables
    "rank": "排序",
    "bus": "母线",
    "distance_km": "距离(km)",
    "distance_kind": "距离类型",
    "open_capacity_mw": "可开放容量(MW)",
    "physical_capacity_mw": "物理极限容量(MW)",
    "decision": "结论",
    "element": "元件",
    "index": "索引",
    "kind": "限制类型",
    "loading_before_percent": "接入前负载率(%)",
    "loading_after_percent": "接入后负载率(%)",
    "value_before": "接入前",
    "value_after": "接入后",
    "limit": "限值",
    "action": "建议措施",
    "binding": "受限条件",
    "ac_open_capacity_mw": "精确可开放容量(MW)",
    "ac_binding": "精确受限条件",
    "ac_binding_element": "精确受限元件",
    "ac_physical_capacity_mw": "精确物理极限容量(MW)",
    "ac_physical_binding": "物理极限受限条件",
    "ac_physical_binding_element": "物理极限受限元件",
    "ac_offpath_note": "供电路径外越限说明",
    "note": "备注",
    "key": "项目",
    "value": "值",
}

#: Chinese sheet / table names.
SHEETS_ZH: dict[str, str] = {
    "substation": "变电站",
    "main_transformer": "主变",
    "feeder": "10kV线路",
    "distribution_transformer": "配变",
    "bus": "母线",
    "metadata": "说明",
    "candidates": "候选接入点",
    "reinforcements": "改造需求",
}

_VALUES_ZH: dict[str, str] = {
    "green": "绿", "yellow": "黄", "red": "红",
    "substation": "变电站", "main_transformer": "主变", "feeder": "线路", "line": "线路段",
    "distribution_transformer": "配变", "voltage": "电压", "bus": "母线",
    "connect": "可接入", "connect_then_reinforce": "先接入后改造", "reject": "不可接入",
}

#: openpyxl fill colours (RGB hex) per grade.
GRADE_FILLS: dict[str, str] = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE"}

_FORMATS = ("xlsx", "csv", "json")


def translate(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``df`` with headers (and grade / level / decision values) in ``lang`` (``"en"`` or ``"zh"``)."""
    lang = check_lang(lang)
    if lang == "en":
        return df
    out = df.copy()
    for col in ("grade", "binding_level", "decision", "source"):
        if col in out.columns:
            out[col] = out[col].map(lambda v: _VALUES_ZH.get(v, v) if isinstance(v, str) else v)
    return out.rename(columns={c: COLUMNS_ZH.get(c, c) for c in out.columns})


def _plain(value: Any) -> Any:
    """A JSON / Excel friendly scalar (NaN -> None, numpy -> Python, timestamps -> ISO text)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    if value is pd.NaT:
        return None
    return str(value)


def _destinations(path: str | os.PathLike[str], fmt: str, names: list[str]) -> dict[str, Path]:
    """Output file per table name (and ``metadata``) for ``fmt``."""
    p = Path(path)
    if fmt in ("xlsx", "json"):
        return {"*": p}
    if p.is_dir() or str(path).endswith(("/", os.sep)):
        return {n: p / f"open_capacity_{n}.csv" for n in [*names, "metadata"]}
    prefix = p.with_suffix("") if p.suffix.lower() == ".csv" else p
    return {n: prefix.parent / f"{prefix.name}_{n}.csv" for n in [*names, "metadata"]}


def _format_of(path: str | os.PathLike[str], fmt: str | None) -> str:
    if fmt is None:
        suffix = Path(path).suffix.lower().lstrip(".")
        fmt = {"xls": "xlsx"}.get(suffix, suffix)
        if fmt not in _FORMATS:
            if Path(path).is_dir() or str(path).endswith(("/", os.sep)):
                return "csv"
            raise InputError(f"cannot tell the export format of {os.fspath(path)!r}: end it in .xlsx, .csv or "
                             ".json (or give fmt=)")
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in _FORMATS:
        raise InputError(f"unknown export format {fmt!r}: use xlsx, csv or json")
    return fmt


def export_tables(tables: Mapping[str, pd.DataFrame], metadata: Mapping[str, Any],
                  path: str | os.PathLike[str], *, fmt: str | None = None, lang: str = "en",
                  overwrite: bool = False) -> list[Path]:
    """Write named tables and their metadata as Excel, CSV or JSON.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Table name (sheet / file / JSON key; translated with :data:`SHEETS_ZH` for ``lang="zh"``) to table.
    metadata : mapping
        Key/value provenance written to the metadata sheet, file or object.
    path : path-like
        ``.xlsx`` / ``.json`` file; for CSV a prefix (``out/cap`` or ``out/cap.csv``) or a directory.
    fmt : {"xlsx", "csv", "json"} or None
        Format; default from the suffix of ``path`` (a directory means CSV).
    lang : {"en", "zh"}
        Header language.
    overwrite : bool
        Replace existing files. When False and any destination exists, nothing is written.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    InputError
        Unknown format or language, or an existing destination without ``overwrite``.
    """

    fmt = _format_of(path, fmt)
    lang = check_lang(lang)
    names = list(tables)
    dest = _destinations(path, fmt, names)
    existing = [str(p) for p in dest.values() if p.exists()]
    if existing and not overwrite:
        raise InputError(f"{', '.join(existing)} exist(s); pass overwrite=True (CLI: --force) to replace")
    sheet = (lambda n: SHEETS_ZH.get(n, n)) if lang == "zh" else (lambda n: n)
    meta_rows = pd.DataFrame({"key": list(metadata), "value": [_plain(v) for v in metadata.values()]})
    translated = {n: translate(t, lang) for n, t in tables.items()}

    if fmt == "json":
        doc = {
            sheet("metadata"): {str(k): _plain(v) for k, v in metadata.items()},
            "tables": {sheet(n): [{str(c): _plain(v) for c, v in zip(t.columns, row, strict=True)}
                                  for row in t.itertuples(index=False, name=None)]
                       for n, t in translated.items()},
        }

        def write_json(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False, indent=1, allow_nan=False)

        return [atomic_write(dest["*"], write_json, overwrite=overwrite)]

    if fmt == "csv":
        encoding = "utf-8-sig" if lang == "zh" else "utf-8"
        safe = {n: safe_frame(t) for n, t in [*translated.items(), ("metadata", translate(meta_rows, lang))]}
        writes = {dest[n]: (lambda tmp, t=t: t.to_csv(tmp, index=False, encoding=encoding)) for n, t in safe.items()}
        return atomic_write_many(writes, overwrite=overwrite)  # the set of files as a whole, or none

    def write_xlsx(tmp: str) -> None:
        from openpyxl import Workbook  # deferred: only the Excel writer needs it
        from openpyxl.styles import Font, PatternFill
        from openpyxl.utils import get_column_letter

        # write-only: rows are streamed (no cell grid in memory, no ws.max_row scans)
        wb = Workbook(write_only=True)
        fills = {g: PatternFill(start_color=c, end_color=c, fill_type="solid") for g, c in GRADE_FILLS.items()}
        if lang == "zh":
            fills.update({_VALUES_ZH[g]: f for g, f in list(fills.items())})
        bold = Font(bold=True)
        for n, t in translated.items():
            ws = wb.create_sheet(sheet(n)[:31])
            grade_col = next((i for i, c in enumerate(tables[n].columns) if c in ("grade", "decision")), None)
            open_cols = [i for i, c in enumerate(tables[n].columns)
                         if c in ("open_capacity_mva", "n1_open_capacity_mva", "open_capacity_mw")]
            for i, c in enumerate(t.columns, start=1):
                ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(str(c)) + 4))
            ws.freeze_panes = "A2"

            def graded(_: int, row: Any, grade_col: int | None = grade_col, open_cols: list[int] = open_cols
                       ) -> dict[int, dict[str, Any]] | None:
                fill = fills.get(row[grade_col]) if grade_col is not None else None
                return {i: {"fill": fill} for i in (grade_col, *open_cols)} if fill is not None else None

            _write_sheet(ws, t, bold, graded)
        ws = wb.create_sheet(sheet("metadata"))
        ws.column_dimensions["A"].width = 32
        ws.column_dimensions["B"].width = 40
        _write_sheet(ws, translate(meta_rows, lang), bold)
        wb.save(tmp)

    return [atomic_write(dest["*"], write_xlsx, overwrite=overwrite)]


def _write_sheet(ws: Any, table: pd.DataFrame, bold: Any, style: Any = None) -> None:
    """``table`` into the write-only sheet ``ws``: a bold header row, then the rows (``style`` as in
    :func:`~gridscope.cells.append_safe_rows`), every cell through the formula-safe writer."""
    header = [str(c) for c in table.columns]
    append_safe_rows(ws, [header], lambda _i, row: {j: {"font": bold} for j in range(len(row))})
    append_safe_rows(ws, ([_plain(v) for v in row] for row in table.itertuples(index=False, name=None)), style)


def write_flags_csv(flags: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a flag table (:func:`gridscope.capacity.flags.loading_flags`) as CSV, atomically, text escaped.

    Parameters
    ----------
    flags : pandas.DataFrame
        The flag table.
    path : path-like
        The ``.csv`` file.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    return atomic_write(path, lambda tmp: safe_frame(flags).to_csv(tmp, index=False), overwrite=overwrite)


def write_capacity(result: Any, path: str | os.PathLike[str], *, fmt: str | None = None, lang: str = "en",
                   overwrite: bool = False, levels: list[str] | None = None) -> list[Path]:
    """Write a :class:`~gridscope.capacity.api.CapacityResult` (every level, or ``levels``) and its metadata.

    See :func:`export_tables` for the formats; the metadata holds the network name and hash, the date, the
    gridscope version, the loading method, the limits and the grade thresholds.
    """

    chosen = [resolve_level(lv) for lv in levels] if levels else list(result.tables)
    tables = {lv: result.tables[lv] for lv in chosen}
    return export_tables(tables, result.metadata(), path, fmt=fmt, lang=lang, overwrite=overwrite)
