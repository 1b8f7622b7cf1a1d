"""Connection evaluation (就近接入 / 先接入、后改造): where and whether a new load can be connected.

Decision rules at the chosen connection point (the best-ranked candidate, or the bus given):

* ``connect`` -- the request fits within the planning limits (lines 70 %, transformers 80 %, every bus within
  the voltage band of its level, :mod:`.voltage`: ±7 % below 35 kV, 0.90..1.10 pu at 35 kV and above, +7 % / -10 %
  at 220 V single-phase):
  ``p_mw <= open_capacity_mw`` of :func:`~gridscope.capacity.bus_capacity.bus_open_capacity`;
* ``connect_then_reinforce`` (先接入、后改造) -- it fits within the physical limits (100 %, voltage band) but
  exceeds planning limits: ``reinforcements`` lists every element above its planning limit after the
  connection, its loading before and after, the limit and a suggested action (conductor upgrade to a named
  rating, the next standard transformer size, or a load transfer through a named tie to a feeder with room);
* ``reject`` -- even at the best point a physical limit would be violated: ``violations`` says which.

Candidates are ranked (就近接入): first those where the request fits the planning limits, then those where it
fits the physical limits, then the rest; within a group by distance (geographic from the bus coordinates, or
electrical -- the impedance of the path between the buses -- when there are none), then by open capacity.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from ..grid.defaults import with_pandapower_defaults
from ..grid.facts import (
    bus_xy,
    coords_are_lonlat,
    element_name,
    in_service,
    line_rating_ka,
    line_rating_mva,
    q_from_pf,
    trafo_rating_mva,
)
from ..grid.io import network_hash
from ..grid.topology import EdgeKind, build_topology
from ..progress import ProgressCallback, Reporter
from ..reliability.api import assess_reliability
from ..settings import LOAD_PF
from .api import validated_topology
from .bus_capacity import (
    WORSE_TOL_MVA,
    WORSE_TOL_PERCENT,
    WORSE_TOL_PU,
    ACModel,
    Constraints,
    bus_open_capacity,
    check_buses,
)
from .export import export_tables
from .open_capacity import Limits

__all__ = ["DECISIONS", "ConnectionDecision", "evaluate_connection"]

#: The decisions, best first (candidates are ranked in this order).
DECISIONS = ("connect", "connect_then_reinforce", "reject")
#: Standard transformer sizes (MVA) used to suggest a replacement.
DISTRIBUTION_SIZES_MVA = (0.1, 0.16, 0.2, 0.25, 0.315, 0.4, 0.5, 0.63, 0.8, 1.0, 1.25, 1.6, 2.0, 2.5, 3.15)
MAIN_SIZES_MVA = (20.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 120.0, 180.0, 240.0)
_EARTH_KM = 6371.0


@dataclass(eq=False)
class ConnectionDecision:
    """Result of :func:`evaluate_connection`.

    Attributes
    ----------
    decision : str
        ``"connect"``, ``"connect_then_reinforce"`` or ``"reject"``.
    bus : int
        The connection point the decision is for.
    p_mw, q_mvar, pf : float
        The request.
    candidates : pandas.DataFrame
        Ranked candidate points: ``rank``, ``bus``, ``name``, ``voltage_kv``, ``feeder``, ``distance_km``,
        ``distance_kind``, ``open_capacity_mw``, ``physical_capacity_mw``, ``decision``, ``binding``,
        ``binding_element``.
    reinforcements : pandas.DataFrame
        For ``connect_then_reinforce``: ``element``, ``index``, ``name``, ``kind``, ``value_before``,
        ``value_after``, ``limit``, ``action``.
    violations : pandas.DataFrame
        For ``reject``: the physical limits violated at the chosen point (same columns).
    message : str
        One-sentence explanation.
    reliability : dict or None
        System SAIFI / SAIDI / ENS before and after (``reliability=True``).
    meta : dict
        Network name and hash, date, version, limits.
    """

    decision: str
    bus: int
    p_mw: float
    q_mvar: float
    pf: float
    candidates: pd.DataFrame
    reinforcements: pd.DataFrame
    violations: pd.DataFrame
    message: str
    reliability: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """Decision, message, the best candidates and the reinforcements as text."""
        lines = [f"decision: {self.decision} at bus {self.bus} for {self.p_mw:g} MW (pf {self.pf:g})",
                 self.message]
        if len(self.candidates):
            cols = ["rank", "bus", "name", "distance_km", "open_capacity_mw", "physical_capacity_mw", "decision"]
            lines += ["candidates:", self.candidates[cols].head(10).to_string(index=False)]
        if len(self.reinforcements):
            lines += ["reinforcements:", self.reinforcements.to_string(index=False)]
        if len(self.violations):
            lines += ["violations:", self.violations.to_string(index=False)]
        if self.reliability:
            lines.append("reliability: " + ", ".join(f"{k} {v:.4g}" for k, v in self.reliability.items()))
        return "\n".join(lines)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The candidate, reinforcement and violation tables by name (for the export writer)."""
        return {"candidates": self.candidates, "reinforcements": self.reinforcements,
                "violations": self.violations}

    def to_excel(self, path: str | os.PathLike[str], *, lang: str = "en", overwrite: bool = False) -> Any:
        """Write the tables and the metadata (one sheet each) with the shared export writer."""
        return export_tables(self.tables(), self._metadata(), path, fmt="xlsx", lang=lang, overwrite=overwrite)

    def to_json(self, path: str | os.PathLike[str], *, lang: str = "en", overwrite: bool = False) -> Any:
        """Write the tables and the metadata as JSON."""
        return export_tables(self.tables(), self._metadata(), path, fmt="json", lang=lang, overwrite=overwrite)

    def _metadata(self) -> dict[str, Any]:
        return {**self.meta, "decision": self.decision, "bus": self.bus, "p_mw": self.p_mw, "pf": self.pf,
                "message": self.message}

    def __repr__(self) -> str:
        return f"ConnectionDecision({self.decision!r}, bus={self.bus}, p_mw={self.p_mw:g})"


# ---------------------------------------------------------------------------------------------- geometry
def _distance_km(xy: pd.DataFrame, x: float, y: float, lonlat: bool) -> np.ndarray:
    bx, by = xy["x"].to_numpy(dtype=float), xy["y"].to_numpy(dtype=float)
    if lonlat:
        p1, p2 = np.radians(by), np.radians(y)
        dphi, dlmb = p2 - p1, np.radians(x - bx)
        a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
        return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    return np.hypot(bx - x, by - y)


def _electrical_distance(net: Any, topo: Any, ref_bus: int, buses: np.ndarray) -> np.ndarray:
    """|Z| (ohm, referred to each bus's own voltage) of the radial path between ``ref_bus`` and each bus."""
    z = np.zeros(topo.n_edge, complex)
    le = topo.element_edges("line")
    if le.size:
        ln = net.line
        z[le] = ((ln["r_ohm_per_km"] + 1j * ln["x_ohm_per_km"]) * ln["length_km"] / ln["parallel"]).to_numpy()
        vn = net.bus["vn_kv"].reindex(ln["from_bus"]).to_numpy(dtype=float)
        z[le] = z[le] / vn**2  # per unit on 1 MVA
    te = topo.element_edges("trafo")
    if te.size:
        tr = net.trafo
        vk, vkr = tr["vk_percent"].to_numpy(float) / 100, tr["vkr_percent"].to_numpy(float) / 100
        z[te] = (vkr + 1j * np.sqrt(np.maximum(vk**2 - vkr**2, 0))) / tr["sn_mva"].to_numpy(float)
    keep = np.isin(topo.edge_kind, [EdgeKind.LINE, EdgeKind.TRAFO])
    z = np.where(keep, z, 0)

    def ancestors(node: int) -> dict[int, complex]:
        out, acc = {}, 0j
        n = node
        while n >= 0:
            out[n] = acc
            e = topo.parent_edge[n]
            if e < 0:
                break
            acc += z[e]
            n = topo.parent_node[n]
        return out

    ref = ancestors(int(topo.bus_node(ref_bus)[0]))
    dist = np.full(len(buses), np.inf)
    for k, b in enumerate(buses):
        n = int(topo.bus_node(b)[0])
        acc = 0j
        while n >= 0 and n not in ref:
            e = topo.parent_edge[n]
            if e < 0:
                n = -1
                break
            acc += z[e]
            n = topo.parent_node[n]
        if n >= 0:
            vn = float(net.bus.at[b, "vn_kv"])
            dist[k] = abs(acc + ref[n]) * vn**2
    return dist


# ---------------------------------------------------------------------------------------------- main
def evaluate_connection(net: Any, p_mw: float, *, bus: int | None = None,
                        location: tuple[float, float] | None = None, pf: float = LOAD_PF,
                        radius: float | None = None, n_candidates: int = 10, crs: str = "auto",
                        voltage_kv: float | None = None, scaling: float = 1.0, include_sgen: bool = False,
                        limits: Limits | None = None, reliability: bool = False, topology: Any = None,
                        model: ACModel | None = None, impact: Any = None, peak: Any = None,
                        validate: bool = True, progress: ProgressCallback | None = None,
                        cancel: Callable[[], bool] | None = None) -> ConnectionDecision:
    """Evaluate connecting a load of ``p_mw`` at a bus or near a location.

    Parameters
    ----------
    net : pandapowerNet
        The network; not modified.
    p_mw : float
        Requested active power (MW), > 0.
    bus : int, optional
        Connect at this bus (with ``radius``: also consider the buses within ``radius`` of it).
    location : (float, float), optional
        Connect near this point (same coordinates as the buses'); candidates are the nearest buses.
    pf : float
        Power factor of the load (lagging), in (0, 1].
    radius : float, optional
        Candidates within this distance (km; coordinate units for schematic coordinates).
    n_candidates : int
        At most this many candidates (nearest first).
    crs : {"auto", "lonlat", "xy"}
        Bus coordinates in degrees (distances by the haversine formula) or plane units (km).
    voltage_kv : float, optional
        Only buses at this nominal voltage are candidates (default: medium voltage, 1-36 kV, or the voltage of
        ``bus``).
    scaling, include_sgen : float, bool
        Planning operating point (as :func:`gridscope.assess_capacity`).
    limits : Limits or None
        Planning and physical limits.
    reliability : bool
        Also compute system SAIFI / SAIDI / ENS before and after the connection (analytical method).
    topology : Topology or None
        Prebuilt topology of ``net``: used as it is (candidates, ranking, reserved capacity, reliability
        before), not rebuilt.
    model : ACModel or None
        A prepared AC model of ``net`` at this operating point (``scaling``, ``include_sgen``, ``limits``),
        e.g. cached by a :class:`gridscope.Study`: its planning power flow is not run again.
    impact : Impact or None
        Prebuilt failure-effect structure of ``net`` (without tie capacity) for the reliability before the
        connection; ``net`` is then not validated again.
    peak : PeakLoading or None
        Accepted for a uniform call from :class:`gridscope.Study`; the AC evaluation needs pandapower's
        admittance matrices with the reserved capacity added as load, so it runs its own planning power flow
        (through ``model``) and does not read ``peak``.
    validate : bool
        Refuse a network with problems that make the power flow or the capacity search wrong (the checks
        of :func:`gridscope.capacity.api.capacity_problems`) with one
        :class:`~gridscope.errors.ValidationError` listing all of them, before anything else is done.
    progress, cancel : callable, optional
        The progress protocol (:mod:`gridscope.progress`): records of ``what="connection steps"`` (model,
        candidates, decision, reliability); the candidate search checks ``cancel`` about every 100 ms.

    Returns
    -------
    ConnectionDecision

    Raises
    ------
    ValidationError
        ``validate`` and the network has capacity problems (see ``validate``).
    InputError
        Unknown bus, negative or absurd ``p_mw``, invalid ``pf``, neither or both of ``bus`` and ``location``,
        a location far outside the grid or without candidates within ``radius``, no bus coordinates for a
        ``location``.
    ConvergenceError
        The network's own power flow does not converge.
    CancelledError
        ``cancel`` returned True.
    """
    del peak  # see the docstring: the AC model runs its own planning power flow
    net = with_pandapower_defaults(net)
    if validate:
        topology = validated_topology(net, topology)
    limits = limits or Limits()
    problems = []
    try:
        p = float(p_mw)
    except (TypeError, ValueError):
        raise InputError(f"p_mw must be a number, got {p_mw!r}") from None
    total_load = float((pd.to_numeric(net.load["p_mw"], errors="coerce")
                        * pd.to_numeric(net.load["scaling"], errors="coerce")).sum()) if len(net.load) else 0.0
    absurd = max(1000.0, 100.0 * total_load)
    if not math.isfinite(p) or p <= 0:
        problems.append(f"p_mw must be a positive number, got {p_mw!r}")
    elif p > absurd:
        problems.append(f"p_mw = {p:g} MW is absurd for this network (total load {total_load:.3g} MW; "
                        f"the limit is {absurd:g} MW)")
    if not (isinstance(pf, int | float) and 0 < pf <= 1):
        problems.append(f"pf must be in (0, 1], got {pf!r}")
    if (bus is None) == (location is None):
        problems.append("give exactly one of bus= and location=(x, y)")
    if radius is not None and not (isinstance(radius, int | float) and radius > 0 and math.isfinite(radius)):
        problems.append(f"radius must be a positive number, got {radius!r}")
    if crs not in ("auto", "lonlat", "xy"):
        problems.append(f"crs must be 'auto', 'lonlat' or 'xy', got {crs!r}")
    if location is not None:
        try:
            lx, ly = (float(v) for v in location)
            if not (math.isfinite(lx) and math.isfinite(ly)):
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"location must be two finite numbers (x, y), got {location!r}")
    if problems:
        raise InputError("; ".join(problems))
    if bus is not None:
        check_buses(net, np.array([bus]))
    q = q_from_pf(p, pf)
    rep = Reporter("connection steps", 4 if reliability else 3, progress=progress, cancel=cancel)
    rep.update(0, force=True)
    topo = topology if topology is not None else build_topology(net)
    xy = bus_xy(net)
    has_xy = xy.notna().all(axis=1)
    lonlat = crs == "lonlat" or (crs == "auto" and coords_are_lonlat(xy[has_xy]))
    energised = pd.Series(topo.energised[: topo.n_bus], index=net.bus.index)
    vn = net.bus["vn_kv"].astype(float)
    if voltage_kv is not None:
        level = (vn - float(voltage_kv)).abs() <= 0.01 * float(voltage_kv)
    elif bus is not None:
        level = (vn - vn[bus]).abs() <= 0.01 * vn[bus]
    else:
        level = (vn >= 1.0) & (vn <= topo.radial_max_kv)
    pool = net.bus.index[energised & level & in_service(net.bus)]

    if location is not None:
        if not has_xy.any():
            raise InputError("the network has no bus coordinates: give bus= instead of location=")
        pts = xy.loc[pool[has_xy[pool]]]
        d = pd.Series(_distance_km(pts, lx, ly, lonlat), index=pts.index).sort_values(kind="stable")
        if not len(d):
            raise InputError("no candidate bus with coordinates at the requested voltage level")
        allxy = xy[has_xy]
        diag = float(np.max(_distance_km(allxy, float(allxy["x"].min()), float(allxy["y"].min()), lonlat)))
        far = max(2.0 * diag, 1.0)
        if radius is None and d.iloc[0] > far:
            raise InputError(f"location ({lx:g}, {ly:g}) is far outside the grid: the nearest bus "
                             f"({d.index[0]}) is {d.iloc[0]:.3g} km away, the grid spans {diag:.3g} km")
        if radius is not None:
            inside = d[d <= radius]
            if not len(inside):
                raise InputError(f"no connection point within {radius:g} km of ({lx:g}, {ly:g}); the nearest "
                                 f"is bus {d.index[0]} at {d.iloc[0]:.3g} km")
            d = inside
        d = d.iloc[:n_candidates]
        kind = "geographic"
    else:
        if radius is not None and has_xy[bus]:
            pts = xy.loc[pool[has_xy[pool]]]
            d = pd.Series(_distance_km(pts, float(xy.at[bus, "x"]), float(xy.at[bus, "y"]), lonlat),
                          index=pts.index).sort_values(kind="stable")
            d = d[d <= radius].iloc[:n_candidates]
            kind = "geographic"
        elif radius is not None:
            others = pool.to_numpy()
            ed = pd.Series(_electrical_distance(net, topo, int(bus), others), index=others)
            d = ed[np.isfinite(ed)].sort_values(kind="stable").iloc[:n_candidates]
            kind = "electrical (ohm)"
        else:
            d = pd.Series([0.0], index=[bus])
            kind = "given"
        if bus not in d.index:
            d = pd.concat([pd.Series([0.0], index=[bus]), d])

    if model is None:
        model = ACModel(net, scaling=scaling, include_sgen=include_sgen, limits=limits, topology=topo)
    cons = Constraints(model, limits, topo)
    rep.check(1)
    rep.update(1)
    cand_buses = d.index.to_numpy(dtype=np.int64)
    cap = bus_open_capacity(net, cand_buses, pf=pf, limits=limits, physical=True, model=model, constraints=cons,
                            topology=topo, cancel=cancel)
    if p >= float(cap.attrs.get("p_max_mw", np.inf)):
        # the search stops at its bound (by default about ten times the network's load): a capacity found "at
        # the bound" would read as a reject of a larger request that fits; search again up to twice the request
        cap = bus_open_capacity(net, cand_buses, pf=pf, limits=limits, physical=True, model=model,
                                constraints=cons, topology=topo, cancel=cancel, p_max_mw=2.0 * p)
    rep.update(2)
    fe = topo.feeder_name_of(net, "bus")
    cand = pd.DataFrame({
        "bus": cand_buses,
        "name": net.bus["name"].reindex(cand_buses).to_numpy() if "name" in net.bus else None,
        "voltage_kv": vn.reindex(cand_buses).to_numpy(),
        "feeder": fe.reindex(cand_buses).to_numpy(),
        "distance_km": d.to_numpy(dtype=float),
        "distance_kind": kind,
        "open_capacity_mw": cap["open_capacity_mw"].to_numpy(),
        "physical_capacity_mw": cap["physical_capacity_mw"].to_numpy(),
    })
    cand["decision"] = np.where(cand["open_capacity_mw"] >= p, "connect",
                                np.where(cand["physical_capacity_mw"] >= p, "connect_then_reinforce", "reject"))
    cand["binding"] = np.where(cand["decision"] == "reject", cap["physical_binding"].to_numpy(),
                               cap["binding"].to_numpy())
    cand["binding_element"] = np.where(cand["decision"] == "reject", cap["physical_binding_element"].to_numpy(),
                                       cap["binding_element"].to_numpy())
    order = cand.assign(_g=cand["decision"].map({k: i for i, k in enumerate(DECISIONS)}),
                        _c=-cand["open_capacity_mw"])
    if bus is not None:
        order["_g"] = np.where(order["bus"] == bus, -1, order["_g"])  # the bus asked for is the point decided
    order = order.sort_values(["_g", "distance_km", "_c"], kind="stable")
    cand = order.drop(columns=["_g", "_c"]).reset_index(drop=True)
    cand.insert(0, "rank", np.arange(1, len(cand) + 1))
    best = cand.iloc[0]
    chosen = int(best["bus"])
    decision = str(best["decision"])

    ev = model.evaluate(np.array([chosen]), np.array([p]), np.array([q]))
    reinf = _exceeded(net, topo, cons, ev, physical=False, limits=limits)
    viol = _exceeded(net, topo, cons, ev, physical=True, limits=limits)
    reinforcements = reinf if decision == "connect_then_reinforce" else reinf.iloc[0:0]
    violations = viol if decision == "reject" else viol.iloc[0:0]
    # "line loading 70 % at line 0 (L0)"; a search that met no limit has no element ("none up to the search limit")
    where_binds = (f"{best['binding']} at {best['binding_element']}" if best["binding_element"]
                   else str(best["binding"]))
    if decision == "connect":
        msg = (f"{p:g} MW fits within the planning limits at bus {chosen} (open capacity "
               f"{best['open_capacity_mw']:.3g} MW, limited by {where_binds})")
    elif decision == "connect_then_reinforce":
        msg = (f"{p:g} MW fits within the physical limits at bus {chosen} (up to "
               f"{best['physical_capacity_mw']:.3g} MW) but exceeds the planning limits (open capacity "
               f"{best['open_capacity_mw']:.3g} MW): connect, then reinforce {len(reinforcements)} element(s)")
    else:
        where = "at the given bus" if bus is not None and len(cand) == 1 else "even at the best point"
        if not ev.converged[0]:
            msg = (f"{p:g} MW cannot be connected {where} (bus {chosen}): the power flow has no solution "
                   "(voltage collapse)")
        else:
            msg = (f"{p:g} MW violates physical limits {where} (bus {chosen}, up to "
                   f"{best['physical_capacity_mw']:.3g} MW possible): {where_binds}")
    rep.check(3)
    rep.update(3)
    rel = _reliability_impact(net, chosen, p, q, topology=topo, impact=impact) if reliability else None
    if reliability:
        rep.update(4)
    meta = {"network": str(getattr(net, "name", "") or "network"), "network_hash": network_hash(net),
            "date": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
            "gridscope_version": __version__, "scaling": scaling, "include_sgen": include_sgen,
            **{f"limit_{k}": v for k, v in limits.as_dict().items()}}
    return ConnectionDecision(decision=decision, bus=chosen, p_mw=p, q_mvar=q, pf=float(pf), candidates=cand,
                              reinforcements=reinforcements.reset_index(drop=True),
                              violations=violations.reset_index(drop=True), message=msg, reliability=rel,
                              meta=meta)


_REINF_COLUMNS = ["element", "index", "name", "kind", "value_before", "value_after", "limit", "action"]


def _exceeded(net: Any, topo: Any, cons: Any, ev: Any, *, physical: bool, limits: Limits) -> pd.DataFrame:
    """Every limit exceeded (and made worse) after the connection, with a suggested action."""
    rows = []
    base = cons.base
    if not ev.converged[0]:
        return pd.DataFrame([{"element": "network", "index": -1, "name": "", "kind": "no power-flow solution",
                              "value_before": np.nan, "value_after": np.nan, "limit": np.nan,
                              "action": "the request exceeds what the grid can supply at this point"}],
                            columns=_REINF_COLUMNS)
    spare = _feeder_spare(net, topo, cons, limits)
    ll, lb = ev.line_loading[:, 0], base.line_loading[:, 0]
    lim = np.full(ll.size, cons.phys) if physical else cons.line_plan
    rating_ka, rating_mva = line_rating_ka(net).to_numpy(), line_rating_mva(net).to_numpy()
    for k in np.flatnonzero((ll > lim) & (ll > lb + WORSE_TOL_PERCENT)):
        idx = net.line.index[k]
        i_now = float(rating_ka[k])
        need_a = ll[k] / lim[k] * i_now * 1000.0
        action = f"upgrade the conductor to at least {math.ceil(need_a):d} A (now {i_now * 1000:.0f} A)"
        excess = (ll[k] - lim[k]) / 100.0 * float(rating_mva[k])
        action += _transfer_hint(net, topo, "line", k, excess, spare)
        rows.append(("line", idx, element_name(net.line, idx), f"line loading > {lim[k]:g} %", lb[k], ll[k],
                     lim[k], action))
    tl, tb = ev.trafo_loading[:, 0], base.trafo_loading[:, 0]
    tlim = np.full(tl.size, cons.phys) if physical else cons.trafo_plan
    for k in np.flatnonzero((tl > tlim) & (tl > tb + WORSE_TOL_PERCENT)):
        idx = net.trafo.index[k]
        sn = float(net.trafo.at[idx, "sn_mva"])
        need = tl[k] / tlim[k] * sn
        sizes = MAIN_SIZES_MVA if cons.trafo_main[k] else DISTRIBUTION_SIZES_MVA
        size = next((s for s in sizes if s >= need - 1e-9), None)
        what = "main transformer" if cons.trafo_main[k] else "distribution transformer"
        action = (f"replace with a larger {what}: {size:g} MVA (needs {need:.3g} MVA, now {sn:g} MVA)" if size
                  else f"add a {what} unit or split the load (needs {need:.3g} MVA, now {sn:g} MVA)")
        rows.append(("trafo", idx, element_name(net.trafo, idx), f"{what} loading > {tlim[k]:g} %", tb[k], tl[k],
                     tlim[k], action))
    # each bus against the band of its own level (GB/T 12325-2008, :mod:`.voltage`): the same per-bus limits the
    # decision was taken with (±7 % below 35 kV, 0.90..1.10 pu at 35 kV and above, +7 % / -10 % at 220 V)
    vm, vb = ev.vm[:, 0], base.vm[:, 0]
    vmin, vmax = cons.vmin_bus, cons.vmax_bus
    low = (vm < vmin) & (vm < vb - WORSE_TOL_PU)
    for k in np.flatnonzero(low):
        idx = net.bus.index[k]
        rows.append(("bus", idx, element_name(net.bus, idx), f"voltage < {vmin[k]:g} pu", vb[k], vm[k], vmin[k],
                     "voltage support: reinforce the supply path, adjust the transformer tap or add "
                     "reactive compensation"))
    high = (vm > vmax) & (vm > vb + WORSE_TOL_PU)
    for k in np.flatnonzero(high):
        idx = net.bus.index[k]
        rows.append(("bus", idx, element_name(net.bus, idx), f"voltage > {vmax[k]:g} pu", vb[k], vm[k], vmax[k],
                     "voltage control: adjust the transformer tap or the reactive power"))
    er = cons.ext_rating
    if er.size:
        elim = er * (cons.phys if physical else cons.ext_limit_plan) / 100.0
        s_after, s_before = ev.ext_s[:, 0], base.ext_s[:, 0]
        for k in np.flatnonzero(np.isfinite(er) & (s_after > elim) & (s_after > s_before + WORSE_TOL_MVA)):
            idx = net.ext_grid.index[k]
            rows.append(("ext_grid", idx, element_name(net.ext_grid, idx), "supply above its rating", s_before[k],
                         s_after[k], elim[k], "increase the supply (substation) capacity"))
    return pd.DataFrame(rows, columns=_REINF_COLUMNS)


def _feeder_spare(net: Any, topo: Any, cons: Any, limits: Limits) -> np.ndarray:
    """Spare MVA of every feeder head at its planning limit (base case)."""
    nf = len(topo.feeders)
    spare = np.zeros(nf)
    for f in range(nf):
        e = int(topo.feeders.iloc[f]["head_edge"])
        # first line below the head
        node = int(topo.feeders.iloc[f]["head_node"])
        if topo.edge_kind[e] != EdgeKind.LINE:
            kids = np.flatnonzero((topo.parent_node == node) & (topo.edge_kind[np.maximum(topo.parent_edge, 0)]
                                                                 == EdgeKind.LINE))
            if not kids.size:
                continue
            e = int(topo.parent_edge[kids[0]])
        li = net.line.index.get_loc(int(topo.edge_element[e]))
        ld = cons.base.line_loading[li, 0]
        rating = float(cons.model.line_rating_mva[li])
        spare[f] = max(0.0, (limits.line_percent - ld) / 100.0 * rating) if np.isfinite(ld) else 0.0
    return np.minimum(spare, _station_spare(net, topo, cons, limits))


def _station_spare(net: Any, topo: Any, cons: Any, limits: Limits) -> np.ndarray:
    """Per feeder, the spare MVA of its station's main transformers (infinite outside a station).

    A transfer onto a feeder also loads the main transformers above it, so advice must not point into a
    feeder whose station is full (issue 11: "7.97 MVA spare" offered under a unit at 85.5 %).
    """
    from ..grid.stations import build_stations  # deferred: only a violated limit needs the stations

    out = np.full(len(topo.feeders), np.inf)
    stations = build_stations(net, topo)
    rating = trafo_rating_mva(net)
    for s, row in stations.table.iterrows():
        room = 0.0
        for ti in row["units"]:
            k = net.trafo.index.get_loc(ti)
            ld = cons.base.trafo_loading[k, 0]
            room += max(0.0, (limits.main_trafo_percent - ld) / 100.0 * float(rating.iloc[k])) \
                if np.isfinite(ld) else 0.0
        out[stations.feeder_station == s] = room
    return out


def _transfer_hint(net: Any, topo: Any, element: str, pos: int, excess_mva: float, spare: np.ndarray) -> str:
    """'; or transfer X MVA to feeder G through tie T' when a tie of the element's feeder leads to room."""
    node = topo.element_nodes(net, element)[pos]
    f = int(topo.feeder_of_node[node]) if node >= 0 else -1
    if f < 0 or not len(topo.ties):
        return ""
    best = None
    for _, t in topo.ties.iterrows():
        a, b = int(t["feeder_a"]), int(t["feeder_b"])
        if f not in (a, b) or a == b:
            continue
        g = b if a == f else a
        if g >= 0 and spare[g] > 0 and spare[g] >= excess_mva and (best is None or spare[g] > best[2]):
            best = (t["name"] if t["name"] else f"switch {int(t['switch'])}", topo.feeders.iloc[g]["name"], spare[g])
    if best is None:
        return ""
    return (f"; or transfer at least {excess_mva:.3g} MVA to feeder {best[1]} through tie {best[0]} "
            f"({best[2]:.3g} MVA spare there)")


def _reliability_impact(net: Any, bus: int, p: float, q: float, *, topology: Any = None,
                        impact: Any = None) -> dict[str, Any]:
    """Reliability impact of the connection (analytical method).

    System SAIFI / SAIDI / ENS before and after adding the load (one customer, average demand = ``p``: a
    conservative ENS), and the new customer's own expected interruptions and hours per year at ``bus``.
    Before: validated once, on the caller's topology (and impact, when given). After: the copy with the new
    load gets its own topology and impact, built once, not validated again (only a valid load was added).
    """
    import pandapower as pp  # deferred: heavy import

    after = copy.deepcopy(net)
    li = pp.create_load(after, bus, p_mw=p, q_mvar=q, name="connection")
    if "customers" in after.load.columns:
        after.load.at[li, "customers"] = 1
    if "p_avg_mw" in after.load.columns:
        after.load.at[li, "p_avg_mw"] = p
    before_kw = {"impact": impact, "validate": False} if impact is not None else {"validate": True}
    runs = (("before", assess_reliability(net, method="analytical", topology=topology, **before_kw)),
            ("after", assess_reliability(after, method="analytical", validate=False)))
    out: dict[str, Any] = {}
    for label, rel in runs:
        for idx in ("SAIFI", "SAIDI", "ENS"):
            out[f"{idx}_{label}"] = float(rel[idx].sel(zone="system"))
    rel_after = runs[1][1]
    out["new_customer_interruptions_per_yr"] = float(rel_after["lp_failure_rate"].sel(load=li))
    out["new_customer_hours_per_yr"] = float(rel_after["lp_unavailability"].sel(load=li))
    return out
