"""Open capacity (可开放容量) tables at five levels: substation, main transformer, feeder, distribution
transformer and bus.

Every figure is an apparent power in MVA, derived from the peak loading of :class:`~.powerflow.PeakLoading`:

* ``rating_mva`` -- lines ``√3 · vn_kv · max_i_ka · df · parallel``; transformers ``sn_mva · df · parallel``
  (so that ``peak_mva = loading_percent / 100 · rating_mva`` is exactly pandapower's loading);
* ``limit_percent`` -- the planning limit: lines and feeders 70 %, transformers 80 % (:class:`Limits`);
* ``reserved_mva`` -- approved-but-not-connected load (已批未接, ``net["reserved_capacity"]``) at or below the
  element, ``p_mw / reserved_pf``;
* own open capacity ``max(0, rating_mva · limit_percent / 100 − peak_mva − reserved_mva)``;
* ``open_capacity_mva`` -- the own open capacity capped by the open capacity of every element upstream
  (feeder sections, distribution transformers, the feeder head, the substation); ``binding_level`` and
  ``binding_element`` name the element that sets it;
* ``n1_open_capacity_mva`` -- what can still be connected with the N-1 criterion met (rules in
  ``docs/capacity.md`` and :func:`open_capacity_tables`);
* ``grade`` -- ``green`` / ``yellow`` / ``red`` by the open capacity as a share of ``rating · limit``
  (:class:`Grades`).

Upstream capping walks the radial tree of :class:`~gridscope.grid.topology.Topology` level by level (parents
first), vectorised over all nodes of one depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..grid.facts import (
    element_label,
    element_name,
    element_names,
    ext_grid_rating_mva,
    in_service,
    line_rating_ka,
    line_rating_mva,
    trafo_is_main,
    trafo_rating_mva,
)
from ..grid.topology import EdgeKind, build_topology
from ..settings import (
    CAPACITY_LEVELS,
    LINE_HEAVY_PERCENT,
    N1_OVERLOAD_FACTOR,
    OVERLOAD_PERCENT,
    TRAFO_HEAVY_PERCENT,
    V_BAND_PU,
)

__all__ = [
    "LEVELS",
    "LEVEL_ALIASES",
    "TABLE_COLUMNS",
    "Grades",
    "Limits",
    "grade_of",
    "nodes_by_depth",
    "open_capacity_tables",
    "reserved_by_node",
    "resolve_level",
    "subtree_sums",
]

#: The five levels, top down (their one home is :data:`gridscope.settings.CAPACITY_LEVELS`).
LEVELS: tuple[str, ...] = CAPACITY_LEVELS

#: Short names accepted by :meth:`CapacityResult.table` besides the level names.
LEVEL_ALIASES: dict[str, str] = {
    "substation": "substation", "station": "substation", "sub": "substation",
    "main_transformer": "main_transformer", "main-transformer": "main_transformer", "main": "main_transformer",
    "trafo_main": "main_transformer",
    "feeder": "feeder", "line": "feeder",
    "distribution_transformer": "distribution_transformer", "distribution-transformer":
        "distribution_transformer", "dist": "distribution_transformer", "trafo": "distribution_transformer",
    "bus": "bus",
}


def resolve_level(level: str) -> str:
    """The canonical level name of ``level`` (see :data:`LEVEL_ALIASES`).

    Raises
    ------
    InputError
        Unknown level name.
    """
    key = str(level).strip().lower()
    if key not in LEVEL_ALIASES:
        raise InputError(f"unknown capacity level {level!r}; levels: {', '.join(LEVELS)}")
    return LEVEL_ALIASES[key]



_COMMON = ["id", "name", "voltage_kv", "rating_mva", "rating_a", "limit_percent", "peak_mva", "peak_time",
           "load_rate_percent", "reserved_mva", "open_capacity_mva", "n1_open_capacity_mva", "binding_level",
           "binding_element", "grade"]
#: Columns of every level's table, in order.
TABLE_COLUMNS: dict[str, list[str]] = {
    "substation": [*_COMMON[:2], "source", "n_units", "n_feeders", *_COMMON[2:], "n1_note"],
    "main_transformer": [*_COMMON[:2], "substation", *_COMMON[2:]],
    "feeder": [*_COMMON[:2], "substation", *_COMMON[2:], "ties", "transfer_mva", "n1_note"],
    "distribution_transformer": [*_COMMON[:2], "feeder", *_COMMON[2:]],
    "bus": [*_COMMON[:2], "feeder", *_COMMON[2:]],
}


@dataclass(frozen=True)
class Limits:
    """Loading limits for open capacity and connection decisions.

    Parameters
    ----------
    line_percent : float
        Planning limit of lines and feeders (heavy load 重载 starts here), percent of the thermal rating.
    trafo_percent : float
        Planning limit of distribution transformers (配变).
    main_trafo_percent : float
        Planning limit of main transformers (主变) and substations.
    physical_percent : float
        Physical (thermal) limit of every element; exceeding it is an overload (过载).
    n1_overload_factor : float
        Short-time overload factor of the remaining main transformers of a substation with its largest unit
        out (1.3: 130 % for up to 2 h, the usual Chinese planning practice).
    n1_transfer_percent : float
        Loading up to which a neighbouring feeder may take load transferred through a tie after a feeder-head
        outage (emergency limit, percent of its rating).
    v_band_pu : float
        Allowed voltage deviation from nominal (±7 %: GB/T 12325 for 20 kV and below three-phase supply).
    reserved_pf : float
        Power factor at which reserved ``p_mw`` is turned into MVA (1.0: counted as MVA).
    """

    line_percent: float = LINE_HEAVY_PERCENT
    trafo_percent: float = TRAFO_HEAVY_PERCENT
    main_trafo_percent: float = TRAFO_HEAVY_PERCENT
    physical_percent: float = OVERLOAD_PERCENT
    n1_overload_factor: float = N1_OVERLOAD_FACTOR
    n1_transfer_percent: float = 100.0
    v_band_pu: float = V_BAND_PU
    reserved_pf: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        for name in ("line_percent", "trafo_percent", "main_trafo_percent", "physical_percent",
                     "n1_transfer_percent"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and 0 < v <= 1000):
                problems.append(f"{name} must be in (0, 1000] percent, got {v!r}")
        if not (math.isfinite(self.n1_overload_factor) and 0 < self.n1_overload_factor <= 10):
            problems.append(f"n1_overload_factor must be in (0, 10], got {self.n1_overload_factor!r}")
        if not (math.isfinite(self.v_band_pu) and 0 < self.v_band_pu < 1):
            problems.append(f"v_band_pu must be in (0, 1), got {self.v_band_pu!r}")
        if not (math.isfinite(self.reserved_pf) and 0 < self.reserved_pf <= 1):
            problems.append(f"reserved_pf must be in (0, 1], got {self.reserved_pf!r}")
        if problems:
            raise InputError("invalid limits: " + "; ".join(problems))

    @classmethod
    def from_thresholds(cls, thresholds: Any, **overrides: Any) -> Limits:
        """Planning limits taken from the flag thresholds (heavy-load levels, overload level, voltage band)."""
        kw: dict[str, Any] = {}
        for src, dst in (("line_heavy", "line_percent"), ("trafo_heavy", "trafo_percent"),
                         ("trafo_heavy", "main_trafo_percent"), ("overload", "physical_percent"),
                         ("v_band_pu", "v_band_pu")):
            value = getattr(thresholds, src, None)
            if isinstance(value, int | float):
                kw[dst] = float(value)
        kw.update(overrides)
        return cls(**kw)

    def as_dict(self) -> dict[str, float]:
        """The limits as a plain dict (for provenance and the export's metadata sheet)."""
        return {k: float(getattr(self, k)) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Grades:
    """Grade thresholds on the open-capacity ratio ``open_capacity_mva / (rating_mva · limit_percent / 100)``.

    ``green`` when the ratio is at least ``green_min_ratio``, ``red`` when it is below ``red_max_ratio``
    (which includes no open capacity at all), ``yellow`` in between.
    """

    green_min_ratio: float = 0.30
    red_max_ratio: float = 0.10

    def __post_init__(self) -> None:
        if not (0 <= self.red_max_ratio <= self.green_min_ratio <= 1):
            raise InputError(f"grade thresholds need 0 <= red_max_ratio ({self.red_max_ratio}) <= "
                             f"green_min_ratio ({self.green_min_ratio}) <= 1")

    def as_dict(self) -> dict[str, float]:
        """The thresholds as a plain dict."""
        return {"green_min_ratio": float(self.green_min_ratio), "red_max_ratio": float(self.red_max_ratio)}


def grade_of(open_mva: np.ndarray, rating_mva: np.ndarray, limit_percent: np.ndarray,
             grades: Grades) -> np.ndarray:
    """Grade (``green`` / ``yellow`` / ``red``) per row; rows without a finite rating grade on open > 0."""
    open_mva = np.asarray(open_mva, dtype=float)
    base = np.asarray(rating_mva, dtype=float) * np.asarray(limit_percent, dtype=float) / 100.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(base) & (base > 0), open_mva / base, np.where(open_mva > 0, 1.0, 0.0))
    out = np.where(ratio >= grades.green_min_ratio, "green",
                   np.where(ratio < grades.red_max_ratio, "red", "yellow")).astype(object)
    out[np.isnan(open_mva)] = None
    return out


# ------------------------------------------------------------------------------------------------ reserved
_RESERVED_ELEMENTS = ("bus", "load", "sgen", "line", "trafo", "switch")


def reserved_by_node(net: Any, topo: Any, *, reserved_pf: float = 1.0) -> np.ndarray:
    """Reserved apparent power (MVA) per topology node from ``net["reserved_capacity"]``.

    Each row (``element``, ``element_index``, ``p_mw``) is placed at the element's downstream node: the bus
    of a bus, load or sgen; the feeder-side end of a line, transformer or switch.

    Raises
    ------
    InputError
        Listing every invalid row (unknown element table or index, negative or non-finite ``p_mw``).
    """
    out = np.zeros(topo.n_node, dtype=float)
    table = net["reserved_capacity"] if "reserved_capacity" in net else None
    if table is None or not isinstance(table, pd.DataFrame) or table.empty:
        return out
    missing = [c for c in ("element", "element_index", "p_mw") if c not in table.columns]
    if missing:
        raise InputError(f"net['reserved_capacity'] lacks column(s) {missing}: it needs element, "
                         "element_index, p_mw")
    problems = []
    for row_id, row in table.iterrows():
        element = str(row["element"])
        p = pd.to_numeric(row["p_mw"], errors="coerce")
        if element not in _RESERVED_ELEMENTS:
            problems.append(f"row {row_id}: element {element!r} is not one of {', '.join(_RESERVED_ELEMENTS)}")
            continue
        try:
            idx = int(row["element_index"])
        except (TypeError, ValueError):
            problems.append(f"row {row_id}: element_index {row['element_index']!r} is not an integer")
            continue
        if idx not in net[element].index:
            problems.append(f"row {row_id}: {element} {idx} does not exist")
            continue
        if not (np.isfinite(p) and p >= 0):
            problems.append(f"row {row_id}: p_mw {row['p_mw']!r} must be a finite number >= 0")
            continue
        pos = net[element].index.get_loc(idx)
        node = int(topo.element_nodes(net, element)[pos])
        if node < 0:
            problems.append(f"row {row_id}: {element} {idx} is not connected to the network")
            continue
        out[node] += float(p) / float(reserved_pf)
    if problems:
        raise InputError("net['reserved_capacity'] has invalid rows:\n  " + "\n  ".join(problems))
    return out


# ------------------------------------------------------------------------------------------------ helpers
def nodes_by_depth(topo: Any) -> list[np.ndarray]:
    """The radial nodes of a :class:`~gridscope.grid.topology.Topology` grouped by depth (1, 2, ...), each
    group in breadth-first order: walking the groups in order visits parents before children (upstream
    capping), in reverse children before parents (subtree sums)."""
    order = topo.order
    order = order[order < topo.n_node]
    if not order.size:
        return []
    d = topo.depth[order]
    sort = np.argsort(d, kind="stable")
    d_sorted = d[sort]
    cuts = np.flatnonzero(np.diff(d_sorted)) + 1
    return np.split(order[sort], cuts)


def subtree_sums(topo: Any, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over every node's radial subtree (supply nodes collect their feeders)."""
    acc = np.asarray(values, dtype=float).copy()
    for nodes in reversed(nodes_by_depth(topo)):
        parents = topo.parent_node[nodes]
        ok = parents >= 0
        np.add.at(acc, parents[ok], acc[nodes[ok]])
    return acc


def _time_col(df: pd.DataFrame | None, index: pd.Index) -> pd.Series:
    if df is None or "time" not in df.columns:
        return pd.Series(None, index=index, dtype=object)
    return df["time"].reindex(index).astype(object)


def _edge_label(net: Any, topo: Any, e: int) -> str:
    table = EdgeKind(int(topo.edge_kind[e])).table
    idx = int(topo.edge_element[e])
    return element_label(table, idx, element_name(net[table], idx))


# ------------------------------------------------------------------------------------------------ steps
@dataclass
class _Edges:
    """Per topology edge: rating (MVA, A), planning limit (%), peak (MVA) and its time; the headroom left
    after the reserved capacity below the edge; which edges cap the nodes below them."""

    rating: np.ndarray
    rating_a: np.ndarray
    limit: np.ndarray
    peak_mva: np.ndarray
    time: np.ndarray
    line_e: np.ndarray
    trafo_e: np.ndarray
    is_main_trafo: np.ndarray  # per net.trafo row
    reserved_sub: np.ndarray  # reserved MVA summed over every node's subtree
    in_tree: np.ndarray
    child: np.ndarray  # the node below each radial edge, -1 elsewhere
    reserved: np.ndarray
    own_open: np.ndarray
    capping: np.ndarray


def _edge_arrays(net: Any, topo: Any, peak: Any, limits: Limits) -> _Edges:
    """Step 1: ratings, limits and peaks of every line and transformer edge, reserved capacity, own headroom."""
    n_edge = topo.n_edge
    rating = np.full(n_edge, np.nan)
    rating_a = np.full(n_edge, np.nan)
    loading = np.full(n_edge, np.nan)
    limit = np.full(n_edge, np.nan)
    edge_time = np.full(n_edge, None, dtype=object)
    line_e = topo.element_edges("line")
    if line_e.size:
        ln = net.line
        rating_a[line_e] = line_rating_ka(net).to_numpy() * 1000.0
        rating[line_e] = line_rating_mva(net).to_numpy()
        loading[line_e] = peak.line["loading_percent"].reindex(ln.index).to_numpy(dtype=float)
        limit[line_e] = limits.line_percent
        edge_time[line_e] = _time_col(peak.line, ln.index).to_numpy()
    trafo_e = topo.element_edges("trafo")
    is_main_trafo = np.zeros(0, dtype=bool)
    if trafo_e.size:
        tr = net.trafo
        rating[trafo_e] = trafo_rating_mva(net).to_numpy()
        loading[trafo_e] = peak.trafo["loading_percent"].reindex(tr.index).to_numpy(dtype=float)
        is_main_trafo = trafo_is_main(net, radial_max_kv=topo.radial_max_kv).to_numpy(dtype=bool)
        limit[trafo_e] = np.where(is_main_trafo, limits.main_trafo_percent, limits.trafo_percent)
        edge_time[trafo_e] = _time_col(peak.trafo, tr.index).to_numpy()
    loading = np.where(np.isfinite(loading), loading, 0.0)  # out of service / unsupplied: no load
    peak_mva = loading / 100.0 * rating
    sub = subtree_sums(topo, reserved_by_node(net, topo, reserved_pf=limits.reserved_pf))
    in_tree = np.zeros(n_edge, dtype=bool)
    pe = topo.parent_edge[topo.order]
    in_tree[pe[pe >= 0]] = True
    child = np.full(n_edge, -1, dtype=np.int64)
    child[topo.parent_edge[topo.order]] = topo.order
    reserved_edge = np.where(child >= 0, sub[np.maximum(child, 0)], 0.0)
    own_open = np.maximum(0.0, rating * limit / 100.0 - peak_mva - reserved_edge)
    capping = in_tree & np.isin(topo.edge_kind, [EdgeKind.LINE, EdgeKind.TRAFO]) & np.isfinite(own_open)
    return _Edges(rating=rating, rating_a=rating_a, limit=limit, peak_mva=peak_mva, time=edge_time, line_e=line_e,
                  trafo_e=trafo_e, is_main_trafo=is_main_trafo, reserved_sub=sub, in_tree=in_tree, child=child,
                  reserved=reserved_edge, own_open=own_open, capping=capping)


@dataclass
class _Stations:
    """The substations: medium-voltage station busbar groups and the main transformers feeding them."""

    of_node: np.ndarray  # station per topology node, -1 outside
    n: int
    main_rows: list[tuple[int, int, int]]  # (edge, trafo index, station)
    busbars: list[tuple[int, ...]]  # busbar bus ids of the stations of build_stations (the rest: none)


def _station_groups(net: Any, topo: Any, edges: _Edges, stations: Any) -> _Stations:
    """Step 2: the stations of :func:`gridscope.grid.stations.build_stations` (the one home of what a station is:
    main-transformer busbars joined by bus couplers, open or closed) on the topology's MV supply nodes; MV supply
    busbars without a main transformer (an external grid straight at MV) form further stations, grouped by closed
    couplers."""
    from scipy.sparse import coo_matrix  # deferred: scipy is heavy at start-up
    from scipy.sparse.csgraph import connected_components

    n_node, kind = topo.n_node, topo.edge_kind
    node_vn = net.bus["vn_kv"].to_numpy(dtype=float)[topo.node_bus]
    mv_supply = topo.supply_node & (node_vn <= topo.radial_max_kv)
    node_station = stations.of_bus.reindex(topo.bus_index[topo.node_bus]).fillna(-1).to_numpy(dtype=np.int64)
    of_node = np.full(n_node, -1, dtype=np.int64)
    known = mv_supply & (node_station >= 0)
    of_node[known] = node_station[known]
    n_st = len(stations.table)
    rest = mv_supply & ~known
    if rest.any():
        ef, et = topo.edge_from, topo.edge_to
        sf, st = np.maximum(ef, 0), np.maximum(et, 0)
        join = (topo.edge_closed & (ef >= 0) & (et >= 0) & rest[sf] & rest[st] & (kind != EdgeKind.TRAFO))
        g = coo_matrix((np.ones(int(join.sum())), (ef[join], et[join])), shape=(n_node, n_node))
        _, comp = connected_components(g, directed=False)
        extra, inv = np.unique(comp[rest], return_inverse=True)
        of_node[rest] = n_st + inv
        n_st += int(extra.size)
    trafo_edges = topo.element_edges("trafo")
    trafo_pos = pd.Series(np.arange(len(net.trafo)), index=net.trafo.index)
    units = stations.unit_table
    main_rows = [(int(trafo_edges[trafo_pos.at[int(t)]]), int(t), int(k))
                 for t, k in zip(units["trafo"], units["station"], strict=True)]
    busbars = [tuple(int(b) for b in bars) for bars in stations.table["busbars"]]
    return _Stations(of_node=of_node, n=n_st, main_rows=main_rows, busbars=busbars)


@dataclass
class _FeederHeads:
    """Per feeder: the head edges (line/transformer edges at the smallest depth) and their figures."""

    station: np.ndarray
    rating: np.ndarray
    rating_a: np.ndarray
    peak: np.ndarray
    time: np.ndarray
    label: np.ndarray
    reserved: np.ndarray
    own_open: np.ndarray


def _feeder_heads(net: Any, topo: Any, edges: _Edges, stations: _Stations, limits: Limits) -> _FeederHeads:
    """Step 3: rating, peak and own headroom of every feeder's head."""
    feeders = topo.feeders
    nf = len(feeders)
    f_station = stations.of_node[feeders["supply_node"].to_numpy(dtype=np.int64)] if nf else np.zeros(0, np.int64)
    f_rating = np.full(nf, np.nan)
    f_rating_a = np.full(nf, np.nan)
    f_peak = np.zeros(nf)
    f_time = np.full(nf, None, dtype=object)
    f_label = np.full(nf, "", dtype=object)
    if nf:
        nodes = topo.order
        pe = topo.parent_edge[nodes]
        ok = np.isin(topo.edge_kind[pe], [EdgeKind.LINE, EdgeKind.TRAFO]) & (topo.feeder_of_node[nodes] >= 0)
        df = pd.DataFrame({"feeder": topo.feeder_of_node[nodes[ok]], "depth": topo.depth[nodes[ok]],
                           "edge": pe[ok]})
        if len(df):
            mind = df.groupby("feeder")["depth"].transform("min")
            heads = df[df["depth"] == mind]
            for f, grp in heads.groupby("feeder"):
                es = grp["edge"].to_numpy(dtype=np.int64)
                f_rating[int(f)] = np.nansum(edges.rating[es])
                f_rating_a[int(f)] = np.nansum(edges.rating_a[es]) if np.isfinite(edges.rating_a[es]).any() \
                    else np.nan
                f_peak[int(f)] = edges.peak_mva[es].sum()
                f_time[int(f)] = edges.time[es[np.argmax(edges.peak_mva[es])]]
                f_label[int(f)] = ", ".join(_edge_label(net, topo, e) for e in es)
    f_head_node = feeders["head_node"].to_numpy(dtype=np.int64) if nf else np.zeros(0, np.int64)
    f_reserved = edges.reserved_sub[f_head_node] if nf else np.zeros(0)
    f_own_open = np.maximum(0.0, f_rating * limits.line_percent / 100.0 - f_peak - f_reserved)
    return _FeederHeads(station=f_station, rating=f_rating, rating_a=f_rating_a, peak=f_peak, time=f_time,
                        label=f_label, reserved=f_reserved, own_open=f_own_open)


def _ext_grid_rating(net: Any, index: pd.Index) -> float | None:
    """Rating (MVA) of the external grids ``index`` (:func:`~gridscope.grid.facts.ext_grid_rating_mva`); None
    when one of them has none."""
    v = ext_grid_rating_mva(net).reindex(index).to_numpy(dtype=float)
    return float(v.sum()) if np.isfinite(v).all() else None


def _station_row(net: Any, topo: Any, s: int, edges: _Edges, stations: _Stations, heads: _FeederHeads,
                 peak: Any, limits: Limits, nodes_s: np.ndarray, units: list[tuple[int, int, int]],
                 n1_pf: Any) -> dict[str, Any]:
    """Step 4: one substation's rating, peak, own and N-1 open capacity and what binds it (``nodes_s``: its
    nodes, ``units``: its main-transformer rows, ``n1_pf``: its row of
    :func:`~gridscope.capacity.n1.main_transformer_n1` or None for the arithmetic rule)."""
    feeders_s = np.flatnonzero(heads.station == s)
    reserved_s = float(edges.reserved_sub[nodes_s].sum())
    bus_nodes = nodes_s[nodes_s < topo.n_bus]
    if bus_nodes.size:
        bus_ids = topo.bus_index[bus_nodes]
    elif nodes_s.size:
        bus_ids = topo.bus_index[topo.node_bus[nodes_s]]
    else:  # a station whose lower side is above the radial MV range (220/110 kV): no MV supply node, no feeder
        bus_ids = np.asarray(stations.busbars[s], dtype=np.int64)
    bus_id = int(np.min(bus_ids))
    eg = net.ext_grid
    eg_here = eg[eg["bus"].isin(bus_ids) & in_service(eg)] if len(eg) else eg
    row: dict[str, Any] = {"bus": bus_id, "reserved_mva": reserved_s, "n_feeders": int(feeders_s.size),
                           "voltage_kv": float(net.bus.at[bus_id, "vn_kv"])}
    if units:
        es = np.array([u[0] for u in units])
        r_t, p_t = edges.rating[es], edges.peak_mva[es]
        total = float(r_t.sum())
        share = r_t / total
        headroom = (r_t * limits.main_trafo_percent / 100.0 - p_t) / share - reserved_s
        k = int(np.argmin(headroom))
        open_s = max(0.0, float(headroom[k]))
        if len(units) >= 2 and n1_pf is not None:
            n1 = float(n1_pf["n1_mva"])
            n1_note = (f"power flow: {n1_pf['note']}; binding {n1_pf['binding']} {n1_pf['binding_element']} "
                       f"(with nothing added {n1_pf['n1_base_loading_percent']:.1f} %)")
        elif len(units) >= 2:
            n1 = limits.n1_overload_factor * (total - float(r_t.max())) - float(p_t.sum()) - reserved_s
            n1_note = (f"largest unit ({_edge_label(net, topo, int(es[np.argmax(r_t)]))}) out, others at "
                       f"{limits.n1_overload_factor:g} x rating")
        else:
            n1 = 0.0
            n1_note = "single unit: no N-1 reserve inside the substation"
        names = [element_name(net.trafo, u[1]) for u in units]
        row.update(source="main_transformer", n_units=len(units),
                   units=", ".join(_edge_label(net, topo, int(e)) for e in es), rating_mva=total,
                   peak_mva=float(p_t.sum()), time=edges.time[es[np.argmax(p_t)]],
                   open=open_s, n1=max(0.0, min(open_s, n1)), n1_note=n1_note,
                   binding=("main_transformer", _edge_label(net, topo, int(es[k]))),
                   name=element_name(net.bus, bus_id) or " + ".join(n for n in names if n) or f"station {s}")
        return row
    if len(eg_here):
        ei = eg_here.index
        sn = _ext_grid_rating(net, ei)
        if sn is None:
            sn = float(np.nansum(heads.rating[feeders_s])) if feeders_s.size else np.nan
            src = "ext_grid (rating: sum of feeder heads)"
        else:
            src = "ext_grid"
        pq = peak.ext_grid.reindex(ei) if peak.ext_grid is not None else None
        p_s = float(np.hypot(pq["p_mw"].astype(float), pq["q_mvar"].astype(float)).sum()) \
            if pq is not None else 0.0
        t_s = pq["time"].iloc[0] if pq is not None and "time" in pq.columns else None
        label = element_label("ext_grid", ei[0], element_name(eg, ei[0]))
        nm = element_name(eg, ei[0]) or element_name(net.bus, bus_id)
    else:
        # a station busbar fed from elsewhere (e.g. a supply coupler): rate it by its feeders
        sn = float(np.nansum(heads.rating[feeders_s])) if feeders_s.size else np.nan
        p_s = float(heads.peak[feeders_s].sum())
        t_s = None
        src = "feeders"
        label = element_label("bus", bus_id, element_name(net.bus, bus_id))
        nm = element_name(net.bus, bus_id)
    open_s = max(0.0, sn * limits.main_trafo_percent / 100.0 - p_s - reserved_s) if np.isfinite(sn) else np.inf
    row.update(source=src, n_units=0, units="", rating_mva=sn, peak_mva=p_s, time=t_s, open=open_s,
               n1=np.nan, n1_note="no main transformer: N-1 not assessed at this level",
               binding=("substation", label), name=nm or f"station {s}")
    return row


@dataclass
class _Caps:
    """Per topology node: the open capacity after capping by everything upstream and what binds it, as the
    binding edge (``edge >= 0``) or the binding substation (``station >= 0``), -1 for the other."""

    cap: np.ndarray
    edge: np.ndarray
    station: np.ndarray


def _node_caps(topo: Any, edges: _Edges, stations: _Stations, st_open: np.ndarray) -> _Caps:
    """Step 5: walk the radial tree parents first; each node takes the smaller of its parent's cap and its
    own edge's headroom."""
    n_node = topo.n_node
    cap = np.full(n_node, np.inf)
    b_edge = np.full(n_node, -1, dtype=np.int64)
    b_station = np.full(n_node, -1, dtype=np.int64)
    st_nodes = np.flatnonzero(stations.of_node >= 0)
    cap[st_nodes] = st_open[stations.of_node[st_nodes]]
    b_station[st_nodes] = stations.of_node[st_nodes]
    edge_cap = np.where(edges.capping, edges.own_open, np.inf)
    for nodes in nodes_by_depth(topo):
        parents = topo.parent_node[nodes]
        pedge = topo.parent_edge[nodes]
        has_parent = parents >= 0
        up = np.maximum(parents, 0)
        up_cap = np.where(has_parent, cap[up], np.inf)
        own = edge_cap[pedge]
        take_own = own <= up_cap
        cap[nodes] = np.where(take_own, own, up_cap)
        own_binds = take_own & np.isfinite(own)
        b_edge[nodes] = np.where(own_binds, pedge, np.where(has_parent, b_edge[up], -1))
        b_station[nodes] = np.where(own_binds, -1, np.where(has_parent, b_station[up], -1))
    return _Caps(cap=cap, edge=b_edge, station=b_station)


@dataclass
class _Context:
    """What the table builders share."""

    net: Any
    topo: Any
    edges: _Edges
    stations: _Stations
    heads: _FeederHeads
    st_tab: pd.DataFrame
    caps: _Caps
    f_n1: np.ndarray
    limits: Limits
    bus_n1: pd.DataFrame | None = None

    def binding_text(self, b_edge: int, b_station: int) -> tuple[str, str]:
        """(level, element label) of a binding edge or substation."""
        if b_edge >= 0:
            if self.topo.edge_kind[b_edge] == EdgeKind.TRAFO:
                pos = self.net.trafo.index.get_loc(int(self.topo.edge_element[b_edge]))
                lvl = "main_transformer" if self.edges.is_main_trafo[pos] else "distribution_transformer"
            else:
                lvl = "line"
            return lvl, _edge_label(self.net, self.topo, int(b_edge))
        if b_station >= 0:
            return "substation", f"substation {b_station} ({self.st_tab['name'].iat[b_station]})"
        return "", ""

    def binding_texts(self, b_edge: np.ndarray, b_station: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`binding_text` of many rows: (levels, labels), each distinct edge or station labelled once."""
        n = b_edge.size
        lvl = np.full(n, "", dtype=object)
        lab = np.full(n, "", dtype=object)
        for sel, ids, as_edge in ((b_edge >= 0, b_edge, True), ((b_edge < 0) & (b_station >= 0), b_station, False)):
            if not sel.any():
                continue
            uniq, inv = np.unique(ids[sel], return_inverse=True)
            texts = [self.binding_text(int(u), -1) if as_edge else self.binding_text(-1, int(u)) for u in uniq]
            lvl[sel] = np.array([t[0] for t in texts], dtype=object)[inv]
            lab[sel] = np.array([t[1] for t in texts], dtype=object)[inv]
        return lvl, lab

    def binding_base(self, b_edge: np.ndarray, b_station: np.ndarray) -> np.ndarray:
        """``rating · limit`` (MVA) of the binding element of each row, NaN where none binds."""
        out = np.full(b_edge.size, np.nan)
        e = b_edge >= 0
        out[e] = (self.edges.rating * self.edges.limit / 100.0)[b_edge[e]]
        s = b_station >= 0
        out[s] = self.st_tab["rating_mva"].to_numpy(dtype=float)[b_station[s]] * self.limits.main_trafo_percent \
            / 100.0
        return out

    def feeder_name(self, node_ids: np.ndarray) -> np.ndarray:
        names = self.topo.feeders["name"].to_numpy(dtype=object) if len(self.topo.feeders) else None
        fo = self.topo.feeder_of_node[node_ids]
        return np.where(fo >= 0, names[np.maximum(fo, 0)] if names is not None else None, None)

    def feeder_n1(self, node_ids: np.ndarray) -> np.ndarray:
        fo = self.topo.feeder_of_node[node_ids]
        return np.where(fo >= 0, self.f_n1[np.maximum(fo, 0)] if self.f_n1.size else np.nan, np.nan)


def _substation_table(st_rows: list[dict[str, Any]], limits: Limits, grades: Grades) -> pd.DataFrame:
    return _finish(pd.DataFrame({
        "id": np.arange(len(st_rows)),
        "name": [r["name"] for r in st_rows],
        "source": [r["source"] for r in st_rows],
        "n_units": [r["n_units"] for r in st_rows],
        "n_feeders": [r["n_feeders"] for r in st_rows],
        "voltage_kv": [r["voltage_kv"] for r in st_rows],
        "rating_mva": [r["rating_mva"] for r in st_rows],
        "rating_a": np.nan,
        "limit_percent": limits.main_trafo_percent,
        "peak_mva": [r["peak_mva"] for r in st_rows],
        "peak_time": [r["time"] for r in st_rows],
        "reserved_mva": [r["reserved_mva"] for r in st_rows],
        "open_capacity_mva": [r["open"] for r in st_rows],
        "n1_open_capacity_mva": [r["n1"] for r in st_rows],
        "binding_level": [r["binding"][0] for r in st_rows],
        "binding_element": [r["binding"][1] for r in st_rows],
        "n1_note": [f"units: {r['units']}; {r['n1_note']}" if r["units"] else r["n1_note"] for r in st_rows],
    }), "substation", grades)


def _main_transformer_table(ctx: _Context, grades: Grades) -> pd.DataFrame:
    net, edges, stations = ctx.net, ctx.edges, ctx.stations
    st_name = ctx.st_tab["name"].to_numpy(dtype=object)
    st_n1 = ctx.st_tab["n1_open_capacity_mva"].to_numpy(dtype=float)
    rating, limit, peak_mva = edges.rating, edges.limit, edges.peak_mva
    rows = []
    ok = stations.of_node >= 0
    res_st = np.bincount(stations.of_node[ok], weights=edges.reserved_sub[ok], minlength=stations.n)
    rating_st = np.zeros(stations.n)
    for e, _ti, s in stations.main_rows:
        if s >= 0:
            rating_st[s] += rating[e]
    for e, ti, s in stations.main_rows:
        res = res_st[s] if s >= 0 else 0.0
        share = rating[e] / rating_st[s] if s >= 0 else 1.0
        res_t = float(res * share)
        own = max(0.0, rating[e] * limit[e] / 100.0 - peak_mva[e] - res_t)
        rows.append({"id": ti, "name": element_name(net.trafo, ti), "substation": st_name[s] if s >= 0 else None,
                     "voltage_kv": float(net.trafo.at[ti, "vn_hv_kv"]), "rating_mva": rating[e],
                     "rating_a": np.nan, "limit_percent": limit[e], "peak_mva": peak_mva[e],
                     "peak_time": edges.time[e], "reserved_mva": res_t, "open_capacity_mva": own,
                     "n1_open_capacity_mva": min(own, st_n1[s]) if s >= 0 and np.isfinite(st_n1[s]) else np.nan,
                     "binding_level": "main_transformer", "binding_element": _edge_label(net, ctx.topo, e)})
    columns = [c for c in TABLE_COLUMNS["main_transformer"] if c not in ("load_rate_percent", "grade")]
    return _finish(pd.DataFrame(rows, columns=columns), "main_transformer", grades)


def _feeder_caps(heads: _FeederHeads, st_tab: pd.DataFrame, st_open: np.ndarray,
                 limits: Limits) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per feeder: open capacity (own head headroom or its substation's, the smaller), binding level and
    element, and the grading base."""
    nf = heads.rating.size
    st_name = st_tab["name"].to_numpy(dtype=object)
    st_base = st_tab["rating_mva"].to_numpy(dtype=float) * limits.main_trafo_percent / 100.0
    f_cap = np.full(nf, np.nan)
    f_bind = np.full(nf, "", dtype=object)
    f_bind_lvl = np.full(nf, "", dtype=object)
    f_base = np.full(nf, np.nan)
    for f in range(nf):
        s = int(heads.station[f])
        up = st_open[s] if s >= 0 else np.inf
        own = heads.own_open[f]
        if not np.isfinite(own) or up < own:
            f_cap[f] = up
            f_bind_lvl[f], f_bind[f] = ("substation", f"substation {s} ({st_name[s]})") if s >= 0 else ("", "")
            f_base[f] = st_base[s] if s >= 0 else np.nan
        else:
            f_cap[f] = own
            f_bind_lvl[f], f_bind[f] = "feeder", heads.label[f]
            f_base[f] = heads.rating[f] * limits.line_percent / 100.0
    return f_cap, f_bind_lvl, f_bind, f_base


def _tie_transfer(topo: Any, heads: _FeederHeads, limits: Limits,
                  st_open: np.ndarray) -> tuple[np.ndarray, list[list[str]]]:
    """Per feeder: MVA its tie neighbours can take at ``n1_transfer_percent`` and the names of its ties.

    A neighbour's spare is capped by its station's open capacity: load moved through a tie still has to pass
    the receiving main transformer (issue 11: transfers into a full station were counted as room).
    """
    nf = heads.rating.size
    neighbours: list[set[int]] = [set() for _ in range(nf)]
    tie_names: list[list[str]] = [[] for _ in range(nf)]
    for _, t in topo.ties.iterrows():
        a, b = int(t["feeder_a"]), int(t["feeder_b"])
        if a < 0 or b < 0 or a == b:
            continue
        nm = str(t["name"]) if t["name"] is not None and str(t["name"]) not in ("", "None", "nan") \
            else f"switch {int(t['switch'])}"
        neighbours[a].add(b)
        neighbours[b].add(a)
        tie_names[a].append(nm)
        tie_names[b].append(nm)
    spare = np.maximum(0.0, heads.rating * limits.n1_transfer_percent / 100.0 - heads.peak - heads.reserved)
    spare = np.where(np.isfinite(spare), spare, 0.0)
    st_room = np.array([st_open[s] if s >= 0 else np.inf for s in heads.station], dtype=float)
    spare = np.minimum(spare, np.maximum(0.0, np.where(np.isnan(st_room), np.inf, st_room)))
    transfer = np.array([float(sum(spare[g] for g in neighbours[f])) for f in range(nf)])
    return transfer, tie_names


def _feeder_table(topo: Any, heads: _FeederHeads, st_tab: pd.DataFrame, st_open: np.ndarray, limits: Limits,
                  grades: Grades, n1_pf: pd.DataFrame | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The feeder table and every feeder's N-1 open capacity (``n1_pf``: :func:`~gridscope.capacity.n1.feeder_n1`,
    or None for the arithmetic rule)."""
    feeders = topo.feeders
    nf = len(feeders)
    st_name = st_tab["name"].to_numpy(dtype=object)
    f_cap, f_bind_lvl, f_bind, f_base = _feeder_caps(heads, st_tab, st_open, limits)
    transfer, tie_names = _tie_transfer(topo, heads, limits, st_open)
    if n1_pf is not None:
        f_n1 = np.maximum(0.0, np.minimum(f_cap, n1_pf["n1_mva"].to_numpy(dtype=float)))
        n1_note = [(f"power flow: head lost, tie switch {t} closed, load at bus {b}; binding {k}: {e}"
                    if t >= 0 else f"power flow: {k}") for t, b, k, e in
                   zip(n1_pf["tie_switch"], n1_pf["worst_bus"], n1_pf["binding"], n1_pf["binding_element"],
                       strict=True)]
    else:
        f_n1 = np.maximum(0.0, np.minimum(f_cap, transfer - heads.peak - heads.reserved))
        n1_note = ["arithmetic: neighbour head spare through the ties"] * nf
    table = _finish(pd.DataFrame({
        "id": np.arange(nf),
        "name": feeders["name"].to_numpy(dtype=object) if nf else [],
        "substation": [st_name[s] if s >= 0 else None for s in heads.station],
        "voltage_kv": feeders["vn_kv"].to_numpy(dtype=float) if nf else [],
        "rating_mva": heads.rating, "rating_a": heads.rating_a, "limit_percent": limits.line_percent,
        "peak_mva": heads.peak, "peak_time": heads.time, "reserved_mva": heads.reserved,
        "open_capacity_mva": f_cap, "n1_open_capacity_mva": f_n1,
        "binding_level": f_bind_lvl, "binding_element": f_bind,
        "ties": [", ".join(sorted(set(n))) for n in tie_names], "transfer_mva": transfer, "_base": f_base,
        "n1_note": n1_note,
    }), "feeder", grades)
    return table, f_n1


def _distribution_transformer_table(ctx: _Context, grades: Grades) -> pd.DataFrame:
    net, topo, edges, caps = ctx.net, ctx.topo, ctx.edges, ctx.caps
    columns = [c for c in TABLE_COLUMNS["distribution_transformer"] if c not in ("load_rate_percent", "grade")]
    if not edges.trafo_e.size:
        return _finish(pd.DataFrame(columns=columns), "distribution_transformer", grades)
    sel = np.flatnonzero(~edges.is_main_trafo & edges.in_tree[edges.trafo_e])
    es = edges.trafo_e[sel]
    ch = edges.child[es]
    b_edge, b_station = caps.edge[ch], caps.station[ch]
    b_lvl, b_lab = ctx.binding_texts(b_edge, b_station)
    opened = caps.cap[ch]
    elem = topo.edge_element[es]
    rows = pd.DataFrame({
        "id": elem, "name": element_names(net.trafo).reindex(elem).to_numpy(dtype=object),
        "feeder": ctx.feeder_name(ch),
        "voltage_kv": net.trafo["vn_hv_kv"].to_numpy(dtype=float)[sel], "rating_mva": edges.rating[es],
        "rating_a": np.nan, "limit_percent": edges.limit[es], "peak_mva": edges.peak_mva[es],
        "peak_time": edges.time[es], "reserved_mva": edges.reserved[es], "open_capacity_mva": opened,
        "n1_open_capacity_mva": np.minimum(opened, ctx.feeder_n1(ch)),
        "binding_level": b_lvl, "binding_element": b_lab,
        "_base": ctx.binding_base(b_edge, b_station),
    })
    return _finish(rows if len(rows) else pd.DataFrame(columns=columns), "distribution_transformer", grades)


def _bus_table(ctx: _Context, grades: Grades) -> pd.DataFrame:
    """Radial buses and station busbars; their own figures are those of the binding element."""
    net, topo, edges, caps, limits = ctx.net, ctx.topo, ctx.edges, ctx.caps, ctx.limits
    of_station = ctx.stations.of_node
    st_tab = ctx.st_tab
    bus_nodes = np.arange(topo.n_bus)
    keep = np.isfinite(caps.cap[bus_nodes]) & ((topo.feeder_of_node[bus_nodes] >= 0) | (of_station[bus_nodes] >= 0))
    bn = bus_nodes[keep]
    b_edge, b_station = caps.edge[bn], caps.station[bn]
    b_rating = np.full(bn.size, np.nan)
    b_rating_a = np.full(bn.size, np.nan)
    b_limit = np.full(bn.size, np.nan)
    b_peak = np.full(bn.size, np.nan)
    b_time = np.full(bn.size, None, dtype=object)
    b_res = np.full(bn.size, np.nan)
    is_edge = b_edge >= 0
    ce = b_edge[is_edge]
    b_rating[is_edge], b_rating_a[is_edge] = edges.rating[ce], edges.rating_a[ce]
    b_limit[is_edge], b_peak[is_edge] = edges.limit[ce], edges.peak_mva[ce]
    b_time[is_edge], b_res[is_edge] = edges.time[ce], edges.reserved[ce]
    is_st = b_station >= 0
    if is_st.any():
        si = b_station[is_st]
        b_rating[is_st] = st_tab["rating_mva"].to_numpy(dtype=float)[si]
        b_limit[is_st] = limits.main_trafo_percent
        b_peak[is_st] = st_tab["peak_mva"].to_numpy(dtype=float)[si]
        b_time[is_st] = st_tab["peak_time"].to_numpy(dtype=object)[si]
        b_res[is_st] = st_tab["reserved_mva"].to_numpy(dtype=float)[si]
    b_lvl, b_lab = ctx.binding_texts(b_edge, b_station)
    b_idx = topo.bus_index[bn]
    st_n1 = st_tab["n1_open_capacity_mva"].to_numpy(dtype=float)
    st_n1_node = np.where(of_station[bn] >= 0, st_n1[np.maximum(of_station[bn], 0)] if ctx.stations.n else np.nan,
                          np.nan)
    n1_bus = np.where(topo.feeder_of_node[bn] >= 0, ctx.feeder_n1(bn), st_n1_node)
    if ctx.bus_n1 is not None and len(ctx.bus_n1):  # power flow: the best tie for this very bus
        own_n1 = ctx.bus_n1["n1_mva"].reindex(b_idx).to_numpy(dtype=float)
        n1_bus = np.where(np.isfinite(own_n1), own_n1, n1_bus)
    return _finish(pd.DataFrame({
        "id": b_idx, "name": element_names(net.bus).reindex(b_idx).to_numpy(dtype=object),
        "feeder": ctx.feeder_name(bn),
        "voltage_kv": net.bus["vn_kv"].to_numpy(dtype=float)[bn], "rating_mva": b_rating, "rating_a": b_rating_a,
        "limit_percent": b_limit, "peak_mva": b_peak, "peak_time": b_time, "reserved_mva": b_res,
        "open_capacity_mva": caps.cap[bn], "n1_open_capacity_mva": np.minimum(caps.cap[bn], n1_bus),
        "binding_level": b_lvl, "binding_element": b_lab,
        "_base": ctx.binding_base(b_edge, b_station),
    }), "bus", grades)


# ------------------------------------------------------------------------------------------------ main
def open_capacity_tables(net: Any, peak: Any, *, topology: Any = None, limits: Limits | None = None,
                         grades: Grades | None = None, n1: Any = None,
                         stations: Any = None) -> dict[str, pd.DataFrame]:
    """The five open-capacity tables.

    Parameters
    ----------
    net : pandapowerNet
        The network (not modified).
    peak : PeakLoading
        Peak loading from :func:`~gridscope.capacity.powerflow.planning_loading` (snapshot or time series).
    topology : Topology or None
        Prebuilt :func:`~gridscope.grid.topology.build_topology` result.
    limits : Limits or None
        Planning limits, N-1 factors (default :class:`Limits`).
    grades : Grades or None
        Grade thresholds (default :class:`Grades`).
    n1 : N1Tables or None
        N-1 values by AC power flow from :func:`gridscope.capacity.n1.n1_tables` (what
        :func:`gridscope.assess_capacity` passes; it decides power flow or arithmetic by network size); None:
        the headroom arithmetic below.
    stations : Stations or None
        Prebuilt :func:`gridscope.grid.stations.build_stations` of ``net``.

    Returns
    -------
    dict of str to pandas.DataFrame
        One table per level in :data:`LEVELS`, columns :data:`TABLE_COLUMNS`.

    Notes
    -----
    *Substation.* The medium-voltage station busbars joined by closed couplers form one substation, fed by the
    main transformers (by role, :func:`gridscope.grid.facts.trafo_is_main`) whose LV side is on them. Its own
    open capacity is the smallest, over its units, of ``(rating_t · limit − peak_t) / share_t − reserved``
    with ``share_t = rating_t / Σ rating`` (added load divides between parallel units in proportion to their
    ratings; for one unit this is ``rating · limit − peak − reserved``). A substation without main
    transformers (an external grid directly at a medium-voltage busbar) takes its rating from the external
    grid's ``sn_mva`` column, else from ``max_p_mw`` (counted as MVA), else the sum of its feeders' head
    ratings; its peak is the external grid's apparent power.

    *N-1 by power flow* (``n1`` given): the substation's value is
    ``min(open, main_transformer_n1)`` and a feeder's ``min(open, feeder_n1)`` (largest unit out with the bus
    couplers closed; feeder head lost, best tie closed, load at the worst bus: see
    :mod:`gridscope.capacity.n1`); the ``n1_note`` column says which tie, bus and limit (substations: which
    units, which unit out, which limit). A bus of a feeder gets its own power-flow value (the best tie for a
    load at that bus, ``N1Tables.buses``), capped by its open capacity; distribution transformers carry their
    feeder's value.
    The rules below are the arithmetic (``n1=None``).

    *N-1, main transformers.* With the largest unit of the substation out the others may carry
    ``n1_overload_factor`` times their rating: ``N-1 = min(open, k · (Σ rating − max rating) − Σ peak −
    reserved)``, 0 for a single-unit substation. Each main transformer row carries its substation's value.

    *N-1, feeders.* After the loss of the head section, the feeder's whole load must be transferred through
    its ties: every neighbouring feeder ``g`` reached by a normally-open tie offers
    ``max(0, rating_g · n1_transfer_percent / 100 − peak_g − reserved_g)``, capped by the open capacity of
    ``g``'s substation; ``transfer_mva`` is the sum over
    distinct neighbours and ``N-1 = min(open, transfer − peak − reserved)`` (0 without ties). Distribution
    transformers and buses carry the N-1 value of their feeder, capped by their own open capacity.

    The steps, each a function passing a small record: edge arrays (:class:`_Edges`) → station groups
    (:class:`_Stations`) → feeder heads (:class:`_FeederHeads`) → substation rows → node caps walking the
    radial tree (:class:`_Caps`) → one table per level.
    """
    from ..grid.stations import build_stations  # deferred: networkx

    limits = limits or Limits()
    grades = grades or Grades()
    if n1 is not None and not all(hasattr(n1, a) for a in ("stations", "feeders", "note")):
        raise InputError("n1 must be None or the result of gridscope.capacity.n1.n1_tables")
    topo = topology if topology is not None else build_topology(net)
    st_built = stations if stations is not None else build_stations(net, topo)
    edges = _edge_arrays(net, topo, peak, limits)
    stations = _station_groups(net, topo, edges, st_built)
    heads = _feeder_heads(net, topo, edges, stations, limits)
    st_n1 = getattr(n1, "stations", None)
    fd_n1 = getattr(n1, "feeders", None)
    n1_fallback = str(getattr(n1, "note", "") or "")
    ok = stations.of_node >= 0
    by_station = np.argsort(stations.of_node[ok], kind="stable")
    node_ids = np.flatnonzero(ok)[by_station]
    cuts = np.searchsorted(stations.of_node[ok][by_station], np.arange(stations.n + 1))
    units_of: list[list[tuple[int, int, int]]] = [[] for _ in range(stations.n)]
    for r in stations.main_rows:
        if r[2] >= 0:
            units_of[r[2]].append(r)
    st_rows = [_station_row(net, topo, s, edges, stations, heads, peak, limits, node_ids[cuts[s]:cuts[s + 1]],
                            units_of[s], st_n1.iloc[s] if st_n1 is not None and s < len(st_n1) else None)
               for s in range(stations.n)]
    st_open = np.array([r["open"] for r in st_rows], dtype=float) if st_rows else np.zeros(0)
    caps = _node_caps(topo, edges, stations, st_open)
    tables: dict[str, pd.DataFrame] = {"substation": _substation_table(st_rows, limits, grades)}
    st_tab = tables["substation"]
    tables["feeder"], f_n1 = _feeder_table(topo, heads, st_tab, st_open, limits, grades, fd_n1)
    ctx = _Context(net=net, topo=topo, edges=edges, stations=stations, heads=heads, st_tab=st_tab, caps=caps,
                   f_n1=f_n1, limits=limits, bus_n1=getattr(n1, "buses", None))
    tables["main_transformer"] = _main_transformer_table(ctx, grades)
    tables["distribution_transformer"] = _distribution_transformer_table(ctx, grades)
    tables["bus"] = _bus_table(ctx, grades)
    if n1_fallback:
        for level in ("substation", "feeder"):
            t = tables[level]
            t["n1_note"] = [f"{n1_fallback}: {x}" if x else n1_fallback for x in t["n1_note"].fillna("")]
    return {level: tables[level] for level in LEVELS}


def _finish(df: pd.DataFrame, level: str, grades: Grades) -> pd.DataFrame:
    """Load rate, grade and column order.

    The grade is taken on the binding element's ``rating · limit`` (column ``_base``, when present): a bus
    or feeder limited by its substation is graded on what the substation has left.
    """
    df = df.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        df["load_rate_percent"] = (df["peak_mva"].astype(float) / df["rating_mva"].astype(float) * 100.0
                                   if len(df) else pd.Series(dtype=float))
    if len(df):
        if "_base" in df.columns:
            base = df["_base"].to_numpy(dtype=float)
            df["grade"] = grade_of(df["open_capacity_mva"].to_numpy(dtype=float), base,
                                   np.full(len(df), 100.0), grades)
        else:
            df["grade"] = grade_of(df["open_capacity_mva"].to_numpy(dtype=float),
                                   df["rating_mva"].to_numpy(dtype=float),
                                   df["limit_percent"].to_numpy(dtype=float), grades)
    else:
        df["grade"] = pd.Series(dtype=object)
    for c in TABLE_COLUMNS[level]:
        if c not in df.columns:
            df[c] = np.nan
    df = df[TABLE_COLUMNS[level]].reset_index(drop=True)
    float_cols = ["voltage_kv", "rating_mva", "rating_a", "limit_percent", "peak_mva", "load_rate_percent",
                  "reserved_mva", "open_capacity_mva", "n1_open_capacity_mva", "transfer_mva"]
    for c in float_cols:
        if c in df.columns:
            df[c] = df[c].astype(float)
    return df
