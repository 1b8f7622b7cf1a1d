"""Untrusted network files: crafted JSON/Excel entries, local ``.py`` files, oversized inputs, planted cache entries;
CSV/Excel input tables (zone mappings, profiles): size, encoding, columns, every bad row.

The refusals are checked in a fresh interpreter (``sys.modules`` there tells whether the named module was
imported); each attack is first shown to work through plain ``pandapower.from_json``, so the tests can fail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import gridscope as gs
import numpy as np
import pandas as pd
import pytest
from gridscope.errors import ConfigError, InputError, NetworkError
from gridscope.grid.builtin import BUILTIN
from gridscope.grid.io import network_hash
from gridscope.grid.untrusted import (
    ALLOWED_TYPES,
    MAX_LISTED_ROWS,
    check_json_tree,
    missing_columns,
    numeric_problems,
    read_input_table,
)
from gridscope.grid.zones import assign_zones_from_mapping
from pandapower.io_utils import to_dict_of_dfs

REPO_PARENT = str(Path(gs.__file__).resolve().parent.parent)


def _run(code: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``python -c`` in ``cwd`` (so ``''`` -- the working directory -- heads ``sys.path``)."""
    full_env = {**os.environ, "PYTHONPATH": REPO_PARENT, "GRIDSCOPE_CACHE_DIR": "off", **(env or {})}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=120)


def _crafted(tmp_path: Path, module: str, cls: str = "function", obj: str = "x") -> Path:
    """rbts2 saved as JSON with one ``line`` cell replaced by an object naming ``module``."""
    path = tmp_path / "net.json"
    gs.save_network(gs.load_network("rbts2"), path)
    tree = json.loads(path.read_text())
    line = tree["_object"]["line"]
    table = json.loads(line["_object"])
    table["columns"].append("payload")
    for row in table["data"]:
        row.append({"_module": module, "_class": cls, "_object": obj})
    line["_object"] = json.dumps(table)
    line["dtype"]["payload"] = "object"
    path.write_text(json.dumps(tree))
    return path


CHECK = """
import sys
import gridscope as gs
from gridscope.errors import NetworkError
try:
    gs.load_network({path!r})
except NetworkError as exc:
    print("REFUSED", exc)
print("IMPORTED" if {module!r} in sys.modules else "NOT-IMPORTED")
"""


def test_crafted_module_is_refused_before_import(tmp_path):
    path = _crafted(tmp_path, "this")
    # plain pandapower imports it (the Zen of Python is printed on import): the attack is real
    plain = _run(f"import sys, pandapower as pp\ntry:\n pp.from_json({str(path)!r})\nexcept Exception: pass\n"
                 "print('this' in sys.modules)", tmp_path)
    assert plain.stdout.strip().endswith("True"), plain.stderr
    out = _run(CHECK.format(path=str(path), module="this"), tmp_path)
    assert "REFUSED" in out.stdout and "entry 'line' names module 'this'" in out.stdout, out.stdout + out.stderr
    assert out.stdout.strip().endswith("NOT-IMPORTED")


def test_local_py_next_to_network_is_never_imported(tmp_path):
    """Cause: pandapower's ``importlib.import_module(_module)`` searches ``sys.path``, whose head is the working
    directory (``python -c``, ``python -m gridscope``) or the script's folder: a ``.py`` there is found."""
    marker = tmp_path / "ran"
    (tmp_path / "gs_planted.py").write_text(f"open({str(marker)!r}, 'w').write('x')\ndef x(): pass\n")
    path = _crafted(tmp_path, "gs_planted")
    plain = _run(f"import pandapower as pp\npp.from_json({str(path)!r})", tmp_path)
    assert marker.exists(), plain.stderr  # pandapower alone runs the planted file
    marker.unlink()
    out = _run(CHECK.format(path=str(path), module="gs_planted"), tmp_path)
    assert "REFUSED" in out.stdout and "'gs_planted'" in out.stdout, out.stdout + out.stderr
    assert out.stdout.strip().endswith("NOT-IMPORTED")
    assert not marker.exists()
    cli = subprocess.run([sys.executable, "-m", "gridscope", "validate", str(path)], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": REPO_PARENT, "GRIDSCOPE_CACHE_DIR": "off"},
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode != 0 and "gs_planted" in cli.stdout + cli.stderr
    assert "Traceback" not in cli.stderr
    assert not marker.exists()


def test_allowed_module_must_be_loaded_already():
    # an allowed pair whose package is not imported is not imported for the file's sake (sys.path plays no part)
    assert ("shapely", "Point") in ALLOWED_TYPES
    saved = sys.modules.pop("shapely", None)
    try:
        with pytest.raises(NetworkError, match="not installed or not loaded"):
            check_json_tree({"bus": {"_module": "shapely", "_class": "Point", "_object": {}}})
    finally:
        if saved is not None:
            sys.modules["shapely"] = saved


def test_table_naming_a_local_file_is_refused(tmp_path):
    other = tmp_path / "secret.json"
    other.write_text(json.dumps({"columns": ["a"], "index": [0], "data": [[1]]}))
    path = tmp_path / "net.json"
    gs.save_network(gs.load_network("rbts2"), path)
    tree = json.loads(path.read_text())
    tree["_object"]["load"]["_object"] = str(other)  # pandas would read_json this absolute .json path
    path.write_text(json.dumps(tree))
    with pytest.raises(NetworkError, match="entry 'load': table data is not inline JSON"):
        gs.load_network(path)


@pytest.mark.parametrize("key", ["storage_options", "compression"])
def test_table_with_extra_read_json_keyword_is_refused(tmp_path, key):
    path = tmp_path / "net.json"
    gs.save_network(gs.load_network("rbts2"), path)
    tree = json.loads(path.read_text())
    tree["_object"]["bus"][key] = "x"  # every extra key would reach pandas.read_json as a keyword
    path.write_text(json.dumps(tree))
    with pytest.raises(NetworkError, match="entry 'bus': table has unexpected keys"):
        gs.load_network(path)


@pytest.mark.parametrize("name", sorted(BUILTIN))
@pytest.mark.parametrize("suffix", [".json", ".xlsx"])
def test_every_builtin_round_trips_through_the_restricted_path(tmp_path, name, suffix):
    net = gs.load_network(name)
    path = gs.save_network(net, tmp_path / f"{name}{suffix}")
    back = gs.load_network(path)
    assert network_hash(back) == network_hash(net)
    for table in ("bus", "line", "trafo", "switch", "load"):
        assert list(back[table].index) == list(net[table].index)
    pd.testing.assert_series_equal(back.line["lambda_per_km"], net.line["lambda_per_km"], check_dtype=False)


def test_series_and_numpy_items_round_trip(tmp_path):
    # the other plain-data types pandapower writes (a Series item, numpy scalars) still load
    net = gs.load_network("rbts2")
    net["gs_series"] = pd.Series([1.5, 2.5], index=[3, 7])
    net["gs_scalar"] = np.float64(0.25)
    back = gs.load_network(gs.save_network(net, tmp_path / "net.json"))
    pd.testing.assert_series_equal(back["gs_series"], net["gs_series"])
    assert back["gs_scalar"] == 0.25


def test_excel_object_column_naming_a_module_is_refused(tmp_path):
    tables = to_dict_of_dfs(gs.load_network("rbts2"), include_results=False, include_empty_tables=False)
    tables["line"]["object"] = json.dumps({"_module": "this", "_class": "function", "_object": "x"})
    path = tmp_path / "net.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for item, table in tables.items():
            table.to_excel(writer, sheet_name=item)
    out = _run(CHECK.format(path=str(path), module="this"), tmp_path)
    assert "REFUSED" in out.stdout and "entry 'line.object' names module 'this'" in out.stdout, \
        out.stdout + out.stderr
    assert out.stdout.strip().endswith("NOT-IMPORTED")


def test_oversized_json_is_refused(tmp_path, monkeypatch):
    path = gs.save_network(gs.load_network("rbts2"), tmp_path / "net.json")
    size_mb = path.stat().st_size / 1e6
    monkeypatch.setenv("GRIDSCOPE_MAX_INPUT_MB", str(size_mb / 2))
    with pytest.raises(NetworkError, match=r"above the .* MB input limit"):
        gs.load_network(path)
    monkeypatch.setenv("GRIDSCOPE_MAX_INPUT_MB", str(size_mb * 2))
    assert len(gs.load_network(path).bus) == len(gs.load_network("rbts2").bus)


def test_zip_bomb_xlsx_is_refused_before_unpacking(tmp_path, monkeypatch):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 20_000_000)  # 20 MB of zeros -> ~20 kB packed
    assert path.stat().st_size < 100_000
    monkeypatch.setenv("GRIDSCOPE_MAX_INPUT_MB", "10")
    with pytest.raises(NetworkError, match=r"unpacks to 20\.0 MB, above the 10 MB input limit"):
        gs.load_network(path)


def test_xlsx_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "net.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(NetworkError, match="not a readable Excel workbook"):
        gs.load_network(path)


def test_bad_size_setting_is_a_clear_error(tmp_path, monkeypatch):
    path = gs.save_network(gs.load_network("rbts2"), tmp_path / "net.json")
    monkeypatch.setenv("GRIDSCOPE_MAX_INPUT_MB", "lots")
    with pytest.raises(NetworkError, match="GRIDSCOPE_MAX_INPUT_MB must be a number"):
        gs.load_network(path)


class _Payload:
    """Unpickling this touches ``marker``: stands for any code a planted pickle runs."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _cache_entry(cache: Path) -> Path:
    (entry,) = cache.glob("builtin/*/rbts2.pkl")
    return entry


def test_planted_or_altered_cache_entry_is_ignored_and_rebuilt(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRIDSCOPE_CACHE_DIR", str(cache))
    reference = network_hash(gs.load_network("rbts2"))  # builds and caches
    entry = _cache_entry(cache)
    key = cache / "cache-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    good = entry.read_bytes()
    # a cache hit serves the signed entry
    assert network_hash(gs.load_network("rbts2")) == reference

    marker = tmp_path / "ran"
    entry.write_bytes(pickle.dumps(_Payload(marker)))  # planted: a bare pickle with a payload
    assert network_hash(gs.load_network("rbts2")) == reference
    assert not marker.exists()
    assert entry.read_bytes()[32:] != pickle.dumps(_Payload(marker))  # rebuilt and re-signed

    altered = bytearray(good)
    altered[-10] ^= 0xFF  # one flipped byte in the pickle: the MAC no longer matches
    entry.write_bytes(bytes(altered))
    assert network_hash(gs.load_network("rbts2")) == reference

    entry.write_bytes(good[:32] + pickle.dumps(_Payload(marker)))  # an old MAC in front of a new pickle
    assert network_hash(gs.load_network("rbts2")) == reference
    assert not marker.exists()


def test_readable_cache_key_is_replaced(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRIDSCOPE_CACHE_DIR", str(cache))
    gs.load_network("rbts2")
    key = cache / "cache-key"
    old = key.read_bytes()
    key.chmod(0o644)  # others could read it and sign a planted entry
    marker = tmp_path / "ran"
    entry = _cache_entry(cache)
    forged = pickle.dumps(_Payload(marker))
    entry.write_bytes(hmac.new(old, forged, hashlib.sha256).digest() + forged)
    assert len(gs.load_network("rbts2").bus) > 0
    assert not marker.exists()
    assert key.read_bytes() != old and stat.S_IMODE(key.stat().st_mode) == 0o600


# ------------------------------------------------------------------------------------- CSV and Excel input tables
# issue 13 item 1 for tables: zone mappings (and, through read_input_table, any CSV/Excel input) -- size limit,
# encoding, required columns, unknown elements, non-numeric values, every bad row with its file row number.
@pytest.fixture
def rbts2_zoneless(rbts2_copy):
    rbts2_copy.bus["zone"] = None
    return rbts2_copy


def test_mapping_in_gbk_and_utf8_bom_csv(rbts2_zoneless, tmp_path):
    net = rbts2_zoneless
    lp3 = int(net.bus.index[net.bus["name"] == "LP3"][0])
    net.bus.loc[lp3, "name"] = "母线7"
    text = "feeder,bus,zone\nF1,,C\nF2,,C\nF3,,D\nF4,,D\n,母线7,A+\n"
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(text.encode("gb18030"))  # what Excel on a Chinese Windows saves as "CSV"
    assign_zones_from_mapping(net, gbk)
    assert net.bus.at[lp3, "zone"] == "A+"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(text.replace("A+", "B").encode("utf-8-sig"))  # Excel's "CSV UTF-8": a BOM before 'feeder'
    assign_zones_from_mapping(net, bom)
    assert net.bus.at[lp3, "zone"] == "B"


def test_mapping_from_excel(rbts2_zoneless, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in (("feeder", "bus", "zone"), ("F1", None, "A"), ("F2", None, "A"), ("F3", None, "B"),
                ("F4", None, "B"), (None, 5, "C")):
        ws.append(row)
    wb.save(tmp_path / "m.xlsx")
    assign_zones_from_mapping(rbts2_zoneless, tmp_path / "m.xlsx")
    assert rbts2_zoneless.bus.at[5, "zone"] == "C"
    assert set(rbts2_zoneless.bus["zone"]) == {"A", "B", "C"}


@pytest.mark.parametrize(("content", "message"), [
    (b"bus,zone\nB2,A\n\x00\x01,B\n", "not a text (CSV) file: it holds a NUL byte at line 3"),
    (b"bus,zone\nB2,A\n\xff\xff,B\n", "neither UTF-8 nor GB18030/GBK text (byte 14, line 3)"),
    (b"", "is empty"),
    (b"  \n\n", "is empty"),
    (b"bus,zone,Zone\nB2,A,B\n", "column 3 'Zone' repeats column 2"),
    (b"bus,,zone\nB2,x,A\n", "column 2 has no name"),
    (b'bus,zone\n"B2,A\n', "not a readable CSV table"),
    (b"bus,color\nB2,red\n", "missing: zone"),
    (b"zone\nA\n", "missing: bus or feeder"),
    (b"bus,zone\n", "has no rows"),
])
def test_mapping_file_refused_with_one_line(rbts2_zoneless, tmp_path, content, message):
    path = tmp_path / "m.csv"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        assign_zones_from_mapping(rbts2_zoneless, path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_mapping_file_size_and_kind_limits(rbts2_zoneless, tmp_path, monkeypatch):
    path = tmp_path / "m.csv"
    path.write_text("bus,zone\n" + "B2,A\n" * 1000)  # 5,009 bytes
    monkeypatch.setenv("GRIDSCOPE_MAX_INPUT_MB", "0.001")
    with pytest.raises(ConfigError, match=r"is 0\.0 MB, above the 0 MB input limit"):
        assign_zones_from_mapping(rbts2_zoneless, path)
    monkeypatch.delenv("GRIDSCOPE_MAX_INPUT_MB")
    for name in ("m.xls", "m.xlsm", "m.json"):
        (tmp_path / name).write_text("x")
        with pytest.raises(ConfigError, match=r"must be a \.csv or \.xlsx file"):
            assign_zones_from_mapping(rbts2_zoneless, tmp_path / name)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 20_000_000)
    monkeypatch.setenv("GRIDSCOPE_MAX_INPUT_MB", "10")
    with pytest.raises(ConfigError, match=r"unpacks to 20\.0 MB"):
        assign_zones_from_mapping(rbts2_zoneless, bomb)


def test_mapping_lists_every_bad_row_with_its_number(rbts2_zoneless, tmp_path):
    path = tmp_path / "m.csv"
    # file rows (header = row 1):  2 ok, 3 unknown bus, 4 unknown zone, 5 neither bus nor feeder,
    # 6 unknown feeder, 7 ok, 8 B2 again with another zone, 9 F1 again with another zone, 10 ok (same zone again)
    path.write_text("bus,feeder,zone\nB2,,A\nB99,,A\nLP1,,Q\n,,B\n,F9,B\n,F1,A\nB2,,B\n,F1,C\nB2,,A\n")
    before = rbts2_zoneless.bus["zone"].copy()
    with pytest.raises(ConfigError) as info:
        assign_zones_from_mapping(rbts2_zoneless, path)
    text = str(info.value)
    expected = ["row 3: unknown bus 'B99'", "row 4: unknown zone 'Q'", "row 5: names neither a bus nor a feeder",
                "row 6: unknown feeder 'F9'", "row 8: bus 'B2' is given zone 'B', row 2 gave 'A'",
                "row 9: feeder 'F1' is given zone 'C', row 7 gave 'A'"]
    for part in expected:
        assert part in text, part
    assert text.count("row ") == len(expected) + 2  # each problem once (+ the two "row 2"/"row 7" back-references)
    assert rbts2_zoneless.bus["zone"].equals(before)  # nothing applied


def test_zones_cli_bad_mapping_exit_4_nothing_written(run, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("bus,zone\nB2,A\nB99,A\nLP1,Q\n")
    out = tmp_path / "net.json"
    result = run("zones", "rbts2", "--mapping", str(path), "--out", str(out))
    assert result.exit_code == ConfigError.exit_code == 4
    assert "row 3: unknown bus 'B99'" in result.output and "row 4: unknown zone 'Q'" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_numeric_problems_every_bad_row():
    table = pd.DataFrame({"p_mw": ["1.5", "abc", "", "inf", "-2", "1,5", " 2e-3 "],
                          "q_mvar": ["0", "0", "0", "0", "0", "0", "x"]})
    problems = numeric_problems(table, ["p_mw", "q_mvar", "absent"], min_value=0.0)
    # by hand: table row k is file row k + 2; "1.5" and " 2e-3 " are numbers, "1,5" is not (no decimal comma)
    assert problems == ["row 3: column 'p_mw': 'abc' is not a number",
                        "row 4: column 'p_mw' is empty",
                        "row 5: column 'p_mw': 'inf' is not finite",
                        "row 6: column 'p_mw': '-2' is below 0",
                        "row 7: column 'p_mw': '1,5' is not a number",
                        "row 8: column 'q_mvar': 'x' is not a number"]
    assert numeric_problems(table.iloc[[0, 6]], ["p_mw"]) == []
    assert numeric_problems(table.iloc[[2]], ["p_mw"], allow_empty=True) == []
    assert missing_columns(table, ["p_mw", ("bus", "feeder"), "zone"]) == ["bus or feeder", "zone"]


def test_numeric_problems_listing_is_capped():
    n = MAX_LISTED_ROWS + 100
    problems = numeric_problems(pd.DataFrame({"p": ["x"] * n}), ["p"])
    assert len(problems) == MAX_LISTED_ROWS + 1
    assert problems[-1] == f"... and 100 more problem(s), up to row {n + 1}"


def test_read_input_table_reads_a_profile_csv_like_pandas(tmp_path):
    # what capacity.timeseries.read_profile_csv would get by swapping pd.read_csv(p) for read_input_table(p, ...)
    path = tmp_path / "profiles.csv"
    path.write_text("time,load:0,load:1,LP 7\n2024-01-01 00:00,0.21,0.35,0.1\n2024-01-01 01:00,0.2,x,\n")
    table = read_input_table(path, what="profile file", dtype=None, keep_default_na=True)
    pd.testing.assert_frame_equal(table, pd.read_csv(path))
    assert numeric_problems(table, ["load:0", "load:1", "LP 7"]) == [
        "row 3: column 'load:1': 'x' is not a number", "row 3: column 'LP 7' is empty"]
    with pytest.raises(InputError, match="profile file not found"):
        read_input_table(tmp_path / "none.csv", what="profile file")
