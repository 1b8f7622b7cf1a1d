"""Untrusted network files: crafted JSON/Excel entries, local ``.py`` files, oversized inputs, planted cache entries.

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
from gridscope.errors import NetworkError
from gridscope.grid.builtin import BUILTIN
from gridscope.grid.io import network_hash
from gridscope.grid.untrusted import ALLOWED_TYPES, check_json_tree
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
