"""The upstream option: station equipment and supply lines as failing components (off by default).

By default everything upstream of the MV feeder breakers is supply, taken as perfectly reliable (the RBTS
convention, so the published results stay exact). :func:`add_upstream` appends to an :class:`Impact`, as
components with ``comp_is_upstream`` set, what DL/T 836 also counts (interruptions whatever their voltage
level) and PowerFactory reports as the upstream share:

**Main transformers** (their own ``lambda_per_yr`` / ``repair_h``: the ``main_transformer`` defaults unless the
net says otherwise). The busbar sections a unit feeds in the normal switch state (sections joined by closed
bus-bus switches) form its *section group*. When a unit fails:

* other units in the same group can carry the group's load within the short-time overload factor
  (:data:`~gridscope.settings.N1_OVERLOAD_FACTOR` × their rating, the capacity N-1's factor): nobody is
  interrupted (parallel units);
* else, when the station's other units can carry the whole station's load that way and a normally-open bus
  coupler joins the group to them: the group's feeders are off until the coupler is closed (its
  ``switching_h``; ``UPSTREAM`` duration class);
* else the group's feeders wait for the unit's repair (``REPAIR``).

**Station busbars** (``bus.lambda_per_yr`` / ``repair_h`` where given, else the ``station_busbar`` row of
:func:`~gridscope.grid.defaults.upstream_defaults`): a busbar fault takes the feeders leaving that busbar off
until repaired (its coupler protection keeps the other sections).

**Bus couplers** (closed bus-bus switches between station busbars; the switch's data where given, else the
``station_coupler`` row): a fault trips the sections on both sides; they are back once it is isolated
(``switching_h``). An open coupler's fault interrupts nobody.

**Supply lines** (lines with an end on a station's HV buses; their own line data): a fault interrupts every
station the line feeds unless the station has another supply line in service (then nobody: the other line is
taken to carry the station, not checked by power flow); else until repaired.

Loads are the planning load: ``p_mw × scaling`` and ``q_mvar`` of the loads below each feeder. Feeders, load
points and zones are the impact's own; the supply boundary in the attrs says what was included.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..grid.defaults import upstream_defaults
from ..grid.facts import element_names, in_service, trafo_rating_mva
from ..grid.stations import Stations, build_stations
from ..grid.topology import Topology, build_topology
from ..settings import N1_OVERLOAD_FACTOR
from .codes import DurationClass
from .impact import Impact

__all__ = ["UPSTREAM_BOUNDARY", "add_upstream"]

#: What ``impact.attrs["supply_boundary"]`` says with the option on.
UPSTREAM_BOUNDARY = ("supply: the external grid(s) and the HV network beyond the stations' supply lines; main "
                     "transformers, station busbars, bus couplers and the supply lines are failing components "
                     "(upstream option)")


def _numbers(df: pd.DataFrame, column: str, rows: Any) -> np.ndarray:
    if column not in df.columns:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(df.loc[rows, column], errors="coerce").to_numpy(dtype=float)


def _given(values: np.ndarray, default: float) -> np.ndarray:
    """The net's values where it gives one (> 0), else the default (the data contract's 0 means "not given")."""
    return np.where(np.isfinite(values) & (values > 0), values, default)


class _Feeders:
    """Load positions and planning MVA per feeder of an impact."""

    def __init__(self, net: Any, impact: Impact) -> None:
        load = net.load.loc[impact.load_index]
        scaling = pd.to_numeric(load["scaling"], errors="coerce").fillna(1.0).to_numpy() \
            if "scaling" in load else 1.0
        p = load["p_mw"].to_numpy(dtype=float) * scaling
        q = load["q_mvar"].to_numpy(dtype=float) * scaling if "q_mvar" in load else np.zeros_like(p)
        n_f = len(impact.feeders)
        self.p = np.bincount(impact.load_feeder, weights=p, minlength=n_f)
        self.q = np.bincount(impact.load_feeder, weights=q, minlength=n_f)
        self.impact = impact

    def mva(self, feeders: Any) -> float:
        f = np.asarray(list(feeders), dtype=np.int64)
        return float(math.hypot(self.p[f].sum(), self.q[f].sum())) if f.size else 0.0

    def ranges(self, feeders: Any) -> list[tuple[int, int]]:
        """The load positions of ``feeders`` as half-open runs ``[lo, hi)``."""
        mask = np.isin(self.impact.load_feeder, np.asarray(list(feeders), dtype=np.int64))
        if not mask.any():
            return []
        edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
        return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _section_groups(net: Any, st: pd.Series, couplers_closed: Mapping[int, bool]) -> dict[int, int]:
    """Group id per busbar of a station: busbars joined by closed couplers share one."""
    parent = {int(b): int(b) for b in st["busbars"]}

    def find(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    for c in st["couplers"]:
        if couplers_closed[int(c)]:
            a, b = int(net.switch.at[c, "bus"]), int(net.switch.at[c, "element"])
            parent[find(a)] = find(b)
    return {b: find(b) for b in parent}


def _feeders_on(stations: Stations, topo: Topology, buses: set[int]) -> list[int]:
    heads = topo.feeders["station_bus"].to_numpy(dtype=np.int64) if len(topo.feeders) else np.zeros(0, np.int64)
    return [int(f) for f in np.flatnonzero(np.isin(heads, list(buses)))]


def add_upstream(impact: Impact, net: Any, *, topology: Topology | None = None,
                 overload_factor: float = N1_OVERLOAD_FACTOR, data: Mapping[str, Mapping[str, float]] | None = None
                 ) -> Impact:
    """``impact`` with the stations' equipment and supply lines appended as upstream components.

    Parameters
    ----------
    impact : Impact
        From :func:`~gridscope.reliability.impact.build_impact` on ``net`` (not modified).
    net : pandapowerNet
        The network.
    topology : Topology, optional
        ``net``'s topology (built if not given).
    overload_factor : float
        Short-time overload the remaining units may carry (× rating) after a unit fails.
    data : mapping, optional
        Overrides of :func:`~gridscope.grid.defaults.upstream_defaults`, e.g.
        ``{"station_busbar": {"lambda": 0.0}}``.

    Returns
    -------
    Impact
        A new impact; ``comp_is_upstream`` marks the added components, ``attrs["supply_boundary"]`` says
        what is included, ``attrs["upstream"]`` is ``True``.
    """
    if not (isinstance(overload_factor, int | float) and math.isfinite(overload_factor) and overload_factor > 0):
        raise InputError(f"overload_factor must be a positive number, got {overload_factor!r}")
    table = upstream_defaults()
    for kind, values in (data or {}).items():
        if kind not in table.index:
            raise InputError(f"unknown upstream data kind {kind!r}; known: {', '.join(table.index)}")
        for key, v in values.items():
            if key not in ("lambda", "repair_h", "switching_h") or not (math.isfinite(float(v)) and float(v) >= 0):
                raise InputError(f"upstream data {kind}.{key} = {v!r}: keys lambda, repair_h, switching_h, >= 0")
            table.loc[kind, key] = float(v)
    topo = topology if topology is not None else build_topology(net)
    stations = build_stations(net, topo)
    feeders = _Feeders(net, impact)
    comps: list[dict[str, Any]] = []

    def add(element: str, index: int, lam: float, repair_h: float, ranges: list[tuple[int, int]],
            kind: DurationClass, switch_h: float) -> None:
        if lam > 0 and ranges:
            comps.append({"element": element, "index": int(index), "lam": float(lam), "repair_h": float(repair_h),
                          "ranges": ranges, "kind": int(kind), "switch_h": float(switch_h)})

    closed = net.switch["closed"].astype(bool) if len(net.switch) else pd.Series(dtype=bool)
    rating = trafo_rating_mva(net)
    sw_h = pd.to_numeric(net.switch.get("switching_h", pd.Series(dtype=float)), errors="coerce")
    for s, st in stations.table.iterrows():
        group_of = _section_groups(net, st, closed)
        units = stations.unit_table[stations.unit_table["station"] == s]
        station_feeders = list(st["feeders"])
        station_mva = feeders.mva(station_feeders)
        open_couplers = [int(c) for c, cl in zip(st["couplers"], st["couplers_closed"], strict=True) if not cl]
        coupler_h = float(_given(sw_h.reindex(open_couplers).to_numpy(dtype=float),
                                 table.at["station_coupler", "switching_h"]).min()) if open_couplers else math.inf
        lam_u = _numbers(net.trafo, "lambda_per_yr", units["trafo"])
        rep_u = _numbers(net.trafo, "repair_h", units["trafo"])
        for k, u in enumerate(units.itertuples()):
            g = group_of[int(u.lv_bus)]
            g_buses = {b for b, gg in group_of.items() if gg == g}
            g_feeders = _feeders_on(stations, topo, g_buses)
            others = units[units["trafo"] != u.trafo]
            same = others[[group_of[int(b)] == g for b in others["lv_bus"]]]
            if len(same) and feeders.mva(g_feeders) <= overload_factor * float(rating.reindex(same["trafo"]).sum()):
                continue  # parallel units carry the group: nobody is interrupted
            ranges = feeders.ranges(g_feeders)
            if (len(others) and open_couplers
                    and station_mva <= overload_factor * float(rating.reindex(others["trafo"]).sum())):
                add("trafo", u.trafo, lam_u[k], rep_u[k], ranges, DurationClass.UPSTREAM, coupler_h)
            else:
                add("trafo", u.trafo, lam_u[k], rep_u[k], ranges, DurationClass.REPAIR, 0.0)
        busbars = list(st["busbars"])
        lam_b = _given(_numbers(net.bus, "lambda_per_yr", busbars), table.at["station_busbar", "lambda"])
        rep_b = _given(_numbers(net.bus, "repair_h", busbars), table.at["station_busbar", "repair_h"])
        for k, b in enumerate(busbars):
            add("bus", b, lam_b[k], rep_b[k], feeders.ranges(_feeders_on(stations, topo, {b})),
                DurationClass.REPAIR, 0.0)
        shut = [int(c) for c, cl in zip(st["couplers"], st["couplers_closed"], strict=True) if cl]
        lam_c = _given(_numbers(net.switch, "lambda_per_yr", shut), table.at["station_coupler", "lambda"])
        rep_c = _given(_numbers(net.switch, "repair_h", shut), table.at["station_coupler", "repair_h"])
        h_c = _given(sw_h.reindex(shut).to_numpy(dtype=float), table.at["station_coupler", "switching_h"])
        for k, c in enumerate(shut):
            ends = {int(net.switch.at[c, "bus"]), int(net.switch.at[c, "element"])}
            add("switch", c, lam_c[k], rep_c[k], feeders.ranges(_feeders_on(stations, topo, ends)),
                DurationClass.UPSTREAM, h_c[k])
    _add_supply_lines(net, stations, feeders, add)
    return _appended(impact, net, comps)


def _add_supply_lines(net: Any, stations: Stations, feeders: _Feeders, add: Any) -> None:
    fed: dict[int, list[int]] = {}
    for s, st in stations.table.iterrows():
        for ln in st["supply_lines"]:
            fed.setdefault(int(ln), []).append(int(s))
    if not fed:
        return
    ok = pd.Series(in_service(net.line), index=net.line.index)
    lines = sorted(fed)
    lam = _numbers(net.line, "lambda_per_km", lines) * _numbers(net.line, "length_km", lines)
    rep = _numbers(net.line, "repair_h", lines)
    for k, ln in enumerate(lines):
        alone = [s for s in fed[ln]
                 if sum(bool(ok.get(x, False)) for x in stations.table.at[s, "supply_lines"]) < 2]
        station_feeders = [f for s in alone for f in stations.table.at[s, "feeders"]]
        if np.isfinite(lam[k]):
            add("line", ln, lam[k], rep[k], feeders.ranges(station_feeders), DurationClass.REPAIR, 0.0)


def _appended(impact: Impact, net: Any, comps: list[dict[str, Any]]) -> Impact:
    """A new Impact: ``impact``'s arrays with ``comps`` appended (CSR ranges kept in order)."""
    n_new = len(comps)
    counts = np.array([len(c["ranges"]) for c in comps], dtype=np.int64)
    lo = np.array([r[0] for c in comps for r in c["ranges"]], dtype=np.int64)
    hi = np.array([r[1] for c in comps for r in c["ranges"]], dtype=np.int64)
    kind = np.repeat(np.array([c["kind"] for c in comps], dtype=np.int8), counts)
    sw = np.repeat(np.array([c["switch_h"] for c in comps], dtype=float), counts)
    names = []
    for c in comps:
        label = element_names(net[c["element"]]).get(c["index"], "")
        names.append(label if label else None)
    was_up = impact.comp_is_upstream if impact.comp_is_upstream is not None else np.zeros(impact.n_comp, bool)
    attrs = dict(impact.attrs)
    attrs["supply_boundary"] = UPSTREAM_BOUNDARY
    attrs["upstream"] = True
    return replace(
        impact,
        comp_element=np.concatenate([impact.comp_element, np.array([c["element"] for c in comps],
                                                                   dtype=impact.comp_element.dtype)]),
        comp_index=np.concatenate([impact.comp_index, np.array([c["index"] for c in comps], dtype=np.int64)]),
        comp_name=np.concatenate([impact.comp_name, np.array(names, dtype=object)]),
        comp_feeder=np.concatenate([impact.comp_feeder, np.full(n_new, -1, dtype=np.int64)]),
        comp_lambda=np.concatenate([impact.comp_lambda, np.array([c["lam"] for c in comps], dtype=float)]),
        comp_repair_h=np.concatenate([impact.comp_repair_h, np.array([c["repair_h"] for c in comps], dtype=float)]),
        comp_planned_per_yr=np.concatenate([impact.comp_planned_per_yr, np.zeros(n_new)]),
        comp_planned_h=np.concatenate([impact.comp_planned_h, np.zeros(n_new)]),
        ptr=np.concatenate([impact.ptr, impact.ptr[-1] + np.cumsum(counts)]),
        iv_lo=np.concatenate([impact.iv_lo, lo]), iv_hi=np.concatenate([impact.iv_hi, hi]),
        iv_kind=np.concatenate([impact.iv_kind, kind]).astype(impact.iv_kind.dtype),
        iv_switch_h=np.concatenate([impact.iv_switch_h, sw]),
        comp_is_upstream=np.concatenate([was_up, np.ones(n_new, dtype=bool)]), attrs=attrs)
