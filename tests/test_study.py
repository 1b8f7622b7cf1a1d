"""The prepared study: built once, never stale, shared safely between threads.

Reference values: RBTS Bus 2 case A, published SAIDI 3.61259 h and SAIFI 0.248211 (shared/reference/rbts-bus2.md).
"""

from __future__ import annotations

import copy
import threading

import gridscope as gs
import numpy as np
import pytest
from gridscope.errors import InputError, ValidationError

SAIDI_A = 3.61259
SAIFI_A = 0.248211


def _count_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_study_reproduces_the_published_rbts_indices(rbts2_net):
    st = gs.Study(rbts2_net)
    ds = st.reliability()
    assert float(ds["SAIDI"].sel(zone="system")) == pytest.approx(SAIDI_A, abs=5e-6)
    assert float(ds["SAIFI"].sel(zone="system")) == pytest.approx(SAIFI_A, abs=5e-7)
    assert st.problems == []


def test_study_loads_a_network_by_name():
    st = gs.Study("rbts2")
    assert st.source == "rbts2"
    s = st.summary()
    # reference: 4 feeders, 2 ties, 22 load points, 1908 customers, 20.0006 MW peak; zones A = F1+F2, B = F3+F4
    assert (s["feeders"], s["ties"], s["load_points"], s["customers"]) == (4, 2, 22, 1908)
    assert s["peak_mw"] == pytest.approx(20.0006)
    assert s["zones"] == {"A": 652 + 2, "B": 632 + 622}
    assert s["line_km"] == pytest.approx(26.15)


def test_topology_validation_and_impact_are_built_once(rbts2_net, monkeypatch):
    import gridscope.grid.topology as topology
    import gridscope.grid.validation as validation
    import gridscope.reliability.impact as impact

    n_topo = _count_calls(monkeypatch, topology, "build_topology")
    n_valid = _count_calls(monkeypatch, validation, "validate")
    n_impact = _count_calls(monkeypatch, impact, "build_impact")
    st = gs.Study(rbts2_net)
    st.reliability()
    st.reliability(failure_rate_scale=0.85)
    st.reliability(method="monte-carlo", years=2_000, seed=3)
    st.scenario(failure_rate_scale=0.85)
    st.yearly_programme(years=2)
    assert (len(n_topo), len(n_valid), len(n_impact)) == (1, 1, 1)
    st.impact(tie_capacity=True)  # a different option is a different structure
    assert len(n_impact) == 2


def test_analytical_results_are_cached_and_private(rbts2_net, monkeypatch):
    import gridscope.reliability.api as api

    n_runs = _count_calls(monkeypatch, api, "assess_reliability")
    st = gs.Study(rbts2_net)
    a = st.reliability()
    a.attrs["note"] = "changed by the caller"
    b = st.reliability()
    assert len(n_runs) == 1
    assert "note" not in b.attrs
    st.reliability(repair_time_scale=0.95)
    assert len(n_runs) == 2


def test_editing_the_network_in_place_never_gives_a_stale_result(rbts2_copy):
    st = gs.Study(rbts2_copy)
    before = float(st.reliability()["SAIDI"].sel(zone="system"))
    # every failure rate doubled: each load point's λ and U double, so SAIDI doubles exactly
    st.net.line["lambda_per_km"] *= 2
    st.net.trafo["lambda_per_yr"] *= 2
    after = float(st.reliability()["SAIDI"].sel(zone="system"))
    assert before == pytest.approx(SAIDI_A, abs=5e-6)
    assert after == pytest.approx(2 * before, rel=1e-12)


def test_edited_gives_a_new_study_and_leaves_the_old_one(rbts2_net):
    st = gs.Study(rbts2_net)
    base = float(st.reliability()["SAIDI"].sel(zone="system"))

    def no_ties(net):
        net.switch = net.switch[net.switch["closed"].astype(bool)]

    other = st.edited(no_ties)
    # published: case A without ties 3.73209 h
    assert float(other.reliability()["SAIDI"].sel(zone="system")) == pytest.approx(3.73209, abs=5e-6)
    assert float(st.reliability()["SAIDI"].sel(zone="system")) == base
    assert len(rbts2_net.switch) == len(st.net.switch) == 38


def test_problems_are_listed_and_analysis_refused(rbts2_copy):
    rbts2_copy.line.loc[0, "length_km"] = -1.0
    rbts2_copy.line.loc[3, "repair_h"] = np.nan
    st = gs.Study(rbts2_copy)
    tables = {(p.table, p.index) for p in st.problems}
    assert {("line", 0), ("line", 3)} <= tables
    with pytest.raises(ValidationError) as err:
        st.reliability()
    assert len(err.value.problems) == len(st.problems)
    # validate=False analyses anyway (for experiments); here the NaN repair time is not filled
    assert gs.Study(rbts2_copy, validate=False).problems == st.problems


def test_threads_share_one_build(rbts2_net, monkeypatch):
    import gridscope.grid.topology as topology

    n_topo = _count_calls(monkeypatch, topology, "build_topology")
    st = gs.Study(rbts2_net)
    results = []
    threads = [threading.Thread(target=lambda: results.append(st.reliability())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(n_topo) == 1
    assert all(float(r["SAIDI"].sel(zone="system")) == pytest.approx(SAIDI_A, abs=5e-6) for r in results)


def test_free_function_is_the_study(rbts2_net):
    a = gs.assess_reliability(rbts2_net, failure_rate_scale=0.85)
    b = gs.Study(rbts2_net).reliability(failure_rate_scale=0.85)
    for name in ("SAIFI", "SAIDI", "ENS"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    # 15 % fewer faults scale every λ and U by 0.85 (no planned outages in RBTS): SAIDI × 0.85
    assert float(a["SAIDI"].sel(zone="system")) == pytest.approx(0.85 * SAIDI_A, abs=5e-6)


def test_study_refuses_what_is_not_a_network():
    with pytest.raises(InputError):
        gs.Study(42)


def test_study_does_not_modify_the_net(rbts2_net):
    before = copy.deepcopy(rbts2_net)
    st = gs.Study(rbts2_net)
    st.reliability()
    st.summary()
    for table in ("bus", "line", "trafo", "switch", "load"):
        assert rbts2_net[table].equals(before[table])


@pytest.mark.parametrize(("table", "column"), [("line", "lambda_per_km"), ("trafo", "lambda_per_yr"),
                                               ("line", "repair_h")])
def test_missing_contract_column_takes_the_defaults_not_zero(table: str, column: str) -> None:
    # Issue 13: dropping rbts2's line (trafo) failure-rate column cut SAIDI from 3.61 h to 3.00 h (0.62 h)
    # because a missing rate read as "never fails". rbts2's own data ARE the defaults table's values
    # (line 0.065 /km·yr, 5 h; distribution trafo 0.015 /yr, 200 h: Allan et al. 1991), so with the column
    # filled from the table SAIDI is the published 3.61 h (3.6126 h to 4 decimals) again.
    net = gs.load_network("rbts2")
    net[table] = net[table].drop(columns=[column])
    st = gs.Study(net)
    assert float(st.reliability()["SAIDI"].sel(zone="system")) == pytest.approx(3.6126, abs=5e-5)
    assert st.notes and f"{table}.{column}" in st.notes[0]
    assert column not in net[table].columns  # the user's net is not modified


def test_plain_pandapower_net_is_not_perfectly_reliable() -> None:
    # A net straight from pandapower (no gridscope columns) used to give SAIDI 0.0 h. With the defaults
    # table every line fails, so every index is positive; the user's net keeps its columns.
    import pandapower as pp

    net = pp.create_empty_network()
    b0, b1, b2 = (pp.create_bus(net, vn_kv=10.0, zone="B") for _ in range(3))
    pp.create_ext_grid(net, b0)
    pp.create_line_from_parameters(net, b0, b1, 2.0, 0.3, 0.1, 10.0, 0.4, type="ol")
    pp.create_line_from_parameters(net, b1, b2, 3.0, 0.3, 0.1, 10.0, 0.4, type="ol")
    pp.create_switch(net, b0, 0, et="l", type="CB")
    pp.create_load(net, b2, p_mw=0.5)
    st = gs.Study(net)
    ds = st.reliability()
    from gridscope.grid.defaults import reliability_defaults

    d = reliability_defaults().loc["overhead_line"]
    # one customer behind one breaker, 5 km of overhead line: SAIFI = 5 km × λ, SAIDI = SAIFI × repair
    assert float(ds["SAIFI"].sel(zone="system")) == pytest.approx(5.0 * d["lambda"])
    assert float(ds["SAIDI"].sel(zone="system")) == pytest.approx(5.0 * d["lambda"] * d["repair_h"])
    assert "lambda_per_km" not in net.line.columns


def test_plain_net_with_duplicate_bus_index_or_no_load_scaling():
    """Found by benchmarks/fuzz_long.py: filling the defaults on a plain net must not crash."""
    import pandapower as pp
    import pandas as pd
    from gridscope.errors import ValidationError

    def plain():
        net = pp.create_empty_network()
        b0, b1 = pp.create_bus(net, 10.0), pp.create_bus(net, 10.0)
        pp.create_ext_grid(net, b0)
        ln = pp.create_line_from_parameters(net, b0, b1, 1.0, 0.2, 0.3, 10.0, 0.4)
        pp.create_switch(net, b0, ln, et="l", type="CB")
        pp.create_load(net, b1, p_mw=1.0)
        net.bus["zone"] = "B"
        return net

    net = plain()
    net.load = net.load.drop(columns="scaling")
    st = gs.Study(net)  # scaling taken as 1: average demand = p_mw
    assert float(st.net.load["p_avg_mw"].iloc[0]) == 1.0
    net = plain()
    net.bus = pd.concat([net.bus, net.bus.iloc[[1]]])
    with pytest.raises(ValidationError, match="index 1 is used by 2 rows"):
        gs.Study(net)


@pytest.mark.parametrize(("table", "column"), [("switch", "type"), ("load", "p_mw")])
def test_study_refuses_a_missing_required_column_before_filling_defaults(table, column):
    """Found by the long fuzz run: a plain net (no data-contract columns, so the study fills the defaults)
    without ``switch.type`` or ``load.p_mw`` made ``gs.Study`` raise a pandas ``KeyError`` while filling."""
    import pandapower.networks as pn
    from gridscope.errors import ValidationError

    net = pn.case33bw()
    pp_switch = net.switch
    if table == "switch" and not len(pp_switch):
        import pandapower as pp

        pp.create_switch(net, 0, 0, et="l", type="CB")
    net[table] = net[table].drop(columns=column)
    with pytest.raises(ValidationError) as info:
        gs.Study(net)
    assert [p.check for p in info.value.problems] == ["missing_column"]
    assert f"no {column!r} column" in str(info.value)
