"""CELID-t from Monte Carlo (issue 10 item 3): ``simulate(..., celid_h=...)`` against its expectation.

The expectation is derived here from what the kernel samples (reliability/kernel.py, module docstring items
3-4), not from the kernel's code:

* a fault of component ``c`` (Poisson, rate ``λ_c``) interrupts a load point of a ``REPAIR`` range for
  ``D = repair_h_c · X`` (``X`` the unit repair draw: exponential by default, so ``P(D > t) = exp(−t /
  repair_h)``; fixed: ``P(D > t) = 1[repair_h > t]``), and a load point of an ``UPSTREAM``/``TIE`` range for
  ``D = min(switch_h · M, R)``; with the default fixed switching ``M = 1`` so ``P(D > t) = 1[switch_h > t] ·
  P(R > t)``;
* a planned outage (Poisson, rate ``planned_per_yr · (1 − live_work_fraction)``) interrupts the ``REPAIR``
  ranges only, for ``planned_h · Y`` (``Y = 1``: fixed planned durations by default): ``P(D > t) =
  1[planned_h > t]``;
* "longer than t" is strict; one event of a component reaches a load point through at most one of its ranges.

Each event's duration is drawn independently of the other events, so for one load point the events longer
than ``t`` are a thinned Poisson process: rate ``Λ = Σ_c λ_c · P(D_c > t)`` over the (fault and planned)
causes whose ranges cover it, and ``P(at least one in a year) = 1 − exp(−Λ)``. CELID-t of a group is the
customer-weighted mean. Tolerances: the per-load-point share is a binomial proportion over the years (SE
``sqrt(p(1 − p) / n)``); for a group's weighted mean the SE is at most ``Σ w · sqrt(p(1 − p)) / sqrt(n)``
(Cauchy–Schwarz: fully correlated load points are the worst case).
"""

from __future__ import annotations

import dataclasses
import math

import gridscope as gs
import numpy as np
import pytest
from gridscope.errors import InputError
from gridscope.reliability.impact import REPAIR, UPSTREAM, Impact
from gridscope.reliability.montecarlo import simulate

THRESHOLDS_H = (1.0, 4.0, 10.0)


def expected_longer_p(imp: Impact, t_h: float, *, repair_dist: str = "exponential",
                      live_work_fraction: float = 0.0) -> np.ndarray:
    """P(at least one interruption longer than ``t_h`` in a year) per load position (see module docstring);
    a plain loop over the ranges."""
    lam = np.zeros(imp.n_load)
    for c in range(imp.n_comp):
        rep_h = float(imp.comp_repair_h[c])
        if repair_dist == "exponential":
            p_rep = math.exp(-t_h / rep_h) if rep_h > 0 else 0.0
        else:  # fixed
            p_rep = 1.0 if rep_h > t_h else 0.0
        p_planned = 1.0 if imp.comp_planned_h[c] > t_h else 0.0
        rate_planned = float(imp.comp_planned_per_yr[c]) * (1.0 - live_work_fraction)
        for r in range(imp.ptr[c], imp.ptr[c + 1]):
            lo, hi = int(imp.iv_lo[r]), int(imp.iv_hi[r])
            if imp.iv_kind[r] == REPAIR:
                lam[lo:hi] += imp.comp_lambda[c] * p_rep + rate_planned * p_planned
            else:  # switched: min(switch_h, R) > t needs both
                lam[lo:hi] += imp.comp_lambda[c] * (p_rep if imp.iv_switch_h[r] > t_h else 0.0)
    return 1.0 - np.exp(-lam)


def weighted(p: np.ndarray, imp: Impact, n_years: int) -> tuple[float, float]:
    """System CELID (customer-weighted) and the Cauchy–Schwarz bound of its standard error."""
    w = imp.load_customers / imp.load_customers.sum()
    return float(w @ p), float(w @ np.sqrt(p * (1.0 - p))) / math.sqrt(n_years)


def check(res, imp: Impact, n_years: int, n_se: float = 4.0, **kw) -> None:
    assert res.lp_longer_p.shape == (imp.n_load, len(res.celid_h))
    for i, t in enumerate(res.celid_h):
        p = expected_longer_p(imp, float(t), **kw)
        got = res.lp_longer_p[:, i]
        se = np.sqrt(np.maximum(p * (1.0 - p), 1e-12) / n_years)
        bad = np.abs(got - p) > n_se * se + 1e-12
        assert not bad.any(), (t, np.flatnonzero(bad), got[bad], p[bad], se[bad])
        exact, se_sys = weighted(p, imp, n_years)
        sys_mc = float(res.celid.sel(group="system", celid_h=t))
        assert abs(sys_mc - exact) <= n_se * se_sys + 1e-12, (t, sys_mc, exact, se_sys)


# ------------------------------------------------------------------------------------------ hand case
def one_line_feeder() -> Impact:
    """Source - line 0 - bus 1 (load point A, 10 customers) - disconnector - line 1 - bus 2 (load point B, 20
    customers). A fault on line 0 interrupts A and B until repaired (REPAIR); a fault on line 1 is isolated
    by opening the disconnector: A is back after the 2 h switching (UPSTREAM), B waits for the repair. Line 0
    has a planned outage once a year of 8 h (both load points, REPAIR), line 1 none."""
    return Impact(
        comp_element=np.array(["line", "line"]), comp_index=np.arange(2, dtype=np.int64),
        comp_name=np.array(["L0", "L1"], dtype=object), comp_feeder=np.zeros(2, np.int64),
        comp_lambda=np.array([0.2, 0.3]), comp_repair_h=np.array([5.0, 3.0]),
        comp_planned_per_yr=np.array([1.0, 0.0]), comp_planned_h=np.array([8.0, 0.0]),
        ptr=np.array([0, 1, 3], np.int64), iv_lo=np.array([0, 0, 1], np.int64), iv_hi=np.array([2, 1, 2], np.int64),
        iv_kind=np.array([REPAIR, UPSTREAM, REPAIR], np.int8), iv_switch_h=np.array([0.0, 2.0, 0.0]),
        load_pos=np.arange(2, dtype=np.int64), load_index=np.array([10, 11], np.int64),
        load_customers=np.array([10.0, 20.0]), load_p_avg_mw=np.array([0.1, 0.2]),
        load_zone=np.zeros(2, np.int64), load_feeder=np.zeros(2, np.int64), zones=["Z"], feeders=["F"],
    )


def test_one_line_feeder_by_hand() -> None:
    """Exponential repair, fixed switching (2 h) and planned work (8 h). By hand, Λ per load point:

    t = 1 h:  A: L0 0.2·e^(−1/5) + L1 0.3·e^(−1/3) (switching 2 h > 1 h: min(2, R) > 1 iff R > 1) + planned 1
                 = 0.163746 + 0.214959 + 1 = 1.378706                  → P = 1 − e^−Λ = 0.748096
              B: L0 0.163746 + L1 0.3·e^(−1/3) 0.214959 + 1 = 1.378706 → 0.748096
    t = 2 h:  A: 0.2·e^(−2/5) 0.134064 + L1 0 (min(2, R) ≤ 2: never longer) + 1 = 1.134064 → 0.678277
              B: 0.134064 + 0.3·e^(−2/3) 0.154025 + 1 = 1.288089          → 0.724203
    t = 9 h:  A: 0.2·e^(−9/5) = 0.033060 (planned 8 h ≤ 9)              → 0.032519
              B: 0.033060 + 0.3·e^(−3) 0.014936 = 0.047996            → 0.046862
    CELID (10 and 20 customers): (10·P_A + 20·P_B) / 30.
    """
    p_hand = np.array([[0.748096, 0.678277, 0.032519], [0.748096, 0.724203, 0.046862]])
    imp = one_line_feeder()
    np.testing.assert_allclose(np.column_stack([expected_longer_p(imp, t) for t in (1.0, 2.0, 9.0)]),
                               p_hand, atol=2e-6)
    n = 200_000
    res = simulate(imp, years=n, seed=3, celid_h=[1.0, 2.0, 9.0], threads=2)
    se = np.sqrt(p_hand * (1 - p_hand) / n)
    assert np.all(np.abs(res.lp_longer_p - p_hand) <= 4 * se + 2e-6), (res.lp_longer_p, p_hand)
    celid_hand = (10 * p_hand[0] + 20 * p_hand[1]) / 30
    assert np.all(np.abs(res.celid.sel(group="system").values - celid_hand) <= 4 * se.max(axis=0) + 2e-6)
    # fixed repair, t = 8 h: no duration is longer (repairs 5 h and 3 h, planned 8 h not strictly longer);
    # t = 0: any interruption at all, Λ = 0.2 + 0.3 + 1 = 1.5 for both load points
    fixed = simulate(imp, years=20_000, seed=4, celid_h=[0.0, 8.0], repair_dist="fixed")
    assert np.all(fixed.lp_longer_p[:, 1] == 0.0)  # planned 8 h is not longer than 8 h, repairs 5 h and 3 h
    np.testing.assert_allclose(fixed.lp_longer_p[:, 0], 1 - np.exp(-np.array([1.5, 1.5])), atol=4 * 0.0036)
    # one thread = two threads, and the option changes no other number
    one = simulate(imp, years=n, seed=3, celid_h=[1.0, 2.0, 9.0], threads=1)
    np.testing.assert_array_equal(one.lp_longer_p, res.lp_longer_p)
    plain = simulate(imp, years=n, seed=3, threads=2)
    assert plain.lp_longer_p is None and plain.celid_mean is None
    np.testing.assert_array_equal(plain.annual_mean, res.annual_mean)
    np.testing.assert_array_equal(plain.comp_mean, res.comp_mean)


def test_live_work_and_fixed_repair_by_hand() -> None:
    """live_work_fraction 0.5 halves the planned rate; fixed repair: L0 (5 h) is longer than 4 h every time, L1
    (3 h) never. t = 4 h: A: 0.2 + 0.5 = 0.7 → P = 1 − e^−0.7 = 0.503415; B: 0.2 + 0 + 0.5 → 0.503415."""
    imp = one_line_feeder()
    n = 100_000
    res = simulate(imp, years=n, seed=8, celid_h=4.0, repair_dist="fixed", live_work_fraction=0.5)
    p = expected_longer_p(imp, 4.0, repair_dist="fixed", live_work_fraction=0.5)
    np.testing.assert_allclose(p, [0.503415, 0.503415], atol=1e-6)
    se = math.sqrt(0.503415 * 0.496585 / n)
    assert np.all(np.abs(res.lp_longer_p[:, 0] - p) <= 4 * se)


# ------------------------------------------------------------------------------------------ RBTS Bus 2
@pytest.fixture(scope="module")
def rbts2_impact():
    return gs.Study(gs.load_network("rbts2")).impact()


def test_rbts2_celid_agrees_with_poisson_expectation(rbts2_impact) -> None:
    """RBTS Bus 2 case A (exponential repair 5 h lines / 200 h transformers, 1 h switching, no planned work):
    at t = 1 h the switched load points are not counted (min(1, R) ≤ 1 h); per load point and system."""
    n = 100_000
    res = simulate(rbts2_impact, years=n, seed=12, celid_h=THRESHOLDS_H)
    check(res, rbts2_impact, n)
    np.testing.assert_array_equal(res.celid_h, THRESHOLDS_H)


def test_rbts2_with_planned_work_and_fixed_repair(rbts2_impact) -> None:
    """With planned work added (0.25 /yr of 6 h on every component) and fixed repair: the planned outages count
    for t = 1 h and 4 h, not for 10 h; line repairs (5 h) count for 1 h and 4 h, transformers (200 h) always."""
    imp = dataclasses.replace(rbts2_impact, comp_planned_per_yr=np.full(rbts2_impact.n_comp, 0.25),
                              comp_planned_h=np.full(rbts2_impact.n_comp, 6.0))
    n = 50_000
    res = simulate(imp, years=n, seed=13, celid_h=THRESHOLDS_H, repair_dist="fixed", live_work_fraction=0.2)
    check(res, imp, n, repair_dist="fixed", live_work_fraction=0.2)


# ------------------------------------------------------------------------------------------ SimBench
def test_simbench_mv_celid(simbench_mv) -> None:
    """SimBench 1-MV-urban--0-sw (through the Study, default options): every load point is fed again by
    switching within 1 h (30 h exponential repairs of the faulted sections feed no load), so CELID-t falls
    with t as e^(−t/30) below 1 h and is exactly 0 from t = 1 h on (min(1 h, R) is never longer)."""
    imp = gs.Study(simbench_mv).impact()
    n = 50_000
    res = simulate(imp, years=n, seed=14, celid_h=(0.25, 0.75, 1.0, 4.0))
    check(res, imp, n)
    celid = res.celid.sel(group="system").values
    assert celid[0] > celid[1] > 0.1 and celid[2] == celid[3] == 0.0


# ------------------------------------------------------------------------------------------ dataset, checks
def test_dataset_carries_celid(rbts2_net) -> None:
    ds = gs.Study(rbts2_net).reliability(method="monte-carlo", years=20_000, seed=1, celid_h=(1.0, 4.0))
    assert list(ds["celid_h"].values) == [1.0, 4.0] and ds["celid_h"].attrs["units"] == "h"
    assert ds["CELID_mc"].dims == ("zone", "celid_h") and ds["CELID_mc"].attrs["units"] == "1"
    assert ds["lp_longer_p"].dims == ("load", "celid_h")
    # system CELID = customer-weighted mean of the per-load-point shares (in the dataset's load order)
    cust = ds["lp_customers"].values.astype(float)
    np.testing.assert_allclose(ds["CELID_mc"].sel(zone="system").values,
                               (cust[:, None] * ds["lp_longer_p"].values).sum(axis=0) / cust.sum(), rtol=1e-12)


def test_celid_option_checked() -> None:
    imp = one_line_feeder()
    for bad in (-1.0, math.inf, "4", [1.0, math.nan], [], list(range(17))):
        with pytest.raises(InputError, match="celid_h"):
            simulate(imp, years=10, seed=1, celid_h=bad)


def test_cli_prints_sampled_celid_for_monte_carlo() -> None:
    """``gridscope reliability rbts2 --method monte-carlo --celid 4`` prints the sampled CELID, the same
    numbers as simulate() with the CLI's seed and options; the analytical method keeps the mean-duration
    figure."""
    from click.testing import CliRunner
    from gridscope.cli import main

    args = ["reliability", "rbts2", "--method", "monte-carlo", "--years", "20000", "--seed", "5", "--celid", "4"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "CELID-4h" in out.output and "sampled:" in out.output
    res = simulate(gs.Study(gs.load_network("rbts2")).impact(), years=20_000, seed=5, celid_h=(4.0,))
    assert f"system {float(res.celid.sel(group='system', celid_h=4.0)):.2%}" in out.output
    analytical = CliRunner().invoke(main, ["reliability", "rbts2", "--celid", "4"])
    assert analytical.exit_code == 0 and "analytical, mean durations" in analytical.output
