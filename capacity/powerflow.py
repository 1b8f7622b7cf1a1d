"""Loading by power flow: the planning snapshot (pandapower ``runpp``) and the peak over a time series.

:class:`~.loading.PeakLoading` is the one result every capacity analysis reads (flags, open capacity, connection
evaluation). It holds, for every line, transformer and bus, the loading at the planning load -- one
snapshot -- or the peak over a time series together with the step at which it occurred.

Loading semantics are pandapower's, exactly:

* line: ``loading_percent = max(i_from_ka, i_to_ka) / (max_i_ka × df × parallel) × 100``;
* two-winding transformer: ``max(i_hv_ka × vn_hv_kv, i_lv_ka × vn_lv_kv) × √3 / (sn_mva × parallel × df)
  × 100`` (pandapower's default ``trafo_loading="current"``), i.e. ``res_trafo.loading_percent``;
* three-winding transformer: ``res_trafo3w.loading_percent``.

The planning snapshot
---------------------
``run_snapshot(net, scaling=s)`` runs ``runpp`` (without numba, see :mod:`.diagnosis`: no JIT compile on
every run) on a copy of the network with every load's ``scaling``
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
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConvergenceError, InputError
from ..progress import ProgressCallback
from .diagnosis import diagnose_nonconvergence, net_label, run_pandapower
from .flags import Thresholds
from .loading import (
    BUS_COLUMNS,
    BUS_TS_COLUMNS,
    EXT_GRID_COLUMNS,
    LINE_COLUMNS,
    TRAFO3W_COLUMNS,
    TRAFO_COLUMNS,
    PeakLoading,
)
from .timeseries import Injections, PgmEngine, Profiles, run_batch

__all__ = [
    "BUS_COLUMNS",
    "BUS_TS_COLUMNS",
    "EXT_GRID_COLUMNS",
    "LINE_COLUMNS",
    "SNAPSHOT_ENGINES",
    "TRAFO3W_COLUMNS",
    "TRAFO_COLUMNS",
    "PeakLoading",
    "diagnose_nonconvergence",
    "planning_loading",
    "prepare_planning_net",
    "run_snapshot",
    "run_timeseries",
]

#: Engines of the planning snapshot: pandapower's ``runpp`` (the reference, default) or power-grid-model.
SNAPSHOT_ENGINES = ("pandapower", "pgm")


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
        # a missing scaling column is pandapower's default 1 (the data contract: missing columns take defaults)
        own = work.load["scaling"].astype(float) if "scaling" in work.load.columns else 1.0
        work.load["scaling"] = own * float(scaling)
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
                 engine: str = "pandapower", **runpp_kwargs: Any) -> PeakLoading:
    """Loading of every element at the planning load, by one power flow.

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
    engine : {"pandapower", "pgm"}
        ``"pandapower"``: ``pandapower.runpp`` without numba (:func:`~.diagnosis.run_pandapower`; pandapower's
        own results, no JIT compile). ``"pgm"``: one power-grid-model calculation with the time-series
        conversion (:class:`~.timeseries.PgmEngine`; its source and transformer models differ from
        pandapower's by about 1e-4 percentage points of loading).
    **runpp_kwargs
        Passed on to :func:`pandapower.runpp` (``engine="pandapower"`` only).

    Returns
    -------
    PeakLoading
        ``method="snapshot"``, ``n_steps=1``, ``time`` columns ``None``.

    Raises
    ------
    ConvergenceError
        The power flow did not converge; the message gives the likely cause.
    InputError
        ``scaling`` is negative or not finite, unknown engine, or elements power-grid-model does not model.
    """
    if engine not in SNAPSHOT_ENGINES:
        raise InputError(f"unknown snapshot engine {engine!r}; use one of {', '.join(SNAPSHOT_ENGINES)}")
    work = prepare_planning_net(net, scaling=scaling, include_sgen=include_sgen)
    if engine == "pgm":
        tables = _pgm_snapshot_tables(net, work, scaling=scaling, include_sgen=include_sgen)
    else:
        _run_planning_pf(net, work, scaling=scaling, include_sgen=include_sgen, algorithm=algorithm,
                         **runpp_kwargs)
        tables = _snapshot_tables(work)
    return PeakLoading(**tables, method="snapshot", scaling=float(scaling), n_steps=1, hours_above=None,
                       include_sgen=include_sgen)


def _nonconvergence(net: Any, work: Any, *, scaling: float, include_sgen: bool, algorithm: str = "nr",
                    detail: str = "") -> ConvergenceError:
    """The error of a planning power flow that did not converge, with the likely cause."""
    cause = diagnose_nonconvergence(work, algorithm=algorithm)
    return ConvergenceError(
        f"the power flow of {net_label(net)} at the planning load (scaling {scaling:g}"
        f"{', with sgen' if include_sgen else ''}) did not converge{detail}: {cause}")


def _run_planning_pf(net: Any, work: Any, *, scaling: float, include_sgen: bool, algorithm: str = "nr",
                     **runpp_kwargs: Any) -> None:
    """pandapower's power flow of the prepared planning copy ``work``; ConvergenceError with the cause."""
    import pandapower as pp  # deferred: heavy import

    try:
        run_pandapower(work, algorithm=algorithm, **runpp_kwargs)
    except pp.LoadflowNotConverged:
        raise _nonconvergence(net, work, scaling=scaling, include_sgen=include_sgen, algorithm=algorithm) \
            from None


def _pgm_snapshot_tables(net: Any, work: Any, *, scaling: float, include_sgen: bool) -> dict[str, pd.DataFrame]:
    """The snapshot tables from one power-grid-model calculation of the planning copy ``work``."""
    eng = PgmEngine(work, threads=-1)
    static = Profiles(time=pd.RangeIndex(1), step_h=1.0, data={}, source="static")
    res = eng.run(Injections(work, static, np.zeros(1, dtype=np.int64), scaling=1.0, include_sgen=True))
    if res.failed.any():
        raise _nonconvergence(net, work, scaling=scaling, include_sgen=include_sgen,
                              detail=f" (power-grid-model: {res.errors.get(0, 'failed')})")
    line = pd.DataFrame({"loading_percent": res.line_loading[0], "i_ka": res.line_i_ka[0],
                         "p_from_mw": res.line_p_from[0], "q_from_mvar": res.line_q_from[0],
                         "p_to_mw": res.line_p_to[0], "q_to_mvar": res.line_q_to[0]}, index=work.line.index)
    line["time"] = None
    trafo = pd.DataFrame({"loading_percent": res.trafo_loading[0], "p_hv_mw": res.trafo_p_hv[0],
                          "q_hv_mvar": res.trafo_q_hv[0], "s_hv_mva": np.hypot(res.trafo_p_hv[0],
                                                                               res.trafo_q_hv[0]),
                          "p_lv_mw": res.trafo_p_lv[0]}, index=work.trafo.index)
    trafo["time"] = None
    t3_index = work.trafo3w.index if "trafo3w" in work else pd.Index([], dtype=np.int64)
    trafo3w = pd.DataFrame({"loading_percent": res.trafo3w_loading[0]}, index=t3_index)
    trafo3w["time"] = None
    bus = pd.DataFrame({"vm_pu": res.vm_pu[0], "p_mw": res.bus_p_mw[0], "q_mvar": res.bus_q_mvar[0]},
                       index=work.bus.index)
    ext_grid = pd.DataFrame({"p_mw": res.eg_p[0], "q_mvar": res.eg_q[0]}, index=work.ext_grid.index)
    ext_grid["time"] = None
    return {"line": line, "trafo": trafo, "trafo3w": trafo3w, "bus": bus, "ext_grid": ext_grid}


def run_timeseries(net: Any, profiles: Any = "simbench", *, engine: str = "pgm", time_steps: Any = None,
                   step_h: float | None = None, thresholds: Thresholds | None = None, scaling: float = 1.0,
                   include_sgen: bool = True, missing: str = "error", chunk_size: int = 2048,
                   threads: int = 0, progress: ProgressCallback | None = None,
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
        Receives :class:`~gridscope.progress.Progress` records (``what="power-flow steps"``, figure
        ``max_line_loading_percent`` so far) after every chunk.
    cancel : callable or None
        Checked before every chunk (chunks are sized to take at most about 100 ms); when it returns True a
        :class:`~gridscope.errors.CancelledError` is raised.

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



