"""The exact analytical method: expected indices summed over components from the :class:`Impact` ranges.

Per load point ``l``: failure rate ``λ_l = Σ_c λ_c`` over the components whose ranges cover ``l``,
unavailability ``U_l = Σ_c λ_c · d_c,l`` with ``d = min(switching, repair)`` for ``UPSTREAM``/``TIE`` ranges and
``d = repair`` for ``REPAIR`` ranges, duration ``r_l = U_l / λ_l`` (RELRAD, Allan et al. 1991). Planned outages
add ``(1 − live_work_fraction) · planned_per_yr`` interruptions of ``planned_h`` to the ``REPAIR`` ranges of the
component (loads that can be fed another way are switched over beforehand, without interruption).

Sums over ranges use difference arrays, so the cost is O(ranges + load points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .impact import REPAIR, Impact

__all__ = ["AnalyticalResult", "analytical_indices", "range_durations"]


@dataclass(eq=False)
class AnalyticalResult:
    """Expected per-load-point and per-component values for fault and planned outages.

    Arrays over load positions (``Impact`` order): ``lam_fault``, ``u_fault_h``, ``lam_planned``,
    ``u_planned_h`` (1/yr, h/yr). Arrays over components × zone ids: ``comp_ch_fault``, ``comp_ens_fault``,
    ``comp_ch_planned``, ``comp_ens_planned`` (customer-hours/yr and MWh/yr).
    """

    lam_fault: np.ndarray
    u_fault_h: np.ndarray
    lam_planned: np.ndarray
    u_planned_h: np.ndarray
    comp_ch_fault: np.ndarray
    comp_ens_fault: np.ndarray
    comp_ci_fault: np.ndarray
    comp_ch_planned: np.ndarray
    comp_ens_planned: np.ndarray
    comp_ci_planned: np.ndarray


def range_durations(impact: Impact) -> tuple[np.ndarray, np.ndarray]:
    """Component of each range and its expected fault duration (hours) with fixed durations.

    Returns
    -------
    comp_of_range, duration_h : numpy.ndarray
    """
    comp_of_range = np.repeat(np.arange(impact.n_comp), np.diff(impact.ptr))
    repair = impact.comp_repair_h[comp_of_range]
    dur = np.where(impact.iv_kind == REPAIR, repair, np.minimum(impact.iv_switch_h, repair))
    return comp_of_range, dur


def _per_load(n: int, lo: np.ndarray, hi: np.ndarray, weight: np.ndarray) -> np.ndarray:
    diff = np.bincount(lo, weights=weight, minlength=n + 1) - np.bincount(hi, weights=weight, minlength=n + 1)
    out = np.cumsum(diff)[:n]
    # a prefix sum of differences leaves rounding residue (±1e-17) where the ranges cancel: a load point no
    # range covers is exactly 0 (so its SAIFI is 0 and CAIDI undefined, not a ratio of two residues)
    out[np.abs(out) <= 1e-12 * max(float(np.abs(weight).sum()), 1e-300)] = 0.0
    return out


def _per_zone_range_sums(impact: Impact, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (per load position) over every range, per zone: shape (n_ranges, n_zones)."""
    n_z = len(impact.zones)
    out = np.zeros((impact.n_ranges, n_z))
    for z in range(n_z):
        cum = np.concatenate([[0.0], np.cumsum(np.where(impact.load_zone == z, values, 0.0))])
        out[:, z] = cum[impact.iv_hi] - cum[impact.iv_lo]
    return out


def analytical_indices(impact: Impact, *, live_work_fraction: float = 0.0) -> AnalyticalResult:
    """Expected reliability values of every load point and component (exact for the model of DESIGN.md §3).

    What-if scales (fewer faults, faster repair) are applied to the impact beforehand, with
    :func:`gridscope.reliability.api.scale_impact`, so both methods see the same scaled data.

    Parameters
    ----------
    impact : Impact
        From :func:`~gridscope.reliability.impact.build_impact`.
    live_work_fraction : float
        Share of planned jobs done live (不停电作业), in [0, 1]: they interrupt nobody.

    Returns
    -------
    AnalyticalResult
    """
    n = impact.n_load
    comp, dur = range_durations(impact)
    lam = impact.comp_lambda[comp]
    lam_fault = _per_load(n, impact.iv_lo, impact.iv_hi, lam)
    u_fault = _per_load(n, impact.iv_lo, impact.iv_hi, lam * dur)

    planned = impact.iv_kind == REPAIR
    p_rate = impact.comp_planned_per_yr[comp] * (1.0 - live_work_fraction) * planned
    p_dur = impact.comp_planned_h[comp]
    lam_planned = _per_load(n, impact.iv_lo, impact.iv_hi, p_rate)
    u_planned = _per_load(n, impact.iv_lo, impact.iv_hi, p_rate * p_dur)

    cust_z = _per_zone_range_sums(impact, impact.load_customers)
    mw_z = _per_zone_range_sums(impact, impact.load_p_avg_mw)
    n_c, n_z = impact.n_comp, len(impact.zones)

    def per_comp(weight: np.ndarray, per_zone: np.ndarray) -> np.ndarray:
        out = np.zeros((n_c, n_z))
        for z in range(n_z):
            out[:, z] = np.bincount(comp, weights=weight * per_zone[:, z], minlength=n_c)
        return out

    return AnalyticalResult(
        lam_fault=lam_fault, u_fault_h=u_fault, lam_planned=lam_planned, u_planned_h=u_planned,
        comp_ch_fault=per_comp(lam * dur, cust_z), comp_ens_fault=per_comp(lam * dur, mw_z),
        comp_ci_fault=per_comp(lam, cust_z),
        comp_ch_planned=per_comp(p_rate * p_dur, cust_z), comp_ens_planned=per_comp(p_rate * p_dur, mw_z),
        comp_ci_planned=per_comp(p_rate, cust_z),
    )
