"""Failure-effect analysis: which load points each failing component interrupts, and for how long.

The result, :class:`Impact`, is the one structure both reliability methods read, so they cannot disagree on
topology. It is compact because of one fact about radial networks: if the load points are ordered by a
depth-first walk of the feeder trees, every subtree is a contiguous range of positions. The load points a
failure interrupts are unions of subtrees (everything below the protective device that clears it, minus what
lies above the fault zone, ...), so each component's impact is a handful of half-open position ranges
``[lo, hi)``, each with a *duration class*:

``UPSTREAM`` (:class:`~gridscope.reliability.codes.DurationClass`)
    restored after switching: upstream of the fault zone, back on when the zone is isolated and the
    protective device reclosed (duration ``min(switching, repair)``);
``TIE``
    restored after switching through a normally-open tie: downstream of the fault zone (same duration);
``REPAIR``
    waits for the repair: inside the fault zone, or downstream with no (or no capable) tie.

Per-range sums (customers, average demand) are prefix-sum differences, so a Monte-Carlo event costs O(ranges),
not O(load points), and per-load totals accumulate in difference arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .codes import DurationClass

__all__ = ["REPAIR", "TIE", "UPSTREAM", "DurationClass", "Impact", "build_impact"]

#: The duration classes under their short names (aliases of the enum members).
UPSTREAM, TIE, REPAIR = DurationClass.UPSTREAM, DurationClass.TIE, DurationClass.REPAIR


@dataclass(eq=False)
class Impact:
    """Failure effects of every component of a network, as position ranges over the load points.

    Components are the elements that can fail (lines, transformers, busbars, switches with a failure rate
    or planned outages); load points are ``net.load`` rows that are in service.

    Attributes
    ----------
    comp_element : numpy.ndarray of str
        pandapower table of each component (``line``, ``trafo``, ``trafo3w``, ``bus``, ``switch``).
    comp_index : numpy.ndarray of int64
        pandapower index of each component in its table.
    comp_name : numpy.ndarray of object
        Name (or ``None``).
    comp_feeder : numpy.ndarray of int64
        Feeder id of the component (``-1`` if none).
    comp_lambda : numpy.ndarray of float64
        Fault rate per year (``lambda_per_km × length_km`` for lines).
    comp_repair_h : numpy.ndarray of float64
        Mean repair hours.
    comp_planned_per_yr, comp_planned_h : numpy.ndarray of float64
        Planned outages per year and mean hours each.
    ptr : numpy.ndarray of int64, shape (n_comp + 1,)
        Ranges of component ``c`` are ``ptr[c]:ptr[c+1]`` (CSR layout).
    iv_lo, iv_hi : numpy.ndarray of int64
        Half-open ranges of load positions.
    iv_kind : numpy.ndarray of int8
        ``UPSTREAM``, ``TIE`` or ``REPAIR``.
    iv_switch_h : numpy.ndarray of float64
        Mean switching hours for ``UPSTREAM`` and ``TIE`` ranges (0 for ``REPAIR``).
    load_pos : numpy.ndarray of int64
        Position (depth-first order) of each ``net.load`` row; ``-1`` for loads out of service or unsupplied.
    load_index : numpy.ndarray of int64
        pandapower load index at each position.
    load_customers, load_p_avg_mw : numpy.ndarray of float64
        Customers and average demand (MW) at each position.
    load_zone, load_feeder : numpy.ndarray of int64
        Zone id (into ``zones``) and feeder id (into ``feeders``) at each position.
    zones : list of str
        Zone labels (sorted A+, A, B, ..., E, then others).
    feeders : list of str
        Feeder names by feeder id.
    tie_blocked : pandas.DataFrame
        Tie transfers refused by the capacity check: component, its fault rate (``rate_per_yr``: how often per
        year the refusal happens), tie switch, transferred MW, headroom MW.
    """

    comp_element: np.ndarray
    comp_index: np.ndarray
    comp_name: np.ndarray
    comp_feeder: np.ndarray
    comp_lambda: np.ndarray
    comp_repair_h: np.ndarray
    comp_planned_per_yr: np.ndarray
    comp_planned_h: np.ndarray
    ptr: np.ndarray
    iv_lo: np.ndarray
    iv_hi: np.ndarray
    iv_kind: np.ndarray
    iv_switch_h: np.ndarray
    load_pos: np.ndarray
    load_index: np.ndarray
    load_customers: np.ndarray
    load_p_avg_mw: np.ndarray
    load_zone: np.ndarray
    load_feeder: np.ndarray
    zones: list[str]
    feeders: list[str]
    tie_blocked: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_comp(self) -> int:
        """Number of components."""
        return int(self.comp_lambda.size)

    @property
    def n_load(self) -> int:
        """Number of load points (positions)."""
        return int(self.load_index.size)

    @property
    def n_ranges(self) -> int:
        """Number of ranges."""
        return int(self.iv_lo.size)

    def component_table(self) -> pd.DataFrame:
        """Components as a table: element, index, name, feeder, lambda_per_yr, repair_h, planned data."""
        feeder_names = np.asarray([*self.feeders, None], dtype=object)
        return pd.DataFrame({
            "element": self.comp_element,
            "index": self.comp_index,
            "name": self.comp_name,
            "feeder": feeder_names[np.where(self.comp_feeder >= 0, self.comp_feeder, len(self.feeders))],
            "lambda_per_yr": self.comp_lambda,
            "repair_h": self.comp_repair_h,
            "planned_per_yr": self.comp_planned_per_yr,
            "planned_h": self.comp_planned_h,
        })

    def ranges_of(self, c: int) -> pd.DataFrame:
        """The ranges of component ``c`` with their load indices, for inspection and tests."""
        s = slice(int(self.ptr[c]), int(self.ptr[c + 1]))
        return pd.DataFrame({
            "lo": self.iv_lo[s], "hi": self.iv_hi[s],
            "kind": [DurationClass(int(k)).label for k in self.iv_kind[s]],
            "switch_h": self.iv_switch_h[s],
            "loads": [self.load_index[lo:hi].tolist() for lo, hi in zip(self.iv_lo[s], self.iv_hi[s],
                                                                         strict=True)],
        })


def _zone_labels(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Zone ids and labels: the classes A+…E first in their order, then any other labels, then 'unzoned'."""
    from ..grid.defaults import ZONES

    text = values.astype(object).where(values.notna(), "unzoned").astype(str)
    present = set(text)
    labels = [z for z in ZONES if z in present] + sorted(present - set(ZONES) - {"unzoned"})
    if "unzoned" in present:
        labels.append("unzoned")
    code = pd.Series(np.arange(len(labels)), index=labels)
    return code.reindex(text.to_numpy()).to_numpy(dtype=np.int64), labels


def _subtree_sizes(n: int, order: np.ndarray, parent: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Nodes in each node's subtree (itself included), accumulated level by level from the leaves."""
    size = np.ones(n, dtype=np.int64)
    if not order.size:
        return size
    d = depth[order]
    by_depth = order[np.argsort(-d, kind="stable")]
    dd = depth[by_depth]
    cuts = np.flatnonzero(np.diff(dd)) + 1
    for level in np.split(by_depth, cuts):
        p = parent[level]
        ok = p >= 0
        np.add.at(size, p[ok], size[level[ok]])
    return size


def _head_line_capacity_mw(net: Any, topo: Any, head_node: int, children: pd.Series) -> float:
    """Active-power capacity (MW at pf 0.95) of the first line of a feeder: the head edge, or the first line
    below it when the head is a switch or transformer on an unbranched path; ``inf`` when there is none.
    ``children`` maps a node to its child nodes (a Series indexed by parent node)."""
    from ..grid.topology import EDGE_LINE

    node = head_node
    while True:
        edge = int(topo.parent_edge[node])
        if edge >= 0 and topo.edge_kind[edge] == EDGE_LINE:
            row = net.line.loc[int(topo.edge_element[edge])]
            i_max_ka = float(row["max_i_ka"]) * float(row.get("df", 1.0)) * float(row.get("parallel", 1))
            return float(np.sqrt(3.0) * float(net.bus.at[row["from_bus"], "vn_kv"]) * i_max_ka * 0.95)
        below = children.get(node)
        if below is None or (np.ndim(below) and len(below) != 1):
            return float("inf")
        node = int(below if np.ndim(below) == 0 else below.iloc[0])


def build_impact(
    net: Any,
    *,
    topology: Any = None,
    tie_capacity: bool | dict[str, float] = False,
    default_switching_h: float = 1.0,
) -> Impact:
    """Failure-effect analysis of ``net`` (DESIGN.md §3): the :class:`Impact` both reliability methods use.

    For every failing component (line, transformer, busbar, switch with a fault rate or planned outages) in
    the radially operated part of the network:

    1. the nearest protective device (``CB`` or ``FUSE``) upstream of its fault zone clears the fault and
       every load point below that device is interrupted (with no protective device at all, the whole feeder);
    2. the fault zone is the component's switch-bounded section (a failing switch: the sections on both of
       its sides);
    3. after switching, load points above the fault zone are restored through the reclosed device
       (``UPSTREAM``) and every block hanging below the fault zone that holds a normally-open tie to a part
       still supplied is restored through that tie (``TIE``), subject to the optional capacity check;
    4. the rest (the fault zone itself, blocks without a usable tie) wait for the repair (``REPAIR``).

    The supply (above ``RADIAL_MAX_KV``, main transformers, station busbars) is treated as perfectly
    reliable, as in the RBTS publications.

    Parameters
    ----------
    net : pandapowerNet
        The network, with the data-contract columns (``gs.load_network`` fills defaults).
    topology : Topology, optional
        A prebuilt :func:`gridscope.grid.topology.build_topology` result for ``net``.
    tie_capacity : bool or dict
        ``False`` (default): a tie always carries the transferred block, as in the published RBTS results.
        ``True``: a block is transferred only if the backup feeder's head line has the headroom at peak load
        (``√3·V·I_max·0.95`` minus the backup feeder's peak demand, ``p_mw × scaling``); otherwise it waits
        for the repair, and the refusal is recorded in ``Impact.tie_blocked``. A dict gives the headroom in
        MW per feeder name directly (e.g. from the capacity module's N-1 table).
    default_switching_h : float
        Switching time for switches without ``switching_h``.

    Returns
    -------
    Impact
    """
    from ..grid.topology import EDGE_SWITCH, NO, build_topology

    topo = topology if topology is not None else build_topology(net)
    n_node = topo.n_node
    radial = np.zeros(n_node, dtype=bool)
    radial[topo.order] = True

    # ---------------------------------------------------------------- depth-first preorder of the forest
    # children lists through a CSR keyed by parent (super-root = n_node for feeder heads)
    root = n_node
    kids = topo.order
    par = np.where(topo.supply_node[np.maximum(topo.parent_node[kids], 0)] | (topo.parent_node[kids] < 0),
                   root, topo.parent_node[kids])
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import depth_first_order

    g = coo_matrix((np.ones(kids.size, np.int8), (par, kids)), shape=(n_node + 1, n_node + 1)).tocsr()
    pre_nodes = depth_first_order(g, root, directed=True, return_predecessors=False)[1:]
    pre = np.full(n_node, NO, dtype=np.int64)
    pre[pre_nodes] = np.arange(pre_nodes.size)
    tree_parent = np.full(n_node, NO, dtype=np.int64)
    tree_parent[kids] = np.where(par == root, NO, par)
    size = _subtree_sizes(n_node, topo.order, tree_parent, topo.depth)

    # ---------------------------------------------------------------- load positions
    load = net.load
    l_in = load["in_service"].fillna(False).to_numpy(dtype=bool) if len(load) else np.zeros(0, bool)
    l_node = topo.bus_node(load["bus"].to_numpy()) if len(load) else np.zeros(0, np.int64)
    l_ok_node = np.maximum(l_node, 0)
    l_radial = l_in & (l_node >= 0) & radial[l_ok_node]
    l_supply = l_in & (l_node >= 0) & topo.supply_node[l_ok_node]
    key = np.where(l_radial, pre[l_ok_node], np.iinfo(np.int64).max)
    rows = np.flatnonzero(l_radial | l_supply)
    rows = rows[np.argsort(key[rows], kind="stable")]
    load_pos = np.full(len(load), NO, dtype=np.int64)
    load_pos[rows] = np.arange(rows.size)
    tree_keys = np.sort(key[l_radial])  # preorder ranks of the radial loads, in position order

    # load-position range [lo, hi) of every node's subtree (meaningful for radial nodes)
    node_lo = np.searchsorted(tree_keys, pre, side="left")
    node_hi = np.searchsorted(tree_keys, pre + size, side="left")

    def lo_of(nodes: np.ndarray) -> np.ndarray:
        return node_lo[nodes]

    def hi_of(nodes: np.ndarray) -> np.ndarray:
        return node_hi[nodes]

    # data-contract defaults where columns are missing: 1 customer per load point, p_avg = p_mw × scaling
    p_scaled = (load["p_mw"] * load["scaling"]).to_numpy(dtype=float) if len(load) else np.zeros(0)
    customers = (pd.to_numeric(load["customers"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
                 if "customers" in load else np.ones(len(load)))[rows]
    p_avg = (pd.to_numeric(load["p_avg_mw"], errors="coerce").fillna(pd.Series(p_scaled, index=load.index))
             .to_numpy(dtype=float) if "p_avg_mw" in load else p_scaled)[rows]
    p_peak_all = p_scaled
    zone_of_bus = net.bus["zone"] if "zone" in net.bus else pd.Series(None, index=net.bus.index)
    load_zone, zones = _zone_labels(zone_of_bus.reindex(load["bus"].to_numpy()).reset_index(drop=True)
                                    .iloc[rows] if len(load) else pd.Series(dtype=object))
    load_feeder = topo.feeder_of_node[l_ok_node[rows]] if len(load) else np.zeros(0, np.int64)
    load_feeder = np.where(l_radial[rows], load_feeder, NO)

    # ---------------------------------------------------------------- sections: root, protective device
    sec = topo.section_of_node
    n_sec = int(sec.max()) + 1 if n_node else 0
    rad_nodes = topo.order
    srt = rad_nodes[np.lexsort((topo.depth[rad_nodes], sec[rad_nodes]))]
    first = np.ones(srt.size, dtype=bool)
    first[1:] = sec[srt[1:]] != sec[srt[:-1]]
    sec_root = np.full(n_sec, NO, dtype=np.int64)
    sec_root[sec[srt[first]]] = srt[first]
    touches_supply = np.zeros(n_sec, dtype=bool)
    touches_supply[sec[topo.supply_node]] = True
    head_node = topo.feeders["head_node"].to_numpy(dtype=np.int64)
    # a section that reaches into the supply (no switch at the feeder head) is handled per feeder
    # from the feeder's head node.

    edge_lower = np.full(topo.n_edge, NO, dtype=np.int64)
    edge_lower[topo.parent_edge[rad_nodes]] = rad_nodes

    sw_h = np.full(topo.n_edge, default_switching_h, dtype=float)
    if len(net.switch) and "switching_h" in net.switch:
        vals = pd.to_numeric(net.switch["switching_h"], errors="coerce").fillna(default_switching_h)
        sw_h[topo.switch_edge] = vals.to_numpy(dtype=float)

    # boundary nodes: radial section roots whose parent lies in another radial section
    is_root = sec_root[sec[rad_nodes]] == rad_nodes
    roots = rad_nodes[is_root]
    rp = topo.parent_node[roots]
    below = roots[(rp >= 0) & radial[np.maximum(rp, 0)]]
    below_parent_sec = sec[topo.parent_node[below]]
    ob = np.lexsort((lo_of(below), below_parent_sec))
    below = below[ob]
    below_parent_sec = below_parent_sec[ob]
    b_start = np.searchsorted(below_parent_sec, np.arange(n_sec), side="left")
    b_end = np.searchsorted(below_parent_sec, np.arange(n_sec), side="right")

    # ---------------------------------------------------------------- ties usable per block
    ties = topo.ties
    t_a = ties["node_a"].to_numpy(dtype=np.int64)
    t_b = ties["node_b"].to_numpy(dtype=np.int64)
    t_sw_h = sw_h[topo.switch_edge[net.switch.index.get_indexer(ties["switch"].to_numpy())]] \
        if len(ties) else np.zeros(0)
    t_ends = np.concatenate([t_a, t_b])
    t_other = np.concatenate([t_b, t_a])
    t_id = np.concatenate([np.arange(len(ties)), np.arange(len(ties))])
    t_radial = radial[t_ends] if t_ends.size else np.zeros(0, bool)
    t_ends, t_other, t_id = t_ends[t_radial], t_other[t_radial], t_id[t_radial]
    t_order = np.argsort(pre[t_ends], kind="stable")
    t_ends, t_other, t_id = t_ends[t_order], t_other[t_order], t_id[t_order]
    t_pre = pre[t_ends]

    feeder_names = topo.feeders["name"].astype(str).tolist()
    headroom: np.ndarray | None = None
    load_peak_pos_cum = None
    if tie_capacity is not False:
        headroom = np.full(len(feeder_names), np.inf)
        if isinstance(tie_capacity, dict):
            unknown = sorted(set(tie_capacity) - set(feeder_names))
            if unknown:
                from ..errors import InputError

                raise InputError(f"tie_capacity names unknown feeders: {', '.join(unknown)}")
            for k, name in enumerate(feeder_names):
                if name in tie_capacity:
                    headroom[k] = float(tie_capacity[name])
        else:
            f_load = np.bincount(np.maximum(topo.feeder_of_node[l_ok_node], 0),
                                 weights=np.where(l_radial, p_peak_all, 0.0), minlength=len(feeder_names))
            children = pd.Series(topo.order, index=topo.parent_node[topo.order])
            for k in range(len(feeder_names)):
                head = int(topo.feeders["head_node"].iat[k])
                headroom[k] = _head_line_capacity_mw(net, topo, head, children) - f_load[k]
        load_peak_pos_cum = np.concatenate([[0.0], np.cumsum(p_peak_all[rows])])
    blocked: list[dict[str, Any]] = []

    def usable_tie(m: int, r: int) -> tuple[int, float]:
        """Best tie in the block below ``m`` whose far end is outside the fault subtree of ``r``."""
        a0 = np.searchsorted(t_pre, pre[m], side="left")
        a1 = np.searchsorted(t_pre, pre[m] + size[m], side="left")
        if a1 <= a0:
            return -1, 0.0
        best, best_room = -1, -np.inf
        for j in range(a0, a1):
            other = t_other[j]
            if radial[other] and pre[r] <= pre[other] < pre[r] + size[r]:
                continue
            room = np.inf
            if headroom is not None:
                f_other = topo.feeder_of_node[other]
                room = headroom[f_other] if f_other >= 0 else np.inf
            if room > best_room:
                best, best_room = int(t_id[j]), room
        return best, best_room

    # ---------------------------------------------------------------- per-section ranges
    sec_ranges: dict[int, list[tuple[int, int, int, float]]] = {}

    def section_ranges(s_list: tuple[int, ...], comp_label: str, comp_rate: float = 0.0
                       ) -> list[tuple[int, int, int, float]]:
        s0 = s_list[0]
        r = int(sec_root[s0])
        if r < 0:
            return []
        if touches_supply[s0]:
            f = topo.feeder_of_node[r]
            r = int(head_node[f]) if f >= 0 else r
            p_child = r
        else:
            p_edge = topo.nearest_protective_edge[r]
            if p_edge >= 0:
                p_child = int(edge_lower[p_edge])
            else:
                f = topo.feeder_of_node[r]
                p_child = int(head_node[f])
        out: list[tuple[int, int, int, float]] = []
        lo_p, hi_p = int(node_lo[p_child]), int(node_hi[p_child])
        lo_r, hi_r = int(node_lo[r]), int(node_hi[r])
        iso_edge = topo.parent_edge[r]
        iso_h = sw_h[iso_edge] if iso_edge >= 0 and topo.edge_kind[iso_edge] == EDGE_SWITCH else default_switching_h
        if lo_p < lo_r:
            out.append((lo_p, lo_r, UPSTREAM, float(iso_h)))
        if hi_r < hi_p:
            out.append((hi_r, hi_p, UPSTREAM, float(iso_h)))
        blocks = np.concatenate([below[b_start[s]:b_end[s]] for s in s_list]) if s_list else np.zeros(0, int)
        if len(s_list) > 1:
            blocks = blocks[(sec[blocks] != s_list[0]) & (sec[blocks] != s_list[1])]
        if blocks.size:
            blocks = blocks[np.argsort(lo_of(blocks), kind="stable")]
        cursor = lo_r
        for m in blocks.tolist():
            lo_m, hi_m = int(node_lo[m]), int(node_hi[m])
            if lo_m > cursor:
                out.append((cursor, lo_m, REPAIR, 0.0))
            if hi_m > lo_m:
                t, room = usable_tie(m, r)
                if t >= 0 and load_peak_pos_cum is not None:
                    need = load_peak_pos_cum[hi_m] - load_peak_pos_cum[lo_m]
                    if need > room:
                        blocked.append({"component": comp_label, "rate_per_yr": comp_rate,
                                        "tie_switch": int(ties["switch"].iat[t]),
                                        "transfer_mw": float(need), "headroom_mw": float(room)})
                        t = -1
                if t >= 0:
                    sw_block = topo.parent_edge[m]
                    out.append((lo_m, hi_m, TIE, float(max(sw_h[sw_block], t_sw_h[t]))))
                else:
                    out.append((lo_m, hi_m, REPAIR, 0.0))
            cursor = max(cursor, hi_m)
        if cursor < hi_r:
            out.append((cursor, hi_r, REPAIR, 0.0))
        # merge adjacent REPAIR ranges
        merged: list[tuple[int, int, int, float]] = []
        for rng in sorted(out):
            if merged and rng[2] == REPAIR and merged[-1][2] == REPAIR and merged[-1][1] == rng[0]:
                merged[-1] = (merged[-1][0], rng[1], REPAIR, 0.0)
            else:
                merged.append(rng)
        return [x for x in merged if x[1] > x[0]]

    # ---------------------------------------------------------------- components
    comps: list[pd.DataFrame] = []

    def numeric(df: pd.DataFrame, column: str, default: float = 0.0) -> np.ndarray:
        if column not in df.columns:
            return np.full(len(df), default)
        return pd.to_numeric(df[column], errors="coerce").fillna(default).to_numpy(dtype=float)

    line = net.line
    if len(line):
        e = topo.element_edges("line")
        comps.append(pd.DataFrame({
            "element": "line", "index": line.index.to_numpy(), "name": line.get("name"),
            "lam": numeric(line, "lambda_per_km") * line["length_km"].to_numpy(dtype=float),
            "rep": numeric(line, "repair_h"), "pl": numeric(line, "planned_per_yr"),
            "plh": numeric(line, "planned_h"), "edge": e, "node": NO}))
    for table in ("trafo", "trafo3w"):
        df = net[table]
        if len(df):
            comps.append(pd.DataFrame({
                "element": table, "index": df.index.to_numpy(), "name": df.get("name"),
                "lam": numeric(df, "lambda_per_yr"), "rep": numeric(df, "repair_h"),
                "pl": numeric(df, "planned_per_yr"), "plh": numeric(df, "planned_h"),
                "edge": topo.element_edges(table), "node": NO}))
    bus = net.bus
    comps.append(pd.DataFrame({
        "element": "bus", "index": bus.index.to_numpy(), "name": bus.get("name"),
        "lam": numeric(bus, "lambda_per_yr"), "rep": numeric(bus, "repair_h"),
        "pl": numeric(bus, "planned_per_yr"), "plh": numeric(bus, "planned_h"),
        "edge": NO, "node": np.arange(topo.n_bus)}))
    if len(net.switch):
        sw = net.switch
        comps.append(pd.DataFrame({
            "element": "switch", "index": sw.index.to_numpy(), "name": sw.get("name"),
            "lam": numeric(sw, "lambda_per_yr"), "rep": numeric(sw, "repair_h"),
            "pl": numeric(sw, "planned_per_yr"), "plh": numeric(sw, "planned_h"),
            "edge": topo.switch_edge, "node": NO}))
    allc = pd.concat(comps, ignore_index=True)
    edge = allc["edge"].to_numpy(dtype=np.int64)
    node = allc["node"].to_numpy(dtype=np.int64)
    has_edge = edge >= 0
    # sections of each component (a switch: both sides)
    s1 = np.full(len(allc), NO, dtype=np.int64)
    s2 = np.full(len(allc), NO, dtype=np.int64)
    ef = np.where(has_edge, topo.edge_from[np.maximum(edge, 0)], node)
    et = np.where(has_edge, topo.edge_to[np.maximum(edge, 0)], node)
    on_tree = radial[np.maximum(ef, 0)] | radial[np.maximum(et, 0)]
    is_sw = has_edge & (topo.edge_kind[np.maximum(edge, 0)] == EDGE_SWITCH)
    closed = np.where(has_edge, topo.edge_closed[np.maximum(edge, 0)], True)
    not_supply = np.where(has_edge, ~topo.edge_supply[np.maximum(edge, 0)], ~topo.supply_node[np.maximum(node, 0)])
    # non-switch components: their section
    s1 = np.where(has_edge & ~is_sw, topo.section_of_edge[np.maximum(edge, 0)], sec[np.maximum(node, 0)])
    # switch components: upstream-side section first, then the other side
    up_end = np.where(topo.depth[np.maximum(ef, 0)] <= topo.depth[np.maximum(et, 0)], ef, et)
    dn_end = np.where(up_end == ef, et, ef)
    s1 = np.where(is_sw, sec[np.maximum(up_end, 0)], s1)
    s2 = np.where(is_sw, sec[np.maximum(dn_end, 0)], s2)
    active = on_tree & closed & not_supply & ((allc["lam"].to_numpy() > 0) | (allc["pl"].to_numpy() > 0))
    active &= (allc["element"].to_numpy() != "bus") | radial[np.maximum(node, 0)]
    comp = allc[active].reset_index(drop=True)
    s1, s2 = s1[active], s2[active]

    ptr = np.zeros(len(comp) + 1, dtype=np.int64)
    parts: list[np.ndarray] = []
    for c in range(len(comp)):
        k = (int(s1[c]), int(s2[c])) if s2[c] >= 0 and s2[c] != s1[c] else (int(s1[c]),)
        rngs = sec_ranges.get(k) if tie_capacity is False else None
        if rngs is None:
            rngs = section_ranges(k, f"{comp['element'].iat[c]} {comp['index'].iat[c]}",
                                  float(comp["lam"].iat[c]))
            if tie_capacity is False:
                sec_ranges[k] = rngs
        ptr[c + 1] = ptr[c] + len(rngs)
        if rngs:
            parts.append(np.asarray(rngs, dtype=float))
    iv = np.concatenate(parts) if parts else np.zeros((0, 4))
    comp_feeder = topo.feeder_of_node[np.maximum(sec_root[s1], 0)] if len(comp) else np.zeros(0, np.int64)
    return Impact(
        comp_element=comp["element"].to_numpy(dtype=object),
        comp_index=comp["index"].to_numpy(dtype=np.int64),
        comp_name=comp["name"].to_numpy(dtype=object),
        comp_feeder=np.asarray(comp_feeder, dtype=np.int64),
        comp_lambda=comp["lam"].to_numpy(dtype=float),
        comp_repair_h=comp["rep"].to_numpy(dtype=float),
        comp_planned_per_yr=comp["pl"].to_numpy(dtype=float),
        comp_planned_h=comp["plh"].to_numpy(dtype=float),
        ptr=ptr,
        iv_lo=iv[:, 0].astype(np.int64), iv_hi=iv[:, 1].astype(np.int64),
        iv_kind=iv[:, 2].astype(np.int8), iv_switch_h=iv[:, 3].astype(float),
        load_pos=load_pos,
        load_index=load.index.to_numpy(dtype=np.int64)[rows],
        load_customers=customers, load_p_avg_mw=p_avg,
        load_zone=load_zone, load_feeder=np.asarray(load_feeder, dtype=np.int64),
        zones=zones, feeders=feeder_names,
        tie_blocked=pd.DataFrame(blocked, columns=["component", "rate_per_yr", "tie_switch", "transfer_mw",
                                                   "headroom_mw"]),
    )
