"""Restoration through ties: the fastest usable tie wins, independent of switch-table order."""

from __future__ import annotations

import numpy as np
from _feeders import chain_feeder
from gridscope.reliability.impact import build_impact


def _two_tie_net(reverse: bool):
    import pandapower as pp

    # B0 -CB- L0 - B1 -DS(1 h)- L1 - B2; tie "manual" (3 h) from feeder T to B2, tie "remote" (0.5 h) from
    # feeder U to B2. A fault on L0 isolates B2's block at its DS (1 h); the best transfer is
    # max(1 h, 0.5 h) = 1 h through the remote tie, not max(1 h, 3 h) = 3 h through the manual one.
    net = chain_feeder([{"km": 1, "lam": 0.1, "r": 5, "customers": 1},
                        {"km": 1, "lam": 0.1, "r": 5, "switch": "DS", "sw_h": 1.0, "customers": 1}],
                       tie=True, tie_switching_h=3.0)
    b0 = int(net.bus.index[net.bus.name == "B0"][0])
    b2 = int(net.bus.index[net.bus.name == "B2"][0])
    bu = pp.create_bus(net, 10.0, name="BU", zone="B")
    lu = pp.create_line_from_parameters(net, b0, bu, 0.1, r_ohm_per_km=0.2, x_ohm_per_km=0.3,
                                        c_nf_per_km=10, max_i_ka=0.4, name="LU", lambda_per_km=0.0,
                                        repair_h=1.0)
    pp.create_switch(net, b0, lu, et="l", type="CB", closed=True, name="CB LU")
    pp.create_switch(net, bu, b2, et="b", type="LBS", closed=False, name="remote", switching_h=0.5)
    if reverse:
        net.switch = net.switch.iloc[::-1]
    from gridscope.grid.defaults import apply_reliability_data

    return apply_reliability_data(net)


def _tie_rows(imp):
    out = []
    for c in range(imp.n_comp):
        df = imp.ranges_of(c)
        out.extend(df.loc[df["kind"] == "tie transfer", "switch_h"].tolist())
    return out


def test_fastest_tie_is_used_in_any_switch_order():
    fwd, rev = build_impact(_two_tie_net(False)), build_impact(_two_tie_net(True))
    # the fault on L0 transfers B2's block in max(1 h DS, 0.5 h remote tie) = 1 h, never 3 h
    assert 1.0 in _tie_rows(fwd) and 3.0 not in _tie_rows(fwd)
    assert sorted(_tie_rows(fwd)) == sorted(_tie_rows(rev))
    np.testing.assert_array_equal(np.sort(fwd.iv_switch_h), np.sort(rev.iv_switch_h))
