"""gs.validate on deliberately broken networks: each problem found, all at once, with table, index and name."""

from __future__ import annotations

import dataclasses

import gridscope as gs
import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from gridscope.grid.defaults import apply_reliability_data
from gridscope.grid.validation import CHECKS, Problem


def _bus(net, name):
    return int(net.bus.index[net.bus["name"] == name][0])


def _switch(net, name):
    return int(net.switch.index[net.switch["name"] == name][0])


def _line(net, name):
    return int(net.line.index[net.line["name"] == name][0])


def _load(net, name):
    return int(net.load.index[net.load["name"] == name][0])


def _found(problems, check, table=None, index=None):
    return [p for p in problems if p.check == check and (table is None or p.table == table)
            and (index is None or p.index == index)]


# ------------------------------------------------------------------------------------------------ Problem
def test_problem_is_a_frozen_one_liner():
    p = Problem("line", 3, "S4", "max_i_ka is NaN; it must be > 0", "rating")
    assert str(p) == "line[3] 'S4': max_i_ka is NaN; it must be > 0"
    assert str(Problem("net", None, None, "no source")) == "net: no source"
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.index = 4  # type: ignore[misc]
    assert gs.Problem is Problem


def test_clean_networks_have_no_problems(rbts2_net):
    assert gs.validate(rbts2_net) == []
    assert gs.validate(rbts2_net, topology=gs.build_topology(rbts2_net)) == []


# ------------------------------------------------------------------------------------------------ one at a time
def test_no_source(rbts2_copy):
    net = rbts2_copy
    net.ext_grid.loc[0, "in_service"] = False
    problems = gs.validate(net)
    assert [p.check for p in problems] == ["no_source"]
    assert "no source" in problems[0].message


def test_load_not_energised(rbts2_copy):
    net = rbts2_copy
    net.switch.loc[_switch(net, "F2"), "closed"] = False  # F2's breaker open, its tie open too
    problems = gs.validate(net)
    found = _found(problems, "not_energised", "load")
    assert [(p.index, p.name) for p in found] == [(_load(net, "LP8"), "LP8"), (_load(net, "LP9"), "LP9")]
    assert all("not energised" in p.message for p in found)


def test_load_on_out_of_service_bus(rbts2_copy):
    net = rbts2_copy
    net.bus.loc[_bus(net, "LP7"), "in_service"] = False
    found = _found(gs.validate(net), "not_energised")
    assert [p.name for p in found] == ["LP7"] and "out of service" in found[0].message


def test_meshed_feeder(rbts2_copy):
    net = rbts2_copy
    pp.create_line(net, _bus(net, "B3"), _bus(net, "B5"), 1.0, "149-AL1/24-ST1A 10.0", name="loop")
    # the new line has no reliability data yet: reported, with the way to fill it
    nan = _found(gs.validate(net), "reliability_data", "line")
    assert nan and all("apply_reliability_data" in p.message for p in nan)
    apply_reliability_data(net)
    problems = gs.validate(net)
    found = _found(problems, "meshed_feeder")
    assert len(found) == 1 and found[0].table in ("line", "switch")  # one element on the loop
    assert "'F1'" in found[0].message and "meshed" in found[0].message
    assert [p.check for p in problems] == ["meshed_feeder"]


def test_two_feeders_joined_by_a_closed_tie(rbts2_copy):
    net = rbts2_copy
    net.switch.loc[_switch(net, "tie B6-B8"), "closed"] = True
    found = _found(gs.validate(net), "two_sources")
    assert len(found) == 1
    assert "'F1'" in found[0].message and "'F2'" in found[0].message


def test_second_source_at_the_end_of_a_feeder(rbts2_copy):
    net = rbts2_copy
    pp.create_ext_grid(net, _bus(net, "B6"), name="second source")
    problems = gs.validate(net)
    found = _found(problems, "two_sources")
    assert len(found) == 1 and "two sources" in found[0].message and "'F1'" in found[0].message
    # B6 is now a source bus: S10 and S11 leave it as feeders of their own, without a breaker
    assert {p.name for p in _found(problems, "no_protection")} == {"S10", "FUSE S11"} or \
        len(_found(problems, "no_protection")) >= 1


def test_feeder_without_protection_at_its_head(rbts2_copy):
    net = rbts2_copy
    net.switch.loc[_switch(net, "F3"), "type"] = "DS"
    problems = gs.validate(net)
    found = _found(problems, "no_protection")
    assert [(p.table, p.index, p.name) for p in found] == [("switch", _switch(net, "F3"), "F3")]
    assert "breaker or fuse" in found[0].message


def test_ratings(rbts2_copy):
    net = rbts2_copy
    net.line.loc[2, "max_i_ka"] = np.nan
    net.line.loc[4, "length_km"] = -1.0
    net.trafo.loc[0, "sn_mva"] = 0.0
    net.bus.loc[3, "vn_kv"] = np.nan
    net.load.loc[5, "p_mw"] = np.nan
    found = {(p.table, p.index, p.message.split()[0]) for p in _found(gs.validate(net), "rating")}
    assert found == {("line", 2, "max_i_ka"), ("line", 4, "length_km"), ("trafo", 0, "sn_mva"),
                     ("bus", 3, "vn_kv"), ("load", 5, "p_mw")}


def test_reliability_data(rbts2_copy):
    net = rbts2_copy
    net.line.loc[0, "lambda_per_km"] = -0.1
    net.line.loc[1, "repair_h"] = np.nan
    net.trafo.loc[2, "lambda_per_yr"] = np.nan
    net.switch.loc[3, "switching_h"] = -1.0
    net.bus.loc[4, "planned_h"] = np.nan
    net.load.loc[6, "p_avg_mw"] = -2.0
    found = {(p.table, p.index, p.message.split()[0]) for p in _found(gs.validate(net), "reliability_data")}
    assert found == {("line", 0, "lambda_per_km"), ("line", 1, "repair_h"), ("trafo", 2, "lambda_per_yr"),
                     ("switch", 3, "switching_h"), ("bus", 4, "planned_h"), ("load", 6, "p_avg_mw")}


def test_outage_rates_and_times_beyond_a_year(rbts2_copy):
    """Found by the long fuzz run: a 1e12 km line (below the 1e15 magnitude bound) validated clean and gave
    ASAI -1.4e8; planned_per_yr = 1e300 made the Monte-Carlo method overflow. Bounds: an element's yearly rate
    <= 8,760 (one an hour) and its expected outage time <= 8,760 h (the year)."""
    net = rbts2_copy
    rbts_line = net.line.loc[0]  # RBTS: 0.065/km·yr, 5 h repair
    net.line.loc[0, "length_km"] = 1e12           # 6.5e10 faults a year
    net.line.loc[1, "repair_h"] = 80_000.0          # below the 87,600 h bound; λ·r decides (see below)
    net.line.loc[2, "planned_per_yr"] = 1e300
    net.trafo.loc[0, "lambda_per_yr"] = 2_000.0     # 2,000/yr × its repair time (h) > 8,760 h
    net.switch.loc[3, "planned_per_yr"] = 365.0     # daily for 24 h: 8,760 h, exactly the year: allowed
    net.switch.loc[3, "planned_h"] = 24.0
    found = {(p.table, p.index): p.message for p in _found(gs.validate(net), "reliability_data")}
    assert "exceeds 8760/yr" in found[("line", 0)] and "lambda_per_km × length_km" in found[("line", 0)]
    assert "planned outages 1e+300/yr exceeds 8760/yr" in found[("line", 2)]
    assert f"λ·repair_h = {2_000.0 * float(net.trafo.at[0, 'repair_h']):g} h/yr" in found[("trafo", 0)]
    line1_hours = float(net.line.at[1, "lambda_per_km"] * net.line.at[1, "length_km"]) * 80_000.0
    assert (("line", 1) in found) == (line1_hours > 8760.0)
    assert ("switch", 3) not in found
    assert rbts_line["lambda_per_km"] == pytest.approx(0.065)


def test_transformer_resistance_above_impedance(rbts2_copy):
    """Found by the long fuzz run: vkr_percent 1e12 > vk_percent 12 validated clean and pandapower's power flow
    raised FloatingPointError (it takes sqrt(vk² - vkr²))."""
    net = rbts2_copy
    net.trafo.loc[0, "vkr_percent"] = float(net.trafo.at[0, "vk_percent"]) + 1.0
    found = [p for p in _found(gs.validate(net), "rating") if p.table == "trafo"]
    assert [p.index for p in found] == [0] and "exceeds vk_percent" in found[0].message


def test_tiny_thermal_rating(rbts2_copy):
    """max_i_ka may be +inf (unlimited) but not 1e-310 (found by the fuzz run: an overflow in the connection
    check)."""
    net = rbts2_copy
    net.line.loc[1, "max_i_ka"] = 1e-310
    net.line.loc[2, "max_i_ka"] = np.inf
    found = {(p.table, p.index) for p in _found(gs.validate(net), "rating")}
    assert found == {("line", 1)}


def test_text_in_a_numeric_column(rbts2_copy):
    net = rbts2_copy
    net.line["repair_h"] = net.line["repair_h"].astype(object)
    net.line.loc[7, "repair_h"] = "five"
    found = _found(gs.validate(net), "reliability_data", "line", 7)
    assert len(found) == 1 and "'five'" in found[0].message


def test_zones(rbts2_copy):
    net = rbts2_copy
    net.bus.loc[1, "zone"] = "Z"
    net.bus.loc[_bus(net, "LP3"), "zone"] = None  # a load bus
    net.bus.loc[_bus(net, "B4"), "zone"] = None  # no load: not required
    found = _found(gs.validate(net), "zone")
    assert [(p.index, p.message.split(" (")[0]) for p in found] == [
        (1, "unknown zone 'Z'"), (_bus(net, "LP3"), "bus has loads but no zone")]
    # with a default zone or without the requirement, only the unknown label remains
    assert [p.index for p in gs.validate(net, default_zone="C")] == [1]
    assert [p.index for p in gs.validate(net, require_zones=False)] == [1]
    assert any("default zone 'Q'" in p.message for p in gs.validate(net, default_zone="Q"))


def test_switch_types(rbts2_copy):
    net = rbts2_copy
    net.switch.loc[5, "type"] = "XYZ"
    net.switch.loc[6, "type"] = None
    found = _found(gs.validate(net), "switch_type")
    assert [p.index for p in found] == [5, 6]
    assert "'XYZ'" in found[0].message and "CB, FUSE, DS, LBS, LS" in found[0].message


def test_phases_column(rbts2_copy):
    """``phases`` may be 1, 3 or empty; anything else is one problem per bus (index, name, the value as
    written), the ``phases`` check (a capacity check too), instead of an InputError later in the band lookup."""
    from gridscope.capacity.api import capacity_problems
    from gridscope.capacity.voltage import bus_phases
    from gridscope.errors import InputError

    net = rbts2_copy
    assert gs.validate(net) == []  # no column: every bus by voltage
    b1, b2, b3, b4 = (_bus(net, n) for n in ("B2", "B3", "B4", "B5"))
    net.bus["phases"] = pd.Series([None] * len(net.bus), index=net.bus.index, dtype=object)
    net.bus.loc[b1, "phases"] = 1
    net.bus.loc[b2, "phases"] = 3.0
    assert gs.validate(net) == []  # 1, 3.0 and empty are fine
    net.bus.loc[b3, "phases"] = 2
    net.bus.loc[b4, "phases"] = "one"
    found = _found(gs.validate(net), "phases")
    assert [(p.table, p.index, p.name) for p in found] == [("bus", b3, "B4"), ("bus", b4, "B5")]
    assert found[0].message.startswith("phases = 2: must be 1") and "phases = 'one'" in found[1].message
    assert [p.check for p in capacity_problems(net)] == ["phases", "phases"]
    # the band lookup names the same buses (it is reached only with validate=False)
    with pytest.raises(InputError, match=r"bus \d+ \(B4\): phases = 2"):
        bus_phases(net)


def test_customers(rbts2_copy):
    net = rbts2_copy
    net.load["customers"] = net.load["customers"].astype(float)
    net.load.loc[0, "customers"] = np.nan
    net.load.loc[1, "customers"] = -3
    net.load.loc[2, "customers"] = 2.5
    found = _found(gs.validate(net), "customers")
    assert [(p.index, p.name) for p in found] == [(0, "LP1"), (1, "LP2"), (2, "LP3")]
    assert ["missing" in found[0].message, "negative" in found[1].message, "integer" in found[2].message] == \
        [True, True, True]


def test_zero_customers(rbts2_copy):
    net = rbts2_copy
    net.load["customers"] = 0
    found = _found(gs.validate(net), "customers")
    assert len(found) == 1 and found[0].index is None and "zero customers" in found[0].message


def test_missing_customers_column_takes_the_default(rbts2_copy):
    net = rbts2_copy
    del net.load["customers"]
    assert gs.validate(net) == []


def test_dangling_switches_and_elements(rbts2_copy):
    net = rbts2_copy
    b3, b5 = _bus(net, "B3"), _bus(net, "B5")
    s_bus = pp.create_switch(net, b3, _bus(net, "B4"), et="b", closed=False, type="DS", name="s_bus")
    net.switch.loc[s_bus, "bus"] = 999
    s_line = pp.create_switch(net, b3, 0, et="l", closed=False, type="DS", name="s_line")
    net.switch.loc[s_line, "element"] = 999
    s_end = pp.create_switch(net, b3, _line(net, "S4"), et="l", closed=False, type="DS", name="s_end")
    net.switch.loc[s_end, "bus"] = b5
    pp.create_switch(net, b5, b5, et="b", closed=False, type="DS", name="s_same")
    s_et = pp.create_switch(net, b5, b3, et="b", closed=False, type="DS", name="s_et")
    net.switch.loc[s_et, "et"] = "q"
    load = pp.create_load(net, b3, 0.1, name="ghost", customers=1, p_avg_mw=0.1)
    net.load.loc[load, "bus"] = 888
    problems = gs.validate(net)
    found = _found(problems, "dangling")
    got = {(p.table, p.name) for p in found}
    assert got == {("switch", "s_bus"), ("switch", "s_line"), ("switch", "s_end"), ("switch", "s_same"),
                   ("switch", "s_et"), ("load", "ghost")}
    by_name = {p.name: p.message for p in found}
    assert "999" in by_name["s_bus"] and "not a line" in by_name["s_line"]
    assert "not an end of line" in by_name["s_end"] and "identical ends" in by_name["s_same"]
    assert "et='q'" in by_name["s_et"] and "888" in by_name["ghost"]


def test_duplicate_names(rbts2_copy):
    net = rbts2_copy
    net.bus.loc[_bus(net, "B4"), "name"] = "B3"
    net.switch.loc[_switch(net, "F4"), "name"] = "F3"
    found = _found(gs.validate(net), "duplicate_name")
    buses = [p for p in found if p.table == "bus"]
    feeders = [p for p in found if p.table == "switch"]
    assert sorted(p.index for p in buses) == sorted([_bus(net, "B3"), 6]) and all(p.name == "B3" for p in buses)
    assert len(feeders) == 2 and all(p.name == "F3" and "feeder name 'F3'" in p.message for p in feeders)


# ------------------------------------------------------------------------------------------------ all at once
def test_every_problem_at_once(rbts2_copy):
    net = rbts2_copy
    expected = set()
    net.switch.loc[_switch(net, "F2"), "closed"] = False
    expected |= {("not_energised", "load", _load(net, "LP8")), ("not_energised", "load", _load(net, "LP9"))}
    net.switch.loc[_switch(net, "tie B12-B16"), "closed"] = True
    expected.add(("two_sources",))
    pp.create_line(net, _bus(net, "B3"), _bus(net, "B5"), 1.0, "149-AL1/24-ST1A 10.0", name="loop")
    expected.add(("meshed_feeder",))
    net.line.loc[2, "max_i_ka"] = np.nan
    expected.add(("rating", "line", 2))
    net.trafo.loc[1, "repair_h"] = -5.0
    expected.add(("reliability_data", "trafo", 1))
    net.bus.loc[1, "zone"] = "AA"
    expected.add(("zone", "bus", 1))
    net.switch.loc[_switch(net, "DS S4"), "type"] = "disconnector"
    expected.add(("switch_type", "switch", _switch(net, "DS S4")))
    net.bus["phases"] = np.nan
    net.bus.loc[_bus(net, "B4"), "phases"] = 2
    expected.add(("phases", "bus", _bus(net, "B4")))
    net.load.loc[_load(net, "LP20"), "customers"] = -1
    expected.add(("customers", "load", _load(net, "LP20")))
    s = pp.create_switch(net, 0, 0, et="b", closed=False, type="DS", name="same ends")
    expected.add(("dangling", "switch", s))
    b7 = _bus(net, "B7")
    net.bus.loc[b7, "name"] = "B2"
    expected |= {("duplicate_name", "bus", 0), ("duplicate_name", "bus", b7)}
    net.switch.loc[_switch(net, "F1"), "type"] = "LBS"
    expected.add(("no_protection", "switch", 0))

    problems = gs.validate(net)
    got = {(p.check, p.table, p.index) for p in problems}
    for exp in expected:
        assert any(g[: len(exp)] == exp for g in got), (exp, problems)
    # not here by design: duplicate_index skips every other check, nothing_to_analyse needs an empty net,
    # internal is the never-raise safety net; text_bool, station and missing_column have their own tests
    assert {p.check for p in problems} == set(CHECKS) - {"no_source", "duplicate_index", "nothing_to_analyse",
                                                         "internal", "text_bool", "station", "missing_column"}
    assert all("\n" not in str(p) for p in problems)
    # sorted by check, in the documented order
    ranks = [CHECKS.index(p.check) for p in problems]
    assert ranks == sorted(ranks)


# ------------------------------------------------------------------------------------- the big SimBench grid
@pytest.mark.slow
def test_validate_the_big_simbench_grid(simbench_big):
    # clean with and without a prebuilt topology (speed: benchmarks/bench_topology.py, not a timed test)
    topo = gs.build_topology(simbench_big)
    assert gs.validate(simbench_big, topology=topo) == []
    assert gs.validate(simbench_big) == []


# ------------------------------------------------------------------------------------------------ cannot be fooled
def test_text_typed_booleans(rbts2_copy):
    net = rbts2_copy
    f1, lp1 = _switch(net, "F1"), _load(net, "LP1")
    net.switch["closed"] = net.switch["closed"].astype(object)
    net.switch.loc[f1, "closed"] = "False"  # bool("False") is True: it would count as closed
    net.load["in_service"] = net.load["in_service"].astype(object)
    net.load.loc[lp1, "in_service"] = "no"
    found = _found(gs.validate(net), "text_bool")
    assert [(p.table, p.index, p.name) for p in found] == [("switch", f1, "F1"), ("load", lp1, "LP1")]
    assert "'False'" in found[0].message and "'no'" in found[1].message
    # real booleans in an object column are fine
    net.switch.loc[f1, "closed"] = True
    net.load.loc[lp1, "in_service"] = True
    assert gs.validate(net) == []


def test_duplicate_index_is_a_problem_not_an_exception(rbts2_copy):
    net = rbts2_copy
    net.line = pd.concat([net.line, net.line.loc[[3]]])  # line 3 twice: validate used to raise ValueError
    net.load = pd.concat([net.load, net.load.loc[[0]]])
    problems = gs.validate(net)
    assert [(p.table, p.index, p.check) for p in problems] == [("line", 3, "duplicate_index"),
                                                               ("load", 0, "duplicate_index")]
    assert problems[0].name == net.line["name"].iloc[3] and "used by 2 rows" in problems[0].message


def test_non_finite_and_impossible_reliability_values(rbts2_copy):
    net = rbts2_copy
    t0 = int(net.trafo.index[0])
    net.line.loc[0, "lambda_per_km"] = np.inf  # made every index NaN
    net.line.loc[1, "lambda_per_km"] = -0.1
    net.line.loc[2, "repair_h"] = 1e8  # gave ASAI -17.8
    net.line.loc[3, "repair_h"] = 0.0  # line 3 has lambda_per_km 0.065 > 0
    net.line.loc[4, "repair_h"] = np.inf
    net.trafo.loc[t0, "lambda_per_yr"] = np.inf
    net.switch.loc[0, "switching_h"] = np.inf
    net.switch.loc[1, "switching_h"] = -1.0
    found = {(p.table, p.index, p.message.split(" ")[0]): p.message
             for p in _found(gs.validate(net), "reliability_data")}
    assert set(found) == {("line", 0, "lambda_per_km"), ("line", 1, "lambda_per_km"), ("line", 2, "repair_h"),
                          ("line", 3, "repair_h"), ("line", 4, "repair_h"), ("trafo", t0, "lambda_per_yr"),
                          ("switch", 0, "switching_h"), ("switch", 1, "switching_h")}
    assert "infinite" in found[("line", 0, "lambda_per_km")]
    assert "87600 h" in found[("line", 2, "repair_h")]
    assert "repair time > 0" in found[("line", 3, "repair_h")]
    assert "≥ 0" in found[("switch", 1, "switching_h")]


def test_repair_bound_is_inclusive_and_zero_repair_ok_without_failures(rbts2_copy):
    net = rbts2_copy
    net.line.loc[0, "repair_h"] = 87_600.0  # exactly 10 years: allowed
    net.line.loc[1, ["lambda_per_km", "repair_h"]] = 0.0  # never fails: no repair time needed
    assert gs.validate(net) == []


def test_nothing_to_analyse(rbts2_copy):
    net = rbts2_copy
    net.load["in_service"] = False
    found = _found(gs.validate(net), "nothing_to_analyse")
    assert [(p.table, p.index) for p in found] == [("load", None)] and "none of the" in found[0].message

    one = pp.create_empty_network()
    b = pp.create_bus(one, 11.0, zone="A")
    pp.create_ext_grid(one, b)
    pp.create_load(one, b, 1.0)
    apply_reliability_data(one)
    found = _found(gs.validate(one), "nothing_to_analyse")
    assert [(p.table, p.index) for p in found] == [("bus", None)] and "1 in-service bus" in found[0].message


def test_validate_never_raises(rbts2_copy, monkeypatch):
    import gridscope.grid.validation as validation

    def broken(*args, **kwargs):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(validation, "_check_zones", broken)  # stands in for a check tripped by odd data
    problems = gs.validate(rbts2_copy)
    assert [(p.table, p.check) for p in problems] == [("net", "internal")]
    assert "RuntimeError: unforeseen" in problems[0].message


# ------------------------------------------------------------------------------------------------ stations
def _station_with_idle_unit(idle_is_coupled: bool) -> pp.pandapowerNet:
    """110/10 kV: unit T1 feeds one CB-protected feeder; unit T2's busbar BB2 feeds no feeder (only a load
    on the busbar itself), unless a bus coupler joins BB2 to BB1 (then both units are one station)."""
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0, name="HV", zone="B")
    pp.create_ext_grid(net, hv)
    bb1 = pp.create_bus(net, 10.0, name="BB1", zone="B")
    bb2 = pp.create_bus(net, 10.0, name="BB2", zone="B")
    pp.create_transformer(net, hv, bb1, "40 MVA 110/10 kV", name="T1")
    pp.create_transformer(net, hv, bb2, "40 MVA 110/10 kV", name="T2")
    end = pp.create_bus(net, 10.0, name="F1", zone="B")
    ln = pp.create_line(net, bb1, end, 1.0, "NA2XS2Y 1x185 RM/25 12/20 kV", name="L1")
    pp.create_switch(net, bb1, ln, "l", closed=True, type="CB", name="CB L1")
    pp.create_load(net, end, p_mw=1.0, name="LD1")
    pp.create_load(net, bb2, p_mw=1.0, name="LD2")
    if idle_is_coupled:
        pp.create_switch(net, bb1, bb2, "b", closed=False, type="CB", name="coupler")
    return apply_reliability_data(net)


def test_station_check_reports_a_unit_whose_station_feeds_no_feeder():
    # T2 (index 1) is a main transformer (HV side 110 kV > 36 kV) whose 10 kV busbar heads no feeder: the
    # station tables cannot place it. T1 heads feeder L1 and is fine.
    net = _station_with_idle_unit(idle_is_coupled=False)
    found = _found(gs.validate(net), "station")
    assert [(p.table, p.index, p.name) for p in found] == [("trafo", 1, "T2")]
    assert "feeds no feeder" in found[0].message
    assert "station" in CHECKS


def test_station_check_accepts_a_unit_coupled_to_a_feeding_busbar():
    # With a (normally open) coupler BB1-BB2 the two units are one station that feeds L1: no problem.
    assert _found(gs.validate(_station_with_idle_unit(idle_is_coupled=True)), "station") == []


def test_station_check_ignores_ehv_supply_units():
    # A 220/110 kV unit feeding a 110 kV bus (no MV feeders) is supply, not a distribution station.
    net = _station_with_idle_unit(idle_is_coupled=True)
    ehv = pp.create_bus(net, 220.0, name="EHV", zone="B")
    hv110 = pp.create_bus(net, 110.0, name="HV2", zone="B")
    pp.create_ext_grid(net, ehv)
    pp.create_transformer_from_parameters(net, ehv, hv110, sn_mva=100.0, vn_hv_kv=220.0, vn_lv_kv=110.0,
                                          vkr_percent=0.3, vk_percent=12.0, pfe_kw=0.0, i0_percent=0.0,
                                          name="T220")
    net = apply_reliability_data(net)
    assert _found(gs.validate(net), "station") == []


# ------------------------------------------------------------------------------------------------ entry points
def test_reliability_api_refuses_a_target_for_a_zone_that_does_not_exist(rbts2_copy):
    # issue 13: `Q=99` names no supply zone; it used to be accepted silently. The API says so (listing the
    # labels), as the CLI does; every bad entry at once.
    with pytest.raises(gs.InputError) as info:
        gs.assess_reliability(rbts2_copy, targets={"Q": 99.0, "B": "high"})
    msg = str(info.value)
    assert "'Q'" in msg and "A+, A, B, C, D, E" in msg and "this network has A, B" in msg
    assert "target for zone 'B' must be a finite number" in msg
    # a known label the network lacks is allowed (study-wide target tables name every network's zones) and
    # changes nothing for the zones it has
    base = gs.assess_reliability(rbts2_copy)
    other = gs.assess_reliability(rbts2_copy, targets={"C": 99.9})
    assert float(other["SAIDI"].sel(zone="system")) == float(base["SAIDI"].sel(zone="system"))


# ------------------------------------------------------------------------------------------------ found by fuzzing
def test_missing_required_column_is_a_problem_not_an_exception(rbts2_copy):
    # a dropped line.length_km made build_impact raise KeyError (tests/test_fuzz.py found it)
    net = rbts2_copy
    net.line = net.line.drop(columns=["length_km"])
    problems = gs.validate(net)
    assert [(p.check, p.table, p.index) for p in problems] == [("missing_column", "line", None)]
    assert "'length_km'" in problems[0].message
    with pytest.raises(gs.ValidationError):
        gs.assess_reliability(net)
    from gridscope.capacity.api import assess_capacity

    with pytest.raises(gs.ValidationError):
        assess_capacity(net)


@pytest.mark.parametrize(("table", "column", "value", "why"), [
    ("line", "length_km", np.inf, "infinite"),          # made pandapower's makeYbus raise FloatingPointError
    ("line", "x_ohm_per_km", np.inf, "infinite"),
    ("line", "c_nf_per_km", 1e-310, "not a physical value"),  # underflow in makeYbus: FloatingPointError
    ("load", "q_mvar", np.nan, "NaN"),
    ("load", "p_mw", -np.inf, "infinite"),
    ("ext_grid", "vm_pu", np.nan, "NaN"),                # pandapower raised a bare UserWarning
    ("ext_grid", "vm_pu", -1.0, "must be > 0"),
])
def test_power_flow_inputs_must_be_finite_and_physical(rbts2_copy, table, column, value, why):
    net = rbts2_copy
    row = int(net[table].index[min(2, len(net[table]) - 1)])
    net[table].at[row, column] = value
    found = _found(gs.validate(net), "rating", table, row)
    assert found and why in found[0].message and column in found[0].message


def test_an_unlimited_line_rating_is_allowed(rbts2_copy):
    # max_i_ka = inf is an unlimited thermal rating: the power flow and the open capacity handle it
    rbts2_copy.line.at[2, "max_i_ka"] = np.inf
    assert gs.validate(rbts2_copy) == []


def test_numbers_in_boolean_columns_and_text_in_power_flow_columns(rbts2_copy):
    # switch.closed as 0/1 (a spreadsheet's booleans) made the capacity tables raise KeyError; load.p_mw as the
    # text "0.5" parses, but pandapower's arithmetic on the raw column raised TypeError (found by probing the
    # fuzz corruptions): both are problems naming the cell
    net = rbts2_copy
    net.switch["closed"] = net.switch["closed"].astype(int)
    net.load["p_mw"] = net.load["p_mw"].astype(object)
    net.load.at[2, "p_mw"] = "0.5"
    problems = gs.validate(net)
    closed = _found(problems, "text_bool", "switch")
    assert len(closed) == len(net.switch) and "is 1 (int), not a boolean" in closed[0].message
    text = _found(problems, "rating", "load", 2)
    assert text and "the text '0.5', not a number" in text[0].message


def test_huge_parameters_and_dangling_transformers_found_by_the_long_fuzz_run(rbts2_copy):
    # benchmarks/fuzz_long.py: a transformer vn_lv_kv of 1e300 made pandapower's makeYbus raise
    # FloatingPointError (1e12 only fails to converge: ConvergenceError, a clean refusal); a main
    # transformer whose lv_bus does not exist made the station check raise KeyError inside validate.
    net = rbts2_copy
    net.line.at[2, "r_ohm_per_km"] = 1e300
    found = _found(gs.validate(net), "rating", "line", 2)
    assert found and "magnitude above 1e+15" in found[0].message

    station = _station_with_idle_unit(idle_is_coupled=False)
    station.trafo.at[1, "lv_bus"] = 9999
    problems = gs.validate(station)
    assert _found(problems, "dangling", "trafo", 1) and not _found(problems, "internal")
