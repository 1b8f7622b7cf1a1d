"""Reliability: failure-effect analysis, analytical indices, Monte-Carlo kernel, results, scenarios.

``gs.reliability.scenario(net, failure_rate_scale=0.85, repair_time_scale=0.95)`` and the other names below
are imported lazily (numba and xarray load on first use).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "assess_reliability": ".api",
    "scale_impact": ".api",
    "build_impact": ".impact",
    "Impact": ".impact",
    "analytical_indices": ".analytical",
    "contributions": ".results",
    "to_dataframe": ".results",
    "scenario": ".scenarios",
    "compare_scenarios": ".scenarios",
    "yearly_programme": ".scenarios",
    "simulate": ".montecarlo",
    "write_netcdf": ".io",
    "plot_reliability": ".plots",
    "save_reliability_figure": ".plots",
    "read_netcdf": ".io",
    "cemi_by_zone": ".frequent",
    "frequent_load_points": ".frequent",
    "plan_outages": ".planning",
    "read_jobs": ".planning",
    "write_plan": ".planning",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gridscope.reliability' has no attribute {name!r}")
