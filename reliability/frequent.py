"""Frequent outages, analytical part: expected CEMI-n from per-load-point Poisson interruption rates.

Definitions (shared with the Monte-Carlo CEMI): CEMI-n is the share of customers with MORE than ``n``
interruptions a year. The analytical model of DESIGN.md §3 gives each load point a yearly interruption
rate λ_lp (fault + planned); interruptions are a Poisson process, so P(N_lp > n) = ``poisson.sf(n, λ_lp)``
and the expected CEMI-n of a zone is Σ customers·P(N_lp > n) / Σ customers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import poisson

from ..errors import InputError

__all__ = ["cemi_by_zone", "cemi_from_results", "frequent_load_points", "prob_more_than"]


def prob_more_than(lam_per_yr: np.ndarray, n: int) -> np.ndarray:
    """Probability that a Poisson count with rate ``lam_per_yr`` exceeds ``n`` in a year.

    Parameters
    ----------
    lam_per_yr : numpy.ndarray
        Yearly interruption rate of each load point (1/yr), non-negative.
    n : int
        Threshold: the result is P(N > n).

    Returns
    -------
    numpy.ndarray
    """
    if int(n) != n or n < 0:
        raise InputError(f"CEMI threshold n must be a non-negative integer, got {n!r}")
    return poisson.sf(int(n), np.asarray(lam_per_yr, dtype=float))


def cemi_by_zone(lam_per_yr: np.ndarray, customers: np.ndarray, zone: np.ndarray, zones: list[str],
                 n: int) -> pd.Series:
    """Expected CEMI-n of each zone and of the system (share of customers, 0..1).

    Parameters
    ----------
    lam_per_yr, customers : numpy.ndarray
        Per load point: interruption rate (1/yr) and customers.
    zone : numpy.ndarray of int
        Zone id of each load point (index into ``zones``).
    zones : list of str
        Zone names.
    n : int
        CEMI threshold (more than ``n`` interruptions).

    Returns
    -------
    pandas.Series
        Indexed by zone name plus ``"system"``; NaN for a zone without customers.
    """
    p = prob_more_than(lam_per_yr, n)
    cust = np.asarray(customers, dtype=float)
    zone = np.asarray(zone, dtype=np.int64)
    n_z = len(zones)
    num = np.bincount(zone, weights=cust * p, minlength=n_z)
    den = np.bincount(zone, weights=cust, minlength=n_z)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_zone = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    system = float(num.sum() / den.sum()) if den.sum() > 0 else float("nan")
    return pd.Series([*per_zone, system], index=[*zones, "system"], name=f"CEMI-{int(n)}")


def frequent_load_points(impact: Any, result: Any, n: int, *, top: int | None = 10) -> pd.DataFrame:
    """Load points ranked by P(more than ``n`` interruptions a year), highest first.

    Parameters
    ----------
    impact : Impact
        From :func:`~gridscope.reliability.impact.build_impact`.
    result : AnalyticalResult
        From :func:`~gridscope.reliability.analytical.analytical_indices` on the same impact.
    n : int
        Threshold.
    top : int or None
        Rows kept (None: all).

    Returns
    -------
    pandas.DataFrame
        Columns ``load_index``, ``name``, ``zone``, ``customers``, ``lam_fault_per_yr``,
        ``lam_planned_per_yr``, ``lam_per_yr``, ``p_more_than_n``.
    """
    lam = result.lam_fault + result.lam_planned
    names = impact.load_name if impact.load_name is not None else np.full(impact.n_load, "", dtype=object)
    df = pd.DataFrame({
        "load_index": impact.load_index, "name": names,
        "zone": np.asarray(impact.zones, dtype=object)[impact.load_zone] if impact.zones else "",
        "customers": impact.load_customers, "lam_fault_per_yr": result.lam_fault,
        "lam_planned_per_yr": result.lam_planned, "lam_per_yr": lam, "p_more_than_n": prob_more_than(lam, n),
    })
    # stable sort: ties keep Impact order, so the ranking is deterministic
    df = df.sort_values("p_more_than_n", ascending=False, kind="stable").reset_index(drop=True)
    return df if top is None else df.head(top)


def cemi_from_results(ds: Any, n: int) -> pd.Series:
    """Expected CEMI-n per zone and system from a reliability results dataset (``gs.assess_reliability``).

    Uses the per-load-point interruption rates (``lp_failure_rate``, fault + planned) and customers of the
    dataset, Poisson as in :func:`cemi_by_zone`. For a Monte-Carlo dataset the rates are the simulated means.
    """
    zones = [str(z) for z in ds["zone"].values if str(z) != "system"]
    lp_zone = np.asarray(ds["load_zone"].values).astype(str)
    zone_id = np.array([zones.index(z) if z in zones else -1 for z in lp_zone], dtype=np.int64)
    keep = zone_id >= 0
    return cemi_by_zone(np.asarray(ds["lp_failure_rate"].values, float)[keep],
                        np.asarray(ds["lp_customers"].values, float)[keep], zone_id[keep], zones, n)
