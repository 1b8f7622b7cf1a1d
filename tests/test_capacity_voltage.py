"""Per-level voltage bands of GB/T 12325-2008 (capacity/voltage.py), checked against the standard's wording."""

import pytest
from gridscope.capacity.voltage import VoltageBands, voltage_band_pu


def _ok(vn_kv, vm_pu, **kw):
    lo, hi = voltage_band_pu(vn_kv, **kw)
    return lo <= vm_pu <= hi


def test_110kv_at_106_is_within_the_35kv_and_above_rule():
    # GB/T 12325-2008 4.1: one snapshot deviation +6 % <= 10 % of nominal.
    assert _ok(110.0, 1.06)
    assert _ok(35.0, 0.91)
    assert not _ok(110.0, 1.11)


def test_10kv_at_0925_violates_the_7_percent_rule():
    # 4.2: 20 kV and below, ±7 %: 0.925 < 0.93.
    assert not _ok(10.0, 0.925)
    assert _ok(10.0, 0.935)
    assert not _ok(20.0, 1.075)


def test_220v_single_phase_is_plus7_minus10():
    # 4.3: 220 V single-phase +7 % / -10 %: 198 V passes, 236 V (1.0727) fails.
    assert _ok(0.22, 198.0 / 220.0, single_phase=True)
    assert not _ok(0.22, 236.0 / 220.0, single_phase=True)
    assert not _ok(0.4, 0.92)  # 0.4 kV three-phase is ±7 %


def test_configurable_and_validates():
    assert voltage_band_pu(10.0, bands=VoltageBands(mv_pu=0.05)) == pytest.approx((0.95, 1.05))
    with pytest.raises(ValueError):
        voltage_band_pu(0.0)


# --- which bus is a 220 V single-phase supply point (issue 11 item 6), applied in flags and bus capacity ------


def test_single_phase_marker_by_voltage_and_phases_column():
    import numpy as np
    from gridscope.capacity.voltage import band_limits_pu

    # 0.23 kV and 0.22 kV are single-phase by voltage (<= 0.25 kV); 0.4 kV three-phase LV keeps ±7 %; 10 kV ±7 %;
    # 110 kV 0.90..1.10
    lo, hi = band_limits_pu([0.23, 0.22, 0.4, 10.0, 110.0])
    np.testing.assert_allclose(lo, [0.90, 0.90, 0.93, 0.93, 0.90])
    np.testing.assert_allclose(hi, [1.07, 1.07, 1.07, 1.07, 1.10])
    # the phases column wins: a 0.23 kV bus marked 3 is three-phase, a 0.4 kV bus marked 1 single-phase
    lo, hi = band_limits_pu([0.23, 0.4, 0.23], phases=[3, 1, np.nan])
    np.testing.assert_allclose(lo, [0.93, 0.90, 0.90])
    np.testing.assert_allclose(hi, [1.07, 1.07, 1.07])
    # configurable: max kV 0 leaves only the column
    lo, _ = band_limits_pu([0.23], VoltageBands(lv_single_phase_max_kv=0.0))
    np.testing.assert_allclose(lo, [0.93])
    assert voltage_band_pu(0.23) == pytest.approx((0.90, 1.07))
    assert voltage_band_pu(0.23, single_phase=False) == pytest.approx((0.93, 1.07))


def _lv_net(vm_source_pu: float):
    """10 kV source at ``vm_source_pu``, two unloaded distribution transformers: 10/0.23 kV (bus 1, single-phase
    supply point by voltage) and 10/0.4 kV (bus 2, three-phase LV). Unloaded, runpp puts both LV buses at
    (nearly) the source voltage: only the magnetising current (i0 = 0.2 %) flows."""
    import pandapower as pp

    net = pp.create_empty_network()
    mv = pp.create_bus(net, 10.0, name="MV")
    b230 = pp.create_bus(net, 0.23, name="LV230")
    b400 = pp.create_bus(net, 0.4, name="LV400")
    pp.create_ext_grid(net, mv, vm_pu=vm_source_pu)
    # 1 MVA, vk 10 %, vkr 3 % to 0.23 kV: a load drops the voltage before the transformer reaches 80 %
    pp.create_transformer_from_parameters(net, mv, b230, 1.0, 10.0, 0.23, 3.0, 10.0, 0.0, 0.2, name="T0.23")
    pp.create_transformer_from_parameters(net, mv, b400, 0.1, 10.0, 0.4, 1.0, 4.0, 0.0, 0.2, name="T0.4")
    return net


@pytest.mark.parametrize("vm_source", [0.92, 1.08])
def test_flags_use_the_220v_band_against_runpp(vm_source):
    import pandapower as pp
    from gridscope.capacity.flags import flag_loading
    from gridscope.capacity.powerflow import run_snapshot

    net = _lv_net(vm_source)
    check = _lv_net(vm_source)
    pp.runpp(check, numba=False)
    vm = check.res_bus["vm_pu"]
    assert vm.at[1] == pytest.approx(vm_source, abs=2e-3) and vm.at[2] == pytest.approx(vm_source, abs=2e-3)
    flags = flag_loading(net, run_snapshot(net), topology=False)
    got = dict(zip(flags["index"], flags["severity"], strict=True))
    if vm_source == 0.92:
        # 0.92 >= 0.90: the 0.23 kV bus is inside +7 % / -10 % (the ±7 % band would flag it); 0.4 kV and 10 kV
        # are below 0.93
        assert got == {0: "undervoltage", 2: "undervoltage"}
        assert flags.set_index("index").at[2, "limit_percent"] == pytest.approx(93.0)
    else:
        # 1.08 > 1.07: overvoltage on every level below 35 kV, the 0.23 kV bus at its +7 % limit
        assert got == {0: "overvoltage", 1: "overvoltage", 2: "overvoltage"}
        assert flags.set_index("index").at[1, "limit_percent"] == pytest.approx(107.0)
    # the phases column: the 0.23 kV bus declared three-phase gets ±7 % back
    net.bus["phases"] = [3, 3, 3]
    flags = flag_loading(net, run_snapshot(net), topology=False)
    assert 1 in set(flags["index"])


def test_bad_phases_value_names_the_bus():
    from gridscope.capacity.flags import flag_loading
    from gridscope.capacity.powerflow import run_snapshot
    from gridscope.errors import InputError

    net = _lv_net(1.0)
    peak = run_snapshot(net)
    net.bus["phases"] = [3, 2, None]
    with pytest.raises(InputError, match=r"bus 1 \(LV230\): phases = 2"):
        flag_loading(net, peak, topology=False)


def test_bus_capacity_uses_the_220v_band_against_runpp():
    """The exact bus capacity at the 0.23 kV bus (source 0.935 pu) binds at its -10 % limit, not at 0.93."""
    import copy

    import pandapower as pp
    from gridscope.capacity.bus_capacity import bus_open_capacity
    from gridscope.settings import LOAD_PF

    net = _lv_net(0.935)
    res = bus_open_capacity(net, buses=[1])
    p = float(res.at[1, "open_capacity_mw"])
    assert "voltage" in str(res.at[1, "binding"]).lower()
    # runpp with that load at the 0.23 kV bus: the bus sits at 0.90 pu (within the search tolerance); the ±7 %
    # band would have bound near 0.93 with a far smaller load
    w = copy.deepcopy(net)
    tan_phi = (1 / LOAD_PF**2 - 1) ** 0.5
    pp.create_load(w, 1, p_mw=p, q_mvar=p * tan_phi)
    pp.runpp(w, numba=False)
    assert w.res_bus.at[1, "vm_pu"] == pytest.approx(0.90, abs=2e-3)
    assert w.res_trafo.at[0, "loading_percent"] < 80.0  # the transformer does not bind first


@pytest.mark.parametrize(("p_mw", "decision"), [(0.45, "connect"), (0.55, "reject")])
def test_connection_decision_uses_the_220v_band_against_runpp(p_mw, decision):
    """At the 0.23 kV bus (source 0.935 pu): runpp puts the bus at >= 0.90 pu with 0.45 MW (connect, although it
    is below 0.93) and below 0.90 with 0.55 MW (reject: the transformer is still below 100 %)."""
    import copy

    import gridscope as gs
    import pandapower as pp
    from gridscope.settings import LOAD_PF

    net = _lv_net(0.935)
    w = copy.deepcopy(net)
    pp.create_load(w, 1, p_mw=p_mw, q_mvar=p_mw * (1 / LOAD_PF**2 - 1) ** 0.5)
    pp.runpp(w, numba=False)
    vm = float(w.res_bus.at[1, "vm_pu"])
    assert (0.90 <= vm < 0.93) if decision == "connect" else (vm < 0.90)
    assert float(w.res_trafo.at[0, "loading_percent"]) < 80.0
    assert gs.evaluate_connection(net, p_mw=p_mw, bus=1, validate=False).decision == decision


def test_bus_capacity_reads_the_phases_column_against_runpp():
    """The same 0.23 kV bus declared three-phase (``phases`` = 3) gets ±7 %: its exact capacity binds at
    0.93 pu, a smaller load than at the single-phase 0.90 pu."""
    import copy

    import pandapower as pp
    from gridscope.capacity.bus_capacity import bus_open_capacity
    from gridscope.settings import LOAD_PF

    net = _lv_net(0.935)
    single = float(bus_open_capacity(net, buses=[1]).at[1, "open_capacity_mw"])
    net.bus["phases"] = 3
    res = bus_open_capacity(net, buses=[1])
    p = float(res.at[1, "open_capacity_mw"])
    assert "voltage" in str(res.at[1, "binding"]).lower() and 0 < p < single
    w = copy.deepcopy(net)
    tan_phi = (1 / LOAD_PF**2 - 1) ** 0.5
    pp.create_load(w, 1, p_mw=p, q_mvar=p * tan_phi)
    pp.runpp(w, numba=False)
    assert w.res_bus.at[1, "vm_pu"] == pytest.approx(0.93, abs=2e-3)
