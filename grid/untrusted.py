"""Reading network files from untrusted sources: what pandapower's decoder may see, checked before it runs.

pandapower's JSON decoder (``pandapower.io_utils.pp_hook``) turns every JSON object holding ``_module`` and
``_class`` into a Python object: the ``FromSerializableRegistry`` handler for the pair, or else its catch-all
``rest``, which calls ``importlib.import_module(_module)`` *before* any check -- importing a module runs its
code, and the module is found through ``sys.path`` (so a ``.py`` file in the working directory or the script's
folder can be picked). ``_class: "function"`` imports the module and returns any attribute of it. A DataFrame
whose ``_object`` is an absolute path ending in ``.json`` is read from that file by ``pandas.read_json``, and
every other key of the entry is passed on to ``read_json`` as a keyword. Excel input reaches the same decoder
through the ``object``/``recycle``/``q_*_characteristic`` columns and the ``geo`` column of bus and line.

So the parsed JSON is walked first (plain ``json``, no hooks) and refused, naming the entry, unless every
typed object is one of :data:`ALLOWED_TYPES` with only the keys pandapower writes, every table is inline JSON,
and every module the decoder would import is already imported (then ``sys.path`` and the working directory
play no part).
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InputError, NetworkError

__all__ = [
    "ALLOWED_TYPES",
    "CSV_ENCODINGS",
    "DEFAULT_MAX_INPUT_MB",
    "MAX_LISTED_ROWS",
    "check_excel_archive",
    "check_excel_tables",
    "check_input_size",
    "check_json_tree",
    "max_input_bytes",
    "missing_columns",
    "numeric_problems",
    "read_input_table",
]

#: ``(_module, _class)`` pairs the decoder may build. What ``pandapower.to_json`` writes for every built-in and
#: for the SimBench MV, LV, HV and complete data sets is only the first three (measured: 825 DataFrames, 9 nets);
#: the rest are the other plain-data types pandapower itself serialises (Series, numpy scalars and arrays,
#: shapely geometries), whose handlers build values without importing anything new. Controllers and other
#: ``JSONSerializableClass`` objects, functions and ``networkx`` graphs are not allowed: gridscope uses none.
ALLOWED_TYPES: frozenset[tuple[str, str]] = frozenset(
    {("pandapower.auxiliary", "pandapowerNet"),
     ("pandas.core.frame", "DataFrame"), ("pandas", "DataFrame"),
     ("pandas.core.series", "Series"), ("pandas", "Series"),
     ("numpy", "array")}
    | {("numpy", name) for name in ("bool", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                    "uint32", "uint64", "float16", "float32", "float64", "str_")}
    | {("shapely", name) for name in ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                                      "MultiPolygon")}
)

#: Keys pandapower writes beside ``_module``/``_class``/``_object`` of a table; any other key would reach
#: ``pandas.read_json`` as a keyword (``storage_options``, ``compression``, ...).
_TABLE_KEYS = frozenset({"_module", "_class", "_object", "dtype", "orient", "typ", "is_multiindex",
                         "is_multicolumn", "index_name", "index_names", "column_name", "column_names"})
_ORIENTS = frozenset({"split", "records", "index", "columns", "values", "table"})

#: Excel columns pandapower decodes with its JSON decoder (``pandapower.io_utils.from_dict_of_dfs``).
EXCEL_JSON_COLUMNS = ("object", "recycle", "q_max_characteristic", "q_min_characteristic", "geo")

#: Largest network file read when ``GRIDSCOPE_MAX_INPUT_MB`` is not set (JSON size; Excel: file and unpacked).
DEFAULT_MAX_INPUT_MB = 200.0


def max_input_bytes() -> int:
    """The input size limit in bytes: ``$GRIDSCOPE_MAX_INPUT_MB`` megabytes, else :data:`DEFAULT_MAX_INPUT_MB`."""
    text = os.environ.get("GRIDSCOPE_MAX_INPUT_MB", "").strip()
    try:
        mb = float(text) if text else DEFAULT_MAX_INPUT_MB
    except ValueError:
        raise NetworkError(f"GRIDSCOPE_MAX_INPUT_MB must be a number of megabytes, not {text!r}") from None
    if not mb > 0:
        raise NetworkError(f"GRIDSCOPE_MAX_INPUT_MB must be positive, not {text!r}")
    return int(mb * 1e6)


def check_input_size(path: Path) -> None:
    """Refuse a file larger than :func:`max_input_bytes`."""
    limit = max_input_bytes()
    size = path.stat().st_size
    if size > limit:
        raise NetworkError(f"{path} is {size / 1e6:.1f} MB, above the {limit / 1e6:.0f} MB input limit "
                           "(set GRIDSCOPE_MAX_INPUT_MB to raise it)")


def check_excel_archive(path: Path) -> None:
    """Refuse an ``.xlsx`` that is not a zip archive or that unpacks to more than :func:`max_input_bytes`.

    The sizes in the zip directory are what :mod:`zipfile` stops reading at, so a bomb is caught before any
    byte is inflated.
    """
    limit = max_input_bytes()
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise NetworkError(f"{path} is not a readable Excel workbook (.xlsx is a zip archive): {exc}") from None
    if unpacked > limit:
        raise NetworkError(f"{path} unpacks to {unpacked / 1e6:.1f} MB, above the {limit / 1e6:.0f} MB input "
                           "limit (set GRIDSCOPE_MAX_INPUT_MB to raise it)")


def check_json_tree(node: Any, where: str = "network") -> None:
    """Raise :class:`NetworkError` unless pandapower's decoder can turn ``node`` into data only.

    Parameters
    ----------
    node : object
        JSON parsed by :func:`json.loads` without hooks.
    where : str
        The entry ``node`` belongs to, for the message (``"line"``, ``"bus.geo"``).
    """
    stack = [(node, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, list):
            stack.extend((v, at) for v in item if isinstance(v, (list, dict)))
        elif isinstance(item, dict):
            if "_module" in item and "_class" in item:
                stack.extend(_check_typed(item, at))
            else:
                stack.extend((v, at if at != "network" else str(k)) for k, v in item.items()
                             if isinstance(v, (list, dict)))


def _typed_in(text: str, at: str) -> list[tuple[Any, str]]:
    """Parse the JSON ``text`` of a table or an old-style net and return its typed objects (at any depth).

    The parser's object hook sees every JSON object as it is built, so a table's rows of plain values are never
    walked in Python (walking them cost 1.4 s of CPU on a 50k-bus file; this takes a tenth of that).
    """
    found: list[tuple[Any, str]] = []

    def collect(obj: dict[str, Any]) -> dict[str, Any]:
        if "_module" in obj and "_class" in obj:
            found.append((obj, at))
        return obj

    try:
        json.loads(text, object_hook=collect)
    except ValueError as exc:
        raise NetworkError(f"entry {at!r}: data is not valid JSON: {exc}") from None
    return found


def _check_typed(entry: dict[str, Any], at: str) -> list[tuple[Any, str]]:
    """Check one ``{_module, _class, ...}`` object; return the parts still to walk."""
    module, cls = entry.get("_module"), entry.get("_class")
    if not isinstance(module, str) or not isinstance(cls, str) or (module, cls) not in ALLOWED_TYPES:
        raise NetworkError(f"entry {at!r} names module {module!r} (class {cls!r}), which is not a pandapower "
                           "data type: refused (the file could run code)")
    root = module.split(".")[0]
    if root not in sys.modules:
        raise NetworkError(f"entry {at!r} needs module {module!r}, which is not installed or not loaded")
    inner = entry.get("_object")
    if cls in ("DataFrame", "Series"):
        extra = set(entry) - _TABLE_KEYS
        if extra:
            raise NetworkError(f"entry {at!r}: table has unexpected keys {sorted(extra)}: refused")
        if entry.get("orient", "columns") not in _ORIENTS:
            raise NetworkError(f"entry {at!r}: unknown table orient {entry.get('orient')!r}")
        if entry.get("typ", "series" if cls == "Series" else "frame") not in ("series", "frame"):
            raise NetworkError(f"entry {at!r}: unknown table kind {entry.get('typ')!r}")
        if not isinstance(inner, str) or inner.lstrip()[:1] not in ("{", "["):
            # pandas reads a path or URL given here: a file on this machine would be read into the net
            raise NetworkError(f"entry {at!r}: table data is not inline JSON ({str(inner)[:60]!r}): refused")
        return _typed_in(inner, at)
    if isinstance(inner, str) and cls == "pandapowerNet":
        # an old file: the net as a JSON string (pandapower decodes it with the same hook)
        try:
            return [(json.loads(inner), "network")]
        except ValueError as exc:
            raise NetworkError(f"entry {at!r}: network data is not valid JSON: {exc}") from None
    return [(inner, at if cls != "pandapowerNet" else "network")]


def check_excel_tables(tables: dict[str, Any], path: Path) -> None:
    """Check the cells pandapower's Excel reader hands to its JSON decoder (:data:`EXCEL_JSON_COLUMNS`)."""
    for sheet, table in tables.items():
        for column in EXCEL_JSON_COLUMNS:
            if column not in getattr(table, "columns", ()):
                continue
            for value in table[column].tolist():
                if not isinstance(value, str):
                    continue
                try:
                    parsed = json.loads(value)
                except ValueError:
                    if column == "geo":
                        continue  # not JSON: geojson fails on it without decoding anything
                    raise NetworkError(f"{path}: sheet {sheet!r} column {column!r} holds a value that is not "
                                       f"JSON: {value[:60]!r}") from None
                check_json_tree(parsed, f"{sheet}.{column}")


# ------------------------------------------------------------------------------------- CSV and Excel tables
#: Encodings tried in turn for CSV input: UTF-8 (with or without a byte-order mark), then GB18030, the superset
#: of GBK/GB2312 that Excel on a Chinese-language Windows writes for "CSV".
CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")

#: Bad rows listed one by one in a message; beyond this the rest are counted (a message of 35,040 lines for a
#: broken yearly profile helps nobody).
MAX_LISTED_ROWS = 200


def _decode_csv(raw: bytes, path: Path, what: str, error: type[InputError]) -> str:
    if b"\x00" in raw:
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise error(f"{what} {path} is not a text (CSV) file: it holds a NUL byte at line {line}")
    for encoding in CSV_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            first = exc
            continue
    line = raw[:first.start].count(b"\n") + 1
    raise error(f"{what} {path} is neither UTF-8 nor GB18030/GBK text (byte {first.start}, line {line}): save it "
                "as 'CSV UTF-8'")


def _check_header(header: list[Any], path: Path, what: str, error: type[InputError]) -> None:
    """Refuse blank or repeated column names (pandas would silently rename a repeat to ``name.1``)."""
    names = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip() for v in header]
    problems = [f"column {i + 1} has no name" for i, n in enumerate(names) if not n]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n and n.lower() in seen:
            problems.append(f"column {i + 1} {n!r} repeats column {seen[n.lower()] + 1}")
        seen.setdefault(n.lower(), i)
    if problems:
        raise error(f"{what} {path}: " + "; ".join(problems))


def read_input_table(path: str | os.PathLike[str], *, what: str = "input file", sheet: str | int = 0,
                     dtype: Any = str, keep_default_na: bool = False,
                     error: type[InputError] = InputError) -> Any:
    """Read a CSV or Excel (``.xlsx``) input table from an untrusted source, refusing what cannot be read safely.

    Checks, each refused with one clear line naming the file: missing file; size above :func:`max_input_bytes`
    (and, for ``.xlsx``, the unpacked size: :func:`check_excel_archive`); a suffix other than ``.csv``,
    ``.txt`` or ``.xlsx``; binary content (NUL bytes); text that is neither UTF-8 nor GB18030
    (:data:`CSV_ENCODINGS`, with the line of the first bad byte); an empty file; malformed CSV (the line
    pandas names); blank or repeated column names. Excel is read by openpyxl only (no formulas are evaluated,
    no macros run: ``.xlsm``/``.xls`` are refused).

    Parameters
    ----------
    path : path-like
    what : str
        What the file is, for messages (``"zone mapping file"``).
    sheet : str or int
        Excel sheet name or position.
    dtype : type or None
        Passed to pandas (default ``str``: every cell as text, the caller checks the values); ``None`` lets
        pandas infer.
    keep_default_na : bool
        Passed to pandas; with the default, empty cells are ``""`` (and not NaN) when ``dtype`` is ``str``.
    error : type
        The :class:`~gridscope.errors.InputError` subclass to raise (e.g. ``ConfigError``).

    Returns
    -------
    pandas.DataFrame
        Row ``i`` (0-based) of the frame is row ``i + 2`` of the file (the header is row 1).
    """
    import pandas as pd  # deferred: only reading needs it

    p = Path(path)
    if not p.is_file():
        raise error(f"{what} not found: {p}" if not p.exists() else f"{what} {p} is not a file")
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise error(f"{what} {p} must be a .csv or .xlsx file (got {p.suffix or 'no suffix'!r})")
    try:
        check_input_size(p)
        if suffix == ".xlsx":
            check_excel_archive(p)
    except NetworkError as exc:  # the size checks speak of networks; this is an input file
        raise error(f"{what}: {exc}") from None
    try:
        if suffix == ".xlsx":
            try:
                header = pd.read_excel(p, sheet_name=sheet, header=None, nrows=1, engine="openpyxl")
            except (ValueError, KeyError, IndexError) as exc:  # unknown sheet name or position
                raise error(f"{what} {p}: sheet {sheet!r} not found ({exc})") from None
            if not header.shape[1]:
                raise error(f"{what} {p}: sheet {sheet!r} is empty")
            _check_header(header.iloc[0].tolist(), p, what, error)
            table = pd.read_excel(p, sheet_name=sheet, dtype=dtype, keep_default_na=keep_default_na,
                                  engine="openpyxl")
            if dtype is str and not keep_default_na:
                table = table.fillna("")
        else:
            text = _decode_csv(p.read_bytes(), p, what, error)
            if not text.strip():
                raise error(f"{what} {p} is empty")
            header = pd.read_csv(io.StringIO(text), header=None, nrows=1, dtype=str, keep_default_na=False)
            _check_header(header.iloc[0].tolist(), p, what, error)
            table = pd.read_csv(io.StringIO(text), dtype=dtype, keep_default_na=keep_default_na)
    except InputError:
        raise
    except Exception as exc:  # pandas and openpyxl raise many kinds on malformed files
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise error(f"{what} {p} is not a readable {'Excel' if suffix == '.xlsx' else 'CSV'} table: "
                    f"{detail[:200]}") from None
    return table


def missing_columns(table: Any, required: Iterable[str | tuple[str, ...]]) -> list[str]:
    """The required columns ``table`` lacks; a tuple means "one of these" (``("bus", "feeder")``).

    Returns
    -------
    list of str
        Readable names of what is missing (``"bus or feeder"``); ``[]`` when complete.
    """
    have = {str(c) for c in table.columns}
    out = []
    for need in required:
        options = (need,) if isinstance(need, str) else tuple(need)
        if not have & set(options):
            out.append(" or ".join(options))
    return out


def numeric_problems(table: Any, columns: Iterable[str], *, first_row: int = 2, allow_empty: bool = False,
                     min_value: float | None = None, max_listed: int = MAX_LISTED_ROWS) -> list[str]:
    """Every row of ``table`` whose value in one of ``columns`` is not a finite number, one problem per row.

    Parameters
    ----------
    table : pandas.DataFrame
        As read by :func:`read_input_table` (text cells are parsed here: ``"1,5"`` is not a number).
    columns : iterable of str
        The numeric columns (absent ones are skipped: :func:`missing_columns` reports them).
    first_row : int
        File row number of the table's first row (2: the header is row 1).
    allow_empty : bool
        Whether an empty cell is allowed.
    min_value : float, optional
        Smallest allowed value (e.g. 0 for a power that cannot be negative).
    max_listed : int
        Rows listed one by one; beyond that one line counts the rest.

    Returns
    -------
    list of str
        ``"row 7: column 'p_mw': 'abc' is not a number"``, ...; ``[]`` when every value is fine.
    """
    import numpy as np  # deferred: only checking needs it
    import pandas as pd

    problems: list[tuple[int, str]] = []
    for column in columns:
        if column not in table.columns:
            continue
        raw = table[column]
        text = raw.astype(str).str.strip() if raw.dtype == object else raw
        empty = raw.isna() | ((text == "") if raw.dtype == object else False)
        values = pd.to_numeric(text.where(~empty), errors="coerce").astype(float)
        finite = np.isfinite(values.to_numpy())
        for pos in np.flatnonzero(~finite | empty.to_numpy()):
            if empty.iloc[pos]:
                if not allow_empty:
                    problems.append((pos, f"column {column!r} is empty"))
            elif np.isnan(values.iloc[pos]):
                problems.append((pos, f"column {column!r}: {str(raw.iloc[pos])[:40]!r} is not a number"))
            else:
                problems.append((pos, f"column {column!r}: {raw.iloc[pos]!r} is not finite"))
        if min_value is not None:
            for pos in np.flatnonzero(finite & (values.to_numpy() < min_value)):
                problems.append((pos, f"column {column!r}: {raw.iloc[pos]!r} is below {min_value:g}"))
    problems.sort(key=lambda t: t[0])
    lines = [f"row {pos + first_row}: {text}" for pos, text in problems[:max_listed]]
    if len(problems) > max_listed:
        lines.append(f"... and {len(problems) - max_listed} more problem(s), up to row "
                     f"{problems[-1][0] + first_row}")
    return lines
