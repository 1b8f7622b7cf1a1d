"""Connection evaluation: the three decisions on constructed cases, candidates, bad input."""

from __future__ import annotations

import copy
import math

import gridscope as gs
import numpy as np
import pytest
from gridscope.errors import InputError

RATING_MVA = math.sqrt(3) * 10.0 * 0.1  # line L0: 10 kV, 100 A


def small_net():
    """ext grid - bus0 -L0 (100 A, 1 km)- bus1 (0.5 MW) -L1 (300 A)- bus2; bus coordinates in km."""
    import pandapower as pp

    net = pp.create_empty_network(name="small")
    b0 = pp.create_bus(net, 10.0, name="S", geodata=(0.0, 0.0))
    b1 = pp.create_bus(net, 10.0, name="A", geodata=(1.0, 0.0))
    b2 = pp.create_bus(net, 10.0, name="B", geodata=(2.0, 0.0))
    pp.create_ext_grid(net, b0)
    kw = {"r_ohm_per_km": 0.1, "x_ohm_per_km": 0.1, "c_nf_per_km": 0.0}
    pp.create_line_from_parameters(net, b0, b1, 1.0, max_i_ka=0.1, name="L0", **kw)
    pp.create_line_from_parameters(net, b1, b2, 1.0, max_i_ka=0.3, name="L1", **kw)
    pp.create_load(net, b1, p_mw=0.5)
    return net


def _loading_after(net, bus, p_mw, pf=0.95):
    import pandapower as pp

    w = copy.deepcopy(net)
    pp.create_load(w, bus, p_mw=p_mw, q_mvar=p_mw * math.tan(math.acos(pf)))
    pp.runpp(w)
    return w.res_line["loading_percent"]


def test_connect():
    net = small_net()
    dec = gs.evaluate_connection(net, p_mw=0.2, bus=2)
    assert dec.decision == "connect"
    assert dec.bus == 2
    assert len(dec.reinforcements) == 0 and len(dec.violations) == 0
    assert _loading_after(net, 2, 0.2).max() < 70
    assert dec.candidates.iloc[0]["open_capacity_mw"] >= 0.2
    assert "connect at bus 2" in dec.summary()


def test_connect_then_reinforce_lists_line_with_loading_and_action():
    net = small_net()
    dec = gs.evaluate_connection(net, p_mw=0.9, bus=2)
    assert dec.decision == "connect_then_reinforce"
    after = _loading_after(net, 2, 0.9)
    assert 70 < after[0] < 100  # independent check of the constructed case
    r = dec.reinforcements
    assert list(r["element"]) == ["line"] and list(r["index"]) == [0]
    assert r.at[0, "value_after"] == pytest.approx(after[0], rel=1e-6)
    assert r.at[0, "limit"] == 70.0
    need_a = after[0] / 70.0 * 100.0
    assert f"at least {math.ceil(need_a)} A" in r.at[0, "action"]


def test_reject_names_the_physical_limit():
    net = small_net()
    dec = gs.evaluate_connection(net, p_mw=2.0, bus=2)
    assert dec.decision == "reject"
    assert _loading_after(net, 2, 2.0)[0] > 100
    assert list(dec.violations["index"]) == [0]
    assert "line 0" in dec.message and "100 %" in dec.message


def test_location_ranks_nearest_feasible_first():
    net = small_net()
    dec = gs.evaluate_connection(net, p_mw=0.2, location=(1.9, 0.1), radius=5, crs="xy")
    c = dec.candidates
    assert list(c["bus"])[:2] == [2, 1]  # nearest first among feasible points
    assert c.iloc[0]["distance_km"] == pytest.approx(math.hypot(0.1, 0.1))
    assert dec.bus == 2 and dec.decision == "connect"


def test_location_prefers_feasible_over_nearer_infeasible():
    net = small_net()
    # 0.9 MW: both bus 1 and bus 2 need reinforcement (behind L0); the ext-grid bus S is excluded only when
    # out of the radius, so a large radius makes it a candidate that fits
    dec = gs.evaluate_connection(net, p_mw=0.9, location=(1.0, 0.0), radius=10, crs="xy")
    assert dec.candidates.iloc[0]["decision"] == "connect"
    assert dec.bus == 0


def test_mv_oberrhein_geo_location():
    net = gs.load_network("mv_oberrhein")
    dec = gs.evaluate_connection(net, p_mw=0.5, location=(7.80, 48.40), radius=3)
    assert dec.decision in ("connect", "connect_then_reinforce")
    assert (np.diff(dec.candidates["distance_km"][dec.candidates["decision"] == dec.decision]) >= 0).all()
    assert dec.candidates["distance_km"].max() <= 3


def test_bad_input_messages():
    net = small_net()
    with pytest.raises(InputError, match="bus 99 does not exist"):
        gs.evaluate_connection(net, p_mw=1.0, bus=99)
    with pytest.raises(InputError, match="positive"):
        gs.evaluate_connection(net, p_mw=-1.0, bus=1)
    with pytest.raises(InputError, match="absurd"):
        gs.evaluate_connection(net, p_mw=1e6, bus=1)
    with pytest.raises(InputError, match="exactly one"):
        gs.evaluate_connection(net, p_mw=1.0)
    with pytest.raises(InputError, match="far outside the grid"):
        gs.evaluate_connection(net, p_mw=1.0, location=(500.0, 500.0), crs="xy")
    with pytest.raises(InputError, match="no connection point within"):
        gs.evaluate_connection(net, p_mw=1.0, location=(50.0, 0.0), radius=1, crs="xy")
    with pytest.raises(InputError, match="pf"):
        gs.evaluate_connection(net, p_mw=1.0, bus=1, pf=0)


def test_nonconvergent_network_is_a_clear_error():
    net = small_net()
    net.load.at[0, "p_mw"] = 500.0  # far beyond what the 1 km line can carry: no power-flow solution
    with pytest.raises(gs.ConvergenceError, match="does not converge"):
        gs.evaluate_connection(net, p_mw=0.1, bus=2)


def test_reliability_impact_optional():
    net = gs.load_network("rbts2")
    dec = gs.evaluate_connection(net, p_mw=0.5, bus=20, reliability=True)
    rel = dec.reliability
    assert rel is not None and rel["ENS_after"] > rel["ENS_before"]


def _two_stations(unit_b_mva: float):
    """Station A (40 MVA) feeds a1 -L1 (100 A)- a2; station B (unit_b_mva) feeds b1 with 6 MW on a 600 A head;
    a normally-open tie line a2-b1. A request at a2 overloads L1: the advice may point at feeder B."""
    import pandapower as pp

    net = pp.create_empty_network(name="two stations")
    kw = {"r_ohm_per_km": 0.1, "x_ohm_per_km": 0.1, "c_nf_per_km": 0.0}
    ha, hb = pp.create_bus(net, 110.0, name="HA"), pp.create_bus(net, 110.0, name="HB")
    a, b = pp.create_bus(net, 10.0, name="A"), pp.create_bus(net, 10.0, name="B")
    a1, a2, b1 = (pp.create_bus(net, 10.0, name=n) for n in ("a1", "a2", "b1"))
    for h in (ha, hb):
        pp.create_ext_grid(net, h)
    for h, lv, sn in ((ha, a, 40.0), (hb, b, unit_b_mva)):
        pp.create_transformer_from_parameters(net, h, lv, sn, 110.0, 10.0, 0.3, 10.0, 0.0, 0.0)
    la0 = pp.create_line_from_parameters(net, a, a1, 1.0, max_i_ka=0.6, name="LA0", **kw)
    pp.create_line_from_parameters(net, a1, a2, 1.0, max_i_ka=0.1, name="L1", **kw)
    lb0 = pp.create_line_from_parameters(net, b, b1, 1.0, max_i_ka=0.6, name="LB0", **kw)
    tie = pp.create_line_from_parameters(net, a2, b1, 1.0, max_i_ka=0.6, name="TIE", **kw)
    pp.create_switch(net, a, la0, et="l", type="CB", name="CBA")
    pp.create_switch(net, b, lb0, et="l", type="CB", name="CBB")
    pp.create_switch(net, b1, tie, et="l", type="LBS", closed=False, name="T1")
    pp.create_load(net, b1, p_mw=6.0, q_mvar=0.0)
    return net


def test_transfer_advice_never_points_into_a_full_station():
    # Feeder B's head (600 A at 10 kV = 10.4 MVA) carries ~6 MVA: at the 70 % planning limit it has ~1.3 MVA
    # spare, enough for the ~0.26 MVA excess on L1 of a 1.4 MW request at a2 (L1: 100 A = 1.73 MVA rating,
    # ~85 % after; planning limit 70 % = 1.21 MVA). With a 40 MVA unit at B (15 % loaded) the advice names
    # feeder B; with a 7 MVA unit (6/7 = 86 % > 80 % planning limit) station B has no room: no transfer advice.
    import pandapower as pp

    for unit_mva, advised in ((40.0, True), (7.0, False)):
        net = _two_stations(unit_mva)
        w = copy.deepcopy(net)
        pp.runpp(w)
        load_b = w.res_trafo.at[1, "loading_percent"]
        assert (load_b < 80.0) if advised else (load_b > 80.0)  # independent check of the constructed case
        dec = gs.evaluate_connection(net, p_mw=1.4, bus=int(net.bus.index[net.bus.name == "a2"][0]))
        assert dec.decision == "connect_then_reinforce"
        r = dec.reinforcements
        row = r[(r["element"] == "line") & (r["index"] == 1)]
        assert len(row) == 1, r
        assert ("transfer" in row.iloc[0]["action"]) is advised, row.iloc[0]["action"]


# ------------------------------------------------------------------------ validation first (issue 13 item 4)
def _broken_rbts2():
    """rbts2 with three capacity problems: a NaN line rating, a text boolean, a load on a missing bus."""
    net = gs.load_network("rbts2")
    net.line.loc[2, "max_i_ka"] = np.nan
    net.switch["closed"] = net.switch["closed"].astype(object)
    net.switch.loc[0, "closed"] = "False"
    net.load.loc[3, "bus"] = 999
    return net


def _capacity_problem_keys(exc):
    return {(p.check, p.table, p.index) for p in exc.problems}


# These call the engines (capacity/api.py, capacity/connection.py) directly: gs.assess_capacity and
# gs.evaluate_connection go through gridscope.Study, which runs its planning power flow before the engine.
def test_assess_capacity_validates_first_and_lists_every_problem():
    from gridscope.capacity.api import assess_capacity

    with pytest.raises(gs.ValidationError) as info:
        assess_capacity(_broken_rbts2())
    got = _capacity_problem_keys(info.value)
    assert {("rating", "line", 2), ("text_bool", "switch", 0), ("dangling", "load", 3)} <= got
    assert "line[2] 'S3'" in str(info.value) and "switch[0] 'F1'" in str(info.value)


def test_evaluate_connection_validates_first_and_lists_every_problem():
    # the network is checked before the request: a bad p_mw is not what is reported
    from gridscope.capacity.connection import evaluate_connection

    with pytest.raises(gs.ValidationError) as info:
        evaluate_connection(_broken_rbts2(), p_mw=-1.0, bus=20)
    assert {("rating", "line", 2), ("text_bool", "switch", 0), ("dangling", "load", 3)} \
        <= _capacity_problem_keys(info.value)


def test_capacity_does_not_need_reliability_data_or_zones():
    # zones, customers and failure data do not enter the power flow: a net lacking them (or holding bad
    # reliability values) gets exactly the open capacity of the clean net, while reliability refuses it.
    clean = gs.assess_capacity(gs.load_network("rbts2")).table("feeder")
    net = gs.load_network("rbts2")
    net.bus["zone"] = None
    net.line["lambda_per_km"] = -1.0
    net.load["customers"] = 0
    got = gs.assess_capacity(net).table("feeder")
    assert got["open_capacity_mva"].to_numpy() == pytest.approx(clean["open_capacity_mva"].to_numpy())
    with pytest.raises(gs.ValidationError):
        gs.assess_reliability(net)


# ------------------------------------------------------------------------ reserved= (issue 13 item 4, 5)
def test_assess_capacity_reserved_matches_the_cli(tmp_path):
    # tests/test_cli_capacity.py: 0.4 MW approved on load 8 takes feeder F2 of rbts2 from 2.54 to 2.14 MVA
    # (pf 1.0: 0.4 MVA). The API's reserved= (a table or the same file) gives the CLI's numbers, and leaves the
    # caller's net without reserved capacity.
    import json

    import pandas as pd
    from click.testing import CliRunner
    from gridscope.cli import main

    approved = tmp_path / "approved.csv"
    approved.write_text("element,element_index,p_mw\nload,8,0.4\n", encoding="utf-8")
    out = tmp_path / "cli.json"
    r = CliRunner().invoke(main, ["capacity", "rbts2", "--level", "feeder", "--out", str(out),
                                  "--reserved", str(approved)])
    assert r.exit_code == 0, r.output
    cli = {row["name"]: row["open_capacity_mva"] for row in json.loads(out.read_text("utf-8"))["tables"]["feeder"]}

    net = gs.load_network("rbts2")
    before = gs.assess_capacity(net).table("feeder").set_index("name")["open_capacity_mva"]
    table = pd.DataFrame({"element": ["load"], "element_index": [8], "p_mw": [0.4]})
    for reserved in (table, approved, str(approved)):
        after = gs.assess_capacity(net, reserved=reserved).table("feeder").set_index("name")["open_capacity_mva"]
        assert after["F2"] == pytest.approx(cli["F2"], abs=1e-9)
        assert before["F2"] - after["F2"] == pytest.approx(0.4)
        assert after.drop("F2").to_numpy() == pytest.approx(before.drop("F2").to_numpy())
        assert {k: after[k] for k in cli} == pytest.approx(cli)
    assert len(net["reserved_capacity"]) == 0  # the caller's net is untouched


def test_assess_capacity_reserved_bad_input_is_an_input_error(tmp_path):
    import pandas as pd

    net = gs.load_network("rbts2")
    with pytest.raises(InputError, match="load 999 does not exist"):
        bad = tmp_path / "bad.csv"
        bad.write_text("element,element_index,p_mw\nload,999,0.4\n", encoding="utf-8")
        gs.assess_capacity(net, reserved=bad)
    with pytest.raises(InputError):
        gs.assess_capacity(net, reserved=pd.DataFrame({"element": ["load"], "p_mw": [0.4]}))
    with pytest.raises(InputError):
        gs.assess_capacity(net, reserved=42)


def test_cli_capacity_and_connect_refuse_a_broken_network_with_every_problem(tmp_path):
    # needs the cli.py edit that validates before the study's power flow (a text boolean used to end in a
    # pandapower TypeError traceback): exit 2, every problem listed, no traceback
    from click.testing import CliRunner
    from gridscope.cli import main

    path = tmp_path / "broken.json"
    gs.save_network(_broken_rbts2(), path)
    for args in (["capacity", str(path)], ["connect", str(path), "--p-mw", "1", "--bus", "20"]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, r.output
        assert "line    2" in r.output and "switch  0" in r.output and "load    3" in r.output
        assert "Traceback" not in r.output


def _lv230_net():
    """10 kV source at 0.935 pu, a 1 MVA 10/0.23 kV transformer (vk 10 %, vkr 3 %) to bus 1, a 220 V single-phase
    supply point by its voltage (GB/T 12325-2008 4.3: +7 % / -10 %)."""
    import pandapower as pp

    net = pp.create_empty_network(name="lv230")
    mv = pp.create_bus(net, 10.0, name="MV")
    lv = pp.create_bus(net, 0.23, name="LV230")
    pp.create_ext_grid(net, mv, vm_pu=0.935)
    pp.create_transformer_from_parameters(net, mv, lv, 1.0, 10.0, 0.23, 3.0, 10.0, 0.0, 0.2, name="T0.23")
    return net


def _hv_net():
    """110 kV source (1.0 pu) -40 km line (R = X = 16 ohm, 400 A)- bus 1 "A110" with a 10 MW base load."""
    import pandapower as pp

    net = pp.create_empty_network(name="hv")
    b0 = pp.create_bus(net, 110.0, name="S110")
    b1 = pp.create_bus(net, 110.0, name="A110")
    pp.create_ext_grid(net, b0, vm_pu=1.0)
    pp.create_line_from_parameters(net, b0, b1, 40.0, r_ohm_per_km=0.4, x_ohm_per_km=0.4, c_nf_per_km=0.0,
                                   max_i_ka=0.4, name="L110")
    pp.create_load(net, b1, p_mw=10.0, q_mvar=0.0)
    return net


def _runpp_with(net, bus, p_mw):
    """runpp of ``net`` with the request added at ``bus`` (power factor LOAD_PF, lagging)."""
    import pandapower as pp
    from gridscope.settings import LOAD_PF

    w = copy.deepcopy(net)
    pp.create_load(w, bus, p_mw=p_mw, q_mvar=p_mw * math.tan(math.acos(LOAD_PF)))
    pp.runpp(w, numba=False)
    return w


def test_reject_at_a_220v_bus_names_its_own_band():
    """0.55 MW at the 0.23 kV bus: runpp puts it below 0.90 pu with the transformer below 80 %, so the one
    violation is the bus against its -10 % limit (the 10 kV band would say 0.93)."""
    net = _lv230_net()
    w = _runpp_with(net, 1, 0.55)
    vm = float(w.res_bus.at[1, "vm_pu"])
    assert vm < 0.90 and float(w.res_trafo.at[0, "loading_percent"]) < 80.0
    dec = gs.evaluate_connection(net, p_mw=0.55, bus=1, validate=False)
    assert dec.decision == "reject"
    v = dec.violations
    assert list(zip(v["element"], v["index"], strict=True)) == [("bus", 1)]
    assert v.at[0, "kind"] == "voltage < 0.9 pu"
    assert v.at[0, "limit"] == pytest.approx(0.90)
    assert v.at[0, "value_after"] == pytest.approx(vm, abs=1e-6)


def test_110kv_bus_uses_the_35kv_and_above_band():
    """At 110 kV the band is 0.90..1.10 pu (GB/T 12325-2008 4.1). runpp with 40 MW: the bus at 0.906 pu (inside,
    although below 0.93) and the line at 74.8 % (> 70 %): connect, then reinforce the line only. With 50 MW: the
    bus at 0.883 pu (< 0.90) and the line at 92.4 % (< 100 %): reject for the voltage, limit 0.90."""
    net = _hv_net()
    w40, w50 = _runpp_with(net, 1, 40.0), _runpp_with(net, 1, 50.0)
    vm40, ld40 = float(w40.res_bus.at[1, "vm_pu"]), float(w40.res_line.at[0, "loading_percent"])
    vm50, ld50 = float(w50.res_bus.at[1, "vm_pu"]), float(w50.res_line.at[0, "loading_percent"])
    assert 0.90 < vm40 < 0.93 and 70.0 < ld40 < 100.0
    assert vm50 < 0.90 and ld50 < 100.0

    dec = gs.evaluate_connection(net, p_mw=40.0, bus=1, validate=False)
    assert dec.decision == "connect_then_reinforce"
    r = dec.reinforcements
    assert list(zip(r["element"], r["index"], strict=True)) == [("line", 0)]  # no "voltage < 0.93 pu" row
    assert r.at[0, "value_after"] == pytest.approx(ld40, rel=1e-5)

    dec = gs.evaluate_connection(net, p_mw=50.0, bus=1, validate=False)
    assert dec.decision == "reject"
    v = dec.violations
    assert list(zip(v["element"], v["index"], strict=True)) == [("bus", 1)]
    assert v.at[0, "kind"] == "voltage < 0.9 pu" and v.at[0, "limit"] == pytest.approx(0.90)
    assert v.at[0, "value_after"] == pytest.approx(vm50, abs=1e-6)
    assert "voltage >= 0.9 pu at bus 1" in dec.message


def test_request_above_the_default_search_bound_is_still_decided():
    """Without the 10 MW base load the default search bound of bus_open_capacity is 10 MW; 20 MW at the 110 kV
    bus fits (runpp: 0.963 pu, line at 28.7 %), so it must be ``connect``, not a reject "up to 10 MW possible"."""
    net = _hv_net()
    net.load.drop(index=net.load.index, inplace=True)
    w = _runpp_with(net, 1, 20.0)
    assert float(w.res_bus.at[1, "vm_pu"]) > 0.93 and float(w.res_line.at[0, "loading_percent"]) < 70.0
    dec = gs.evaluate_connection(net, p_mw=20.0, bus=1, validate=False)
    assert dec.decision == "connect"
    assert dec.candidates.iloc[0]["open_capacity_mw"] >= 20.0
    assert " at )" not in dec.message and not dec.message.endswith(" at ")
