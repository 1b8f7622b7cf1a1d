"""Planned outages (预安排停电): what each planned job costs, combining jobs (一停多用) and their dates.

先算后停 — compute before switching off. For every planned job (an element or a set of elements taken out for
``duration_h`` hours on a date) :func:`plan_outages` works out

* the **switching plan**: the switches opened to isolate the work zone (the switch-bounded sections holding the
  job's elements, widened upstream until a switch bounds them) and the normally-open ties closed *beforehand*
  to carry the parts downstream of the work zone;
* whether each transfer is possible: with the tie check on (default) the network is solved by pandapower
  ``runpp`` in the switched state at the planning load, and a transfer is refused where it drives a line or
  transformer above 100 % of its rating or a bus out of its voltage band (only elements the transfer makes
  worse count: a violation that is there before the job does not block it);
* the load points and customers still interrupted, customer-hours, ENS, and the increment to SAIDI / ASAI of
  each supply zone, compared with the zone's budget: its SAIDI target less its expected fault SAIDI
  (the analytical method on the same network);
* a live-line job (不停电作业) interrupts nobody; it is reported with the customer-hours it saves.

Conventions (the same as the analytical method's planned outages, DESIGN.md §3): switching for a planned job is
done before the work starts, so customers upstream of the work zone and customers transferred through a tie
are not interrupted (a closed transfer, or one shorter than the 3 minutes below which DL/T 836 counts no
interruption); everyone else in the isolated area is off for the job's duration. A part of the isolated area
is transferred through one tie whose far end stays live (chains of ties through other isolated parts are not
searched).

Jobs whose interrupted customers overlap are combined into one outage when that saves customer-hours: the
combined outage isolates the union of their work zones for the longest crew time (jobs of one crew run one
after another, different crews in parallel). Groups are then dated: each keeps its requested date unless that
would give a customer more than ``max_interruptions`` planned interruptions within ``window_days``; then the
first later date in the year that keeps the limit is suggested.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, ValidationError
from ..grid.defaults import HOURS_PER_YEAR, reliability_defaults, zone_targets
from ..grid.facts import element_names, in_service
from ..grid.topology import NO, EdgeKind, Topology, build_topology
from ..grid.untrusted import read_input_table
from ..grid.validation import Problem
from ..grid.voltage import bus_band_limits_pu
from ..textfmt import check_lang
from .analytical import analytical_indices
from .impact import Impact, build_impact

__all__ = [
    "JOB_ELEMENTS",
    "PLAN_LABELS_ZH",
    "PLAN_SHEETS",
    "TRANSFER_LIMIT_PERCENT",
    "VERDICTS_ZH",
    "Outage",
    "OutagePlan",
    "job_outage",
    "plan_outages",
    "plan_tables",
    "read_jobs",
    "write_plan",
]

#: Element names accepted in a jobs file's ``element`` column (table names and the usual Chinese terms).
JOB_ELEMENTS: dict[str, str] = {
    "line": "line", "线路": "line", "导线": "line", "电缆": "line",
    "trafo": "trafo", "transformer": "trafo", "变压器": "trafo", "配变": "trafo",
    "bus": "bus", "母线": "bus", "节点": "bus",
    "switch": "switch", "开关": "switch", "刀闸": "switch",
}

#: A transfer may load lines and transformers up to this share of their rating (percent) during a planned job.
TRANSFER_LIMIT_PERCENT = 100.0
#: A transfer "makes an element worse" when it raises its loading by more than this (percentage points) ...
_WORSE_PP = 0.1
#: ... or moves its voltage further out of band by more than this (pu).
_WORSE_PU = 1e-3

_TRUE = frozenset({"1", "true", "yes", "y", "是", "t"})
_FALSE = frozenset({"0", "false", "no", "n", "否", "f", ""})


# ---------------------------------------------------------------------------------------------- reading jobs
def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _element_index(net: Any, table: str, row: Mapping[str, str], columns: set[str]) -> tuple[int | None, str]:
    """The pandapower index the row names (``element_index`` or ``element_name``), or a problem text."""
    df = net[table]
    raw_idx = _text(row.get("element_index")) if "element_index" in columns else ""
    raw_name = _text(row.get("element_name")) if "element_name" in columns else ""
    if raw_idx:
        try:
            idx = int(float(raw_idx))
        except ValueError:
            return None, f"element_index {raw_idx!r} is not an integer"
        if idx not in df.index:
            return None, f"{table} {idx} does not exist"
        return idx, ""
    if raw_name:
        hits = df.index[df["name"].astype(str) == raw_name] if "name" in df.columns else []
        if len(hits) == 0:
            return None, f"no {table} is named {raw_name!r}"
        if len(hits) > 1:
            return None, f"{len(hits)} {table} rows are named {raw_name!r}; give element_index"
        return int(hits[0]), ""
    return None, "give element_index or element_name"


def _job_day(row: Mapping[str, str], columns: set[str], year: int | None) -> tuple[dt.date | None, str]:
    raw_date = _text(row.get("date")) if "date" in columns else ""
    raw_week = _text(row.get("week")) if "week" in columns else ""
    if raw_date:
        try:
            return dt.date.fromisoformat(raw_date[:10]), ""
        except ValueError:
            return None, f"date {raw_date!r} is not YYYY-MM-DD"
    if raw_week:
        try:
            week = int(float(raw_week))
        except ValueError:
            return None, f"week {raw_week!r} is not a number"
        if year is None:
            return None, "a week needs the year (year=... / --year)"
        if not 1 <= week <= dt.date(year, 12, 28).isocalendar()[1]:
            return None, f"week {week} is not a week of {year}"
        return dt.date.fromisocalendar(year, week, 1), ""
    return None, "give date (YYYY-MM-DD) or week"


def read_jobs(source: Any, net: Any, *, year: int | None = None, sheet: str | int = 0) -> pd.DataFrame:
    """Read and check planned jobs from a CSV/Excel file or a DataFrame; every bad row is reported at once.

    Columns (case-insensitive): ``job`` (id; several rows with one id make one job on several elements),
    ``element`` (``line``/``trafo``/``bus``/``switch`` or 线路/变压器/配变/母线/开关), ``element_index`` or
    ``element_name``, ``duration_h`` (> 0, at most a year), ``date`` (YYYY-MM-DD) or ``week`` (ISO week of
    ``year``), optional ``live_line`` (yes/no, 是/否, true/false, 1/0) and ``crew``.

    Parameters
    ----------
    source : path-like or pandas.DataFrame
        The jobs table.
    net : pandapowerNet
        The network the jobs refer to.
    year : int, optional
        The planning year; every date must fall in it. Default: the year of the dates (they must share one).
    sheet : str or int
        Excel sheet.

    Returns
    -------
    pandas.DataFrame
        One row per job element: ``job``, ``element``, ``element_index``, ``duration_h``, ``date``
        (:class:`datetime.date`), ``live_line``, ``crew`` (``""`` when none), ``row`` (1-based file row).

    Raises
    ------
    ValidationError
        Every problem (unknown element, negative duration, date outside the year, element out of service, ...),
        each with its file row; exit code 2 in the CLI.
    InputError
        The file cannot be read or is above the input size limit.
    """
    if isinstance(source, pd.DataFrame):
        raw, where = source.astype(object).where(source.notna(), ""), "jobs"
    else:
        raw = read_input_table(source, what="jobs file", sheet=sheet).fillna("")
        where = str(source)
    raw = raw.rename(columns={c: str(c).strip().lower() for c in raw.columns})
    columns = set(raw.columns)
    missing = [c for c in ("job", "element", "duration_h") if c not in columns]
    if missing:
        raise InputError(f"{where}: missing column(s) {', '.join(missing)} (have: {', '.join(map(str, raw.columns))})")

    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    for i, row in enumerate(raw.to_dict("records")):
        file_row = i + 2  # row 1 holds the header
        job = _text(row.get("job"))

        def bad(message: str, job: str = job, file_row: int = file_row) -> None:
            problems.append(Problem("jobs", file_row, job or None, message, "jobs"))

        if not job:
            bad("job id is empty")
        table = JOB_ELEMENTS.get(_text(row.get("element")).lower())
        idx = None
        if table is None:
            bad(f"element {_text(row.get('element'))!r} is not one of line, trafo, bus, switch")
        else:
            idx, why = _element_index(net, table, row, columns)
            if idx is None:
                bad(why)
            elif table != "switch" and not bool(in_service(net[table])[net[table].index.get_loc(idx)]):
                bad(f"{table} {idx} is out of service")
        duration = pd.to_numeric(pd.Series([_text(row.get("duration_h"))]), errors="coerce").iloc[0]
        if not (math.isfinite(duration) and 0 < duration <= HOURS_PER_YEAR):
            bad(f"duration_h {_text(row.get('duration_h'))!r} must be a number of hours in (0, {HOURS_PER_YEAR:g}]")
        day, why = _job_day(row, columns, year)
        if day is None:
            bad(why)
        live_text = _text(row.get("live_line")).lower() if "live_line" in columns else ""
        if live_text not in _TRUE | _FALSE:
            bad(f"live_line {live_text!r} is not yes/no")
        rows.append({"job": job, "element": table, "element_index": idx, "duration_h": float(duration),
                     "date": day, "live_line": live_text in _TRUE,
                     "crew": _text(row.get("crew")) if "crew" in columns else "", "row": file_row})
    jobs = pd.DataFrame(rows, columns=["job", "element", "element_index", "duration_h", "date", "live_line",
                                       "crew", "row"])
    _check_years(jobs, year, problems)
    _check_consistent(jobs, problems)
    if problems:
        raise _jobs_error(problems, where)
    if jobs.empty:
        raise InputError(f"{where}: no jobs")
    return jobs


def _jobs_error(problems: list[Problem], where: str) -> ValidationError:
    lines = [f"{len(problems)} problem(s) in {where}:", *(f"  {p}" for p in problems)]
    return ValidationError(problems, "\n".join(lines))


def _check_years(jobs: pd.DataFrame, year: int | None, problems: list[Problem]) -> None:
    days = jobs["date"].dropna()
    years = sorted({d.year for d in days})
    if year is None and len(years) > 1:
        problems.append(Problem("jobs", None, None, f"the dates span the years {years}; give the planning year",
                                "jobs"))
        return
    the_year = year if year is not None else (years[0] if years else None)
    for r in jobs.itertuples():
        if r.date is not None and the_year is not None and r.date.year != the_year:
            problems.append(Problem("jobs", r.row, r.job or None, f"date {r.date} is outside {the_year}", "jobs"))


def _check_consistent(jobs: pd.DataFrame, problems: list[Problem]) -> None:
    for job, rows in jobs[jobs["job"] != ""].groupby("job", sort=False):
        for col in ("duration_h", "date", "live_line", "crew"):
            if rows[col].nunique(dropna=False) > 1:
                problems.append(Problem("jobs", int(rows["row"].iloc[1]), str(job),
                                        f"rows of job {job!r} disagree on {col}", "jobs"))
        dup = rows.duplicated(["element", "element_index"])
        for r in rows[dup].itertuples():
            problems.append(Problem("jobs", r.row, str(job), f"{r.element} {r.element_index} is listed twice",
                                    "jobs"))


# ------------------------------------------------------------------------------------------------ isolation
@dataclass
class Outage:
    """The switching plan and effect of one planned outage.

    Attributes
    ----------
    opened : list of int
        Switches opened to isolate the work zone (pandapower ``switch`` indices).
    closed : list of int
        Normally-open ties closed beforehand to carry load around the work zone.
    refused : list of tuple
        ``(tie switch, reason)`` for each transfer refused by the power-flow check.
    interrupted : numpy.ndarray
        ``net.load`` indices off for the whole job.
    transferred : numpy.ndarray
        ``net.load`` indices carried through a tie (not interrupted).
    """

    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    interrupted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    transferred: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def _work_sections(topo: Topology, elements: Sequence[tuple[str, int]], net: Any) -> set[int]:
    sections: set[int] = set()
    for table, idx in elements:
        if table == "bus":
            nodes = topo.bus_node(idx)
        else:
            pos = net[table].index.get_loc(idx)
            e = int(topo.element_edges(table)[pos])
            if topo.section_of_edge[e] != NO:
                sections.add(int(topo.section_of_edge[e]))
                continue
            nodes = np.array([topo.edge_from[e], topo.edge_to[e]])  # a switch: both sides
        sections.update(int(s) for s in topo.section_of_node[nodes] if s != NO)
    return sections


def _isolate(topo: Topology, sections: set[int]) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Work-zone mask, the upstream switch edges to open, and the heads of the parts hanging below it.

    The work zone (the job's sections) is widened upstream until a switch edge or the supply bounds it: a
    section cannot be isolated at a line end without a switch. The heads are the nodes just below the work
    zone, in breadth-first order, each behind the boundary edge that is opened.
    """
    radial = topo.feeder_of_node != NO
    work = np.isin(topo.section_of_node, sorted(sections)) & radial
    while True:
        nodes = np.flatnonzero(work)
        par, pe = topo.parent_node[nodes], topo.parent_edge[nodes]
        ok = (par >= 0) & (pe >= 0)
        par, pe = par[ok], pe[ok]
        grow = par[~work[par] & ~topo.supply_node[par] & (topo.edge_kind[pe] != EdgeKind.SWITCH)]
        if grow.size == 0:
            break
        work |= np.isin(topo.section_of_node, np.unique(topo.section_of_node[grow])) & radial
    nodes = np.flatnonzero(work)
    par, pe = topo.parent_node[nodes], topo.parent_edge[nodes]
    up = (par >= 0) & (pe >= 0)
    up &= ~work[np.maximum(par, 0)] & (topo.edge_kind[np.maximum(pe, 0)] == EdgeKind.SWITCH)
    up_edges = sorted(int(e) for e in pe[up])
    feeders = np.unique(topo.feeder_of_node[work])
    below = np.flatnonzero(np.isin(topo.feeder_of_node, feeders) & ~work & (topo.parent_node >= 0))
    heads = below[work[topo.parent_node[below]]]
    heads = heads[np.lexsort((heads, topo.depth[heads]))]
    return work, up_edges, heads


@dataclass
class _PowerFlowCheck:
    """Runs ``runpp`` on one working copy of the network and compares with the base case."""

    net: Any
    base_line: np.ndarray
    base_trafo: np.ndarray
    base_vdev: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray

    @classmethod
    def start(cls, net: Any, scaling: float) -> _PowerFlowCheck:
        import copy

        work = copy.deepcopy(net)
        work.load["scaling"] = work.load["scaling"].fillna(1.0) * scaling if "scaling" in work.load else scaling
        lo, hi = bus_band_limits_pu(work)  # each bus's GB/T 12325-2008 band (220 V: +7 % / -10 %, phases column)
        chk = cls(work, np.zeros(0), np.zeros(0), np.zeros(0), lo, hi)
        res = chk._solve()
        if res is None:
            raise InputError("the network's base-case power flow does not converge; use check_transfer=False")
        chk.base_line, chk.base_trafo, chk.base_vdev = res
        return chk

    def _solve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        import pandapower as pp

        try:
            pp.runpp(self.net, init="flat", calculate_voltage_angles=False)
        except (pp.LoadflowNotConverged, ValueError, IndexError, KeyError):
            return None
        line = self.net.res_line["loading_percent"].to_numpy(float) if len(self.net.line) else np.zeros(0)
        trafo = self.net.res_trafo["loading_percent"].to_numpy(float) if len(self.net.trafo) else np.zeros(0)
        vm = self.net.res_bus["vm_pu"].to_numpy(float)
        vdev = np.maximum(self.band_lo - vm, vm - self.band_hi)  # > 0: out of band
        return np.nan_to_num(line), np.nan_to_num(trafo), np.nan_to_num(vdev, nan=-1.0)

    def violation(self, opened: list[int], closed: list[int], out: dict[str, list[int]]) -> str | None:
        """``None`` when the switched state is within limits, else the worst violation in words."""
        net = self.net
        saved_sw = net.switch["closed"].copy()
        saved = {t: net[t]["in_service"].copy() for t in out}
        try:
            net.switch.loc[opened, "closed"] = False
            net.switch.loc[closed, "closed"] = True
            for t, idx in out.items():
                net[t].loc[idx, "in_service"] = False
            res = self._solve()
        finally:
            net.switch["closed"] = saved_sw
            for t, col in saved.items():
                net[t]["in_service"] = col
        if res is None:
            return "the power flow does not converge"
        line, trafo, vdev = res
        names_l, names_t, names_b = (element_names(net.line).to_numpy(), element_names(net.trafo).to_numpy(),
                                     element_names(net.bus).to_numpy())
        bad = []
        for what, val, base, names, idx in (("line", line, self.base_line, names_l, net.line.index),
                                            ("trafo", trafo, self.base_trafo, names_t, net.trafo.index)):
            hit = np.flatnonzero((val > TRANSFER_LIMIT_PERCENT) & (val > base + _WORSE_PP))
            bad += [(val[i] - TRANSFER_LIMIT_PERCENT, f"{what} {idx[i]} {names[i]!r} at {val[i]:.1f} % "
                     f"(limit {TRANSFER_LIMIT_PERCENT:g} %)") for i in hit]
        hit = np.flatnonzero((vdev > 0) & (vdev > self.base_vdev + _WORSE_PU))
        vm = net.res_bus["vm_pu"].to_numpy(float)
        bad += [(vdev[i] * 100, f"bus {net.bus.index[i]} {names_b[i]!r} at {vm[i]:.3f} pu (band "
                 f"{self.band_lo[i]:.2f}–{self.band_hi[i]:.2f} pu)") for i in hit]
        if not bad:
            return None
        bad.sort(key=lambda t: -t[0])
        return bad[0][1] + (f" and {len(bad) - 1} more" if len(bad) > 1 else "")


def _out_of_service(net: Any, topo: Topology, work: np.ndarray) -> dict[str, list[int]]:
    """Lines and transformers inside the work zone (taken out in the power-flow copy)."""
    out: dict[str, list[int]] = {}
    for table in ("line", "trafo"):
        if not len(net[table]):
            continue
        edges = topo.element_edges(table)
        inside = work[topo.edge_from[edges]] & work[topo.edge_to[edges]]
        out[table] = net[table].index[inside].tolist()
    return out


def job_outage(net: Any, topo: Topology, elements: Sequence[tuple[str, int]], *,
               check: _PowerFlowCheck | None = None) -> Outage:
    """The switching plan and the interrupted and transferred load points of one planned outage.

    Parameters
    ----------
    net : pandapowerNet
        The network.
    topo : Topology
        Its topology (:func:`~gridscope.grid.topology.build_topology`).
    elements : sequence of (table, index)
        The elements taken out (``line``, ``trafo``, ``bus``, ``switch``).
    check : optional
        The power-flow check :func:`plan_outages` builds; ``None`` accepts every transfer a tie offers.

    Returns
    -------
    Outage
    """
    sections = _work_sections(topo, elements, net)
    work, up_edges, heads = _isolate(topo, sections)
    part = np.full(topo.n_node, NO, np.int64)
    part[work] = -2
    _label_parts(topo, work, heads, part)
    sw_h = _switching_h(net)
    opened = sorted({int(topo.edge_element[e]) for e in up_edges}
                    | {int(topo.edge_element[topo.parent_edge[h]]) for h in heads.tolist()
                       if topo.edge_kind[topo.parent_edge[h]] == EdgeKind.SWITCH})
    out = _out_of_service(net, topo, work)
    closed: list[int] = []
    refused: list[tuple[int, str]] = []
    fed_parts: set[int] = set()
    ties = topo.ties
    for k in range(heads.size):
        cands = []
        for t in ties.itertuples():
            pa, pb = part[t.node_a], part[t.node_b]
            if (pa == k and pb == NO and topo.energised[t.node_b]) or (pb == k and pa == NO
                                                                        and topo.energised[t.node_a]):
                cands.append((float(sw_h.get(t.switch, 0.0)), int(t.switch)))
        for _, sw in sorted(cands):
            if check is not None:
                why = check.violation(opened, [*closed, sw], out)
                if why is not None:
                    refused.append((sw, why))
                    continue
            closed.append(sw)
            fed_parts.add(k)
            break
    loads = net.load[in_service(net.load)]
    lnode = topo.bus_node(loads["bus"].to_numpy())
    lpart = np.where(lnode >= 0, part[np.maximum(lnode, 0)], NO)
    isolated = lpart != NO
    moved = np.isin(lpart, list(fed_parts)) & (lpart >= 0)
    return Outage(opened=opened, closed=closed, refused=refused,
                  interrupted=loads.index[isolated & ~moved].to_numpy(np.int64),
                  transferred=loads.index[moved].to_numpy(np.int64))


def _label_parts(topo: Topology, work: np.ndarray, heads: np.ndarray, part: np.ndarray) -> None:
    part[heads] = np.arange(heads.size)
    feeders = np.unique(topo.feeder_of_node[work])
    nodes = np.flatnonzero(np.isin(topo.feeder_of_node, feeders) & ~work)
    depth = topo.depth[nodes]
    for d in np.unique(depth):
        lvl = nodes[(depth == d) & (part[nodes] == NO)]
        par = topo.parent_node[lvl]
        ok = par >= 0
        part[lvl[ok]] = np.where(part[par[ok]] >= 0, part[par[ok]], NO)


def _switching_h(net: Any) -> dict[int, float]:
    default = float(reliability_defaults().loc["switch", "switching_h"])
    if "switching_h" not in net.switch.columns:
        return dict.fromkeys(net.switch.index.tolist(), default)
    return net.switch["switching_h"].fillna(default).astype(float).to_dict()


# ------------------------------------------------------------------------------------------------- the plan
@dataclass
class OutagePlan:
    """Planned jobs with their switching plans, impacts, groups, dates and the zones' budgets.

    Attributes
    ----------
    jobs : pandas.DataFrame
        One row per job (index ``job``): ``elements``, ``feeder``, ``requested``, ``planned`` (suggested date),
        ``duration_h``, ``live_line``, ``crew``, ``opened``, ``closed_ties``, ``refused``, ``loads``,
        ``customers``, ``customer_hours``, ``ens_mwh``, ``saved_customer_hours`` (live-line work), ``group``,
        ``verdict`` (``approve``, ``over budget``, ``no date``, ``live line``).
    groups : pandas.DataFrame
        One row per outage (index ``group``): ``jobs``, ``planned``, ``duration_h``, ``customers``,
        ``customer_hours``, ``separate_customer_hours``, ``saved_customer_hours``, ``moved_days``, ``note``.
    zones : pandas.DataFrame
        One row per supply zone (index ``zone``): ``customers``, ``saidi_target_h``, ``fault_saidi_h``,
        ``budget_h``, ``planned_saidi_h``, ``remaining_h``, ``asai_planned`` (the ASAI loss), ``within_budget``.
    job_zones : pandas.DataFrame
        Per job and zone: ``customers``, ``customer_hours``, ``saidi_increment_h``, ``asai_increment``.
    group_zones : pandas.DataFrame
        Per outage and zone: ``customer_hours`` (what :func:`approved_budget` adds up).
    attrs : dict
        ``year``, ``window_days``, ``max_interruptions``, ``check_transfer``, ``scaling``.
    """

    jobs: pd.DataFrame
    groups: pd.DataFrame
    zones: pd.DataFrame
    job_zones: pd.DataFrame
    group_zones: pd.DataFrame = field(default_factory=pd.DataFrame)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _LoadFacts:
    """Customers, average demand and zone of every in-service load point (the impact's view)."""

    customers: pd.Series
    p_avg_mw: pd.Series
    zone: pd.Series
    zones: list[str]

    @classmethod
    def of(cls, impact: Impact) -> _LoadFacts:
        idx = pd.Index(impact.load_index, name="load")
        zone = pd.Series(np.asarray(impact.zones, dtype=object)[impact.load_zone], index=idx)
        return cls(pd.Series(impact.load_customers, index=idx), pd.Series(impact.load_p_avg_mw, index=idx),
                   zone, list(impact.zones))

    def totals(self, loads: np.ndarray, duration_h: float) -> dict[str, float]:
        loads = self.customers.index.intersection(loads)
        return {"loads": int(loads.size), "customers": float(self.customers[loads].sum()),
                "customer_hours": float(self.customers[loads].sum() * duration_h),
                "ens_mwh": float(self.p_avg_mw[loads].sum() * duration_h)}


def _names(net: Any, table: str, idx: Sequence[int]) -> str:
    names = element_names(net[table]).reindex(list(idx)).fillna("").tolist()
    labels = [n if n else f"{table} {i}" for n, i in zip(names, idx, strict=True)]
    return "; ".join(labels)


def _group_duration(rows: pd.DataFrame) -> float:
    """Jobs of one crew run one after another, different crews (or no crew) in parallel."""
    crews = rows["crew"].where(rows["crew"] != "", "#" + rows.index.astype(str))
    return float(rows.groupby(crews)["duration_h"].sum().max())


def _fits(day: dt.date, loads: np.ndarray, taken: dict[int, list[dt.date]], window_days: int, limit: int) -> bool:
    """No load point gets more than ``limit`` planned interruptions in any ``window_days`` window with ``day``."""
    for lp in loads.tolist():
        days = sorted([*taken.get(lp, []), day])
        for i, start in enumerate(days):
            in_window = [d for d in days[i:] if (d - start).days < window_days]
            if day in in_window and len(in_window) > limit:
                return False
    return True


def _union_groups(outages: dict[str, Outage], live: pd.Series) -> list[list[str]]:
    """Jobs whose interrupted load points overlap, as connected groups (live-line jobs stay alone)."""
    jobs = list(outages)
    parent = {j: j for j in jobs}

    def find(j: str) -> str:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    seen: dict[int, str] = {}
    for j in jobs:
        if live[j]:
            continue
        for lp in outages[j].interrupted.tolist():
            if lp in seen:
                parent[find(j)] = find(seen[lp])
            else:
                seen[lp] = j
    groups: dict[str, list[str]] = {}
    for j in jobs:
        groups.setdefault(find(j), []).append(j)
    return list(groups.values())


def plan_outages(net: Any, jobs: Any, *, year: int | None = None, targets: Mapping[str, float] | None = None,
                 window_days: int = 60, max_interruptions: int = 1, check_transfer: bool = True,
                 scaling: float = 1.0, combine: bool = True, topology: Topology | None = None,
                 impact: Impact | None = None, net_on: Callable[[dt.date], Any] | None = None) -> OutagePlan:
    """Switching plan, impact, grouping (一停多用), dates and zone budgets of planned jobs (先算后停).

    Parameters
    ----------
    net : pandapowerNet
        The network (data-contract columns filled, e.g. by ``gs.load_network`` or ``gs.Study``). Not modified.
    jobs : path-like or pandas.DataFrame
        The jobs table (:func:`read_jobs`), or its result.
    year : int, optional
        Planning year (default: the year of the jobs' dates).
    targets : mapping, optional
        Zone → ASAI target overrides (fraction or percent), as ``gs.assess_reliability``.
    window_days, max_interruptions : int
        No customer gets more than ``max_interruptions`` planned interruptions within ``window_days``
        (default: not twice within 60 days).
    check_transfer : bool
        Check each tie transfer by power flow (``runpp``) at the planning load, or at the load of the job's date
        with ``net_on``; False accepts every tie.
    scaling : float
        Planning load as a multiple of ``load.p_mw × load.scaling``.
    combine : bool
        Combine jobs whose interrupted customers overlap when it saves customer-hours.
    topology, impact : optional
        Prebuilt topology / impact of ``net`` (e.g. from a :class:`~gridscope.Study`).
    net_on : callable, optional
        ``net_on(date)`` → the network with its loads of that date (same elements), for the transfer check of
        the jobs requested that day (a combined outage: its earliest date). :meth:`gridscope.Study.outages`
        builds it from load profiles (the day's peak step). Default: the planning load for every job.

    Returns
    -------
    OutagePlan
    """
    if not (isinstance(window_days, int | np.integer) and window_days >= 1):
        raise InputError(f"window_days must be a whole number of days >= 1, got {window_days!r}")
    if not (isinstance(max_interruptions, int | np.integer) and max_interruptions >= 1):
        raise InputError(f"max_interruptions must be a whole number >= 1, got {max_interruptions!r}")
    if not (isinstance(scaling, int | float) and math.isfinite(scaling) and scaling > 0):
        raise InputError(f"scaling must be a positive number, got {scaling!r}")
    table = jobs if isinstance(jobs, pd.DataFrame) and "row" in jobs.columns else read_jobs(jobs, net, year=year)
    the_year = year if year is not None else table["date"].iloc[0].year
    topo = topology if topology is not None else build_topology(net)
    imp = impact if impact is not None else build_impact(net, topology=topo)
    facts = _LoadFacts.of(imp)
    _check_on_feeders(net, topo, table)
    checks: dict[dt.date | None, _PowerFlowCheck] = {}

    def check_on(day: dt.date) -> _PowerFlowCheck | None:
        """The power-flow check at the load of ``day`` (one per distinct date with ``net_on``)."""
        if not check_transfer:
            return None
        key = day if net_on is not None else None
        if key not in checks:
            checks[key] = _PowerFlowCheck.start(net_on(day) if net_on is not None else net, scaling)
        return checks[key]

    first = table.groupby("job", sort=False).first()
    elements = {j: list(zip(rows["element"], rows["element_index"].astype(int), strict=True))
                for j, rows in table.groupby("job", sort=False)}
    outages = {j: job_outage(net, topo, elements[j], check=check_on(first.loc[j, "date"])) for j in first.index}
    job_rows = _job_rows(net, topo, first, elements, outages, facts)

    groups = _combine(net, topo, first, elements, outages, facts, check_on) if combine else \
        [([j], outages[j], float(first.loc[j, "duration_h"])) for j in first.index]
    budget = _zone_budget(imp, facts, targets)
    group_rows, verdicts, group_zones = _schedule(groups, first, job_rows, facts, budget, the_year, window_days,
                                                  max_interruptions)
    for j, (g, planned, verdict) in verdicts.items():
        job_rows.loc[j, ["group", "planned", "verdict"]] = [g, planned, verdict]
    return OutagePlan(jobs=job_rows, groups=group_rows, zones=_spend(budget, group_zones),
                      job_zones=_job_zone_rows(first, outages, facts, budget), group_zones=group_zones,
                      attrs={"year": int(the_year), "window_days": int(window_days),
                             "max_interruptions": int(max_interruptions), "check_transfer": bool(check_transfer),
                             "scaling": float(scaling),
                             "check_load": "load of each job's date" if net_on is not None else "planning load"})


def _check_on_feeders(net: Any, topo: Topology, table: pd.DataFrame) -> None:
    problems = []
    for r in table.itertuples():
        sections = _work_sections(topo, [(r.element, int(r.element_index))], net)
        on_feeder = np.isin(topo.section_of_node, sorted(sections)) & (topo.feeder_of_node != NO)
        if not on_feeder.any():
            problems.append(Problem("jobs", r.row, r.job, f"{r.element} {r.element_index} is not on a feeder "
                                    "(supply side or unsupplied): planned jobs there are not modelled", "jobs"))
    if problems:
        raise _jobs_error(problems, "the jobs")


def _job_rows(net: Any, topo: Topology, first: pd.DataFrame, elements: dict[str, list[tuple[str, int]]],
              outages: dict[str, Outage], facts: _LoadFacts) -> pd.DataFrame:
    feeder_names = topo.feeders["name"].tolist()
    rows = []
    for j, r in first.iterrows():
        o = outages[j]
        tot = facts.totals(o.interrupted, float(r["duration_h"]))
        feeders = sorted({feeder_names[f] for t, i in elements[j]
                          for f in [int(topo.feeder_of(net, t).loc[i]) if t != "bus"
                                    else int(topo.feeder_of_node[topo.bus_node(i)[0]])] if f >= 0})
        live = bool(r["live_line"])
        rows.append({
            "job": j, "elements": "; ".join(_names(net, t, [i]) for t, i in elements[j]),
            "feeder": "; ".join(feeders), "requested": r["date"], "planned": r["date"],
            "duration_h": float(r["duration_h"]), "live_line": live, "crew": r["crew"],
            "opened": "" if live else _names(net, "switch", o.opened),
            "closed_ties": "" if live else _names(net, "switch", o.closed),
            "refused": "" if live else "; ".join(f"{_names(net, 'switch', [s])}: {why}" for s, why in o.refused),
            "loads": 0 if live else tot["loads"], "customers": 0.0 if live else tot["customers"],
            "customer_hours": 0.0 if live else tot["customer_hours"], "ens_mwh": 0.0 if live else tot["ens_mwh"],
            "saved_customer_hours": tot["customer_hours"] if live else 0.0, "group": "", "verdict": ""})
    return pd.DataFrame(rows).set_index("job")


def _combine(net: Any, topo: Topology, first: pd.DataFrame, elements: dict[str, list[tuple[str, int]]],
             outages: dict[str, Outage], facts: _LoadFacts,
             check_on: Callable[[dt.date], _PowerFlowCheck | None]) -> list[tuple[list[str], Outage, float]]:
    """Groups of jobs done in one outage, where that saves customer-hours; else each job alone."""
    out = []
    for members in _union_groups(outages, first["live_line"]):
        alone = [([j], outages[j], float(first.loc[j, "duration_h"])) for j in members]
        if len(members) == 1:
            out += alone
            continue
        day = min(first.loc[j, "date"] for j in members)
        together = job_outage(net, topo, [e for j in members for e in elements[j]], check=check_on(day))
        duration = _group_duration(first.loc[members])
        ch_alone = sum(facts.totals(o.interrupted, d)["customer_hours"] for _, o, d in alone)
        if facts.totals(together.interrupted, duration)["customer_hours"] < ch_alone - 1e-9:
            out.append((members, together, duration))
        else:
            out += alone
    return out


def _zone_budget(impact: Impact, facts: _LoadFacts, targets: Mapping[str, float] | None) -> pd.DataFrame:
    """SAIDI target, expected fault SAIDI (analytical) and the budget left for planned outages, per zone."""
    res = analytical_indices(impact)
    cust = pd.Series(impact.load_customers)
    zone = facts.zone.to_numpy()
    tgt = zone_targets(targets)
    rows = []
    for z in facts.zones:
        m = zone == z
        c = float(cust[m].sum())
        fault = float((cust[m] * res.u_fault_h[m]).sum() / c) if c > 0 else 0.0
        target = float(tgt.loc[z, "saidi_target_h"]) if z in tgt.index else math.nan
        rows.append({"zone": z, "customers": c, "saidi_target_h": target, "fault_saidi_h": fault,
                     "budget_h": target - fault})
    return pd.DataFrame(rows).set_index("zone")


def _spend(budget: pd.DataFrame, group_zones: pd.DataFrame) -> pd.DataFrame:
    """The budget table with the planned SAIDI of the given outages' customer-hours spent from it."""
    zones = budget[["customers", "saidi_target_h", "fault_saidi_h", "budget_h"]].copy()
    ch = group_zones.groupby("zone")["customer_hours"].sum() if len(group_zones) else pd.Series(dtype=float)
    cust = zones["customers"].where(zones["customers"] > 0)
    zones["planned_saidi_h"] = (ch.reindex(zones.index).fillna(0.0) / cust).fillna(0.0)
    zones["remaining_h"] = zones["budget_h"] - zones["planned_saidi_h"]
    zones["asai_planned"] = zones["planned_saidi_h"] / HOURS_PER_YEAR
    zones["within_budget"] = zones["remaining_h"] >= -1e-12
    return zones


def approved_budget(plan: OutagePlan, approved: Sequence[str]) -> pd.DataFrame:
    """The zone budget table when only the outages (groups) ``approved`` go ahead (the TUI's approve/reject).

    Parameters
    ----------
    plan : OutagePlan
    approved : sequence of str
        Group names (``G1`` ...).

    Returns
    -------
    pandas.DataFrame
        Like ``plan.zones``.
    """
    unknown = sorted(set(approved) - set(plan.groups.index))
    if unknown:
        raise InputError(f"no outage group(s) {', '.join(unknown)} in the plan")
    gz = plan.group_zones
    return _spend(plan.zones, gz[gz["group"].isin(list(approved))])


def _zone_ch(loads: np.ndarray, duration_h: float, facts: _LoadFacts) -> dict[str, float]:
    loads = facts.customers.index.intersection(loads)
    ch = facts.customers[loads] * duration_h
    return ch.groupby(facts.zone[loads]).sum().to_dict()


def _schedule(groups: list[tuple[list[str], Outage, float]], first: pd.DataFrame, job_rows: pd.DataFrame,
              facts: _LoadFacts, budget: pd.DataFrame, year: int, window_days: int, limit: int
              ) -> tuple[pd.DataFrame, dict[str, tuple[str, dt.date, str]], pd.DataFrame]:
    """Date every outage (earliest requested first) within the window limit, then check the zone budgets."""
    order = sorted(range(len(groups)), key=lambda g: (min(first.loc[j, "date"] for j in groups[g][0]),
                                                      groups[g][0][0]))
    taken: dict[int, list[dt.date]] = {}
    spent: dict[str, float] = {}
    last = dt.date(year, 12, 31)
    rows, verdicts, zone_rows = [], {}, []
    for n, g in enumerate(order, start=1):
        members, outage, duration = groups[g]
        name = f"G{n}"
        live = all(bool(first.loc[j, "live_line"]) for j in members)
        requested = min(first.loc[j, "date"] for j in members)
        loads = np.zeros(0, np.int64) if live else outage.interrupted
        day, note = requested, ""
        while day <= last and not _fits(day, loads, taken, window_days, limit):
            day += dt.timedelta(days=1)
        if day > last:
            day, note = requested, f"no date in {year} keeps every customer within {limit} planned " \
                                   f"interruption(s) per {window_days} days"
        else:
            for lp in loads.tolist():
                taken.setdefault(lp, []).append(day)
        zone_ch = _zone_ch(loads, duration, facts)
        zone_rows += [{"group": name, "zone": z, "customer_hours": float(ch)} for z, ch in zone_ch.items()]
        over = [z for z, ch in zone_ch.items()
                if spent.get(z, 0.0) + ch > budget.loc[z, "budget_h"] * budget.loc[z, "customers"] + 1e-9]
        for z, ch in zone_ch.items():
            spent[z] = spent.get(z, 0.0) + ch
        verdict = "live line" if live else "no date" if note else "over budget" if over else "approve"
        if over and not note:
            note = "over the planned-outage budget of zone " + ", ".join(over)
        tot = facts.totals(loads, duration)
        separate = float(job_rows.loc[members, "customer_hours"].sum())
        rows.append({"group": name, "jobs": "; ".join(members), "requested": requested, "planned": day,
                     "moved_days": (day - requested).days, "duration_h": duration, "customers": tot["customers"],
                     "customer_hours": tot["customer_hours"], "separate_customer_hours": separate,
                     "saved_customer_hours": separate - tot["customer_hours"], "verdict": verdict, "note": note})
        for j in members:
            verdicts[j] = (name, day, "live line" if bool(first.loc[j, "live_line"]) else verdict)
    group_zones = pd.DataFrame(zone_rows, columns=["group", "zone", "customer_hours"])
    return pd.DataFrame(rows).set_index("group"), verdicts, group_zones


def _job_zone_rows(first: pd.DataFrame, outages: dict[str, Outage], facts: _LoadFacts,
                   budget: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for j, r in first.iterrows():
        if bool(r["live_line"]):
            continue
        loads = facts.customers.index.intersection(outages[j].interrupted)
        for z, cust in facts.customers[loads].groupby(facts.zone[loads]).sum().items():
            ch = float(cust) * float(r["duration_h"])
            total = float(budget.loc[z, "customers"])
            rows.append({"job": j, "zone": z, "customers": float(cust), "customer_hours": ch,
                         "saidi_increment_h": ch / total, "asai_increment": ch / total / HOURS_PER_YEAR})
    return pd.DataFrame(rows, columns=["job", "zone", "customers", "customer_hours", "saidi_increment_h",
                                       "asai_increment"])


# ---------------------------------------------------------------------------------------------- the export
#: Chinese column headers of the plan's tables (``lang="zh"``).
PLAN_LABELS_ZH: dict[str, str] = {
    "job": "作业", "elements": "停电设备", "feeder": "馈线", "requested": "申请日期", "planned": "建议日期",
    "duration_h": "时长(h)", "live_line": "带电作业", "crew": "班组", "opened": "拉开开关",
    "closed_ties": "合上联络开关", "refused": "未能转供", "loads": "停电负荷点数", "customers": "停电用户数",
    "customer_hours": "停电时户数", "ens_mwh": "少供电量(MWh)", "saved_customer_hours": "减少停电时户数",
    "group": "停电组", "verdict": "结论", "jobs": "作业", "moved_days": "顺延天数",
    "separate_customer_hours": "分别停电时户数", "note": "说明", "zone": "供电区域",
    "saidi_target_h": "目标户均停电时间(h)", "fault_saidi_h": "故障户均停电时间(h)",
    "budget_h": "预安排停电预算(h)", "planned_saidi_h": "预安排户均停电时间(h)", "remaining_h": "剩余预算(h)",
    "asai_planned": "可靠率降低", "within_budget": "预算内", "saidi_increment_h": "户均停电时间增量(h)",
    "asai_increment": "可靠率降低",
}
#: Chinese verdicts.
VERDICTS_ZH: dict[str, str] = {"approve": "同意", "over budget": "超预算", "no date": "无可行日期",
                               "live line": "带电作业"}
#: Sheet (and CSV file suffix) of each table, English and Chinese.
PLAN_SHEETS: dict[str, tuple[str, str]] = {"jobs": ("jobs", "作业"), "groups": ("groups", "停电组"),
                                           "zones": ("zones", "供电区域"), "job_zones": ("job_zones", "作业-区域")}


def plan_tables(plan: OutagePlan, lang: str = "en") -> dict[str, pd.DataFrame]:
    """The plan's four tables with their headers in ``lang`` (``en`` or ``zh``), index as first column."""
    lang = check_lang(lang)
    out = {}
    for key, df in (("jobs", plan.jobs), ("groups", plan.groups), ("zones", plan.zones),
                    ("job_zones", plan.job_zones)):
        table = df.reset_index() if df.index.name else df.copy()
        for col in ("requested", "planned"):
            if col in table:
                table[col] = table[col].astype(str)
        if lang == "zh":
            if "verdict" in table:
                table["verdict"] = table["verdict"].map(lambda v: VERDICTS_ZH.get(v, v))
            table = table.rename(columns=PLAN_LABELS_ZH)
        out[PLAN_SHEETS[key][lang == "zh"]] = table
    return out


def write_plan(plan: OutagePlan, path: str | Path, *, lang: str = "en", overwrite: bool = False) -> list[Path]:
    """Write the plan: one ``.xlsx`` with a sheet per table, or ``.csv`` files (``<stem>.csv`` the jobs, then
    ``<stem>_groups.csv``, ``<stem>_zones.csv``, ``<stem>_job_zones.csv``); atomic, formula-safe.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from ..cells import safe_frame, write_frame
    from ..grid.io import atomic_write

    dest = Path(path)
    tables = plan_tables(plan, lang)
    suffix = dest.suffix.lower()
    if suffix == ".xlsx":
        def write_xlsx(tmp: str) -> None:
            from openpyxl import Workbook

            wb = Workbook()
            wb.remove(wb.active)
            for sheet, df in tables.items():
                write_frame(wb.create_sheet(sheet), df)
            wb.save(tmp)

        return [atomic_write(dest, write_xlsx, overwrite=overwrite)]
    if suffix != ".csv":
        raise InputError(f"{dest}: the plan is written as .xlsx or .csv")
    paths = [dest] + [dest.with_name(f"{dest.stem}_{key}.csv") for key in ("groups", "zones", "job_zones")]
    clash = [p for p in paths if p.exists()]
    if clash and not overwrite:
        raise InputError(f"{', '.join(map(str, clash))} exist(s); pass overwrite=True (CLI: --force)")
    for p, df in zip(paths, tables.values(), strict=True):
        atomic_write(p, lambda tmp, df=df: safe_frame(df).to_csv(tmp, index=False, encoding="utf-8-sig"),
                     overwrite=True)
    return paths
