"""Monte-Carlo scaling with network size, events per year and threads (issue 13 item 6).

For RBTS Bus 2, SimBench ``1-MV-urban--0-sw`` and the synthetic radial grid of ``gen_radial.generate``
(default 40 stations x 20 feeders = 200,080 buses; ``--stations N`` for a smaller one) it prints:

* the size (buses, components, load points, zone groups) and the expected fault + planned events per year;
* years/s of one chunk-sized kernel call on one thread, **before** (the kernel of ``--before REV``, default
  the commit before the per-range accumulators, with the per-chunk component and load-point arrays it needs),
  **pre-prefetch** (the kernel of ``--baseline REV``, default the commit before the blocked three-pass event
  loop with software prefetch; same arguments as today) and **after** (the current ``_run_chunk``) in the
  same process, interleaved three times; CPU time of the calling thread (``time.thread_time``, less
  sensitive to other processes than wall time) and wall time; the ratios and the nanoseconds per event;
* years/s of ``simulate`` on 1 and 2 threads: wall time and the process CPU time of all threads
  (``time.process_time``), so the 2-thread gain can be told apart from a lack of free cores (a load average
  near or above the core count); the result is bit-identical, checked;
* the cost of the per-load-point interruption-count histograms (``interruption_counts=10``, for CEMI-n) and of
  the CELID indicators (``celid_h=(4,)`` as the CLI's ``--celid 4``, and ``(1, 4, 10)``) on one thread.

Run: ``python benchmarks/bench_mc_scaling.py [--stations 40] [--before REV] [--no-before] [--baseline REV]``.
The machine's load average is printed: with other processes on the cores, wall-time figures (and the
2-thread gain) are noisy; the CPU-time figures much less so.
This is a benchmark script: it reaches into ``montecarlo``'s private preparation to time the bare kernel.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gridscope as gs
import numpy as np
from gridscope.reliability import montecarlo as mc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_radial import generate

ROOT = Path(__file__).resolve().parents[1]
COUNTS = 10  # interruption_counts of the CEMI-n cost figure
BEFORE = "75c2053"  # main before the Monte-Carlo scaling work (per-event component/load-point sums)
BASELINE = "ba3e924"  # the kernel before the blocked three-pass event loop with software prefetch


def old_kernel(rev: str) -> Any:
    """The ``simulate_chunk`` of git revision ``rev`` (imported from a temporary copy), or None."""
    if not rev:
        return None
    try:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:reliability/kernel.py"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    src = src.replace("from .codes import", "from gridscope.reliability.codes import")
    name = f"mc_kernel_{rev}"
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod.simulate_chunk


def model_of(impact: Any) -> Any:
    opts = mc._Options("exponential", 0.0, "fixed", 0.0, "fixed", 0.0, np.zeros(impact.n_comp))
    return mc._prepare(impact, opts, np.full(len(impact.zones) + 1, np.nan))


def run_before(kern: Any, m: Any, n_years: int) -> None:
    """One chunk as the old ``_run_chunk`` ran it: fresh accumulators incl. the per-chunk component and
    load-point arrays and the per-year buffer for the CI·CH sums."""
    acc = mc._Acc.zeros(m)
    lp = np.zeros((m.n_load + 1, 2, 2))
    comp = np.zeros((2, m.n_comp, m.n_groups, 3))
    buf = np.empty((n_years, 3, m.n_groups, 3))
    kern(np.ones(4, np.uint64), np.int64(n_years), m.ev_rate, m.ev_cdf, m.ev_cdf_n, m.ev_n, m.ev_prob, m.ev_pick,
         m.comp_rng, m.comp_h, m.dist, m.dist_shape, m.r_int, m.r_flt, m.part_zone, m.part_flt, m.g_cust,
         m.g_target_h, m.g_inv_ref, acc.s1, acc.s2, acc.fd_s1, acc.fd_s2, acc.hist, acc.v_max, acc.miss, lp, comp,
         True, buf)
    np.einsum("ykg,ykg->kg", buf[:, :, :, 0], buf[:, :, :, 1])


def run_after(m: Any, n_years: int) -> None:
    mc._run_chunk(m, np.ones(4, np.uint64), n_years, False)


def run_baseline(kern: Any, m: Any, n_years: int) -> None:
    """One chunk through ``kern``, a kernel with today's arguments (``_run_chunk`` with another kernel)."""
    acc = mc._Acc.zeros(m)
    kern(np.ones(4, np.uint64), np.int64(n_years), m.ev_rate, m.ev_cdf, m.ev_cdf_n, m.ev_n, m.ev_rec, m.dist,
         m.dist_shape, m.rg, m.part, m.g_cust, m.g_target_h, m.g_inv_ref, acc.s1, acc.s2, acc.fd_s1, acc.fd_s2,
         acc.hist, acc.v_max, acc.miss, acc.r_acc, acc.s12, False, np.empty((0, 3, m.n_groups, 3)),
         np.zeros(1, np.int64), np.int64(m.count_max), m.r_lohi, acc.lpc, m.celid_h, acc.lpl)


def timed(fn: Any, *args: Any) -> tuple[float, float]:
    c0, w0 = time.thread_time(), time.perf_counter()
    fn(*args)
    return time.thread_time() - c0, time.perf_counter() - w0


def bench(label: str, net: Any, kern: Any, base: Any) -> None:
    t0 = time.perf_counter()
    impact = gs.Study(net).impact()
    m = model_of(impact)
    events = float(m.ev_rate.sum())
    chunk = mc._default_chunk_years(m.work_per_year, 10**9)
    print(f"\n{label}: {len(net.bus):,} buses, {impact.n_comp:,} components, {impact.n_load:,} load points, "
          f"{m.n_groups} groups; {events:,.1f} events/yr; chunk {chunk} years; impact {time.perf_counter() - t0:.1f} s")
    n = max(64, min(chunk, int(2e5 / max(events, 1.0))))  # ≈ 200k events per timed call
    run_after(m, 1)
    if kern is not None:
        run_before(kern, m, 1)
    if base is not None:
        run_baseline(base, m, 1)
    best: dict[str, tuple[float, float]] = {}
    for _ in range(3):
        for name, fn, args in (("before", run_before, (kern, m, n)), ("pre-pf", run_baseline, (base, m, n)),
                               ("after", run_after, (m, n))):
            if (name == "before" and kern is None) or (name == "pre-pf" and base is None):
                continue
            cpu, wall = timed(fn, *args)
            b = best.get(name, (np.inf, np.inf))
            best[name] = (min(b[0], cpu), min(b[1], wall))
    for name, (cpu, wall) in best.items():
        print(f"  kernel {name:<6} 1 thread: {n / cpu:12,.0f} years/s CPU  {n / wall:12,.0f} years/s wall  "
              f"{n * events / cpu / 1e6:6.2f} M events/CPU-s = {cpu / (n * events) * 1e9:6.1f} ns/event "
              f"({n} years, best of 3)")
    for old in ("before", "pre-pf"):
        if old in best:
            print(f"  after / {old}: {best[old][0] / best['after'][0]:.2f}x CPU, "
                  f"{best[old][1] / best['after'][1]:.2f}x wall")
    years = int(min(max(8 * chunk, 2e6 / max(events, 1.0)), 2_000_000))
    res = {}
    chunk_cpu: list[float] = []
    plain_chunk = mc._run_chunk

    def counted_chunk(*a: Any, **k: Any) -> Any:  # the CPU time of each chunk on the thread that runs it
        c = time.thread_time()
        out = plain_chunk(*a, **k)
        chunk_cpu.append(time.thread_time() - c)
        return out

    for th in (1, 2):
        load0 = os.getloadavg()[0]
        chunk_cpu.clear()
        c0 = time.process_time()
        mc._run_chunk = counted_chunk
        try:
            r = mc.simulate(impact, years=years, seed=1, threads=th)
        finally:
            mc._run_chunk = plain_chunk
        cpu = time.process_time() - c0
        res[th] = r
        k_cpu = sum(chunk_cpu)
        print(f"  simulate {years:,} years, {th} thread(s): {r.years_per_s:12,.0f} years/s wall "
              f"({r.elapsed_s:.2f} s, {r.n_chunks} chunks); chunks' CPU {k_cpu:.2f} s = {years / k_cpu:,.0f} years "
              f"per CPU-s of a worker, {k_cpu / r.elapsed_s:.2f} cores busy in chunks; process CPU incl. preparation "
              f"and results {cpu:.2f} s; load average {load0:.1f}")
    same = np.array_equal(res[1].annual_mean, res[2].annual_mean) and np.array_equal(res[1].comp_mean,
                                                                                       res[2].comp_mean)
    print(f"  2 threads / 1 thread: {res[2].years_per_s / res[1].years_per_s:.2f}x wall; bit-identical: {same}")
    # per-load-point interruption-count histograms (CEMI-n, issue 10 item 3): cost on one thread
    plain = counted = 0.0
    for _ in range(2):
        plain = max(plain, mc.simulate(impact, years=years, seed=1, threads=1).years_per_s)
        counted = max(counted, mc.simulate(impact, years=years, seed=1, threads=1,
                                           interruption_counts=COUNTS).years_per_s)
    print(f"  interruption_counts={COUNTS}: {counted:12,.0f} years/s vs {plain:,.0f} without, 1 thread: "
          f"{plain / counted:.2f}x the time (target ≤ 2x)")
    # CELID-t indicators (issue 10 item 3): per-kernel-call CPU time, interleaved with the plain kernel
    cel: dict[tuple[float, ...], float] = {}
    plain_cpu = np.inf
    for _ in range(3):
        plain_cpu = min(plain_cpu, timed(run_after, m, n)[0])
        for thresholds in ((4.0,), (1.0, 4.0, 10.0)):
            m.celid_h = np.array(thresholds)
            cel[thresholds] = min(cel.get(thresholds, np.inf), timed(run_after, m, n)[0])
            m.celid_h = np.zeros(0)
    for thresholds, cpu in cel.items():
        print(f"  celid_h={thresholds}: {n / cpu:12,.0f} years/s CPU vs {n / plain_cpu:,.0f} without, 1 thread: "
              f"{cpu / plain_cpu:.2f}x the time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=40, help="stations of the generated grid (20 feeders each)")
    ap.add_argument("--before", default=BEFORE, help="git revision of the 'before' kernel")
    ap.add_argument("--no-before", action="store_true")
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the 'pre-pf' kernel ('' to skip)")
    ap.add_argument("--skip-simbench", action="store_true")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    mc.warm_up()
    kern = None if args.no_before else old_kernel(args.before)
    base = old_kernel(args.baseline)
    bench("RBTS Bus 2", gs.load_network("rbts2"), kern, base)
    if not args.skip_simbench:
        bench("SimBench 1-MV-urban--0-sw", gs.load_network("simbench:1-MV-urban--0-sw"), kern, base)
        bench("SimBench 1-complete_data-mixed-all-0-sw", gs.load_network("simbench:1-complete_data-mixed-all-0-sw"),
              kern, base)
    t0 = time.perf_counter()
    net = generate(args.stations, 20)
    print(f"\n(generated grid built in {time.perf_counter() - t0:.1f} s)")
    bench(f"generated radial {args.stations} x 20 feeders", net, kern, base)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
