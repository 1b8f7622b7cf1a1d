"""Exact bus open capacity: tightness against independent pandapower power flows (99 % / 102 %)."""

from __future__ import annotations

import copy
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
    """Limits exceeded in ``w`` and made worse than in ``base`` (the rule of the capacity search)."""
    out = set()
    tol, tol_pu = 1e-5, 1e-7  # bus_capacity.WORSE_TOL_PERCENT / WORSE_TOL_PU
    ll = w.res_line["loading_percent"]
    lim = limits.physical_percent if physical else limits.line_percent
    bad = (ll > lim) & (ll > base.res_line["loading_percent"] + tol)
    out |= {f"line {i}" for i in ll.index[bad]}
    tl = w.res_trafo["loading_percent"]
    main = w.trafo["vn_hv_kv"] > 36
    tlim = pd.Series(np.where(main, limits.main_trafo_percent, limits.trafo_percent), index=tl.index)
    if physical:
        tlim[:] = limits.physical_percent
    bad = (tl > tlim) & (tl > base.res_trafo["loading_percent"] + tol)
    out |= {f"trafo {i}" for i in tl.index[bad]}
    vm = w.res_bus["vm_pu"]
    bad = ((vm < 1 - limits.v_band_pu) & (vm < base.res_bus["vm_pu"] - tol_pu)) | \
        ((vm > 1 + limits.v_band_pu) & (vm > base.res_bus["vm_pu"] + tol_pu))
    out |= {f"bus {i}" for i in vm.index[bad]}
    return out


def _check_tightness(net, res, scaling, sample, physical):
    limits = Limits()
    base = _runpp_with(net, scaling, int(net.bus.index[0]), 0.0)
    col = "physical_capacity_mw" if physical else "open_capacity_mw"
    bcol = "physical_binding_element" if physical else "binding_element"
    for b in sample:
        v = float(res.at[b, col])
        below = _violations(_runpp_with(net, scaling, int(b), 0.99 * v), base, limits, physical)
        assert below == set(), f"bus {b}: 99 % of {v} MW violates {below}"
        above = _violations(_runpp_with(net, scaling, int(b), 1.02 * v), base, limits, physical)
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
