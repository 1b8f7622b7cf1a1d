"""Topology from the switch states: sources, feeders, upstream paths, protective devices, sections and ties.

The network is turned into one node/edge graph that every analysis shares:

* **nodes** are the buses (positions ``0 .. n_bus-1`` in ``net.bus`` order) followed by one *virtual* node for
  every element switch (``et`` = ``"l"`` / ``"t"`` / ``"t3"``): the switch sits between the bus and the element
  end, so a line with a breaker at its source end is ``bus --[switch edge]-- virtual --[line edge]-- bus``;
  three-winding transformers get a star node;
* **edges** are lines, transformers (one per two-winding unit, three per three-winding unit) and switches
  (bus-bus and element switches), each with its kind, the pandapower index of its element and its end nodes.

From the closed graph the *supply* is everything reachable from an external grid through supply-level
elements (above :data:`~gridscope.grid.defaults.RADIAL_MAX_KV`, plus main transformers and the switches on
them), station couplers between supplied busbars, and busbar sections joined to the supply by closed bus-bus
switches along two independent paths (a section between two transformer-fed sections).
Each edge leaving the supply into the radially operated distribution part heads one **feeder**; a breadth-first
search from the supply gives every distribution node its parent edge, its feeder, its depth and its nearest
upstream protective device (``CB`` or ``FUSE``). Closed edges that the search does not use close a loop: a
meshed feeder or two feeders (sources) joined; :func:`gridscope.validate` reports them.

*Sections* are the pieces left when every switch is removed (open or closed): a failing line, transformer or
busbar takes its whole section down until isolated, DESIGN.md §3. *Ties* are open switches whose two sides are
both supplied.

Everything is vectorised (``scipy.sparse.csgraph`` traversals and pointer jumping over the predecessor
array); no Python loop runs over the elements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .defaults import RADIAL_MAX_KV

__all__ = [
    "EDGE_KINDS",
    "PROTECTIVE_TYPES",
    "SECTIONALISING_TYPES",
    "SWITCH_TYPES",
    "Topology",
    "build_topology",
]

#: Edge kind codes (``Topology.edge_kind``).
EDGE_LINE, EDGE_TRAFO, EDGE_SWITCH, EDGE_TRAFO3W = 0, 1, 2, 3
EDGE_KINDS: dict[int, str] = {EDGE_LINE: "line", EDGE_TRAFO: "trafo", EDGE_SWITCH: "switch",
                              EDGE_TRAFO3W: "trafo3w"}

#: Switch type codes (``Topology.switch_code``); unknown types get ``SW_UNKNOWN``.
SWITCH_TYPES: dict[str, int] = {"CB": 0, "FUSE": 1, "DS": 2, "LBS": 3, "LS": 4}
SW_CB, SW_FUSE, SW_DS, SW_LBS, SW_LS, SW_UNKNOWN = 0, 1, 2, 3, 4, 5
#: Switch types that clear faults downstream of them.
PROTECTIVE_TYPES: frozenset[str] = frozenset({"CB", "FUSE"})
#: Manual switches used to isolate a fault zone and to restore supply.
SECTIONALISING_TYPES: frozenset[str] = frozenset({"DS", "LBS", "LS"})

NO = -1  # "none" in every integer array


def _switch_codes(types: pd.Series) -> np.ndarray:
    upper = types.astype(str).str.strip().str.upper()
    return upper.map(SWITCH_TYPES).fillna(SW_UNKNOWN).to_numpy(dtype=np.int8)


def _jump_to_fixed_point(up: np.ndarray) -> np.ndarray:
    """Pointer jumping: follow ``up`` until every entry points at a fixed point (O(log depth) passes)."""
    up = up.copy()
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            return up
        up = nxt


def _absorb_station_sections(supply_node: np.ndarray, closed_rad: np.ndarray, edge_kind: np.ndarray,
                             edge_from: np.ndarray, edge_to: np.ndarray, sw_et: np.ndarray,
                             sw_start: int) -> np.ndarray:
    """Add to the supply every node 2-edge-connected to it through closed bus-bus switches.

    Only the (small) subgraph of closed distribution-level bus-bus switches touching the supply is handed to
    networkx; the supply is contracted to one root node, and the bridge-free part around the root is absorbed.
    """
    import networkx as nx

    bb = np.zeros(edge_kind.size, bool)
    sw_rows = np.flatnonzero(sw_et == "b")
    bb[sw_start + sw_rows] = True
    cand = np.flatnonzero(bb & closed_rad & (edge_from >= 0) & (edge_to >= 0))
    if not cand.size:
        return supply_node
    f, t = edge_from[cand], edge_to[cand]
    root = -2
    f = np.where(supply_node[f], root, f)
    t = np.where(supply_node[t], root, t)
    keep = f != t
    if not (keep.any() and ((f == root) | (t == root))[keep].any()):
        return supply_node
    graph = nx.MultiGraph()
    graph.add_edges_from(zip(f[keep].tolist(), t[keep].tolist(), strict=True))
    reach = nx.node_connected_component(graph, root)
    sub = graph.subgraph(reach).copy()
    sub.remove_edges_from(list(nx.bridges(sub)))
    station = [n for n in nx.node_connected_component(sub, root) if n != root]
    if not station:
        return supply_node
    out = supply_node.copy()
    out[np.asarray(station, dtype=np.int64)] = True
    return out


@dataclass(eq=False)
class Topology:
    """The graph of a network and its radial structure under the current switch states.

    Build it with :func:`build_topology`; arrays are indexed by node id or edge id as described in the module
    docstring. ``NO`` (-1) marks "none".

    Attributes
    ----------
    bus_index : numpy.ndarray
        pandapower bus index of node ``i`` for ``i < n_bus``.
    n_bus, n_node : int
        Number of buses; of nodes (buses + virtual nodes).
    node_bus : numpy.ndarray
        The bus a node stands at: itself for bus nodes, the switch's bus for switch nodes, the HV bus for star
        nodes.
    edge_kind, edge_element, edge_from, edge_to : numpy.ndarray
        Kind code, pandapower index of the element, end nodes of every edge.
    edge_closed : numpy.ndarray
        In service and, for switches, closed.
    edge_supply : numpy.ndarray
        The edge belongs to the supply (not failed by the radial analysis).
    switch_edge : numpy.ndarray
        Edge id of every switch, in ``net.switch`` order.
    switch_code : numpy.ndarray
        Type code per edge (``SW_*``), ``NO`` for non-switch edges.
    supply_node : numpy.ndarray
        Bool per node: in the supply.
    energised : numpy.ndarray
        Bool per node: reached from a source under the current switch states.
    parent_node, parent_edge : numpy.ndarray
        Towards the supply along the radial tree; ``NO`` for supply nodes, feeder-head roots point at the
        supply node they hang from.
    feeder_of_node : numpy.ndarray
        Feeder id per node, ``NO`` for supply and unsupplied nodes.
    depth : numpy.ndarray
        Edges between the node and the supply (0 for supply nodes, ``NO`` for unsupplied ones).
    order : numpy.ndarray
        Radial nodes in breadth-first order (parents before children).
    nearest_protective_edge : numpy.ndarray
        Per node, the closest protective switch edge on its path to the supply (``NO`` if none).
    section_of_node, section_of_edge : numpy.ndarray
        Switch-bounded section ids; ``NO`` for switch edges.
    loop_edges : numpy.ndarray
        Closed radial edges not used by the spanning tree (each closes a loop).
    feeders : pandas.DataFrame
        One row per feeder: ``name`` (unique: duplicates get ``#<feeder id>``), ``raw_name`` (before
        de-duplication), ``head_edge``, ``head_node``, ``supply_node``, ``station_bus``,
        ``head_switch`` (index of the CB/FUSE switch heading the feeder, -1 if none),
        ``vn_kv``, ``n_bus``, ``n_load``.
    ties : pandas.DataFrame
        One row per normally-open switch with both sides supplied: ``switch``, ``name``, ``bus``,
        ``feeder_a``, ``feeder_b``, ``node_a``, ``node_b``.
    """

    net_name: str
    radial_max_kv: float
    bus_index: np.ndarray
    n_bus: int
    n_node: int
    node_bus: np.ndarray
    edge_kind: np.ndarray
    edge_element: np.ndarray
    edge_from: np.ndarray
    edge_to: np.ndarray
    edge_closed: np.ndarray
    edge_supply: np.ndarray
    switch_edge: np.ndarray
    switch_code: np.ndarray
    supply_node: np.ndarray
    energised: np.ndarray
    parent_node: np.ndarray
    parent_edge: np.ndarray
    feeder_of_node: np.ndarray
    depth: np.ndarray
    order: np.ndarray
    nearest_protective_edge: np.ndarray
    section_of_node: np.ndarray
    section_of_edge: np.ndarray
    loop_edges: np.ndarray
    feeders: pd.DataFrame
    ties: pd.DataFrame
    _bus_pos: pd.Series = field(repr=False)
    _element_edges: dict[str, np.ndarray] = field(repr=False)

    # ------------------------------------------------------------------ lookups
    @property
    def n_edge(self) -> int:
        """Number of edges."""
        return int(self.edge_kind.size)

    def bus_node(self, bus: Any) -> np.ndarray:
        """Node ids of pandapower bus indices (scalar or array-like)."""
        return self._bus_pos.reindex(np.atleast_1d(bus)).to_numpy(dtype=np.int64, na_value=NO)

    def element_edges(self, element: str) -> np.ndarray:
        """Edge id per row of ``net[element]`` (``line``, ``trafo``, ``switch``) in table order.

        For ``trafo3w`` the edge of the HV winding is returned.
        """
        return self._element_edges[element]

    def element_nodes(self, net: Any, element: str) -> np.ndarray:
        """The downstream (feeder-side) node of every row of ``net[element]``.

        Buses, loads, sgens and storages give their bus node; lines, transformers and switches give the end
        farther from the supply (the child end of their edge), or the ``to``-side end when they are not on the
        radial tree.
        """
        if element == "bus":
            return np.arange(self.n_bus, dtype=np.int64)
        if element in ("load", "sgen", "storage", "gen", "ext_grid", "shunt", "ward", "xward"):
            return self.bus_node(net[element]["bus"].to_numpy())
        edges = self.element_edges(element)
        a, b = self.edge_from[edges], self.edge_to[edges]
        a_is_child = (self.parent_edge[a] == edges)
        return np.where(a_is_child, a, b)

    def feeder_of(self, net: Any, element: str) -> pd.Series:
        """Feeder id (``-1`` for supply or unsupplied) of every row of ``net[element]``."""
        nodes = self.element_nodes(net, element)
        feeder = np.where(nodes >= 0, self.feeder_of_node[np.maximum(nodes, 0)], NO)
        return pd.Series(feeder, index=net[element].index, name="feeder")

    def feeder_name_of(self, net: Any, element: str) -> pd.Series:
        """Feeder name (``None`` for supply or unsupplied) of every row of ``net[element]``."""
        ids = self.feeder_of(net, element)
        names = self.feeders["name"].to_numpy()
        out = np.where(ids.to_numpy() >= 0, names[np.maximum(ids.to_numpy(), 0)] if len(names) else None, None)
        return pd.Series(out, index=ids.index, name="feeder_name")

    def upstream_edges(self, node: int) -> np.ndarray:
        """Edge ids on the path from ``node`` to the supply, nearest first."""
        path = []
        n = int(node)
        while n >= 0 and self.parent_edge[n] >= 0:
            path.append(int(self.parent_edge[n]))
            n = int(self.parent_node[n])
        return np.asarray(path, dtype=np.int64)

    def upstream_switches(self, net: Any, node: int) -> pd.DataFrame:
        """The switches on the path from ``node`` to the supply, nearest first, with their type and state.

        Columns: ``switch`` (pandapower index), ``type``, ``protective`` (CB/FUSE), ``sectionalising``
        (DS/LBS/LS).
        """
        edges = self.upstream_edges(node)
        edges = edges[self.edge_kind[edges] == EDGE_SWITCH]
        idx = self.edge_element[edges]
        types = net.switch.loc[idx, "type"].astype(str).str.upper().to_numpy()
        return pd.DataFrame({
            "switch": idx,
            "type": types,
            "protective": np.isin(types, list(PROTECTIVE_TYPES)),
            "sectionalising": np.isin(types, list(SECTIONALISING_TYPES)),
        })

    def summary(self) -> dict[str, int]:
        """Counts: buses, nodes, edges, feeders, ties, sections, loops, unsupplied buses."""
        return {
            "buses": self.n_bus,
            "nodes": self.n_node,
            "edges": self.n_edge,
            "feeders": len(self.feeders),
            "ties": len(self.ties),
            "sections": int(self.section_of_node.max()) + 1 if self.n_node else 0,
            "loops": int(self.loop_edges.size),
            "unsupplied_buses": int((~self.energised[: self.n_bus]).sum()),
        }


def _in_service(df: pd.DataFrame) -> np.ndarray:
    if "in_service" not in df.columns or not len(df):
        return np.ones(len(df), dtype=bool)
    return df["in_service"].fillna(False).to_numpy(dtype=bool)


def build_topology(net: Any, *, radial_max_kv: float = RADIAL_MAX_KV) -> Topology:
    """Build the :class:`Topology` of ``net`` under its current switch states.

    Parameters
    ----------
    net : pandapowerNet
        The network (not modified).
    radial_max_kv : float
        Buses at or below this voltage are radially operated distribution; above it is the supply.

    Returns
    -------
    Topology
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    bus = net.bus
    n_bus = len(bus)
    bus_index = bus.index.to_numpy(dtype=np.int64)
    bus_pos = pd.Series(np.arange(n_bus, dtype=np.int64), index=bus.index)
    bus_ok = _in_service(bus)
    vn = bus["vn_kv"].to_numpy(dtype=float)

    def pos(values: np.ndarray) -> np.ndarray:
        return bus_pos.reindex(values).to_numpy(dtype=np.int64, na_value=NO)

    # ---------------------------------------------------------------- switches and virtual nodes
    sw = net.switch
    n_sw = len(sw)
    sw_bus = pos(sw["bus"].to_numpy()) if n_sw else np.zeros(0, np.int64)
    sw_et = sw["et"].astype(str).to_numpy() if n_sw else np.zeros(0, dtype=object)
    sw_elem = sw["element"].to_numpy(dtype=np.int64) if n_sw else np.zeros(0, np.int64)
    sw_closed = sw["closed"].fillna(False).to_numpy(dtype=bool) if n_sw else np.zeros(0, bool)
    sw_code = _switch_codes(sw["type"]) if n_sw else np.zeros(0, np.int8)
    is_elem_sw = sw_et != "b"
    n_virtual_sw = int(is_elem_sw.sum())
    # chain several switches at the same element end: bus - v1 - v2 - ... - element
    virt = np.full(n_sw, NO, dtype=np.int64)
    virt[is_elem_sw] = n_bus + np.arange(n_virtual_sw)
    sw_from = sw_bus.copy()
    sw_to = np.full(n_sw, NO, dtype=np.int64)
    endpoint: dict[tuple[str, int, int], int] = {}
    if n_virtual_sw:
        esw = pd.DataFrame({"et": sw_et[is_elem_sw], "element": sw_elem[is_elem_sw],
                            "bus": sw_bus[is_elem_sw], "virt": virt[is_elem_sw],
                            "row": np.flatnonzero(is_elem_sw)})
        rank = esw.groupby(["et", "element", "bus"], sort=False).cumcount().to_numpy()
        prev_virt = esw.groupby(["et", "element", "bus"], sort=False)["virt"].shift(1) \
            .fillna(NO).astype(np.int64).to_numpy()
        same_prev = rank > 0
        rows = esw["row"].to_numpy()
        sw_from[rows[same_prev]] = prev_virt[same_prev]
        sw_to[rows] = esw["virt"].to_numpy()
        last = esw.groupby(["et", "element", "bus"], sort=False)["virt"].last()
        endpoint = {(k[0], int(k[1]), int(k[2])): int(v) for k, v in last.items()}
    bb = ~is_elem_sw
    sw_to[bb] = pos(sw_elem[bb]) if bb.any() else sw_to[bb]

    # element ends that carry switches attach to the last virtual node of their switch chain
    def end_node_vec(et: str, elements: np.ndarray, buses: np.ndarray) -> np.ndarray:
        nodes = pos(buses)
        if not endpoint or not len(elements):
            return nodes
        keys = pd.DataFrame({"element": elements, "bus": nodes})
        ep = pd.DataFrame([(k[1], k[2], v) for k, v in endpoint.items() if k[0] == et],
                          columns=["element", "bus", "virt"])
        if ep.empty:
            return nodes
        merged = keys.merge(ep, on=["element", "bus"], how="left")
        virt_nodes = merged["virt"].to_numpy()
        has = ~np.isnan(virt_nodes.astype(float))
        nodes[has] = virt_nodes[has].astype(np.int64)
        return nodes

    # ---------------------------------------------------------------- branch edges
    line = net.line
    n_line = len(line)
    l_idx = line.index.to_numpy(dtype=np.int64)
    l_from = end_node_vec("l", l_idx, line["from_bus"].to_numpy()) if n_line else np.zeros(0, np.int64)
    l_to = end_node_vec("l", l_idx, line["to_bus"].to_numpy()) if n_line else np.zeros(0, np.int64)
    l_ok = _in_service(line)
    l_vn = vn[pos(line["from_bus"].to_numpy())] if n_line else np.zeros(0)

    trafo = net.trafo
    n_tr = len(trafo)
    t_idx = trafo.index.to_numpy(dtype=np.int64)
    t_from = end_node_vec("t", t_idx, trafo["hv_bus"].to_numpy()) if n_tr else np.zeros(0, np.int64)
    t_to = end_node_vec("t", t_idx, trafo["lv_bus"].to_numpy()) if n_tr else np.zeros(0, np.int64)
    t_ok = _in_service(trafo)
    t_main = trafo["vn_hv_kv"].to_numpy(dtype=float) > radial_max_kv if n_tr else np.zeros(0, bool)

    t3 = net.trafo3w
    n_t3 = len(t3)
    star0 = n_bus + n_virtual_sw
    n_node = star0 + n_t3
    t3_idx = t3.index.to_numpy(dtype=np.int64)
    star = star0 + np.arange(n_t3, dtype=np.int64)
    node_bus = np.concatenate([np.arange(n_bus), sw_bus[is_elem_sw],
                               pos(t3["hv_bus"].to_numpy()) if n_t3 else np.zeros(0, np.int64)])
    if n_t3:
        t3_ends = [end_node_vec("t3", t3_idx, t3[c].to_numpy()) for c in ("hv_bus", "mv_bus", "lv_bus")]
        t3_main = t3["vn_hv_kv"].to_numpy(dtype=float) > radial_max_kv
    else:
        t3_ends = [np.zeros(0, np.int64)] * 3
        t3_main = np.zeros(0, bool)
    t3_ok = _in_service(t3)

    edge_kind = np.concatenate([
        np.full(n_line, EDGE_LINE, np.int8), np.full(n_tr, EDGE_TRAFO, np.int8),
        np.full(n_sw, EDGE_SWITCH, np.int8), np.full(3 * n_t3, EDGE_TRAFO3W, np.int8)])
    edge_element = np.concatenate([l_idx, t_idx, sw.index.to_numpy(dtype=np.int64) if n_sw else
                                   np.zeros(0, np.int64), np.tile(t3_idx, 3)])
    edge_from = np.concatenate([l_from, t_from, sw_from, star, star, star])
    edge_to = np.concatenate([l_to, t_to, sw_to, *t3_ends])
    node_vn = vn[node_bus] if n_node else np.zeros(0)
    both_ok = (edge_from >= 0) & (edge_to >= 0)
    safe_from, safe_to = np.maximum(edge_from, 0), np.maximum(edge_to, 0)
    nodes_ok = both_ok & bus_ok[node_bus[safe_from]] & bus_ok[node_bus[safe_to]]
    edge_closed = nodes_ok & np.concatenate([l_ok, t_ok, sw_closed, np.tile(t3_ok, 3)])
    switch_code = np.concatenate([np.full(n_line + n_tr, NO, np.int8), sw_code,
                                  np.full(3 * n_t3, NO, np.int8)])
    # a switch belongs to the supply when its bus is above the radial level or it switches a supply element
    # (the MV-side breaker of a main transformer is station equipment, not a feeder head)
    sw_supply = node_vn[safe_from[n_line + n_tr: n_line + n_tr + n_sw]] > radial_max_kv
    if n_sw:
        for et, idx, is_sup in (("l", l_idx, l_vn > radial_max_kv), ("t", t_idx, t_main),
                                ("t3", t3_idx, t3_main)):
            rows = np.flatnonzero(sw_et == et)
            if rows.size and idx.size:
                hit = pd.Series(is_sup, index=idx).reindex(sw_elem[rows]).fillna(False).to_numpy(dtype=bool)
                sw_supply[rows] |= hit
    edge_supply = np.concatenate([l_vn > radial_max_kv, t_main, sw_supply, np.tile(t3_main, 3)])
    n_edge = edge_kind.size

    # ---------------------------------------------------------------- supply region
    eg = net.ext_grid
    src_bus = eg.loc[_in_service(eg), "bus"].to_numpy() if len(eg) else np.zeros(0, np.int64)
    if len(net.gen) and "slack" in net.gen.columns:
        slack = net.gen[net.gen["slack"].fillna(False).astype(bool) & _in_service(net.gen)]
        src_bus = np.concatenate([src_bus, slack["bus"].to_numpy()])
    src_nodes = pos(src_bus)
    src_nodes = src_nodes[(src_nodes >= 0)]
    src_nodes = src_nodes[bus_ok[src_nodes]] if src_nodes.size else src_nodes

    def graph(mask: np.ndarray):
        f, t = edge_from[mask], edge_to[mask]
        return coo_matrix((np.ones(f.size, np.int8), (f, t)), shape=(n_node, n_node)).tocsr()

    sup_mask = edge_closed & edge_supply
    supply_node = np.zeros(n_node, bool)
    if src_nodes.size:
        _, cc = connected_components(graph(sup_mask), directed=False)
        supply_node = np.isin(cc, np.unique(cc[src_nodes]))
    closed_rad = edge_closed & ~edge_supply
    # station busbar sections: a bus joined to the supply by closed bus-bus switches along two independent
    # paths (a section between two transformer-fed sections, couplers in a ring) is station equipment, not a
    # feeder; a bus hanging from the supply by a single switch (a feeder breaker) is not absorbed
    if supply_node.any():
        supply_node = _absorb_station_sections(supply_node, closed_rad, edge_kind, edge_from, edge_to,
                                               sw_et, n_line + n_tr)
    # a closed distribution-level edge between two supply nodes is a station coupler: part of the supply
    coupler = closed_rad & supply_node[safe_from] & supply_node[safe_to]
    edge_supply = edge_supply | coupler
    closed_rad &= ~coupler

    # ---------------------------------------------------------------- radial BFS from a super-root
    root = n_node
    f = np.where(supply_node[safe_from], root, edge_from)
    t = np.where(supply_node[safe_to], root, edge_to)
    rad_ids = np.flatnonzero(closed_rad)
    rf, rt = f[rad_ids], t[rad_ids]
    g = coo_matrix((np.ones(rad_ids.size, np.int8), (rf, rt)), shape=(n_node + 1, n_node + 1)).tocsr()
    order, pred = breadth_first_order(g, root, directed=False, return_predecessors=True)
    order = order[1:]  # drop the root itself
    pred = pred.astype(np.int64)
    pred[pred < 0] = NO

    # parent edge via sorted (min, max) keys of the radial edges
    big = np.int64(n_node + 1)
    keys = np.minimum(rf, rt) * big + np.maximum(rf, rt)
    sort = np.argsort(keys, kind="stable")
    skeys = keys[sort]
    parent_edge = np.full(n_node, NO, np.int64)
    parent_node = np.full(n_node, NO, np.int64)
    if order.size:
        p = pred[order]
        qk = np.minimum(order, p) * big + np.maximum(order, p)
        hit = np.searchsorted(skeys, qk)
        parent_edge[order] = rad_ids[sort[hit]]
        pe = parent_edge[order]
        # feeder roots hang from the actual supply node at the edge's supply end
        sup_end = np.where(supply_node[safe_from[pe]], edge_from[pe], edge_to[pe])
        parent_node[order] = np.where(p == root, sup_end, p)
    tree_edge = np.zeros(n_edge, bool)
    tree_edge[parent_edge[parent_edge >= 0]] = True
    reached = np.zeros(n_node + 1, bool)
    reached[order] = True
    reached[root] = True
    # closed edges off the tree between reached nodes close a loop (edges inside unsupplied islands do not)
    loop_edges = np.flatnonzero(closed_rad & ~tree_edge & reached[f] & reached[t])

    # feeders: pointer jumping to the child of the root on each path
    up = np.arange(n_node + 1, dtype=np.int64)
    up[order] = np.where(pred[order] == root, order, pred[order])
    head_of = _jump_to_fixed_point(up)[:n_node]
    in_tree = np.zeros(n_node, bool)
    in_tree[order] = True
    heads = order[pred[order] == root]
    feeder_id = np.full(n_node + 1, NO, np.int64)
    feeder_id[heads] = np.arange(heads.size)
    feeder_of_node = np.where(in_tree, feeder_id[head_of], NO)

    # depth by pointer jumping with distance accumulation (list ranking)
    depth = np.zeros(n_node + 1, np.int64)
    depth[order] = 1
    anc = np.full(n_node + 1, root, np.int64)
    anc[order] = pred[order]
    while True:
        active = anc != root
        if not active.any():
            break
        depth[active] += depth[anc[active]]
        anc[active] = anc[anc[active]]
    depth = depth[:n_node]
    energised = supply_node | in_tree
    depth[~energised] = NO

    # nearest protective device: jump to the closest node whose parent edge is protective
    protective_edge = np.isin(switch_code, [SW_CB, SW_FUSE])
    up = np.arange(n_node + 1, dtype=np.int64)
    stop = np.zeros(n_node + 1, bool)
    stop[order] = protective_edge[parent_edge[order]] | (pred[order] == root)
    nonstop = order[~stop[order]]
    up[nonstop] = pred[nonstop]
    jump = _jump_to_fixed_point(up)[:n_node]
    nearest_protective_edge = np.full(n_node, NO, np.int64)
    cand = parent_edge[jump[order]]
    nearest_protective_edge[order] = np.where(protective_edge[np.maximum(cand, 0)] & (cand >= 0), cand, NO)

    # ---------------------------------------------------------------- sections (switches removed)
    non_sw = (edge_kind != EDGE_SWITCH) & both_ok
    ns = np.flatnonzero(non_sw)
    sec_g = coo_matrix((np.ones(ns.size, np.int8), (edge_from[ns], edge_to[ns])),
                       shape=(n_node, n_node)).tocsr()
    _, section_of_node = connected_components(sec_g, directed=False)
    section_of_node = section_of_node.astype(np.int64)
    section_of_edge = np.full(n_edge, NO, np.int64)
    section_of_edge[ns] = section_of_node[edge_from[ns]]

    # ---------------------------------------------------------------- feeders table
    head_edges = parent_edge[heads]
    head_sup = parent_node[heads]
    sw_edges = np.arange(n_line + n_tr, n_line + n_tr + n_sw, dtype=np.int64)
    edge_name = np.empty(n_edge, dtype=object)
    for element, count, start in (("line", n_line, 0), ("trafo", n_tr, n_line), ("switch", n_sw, n_line + n_tr)):
        if count:
            names = net[element]["name"] if "name" in net[element] else pd.Series(None, index=net[element].index)
            edge_name[start:start + count] = names.to_numpy(dtype=object)
    # head device: the protective switch on the head edge itself (-1 when the feeder head has no CB/FUSE)
    head_prot = nearest_protective_edge[heads] if heads.size else np.zeros(0, np.int64)
    head_switch = np.where(head_prot >= 0, edge_element[np.maximum(head_prot, 0)], NO)
    # feeder name: the head switch's name, else the head edge's name, else the first named line/switch below
    fname = []
    station_bus = bus_index[node_bus[head_sup]] if heads.size else np.zeros(0, np.int64)
    for k in range(heads.size):
        cands = [edge_name[head_prot[k]] if head_prot[k] >= 0 else None, edge_name[head_edges[k]]]
        name = next((str(c) for c in cands if c is not None and str(c) not in ("", "None", "nan")), None)
        fname.append(name or f"{bus.loc[station_bus[k], 'name'] if 'name' in bus else station_bus[k]}/{k}")
    fname_arr = np.asarray(fname, dtype=object)
    raw_name = fname_arr.copy()
    dup = pd.Series(fname_arr).duplicated(keep=False).to_numpy()
    if dup.any():
        fname_arr[dup] = [f"{n}#{k}" for n, k in zip(fname_arr[dup], np.flatnonzero(dup), strict=True)]
    n_bus_per = np.bincount(feeder_of_node[:n_bus][feeder_of_node[:n_bus] >= 0], minlength=heads.size)
    load_nodes = pos(net.load["bus"].to_numpy()) if len(net.load) else np.zeros(0, np.int64)
    lf = feeder_of_node[load_nodes[load_nodes >= 0]]
    n_load_per = np.bincount(lf[lf >= 0], minlength=heads.size)
    feeders = pd.DataFrame({
        "name": fname_arr,
        "raw_name": raw_name,
        "head_edge": head_edges,
        "head_node": heads,
        "supply_node": head_sup,
        "station_bus": station_bus,
        "head_switch": head_switch,
        "vn_kv": node_vn[heads] if heads.size else np.zeros(0),
        "n_bus": n_bus_per[: heads.size],
        "n_load": n_load_per[: heads.size],
    })
    feeders.index.name = "feeder"

    # ---------------------------------------------------------------- ties
    open_sw = sw_edges[~sw_closed & nodes_ok[sw_edges]] if n_sw else np.zeros(0, np.int64)
    if open_sw.size:
        a, b = edge_from[open_sw], edge_to[open_sw]
        # the element side of an open element switch: follow the element edge from the virtual node
        a_ok, b_ok = energised[a], energised[b]
        # a virtual node beyond an open switch is energised through its element when that element is fed
        tie_mask = a_ok & b_ok
        ts = open_sw[tie_mask]
        ties = pd.DataFrame({
            "switch": edge_element[ts],
            "name": edge_name[ts],
            "bus": bus_index[node_bus[edge_from[ts]]],
            "feeder_a": feeder_of_node[edge_from[ts]],
            "feeder_b": feeder_of_node[edge_to[ts]],
            "node_a": edge_from[ts],
            "node_b": edge_to[ts],
        })
    else:
        ties = pd.DataFrame({c: pd.Series(dtype="int64") for c in
                             ("switch", "bus", "feeder_a", "feeder_b", "node_a", "node_b")})
        ties.insert(1, "name", pd.Series(dtype=object))

    element_edges = {
        "line": np.arange(0, n_line, dtype=np.int64),
        "trafo": np.arange(n_line, n_line + n_tr, dtype=np.int64),
        "switch": sw_edges,
        "trafo3w": np.arange(n_line + n_tr + n_sw, n_line + n_tr + n_sw + n_t3, dtype=np.int64),
    }
    return Topology(
        net_name=str(getattr(net, "name", "") or ""),
        radial_max_kv=float(radial_max_kv),
        bus_index=bus_index, n_bus=n_bus, n_node=n_node, node_bus=node_bus,
        edge_kind=edge_kind, edge_element=edge_element, edge_from=edge_from, edge_to=edge_to,
        edge_closed=edge_closed, edge_supply=edge_supply, switch_edge=sw_edges, switch_code=switch_code,
        supply_node=supply_node, energised=energised, parent_node=parent_node, parent_edge=parent_edge,
        feeder_of_node=feeder_of_node, depth=depth, order=order,
        nearest_protective_edge=nearest_protective_edge, section_of_node=section_of_node,
        section_of_edge=section_of_edge, loop_edges=loop_edges, feeders=feeders, ties=ties,
        _bus_pos=bus_pos, _element_edges=element_edges,
    )
