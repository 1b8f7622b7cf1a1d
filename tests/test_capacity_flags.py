"""Loading flags: thresholds at their edges on hand-made cases, per voltage level and element type, voltage
band, hours above, and the flags of real grids equal to those read from pandapower's own results."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from gridscope.capacity.flags import FLAG_COLUMNS, Thresholds, flag_loading
from gridscope.capacity.powerflow import PeakLoading, run_snapshot
from gridscope.errors import InputError
from hypothesis import given, settings
from hypothesis import strategies as st


def hand_net():
    """110 kV source, a 20 kV and a 10 kV busbar with lines, distribution transformers to 0.4 kV."""
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0, name="HV", zone="A")
    b20 = [pp.create_bus(net, 20.0, name=f"M{i}", zone="B") for i in range(6)]
    b10 = [pp.create_bus(net, 10.0, name=f"K{i}", zone="C") for i in range(3)]
    lv = [pp.create_bus(net, 0.4, name=f"LV{i}", zone="C") for i in range(3)]
    pp.create_ext_grid(net, hv)
    kw = {"r_ohm_per_km": 0.2, "x_ohm_per_km": 0.3, "c_nf_per_km": 10.0, "max_i_ka": 0.3}
    for i in range(1, 6):  # lines 0..4 on 20 kV
        pp.create_line_from_parameters(net, b20[0], b20[i], 1.0, name=f"L20-{i}", **kw)
    for i in range(1, 3):  # lines 5, 6 on 10 kV
        pp.create_line_from_parameters(net, b10[0], b10[i], 1.0, name=f"L10-{i}", **kw)
    pp.create_transformer(net, hv, b20[0], "25 MVA 110/20 kV", name="T-main")
    pp.create_transformer_from_parameters(net, hv, b10[0], 25.0, 110.0, 10.0, 0.3, 12.0, 14.0, 0.07, name="T-k")
    for i in range(3):  # trafos 2, 3, 4: distribution transformers
        pp.create_transformer(net, b10[min(i, 2)], lv[i], "0.4 MVA 10/0.4 kV", name=f"D{i}")
    return net


HAND_NET = hand_net()


def hand_peak(net, line, trafo, vm, *, hours=None, times=None):
    line_df = pd.DataFrame({"loading_percent": line}, index=net.line.index)
    line_df["time"] = times
    trafo_df = pd.DataFrame({"loading_percent": trafo}, index=net.trafo.index)
    trafo_df["time"] = None
    bus = pd.DataFrame({"vm_pu": vm, "p_mw": 0.0, "q_mvar": 0.0}, index=net.bus.index)
    empty = pd.DataFrame({"loading_percent": pd.Series(dtype=float), "time": pd.Series(dtype=object)})
    eg = pd.DataFrame({"p_mw": [0.0], "q_mvar": [0.0], "time": [None]}, index=net.ext_grid.index)
    return PeakLoading(line=line_df, trafo=trafo_df, trafo3w=empty, bus=bus, ext_grid=eg, method="snapshot",
                       scaling=1.0, n_steps=1, hours_above=hours)


LINE = [75.0, 105.0, 69.9, 70.0, 100.0, 65.0, 99.99]
TRAFO = [79.9, 80.0, 100.0, 85.0, 20.0]
VM = [1.0, 0.93, 0.929, 1.07, 1.0701, 1.0, 0.95, 1.02, 0.95, 1.0, 0.905, 0.89, 1.0]


def _by(flags, element):
    sub = flags[flags["element"] == element]
    return dict(zip(sub["index"], sub["severity"], strict=True))


def test_default_thresholds_at_their_edges():
    net = hand_net()
    flags = flag_loading(net, hand_peak(net, LINE, TRAFO, VM), topology=False)
    assert list(flags.columns) == FLAG_COLUMNS
    # lines: 75 heavy, 105 overload, 69.9 not, exactly 70 heavy, exactly 100 overload, 99.99 heavy
    assert _by(flags, "line") == {0: "heavy", 1: "overload", 3: "heavy", 4: "overload", 6: "heavy"}
    # transformers: 79.9 not, 80 heavy, 100 overload, 85 heavy
    assert _by(flags, "trafo") == {1: "heavy", 2: "overload", 3: "heavy"}
    # buses: +-7 % band; exactly 0.93 and 1.07 are allowed
    assert _by(flags, "bus") == {2: "undervoltage", 4: "overvoltage", 10: "undervoltage", 11: "undervoltage"}
    row = flags[(flags["element"] == "bus") & (flags["index"] == 2)].iloc[0]
    assert row["limit_percent"] == pytest.approx(93.0) and row["vm_pu"] == 0.929
    assert np.isnan(row["loading_percent"])
    row = flags[(flags["element"] == "line") & (flags["index"] == 0)].iloc[0]
    assert (row["name"], row["zone"], row["vn_kv"], row["limit_percent"]) == ("L20-1", "B", 20.0, 70.0)
    assert flags[(flags["element"] == "trafo") & (flags["index"] == 3)].iloc[0]["limit_percent"] == 80.0


def test_sorted_worst_first():
    net = hand_net()
    flags = flag_loading(net, hand_peak(net, LINE, TRAFO, VM), topology=False)
    order = ["overload", "undervoltage", "overvoltage", "heavy"]
    ranks = flags["severity"].map(order.index).to_numpy()
    assert (np.diff(ranks) >= 0).all()
    over = flags[flags["severity"] == "overload"]
    assert list(zip(over["element"], over["index"], strict=True)) == [("line", 1), ("line", 4), ("trafo", 2)]
    under = flags[flags["severity"] == "undervoltage"]["index"].tolist()
    assert under == [11, 10, 2]  # 0.89, 0.905, 0.929


def test_thresholds_per_voltage_level_and_type():
    net = hand_net()
    th = Thresholds(line_heavy=70, overrides={"line": {20.0: 60.0}, "trafo": {10.0: 90.0},
                                              "line_overload": {10.0: 95.0}, "bus": {0.4: 0.10}})
    flags = flag_loading(net, hand_peak(net, LINE, TRAFO, VM), thresholds=th, topology=False)
    lines = _by(flags, "line")
    assert lines[2] == "heavy"  # 69.9 % on 20 kV: above the 60 % level override
    assert 5 not in lines  # 65 % on 10 kV: the default 70 % applies there
    assert lines[6] == "overload"  # 99.99 % on 10 kV where overload starts at 95 %
    trafos = _by(flags, "trafo")
    assert 3 not in trafos  # D0 at 85 %, its HV side is 10 kV: threshold 90 %
    assert trafos[1] == "heavy"  # the 110 kV unit keeps 80 %
    buses = _by(flags, "bus")
    assert 10 not in buses and buses[11] == "undervoltage"  # 0.4 kV band +-10 %: 0.905 fine, 0.89 not
    row = flags[(flags["element"] == "line") & (flags["index"] == 2)].iloc[0]
    assert row["limit_percent"] == 60.0


def test_invalid_thresholds_listed_together():
    with pytest.raises(InputError) as info:
        Thresholds(line_heavy=-1, v_band_pu=7, overrides={"cable": {10: 50}, "bus": {10: 7.0}})
    msg = str(info.value)
    assert "line_heavy" in msg and "v_band_pu" in msg and "'cable'" in msg and "per unit" in msg
    with pytest.raises(InputError, match="unknown threshold field"):
        Thresholds.coerce({"line_limit": 60})
    assert Thresholds.coerce({"line_heavy": 60}).line_heavy == 60


def test_hours_above_and_when():
    net = hand_net()
    th = Thresholds()
    hours = pd.DataFrame({"element": ["line", "line", "line", "bus"], "index": [0, 1, 1, 2],
                          "kind": ["heavy", "heavy", "overload", "voltage"],
                          "threshold_percent": [70.0, 70.0, 100.0, 7.0], "hours_above": [12.5, 40.0, 3.25, 1.0]})
    times = [pd.Timestamp("2024-01-10 18:00")] * len(net.line)
    flags = flag_loading(net, hand_peak(net, LINE, TRAFO, VM, hours=hours, times=times), thresholds=th,
                         topology=False)
    get = flags.set_index(["element", "index"])
    assert get.loc[("line", 0), "hours_above"] == 12.5
    assert get.loc[("line", 1), "hours_above"] == 3.25  # the overload row counts hours at or above 100 %
    assert get.loc[("bus", 2), "hours_above"] == 1.0
    assert np.isnan(get.loc[("line", 3), "hours_above"])  # not counted
    assert get.loc[("line", 0), "when"] == pd.Timestamp("2024-01-10 18:00")
    # hours counted with other thresholds are not reported as if they were these
    other = flag_loading(net, hand_peak(net, LINE, TRAFO, VM, hours=hours), thresholds=Thresholds(line_heavy=60),
                         topology=False)
    assert np.isnan(other.set_index(["element", "index"]).loc[("line", 0), "hours_above"])


def test_no_flags_gives_empty_table_with_columns():
    net = hand_net()
    flags = flag_loading(net, hand_peak(net, [10.0] * 7, [10.0] * 5, [1.0] * 13), topology=False)
    assert flags.empty and list(flags.columns) == FLAG_COLUMNS


def test_end_to_end_line_at_75_105_and_69_9_percent():
    """Real power flows: max_i_ka is set so that pandapower computes 75, 105 and 69.9 %."""
    net = pp.create_empty_network()
    src = pp.create_bus(net, 20.0, name="S", zone="B")
    pp.create_ext_grid(net, src)
    ends = [pp.create_bus(net, 20.0, name=f"E{i}", zone="B") for i in range(3)]
    for i, b in enumerate(ends):
        pp.create_line_from_parameters(net, src, b, 2.0, 0.2, 0.3, 10.0, max_i_ka=1.0, name=f"F{i}")
        pp.create_load(net, b, p_mw=2.0, q_mvar=0.5)
    probe = copy.deepcopy(net)
    pp.runpp(probe)
    net.line["max_i_ka"] = probe.res_line["i_ka"].to_numpy() / np.array([0.75, 1.05, 0.699])
    flags = flag_loading(net, run_snapshot(net), topology=False)
    got = flags[flags["element"] == "line"].set_index("index")
    assert got.loc[0, "severity"] == "heavy" and got.loc[0, "loading_percent"] == pytest.approx(75.0, abs=1e-6)
    assert got.loc[1, "severity"] == "overload" and got.loc[1, "loading_percent"] == pytest.approx(105.0, abs=1e-6)
    assert 2 not in got.index


def _expected_flags(net, ref, th=None):
    """Flag sets derived straight from pandapower's result tables."""
    th = th or Thresholds()
    vn_line = net.bus["vn_kv"].reindex(net.line["from_bus"]).to_numpy()
    line = ref.res_line["loading_percent"].to_numpy()
    heavy = th.heavy_percent("line", vn_line)
    exp = {("line", i): ("overload" if v >= 100 else "heavy") for i, v, h in
           zip(net.line.index, line, heavy, strict=True) if v >= h}
    for i, v in ref.res_trafo["loading_percent"].items():
        if v >= 80:
            exp[("trafo", i)] = "overload" if v >= 100 else "heavy"
    for i, v in ref.res_bus["vm_pu"].items():
        if v < 0.93 - 1e-12:
            exp[("bus", i)] = "undervoltage"
        elif v > 1.07 + 1e-12:
            exp[("bus", i)] = "overvoltage"
    return exp


@pytest.mark.parametrize("scaling", [1.0, 1.6])
def test_flags_equal_pandapower_mv_oberrhein(load_builtin, scaling):
    net = load_builtin("mv_oberrhein")
    flags = flag_loading(net, run_snapshot(net, scaling=scaling))
    ref = copy.deepcopy(net)
    ref.load["scaling"] *= scaling
    ref.sgen["in_service"] = False
    pp.runpp(ref)
    got = dict(zip(zip(flags["element"], flags["index"], strict=True), flags["severity"], strict=True))
    assert got == _expected_flags(net, ref)
    lines = flags[flags["element"] == "line"].set_index("index")
    np.testing.assert_allclose(lines["loading_percent"], ref.res_line.loc[lines.index, "loading_percent"], atol=1e-9)
    if scaling > 1:
        assert {"heavy", "overload", "undervoltage"} <= set(flags["severity"])


@pytest.mark.simbench
def test_flags_equal_pandapower_simbench(simbench_mv):
    net = simbench_mv
    peak = run_snapshot(net, scaling=2.5)
    flags = flag_loading(net, peak)
    ref = copy.deepcopy(net)
    ref.load["scaling"] *= 2.5
    ref.sgen["in_service"] = False
    pp.runpp(ref)
    got = dict(zip(zip(flags["element"], flags["index"], strict=True), flags["severity"], strict=True))
    assert got == _expected_flags(net, ref) and len(got) > 3


def test_feeder_and_zone_columns(load_builtin):
    import gridscope as gs

    net = load_builtin("mv_oberrhein")
    topo = gs.build_topology(net)
    flags = flag_loading(net, run_snapshot(net, scaling=1.6), topology=topo)
    lines = flags[flags["element"] == "line"].set_index("index")
    assert len(lines)
    feeder = topo.feeder_name_of(net, "line").reindex(lines.index)
    assert (lines["feeder"] == feeder).all() and lines["feeder"].notna().all()
    zone = net.bus["zone"].reindex(net.line.loc[lines.index, "from_bus"]).to_numpy()
    assert (lines["zone"].to_numpy() == zone).all()


@settings(max_examples=60, deadline=None)
@given(line=st.lists(st.floats(0, 150, allow_nan=False), min_size=7, max_size=7),
       trafo=st.lists(st.floats(0, 150, allow_nan=False), min_size=5, max_size=5),
       vm=st.lists(st.floats(0.85, 1.15, allow_nan=False), min_size=13, max_size=13),
       heavy=st.floats(30, 99), band=st.floats(0.01, 0.2))
def test_flag_rule_property(line, trafo, vm, heavy, band):
    """Whatever the values, an element is flagged exactly when the rule says so, with the right severity."""
    net = HAND_NET
    th = Thresholds(line_heavy=heavy, trafo_heavy=heavy, v_band_pu=band)
    flags = flag_loading(net, hand_peak(net, line, trafo, vm), thresholds=th, topology=False)
    expected = {}
    for element, values in (("line", line), ("trafo", trafo)):
        for i, v in enumerate(values):
            if v >= 100:
                expected[(element, i)] = "overload"
            elif v >= heavy:
                expected[(element, i)] = "heavy"
    for i, v in enumerate(vm):
        # GB/T 12325-2008: the 110 kV bus (index 0) has the 35-kV-and-above band 0.90..1.10 whatever v_band_pu,
        # the 20 kV, 10 kV and 0.4 kV buses +-band
        lo, hi = (0.90, 1.10) if net.bus.at[i, "vn_kv"] >= 35 else (1 - band, 1 + band)
        if v < lo - 1e-12:
            expected[("bus", i)] = "undervoltage"
        elif v > hi + 1e-12:
            expected[("bus", i)] = "overvoltage"
    got = dict(zip(zip(flags["element"], flags["index"], strict=True), flags["severity"], strict=True))
    assert got == expected


def test_voltage_band_per_level():
    """GB/T 12325-2008: 0.92 pu is inside the 35-kV-and-above band at 110 kV but an undervoltage at 20 kV and
    0.4 kV (±7 %); an override of the 110 kV level and a configured HV band take effect."""
    net = HAND_NET
    vm = [0.92] * 13
    flags = flag_loading(net, hand_peak(net, [10] * 7, [10] * 5, vm), topology=False)
    under = set(flags.loc[flags["severity"] == "undervoltage", "index"])
    assert 0 not in under and under == set(range(1, 13))
    row = flags.set_index("index").loc[1]
    assert row["limit_percent"] == pytest.approx(93.0)
    tight = Thresholds(v_band_hv_pu=(0.95, 1.05))
    flags = flag_loading(net, hand_peak(net, [10] * 7, [10] * 5, vm), thresholds=tight, topology=False)
    assert flags.set_index("index").loc[0, "limit_percent"] == pytest.approx(95.0)
    over = Thresholds(overrides={"bus": {110.0: 0.05}})
    lo, hi = over.band_limits([110.0, 20.0])
    np.testing.assert_allclose(lo, [0.95, 0.93])
    np.testing.assert_allclose(hi, [1.05, 1.07])
    with pytest.raises(InputError, match="v_band_hv_pu"):
        Thresholds(v_band_hv_pu=(1.1, 0.9))
