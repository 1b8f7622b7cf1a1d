"""Loading by power flow: the planning snapshot (pandapower ``runpp``) and the peak over a time series.

:class:`PeakLoading` is the one result every capacity analysis reads (flags, open capacity, connection
evaluation). It holds, for every line, transformer and bus, the loading at the planning load -- one
snapshot -- or the peak over a time series together with the step at which it occurred.

Loading semantics are pandapower's, exactly:

* line: ``loading_percent = max(i_from_ka, i_to_ka) / (max_i_ka × df × parallel) × 100``;
* two-winding transformer: ``max(i_hv_ka × vn_hv_kv, i_lv_ka × vn_lv_kv) × √3 / (sn_mva × parallel × df)
  × 100`` (pandapower's default ``trafo_loading="current"``), i.e. ``res_trafo.loading_percent``;
* three-winding transformer: ``res_trafo3w.loading_percent``.

The planning snapshot
---------------------
``run_snapshot(net, scaling=s)`` runs ``runpp`` on a copy of the network with every load's ``scaling``
multiplied by ``s`` (so a load's power is ``p_mw × scaling × s``, the network's own ``scaling`` column is kept).
Static generators (``sgen``) are **switched off** by default: the planning load is checked without the
generation that may or may not be there at the peak, which is the worst case for the loading of a
load-dominated grid. Pass ``include_sgen=True`` to keep them at ``p_mw × scaling``. Voltage-controlled
generators (``gen``), storage and every other element are kept as they are.

Time series
-----------
:func:`run_timeseries` runs a power flow per time step with a batch engine (power-grid-model by default, see
:mod:`gridscope.capacity.timeseries`) and keeps the running peaks only, so memory does not grow with the
number of steps. The bus table then holds the minimum and maximum voltage with their steps; ``vm_pu``,
``p_mw`` and ``q_mvar`` are those of the *system peak step* (the step with the largest total load).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ConvergenceError, InputError

if TYPE_CHECKING:  # pragma: no cover
    from .flags import Thresholds

__all__ = [
    "PeakLoading",
    "diagnose_nonconvergence",
    "planning_loading",
    "prepare_planning_net",
    "run_snapshot",
    "run_timeseries",
]

LINE_COLUMNS = ["loading_percent", "i_ka", "p_from_mw", "q_from_mvar", "p_to_mw", "q_to_mvar", "time"]
TRAFO_COLUMNS = ["loading_percent", "p_hv_mw", "q_hv_mvar", "s_hv_mva", "p_lv_mw", "time"]
TRAFO3W_COLUMNS = ["loading_percent", "time"]
BUS_COLUMNS = ["vm_pu", "p_mw", "q_mvar"]
BUS_TS_COLUMNS = ["vm_pu", "vm_min_pu", "vm_max_pu", "time_min", "time_max", "p_mw", "q_mvar", "time"]
EXT_GRID_COLUMNS = ["p_mw", "q_mvar", "time"]


@dataclass(eq=False)
class PeakLoading:
    """Peak loading of every element, from one snapshot or a time series.

    Attributes
    ----------
    line : pandas.DataFrame
        Index ``net.line.index``; columns ``loading_percent``, ``i_ka``, ``p_from_mw``, ``q_from_mvar``,
        ``p_to_mw``, ``q_to_mvar`` (all at the line's own peak step) and ``time`` (label of that step, ``None``
        for a snapshot).
    trafo : pandas.DataFrame
        Index ``net.trafo.index``; ``loading_percent``, ``p_hv_mw``, ``q_hv_mvar``, ``s_hv_mva``, ``p_lv_mw``,
        ``time``.
    trafo3w : pandas.DataFrame
        Index ``net.trafo3w.index``; ``loading_percent``, ``time`` (empty when the network has none).
    bus : pandas.DataFrame
        Index ``net.bus.index``; ``vm_pu``, ``p_mw``, ``q_mvar`` (net injection, as ``res_bus``). For a time
        series also ``vm_min_pu``, ``vm_max_pu``, ``time_min``, ``time_max`` and ``time`` (the system peak step
        at which ``vm_pu``, ``p_mw``, ``q_mvar`` are given).
    ext_grid : pandas.DataFrame
        Index ``net.ext_grid.index``; ``p_mw``, ``q_mvar`` and ``time`` (for a time series: the step of the
        largest import ``p_mw``).
    method : str
        ``"snapshot"`` or ``"timeseries:<engine>"``.
    scaling : float
        Load scaling factor applied on top of the network's own ``scaling`` column.
    n_steps : int
        Number of power flows the peaks are taken over (1 for a snapshot).
    hours_above : pandas.DataFrame or None
        Time series only: columns ``element``, ``index``, ``kind`` (``"heavy"``, ``"overload"`` or
        ``"voltage"``), ``threshold_percent`` (for ``"voltage"``: the allowed band in percent of nominal
        voltage) and ``hours_above`` (hours at or above the loading threshold, or outside the voltage band).
    include_sgen : bool
        Whether static generators were in service.
    step_h : float or None
        Length of one time step in hours (time series only).
    engine : str or None
        Batch engine of a time series (``"pgm"`` or ``"pandapower"``).
    time_index : pandas.Index or None
        Labels of the time steps (time series only).
    thresholds : Thresholds or None
        The thresholds ``hours_above`` was counted with.
    """

    line: pd.DataFrame
    trafo: pd.DataFrame
    trafo3w: pd.DataFrame
    bus: pd.DataFrame
    ext_grid: pd.DataFrame
    method: str
    scaling: float
    n_steps: int
    hours_above: pd.DataFrame | None = None
    include_sgen: bool = False
    step_h: float | None = None
    engine: str | None = None
    time_index: pd.Index | None = field(default=None, repr=False)
    thresholds: Thresholds | None = field(default=None, repr=False)

    @property
    def is_timeseries(self) -> bool:
        """True when the peaks were taken over a time series."""
        return self.method.startswith("timeseries")

    def summary(self) -> dict[str, Any]:
        """Maximum line and transformer loading, voltage range and number of steps (for printing)."""
        def _max(df: pd.DataFrame) -> float:
            return float(df["loading_percent"].max()) if len(df) and df["loading_percent"].notna().any() \
                else float("nan")

        vmin = self.bus["vm_min_pu"] if "vm_min_pu" in self.bus else self.bus["vm_pu"]
        vmax = self.bus["vm_max_pu"] if "vm_max_pu" in self.bus else self.bus["vm_pu"]
        return {
            "method": self.method,
            "n_steps": self.n_steps,
            "scaling": self.scaling,
            "max_line_loading_percent": _max(self.line),
            "max_trafo_loading_percent": _max(self.trafo),
            "vm_min_pu": float(vmin.min()),
            "vm_max_pu": float(vmax.max()),
        }


# ------------------------------------------------------------------------------------------------ snapshot
def prepare_planning_net(net: Any, *, scaling: float, include_sgen: bool) -> Any:
    """A deep copy of ``net`` at the planning point: loads scaled, generation off unless ``include_sgen``.

    The snapshot power flow and the bus open-capacity search both start from it, so they study the same
    operating point; the user's net is never touched.
    """
    if not np.isfinite(scaling) or scaling < 0:
        raise InputError(f"scaling must be a finite number >= 0, got {scaling!r}")
    work = copy.deepcopy(net)
    if len(work.load):
        work.load["scaling"] = work.load["scaling"].astype(float) * float(scaling)
    if not include_sgen and len(work.sgen):
        work.sgen["in_service"] = False
    return work


def _snapshot_tables(work: Any) -> dict[str, pd.DataFrame]:
    """Copy pandapower's result tables into the :class:`PeakLoading` layout."""
    res_line = work.res_line.reindex(work.line.index)
    line = pd.DataFrame({
        "loading_percent": res_line["loading_percent"].astype(float),
        "i_ka": res_line["i_ka"].astype(float),
        "p_from_mw": res_line["p_from_mw"].astype(float),
        "q_from_mvar": res_line["q_from_mvar"].astype(float),
        "p_to_mw": res_line["p_to_mw"].astype(float),
        "q_to_mvar": res_line["q_to_mvar"].astype(float),
    }, index=work.line.index)
    line["time"] = None
    res_trafo = work.res_trafo.reindex(work.trafo.index)
    p_hv = res_trafo["p_hv_mw"].astype(float)
    q_hv = res_trafo["q_hv_mvar"].astype(float)
    trafo = pd.DataFrame({
        "loading_percent": res_trafo["loading_percent"].astype(float),
        "p_hv_mw": p_hv,
        "q_hv_mvar": q_hv,
        "s_hv_mva": np.hypot(p_hv, q_hv),
        "p_lv_mw": res_trafo["p_lv_mw"].astype(float),
    }, index=work.trafo.index)
    trafo["time"] = None
    if "trafo3w" in work and len(work.trafo3w):
        res3 = work.res_trafo3w.reindex(work.trafo3w.index)
        trafo3w = pd.DataFrame({"loading_percent": res3["loading_percent"].astype(float)},
                               index=work.trafo3w.index)
    else:
        trafo3w = pd.DataFrame({"loading_percent": pd.Series(dtype=float)},
                               index=work.trafo3w.index if "trafo3w" in work else pd.Index([], dtype=int))
    trafo3w["time"] = None
    res_bus = work.res_bus.reindex(work.bus.index)
    bus = pd.DataFrame({
        "vm_pu": res_bus["vm_pu"].astype(float),
        "p_mw": res_bus["p_mw"].astype(float),
        "q_mvar": res_bus["q_mvar"].astype(float),
    }, index=work.bus.index)
    res_eg = work.res_ext_grid.reindex(work.ext_grid.index)
    ext_grid = pd.DataFrame({"p_mw": res_eg["p_mw"].astype(float), "q_mvar": res_eg["q_mvar"].astype(float)},
                            index=work.ext_grid.index)
    ext_grid["time"] = None
    return {"line": line, "trafo": trafo, "trafo3w": trafo3w, "bus": bus, "ext_grid": ext_grid}


def run_snapshot(net: Any, *, scaling: float = 1.0, algorithm: str = "nr", include_sgen: bool = False,
                 **runpp_kwargs: Any) -> PeakLoading:
    """Loading of every element at the planning load, by one pandapower ``runpp``.

    Parameters
    ----------
    net : pandapowerNet
        The network; not modified (the power flow runs on a copy).
    scaling : float
        Factor on every load's ``scaling`` (1.0: the loads as given).
    algorithm : str
        pandapower power-flow algorithm (``"nr"``, ``"iwamoto_nr"``, ``"bfsw"``, ...).
    include_sgen : bool
        Keep static generators in service (default: off, see the module docstring).
    **runpp_kwargs
        Passed on to :func:`pandapower.runpp`.

    Returns
    -------
    PeakLoading
        ``method="snapshot"``, ``n_steps=1``, ``time`` columns ``None``.

    Raises
    ------
    ConvergenceError
        The power flow did not converge; the message gives the likely cause.
    InputError
        ``scaling`` is negative or not finite.
    """
    import pandapower as pp

    work = prepare_planning_net(net, scaling=scaling, include_sgen=include_sgen)
    try:
        pp.runpp(work, algorithm=algorithm, **runpp_kwargs)
    except pp.LoadflowNotConverged:
        cause = diagnose_nonconvergence(work, algorithm=algorithm)
        raise ConvergenceError(
            f"the power flow of {_net_name(net)} at the planning load (scaling {scaling:g}"
            f"{', with sgen' if include_sgen else ''}) did not converge: {cause}") from None
    tables = _snapshot_tables(work)
    return PeakLoading(**tables, method="snapshot", scaling=float(scaling), n_steps=1, hours_above=None,
                       include_sgen=include_sgen)


def run_timeseries(net: Any, profiles: Any = "simbench", *, engine: str = "pgm", time_steps: Any = None,
                   step_h: float | None = None, thresholds: Thresholds | None = None, scaling: float = 1.0,
                   include_sgen: bool = True, missing: str = "error", chunk_size: int = 2048,
                   threads: int = 0, progress: Callable[[int, int], None] | None = None,
                   cancel: Callable[[], bool] | None = None) -> PeakLoading:
    """Peak loading of every element over a time series of load and generation, by a batch power flow.

    Parameters
    ----------
    net : pandapowerNet
        The network; not modified.
    profiles : "simbench", str, os.PathLike, dict or Profiles
        ``"simbench"`` (or ``None``): the SimBench profiles stored in the network; a CSV path (format in
        :func:`gridscope.capacity.timeseries.read_profile_csv`); a dict of DataFrames keyed by
        ``(element, column)`` like ``simbench.get_absolute_values`` returns (rows: time steps, columns: element
        indices); or a prepared :class:`~gridscope.capacity.timeseries.Profiles`.
    engine : {"pgm", "pandapower"}
        ``"pgm"``: power-grid-model batch calculation (fast); ``"pandapower"``: one ``runpp`` per step (slow,
        for cross-checks and for elements power-grid-model does not model).
    time_steps : slice, sequence of int or None
        Positions of the steps to run (default: all).
    step_h : float or None
        Hours per step; default from the time labels (SimBench: 0.25 h), else 1 h.
    thresholds : Thresholds or None
        Thresholds the hours above are counted with (default :class:`~gridscope.capacity.flags.Thresholds`).
    scaling : float
        Factor on every load.
    include_sgen : bool
        Static generators follow their profiles (default) or are switched off.
    missing : {"error", "static"}
        Loads and sgens without a profile: an error (listing them all) or held at their static value.
    chunk_size : int
        Steps per batch; bounds memory.
    threads : int
        power-grid-model threads (0: all hardware threads, -1: sequential).
    progress : callable or None
        Called as ``progress(done_steps, total_steps)`` after every chunk.
    cancel : callable or None
        Checked before every chunk; when it returns True a :class:`~gridscope.errors.CancelledError` is
        raised.

    Returns
    -------
    PeakLoading
        ``method="timeseries:<engine>"`` with the running peaks and ``hours_above``.

    Raises
    ------
    InputError
        Bad or misaligned profiles (every problem listed), unknown engine.
    ConvergenceError
        A time step did not converge; the message names the step(s) and the likely cause.
    """
    from .timeseries import run_batch

    return run_batch(net, profiles, engine=engine, time_steps=time_steps, step_h=step_h, thresholds=thresholds,
                     scaling=scaling, include_sgen=include_sgen, missing=missing, chunk_size=chunk_size,
                     threads=threads, progress=progress, cancel=cancel)


def planning_loading(net: Any, *, scaling: float = 1.0, profiles: Any = None, **kw: Any) -> PeakLoading:
    """The loading capacity analyses use: a snapshot at the planning load, or the peaks over profiles.

    Parameters
    ----------
    net : pandapowerNet
        The network; not modified.
    scaling : float
        Load scaling factor.
    profiles : None, "simbench", path, dict or Profiles
        ``None``: a snapshot (:func:`run_snapshot`); otherwise a time series (:func:`run_timeseries`).
    **kw
        Passed on to :func:`run_snapshot` or :func:`run_timeseries`.
    """
    if profiles is None:
        return run_snapshot(net, scaling=scaling, **kw)
    return run_timeseries(net, profiles, scaling=scaling, **kw)


# ------------------------------------------------------------------------------------------- diagnosis
def _net_name(net: Any) -> str:
    name = getattr(net, "name", None)
    return repr(name) if name else "the network"


def _supply_capacity_mva(net: Any) -> tuple[float, list[str]]:
    """Rating of the branches leaving the source buses (joined by closed bus-bus switches)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    bus_pos = pd.Series(np.arange(len(net.bus)), index=net.bus.index)
    sw = net.switch[(net.switch["et"] == "b") & net.switch["closed"].astype(bool)] if len(net.switch) \
        else net.switch
    a = bus_pos.reindex(sw["bus"]).to_numpy() if len(sw) else np.zeros(0, dtype=int)
    b = bus_pos.reindex(sw["element"]).to_numpy() if len(sw) else np.zeros(0, dtype=int)
    n = len(net.bus)
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _, group = connected_components(graph, directed=False)
    eg = net.ext_grid[net.ext_grid["in_service"].astype(bool)]
    src_groups = set(group[bus_pos.reindex(eg["bus"]).to_numpy()].tolist())
    in_src = pd.Series(np.isin(group, list(src_groups)), index=net.bus.index)
    parts: list[str] = []
    total = 0.0
    tr = net.trafo[net.trafo["in_service"].astype(bool)] if len(net.trafo) else net.trafo
    if len(tr):
        feed = tr[in_src.reindex(tr["hv_bus"]).to_numpy()]
        for idx, row in feed.iterrows():
            s_mva = float(row["sn_mva"]) * float(row.get("parallel", 1)) * float(row.get("df", 1.0))
            total += s_mva
            parts.append(f"trafo {idx} {row.get('name', '')!s} {s_mva:g} MVA".replace("  ", " "))
    ln = net.line[net.line["in_service"].astype(bool)] if len(net.line) else net.line
    if len(ln):
        at_src = in_src.reindex(ln["from_bus"]).to_numpy() ^ in_src.reindex(ln["to_bus"]).to_numpy()
        feed = ln[at_src]
        src_bus = np.where(in_src.reindex(feed["from_bus"]).to_numpy(), feed["from_bus"], feed["to_bus"])
        vn = net.bus["vn_kv"].reindex(src_bus).to_numpy(dtype=float)
        s_mva = np.sqrt(3) * vn * feed["max_i_ka"].to_numpy(dtype=float) * feed["df"].to_numpy(dtype=float) \
            * feed["parallel"].to_numpy(dtype=float)
        total += float(np.nansum(s_mva))
        parts += [f"line {i} {s:.3g} MVA" for i, s in zip(feed.index, s_mva, strict=True)]
    return total, parts


def _load_mva(net: Any) -> tuple[float, float]:
    ld = net.load[net.load["in_service"].astype(bool)] if len(net.load) else net.load
    p = float((ld["p_mw"] * ld["scaling"]).sum()) if len(ld) else 0.0
    q = float((ld["q_mvar"] * ld["scaling"]).sum()) if len(ld) else 0.0
    return p, q


def _converges(net: Any, factor: float, algorithm: str) -> bool:
    import pandapower as pp

    trial = copy.deepcopy(net)
    trial.load["scaling"] = trial.load["scaling"].astype(float) * factor
    try:
        pp.runpp(trial, algorithm=algorithm)
    except pp.LoadflowNotConverged:
        return False
    except Exception:  # pandapower raises other errors on degenerate data
        return False
    return True


def diagnose_nonconvergence(net: Any, *, algorithm: str = "nr", bisection_steps: int = 5) -> str:
    """The likely cause of a power flow that does not converge, in one sentence or a few.

    Checks, in order: buses cut off from every external grid (islanded), the total load against the rating of
    the elements feeding it, and the largest fraction of the load at which pandapower's power flow still
    converges (found by bisection: below 100 % the load is beyond the grid's maximum loadability -- voltage
    collapse; if even 1 % does not converge the data are wrong).

    Parameters
    ----------
    net : pandapowerNet
        The network *as run* (loads at the failing step); not modified.
    algorithm : str
        pandapower algorithm used for the bisection.
    bisection_steps : int
        Power flows spent on the bisection.

    Returns
    -------
    str
        The diagnosis, starting with ``"likely cause: "``.
    """
    causes: list[str] = []
    try:
        import pandapower.topology as top

        unsupplied = sorted(top.unsupplied_buses(net))
    except Exception:  # topology may fail on broken data; the other checks still help
        unsupplied = []
    if unsupplied:
        loads_on = net.load[net.load["bus"].isin(unsupplied) & net.load["in_service"].astype(bool)]
        names = [f"bus {b} {net.bus.at[b, 'name']!r}" for b in unsupplied[:5]]
        more = f" and {len(unsupplied) - 5} more" if len(unsupplied) > 5 else ""
        causes.append(f"{len(unsupplied)} bus(es) islanded from every ext_grid ({', '.join(names)}{more}; "
                      f"{len(loads_on)} load(s) on them)")
    p_mw, q_mvar = _load_mva(net)
    s_load = float(np.hypot(p_mw, q_mvar))
    cap, parts = _supply_capacity_mva(net)
    if cap > 0 and s_load > 1.5 * cap:
        causes.append(f"load far above ratings: the total load {s_load:.3g} MVA is {s_load / cap:.1f}x the "
                      f"rating of the elements feeding it ({cap:.3g} MVA: {', '.join(parts[:4])})")
    if _converges(net, 1.0, algorithm):
        causes.append("pandapower's own power flow converges at this load, so the failure is numerical in the "
                      "batch engine: rerun this step with engine='pandapower'")
    else:
        lo, hi = 0.0, 1.0
        for trial in (0.5, 0.1, 0.01):
            if _converges(net, trial, algorithm):
                lo = trial
                break
            hi = trial
        if lo == 0.0:
            causes.append("it does not converge even at 1 % of the load: the data are wrong (zero or negative "
                          "impedances, transformer voltages not matching their buses, islanded generation)")
        else:
            for _ in range(bisection_steps):
                mid = 0.5 * (lo + hi)
                if _converges(net, mid, algorithm):
                    lo = mid
                else:
                    hi = mid
            causes.append(f"voltage collapse: the power flow converges up to about {100 * lo:.0f} % of this "
                          f"load ({lo * p_mw:.3g} of {p_mw:.3g} MW), beyond it the grid cannot carry the load")
    return "likely cause: " + "; ".join(causes)
