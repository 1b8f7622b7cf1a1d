"""Seasonal open-capacity curves: open capacity per hour of a typical day per season, and for a new customer.

Given load (and generation) profiles in any form :func:`~gridscope.capacity.timeseries.coerce_profiles`
accepts, :func:`seasonal_open_capacity` gives, for every feeder (its head section) and every distribution
transformer (配变), the open capacity at each hour (or quarter-hour) of a *typical day* of each season:

* **Seasons** are meteorological (northern hemisphere): winter Dec–Feb, spring Mar–May, summer Jun–Aug,
  autumn Sep–Nov (:data:`SEASON_MONTHS`).
* **Typical day = worst case, not mean.** For each element, season and hour slot the step of that season
  with the largest load through the element (in the supply direction) is taken -- the maximum over the
  season's days, as a planner publishes the worst case. A mean day would hide the days that bind.
* **Open capacity** ``open_capacity_mw`` is exact (AC power flow, power-grid-model batch): the largest load
  at power factor ``pf`` added at the element's downstream bus (the bus at the end of a feeder's head
  section, a distribution transformer's LV bus) at which the element reaches its planning limit
  (:class:`~gridscope.capacity.open_capacity.Limits`: 70 % for feeders, 80 % for distribution
  transformers), found by a bracketed false-position search to 0.01 percentage point, less the reserved
  capacity (已批未接, ``net["reserved_capacity"]``) below the element (counted in full at every hour, its
  timing being unknown). ``headroom_mva`` is the arithmetic of the open-capacity tables,
  ``rating · limit − load − reserved``, at the same step. ``own_open_capacity_mw`` is the element limited by
  itself only.
* **Capped upstream, hour by hour** (the hierarchy of the open-capacity tables,
  :func:`~gridscope.capacity.open_capacity.open_capacity_tables`): the main transformers (主变) of every
  station have curves of their own (load added at the unit's LV busbar, 80 % limit); a feeder's
  ``open_capacity_mw`` at each (season, hour) is the smaller of its own and the smallest of its station's
  units (the station is the tables' substation level: all its units, whatever the couplers), a distribution
  transformer's the smaller of its own and its feeder's capped value (the head section on its path).
  ``binding_level`` / ``binding_element`` say which element sets the value at each hour (on a tie the element
  itself). Feeder sections between the head and a 配变 and an external grid's rating are not curves (not
  capped by).
* **New customer.** For a daily shape ``s(h)`` (peak 1; built-in :data:`CUSTOMER_SHAPES` ``"commercial"``
  and ``"ev"``, or a user's 24 / 96 values) the largest ``k`` with existing load + ``k · s(h)`` within the
  limit at every hour of every season is ``min over (season, h) of open_capacity_mw / s(h)``: the
  *coincident* peak. A daytime commercial load on a feeder peaking in the evening gets more than the flat
  (worst-hour) capacity; ``k`` is the customer's peak demand in MW.

Sgens are left out by default (``include_sgen=False``: a consumption capacity must not count on
generation); with them, the step of largest load in the supply direction is taken.
"""

from __future__ import annotations

import copy
import datetime as _dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..cells import safe_frame
from ..errors import InputError
from ..grid.facts import element_label, element_name, element_names, line_rating_mva, trafo_is_main, trafo_rating_mva
from ..grid.io import atomic_write, network_hash, write_netcdf
from ..grid.topology import EdgeKind, build_topology
from ..progress import CANCEL_CHECK_S, ProgressCallback, Reporter
from ..settings import LOAD_PF
from ..textfmt import check_lang
from .open_capacity import Limits, reserved_by_node, subtree_sums
from .timeseries import Injections, coerce_profiles, make_engine

__all__ = ["COLUMNS_ZH", "CURVE_LEVELS", "CUSTOMER_SHAPES", "LEVELS_ZH", "RESOLUTIONS", "SEASONS", "SEASONS_ZH",
           "SEASON_MONTHS", "customer_shape", "season_codes", "seasonal_frame", "seasonal_open_capacity",
           "seasonal_text", "write_seasonal"]

#: Season names in dataset order.
SEASONS: tuple[str, ...] = ("winter", "spring", "summer", "autumn")
#: Months of each season (meteorological seasons, northern hemisphere).
SEASON_MONTHS: dict[str, tuple[int, ...]] = {"winter": (12, 1, 2), "spring": (3, 4, 5), "summer": (6, 7, 8),
                                             "autumn": (9, 10, 11)}
#: Curve resolutions: slots per day.
RESOLUTIONS: dict[str, int] = {"hour": 24, "quarter": 96}

#: Built-in daily shapes of a new customer, hourly (hour 0 = 00:00-01:00), peak 1. Illustrative shapes, not
#: measured data: ``commercial`` -- offices and shops, peak 10:00-17:00; ``ev`` -- residential EV charging on
#: arrival home, peak 19:00-22:00.
CUSTOMER_SHAPES: dict[str, tuple[float, ...]] = {
    "commercial": (0.25, 0.22, 0.2, 0.2, 0.2, 0.22, 0.3, 0.45, 0.7, 0.9, 1.0, 1.0,
                   0.95, 1.0, 1.0, 1.0, 0.95, 0.85, 0.65, 0.5, 0.4, 0.35, 0.3, 0.27),
    "ev": (0.55, 0.4, 0.25, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05,
           0.05, 0.05, 0.05, 0.1, 0.15, 0.35, 0.65, 0.9, 1.0, 1.0, 0.9, 0.75),
}

#: Chinese headers of the seasonal CSV (``lang="zh"``).
COLUMNS_ZH: dict[str, str] = {
    "element": "元件", "level": "层级", "element_id": "编号", "name": "名称", "season": "季节", "hour": "时刻(h)",
    "load_mva": "典型日负荷(MVA)", "loading_percent": "负载率(%)", "time": "典型日取值时刻",
    "headroom_mva": "裕度(MVA)", "open_capacity_mw": "可开放容量(MW)", "section": "计算元件", "bus": "接入母线",
    "rating_mva": "额定容量(MVA)", "limit_percent": "负载率限值(%)", "reserved_mw": "已批未接(MW)",
    "customer_open_capacity_mw": "新用户可接入峰值(MW)", "customer_binding_season": "新用户受限季节",
    "customer_binding_hour": "新用户受限时刻(h)", "customer_shape": "新用户负荷曲线(标幺)",
    "own_open_capacity_mw": "自身可开放容量(MW)", "binding_level": "受限环节", "binding_element": "受限元件",
    "upstream": "上级元件",
}
#: Chinese season names.
SEASONS_ZH: dict[str, str] = {"winter": "冬季", "spring": "春季", "summer": "夏季", "autumn": "秋季"}
#: Chinese level names.
LEVELS_ZH: dict[str, str] = {"main_transformer": "主变", "feeder": "10kV线路", "distribution_transformer": "配变"}
#: Curve levels, top down (the capping order).
CURVE_LEVELS: tuple[str, ...] = ("main_transformer", "feeder", "distribution_transformer")

_CHUNK = 2048  # at most this many steps (first pass) or scenarios (search) per power-flow batch
_TOL_PP = 0.01  # search tolerance on the loading, percentage points
_MAX_ITER = 40
_EXPAND = 16


def _chunk(per_step_s: float) -> int:
    """Steps of the next batch: about :data:`~gridscope.progress.CANCEL_CHECK_S` of work (so cancellation
    is checked that often), at most :data:`_CHUNK`; small while the time per step is unknown."""
    if per_step_s <= 0:
        return 16
    return max(1, min(_CHUNK, int(0.8 * CANCEL_CHECK_S / per_step_s)))


def season_codes(time: pd.DatetimeIndex) -> np.ndarray:
    """Season position (index into :data:`SEASONS`) of every timestamp."""
    month = np.asarray(pd.DatetimeIndex(time).month)
    out = np.full(month.shape, -1, dtype=np.int64)
    for k, name in enumerate(SEASONS):
        out[np.isin(month, SEASON_MONTHS[name])] = k
    return out


def customer_shape(spec: Any, n_slots: int = 24) -> tuple[str, np.ndarray]:
    """The new customer's daily shape at ``n_slots`` per day, scaled to peak 1.

    Parameters
    ----------
    spec : str, path-like or sequence of float
        A built-in name (:data:`CUSTOMER_SHAPES`), a CSV file (one numeric column, or a column named
        ``shape``, ``p_mw`` or ``value``; 24 or 96 rows) or 24 / 96 numbers.
    n_slots : int
        24 or 96. A 96-value shape on an hourly curve takes each hour's largest quarter (worst case); a
        24-value shape on a quarter-hourly curve holds each hour's value for its four quarters.

    Returns
    -------
    (str, numpy.ndarray)
        The shape's name and its ``n_slots`` values.

    Raises
    ------
    InputError
        Unknown name, unreadable file, wrong length, negative, non-finite or all-zero values.
    """
    if n_slots not in RESOLUTIONS.values():
        raise InputError(f"n_slots must be 24 or 96, got {n_slots!r}")
    if isinstance(spec, str) and spec.strip().lower() in CUSTOMER_SHAPES:
        name = spec.strip().lower()
        values = np.asarray(CUSTOMER_SHAPES[name], dtype=float)
    elif isinstance(spec, str | os.PathLike):
        path = Path(spec)
        if not path.is_file():
            raise InputError(f"customer profile {spec!r} is neither a built-in shape "
                             f"({', '.join(CUSTOMER_SHAPES)}) nor an existing CSV file")
        name = path.name
        try:
            raw = pd.read_csv(path)
        except Exception as exc:  # pandas raises several kinds on malformed CSV
            raise InputError(f"{path} is not a readable CSV file: {type(exc).__name__}: {exc}") from None
        col = next((c for c in ("shape", "p_mw", "value") if c in raw.columns), None)
        if col is None:
            numeric = [c for c in raw.columns if pd.api.types.is_numeric_dtype(raw[c])]
            if len(numeric) != 1:
                raise InputError(f"{path}: give one column named shape, p_mw or value (found columns "
                                 f"{', '.join(map(str, raw.columns))})")
            col = numeric[0]
        values = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
    else:
        name = "user"
        try:
            values = np.asarray(spec, dtype=float).ravel()
        except (TypeError, ValueError):
            raise InputError(f"customer shape must be a name, a CSV path or numbers, got {spec!r}") from None
    if values.size not in (24, 96):
        raise InputError(f"customer shape {name!r} has {values.size} values; give 24 (hourly) or 96 "
                         "(quarter-hourly) values for one day")
    if not np.isfinite(values).all() or (values < 0).any() or values.max() <= 0:
        raise InputError(f"customer shape {name!r} needs finite values >= 0, not all zero")
    values = values / values.max()
    if values.size == 96 and n_slots == 24:
        values = values.reshape(24, 4).max(axis=1)
    elif values.size == 24 and n_slots == 96:
        values = np.repeat(values, 4)
    return name, values


@dataclass
class _Elements:
    """The feeders and distribution transformers with the edges whose loading is theirs."""

    label: list[str]
    level: list[str]
    section: list[str]  # the element(s) whose loading is the curve's: head line(s), the transformer
    element_id: np.ndarray
    name: list[str]
    bus: np.ndarray  # pandapower bus index where a new load is placed
    rating_mva: np.ndarray
    limit_percent: np.ndarray
    reserved_mw: np.ndarray
    w_line: np.ndarray  # (n_line, n_elem): rating share of each head line
    w_trafo: np.ndarray  # (n_trafo, n_elem)
    d_line_from: np.ndarray  # (n_line, n_elem): +1 where the supply side is the line's from end, -1 for to end
    d_line_to: np.ndarray
    d_trafo: np.ndarray  # (n_trafo, n_elem)
    upstream: list[list[int]]  # per element: the elements directly above it (station units; the feeder head)

    @property
    def n(self) -> int:
        return len(self.label)


def _edge_label(net: Any, topo: Any, e: int) -> str:
    table = EdgeKind(int(topo.edge_kind[e])).table
    idx = int(topo.edge_element[e])
    return element_label(table, idx, element_name(net[table], idx))


def _elements(net: Any, topo: Any, limits: Limits) -> _Elements:
    """Feeder head sections (line / transformer edges at the smallest depth of each feeder, as the
    open-capacity tables define them; one element per section when a feeder branches at its head bus),
    distribution transformers and main transformers, with what is directly upstream of each."""
    nl, nt = len(net.line), len(net.trafo)
    line_r = line_rating_mva(net).to_numpy(dtype=float) if nl else np.zeros(0)
    trafo_r = trafo_rating_mva(net).to_numpy(dtype=float) if nt else np.zeros(0)
    line_pos = pd.Series(np.arange(nl), index=net.line.index)
    trafo_pos = pd.Series(np.arange(nt), index=net.trafo.index)
    child = np.full(topo.n_edge, -1, dtype=np.int64)
    child[topo.parent_edge[topo.order]] = topo.order
    reserved = subtree_sums(topo, reserved_by_node(net, topo, reserved_pf=1.0))
    # (level, id, name, label, edges, limit, (bus, reserved) for a main transformer: its LV busbar, its station's
    # reserved capacity -- the station side is supply, not part of the radial tree)
    groups: list[tuple[str, int, str, str, list[int], float, tuple[int, float] | None]] = []
    nodes = topo.order
    pe = topo.parent_edge[nodes]
    ok = np.isin(topo.edge_kind[pe], [EdgeKind.LINE, EdgeKind.TRAFO]) & (topo.feeder_of_node[nodes] >= 0)
    df = pd.DataFrame({"feeder": topo.feeder_of_node[nodes[ok]], "depth": topo.depth[nodes[ok]], "edge": pe[ok]})
    if len(df):
        heads = df[df["depth"] == df.groupby("feeder")["depth"].transform("min")]
        for f, grp in heads.groupby("feeder"):
            fname = str(topo.feeders["name"].iloc[int(f)])
            edges = [int(e) for e in grp["edge"]]
            for e in edges:  # a feeder branching at its head bus: one curve per head section
                label = f"feeder {fname}" if len(edges) == 1 else f"feeder {fname} / {_edge_label(net, topo, e)}"
                groups.append(("feeder", int(f), fname, label, [e], limits.line_percent, None))
    if nt:
        is_main = trafo_is_main(net, radial_max_kv=topo.radial_max_kv).to_numpy(dtype=bool)
        names = element_names(net.trafo)
        for e in topo.element_edges("trafo"):
            ti = int(topo.edge_element[e])
            if is_main[trafo_pos[ti]] or child[e] < 0:
                continue
            groups.append(("distribution_transformer", ti, str(names[ti]), _edge_label(net, topo, int(e)), [int(e)],
                           limits.trafo_percent, None))
        if is_main.any():  # after the others: the element order of the feeders and 配变 is kept
            from ..grid.stations import build_stations  # deferred: only with main transformers

            stations = build_stations(net, topo)
            trafo_edges = topo.element_edges("trafo")
            st_reserved = {}
            for k, bars in enumerate(stations.table["busbars"]):
                nodes = topo.bus_node(np.asarray(bars, dtype=np.int64))
                st_reserved[k] = float(reserved[nodes[nodes >= 0]].sum())
            for t, k, lv in zip(stations.unit_table["trafo"], stations.unit_table["station"],
                                stations.unit_table["lv_bus"], strict=True):
                e = int(trafo_edges[trafo_pos[int(t)]])
                groups.append(("main_transformer", int(t), str(names[int(t)]), _edge_label(net, topo, e), [e],
                               limits.main_trafo_percent, (int(lv), st_reserved.get(int(k), 0.0))))
    n = len(groups)
    out = _Elements(label=[], level=[], section=[], element_id=np.zeros(n, np.int64), name=[],
                    bus=np.zeros(n, np.int64),
                    rating_mva=np.zeros(n), limit_percent=np.zeros(n), reserved_mw=np.zeros(n),
                    w_line=np.zeros((nl, n)), w_trafo=np.zeros((nt, n)), d_line_from=np.zeros((nl, n)),
                    d_line_to=np.zeros((nl, n)), d_trafo=np.zeros((nt, n)),
                    upstream=[[] for _ in range(n)])
    for j, (level, eid, name, label, es, limit, fixed) in enumerate(groups):
        out.label.append(label)
        out.section.append(", ".join(_edge_label(net, topo, e) for e in es))
        out.level.append(level)
        out.name.append(name)
        out.element_id[j] = eid
        out.limit_percent[j] = limit
        if fixed is not None:
            out.bus[j], out.reserved_mw[j] = fixed
        else:
            out.bus[j] = int(topo.bus_index[topo.node_bus[int(child[es[0]])]])
            out.reserved_mw[j] = float(sum(reserved[child[e]] for e in es))
        total = 0.0
        for e in es:
            idx = int(topo.edge_element[e])
            child_bus = int(out.bus[j]) if fixed is not None else int(topo.bus_index[topo.node_bus[child[e]]])
            if topo.edge_kind[e] == EdgeKind.LINE:
                p = line_pos[idx]
                out.w_line[p, j] = line_r[p]
                total += line_r[p]
                if int(net.line.at[idx, "to_bus"]) == child_bus:
                    out.d_line_from[p, j] = 1.0
                else:
                    out.d_line_to[p, j] = 1.0
            else:
                p = trafo_pos[idx]
                out.w_trafo[p, j] = trafo_r[p]
                total += trafo_r[p]
                out.d_trafo[p, j] = 1.0 if int(net.trafo.at[idx, "lv_bus"]) == child_bus else -1.0
        out.rating_mva[j] = total
        out.w_line[:, j] /= total
        out.w_trafo[:, j] /= total
    _link_upstream(net, topo, out, groups, child)
    return out


def _link_upstream(net: Any, topo: Any, out: _Elements, groups: list, child: np.ndarray) -> None:
    """``out.upstream``: a feeder's station units (every main transformer of the station that feeds it,
    :func:`gridscope.grid.stations.build_stations`), a distribution transformer's feeder head section (the
    first head edge on its path to the supply)."""
    from ..grid.stations import build_stations  # deferred: only when there are feeders

    level = [g[0] for g in groups]
    if "feeder" not in level:
        return
    main_of_trafo = {int(g[1]): j for j, g in enumerate(groups) if g[0] == "main_transformer"}
    head_of_edge = {int(g[4][0]): j for j, g in enumerate(groups) if g[0] == "feeder"}
    if main_of_trafo:
        stations = build_stations(net, topo)
        units = stations.unit_table
        for j, g in enumerate(groups):
            if g[0] != "feeder" or int(g[1]) >= stations.feeder_station.size:
                continue
            s = int(stations.feeder_station[int(g[1])])
            if s < 0:
                continue
            out.upstream[j] = [main_of_trafo[int(t)] for t in units.loc[units["station"] == s, "trafo"]
                               if int(t) in main_of_trafo]
    for j, g in enumerate(groups):
        if g[0] != "distribution_transformer":
            continue
        for e in topo.upstream_edges(int(child[g[4][0]])):  # nearest first
            if int(e) in head_of_edge:
                out.upstream[j] = [head_of_edge[int(e)]]
                break


def _cap_upstream(own: np.ndarray, el: _Elements) -> tuple[np.ndarray, np.ndarray]:
    """Per (group, element): the open capacity capped by everything upstream, hour by hour, and the element
    (position) that sets it -- main transformers first, then feeders, then distribution transformers, each
    taking the smaller of its own value and its upstream elements' capped values (its own on a tie; NaN
    slots, without profile steps, stay NaN)."""
    cap = own.copy()
    bind = np.broadcast_to(np.arange(el.n), own.shape).copy()
    for level in CURVE_LEVELS:
        for j in (k for k in range(el.n) if el.level[k] == level):
            for u in el.upstream[j]:
                up = np.where(np.isnan(cap[:, u]), np.inf, cap[:, u])
                lower = up < cap[:, j]
                cap[lower, j] = up[lower]
                bind[lower, j] = bind[lower, u]
    return cap, bind


def _measure(res: Any, el: _Elements) -> tuple[np.ndarray, np.ndarray]:
    """Per step and element: loading (percent of the element's rating) and active power in the supply
    direction (MW)."""
    loading = np.nan_to_num(res.line_loading) @ el.w_line + np.nan_to_num(res.trafo_loading) @ el.w_trafo
    p_down = (np.nan_to_num(res.line_p_from) @ el.d_line_from + np.nan_to_num(res.line_p_to) @ el.d_line_to
              + np.nan_to_num(res.trafo_p_hv) @ el.d_trafo)
    return loading, p_down


def seasonal_open_capacity(net: Any, profiles: Any = "simbench", *, customer: Any = None,
                           resolution: str = "auto", limits: Limits | None = None, pf: float = LOAD_PF,
                           scaling: float = 1.0, include_sgen: bool = False, missing: str = "static",
                           threads: int = 0, topology: Any = None, progress: ProgressCallback | None = None,
                           cancel: Callable[[], bool] | None = None) -> Any:
    """Open capacity of every feeder and distribution transformer per season and hour of a typical day.

    Parameters
    ----------
    net : pandapowerNet
        The network (not modified).
    profiles : "simbench", path, dict or Profiles
        Load / generation profiles with timestamps (:func:`~gridscope.capacity.timeseries.coerce_profiles`).
    customer : str, path-like, sequence of float or None
        A new customer's daily shape (:func:`customer_shape`): adds ``customer_open_capacity_mw``.
    resolution : {"auto", "hour", "quarter"}
        24 or 96 slots per day; ``auto``: quarter-hours when the profile step is at most 15 minutes.
    limits : Limits or None
        Planning limits (feeders ``line_percent``, distribution transformers ``trafo_percent``).
    pf : float
        Power factor (lagging) of the added load.
    scaling : float
        Factor on every existing load.
    include_sgen : bool
        Whether static generators follow their profiles (default: held at zero).
    missing : {"static", "error"}
        Loads without a profile keep their static value, or are an error.
    threads : int
        power-grid-model threads (0: all).
    topology : Topology or None
        Prebuilt topology of ``net``.
    progress, cancel : callable, optional
        The progress protocol (:mod:`gridscope.progress`), ``what="seasonal steps"``.

    Returns
    -------
    xarray.Dataset
        Dims ``element``, ``season`` (:data:`SEASONS`), ``hour`` (hour of day, 0, 1, ... or 0, 0.25, ...).
        Variables ``load_mva``, ``loading_percent``, ``time`` (the worst step), ``headroom_mva``,
        ``open_capacity_mw``; with ``customer``: ``customer_shape`` (hour), ``customer_open_capacity_mw``,
        ``customer_binding_season``, ``customer_binding_hour`` (element). Element coordinates ``level``,
        ``section`` (the head line or transformer whose loading it is), ``element_id``, ``name``, ``bus``
        (where the new load is placed), ``rating_mva``, ``limit_percent``, ``reserved_mw``.

    Raises
    ------
    InputError
        Profiles without timestamps, a bad customer shape or resolution, invalid ``pf``.
    ConvergenceError
        The power flow fails at a profile step.
    CancelledError
        ``cancel`` returned True.
    """
    import xarray as xr  # deferred: heavy import

    if not (np.isfinite(pf) and 0 < pf <= 1):
        raise InputError(f"pf must be in (0, 1], got {pf!r}")
    if resolution not in ("auto", *RESOLUTIONS):
        raise InputError(f"resolution must be auto, hour or quarter, got {resolution!r}")
    limits = limits or Limits()
    prof = coerce_profiles(net, profiles, missing=missing, include_sgen=include_sgen)
    if not isinstance(prof.time, pd.DatetimeIndex):
        raise InputError("seasonal curves need profiles with timestamps (a time column of dates and times)")
    if resolution == "auto":
        resolution = "quarter" if prof.step_h <= 0.25 + 1e-9 else "hour"
    n_slots = RESOLUTIONS[resolution]
    topo = topology if topology is not None else build_topology(net)
    el = _elements(net, topo, limits)
    time = prof.time
    minutes = np.asarray(time.hour) * 60 + np.asarray(time.minute)
    slot = (minutes // (1440 // n_slots)).astype(np.int64)
    group = season_codes(time) * n_slots + slot
    n_group = len(SEASONS) * n_slots
    # the total: every step, then one search per (element, season, slot); corrected after the first pass
    rep = Reporter("seasonal steps", prof.n_steps + el.n * n_group, progress=progress, cancel=cancel)

    # --- pass 1: every step; per element and (season, slot) the step of the largest load in supply direction
    best = np.full((n_group, el.n), -np.inf)
    best_step = np.full((n_group, el.n), -1, dtype=np.int64)
    best_loading = np.full((n_group, el.n), np.nan)
    engine = make_engine(net, "pgm", threads=threads)
    start, per_step_s = 0, 0.0
    while start < prof.n_steps:
        rep.check(start)
        rows = np.arange(start, min(prof.n_steps, start + _chunk(per_step_s)))
        started = perf_counter()
        res = engine.run(Injections(net, prof, rows, scaling=scaling, include_sgen=include_sgen))
        per_step_s = (perf_counter() - started) / rows.size
        start = int(rows[-1]) + 1
        if res.failed.any():
            _raise_failed(net, prof, rows, res)
        loading, p_down = _measure(res, el)
        score = np.where(p_down >= 0, loading, -loading)
        for g in np.unique(group[rows]):
            if g < 0:
                continue
            sel = np.flatnonzero(group[rows] == g)
            k = sel[np.argmax(score[sel], axis=0)]
            val = score[k, np.arange(el.n)]
            better = val > best[g]
            best[g, better] = val[better]
            best_step[g, better] = rows[k[better]]
            best_loading[g, better] = loading[k[better], np.arange(el.n)[better]]
        rep.update(rows[-1] + 1)

    # --- pass 2: exact open capacity per (element, season, slot) at the chosen step
    open_mw = np.full((n_group, el.n), np.nan)
    g_idx, e_idx = np.nonzero(best_step >= 0)
    rep.update(prof.n_steps, total=prof.n_steps + g_idx.size)  # only the slots the profiles cover
    if g_idx.size:
        open_mw[g_idx, e_idx] = _search(net, prof, el, best_step[g_idx, e_idx], e_idx,
                                        best_loading[g_idx, e_idx], pf=pf, scaling=scaling,
                                        include_sgen=include_sgen, threads=threads, rep=rep,
                                        done0=prof.n_steps)
    rep.update(prof.n_steps + g_idx.size, force=True)
    own_mw = np.maximum(0.0, open_mw - el.reserved_mw[None, :])
    open_mw, bind = _cap_upstream(own_mw, el)
    labels = np.asarray(el.label, dtype=object)
    levels = np.asarray(el.level, dtype=object)
    no_data = np.isnan(open_mw)
    bind_level = np.where(no_data, "", levels[bind]).astype(object)
    bind_element = np.where(no_data, "", labels[bind]).astype(object)
    load_mva = best_loading / 100.0 * el.rating_mva[None, :]
    headroom = np.maximum(0.0, el.rating_mva * el.limit_percent / 100.0 - load_mva
                          - el.reserved_mw / limits.reserved_pf)
    step_time = np.full(best_step.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    has = best_step >= 0
    step_time[has] = np.asarray(time)[best_step[has]]

    def cube(a: np.ndarray) -> np.ndarray:  # (group, element) -> (element, season, slot)
        return a.reshape(len(SEASONS), n_slots, el.n).transpose(2, 0, 1)

    hours = np.arange(n_slots) * (24.0 / n_slots)
    dims = ("element", "season", "hour")
    ds = xr.Dataset(
        {"load_mva": (dims, cube(load_mva)), "loading_percent": (dims, cube(best_loading)),
         "time": (dims, cube(step_time)), "headroom_mva": (dims, cube(headroom)),
         "open_capacity_mw": (dims, cube(open_mw)), "own_open_capacity_mw": (dims, cube(own_mw)),
         "binding_level": (dims, cube(bind_level)), "binding_element": (dims, cube(bind_element))},
        coords={"element": el.label, "season": list(SEASONS), "hour": hours,
                "level": ("element", el.level), "section": ("element", el.section),
                "element_id": ("element", el.element_id),
                "name": ("element", el.name), "bus": ("element", el.bus),
                "rating_mva": ("element", el.rating_mva), "limit_percent": ("element", el.limit_percent),
                "reserved_mw": ("element", el.reserved_mw),
                "upstream": ("element", np.asarray([", ".join(el.label[u] for u in ups) for ups in el.upstream],
                                                   dtype=object))},
        attrs={"network": str(getattr(net, "name", "") or "network"), "network_hash": network_hash(net),
               "gridscope_version": __version__,
               "date": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
               "method": "typical day = per element, season and hour the step of largest load (max over the "
                         "season's days, not the mean); open capacity by AC power flow (power-grid-model), "
                         "capped hour by hour by the station's main transformers (feeders) and the feeder "
                         "(distribution transformers)",
               "seasons": "; ".join(f"{s}: months {','.join(map(str, SEASON_MONTHS[s]))}" for s in SEASONS),
               "resolution": resolution, "pf": float(pf), "scaling": float(scaling),
               "include_sgen": int(bool(include_sgen)), "n_steps": int(prof.n_steps),
               "profiles": str(prof.source), "tolerance_pp": _TOL_PP})
    if customer is not None:
        name, shape = customer_shape(customer, n_slots)
        _add_customer(ds, name, shape)
    return ds


def _add_customer(ds: Any, name: str, shape: np.ndarray) -> None:
    """``customer_*`` variables: the coincident-peak scale ``k = min open / shape`` and where it binds."""
    cap = ds["open_capacity_mw"].to_numpy()  # (element, season, slot)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(shape[None, None, :] > 0, cap / shape[None, None, :], np.inf)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    n_e, _, n_h = ratio.shape
    flat = ratio.reshape(n_e, -1)
    arg = flat.argmin(axis=1) if flat.size else np.zeros(n_e, dtype=np.int64)
    k = flat[np.arange(n_e), arg] if flat.size else np.zeros(0)
    k = np.where(np.isinf(k), np.nan, k)
    ds["customer_shape"] = ("hour", shape)
    ds["customer_open_capacity_mw"] = ("element", k)
    ds["customer_binding_season"] = ("element", np.asarray(ds["season"].to_numpy())[arg // n_h].astype(object))
    ds["customer_binding_hour"] = ("element", ds["hour"].to_numpy()[arg % n_h])
    ds.attrs["customer"] = name


def _search(net: Any, prof: Any, el: _Elements, steps: np.ndarray, elem: np.ndarray, loading0: np.ndarray, *,
            pf: float, scaling: float, include_sgen: bool, threads: int, rep: Reporter, done0: int) -> np.ndarray:
    """Added load (MW at ``pf``) at each scenario's element bus that brings the element to its limit.

    Bracketed false position (Illinois) on ``loading(P) − limit``: ``lo`` below, ``hi`` above (a power flow
    that fails counts as above); 0 where the element is already at or above its limit.
    """
    work = copy.deepcopy(net)
    n0 = len(work.load)
    import pandapower as pp  # deferred: heavy import

    if el.n:
        pp.create_loads(work, buses=el.bus.tolist(), p_mw=0.0, q_mvar=0.0,
                        name=[f"gridscope seasonal probe {j}" for j in range(el.n)])
    engine = make_engine(work, "pgm", threads=threads)
    tan_phi = float(np.sqrt(max(0.0, 1.0 / pf**2 - 1.0)))
    limit = el.limit_percent[elem]
    out = np.zeros(steps.size)
    done = done0
    start, per_s = 0, 0.0
    while start < steps.size:
        sl = slice(start, min(steps.size, start + _chunk(per_s)))
        start = sl.stop
        st, ej, lim = steps[sl], elem[sl], limit[sl]
        f = _Probe(engine, Injections(work, prof, st, scaling=scaling, include_sgen=include_sgen), n0 + ej, ej,
                   lim, el, tan_phi, rep, done)
        f0 = loading0[sl] - lim
        active = np.flatnonzero(f0 < 0)
        cap = np.zeros(st.size)
        lo, flo = np.zeros(st.size), f0.copy()
        hi, fhi = np.full(st.size, np.nan), np.full(st.size, np.nan)
        # first guess: the arithmetic headroom as active power; doubled until the limit is passed
        guess = np.maximum(-f0 / 100.0 * el.rating_mva[ej] * pf, 1e-6)
        todo = active
        for _ in range(_EXPAND):
            if not todo.size:
                break
            val = f(guess[todo], todo)
            above = val > 0
            hi[todo[above]], fhi[todo[above]] = guess[todo[above]], val[above]
            below = todo[~above]
            lo[below], flo[below] = guess[below], val[~above]
            guess[below] *= 2.0
            todo = below
        side = np.zeros(st.size, dtype=np.int64)
        todo = active[np.isfinite(hi[active])]
        x = lo.copy()
        for _ in range(_MAX_ITER):
            if not todo.size:
                break
            finite = np.isfinite(fhi[todo])
            w = np.where(finite, flo[todo] / np.where(finite, flo[todo] - fhi[todo], 1.0), 0.5)
            x_t = lo[todo] + np.clip(w, 0.02, 0.98) * (hi[todo] - lo[todo])
            val = f(x_t, todo)
            x[todo] = x_t
            conv = np.abs(val) <= _TOL_PP
            up = (val > 0) & ~conv
            dn = (val <= 0) & ~conv
            t_up, t_dn = todo[up], todo[dn]
            hi[t_up], fhi[t_up] = x_t[up], val[up]
            flo[t_up] = np.where(side[t_up] == 1, flo[t_up] / 2.0, flo[t_up])
            side[t_up] = 1
            lo[t_dn], flo[t_dn] = x_t[dn], val[dn]
            fhi[t_dn] = np.where(side[t_dn] == -1, fhi[t_dn] / 2.0, fhi[t_dn])
            side[t_dn] = -1
            tiny = (hi[todo] - lo[todo]) <= 1e-9 * np.maximum(1.0, hi[todo])
            todo = todo[~conv & ~tiny]
        ok = np.isfinite(hi)
        cap[active] = np.where(ok[active], x[active], np.nan)
        out[sl] = cap
        per_s = f.seconds / max(1, f.evaluated)
        done += st.size
        rep.update(done)
    return out


class _Probe:
    """``loading(P) − limit`` of a chunk's scenarios ``idx`` with ``P`` MW (at the power factor) added at
    each scenario's probe load; a failed power flow counts as far above the limit (``inf``)."""

    def __init__(self, engine: Any, base: Injections, probe: np.ndarray, elem: np.ndarray, limit: np.ndarray,
                 el: _Elements, tan_phi: float, rep: Reporter, done: int) -> None:
        self.engine, self.base, self.probe, self.elem, self.limit = engine, base, probe, elem, limit
        self.el, self.tan_phi, self.rep, self.done = el, tan_phi, rep, done
        self.seconds, self.evaluated = 0.0, 0  # power-flow time and scenarios, for the next chunk's size

    def __call__(self, p: np.ndarray, idx: np.ndarray) -> np.ndarray:
        self.rep.check(self.done)
        started = perf_counter()
        base = self.base
        inj = copy.copy(base)
        inj.load_p = base.load_p[idx].copy()
        inj.load_q = base.load_q[idx].copy()
        for name in ("sgen_p", "sgen_q", "storage_p", "storage_q"):
            setattr(inj, name, getattr(base, name)[idx])
        rows = np.arange(idx.size)
        inj.load_p[rows, self.probe[idx]] = p
        inj.load_q[rows, self.probe[idx]] = p * self.tan_phi
        res = self.engine.run(inj)
        self.seconds += perf_counter() - started
        self.evaluated += idx.size
        loading, _ = _measure(res, self.el)
        val = loading[rows, self.elem[idx]] - self.limit[idx]
        return np.where(res.failed | ~np.isfinite(val), np.inf, val)


def _raise_failed(net: Any, prof: Any, rows: np.ndarray, res: Any) -> None:
    from ..errors import ConvergenceError

    bad = rows[res.failed]
    labels = ", ".join(str(prof.time[s]) for s in bad[:5])
    raise ConvergenceError(f"the power flow of {getattr(net, 'name', '') or 'the network'} did not converge at "
                           f"{bad.size} profile step(s): {labels}{' ...' if bad.size > 5 else ''}")


def seasonal_frame(ds: Any) -> pd.DataFrame:
    """The curves as a long table: one row per element, season and hour (customer columns repeated)."""
    cols = [c for c in ("load_mva", "loading_percent", "time", "headroom_mva", "open_capacity_mw",
                        "own_open_capacity_mw", "binding_level", "binding_element") if c in ds]
    frame = ds[cols].to_dataframe().reset_index()
    meta = pd.DataFrame({c: ds[c].to_numpy() for c in ("level", "section", "element_id", "name", "bus", "rating_mva",
                                                       "limit_percent", "reserved_mw", "upstream") if c in ds},
                        index=ds["element"].to_numpy())
    for c in ("customer_open_capacity_mw", "customer_binding_season", "customer_binding_hour"):
        if c in ds:
            meta[c] = ds[c].to_numpy()
    frame = frame.drop(columns=[c for c in meta.columns if c in frame.columns])
    frame = frame.join(meta, on="element")
    if "customer_shape" in ds:
        shape = dict(zip(ds["hour"].to_numpy().tolist(), ds["customer_shape"].to_numpy().tolist(), strict=True))
        frame["customer_shape"] = frame["hour"].map(shape)
    lead = ["element", "level", "element_id", "name", "season", "hour"]
    return frame[lead + [c for c in frame.columns if c not in lead]]


def _clock(hour: float) -> str:
    minutes = round(float(hour) * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def seasonal_text(ds: Any, *, head: int = 10) -> str:
    """A short text of the curves: per element the smallest and largest open capacity over the typical days
    (with season and time) and, with a customer shape, its largest peak; ``head`` elements at most."""
    lines = [f"seasonal open capacity of {ds.attrs.get('network', '?')} (typical day = worst day per season "
             f"and {'quarter-hour' if ds.attrs.get('resolution') == 'quarter' else 'hour'}; MW at pf "
             f"{ds.attrs.get('pf', LOAD_PF):g}; {ds.sizes['element']} elements)"]
    cap = ds["open_capacity_mw"]
    for element in ds["element"].to_numpy()[:head]:
        c = cap.sel(element=element)
        if not bool(c.notnull().any()):
            lines.append(f"  {element}: no profile steps")
            continue
        lo = c.where(c.notnull(), np.inf).argmin(["season", "hour"])
        hi = c.where(c.notnull(), -np.inf).argmax(["season", "hour"])
        lo_s, lo_h = str(ds["season"][int(lo["season"])].item()), ds["hour"][int(lo["hour"])].item()
        hi_s, hi_h = str(ds["season"][int(hi["season"])].item()), ds["hour"][int(hi["hour"])].item()
        by = ""
        if "binding_element" in ds:
            b = str(ds["binding_element"].sel(element=element).isel(lo).item())
            by = f", bound by {b}" if b and b != str(element) else ""
        text = (f"  {element}: min {float(c.isel(lo)):.3f} MW ({lo_s} {_clock(lo_h)}{by}), "
                f"max {float(c.isel(hi)):.3f} MW ({hi_s} {_clock(hi_h)})")
        if "customer_open_capacity_mw" in ds:
            e = ds.sel(element=element)
            text += (f"; {ds.attrs.get('customer', 'customer')} customer up to "
                     f"{float(e['customer_open_capacity_mw']):.3f} MW peak (binds "
                     f"{e['customer_binding_season'].item()} {_clock(float(e['customer_binding_hour']))})")
        lines.append(text)
    if ds.sizes["element"] > head:
        lines.append(f"  ... and {ds.sizes['element'] - head} more")
    return "\n".join(lines)


def write_seasonal(ds: Any, path: str | os.PathLike[str], *, lang: str = "en", overwrite: bool = False) -> Path:
    """Write seasonal curves as NetCDF (``.nc``) or as a long CSV table (``.csv``), atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`seasonal_open_capacity`.
    path : path-like
        ``.nc``: the dataset (h5netcdf); ``.csv``: :func:`seasonal_frame`, text cells formula-safe.
    lang : {"en", "zh"}
        CSV headers and season / level names (:data:`COLUMNS_ZH`; UTF-8 with a byte-order mark for ``zh``).
    overwrite : bool
        Replace an existing file (CLI ``--force``).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InputError
        Another suffix or language, or an existing file without ``overwrite``.
    """
    key = check_lang(lang)
    suffix = Path(path).suffix.lower()
    if suffix == ".nc":
        out = ds.copy()
        for c in ("level", "section", "name", "element", "season", "customer_binding_season", "binding_level",
                  "binding_element", "upstream"):
            if c in out.variables:
                out[c] = out[c].astype(str)
        return write_netcdf(out, path, overwrite=overwrite)
    if suffix == ".csv":
        frame = seasonal_frame(ds)
        if key == "zh":
            frame = frame.copy()
            frame["season"] = frame["season"].map(lambda v: SEASONS_ZH.get(v, v))
            frame["level"] = frame["level"].map(lambda v: LEVELS_ZH.get(v, v))
            if "binding_level" in frame.columns:
                frame["binding_level"] = frame["binding_level"].map(lambda v: LEVELS_ZH.get(v, v))
            if "customer_binding_season" in frame.columns:
                frame["customer_binding_season"] = frame["customer_binding_season"].map(
                    lambda v: SEASONS_ZH.get(v, v))
            frame = frame.rename(columns={c: COLUMNS_ZH.get(c, c) for c in frame.columns})
        safe = safe_frame(frame)
        encoding = "utf-8-sig" if key == "zh" else "utf-8"
        return atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False, encoding=encoding),
                            overwrite=overwrite)
    raise InputError(f"seasonal curves are written as .nc or .csv, got {os.fspath(path)!r}")

