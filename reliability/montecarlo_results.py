"""Turn a :class:`~gridscope.reliability.montecarlo.MonteCarloResult` into the common results dataset."""

from __future__ import annotations

from typing import Any

import numpy as np

from .montecarlo import DERIVED_INDICES, INDICES, simulate
from .results import INDEX_UNITS, build_dataset

__all__ = ["QUANTILES", "monte_carlo_dataset"]

#: Quantile coordinates of ``<index>_quantile`` (the simulated percentiles as fractions).
QUANTILES = (0.05, 0.5, 0.95)
#: Annual sum (metric) behind each index: SAIFI = CI / customers, SAIDI = CH / customers, ENS = ENS.
_METRIC_OF = {"SAIFI": "CI", "SAIDI": "CH", "ENS": "ENS"}
#: Dataset variable suffix of each outage kind.
_SUFFIX = {"total": "", "fault": "_fault", "planned": "_planned"}


def monte_carlo_dataset(impact: Any, live_work_fraction: float, targets: Any, attrs: dict[str, Any], *,
                        years: int | None, seed: int | None, target_cov: float | None, max_years: int,
                        progress: Any = None, cancel: Any = None, **options: Any) -> Any:
    """Run :func:`~gridscope.reliability.montecarlo.simulate` and build the dataset with its statistics.

    Besides the variables of the analytical method (means) the dataset holds, per zone:
    ``<index>[_fault|_planned]_stderr`` and ``_cov`` (of the mean; ``_stderr`` also for CAIDI, ASAI, AENS),
    ``<index>_std`` (year-to-year spread),
    ``<index>_quantile`` (P5/P50/P95 of the annual total), ``p_miss_target`` (share of years whose SAIDI
    exceeds the zone target), ``feeder_<index>_stderr``; with ``keep_samples=True`` also
    ``sample_<index>`` (year × zone); with ``interruption_counts=K`` also ``CEMI_mc`` (zone × cemi_n, n = 0 ..
    K − 1); with ``celid_h=(t, ...)`` also ``CELID_mc`` (zone × celid_h) and ``lp_longer_p`` (load × celid_h),
    coordinate ``celid_h`` the thresholds in hours.
    """
    zones = [*impact.zones, "system"]
    saidi_target = targets.reindex(zones)["saidi_target_h"].to_numpy(dtype=float)
    if target_cov is not None:
        options["max_years"] = max_years
    res = simulate(impact, years=years, target_cov=target_cov, seed=seed, live_work_fraction=live_work_fraction,
                   saidi_target_h=saidi_target, progress=progress, cancel=cancel, **options)
    annual = res.array("annual_mean")
    feeder = res.array("feeder_mean")
    extra = _statistics(res)
    if res.lp_longer_p is not None:  # per load point, in the dataset's load order (net.load order)
        order = np.argsort(impact.load_index, kind="stable")
        extra["lp_longer_p"] = (("load", "celid_h"), res.lp_longer_p[order], {
            "units": "1", "long_name": "share of simulated years with at least one interruption (fault or "
            "planned) longer than celid_h hours"})

    def sums(arr: Any, kind: str) -> dict[str, np.ndarray]:
        return {k.lower(): arr.sel(kind=kind, metric=k).values for k in ("CI", "CH", "ENS")}

    comp = res.array("comp_mean").sel(kind="total")
    lp_rate, lp_unav = res.array("lp_failure_rate"), res.array("lp_unavailability_h")
    attrs.update({
        "years": int(res.years), "seed": int(res.seed), "converged": str(res.converged),
        "cancelled": str(res.cancelled), "chunk_years": int(res.chunk_years), "threads": int(res.threads),
        "elapsed_s": float(res.elapsed_s), "years_per_s": float(res.years_per_s),
        **{f"mc_{k}": str(v) for k, v in res.options.items()},
    })
    ds = build_dataset(
        impact,
        lam={k: lp_rate.sel(kind=k).values for k in ("fault", "planned")},
        unav_h={k: lp_unav.sel(kind=k).values for k in ("fault", "planned")},
        group_sums={k: sums(annual, k) for k in ("fault", "planned")},
        feeder_sums={k: sums(feeder, k) for k in ("fault", "planned")},
        comp_ch=comp.sel(metric="CH").values, comp_ens=comp.sel(metric="ENS").values, targets=targets,
        attrs=attrs, extra=extra)
    ds = ds.assign_coords(quantile=list(QUANTILES))
    if res.celid_h is not None:
        ds = ds.assign_coords(celid_h=("celid_h", res.celid_h, {"units": "h", "long_name": "CELID threshold t"}))
    return ds


def _per_customer(values: np.ndarray, customers: np.ndarray, index: str) -> np.ndarray:
    """An annual sum as the index: divided by the customers for SAIFI and SAIDI (NaN without customers)."""
    if index == "ENS":
        return values
    with np.errstate(invalid="ignore", divide="ignore"):
        return values / np.where(customers > 0, customers, np.nan)


def _statistics(res: Any) -> dict[str, Any]:
    """The Monte-Carlo-only variables of the dataset (standard errors, spread, quantiles, target misses)."""
    extra: dict[str, Any] = {}
    i_se, i_cov = res.array("index_stderr"), res.array("index_cov")
    for kind, label in _SUFFIX.items():
        for name in INDICES:
            units = INDEX_UNITS[name][0]
            text = f"{name}{label.replace('_', ' ')}"
            extra[f"{name}{label}_stderr"] = (("zone",), i_se.sel(kind=kind, index=name).values, {
                "units": units, "long_name": f"standard error of the mean {text}"})
            extra[f"{name}{label}_cov"] = (("zone",), i_cov.sel(kind=kind, index=name).values, {
                "units": "1", "long_name": f"coefficient of variation of the mean {text}"})
    d_se = res.array("derived_stderr")
    for kind, label in _SUFFIX.items():
        for name in DERIVED_INDICES:
            text = f"{name}{label.replace('_', ' ')}"
            extra[f"{name}{label}_stderr"] = (("zone",), d_se.sel(kind=kind, derived=name).values, {
                "units": INDEX_UNITS[name][0], "long_name": f"standard error of the mean {text}"})
    std = res.array("annual_std").sel(kind="total")
    f_se = res.array("feeder_stderr").sel(kind="total")
    pct = res.array("index_percentiles")
    for name in INDICES:
        units = INDEX_UNITS[name][0]
        metric = _METRIC_OF[name]
        extra[f"{name}_std"] = (("zone",), _per_customer(std.sel(metric=metric).values, res.customers, name), {
            "units": units, "long_name": f"year-to-year standard deviation of annual {name}"})
        extra[f"{name}_quantile"] = (("zone", "quantile"), pct.sel(index=name).values, {
            "units": units,
            "long_name": f"P5/P50/P95 of annual {name} (log-histogram, bins ≤ 0.39 % wide: value within 0.2 %)"})
        extra[f"feeder_{name}_stderr"] = (("feeder",), _per_customer(
            f_se.sel(metric=metric).values, res.feeder_customers, name), {
            "units": units, "long_name": f"standard error of the mean feeder {name}"})
    extra["p_miss_target"] = (("zone",), res.array("p_miss_target").sel(kind="total").values, {
        "units": "1", "long_name": "share of simulated years whose SAIDI exceeds the zone target"})
    if res.cemi_mean is not None:  # simulate(..., interruption_counts=K)
        extra["CEMI_mc"] = (("zone", "cemi_n"), res.cemi_mean, {
            "units": "1", "long_name": "share of customers with more than n interruptions (fault + planned) in a "
            "year, mean over the simulated years (n = 0 .. K-1)"})
    if res.celid_mean is not None:  # simulate(..., celid_h=...)
        extra["CELID_mc"] = (("zone", "celid_h"), res.celid_mean, {
            "units": "1", "long_name": "share of customers with at least one interruption (fault + planned) longer "
            "than celid_h hours in a year, mean over the simulated years"})
    if res.samples is not None:
        samples = res.array("samples").sel(kind="total")
        for name in INDICES:
            data = _per_customer(samples.sel(metric=_METRIC_OF[name]).values, res.customers, name)
            extra[f"sample_{name}"] = (("year", "zone"), data, {
                "units": INDEX_UNITS[name][0], "long_name": f"annual {name} of each simulated year"})
    return extra
