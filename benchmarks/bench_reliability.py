"""Benchmark of the Monte-Carlo reliability core (issue 3).

Prints, for RBTS Bus 2 (case E) and the ~37k-bus SimBench ``1-complete_data-mixed-all-0-sw`` (skipped with
``--quick``):

* precompute time: ``build_impact`` (failure-effect analysis) and the Monte-Carlo preparation (alias
  tables, zone parts, exact expectations);
* simulated years per second, one thread and all threads (wall time of the simulation only);
* peak traced memory of a run (tracemalloc: numpy arrays and Python objects) for N and 10·N years, to show it
  does not grow with the number of years, and the process's peak RSS;
* the speed ratio against a straightforward NumPy implementation of the same sampling (vectorised over
  years in batches), run in the same process on fewer years, with its means next to the kernel's;
* years/s of ``assess_reliability(..., method="monte-carlo")`` with prebuilt topology, impact and hash (as a
  Study calls it) against the full call that rebuilds them;
* on RBTS, the Monte-Carlo vs analytical relative difference of SAIFI, SAIDI and ENS after 1,000,000 years
  (target < 1 %), with fixed repair times (the published analytical model) and with exponential ones.

Run: ``python benchmarks/bench_reliability.py [--quick] [--years N] [--threads N]``. Figures taken while
other processes use the CPU are noisy: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
from typing import Any

import gridscope as gs
import numpy as np
from gridscope.reliability.impact import REPAIR, build_impact
from gridscope.reliability.montecarlo import expected_values, simulate, warm_up

SIMBENCH_BIG = "1-complete_data-mixed-all-0-sw"


# ------------------------------------------------------------------------------------ NumPy reference
def numpy_reference(impact: Any, *, years: int, seed: int, repair_dist: str = "exponential",
                    batch: int = 50_000) -> dict[str, np.ndarray]:
    """The same sampling as the kernel, written plainly with NumPy, vectorised over ``batch`` years.

    Per year: Poisson event counts (fault and planned), components by rate (binary search on the cumulative
    rates), one repair time per event (exponential or fixed), fixed switching, ``min(switch, repair)`` on
    switched ranges, planned outages on ``REPAIR`` ranges; accumulates per zone + system the annual CI, CH,
    ENS sums and sums of squares, per load point interruptions and hours, per component CI, CH, ENS. (It
    keeps no feeder sums, histograms or target counts, so it does less work than the kernel.)
    """
    rng = np.random.default_rng(seed)
    n_load, n_z, n_comp = impact.n_load, len(impact.zones), impact.n_comp
    n_g = n_z + 1
    ptr = impact.ptr.astype(np.int64)
    lo, hi = impact.iv_lo.astype(np.int64), impact.iv_hi.astype(np.int64)
    kind = impact.iv_kind.astype(np.int64)
    # customers and MW of every range per zone (and system), by prefix sums
    cust_rz = np.zeros((lo.size, n_g))
    mw_rz = np.zeros((lo.size, n_g))
    for z in range(n_z):
        for src, dst in ((impact.load_customers, cust_rz), (impact.load_p_avg_mw, mw_rz)):
            cum = np.concatenate([[0.0], np.cumsum(np.where(impact.load_zone == z, src, 0.0))])
            dst[:, z] = cum[hi] - cum[lo]
    cust_rz[:, n_z] = cust_rz[:, :n_z].sum(axis=1)
    mw_rz[:, n_z] = mw_rz[:, :n_z].sum(axis=1)
    s1 = np.zeros((2, n_g, 3))
    s2 = np.zeros((2, n_g, 3))
    lp_n = np.zeros((2, n_load + 1))
    lp_h = np.zeros((2, n_load + 1))
    comp_acc = np.zeros((2, n_comp, n_g, 3))
    rates = [impact.comp_lambda.astype(float), impact.comp_planned_per_yr.astype(float)]
    means = [impact.comp_repair_h.astype(float), impact.comp_planned_h.astype(float)]
    done = 0
    while done < years:
        b = min(batch, years - done)
        for k in range(2):
            lam_total = rates[k].sum()
            if lam_total <= 0:
                continue
            cum_rate = np.cumsum(rates[k]) / lam_total
            n_ev = rng.poisson(lam_total, b)
            year = np.repeat(np.arange(b), n_ev)
            comp = np.minimum(np.searchsorted(cum_rate, rng.random(year.size), side="right"), n_comp - 1)
            dur = means[k][comp]
            if k == 0 and repair_dist == "exponential":
                dur = dur * rng.standard_exponential(comp.size)
            # expand events into their ranges
            cnt = ptr[comp + 1] - ptr[comp]
            ev = np.repeat(np.arange(comp.size), cnt)
            first = np.repeat(np.cumsum(cnt) - cnt, cnt)
            r = np.arange(ev.size) - first + np.repeat(ptr[comp], cnt)
            d = np.where(kind[r] == REPAIR, dur[ev], np.minimum(impact.iv_switch_h[r], dur[ev]))
            if k == 1:
                keep = kind[r] == REPAIR
                r, ev, d = r[keep], ev[keep], d[keep]
            y = year[ev]
            c = comp[ev]
            for g in range(n_g):
                for m, w in enumerate((cust_rz[r, g], cust_rz[r, g] * d, mw_rz[r, g] * d)):
                    annual = np.bincount(y, weights=w, minlength=b)
                    s1[k, g, m] += annual.sum()
                    s2[k, g, m] += annual @ annual
                    comp_acc[k, :, g, m] += np.bincount(c, weights=w, minlength=n_comp)
            np.add.at(lp_n[k], lo[r], 1.0)
            np.add.at(lp_n[k], hi[r], -1.0)
            np.add.at(lp_h[k], lo[r], d)
            np.add.at(lp_h[k], hi[r], -d)
        done += b
    return {"mean": s1 / years, "s2": s2, "lp_rate": np.cumsum(lp_n, axis=1)[:, :n_load] / years,
            "comp": comp_acc / years}


# ------------------------------------------------------------------------------------------- helpers
def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def traced_peak(fn: Any) -> tuple[Any, float]:
    """Result of ``fn()`` and the peak traced memory (MiB) during it."""
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, peak / 2**20


def bench_network(label: str, net: Any, *, years: int, np_years: int, threads: int,
                  check_analytical: bool) -> None:
    print(f"\n=== {label} ({len(net.bus)} buses, {len(net.load)} loads)   [{load()}]")
    t = time.perf_counter()
    impact = build_impact(net)
    t_impact = time.perf_counter() - t
    print(f"precompute build_impact            {t_impact:9.3f} s   ({impact.n_comp} components, "
          f"{impact.n_ranges} ranges, {impact.n_load} load points, zones {impact.zones}, "
          f"{len(impact.feeders)} feeders)")
    # warm-up: JIT compile / cache load, outside every figure
    simulate(impact, years=64, seed=0, threads=1)
    t = time.perf_counter()
    small = simulate(impact, years=1, seed=0, threads=1)
    t_prep = time.perf_counter() - t - small.elapsed_s
    print(f"precompute Monte-Carlo preparation {t_prep:9.3f} s   (alias tables, zone parts, expectations)")
    print(f"  total precompute                 {t_impact + t_prep:9.3f} s")

    one = simulate(impact, years=years, seed=1, threads=1)
    print(f"years/s, 1 thread                  {one.years_per_s:12,.0f}   ({years:,} years in "
          f"{one.elapsed_s:.3f} s, chunks of {one.chunk_years})")
    allt = simulate(impact, years=years, seed=1, threads=threads)
    print(f"years/s, {threads} threads                 {allt.years_per_s:12,.0f}   (speed-up "
          f"{allt.years_per_s / one.years_per_s:.2f}; identical result: "
          f"{np.array_equal(allt.annual_mean, one.annual_mean)})   [{load()}]")

    (_, peak_n) = traced_peak(lambda: simulate(impact, years=years, seed=2, threads=threads))
    (_, peak_10n) = traced_peak(lambda: simulate(impact, years=10 * years, seed=2, threads=threads))
    print(f"peak traced memory                 {peak_n:9.1f} MiB for {years:,} years, {peak_10n:.1f} MiB for "
          f"{10 * years:,} years; process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    t = time.perf_counter()
    ref = numpy_reference(impact, years=np_years, seed=3)
    t_np = time.perf_counter() - t
    np_rate = np_years / t_np
    print(f"NumPy reference (same sampling)    {np_rate:12,.0f} years/s ({np_years:,} years) -> Numba "
          f"{one.years_per_s / np_rate:,.0f}× faster on 1 thread, {allt.years_per_s / np_rate:,.0f}× on "
          f"{threads}")
    sys_g = len(impact.zones)
    print(f"  system SAIDI   NumPy {ref['mean'][:, sys_g, 1].sum() / one.customers[-1]:.5f}   Numba "
          f"{one.index_mean[2, -1, 1]:.5f} ± {one.index_stderr[2, -1, 1]:.5f}")

    if check_analytical:
        mc_years = 1_000_000
        from gridscope.reliability.analytical import analytical_indices

        a = analytical_indices(impact)
        n = impact.load_customers
        exact = {
            "SAIFI": (a.lam_fault * n).sum() / n.sum(),
            "SAIDI": (a.u_fault_h * n).sum() / n.sum(),
            "ENS": (a.u_fault_h * impact.load_p_avg_mw).sum(),
        }
        print(f"MC vs analytical after {mc_years:,} years (system; target |diff| < 1 %):")
        for dist in ("fixed", "exponential"):
            res = simulate(impact, years=mc_years, seed=2024, threads=threads, repair_dist=dist)
            own = expected_values(impact, repair_dist=dist).index[2, -1]
            for i, name in enumerate(("SAIFI", "SAIDI", "ENS")):
                m, se = res.index_mean[2, -1, i], res.index_stderr[2, -1, i]
                print(f"  repair {dist:11s} {name:5s} MC {m:10.6f} ± {se:.6f}   analytical {exact[name]:10.6f}"
                      f"   diff {100 * (m / exact[name] - 1):+6.3f} %   (vs this model's exact expectation "
                      f"{own[i]:.6f}: {(m - own[i]) / se:+.2f} SE)")


def bench_api(label: str, net: Any, *, years: int) -> None:
    """Years/s through ``assess_reliability``: with prebuilt topology and impact (what a Study passes) vs the
    full call (validation, topology, impact and hash rebuilt), same seed, same process."""
    warm_up()  # kernel load and imports out of both timings
    topo = gs.build_topology(net)
    impact = build_impact(net, topology=topo)
    digest = gs.grid.io.network_hash(net)
    kw = dict(method="monte-carlo", years=years, seed=1)
    t0 = time.perf_counter()
    pre = gs.reliability.assess_reliability(net, topology=topo, impact=impact, network_hash=digest, **kw)
    t_pre = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = gs.reliability.assess_reliability(net, **kw)
    t_full = time.perf_counter() - t0
    same = float(pre["SAIDI"].sel(zone="system")) == float(full["SAIDI"].sel(zone="system"))
    print(f"{label}: assess_reliability {years:,} years: prebuilt {years / t_pre:,.0f} years/s ({t_pre:.2f} s), "
          f"full call {years / t_full:,.0f} years/s ({t_full:.2f} s), ratio {t_full / t_pre:.2f}x, "
          f"same SAIDI: {same}   [{load()}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="RBTS Bus 2 only (skip the SimBench grid)")
    parser.add_argument("--years", type=int, default=1_000_000, help="years for the RBTS speed figures")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, threads used: {args.threads}; {load()}")
    bench_network("RBTS Bus 2 case E", gs.load_network("rbts2-e"), years=args.years, np_years=200_000,
                  threads=args.threads, check_analytical=True)
    bench_api("RBTS Bus 2", gs.load_network("rbts2"), years=200_000)
    if not args.quick:
        net = gs.load_network(f"simbench:{SIMBENCH_BIG}")
        bench_network(f"SimBench {SIMBENCH_BIG}", net, years=20_000, np_years=500, threads=args.threads,
                      check_analytical=False)
        bench_api(f"SimBench {SIMBENCH_BIG}", net, years=20_000)


if __name__ == "__main__":
    main()
