"""Monte-Carlo reliability core: kernel, simulate(), stop rule, reproducibility, validation.

Every simulated mean is held to an exact expectation computed independently: closed forms typed in the
test (λ·customers·E[duration], E[min(s, R)] for exponential repair), numerical integrals with scipy, the
analytical method, or the published RBTS Bus 2 values. Simulations use fixed seeds, so each test is
deterministic; tolerances are stated in standard errors (SE) of the simulated mean.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from gridscope.errors import CancelledError, InputError
from gridscope.reliability.impact import REPAIR, TIE, UPSTREAM, Impact
from gridscope.reliability.montecarlo import (
    COMPILE_WHAT,
    DEFAULT_MAX_YEARS,
    KINDS,
    PROGRESS_WHAT,
    expected_values,
    kernel_is_compiled,
    simulate,
    warm_up,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CI, CH, ENS = 0, 1, 2
SAIFI, SAIDI = 0, 1
FAULT, PLANNED, TOTAL = 0, 1, 2


# ------------------------------------------------------------------------------------------- builders
def make_impact(comps: list[dict], loads: list[tuple], zones=("A",), feeders=("F1",)) -> Impact:
    """An Impact by hand. ``comps``: dicts with lam, repair_h, planned_per_yr, planned_h and ranges
    ``(lo, hi, kind, switch_h)``; ``loads``: ``(customers, p_avg_mw, zone, feeder)`` per position."""
    ptr, lo, hi, kind, sw = [0], [], [], [], []
    for c in comps:
        for a, b, k, s in c["ranges"]:
            lo.append(a)
            hi.append(b)
            kind.append(k)
            sw.append(s)
        ptr.append(len(lo))
    n = len(comps)
    arr = np.array(loads, dtype=float).reshape(-1, 4)
    return Impact(
        comp_element=np.array(["line"] * n), comp_index=np.arange(n, dtype=np.int64),
        comp_name=np.array([f"c{i}" for i in range(n)], dtype=object), comp_feeder=np.zeros(n, np.int64),
        comp_lambda=np.array([c["lam"] for c in comps], float),
        comp_repair_h=np.array([c["repair_h"] for c in comps], float),
        comp_planned_per_yr=np.array([c.get("planned_per_yr", 0.0) for c in comps], float),
        comp_planned_h=np.array([c.get("planned_h", 0.0) for c in comps], float),
        ptr=np.array(ptr, np.int64), iv_lo=np.array(lo, np.int64), iv_hi=np.array(hi, np.int64),
        iv_kind=np.array(kind, np.int8), iv_switch_h=np.array(sw, float),
        load_pos=np.arange(len(arr), dtype=np.int64), load_index=np.arange(100, 100 + len(arr), dtype=np.int64),
        load_customers=arr[:, 0], load_p_avg_mw=arr[:, 1], load_zone=arr[:, 2].astype(np.int64),
        load_feeder=arr[:, 3].astype(np.int64), zones=list(zones), feeders=list(feeders),
    )


def one_component(lam=0.5, repair_h=4.0, kind=REPAIR, switch_h=0.0, customers=100.0, mw=2.0, **planned):
    """One component interrupting one load point of ``customers`` and ``mw``."""
    return make_impact([dict(lam=lam, repair_h=repair_h, ranges=[(0, 1, kind, switch_h)], **planned)],
                       [(customers, mw, 0, 0)])


def small_network() -> Impact:
    """Two zones, two feeders, every duration class, planned outages."""
    return make_impact(
        [
            dict(lam=0.5, repair_h=4.0, planned_per_yr=0.2, planned_h=6.0, ranges=[(0, 2, REPAIR, 0.0)]),
            dict(lam=0.3, repair_h=5.0, planned_per_yr=0.1, planned_h=3.0,
                 ranges=[(0, 1, UPSTREAM, 1.0), (1, 2, REPAIR, 0.0)]),
            dict(lam=0.2, repair_h=3.0, ranges=[(2, 3, REPAIR, 0.0), (3, 4, TIE, 0.5)]),
            dict(lam=0.0, repair_h=3.0, ranges=[(2, 4, REPAIR, 0.0)]),
        ],
        [(100, 1.0, 0, 0), (50, 0.5, 1, 0), (10, 0.2, 1, 1), (5, 0.3, 0, 1)],
        zones=("A", "B"), feeders=("F1", "F2"))


def assert_within_se(mean, se, expected, n_se, what=""):
    mean, se, expected = np.broadcast_arrays(*(np.asarray(v, float) for v in (mean, se, expected)))
    ok = np.abs(mean - expected) <= n_se * se + 1e-9 * np.abs(expected).max(initial=0.0)  # + rounding
    assert ok.all(), (f"{what}: |MC - exact| > {n_se} SE at {np.argwhere(~ok).tolist()}: "
                      f"mc={mean[~ok]}, exact={expected[~ok]}, se={se[~ok]}")


# ---------------------------------------------------------------------------------- closed forms
def test_single_component_closed_form_fixed_repair():
    lam, r, n, mw = 0.5, 4.0, 100.0, 2.0
    res = simulate(one_component(lam, r, customers=n, mw=mw), years=50_000, seed=1, repair_dist="fixed",
                   threads=1, keep_samples=True)
    # annual CI = n · Poisson(λ): mean λn, standard deviation sqrt(λ)·n
    exact = np.array([lam * n, lam * n * r, lam * mw * r])
    for g in (0, 1):  # zone A and system are the same here
        assert_within_se(res.annual_mean[FAULT, g], res.annual_stderr[FAULT, g], exact, 4, "fault")
        np.testing.assert_allclose(res.annual_std[FAULT, g], math.sqrt(lam) * np.array([n, n * r, mw * r]),
                                   rtol=0.02)
    assert res.annual_mean[PLANNED].max() == 0.0
    np.testing.assert_array_equal(res.annual_mean[TOTAL], res.annual_mean[FAULT])
    # SAIFI = CI / customers
    assert res.index_mean[FAULT, 0, SAIFI] == pytest.approx(res.annual_mean[FAULT, 0, CI] / n, rel=1e-15)
    # percentiles of Poisson(0.5) counts: P5 = P50 = 0, P95 = 2 interruptions per customer
    p = res.index_percentiles[0, SAIFI]
    assert p[0] == 0.0 and p[1] == 0.0
    assert p[2] == pytest.approx(2.0, rel=0.003)
    # the simulated counts themselves follow Poisson(λ)
    counts = np.round(res.samples[:, FAULT, 0, CI] / n).astype(int)
    freq = np.bincount(counts, minlength=3)[:3] / res.years
    pmf = np.exp(-lam) * lam ** np.arange(3) / np.array([1, 1, 2])
    assert_within_se(freq, np.sqrt(pmf * (1 - pmf) / res.years), pmf, 4, "Poisson counts")
    # per load point: λ interruptions, λ·r hours, duration r
    assert_within_se(res.lp_failure_rate[FAULT, 0], math.sqrt(lam / res.years), lam, 4, "lp λ")
    assert res.lp_duration_h[FAULT, 0] == pytest.approx(r, rel=1e-12)
    np.testing.assert_array_equal(res.load_index, [100])


def test_switched_range_exponential_repair_uses_expected_min():
    """UPSTREAM range, switching 1 h fixed, repair exponential mean 2 h: E[min(1, R)] = 2(1 - e^-0.5)."""
    lam, r, s, n = 1.0, 2.0, 1.0, 10.0
    imp = one_component(lam, r, kind=UPSTREAM, switch_h=s, customers=n, mw=1.0)
    e_min = r * (1.0 - math.exp(-s / r))
    ev = expected_values(imp)
    assert ev.annual[FAULT, 1, CH] == pytest.approx(lam * n * e_min, rel=1e-12)
    res = simulate(imp, years=100_000, seed=3, threads=1)
    assert_within_se(res.annual_mean[FAULT, 1], res.annual_stderr[FAULT, 1], [lam * n, lam * n * e_min,
                                                                               lam * e_min], 4, "min(S,R)")
    # and clearly below the fixed-duration value λ·n·s (the bias is 21 %, far more than 4 SE)
    assert res.annual_mean[FAULT, 1, CH] < lam * n * s - 10 * res.annual_stderr[FAULT, 1, CH]
    # fixed repair: exactly min(s, r) every event
    res_fixed = simulate(imp, years=1000, seed=3, threads=1, repair_dist="fixed")
    assert res_fixed.lp_duration_h[FAULT, 0] == pytest.approx(min(s, r), rel=1e-12)


@pytest.mark.parametrize(("dist", "cv"), [("fixed", 0.0), ("exponential", 1.0), ("lognormal", 0.6),
                                          ("gamma", 0.5), ("gamma", 1.5)])
def test_repair_distributions_mean_and_spread(dist, cv):
    """Annual CH of one REPAIR component is compound Poisson: mean λnr, variance λ n² r² (1 + cv²)."""
    lam, r, n = 2.0, 5.0, 1.0
    imp = one_component(lam, r, customers=n, mw=1.0)
    kw = {"repair_cv": cv} if dist in ("lognormal", "gamma") else {}
    res = simulate(imp, years=200_000, seed=11, threads=2, repair_dist=dist, **kw)
    assert_within_se(res.annual_mean[FAULT, 1, CH], res.annual_stderr[FAULT, 1, CH], lam * n * r, 4, dist)
    np.testing.assert_allclose(res.annual_std[FAULT, 1, CH], math.sqrt(lam * (1 + cv * cv)) * n * r,
                               rtol=0.03)


@pytest.mark.parametrize(("repair", "r_cv", "switching", "s_cv"), [
    ("gamma", 0.5, "fixed", None), ("lognormal", 0.8, "fixed", None), ("exponential", None, "exponential", None),
    ("fixed", None, "gamma", 0.7), ("lognormal", 0.5, "gamma", 0.5),
])
def test_switched_range_expected_min_other_distributions(repair, r_cv, switching, s_cv):
    """E[min(S, R)] = ∫ P(S > x) P(R > x) dx by scipy quadrature, independent of the closed forms."""
    from scipy import integrate, stats

    def frozen(dist, cv, mean):
        if dist == "fixed":
            return None
        if dist == "exponential":
            return stats.expon(scale=mean)
        if dist == "gamma":
            return stats.gamma(1 / cv**2, scale=mean * cv**2)
        sigma = math.sqrt(math.log(1 + cv**2))
        return stats.lognorm(sigma, scale=mean * math.exp(-sigma**2 / 2))

    s, r, lam = 1.5, 2.0, 3.0
    fs, fr = frozen(switching, s_cv, s), frozen(repair, r_cv, r)

    def sf(f, mean, x):
        return float(x < mean) if f is None else f.sf(x)

    e_min = integrate.quad(lambda x: sf(fs, s, x) * sf(fr, r, x), 0, max(s, r) * 60, limit=400,
                           points=[s, r])[0]
    kw = {"repair_dist": repair, "switching_dist": switching}
    if r_cv is not None:
        kw["repair_cv"] = r_cv
    if s_cv is not None:
        kw["switching_cv"] = s_cv
    imp = one_component(lam, r, kind=TIE, switch_h=s, customers=1.0, mw=1.0)
    assert expected_values(imp, **kw).annual[FAULT, 1, CH] == pytest.approx(lam * e_min, rel=1e-6)
    res = simulate(imp, years=100_000, seed=5, threads=2, **kw)
    assert_within_se(res.annual_mean[FAULT, 1, CH], res.annual_stderr[FAULT, 1, CH], lam * e_min, 4, repair)


def test_planned_outages_and_live_work():
    """Planned events hit only the REPAIR ranges, at rate planned_per_yr·(1 - live_work_fraction)."""
    p_rate, p_h, f = 1.5, 3.0, 0.4
    imp = make_impact(
        [dict(lam=0.2, repair_h=4.0, planned_per_yr=p_rate, planned_h=p_h,
              ranges=[(0, 1, REPAIR, 0.0), (1, 2, UPSTREAM, 1.0), (2, 3, TIE, 1.0)])],
        [(10, 1.0, 0, 0), (20, 2.0, 0, 0), (40, 4.0, 0, 0)])
    res = simulate(imp, years=100_000, seed=2, threads=2, live_work_fraction=f, repair_dist="fixed")
    rate = p_rate * (1 - f)
    exact_planned = [rate * 10, rate * 10 * p_h, rate * 1.0 * p_h]
    assert_within_se(res.annual_mean[PLANNED, 1], res.annual_stderr[PLANNED, 1], exact_planned, 4, "planned")
    exact_fault = [0.2 * 70, 0.2 * (10 * 4 + 60 * 1), 0.2 * (1 * 4 + 6 * 1)]
    assert_within_se(res.annual_mean[FAULT, 1], res.annual_stderr[FAULT, 1], exact_fault, 4, "fault")
    # switched-over loads see no planned interruption at all
    assert res.lp_failure_rate[PLANNED, 1] == 0.0 and res.lp_failure_rate[PLANNED, 2] == 0.0
    assert res.lp_duration_h[PLANNED, 0] == pytest.approx(p_h, rel=1e-12)
    # total = fault + planned, for means and per load; the spread of the total is not the sum of spreads
    np.testing.assert_allclose(res.annual_mean[TOTAL], res.annual_mean[FAULT] + res.annual_mean[PLANNED],
                               rtol=1e-12)
    np.testing.assert_allclose(res.lp_unavailability_h[TOTAL], res.lp_unavailability_h[:2].sum(axis=0),
                               rtol=1e-12)
    # all planned work live: no planned interruptions; per-component fractions work too
    none = simulate(imp, years=2000, seed=2, threads=1, live_work_fraction=1.0)
    assert none.annual_mean[PLANNED].max() == 0.0
    per_comp = simulate(imp, years=100_000, seed=2, threads=2, live_work_fraction=np.array([f]),
                        repair_dist="fixed")
    np.testing.assert_array_equal(per_comp.annual_mean, res.annual_mean)


def test_planned_duration_distribution():
    imp = one_component(lam=0.0, repair_h=1.0, planned_per_yr=2.0, planned_h=4.0, customers=1.0)
    res = simulate(imp, years=100_000, seed=4, threads=2, planned_dist="gamma", planned_cv=0.5)
    assert_within_se(res.annual_mean[PLANNED, 1, CH], res.annual_stderr[PLANNED, 1, CH], 8.0, 4, "planned")
    np.testing.assert_allclose(res.annual_std[PLANNED, 1, CH], math.sqrt(2.0 * 1.25) * 4.0, rtol=0.03)
    assert res.annual_mean[FAULT].max() == 0.0


def test_small_network_against_hand_expectation():
    """Per zone, feeder, load point and component, with every duration class and planned work."""
    imp = small_network()
    res = simulate(imp, years=200_000, seed=7, threads=2, repair_dist="fixed")
    # by hand: load 0 (100 cust, 1 MW, zone A, F1), 1 (50, 0.5, B, F1), 2 (10, 0.2, B, F2), 3 (5, 0.3, A, F2)
    lam_lp = np.array([0.5 + 0.3, 0.5 + 0.3, 0.2, 0.2])
    u_lp = np.array([0.5 * 4 + 0.3 * 1, 0.5 * 4 + 0.3 * 5, 0.2 * 3, 0.2 * 0.5])
    lam_p = np.array([0.2, 0.2 + 0.1, 0, 0])
    u_p = np.array([0.2 * 6, 0.2 * 6 + 0.1 * 3, 0, 0])
    cust = np.array([100, 50, 10, 5.0])
    mw = np.array([1.0, 0.5, 0.2, 0.3])
    zone = np.array([0, 1, 1, 0])
    feeder = np.array([0, 0, 1, 1])
    for k, (lam, u) in enumerate(((lam_lp, u_lp), (lam_p, u_p))):
        exact_g = np.array([[np.sum((lam * cust)[zone == z]), np.sum((u * cust)[zone == z]),
                             np.sum((u * mw)[zone == z])] for z in (0, 1)])
        exact_g = np.vstack([exact_g, exact_g.sum(axis=0)])
        assert_within_se(res.annual_mean[k], res.annual_stderr[k], exact_g, 4, KINDS[k])
        np.testing.assert_allclose(expected_values(imp, repair_dist="fixed").annual[k], exact_g, rtol=1e-12)
        exact_f = np.array([[np.sum((lam * cust)[feeder == f]), np.sum((u * cust)[feeder == f]),
                             np.sum((u * mw)[feeder == f])] for f in (0, 1)])
        assert_within_se(res.feeder_mean[k], res.feeder_stderr[k], exact_f, 4, f"feeder {KINDS[k]}")
        # per load point: standard error of a rate estimate ≈ sqrt(rate / years) (Poisson counts)
        assert_within_se(res.lp_failure_rate[k], np.sqrt(lam / res.years), lam, 4, "lp rate")
    np.testing.assert_allclose(res.feeder_customers, [150, 15])
    np.testing.assert_allclose(res.customers, [105, 60, 165])
    assert res.groups == ["A", "B", "system"]
    # per component (fault, system CH): λ_c · Σ customers · duration
    comp_ch = np.array([0.5 * 150 * 4, 0.3 * (100 * 1 + 50 * 5), 0.2 * (10 * 3 + 5 * 0.5), 0.0])
    rel_se = res.annual_stderr[FAULT, 2, CH] / res.annual_mean[FAULT, 2, CH]
    np.testing.assert_allclose(res.comp_mean[FAULT, :, 2, CH], comp_ch, rtol=6 * rel_se)
    assert res.comp_mean[FAULT, 3].max() == 0.0  # λ = 0 never fails
    # component contributions add up to the group means, shares to 1
    np.testing.assert_allclose(res.comp_mean.sum(axis=1), res.annual_mean, rtol=1e-9)
    share = res.comp_share("CH")
    np.testing.assert_allclose(np.nansum(share, axis=0), 1.0)


# --------------------------------------------------------------------------- distribution statistics
def test_percentiles_and_target_probability_match_the_samples():
    imp = small_network()
    target = {"A": 2.0, "B": 4.0}
    res = simulate(imp, years=30_000, seed=8, threads=2, keep_samples=True, saidi_target_h=target)
    assert res.samples.shape == (30_000, 3, 3, 3)
    # samples reproduce the accumulated means exactly (up to summation order)
    np.testing.assert_allclose(res.samples.mean(axis=0), res.annual_mean, rtol=1e-9, atol=1e-12)
    n = res.customers
    for g in range(3):
        for i, m in enumerate((CI, CH, ENS)):
            v = res.samples[:, TOTAL, g, m] / (n[g] if i < 2 else 1.0)
            exact = np.quantile(v, [0.05, 0.5, 0.95], method="inverted_cdf")
            np.testing.assert_allclose(res.index_percentiles[g, i], exact, rtol=0.003)
            assert res.annual_max[g, i] == pytest.approx(v.max(), rel=1e-12)
    # p_miss_target: fraction of years with zone SAIDI above target, per kind
    for k in range(3):
        for g, t in ((0, 2.0), (1, 4.0)):
            frac = np.mean(res.samples[:, k, g, CH] / n[g] > t)
            assert res.p_miss_target[k, g] == frac
    assert np.isnan(res.p_miss_target[:, 2]).all()  # no system target
    assert 0 < res.p_miss_target[TOTAL, 0] < 1


def test_target_probability_closed_form():
    """One component, fixed repair r: annual SAIDI = r · Poisson(λ), so P(SAIDI > t) = P(N > t / r)."""
    lam, r, t = 0.8, 3.0, 4.0  # miss when N ≥ 2
    res = simulate(one_component(lam, r), years=100_000, seed=9, repair_dist="fixed", saidi_target_h=t)
    p = 1 - math.exp(-lam) * (1 + lam)
    assert_within_se(res.p_miss_target[FAULT, 0], math.sqrt(p * (1 - p) / res.years), p, 4, "p_miss")
    np.testing.assert_array_equal(res.saidi_target_h, [t, t])  # a scalar applies to zones and system


def test_memory_does_not_grow_with_years():
    imp = small_network()
    simulate(imp, years=1000, seed=1, threads=1)  # compile/load outside the measurement

    def peak(years):
        tracemalloc.start()
        simulate(imp, years=years, seed=1, threads=2)
        _, p = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return p

    # 100× more years: the same accumulators (up to one more chunk's in flight, depending on thread timing);
    # anything per year would add ≥ 2,000,000 × 8 bytes
    small, large = peak(20_000), peak(2_000_000)
    assert large < 2 * small, (small, large)
    tracemalloc.start()
    simulate(imp, years=200_000, seed=1, threads=2, keep_samples=True)
    peak_samples = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    with_samples = 200_000 * 3 * 3 * 3 * 8  # years × kinds × groups × metrics × float64
    assert peak_samples > with_samples


# ---------------------------------------------------------------------------- reproducibility, threads
def test_bit_identical_for_any_thread_count():
    imp = small_network()
    kw = dict(years=150_000, seed=123, chunk_years=4096, saidi_target_h=[2.0, 3.0], keep_samples=True,
              repair_dist="lognormal", repair_cv=0.7, switching_dist="exponential")
    runs = [simulate(imp, threads=t, **kw) for t in (1, 2, 3)]
    fields = ["annual_mean", "annual_stderr", "index_percentiles", "p_miss_target", "feeder_mean",
              "lp_failure_rate", "lp_unavailability_h", "comp_mean", "samples", "annual_max"]
    for other in runs[1:]:
        for name in fields:
            np.testing.assert_array_equal(getattr(other, name), getattr(runs[0], name), err_msg=name)
    assert runs[0].n_chunks == math.ceil(150_000 / 4096)
    different = simulate(imp, threads=2, **{**kw, "seed": 124})
    assert not np.array_equal(different.annual_mean, runs[0].annual_mean)


def test_xoshiro256starstar_reference_output():
    """The kernel's generator reproduces the reference xoshiro256** outputs for the state (1, 2, 3, 4)."""
    from gridscope.reliability.kernel import next_u64

    st = np.array([1, 2, 3, 4], np.uint64)
    out = [int(next_u64(st)) for _ in range(4)]
    assert out == [11520, 0, 1509978240, 1215971899390074240]


def test_seed_none_is_reported_and_reproduces():
    imp = small_network()
    a = simulate(imp, years=5000, threads=2)
    assert 0 <= a.seed < 2**63
    b = simulate(imp, years=5000, threads=1, seed=a.seed)
    np.testing.assert_array_equal(a.annual_mean, b.annual_mean)


# ------------------------------------------------------------------------------------ stop rule, UI
def test_target_cov_stops_when_reached():
    imp = small_network()
    res = simulate(imp, target_cov=0.02, cov_on="ENS", seed=3, chunk_years=512, threads=2)
    assert res.converged is True
    assert res.years % 512 == 0 and res.years >= 1000
    assert np.all(res.index_cov[TOTAL, :, 2] <= 0.02)
    # one chunk fewer would not have met it (the rule stops at the first chunk that does)
    prev = simulate(imp, years=res.years - 512, seed=3, chunk_years=512, threads=1)
    assert np.nanmax(prev.index_cov[TOTAL, :, 2]) > 0.02
    # the same stopping point with another thread count
    again = simulate(imp, target_cov=0.02, cov_on="ENS", seed=3, chunk_years=512, threads=3)
    assert again.years == res.years
    np.testing.assert_array_equal(again.annual_mean, res.annual_mean)


def test_target_cov_not_reached_within_max_years():
    imp = small_network()
    res = simulate(imp, target_cov=0.001, max_years=3000, seed=3, chunk_years=1024, threads=2)
    assert res.converged is False
    assert res.years == 3000
    assert np.nanmax(res.index_cov[TOTAL, :, SAIDI]) > 0.001
    assert simulate(imp, years=100, seed=1).converged is None


def test_progress_records_years_and_running_figures():
    records = []
    res = simulate(small_network(), years=10_000, seed=1, chunk_years=3000, threads=2, progress=records.append)
    years = [r for r in records if r.what == PROGRESS_WHAT]
    done = [r.done for r in years]
    # throttled to one record per 50 ms, but in year order, at chunk ends, and always the last one
    assert done == sorted(done) and set(done) <= {3000, 6000, 9000, 10_000} and done[-1] == 10_000
    assert all(r.total == 10_000 for r in years) and years[-1].fraction == 1.0
    assert res.n_chunks == 4
    # the running figures of the last record are the run's system means: SAIDI within 4 SE of the exact value
    last = years[-1].figures
    exact = expected_values(small_network()).index[TOTAL, -1]
    assert abs(last["SAIDI_h"] - exact[SAIDI]) <= 4 * last["SAIDI_stderr_h"]
    assert last["SAIDI_h"] == pytest.approx(res.index_mean[TOTAL, -1, SAIDI], rel=1e-12)
    assert last["SAIDI_stderr_h"] == pytest.approx(res.index_stderr[TOTAL, -1, SAIDI], rel=1e-12)
    assert last["SAIFI"] == pytest.approx(res.index_mean[TOTAL, -1, SAIFI], rel=1e-12)
    records.clear()
    simulate(small_network(), target_cov=0.02, seed=1, chunk_years=1000, threads=1, progress=records.append)
    years = [r for r in records if r.what == PROGRESS_WHAT]
    assert years[-1].figures["cov"] <= 0.02 < years[0].figures["cov"]
    assert years[0].total == DEFAULT_MAX_YEARS


def test_compile_is_announced_when_the_kernel_is_not_cached(monkeypatch):
    import gridscope.reliability.montecarlo as mc

    warm_up()
    assert kernel_is_compiled()
    records = []
    simulate(small_network(), years=100, seed=1, progress=records.append)
    assert COMPILE_WHAT not in {r.what for r in records}  # compiled: no message
    monkeypatch.setattr(mc, "kernel_is_compiled", lambda: False)
    records.clear()
    simulate(small_network(), years=100, seed=1, progress=records.append)
    assert [(r.what, r.done) for r in records[:2]] == [(COMPILE_WHAT, 0), (COMPILE_WHAT, 1)]
    assert records[-1].what == PROGRESS_WHAT and records[-1].done == 100


def test_any_executor_gives_the_same_result():
    """Chunks on a process pool (pickled in and out, as on dask.distributed) or an explicit thread pool:
    bit-identical to the default run, samples included."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    imp = small_network()
    kw = dict(years=20_000, seed=77, chunk_years=2048, keep_samples=True, repair_dist="gamma")
    ref = simulate(imp, threads=1, **kw)
    with ThreadPoolExecutor(3) as pool:
        threaded = simulate(imp, executor=pool, **kw)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        remote = simulate(imp, executor=pool, threads=2, **kw)
    for other in (threaded, remote):
        for name in ("annual_mean", "annual_stderr", "index_percentiles", "lp_unavailability_h", "comp_mean",
                     "samples"):
            np.testing.assert_array_equal(getattr(other, name), getattr(ref, name), err_msg=name)


def test_cancel_is_polled_while_a_chunk_runs():
    """A chunk that never finishes (an executor that never runs it) does not block cancellation."""
    from concurrent.futures import Executor, Future

    class Stalled(Executor):
        def submit(self, fn, /, *args, **kwargs):
            return Future()  # never resolved

    polls = []

    def cancel():
        polls.append(1)
        return len(polls) > 5

    with pytest.raises(CancelledError) as info:
        simulate(small_network(), years=10_000, seed=1, chunk_years=1000, executor=Stalled(), threads=2,
                 cancel=cancel)
    assert info.value.partial is None and len(polls) == 6


def test_cancel_between_chunks_returns_partial_result():
    polls = []

    def cancel():
        polls.append(1)
        return len(polls) > 4

    with pytest.raises(CancelledError) as info:
        simulate(small_network(), years=100_000, seed=1, chunk_years=1000, threads=2, cancel=cancel)
    partial = info.value.partial
    assert partial is not None and partial.cancelled
    assert 0 < partial.years < 100_000 and partial.years % 1000 == 0
    # the partial result is the same as a run of that many years
    ref = simulate(small_network(), years=partial.years, seed=1, chunk_years=1000, threads=1)
    np.testing.assert_array_equal(partial.annual_mean, ref.annual_mean)
    with pytest.raises(CancelledError) as info:
        simulate(small_network(), years=100_000, seed=1, cancel=lambda: True)
    assert info.value.partial is None


# ------------------------------------------------------------------------------------- validation
def test_invalid_arguments_are_all_reported():
    imp = small_network()
    with pytest.raises(InputError) as info:
        simulate(imp, years=-5, target_cov=1.5, cov_on="CAIDI", seed=-1, repair_dist="weibull",
                 switching_dist="fixed", switching_cv=0.3, threads=0, chunk_years=0, keep_samples="yes",
                 progress=3)
    msg = str(info.value)
    for fragment in ("either years= or target_cov=", "years must be", "target_cov must", "cov_on",
                     "seed must", "repair_dist", "switching_cv applies", "threads must", "chunk_years must",
                     "keep_samples", "progress must"):
        assert fragment in msg, fragment
    with pytest.raises(InputError, match="live_work_fraction"):
        simulate(imp, years=10, live_work_fraction=1.2)
    with pytest.raises(InputError, match="one per component"):
        simulate(imp, years=10, live_work_fraction=[0.1, 0.2])
    with pytest.raises(InputError, match="unknown zone 'Z'"):
        simulate(imp, years=10, saidi_target_h={"Z": 1.0})
    with pytest.raises(InputError, match="max_years applies"):
        simulate(imp, years=10, max_years=100)
    with pytest.raises(InputError, match="repair_cv must"):
        simulate(imp, years=10, repair_dist="gamma", repair_cv=-1.0)
    with pytest.raises(InputError, match="impact must be"):
        simulate("not an impact", years=10)
    bad = small_network()
    bad.comp_lambda[0] = np.nan
    with pytest.raises(InputError, match="comp_lambda"):
        simulate(bad, years=10)
    with pytest.raises(InputError, match="years must"):
        simulate(imp, years=True)


def test_empty_and_unaffected_groups():
    """A zone no component reaches: zero means, NaN CoV, target probability 0."""
    imp = make_impact([dict(lam=1.0, repair_h=2.0, ranges=[(0, 1, REPAIR, 0.0)])],
                      [(10, 1.0, 0, 0), (20, 1.0, 1, 0), (0, 0.0, 2, 0)], zones=("A", "B", "C"))
    res = simulate(imp, years=2000, seed=1, saidi_target_h=1.0)
    assert res.annual_mean[TOTAL, 1].max() == 0.0
    assert np.isnan(res.index_cov[TOTAL, 1]).all()
    assert res.p_miss_target[TOTAL, 1] == 0.0
    assert np.isnan(res.index_mean[TOTAL, 2, SAIFI]) and np.isnan(res.p_miss_target[TOTAL, 2])
    assert np.isnan(res.lp_duration_h[TOTAL, 1])
    conv = simulate(imp, target_cov=0.05, seed=1)
    assert conv.converged


def test_no_components_and_loads_without_feeder():
    quiet = simulate(make_impact([], [(10, 1.0, 0, 0)]), years=1000, seed=1)
    assert quiet.annual_mean.max() == 0.0 and quiet.index_percentiles.max() == 0.0
    assert quiet.lp_failure_rate.max() == 0.0
    no_feeder = make_impact([dict(lam=1.0, repair_h=2.0, ranges=[(0, 1, REPAIR, 0.0)])], [(10, 1.0, 0, -1)],
                            feeders=())
    res = simulate(no_feeder, years=20_000, seed=1, repair_dist="fixed")
    assert res.feeder_mean.shape == (3, 0, 3)
    assert_within_se(res.annual_mean[FAULT, 1], res.annual_stderr[FAULT, 1], [10.0, 20.0, 2.0], 4, "no feeder")


# ---------------------------------------------------------------------------------- random feeders
def random_radial_impact(seed: int, n_loads: int, n_feeders: int, n_zones: int) -> Impact:
    """Random radial feeders in depth-first order; components are the line into each node.

    A fault on the line into ``v`` is cleared by the nearest protective device at or above ``v``: the rest
    of that device's subtree is restored by switching (UPSTREAM), the subtree of one random child of ``v``
    by a tie (TIE) when ``v`` has one, and the remainder of ``v``'s subtree waits for the repair.
    """
    rng = np.random.default_rng(seed)
    sizes = np.diff(np.sort(np.concatenate([[0, n_loads], rng.integers(1, max(n_loads, 2), n_feeders - 1)])))
    sizes = sizes[sizes > 0]
    comps, loads, offset = [], [], 0
    for f, m in enumerate(sizes):
        parent = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, m)])
        children = [[] for _ in range(m)]
        for j in range(1, m):
            children[parent[j]].append(j)
        order, stack = [], [0]
        while stack:
            v = stack.pop()
            order.append(v)
            stack.extend(reversed(children[v]))
        pos = np.empty(m, int)
        pos[order] = np.arange(m)
        size = np.ones(m, int)
        for v in reversed(order):
            if parent[v] >= 0:
                size[parent[v]] += size[v]
        protective = rng.random(m) < 0.35
        protective[0] = True
        for v in range(m):
            p = v
            while not protective[p]:
                p = parent[p]
            lo_v, hi_v = offset + pos[v], offset + pos[v] + size[v]
            lo_p, hi_p = offset + pos[p], offset + pos[p] + size[p]
            sw = float(rng.choice([0.5, 1.0, 2.0]))
            ranges = [(lo_p, lo_v, UPSTREAM, sw), (hi_v, hi_p, UPSTREAM, sw)]
            if children[v] and rng.random() < 0.5:
                w = children[v][int(rng.integers(len(children[v])))]
                lo_w, hi_w = offset + pos[w], offset + pos[w] + size[w]
                ranges += [(lo_v, lo_w, REPAIR, 0.0), (lo_w, hi_w, TIE, sw), (hi_w, hi_v, REPAIR, 0.0)]
            else:
                ranges.append((lo_v, hi_v, REPAIR, 0.0))
            comps.append(dict(
                lam=float(rng.choice([0.0, rng.uniform(0.01, 0.6)], p=[0.1, 0.9])),
                repair_h=float(rng.uniform(0.5, 20.0)),
                planned_per_yr=float(rng.choice([0.0, rng.uniform(0.05, 0.5)])),
                planned_h=float(rng.uniform(1.0, 8.0)),
                ranges=[r for r in ranges if r[0] < r[1]],
            ))
        for _ in range(m):
            loads.append((float(rng.integers(0, 300)), float(rng.uniform(0.0, 2.0)),
                          int(rng.integers(n_zones)), f))
        offset += m
    return make_impact(comps, loads, zones=[f"Z{i}" for i in range(n_zones)],
                       feeders=[f"F{i}" for i in range(len(sizes))])


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n_loads=st.integers(1, 25), n_feeders=st.integers(1, 3),
       n_zones=st.integers(1, 3), dist=st.sampled_from(["fixed", "exponential", "gamma"]),
       live=st.sampled_from([0.0, 0.5]))
def test_property_random_radial_feeders_within_4_se(seed, n_loads, n_feeders, n_zones, dist, live):
    imp = random_radial_impact(seed, n_loads, n_feeders, n_zones)
    kw = dict(repair_dist=dist, live_work_fraction=live)
    res = simulate(imp, years=20_000, seed=seed, threads=2, **kw)
    exact = expected_values(imp, **kw)
    assert_within_se(res.annual_mean, res.annual_stderr, exact.annual, 4, "groups")
    assert_within_se(res.feeder_mean, res.feeder_stderr, exact.feeder, 4, "feeders")
    # interruptions of a load point per year are Poisson(λ_l): standard error sqrt(λ_l / years)
    lam = exact.lp_failure_rate
    assert_within_se(res.lp_failure_rate, np.sqrt(lam / res.years), lam, 4.5, "load points")
    if dist == "fixed":
        # the analytical method of the lead (DESIGN §3) sums the same expectations per load point
        from gridscope.reliability.analytical import analytical_indices

        a = analytical_indices(imp, live_work_fraction=live)
        np.testing.assert_allclose(exact.lp_failure_rate[FAULT], a.lam_fault, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(exact.lp_unavailability_h[FAULT], a.u_fault_h, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(exact.lp_unavailability_h[PLANNED], a.u_planned_h, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(exact.comp[FAULT, :, :-1, CH], a.comp_ch_fault, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------------------------- RBTS Bus 2
@pytest.fixture(scope="module")
def rbts2e_impact(load_builtin):
    from gridscope.reliability.impact import build_impact

    return build_impact(load_builtin("rbts2-e"))


def test_rbts2_case_e_against_published_values(rbts2e_impact):
    """Fixed repair and switching: the simulated means are estimates of the published analytical indices."""
    res = simulate(rbts2e_impact, years=200_000, seed=2024, repair_dist="fixed")
    saifi, saidi = res.index("SAIFI")[0][-1], res.index("SAIDI")[0][-1]
    se_saifi, se_saidi = res.index("SAIFI")[1][-1], res.index("SAIDI")[1][-1]
    ens, se_ens = res.index("ENS")[0][-1], res.index("ENS")[1][-1]
    assert abs(saifi - 0.2482109538784067) <= 3 * se_saifi
    assert abs(saidi - 0.7655746855345913) <= 3 * se_saidi
    assert abs(ens - 8.843829) <= 3 * se_ens
    # per load point, against the published λ (f/yr) of LP1, LP8, LP12
    lam = res.lp_failure_rate[FAULT]
    for i, published in ((0, 0.23925), (7, 0.13975), (11, 0.25550)):
        assert abs(lam[i] - published) <= 4 * math.sqrt(published / res.years)
    # per feeder SAIDI (published F1..F4, case E)
    f_saidi = res.feeder_mean[TOTAL, :, CH] / res.feeder_customers
    f_se = res.feeder_stderr[TOTAL, :, CH] / res.feeder_customers
    assert_within_se(f_saidi, f_se, [0.768367, 0.523250, 0.773758, 0.755111], 4, "feeder SAIDI")


def test_rbts2_exponential_repair_matches_its_own_expectation(rbts2e_impact):
    """Exponential repair shortens switched outages (E[min(1 h, R)] < 1 h): SAIDI ≈ 0.7527, not 0.7656."""
    res = simulate(rbts2e_impact, years=200_000, seed=99)
    exact = expected_values(rbts2e_impact)
    assert exact.index[TOTAL, -1, SAIDI] == pytest.approx(0.75269, abs=5e-5)
    assert_within_se(res.index_mean[TOTAL], res.index_stderr[TOTAL], exact.index[TOTAL], 4, "RBTS exp")


# ------------------------------------------------------------------------------------- labelled access
def test_results_read_by_label():
    """Labels pick the same numbers as the documented positions, and hold to the exact expectation."""
    imp = small_network()
    res = simulate(imp, years=40_000, seed=8, keep_samples=True)
    exact = expected_values(imp)
    for kind in ("fault", "planned", "total"):
        for g, group in enumerate(["A", "B", "system"]):
            k = KINDS.index(kind)
            mean, se = res.mean("SAIDI", kind=kind, group=group), res.stderr("SAIDI", kind=kind, group=group)
            assert mean == res.index_mean[k, g, SAIDI] and se == res.index_stderr[k, g, SAIDI]
            assert abs(mean - exact.index[k, g, SAIDI]) <= 4 * se + 1e-12
    da = res.array("index_mean")
    assert da.dims == ("kind", "group", "index") and list(da.group.values) == ["A", "B", "system"]
    assert float(da.sel(kind="fault", group="B", index="SAIFI")) == res.index_mean[FAULT, 1, SAIFI]
    # components add up to the annual totals, along named axes
    comp = res.array("comp_mean").sum("component")
    np.testing.assert_allclose(comp.values, res.array("annual_mean").values, rtol=1e-9)
    lp = res.array("lp_failure_rate").sel(kind="total")
    assert list(lp["load"].values) == [100, 101, 102, 103]
    ds = res.to_dataset()
    assert ds["samples"].sizes == {"year": 40_000, "kind": 3, "group": 3, "metric": 3}
    np.testing.assert_allclose(ds["samples"].mean("year").values, res.annual_mean, rtol=1e-9, atol=1e-12)
    with pytest.raises(InputError, match="unknown group 'Z'"):
        res.mean("SAIDI", group="Z")
    with pytest.raises(InputError, match="no labelled statistic"):
        res.array("nothing")


# ------------------------------------------------------------------ per-load-point interruption counts
def _binomial_se(p: np.ndarray, n: int) -> np.ndarray:
    return np.sqrt(np.maximum(p * (1.0 - p), 1e-12) / n)


def test_interruption_counts_are_poisson_per_load_point() -> None:
    """small_network: load point i is interrupted by fault and planned events of every component whose ranges
    cover it (upstream/tie ranges too), each a Poisson process, so its yearly count is Poisson with the summed
    rate. Hand rates (fault + planned that interrupt): LP0: c0 0.5 + 0.2, c1 0.3 (UPSTREAM, fault only) + 0
    (planned only interrupts REPAIR) = 1.0; LP1: c0 0.7, c1 0.3 + 0.1 = 1.1; LP2: c2 0.2; LP3: c2 0.2 (TIE)."""
    from scipy.stats import poisson

    imp = small_network()
    n, k = 200_000, 4
    res = simulate(imp, years=n, seed=21, threads=2, interruption_counts=k)
    lam = np.array([1.0, 1.1, 0.2, 0.2])
    np.testing.assert_allclose(expected_values(imp).lp_failure_rate[TOTAL], lam, rtol=1e-12)
    exact = np.column_stack([poisson.pmf(np.arange(k), lam[:, None]).reshape(4, k), poisson.sf(k - 1, lam)])
    p = res.lp_count_p
    assert p.shape == (4, k + 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert_within_se(p, _binomial_se(exact, n), exact, 5, "P(N_lp = c)")
    # the mean count from the histogram (bins < K exact) agrees with the simulated interruption rate
    np.testing.assert_allclose((p[:, :k] * np.arange(k)).sum(axis=1) + k * p[:, k],
                               res.lp_failure_rate[TOTAL], rtol=0.02)  # P(N ≥ 4) ≤ 0.5 %: truncation only
    # CEMI-n of a zone: Σ customers · P(N > n) / Σ customers; zone A = LP0 (100) and LP3 (5)
    sf = poisson.sf(np.arange(k)[None, :], lam[:, None])
    cemi_a = (100 * sf[0] + 5 * sf[3]) / 105
    assert_within_se(res.cemi.sel(group="A").values, _binomial_se(cemi_a, n), cemi_a, 5, "CEMI A")
    # identical with one thread, and off by default
    one = simulate(imp, years=n, seed=21, threads=1, interruption_counts=k)
    np.testing.assert_array_equal(one.lp_count_p, res.lp_count_p)
    plain = simulate(imp, years=n, seed=21, threads=2)
    assert plain.lp_count_p is None and plain.cemi_mean is None
    np.testing.assert_array_equal(plain.annual_mean, res.annual_mean)  # counting changes no other number


def test_cemi_on_rbts2_agrees_with_poisson_expectation(rbts2e_impact) -> None:
    """RBTS Bus 2: Monte-Carlo CEMI-n vs the analytical expectation of reliability/frequent.py (Poisson with the
    exact per-load-point rates); the standard error is bounded by Σ w·sqrt(p(1 − p)) / sqrt(years)
    (Cauchy–Schwarz: load points fully correlated is the worst case)."""
    from gridscope.reliability.frequent import cemi_by_zone, prob_more_than

    n = 100_000
    res = simulate(rbts2e_impact, years=n, seed=5, interruption_counts=4, repair_dist="fixed")
    lam = expected_values(rbts2e_impact, repair_dist="fixed").lp_failure_rate[TOTAL]
    cust = rbts2e_impact.load_customers
    w = cust / cust.sum()
    for m in range(3):
        exact = cemi_by_zone(lam, cust, rbts2e_impact.load_zone, rbts2e_impact.zones, m)["system"]
        p = prob_more_than(lam, m)
        se_bound = float((w * np.sqrt(p * (1 - p))).sum()) / math.sqrt(n)
        got = float(res.cemi.sel(group="system", n=m))
        assert abs(got - exact) <= 5 * se_bound, (m, got, exact, se_bound)


def test_interruption_counts_option_checked() -> None:
    with pytest.raises(InputError, match=r"interruption_counts must be an integer in 1\.\.100"):
        simulate(one_component(), years=10, seed=1, interruption_counts=0)
    with pytest.raises(InputError, match="interruption_counts"):
        simulate(one_component(), years=10, seed=1, interruption_counts=2.5)
