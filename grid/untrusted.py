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

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

from ..errors import NetworkError

__all__ = [
    "ALLOWED_TYPES",
    "DEFAULT_MAX_INPUT_MB",
    "check_excel_archive",
    "check_excel_tables",
    "check_input_size",
    "check_json_tree",
    "max_input_bytes",
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
            stack.extend((v, at) for v in item)
        elif isinstance(item, dict):
            if "_module" in item and "_class" in item:
                stack.extend(_check_typed(item, at))
            else:
                stack.extend((v, at if at != "network" else str(k)) for k, v in item.items())


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
        try:
            parsed = json.loads(inner)
        except ValueError as exc:
            raise NetworkError(f"entry {at!r}: table data is not valid JSON: {exc}") from None
        return [(parsed, at)]
    if isinstance(inner, str) and cls == "pandapowerNet":
        try:  # an old file: the net as a JSON string (pandapower decodes it with the same hook)
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
