# ruff: noqa: NPY002  (Numba's legacy np.random API: np.random.seed seeds the calling thread's own generator)
"""Numba kernels of the Monte-Carlo reliability method.

One call of :func:`simulate_chunk` simulates ``n_years`` consecutive years of one chunk: it seeds the calling
thread's Numba generator with the chunk seed, samples the year's fault and planned events and adds every
statistic to accumulator arrays owned by the chunk. The kernel holds no Python object and releases the GIL,
so chunks run in parallel on threads; :mod:`gridscope.reliability.montecarlo` prepares the arrays, runs the
chunks and combines them in chunk order.

Sampling of one year (per outage kind: fault ``k = 0``, planned ``k = 1``):

1. the number of events ``n ~ Poisson(Λ)``, ``Λ`` the summed rate of the components that can interrupt a
   load point;
2. for each event the component by its rate, one uniform draw through a Walker/Vose alias table (O(1));
3. one duration ``R`` per event (repair time for faults, work duration for planned outages) as
   ``mean × unit draw`` from the chosen family (fixed, exponential, lognormal, gamma; unit draws have
   mean 1), and for faults one switching multiplier ``M`` per event (mean 1; exactly 1 for fixed switching);
4. each position range of the component costs O(zones in the range): its customers and average demand are
   precomputed per zone, so ``CI += customers``, ``CH += customers · d`` and ``ENS += p_avg_mw · d`` with
   ``d = R`` for ``REPAIR`` ranges and ``d = min(switch_h · M, R)`` for ``UPSTREAM``/``TIE`` ranges;
   planned events interrupt the ``REPAIR`` ranges only, for ``d = R``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "EXPONENTIAL",
    "FIXED",
    "GAMMA",
    "HIST_BINS_PER_OCTAVE",
    "HIST_N_BINS",
    "HIST_OCTAVES_BELOW",
    "LOGNORMAL",
    "build_alias",
    "simulate_chunk",
]

#: Distribution family codes (unit-mean draws).
FIXED, EXPONENTIAL, LOGNORMAL, GAMMA = 0, 1, 2, 3

#: Histograms of annual values on a log scale: bin 0 holds exact zeros; bins ``b ≥ 1`` split each octave
#: ``ref · 2**(o - OCT_BELOW) · [1, 2)`` (``o = (b - 1) // BPO``, ``ref`` the expected annual value) into
#: ``BPO`` equal parts (``j = (b - 1) % BPO``), so a bin is at most ``1/BPO`` = 0.39 % wide relative to its
#: value and its midpoint within 0.2 %; values below/above the range fall in the end bins (their value is
#: then clipped to the largest year seen). The bin needs only ``math.frexp``, no logarithm.
HIST_BINS_PER_OCTAVE = 256
HIST_OCTAVES_BELOW = 30
HIST_OCTAVES_ABOVE = 20
HIST_N_BINS = 1 + (HIST_OCTAVES_BELOW + HIST_OCTAVES_ABOVE) * HIST_BINS_PER_OCTAVE

_REPAIR = 2  # duration class of ranges that wait for the repair (impact.REPAIR)


@njit(cache=True)
def build_alias(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    """Walker/Vose alias table of positive ``weights``: entry ``i`` keeps itself with ``prob[i]``.

    Drawing ``u ~ U[0, n)``, ``i = int(u)``, then ``i`` if ``u - i < prob[i]`` else ``alias[i]`` picks ``j``
    with probability ``weights[j] / sum(weights)``.
    """
    n = weights.size
    prob = np.ones(n)
    alias = np.arange(n)
    if n == 0:
        return prob, alias
    scaled = weights * (n / weights.sum())
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    ns = 0
    nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        lg = large[nl - 1]
        prob[s] = scaled[s]
        alias[s] = lg
        scaled[lg] = (scaled[lg] + scaled[s]) - 1.0
        if scaled[lg] < 1.0:
            nl -= 1
            small[ns] = lg
            ns += 1
    # what is left is 1 up to rounding
    for j in range(nl):
        prob[large[j]] = 1.0
    for j in range(ns):
        prob[small[j]] = 1.0
    return prob, alias


@njit(nogil=True, cache=True, inline="always")
def _unit_draw(dist: int, shape: float) -> float:  # pragma: no cover - numba
    """One draw with mean 1: fixed (1), exponential, lognormal (``shape`` = σ) or gamma (``shape`` = k)."""
    if dist == FIXED:
        return 1.0
    if dist == EXPONENTIAL:
        return np.random.standard_exponential()
    if dist == LOGNORMAL:
        return np.random.lognormal(-0.5 * shape * shape, shape)
    return np.random.gamma(shape, 1.0 / shape)


@njit(nogil=True, cache=True, inline="always")
def _hist_bin(v: float, inv_ref: float) -> int:  # pragma: no cover - numba
    if v <= 0.0:
        return 0
    mant, e = math.frexp(v * inv_ref)  # v / ref = mant · 2**e, mant in [0.5, 1)
    o = e - 1 + HIST_OCTAVES_BELOW
    if o < 0:
        return 1
    if o >= HIST_OCTAVES_BELOW + HIST_OCTAVES_ABOVE:
        return HIST_N_BINS - 1
    return 1 + o * HIST_BINS_PER_OCTAVE + int((2.0 * mant - 1.0) * HIST_BINS_PER_OCTAVE)


@njit(nogil=True, cache=True, inline="always")
def _poisson(lam: float, cdf: np.ndarray, n_cdf: int) -> int:  # pragma: no cover - numba
    """Poisson(``lam``) by inversion of its tabulated CDF, searching from the mode (≈ 0.8·sqrt(λ) steps).

    ``cdf[k] = P(N ≤ k)`` for ``k < n_cdf``; the table reaches past ``λ + 12 sqrt(λ) + 30``, so the
    last entry is returned for ``u`` beyond it (probability below 1e-30).
    """
    u = np.random.random()
    k = int(lam)
    if k >= n_cdf:
        k = n_cdf - 1
    if u < cdf[k]:
        while k > 0 and u < cdf[k - 1]:
            k -= 1
        return k
    while k < n_cdf - 1 and u >= cdf[k]:
        k += 1
    return k


@njit(nogil=True, cache=True)
def simulate_chunk(  # pragma: no cover - numba
    seed: int,
    n_years: int,
    ev_rate: np.ndarray,        # (2,) total rate of fault / planned events
    ev_cdf: np.ndarray,         # (2, n_cdf) Poisson CDF tables of the yearly event counts
    ev_cdf_n: np.ndarray,       # (2,) used entries
    ev_comp: np.ndarray,        # (2, n_alias) component of each alias slot (padded)
    ev_prob: np.ndarray,        # (2, n_alias)
    ev_alias: np.ndarray,       # (2, n_alias)
    ev_n: np.ndarray,           # (2,) used alias slots per kind
    ev_mean_h: np.ndarray,      # (2, n_comp) mean repair hours / mean planned hours
    dist: np.ndarray,           # (3,) codes: repair, switching, planned
    dist_shape: np.ndarray,     # (3,) σ (lognormal) or k (gamma)
    ptr: np.ndarray,            # (n_comp + 1,)
    r_lo: np.ndarray,
    r_hi: np.ndarray,
    r_kind: np.ndarray,
    r_switch_h: np.ndarray,
    r_feeder: np.ndarray,
    r_cust: np.ndarray,
    r_mw: np.ndarray,
    part_ptr: np.ndarray,       # (n_ranges + 1,) zone parts of each range
    part_zone: np.ndarray,
    part_cust: np.ndarray,
    part_mw: np.ndarray,
    g_cust: np.ndarray,         # (G,) customers per group (zones then system)
    g_target_h: np.ndarray,     # (G,) SAIDI target (inf: none)
    g_inv_ref: np.ndarray,      # (G, 3) 1 / reference annual CI, CH, ENS for the histograms
    acc_s1: np.ndarray,         # (3, G, 3) sum of annual values   [kind, group, metric]
    acc_s2: np.ndarray,         # (3, G, 3) sum of squares
    fd_s1: np.ndarray,          # (3, F, 3) per feeder
    fd_s2: np.ndarray,          # (3, F, 3)
    hist: np.ndarray,           # (G, 3, HIST_N_BINS) int64, total annual values
    v_max: np.ndarray,          # (G, 3) largest total annual value
    miss: np.ndarray,           # (3, G) int64 years whose SAIDI exceeds the target
    lp_n: np.ndarray,           # (2, n_load + 1) int64 difference array of interruptions
    lp_h: np.ndarray,           # (2, n_load + 1) difference array of hours
    comp_acc: np.ndarray,       # (2, n_comp, G, 3) per component CI, CH, ENS
    keep_samples: bool,
    samples: np.ndarray,        # (n_years, 3, G, 3) annual values when keep_samples
) -> None:
    """Simulate ``n_years`` years and add their statistics to the accumulators (see module docstring).

    The accumulators are added to, not overwritten. Metrics are ``CI`` (customer interruptions), ``CH``
    (customer hours) and ``ENS`` (MWh); kinds are fault, planned and total (accumulators with a leading 2
    keep fault and planned only).
    """
    np.random.seed(seed)
    n_groups = g_cust.size
    sys_g = n_groups - 1
    n_feeders = fd_s1.shape[1]
    has_planned = ev_rate[1] > 0.0
    n_kinds = 2 if has_planned else 1
    yv = np.zeros((2, n_groups, 3))
    fy = np.zeros((2, n_feeders, 3))
    touched = np.empty(n_feeders, np.int64)
    is_touched = np.zeros(n_feeders, np.bool_)
    # chunk-local sums (added to the accumulators at the end; without planned outages total = fault)
    s1 = np.zeros((3, n_groups, 3))
    s2 = np.zeros((3, n_groups, 3))
    f1 = np.zeros((3, n_feeders, 3))
    f2 = np.zeros((3, n_feeders, 3))
    n_miss = np.zeros((3, n_groups), np.int64)
    repair_dist = dist[0]
    switch_dist = dist[1]
    planned_dist = dist[2]
    for y in range(n_years):
        n_touched = 0
        for k in range(n_kinds):
            lam = ev_rate[k]
            if lam <= 0.0:
                continue
            n_ev = _poisson(lam, ev_cdf[k], ev_cdf_n[k])
            n_slots = ev_n[k]
            for _ in range(n_ev):
                u = np.random.random() * n_slots
                i = int(u)
                if i >= n_slots:  # u rounded up to n_slots
                    i = n_slots - 1
                if u - i < ev_prob[k, i]:
                    c = ev_comp[k, i]
                else:
                    c = ev_comp[k, ev_alias[k, i]]
                if k == 0:
                    dur = ev_mean_h[0, c] * _unit_draw(repair_dist, dist_shape[0])
                    mult = _unit_draw(switch_dist, dist_shape[1])
                else:
                    dur = ev_mean_h[1, c] * _unit_draw(planned_dist, dist_shape[2])
                    mult = 1.0
                for r in range(ptr[c], ptr[c + 1]):
                    if r_kind[r] == _REPAIR:
                        d = dur
                    elif k == 1:
                        continue  # planned work: loads fed another way are switched over beforehand
                    else:
                        d = r_switch_h[r] * mult
                        if dur < d:
                            d = dur
                    for p in range(part_ptr[r], part_ptr[r + 1]):
                        z = part_zone[p]
                        cu = part_cust[p]
                        ch = cu * d
                        en = part_mw[p] * d
                        yv[k, z, 0] += cu
                        yv[k, z, 1] += ch
                        yv[k, z, 2] += en
                        comp_acc[k, c, z, 0] += cu
                        comp_acc[k, c, z, 1] += ch
                        comp_acc[k, c, z, 2] += en
                    cu = r_cust[r]
                    ch = cu * d
                    en = r_mw[r] * d
                    yv[k, sys_g, 0] += cu
                    yv[k, sys_g, 1] += ch
                    yv[k, sys_g, 2] += en
                    comp_acc[k, c, sys_g, 0] += cu
                    comp_acc[k, c, sys_g, 1] += ch
                    comp_acc[k, c, sys_g, 2] += en
                    f = r_feeder[r]
                    if f >= 0:
                        if not is_touched[f]:
                            is_touched[f] = True
                            touched[n_touched] = f
                            n_touched += 1
                        fy[k, f, 0] += cu
                        fy[k, f, 1] += ch
                        fy[k, f, 2] += en
                    lo = r_lo[r]
                    hi = r_hi[r]
                    lp_n[k, lo] += 1
                    lp_n[k, hi] -= 1
                    lp_h[k, lo] += d
                    lp_h[k, hi] -= d
        # ---- year end: groups
        for g in range(n_groups):
            for m in range(3):
                a = yv[0, g, m]
                s1[0, g, m] += a
                s2[0, g, m] += a * a
                b = 0.0
                t = a
                if has_planned:
                    b = yv[1, g, m]
                    t = a + b
                    s1[1, g, m] += b
                    s2[1, g, m] += b * b
                    s1[2, g, m] += t
                    s2[2, g, m] += t * t
                if keep_samples:
                    samples[y, 0, g, m] = a
                    samples[y, 1, g, m] = b
                    samples[y, 2, g, m] = t
                hist[g, m, _hist_bin(t, g_inv_ref[g, m])] += 1
                if t > v_max[g, m]:
                    v_max[g, m] = t
            n_cust = g_cust[g]
            if n_cust > 0.0:
                target = g_target_h[g]
                if yv[0, g, 1] / n_cust > target:
                    n_miss[0, g] += 1
                if has_planned:
                    if yv[1, g, 1] / n_cust > target:
                        n_miss[1, g] += 1
                    if (yv[0, g, 1] + yv[1, g, 1]) / n_cust > target:
                        n_miss[2, g] += 1
            for m in range(3):
                yv[0, g, m] = 0.0
                yv[1, g, m] = 0.0
        # ---- year end: feeders hit this year (the others add zeros)
        for j in range(n_touched):
            f = touched[j]
            is_touched[f] = False
            for m in range(3):
                a = fy[0, f, m]
                f1[0, f, m] += a
                f2[0, f, m] += a * a
                if has_planned:
                    b = fy[1, f, m]
                    t = a + b
                    f1[1, f, m] += b
                    f2[1, f, m] += b * b
                    f1[2, f, m] += t
                    f2[2, f, m] += t * t
                    fy[1, f, m] = 0.0
                fy[0, f, m] = 0.0
    if not has_planned:
        s1[2] = s1[0]
        s2[2] = s2[0]
        f1[2] = f1[0]
        f2[2] = f2[0]
        n_miss[2] = n_miss[0]
    acc_s1 += s1
    acc_s2 += s2
    fd_s1 += f1
    fd_s2 += f2
    miss += n_miss
