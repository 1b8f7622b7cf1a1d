"""Numba kernels of the Monte-Carlo reliability method.

One call of :func:`simulate_chunk` simulates ``n_years`` consecutive years of one chunk: it starts the chunk's
own random generator from the chunk's state, samples the year's fault and planned events and adds every
statistic to accumulator arrays owned by the chunk. The kernel holds no Python object and releases the GIL,
so chunks run in parallel on threads; :mod:`gridscope.reliability.montecarlo` prepares the arrays, runs the
chunks and combines them in chunk order.

Random numbers: xoshiro256** (Blackman & Vigna 2018; 256-bit state, period 2**256 − 1, passes BigCrush), its
state a local array of the call, seeded with ``SeedSequence(seed).spawn(...)[chunk].generate_state(4,
uint64)``. A chunk therefore draws the same numbers on whatever thread runs it. It replaces Numba's legacy
random module (MT19937 behind a thread-local state lookup), whose draws cost 12 ns (uniform) and 21 ns
(exponential) here against 1 ns and 5 ns, about 40 % of the kernel's time on RBTS Bus 2. Uniforms have 53
random bits; exponential draws are ``−log(1 − u)``, normal ones Marsaglia's polar method, gamma ones
Marsaglia–Tsang (with ``U**(1/k)`` boosting for shape ``k < 1``), Poisson counts invert a tabulated CDF.

Sampling of one year (per outage kind: fault ``k = 0``, planned ``k = 1``):

1. the number of events ``n ~ Poisson(Λ)``, ``Λ`` the summed rate of the components that can interrupt a
   load point;
2. for each event the component by its rate, one uniform draw through a Walker/Vose alias table (O(1));
   the events are handled in blocks of ``EVENT_BLOCK`` in three passes (draws, alias rows, effects) with
   software prefetch of the rows the next pass reads, so on a large network the cache misses of a block
   overlap (200k buses: 209 → 80 ns per event on one core; same draws in the same order, bit-identical);
3. one duration ``R`` per event (repair time for faults, work duration for planned outages) as
   ``mean × unit draw`` from the chosen family (fixed, exponential, lognormal, gamma; unit draws have
   mean 1), and for faults one switching multiplier ``M`` per event (mean 1; exactly 1 for fixed switching);
4. each position range of the component costs O(zones in the range): its customers and average demand are
   precomputed per zone, so ``CI += customers``, ``CH += customers · d`` and ``ENS += p_avg_mw · d`` with
   ``d = R`` for ``REPAIR`` ranges and ``d = min(switch_h · M, R)`` for ``UPSTREAM``/``TIE`` ranges;
   planned events interrupt the ``REPAIR`` ranges only, for ``d = R``.
5. each interrupted range adds one interruption and ``d`` hours to its own row of ``r_acc``; the per-component
   and per-load-point sums are linear in these (customers and MW of a range are fixed), so
   :mod:`gridscope.reliability.montecarlo` derives them once per run. The kernel therefore writes no array
   of the network's size per event but this row (on a 200k-bus grid the per-component and load-point arrays
   were 55 MB, out of cache, touched at three places per event), and nothing of that size per year.
6. year end: the annual sums go to the chunk's sums, sums of squares and ``Σ CI · CH`` (for the CAIDI
   standard error), histogram, target counts; per feeder only for the feeders hit that year.
7. with ``count_max = K > 0`` (``simulate(..., interruption_counts=K)``): the year's interrupted ranges
   ``[lo, hi)`` are swept in sorted order; each stretch of load positions interrupted ``c`` times adds one year
   to bin ``min(c, K)`` of those positions through a difference array over positions (O(R log R) for the
   year's R interrupted ranges, independent of how many load points they cover).
8. with thresholds ``celid_h = (t_1, ..., t_m)`` (``simulate(..., celid_h=...)``): per threshold, the year's
   interrupted ranges whose duration ``d`` (as in 4: fault or planned) exceeds ``t_i`` (strictly) are merged
   in order of their first position (one sort per year for all thresholds) and each maximal stretch of
   positions covered at least once adds one year to column ``i`` of a second difference array: the years in
   which a load point had at least one interruption longer than ``t_i`` (CELID-t). O(R log R + m · R) per
   year; nothing of the network's size.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .codes import Distribution, DurationClass

__all__ = [
    "EXPONENTIAL",
    "FIXED",
    "GAMMA",
    "HIST_BINS_PER_OCTAVE",
    "HIST_N_BINS",
    "HIST_OCTAVES_BELOW",
    "LOGNORMAL",
    "REPAIR_CLASS",
    "build_alias",
    "kernel_is_compiled",
    "next_u64",
    "simulate_chunk",
]

#: Distribution family codes (unit-mean draws) as plain ints, which Numba freezes into the compiled code.
FIXED, EXPONENTIAL, LOGNORMAL, GAMMA = (int(d) for d in (Distribution.FIXED, Distribution.EXPONENTIAL,
                                                         Distribution.LOGNORMAL, Distribution.GAMMA))

#: Histograms of annual values on a log scale: bin 0 holds exact zeros; bins ``b ≥ 1`` split each octave
#: ``ref · 2**(o - OCT_BELOW) · [1, 2)`` (``o = (b - 1) // BPO``, ``ref`` the expected annual value) into
#: ``BPO`` equal parts (``j = (b - 1) % BPO``), so a bin is at most ``1/BPO`` = 0.39 % wide relative to its
#: value and its midpoint within 0.2 %; values below/above the range fall in the end bins (their value is
#: then clipped to the largest year seen). The bin comes from the bits of the float, no logarithm.
HIST_BINS_PER_OCTAVE = 256
HIST_OCTAVES_BELOW = 30
HIST_OCTAVES_ABOVE = 20
HIST_N_BINS = 1 + (HIST_OCTAVES_BELOW + HIST_OCTAVES_ABOVE) * HIST_BINS_PER_OCTAVE
_FRACTION_SHIFT = 52 - 8  # keep the top 8 = log2(HIST_BINS_PER_OCTAVE) bits of the fraction

#: Duration class of ranges that wait for the repair, as a plain int for the kernel.
REPAIR_CLASS = int(DurationClass.REPAIR)

#: Sort keys of the year's interrupted ranges for CELID: first position · 2**32 + index in the year.
_KEY_SHIFT = 1 << 32

#: Events handled per block of the three passes of a year (draws, alias rows, effects): the rows a block
#: prefetches (64-byte alias slot, range row and the 32-byte per-range sums of each event, ≈ 80 kB) stay in
#: the core's L2 cache until the pass that uses them.
EVENT_BLOCK = 512


def _prefetch_intrinsic(write: int) -> object:
    """A Numba intrinsic ``f(arr, i)``: software prefetch of the cache line holding ``arr[i, 0, ...]``
    (``write`` = 1: with intent to write).

    LLVM's ``llvm.prefetch``: no load is waited for and nothing depends on it, so the misses of a whole block
    of events are in flight together instead of one or two at a time (each range row is reached through the
    alias row, and branches on the row's values serialise the loads otherwise)."""

    def prefetch(typingctx, arr, i):  # type: ignore[no-untyped-def]  # pragma: no cover - numba
        if not isinstance(arr, types.Array) or not isinstance(i, types.Integer):
            return None
        sig = types.void(arr, i)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            idx = context.cast(builder, args[1], signature.args[1], types.intp)
            zero = context.get_constant(types.intp, 0)
            ptr = cgutils.get_item_pointer2(context, builder, data=ary.data,
                                            shape=cgutils.unpack_tuple(builder, ary.shape),
                                            strides=cgutils.unpack_tuple(builder, ary.strides),
                                            layout=aryty.layout, inds=[idx] + [zero] * (aryty.ndim - 1),
                                            wraparound=False, boundscheck=False)
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
            # rw, locality 3 (keep in every cache level), data cache
            builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, write), ir.Constant(i32, 3),
                              ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return sig, codegen

    prefetch.__name__ = prefetch.__qualname__ = "_prefetch_write" if write else "_prefetch_read"
    return intrinsic(prefetch)


_prefetch_read = _prefetch_intrinsic(0)
_prefetch_write = _prefetch_intrinsic(1)


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


_U5, _U7, _U9, _U11, _U17, _U19, _U45, _U57 = (np.uint64(v) for v in (5, 7, 9, 11, 17, 19, 45, 57))
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(nogil=True, cache=True, inline="always")
def next_u64(st: np.ndarray) -> np.uint64:  # pragma: no cover - numba
    """xoshiro256**: the next 64 random bits; advances the state ``st`` (4 × uint64) in place."""
    s0 = st[0]
    s1 = st[1]
    s2 = st[2]
    s3 = st[3]
    x = s1 * _U5
    result = ((x << _U7) | (x >> _U57)) * _U9
    t = s1 << _U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _U45) | (s3 >> _U19)
    st[0] = s0
    st[1] = s1
    st[2] = s2
    st[3] = s3
    return result


@njit(nogil=True, cache=True, inline="always")
def _uniform(st: np.ndarray) -> float:  # pragma: no cover - numba
    """Uniform on [0, 1) with 53 random bits."""
    return (next_u64(st) >> _U11) * _TO_UNIT


@njit(nogil=True, cache=True, inline="always")
def _std_exponential(st: np.ndarray) -> float:  # pragma: no cover - numba
    return -np.log(1.0 - _uniform(st))


@njit(nogil=True, cache=True)
def _std_normal(st: np.ndarray) -> float:  # pragma: no cover - numba
    """Standard normal by Marsaglia's polar method (the second value of the pair is not kept)."""
    while True:
        a = 2.0 * _uniform(st) - 1.0
        b = 2.0 * _uniform(st) - 1.0
        q = a * a + b * b
        if 0.0 < q < 1.0:
            return a * np.sqrt(-2.0 * np.log(q) / q)


@njit(nogil=True, cache=True)
def _std_gamma(st: np.ndarray, k: float) -> float:  # pragma: no cover - numba
    """Gamma(shape ``k``, scale 1), Marsaglia & Tsang (2000); ``k < 1`` as ``Gamma(k + 1) · U**(1/k)``."""
    boost = 1.0
    if k < 1.0:
        boost = (1.0 - _uniform(st)) ** (1.0 / k)
        k += 1.0
    d = k - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = _std_normal(st)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = _uniform(st)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return d * v * boost
        if np.log(u) < 0.5 * x * x + d * (1.0 - v + np.log(v)):
            return d * v * boost


@njit(nogil=True, cache=True, inline="always")
def _unit_draw(st: np.ndarray, dist: int, shape: float) -> float:  # pragma: no cover - numba
    """One draw with mean 1: fixed (1), exponential, lognormal (``shape`` = σ) or gamma (``shape`` = k)."""
    if dist == FIXED:
        return 1.0
    if dist == EXPONENTIAL:
        return _std_exponential(st)
    if dist == LOGNORMAL:
        return np.exp(shape * _std_normal(st) - 0.5 * shape * shape)
    return _std_gamma(st, shape) / shape


@njit(nogil=True, cache=True, inline="always")
def _hist_bin(v: float, inv_ref: float, fbuf: np.ndarray, ibuf: np.ndarray) -> int:  # pragma: no cover
    """Histogram bin of ``v`` from the IEEE-754 bits of ``v / ref`` (``ibuf`` is an int64 view of ``fbuf``).

    ``v / ref = (1 + f) · 2**(e - 1023)``: the octave is the exponent ``e``, the step within it the top
    ``log2(BPO)`` = 8 bits of the fraction ``f`` (same bins as ``math.frexp`` would give, 4× faster).
    """
    if v <= 0.0:
        return 0
    fbuf[0] = v * inv_ref
    bits = ibuf[0]
    o = (bits >> 52) - 1023 + HIST_OCTAVES_BELOW
    if o < 0:
        return 1
    if o >= HIST_OCTAVES_BELOW + HIST_OCTAVES_ABOVE:
        return HIST_N_BINS - 1
    return 1 + o * HIST_BINS_PER_OCTAVE + ((bits >> _FRACTION_SHIFT) & (HIST_BINS_PER_OCTAVE - 1))


@njit(nogil=True, cache=True, inline="always")
def _poisson(st: np.ndarray, lam: float, cdf: np.ndarray, n_cdf: int) -> int:  # pragma: no cover - numba
    """Poisson(``lam``) by inversion of its tabulated CDF, searching from the mode (≈ 0.8·sqrt(λ) steps).

    ``cdf[k] = P(N ≤ k)`` for ``k < n_cdf``; the table reaches past ``λ + 12 sqrt(λ) + 30``, so the
    last entry is returned for ``u`` beyond it (probability below 1e-30).
    """
    u = _uniform(st)
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
def _sort_prefix(a: np.ndarray, n: int) -> None:  # pragma: no cover - numba
    """Sort ``a[:n]`` in place: insertion sort for the few end points of a small network's year (no
    allocation), NumPy's sort of the view beyond 32."""
    if n > 32:
        a[:n].sort()
        return
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@njit(nogil=True, cache=True)
def simulate_chunk(  # pragma: no cover - numba
    state: np.ndarray,          # (4,) uint64 xoshiro256** state of the chunk (copied, not modified)
    n_years: int,
    ev_rate: np.ndarray,        # (2,) total rate of fault / planned events
    ev_cdf: np.ndarray,         # (2, n_cdf) Poisson CDF tables of the yearly event counts
    ev_cdf_n: np.ndarray,       # (2,) used entries
    ev_n: np.ndarray,           # (2,) used alias slots per kind
    ev_rec: np.ndarray,         # (2, n_slots, 8) alias slot: probability, then for the slot's component and
                                #   its alias's: first range, end range, mean hours of the kind (EV_* columns)
    dist: np.ndarray,           # (3,) codes: repair, switching, planned
    dist_shape: np.ndarray,     # (3,) σ (lognormal) or k (gamma)
    rg: np.ndarray,             # (n_ranges, 8) duration class, feeder, first part, end part, switching hours,
                                #   customers, MW, 0 (one 64-byte row per range); a range in one zone
                                #   carries its part instead: -1 - zone, the part's MW, ..., the part's customers
    part: np.ndarray,           # (n_parts, 4) zone, customers, MW, 0 of each zone part of a range
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
    r_acc: np.ndarray,          # (n_ranges, 2, 2) per range [range, kind, (interruptions, hours)]
    acc_s12: np.ndarray,        # (3, G) sum over years of annual CI · CH  [kind, group]
    keep_samples: bool,
    samples: np.ndarray,        # (n_years, 3, G, 3) annual values when keep_samples
    abort: np.ndarray,          # (1,) int64 set by another thread: stop at the next year (sums then unusable)
    count_max: int,             # > 0: per-load-point histograms of the yearly interruption count (0 = off)
    r_lohi: np.ndarray,         # (n_ranges, 2) first and end load position of each range (with count_max)
    lpc: np.ndarray,            # (n_load + 1, count_max + 1) int64 difference array over positions of
                                #   "years with c interruptions" (c = count_max: that many or more)
    celid_h: np.ndarray,        # (m,) CELID thresholds in hours (m = 0: off)
    lpl: np.ndarray,            # (n_load + 1, m) int64 difference array over positions of "years with an
                                #   interruption longer than celid_h[i]"
) -> None:
    """Simulate ``n_years`` years and add their statistics to the accumulators (see module docstring).

    The accumulators are added to, not overwritten. Component indices are not needed here: an alias slot
    carries its components' range span and mean durations, and per-component sums follow from ``r_acc``.
    Metrics are ``CI`` (customer interruptions), ``CH`` (customer hours) and ``ENS`` (MWh); kinds are fault,
    planned and total (accumulators with a leading 2 keep fault and planned only). The inputs are packed in
    64-byte rows (one per alias slot, per range; 32 bytes per zone part) because on large networks every
    event lands on cold memory.
    """
    st = state.copy()
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
    s12 = np.zeros((3, n_groups))
    fbuf = np.empty(1)
    ibuf = fbuf.view(np.int64)
    n_buf = max(ev_cdf_n[0], ev_cdf_n[1])  # the Poisson draw never exceeds its table
    b_r0 = np.empty(n_buf, np.int64)
    b_r1 = np.empty(n_buf, np.int64)
    b_dur = np.empty(n_buf)
    b_mult = np.empty(n_buf)
    b_frac = np.empty(n_buf)
    # yearly interruption counts: the interrupted ranges' end points of the year (at most n_buf events per
    # kind, each with at most max_span ranges)
    n_ep_max = 0
    n_celid = celid_h.size
    track = count_max > 0 or n_celid > 0  # keep the year's interrupted ranges (end points, durations)
    if track:
        max_span = 1
        for k in range(2):
            for i in range(ev_n[k]):
                for j in (1, 4):
                    span = int(ev_rec[k, i, j + 1]) - int(ev_rec[k, i, j])
                    if span > max_span:
                        max_span = span
        n_ep_max = 2 * n_buf * max_span
    ep_lo = np.empty(n_ep_max, np.int64)
    ep_hi = np.empty(n_ep_max, np.int64)
    ep_d = np.empty(n_ep_max if n_celid > 0 else 0)
    cl_lo = np.empty(n_ep_max if n_celid > 0 else 0, np.int64)
    repair_dist = dist[0]
    switch_dist = dist[1]
    planned_dist = dist[2]
    for y in range(n_years):
        if abort[0] != 0:
            break
        n_touched = 0
        n_ep = 0
        for k in range(n_kinds):
            lam = ev_rate[k]
            if lam <= 0.0:
                continue
            n_ev = _poisson(st, lam, ev_cdf[k], ev_cdf_n[k])
            n_slots = ev_n[k]
            rec = ev_rec[k]
            # three passes over each block of the year's events: (a) the random draws, in the order of one event
            # after the other (slot, then durations), prefetching each event's alias slot row; (b) the slot rows:
            # range span and mean hours, prefetching the range row and the per-range sums; (c) the effects.
            # On large networks every row is a cache miss; prefetched a block ahead, the misses overlap.
            for e0 in range(0, n_ev, EVENT_BLOCK):
                e1 = min(e0 + EVENT_BLOCK, n_ev)
                for e in range(e0, e1):
                    u = _uniform(st) * n_slots
                    i = int(u)
                    if i >= n_slots:  # u rounded up to n_slots
                        i = n_slots - 1
                    b_r0[e] = i
                    b_frac[e] = u - i
                    _prefetch_read(rec, i)
                    if k == 0:
                        b_dur[e] = _unit_draw(st, repair_dist, dist_shape[0])
                        b_mult[e] = _unit_draw(st, switch_dist, dist_shape[1])
                    else:
                        b_dur[e] = _unit_draw(st, planned_dist, dist_shape[2])
                        b_mult[e] = 1.0
                for e in range(e0, e1):
                    i = b_r0[e]
                    j = 1 if b_frac[e] < rec[i, 0] else 4  # the slot's own component or its alias
                    r0 = int(rec[i, j])
                    b_r0[e] = r0
                    b_r1[e] = int(rec[i, j + 1])
                    b_dur[e] = rec[i, j + 2] * b_dur[e]  # mean hours × unit draw
                    _prefetch_read(rg, r0)
                    _prefetch_write(r_acc, r0)
                for e in range(e0, e1):
                    dur = b_dur[e]
                    mult = b_mult[e]
                    for r in range(b_r0[e], b_r1[e]):
                        if int(rg[r, 0]) == REPAIR_CLASS:
                            d = dur
                        elif k == 1:
                            continue  # planned work: loads fed another way are switched over beforehand
                        else:
                            d = rg[r, 4] * mult
                            if dur < d:
                                d = dur
                        p0 = rg[r, 2]
                        if p0 < 0.0:  # the range lies in one zone: its only part is in the row (no part row load)
                            z = int(-1.0 - p0)
                            cu = rg[r, 7]
                            yv[k, z, 0] += cu
                            yv[k, z, 1] += cu * d
                            yv[k, z, 2] += rg[r, 3] * d
                        else:
                            for p in range(int(p0), int(rg[r, 3])):
                                z = int(part[p, 0])
                                cu = part[p, 1]
                                yv[k, z, 0] += cu
                                yv[k, z, 1] += cu * d
                                yv[k, z, 2] += part[p, 2] * d
                        cu = rg[r, 5]
                        ch = cu * d
                        en = rg[r, 6] * d
                        yv[k, sys_g, 0] += cu
                        yv[k, sys_g, 1] += ch
                        yv[k, sys_g, 2] += en
                        # per range only: the component and load-point sums follow from these (see montecarlo)
                        r_acc[r, k, 0] += 1.0
                        r_acc[r, k, 1] += d
                        if track:
                            ep_lo[n_ep] = r_lohi[r, 0]
                            ep_hi[n_ep] = r_lohi[r, 1]
                            if n_celid > 0:
                                ep_d[n_ep] = d
                            n_ep += 1
                        f = int(rg[r, 1])
                        if f >= 0:
                            if not is_touched[f]:
                                is_touched[f] = True
                                touched[n_touched] = f
                                n_touched += 1
                            fy[k, f, 0] += cu
                            fy[k, f, 1] += ch
                            fy[k, f, 2] += en
        # ---- year end: per-load-point "an interruption longer than t" (CELID-t), before the count sweep below
        # sorts the end points apart: one sort of the year's ranges by first position (key = lo · 2**32 + e),
        # then per threshold a linear scan of the ranges with d > t in that order, merging overlapping ones;
        # each maximal stretch of positions covered at least once adds 1 to the threshold's column of the
        # difference array (one sort for all thresholds, none of the end positions)
        if n_celid > 0 and n_ep > 0:
            for e in range(n_ep):
                cl_lo[e] = ep_lo[e] * _KEY_SHIFT + e
            _sort_prefix(cl_lo, n_ep)
            for ti in range(n_celid):
                t_h = celid_h[ti]
                start = -1
                end = -1
                for q in range(n_ep):
                    e = cl_lo[q] % _KEY_SHIFT
                    if ep_d[e] > t_h:
                        lo = ep_lo[e]
                        hi = ep_hi[e]
                        if start >= 0 and lo <= end:
                            if hi > end:
                                end = hi
                        else:
                            if end > start >= 0:
                                lpl[start, ti] += 1
                                lpl[end, ti] -= 1
                            start = lo
                            end = hi
                if end > start >= 0:
                    lpl[start, ti] += 1
                    lpl[end, ti] -= 1
            if count_max > 0:  # the first positions are sorted already: keep them for the count sweep
                for q in range(n_ep):
                    ep_lo[q] = cl_lo[q] // _KEY_SHIFT
        # ---- year end: per-load-point interruption counts (fault + planned) by a sweep over the sorted end
        # points: each stretch of positions with the same count c > 0 adds 1 to bin c of every position in it
        # through the difference array (O(R log R) for R interrupted ranges, not O(positions))
        if count_max > 0 and n_ep > 0:
            if n_celid == 0:
                _sort_prefix(ep_lo, n_ep)
            _sort_prefix(ep_hi, n_ep)
            los = ep_lo
            his = ep_hi
            i = 0
            j = 0
            cur = 0
            prev = 0
            while j < n_ep:
                if i < n_ep and los[i] <= his[j]:
                    pos = los[i]
                    delta = 1
                    i += 1
                else:
                    pos = his[j]
                    delta = -1
                    j += 1
                if pos > prev and cur > 0:
                    c = cur if cur < count_max else count_max
                    lpc[prev, c] += 1
                    lpc[pos, c] -= 1
                cur += delta
                prev = pos
        # ---- year end: groups
        for g in range(n_groups):
            a_ci = yv[0, g, 0]
            a_ch = yv[0, g, 1]
            s12[0, g] += a_ci * a_ch
            if has_planned:
                b_ci = yv[1, g, 0]
                b_ch = yv[1, g, 1]
                s12[1, g] += b_ci * b_ch
                s12[2, g] += (a_ci + b_ci) * (a_ch + b_ch)
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
                hist[g, m, _hist_bin(t, g_inv_ref[g, m], fbuf, ibuf)] += 1
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
        s12[2] = s12[0]
    acc_s1 += s1
    acc_s12 += s12
    acc_s2 += s2
    fd_s1 += f1
    fd_s2 += f2
    miss += n_miss


def kernel_is_compiled() -> bool:
    """True when :func:`simulate_chunk` and :func:`build_alias` are compiled in this process or have a fresh
    entry in Numba's on-disk cache (so the next call loads in well under a second instead of compiling)."""
    return all(fn.signatures or _has_disk_cache(fn) for fn in (simulate_chunk, build_alias))


def _has_disk_cache(fn: object) -> bool:
    """Whether Numba's cache index of ``fn`` lists compiled signatures for the current source file."""
    try:
        # Numba's cache internals (0.5x–0.6x): the index is empty when missing or stale (source changed)
        index = fn._cache._cache_file._load_index()  # type: ignore[attr-defined]
    except Exception:  # any other Numba layout: assume a compilation is coming
        return False
    return bool(index)
