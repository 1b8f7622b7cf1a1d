"""``gs.assess_reliability``: one entry point for the analytical and the Monte-Carlo method."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputError, ValidationError
from ..grid.defaults import ZONES, zone_targets
from ..grid.io import network_hash as compute_network_hash
from ..grid.topology import Topology, build_topology
from ..grid.validation import validate as validate_net
from ..progress import ProgressCallback
from .analytical import analytical_indices
from .impact import Impact, build_impact
from .mc_defaults import DEFAULT_MAX_YEARS, DEFAULT_YEARS
from .results import build_dataset

__all__ = ["METHODS", "assess_reliability", "prepare_impact", "scale_impact"]

METHODS = ("analytical", "monte-carlo")


def scale_impact(
    impact: Any,
    *,
    failure_rate_scale: float = 1.0,
    repair_time_scale: float = 1.0,
    switching_time_scale: float = 1.0,
    planned_rate_scale: float = 1.0,
) -> Any:
    """A copy of ``impact`` with scaled fault rates, repair and switching times and planned rates."""
    if (failure_rate_scale, repair_time_scale, switching_time_scale, planned_rate_scale) == (1, 1, 1, 1):
        return impact
    return dataclasses.replace(
        impact,
        comp_lambda=impact.comp_lambda * failure_rate_scale,
        comp_repair_h=impact.comp_repair_h * repair_time_scale,
        iv_switch_h=impact.iv_switch_h * switching_time_scale,
        comp_planned_per_yr=impact.comp_planned_per_yr * planned_rate_scale,
    )


def prepare_impact(net: Any, *, topology: Topology | None = None, validate: bool = True,
                   tie_capacity: bool | dict[str, float] = False) -> tuple[Topology, Impact]:
    """The topology (built unless given), validation (raises :class:`ValidationError` with every problem)
    and the failure-effect :class:`Impact` of ``net``: the work a prepared study does once."""
    if isinstance(tie_capacity, str):
        raise InputError(f"tie_capacity={tie_capacity!r} needs the capacity module's power flow: use "
                         "gridscope.assess_reliability or Study.reliability (or pass a headroom dict)")
    topo = topology if topology is not None else build_topology(net)
    if validate:
        problems = validate_net(net, topology=topo)
        if problems:
            raise ValidationError(problems)
    return topo, build_impact(net, topology=topo, tie_capacity=tie_capacity)


def _check_options(method: str, years: Any, target_cov: Any, scales: Mapping[str, float],
                   live_work_fraction: float) -> None:
    problems = []
    if method not in METHODS:
        problems.append(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    for name, value in scales.items():
        if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
            problems.append(f"{name} must be a finite number ≥ 0, got {value!r}")
    if not (isinstance(live_work_fraction, int | float) and 0.0 <= live_work_fraction <= 1.0):
        problems.append(f"live_work_fraction must be in [0, 1], got {live_work_fraction!r}")
    if problems:
        raise InputError("; ".join(problems))


def _check_targets(targets: Mapping[str, float] | None, zones: list[str]) -> None:
    """Zone targets must name supply-zone labels (:data:`~gridscope.grid.defaults.ZONES`) and be numbers (the
    range is checked by :func:`~gridscope.grid.defaults.zone_targets`); every bad entry is listed in one
    :class:`InputError`.

    A known label that this network lacks (``C`` on a net with zones A and B) is accepted: a study-wide target
    table (an annual run over several networks) names the zones of all of them. The CLI's ``--target``, which
    is about one network, refuses it as well.
    """
    if not targets:
        return
    if not isinstance(targets, Mapping):
        raise InputError(f"targets must be a mapping zone -> ASAI target, got {type(targets).__name__}")
    problems = []
    unknown = [str(z) for z in targets if str(z) not in ZONES]
    if unknown:
        problems.append(f"targets name zone(s) that do not exist: {', '.join(map(repr, unknown))}; zone labels "
                        f"are {', '.join(ZONES)} (this network has {', '.join(zones) or 'none'})")
    for zone, value in targets.items():
        try:
            ok = bool(np.isfinite(float(value)))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"target for zone {zone!r} must be a finite number (fraction or percent), "
                            f"got {value!r}")
    if problems:
        raise InputError("; ".join(problems))


def assess_reliability(
    net: Any,
    *,
    method: str = "analytical",
    years: int | None = None,
    seed: int | None = None,
    target_cov: float | None = None,
    max_years: int | None = None,
    failure_rate_scale: float = 1.0,
    repair_time_scale: float = 1.0,
    switching_time_scale: float = 1.0,
    planned_rate_scale: float = 1.0,
    live_work_fraction: float = 0.0,
    tie_capacity: bool | dict[str, float] = False,
    targets: Mapping[str, float] | None = None,
    upstream: bool | Mapping[str, Mapping[str, float]] = False,
    validate: bool = True,
    topology: Topology | None = None,
    impact: Impact | None = None,
    network_hash: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
    **mc_options: Any,
) -> Any:
    """Reliability indices of ``net`` by supply zone, feeder, load point and component.

    Parameters
    ----------
    net : pandapowerNet
        The network (``gs.load_network`` fills the data-contract defaults). Not modified.
    method : {"analytical", "monte-carlo"}
        Exact expected values, or sampled years with the distribution of every index.
    years : int, optional
        Monte Carlo: number of simulated years (default
        :data:`~gridscope.reliability.mc_defaults.DEFAULT_YEARS` = 100,000 unless ``target_cov`` is given).
    seed : int, optional
        Monte Carlo: seed of the run; results are identical for any number of threads.
    target_cov : float, optional
        Monte Carlo: stop when the coefficient of variation of the mean SAIDI (see ``cov_on``) is at most this
        for every zone, or at ``max_years``.
    max_years : int, optional
        Monte Carlo: upper bound with ``target_cov`` (default
        :data:`~gridscope.reliability.mc_defaults.DEFAULT_MAX_YEARS` = 1,000,000).
    failure_rate_scale, repair_time_scale, switching_time_scale, planned_rate_scale : float
        What-if multipliers (``failure_rate_scale=0.85``: 15 % fewer faults).
    live_work_fraction : float
        Share of planned jobs done live (不停电作业) in [0, 1]; they interrupt nobody.
    tie_capacity : bool or dict
        Capacity check of tie transfers, see :func:`~gridscope.reliability.impact.build_impact`.
    targets : mapping, optional
        Zone → ASAI target overrides (fraction or percent), see :func:`gridscope.grid.defaults.zone_targets`.
        Every key must be a zone label (``A+`` ... ``E``) and every value a finite number
        (:class:`~gridscope.errors.InputError` listing every bad entry otherwise).
    upstream : bool or mapping
        Include the stations' main transformers, busbars, bus couplers and supply lines as failing components
        (:func:`~gridscope.reliability.upstream.add_upstream`; a mapping overrides its station defaults, e.g.
        ``{"station_busbar": {"lambda": 0.002}}``). Off by default: the supply is perfectly reliable, as in the
        RBTS publications. The results then carry ``SAIDI_upstream`` per zone.
    validate : bool
        Run :func:`gridscope.validate` first and raise :class:`~gridscope.errors.ValidationError` with every
        problem found.
    topology, impact : optional
        Prebuilt structures for ``net`` (a prepared study passes both). With ``impact`` nothing is validated or
        rebuilt: the caller vouches that it belongs to ``net`` and ``tie_capacity``. With ``topology`` only,
        validation and the impact use it instead of building their own.
    network_hash : str, optional
        The :func:`gridscope.grid.io.network_hash` of ``net`` for the provenance attrs, when the caller has it
        already (it costs a pass over every table); computed otherwise.
    progress, cancel : callable, optional
        Monte Carlo: :class:`gridscope.progress.Progress` records (see
        :func:`~gridscope.reliability.montecarlo.simulate`); ``cancel()`` returning True stops the run within
        100 ms with :class:`~gridscope.errors.CancelledError`.
    **mc_options
        Passed to :func:`gridscope.reliability.montecarlo.simulate` (``repair_dist``, ``threads``,
        ``executor``, ``keep_samples``, ``cov_on`` ...).

    Returns
    -------
    xarray.Dataset
        See :mod:`gridscope.reliability.results` for the layout.
    """
    scales = {"failure_rate_scale": failure_rate_scale, "repair_time_scale": repair_time_scale,
              "switching_time_scale": switching_time_scale, "planned_rate_scale": planned_rate_scale}
    _check_options(method, years, target_cov, scales, live_work_fraction)
    if impact is None:
        _, impact = prepare_impact(net, topology=topology, validate=validate, tie_capacity=tie_capacity)
    if upstream and not impact.attrs.get("upstream"):
        from .upstream import add_upstream

        impact = add_upstream(impact, net, topology=topology, data=None if upstream is True else upstream)
    if impact.load_customers.sum() <= 0:
        raise InputError("the network serves no customers (load.customers sums to 0): reliability indices "
                         "per customer are undefined")
    _check_targets(targets, [str(z) for z in impact.zones])
    targets_df = zone_targets(targets)
    scaled = scale_impact(impact, **scales)
    attrs: dict[str, Any] = {
        "method": method,
        "network": str(getattr(net, "name", "") or ""),
        "network_hash": network_hash if network_hash is not None else compute_network_hash(net),
        "gridscope_version": __version__,
        "live_work_fraction": float(live_work_fraction),
        "tie_capacity_check": _tie_mode(tie_capacity),
        "tie_transfers_blocked": len(impact.tie_blocked),
        "tie_transfers_blocked_per_yr": float(impact.tie_blocked["rate_per_yr"].sum()) * failure_rate_scale
        if len(impact.tie_blocked) else 0.0,
        **{k: float(v) for k, v in scales.items()},
    }
    attrs["upstream"] = str(bool(impact.attrs.get("upstream", False)))
    if method == "analytical":
        return _upstream_share(_analytical(scaled, live_work_fraction, targets_df, attrs), scaled)
    if years is None and target_cov is None:
        years = DEFAULT_YEARS
    return _upstream_share(_monte_carlo(scaled, live_work_fraction, targets_df, attrs, years=years, seed=seed,
                                        target_cov=target_cov,
                                        max_years=DEFAULT_MAX_YEARS if max_years is None else max_years,
                                        progress=progress, cancel=cancel, **mc_options), scaled)


def _tie_mode(tie_capacity: Any) -> str:
    """How tie transfers were checked, for the attrs: ``False``, ``True`` (head line), ``powerflow``, ``dict``."""
    if isinstance(tie_capacity, str):
        return tie_capacity
    return "dict" if isinstance(tie_capacity, Mapping) else str(bool(tie_capacity))


def _upstream_share(ds: Any, impact: Any) -> Any:
    """Add ``SAIDI_upstream`` (zone): the SAIDI of the upstream components, when the option is on."""
    if impact.comp_is_upstream is None or "contrib_SAIDI" not in ds:
        return ds
    up = np.asarray(impact.comp_is_upstream, dtype=bool)
    share = ds["contrib_SAIDI"].isel(component=np.flatnonzero(up)).sum("component")
    ds["SAIDI_upstream"] = share.assign_attrs(
        units="h/yr", long_name="SAIDI of main transformers, station busbars, couplers and supply lines")
    return ds


def _group_sums(impact: Any, lam: np.ndarray, unav: np.ndarray) -> tuple[dict, dict]:
    """Expected yearly CI, CH, ENS per zone (+ system) and per feeder from per-load λ and U."""
    n_z = len(impact.zones)
    n_f = len(impact.feeders)
    ci_l = impact.load_customers * lam
    ch_l = impact.load_customers * unav
    ens_l = impact.load_p_avg_mw * unav
    zone = impact.load_zone
    feeder = impact.load_feeder
    fmask = feeder >= 0

    def by_zone(v: np.ndarray) -> np.ndarray:
        return np.append(np.bincount(zone, weights=v, minlength=n_z)[:n_z], v.sum())

    def by_feeder(v: np.ndarray) -> np.ndarray:
        return np.bincount(feeder[fmask], weights=v[fmask], minlength=n_f)[:n_f]

    return ({"ci": by_zone(ci_l), "ch": by_zone(ch_l), "ens": by_zone(ens_l)},
            {"ci": by_feeder(ci_l), "ch": by_feeder(ch_l), "ens": by_feeder(ens_l)})


def _analytical(impact: Any, live_work_fraction: float, targets: Any, attrs: dict[str, Any]) -> Any:
    a = analytical_indices(impact, live_work_fraction=live_work_fraction)
    zf, ff = _group_sums(impact, a.lam_fault, a.u_fault_h)
    zp, fp = _group_sums(impact, a.lam_planned, a.u_planned_h)
    comp_ch = a.comp_ch_fault + a.comp_ch_planned
    comp_ens = a.comp_ens_fault + a.comp_ens_planned
    comp_ch = np.column_stack([comp_ch, comp_ch.sum(axis=1)])
    comp_ens = np.column_stack([comp_ens, comp_ens.sum(axis=1)])
    attrs.update({"years": 0, "seed": -1})
    return build_dataset(
        impact, lam={"fault": a.lam_fault, "planned": a.lam_planned},
        unav_h={"fault": a.u_fault_h, "planned": a.u_planned_h},
        group_sums={"fault": zf, "planned": zp}, feeder_sums={"fault": ff, "planned": fp},
        comp_ch=comp_ch, comp_ens=comp_ens, targets=targets, attrs=attrs)


def _monte_carlo(impact: Any, live_work_fraction: float, targets: Any, attrs: dict[str, Any], **kw: Any) -> Any:
    from .montecarlo_results import monte_carlo_dataset  # deferred: numba and scipy.stats, not for analytical runs

    return monte_carlo_dataset(impact, live_work_fraction, targets, attrs, **kw)
