"""Restoration as a shortest-time problem: the fastest usable tie wins, independent of table order; blocks are
picked up through other restored blocks (chains); a tie helps only once its far end is live."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from _feeders import chain_feeder
from gridscope.grid.topology import EdgeKind, SwitchType, build_topology
from gridscope.reliability.impact import DurationClass, build_impact


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


# ------------------------------------------------------------------------ restoration as a shortest time
def _net():
    import pandapower as pp

    net = pp.create_empty_network()
    src = pp.create_bus(net, 10.0, name="S", zone="B")
    pp.create_ext_grid(net, src)
    return net, src


def _bus(net, name: str, *, load_mw: float = 0.0):
    import pandapower as pp

    b = pp.create_bus(net, 10.0, name=name, zone="B")
    if load_mw:
        pp.create_load(net, b, p_mw=load_mw, name=f"LD {name}", customers=10, p_avg_mw=load_mw)
    return b


def _line(net, a: int, b: int, name: str, *, lam: float = 0.0, switch: str | None = None, sw_h: float = 1.0):
    import pandapower as pp

    ln = pp.create_line_from_parameters(net, a, b, 1.0, r_ohm_per_km=0.2, x_ohm_per_km=0.3, c_nf_per_km=10,
                                        max_i_ka=0.4, name=name, lambda_per_km=lam, repair_h=5.0)
    if switch:
        pp.create_switch(net, a, ln, et="l", type=switch, closed=True, name=f"{switch} {name}",
                         switching_h=sw_h)
    return ln


def _tie(net, a: int, b: int, name: str, sw_h: float) -> None:
    import pandapower as pp

    pp.create_switch(net, a, b, et="b", type="LBS", closed=False, name=name, switching_h=sw_h)


def _backup(net, src: int, name: str) -> int:
    """A perfectly reliable breaker-fed backup feeder ending at bus ``name`` (no load)."""
    b = _bus(net, name)
    _line(net, src, b, f"L{name}", switch="CB")
    return b


def _restoration(imp, comp_name: str) -> dict[str, tuple[str, float]]:
    """Load name -> (duration class, switching hours) for a fault of the component named ``comp_name``."""
    c = int(np.flatnonzero(imp.comp_name == comp_name)[0])
    out = {}
    for _, row in imp.ranges_of(c).iterrows():
        for lo in range(int(row["lo"]), int(row["hi"])):
            out[str(imp.load_name[lo])] = (row["kind"], float(row["switch_h"]))
    return out


def _finish(net, reverse: bool = False):
    from gridscope.grid.defaults import apply_reliability_data

    if reverse:
        net.switch = net.switch.iloc[::-1]
        net.line = net.line.iloc[::-1]
    return apply_reliability_data(net)


def _two_ties(reverse: bool):
    # S -CB- L0 - B1 -DS(0.25 h)- L1 - B2 (0.1 MW); B2 has two ties: "manual" (3 h) to backup U,
    # "remote" (0.5 h) to backup V. Only L0 fails.
    net, src = _net()
    b1 = _bus(net, "B1", load_mw=0.1)
    b2 = _bus(net, "B2", load_mw=0.1)
    _line(net, src, b1, "L0", lam=0.1, switch="CB")
    _line(net, b1, b2, "L1", switch="DS", sw_h=0.25)
    _tie(net, _backup(net, src, "U"), b2, "manual", 3.0)
    _tie(net, _backup(net, src, "V"), b2, "remote", 0.5)
    return _finish(net, reverse)


def test_two_ties_fastest_wins_exactly_in_any_table_order():
    for reverse in (False, True):
        r = _restoration(build_impact(_two_ties(reverse)), "L0")
        # fault on L0: B2's block open at its DS (0.25 h), then the remote tie (0.5 h):
        # max(0.25, 0.5) = 0.5 h; the manual tie would give max(0.25, 3) = 3 h. B1 is in the fault zone.
        assert r["LD B2"] == ("tie transfer", 0.5)
        assert r["LD B1"][0] == "repair"


def test_capacity_refusal_of_the_fast_tie_falls_back_to_the_slow_one():
    net = _two_ties(False)
    names = build_topology(net).feeders["name"].tolist()
    v = next(n for n in names if n.endswith("LV"))
    u = next(n for n in names if n.endswith("LU"))
    imp = build_impact(net, tie_capacity={v: 0.05, u: 1.0})
    # the 0.1 MW block does not fit the remote tie's backup V (0.05 MW): it goes through the manual tie to U
    # at max(0.25, 3) = 3 h instead of waiting the 5 h repair; nothing is recorded as refused
    assert _restoration(imp, "L0")["LD B2"] == ("tie transfer", 3.0)
    assert len(imp.tie_blocked) == 0
    imp = build_impact(net, tie_capacity={v: 0.05, u: 0.02})
    # neither fits: repair, and the refusal recorded is the one with the most headroom (V, 0.05 MW)
    assert _restoration(imp, "L0")["LD B2"] == ("repair", 0.0)
    assert imp.tie_blocked["headroom_mw"].tolist() == [pytest.approx(0.05)]


def _chain(reverse: bool = False):
    # S -CB- L0 - B1 (0.1 MW); two branches out of B1, each behind a DS of 0.5 h:
    #   B1 -DS- LX - BX (0.1 MW),   B1 -DS- LY - BY (0.1 MW);
    # tie "xy" (0.5 h) between BX and BY; tie "yu" (1.5 h) from BY to backup U. BX's only tie leads into BY.
    net, src = _net()
    b1 = _bus(net, "B1", load_mw=0.1)
    bx = _bus(net, "BX", load_mw=0.1)
    by = _bus(net, "BY", load_mw=0.1)
    _line(net, src, b1, "L0", lam=0.1, switch="CB")
    _line(net, b1, bx, "LX", switch="DS", sw_h=0.5)
    _line(net, b1, by, "LY", switch="DS", sw_h=0.5)
    _tie(net, bx, by, "xy", 0.5)
    _tie(net, _backup(net, src, "U"), by, "yu", 1.5)
    return _finish(net, reverse)


def test_block_restored_through_another_restored_block():
    for reverse in (False, True):
        r = _restoration(build_impact(_chain(reverse)), "L0")
        # fault on L0 (CB trips): BY's block: max(DS 0.5, tie yu 1.5, U live at 0) = 1.5 h;
        # BX's block only through BY: max(DS 0.5, tie xy 0.5, BY live at 1.5) = 1.5 h (before: the 5 h repair)
        assert r["LD BY"] == ("tie transfer", 1.5)
        assert r["LD BX"] == ("tie transfer", 1.5)
        assert r["LD B1"][0] == "repair"


def test_chain_counts_everything_already_on_the_backup():
    net = _chain()
    u = next(n for n in build_topology(net).feeders["name"] if n.endswith("LU"))
    imp = build_impact(net, tie_capacity={u: 0.15})
    # U carries BY's 0.1 MW (0.15 MW room); BX through BY would make 0.2 MW > 0.15: refused, repair
    r = _restoration(imp, "L0")
    assert r["LD BY"] == ("tie transfer", 1.5)
    assert r["LD BX"] == ("repair", 0.0)
    assert imp.tie_blocked[["transfer_mw", "headroom_mw"]].to_numpy().tolist() == [
        [pytest.approx(0.1), pytest.approx(0.05)]]


def _late_far_end(reverse: bool = False):
    # S -CB- L0 - B1 -DS "manual" (3 h)- L1 - B2 -DS (0.5 h)- L2 - B3 (0.1 MW); a lateral B1 - LW - BW
    # (0.1 MW, no switch). Ties from B3: "same" (0.5 h) to BW, "other" (4 h) to backup U. Only L1 fails.
    net, src = _net()
    b1 = _bus(net, "B1")
    b2 = _bus(net, "B2", load_mw=0.1)
    b3 = _bus(net, "B3", load_mw=0.1)
    bw = _bus(net, "BW", load_mw=0.1)
    _line(net, src, b1, "L0", switch="CB")
    _line(net, b1, b2, "L1", lam=0.1, switch="DS", sw_h=3.0)
    _line(net, b2, b3, "L2", switch="DS", sw_h=0.5)
    _line(net, b1, bw, "LW")
    _tie(net, bw, b3, "same", 0.5)
    _tie(net, _backup(net, src, "U"), b3, "other", 4.0)
    return _finish(net, reverse)


def test_tie_whose_far_end_comes_back_late():
    for reverse in (False, True):
        r = _restoration(build_impact(_late_far_end(reverse)), "L1")
        # fault on L1: the CB trips; BW is back once the 3 h manual DS isolates L1 and the CB recloses.
        # B3's block: through "same" max(0.5, 0.5, BW live at 3) = 3 h; through "other" max(0.5, 4, 0) = 4 h;
        # earliest 3 h (before: 0.5 h, as if BW were never interrupted)
        assert r["LD BW"] == ("upstream switching", 3.0)
        assert r["LD B3"] == ("tie transfer", 3.0)
        assert r["LD B2"][0] == "repair"


def test_chain_and_late_far_end_in_the_analytical_indices():
    import gridscope as gs

    res = gs.assess_reliability(_chain())
    u = dict(zip(res["load_name"].values, res["lp_unavailability"].values, strict=True))
    # only L0 fails (0.1/yr, 5 h repair): B1 waits 5 h -> 0.5 h/yr; BX and BY are back at 1.5 h -> 0.15 h/yr
    assert u["LD B1"] == pytest.approx(0.5)
    assert u["LD BX"] == pytest.approx(0.15) and u["LD BY"] == pytest.approx(0.15)
    res = gs.assess_reliability(_late_far_end())
    u = dict(zip(res["load_name"].values, res["lp_unavailability"].values, strict=True))
    # only L1 fails (0.1/yr, 5 h): B2 repair 0.5 h/yr; BW upstream 3 h and B3 through BW 3 h -> 0.3 h/yr
    assert u["LD B2"] == pytest.approx(0.5)
    assert u["LD BW"] == pytest.approx(0.3) and u["LD B3"] == pytest.approx(0.3)


def test_feeders_without_load_points_are_absent():
    import gridscope as gs

    net = _chain()
    net.line.loc[net.line["name"] == "LU", "lambda_per_km"] = 0.2  # the backup's line fails, interrupting nobody
    topo = build_topology(net)
    assert len(topo.feeders) == 2  # the loaded feeder and the backup U (no load point)
    imp = build_impact(net)
    assert imp.feeders == ["CB L0"]
    assert set(imp.load_feeder.tolist()) == {0}
    lu = int(np.flatnonzero(imp.comp_name == "LU")[0])
    assert imp.comp_feeder[lu] == -1 and imp.ranges_of(lu).empty
    ds = gs.assess_reliability(net)
    assert ds["feeder"].values.tolist() == ["CB L0"]
    # one feeder holds every customer: its SAIDI is the system's, 3 load points x 10 customers:
    # (0.5 + 0.15 + 0.15) h/yr x 10 / 30 = 0.2666... h
    assert float(ds["feeder_SAIDI"].sel(feeder="CB L0")) == pytest.approx(0.8 / 3)
    assert float(ds["SAIDI"].sel(zone="system")) == pytest.approx(0.8 / 3)


# --------------------------------------------------- an independent oracle: sweep the switching times
def _oracle_times(net, topo, comp_edge: int) -> np.ndarray:
    """Earliest live time of every node after a fault on the edge ``comp_edge``, by brute force.

    At a time t every switch whose switching_h ≤ t has been operated: the switches bounding the fault zone
    are open, ties (open switches) may be closed. A node is live at t when it lies in a component (closed
    edges, fault zone removed) that holds a source and no fault-zone node, or that reaches one through ties
    operated by t that join only fault-free components. The answer is the smallest such t among 0 and the
    switching times (inf: never, i.e. the repair). No Dijkstra, no block structure: the documented semantics
    (DESIGN.md §3, docs/reliability.md) read directly.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = topo.n_node
    zone = topo.section_of_node == topo.section_of_edge[comp_edge]
    f, t = topo.edge_from, topo.edge_to
    ok = (f >= 0) & (t >= 0)
    is_sw = topo.edge_kind == EdgeKind.SWITCH
    sw_h = np.full(topo.n_edge, np.inf)
    sw_h[topo.switch_edge] = net.switch["switching_h"].to_numpy(dtype=float)
    bounding = ok & is_sw & (zone[np.maximum(f, 0)] != zone[np.maximum(t, 0)])
    # the breaker or fuse right above the zone cleared the fault: open from the start
    outer_depth = np.where(zone[np.maximum(f, 0)], topo.depth[np.maximum(t, 0)], topo.depth[np.maximum(f, 0)])
    inner_depth = np.where(zone[np.maximum(f, 0)], topo.depth[np.maximum(f, 0)], topo.depth[np.maximum(t, 0)])
    protective = np.isin(topo.switch_code, [SwitchType.CB, SwitchType.FUSE])
    sw_h[bounding & protective & (outer_depth < inner_depth)] = 0.0
    times = np.full(n, np.inf)
    for when in sorted({0.0, *sw_h[np.isfinite(sw_h)].tolist()}):
        keep = ok & topo.edge_closed & ~(bounding & (sw_h <= when))
        g = coo_matrix((np.ones(int(keep.sum())), (f[keep], t[keep])), shape=(n, n))
        _, cc = connected_components(g, directed=False)
        poisoned = np.zeros(cc.max() + 1, bool)
        poisoned[cc[zone]] = True
        live = np.zeros(cc.max() + 1, bool)
        live[cc[topo.supply_node]] = True
        live &= ~poisoned
        ties = ok & ~topo.edge_closed & is_sw & (sw_h <= when)
        a, b = cc[f[ties]], cc[t[ties]]
        usable = ~poisoned[a] & ~poisoned[b]
        changed = True
        while changed:  # spread liveness through usable ties to a fixed point
            new = live.copy()
            new[b[usable & live[a]]] = True
            new[a[usable & live[b]]] = True
            changed = bool((new != live).any())
            live = new
        node_live = live[cc]
        times[node_live & np.isinf(times)] = when
    return times


def _random_net_with_ties(seed: int):
    import pandapower as pp
    from _feeders import random_tree_feeder

    rng = np.random.default_rng(seed)
    net = random_tree_feeder(rng, int(rng.integers(8, 22)), n_feeders=int(rng.integers(1, 4)))
    net.switch["switching_h"] = rng.choice([0.25, 0.5, 1.0, 2.0, 3.0], size=len(net.switch))
    buses = net.bus.index[1:].to_numpy()
    for _ in range(int(rng.integers(1, 5))):
        a, b = rng.choice(buses, size=2, replace=False)
        pp.create_switch(net, int(a), int(b), et="b", type="LBS", closed=False, name=f"tie {a}-{b}",
                         switching_h=float(rng.choice([0.25, 0.5, 1.0, 2.0, 3.0])))
    return net


@pytest.mark.parametrize("seed", range(8))
def test_restoration_times_equal_the_brute_force_oracle(seed: int):
    net = _random_net_with_ties(seed)
    topo = build_topology(net)
    imp = build_impact(net, topology=topo)
    load_node = topo.element_nodes(net, "load")
    row_of = {int(i): k for k, i in enumerate(net.load.index)}
    checked = 0
    for c in range(imp.n_comp):
        if imp.comp_element[c] != "line":
            continue
        edge = int(topo.element_edges("line")[net.line.index.get_loc(int(imp.comp_index[c]))])
        oracle = _oracle_times(net, topo, edge)
        s = slice(int(imp.ptr[c]), int(imp.ptr[c + 1]))
        for lo, hi, kind, h in zip(imp.iv_lo[s], imp.iv_hi[s], imp.iv_kind[s], imp.iv_switch_h[s], strict=True):
            for pos in range(int(lo), int(hi)):
                want = oracle[load_node[row_of[int(imp.load_index[pos])]]]
                got = np.inf if kind == DurationClass.REPAIR else float(h)
                assert got == want, (seed, imp.comp_name[c], imp.load_name[pos], kind, got, want)
                checked += 1
    assert checked > 0


def test_restoration_independent_of_table_order_on_random_nets():
    for seed in range(4):
        net = _random_net_with_ties(seed)
        base = build_impact(net)
        shuffled = copy.deepcopy(net)
        rng = np.random.default_rng(seed + 100)
        shuffled.switch = shuffled.switch.iloc[rng.permutation(len(shuffled.switch))]
        shuffled.line = shuffled.line.iloc[rng.permutation(len(shuffled.line))]
        other = build_impact(shuffled)
        from gridscope.reliability.analytical import analytical_indices

        u0 = dict(zip(base.load_index, analytical_indices(base).u_fault_h, strict=True))
        u1 = dict(zip(other.load_index, analytical_indices(other).u_fault_h, strict=True))
        assert u0.keys() == u1.keys()
        for k in u0:
            assert u1[k] == pytest.approx(u0[k], rel=1e-12, abs=1e-12)
