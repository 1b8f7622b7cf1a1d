"""Turn a :class:`~gridscope.reliability.montecarlo.MonteCarloResult` into the common results dataset."""

from __future__ import annotations

from typing import Any

import numpy as np

from .results import INDEX_UNITS, build_dataset

__all__ = ["monte_carlo_dataset"]

QUANTILES = (0.05, 0.5, 0.95)


def monte_carlo_dataset(impact: Any, live_work_fraction: float, targets: Any, attrs: dict[str, Any], *,
                        years: int | None, seed: int | None, target_cov: float | None, max_years: int,
                        progress: Any = None, cancel: Any = None, **options: Any) -> Any:
    """Run :func:`~gridscope.reliability.montecarlo.simulate` and build the dataset with its statistics.

    Besides the variables of the analytical method (means) the dataset holds, per zone:
    ``<index>[_fault|_planned]_stderr`` and ``_cov`` (of the mean), ``<index>_std`` (year-to-year spread),
    ``<index>_quantile`` (P5/P50/P95 of the annual total), ``p_miss_target`` (share of years whose SAIDI
    exceeds the zone target), ``feeder_<index>_stderr``; with ``keep_samples=True`` also
    ``sample_<index>`` (year × zone).
    """
    from .montecarlo import INDICES, KINDS, METRICS, simulate

    zones = [*impact.zones, "system"]
    saidi_target = targets.reindex(zones)["saidi_target_h"].to_numpy(dtype=float)
    if target_cov is not None:
        options["max_years"] = max_years
    res = simulate(impact, years=years, target_cov=target_cov, seed=seed, live_work_fraction=live_work_fraction,
                   saidi_target_h=saidi_target, progress=progress, cancel=cancel, **options)
    k_f, k_p, k_t = (KINDS.index(k) for k in ("fault", "planned", "total"))
    m = {name: METRICS.index(name) for name in ("CI", "CH", "ENS")}

    def sums(arr: np.ndarray, k: int) -> dict[str, np.ndarray]:
        return {"ci": arr[k, :, m["CI"]], "ch": arr[k, :, m["CH"]], "ens": arr[k, :, m["ENS"]]}

    extra: dict[str, Any] = {}
    for k, label in ((k_t, ""), (k_f, "_fault"), (k_p, "_planned")):
        for i, name in enumerate(INDICES):
            units = INDEX_UNITS[name][0]
            extra[f"{name}{label}_stderr"] = (("zone",), res.index_stderr[k, :, i], {
                "units": units, "long_name": f"standard error of the mean {name}{label.replace('_', ' ')}"})
            extra[f"{name}{label}_cov"] = (("zone",), res.index_cov[k, :, i], {
                "units": "1", "long_name": f"coefficient of variation of the mean {name}{label.replace('_', ' ')}"})
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.where(res.customers > 0, res.customers, np.nan)
        spread = {"SAIFI": res.annual_std[k_t, :, m["CI"]] / n, "SAIDI": res.annual_std[k_t, :, m["CH"]] / n,
                  "ENS": res.annual_std[k_t, :, m["ENS"]]}
        fn = np.where(res.feeder_customers > 0, res.feeder_customers, np.nan)
        f_se = {"SAIFI": res.feeder_stderr[k_t, :, m["CI"]] / fn, "SAIDI": res.feeder_stderr[k_t, :, m["CH"]] / fn,
                "ENS": res.feeder_stderr[k_t, :, m["ENS"]]}
    for i, name in enumerate(INDICES):
        units = INDEX_UNITS[name][0]
        extra[f"{name}_std"] = (("zone",), spread[name], {
            "units": units, "long_name": f"year-to-year standard deviation of annual {name}"})
        extra[f"{name}_quantile"] = (("zone", "quantile"), res.index_percentiles[:, i, :], {
            "units": units,
            "long_name": f"P5/P50/P95 of annual {name} (log-histogram, bins ≤ 0.39 % wide: value within 0.2 %)"})
        extra[f"feeder_{name}_stderr"] = (("feeder",), f_se[name], {
            "units": units, "long_name": f"standard error of the mean feeder {name}"})
    extra["p_miss_target"] = (("zone",), res.p_miss_target[k_t], {
        "units": "1", "long_name": "share of simulated years whose SAIDI exceeds the zone target"})
    if res.samples is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            for name, metric in (("SAIFI", "CI"), ("SAIDI", "CH"), ("ENS", "ENS")):
                data = res.samples[:, k_t, :, m[metric]]
                if name != "ENS":
                    data = data / n
                extra[f"sample_{name}"] = (("year", "zone"), data, {
                    "units": INDEX_UNITS[name][0], "long_name": f"annual {name} of each simulated year"})

    comp_ch = res.comp_mean[k_t, :, :, m["CH"]]
    comp_ens = res.comp_mean[k_t, :, :, m["ENS"]]
    attrs.update({
        "years": int(res.years), "seed": int(res.seed), "converged": str(res.converged),
        "cancelled": str(res.cancelled), "chunk_years": int(res.chunk_years), "threads": int(res.threads),
        "elapsed_s": float(res.elapsed_s), "years_per_s": float(res.years_per_s),
        **{f"mc_{k}": str(v) for k, v in res.options.items()},
    })
    ds = build_dataset(
        impact,
        lam={"fault": res.lp_failure_rate[k_f], "planned": res.lp_failure_rate[k_p]},
        unav_h={"fault": res.lp_unavailability_h[k_f], "planned": res.lp_unavailability_h[k_p]},
        group_sums={"fault": sums(res.annual_mean, k_f), "planned": sums(res.annual_mean, k_p)},
        feeder_sums={"fault": sums(res.feeder_mean, k_f), "planned": sums(res.feeder_mean, k_p)},
        comp_ch=comp_ch, comp_ens=comp_ens, targets=targets, attrs=attrs, extra=extra)
    return ds.assign_coords(quantile=list(QUANTILES))
