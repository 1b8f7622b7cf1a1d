"""What-if studies for the yearly programme: fewer faults, faster repair, more live-line work, side by side.

>>> import gridscope as gs
>>> net = gs.load_network("rbts2")
>>> ds = gs.reliability.scenario(net, failure_rate_scale=0.85, repair_time_scale=0.95)
>>> ds["SAIDI"].sel(zone="system").to_series()        # doctest: +SKIP
scenario
base        3.612587
scenario    2.917...

The failure-effect analysis is computed once and shared by every scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from ..grid.io import network_hash as compute_network_hash
from ..grid.topology import Topology
from .api import assess_reliability, prepare_impact
from .impact import Impact

__all__ = ["SCENARIO_OPTIONS", "compare_scenarios", "scenario", "yearly_programme"]

#: Options a scenario may set (keyword arguments of :func:`gridscope.assess_reliability`).
SCENARIO_OPTIONS = ("failure_rate_scale", "repair_time_scale", "switching_time_scale", "planned_rate_scale",
                    "live_work_fraction")


def compare_scenarios(
    net: Any,
    scenarios: Mapping[str, Mapping[str, float]],
    *,
    method: str = "analytical",
    validate: bool = True,
    topology: Topology | None = None,
    impact: Impact | None = None,
    tie_capacity: bool | dict[str, float] = False,
    network_hash: str | None = None,
    **options: Any,
) -> Any:
    """Run several scenarios on one network and stack the results along a ``scenario`` dimension.

    Parameters
    ----------
    net : pandapowerNet
    scenarios : mapping
        Scenario name → options from :data:`SCENARIO_OPTIONS`, e.g.
        ``{"base": {}, "2027": {"failure_rate_scale": 0.85, "repair_time_scale": 0.95}}``.
    method : str
        ``"analytical"`` or ``"monte-carlo"`` (Monte Carlo runs use the same seed in every scenario, so the
        differences are not blurred by sampling noise more than necessary).
    validate : bool
        Validate ``net`` once first (not when ``impact`` is given).
    topology, impact : optional
        Prebuilt for ``net`` (a prepared study passes them); otherwise built once for all the scenarios.
    tie_capacity : bool or dict
        Capacity check of tie transfers when the impact is built here.
    network_hash : str, optional
        Provenance hash of ``net`` if the caller has it; computed once otherwise.
    **options
        Passed to every :func:`gridscope.assess_reliability` call (``years``, ``seed``, ``progress`` ...).

    Returns
    -------
    xarray.Dataset
        The indices with a leading ``scenario`` dimension; each scenario's options are in the attrs.
    """
    import xarray as xr  # deferred: keeps gridscope's start-up (``--help``) light

    if not scenarios:
        raise InputError("give at least one scenario")
    problems = [f"scenario {name!r}: unknown option {k!r} (allowed: {', '.join(SCENARIO_OPTIONS)})"
                for name, opts in scenarios.items() for k in opts if k not in SCENARIO_OPTIONS]
    if problems:
        raise InputError("; ".join(problems))
    if impact is None:
        topology, impact = prepare_impact(net, topology=topology, validate=validate, tie_capacity=tie_capacity)
    digest = network_hash if network_hash is not None else compute_network_hash(net)
    results = []
    for name, opts in scenarios.items():
        ds = assess_reliability(net, method=method, topology=topology, impact=impact, validate=False,
                                tie_capacity=tie_capacity, network_hash=digest, **{**options, **opts})
        results.append(ds.expand_dims(scenario=[str(name)]))
    out = xr.concat(results, dim="scenario", combine_attrs="drop_conflicts")
    out.attrs["scenarios"] = "; ".join(f"{n}: " + (", ".join(f"{k}={v}" for k, v in o.items()) or "base")
                                       for n, o in scenarios.items())
    return out


def scenario(net: Any, *, name: str = "scenario", method: str = "analytical", **options: Any) -> Any:
    """The base case and one what-if scenario side by side (``scenario`` dimension: ``base``, ``name``).

    Scenario options (:data:`SCENARIO_OPTIONS`) go to the scenario only; other options (``years``, ``seed``,
    ``targets`` ...) to both runs.
    """
    what_if = {k: options.pop(k) for k in list(options) if k in SCENARIO_OPTIONS}
    if name == "base":
        raise InputError("the scenario cannot be called 'base'")
    return compare_scenarios(net, {"base": {}, name: what_if}, method=method, **options)


def yearly_programme(
    net: Any,
    *,
    years: int = 3,
    fault_reduction: float = 0.15,
    repair_reduction: float = 0.05,
    live_work_fraction: float | None = None,
    method: str = "analytical",
    **options: Any,
) -> Any:
    """The yearly improvement targets compounded over ``years``: −15 % outages and −5 % repair time per year.

    Scenario ``year k`` scales fault and planned outage rates by ``(1 − fault_reduction)^k`` and repair
    times by ``(1 − repair_reduction)^k``; ``live_work_fraction`` (if given) applies from year 1.
    """
    if not (isinstance(years, int) and years >= 1):
        raise InputError(f"years must be an integer ≥ 1, got {years!r}")
    for label, value in (("fault_reduction", fault_reduction), ("repair_reduction", repair_reduction)):
        if not 0.0 <= value < 1.0:
            raise InputError(f"{label} must be in [0, 1), got {value!r}")
    plan: dict[str, dict[str, float]] = {"base": {}}
    for k in range(1, years + 1):
        opts = {"failure_rate_scale": (1 - fault_reduction) ** k,
                "planned_rate_scale": (1 - fault_reduction) ** k,
                "repair_time_scale": (1 - repair_reduction) ** k}
        if live_work_fraction is not None:
            opts["live_work_fraction"] = live_work_fraction
        plan[f"year {k}"] = opts
    return compare_scenarios(net, plan, method=method, **options)
