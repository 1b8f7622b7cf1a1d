"""The Monte-Carlo reliability method: simulated years over the failure-effect ranges of an :class:`Impact`.

:func:`simulate` runs the Numba kernel (:mod:`gridscope.reliability.kernel`) in chunks of years on a thread
pool and returns a :class:`MonteCarloResult` of plain numpy arrays: the mean of every annual quantity with
its standard error, percentiles of the annual system and zone indices, the probability that a year misses
a zone's SAIDI target, per-feeder, per-load-point and per-component values, and optionally every simulated
year. :func:`expected_values` gives the exact expectation of the same quantities under the same sampling
model (durations from their distributions, including ``E[min(S, R)]``), the reference the tests hold the
simulation to.

Model (what one simulated year is)
----------------------------------
* Fault events: ``Poisson(Λ)`` per year with ``Λ = Σ λ_c``; each event picks component ``c`` with
  probability ``λ_c / Λ`` and draws **one** repair time ``R = repair_h_c · X`` and **one** switching
  multiplier ``M`` (both unit-mean draws from the chosen families), shared by all the ranges the event
  interrupts: ``REPAIR`` ranges are out for ``R``, ``UPSTREAM``/``TIE`` ranges for ``min(switch_h · M, R)``
  (switching finishes, or the repair does first). With the default fixed switching ``M = 1``.
* Planned events: ``Poisson(Σ planned_per_yr_c · (1 − live_work_fraction_c))``; an event of ``c`` lasts
  ``planned_h_c · X`` (``X = 1`` for the default fixed planned duration) and interrupts only the ``REPAIR``
  ranges of ``c``: loads that can be fed another way are switched over before the work, without interruption.
* Every event's whole duration counts in the year it starts; overlapping events are counted independently
  (as in the analytical method), so the simulated means are unbiased estimates of the analytical sums.

Reproducibility: the years are cut into chunks of ``chunk_years`` (chosen from the network's size, never
from the thread count); chunk ``i`` runs its own xoshiro256** generator started from
``SeedSequence(seed).spawn(...)[i].generate_state(4, uint64)`` and chunk accumulators are combined in chunk
order, so a given ``seed`` and ``chunk_years`` give bit-identical results with any number of threads, and a run
resumed from a checkpoint (:mod:`gridscope.reliability.checkpoint`) ends with the numbers of an uninterrupted
one.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import integrate, special, stats

from ..errors import CancelledError, InputError
from ..grid.defaults import HOURS_PER_YEAR
from ..progress import CANCEL_CHECK_S, ProgressCallback, Reporter
from . import kernel
from .checkpoint import CHECKPOINT_EVERY_S, fingerprint, read_checkpoint, write_checkpoint
from .codes import Distribution
from .impact import REPAIR, Impact
from .mc_defaults import (
    DEFAULT_COV_ON,
    DEFAULT_CV,
    DEFAULT_MAX_YEARS,
    DEFAULT_PLANNED_DIST,
    DEFAULT_REPAIR_DIST,
    DEFAULT_SWITCHING_DIST,
    DEFAULT_YEARS,
    MIN_YEARS_FOR_COV,
)

__all__ = [
    "COMPILE_WHAT",
    "DEFAULT_MAX_YEARS",
    "DEFAULT_YEARS",
    "DERIVED_INDICES",
    "DISTRIBUTIONS",
    "INDICES",
    "KINDS",
    "MAX_CELID_THRESHOLDS",
    "MAX_INTERRUPTION_COUNTS",
    "METRICS",
    "PERCENTILES",
    "PROGRESS_WHAT",
    "RESULT_AXES",
    "ExpectedValues",
    "MonteCarloResult",
    "expected_values",
    "kernel_is_compiled",
    "simulate",
    "warm_up",
]

#: Distribution families for repair, switching and planned durations (codes of :mod:`.kernel`).
DISTRIBUTIONS: dict[str, int] = {d.label: int(d) for d in Distribution}
#: Outage kinds (first axis of most arrays).
KINDS: tuple[str, ...] = ("fault", "planned", "total")
#: Annual sums accumulated per group: customer interruptions, customer hours, energy not supplied (MWh).
METRICS: tuple[str, ...] = ("CI", "CH", "ENS")
#: Indices derived from them: SAIFI = CI / customers, SAIDI = CH / customers, ENS.
INDICES: tuple[str, ...] = ("SAIFI", "SAIDI", "ENS")
#: Indices derived from the annual sums whose standard error is reported too (``derived_stderr``):
#: CAIDI = CH / CI (h), ASAI = 1 − SAIDI / 8760 (1), AENS = ENS · 1000 / customers (kWh/customer·yr).
DERIVED_INDICES: tuple[str, ...] = ("CAIDI", "ASAI", "AENS")
#: Percentiles of the annual indices that are reported.
PERCENTILES: tuple[float, ...] = (5.0, 50.0, 95.0)
#: Named axes of every array of a :class:`MonteCarloResult` (``MonteCarloResult.array(name)``).
RESULT_AXES: dict[str, tuple[str, ...]] = {
    "customers": ("group",),
    "feeder_customers": ("feeder",),
    "annual_mean": ("kind", "group", "metric"),
    "annual_stderr": ("kind", "group", "metric"),
    "annual_std": ("kind", "group", "metric"),
    "index_mean": ("kind", "group", "index"),
    "index_stderr": ("kind", "group", "index"),
    "index_cov": ("kind", "group", "index"),
    "derived_stderr": ("kind", "group", "derived"),
    "index_percentiles": ("group", "index", "q"),
    "annual_max": ("group", "index"),
    "saidi_target_h": ("group",),
    "p_miss_target": ("kind", "group"),
    "feeder_mean": ("kind", "feeder", "metric"),
    "feeder_stderr": ("kind", "feeder", "metric"),
    "lp_failure_rate": ("kind", "load"),
    "lp_unavailability_h": ("kind", "load"),
    "lp_duration_h": ("kind", "load"),
    "comp_mean": ("kind", "component", "group", "metric"),
    "samples": ("year", "kind", "group", "metric"),
    "lp_count_p": ("load", "count"),
    "cemi_mean": ("group", "n"),
    "lp_longer_p": ("load", "celid_h"),
    "celid_mean": ("group", "celid_h"),
}

#: ``Progress.what`` of the records a run posts while it simulates.
PROGRESS_WHAT = "monte-carlo years"
#: ``Progress.what`` of the record posted before the kernel's first compilation (about 20 s after install).
COMPILE_WHAT = "compiling Monte-Carlo kernel (first run only)"
_CHUNK_MIN, _CHUNK_MAX, _CHUNK_COV_MAX = 64, 1 << 18, 1 << 14
_CHUNK_WORK = 2.0e7  # target work units per chunk (≈ 30-60 ms of one core), see _default_chunk_years
#: Largest ``interruption_counts`` of :func:`simulate` (bins 0 .. K per load point).
MAX_INTERRUPTION_COUNTS = 100
#: Most CELID thresholds of one :func:`simulate` call (``celid_h``).
MAX_CELID_THRESHOLDS = 16
#: Accumulator arrays of :class:`_Acc` that chunks add up (in chunk order), also what a checkpoint stores.
ACC_ARRAYS: tuple[str, ...] = ("s1", "s2", "fd_s1", "fd_s2", "hist", "miss", "r_acc", "s12", "lpc", "lpl")


# ----------------------------------------------------------------------------------------------- results
@dataclass(eq=False)
class MonteCarloResult:
    """Statistics of a Monte-Carlo run: numpy arrays with named axes (:data:`RESULT_AXES`), read by label
    through :meth:`array` (an :class:`xarray.DataArray`), :meth:`to_dataset`, :meth:`mean` and :meth:`stderr`
    (``res.mean("SAIDI", kind="fault", group="A")``).

    Axes: ``kind`` = :data:`KINDS` (fault, planned, total); ``group`` = the zones of the impact then
    ``"system"`` (:attr:`groups`); ``metric`` = :data:`METRICS` (annual CI, CH, ENS in customers,
    customer-hours, MWh); ``index`` = :data:`INDICES` (SAIFI per customer·yr, SAIDI h per customer·yr, ENS
    MWh/yr); ``q`` = :data:`PERCENTILES`.

    Attributes
    ----------
    years : int
        Simulated years.
    converged : bool or None
        With ``target_cov``: whether the target was met before ``max_years``; ``None`` with fixed ``years``.
    cancelled : bool
        True for the partial result attached to a :class:`~gridscope.errors.CancelledError`.
    seed : int
        Root seed of the run (``seed``, or the fresh 63-bit entropy drawn when ``seed`` was ``None``): passing
        it back as ``seed`` with the same ``chunk_years`` reproduces the run.
    chunk_years, n_chunks, threads : int
        How the run was cut and executed (the results do not depend on ``threads``).
    groups : list of str
        Zone labels then ``"system"``.
    feeders : list of str
        Feeder names (feeder ids of the impact).
    load_index : numpy.ndarray of int64
        pandapower load index at each load position (order of the ``lp_*`` arrays).
    customers : numpy.ndarray, shape (group,)
        Customers per group.
    feeder_customers : numpy.ndarray, shape (feeder,)
        Customers per feeder.
    annual_mean, annual_stderr : numpy.ndarray, shape (kind, group, metric)
        Mean of the annual CI, CH, ENS and its standard error ``s / sqrt(years)``.
    annual_std : numpy.ndarray, shape (kind, group, metric)
        Standard deviation of the annual values (year-to-year spread).
    index_mean, index_stderr, index_cov : numpy.ndarray, shape (kind, group, index)
        SAIFI, SAIDI, ENS: mean, standard error and coefficient of variation of the mean
        (``stderr / mean``; NaN where the mean is 0 or the group has no customers for SAIFI/SAIDI).
    index_percentiles : numpy.ndarray, shape (group, index, q)
        P5/P50/P95 of the annual total (fault + planned) indices (inverted-CDF definition), from log-scale
        histograms: the value reported is the midpoint of the bin holding the quantile (within 0.2 %),
        clipped to the largest year; exactly 0 when the quantile falls on years without interruption.
    annual_max : numpy.ndarray, shape (group, index)
        Largest annual total index seen.
    saidi_target_h : numpy.ndarray, shape (group,)
        SAIDI target per group (NaN: none).
    p_miss_target : numpy.ndarray, shape (kind, group)
        Fraction of simulated years whose annual SAIDI of that kind exceeds the group's target (NaN where no
        target or no customers).
    feeder_mean, feeder_stderr : numpy.ndarray, shape (kind, feeder, metric)
        Per-feeder annual CI, CH, ENS.
    lp_failure_rate : numpy.ndarray, shape (kind, load)
        Interruptions per year of each load point.
    lp_unavailability_h : numpy.ndarray, shape (kind, load)
        Hours interrupted per year.
    lp_duration_h : numpy.ndarray, shape (kind, load)
        Mean duration of an interruption (``unavailability / failure rate``; NaN where never interrupted).
    comp_mean : numpy.ndarray, shape (kind, component, group, metric)
        Mean annual CI, CH, ENS caused by each component (its contribution; shares via :meth:`comp_share`).
    samples : numpy.ndarray or None, shape (years, kind, group, metric)
        Every simulated year's CI, CH, ENS when ``keep_samples=True``.
    elapsed_s : float
        Wall time of the simulation (without preparation).
    years_per_s : float
        ``years / elapsed_s``.
    derived_stderr : numpy.ndarray, shape (kind, group, derived)
        Standard errors of the mean CAIDI (h, delta method), ASAI (1) and AENS (kWh/customer·yr), derived =
        :data:`DERIVED_INDICES` (the kernel keeps the running sum of CI · CH per kind and group).
    options : dict
        The sampling options (distributions, live work fraction, stop rule; with a checkpoint also its path
        and ``resumed_years``, the years taken from it).
    lp_count_p : numpy.ndarray or None, shape (load, count)
        With ``interruption_counts=K``: share of the simulated years in which the load point had 0, 1, ...,
        K − 1, and K or more interruptions (fault + planned).
    cemi_mean : numpy.ndarray or None, shape (group, n)
        With ``interruption_counts=K``: CEMI-n for n = 0 .. K − 1 (see :attr:`cemi`).
    celid_h : numpy.ndarray or None, shape (celid_h,)
        With ``celid_h=``: the CELID thresholds t (hours), ascending as given.
    lp_longer_p : numpy.ndarray or None, shape (load, celid_h)
        With ``celid_h=``: share of the simulated years in which the load point had at least one interruption
        (fault or planned) longer than t hours (strictly), t = each of :attr:`celid_h`.
    celid_mean : numpy.ndarray or None, shape (group, celid_h)
        With ``celid_h=``: CELID-t per group, the customer-weighted mean of :attr:`lp_longer_p` (see
        :attr:`celid`).
    """

    years: int
    converged: bool | None
    cancelled: bool
    seed: int
    chunk_years: int
    n_chunks: int
    threads: int
    groups: list[str]
    feeders: list[str]
    load_index: np.ndarray
    customers: np.ndarray
    feeder_customers: np.ndarray
    annual_mean: np.ndarray
    annual_stderr: np.ndarray
    annual_std: np.ndarray
    index_mean: np.ndarray
    index_stderr: np.ndarray
    index_cov: np.ndarray
    index_percentiles: np.ndarray
    annual_max: np.ndarray
    saidi_target_h: np.ndarray
    p_miss_target: np.ndarray
    feeder_mean: np.ndarray
    feeder_stderr: np.ndarray
    lp_failure_rate: np.ndarray
    lp_unavailability_h: np.ndarray
    lp_duration_h: np.ndarray
    comp_mean: np.ndarray
    samples: np.ndarray | None
    elapsed_s: float
    years_per_s: float
    derived_stderr: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)
    lp_count_p: np.ndarray | None = None
    cemi_mean: np.ndarray | None = None
    celid_h: np.ndarray | None = None
    lp_longer_p: np.ndarray | None = None
    celid_mean: np.ndarray | None = None

    def index(self, name: str, kind: str = "total") -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard error of index ``name`` (SAIFI, SAIDI, ENS) per group for ``kind``."""
        i, k = INDICES.index(name), KINDS.index(kind)
        return self.index_mean[k, :, i], self.index_stderr[k, :, i]

    # ------------------------------------------------------------------ labelled access
    def coords(self) -> dict[str, Any]:
        """Coordinates of every axis: kind, group, metric, index, q, feeder, load, component, year."""
        return {"kind": list(KINDS), "group": list(self.groups), "metric": list(METRICS), "index": list(INDICES),
                "derived": list(DERIVED_INDICES),
                "q": list(PERCENTILES), "feeder": list(self.feeders), "load": np.asarray(self.load_index),
                "component": np.arange(self.comp_mean.shape[1]),
                "year": np.arange(self.samples.shape[0] if self.samples is not None else 0),
                "count": np.arange(self.lp_count_p.shape[1] if self.lp_count_p is not None else 0),
                "n": np.arange(self.cemi_mean.shape[1] if self.cemi_mean is not None else 0),
                "celid_h": np.asarray(self.celid_h if self.celid_h is not None else [], dtype=float)}

    def array(self, name: str) -> xr.DataArray:
        """The statistic ``name`` (``"index_mean"``, ``"annual_stderr"``, ``"comp_mean"`` ... see
        :data:`RESULT_AXES`) as a DataArray with named dimensions and coordinates, e.g.
        ``res.array("index_mean").sel(kind="fault", group="system", index="SAIDI")``."""
        if name not in RESULT_AXES:
            raise InputError(f"no labelled statistic {name!r}; one of {', '.join(RESULT_AXES)}")
        data = getattr(self, name)
        if data is None:
            raise InputError(f"{name} was not kept (simulate(..., keep_samples=True) keeps samples)")
        dims = RESULT_AXES[name]
        coords = self.coords()
        return xr.DataArray(data, dims=dims, coords={d: coords[d] for d in dims}, name=name)

    def to_dataset(self) -> xr.Dataset:
        """Every statistic as one labelled :class:`xarray.Dataset` (the raw Monte-Carlo view; the results
        dataset of :func:`gridscope.assess_reliability` is built from it by zone, feeder and load)."""
        names = [n for n in RESULT_AXES if getattr(self, n) is not None]
        return xr.Dataset({n: self.array(n) for n in names},
                          attrs={"years": self.years, "seed": self.seed, "chunk_years": self.chunk_years})

    def mean(self, index: str = "SAIDI", *, kind: str = "total", group: str | None = "system") -> Any:
        """Mean annual ``index`` (SAIFI, SAIDI, ENS) of ``kind`` for ``group`` (a zone label or ``"system"``;
        ``None``: an array over :attr:`groups`)."""
        return self._pick(self.index_mean, index, kind, group)

    def stderr(self, index: str = "SAIDI", *, kind: str = "total", group: str | None = "system") -> Any:
        """Standard error of :meth:`mean`; ``index`` may also be CAIDI, ASAI or AENS
        (:data:`DERIVED_INDICES`, see :func:`_derived_stderr`)."""
        if index in DERIVED_INDICES:
            return self._pick(self.derived_stderr, index, kind, group, DERIVED_INDICES)
        return self._pick(self.index_stderr, index, kind, group)

    def _pick(self, arr: np.ndarray, index: str, kind: str, group: str | None,
              names: tuple[str, ...] = INDICES) -> Any:
        problems = []
        if index not in names:
            problems.append(f"index must be one of {', '.join(names)}, got {index!r}")
        if kind not in KINDS:
            problems.append(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if group is not None and group not in self.groups:
            problems.append(f"unknown group {group!r} (groups: {', '.join(self.groups)})")
        if problems:
            raise InputError("; ".join(problems))
        row = arr[KINDS.index(kind), :, names.index(index)]
        return row if group is None else float(row[self.groups.index(group)])

    @property
    def cemi(self) -> xr.DataArray:
        """CEMI-n (share of customers with more than ``n`` interruptions, fault + planned, in a year; mean over
        the simulated years) per group and ``n`` = 0 .. ``interruption_counts`` − 1, as a DataArray."""
        return self.array("cemi_mean")

    @property
    def celid(self) -> xr.DataArray:
        """CELID-t (share of customers with at least one interruption, fault or planned, longer than ``t`` hours
        in a year; mean over the simulated years) per group and threshold ``celid_h``, as a DataArray."""
        return self.array("celid_mean")

    def comp_share(self, metric: str = "CH", kind: str = "total") -> np.ndarray:
        """Each component's share (0–1) of the group's mean annual ``metric``; shape (component, group).

        ``metric="CH"`` is the share of SAIDI, ``"ENS"`` of ENS, ``"CI"`` of SAIFI.
        """
        k, m = KINDS.index(kind), METRICS.index(metric)
        part = self.comp_mean[k, :, :, m]
        total = part.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, part / np.where(total > 0, total, 1.0), np.nan)


@dataclass(eq=False)
class ExpectedValues:
    """Exact expectations under the Monte-Carlo sampling model (see :func:`expected_values`).

    ``annual`` (kind, group, metric); ``feeder`` (kind, feeder, metric); ``lp_failure_rate`` and
    ``lp_unavailability_h`` (kind, load); ``comp`` (kind, component, group, metric).
    """

    annual: np.ndarray
    feeder: np.ndarray
    lp_failure_rate: np.ndarray
    lp_unavailability_h: np.ndarray
    comp: np.ndarray
    customers: np.ndarray

    @property
    def index(self) -> np.ndarray:
        """SAIFI, SAIDI, ENS per (kind, group); NaN for SAIFI/SAIDI of groups without customers."""
        return _indices(self.annual, self.customers)


# ----------------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class _Options:
    repair_dist: str
    repair_shape: float
    switching_dist: str
    switching_shape: float
    planned_dist: str
    planned_shape: float
    live_work: np.ndarray  # per component


def _shape(dist: str, cv: float) -> float:
    """Shape parameter of the unit-mean draw: σ of the lognormal, k of the gamma (0 otherwise)."""
    if dist == "lognormal":
        return math.sqrt(math.log1p(cv * cv))
    if dist == "gamma":
        return 1.0 / (cv * cv)
    return 0.0


def _is_int(x: Any) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_)


def _is_real(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool | np.bool_)


def _check_dist(problems: list[str], what: str, dist: Any, cv: Any) -> None:
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        problems.append(f"{what}_dist must be one of {', '.join(DISTRIBUTIONS)}, got {dist!r}")
        return
    if cv is None:
        return
    if dist in ("fixed", "exponential"):
        problems.append(f"{what}_cv applies to the lognormal and gamma distributions only, not {dist!r}")
    elif not (_is_real(cv) and math.isfinite(cv) and cv > 0):
        problems.append(f"{what}_cv must be a finite number > 0, got {cv!r}")


def _check_options(problems: list[str], impact: Any, live_work_fraction: Any) -> np.ndarray | None:
    """Validate ``live_work_fraction`` (scalar or per component); returns it per component."""
    n_comp = impact.n_comp
    lwf = np.asarray(live_work_fraction, dtype=float) if _is_real(live_work_fraction) or isinstance(
        live_work_fraction, np.ndarray | Sequence) else None
    if lwf is None or lwf.ndim > 1 or (lwf.ndim == 1 and lwf.size != n_comp):
        problems.append(f"live_work_fraction must be a number in [0, 1] or one per component ({n_comp}), "
                        f"got {live_work_fraction!r}")
        return None
    if not np.all(np.isfinite(lwf) & (lwf >= 0) & (lwf <= 1)):
        problems.append("live_work_fraction must lie in [0, 1]")
        return None
    return np.broadcast_to(lwf, (n_comp,)).astype(float)


def _check_impact(problems: list[str], impact: Any) -> None:
    """Minimal consistency of the impact arrays the kernel indexes (the validator checks the data)."""
    if not isinstance(impact, Impact):
        problems.append(f"impact must be a gridscope Impact, got {type(impact).__name__}")
        return
    n_comp, n_load, n_r = impact.n_comp, impact.n_load, impact.n_ranges
    ptr = np.asarray(impact.ptr)
    if ptr.shape != (n_comp + 1,) or ptr[0] != 0 or ptr[-1] != n_r or np.any(np.diff(ptr) < 0):
        problems.append("impact.ptr is not a CSR pointer over the ranges")
    lo, hi = np.asarray(impact.iv_lo), np.asarray(impact.iv_hi)
    if lo.shape != (n_r,) or hi.shape != (n_r,) or np.any(lo < 0) or np.any(hi > n_load) or np.any(lo > hi):
        problems.append("impact ranges [iv_lo, iv_hi) must satisfy 0 ≤ lo ≤ hi ≤ n_load")
    for name in ("comp_lambda", "comp_repair_h", "comp_planned_per_yr", "comp_planned_h"):
        v = np.asarray(getattr(impact, name), dtype=float)
        if v.shape != (n_comp,) or not np.all(np.isfinite(v) & (v >= 0)):
            problems.append(f"impact.{name} must hold {n_comp} finite values ≥ 0")
    sw = np.asarray(impact.iv_switch_h, dtype=float)
    if sw.shape != (n_r,) or not np.all(np.isfinite(sw) & (sw >= 0)):
        problems.append(f"impact.iv_switch_h must hold {n_r} finite values ≥ 0")
    for name in ("load_customers", "load_p_avg_mw"):
        v = np.asarray(getattr(impact, name), dtype=float)
        if v.shape != (n_load,) or not np.all(np.isfinite(v) & (v >= 0)):
            problems.append(f"impact.{name} must hold {n_load} finite values ≥ 0")
    z = np.asarray(impact.load_zone)
    if z.shape != (n_load,) or np.any(z < 0) or np.any(z >= len(impact.zones)):
        problems.append("impact.load_zone must hold zone ids 0 .. len(zones) - 1")
    f = np.asarray(impact.load_feeder)
    if f.shape != (n_load,) or np.any(f >= len(impact.feeders)):
        problems.append("impact.load_feeder must hold feeder ids < len(feeders) (or -1)")


def _targets(problems: list[str], impact: Any, saidi_target_h: Any) -> np.ndarray:
    """SAIDI target per group (zones, system), NaN where none."""
    n_z = len(impact.zones) if isinstance(impact, Impact) else 0
    out = np.full(n_z + 1, np.nan)
    if saidi_target_h is None:
        return out
    if isinstance(saidi_target_h, Mapping):
        labels = [*list(impact.zones), "system"] if isinstance(impact, Impact) else []
        for key, value in saidi_target_h.items():
            if key not in labels:
                problems.append(f"saidi_target_h: unknown zone {key!r} (zones: {', '.join(labels)})")
            elif value is not None and not (_is_real(value) and (math.isnan(value) or value >= 0)):
                problems.append(f"saidi_target_h[{key!r}] must be a number ≥ 0 (or NaN/None), got {value!r}")
            elif value is not None:
                out[labels.index(key)] = float(value)
        return out
    arr = np.asarray(saidi_target_h, dtype=float) if (
        _is_real(saidi_target_h) or isinstance(saidi_target_h, np.ndarray | Sequence)) else None
    if arr is None or arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (n_z, n_z + 1)):
        problems.append(f"saidi_target_h must be a number, one per zone ({n_z}) or per zone + system, "
                        f"or a mapping zone -> hours, got {saidi_target_h!r}")
        return out
    if np.any(arr[~np.isnan(arr)] < 0) or np.any(np.isinf(arr)):
        problems.append("saidi_target_h must be finite and ≥ 0 (NaN: no target)")
        return out
    if arr.ndim == 0:
        out[:] = float(arr)
    else:
        out[: arr.size] = arr
    return out


# ------------------------------------------------------------------------------------------ preparation
@dataclass(eq=False)
class _Model:
    """The kernel's flat arrays for one impact and set of options."""

    ev_rate: np.ndarray
    ev_cdf: np.ndarray
    ev_cdf_n: np.ndarray
    ev_n: np.ndarray
    ev_prob: np.ndarray
    ev_pick: np.ndarray
    comp_rng: np.ndarray
    comp_h: np.ndarray
    dist: np.ndarray
    dist_shape: np.ndarray
    r_int: np.ndarray
    r_flt: np.ndarray
    part_zone: np.ndarray
    part_flt: np.ndarray
    ev_rec: np.ndarray  # the kernel's packed rows (see kernel.simulate_chunk): alias slots, ranges, zone parts
    rg: np.ndarray
    part: np.ndarray
    g_cust: np.ndarray
    g_target_h: np.ndarray
    g_inv_ref: np.ndarray
    expected: np.ndarray  # exact expected annual CI, CH, ENS (kind, group, metric)
    n_comp: int
    n_load: int
    n_feeders: int
    work_per_year: float
    r_lohi: np.ndarray  # (range, 2) first and end load position, for the yearly interruption counts
    count_max: int = 0  # interruption_counts of the run (0: no per-load-point count histograms)
    celid_h: np.ndarray = field(default_factory=lambda: np.zeros(0))  # CELID thresholds (h) of the run

    @property
    def n_groups(self) -> int:
        return int(self.g_cust.size)


def _range_parts(impact: Impact) -> tuple[np.ndarray, ...]:
    """Per range: feeder, customers, MW, and its zone parts (CSR over ranges) from prefix sums."""
    n_load, n_z = impact.n_load, len(impact.zones)
    lo = np.asarray(impact.iv_lo, dtype=np.int64)
    hi = np.asarray(impact.iv_hi, dtype=np.int64)
    cust = np.asarray(impact.load_customers, dtype=float)
    mw = np.asarray(impact.load_p_avg_mw, dtype=float)
    zone = np.asarray(impact.load_zone, dtype=np.int64)
    feeder = np.asarray(impact.load_feeder, dtype=np.int64)

    def prefix(v: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(v)])

    r_cust = prefix(cust)[hi] - prefix(cust)[lo]
    r_mw = prefix(mw)[hi] - prefix(mw)[lo]
    r_feeder = np.where(lo < hi, feeder[np.minimum(lo, max(n_load - 1, 0))] if n_load else -1, -1)
    # zone parts: counts, customers and MW of each zone inside each range
    onehot = np.zeros((n_load, max(n_z, 1)))
    if n_load:
        onehot[np.arange(n_load), zone] = 1.0
    pc = np.vstack([np.zeros((1, onehot.shape[1])), np.cumsum(onehot, axis=0)])
    pcust = np.vstack([np.zeros((1, onehot.shape[1])), np.cumsum(onehot * cust[:, None], axis=0)])
    pmw = np.vstack([np.zeros((1, onehot.shape[1])), np.cumsum(onehot * mw[:, None], axis=0)])
    count = pc[hi] - pc[lo]
    rr, zz = np.nonzero(count > 0.5)  # row-major: by range, then zone
    part_ptr = np.concatenate([[0], np.cumsum(np.bincount(rr, minlength=lo.size))]).astype(np.int64)
    part_cust = (pcust[hi] - pcust[lo])[rr, zz]
    part_mw = (pmw[hi] - pmw[lo])[rr, zz]
    return (r_feeder.astype(np.int64), r_cust, r_mw, part_ptr, zz.astype(np.int64), part_cust, part_mw)


def _poisson_tables(rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CDF tables ``P(N ≤ k)`` of Poisson(rate), k up to ``rate + 12 sqrt(rate) + 30``, one row per rate."""
    lengths = np.array([int(r + 12.0 * math.sqrt(r) + 30.0) if r > 0 else 1 for r in rates], np.int64)
    table = np.ones((len(rates), int(lengths.max())))
    for i, r in enumerate(rates):
        if r > 0:
            table[i, : lengths[i]] = stats.poisson.cdf(np.arange(lengths[i]), r)
    return table, lengths


def _default_chunk_years(work_per_year: float, years: int | None) -> int:
    """Years per chunk: about ``_CHUNK_WORK`` work units, a power of two in [64, 262144].

    A function of the network (and of ``years``: at least 8 chunks when there are enough years; at most 16,384
    years with ``target_cov``), never of the thread count, so the results do not depend on how many threads
    run the chunks.
    """
    c = _CHUNK_WORK / max(work_per_year, 1.0)
    c = 2 ** round(math.log2(max(c, 1.0)))
    if years is not None:
        c = min(c, 2 ** math.ceil(math.log2(max(years / 8, 1.0))))
    else:  # target_cov: stop with a finer granularity
        c = min(c, _CHUNK_COV_MAX)
    return int(min(max(c, _CHUNK_MIN), _CHUNK_MAX))


def _prepare(impact: Impact, opts: _Options, target_h: np.ndarray) -> _Model:
    n_comp, n_load = impact.n_comp, impact.n_load
    n_z, n_f = len(impact.zones), len(impact.feeders)
    ptr = np.asarray(impact.ptr, dtype=np.int64)
    kind = np.asarray(impact.iv_kind, dtype=np.int64)
    lo = np.asarray(impact.iv_lo, dtype=np.int64)
    hi = np.asarray(impact.iv_hi, dtype=np.int64)
    r_feeder, r_cust, r_mw, part_ptr, part_zone, part_cust, part_mw = _range_parts(impact)
    comp_of_range = np.repeat(np.arange(n_comp), np.diff(ptr))
    nonempty = lo < hi
    has_any = np.bincount(comp_of_range[nonempty], minlength=n_comp) > 0
    has_repair = np.bincount(comp_of_range[nonempty & (kind == REPAIR)], minlength=n_comp) > 0
    lam_f = np.asarray(impact.comp_lambda, dtype=float)
    lam_p = np.asarray(impact.comp_planned_per_yr, dtype=float) * (1.0 - opts.live_work)
    # events with no effect are thinned out of the Poisson processes (same distribution of the effects)
    w = [np.where(has_any, lam_f, 0.0), np.where(has_repair, lam_p, 0.0)]
    tables = []
    for wk in w:
        comps = np.flatnonzero(wk > 0).astype(np.int64)
        prob, alias = kernel.build_alias(wk[comps])
        tables.append((comps, prob, alias, float(wk[comps].sum())))
    n_slots = max(1, max(t[0].size for t in tables))
    ev_pick = np.zeros((2, n_slots, 2), np.int64)
    ev_prob = np.ones((2, n_slots))
    for k, (comps, prob, alias, _) in enumerate(tables):
        ev_pick[k, : comps.size, 0] = comps
        ev_pick[k, : comps.size, 1] = comps[alias]
        ev_prob[k, : comps.size] = prob
    ev_n = np.array([t[0].size for t in tables], np.int64)
    ev_rate = np.array([t[3] for t in tables])
    ev_cdf, ev_cdf_n = _poisson_tables(ev_rate)
    comp_rng = np.ascontiguousarray(np.column_stack([ptr[:-1], ptr[1:]]))
    comp_h = np.ascontiguousarray(np.column_stack([np.asarray(impact.comp_repair_h, float),
                                                   np.asarray(impact.comp_planned_h, float)]))
    r_int = np.ascontiguousarray(np.column_stack([lo, hi, kind, r_feeder, part_ptr[:-1], part_ptr[1:]]))
    r_flt = np.ascontiguousarray(np.column_stack([np.asarray(impact.iv_switch_h, dtype=float), r_cust, r_mw]))
    part_flt = np.ascontiguousarray(np.column_stack([part_cust, part_mw]))
    ev_rec = np.zeros((2, n_slots, 8))
    ev_rec[:, :, 0] = ev_prob
    for j, col in ((1, 0), (4, 1)) if n_comp else ():  # the slot's component, its alias's
        c = ev_pick[:, :, col]
        ev_rec[:, :, j] = comp_rng[c, 0]
        ev_rec[:, :, j + 1] = comp_rng[c, 1]
        ev_rec[0, :, j + 2] = comp_h[c[0], 0]
        ev_rec[1, :, j + 2] = comp_h[c[1], 1]
    zero_r = np.zeros(lo.size)
    rg = np.ascontiguousarray(np.column_stack([kind, r_feeder, part_ptr[:-1], part_ptr[1:], r_flt, zero_r]),
                              dtype=float)
    part = np.ascontiguousarray(np.column_stack([part_zone, part_flt, np.zeros(part_zone.size)]), dtype=float)
    # a range with exactly one zone part carries it in its own row (kernel: -1 - zone, part MW, part customers)
    one = np.flatnonzero(np.diff(part_ptr) == 1)
    first = part_ptr[:-1][one]
    rg[one, 2] = -1.0 - part_zone[first]
    rg[one, 3] = part_mw[first]
    rg[one, 7] = part_cust[first]
    cust = np.asarray(impact.load_customers, dtype=float)
    zone = np.asarray(impact.load_zone, dtype=np.int64)
    g_cust = np.append(np.bincount(zone, weights=cust, minlength=n_z)[:n_z], cust.sum())
    g_target = np.where(np.isnan(target_h), np.inf, target_h)
    # histogram reference: the expected total annual values (anything > 0 where the expectation is 0)
    exp = _expected_group_sums(impact, opts)
    ref = exp[2]
    g_inv_ref = 1.0 / np.where(ref > 0, ref, 1.0)
    # work estimate per year, for the chunk size (in units of roughly 5 ns)
    n_parts = np.diff(part_ptr)
    per_range = 8.0 + 4.0 * n_parts
    per_comp = np.bincount(comp_of_range, weights=per_range, minlength=n_comp) + 6.0
    per_comp_p = np.bincount(comp_of_range, weights=per_range * (kind == REPAIR), minlength=n_comp) + 6.0
    work = 10.0 + 12.0 * (n_z + 1) + 2.0 * min(n_f, 1.0 + ev_rate.sum() * 4.0)
    if ev_rate[0] > 0:
        work += float(w[0] @ per_comp)
    if ev_rate[1] > 0:
        work += float(w[1] @ per_comp_p)
    return _Model(
        ev_rate=ev_rate, ev_cdf=ev_cdf, ev_cdf_n=ev_cdf_n, ev_n=ev_n, ev_prob=ev_prob, ev_pick=ev_pick,
        comp_rng=comp_rng, comp_h=comp_h,
        dist=np.array([DISTRIBUTIONS[opts.repair_dist], DISTRIBUTIONS[opts.switching_dist],
                       DISTRIBUTIONS[opts.planned_dist]], np.int64),
        dist_shape=np.array([opts.repair_shape, opts.switching_shape, opts.planned_shape]),
        r_int=r_int, r_flt=r_flt, part_zone=part_zone, part_flt=part_flt, ev_rec=ev_rec, rg=rg, part=part,
        g_cust=g_cust, g_target_h=g_target, g_inv_ref=g_inv_ref, expected=exp,
        n_comp=n_comp, n_load=n_load, n_feeders=n_f, work_per_year=work,
        r_lohi=np.ascontiguousarray(np.column_stack([lo, hi])),
    )


# ----------------------------------------------------------------------------------- exact expectations
def _expected_min(s: np.ndarray, r: np.ndarray, opts: _Options) -> np.ndarray:
    """``E[min(s·M, r·X)]`` with ``M`` the switching and ``X`` the repair unit draws, element-wise."""
    s = np.asarray(s, dtype=float)
    r = np.asarray(r, dtype=float)
    out = np.minimum(s, r)
    sd, rd = opts.switching_dist, opts.repair_dist
    if sd == "fixed" and rd == "fixed":
        return out
    if sd == "fixed" or rd == "fixed":
        # min(a, mean·X) with a fixed: E = ∫0^a P(mean·X > x) dx in closed form
        a, mean = (s, r) if sd == "fixed" else (r, s)
        dist, shape = (rd, opts.repair_shape) if sd == "fixed" else (sd, opts.switching_shape)
        ok = (a > 0) & (mean > 0)
        a_, m_ = a[ok], mean[ok]
        if dist == "exponential":
            val = m_ * -np.expm1(-a_ / m_)
        elif dist == "gamma":
            k = shape
            theta = m_ / k
            val = a_ * special.gammaincc(k, a_ / theta) + m_ * special.gammainc(k + 1.0, a_ / theta)
        else:  # lognormal
            sigma = shape
            mu = np.log(m_) - 0.5 * sigma * sigma
            z = (np.log(a_) - mu) / sigma
            val = a_ * special.ndtr(-z) + m_ * special.ndtr(z - sigma)
        out = np.zeros_like(out)
        out[ok] = val
        return out
    if sd == "exponential" and rd == "exponential":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((s > 0) & (r > 0), s * r / np.where(s + r > 0, s + r, 1.0), 0.0)
    # both random, not both exponential: E[min] = ∫0^∞ P(sM > x) P(rX > x) dx, once per distinct pair
    def frozen(dist: str, shape: float, mean: float) -> Any:
        if dist == "exponential":
            return stats.expon(scale=mean)
        if dist == "gamma":
            return stats.gamma(shape, scale=mean / shape)
        return stats.lognorm(shape, scale=mean * math.exp(-0.5 * shape * shape))

    pairs, inverse = np.unique(np.column_stack([s.ravel(), r.ravel()]), axis=0, return_inverse=True)
    vals = np.zeros(len(pairs))
    for i, (si, ri) in enumerate(pairs):
        if si <= 0 or ri <= 0:
            continue
        fs = frozen(sd, opts.switching_shape, si)
        fr = frozen(rd, opts.repair_shape, ri)
        vals[i] = integrate.quad(lambda x, fs=fs, fr=fr: fs.sf(x) * fr.sf(x), 0, np.inf, limit=200)[0]
    return vals[inverse.ravel()].reshape(out.shape)


def _range_expectations(impact: Impact, opts: _Options) -> tuple[np.ndarray, ...]:
    """Per range: component, expected events per year and expected hours per event, fault and planned."""
    ptr = np.asarray(impact.ptr, dtype=np.int64)
    comp = np.repeat(np.arange(impact.n_comp), np.diff(ptr))
    kind = np.asarray(impact.iv_kind)
    rep = np.asarray(impact.comp_repair_h, dtype=float)[comp]
    sw = np.asarray(impact.iv_switch_h, dtype=float)
    d_f = np.where(kind == REPAIR, rep, _expected_min(sw, rep, opts))
    rate_f = np.asarray(impact.comp_lambda, dtype=float)[comp]
    rate_p = (np.asarray(impact.comp_planned_per_yr, dtype=float) * (1.0 - opts.live_work))[comp]
    rate_p = np.where(kind == REPAIR, rate_p, 0.0)
    d_p = np.asarray(impact.comp_planned_h, dtype=float)[comp]
    return comp, rate_f, d_f, rate_p, d_p


def _expected_group_sums(impact: Impact, opts: _Options) -> np.ndarray:
    """Expected annual CI, CH, ENS per (kind, group) (used for the histogram scales)."""
    return expected_values(impact, _opts=opts).annual


def _indices(annual: np.ndarray, customers: np.ndarray) -> np.ndarray:
    """(…, group, metric) CI, CH, ENS -> (…, group, index) SAIFI, SAIDI, ENS."""
    out = np.array(annual, dtype=float, copy=True)
    n = np.asarray(customers, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(n > 0, 1.0 / np.where(n > 0, n, 1.0), np.nan)
    out[..., 0] = annual[..., 0] * scale
    out[..., 1] = annual[..., 1] * scale
    return out


def expected_values(
    impact: Impact,
    *,
    repair_dist: str = "exponential",
    repair_cv: float | None = None,
    switching_dist: str = "fixed",
    switching_cv: float | None = None,
    live_work_fraction: float | np.ndarray = 0.0,
    _opts: _Options | None = None,
) -> ExpectedValues:
    """Exact expectations of what :func:`simulate` estimates, under the same sampling model.

    Faults of component ``c`` contribute ``λ_c · E[d]`` hours to every load of each of its ranges, with
    ``E[d] = repair_h`` for ``REPAIR`` ranges and ``E[min(switch_h · M, repair_h · X)]`` for switched ranges
    (closed forms when either time is fixed or both are exponential, numerical quadrature otherwise); planned
    outages contribute ``planned_per_yr · (1 − live_work_fraction) · planned_h`` to the ``REPAIR`` ranges.
    The planned-duration distribution does not change an expectation. With fixed repair (and fixed
    switching) these are exactly the analytical method's values.

    Parameters are those of :func:`simulate`.

    Returns
    -------
    ExpectedValues
    """
    if _opts is None:
        problems: list[str] = []
        _check_impact(problems, impact)
        _check_dist(problems, "repair", repair_dist, repair_cv)
        _check_dist(problems, "switching", switching_dist, switching_cv)
        lwf = _check_options(problems, impact, live_work_fraction) if not problems else None
        if problems:
            raise InputError("invalid Monte-Carlo options:\n  " + "\n  ".join(problems))
        r_cv = 1.0 if repair_cv is None else repair_cv
        s_cv = 1.0 if switching_cv is None else switching_cv
        _opts = _Options(repair_dist, _shape(repair_dist, r_cv), switching_dist, _shape(switching_dist, s_cv),
                         "fixed", 0.0, lwf)
    n_load, n_z, n_f = impact.n_load, len(impact.zones), len(impact.feeders)
    comp, rate_f, d_f, rate_p, d_p = _range_expectations(impact, _opts)
    lo = np.asarray(impact.iv_lo, dtype=np.int64)
    hi = np.asarray(impact.iv_hi, dtype=np.int64)

    def per_load(weight: np.ndarray) -> np.ndarray:
        diff = (np.bincount(lo, weights=weight, minlength=n_load + 1)
                - np.bincount(hi, weights=weight, minlength=n_load + 1))
        return np.maximum(np.cumsum(diff)[:n_load], 0.0)  # sums of terms ≥ 0: clip rounding residue

    lam = np.array([per_load(rate_f), per_load(rate_p)])
    unav = np.array([per_load(rate_f * d_f), per_load(rate_p * d_p)])
    lam = np.vstack([lam, lam.sum(axis=0)])
    unav = np.vstack([unav, unav.sum(axis=0)])
    cust = np.asarray(impact.load_customers, dtype=float)
    mw = np.asarray(impact.load_p_avg_mw, dtype=float)
    zone = np.asarray(impact.load_zone, dtype=np.int64)
    feeder = np.asarray(impact.load_feeder, dtype=np.int64)
    metrics = np.stack([lam * cust, unav * cust, unav * mw], axis=-1)  # (kind, load, metric)
    annual = np.zeros((3, n_z + 1, 3))
    fd = np.zeros((3, n_f, 3))
    fmask = feeder >= 0
    for k in range(3):
        for m in range(3):
            annual[k, :n_z, m] = np.bincount(zone, weights=metrics[k, :, m], minlength=n_z)[:n_z]
            annual[k, n_z, m] = metrics[k, :, m].sum()
            fd[k, :, m] = np.bincount(feeder[fmask], weights=metrics[k, fmask, m], minlength=n_f)[:n_f]
    # per component: per range and zone sums, by prefix sums
    _, r_cust, r_mw, part_ptr, part_zone, part_cust, part_mw = _range_parts(impact)
    part_range = np.repeat(np.arange(lo.size), np.diff(part_ptr))
    comp_e = np.zeros((3, impact.n_comp, n_z + 1, 3))
    for k, (rate, d) in enumerate(((rate_f, d_f), (rate_p, d_p))):
        rp, dp = rate[part_range], d[part_range]
        cp = comp[part_range]
        for m, v in enumerate((rp * part_cust, rp * dp * part_cust, rp * dp * part_mw)):
            np.add.at(comp_e[k, :, :, m], (cp, part_zone), v)
        for m, v in enumerate((rate * r_cust, rate * d * r_cust, rate * d * r_mw)):
            comp_e[k, :, n_z, m] = np.bincount(comp, weights=v, minlength=impact.n_comp)
    comp_e[2] = comp_e[0] + comp_e[1]
    g_cust = np.append(np.bincount(zone, weights=cust, minlength=n_z)[:n_z], cust.sum())
    return ExpectedValues(annual=annual, feeder=fd, lp_failure_rate=lam, lp_unavailability_h=unav,
                          comp=comp_e, customers=g_cust)


# ------------------------------------------------------------------------------------------- simulation
@dataclass(eq=False)
class _Acc:
    """Accumulators of one chunk (or of the combined run)."""

    years: int
    s1: np.ndarray
    s2: np.ndarray
    fd_s1: np.ndarray
    fd_s2: np.ndarray
    hist: np.ndarray
    v_max: np.ndarray
    miss: np.ndarray
    r_acc: np.ndarray  # (range, kind fault/planned, (interruptions, hours)): the per-range sums of the kernel
    s12: np.ndarray  # (kind, group) sum over years of CI · CH
    lpc: np.ndarray  # (load + 1, count) difference array of years with c interruptions (count_max > 0)
    lpl: np.ndarray  # (load + 1, threshold) difference array of years with an interruption > t (celid_h)
    samples: np.ndarray | None = None  # the chunk's annual values (keep_samples), returned with the chunk

    @classmethod
    def zeros(cls, model: _Model) -> _Acc:
        g, f = model.n_groups, model.n_feeders
        return cls(
            years=0, s1=np.zeros((3, g, 3)), s2=np.zeros((3, g, 3)), fd_s1=np.zeros((3, f, 3)),
            fd_s2=np.zeros((3, f, 3)), hist=np.zeros((g, 3, kernel.HIST_N_BINS), np.int64), v_max=np.zeros((g, 3)),
            miss=np.zeros((3, g), np.int64), r_acc=np.zeros((model.r_int.shape[0], 2, 2)), s12=np.zeros((3, g)),
            lpc=np.zeros((model.n_load + 1, model.count_max + 1) if model.count_max else (1, 1), np.int64),
            lpl=np.zeros((model.n_load + 1, model.celid_h.size) if model.celid_h.size else (1, 1), np.int64),
        )

    def add(self, other: _Acc) -> None:
        self.years += other.years
        for name in ACC_ARRAYS:
            getattr(self, name).__iadd__(getattr(other, name))
        np.maximum(self.v_max, other.v_max, out=self.v_max)


def _run_chunk(model: _Model, state: np.ndarray, n_years: int, keep_samples: bool,
               abort: np.ndarray | None = None) -> _Acc:
    """Simulate one chunk; everything it produces (samples included) comes back in the returned value, so
    the chunk can run on any executor, in this process or another. ``abort`` (one int64, in this process)
    set non-zero by another thread stops the chunk at the next year; its sums are then to be discarded."""
    acc = _Acc.zeros(model)
    acc.years = n_years
    buf = np.empty((n_years if keep_samples else 0, 3, model.n_groups, 3))
    m = model
    kernel.simulate_chunk(
        state, np.int64(n_years), m.ev_rate, m.ev_cdf, m.ev_cdf_n, m.ev_n, m.ev_rec,
        m.dist, m.dist_shape, m.rg, m.part,
        m.g_cust, m.g_target_h, m.g_inv_ref, acc.s1, acc.s2, acc.fd_s1, acc.fd_s2, acc.hist, acc.v_max,
        acc.miss, acc.r_acc, acc.s12, bool(keep_samples), buf,
        abort if abort is not None else np.zeros(1, np.int64), np.int64(m.count_max), m.r_lohi, acc.lpc,
        m.celid_h, acc.lpl,
    )
    acc.samples = buf if keep_samples else None
    return acc


def _lp_sums(r_acc: np.ndarray, model: _Model) -> np.ndarray:
    """Interruptions and hours per load position, shape (load, kind, 2), from the per-range sums: every
    range ``[lo, hi)`` adds its sums to each position inside (difference array, then a running sum)."""
    lo, hi = model.r_int[:, 0], model.r_int[:, 1]
    n = model.n_load + 1
    out = np.empty((model.n_load, 2, 2))
    for k in range(2):
        for j in range(2):
            v = r_acc[:, k, j]
            diff = np.bincount(lo, weights=v, minlength=n) - np.bincount(hi, weights=v, minlength=n)
            out[:, k, j] = np.cumsum(diff)[: model.n_load]
    return out


def _comp_sums(r_acc: np.ndarray, model: _Model) -> np.ndarray:
    """Summed CI, CH, ENS caused by each component per group, shape (2, component, group, 3), from the
    per-range sums: an interruption of a range counts its customers (CI), its hours times its customers (CH)
    and times its MW (ENS), split over the zone parts of the range; the system group takes the whole range."""
    n_comp, n_g = model.n_comp, model.n_groups
    n_r = model.r_int.shape[0]
    comp_of_range = np.repeat(np.arange(n_comp), np.diff(np.append(model.comp_rng[:, 0], n_r)))
    n_parts = model.r_int[:, 5] - model.r_int[:, 4]
    part_range = np.repeat(np.arange(n_r), n_parts)
    key = comp_of_range[part_range] * n_g + model.part_zone  # (component, zone) of each part
    out = np.zeros((2, n_comp, n_g, 3))
    size = n_comp * n_g
    for k in range(2):
        cnt, hrs = r_acc[:, k, 0], r_acc[:, k, 1]
        for cu, mw, dst, keys in ((model.part_flt[:, 0], model.part_flt[:, 1], out[k, :, :-1], key),
                                  (model.r_flt[:, 1], model.r_flt[:, 2], out[k, :, -1], None)):
            c, h = (cnt[part_range], hrs[part_range]) if keys is not None else (cnt, hrs)
            idx = keys if keys is not None else comp_of_range
            m = size if keys is not None else n_comp
            vals = [np.bincount(idx, weights=w, minlength=m)[:m] for w in (c * cu, h * cu, h * mw)]
            arr = np.stack(vals, axis=-1)
            if keys is not None:
                dst[...] = arr.reshape(n_comp, n_g, 3)[:, :-1]
            else:
                dst[...] = arr
    return out


def _cemi(count_p: np.ndarray, impact: Impact) -> np.ndarray:
    """CEMI-n per group (zones, system) for n = 0 .. K − 1 from the per-load-point count probabilities:
    Σ customers · P(N > n) / Σ customers (NaN for a group without customers)."""
    # P(N > n) = sum of the bins above n (the last bin holds "K or more", so n ≤ K − 1 is exact)
    return _customer_shares(np.cumsum(count_p[:, ::-1], axis=1)[:, ::-1][:, 1:], impact)


def _celid(longer_p: np.ndarray, impact: Impact) -> np.ndarray:
    """CELID-t per group (zones, system) and threshold: Σ customers · P(longer than t) / Σ customers (NaN for a
    group without customers)."""
    return _customer_shares(longer_p, impact)


def _customer_shares(p: np.ndarray, impact: Impact) -> np.ndarray:
    """Customer-weighted means of the per-load-point shares ``p`` (load × column) per zone and for the system
    (last row); NaN for a group without customers."""
    cust = np.asarray(impact.load_customers, dtype=float)
    zone = np.asarray(impact.load_zone, dtype=np.int64)
    n_z = len(impact.zones)
    out = np.full((n_z + 1, p.shape[1]), np.nan)
    w = cust[:, None] * p
    for z in range(n_z):
        c = cust[zone == z].sum()
        if c > 0:
            out[z] = w[zone == z].sum(axis=0) / c
    if cust.sum() > 0:
        out[n_z] = w.sum(axis=0) / cust.sum()
    return out


def _mean_se(s1: np.ndarray, s2: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = s1 / n
    if n > 1:
        var = np.maximum(s2 - s1 * mean, 0.0) / (n - 1)
    else:
        var = np.full_like(s1, np.nan)
    std = np.sqrt(var)
    return mean, std / math.sqrt(n), std


def _derived_stderr(acc: _Acc, customers: np.ndarray, annual_se: np.ndarray) -> np.ndarray:
    """Standard errors of the mean CAIDI, ASAI, AENS, shape (kind, group, derived).

    CAIDI = D̄ / S̄ (D = annual CH, S = annual CI) is a ratio of means: by the delta method
    SE² ≈ (Var_D + CAIDI² · Var_S − 2 · CAIDI · Cov_DS) / (n · S̄²), with the sample (co)variances of the annual
    sums; NaN where no interruption was simulated. ASAI = 1 − SAIDI / 8760 and AENS = ENS · 1000 / customers
    are linear: their SE is SE_SAIDI / 8760 and SE_ENS · 1000 / customers.
    """
    n = acc.years
    out = np.full((*annual_se.shape[:2], len(DERIVED_INDICES)), np.nan)
    idx_se = _indices(annual_se, customers)
    out[..., 1] = idx_se[..., 1] / HOURS_PER_YEAR
    out[..., 2] = idx_se[..., 2] * 1000.0 * np.where(customers > 0, 1.0 / np.where(customers > 0, customers, 1.0),
                                                     np.nan)
    if n < 2:
        return out
    s_ci, s_ch = acc.s1[..., 0], acc.s1[..., 1]
    var_s = (acc.s2[..., 0] - s_ci * s_ci / n) / (n - 1)
    var_d = (acc.s2[..., 1] - s_ch * s_ch / n) / (n - 1)
    cov = (acc.s12 - s_ci * s_ch / n) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        caidi = np.where(s_ci > 0, s_ch / np.where(s_ci > 0, s_ci, 1.0), np.nan)
        mean_s = s_ci / n
        var = (var_d + caidi**2 * var_s - 2.0 * caidi * cov) / (n * mean_s**2)
    out[..., 0] = np.sqrt(np.maximum(var, 0.0))  # clip rounding residue of a (near-)deterministic CAIDI
    return out


def _percentiles(acc: _Acc, inv_ref: np.ndarray, customers: np.ndarray) -> np.ndarray:
    """P5/P50/P95 of the annual total indices from the histograms, shape (group, index, q)."""
    g_n = acc.hist.shape[0]
    out = np.full((g_n, 3, len(PERCENTILES)), np.nan)
    n = acc.years
    cum = np.cumsum(acc.hist, axis=-1)
    for g in range(g_n):
        for m in range(3):
            for j, q in enumerate(PERCENTILES):
                need = max(1, math.ceil(q / 100.0 * n - 1e-9))  # inverted-CDF quantile
                b = int(np.searchsorted(cum[g, m], need))
                if b == 0:
                    v = 0.0
                else:  # midpoint of the bin (see kernel.HIST_BINS_PER_OCTAVE)
                    bpo = kernel.HIST_BINS_PER_OCTAVE
                    octave, step = divmod(b - 1, bpo)
                    ref = 1.0 / inv_ref[g, m]
                    v = ref * 2.0 ** (octave - kernel.HIST_OCTAVES_BELOW) * (1.0 + (step + 0.5) / bpo)
                    v = min(v, acc.v_max[g, m])
                out[g, m, j] = v
    scale = np.where(customers > 0, 1.0 / np.where(customers > 0, customers, 1.0), np.nan)
    out[:, 0, :] *= scale[:, None]
    out[:, 1, :] *= scale[:, None]
    return out


def _cov_of(acc: _Acc, model: _Model, cov_on: str, expected: np.ndarray) -> np.ndarray:
    """CoV of the mean of the stop index (total) for each group that can be interrupted (others NaN).

    ``expected`` holds the expected annual CI, CH, ENS (kind, group, metric); SAIFI, SAIDI and ENS have the
    CoV of CI, CH and ENS (the same metric position).
    """
    mean, se, _ = _mean_se(acc.s1[2], acc.s2[2], acc.years)
    m = INDICES.index(cov_on)
    relevant = expected[2, :, m] > 0
    if cov_on in ("SAIFI", "SAIDI"):
        relevant &= model.g_cust > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(mean[:, m] > 0, se[:, m] / np.where(mean[:, m] > 0, mean[:, m], 1.0), np.inf)
    return np.where(relevant, cov, np.nan)


def _finish(acc: _Acc, model: _Model, impact: Impact, *, converged: bool | None, cancelled: bool, seed: int,
            chunk_years: int, n_chunks: int, threads: int, target_h: np.ndarray, samples: np.ndarray | None,
            elapsed_s: float, options: dict[str, Any]) -> MonteCarloResult:
    n = acc.years
    mean, se, std = _mean_se(acc.s1, acc.s2, n)
    g_cust = model.g_cust
    idx_mean = _indices(mean, g_cust)
    idx_se = _indices(se, g_cust)
    with np.errstate(invalid="ignore", divide="ignore"):
        idx_cov = np.where(idx_mean > 0, idx_se / np.where(idx_mean > 0, idx_mean, 1.0), np.nan)
    fmean, fse, _ = _mean_se(acc.fd_s1, acc.fd_s2, n)
    lp = _lp_sums(acc.r_acc, model)  # (load, kind, (count, hours))
    lp_n = np.rint(lp[:, :, 0].T) / n  # counts are exact integers in float64
    lp_h = np.maximum(lp[:, :, 1].T, 0.0) / n  # clip rounding residue
    lp_n = np.vstack([lp_n, lp_n.sum(axis=0)])
    lp_h = np.vstack([lp_h, lp_h.sum(axis=0)])
    with np.errstate(invalid="ignore", divide="ignore"):
        lp_d = np.where(lp_n > 0, lp_h / np.where(lp_n > 0, lp_n, 1.0), np.nan)
    comp = _comp_sums(acc.r_acc, model) / n
    comp = np.concatenate([comp, comp.sum(axis=0, keepdims=True)])
    with np.errstate(invalid="ignore", divide="ignore"):
        p_miss = np.where(~np.isnan(target_h) & (g_cust > 0), acc.miss / n, np.nan)
    count_p = None
    if model.count_max and n > 0:
        counts = np.cumsum(acc.lpc, axis=0)[: model.n_load].astype(float)  # years with c ≥ 1 interruptions
        counts[:, 0] = n - counts[:, 1:].sum(axis=1)
        count_p = counts / n
    longer_p = None
    if model.celid_h.size and n > 0:
        longer_p = np.cumsum(acc.lpl, axis=0)[: model.n_load] / n
    cust = np.asarray(impact.load_customers, dtype=float)
    feeder = np.asarray(impact.load_feeder, dtype=np.int64)
    fmask = feeder >= 0
    f_cust = np.bincount(feeder[fmask], weights=cust[fmask], minlength=model.n_feeders)[: model.n_feeders]
    return MonteCarloResult(
        years=n, converged=converged, cancelled=cancelled, seed=seed, chunk_years=chunk_years,
        n_chunks=n_chunks, threads=threads, groups=[*list(impact.zones), "system"],
        feeders=list(impact.feeders), load_index=np.asarray(impact.load_index), customers=g_cust.copy(),
        feeder_customers=f_cust, annual_mean=mean, annual_stderr=se, annual_std=std, index_mean=idx_mean,
        index_stderr=idx_se, index_cov=idx_cov, derived_stderr=_derived_stderr(acc, g_cust, se),
        index_percentiles=_percentiles(acc, model.g_inv_ref, g_cust),
        annual_max=_indices(acc.v_max, g_cust), saidi_target_h=target_h.copy(), p_miss_target=p_miss,
        feeder_mean=fmean, feeder_stderr=fse, lp_failure_rate=lp_n, lp_unavailability_h=lp_h,
        lp_duration_h=lp_d, comp_mean=comp, samples=samples, elapsed_s=elapsed_s,
        years_per_s=n / elapsed_s if elapsed_s > 0 else math.inf, options=options,
        lp_count_p=count_p, cemi_mean=_cemi(count_p, impact) if count_p is not None else None,
        celid_h=model.celid_h.copy() if model.celid_h.size else None, lp_longer_p=longer_p,
        celid_mean=_celid(longer_p, impact) if longer_p is not None else None,
    )


def kernel_is_compiled() -> bool:
    """True when the Monte-Carlo kernel needs no compilation: compiled in this process, or found in Numba's
    on-disk cache (written by the first run after install; about 20 s to compile without it)."""
    return kernel.kernel_is_compiled()


def warm_up() -> None:
    """Compile the Monte-Carlo kernel now (or load it from Numba's cache) instead of at the first run.

    Simulates one year of a one-component network with the same argument types as every run, so later
    :func:`simulate` calls start at once. A user interface may call it in a background thread at start-up.
    """
    tiny = Impact(
        comp_element=np.array(["line"]), comp_index=np.zeros(1, np.int64), comp_name=np.array([None], object),
        comp_feeder=np.zeros(1, np.int64), comp_lambda=np.ones(1), comp_repair_h=np.ones(1),
        comp_planned_per_yr=np.zeros(1), comp_planned_h=np.zeros(1), ptr=np.array([0, 1], np.int64),
        iv_lo=np.zeros(1, np.int64), iv_hi=np.ones(1, np.int64), iv_kind=np.array([REPAIR], np.int8),
        iv_switch_h=np.zeros(1), load_pos=np.zeros(1, np.int64), load_index=np.zeros(1, np.int64),
        load_customers=np.ones(1), load_p_avg_mw=np.ones(1), load_zone=np.zeros(1, np.int64),
        load_feeder=np.zeros(1, np.int64), zones=["A"], feeders=["F"],
    )
    simulate(tiny, years=1, seed=0, threads=1)


def _check_arguments(impact: Any, *, years: Any, target_cov: Any, cov_on: Any, max_years: Any, seed: Any,
                     dists: Mapping[str, tuple[Any, Any]], threads: Any, chunk_years: Any, executor: Any,
                     progress: Any, cancel: Any, keep_samples: Any) -> list[str]:
    """Every problem with the arguments of :func:`simulate` that does not need the impact's sizes."""
    problems: list[str] = []
    _check_impact(problems, impact)
    if years is not None and target_cov is not None:
        problems.append("give either years= or target_cov=, not both")
    if years is not None and not (_is_int(years) and years > 0):
        problems.append(f"years must be an integer > 0, got {years!r}")
    if target_cov is not None and not (_is_real(target_cov) and 0 < target_cov < 1):
        problems.append(f"target_cov must be a number in (0, 1), got {target_cov!r}")
    if cov_on not in INDICES:
        problems.append(f"cov_on must be one of {', '.join(INDICES)}, got {cov_on!r}")
    if max_years is not None:
        if target_cov is None:
            problems.append("max_years applies with target_cov only")
        elif not (_is_int(max_years) and max_years > 0):
            problems.append(f"max_years must be an integer > 0, got {max_years!r}")
    if seed is not None and not (_is_int(seed) and seed >= 0):
        problems.append(f"seed must be an integer ≥ 0 or None, got {seed!r}")
    for what, (dist, cv) in dists.items():
        _check_dist(problems, what, dist, cv)
    if threads is not None and not (_is_int(threads) and threads >= 1):
        problems.append(f"threads must be an integer ≥ 1, got {threads!r}")
    if chunk_years is not None and not (_is_int(chunk_years) and chunk_years >= 1):
        problems.append(f"chunk_years must be an integer ≥ 1, got {chunk_years!r}")
    if executor is not None and not isinstance(executor, Executor):
        problems.append(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    if progress is not None and not callable(progress):
        problems.append("progress must be callable")
    if cancel is not None and not callable(cancel):
        problems.append("cancel must be callable")
    if not isinstance(keep_samples, bool | np.bool_):
        problems.append(f"keep_samples must be True or False, got {keep_samples!r}")
    return problems


def _check_celid(problems: list[str], celid_h: Any) -> np.ndarray:
    """The CELID thresholds of ``simulate(celid_h=...)`` as a float array (empty when None)."""
    if celid_h is None:
        return np.zeros(0)
    if _is_real(celid_h):
        values: list[Any] = [celid_h]
    elif isinstance(celid_h, np.ndarray | Sequence) and not isinstance(celid_h, str) and np.ndim(celid_h) == 1:
        values = list(celid_h)
    else:
        problems.append(f"celid_h must be hours ≥ 0 or a sequence of them, got {celid_h!r}")
        return np.zeros(0)
    bad = [v for v in values if not (_is_real(v) and math.isfinite(v) and v >= 0)]
    if bad:
        problems.append(f"celid_h thresholds must be finite hours ≥ 0, got {bad!r}")
    if not 1 <= len(values) <= MAX_CELID_THRESHOLDS:
        problems.append(f"celid_h takes 1..{MAX_CELID_THRESHOLDS} thresholds, got {len(values)}")
    if bad or not 1 <= len(values) <= MAX_CELID_THRESHOLDS:
        return np.zeros(0)
    return np.array(values, dtype=float)


class _ChunkSeeds:
    """xoshiro256** start states: chunk ``i`` from ``SeedSequence(root).spawn(...)[i]``, spawned 64 at a time."""

    def __init__(self, root_entropy: int) -> None:
        self._root = np.random.SeedSequence(root_entropy)
        self._children: list[np.random.SeedSequence] = []

    def __getitem__(self, i: int) -> np.ndarray:
        while len(self._children) <= i:
            self._children.extend(self._root.spawn(64))
        state = self._children[i].generate_state(4, np.uint64)
        if not state.any():  # xoshiro256** must not start from 0 (probability 2**-256)
            state[0] = 1
        return state


def _model_fingerprint(model: _Model, impact: Impact) -> str:
    """Fingerprint of everything a run simulates from and reports by: the kernel's arrays (network,
    durations, rates, targets) and the load and feeder layout of the results."""
    arrays = {name: getattr(model, name) for name in (
        "ev_rate", "ev_cdf", "ev_cdf_n", "ev_n", "ev_rec", "dist", "dist_shape", "rg", "part", "r_int", "r_flt",
        "comp_rng", "g_cust", "g_target_h", "g_inv_ref")}
    arrays["load_index"] = np.asarray(impact.load_index, dtype=np.int64)
    arrays["load_feeder"] = np.asarray(impact.load_feeder, dtype=np.int64)
    arrays["labels"] = np.array([*map(str, impact.zones), "|", *map(str, impact.feeders)])
    return fingerprint(arrays)


def _json_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The sampling options as JSON values (numbers as float/int, anything else as text)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or isinstance(value, bool | str):
            out[key] = value
        elif _is_int(value):
            out[key] = int(value)
        elif _is_real(value):
            out[key] = float(value)
        else:
            out[key] = str(value)
    return out


def _running_figures(acc: _Acc, model: _Model, elapsed_s: float) -> dict[str, float]:
    """Running system figures for progress records: mean total SAIDI (h) with its standard error, SAIFI, ENS."""
    mean, se, _ = _mean_se(acc.s1[2, -1], acc.s2[2, -1], acc.years)  # total kind, system group: (metric,)
    n = float(model.g_cust[-1])
    inv = 1.0 / n if n > 0 else math.nan
    return {"SAIDI_h": float(mean[1] * inv), "SAIDI_stderr_h": float(se[1] * inv), "SAIFI": float(mean[0] * inv),
            "ENS_MWh": float(mean[2]), "years_per_s": acc.years / elapsed_s if elapsed_s > 0 else math.inf}


def _wait(fut: Future[_Acc], rep: Reporter) -> _Acc | None:
    """The chunk's result, polling the cancel flag every ``CANCEL_CHECK_S`` meanwhile; None when cancelled."""
    while True:
        try:
            return fut.result(timeout=CANCEL_CHECK_S)
        except TimeoutError:
            if rep.cancelled:
                return None


def simulate(
    impact: Impact,
    *,
    years: int | None = None,
    target_cov: float | None = None,
    cov_on: str = DEFAULT_COV_ON,
    max_years: int | None = None,
    seed: int | None = None,
    repair_dist: str = DEFAULT_REPAIR_DIST,
    repair_cv: float | None = None,
    switching_dist: str = DEFAULT_SWITCHING_DIST,
    switching_cv: float | None = None,
    planned_dist: str = DEFAULT_PLANNED_DIST,
    planned_cv: float | None = None,
    live_work_fraction: float | np.ndarray = 0.0,
    saidi_target_h: float | Sequence[float] | np.ndarray | Mapping[str, float] | None = None,
    threads: int | None = None,
    chunk_years: int | None = None,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
    keep_samples: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every_s: float = CHECKPOINT_EVERY_S,
    interruption_counts: int | None = None,
    celid_h: float | Sequence[float] | np.ndarray | None = None,
) -> MonteCarloResult:
    """Simulate years of fault and planned outages over ``impact`` and return every index's distribution.

    Parameters
    ----------
    impact : Impact
        Failure effects from :func:`gridscope.reliability.impact.build_impact`.
    years : int, optional
        Simulate exactly this many years (default :data:`DEFAULT_YEARS` = 100,000 when ``target_cov`` is not
        given either).
    target_cov : float, optional
        Instead of ``years``: stop once the coefficient of variation (standard error / mean) of the mean
        total ``cov_on`` index is ≤ ``target_cov`` for the system and every zone that can be interrupted, or
        at ``max_years``. Checked after each chunk, in chunk order, from 1,000 years on (so the stopping
        point does not depend on the thread count either); ``result.converged`` says which rule stopped.
    cov_on : {"SAIDI", "SAIFI", "ENS"}
        Index of the ``target_cov`` rule.
    max_years : int, optional
        Upper bound with ``target_cov`` (default :data:`DEFAULT_MAX_YEARS` = 1,000,000).
    seed : int, optional
        Root seed (≥ 0). ``None`` draws fresh entropy, reported as ``result.seed``.
    repair_dist : {"exponential", "fixed", "lognormal", "gamma"}
        Distribution of repair times (mean ``comp_repair_h``).
    repair_cv : float, optional
        Coefficient of variation of lognormal/gamma repair times (default 1.0).
    switching_dist, switching_cv
        Same for switching times (mean ``iv_switch_h``; default fixed). One multiplier per fault event scales
        the switching time of all its ranges.
    planned_dist, planned_cv
        Same for planned outage durations (mean ``comp_planned_h``; default fixed).
    live_work_fraction : float or array of float
        Share (0–1) of planned jobs done live, without interrupting anyone; scalar or one per component.
    saidi_target_h : float, sequence, array or mapping, optional
        SAIDI target (h/customer·yr) for ``p_miss_target``: one for all groups, one per zone (optionally + one
        for the system), or a mapping ``zone label -> hours``; NaN/absent: no target.
    threads : int, optional
        Worker threads of the default thread pool (default ``os.cpu_count()``); with ``executor``, the number
        of chunks kept in flight (minus one). The result does not depend on it.
    chunk_years : int, optional
        Years per chunk (default: chosen from the network size so that a chunk takes about 30–60 ms of one
        core, see :func:`_default_chunk_years`). The result depends on it (with the seed), not on ``threads``
        or ``executor``.
    executor : concurrent.futures.Executor, optional
        Where the chunks run (e.g. a dask.distributed ``client.get_executor()``); default a thread pool of
        ``threads`` workers (the kernel releases the GIL). Chunks are combined in chunk order, so the result
        is identical on any executor.
    progress : callable, optional
        Receives :class:`gridscope.progress.Progress` records: ``what`` = :data:`PROGRESS_WHAT`, ``done`` the
        years simulated, ``total`` ``years`` (or ``max_years`` with ``target_cov``), ``figures`` the running
        system ``SAIDI_h``, ``SAIDI_stderr_h``, ``SAIFI``, ``ENS_MWh``, ``years_per_s`` and, with
        ``target_cov``, ``cov`` (the largest CoV over the groups) and ``target_cov``; throttled to one record
        per 50 ms (the last always posted). Before a first compilation of the kernel (no Numba cache yet)
        one record with ``what`` = :data:`COMPILE_WHAT` (``done=0, total=1``) and one when it is done.
    cancel : callable, optional
        Polled at least every 100 ms while chunks run (a chunk itself is not interrupted: with the default
        chunk size it takes well under 100 ms); when it returns True the run stops and raises
        :class:`~gridscope.errors.CancelledError` whose ``partial`` attribute holds the result of the chunks
        finished so far (``cancelled=True``), or ``None`` if none finished. Not polled while the kernel
        compiles.
    keep_samples : bool
        Keep every year's CI, CH, ENS per kind and group (``result.samples``, 72 bytes × groups per year);
        otherwise memory does not depend on the number of years.
    checkpoint : path-like, optional
        Checkpoint file (:mod:`gridscope.reliability.checkpoint`, NumPy ``.npz``): when it exists the run
        resumes from it (``seed=None`` takes the checkpoint's seed), after that the accumulated state is
        written to it atomically after a chunk at most every ``checkpoint_every_s`` seconds and always when
        the run ends (finished, stop rule, cancelled). A run resumed after any interruption, ``kill -9``
        included, ends with exactly the numbers of an uninterrupted run with the same seed. A checkpoint of
        another network, seed, options or chunk size is refused (:class:`~gridscope.errors.InputError`). The
        file is kept at the end (resuming a finished run returns its result at once). Not with
        ``keep_samples``.
    checkpoint_every_s : float
        Least time between two checkpoint writes (s), default :data:`CHECKPOINT_EVERY_S`.
    interruption_counts : int, optional
        ``K`` (1 .. :data:`MAX_INTERRUPTION_COUNTS`): also count, per load point, the years with 0, 1, ...,
        ``K − 1`` and ``K`` or more interruptions (fault + planned): ``result.lp_count_p`` (load, count) holds
        their shares and ``result.cemi`` CEMI-n for ``n < K`` per group. Memory (load points × (K + 1)
        int64 per chunk in flight) and time grow a little (a sort of the year's interrupted ranges).
    celid_h : float or sequence of float, optional
        CELID thresholds ``t`` in hours (finite, ≥ 0; at most :data:`MAX_CELID_THRESHOLDS`): also count, per load
        point, the years with at least one interruption (fault or planned) lasting longer than ``t`` (strictly;
        the sampled duration: repair, ``min(switching, repair)`` or planned work): ``result.lp_longer_p`` (load,
        celid_h) holds their shares and ``result.celid`` CELID-t per group. Memory: load points × thresholds
        int64 per chunk in flight.

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    InputError
        Listing every invalid argument.
    CancelledError
        When ``cancel()`` returned True.
    """
    dists = {"repair": (repair_dist, repair_cv), "switching": (switching_dist, switching_cv),
             "planned": (planned_dist, planned_cv)}
    problems = _check_arguments(impact, years=years, target_cov=target_cov, cov_on=cov_on, max_years=max_years,
                                seed=seed, dists=dists, threads=threads, chunk_years=chunk_years,
                                executor=executor, progress=progress, cancel=cancel, keep_samples=keep_samples)
    if checkpoint is not None:
        if not isinstance(checkpoint, str | os.PathLike) or not str(checkpoint):
            problems.append(f"checkpoint must be a file path, got {checkpoint!r}")
        elif keep_samples:
            problems.append("checkpoint cannot be combined with keep_samples=True (the samples are not stored)")
    if interruption_counts is not None and not (
            _is_int(interruption_counts) and 1 <= interruption_counts <= MAX_INTERRUPTION_COUNTS):
        problems.append(f"interruption_counts must be an integer in 1..{MAX_INTERRUPTION_COUNTS}, "
                        f"got {interruption_counts!r}")
    celid = _check_celid(problems, celid_h)
    if not (_is_real(checkpoint_every_s) and checkpoint_every_s >= 0):
        problems.append(f"checkpoint_every_s must be a number ≥ 0, got {checkpoint_every_s!r}")
    impact_ok = isinstance(impact, Impact) and not problems
    lwf = _check_options(problems, impact, live_work_fraction) if impact_ok else None
    target_h = _targets(problems, impact, saidi_target_h) if impact_ok else None
    if problems:
        raise InputError("invalid Monte-Carlo options:\n  " + "\n  ".join(problems))
    assert lwf is not None and target_h is not None

    def cv(value: float | None) -> float:
        return DEFAULT_CV if value is None else float(value)

    opts = _Options(repair_dist, _shape(repair_dist, cv(repair_cv)), switching_dist,
                    _shape(switching_dist, cv(switching_cv)), planned_dist, _shape(planned_dist, cv(planned_cv)),
                    lwf)
    if years is None and target_cov is None:
        years = DEFAULT_YEARS
    fixed = years is not None
    limit = int(years) if fixed else int(max_years if max_years is not None else DEFAULT_MAX_YEARS)
    if progress is not None and not kernel_is_compiled():
        compiling = Reporter(COMPILE_WHAT, 1, progress=progress)
        compiling.update(0, force=True)
    else:
        compiling = None
    model = _prepare(impact, opts, target_h)
    model.count_max = int(interruption_counts or 0)
    model.celid_h = celid
    _run_chunk(model, np.ones(4, np.uint64), 0, False)  # compile (or load the cache) before timing and threads
    if compiling is not None:
        compiling.update(1)
    cy = int(chunk_years) if chunk_years is not None else _default_chunk_years(
        model.work_per_year, limit if fixed else None)
    n_threads = int(threads) if threads is not None else (os.cpu_count() or 1)
    saved = None
    if checkpoint is not None and os.path.exists(checkpoint):
        saved = read_checkpoint(checkpoint)  # identity checked below, once the seed is known
        if seed is None and _is_int(saved[1].get("seed")):
            seed = int(saved[1]["seed"])
    # seed=None: fresh 63-bit entropy, so the reported seed fits an int64 (netCDF attributes)
    root_entropy = int(seed) if seed is not None else secrets.randbits(63)
    options = {
        "repair_dist": repair_dist, "repair_cv": repair_cv, "switching_dist": switching_dist,
        "switching_cv": switching_cv, "planned_dist": planned_dist, "planned_cv": planned_cv,
        "live_work_fraction": live_work_fraction if np.ndim(live_work_fraction) == 0 else "per component",
        "years": years, "target_cov": target_cov, "cov_on": cov_on, "max_years": None if fixed else limit,
        "interruption_counts": interruption_counts,
        "celid_h": None if celid_h is None else [float(t) for t in celid],
    }
    rep = Reporter(PROGRESS_WHAT, limit, progress=progress, cancel=cancel)
    run = _Run(model, impact, rep, chunk_years=cy, limit=limit, target_cov=None if fixed else target_cov,
               cov_on=cov_on, keep_samples=bool(keep_samples), seeds=_ChunkSeeds(root_entropy))
    if checkpoint is not None:
        identity = {"fingerprint": _model_fingerprint(model, impact), "seed": root_entropy, "chunk_years": cy,
                    "limit": limit, "target_cov": None if fixed else float(target_cov), "cov_on": cov_on,
                    "options": _json_options(options)}
        run.use_checkpoint(checkpoint, identity, float(checkpoint_every_s), saved)
        options["checkpoint"] = str(checkpoint)
        options["resumed_years"] = run.start_years
    run.execute(executor, n_threads)

    def result(cancelled: bool) -> MonteCarloResult:
        res = _finish(run.total, model, impact, converged=run.converged, cancelled=cancelled, seed=root_entropy,
                      chunk_years=cy, n_chunks=run.n_done, threads=n_threads, target_h=target_h,
                      samples=run.samples(), elapsed_s=run.elapsed_s, options=options)
        if run.start_years:  # resumed: the speed of this session's years
            new = run.total.years - run.start_years
            res.years_per_s = new / run.elapsed_s if run.elapsed_s > 0 else math.inf
        return res

    if run.cancelled:
        err = CancelledError(f"Monte-Carlo simulation cancelled after {run.total.years} years")
        err.partial = result(True) if run.total.years > 0 else None  # type: ignore[attr-defined]
        raise err
    return result(False)


class _Run:
    """The chunk loop of one :func:`simulate` call: submit chunks in order, combine them in order."""

    def __init__(self, model: _Model, impact: Impact, rep: Reporter, *, chunk_years: int, limit: int,
                 target_cov: float | None, cov_on: str, keep_samples: bool, seeds: _ChunkSeeds) -> None:
        self.model, self.impact, self.rep = model, impact, rep
        self.chunk_years, self.limit = chunk_years, limit
        self.target_cov, self.cov_on = target_cov, cov_on
        self.keep_samples, self.seeds = keep_samples, seeds
        self.total = _Acc.zeros(model)
        self.n_done = 0
        self.converged: bool | None = None if target_cov is None else False
        self.cancelled = False
        self.elapsed_s = 0.0
        self._sample_parts: list[np.ndarray] = []
        self._t0 = time.perf_counter()
        self.start_years = 0
        self._ckpt: tuple[str | os.PathLike[str], dict[str, Any], float] | None = None
        self._saved_at = self._t0
        self._dirty = False
        self._abort = np.zeros(1, np.int64)  # tells running chunks to stop (cancellation)

    def use_checkpoint(self, path: str | os.PathLike[str], identity: dict[str, Any], every_s: float,
                       saved: tuple[dict[str, np.ndarray], dict[str, Any]] | None) -> None:
        """Resume from ``saved`` (the checkpoint's arrays and meta, identity checked) and write the state to
        ``path`` during and at the end of the run."""
        self._ckpt = (path, identity, every_s)
        if saved is None:
            return
        arrays, _ = read_checkpoint(path, identity)
        want = _Acc.zeros(self.model)
        for name in (*ACC_ARRAYS, "v_max"):
            ref = getattr(want, name)
            got = arrays.get(name)
            if got is None or got.shape != ref.shape or got.dtype != ref.dtype:
                raise InputError(f"checkpoint {path} is damaged: array {name} missing or of the wrong shape")
            setattr(self.total, name, got.copy())
        self.total.years = int(arrays["years"])
        self.n_done = int(arrays["n_done"])
        if self.total.years != min(self.n_done * self.chunk_years, self.limit):
            raise InputError(f"checkpoint {path} is damaged: {self.total.years} years in {self.n_done} chunks")
        self.start_years = self.total.years
        if self.converged is not None:
            self.converged = bool(arrays["converged"])

    def _save(self, force: bool) -> None:
        """Write the checkpoint (if any) when ``force`` or ``every_s`` has passed since the last write."""
        if self._ckpt is None or not self._dirty:
            return
        path, identity, every_s = self._ckpt
        now = time.perf_counter()
        if not force and now - self._saved_at < every_s:
            return
        arrays = {name: getattr(self.total, name) for name in (*ACC_ARRAYS, "v_max")}
        arrays.update(years=np.int64(self.total.years), n_done=np.int64(self.n_done),
                      converged=np.bool_(bool(self.converged)))
        write_checkpoint(path, arrays, {**identity, "years": self.total.years})
        self._saved_at = time.perf_counter()
        self._dirty = False

    def samples(self) -> np.ndarray | None:
        """Every simulated year's values in year order (``keep_samples``), else None."""
        if not self.keep_samples:
            return None
        if not self._sample_parts:
            return np.empty((0, 3, self.model.n_groups, 3))
        return np.concatenate(self._sample_parts)

    def execute(self, executor: Executor | None, n_threads: int) -> None:
        """Run chunks until the limit, the stop rule or a cancellation (``self.cancelled``); then write the
        checkpoint (if any)."""
        if self.converged or self.total.years >= self.limit:  # resumed from the checkpoint of a finished run
            self.elapsed_s = time.perf_counter() - self._t0
            return
        self._loop(executor, n_threads)
        self._save(force=True)

    def _loop(self, executor: Executor | None, n_threads: int) -> None:
        own = ThreadPoolExecutor(max_workers=n_threads) if executor is None and n_threads > 1 else None
        pool = executor if executor is not None else own
        window = n_threads + 1
        pending: deque[tuple[np.ndarray, int, Future[_Acc] | None]] = deque()
        submitted = self.total.years
        try:
            while True:
                while len(pending) < window and submitted < self.limit:  # keep the window full
                    if self.rep.cancelled:
                        self.cancelled = True
                        return
                    n = min(self.chunk_years, self.limit - submitted)
                    state = self.seeds[self.n_done + len(pending)]
                    fut = pool.submit(_run_chunk, self.model, state, n, self.keep_samples,
                                      self._abort) if pool else None
                    pending.append((state, n, fut))
                    submitted += n
                if not pending:
                    return
                state, n, fut = pending[0]
                acc = _run_chunk(self.model, state, n, self.keep_samples) if fut is None else _wait(fut, self.rep)
                if acc is None:
                    self.cancelled = True
                    return
                pending.popleft()
                stop = self._combine(acc)
                self._dirty = True
                if stop:
                    return
                self._save(force=False)
                if self.rep.cancelled and (pending or submitted < self.limit):
                    self.cancelled = True
                    return
        finally:
            self.elapsed_s = time.perf_counter() - self._t0
            if self.cancelled or pending:  # chunks still running are not combined: stop them now
                self._abort[0] = 1
            for _, _, fut in pending:
                if fut is not None:
                    fut.cancel()
            if own is not None:
                own.shutdown(wait=True, cancel_futures=True)

    def _combine(self, acc: _Acc) -> bool:
        """Add a finished chunk (in chunk order) and post progress; True when the stop rule is met."""
        self.total.add(acc)
        if acc.samples is not None:
            self._sample_parts.append(acc.samples)
        self.n_done += 1
        figures = _running_figures(self.total, self.model, time.perf_counter() - self._t0)
        stop = False
        if self.target_cov is not None:
            cov = _cov_of(self.total, self.model, self.cov_on, self.model.expected)
            worst = float(np.nanmax(cov)) if np.any(~np.isnan(cov)) else 0.0
            figures.update({"cov": worst, "target_cov": float(self.target_cov)})
            if self.total.years >= min(MIN_YEARS_FOR_COV, self.limit) and worst <= self.target_cov:
                self.converged = stop = True
        self.rep.update(self.total.years, figures, force=stop)
        return stop
