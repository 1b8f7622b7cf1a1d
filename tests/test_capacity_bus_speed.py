"""The compiled margins of the exact bus search (issue 11 item 7) give what the numpy margins gave."""

from __future__ import annotations

import gridscope as gs
import numpy as np
import pytest
from gridscope.capacity.bus_capacity import ACModel, BindingKind, Constraints, bus_open_capacity
from gridscope.capacity.open_capacity import Limits
from test_capacity_open_bus import _check_tightness

pytestmark = pytest.mark.simbench


def _both(cons: Constraints, model: ACModel, buses, p, physical, path):
    q = 0.33 * p
    ev = model.evaluate(buses, p, q)
    V, conv, added = model.solve(buses, p, q)
    old = cons.margins_on_path(ev, physical, buses if path else None)
    new = cons.margins_of_states(V, conv, added, physical, buses if path else None)
    return ev.converged, old, new


@pytest.mark.slow
def test_compiled_margins_match_numpy_on_1mv_urban():
    """1-MV-urban (several feeders, lines of other feeders already above 70 %: off-path notes): the compiled
    margins equal ``margins_on_path`` (the numpy rule, itself checked against runpp in test_capacity_open_bus)
    case by case: value, kind, element and note, planning and physical, with and without the path rule, and an
    unsolvable case (500 MW) is NO_SOLUTION."""
    net = gs.load_network("simbench:1-MV-urban--0-sw")
    model = ACModel(net)
    cons = Constraints(model, Limits())
    ok = net.bus.index[model.bus_ppci >= 0].to_numpy()
    rng = np.random.default_rng(3)
    buses = rng.choice(ok, 60)
    p = rng.uniform(0.0, 8.0, 60)
    p[:3] = [0.0, 1e-4, 500.0]
    seen_notes = 0
    for physical in (False, True):
        for path in (False, True):
            conv, old, new = _both(cons, model, buses, p, physical, path)
            assert not conv[2]
            assert new[1][2] == BindingKind.NO_SOLUTION and new[0][2] == -1.0
            np.testing.assert_allclose(new[0], old[0], rtol=1e-9, atol=1e-12)
            np.testing.assert_array_equal(new[1], old[1])  # kind
            np.testing.assert_array_equal(new[2][conv], old[2][conv])  # element (irrelevant when unsolved)
            np.testing.assert_array_equal(new[3], old[3])  # note kind
            noted = new[3] != BindingKind.NONE
            np.testing.assert_array_equal(new[4][noted], old[4][noted])
            seen_notes += int(noted.sum())
    assert seen_notes > 0  # the off-path rule was exercised
    # a watched limit returns its own margin: the binding one's is the smallest margin itself
    V, conv, added = model.solve(buses, p, 0.33 * p)
    m, kind, elem, _, _ = cons.margins_of_states(V, conv, added, False, buses)
    *_, mw = cons.margins_of_states(V, conv, added, False, buses, (kind, elem))
    fin = conv & np.isfinite(m)
    np.testing.assert_array_equal(mw[fin], m[fin])
    assert np.isnan(mw[~conv]).all()


@pytest.mark.slow
def test_same_capacities_as_numpy_margins_on_1mvlv_rural(monkeypatch):
    """SimBench 1-MVLV-rural-all-0-sw (MV feeders and LV grids), 40 random buses: the sped-up search (compiled
    margins, new seeds) gives the capacities and binding elements of the previous numpy margins within the
    search's bracket (rtol 0.5 % each side), and 3 physical capacities are tight against pandapower runpp
    (99 % / 102 %)."""
    net = gs.load_network("simbench:1-MVLV-rural-all-0-sw")
    model = ACModel(net)
    ok = net.bus.index[model.bus_ppci >= 0].to_numpy()
    buses = np.sort(np.random.default_rng(7).choice(ok, 40, replace=False))
    fast = bus_open_capacity(net, buses, model=model)

    def numpy_margins(self, V, conv, added, physical, b, watch=None):
        out = self.margins_on_path(self.model._results(V, conv, added), physical, b)
        return out if watch is None else (*out, np.full(conv.size, np.nan))  # no watched margin: regula falsi

    monkeypatch.setattr(Constraints, "margins_of_states", numpy_margins)
    slow = bus_open_capacity(net, buses, model=model)
    for col in ("open_capacity_mw", "physical_capacity_mw"):
        np.testing.assert_allclose(fast[col], slow[col], rtol=0.011, atol=2e-5)
    assert (fast["binding_element"] == slow["binding_element"]).all()
    assert (fast["physical_binding_element"] == slow["physical_binding_element"]).all()
    assert (fast["offpath_note"] == slow["offpath_note"]).all()
    # a heavily loaded grid: most planning capacities are 0, the physical ones a few kW (bound at 0.93 pu)
    cand = fast.index[fast["physical_capacity_mw"] > 1e-3]
    assert len(cand) >= 3
    _check_tightness(net, fast, 1.0, cand[:3], physical=True, path_rule=True)
