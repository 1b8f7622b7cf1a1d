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
    restored after switching through a normally-open tie: downstream of the fault zone (same duration), at
    the earliest time the block can be re-energised, possibly through other restored blocks;
``REPAIR``
    waits for the repair: inside the fault zone, or downstream with no (or no capable) tie.

Per-range sums (customers, average demand) are prefix-sum differences, so a Monte-Carlo event costs O(ranges),
not O(load points), and per-load totals accumulate in difference arrays.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import depth_first_order

from ..errors import InputError
from ..grid.defaults import ZONES
from ..grid.facts import element_names, in_service, line_rating_mva
from ..grid.stations import role_warnings, supply_boundary
from ..grid.topology import NO, EdgeKind, Topology, build_topology
from .codes import DurationClass

__all__ = ["REPAIR", "TIE", "TIE_CHECK_PF", "UPSTREAM", "DurationClass", "Impact", "build_impact"]

#: The duration classes under their short names (aliases of the enum members).
UPSTREAM, TIE, REPAIR = DurationClass.UPSTREAM, DurationClass.TIE, DurationClass.REPAIR
#: Power factor that turns a head line's MVA rating into the MW a tie transfer may add (tie capacity check).
TIE_CHECK_PF = 0.95


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
        Feeder id of the component (``-1`` if none, or on a feeder without load points).
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
        Feeder names by feeder id: only feeders with at least one load point (a feeder without one, e.g. a
        backup or reserve line, has no per-feeder indices and is absent from the results, not NaN).
    tie_blocked : pandas.DataFrame
        Tie transfers refused by the capacity check: component, its fault rate (``rate_per_yr``: how often per
        year the refusal happens), tie switch, transferred MW, headroom MW.
    load_name : numpy.ndarray of str, optional
        Load name at each position (``""`` where none); ``None`` for an impact made by hand.
    comp_is_upstream : numpy.ndarray of bool, optional
        True for supply-side components (main transformers, station busbars and couplers, subtransmission
        lines) added by the upstream option; ``None`` when the supply is treated as perfectly reliable.
    attrs : dict
        Plain (str/number) facts about how the impact was built: ``supply_boundary`` (where the perfectly
        reliable supply ends) and ``trafo_role_warnings`` (transformers whose role is ambiguous,
        :func:`gridscope.grid.stations.role_warnings`; ``""`` when none); the results copy them into their
        attrs.
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
    load_name: np.ndarray | None = None
    comp_is_upstream: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

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


# ------------------------------------------------------------------------------------------- step 1: forest
@dataclass(frozen=True)
class _Forest:
    """The radial part of the network as a depth-first forest: every subtree is a contiguous preorder range."""

    radial: np.ndarray  # (node,) bool: on a feeder tree
    pre: np.ndarray     # (node,) preorder rank (NO for nodes off the trees)
    size: np.ndarray    # (node,) nodes in the subtree, itself included


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


def _forest(topo: Topology) -> _Forest:
    """Depth-first preorder of the feeder trees, all hung below one super-root (children through a CSR)."""
    n_node = topo.n_node
    radial = np.zeros(n_node, dtype=bool)
    radial[topo.order] = True
    root = n_node
    kids = topo.order
    par = np.where(topo.supply_node[np.maximum(topo.parent_node[kids], 0)] | (topo.parent_node[kids] < 0),
                   root, topo.parent_node[kids])
    g = coo_matrix((np.ones(kids.size, np.int8), (par, kids)), shape=(n_node + 1, n_node + 1)).tocsr()
    pre_nodes = depth_first_order(g, root, directed=True, return_predecessors=False)[1:]
    pre = np.full(n_node, NO, dtype=np.int64)
    pre[pre_nodes] = np.arange(pre_nodes.size)
    tree_parent = np.full(n_node, NO, dtype=np.int64)
    tree_parent[kids] = np.where(par == root, NO, par)
    return _Forest(radial=radial, pre=pre, size=_subtree_sizes(n_node, topo.order, tree_parent, topo.depth))


# ------------------------------------------------------------------------------------- step 2: load points
@dataclass(frozen=True)
class _LoadPoints:
    """Load points in depth-first order and each node's subtree as a range of load positions."""

    rows: np.ndarray       # net.load row of each position
    load_pos: np.ndarray   # position of each net.load row (NO: out of service or unsupplied)
    node_lo: np.ndarray    # (node,) first position of the node's subtree
    node_hi: np.ndarray    # (node,) end position of the node's subtree
    node: np.ndarray       # (net.load row,) node of the load (0 where none, see ``radial``)
    radial: np.ndarray     # (net.load row,) in service on a feeder tree
    p_peak_mw: np.ndarray  # (net.load row,) peak demand p_mw × scaling
    customers: np.ndarray  # (position,)
    p_avg_mw: np.ndarray   # (position,)
    zone: np.ndarray       # (position,) zone id
    zones: list[str]
    feeder: np.ndarray     # (position,) feeder id (NO for loads at the supply)
    name: np.ndarray       # (position,) load names ("" where none)


def _zone_labels(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Zone ids and labels: the classes A+…E first in their order, then any other labels, then 'unzoned'."""
    text = values.astype(object).where(values.notna(), "unzoned").astype(str)
    present = set(text)
    labels = [z for z in ZONES if z in present] + sorted(present - set(ZONES) - {"unzoned"})
    if "unzoned" in present:
        labels.append("unzoned")
    code = pd.Series(np.arange(len(labels)), index=labels)
    return code.reindex(text.to_numpy()).to_numpy(dtype=np.int64), labels


def _load_points(net: Any, topo: Topology, forest: _Forest) -> _LoadPoints:
    """Order the load points (radial ones by preorder, those at the supply last) with their data-contract
    values: 1 customer per load point and ``p_avg_mw = p_mw × scaling`` where the columns are missing."""
    load = net.load
    l_in = in_service(load)
    l_node = topo.bus_node(load["bus"].to_numpy()) if len(load) else np.zeros(0, np.int64)
    l_ok_node = np.maximum(l_node, 0)
    l_radial = l_in & (l_node >= 0) & forest.radial[l_ok_node]
    l_supply = l_in & (l_node >= 0) & topo.supply_node[l_ok_node]
    key = np.where(l_radial, forest.pre[l_ok_node], np.iinfo(np.int64).max)
    rows = np.flatnonzero(l_radial | l_supply)
    rows = rows[np.argsort(key[rows], kind="stable")]
    load_pos = np.full(len(load), NO, dtype=np.int64)
    load_pos[rows] = np.arange(rows.size)
    tree_keys = np.sort(key[l_radial])  # preorder ranks of the radial loads, in position order
    p_scaled = (load["p_mw"] * load["scaling"]).to_numpy(dtype=float) if len(load) else np.zeros(0)
    customers = (pd.to_numeric(load["customers"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
                 if "customers" in load else np.ones(len(load)))[rows]
    p_avg = (pd.to_numeric(load["p_avg_mw"], errors="coerce").fillna(pd.Series(p_scaled, index=load.index))
             .to_numpy(dtype=float) if "p_avg_mw" in load else p_scaled)[rows]
    zone_of_bus = net.bus["zone"] if "zone" in net.bus else pd.Series(None, index=net.bus.index)
    load_zone, zones = _zone_labels(zone_of_bus.reindex(load["bus"].to_numpy()).reset_index(drop=True)
                                    .iloc[rows] if len(load) else pd.Series(dtype=object))
    load_feeder = topo.feeder_of_node[l_ok_node[rows]] if len(load) else np.zeros(0, np.int64)
    return _LoadPoints(
        rows=rows, load_pos=load_pos,
        node_lo=np.searchsorted(tree_keys, forest.pre, side="left"),
        node_hi=np.searchsorted(tree_keys, forest.pre + forest.size, side="left"),
        node=l_ok_node, radial=l_radial, p_peak_mw=p_scaled, customers=customers, p_avg_mw=p_avg,
        zone=load_zone, zones=zones, feeder=np.where(l_radial[rows], load_feeder, NO),
        name=element_names(load).to_numpy(dtype=object)[rows].astype(str),
    )


# ---------------------------------------------------------------------------------------- step 3: sections
@dataclass(frozen=True)
class _Sections:
    """Switch-bounded sections: their root node, the blocks hanging below each, switching times."""

    sec: np.ndarray             # (node,) section of each node
    root: np.ndarray            # (section,) highest node
    touches_supply: np.ndarray  # (section,) reaches into the supply (no switch at the feeder head)
    head_node: np.ndarray       # (feeder,) head node
    edge_lower: np.ndarray      # (edge,) lower end of each radial edge
    switch_h: np.ndarray        # (edge,) switching hours of switch edges
    below: np.ndarray           # roots of the sections below another radial section, grouped by that section
    below_start: np.ndarray     # (section,) ``below[below_start[s]:below_end[s]]`` hang below section s
    below_end: np.ndarray


def _sections(net: Any, topo: Topology, forest: _Forest, loads: _LoadPoints,
              default_switching_h: float) -> _Sections:
    """Root of every section, and the blocks (section roots) directly below each section in position order."""
    sec = topo.section_of_node
    n_sec = int(sec.max()) + 1 if topo.n_node else 0
    rad_nodes = topo.order
    srt = rad_nodes[np.lexsort((topo.depth[rad_nodes], sec[rad_nodes]))]
    first = np.ones(srt.size, dtype=bool)
    first[1:] = sec[srt[1:]] != sec[srt[:-1]]
    sec_root = np.full(n_sec, NO, dtype=np.int64)
    sec_root[sec[srt[first]]] = srt[first]
    touches_supply = np.zeros(n_sec, dtype=bool)
    touches_supply[sec[topo.supply_node]] = True
    edge_lower = np.full(topo.n_edge, NO, dtype=np.int64)
    edge_lower[topo.parent_edge[rad_nodes]] = rad_nodes
    sw_h = np.full(topo.n_edge, default_switching_h, dtype=float)
    if len(net.switch) and "switching_h" in net.switch:
        vals = pd.to_numeric(net.switch["switching_h"], errors="coerce").fillna(default_switching_h)
        sw_h[topo.switch_edge] = vals.to_numpy(dtype=float)
    # boundary nodes: radial section roots whose parent lies in another radial section
    roots = rad_nodes[sec_root[sec[rad_nodes]] == rad_nodes]
    rp = topo.parent_node[roots]
    below = roots[(rp >= 0) & forest.radial[np.maximum(rp, 0)]]
    below_parent_sec = sec[topo.parent_node[below]]
    ob = np.lexsort((loads.node_lo[below], below_parent_sec))
    below = below[ob]
    below_parent_sec = below_parent_sec[ob]
    return _Sections(
        sec=sec, root=sec_root, touches_supply=touches_supply,
        head_node=topo.feeders["head_node"].to_numpy(dtype=np.int64), edge_lower=edge_lower, switch_h=sw_h,
        below=below, below_start=np.searchsorted(below_parent_sec, np.arange(n_sec), side="left"),
        below_end=np.searchsorted(below_parent_sec, np.arange(n_sec), side="right"),
    )


# -------------------------------------------------------------------------------------------- step 4: ties
@dataclass(frozen=True)
class _Ties:
    """Ends of the normally-open ties on the feeder trees, in preorder (one entry per radial end)."""

    switch: np.ndarray     # (tie,) pandapower switch index of each tie
    switch_h: np.ndarray   # (tie,) switching hours of each tie
    end_pre: np.ndarray    # preorder rank of the radial end
    other: np.ndarray      # node at the far end
    tie: np.ndarray        # tie id


def _ties(net: Any, topo: Topology, forest: _Forest, sections: _Sections) -> _Ties:
    ties = topo.ties
    t_a = ties["node_a"].to_numpy(dtype=np.int64)
    t_b = ties["node_b"].to_numpy(dtype=np.int64)
    t_sw_h = sections.switch_h[topo.switch_edge[net.switch.index.get_indexer(ties["switch"].to_numpy())]] \
        if len(ties) else np.zeros(0)
    t_ends = np.concatenate([t_a, t_b])
    t_other = np.concatenate([t_b, t_a])
    t_id = np.concatenate([np.arange(len(ties)), np.arange(len(ties))])
    t_radial = forest.radial[t_ends] if t_ends.size else np.zeros(0, bool)
    t_ends, t_other, t_id = t_ends[t_radial], t_other[t_radial], t_id[t_radial]
    t_order = np.argsort(forest.pre[t_ends], kind="stable")
    t_ends, t_other, t_id = t_ends[t_order], t_other[t_order], t_id[t_order]
    return _Ties(switch=ties["switch"].to_numpy(), switch_h=t_sw_h, end_pre=forest.pre[t_ends], other=t_other,
                 tie=t_id)


def _head_line_capacity_mw(topo: Topology, line_mw: pd.Series, head_node: int, children: pd.Series) -> float:
    """Active-power capacity of the first line of a feeder (``line_mw``: every line's, at ``TIE_CHECK_PF``):
    the head edge, or the first line below it when the head is a switch or transformer on an unbranched
    path; ``inf`` when there is none. ``children`` maps a node to its child nodes (indexed by parent node)."""
    node = head_node
    while True:
        edge = int(topo.parent_edge[node])
        if edge >= 0 and topo.edge_kind[edge] == EdgeKind.LINE:
            return float(line_mw.at[int(topo.edge_element[edge])])
        below = children.get(node)
        if below is None or (np.ndim(below) and len(below) != 1):
            return float("inf")
        node = int(below if np.ndim(below) == 0 else below.iloc[0])


def _tie_headroom_mw(net: Any, topo: Topology, loads: _LoadPoints, feeder_names: list[str],
                     tie_capacity: bool | dict[str, float]) -> np.ndarray | None:
    """Headroom (MW) of each feeder for a tie transfer; None without the capacity check."""
    if tie_capacity is False:
        return None
    headroom = np.full(len(feeder_names), np.inf)
    if isinstance(tie_capacity, dict):
        unknown = sorted(set(tie_capacity) - set(feeder_names))
        if unknown:
            raise InputError(f"tie_capacity names unknown feeders: {', '.join(unknown)}")
        for k, name in enumerate(feeder_names):
            if name in tie_capacity:
                headroom[k] = float(tie_capacity[name])
        return headroom
    f_load = np.bincount(np.maximum(topo.feeder_of_node[loads.node], 0),
                         weights=np.where(loads.radial, loads.p_peak_mw, 0.0), minlength=len(feeder_names))
    children = pd.Series(topo.order, index=topo.parent_node[topo.order])
    line_mw = line_rating_mva(net) * TIE_CHECK_PF
    for k in range(len(feeder_names)):
        head = int(topo.feeders["head_node"].iat[k])
        headroom[k] = _head_line_capacity_mw(topo, line_mw, head, children) - f_load[k]
    return headroom


# ---------------------------------------------------------------------------------- step 5: section ranges
Range = tuple[int, int, int, float]  # lo, hi, duration class, switching hours


class _RangeBuilder:
    """The position ranges of a fault in a section (or, for a failing switch, in the two it joins).

    Restoration of the blocks below the fault zone is a shortest-time problem (:meth:`restore_blocks`): a
    Dijkstra over the blocks, in which a block becomes live at ``max(its isolating switch, the tie switch,
    the time the tie's far end is live)``; see :func:`build_impact`.
    """

    def __init__(self, topo: Topology, forest: _Forest, loads: _LoadPoints, sections: _Sections, ties: _Ties,
                 headroom: np.ndarray | None, default_switching_h: float) -> None:
        self.topo, self.forest, self.loads, self.sections, self.ties = topo, forest, loads, sections, ties
        self.headroom = headroom
        self.default_switching_h = default_switching_h
        # peak demand prefix sums over positions, for the MW a tie transfer would carry
        self.peak_cum = (np.concatenate([[0.0], np.cumsum(loads.p_peak_mw[loads.rows])])
                         if headroom is not None else None)
        self.blocked: list[dict[str, Any]] = []

    def _in_subtree(self, node: int, top: int) -> bool:
        """``node`` lies in the depth-first subtree of ``top``."""
        pre, size = self.forest.pre, self.forest.size
        return bool(self.forest.radial[node]) and pre[top] <= pre[node] < pre[top] + size[top]

    def _far_ends(self, blocks: np.ndarray, r: int, p_child: int, iso_h: float
                  ) -> tuple[list[list[tuple[float, int, int]]], list[list[tuple[int, int]]]]:
        """Ties of every block, split by what their far end is.

        Returns, per block ``i``: the ties to a part that is live at a known time, as ``(live_h, tie,
        backup feeder)`` (an unaffected part: 0 h; the part above the fault zone that the reclosed device
        restores: ``iso_h``); and the ties into another block below the fault zone, as ``(block k, tie)``
        (live once ``k`` is). Ties into the fault zone, or between two points of one block, never help.
        """
        pre, size = self.forest.pre, self.forest.size
        t = self.ties
        b_pre = pre[blocks]
        by_pre = np.argsort(b_pre, kind="stable")
        b_pre_sorted = b_pre[by_pre]
        live: list[list[tuple[float, int, int]]] = [[] for _ in range(blocks.size)]
        chain: list[list[tuple[int, int]]] = [[] for _ in range(blocks.size)]
        for i, m in enumerate(blocks.tolist()):
            a0 = np.searchsorted(t.end_pre, pre[m], side="left")
            a1 = np.searchsorted(t.end_pre, pre[m] + size[m], side="left")
            for j in range(a0, a1):
                other, k_tie = int(t.other[j]), int(t.tie[j])
                if self._in_subtree(other, r):  # below the fault root: another block, or the fault zone
                    q = int(np.searchsorted(b_pre_sorted, pre[other], side="right")) - 1
                    k = int(by_pre[q]) if q >= 0 else -1
                    if k >= 0 and k != i and self._in_subtree(other, int(blocks[k])):
                        chain[i].append((k, k_tie))
                    continue
                f_other = int(self.topo.feeder_of_node[other]) if self.forest.radial[other] else NO
                late = p_child != r and self._in_subtree(other, p_child)
                live[i].append((float(iso_h) if late else 0.0, k_tie, f_other))
        return live, chain

    def restore_blocks(self, blocks: np.ndarray, r: int, p_child: int, iso_h: float, comp_label: str,
                       comp_rate: float) -> tuple[np.ndarray, np.ndarray]:
        """Earliest re-energisation time of every block below the fault zone (``inf``: waits for the repair).

        A Dijkstra over the blocks (each block: the subtree below a switch bounding the fault zone, which must
        be opened first). Sources are the parts live at a known time (:meth:`_far_ends`); a block restored at
        ``T`` makes every block with a tie into it reachable at ``max(that block's switch, the tie, T)``.
        Every switch's time runs from the fault (operations in parallel), so times combine by ``max``, as the
        published RBTS results assume. Equal times are broken by pandapower switch index, then by position,
        so the answer does not depend on table order. With the capacity check a block is taken only if the
        backup feeder at the root of its path has the headroom for it and for every block already put on it;
        a block left without a path after a refusal records the refusal with the most headroom.

        Returns
        -------
        times : numpy.ndarray of float64
            Restoration hours per block.
        tie : numpy.ndarray of int64
            Tie id of the last hop of each block's path (``-1`` where none).
        """
        n = blocks.size
        times = np.full(n, np.inf)
        via = np.full(n, NO, dtype=np.int64)
        if not n:
            return times, via
        t, lp = self.ties, self.loads
        sw_h = self.sections.switch_h[self.topo.parent_edge[blocks]]
        lo = lp.node_lo[blocks]
        need = (self.peak_cum[lp.node_hi[blocks]] - self.peak_cum[lo] if self.peak_cum is not None
                else np.zeros(n))
        used: dict[int, float] = {}
        live, chain = self._far_ends(blocks, r, p_child, iso_h)
        fed_by: list[list[tuple[int, int]]] = [[] for _ in range(n)]  # k -> blocks i with a tie into k
        for i in range(n):
            for k, k_tie in chain[i]:
                fed_by[k].append((i, k_tie))
        heap: list[tuple[float, int, int, int, int, int]] = []
        for i in range(n):
            for live_h, k_tie, f in live[i]:
                heap.append((max(float(sw_h[i]), float(t.switch_h[k_tie]), live_h), int(t.switch[k_tie]),
                             int(lo[i]), i, k_tie, f))
        heapq.heapify(heap)
        source = np.full(n, NO, dtype=np.int64)
        refused: dict[int, tuple[float, int, float]] = {}  # block -> (room, switch, need)
        while heap:
            when, sw_idx, _, i, k_tie, f = heapq.heappop(heap)
            if np.isfinite(times[i]):
                continue
            if self.headroom is not None:
                room = (float(self.headroom[f]) if f >= 0 else np.inf) - used.get(f, 0.0)
                if need[i] > room:
                    best = refused.get(i)
                    if best is None or (room, -sw_idx) > (best[0], -best[1]):
                        refused[i] = (room, sw_idx, float(need[i]))
                    continue
                used[f] = used.get(f, 0.0) + float(need[i])
            times[i], via[i], source[i] = when, k_tie, f
            for i2, tie2 in fed_by[i]:
                if not np.isfinite(times[i2]):
                    heapq.heappush(heap, (max(float(sw_h[i2]), float(t.switch_h[tie2]), when),
                                          int(t.switch[tie2]), int(lo[i2]), i2, tie2, f))
        for i in sorted(refused, key=lambda b: int(lo[b])):
            if not np.isfinite(times[i]) and lp.node_hi[blocks[i]] > lo[i]:
                room, sw_idx, mw = refused[i]
                self.blocked.append({"component": comp_label, "rate_per_yr": comp_rate, "tie_switch": sw_idx,
                                     "transfer_mw": mw, "headroom_mw": room})
        return times, via

    def _fault_root_and_device(self, s0: int) -> tuple[int, int]:
        """Root node of the fault zone and the node just below the protective device that clears it."""
        topo, sc = self.topo, self.sections
        r = int(sc.root[s0])
        if sc.touches_supply[s0]:  # no switch at the feeder head: the whole feeder from its head node
            f = topo.feeder_of_node[r]
            r = int(sc.head_node[f]) if f >= 0 else r
            return r, r
        p_edge = topo.nearest_protective_edge[r]
        if p_edge >= 0:
            return r, int(sc.edge_lower[p_edge])
        return r, int(sc.head_node[topo.feeder_of_node[r]])

    def section_ranges(self, s_list: tuple[int, ...], comp_label: str, comp_rate: float = 0.0) -> list[Range]:
        """Ranges of a fault in the sections ``s_list``: UPSTREAM above the zone, REPAIR inside, TIE or REPAIR
        for each block hanging below (refused tie transfers recorded in ``blocked``)."""
        topo, sc, lp = self.topo, self.sections, self.loads
        s0 = s_list[0]
        if int(sc.root[s0]) < 0:
            return []
        r, p_child = self._fault_root_and_device(s0)
        out: list[Range] = []
        lo_p, hi_p = int(lp.node_lo[p_child]), int(lp.node_hi[p_child])
        lo_r, hi_r = int(lp.node_lo[r]), int(lp.node_hi[r])
        iso_edge = topo.parent_edge[r]
        iso_h = (sc.switch_h[iso_edge] if iso_edge >= 0 and topo.edge_kind[iso_edge] == EdgeKind.SWITCH
                 else self.default_switching_h)
        if lo_p < lo_r:
            out.append((lo_p, lo_r, UPSTREAM, float(iso_h)))
        if hi_r < hi_p:
            out.append((hi_r, hi_p, UPSTREAM, float(iso_h)))
        blocks = np.concatenate([sc.below[sc.below_start[s]:sc.below_end[s]] for s in s_list])
        if len(s_list) > 1:
            blocks = blocks[(sc.sec[blocks] != s_list[0]) & (sc.sec[blocks] != s_list[1])]
        if blocks.size:
            blocks = blocks[np.lexsort((self.forest.pre[blocks], lp.node_lo[blocks]))]
        times, _ = self.restore_blocks(blocks, r, p_child, float(iso_h), comp_label, comp_rate)
        cursor = lo_r
        for i, m in enumerate(blocks.tolist()):
            lo_m, hi_m = int(lp.node_lo[m]), int(lp.node_hi[m])
            if lo_m > cursor:
                out.append((cursor, lo_m, REPAIR, 0.0))
            if hi_m > lo_m:
                out.append((lo_m, hi_m, TIE, float(times[i])) if np.isfinite(times[i])
                           else (lo_m, hi_m, REPAIR, 0.0))
            cursor = max(cursor, hi_m)
        if cursor < hi_r:
            out.append((cursor, hi_r, REPAIR, 0.0))
        return _merge_repair(out)


def _merge_repair(ranges: list[Range]) -> list[Range]:
    """Ranges sorted, adjacent REPAIR ranges merged, empty ones dropped."""
    merged: list[Range] = []
    for rng in sorted(ranges):
        if merged and rng[2] == REPAIR and merged[-1][2] == REPAIR and merged[-1][1] == rng[0]:
            merged[-1] = (merged[-1][0], rng[1], REPAIR, 0.0)
        else:
            merged.append(rng)
    return [x for x in merged if x[1] > x[0]]


# -------------------------------------------------------------------------------------- step 6: components
@dataclass(frozen=True)
class _Components:
    """The components that can interrupt a load point, with the section(s) a fault of each one is in."""

    table: pd.DataFrame  # element, index, name, lam, rep, pl, plh, edge, node
    sec1: np.ndarray     # section of the component (a switch: its upstream side)
    sec2: np.ndarray     # a switch's downstream side (NO otherwise)


def _numeric(df: pd.DataFrame, column: str, default: float = 0.0) -> np.ndarray:
    if column not in df.columns:
        return np.full(len(df), default)
    return pd.to_numeric(df[column], errors="coerce").fillna(default).to_numpy(dtype=float)


def _component_table(net: Any, topo: Topology) -> pd.DataFrame:
    """Every line, transformer, busbar and switch with its fault and planned data and its edge or node."""
    def rows(table: str, lam: np.ndarray, edge: Any, node: Any) -> pd.DataFrame:
        df = net[table]
        return pd.DataFrame({
            "element": table, "index": df.index.to_numpy(), "name": df.get("name"), "lam": lam,
            "rep": _numeric(df, "repair_h"), "pl": _numeric(df, "planned_per_yr"),
            "plh": _numeric(df, "planned_h"), "edge": edge, "node": node})

    comps: list[pd.DataFrame] = []
    line = net.line
    if len(line):
        comps.append(rows("line", _numeric(line, "lambda_per_km") * line["length_km"].to_numpy(dtype=float),
                          topo.element_edges("line"), NO))
    for table in ("trafo", "trafo3w"):
        if len(net[table]):
            comps.append(rows(table, _numeric(net[table], "lambda_per_yr"), topo.element_edges(table), NO))
    comps.append(rows("bus", _numeric(net.bus, "lambda_per_yr"), NO, np.arange(topo.n_bus)))
    if len(net.switch):
        comps.append(rows("switch", _numeric(net.switch, "lambda_per_yr"), topo.switch_edge, NO))
    return pd.concat(comps, ignore_index=True)


def _components(net: Any, topo: Topology, forest: _Forest) -> _Components:
    """Keep the components on the feeder trees (closed, outside the supply, with a fault or planned rate)."""
    allc = _component_table(net, topo)
    sec = topo.section_of_node
    radial = forest.radial
    edge = allc["edge"].to_numpy(dtype=np.int64)
    node = allc["node"].to_numpy(dtype=np.int64)
    has_edge = edge >= 0
    e0, n0 = np.maximum(edge, 0), np.maximum(node, 0)
    ef = np.where(has_edge, topo.edge_from[e0], node)
    et = np.where(has_edge, topo.edge_to[e0], node)
    on_tree = radial[np.maximum(ef, 0)] | radial[np.maximum(et, 0)]
    is_sw = has_edge & (topo.edge_kind[e0] == EdgeKind.SWITCH)
    closed = np.where(has_edge, topo.edge_closed[e0], True)
    not_supply = np.where(has_edge, ~topo.edge_supply[e0], ~topo.supply_node[n0])
    # non-switch components: their section; switches: upstream-side section first, then the other side
    s1 = np.where(has_edge & ~is_sw, topo.section_of_edge[e0], sec[n0])
    up_end = np.where(topo.depth[np.maximum(ef, 0)] <= topo.depth[np.maximum(et, 0)], ef, et)
    dn_end = np.where(up_end == ef, et, ef)
    s1 = np.where(is_sw, sec[np.maximum(up_end, 0)], s1)
    s2 = np.where(is_sw, sec[np.maximum(dn_end, 0)], NO)
    active = on_tree & closed & not_supply & ((allc["lam"].to_numpy() > 0) | (allc["pl"].to_numpy() > 0))
    active &= (allc["element"].to_numpy() != "bus") | radial[n0]
    return _Components(table=allc[active].reset_index(drop=True), sec1=s1[active], sec2=s2[active])


def _component_ranges(comps: _Components, builder: _RangeBuilder, *, reuse: bool) -> tuple[np.ndarray, np.ndarray]:
    """CSR pointer and ranges (rows lo, hi, class, switching h) of every component; ``reuse`` shares the
    ranges of components in the same section(s) (not with the capacity check, which records per component)."""
    table = comps.table
    ptr = np.zeros(len(table) + 1, dtype=np.int64)
    parts: list[np.ndarray] = []
    cache: dict[tuple[int, ...], list[Range]] = {}
    for c in range(len(table)):
        s1, s2 = int(comps.sec1[c]), int(comps.sec2[c])
        key = (s1, s2) if s2 >= 0 and s2 != s1 else (s1,)
        rngs = cache.get(key) if reuse else None
        if rngs is None:
            rngs = builder.section_ranges(key, f"{table['element'].iat[c]} {table['index'].iat[c]}",
                                          float(table["lam"].iat[c]))
            if reuse:
                cache[key] = rngs
        ptr[c + 1] = ptr[c] + len(rngs)
        if rngs:
            parts.append(np.asarray(rngs, dtype=float))
    return ptr, (np.concatenate(parts) if parts else np.zeros((0, 4)))


# ----------------------------------------------------------------------------------------------- assembly
def build_impact(
    net: Any,
    *,
    topology: Topology | None = None,
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
       (``UPSTREAM``, once the switch above the zone is open: its ``switching_h``), and every block hanging
       below the fault zone (the subtree below a switch bounding it) is restored at the earliest time it can
       be re-energised (``TIE``): a shortest-time search over the blocks
       (:meth:`_RangeBuilder.restore_blocks`) in which a block is live at
       ``max(its own switch, the tie switch, the time the tie's far end is live)``, the far end being an
       unaffected part (0 h), the part above the zone (its ``UPSTREAM`` time) or another block (its own
       restoration time: chains); every switching time runs from the fault, so operations proceed in parallel
       and times combine by ``max`` (the RBTS convention); ties into the fault zone never help; equal times
       are broken by pandapower switch index, so nothing depends on table order; subject to the optional
       capacity check;
    4. the rest (the fault zone itself, blocks with no usable path) wait for the repair (``REPAIR``).

    The supply (above ``RADIAL_MAX_KV``, main transformers, station busbars) is treated as perfectly
    reliable, as in the RBTS publications.

    The steps: depth-first forest (:class:`_Forest`), load positions (:class:`_LoadPoints`), sections and the
    blocks below them (:class:`_Sections`), ties (:class:`_Ties`) and their headroom, the ranges of a fault in
    a section (:class:`_RangeBuilder`), the components (:class:`_Components`) and their ranges.

    Parameters
    ----------
    net : pandapowerNet
        The network, with the data-contract columns (``gs.load_network`` fills defaults).
    topology : Topology, optional
        A prebuilt :func:`gridscope.grid.topology.build_topology` result for ``net``.
    tie_capacity : bool or dict
        ``False`` (default): a tie always carries the transferred block, as in the published RBTS results.
        ``True``: a block is transferred only if the backup feeder's head line has the headroom at peak load
        (its rating :func:`gridscope.grid.facts.line_rating_mva` × ``TIE_CHECK_PF`` (0.95) minus the backup
        feeder's peak demand, ``p_mw × scaling``) for the block and every block already put on that backup
        by the same fault (chains included); otherwise the next-fastest path is tried, and a block left with
        none waits for the repair, the refusal recorded in ``Impact.tie_blocked``. A dict gives the
        headroom in MW per feeder name directly (e.g. from the capacity module's N-1 table).
    default_switching_h : float
        Switching time for switches without ``switching_h``.

    Returns
    -------
    Impact
    """
    topo = topology if topology is not None else build_topology(net)
    forest = _forest(topo)
    loads = _load_points(net, topo, forest)
    sections = _sections(net, topo, forest, loads, default_switching_h)
    ties = _ties(net, topo, forest, sections)
    feeder_names = topo.feeders["name"].astype(str).tolist()
    headroom = _tie_headroom_mw(net, topo, loads, feeder_names, tie_capacity)
    builder = _RangeBuilder(topo, forest, loads, sections, ties, headroom, default_switching_h)
    comps = _components(net, topo, forest)
    ptr, iv = _component_ranges(comps, builder, reuse=tie_capacity is False)
    comp = comps.table
    comp_feeder = (topo.feeder_of_node[np.maximum(sections.root[comps.sec1], 0)] if len(comp)
                   else np.zeros(0, np.int64))
    # feeders without a load point have no per-feeder indices: they are left out (ids renumbered), their
    # components (whose faults interrupt nobody) get feeder -1
    load_feeder = np.asarray(loads.feeder, dtype=np.int64)
    kept = np.bincount(load_feeder[load_feeder >= 0], minlength=len(feeder_names)) > 0
    new_id = np.where(kept, np.cumsum(kept) - 1, NO)
    feeder_names = [name for name, k in zip(feeder_names, kept, strict=True) if k]
    comp_feeder = np.where(comp_feeder >= 0, new_id[np.maximum(comp_feeder, 0)], NO) if len(comp) else comp_feeder
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
        load_pos=loads.load_pos,
        load_index=net.load.index.to_numpy(dtype=np.int64)[loads.rows],
        load_customers=loads.customers, load_p_avg_mw=loads.p_avg_mw,
        load_zone=loads.zone, load_feeder=np.where(load_feeder >= 0, new_id[np.maximum(load_feeder, 0)], NO),
        zones=loads.zones, feeders=feeder_names,
        tie_blocked=pd.DataFrame(builder.blocked, columns=["component", "rate_per_yr", "tie_switch",
                                                           "transfer_mw", "headroom_mw"]),
        load_name=loads.name,
        attrs={"supply_boundary": supply_boundary(net, topo),
               "trafo_role_warnings": "; ".join(f"{table}[{idx}]: {msg}" for table, idx, msg in
                                                role_warnings(net, radial_max_kv=topo.radial_max_kv))},
    )
