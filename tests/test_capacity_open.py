"""Open-capacity tables: hand-computed arithmetic (reserved capacity, upstream cap, N-1 by the arithmetic rule,
the default of ``open_capacity_tables`` without ``n1``; the power-flow N-1 is checked in test_capacity_n1.py),
grades."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from gridscope.capacity.open_capacity import LEVELS, TABLE_COLUMNS, Grades, Limits, open_capacity_tables
from gridscope.errors import InputError

SQ3 = math.sqrt(3.0)


def station_net(*, units: int = 2) -> tuple:
    """110 kV grid - ``units`` x 20 MVA main transformers - 10 kV station busbar (bus 1) - two feeders.

    Feeder A: L0 (0.4 kA) bus1-bus2, L1 (0.2 kA) bus2-bus3, distribution transformer D0 (0.63 MVA) bus3-bus4.
    Feeder B: L2 (0.4 kA) bus1-bus5. A normally-open tie joins bus3 and bus5.
    """
    import pandapower as pp

    net = pp.create_empty_network(name="station")
    b = [pp.create_bus(net, 110.0, name="HV")]
    b += [pp.create_bus(net, 10.0, name=f"B{i}") for i in range(1, 4)]
    b.append(pp.create_bus(net, 0.4, name="B4"))
    b.append(pp.create_bus(net, 10.0, name="B5"))
    pp.create_ext_grid(net, b[0])
    trafos = [pp.create_transformer_from_parameters(net, b[0], b[1], sn_mva=20.0, vn_hv_kv=110.0, vn_lv_kv=10.0,
                                                    vk_percent=10.0, vkr_percent=0.5, pfe_kw=0.0, i0_percent=0.0,
                                                    name=f"T{k}") for k in range(units)]
    kw = {"r_ohm_per_km": 0.2, "x_ohm_per_km": 0.35, "c_nf_per_km": 10.0}
    lines = [
        pp.create_line_from_parameters(net, b[1], b[2], 1.0, max_i_ka=0.4, name="L0", **kw),
        pp.create_line_from_parameters(net, b[2], b[3], 1.0, max_i_ka=0.2, name="L1", **kw),
        pp.create_line_from_parameters(net, b[1], b[5], 1.0, max_i_ka=0.4, name="L2", **kw),
    ]
    d0 = pp.create_transformer_from_parameters(net, b[3], b[4], sn_mva=0.63, vn_hv_kv=10.0, vn_lv_kv=0.4,
                                               vk_percent=4.0, vkr_percent=1.0, pfe_kw=0.0, i0_percent=0.0,
                                               name="D0")
    pp.create_switch(net, b[3], b[5], et="b", closed=False, type="LBS", name="tie")
    pp.create_load(net, b[4], p_mw=0.3)
    pp.create_load(net, b[5], p_mw=1.0)
    return net, b, trafos, lines, d0


def fake_peak(net, line_pct: dict[int, float], trafo_pct: dict[int, float]) -> SimpleNamespace:
    """A PeakLoading-like object with hand-chosen loadings (so every figure is computable by hand)."""
    line = pd.DataFrame({"loading_percent": pd.Series(line_pct, dtype=float)}).reindex(net.line.index)
    line["time"] = None
    trafo = pd.DataFrame({"loading_percent": pd.Series(trafo_pct, dtype=float)}).reindex(net.trafo.index)
    trafo["time"] = None
    ext = pd.DataFrame({"p_mw": 0.0, "q_mvar": 0.0, "time": None}, index=net.ext_grid.index)
    return SimpleNamespace(line=line, trafo=trafo, trafo3w=None, bus=None, ext_grid=ext)


def base_case(t0_pct: float = 60.0):
    net, b, trafos, lines, d0 = station_net()
    net["reserved_capacity"] = pd.DataFrame({"element": ["bus", "line"], "element_index": [b[4], lines[2]],
                                             "p_mw": [0.1, 0.5]})
    peak = fake_peak(net, {lines[0]: 50.0, lines[1]: 40.0, lines[2]: 40.0},
                     {trafos[0]: t0_pct, trafos[1]: 50.0, d0: 50.0})
    return net, b, trafos, lines, d0, open_capacity_tables(net, peak)


def test_columns_and_levels():
    *_, tabs = base_case()
    assert tuple(tabs) == LEVELS
    for level, t in tabs.items():
        assert list(t.columns) == TABLE_COLUMNS[level]


def test_hand_computed_reserved_and_own_limits():
    _net, b, _trafos, lines, d0, tabs = base_case()
    r_l0, r_l1 = SQ3 * 10 * 0.4, SQ3 * 10 * 0.2
    # distribution transformer: 0.63 * 0.8 - 0.315 - 0.1 reserved below it
    dt = tabs["distribution_transformer"].set_index("id")
    assert dt.at[d0, "reserved_mva"] == pytest.approx(0.1)
    assert dt.at[d0, "open_capacity_mva"] == pytest.approx(0.504 - 0.315 - 0.1)
    assert dt.at[d0, "binding_level"] == "distribution_transformer"
    assert dt.at[d0, "grade"] == "yellow"  # 0.089 / 0.504 = 0.18
    # feeder A: head L0, 0.7 * rating - 0.5 * rating - 0.1
    fd = tabs["feeder"].set_index("name")
    fa = fd.loc[fd.index.str.contains("L0") | (fd["binding_element"].str.contains("L0"))].iloc[0]
    assert fa["rating_mva"] == pytest.approx(r_l0)
    assert fa["rating_a"] == pytest.approx(400.0)
    assert fa["load_rate_percent"] == pytest.approx(50.0)
    assert fa["open_capacity_mva"] == pytest.approx(0.2 * r_l0 - 0.1)
    # bus 3 is limited by L1: 0.7 * r_l1 - 0.4 * r_l1 - 0.1
    bus = tabs["bus"].set_index("id")
    assert bus.at[b[3], "open_capacity_mva"] == pytest.approx(0.3 * r_l1 - 0.1)
    assert bus.at[b[3], "binding_element"].startswith(f"line {lines[1]}")
    assert bus.at[b[4], "open_capacity_mva"] == pytest.approx(0.089)
    # bus rows carry the binding element's own figures, so the arithmetic can be redone from the row
    row = bus.loc[b[3]]
    assert row["open_capacity_mva"] == pytest.approx(row["rating_mva"] * row["limit_percent"] / 100
                                                     - row["peak_mva"] - row["reserved_mva"])


def test_hand_computed_substation_and_main_transformer_n1():
    _net, _b, trafos, _lines, _d0, tabs = base_case()
    st = tabs["substation"].iloc[0]
    # units 2 x 20 MVA, peaks 12 and 10, reserved 0.6: (16 - 12) / 0.5 - 0.6 = 7.4 (T0 binds)
    assert st["rating_mva"] == pytest.approx(40.0)
    assert st["peak_mva"] == pytest.approx(22.0)
    assert st["reserved_mva"] == pytest.approx(0.6)
    assert st["open_capacity_mva"] == pytest.approx(7.4)
    assert st["binding_element"].startswith(f"trafo {trafos[0]}")
    # N-1: 1.3 * (40 - 20) - 22 - 0.6 = 3.4
    assert st["n1_open_capacity_mva"] == pytest.approx(3.4)
    mt = tabs["main_transformer"].set_index("id")
    assert mt.at[trafos[0], "open_capacity_mva"] == pytest.approx(16 - 12 - 0.3)
    assert mt.at[trafos[1], "open_capacity_mva"] == pytest.approx(16 - 10 - 0.3)
    assert mt["n1_open_capacity_mva"].tolist() == pytest.approx([3.4, 3.4])


def test_feeder_n1_through_tie():
    _net, b, _trafos, _lines, _d0, tabs = base_case()
    r = SQ3 * 10 * 0.4
    fd = tabs["feeder"]
    a = fd[fd["binding_element"].str.contains("L0")].iloc[0]
    bb = fd[fd["binding_element"].str.contains("L2")].iloc[0]
    spare_b = r - 0.4 * r - 0.5  # feeder B at 100 %: rating - peak - reserved
    spare_a = r - 0.5 * r - 0.1
    assert a["transfer_mva"] == pytest.approx(spare_b)
    assert bb["transfer_mva"] == pytest.approx(spare_a)
    assert a["n1_open_capacity_mva"] == pytest.approx(spare_b - 0.5 * r - 0.1)
    assert bb["n1_open_capacity_mva"] == pytest.approx(spare_a - 0.4 * r - 0.5)
    assert a["ties"] == "tie"
    # buses of feeder A carry its N-1 value when it is below their own open capacity
    bus = tabs["bus"].set_index("id")
    assert bus.at[b[3], "n1_open_capacity_mva"] == pytest.approx(spare_b - 0.5 * r - 0.1)


def test_no_tie_means_no_n1():
    net, _b, trafos, lines, d0 = station_net()
    net.switch.drop(net.switch.index, inplace=True)
    peak = fake_peak(net, {lines[0]: 50.0, lines[1]: 40.0, lines[2]: 40.0},
                     {trafos[0]: 60.0, trafos[1]: 50.0, d0: 50.0})
    fd = open_capacity_tables(net, peak)["feeder"]
    assert (fd["n1_open_capacity_mva"] == 0).all()
    assert (fd["open_capacity_mva"] > 0).all()


def test_upstream_cap_by_substation():
    # T0 at 78 %: (16 - 15.6) / 0.5 - 0.6 = 0.2 MVA left in the substation caps every feeder and bus
    _net, b, _trafos, _lines, _d0, tabs = base_case(t0_pct=78.0)
    assert tabs["substation"].iloc[0]["open_capacity_mva"] == pytest.approx(0.2)
    fd = tabs["feeder"]
    assert fd["open_capacity_mva"].tolist() == pytest.approx([0.2, 0.2])
    assert (fd["binding_level"] == "substation").all()
    bus = tabs["bus"].set_index("id")
    assert bus.at[b[2], "open_capacity_mva"] == pytest.approx(0.2)
    assert bus.at[b[2], "binding_level"] == "substation"
    assert bus.at[b[4], "open_capacity_mva"] == pytest.approx(0.089)  # own transformer still tighter
    # N-1 of the substation is negative -> 0
    assert tabs["substation"].iloc[0]["n1_open_capacity_mva"] == 0.0


def test_single_unit_substation_has_no_n1():
    net, _b, trafos, lines, d0 = station_net(units=1)
    peak = fake_peak(net, {lines[0]: 10.0, lines[1]: 10.0, lines[2]: 10.0}, {trafos[0]: 30.0, d0: 10.0})
    tabs = open_capacity_tables(net, peak)
    st = tabs["substation"].iloc[0]
    assert st["open_capacity_mva"] == pytest.approx(20 * 0.8 - 6.0)
    assert st["n1_open_capacity_mva"] == 0.0
    assert "single unit" in st["n1_note"]


def test_ext_grid_substation_rating_from_sn_mva_then_feeders():
    import pandapower as pp

    net = pp.create_empty_network()
    b0, b1 = pp.create_bus(net, 10.0), pp.create_bus(net, 10.0)
    pp.create_ext_grid(net, b0)
    li = pp.create_line_from_parameters(net, b0, b1, 1.0, r_ohm_per_km=0.1, x_ohm_per_km=0.1, c_nf_per_km=0,
                                        max_i_ka=0.1)
    peak = fake_peak(net, {li: 10.0}, {})
    peak.ext_grid.loc[:, ["p_mw", "q_mvar"]] = [0.3, 0.4]  # 0.5 MVA
    st = open_capacity_tables(net, peak)["substation"].iloc[0]
    assert st["rating_mva"] == pytest.approx(SQ3 * 10 * 0.1)  # sum of feeder heads
    assert "sum of feeder heads" in st["source"]
    net.ext_grid["sn_mva"] = 5.0
    st = open_capacity_tables(net, peak)["substation"].iloc[0]
    assert st["rating_mva"] == 5.0
    assert st["open_capacity_mva"] == pytest.approx(5.0 * 0.8 - 0.5)
    assert np.isnan(st["n1_open_capacity_mva"])


def test_limits_and_grades_configurable():
    net, _b, trafos, lines, d0 = station_net()
    peak = fake_peak(net, {lines[0]: 50.0, lines[1]: 40.0, lines[2]: 40.0},
                     {trafos[0]: 60.0, trafos[1]: 50.0, d0: 50.0})
    tabs = open_capacity_tables(net, peak, limits=Limits(trafo_percent=100.0),
                                grades=Grades(green_min_ratio=0.5, red_max_ratio=0.45))
    dt = tabs["distribution_transformer"].iloc[0]
    assert dt["open_capacity_mva"] == pytest.approx(0.63 - 0.315)
    assert dt["grade"] == "green"  # 0.315 / 0.63 = 0.5
    with pytest.raises(InputError, match="line_percent"):
        Limits(line_percent=-1)
    with pytest.raises(InputError, match="grade thresholds"):
        Grades(green_min_ratio=0.1, red_max_ratio=0.2)


def test_invalid_reserved_rows_all_reported():
    net, _b, _trafos, _lines, _d0 = station_net()
    net["reserved_capacity"] = pd.DataFrame({"element": ["bus", "pump", "line"], "element_index": [999, 0, 0],
                                             "p_mw": [0.1, 0.1, -2.0]})
    peak = fake_peak(net, {}, {})
    with pytest.raises(InputError) as exc:
        open_capacity_tables(net, peak)
    msg = str(exc.value)
    assert "bus 999 does not exist" in msg and "'pump'" in msg and "-2.0" in msg


@pytest.mark.parametrize("name", ["rbts2", "cigre_mv"])
def test_assess_capacity_against_runpp(name):
    import copy

    import gridscope as gs
    import pandapower as pp

    net = gs.load_network(name)
    before = copy.deepcopy(net)
    cap = gs.assess_capacity(net)
    assert pp.toolbox.nets_equal(net, before, check_only_results=False)
    work = copy.deepcopy(net)
    work.sgen["in_service"] = False
    pp.runpp(work)
    fd = cap.table("feeder")
    for _, row in fd.iterrows():
        if row["binding_level"] != "feeder":
            continue
        li = int(row["binding_element"].split()[1])
        ln = work.line.loc[li]
        rating = SQ3 * work.bus.at[ln.from_bus, "vn_kv"] * ln.max_i_ka * ln.df * ln.parallel
        # apparent power at the head (independent of pandapower's current-based loading), within the vm error
        s_head = math.hypot(work.res_line.at[li, "p_from_mw"], work.res_line.at[li, "q_from_mvar"])
        assert row["open_capacity_mva"] == pytest.approx(max(0.0, 0.7 * rating - s_head), abs=0.03 * rating)
    assert len(cap.table("bus")) > 0
    assert "open capacity of" in cap.summary()
    with pytest.raises(InputError, match="unknown capacity level"):
        cap.table("nowhere")


def test_nonconvergent_network_is_a_clear_error():
    import gridscope as gs

    net, *_ = station_net()
    net.load["p_mw"] = 5000.0
    with pytest.raises(gs.ConvergenceError, match="did not converge"):
        gs.assess_capacity(net)
