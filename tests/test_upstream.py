"""The upstream option: main transformers, station busbars, bus couplers and supply lines as failing components.

The test station: a 110 kV source, two 10 MVA 110/10 kV units TA, TB on MV busbars A and B, one breaker-fed
feeder on each (a 1 km line to one load of 100 customers). Default data: main transformer 0.015/yr, 15 h
(grid/defaults.py main_transformer); station busbar 0.001/yr, 2 h and bus coupler 0.006/yr, 4 h, 1 h switching
(upstream_defaults, RBTS). Overload factor 1.3: the remaining unit carries up to 13 MVA. Each feeder's share of
the customers is 1/2, so a component interrupting one feeder for d hours at rate λ adds λ·d/2 to SAIDI.
"""

from __future__ import annotations

import gridscope as gs
import numpy as np
import pandapower as pp
import pytest
from gridscope.reliability.analytical import analytical_indices
from gridscope.reliability.impact import build_impact
from gridscope.reliability.upstream import add_upstream


def station(coupler: bool | None = None, load_mw: float = 3.0, supply_lines: int = 0):
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0, name="HV")
    if supply_lines:
        src = pp.create_bus(net, 110.0, name="grid")
        pp.create_ext_grid(net, src)
        for k in range(supply_lines):
            pp.create_line_from_parameters(net, src, hv, 10.0, 0.1, 0.4, 10.0, 0.6, name=f"supply {k}")
    else:
        pp.create_ext_grid(net, hv)
    heads = []
    for side in "AB":
        bb = pp.create_bus(net, 10.0, name=f"bus {side}", zone="B")
        pp.create_transformer_from_parameters(net, hv, bb, sn_mva=10.0, vn_hv_kv=110.0, vn_lv_kv=10.0,
                                              vk_percent=10.0, vkr_percent=0.5, pfe_kw=0.0, i0_percent=0.0,
                                              name=f"T{side}")
        far = pp.create_bus(net, 10.0, name=f"{side}1", zone="B")
        ln = pp.create_line_from_parameters(net, bb, far, 1.0, 0.2, 0.3, 10.0, 0.6, name=f"L{side}")
        pp.create_switch(net, bb, ln, et="l", closed=True, type="CB", name=f"CB {side}")
        pp.create_load(net, far, p_mw=load_mw, q_mvar=0.0, name=f"LP{side}")
        heads.append(bb)
    if coupler is not None:
        pp.create_switch(net, heads[0], heads[1], et="b", closed=coupler, type="CB", name="coupler")
    net.load["customers"] = 100
    return gs.load_network(net)


def _added_saidi(net) -> float:
    ds0 = gs.assess_reliability(net)
    ds1 = gs.assess_reliability(net, upstream=True)
    assert float(ds1["SAIDI_upstream"].sel(zone="system")) == pytest.approx(
        float(ds1["SAIDI"].sel(zone="system") - ds0["SAIDI"].sel(zone="system")), abs=1e-12)
    return float(ds1["SAIDI_upstream"].sel(zone="system"))


@pytest.mark.parametrize(("coupler", "load_mw", "expected"), [
    # two single-unit stations: each unit fault waits 15 h: 2 × 0.015 × 15 / 2 = 0.225; busbars 2 × 0.001 × 2 / 2
    (None, 3.0, 0.225 + 0.002),
    # normally-open coupler, 6 MVA <= 13: the failed unit's feeder is back when the coupler closes (1 h):
    # 2 × 0.015 × 1 / 2 = 0.015; busbars 0.002
    (False, 3.0, 0.015 + 0.002),
    # ... but 16 MVA > 13: the failed unit's feeder waits for its repair, as without a coupler
    (False, 8.0, 0.225 + 0.002),
    # closed coupler (parallel units), 6 MVA <= 13: a unit fault interrupts nobody; busbars 0.002; the coupler's
    # own fault trips both sections for its 1 h switching: 0.006 × 1 × 1 = 0.006
    (True, 3.0, 0.002 + 0.006),
    # parallel but 16 MVA > 13: a unit fault takes both feeders for 15 h: 2 × 0.015 × 15 = 0.45
    (True, 8.0, 0.45 + 0.002 + 0.006),
])
def test_two_unit_station_by_hand(coupler, load_mw, expected):
    assert _added_saidi(station(coupler, load_mw)) == pytest.approx(expected, rel=1e-12)


def test_option_off_changes_nothing(rbts2_net):
    # default off: the published RBTS Bus 2 SAIDI; rbts2 has no main transformer, so on adds nothing either
    ds = gs.assess_reliability(rbts2_net)
    assert float(ds["SAIDI"].sel(zone="system")) == pytest.approx(3.6126, abs=5e-5)
    assert "SAIDI_upstream" not in ds
    up = gs.assess_reliability(rbts2_net, upstream=True)
    assert float(up["SAIDI"].sel(zone="system")) == float(ds["SAIDI"].sel(zone="system"))
    assert up.attrs["upstream"] == "True" and "upstream option" in up.attrs["supply_boundary"]


def test_supply_lines():
    # one 10 km supply line at the line defaults (overhead 0.065/km·yr, 5 h): its fault takes the station
    # (both feeders) off until repaired: 0.65 × 5 = 3.25 h; two parallel lines: neither interrupts anybody
    one = _added_saidi(station(None, 3.0, supply_lines=1))
    assert one == pytest.approx(3.25 + 0.225 + 0.002, rel=1e-12)
    assert _added_saidi(station(None, 3.0, supply_lines=2)) == pytest.approx(0.225 + 0.002, rel=1e-12)


def test_data_overrides_and_bad_data():
    net = station(True, 3.0)
    impact = build_impact(net)
    up = add_upstream(impact, net, data={"station_busbar": {"lambda": 0.0}, "station_coupler": {"lambda": 0.0}})
    assert up.n_comp == impact.n_comp  # nothing left to fail: parallel units, busbars and coupler at 0
    from gridscope.errors import InputError

    with pytest.raises(InputError):
        add_upstream(impact, net, data={"station_roof": {"lambda": 1.0}})
    with pytest.raises(InputError):
        add_upstream(impact, net, data={"station_busbar": {"lambda": -1.0}})


def test_monte_carlo_agrees_with_analytical_with_upstream():
    net = station(False, 3.0, supply_lines=1)
    imp = add_upstream(build_impact(net), net)
    exact = analytical_indices(imp)
    c = imp.load_customers
    saidi = float((c * exact.u_fault_h).sum() / c.sum())
    ds = gs.assess_reliability(net, method="monte-carlo", years=40_000, seed=3, upstream=True)
    got = float(ds["SAIDI"].sel(zone="system"))
    se = float(ds["SAIDI_stderr"].sel(zone="system")) if "SAIDI_stderr" in ds else 0.05 * saidi
    assert abs(got - saidi) < 4 * se
    assert np.isfinite(float(ds["SAIDI_upstream"].sel(zone="system")))
