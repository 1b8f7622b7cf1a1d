"""Loading and saving networks: built-ins, JSON, Excel, SimBench, and every kind of bad input."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import gridscope as gs
import numpy as np
import pandas as pd
import pytest
from gridscope.errors import InputError, NetworkError
from gridscope.grid.builtin import BUILTIN_DESCRIPTIONS, add_head_breakers, builtin_descriptions
from gridscope.grid.defaults import ZONES, apply_reliability_data
from gridscope.grid.io import atomic_write, network_hash
from gridscope.grid.topology import build_topology
from gridscope.grid.zones import assign_zones_by_density

SIMBENCH_MV = "1-MV-urban--0-sw"

BUILTINS = ["rbts2", "rbts2-e", "mv_oberrhein", "cigre_mv", "case33bw"]

RELIABILITY_COLUMNS = {
    "line": ["lambda_per_km", "repair_h", "planned_per_yr", "planned_h"],
    "trafo": ["lambda_per_yr", "repair_h", "planned_per_yr", "planned_h"],
    "bus": ["lambda_per_yr", "repair_h", "planned_per_yr", "planned_h"],
    "switch": ["lambda_per_yr", "repair_h", "switching_h", "planned_per_yr", "planned_h"],
    "load": ["customers", "p_avg_mw"],
}


# ------------------------------------------------------------------------------------------------ built-ins
def test_builtin_names_are_listed_and_described():
    assert gs.builtin_networks() == BUILTINS
    assert set(builtin_descriptions()) == set(BUILTINS)
    assert all(BUILTIN_DESCRIPTIONS[n] and "\n" not in BUILTIN_DESCRIPTIONS[n] for n in BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_runs_out_of_the_box(load_builtin, name):
    net = load_builtin(name)
    # zones: every bus has a valid zone label
    assert net.bus["zone"].isin(ZONES).all(), net.bus["zone"].unique()
    # reliability data: every data-contract column present and filled
    for table, columns in RELIABILITY_COLUMNS.items():
        for column in columns:
            assert column in net[table].columns, (table, column)
            values = pd.to_numeric(net[table][column])
            assert values.notna().all() and (values >= 0).all(), (table, column)
    assert "reserved_capacity" in net
    assert list(net["reserved_capacity"].columns) == ["element", "element_index", "p_mw"]
    # a breaker at every feeder head
    topo = build_topology(net)
    assert len(topo.feeders) >= 1
    assert (topo.feeders["head_switch"] >= 0).all()
    assert (net.switch.loc[topo.feeders["head_switch"], "type"] == "CB").all()
    # clean
    assert gs.validate(net, topology=topo) == []


def test_builtin_case_e_differs_only_in_transformer_repair(load_builtin):
    a, e = load_builtin("rbts2"), load_builtin("rbts2-e")
    assert (a.trafo["repair_h"] == 200.0).all()
    assert (e.trafo["repair_h"] == 10.0).all()
    pd.testing.assert_frame_equal(a.line, e.line)
    pd.testing.assert_frame_equal(a.load, e.load)


def test_load_network_copies_a_net_object(rbts2_net):
    net = gs.load_network(rbts2_net)
    assert net is not rbts2_net
    net.line.loc[0, "length_km"] = 99.0
    assert rbts2_net.line.loc[0, "length_km"] != 99.0


def test_fill_defaults_never_overwrites_present_values(rbts2_net):
    raw = copy.deepcopy(rbts2_net)
    raw.line.loc[0, "lambda_per_km"] = 0.5
    raw.line.loc[1, "lambda_per_km"] = np.nan
    net = gs.load_network(raw)
    assert net.line.loc[0, "lambda_per_km"] == 0.5
    assert net.line.loc[1, "lambda_per_km"] == pytest.approx(0.065)  # overhead default


# ------------------------------------------------------------------------------------------------ round trips
@pytest.fixture
def decorated_net(rbts2_copy):
    net = rbts2_copy
    net.bus["feeder_note"] = [f"note {i}" for i in net.bus.index]
    net.line.loc[3, "repair_h"] = 7.5
    net["reserved_capacity"] = pd.DataFrame(
        {"element": ["bus", "trafo"], "element_index": [5, 2], "p_mw": [0.8, 0.25]})
    return net


def _assert_same_network(a, b):
    for table in ("bus", "line", "trafo", "switch", "load", "ext_grid"):
        cols = [c for c in a[table].columns if c != "geo"]
        assert set(cols) <= set(b[table].columns), (table, set(cols) - set(b[table].columns))
        left, right = a[table][cols], b[table][cols]
        for c in cols:
            if left[c].dtype.kind in "fi":
                np.testing.assert_allclose(left[c].to_numpy(float), right[c].to_numpy(float), err_msg=f"{table}.{c}")
            else:
                assert left[c].fillna("").astype(str).tolist() == right[c].fillna("").astype(str).tolist(), \
                    f"{table}.{c}"
    pd.testing.assert_frame_equal(a["reserved_capacity"].reset_index(drop=True),
                                  b["reserved_capacity"].reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("suffix", [".json", ".xlsx"])
def test_round_trip_keeps_extra_columns_and_tables(decorated_net, tmp_path, suffix):
    path = gs.save_network(decorated_net, tmp_path / f"net{suffix}")
    assert path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [f"net{suffix}"]  # no temp file left
    before = path.read_bytes()
    back = gs.load_network(path)
    assert path.read_bytes() == before  # input never modified
    _assert_same_network(decorated_net, back)
    assert back.load["customers"].tolist() == decorated_net.load["customers"].tolist()
    assert back.line.loc[3, "repair_h"] == 7.5
    assert gs.validate(back) == []
    # and again through a str path
    again = gs.load_network(str(path))
    _assert_same_network(decorated_net, again)


def test_hash_of_text_columns_nulls_and_mixed_values():
    """Text columns hash as text: a null (None or NaN, as Excel gives back) is the empty string, a non-text
    value in an object column is its ``str`` -- so these pairs are one network, and a changed name is not."""
    net = gs.load_network("rbts2")
    base = network_hash(net)
    a, b = copy.deepcopy(net), copy.deepcopy(net)
    a.line["name"] = a.line["name"].astype(object)
    b.line["name"] = b.line["name"].astype(object)
    a.line.loc[a.line.index[0], "name"] = None
    b.line.loc[b.line.index[0], "name"] = ""
    assert network_hash(a) == network_hash(b) != base
    a.line.loc[a.line.index[1], "name"] = float("nan")
    b.line.loc[b.line.index[1], "name"] = ""
    assert network_hash(a) == network_hash(b)
    a.bus["note"] = pd.Series([True] * len(a.bus), index=a.bus.index, dtype=object)
    b.bus["note"] = "True"
    assert network_hash(a) == network_hash(b)
    b.bus.loc[b.bus.index[-1], "note"] = "False"
    assert network_hash(a) != network_hash(b)


def test_round_trip_preserves_hash(decorated_net, tmp_path):
    back = gs.load_network(gs.save_network(decorated_net, tmp_path / "n.json"))
    assert network_hash(back) == network_hash(decorated_net)
    back.line.loc[0, "length_km"] += 0.1
    assert network_hash(back) != network_hash(decorated_net)


def test_save_refuses_to_overwrite_when_asked(rbts2_net, tmp_path):
    dest = tmp_path / "n.json"
    gs.save_network(rbts2_net, dest)
    with pytest.raises(InputError, match="exists"):
        gs.save_network(rbts2_net, dest, overwrite=False)
    with pytest.raises(InputError, match=r"\.json or \.xlsx"):
        gs.save_network(rbts2_net, tmp_path / "n.csv")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("old")

    def fail(tmp):
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(dest, fail)
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    atomic_write(dest, lambda tmp: Path(tmp).write_text("new"))
    assert dest.read_text() == "new"


# ------------------------------------------------------------------------------------------------ bad input
def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text, text
    return text


def test_missing_file(tmp_path):
    with pytest.raises(NetworkError) as info:
        gs.load_network(tmp_path / "nope.json")
    assert "not found" in _one_line(info.value) and "nope.json" in str(info.value)


def test_directory_is_not_a_network(tmp_path):
    (tmp_path / "d.json").mkdir()
    with pytest.raises(NetworkError, match="not a file"):
        gs.load_network(tmp_path / "d.json")


@pytest.mark.parametrize("content", ["{not json", "", "[1, 2, 3]", json.dumps({"a": 1})])
def test_corrupt_json(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(NetworkError) as info:
        gs.load_network(path)
    assert "bad.json" in _one_line(info.value)


def test_excel_file_that_is_not_a_network(tmp_path):
    path = tmp_path / "sheet.xlsx"
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_excel(path, sheet_name="numbers")
    with pytest.raises(NetworkError) as info:
        gs.load_network(path)
    assert "sheet.xlsx" in _one_line(info.value)


def test_file_with_xlsx_suffix_that_is_not_excel(tmp_path):
    path = tmp_path / "text.xlsx"
    path.write_text("just text")
    with pytest.raises(NetworkError) as info:
        gs.load_network(path)
    assert "text.xlsx" in _one_line(info.value)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text("a,b\n")
    with pytest.raises(NetworkError, match=r"\.json or \.xlsx"):
        gs.load_network(path)


@pytest.mark.parametrize("name", ["rbts3", "oberrhein", "CASE33"])
def test_unknown_builtin(name):
    with pytest.raises(NetworkError) as info:
        gs.load_network(name)
    text = _one_line(info.value)
    assert repr(name) in text and "rbts2" in text and "simbench:" in text


@pytest.mark.parametrize("source", ["", "   ", None, 42])
def test_nonsense_source(source):
    with pytest.raises(NetworkError):
        gs.load_network(source)


def test_builtin_names_tolerate_case_and_underscores():
    assert gs.load_network("RBTS2_E").trafo["repair_h"].eq(10.0).all()


# ------------------------------------------------------------------------------------------------ SimBench
def test_unknown_simbench_code():
    pytest.importorskip("simbench")
    with pytest.raises(NetworkError) as info:
        gs.load_network("simbench:1-XX-nowhere--0-sw")
    assert "1-XX-nowhere--0-sw" in _one_line(info.value)
    with pytest.raises(NetworkError, match="give a SimBench code"):
        gs.load_network("simbench:")


def test_simbench_mv_loads_ready(simbench_mv):
    net = simbench_mv
    assert net.name == f"simbench:{SIMBENCH_MV}"
    assert len(net.bus) == 144
    assert net.bus["zone"].isin(ZONES).all()
    assert gs.validate(net) == []


def test_simbench_cache(tmp_path, monkeypatch):
    pytest.importorskip("simbench")
    from gridscope.grid import io

    monkeypatch.setenv("GRIDSCOPE_CACHE_DIR", str(tmp_path))
    assert io.cache_dir() == tmp_path
    first = gs.load_network(f"simbench:{SIMBENCH_MV}")
    entries = list(tmp_path.rglob("*.pkl"))
    assert [p.name for p in entries] == [f"{SIMBENCH_MV}.pkl"]
    second = gs.load_network(f"simbench:{SIMBENCH_MV}")
    assert network_hash(first) == network_hash(second)
    # a corrupt cache entry is rebuilt, not an error
    entries[0].write_bytes(b"not a pickle")
    third = gs.load_network(f"simbench:{SIMBENCH_MV}")
    assert network_hash(third) == network_hash(first)
    assert entries[0].stat().st_size > 1000
    # caching can be switched off
    monkeypatch.setenv("GRIDSCOPE_CACHE_DIR", "off")
    assert io.cache_dir() is None


def test_cache_dir_default(monkeypatch, tmp_path):
    from gridscope.grid import io

    monkeypatch.delenv("GRIDSCOPE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert io.cache_dir() == tmp_path / "gridscope"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert io.cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "gridscope"


def test_mv_oberrhein_is_pandapowers_without_the_power_flow():
    # the built-in reads pandapower's file without its closing runpp: every element table must equal what
    # pandapower.networks.mv_oberrhein() (which runs the power flow) gives, with gridscope's additions on top
    import pandapower.networks as pn

    ours = gs.load_network("mv_oberrhein")
    ref = pn.mv_oberrhein()
    ref.name = "mv_oberrhein"
    add_head_breakers(ref)
    apply_reliability_data(ref)
    assign_zones_by_density(ref, per="feeder")
    tables = [k for k, v in ref.items() if isinstance(v, pd.DataFrame) and not k.startswith("res_") and len(v)]
    assert {"bus", "line", "trafo", "switch", "load", "sgen", "ext_grid"} <= set(tables)
    for table in tables:
        pd.testing.assert_frame_equal(ours[table], ref[table], obj=table)
    assert ours.res_bus.empty and ours.res_line.empty and not ref.res_bus.empty  # no (stale) results
