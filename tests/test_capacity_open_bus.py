"""Exact bus open capacity: tightness against independent pandapower power flows (99 % / 102 %)."""

from __future__ import annotations

import copy
import itertools
import math

import gridscope as gs
import numpy as np
import pandas as pd
import pytest
from gridscope.capacity.bus_capacity import ACModel, bus_open_capacity
from gridscope.capacity.open_capacity import Limits
from gridscope.errors import InputError

PF = 0.95
TANPHI = math.tan(math.acos(PF))


def _runpp_with(net, scaling: float, bus: int, p_mw: float):
    """pandapower runpp of the planning snapshot (sgen off, loads x scaling) plus a load at ``bus``."""
    import pandapower as pp

    w = copy.deepcopy(net)
    w.sgen["in_service"] = False
    w.load["scaling"] = w.load["scaling"] * scaling
    if p_mw > 0:
        pp.create_load(w, bus, p_mw=p_mw, q_mvar=p_mw * TANPHI)
    pp.runpp(w)
    return w


def _violations(w, base, limits: Limits, physical: bool) -> set[str]:
    """Limits exceeded in ``w`` and made worse than in ``base`` (the rule of the capacity search); with
    ``base=None`` every limit exceeded in ``w``."""
    out = set()
    tol, tol_pu = 1e-5, 1e-7  # bus_capacity.WORSE_TOL_PERCENT / WORSE_TOL_PU
    ll = w.res_line["loading_percent"]
    lim = limits.physical_percent if physical else limits.line_percent
    worse = True if base is None else ll > base.res_line["loading_percent"] + tol
    out |= {f"line {i}" for i in ll.index[(ll > lim) & worse]}
    tl = w.res_trafo["loading_percent"]
    main = w.trafo["vn_hv_kv"] > 36
    tlim = pd.Series(np.where(main, limits.main_trafo_percent, limits.trafo_percent), index=tl.index)
    if physical:
        tlim[:] = limits.physical_percent
    worse = True if base is None else tl > base.res_trafo["loading_percent"] + tol
    out |= {f"trafo {i}" for i in tl.index[(tl > tlim) & worse]}
    vm = w.res_bus["vm_pu"]
    # GB/T 12325-2008: 35 kV and above 0.90..1.10 pu, 20 kV and below +-v_band_pu
    hv = w.bus["vn_kv"] >= 35
    lo = pd.Series(np.where(hv, 0.90, 1 - limits.v_band_pu), index=w.bus.index)
    hi = pd.Series(np.where(hv, 1.10, 1 + limits.v_band_pu), index=w.bus.index)
    lower = True if base is None else vm < base.res_bus["vm_pu"] - tol_pu
    higher = True if base is None else vm > base.res_bus["vm_pu"] + tol_pu
    bad = ((vm < lo) & lower) | ((vm > hi) & higher)
    out |= {f"bus {i}" for i in vm.index[bad]}
    return out


def _check_tightness(net, res, scaling, sample, physical, path_rule=False):
    """99 % of the capacity violates nothing, 102 % violates the reported binding element. ``path_rule``: a
    limit already exceeded before the connection counts only on the bus's supply path (:func:`_supply_path`)."""
    limits = Limits()
    base = _runpp_with(net, scaling, int(net.bus.index[0]), 0.0)
    pre = _violations(base, None, limits, physical) if path_rule else set()
    col = "physical_capacity_mw" if physical else "open_capacity_mw"
    bcol = "physical_binding_element" if physical else "binding_element"
    for b in sample:
        v = float(res.at[b, col])
        ignored = pre - _supply_path(net, int(b)) if path_rule else set()
        below = _violations(_runpp_with(net, scaling, int(b), 0.99 * v), base, limits, physical) - ignored
        assert below == set(), f"bus {b}: 99 % of {v} MW violates {below}"
        above = _violations(_runpp_with(net, scaling, int(b), 1.02 * v), base, limits, physical) - ignored
        binding = " ".join(str(res.at[b, bcol]).split()[:2])
        assert binding in above, f"bus {b}: 102 % of {v} MW violates {above}, not the reported {binding}"


@pytest.mark.parametrize(("name", "scaling"), [("mv_oberrhein", 1.0), ("rbts2", 0.7)])
def test_tightness_on_a_sample(name, scaling):
    net = gs.load_network(name)
    res = bus_open_capacity(net, scaling=scaling)
    assert res["search_converged"].all()
    rng = np.random.default_rng(7)
    for physical in (False, True):
        col = "physical_capacity_mw" if physical else "open_capacity_mw"
        cand = res.index[(res[col] > 0.05) & (res[col] < res.attrs["p_max_mw"])]
        assert len(cand) >= 4
        sample = rng.choice(cand, size=min(4, len(cand)), replace=False)
        _check_tightness(net, res, scaling, sample, physical)
    # the physical capacity is never below the planning one
    assert (res["physical_capacity_mw"] >= res["open_capacity_mw"] - 1e-9).all()


def test_ybus_model_matches_runpp_loadings():
    net = gs.load_network("cigre_mv")
    model = ACModel(net)
    ev = model.evaluate(np.array([5, 11]), np.array([0.5, 1.0]), np.array([0.1, 0.3]))
    for c, (b, p, q) in enumerate([(5, 0.5, 0.1), (11, 1.0, 0.3)]):
        import pandapower as pp

        w = copy.deepcopy(net)
        w.sgen["in_service"] = False
        pp.create_load(w, b, p_mw=p, q_mvar=q)
        pp.runpp(w)
        np.testing.assert_allclose(ev.line_loading[:, c], w.res_line["loading_percent"], rtol=1e-6)
        np.testing.assert_allclose(ev.trafo_loading[:, c], w.res_trafo["loading_percent"], rtol=1e-6)
        np.testing.assert_allclose(ev.vm[:, c], w.res_bus["vm_pu"], rtol=1e-8)


def test_pandapower_method_agrees_with_ybus():
    net = gs.load_network("cigre_mv")
    buses = [3, 7, 10]
    fast = bus_open_capacity(net, buses, physical=True)
    slow = bus_open_capacity(net, buses, physical=True, method="pandapower")
    np.testing.assert_allclose(fast["physical_capacity_mw"], slow["physical_capacity_mw"], rtol=0.011)
    assert (fast["physical_binding_element"] == slow["physical_binding_element"]).all()


def test_voltage_binding_on_case33bw():
    net = gs.load_network("case33bw")
    res = bus_open_capacity(net, [17, 32], limits=Limits(v_band_pu=0.10), physical=False)
    assert res["binding"].str.startswith("voltage").all()
    base = _runpp_with(net, 1.0, 0, 0.0)
    for b in (17, 32):
        v = res.at[b, "open_capacity_mw"]
        lo = _runpp_with(net, 1.0, b, 0.99 * v)
        hi = _runpp_with(net, 1.0, b, 1.02 * v)
        assert lo.res_bus["vm_pu"].min() >= 0.9 - 1e-9
        assert hi.res_bus["vm_pu"].min() < 0.9
        assert base.res_bus["vm_pu"].min() > 0.9


def test_bad_input():
    net = gs.load_network("cigre_mv")
    with pytest.raises(InputError, match="bus 999 does not exist"):
        bus_open_capacity(net, [999, 1000])
    with pytest.raises(InputError, match="power factor"):
        bus_open_capacity(net, [3], pf=1.5)


def _supply_path(net, bus: int) -> set[str]:
    """Buses, lines and transformers between ``bus`` and the external grid, from pandapower's own graph
    (networkx, open switches respected): independent of gridscope's topology."""
    import networkx as nx
    import pandapower.topology as top

    g = top.create_nxgraph(net, respect_switches=True)
    src = int(net.ext_grid["bus"].iloc[0])
    nodes = nx.shortest_path(g, src, bus)
    out = {f"bus {b}" for b in nodes}
    for u, v in itertools.pairwise(nodes):
        for key in g[u][v]:
            element, idx = key[0], key[1]
            out.add(f"{element} {idx}")
    return out


@pytest.mark.slow
def test_offpath_violation_does_not_bind_on_1mv_urban():
    """SimBench 1-MV-urban: feeder-head lines of other feeders are already above 70 %; a bus elsewhere keeps its
    capacity (they are a note), a bus behind one of them gets 0. Checked with pandapower runpp."""
    net = gs.load_network("simbench:1-MV-urban--0-sw")
    res = bus_open_capacity(net, [3, 26, 77], physical=False)
    limits = Limits()
    base = _runpp_with(net, 1.0, int(net.bus.index[0]), 0.0)
    pre = set(f"line {i}" for i in base.res_line.index[base.res_line["loading_percent"] > 70])
    assert {"line 25", "line 48", "line 66"} <= pre  # three feeder heads above 70 % before any connection
    for b in (3, 26):
        v = float(res.at[b, "open_capacity_mw"])
        assert v > 1.0, (b, v)  # not ~80 W any more
        note = res.at[b, "offpath_note"]
        noted = " ".join(note.split(": ")[-1].split()[:2])
        path = _supply_path(net, b)
        below = _violations(_runpp_with(net, 1.0, b, 0.99 * v), base, limits, physical=False)
        assert below and noted in below  # the noted line is made worse ...
        assert not below & path  # ... but nothing on the bus's own supply path is violated
        assert below <= pre  # and only limits that were already exceeded
        above = _violations(_runpp_with(net, 1.0, b, 1.02 * v), base, limits, physical=False)
        binding = " ".join(str(res.at[b, "binding_element"]).split()[:2])
        assert binding in above  # a limit newly exceeded binds wherever it is
    # bus 77 hangs behind line 66: on its own path the pre-existing violation binds
    assert res.at[77, "open_capacity_mw"] == 0.0
    assert "line 66" in _supply_path(net, 77)
    assert res.at[77, "binding_element"].startswith("line 66")
    small = _violations(_runpp_with(net, 1.0, 77, 0.01), base, limits, physical=False)
    assert "line 66" in small


def test_case33bw_buses_below_the_band_have_zero_exact_capacity():
    """case33bw: 14 buses are below 0.93 pu before any connection (runpp); there the voltage-aware exact
    capacity is 0 (any load lowers them further), elsewhere it is tight against runpp."""
    net = gs.load_network("case33bw")
    base = _runpp_with(net, 1.0, 0, 0.0)
    low = base.res_bus.index[base.res_bus["vm_pu"] < 0.93]
    assert len(low) == 14
    res = bus_open_capacity(net, physical=False)
    assert (res.loc[low, "open_capacity_mw"] == 0).all()
    assert res.loc[low, "binding"].str.startswith("voltage >= 0.93").all()
    cand = res.index[(res["open_capacity_mw"] > 0.01) & ~res["binding"].str.startswith("external grid")]
    assert len(cand) >= 3
    _check_tightness(net, res, 1.0, cand[:3], physical=False, path_rule=True)


def test_radial_sweeps_match_runpp():
    """The compiled backward/forward sweeps (radial grid) reproduce pandapower's runpp solution."""
    import pandapower as pp

    net = gs.load_network("case33bw")
    model = ACModel(net)
    assert model._tree is not None  # radial: the sweep path is used
    ev = model.evaluate(np.array([17, 24]), np.array([0.3, 0.5]), np.array([0.1, 0.2]))
    for c, (b, p, q) in enumerate([(17, 0.3, 0.1), (24, 0.5, 0.2)]):
        w = copy.deepcopy(net)
        w.sgen["in_service"] = False
        pp.create_load(w, b, p_mw=p, q_mvar=q)
        pp.runpp(w, tolerance_mva=1e-10)
        np.testing.assert_allclose(ev.vm[:, c], w.res_bus["vm_pu"], rtol=1e-8)
        np.testing.assert_allclose(ev.line_loading[:, c], w.res_line["loading_percent"], rtol=1e-6, atol=1e-9)


def test_chunks_and_bands(monkeypatch):
    """Buses searched in small chunks, or on one thread, give the same answer; the 20-kV-and-below band is
    configurable."""
    from gridscope.capacity import bus_capacity
    from gridscope.capacity.voltage import VoltageBands

    net = gs.load_network("case33bw")
    buses = [1, 2, 5, 17, 20, 24, 30, 32]
    whole = bus_open_capacity(net, buses)
    monkeypatch.setattr(bus_capacity, "bus_chunk_size", lambda model: 3)
    chunked = bus_open_capacity(net, buses)
    assert chunked.attrs["chunk"] == 3
    pd.testing.assert_frame_equal(whole, chunked, check_like=True)
    import numba  # the sweeps run the cases of a batch on numba's threads: the result must not depend on them

    n_threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = bus_open_capacity(net, buses)
    finally:
        numba.set_num_threads(n_threads)
    pd.testing.assert_frame_equal(whole, single, check_exact=True)
    loose = bus_open_capacity(net, [1, 2], bands=VoltageBands(mv_pu=0.15), physical=False)
    assert (loose["open_capacity_mw"] > 0).all()


def test_capacity_bus_table_is_voltage_aware_by_default():
    """assess_capacity: the bus table carries the exact (voltage-aware) value unless thermal_only; on case33bw
    the thermal arithmetic shows 1.527 MVA where the exact answer is 0 (bus below 0.93 pu before, runpp)."""
    from click.testing import CliRunner
    from gridscope.cli import main

    net = gs.load_network("case33bw")
    cap = gs.assess_capacity(net)
    bus = cap.table("bus").set_index("id")
    assert cap.meta["exact_bus"] is True
    base = _runpp_with(net, 1.0, 0, 0.0)
    low = base.res_bus.index[base.res_bus["vm_pu"] < 0.93]
    shown = bus.index.intersection(low)
    assert len(shown) >= 10
    assert (bus.loc[shown, "ac_open_capacity_mw"] == 0).all()
    assert (bus.loc[shown, "open_capacity_mva"] > 1.0).all()  # the thermal-only figure is far too high there
    plain = gs.assess_capacity(net, thermal_only=True)
    assert "ac_open_capacity_mw" not in plain.table("bus").columns and plain.meta["exact_bus"] is False
    with pytest.raises(InputError, match="contradict"):
        gs.assess_capacity(net, exact_bus=True, thermal_only=True)
    out = CliRunner().invoke(main, ["capacity", "case33bw", "--level", "bus", "--head", "3", "--thermal-only"])
    assert out.exit_code == 0, out.output
    assert "ac_open_capacity_mw" not in out.output
    out = CliRunner().invoke(main, ["capacity", "case33bw", "--level", "bus", "--head", "3"])
    assert out.exit_code == 0 and "ac_open_capacity_mw" in out.output
