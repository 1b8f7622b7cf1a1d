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
from ..settings import CAPACITY_LEVELS

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
    "feeder": [*_COMMON[:2], "substation", *_COMMON[2:], "ties", "transfer_mva"],
    "distribution_transformer": [*_COMMON[:2], "feeder", *_COMMON[2:]],
    "bus": [*_COMMON[:2], "feeder", *_COMMON[2:]],
}

_SQRT3 = math.sqrt(3.0)


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

    line_percent: float = 70.0
    trafo_percent: float = 80.0
    main_trafo_percent: float = 80.0
    physical_percent: float = 100.0
    n1_overload_factor: float = 1.3
    n1_transfer_percent: float = 100.0
    v_band_pu: float = 0.07
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


def _name_of(df: pd.DataFrame, idx: Any) -> str:
    if "name" in df.columns:
        n = df.at[idx, "name"]
        if n is not None and not (isinstance(n, float) and math.isnan(n)) and str(n) != "":
            return str(n)
    return ""


def _label(table: str, idx: Any, name: str) -> str:
    return f"{table} {idx}" + (f" ({name})" if name else "")


def _time_col(df: pd.DataFrame | None, index: pd.Index) -> pd.Series:
    if df is None or "time" not in df.columns:
        return pd.Series(None, index=index, dtype=object)
    return df["time"].reindex(index).astype(object)


def _in_service(df: pd.DataFrame) -> np.ndarray:
    if "in_service" not in df.columns or not len(df):
        return np.ones(len(df), dtype=bool)
    return df["in_service"].fillna(False).to_numpy(dtype=bool)


# ------------------------------------------------------------------------------------------------ main
def open_capacity_tables(net: Any, peak: Any, *, topology: Any = None, limits: Limits | None = None,
                         grades: Grades | None = None) -> dict[str, pd.DataFrame]:
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

    Returns
    -------
    dict of str to pandas.DataFrame
        One table per level in :data:`LEVELS`, columns :data:`TABLE_COLUMNS`.

    Notes
    -----
    *Substation.* The medium-voltage station busbars joined by closed couplers form one substation, fed by the
    main transformers whose LV side is on them. Its own open capacity is the smallest, over its units, of
    ``(rating_t · limit − peak_t) / share_t − reserved`` with ``share_t = rating_t / Σ rating`` (added load
    divides between parallel units in proportion to their ratings; for one unit this is
    ``rating · limit − peak − reserved``). A substation without main transformers (an external grid directly
    at a medium-voltage busbar) takes its rating from the external grid's ``sn_mva`` column, else from
    ``max_p_mw`` (counted as MVA), else the sum of its feeders' head ratings; its peak is the external grid's
    apparent power.

    *N-1, main transformers.* With the largest unit of the substation out the others may carry
    ``n1_overload_factor`` times their rating: ``N-1 = min(open, k · (Σ rating − max rating) − Σ peak −
    reserved)``, 0 for a single-unit substation. Each main transformer row carries its substation's value.

    *N-1, feeders.* After the loss of the head section, the feeder's whole load must be transferred through
    its ties: every neighbouring feeder ``g`` reached by a normally-open tie offers
    ``max(0, rating_g · n1_transfer_percent / 100 − peak_g − reserved_g)``; ``transfer_mva`` is the sum over
    distinct neighbours and ``N-1 = min(open, transfer − peak − reserved)`` (0 without ties). Distribution
    transformers and buses carry the N-1 value of their feeder, capped by their own open capacity.
    """
    from ..grid.topology import EDGE_LINE, EDGE_TRAFO, build_topology

    limits = limits or Limits()
    grades = grades or Grades()
    topo = topology if topology is not None else build_topology(net)
    n_edge, n_node = topo.n_edge, topo.n_node
    kind, elem = topo.edge_kind, topo.edge_element
    radial_max = topo.radial_max_kv

    # ------------------------------------------------------------ per-edge rating, peak, limit, time
    rating = np.full(n_edge, np.nan)
    rating_a = np.full(n_edge, np.nan)
    loading = np.full(n_edge, np.nan)
    limit = np.full(n_edge, np.nan)
    edge_time = np.full(n_edge, None, dtype=object)
    vn_edge = np.full(n_edge, np.nan)
    line_e = topo.element_edges("line")
    if line_e.size:
        ln = net.line
        vn = net.bus["vn_kv"].reindex(ln["from_bus"]).to_numpy(dtype=float)
        i_max = (ln["max_i_ka"].astype(float) * ln["df"].astype(float) * ln["parallel"].astype(float)).to_numpy()
        rating_a[line_e] = i_max * 1000.0
        rating[line_e] = _SQRT3 * vn * i_max
        vn_edge[line_e] = vn
        loading[line_e] = peak.line["loading_percent"].reindex(ln.index).to_numpy(dtype=float)
        limit[line_e] = limits.line_percent
        edge_time[line_e] = _time_col(peak.line, ln.index).to_numpy()
    trafo_e = topo.element_edges("trafo")
    is_main_trafo = np.zeros(0, dtype=bool)
    if trafo_e.size:
        tr = net.trafo
        rating[trafo_e] = (tr["sn_mva"].astype(float) * tr["df"].astype(float)
                           * tr["parallel"].astype(float)).to_numpy()
        vn_edge[trafo_e] = tr["vn_lv_kv"].to_numpy(dtype=float)
        loading[trafo_e] = peak.trafo["loading_percent"].reindex(tr.index).to_numpy(dtype=float)
        is_main_trafo = tr["vn_hv_kv"].to_numpy(dtype=float) > radial_max
        limit[trafo_e] = np.where(is_main_trafo, limits.main_trafo_percent, limits.trafo_percent)
        edge_time[trafo_e] = _time_col(peak.trafo, tr.index).to_numpy()
    loading = np.where(np.isfinite(loading), loading, 0.0)  # out of service / unsupplied: no load
    peak_mva = loading / 100.0 * rating

    # ------------------------------------------------------------ reserved and own open capacity
    reserved_node = reserved_by_node(net, topo, reserved_pf=limits.reserved_pf)
    sub = subtree_sums(topo, reserved_node)
    in_tree = np.zeros(n_edge, dtype=bool)
    pe = topo.parent_edge[topo.order]
    in_tree[pe[pe >= 0]] = True
    child = np.full(n_edge, -1, dtype=np.int64)
    child[topo.parent_edge[topo.order]] = topo.order
    reserved_edge = np.where(child >= 0, sub[np.maximum(child, 0)], 0.0)
    own_open = np.maximum(0.0, rating * limit / 100.0 - peak_mva - reserved_edge)
    capping = in_tree & np.isin(kind, [EDGE_LINE, EDGE_TRAFO]) & np.isfinite(own_open)

    # ------------------------------------------------------------ substations (MV station busbar groups)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    node_vn = net.bus["vn_kv"].to_numpy(dtype=float)[topo.node_bus]
    mv_supply = topo.supply_node & (node_vn <= radial_max)
    ef, et = topo.edge_from, topo.edge_to
    sf, st = np.maximum(ef, 0), np.maximum(et, 0)
    join = (topo.edge_closed & (ef >= 0) & (et >= 0) & mv_supply[sf] & mv_supply[st]
            & (kind != EDGE_TRAFO))
    g = coo_matrix((np.ones(int(join.sum())), (ef[join], et[join])), shape=(n_node, n_node))
    _, comp = connected_components(g, directed=False)
    station_comps = np.unique(comp[mv_supply])
    station_of_node = np.full(n_node, -1, dtype=np.int64)
    station_id = {c: i for i, c in enumerate(station_comps)}
    station_of_node[mv_supply] = [station_id[c] for c in comp[mv_supply]]
    n_st = station_comps.size

    # main transformers feeding a station: closed trafo edges with one end in a station
    main_rows = []  # (edge, trafo index, station)
    if trafo_e.size:
        for k, e in enumerate(trafo_e):
            if not is_main_trafo[k] or not topo.edge_closed[e]:
                continue
            ends = [n for n in (ef[e], et[e]) if n >= 0 and mv_supply[n]]
            st_id = int(station_of_node[ends[0]]) if ends else -1
            main_rows.append((int(e), int(elem[e]), st_id))
    feeders = topo.feeders
    f_station = station_of_node[feeders["supply_node"].to_numpy(dtype=np.int64)] if len(feeders) else \
        np.zeros(0, np.int64)

    # feeder heads: line/trafo edges of the feeder at the smallest depth
    f_rating = np.full(len(feeders), np.nan)
    f_rating_a = np.full(len(feeders), np.nan)
    f_peak = np.zeros(len(feeders))
    f_time = np.full(len(feeders), None, dtype=object)
    f_head_label = np.full(len(feeders), "", dtype=object)
    f_head_edges: list[np.ndarray] = [np.zeros(0, np.int64)] * len(feeders)
    if len(feeders):
        nodes = topo.order
        pe = topo.parent_edge[nodes]
        ok = np.isin(kind[pe], [EDGE_LINE, EDGE_TRAFO]) & (topo.feeder_of_node[nodes] >= 0)
        df = pd.DataFrame({"feeder": topo.feeder_of_node[nodes[ok]], "depth": topo.depth[nodes[ok]],
                           "edge": pe[ok]})
        if len(df):
            mind = df.groupby("feeder")["depth"].transform("min")
            heads = df[df["depth"] == mind]
            for f, grp in heads.groupby("feeder"):
                es = grp["edge"].to_numpy(dtype=np.int64)
                f_head_edges[int(f)] = es
                f_rating[int(f)] = np.nansum(rating[es])
                f_rating_a[int(f)] = np.nansum(rating_a[es]) if np.isfinite(rating_a[es]).any() else np.nan
                f_peak[int(f)] = peak_mva[es].sum()
                f_time[int(f)] = edge_time[es[np.argmax(peak_mva[es])]]
                f_head_label[int(f)] = ", ".join(_edge_label(net, topo, e) for e in es)
    f_head_node = feeders["head_node"].to_numpy(dtype=np.int64) if len(feeders) else np.zeros(0, np.int64)
    f_reserved = sub[f_head_node] if len(feeders) else np.zeros(0)
    f_own_open = np.maximum(0.0, f_rating * limits.line_percent / 100.0 - f_peak - f_reserved)

    # station figures
    st_rows = []
    st_open = np.full(n_st, np.inf)
    for s in range(n_st):
        nodes_s = np.flatnonzero(station_of_node == s)
        units = [r for r in main_rows if r[2] == s]
        feeders_s = np.flatnonzero(f_station == s)
        reserved_s = float(sub[nodes_s].sum())
        bus_nodes = nodes_s[nodes_s < topo.n_bus]
        bus_ids = topo.bus_index[bus_nodes] if bus_nodes.size else topo.bus_index[topo.node_bus[nodes_s]]
        bus_id = int(np.min(bus_ids))
        eg = net.ext_grid
        eg_here = eg[eg["bus"].isin(bus_ids) & _in_service(eg)] if len(eg) else eg
        row: dict[str, Any] = {"bus": bus_id, "reserved_mva": reserved_s, "n_feeders": int(feeders_s.size),
                               "voltage_kv": float(net.bus.at[bus_id, "vn_kv"])}
        if units:
            es = np.array([u[0] for u in units])
            r_t, p_t = rating[es], peak_mva[es]
            total = float(r_t.sum())
            share = r_t / total
            headroom = (r_t * limits.main_trafo_percent / 100.0 - p_t) / share - reserved_s
            k = int(np.argmin(headroom))
            open_s = max(0.0, float(headroom[k]))
            if len(units) >= 2:
                n1 = limits.n1_overload_factor * (total - float(r_t.max())) - float(p_t.sum()) - reserved_s
                n1_note = (f"largest unit ({_edge_label(net, topo, int(es[np.argmax(r_t)]))}) out, others at "
                           f"{limits.n1_overload_factor:g} x rating")
            else:
                n1 = 0.0
                n1_note = "single unit: no N-1 reserve inside the substation"
            ti = [u[1] for u in units]
            names = [_name_of(net.trafo, i) for i in ti]
            row.update(source="main_transformer", n_units=len(units), rating_mva=total,
                       peak_mva=float(p_t.sum()), time=edge_time[es[np.argmax(p_t)]],
                       open=open_s, n1=max(0.0, min(open_s, n1)), n1_note=n1_note,
                       binding=("main_transformer", _edge_label(net, topo, int(es[k]))),
                       name=_name_of(net.bus, bus_id) or " + ".join(n for n in names if n) or f"station {s}")
        else:
            if len(eg_here):
                ei = eg_here.index
                sn = _ext_grid_rating(eg_here)
                if sn is None:
                    sn = float(np.nansum(f_rating[feeders_s])) if feeders_s.size else np.nan
                    src = "ext_grid (rating: sum of feeder heads)"
                else:
                    src = "ext_grid"
                pq = peak.ext_grid.reindex(ei) if peak.ext_grid is not None else None
                p_s = float(np.hypot(pq["p_mw"].astype(float), pq["q_mvar"].astype(float)).sum()) \
                    if pq is not None else 0.0
                t_s = pq["time"].iloc[0] if pq is not None and "time" in pq.columns else None
                label = _label("ext_grid", ei[0], _name_of(eg, ei[0]))
                nm = _name_of(eg, ei[0]) or _name_of(net.bus, bus_id)
            else:
                # a station busbar fed from elsewhere (e.g. a supply coupler): rate it by its feeders
                sn = float(np.nansum(f_rating[feeders_s])) if feeders_s.size else np.nan
                p_s = float(f_peak[feeders_s].sum())
                t_s = None
                src = "feeders"
                label = _label("bus", bus_id, _name_of(net.bus, bus_id))
                nm = _name_of(net.bus, bus_id)
            open_s = max(0.0, sn * limits.main_trafo_percent / 100.0 - p_s - reserved_s) \
                if np.isfinite(sn) else np.inf
            row.update(source=src, n_units=0, rating_mva=sn, peak_mva=p_s, time=t_s, open=open_s,
                       n1=np.nan, n1_note="no main transformer: N-1 not assessed at this level",
                       binding=("substation", label), name=nm or f"station {s}")
        st_open[s] = row["open"]
        st_rows.append(row)

    # ------------------------------------------------------------ node caps (walk the radial tree)
    # binding code per node: edge id >= 0, or -(station + 2)
    cap = np.full(n_node, np.inf)
    bind = np.full(n_node, -1, dtype=np.int64)
    st_nodes = np.flatnonzero(station_of_node >= 0)
    cap[st_nodes] = st_open[station_of_node[st_nodes]]
    bind[st_nodes] = -(station_of_node[st_nodes] + 2)
    edge_cap = np.where(capping, own_open, np.inf)
    for nodes in nodes_by_depth(topo):
        parents = topo.parent_node[nodes]
        pedge = topo.parent_edge[nodes]
        up_cap = np.where(parents >= 0, cap[np.maximum(parents, 0)], np.inf)
        up_bind = np.where(parents >= 0, bind[np.maximum(parents, 0)], -1)
        own = edge_cap[pedge]
        take_own = own <= up_cap
        cap[nodes] = np.where(take_own, own, up_cap)
        bind[nodes] = np.where(take_own & np.isfinite(own), pedge, up_bind)

    def bind_text(code: int) -> tuple[str, str]:
        if code >= 0:
            k = kind[code]
            if k == EDGE_TRAFO:
                lvl = "main_transformer" if net.trafo.at[elem[code], "vn_hv_kv"] > radial_max \
                    else "distribution_transformer"
            else:
                lvl = "line"
            return lvl, _edge_label(net, topo, int(code))
        if code <= -2:
            s = -code - 2
            return "substation", f"substation {s} ({st_rows[s]['name']})"
        return "", ""

    # ------------------------------------------------------------ tables
    tables: dict[str, pd.DataFrame] = {}
    # substation
    st_tab = pd.DataFrame({
        "id": np.arange(n_st),
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
        "n1_note": [r["n1_note"] for r in st_rows],
    })
    tables["substation"] = _finish(st_tab, "substation", grades)
    st_name = st_tab["name"].to_numpy(dtype=object)
    st_base = st_tab["rating_mva"].to_numpy(dtype=float) * limits.main_trafo_percent / 100.0
    edge_base = rating * limit / 100.0

    def base_of(codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, dtype=np.int64)
        out = np.full(codes.size, np.nan)
        e = codes >= 0
        out[e] = edge_base[codes[e]]
        s_ = codes <= -2
        out[s_] = st_base[-codes[s_] - 2]
        return out
    st_n1 = st_tab["n1_open_capacity_mva"].to_numpy(dtype=float)

    # main transformers
    mt = []
    for e, ti, s in main_rows:
        res = sub[np.flatnonzero(station_of_node == s)].sum() if s >= 0 else 0.0
        units = [r for r in main_rows if r[2] == s]
        share = rating[e] / sum(rating[u[0]] for u in units) if s >= 0 else 1.0
        res_t = float(res * share)
        own = max(0.0, rating[e] * limit[e] / 100.0 - peak_mva[e] - res_t)
        mt.append({"id": ti, "name": _name_of(net.trafo, ti), "substation": st_name[s] if s >= 0 else None,
                   "voltage_kv": float(net.trafo.at[ti, "vn_hv_kv"]), "rating_mva": rating[e],
                   "rating_a": np.nan, "limit_percent": limit[e], "peak_mva": peak_mva[e],
                   "peak_time": edge_time[e], "reserved_mva": res_t, "open_capacity_mva": own,
                   "n1_open_capacity_mva": min(own, st_n1[s]) if s >= 0 and np.isfinite(st_n1[s]) else np.nan,
                   "binding_level": "main_transformer", "binding_element": _edge_label(net, topo, e)})
    tables["main_transformer"] = _finish(pd.DataFrame(mt, columns=[c for c in TABLE_COLUMNS["main_transformer"]
                                                                   if c not in ("load_rate_percent", "grade")]),
                                         "main_transformer", grades)

    # feeders
    nf = len(feeders)
    f_cap = np.full(nf, np.nan)
    f_bind = np.full(nf, "", dtype=object)
    f_bind_lvl = np.full(nf, "", dtype=object)
    f_base = np.full(nf, np.nan)
    for f in range(nf):
        s = int(f_station[f])
        up = st_open[s] if s >= 0 else np.inf
        own = f_own_open[f]
        if not np.isfinite(own) or up < own:
            f_cap[f] = up
            f_bind_lvl[f], f_bind[f] = ("substation", f"substation {s} ({st_name[s]})") if s >= 0 else ("", "")
            f_base[f] = st_base[s] if s >= 0 else np.nan
        else:
            f_cap[f] = own
            f_bind_lvl[f], f_bind[f] = "feeder", f_head_label[f]
            f_base[f] = f_rating[f] * limits.line_percent / 100.0
    # N-1 by ties
    ties = topo.ties
    neighbours: list[set[int]] = [set() for _ in range(nf)]
    tie_names: list[list[str]] = [[] for _ in range(nf)]
    for _, t in ties.iterrows():
        a, b = int(t["feeder_a"]), int(t["feeder_b"])
        if a < 0 or b < 0 or a == b:
            continue
        nm = str(t["name"]) if t["name"] is not None and str(t["name"]) not in ("", "None", "nan") \
            else f"switch {int(t['switch'])}"
        neighbours[a].add(b)
        neighbours[b].add(a)
        tie_names[a].append(nm)
        tie_names[b].append(nm)
    spare = np.maximum(0.0, f_rating * limits.n1_transfer_percent / 100.0 - f_peak - f_reserved)
    spare = np.where(np.isfinite(spare), spare, 0.0)
    transfer = np.array([float(sum(spare[g] for g in neighbours[f])) for f in range(nf)])
    f_n1 = np.maximum(0.0, np.minimum(f_cap, transfer - f_peak - f_reserved))
    tables["feeder"] = _finish(pd.DataFrame({
        "id": np.arange(nf),
        "name": feeders["name"].to_numpy(dtype=object) if nf else [],
        "substation": [st_name[s] if s >= 0 else None for s in f_station],
        "voltage_kv": feeders["vn_kv"].to_numpy(dtype=float) if nf else [],
        "rating_mva": f_rating, "rating_a": f_rating_a, "limit_percent": limits.line_percent,
        "peak_mva": f_peak, "peak_time": f_time, "reserved_mva": f_reserved,
        "open_capacity_mva": f_cap, "n1_open_capacity_mva": f_n1,
        "binding_level": f_bind_lvl, "binding_element": f_bind,
        "ties": [", ".join(sorted(set(n))) for n in tie_names], "transfer_mva": transfer, "_base": f_base,
    }), "feeder", grades)
    feeder_names = feeders["name"].to_numpy(dtype=object) if nf else np.zeros(0, dtype=object)

    def feeder_name(node_ids: np.ndarray) -> np.ndarray:
        fo = topo.feeder_of_node[node_ids]
        return np.where(fo >= 0, feeder_names[np.maximum(fo, 0)] if nf else None, None)

    def feeder_n1(node_ids: np.ndarray) -> np.ndarray:
        fo = topo.feeder_of_node[node_ids]
        return np.where(fo >= 0, f_n1[np.maximum(fo, 0)] if nf else np.nan, np.nan)

    # distribution transformers (in the radial tree)
    dt_rows = []
    if trafo_e.size:
        sel = np.flatnonzero(~is_main_trafo & in_tree[trafo_e])
        es = trafo_e[sel]
        ch = child[es]
        codes = bind[ch]
        texts = [bind_text(int(c)) for c in codes]
        opened = cap[ch]
        dt_rows = pd.DataFrame({
            "id": elem[es], "name": [_name_of(net.trafo, i) for i in elem[es]], "feeder": feeder_name(ch),
            "voltage_kv": net.trafo["vn_hv_kv"].to_numpy(dtype=float)[sel], "rating_mva": rating[es],
            "rating_a": np.nan, "limit_percent": limit[es], "peak_mva": peak_mva[es], "peak_time": edge_time[es],
            "reserved_mva": reserved_edge[es], "open_capacity_mva": opened,
            "n1_open_capacity_mva": np.minimum(opened, feeder_n1(ch)),
            "binding_level": [t[0] for t in texts], "binding_element": [t[1] for t in texts],
            "_base": base_of(codes),
        })
    tables["distribution_transformer"] = _finish(
        dt_rows if len(dt_rows) else pd.DataFrame(columns=[c for c in TABLE_COLUMNS["distribution_transformer"]
                                                           if c not in ("load_rate_percent", "grade")]),
        "distribution_transformer", grades)

    # buses: radial buses and station busbars; own figures are those of the binding element
    bus_nodes = np.arange(topo.n_bus)
    keep = np.isfinite(cap[bus_nodes]) & ((topo.feeder_of_node[bus_nodes] >= 0) | (station_of_node[bus_nodes] >= 0))
    bn = bus_nodes[keep]
    codes = bind[bn]
    b_rating = np.full(bn.size, np.nan)
    b_rating_a = np.full(bn.size, np.nan)
    b_limit = np.full(bn.size, np.nan)
    b_peak = np.full(bn.size, np.nan)
    b_time = np.full(bn.size, None, dtype=object)
    b_res = np.full(bn.size, np.nan)
    is_edge = codes >= 0
    ce = codes[is_edge]
    b_rating[is_edge], b_rating_a[is_edge] = rating[ce], rating_a[ce]
    b_limit[is_edge], b_peak[is_edge] = limit[ce], peak_mva[ce]
    b_time[is_edge], b_res[is_edge] = edge_time[ce], reserved_edge[ce]
    is_st = codes <= -2
    if is_st.any():
        si = -codes[is_st] - 2
        b_rating[is_st] = st_tab["rating_mva"].to_numpy(dtype=float)[si]
        b_limit[is_st] = limits.main_trafo_percent
        b_peak[is_st] = st_tab["peak_mva"].to_numpy(dtype=float)[si]
        b_time[is_st] = st_tab["peak_time"].to_numpy(dtype=object)[si]
        b_res[is_st] = st_tab["reserved_mva"].to_numpy(dtype=float)[si]
    texts = [bind_text(int(c)) for c in codes]
    b_idx = topo.bus_index[bn]
    st_n1_node = np.where(station_of_node[bn] >= 0, st_n1[np.maximum(station_of_node[bn], 0)]
                          if n_st else np.nan, np.nan)
    n1_bus = np.where(topo.feeder_of_node[bn] >= 0, feeder_n1(bn), st_n1_node)
    tables["bus"] = _finish(pd.DataFrame({
        "id": b_idx, "name": [_name_of(net.bus, i) for i in b_idx], "feeder": feeder_name(bn),
        "voltage_kv": net.bus["vn_kv"].to_numpy(dtype=float)[bn], "rating_mva": b_rating, "rating_a": b_rating_a,
        "limit_percent": b_limit, "peak_mva": b_peak, "peak_time": b_time, "reserved_mva": b_res,
        "open_capacity_mva": cap[bn], "n1_open_capacity_mva": np.minimum(cap[bn], n1_bus),
        "binding_level": [t[0] for t in texts], "binding_element": [t[1] for t in texts],
        "_base": base_of(codes),
    }), "bus", grades)
    return tables


def _ext_grid_rating(eg: pd.DataFrame) -> float | None:
    """Rating (MVA) of external grids from an ``sn_mva`` column, else ``max_p_mw``; None if neither is set."""
    for col in ("sn_mva", "max_p_mw"):
        if col in eg.columns:
            v = pd.to_numeric(eg[col], errors="coerce").to_numpy(dtype=float)
            if np.isfinite(v).all() and (v > 0).all():
                return float(v.sum())
    return None


def _edge_label(net: Any, topo: Any, e: int) -> str:
    from ..grid.topology import EDGE_KINDS

    table = EDGE_KINDS[int(topo.edge_kind[e])]
    idx = int(topo.edge_element[e])
    return _label(table, idx, _name_of(net[table], idx))


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
