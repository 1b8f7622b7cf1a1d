"""What would help most against frequent interruptions (频繁停电治理): candidate devices ranked by CEMI-n.

Nothing is guessed: each candidate is added to a copy of the network, the failure-effect structure is rebuilt
and the analytical method re-run (DESIGN.md §3), and the candidate is ranked by how much it lowers the
system CEMI-n (share of customers with more than ``n`` interruptions a year, Poisson from the per-load-point
rates, :mod:`gridscope.reliability.frequent`). The candidates:

``fuse``
    a fuse at the upstream end of a line that has no switch there (a lateral's head): faults beyond it no
    longer trip the feeder;
``recloser``
    an existing closed sectionalising switch (``DS``/``LBS``/``LS``) made a breaker (``CB``, a recloser or
    automatic sectionaliser): faults below it no longer interrupt the customers above it;
``switch``
    a manual sectionalising switch (``DS``) at the upstream end of a line without one: a shorter fault zone;
``tie``
    a normally-open tie line (``LBS``, parameters of the nearest line) between the closest buses of two
    feeders within ``tie_max_km`` (needs bus coordinates);
``live_line``
    every planned job of one component done live (不停电作业): its planned interruptions disappear.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..grid.defaults import reliability_defaults
from ..grid.facts import bus_xy_km, element_labels
from ..grid.topology import NO, SECTIONALISING_TYPES, Topology, build_topology
from ..progress import ProgressCallback, Reporter
from ..settings import CEMI_N, DEVICE_MAX_CANDIDATES, DEVICE_TIE_MAX_KM
from .analytical import AnalyticalResult, analytical_indices, range_durations
from .frequent import cemi_by_zone, frequent_load_points
from .impact import REPAIR, Impact, build_impact

__all__ = ["DEVICE_KINDS", "RANK_WHAT", "Candidate", "FrequentSummary", "candidate_devices", "causes_of",
           "celid_by_zone", "frequent_summary", "prob_longer_than", "rank_devices"]

#: What the units of :func:`rank_devices`' progress records are.
RANK_WHAT = "candidate devices"

#: The kinds of candidate device, in the order they are listed.
DEVICE_KINDS: tuple[str, ...] = ("fuse", "recloser", "switch", "tie", "live_line")


@dataclass(frozen=True)
class Candidate:
    """One candidate device: its kind, where it goes (pandapower table and index) and a description."""

    kind: str
    table: str
    index: int
    description: str
    partner_bus: int = -1  # fuse/switch: the line's upstream bus; tie: the bus at the other end
    length_km: float = 0.0  # tie: the new line's length


def _switch_defaults() -> dict[str, float]:
    row = reliability_defaults().loc["switch"]
    return {"lambda_per_yr": float(row["lambda"]), "repair_h": float(row["repair_h"]),
            "switching_h": float(row["switching_h"])}


def _line_ends_without_switch(net: Any, topo: Topology) -> pd.DataFrame:
    """Lines on a feeder with no switch at their upstream end: line index, upstream bus, customers below."""
    edges = topo.element_edges("line")
    child = topo.element_nodes(net, "line")
    par = np.where(child >= 0, topo.parent_node[np.maximum(child, 0)], NO)
    on_tree = (child >= 0) & (par >= 0) & (topo.parent_edge[np.maximum(child, 0)] == edges)
    on_tree &= topo.feeder_of_node[np.maximum(child, 0)] != NO
    on_tree &= par < topo.n_bus  # the parent is a bus, not a switch's virtual node: no switch at that end
    on_tree &= ~topo.supply_node[np.maximum(par, 0)]  # not a feeder head (that is the station's breaker)
    up_bus = np.where(on_tree, topo.node_bus[np.maximum(par, 0)], NO)
    return pd.DataFrame({"line": net.line.index[on_tree], "bus": net.bus.index[up_bus[on_tree]]})


def candidate_devices(net: Any, *, kinds: Sequence[str] = DEVICE_KINDS, topology: Topology | None = None,
                      tie_max_km: float = DEVICE_TIE_MAX_KM) -> list[Candidate]:
    """Every candidate device of ``kinds`` for ``net`` (see the module docstring)."""
    unknown = [k for k in kinds if k not in DEVICE_KINDS]
    if unknown:
        raise InputError(f"unknown device kind(s) {unknown}; choose from {', '.join(DEVICE_KINDS)}")
    topo = topology if topology is not None else build_topology(net)
    out: list[Candidate] = []
    labels = element_labels(net, "line")
    free_ends = _line_ends_without_switch(net, topo) if {"fuse", "switch"} & set(kinds) else None
    if "fuse" in kinds:
        out += [Candidate("fuse", "line", int(r.line), f"fuse at the upstream end of {labels[r.line]}",
                          partner_bus=int(r.bus)) for r in free_ends.itertuples()]
    if "recloser" in kinds:
        sw = net.switch
        closed = sw["closed"].astype(bool) & sw["type"].astype(str).str.upper().isin(SECTIONALISING_TYPES)
        edge_ok = topo.feeder_of_node[np.maximum(topo.edge_to[topo.switch_edge], 0)] != NO
        sw_labels = element_labels(net, "switch")
        out += [Candidate("recloser", "switch", int(i), f"{sw_labels[i]} ({sw.at[i, 'type']}) made a breaker")
                for i in sw.index[closed.to_numpy() & edge_ok]]
    if "switch" in kinds:
        out += [Candidate("switch", "line", int(r.line), f"disconnector at the upstream end of {labels[r.line]}",
                          partner_bus=int(r.bus)) for r in free_ends.itertuples()]
    if "tie" in kinds:
        out += _tie_candidates(net, topo, tie_max_km)
    if "live_line" in kinds:
        for table in ("line", "trafo", "bus", "switch"):
            df = net[table]
            if "planned_per_yr" in df.columns and len(df):
                rate = pd.to_numeric(df["planned_per_yr"], errors="coerce").fillna(0.0)
                tl = element_labels(net, table)
                out += [Candidate("live_line", table, int(i), f"planned work on {tl[i]} done live-line")
                        for i in df.index[rate > 0]]
    return out


def _tie_candidates(net: Any, topo: Topology, tie_max_km: float) -> list[Candidate]:
    from scipy.spatial import cKDTree

    xy = bus_xy_km(net)
    if xy is None or xy.empty:
        return []
    feeder = topo.feeder_of_node[: topo.n_bus]
    mv = (feeder != NO) & net.bus.index.isin(xy.index)
    buses = net.bus.index[mv]
    pts = xy.loc[buses, ["x_km", "y_km"]].to_numpy(float)
    ok = np.isfinite(pts).all(axis=1)
    buses, pts, f = buses[ok], pts[ok], feeder[mv][ok]
    if buses.size < 2:
        return []
    tree = cKDTree(pts)
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    for i, j in sorted(tree.query_pairs(tie_max_km)):
        if f[i] == f[j]:
            continue
        key = (min(f[i], f[j]), max(f[i], f[j]))
        d = float(np.hypot(*(pts[i] - pts[j])))
        if key not in best or d < best[key][0]:
            best[key] = (d, int(buses[i]), int(buses[j]))
    names = topo.feeders["name"].tolist()
    bl = element_labels(net, "bus")
    return [Candidate("tie", "bus", a, f"tie {bl[a]} ({names[k[0]]}) – {bl[b]} ({names[k[1]]}), {d:.2f} km",
                      partner_bus=b, length_km=d) for k, (d, a, b) in sorted(best.items())]


def _apply(work: Any, cand: Candidate) -> Callable[[], None]:
    """Add the candidate device to ``work`` in place; returns the function that takes it out again."""
    import pandapower as pp

    extra = _switch_defaults()
    if cand.kind in ("fuse", "switch"):
        name = work.line.at[cand.index, "name"] if "name" in work.line.columns else cand.index
        sw = pp.create_switch(work, bus=cand.partner_bus, element=cand.index, et="l", closed=True,
                              type="FUSE" if cand.kind == "fuse" else "DS", name=f"new {cand.kind} {name}")
        work.switch.loc[sw, list(extra)] = list(extra.values())
        return lambda: work.switch.drop(index=sw, inplace=True)
    if cand.kind == "recloser":
        return _set_cell(work.switch, cand.index, "type", "CB")
    if cand.kind == "tie":
        tmpl = work.line.loc[_nearest_line(work, cand.index)]
        ln = pp.create_line_from_parameters(
            work, cand.index, cand.partner_bus, max(cand.length_km, 1e-3), r_ohm_per_km=tmpl.r_ohm_per_km,
            x_ohm_per_km=tmpl.x_ohm_per_km, c_nf_per_km=tmpl.c_nf_per_km, max_i_ka=tmpl.max_i_ka,
            name=f"new tie {cand.index}-{cand.partner_bus}")
        for col in ("lambda_per_km", "repair_h", "type"):
            if col in work.line.columns:
                work.line.loc[ln, col] = tmpl[col]
        sw = pp.create_switch(work, bus=cand.index, element=ln, et="l", closed=False, type="LBS",
                              name=f"new tie switch {cand.index}-{cand.partner_bus}")
        work.switch.loc[sw, list(extra)] = list(extra.values())

        def undo() -> None:
            work.switch.drop(index=sw, inplace=True)
            work.line.drop(index=ln, inplace=True)

        return undo
    return _set_cell(work[cand.table], cand.index, "planned_per_yr", 0.0)  # live_line


def _set_cell(df: pd.DataFrame, index: int, column: str, value: Any) -> Callable[[], None]:
    """Set one cell; returns the function that puts the old value back."""
    old = df.at[index, column]
    df.loc[index, column] = value

    def undo() -> None:
        df.loc[index, column] = old

    return undo


def _nearest_line(net: Any, bus: int) -> int:
    at = net.line.index[(net.line["from_bus"] == bus) | (net.line["to_bus"] == bus)]
    return int(at[0]) if len(at) else int(net.line.index[0])


def _cemi(impact: Impact, n: int) -> tuple[pd.Series, float, float]:
    res = analytical_indices(impact)
    lam = res.lam_fault + res.lam_planned
    cemi = cemi_by_zone(lam, impact.load_customers, impact.load_zone, impact.zones, n)
    cust = impact.load_customers.sum()
    saifi = float((impact.load_customers * lam).sum() / cust) if cust > 0 else 0.0
    saidi = float((impact.load_customers * (res.u_fault_h + res.u_planned_h)).sum() / cust) if cust > 0 else 0.0
    return cemi, saifi, saidi


def rank_devices(net: Any, n: int = CEMI_N, *, kinds: Sequence[str] = DEVICE_KINDS, top: int | None = 10,
                 max_candidates: int = DEVICE_MAX_CANDIDATES, tie_max_km: float = DEVICE_TIE_MAX_KM,
                 tie_capacity: Any = False, topology: Topology | None = None, impact: Impact | None = None,
                 progress: ProgressCallback | None = None, cancel: Callable[[], bool] | None = None) -> pd.DataFrame:
    """Candidate devices ranked by how much each lowers the system CEMI-n (computed, one re-analysis each).

    Parameters
    ----------
    net : pandapowerNet
        The network (data-contract columns filled). Not modified.
    n : int
        CEMI threshold: customers with more than ``n`` interruptions a year.
    kinds : sequence of str
        Candidate kinds (:data:`DEVICE_KINDS`).
    top : int or None
        Rows kept (None: all candidates).
    max_candidates : int
        At most this many candidates are evaluated (those below the most customers first); a larger network
        gets an :class:`~gridscope.errors.InputError` naming the count rather than a silent cut.
    tie_max_km : float
        Longest new tie line considered.
    tie_capacity : bool or mapping
        The failure-effect option of the same name (transfer only where the backup can carry it).
    topology, impact : optional
        The network's topology and its failure-effect structure (built with ``tie_capacity``), when the caller
        has them already (:meth:`gridscope.study.Study.rank_devices` passes its cached ones).
    progress, cancel : callable, optional
        The progress protocol (:mod:`gridscope.progress`): one record per candidate evaluated (``what`` is
        :data:`RANK_WHAT`; figure ``best_cemi_reduction``), cancellation checked before each candidate and
        once inside its failure-effect build, after the topology (:class:`~gridscope.errors.CancelledError`).

    Returns
    -------
    pandas.DataFrame
        ``kind``, ``table``, ``index``, ``description``, ``cemi_before``, ``cemi_after``, ``cemi_reduction``
        (share of all customers), ``customers_relieved`` (customers × reduction), ``saifi_reduction``,
        ``saidi_reduction_h``; highest CEMI reduction first (then SAIDI reduction, then kind and index).
    """
    if int(n) != n or n < 0:
        raise InputError(f"CEMI threshold n must be a non-negative integer, got {n!r}")
    rep = Reporter(RANK_WHAT, 1, progress=progress, cancel=cancel)
    topo = topology if topology is not None else build_topology(net)
    base_imp = impact if impact is not None else build_impact(net, topology=topo, tie_capacity=tie_capacity)
    base, saifi0, saidi0 = _cemi(base_imp, int(n))
    cands = candidate_devices(net, kinds=kinds, topology=topo, tie_max_km=tie_max_km)
    if len(cands) > max_candidates:
        raise InputError(f"{len(cands)} candidate devices, above max_candidates={max_candidates}: narrow kinds "
                         "or raise max_candidates")
    total = float(base_imp.load_customers.sum())
    rows = []
    best = 0.0
    rep.update(0, {"best_cemi_reduction": best}, total=len(cands), force=True)
    rep.check(0)  # the candidates were found: the copy below and the first build are the next long steps
    work = copy.deepcopy(net)  # one working copy; each candidate is added, analysed and taken out again
    for i, c in enumerate(cands):
        rep.check(i)
        undo = _apply(work, c)
        try:
            topo_c = build_topology(work)
            rep.check(i)  # again between the topology and the rest of the build: Esc waits for half a build
            imp = build_impact(work, topology=topo_c, tie_capacity=tie_capacity)
        finally:
            undo()
        after, saifi, saidi = _cemi(imp, int(n))
        best = max(best, float(base["system"] - after["system"]))
        rep.update(i + 1, {"best_cemi_reduction": best})
        rows.append({"kind": c.kind, "table": c.table, "index": c.index, "description": c.description,
                     "cemi_before": float(base["system"]), "cemi_after": float(after["system"]),
                     "cemi_reduction": float(base["system"] - after["system"]),
                     "customers_relieved": float(base["system"] - after["system"]) * total,
                     "saifi_reduction": saifi0 - saifi, "saidi_reduction_h": saidi0 - saidi})
    df = pd.DataFrame(rows, columns=["kind", "table", "index", "description", "cemi_before", "cemi_after",
                                     "cemi_reduction", "customers_relieved", "saifi_reduction",
                                     "saidi_reduction_h"])
    df["kind_order"] = df["kind"].map({k: i for i, k in enumerate(DEVICE_KINDS)})
    df = df.sort_values(["cemi_reduction", "saidi_reduction_h", "kind_order", "index"],
                        ascending=[False, False, True, True], kind="stable").drop(columns="kind_order")
    df = df.reset_index(drop=True)
    return df if top is None else df.head(top)


@dataclass(frozen=True)
class FrequentSummary:
    """What ``gridscope frequent`` and the TUI's frequent screen show: CEMI-n by zone and the load points at risk.

    Attributes
    ----------
    n : int
        CEMI threshold (more than ``n`` interruptions a year).
    cemi : pandas.Series
        Expected CEMI-n per zone and ``"system"`` (share of customers, :func:`~.frequent.cemi_by_zone`).
    zones : pandas.DataFrame
        One row per zone and ``"system"``: ``zone``, ``customers``, ``cemi`` (the share above) and
        ``customers_over_n`` (customers × cemi: the expected number with more than ``n`` interruptions).
    load_points : pandas.DataFrame
        :func:`~.frequent.frequent_load_points` (highest P(N > n) first) with ``causes``
        (:func:`causes_of`).
    """

    n: int
    cemi: pd.Series
    zones: pd.DataFrame
    load_points: pd.DataFrame


def frequent_summary(impact: Impact, n: int = CEMI_N, *, top: int | None = 10,
                     result: AnalyticalResult | None = None) -> FrequentSummary:
    """CEMI-n by zone and the ``top`` load points most likely to have more than ``n`` interruptions a year,
    each with the components that interrupt it most often.

    Parameters
    ----------
    impact : Impact
        The failure-effect structure.
    n : int
        CEMI threshold.
    top : int or None
        Load points kept (None: all).
    result : AnalyticalResult, optional
        :func:`~.analytical.analytical_indices` of ``impact``, if already computed.

    Returns
    -------
    FrequentSummary
    """
    res = result if result is not None else analytical_indices(impact)
    lam = res.lam_fault + res.lam_planned
    cemi = cemi_by_zone(lam, impact.load_customers, impact.load_zone, impact.zones, n)
    lps = frequent_load_points(impact, res, n, top=top)
    where = dict(zip(impact.load_index.tolist(), range(impact.n_load), strict=True))
    lps["causes"] = causes_of(impact, [where[int(i)] for i in lps["load_index"]])
    cust = np.bincount(impact.load_zone, weights=impact.load_customers, minlength=len(impact.zones))
    customers = np.append(cust, cust.sum())
    zones = pd.DataFrame({"zone": cemi.index, "customers": customers, "cemi": cemi.to_numpy(),
                          "customers_over_n": customers * cemi.to_numpy()})
    return FrequentSummary(int(n), cemi, zones, lps)


def causes_of(impact: Impact, load_positions: Sequence[int], *, top: int = 3) -> list[str]:
    """The components that interrupt each load position most often (fault + planned), as ``"S4 0.049/yr; ..."``."""
    comp, _ = range_durations(impact)
    rate = impact.comp_lambda[comp] + impact.comp_planned_per_yr[comp] * (impact.iv_kind == REPAIR)
    names = [str(n) if n not in (None, "") else f"{e} {i}"
             for n, e, i in zip(impact.comp_name, impact.comp_element, impact.comp_index, strict=True)]
    out = []
    for pos in load_positions:
        hit = (impact.iv_lo <= pos) & (pos < impact.iv_hi) & (rate > 0)
        per = pd.Series(rate[hit]).groupby(comp[hit]).sum().sort_values(ascending=False, kind="stable")
        out.append("; ".join(f"{names[c]} {r:.3g}/yr" for c, r in per.head(top).items()))
    return out


def prob_longer_than(impact: Impact, t_h: float, *, live_work_fraction: float = 0.0) -> np.ndarray:
    """Per load position: probability of at least one interruption longer than ``t_h`` in a year.

    With the analytical model's mean durations, the interruptions of a load point longer than ``t_h`` form a
    Poisson process with rate Λ = Σ λ over its ranges whose duration exceeds ``t_h`` (fault: switching or
    repair time; planned: ``planned_h`` on the ``REPAIR`` ranges), so P = 1 − e^−Λ. The Monte-Carlo method
    samples the durations instead (this uses their means).
    """
    if not (np.isfinite(t_h) and t_h >= 0):
        raise InputError(f"CELID threshold t must be hours >= 0, got {t_h!r}")
    comp, dur = range_durations(impact)
    lam = np.where(dur > t_h, impact.comp_lambda[comp], 0.0)
    planned = (impact.iv_kind == REPAIR) & (impact.comp_planned_h[comp] > t_h)
    lam = lam + np.where(planned, impact.comp_planned_per_yr[comp] * (1.0 - live_work_fraction), 0.0)
    n = impact.n_load
    diff = np.bincount(impact.iv_lo, weights=lam, minlength=n + 1) - np.bincount(impact.iv_hi, weights=lam,
                                                                                 minlength=n + 1)
    return 1.0 - np.exp(-np.cumsum(diff)[:n])


def celid_by_zone(impact: Impact, t_h: float, *, live_work_fraction: float = 0.0) -> pd.Series:
    """Expected CELID-t per zone and system: share of customers with an interruption longer than ``t_h``
    (:func:`prob_longer_than` weighted by customers); NaN for a zone without customers."""
    p = prob_longer_than(impact, t_h, live_work_fraction=live_work_fraction)
    cust = impact.load_customers
    num = np.bincount(impact.load_zone, weights=cust * p, minlength=len(impact.zones))
    den = np.bincount(impact.load_zone, weights=cust, minlength=len(impact.zones))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_zone = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    system = float(num.sum() / den.sum()) if den.sum() > 0 else float("nan")
    return pd.Series([*per_zone, system], index=[*impact.zones, "system"], name=f"CELID-{t_h:g}h")
