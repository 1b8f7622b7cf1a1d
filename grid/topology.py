"""Topology from the switch states: sources, feeders, upstream paths, protective devices, sections and ties.

The network is turned into one node/edge graph that every analysis shares:

* **nodes** are the buses (positions ``0 .. n_bus-1`` in ``net.bus`` order) followed by one *virtual* node for
  every element switch (``et`` = ``"l"`` / ``"t"`` / ``"t3"``): the switch sits between the bus and the element
  end, so a line with a breaker at its source end is ``bus --[switch edge]-- virtual --[line edge]-- bus``;
  three-winding transformers get a star node;
* **edges** are lines, transformers (one per two-winding unit, three per three-winding unit) and switches
  (bus-bus and element switches), each with its kind (:class:`EdgeKind`), the pandapower index of its element
  and its end nodes.

From the closed graph the *supply* is everything reachable from an external grid through supply-level
elements (buses above :data:`~gridscope.grid.facts.RADIAL_MAX_KV` and the subtransmission feeding a station,
main transformers by role (:func:`~gridscope.grid.facts.trafo_is_main`) and the switches on them), station
couplers between supplied busbars, busbar sections joined to the supply by closed bus-bus switches along
two independent paths (a section between two transformer-fed sections), and the busbar behind a unit's
incomer switch (every bus on a path of closed same-voltage bus-bus switches from the supply to a bus heading
breaker-fed lines, :func:`_absorb_incomer_busbars`), so each breaker-fed line out of a station is a feeder.
Each edge leaving the supply into the radially operated distribution part heads one **feeder**; a breadth-first
search from the supply gives every distribution node its parent edge, its feeder, its depth and its nearest
upstream protective device (``CB`` or ``FUSE``). Closed edges that the search does not use close a loop: a
meshed feeder or two feeders (sources) joined; :func:`gridscope.validate` reports them.

*Sections* are the pieces left when every switch is removed (open or closed): a failing line, transformer or
busbar takes its whole section down until isolated, DESIGN.md §3. *Ties* are open switches whose two sides are
both supplied.

:func:`build_topology` runs named steps, each a function passing a small dataclass to the next: graph arrays
(:class:`GraphArrays`) → supply region (:class:`Supply`) → radial tree (:class:`RadialTree`) → sections →
feeder table → ties. Everything is vectorised (``scipy.sparse.csgraph`` traversals and pointer jumping over
the predecessor array); no Python loop runs over the elements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import pandas as pd

from .facts import RADIAL_MAX_KV, bus_is_supply_level, in_service, trafo3w_is_main, trafo_is_main

__all__ = [
    "EDGE_KINDS",
    "NO",
    "PROTECTIVE_TYPES",
    "SECTIONALISING_TYPES",
    "SWITCH_TYPES",
    "EdgeKind",
    "GraphArrays",
    "RadialTree",
    "Supply",
    "SwitchType",
    "Topology",
    "build_topology",
]


class EdgeKind(IntEnum):
    """Edge kind codes (``Topology.edge_kind``); the lower-case name is the pandapower table."""

    LINE = 0
    TRAFO = 1
    SWITCH = 2
    TRAFO3W = 3

    @property
    def table(self) -> str:
        """The pandapower element table of this kind (``"line"``, ``"trafo"``, ``"switch"``, ``"trafo3w"``)."""
        return self.name.lower()


class SwitchType(IntEnum):
    """Switch type codes (``Topology.switch_code``); types gridscope does not know are ``UNKNOWN``."""

    CB = 0
    FUSE = 1
    DS = 2
    LBS = 3
    LS = 4
    UNKNOWN = 5

    @classmethod
    def codes(cls, types: pd.Series) -> np.ndarray:
        """Code of every pandapower switch ``type`` text (case and blanks ignored)."""
        upper = types.astype(str).str.strip().str.upper()
        return upper.map(SWITCH_TYPES).fillna(cls.UNKNOWN).to_numpy(dtype=np.int8)


#: Edge kind code → pandapower table name.
EDGE_KINDS: dict[int, str] = {kind: kind.table for kind in EdgeKind}
#: pandapower switch type text → code (the known types).
SWITCH_TYPES: dict[str, int] = {t.name: t for t in SwitchType if t is not SwitchType.UNKNOWN}
#: Switch types that clear faults downstream of them.
PROTECTIVE_TYPES: frozenset[str] = frozenset({SwitchType.CB.name, SwitchType.FUSE.name})
#: Manual switches used to isolate a fault zone and to restore supply.
SECTIONALISING_TYPES: frozenset[str] = frozenset({SwitchType.DS.name, SwitchType.LBS.name, SwitchType.LS.name})

# Old names of the codes, kept for the modules and tests that import them.
EDGE_LINE, EDGE_TRAFO, EDGE_SWITCH, EDGE_TRAFO3W = EdgeKind.LINE, EdgeKind.TRAFO, EdgeKind.SWITCH, EdgeKind.TRAFO3W

NO = -1  # "none" in every integer array


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
    import networkx as nx  # deferred: only stations with busbar couplers need it

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


def _absorb_incomer_busbars(supply_node: np.ndarray, g: GraphArrays, closed_rad: np.ndarray,
                            cb_head: np.ndarray) -> np.ndarray:
    """Add to the supply the busbars behind a station's incomer: every node on a path of closed bus-bus
    switches at one voltage from the supply to a bus heading breaker-fed lines (``cb_head``, per node).

    A main transformer often reaches its busbar through an incomer breaker or disconnector (a bus-bus
    switch); without this rule the busbar would hang from the supply by that single switch and all the
    station's feeders would merge into one feeder named after the incomer. A bus reached through bus-bus
    switches that heads no breaker-fed line (a feeder modelled from a bus-bus feeder breaker) is not absorbed.
    """
    from scipy.sparse.csgraph import breadth_first_order  # deferred: scipy.sparse is slow to import

    bb = np.zeros(g.n_edge, bool)
    bb[g.switch_start + np.flatnonzero(g.sw_et == "b")] = True
    cand = np.flatnonzero(bb & closed_rad & g.both_ok)
    if not cand.size or not cb_head.any():
        return supply_node
    f, t = g.edge_from[cand], g.edge_to[cand]
    same_kv = np.isclose(g.node_vn[f], g.node_vn[t])
    f, t = f[same_kv], t[same_kv]
    root = g.n_node
    f = np.where(supply_node[f], root, f)
    t = np.where(supply_node[t], root, t)
    keep = f != t
    if not ((f == root) | (t == root))[keep].any():
        return supply_node
    adj = _adjacency(g.n_node + 1, np.concatenate([f[keep], t[keep]]), np.concatenate([t[keep], f[keep]]))
    order, pred = breadth_first_order(adj, root, directed=True, return_predecessors=True)
    targets = order[(order < g.n_node) & cb_head[np.minimum(order, g.n_node - 1)]]
    if not targets.size:
        return supply_node
    out = supply_node.copy()
    up = np.where(pred >= 0, pred, np.arange(pred.size))  # the BFS tree, root and unreached nodes fixed
    node = targets
    while node.size:  # walk every target up to the root (paths are a few switches long)
        node = node[(node != root) & ~out[np.minimum(node, g.n_node - 1)]]
        out[node] = True
        node = up[node]
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
        Type code per edge (:class:`SwitchType`), ``NO`` for non-switch edges.
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
        edges = edges[self.edge_kind[edges] == EdgeKind.SWITCH]
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


# ---------------------------------------------------------------------------------------------- build steps
@dataclass(eq=False)
class GraphArrays:
    """Step 1 of :func:`build_topology`: the node/edge arrays of the network (module docstring).

    Edges are laid out lines, transformers, switches, then three edges per three-winding transformer (HV, MV,
    LV winding, all from the star node).
    """

    bus_index: np.ndarray
    bus_pos: pd.Series
    bus_ok: np.ndarray
    n_bus: int
    n_node: int
    node_bus: np.ndarray
    node_vn: np.ndarray
    n_line: int
    n_trafo: int
    n_switch: int
    n_trafo3w: int
    sw_et: np.ndarray
    sw_closed: np.ndarray
    edge_kind: np.ndarray
    edge_element: np.ndarray
    edge_from: np.ndarray
    edge_to: np.ndarray
    edge_closed: np.ndarray
    edge_supply: np.ndarray
    switch_code: np.ndarray
    both_ok: np.ndarray
    nodes_ok: np.ndarray

    @property
    def n_edge(self) -> int:
        """Number of edges."""
        return int(self.edge_kind.size)

    @property
    def switch_start(self) -> int:
        """Edge id of the first switch."""
        return self.n_line + self.n_trafo

    @property
    def switch_edges(self) -> np.ndarray:
        """Edge id of every switch, in ``net.switch`` order."""
        return np.arange(self.switch_start, self.switch_start + self.n_switch, dtype=np.int64)

    @property
    def safe_from(self) -> np.ndarray:
        """``edge_from`` with missing ends (``NO``) replaced by node 0, for indexing."""
        return np.maximum(self.edge_from, 0)

    @property
    def safe_to(self) -> np.ndarray:
        """``edge_to`` with missing ends (``NO``) replaced by node 0, for indexing."""
        return np.maximum(self.edge_to, 0)

    def pos(self, buses: np.ndarray) -> np.ndarray:
        """Node ids of pandapower bus indices (``NO`` for unknown buses)."""
        return self.bus_pos.reindex(buses).to_numpy(dtype=np.int64, na_value=NO)

    def element_edges(self) -> dict[str, np.ndarray]:
        """Edge ids of every element table's rows (the HV winding for ``trafo3w``)."""
        n_lt_sw = self.switch_start + self.n_switch
        return {
            "line": np.arange(0, self.n_line, dtype=np.int64),
            "trafo": np.arange(self.n_line, self.switch_start, dtype=np.int64),
            "switch": self.switch_edges,
            "trafo3w": np.arange(n_lt_sw, n_lt_sw + self.n_trafo3w, dtype=np.int64),
        }


@dataclass(eq=False)
class _SwitchChains:
    """Switch edges with their virtual nodes; ``endpoint`` maps (et, element, bus node) to the last node of the
    switch chain at that element end."""

    bus_node: np.ndarray
    et: np.ndarray
    closed: np.ndarray
    code: np.ndarray
    is_element_switch: np.ndarray
    from_node: np.ndarray
    to_node: np.ndarray
    endpoint: pd.DataFrame

    @property
    def n_virtual(self) -> int:
        return int(self.is_element_switch.sum())


def _switch_chains(net: Any, bus_pos: pd.Series, n_bus: int) -> _SwitchChains:
    """Switch edges: bus-bus switches join two buses; element switches sit between the bus and a virtual node,
    several switches at the same element end chained (bus - v1 - v2 - ... - element)."""
    sw = net.switch
    n_sw = len(sw)

    def pos(values: np.ndarray) -> np.ndarray:
        return bus_pos.reindex(values).to_numpy(dtype=np.int64, na_value=NO)

    sw_bus = pos(sw["bus"].to_numpy()) if n_sw else np.zeros(0, np.int64)
    sw_et = sw["et"].astype(str).to_numpy() if n_sw else np.zeros(0, dtype=object)
    sw_elem = sw["element"].to_numpy(dtype=np.int64) if n_sw else np.zeros(0, np.int64)
    sw_closed = sw["closed"].fillna(False).to_numpy(dtype=bool) if n_sw else np.zeros(0, bool)
    sw_code = SwitchType.codes(sw["type"]) if n_sw else np.zeros(0, np.int8)
    is_elem_sw = sw_et != "b"
    n_virtual = int(is_elem_sw.sum())
    virt = np.full(n_sw, NO, dtype=np.int64)
    virt[is_elem_sw] = n_bus + np.arange(n_virtual)
    sw_from = sw_bus.copy()
    sw_to = np.full(n_sw, NO, dtype=np.int64)
    endpoint = pd.DataFrame({"et": pd.Series(dtype=object), "element": pd.Series(dtype=np.int64),
                             "bus": pd.Series(dtype=np.int64), "virt": pd.Series(dtype=np.int64)})
    if n_virtual:
        esw = pd.DataFrame({"et": sw_et[is_elem_sw], "element": sw_elem[is_elem_sw],
                            "bus": sw_bus[is_elem_sw], "virt": virt[is_elem_sw],
                            "row": np.flatnonzero(is_elem_sw)})
        by_end = esw.groupby(["et", "element", "bus"], sort=False)
        rank = by_end.cumcount().to_numpy()
        prev_virt = by_end["virt"].shift(1).fillna(NO).astype(np.int64).to_numpy()
        same_prev = rank > 0
        rows = esw["row"].to_numpy()
        sw_from[rows[same_prev]] = prev_virt[same_prev]
        sw_to[rows] = esw["virt"].to_numpy()
        endpoint = by_end["virt"].last().reset_index()
    bb = ~is_elem_sw
    if bb.any():
        sw_to[bb] = pos(sw_elem[bb])
    return _SwitchChains(bus_node=sw_bus, et=sw_et, closed=sw_closed, code=sw_code, is_element_switch=is_elem_sw,
                         from_node=sw_from, to_node=sw_to, endpoint=endpoint)


def _end_nodes(chains: _SwitchChains, et: str, elements: np.ndarray, bus_nodes: np.ndarray) -> np.ndarray:
    """Node of each element end: its bus, or the last virtual node of the switch chain at that end."""
    nodes = bus_nodes.copy()
    ep = chains.endpoint[chains.endpoint["et"] == et]
    if ep.empty or not len(elements):
        return nodes
    keys = pd.DataFrame({"element": elements, "bus": nodes})
    merged = keys.merge(ep[["element", "bus", "virt"]], on=["element", "bus"], how="left")
    virt_nodes = merged["virt"].to_numpy(dtype=float)
    has = ~np.isnan(virt_nodes)
    nodes[has] = virt_nodes[has].astype(np.int64)
    return nodes


def _switch_is_supply(chains: _SwitchChains, net: Any, bus_supply: np.ndarray, line_supply: np.ndarray,
                      trafo_main: np.ndarray, t3_main: np.ndarray) -> np.ndarray:
    """A switch belongs to the supply when its bus is at supply level or it switches a supply element (the
    MV-side breaker of a main transformer is station equipment, not a feeder head)."""
    n_sw = chains.et.size
    safe_bus = np.maximum(chains.bus_node, 0)
    sw_supply = bus_supply[safe_bus] if n_sw else np.zeros(0, bool)
    if not n_sw:
        return sw_supply
    sw_elem = net.switch["element"].to_numpy(dtype=np.int64)
    for et, table, is_sup in (("l", "line", line_supply), ("t", "trafo", trafo_main), ("t3", "trafo3w", t3_main)):
        rows = np.flatnonzero(chains.et == et)
        idx = net[table].index.to_numpy(dtype=np.int64)
        if rows.size and idx.size:
            hit = pd.Series(is_sup, index=idx).reindex(sw_elem[rows]).fillna(False).to_numpy(dtype=bool)
            sw_supply[rows] |= hit
    return sw_supply


def graph_arrays(net: Any, *, radial_max_kv: float = RADIAL_MAX_KV) -> GraphArrays:
    """Step 1: nodes and edges of ``net`` with their kind, element, ends, state and supply level."""
    bus = net.bus
    n_bus = len(bus)
    bus_index = bus.index.to_numpy(dtype=np.int64)
    bus_pos = pd.Series(np.arange(n_bus, dtype=np.int64), index=bus.index)
    bus_ok = in_service(bus)
    vn = bus["vn_kv"].to_numpy(dtype=float)
    bus_supply = bus_is_supply_level(net, radial_max_kv=radial_max_kv)

    def pos(values: np.ndarray) -> np.ndarray:
        return bus_pos.reindex(values).to_numpy(dtype=np.int64, na_value=NO)

    chains = _switch_chains(net, bus_pos, n_bus)
    n_sw = chains.et.size

    line = net.line
    n_line = len(line)
    l_idx = line.index.to_numpy(dtype=np.int64)
    l_from_bus = pos(line["from_bus"].to_numpy()) if n_line else np.zeros(0, np.int64)
    l_to_bus = pos(line["to_bus"].to_numpy()) if n_line else np.zeros(0, np.int64)
    l_from = _end_nodes(chains, "l", l_idx, l_from_bus)
    l_to = _end_nodes(chains, "l", l_idx, l_to_bus)
    l_supply = bus_supply[l_from_bus] if n_line else np.zeros(0, bool)

    trafo = net.trafo
    n_tr = len(trafo)
    t_idx = trafo.index.to_numpy(dtype=np.int64)
    t_from = _end_nodes(chains, "t", t_idx, pos(trafo["hv_bus"].to_numpy()) if n_tr else np.zeros(0, np.int64))
    t_to = _end_nodes(chains, "t", t_idx, pos(trafo["lv_bus"].to_numpy()) if n_tr else np.zeros(0, np.int64))
    t_main = trafo_is_main(net, radial_max_kv=radial_max_kv).to_numpy(dtype=bool)

    t3 = net.trafo3w
    n_t3 = len(t3)
    star0 = n_bus + chains.n_virtual
    n_node = star0 + n_t3
    t3_idx = t3.index.to_numpy(dtype=np.int64)
    star = star0 + np.arange(n_t3, dtype=np.int64)
    t3_hv = pos(t3["hv_bus"].to_numpy()) if n_t3 else np.zeros(0, np.int64)
    node_bus = np.concatenate([np.arange(n_bus), chains.bus_node[chains.is_element_switch], t3_hv])
    t3_ends = [_end_nodes(chains, "t3", t3_idx, pos(t3[c].to_numpy()) if n_t3 else np.zeros(0, np.int64))
               for c in ("hv_bus", "mv_bus", "lv_bus")]
    t3_main = trafo3w_is_main(net, radial_max_kv=radial_max_kv).to_numpy(dtype=bool)

    edge_kind = np.concatenate([
        np.full(n_line, EdgeKind.LINE, np.int8), np.full(n_tr, EdgeKind.TRAFO, np.int8),
        np.full(n_sw, EdgeKind.SWITCH, np.int8), np.full(3 * n_t3, EdgeKind.TRAFO3W, np.int8)])
    edge_element = np.concatenate([l_idx, t_idx, net.switch.index.to_numpy(dtype=np.int64) if n_sw else
                                   np.zeros(0, np.int64), np.tile(t3_idx, 3)])
    edge_from = np.concatenate([l_from, t_from, chains.from_node, star, star, star])
    edge_to = np.concatenate([l_to, t_to, chains.to_node, *t3_ends])
    node_vn = vn[node_bus] if n_node else np.zeros(0)
    both_ok = (edge_from >= 0) & (edge_to >= 0)
    safe_from, safe_to = np.maximum(edge_from, 0), np.maximum(edge_to, 0)
    nodes_ok = both_ok & bus_ok[node_bus[safe_from]] & bus_ok[node_bus[safe_to]]
    edge_closed = nodes_ok & np.concatenate([in_service(line), in_service(trafo), chains.closed,
                                             np.tile(in_service(t3), 3)])
    switch_code = np.concatenate([np.full(n_line + n_tr, NO, np.int8), chains.code,
                                  np.full(3 * n_t3, NO, np.int8)])
    sw_supply = _switch_is_supply(chains, net, bus_supply, l_supply, t_main, t3_main)
    edge_supply = np.concatenate([l_supply, t_main, sw_supply, np.tile(t3_main, 3)])
    return GraphArrays(
        bus_index=bus_index, bus_pos=bus_pos, bus_ok=bus_ok, n_bus=n_bus, n_node=n_node, node_bus=node_bus,
        node_vn=node_vn, n_line=n_line, n_trafo=n_tr, n_switch=n_sw, n_trafo3w=n_t3, sw_et=chains.et,
        sw_closed=chains.closed, edge_kind=edge_kind, edge_element=edge_element, edge_from=edge_from,
        edge_to=edge_to, edge_closed=edge_closed, edge_supply=edge_supply, switch_code=switch_code,
        both_ok=both_ok, nodes_ok=nodes_ok)


@dataclass(eq=False)
class Supply:
    """Step 2 of :func:`build_topology`: the supply region and what is left to the radial search."""

    supply_node: np.ndarray
    edge_supply: np.ndarray
    closed_radial: np.ndarray


def _source_nodes(net: Any, g: GraphArrays) -> np.ndarray:
    """Nodes of the in-service external grids and slack generators at in-service buses."""
    eg = net.ext_grid
    src_bus = eg.loc[in_service(eg), "bus"].to_numpy() if len(eg) else np.zeros(0, np.int64)
    if len(net.gen) and "slack" in net.gen.columns:
        slack = net.gen[net.gen["slack"].fillna(False).astype(bool) & in_service(net.gen)]
        src_bus = np.concatenate([src_bus, slack["bus"].to_numpy()])
    src_nodes = g.pos(src_bus)
    src_nodes = src_nodes[src_nodes >= 0]
    return src_nodes[g.bus_ok[src_nodes]] if src_nodes.size else src_nodes


def _adjacency(n: int, f: np.ndarray, t: np.ndarray) -> Any:
    """Sparse n×n adjacency of the edges ``f``–``t``."""
    from scipy.sparse import coo_matrix  # deferred: scipy.sparse is slow to import

    return coo_matrix((np.ones(f.size, np.int8), (f, t)), shape=(n, n)).tocsr()


def _cb_line_heads(net: Any, g: GraphArrays) -> np.ndarray:
    """Per node: a bus with a closed ``CB`` switch heading a line out of it (a feeder breaker)."""
    out = np.zeros(g.n_node, bool)
    if not g.n_switch:
        return out
    sw = net.switch
    is_cb = (g.switch_code[g.switch_edges] == SwitchType.CB) & (g.sw_et == "l") & g.sw_closed
    nodes = g.pos(sw["bus"].to_numpy(dtype=np.int64)[is_cb])
    out[nodes[nodes >= 0]] = True
    return out


def supply_region(net: Any, g: GraphArrays) -> Supply:
    """Step 2: nodes reached from a source through closed supply-level edges, station busbar sections and
    couplers."""
    from scipy.sparse.csgraph import connected_components  # deferred: scipy.sparse is slow to import

    src_nodes = _source_nodes(net, g)
    sup_mask = g.edge_closed & g.edge_supply
    supply_node = np.zeros(g.n_node, bool)
    if src_nodes.size:
        _, cc = connected_components(_adjacency(g.n_node, g.edge_from[sup_mask], g.edge_to[sup_mask]),
                                     directed=False)
        supply_node = np.isin(cc, np.unique(cc[src_nodes]))
    closed_rad = g.edge_closed & ~g.edge_supply
    # station busbar sections: a bus joined to the supply by closed bus-bus switches along two independent
    # paths (a section between two transformer-fed sections, couplers in a ring) is station equipment, not a
    # feeder; a bus hanging from the supply by a single switch (a feeder breaker) is not absorbed
    if supply_node.any():
        supply_node = _absorb_station_sections(supply_node, closed_rad, g.edge_kind, g.edge_from, g.edge_to,
                                               g.sw_et, g.switch_start)
        supply_node = _absorb_incomer_busbars(supply_node, g, closed_rad, _cb_line_heads(net, g))
    # a closed distribution-level edge between two supply nodes is a station coupler: part of the supply
    coupler = closed_rad & supply_node[g.safe_from] & supply_node[g.safe_to]
    return Supply(supply_node=supply_node, edge_supply=g.edge_supply | coupler, closed_radial=closed_rad & ~coupler)


@dataclass(eq=False)
class RadialTree:
    """Step 3 of :func:`build_topology`: the breadth-first tree of the distribution part from the supply.

    ``pred`` is over ``n_node + 1`` entries (the last is the super-root standing for the whole supply).
    """

    order: np.ndarray
    pred: np.ndarray
    parent_node: np.ndarray
    parent_edge: np.ndarray
    loop_edges: np.ndarray
    heads: np.ndarray
    feeder_of_node: np.ndarray
    depth: np.ndarray
    energised: np.ndarray
    nearest_protective_edge: np.ndarray


def _tree_parents(g: GraphArrays, s: Supply, order: np.ndarray, pred: np.ndarray, rad_ids: np.ndarray,
                  rf: np.ndarray, rt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parent edge and node of every tree node, via sorted (min, max) end keys of the radial edges."""
    root = g.n_node
    big = np.int64(g.n_node + 1)
    keys = np.minimum(rf, rt) * big + np.maximum(rf, rt)
    sort = np.argsort(keys, kind="stable")
    skeys = keys[sort]
    parent_edge = np.full(g.n_node, NO, np.int64)
    parent_node = np.full(g.n_node, NO, np.int64)
    if order.size:
        p = pred[order]
        qk = np.minimum(order, p) * big + np.maximum(order, p)
        hit = np.searchsorted(skeys, qk)
        parent_edge[order] = rad_ids[sort[hit]]
        pe = parent_edge[order]
        # feeder roots hang from the actual supply node at the edge's supply end
        sup_end = np.where(s.supply_node[g.safe_from[pe]], g.edge_from[pe], g.edge_to[pe])
        parent_node[order] = np.where(p == root, sup_end, p)
    return parent_edge, parent_node


def _tree_depth(n_node: int, order: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Edges between each node and the supply, by pointer jumping with distance accumulation (list ranking)."""
    root = n_node
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
    return depth[:n_node]


def _nearest_protective(g: GraphArrays, order: np.ndarray, pred: np.ndarray,
                        parent_edge: np.ndarray) -> np.ndarray:
    """Per node, the closest protective switch edge on its path to the supply: jump to the closest node whose
    parent edge is protective."""
    root = g.n_node
    protective_edge = np.isin(g.switch_code, [SwitchType.CB, SwitchType.FUSE])
    up = np.arange(g.n_node + 1, dtype=np.int64)
    stop = np.zeros(g.n_node + 1, bool)
    stop[order] = protective_edge[parent_edge[order]] | (pred[order] == root)
    nonstop = order[~stop[order]]
    up[nonstop] = pred[nonstop]
    jump = _jump_to_fixed_point(up)[:g.n_node]
    nearest = np.full(g.n_node, NO, np.int64)
    cand = parent_edge[jump[order]]
    nearest[order] = np.where(protective_edge[np.maximum(cand, 0)] & (cand >= 0), cand, NO)
    return nearest


def radial_tree(g: GraphArrays, s: Supply) -> RadialTree:
    """Step 3: breadth-first search from a super-root standing for the supply over the closed radial edges."""
    from scipy.sparse.csgraph import breadth_first_order  # deferred: scipy.sparse is slow to import

    root = g.n_node
    f = np.where(s.supply_node[g.safe_from], root, g.edge_from)
    t = np.where(s.supply_node[g.safe_to], root, g.edge_to)
    rad_ids = np.flatnonzero(s.closed_radial)
    rf, rt = f[rad_ids], t[rad_ids]
    order, pred = breadth_first_order(_adjacency(g.n_node + 1, rf, rt), root, directed=False,
                                      return_predecessors=True)
    order = order[1:]  # drop the root itself
    pred = pred.astype(np.int64)
    pred[pred < 0] = NO
    parent_edge, parent_node = _tree_parents(g, s, order, pred, rad_ids, rf, rt)

    tree_edge = np.zeros(g.n_edge, bool)
    tree_edge[parent_edge[parent_edge >= 0]] = True
    reached = np.zeros(g.n_node + 1, bool)
    reached[order] = True
    reached[root] = True
    # closed edges off the tree between reached nodes close a loop (edges inside unsupplied islands do not)
    loop_edges = np.flatnonzero(s.closed_radial & ~tree_edge & reached[f] & reached[t])

    # feeders: pointer jumping to the child of the root on each path
    up = np.arange(g.n_node + 1, dtype=np.int64)
    up[order] = np.where(pred[order] == root, order, pred[order])
    head_of = _jump_to_fixed_point(up)[:g.n_node]
    in_tree = np.zeros(g.n_node, bool)
    in_tree[order] = True
    heads = order[pred[order] == root]
    feeder_id = np.full(g.n_node + 1, NO, np.int64)
    feeder_id[heads] = np.arange(heads.size)
    feeder_of_node = np.where(in_tree, feeder_id[head_of], NO)

    depth = _tree_depth(g.n_node, order, pred)
    energised = s.supply_node | in_tree
    depth[~energised] = NO
    return RadialTree(order=order, pred=pred, parent_node=parent_node, parent_edge=parent_edge,
                      loop_edges=loop_edges, heads=heads, feeder_of_node=feeder_of_node, depth=depth,
                      energised=energised,
                      nearest_protective_edge=_nearest_protective(g, order, pred, parent_edge))


def sections(g: GraphArrays) -> tuple[np.ndarray, np.ndarray]:
    """Step 4: switch-bounded section id of every node and of every non-switch edge (``NO`` for switches)."""
    from scipy.sparse.csgraph import connected_components  # deferred: scipy.sparse is slow to import

    ns = np.flatnonzero((g.edge_kind != EdgeKind.SWITCH) & g.both_ok)
    _, section_of_node = connected_components(_adjacency(g.n_node, g.edge_from[ns], g.edge_to[ns]),
                                              directed=False)
    section_of_node = section_of_node.astype(np.int64)
    section_of_edge = np.full(g.n_edge, NO, np.int64)
    section_of_edge[ns] = section_of_node[g.edge_from[ns]]
    return section_of_node, section_of_edge


def _edge_names(net: Any, g: GraphArrays) -> np.ndarray:
    """The ``name`` of the element of every line, transformer and switch edge (None elsewhere)."""
    edge_name = np.empty(g.n_edge, dtype=object)
    for element, count, start in (("line", g.n_line, 0), ("trafo", g.n_trafo, g.n_line),
                                  ("switch", g.n_switch, g.switch_start)):
        if count:
            names = net[element]["name"] if "name" in net[element] else pd.Series(None, index=net[element].index)
            edge_name[start:start + count] = names.to_numpy(dtype=object)
    return edge_name


def feeder_table(net: Any, g: GraphArrays, tree: RadialTree, edge_name: np.ndarray) -> pd.DataFrame:
    """Step 5: one row per feeder (see :class:`Topology`)."""
    heads = tree.heads
    head_edges = tree.parent_edge[heads]
    head_sup = tree.parent_node[heads]
    # head device: the protective switch on the head edge itself (-1 when the feeder head has no CB/FUSE)
    head_prot = tree.nearest_protective_edge[heads] if heads.size else np.zeros(0, np.int64)
    head_switch = np.where(head_prot >= 0, g.edge_element[np.maximum(head_prot, 0)], NO)
    # feeder name: the head switch's name, else the head edge's name, else "<station bus name>/<feeder id>"
    station_bus = g.bus_index[g.node_bus[head_sup]] if heads.size else np.zeros(0, np.int64)
    bus = net.bus
    fname = []
    for k in range(heads.size):  # one per feeder, not per element
        cands = [edge_name[head_prot[k]] if head_prot[k] >= 0 else None, edge_name[head_edges[k]]]
        name = next((str(c) for c in cands if c is not None and str(c) not in ("", "None", "nan")), None)
        fname.append(name or f"{bus.loc[station_bus[k], 'name'] if 'name' in bus else station_bus[k]}/{k}")
    fname_arr = np.asarray(fname, dtype=object)
    raw_name = fname_arr.copy()
    dup = pd.Series(fname_arr).duplicated(keep=False).to_numpy()
    if dup.any():
        fname_arr[dup] = [f"{n}#{k}" for n, k in zip(fname_arr[dup], np.flatnonzero(dup), strict=True)]
    fob = tree.feeder_of_node[:g.n_bus]
    n_bus_per = np.bincount(fob[fob >= 0], minlength=heads.size)
    load_nodes = g.pos(net.load["bus"].to_numpy()) if len(net.load) else np.zeros(0, np.int64)
    lf = tree.feeder_of_node[load_nodes[load_nodes >= 0]]
    n_load_per = np.bincount(lf[lf >= 0], minlength=heads.size)
    feeders = pd.DataFrame({
        "name": fname_arr,
        "raw_name": raw_name,
        "head_edge": head_edges,
        "head_node": heads,
        "supply_node": head_sup,
        "station_bus": station_bus,
        "head_switch": head_switch,
        "vn_kv": g.node_vn[heads] if heads.size else np.zeros(0),
        "n_bus": n_bus_per[: heads.size],
        "n_load": n_load_per[: heads.size],
    })
    feeders.index.name = "feeder"
    return feeders


def tie_table(g: GraphArrays, tree: RadialTree, edge_name: np.ndarray) -> pd.DataFrame:
    """Step 6: one row per normally-open switch whose two sides are both energised (see :class:`Topology`)."""
    sw_edges = g.switch_edges
    open_sw = sw_edges[~g.sw_closed & g.nodes_ok[sw_edges]] if g.n_switch else np.zeros(0, np.int64)
    if not open_sw.size:
        ties = pd.DataFrame({c: pd.Series(dtype="int64") for c in
                             ("switch", "bus", "feeder_a", "feeder_b", "node_a", "node_b")})
        ties.insert(1, "name", pd.Series(dtype=object))
        return ties
    ts = open_sw[tree.energised[g.edge_from[open_sw]] & tree.energised[g.edge_to[open_sw]]]
    return pd.DataFrame({
        "switch": g.edge_element[ts],
        "name": edge_name[ts],
        "bus": g.bus_index[g.node_bus[g.edge_from[ts]]],
        "feeder_a": tree.feeder_of_node[g.edge_from[ts]],
        "feeder_b": tree.feeder_of_node[g.edge_to[ts]],
        "node_a": g.edge_from[ts],
        "node_b": g.edge_to[ts],
    })


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
    g = graph_arrays(net, radial_max_kv=radial_max_kv)
    s = supply_region(net, g)
    tree = radial_tree(g, s)
    section_of_node, section_of_edge = sections(g)
    edge_name = _edge_names(net, g)
    return Topology(
        net_name=str(getattr(net, "name", "") or ""),
        radial_max_kv=float(radial_max_kv),
        bus_index=g.bus_index, n_bus=g.n_bus, n_node=g.n_node, node_bus=g.node_bus,
        edge_kind=g.edge_kind, edge_element=g.edge_element, edge_from=g.edge_from, edge_to=g.edge_to,
        edge_closed=g.edge_closed, edge_supply=s.edge_supply, switch_edge=g.switch_edges,
        switch_code=g.switch_code, supply_node=s.supply_node, energised=tree.energised,
        parent_node=tree.parent_node, parent_edge=tree.parent_edge, feeder_of_node=tree.feeder_of_node,
        depth=tree.depth, order=tree.order, nearest_protective_edge=tree.nearest_protective_edge,
        section_of_node=section_of_node, section_of_edge=section_of_edge, loop_edges=tree.loop_edges,
        feeders=feeder_table(net, g, tree, edge_name), ties=tie_table(g, tree, edge_name),
        _bus_pos=g.bus_pos, _element_edges=g.element_edges(),
    )
