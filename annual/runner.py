"""Running an annual study: networks × cases as independent tasks, in-process or on a Dask cluster.

A study is cut into tasks, one per network and case: ``base``, each named scenario, and ``capacity``. A task
is a pure function of the (picklable) config and its network spec, so it runs the same in this process or on
any Dask worker; the results are gathered in task order, so the numbers never depend on the executor or the
number of workers. Every network gets its own Monte-Carlo seed derived from the study seed and the network's
name (:func:`network_seed`); the scenarios of a network share it (common random numbers, so a scenario's
difference to the base is not blurred by sampling noise).

On one process the tasks of a network share one :class:`~gridscope.study.Study` (topology, validation and
failure-effect structure built once); on a cluster each worker keeps the studies it built (a small cache).
"""

from __future__ import annotations

import inspect
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..capacity.flags import Thresholds
from ..capacity.open_capacity import Limits
from ..errors import CancelledError, GridscopeError
from ..grid.defaults import apply_reliability_data
from ..grid.facts import bus_xy_km
from ..grid.io import load_network
from ..grid.zones import assign_zones_from_mapping
from ..progress import CANCEL_CHECK_S, ProgressCallback, Reporter
from ..reliability.api import scale_impact
from ..study import Study
from .config import NetworkSpec, StudyConfig

__all__ = [
    "BASE",
    "CAPACITY",
    "VOLATILE_ATTRS",
    "NetworkGeometry",
    "StudyRun",
    "Task",
    "TaskResult",
    "network_geometry",
    "network_seed",
    "plan_tasks",
    "prepare_network",
    "run_study",
    "run_task",
]

#: Case name of the base reliability run.
BASE = "base"
#: Case name of the capacity task (flags and open capacity).
CAPACITY = "capacity"
#: Dataset attrs that record when and how fast a run went, not what it computed: kept out of the result files
#: (so two runs with one seed write identical files) and recorded in the manifest instead.
VOLATILE_ATTRS = ("created", "elapsed_s", "years_per_s", "threads")
#: Studies a process keeps prepared (per network), so the cases of one network reuse one study.
STUDY_CACHE_SIZE = 4
#: Studies with at most this many networks keep Monte-Carlo samples and get a map set per network.
DETAIL_NETWORKS = 12


@dataclass(frozen=True)
class Task:
    """One unit of work: ``case`` (``"base"``, a scenario name or ``"capacity"``) of one network."""

    position: int
    network: NetworkSpec
    case: str


@dataclass(frozen=True)
class NetworkGeometry:
    """What the network maps need, small enough to send back from a worker.

    Attributes
    ----------
    bus_xy_km : pandas.DataFrame
        ``x_km``, ``y_km`` per bus (NaN without coordinates).
    bus_zone : pandas.Series
        Supply zone per bus (``""`` where none).
    branches : pandas.DataFrame
        One row per line and two-winding transformer: ``element`` (``"line"``/``"trafo"``), ``index``,
        ``name``, ``from_bus``, ``to_bus``, ``in_service``.
    """

    bus_xy_km: pd.DataFrame
    bus_zone: pd.Series
    branches: pd.DataFrame


@dataclass
class TaskResult:
    """What a task returns: a reliability dataset (cases) or a capacity result, and the network's facts."""

    task: Task
    dataset: Any = None
    capacity: Any = None
    summary: dict[str, Any] = field(default_factory=dict)
    geometry: NetworkGeometry | None = None
    volatile: dict[str, Any] = field(default_factory=dict)


@dataclass
class StudyRun:
    """The results of a study, before they are written (see :func:`gridscope.annual.writer.write_study`).

    Attributes
    ----------
    config : StudyConfig
        With the seed actually used.
    reliability : dict of str to xarray.Dataset
        Per network: every case stacked along ``scenario`` (``base`` first).
    capacity : dict of str to CapacityResult
        Per network (empty when capacity is disabled).
    summaries : dict of str to dict
        Per network: :meth:`gridscope.study.Study.summary`.
    geometry : dict of str to NetworkGeometry
    seeds : dict of str to int
        Per network Monte-Carlo seed (analytical: the derived seed is recorded but unused).
    volatile : dict
        Timings per task (``"<network>/<case>"`` → attrs left out of the files).
    executor : str
        ``"in-process"``, ``"local cluster (N workers)"`` or the scheduler address.
    """

    config: StudyConfig
    reliability: dict[str, Any]
    capacity: dict[str, Any]
    summaries: dict[str, dict[str, Any]]
    geometry: dict[str, NetworkGeometry]
    seeds: dict[str, int]
    volatile: dict[str, Any]
    executor: str = "in-process"


def network_seed(seed: int, name: str) -> int:
    """The Monte-Carlo seed of network ``name`` in a study with ``seed``: independent streams per network,
    unchanged when networks are added to or removed from the study."""
    state = np.random.SeedSequence([int(seed), zlib.crc32(name.encode("utf-8"))]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))  # a non-negative int64


def plan_tasks(config: StudyConfig) -> list[Task]:
    """The tasks of a study in their fixed order: per network ``base``, the scenarios, then ``capacity``."""
    cases = [BASE, *config.scenarios, *([CAPACITY] if config.capacity.enabled else [])]
    tasks = []
    for net in config.networks:
        tasks += [Task(len(tasks), net, case) for case in cases]
    return tasks


# ---------------------------------------------------------------------------------------------- one network
def _reserved_rows(path: str, name: str) -> pd.DataFrame:
    table = pd.read_csv(path)
    if "network" in table.columns:
        table = table[table["network"].astype(str) == name]
    return table[["element", "element_index", "p_mw"]].reset_index(drop=True)


def prepare_network(spec: NetworkSpec, config: StudyConfig) -> Any:
    """Load ``spec``'s network and apply the study's zones, reliability-data overrides and reserved capacity.

    Values present in the network file win over the overrides (they replace the defaults table only).
    """
    net = load_network(spec.source, fill_defaults=False)
    apply_reliability_data(net, overrides=config.reliability_data or None)
    if spec.zone_mapping is not None:
        assign_zones_from_mapping(net, spec.zone_mapping, default=spec.default_zone)
    if config.capacity.reserved is not None:
        rows = _reserved_rows(config.capacity.reserved, spec.name)
        if len(rows):
            net["reserved_capacity"] = rows
    if not getattr(net, "name", ""):
        net.name = spec.name
    return net


_STUDIES: OrderedDict[tuple[NetworkSpec, str], Any] = OrderedDict()


def _study(spec: NetworkSpec, config: StudyConfig) -> Any:
    """The prepared study of ``spec`` (kept for the other cases of the same network)."""
    key = (spec, repr((config.reliability_data, config.capacity.reserved)))
    if key in _STUDIES:
        _STUDIES.move_to_end(key)
        return _STUDIES[key]
    study = Study(prepare_network(spec, config), default_zone=spec.default_zone)
    study.source = spec.source
    _STUDIES[key] = study
    while len(_STUDIES) > STUDY_CACHE_SIZE:
        _STUDIES.popitem(last=False)
    return study


def network_geometry(net: Any) -> NetworkGeometry:
    """The bus coordinates (km), bus zones and branch end points of ``net`` for the network maps."""
    zone = net.bus["zone"].astype(object).where(net.bus["zone"].notna(), "").astype(str) \
        if "zone" in net.bus else pd.Series("", index=net.bus.index)
    parts = []
    for element, frm, to in (("line", "from_bus", "to_bus"), ("trafo", "hv_bus", "lv_bus")):
        t = net[element]
        parts.append(pd.DataFrame({
            "element": element, "index": t.index.to_numpy(),
            "name": t["name"].astype(object).fillna("").astype(str).to_numpy() if "name" in t else "",
            "from_bus": t[frm].to_numpy(), "to_bus": t[to].to_numpy(),
            "in_service": t["in_service"].to_numpy(dtype=bool)}))
    return NetworkGeometry(bus_xy_km=bus_xy_km(net), bus_zone=zone, branches=pd.concat(parts, ignore_index=True))


def _case_options(config: StudyConfig, case: str, seed: int) -> dict[str, Any]:
    rel = config.reliability
    opts: dict[str, Any] = {"method": rel.method, "targets": config.targets or None,
                            "tie_capacity": rel.tie_capacity}
    if rel.method == "monte-carlo":
        opts.update(seed=seed, repair_dist=rel.repair_dist, max_years=rel.max_years)
        opts.update({"years": rel.years} if rel.years is not None else {"target_cov": rel.target_cov})
        # the yearly spread plots need the samples of the base case
        opts["keep_samples"] = case == BASE and len(config.networks) <= DETAIL_NETWORKS
    if case != BASE:
        opts.update(config.scenarios[case])
    return opts



def _outage_counts(study: Any, options: Mapping[str, Any]) -> dict[str, tuple[tuple, float, dict]]:
    """Expected outage events per year and the mean repair time, from the (scaled) failure-effect data."""
    scales = {k: float(options.get(k, 1.0)) for k in ("failure_rate_scale", "repair_time_scale",
                                                        "switching_time_scale", "planned_rate_scale")}
    imp = scale_impact(study.impact(options.get("tie_capacity", False)), **scales)
    fault = float(np.sum(imp.comp_lambda))
    planned = float(np.sum(imp.comp_planned_per_yr))
    repair = float(np.sum(imp.comp_lambda * imp.comp_repair_h) / fault) if fault > 0 else float("nan")
    return {
        "fault_events_per_yr": ((), fault, {"units": "1/yr", "long_name": "expected fault outages per year"}),
        "planned_events_per_yr": ((), planned, {"units": "1/yr", "long_name": "expected planned outages per year"}),
        "outage_events_per_yr": ((), fault + planned, {"units": "1/yr",
                                                       "long_name": "expected outages per year (fault + planned)"}),
        "mean_repair_h": ((), repair, {"units": "h", "long_name": "fault-rate-weighted mean repair time"}),
    }


def run_task(task: Task, config: StudyConfig, *, progress: ProgressCallback | None = None,
             cancel: Callable[[], bool] | None = None, mc_executor: Any = None) -> TaskResult:
    """Run one task (importable by Dask workers; uses the process's study cache).

    Parameters
    ----------
    task : Task
    config : StudyConfig
        With the study seed set.
    progress, cancel : callable, optional
        The progress protocol, passed to the Monte-Carlo run.
    mc_executor : concurrent.futures.Executor, optional
        Where the Monte-Carlo chunks run (Dask's ``client.get_executor()``), when the engine supports it.
    """
    try:
        return _run_task(task, config, progress=progress, cancel=cancel, mc_executor=mc_executor)
    except CancelledError:
        raise
    except GridscopeError as exc:  # say which network, keep the class (and its exit code)
        exc.args = (f"network {task.network.name!r} ({task.case}): {exc}",)
        raise


def _run_task(task: Task, config: StudyConfig, *, progress: ProgressCallback | None,
              cancel: Callable[[], bool] | None, mc_executor: Any) -> TaskResult:
    study = _study(task.network, config)
    out = TaskResult(task=task)
    if task.case == CAPACITY:
        out.capacity = _capacity(study, config, progress=progress, cancel=cancel)
        return out
    seed = network_seed(int(config.reliability.seed or 0), task.network.name)
    options = _case_options(config, task.case, seed)
    mc_kw: dict[str, Any] = {}
    if mc_executor is not None and options["method"] == "monte-carlo":
        mc_kw["executor"] = mc_executor
    ds = study.reliability(progress=progress, cancel=cancel, **options, **mc_kw)
    for name, value in _outage_counts(study, options).items():
        ds[name] = value
    out.volatile = {k: ds.attrs.pop(k) for k in VOLATILE_ATTRS if k in ds.attrs}
    ds.attrs["network"] = task.network.name
    ds.attrs["source"] = task.network.source
    out.dataset = ds
    if task.case == BASE:
        out.summary = study.summary()
        out.geometry = network_geometry(study.net)
    return out


def _capacity(study: Any, config: StudyConfig, **kw: Any) -> Any:
    c = config.capacity
    thresholds = Thresholds(line_heavy=c.line_limit, trafo_heavy=c.trafo_limit, trafo3w_heavy=c.main_trafo_limit)
    n1 = {} if c.n1_overload_factor is None else {"n1_overload_factor": c.n1_overload_factor}
    limits = Limits(line_percent=c.line_limit, trafo_percent=c.trafo_limit, main_trafo_percent=c.main_trafo_limit,
                    **n1)
    cap = study.capacity(scaling=c.scaling, profiles=c.profiles, thresholds=thresholds, limits=limits, **kw)
    cap.meta.pop("date", None)  # when, not what: into the manifest's timings, out of the tables
    return cap


def mc_executor_supported() -> bool:
    """Whether the Monte-Carlo engine takes an ``executor`` (chunks on a cluster)."""
    from ..reliability.montecarlo import simulate  # deferred: loads numba

    return "executor" in inspect.signature(simulate).parameters


# ---------------------------------------------------------------------------------------------- whole study
def _run_local(tasks: list[Task], config: StudyConfig, rep: Reporter, cancel: Callable[[], bool] | None,
               mc_executor: Any) -> list[TaskResult]:
    results = []
    for k, task in enumerate(tasks):
        rep.check(k)
        results.append(run_task(task, config, cancel=cancel, mc_executor=mc_executor))
        rep.update(k + 1, {"networks": len({t.network.name for t in tasks[: k + 1]})})
    return results


def _run_dask(tasks: list[Task], config: StudyConfig, client: Any, rep: Reporter) -> list[TaskResult]:
    """Submit every task to ``client`` and gather them in task order (progress as they finish)."""
    from distributed import wait  # deferred: dask is optional

    futures = [client.submit(run_task, t, config, key=f"gridscope-{t.network.name}-{t.case}-{t.position}",
                             pure=False) for t in tasks]
    pending = set(futures)
    try:
        while pending:
            try:
                _, pending = wait(list(pending), timeout=CANCEL_CHECK_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            done = len(tasks) - len(pending)
            rep.check(done)
            rep.update(done)
        errors = [f for f in futures if f.status == "error"]
        if errors:
            errors[0].result()  # re-raises the task's own exception
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise


def _stack_cases(results: list[TaskResult], config: StudyConfig) -> Any:
    import xarray as xr  # deferred: a heavy import only the assembly needs

    parts = [r.dataset.expand_dims(scenario=[r.task.case]) for r in results]
    out = xr.concat(parts, dim="scenario", combine_attrs="drop_conflicts")
    out.attrs["scenarios"] = "; ".join(
        f"{r.task.case}: " + (", ".join(f"{k}={v}" for k, v in config.scenarios.get(r.task.case, {}).items())
                              or "base") for r in results)
    return out


def run_study(config: StudyConfig, *, client: Any = None, executor_label: str | None = None,
              progress: ProgressCallback | None = None, cancel: Callable[[], bool] | None = None) -> StudyRun:
    """Run every task of a study and assemble the results (nothing is written).

    Parameters
    ----------
    config : StudyConfig
        From :func:`~gridscope.annual.config.load_config`; a missing seed is drawn and recorded.
    client : distributed.Client, optional
        Run the tasks on this Dask cluster. With one network and an engine that takes an executor, the
        Monte-Carlo chunks go to the cluster instead; otherwise networks and scenarios are the tasks.
    executor_label : str, optional
        How the cluster is described in the manifest.
    progress, cancel : callable, optional
        The progress protocol (:mod:`gridscope.progress`): ``done``/``total`` count tasks.

    Returns
    -------
    StudyRun

    Raises
    ------
    CancelledError
        When ``cancel()`` returned True.
    GridscopeError
        From a network (validation problems, convergence), with the network's name in the message.
    """
    if config.reliability.seed is None:
        config = config.with_seed(int(np.random.SeedSequence().generate_state(1, np.uint32)[0]))
    tasks = plan_tasks(config)
    rep = Reporter("study tasks", len(tasks), progress=progress, cancel=cancel)
    rep.update(0, force=True)
    label = executor_label or ("in-process" if client is None else str(getattr(client, "scheduler", client)))
    if client is None:
        results = _run_local(tasks, config, rep, cancel, None)
    elif len(config.networks) == 1 and config.reliability.method == "monte-carlo" and mc_executor_supported():
        results = _run_local(tasks, config, rep, cancel, client.get_executor())
        label += ": Monte-Carlo chunks on the cluster"
    else:
        results = _run_dask(tasks, config, client, rep)
        label += ": networks and scenarios as tasks on the cluster"
    by_net: dict[str, list[TaskResult]] = {}
    for r in results:
        by_net.setdefault(r.task.network.name, []).append(r)
    reliability, capacity, summaries, geometry, volatile = {}, {}, {}, {}, {}
    for name, rs in by_net.items():
        cases = [r for r in rs if r.task.case != CAPACITY]
        reliability[name] = _stack_cases(cases, config)
        summaries[name] = cases[0].summary
        geometry[name] = cases[0].geometry
        for r in rs:
            if r.capacity is not None:
                capacity[name] = r.capacity
            volatile[f"{name}/{r.task.case}"] = r.volatile
    seeds = {n.name: network_seed(int(config.reliability.seed), n.name) for n in config.networks}
    return StudyRun(config=config, reliability=reliability, capacity=capacity, summaries=summaries,
                    geometry=geometry, seeds=seeds, volatile=volatile, executor=label)
