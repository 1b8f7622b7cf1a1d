"""Time a year of quarter-hourly SimBench profiles through the batch engine, against pandapower ``runpp``.

    python benchmarks/bench_timeseries.py [--code 1-MV-urban--0-sw] [--sample 40] [--threads 0]
                                          [--chunk 2048] [--skip-flags]

Measured, in one process after a warm-up (so numba/JIT compilation of pandapower is not counted):

* **profiles**: reading the SimBench profiles (``simbench.get_absolute_values``) into gridscope's form;
* **batch year**: :func:`gridscope.capacity.powerflow.run_timeseries` over every step of the year with the
  power-grid-model engine (conversion, batch power flows, running peaks, hours above);
* **runpp baseline**: one pandapower ``runpp`` per step on ``--sample`` steps spread over the year, the mean
  per step multiplied by the number of steps of the year -- the time a plain runpp loop would take;
* **flags**: snapshot power flow and :func:`~gridscope.capacity.flags.flag_loading` on ``mv_oberrhein`` and
  the SimBench grid (topology included), and the flags of the year's peaks.

The target of issue 4: the year in at most 2 minutes on the 2-core machine. Figures taken while other jobs use
the CPU are noisy; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings


def _t(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", default="1-MV-urban--0-sw", help="SimBench code of an MV grid with profiles")
    ap.add_argument("--sample", type=int, default=40, help="runpp steps measured for the baseline")
    ap.add_argument("--threads", type=int, default=0, help="power-grid-model threads (0: all cores)")
    ap.add_argument("--chunk", type=int, default=2048, help="steps per batch")
    ap.add_argument("--skip-flags", action="store_true", help="do not time the flags")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    import gridscope as gs
    import numpy as np
    import pandapower as pp
    from gridscope.capacity.flags import flag_loading
    from gridscope.capacity.powerflow import run_snapshot, run_timeseries
    from gridscope.capacity.timeseries import Injections, PandapowerEngine, coerce_profiles

    print(f"gridscope {gs.__version__}, pandapower {pp.__version__}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    net, t_load = _t(gs.load_network, f"simbench:{args.code}")
    print(f"network simbench:{args.code}: {len(net.bus)} buses, {len(net.line)} lines, {len(net.trafo)} trafos, "
          f"{len(net.load)} loads, {len(net.sgen)} sgens (loaded in {t_load:.1f} s)")

    # warm-up: pandapower's first runpp compiles with numba, power-grid-model loads its core
    run_snapshot(net)
    prof, t_prof = _t(coerce_profiles, net, "simbench")
    run_timeseries(net, prof, time_steps=[0, 1])
    n = prof.n_steps
    rss0_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"profiles: {n} steps of {prof.step_h:g} h ({prof.time[0]} .. {prof.time[-1]}) read in {t_prof:.2f} s; "
          f"peak RSS so far {rss0_mb:.0f} MB")

    peak, t_year = _t(run_timeseries, net, prof, threads=args.threads, chunk_size=args.chunk)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"batch year (power-grid-model, threads={args.threads}, chunk {args.chunk}): {t_year:.2f} s for {n} "
          f"steps = {n / t_year:,.0f} steps/s; peak RSS {rss_mb:.0f} MB "
          f"(+{rss_mb - rss0_mb:.0f} MB)")
    s = peak.summary()
    print(f"  max line loading {s['max_line_loading_percent']:.2f} %, max trafo loading "
          f"{s['max_trafo_loading_percent']:.2f} %, voltage {s['vm_min_pu']:.4f}..{s['vm_max_pu']:.4f} pu")

    rows = np.linspace(0, n - 1, max(args.sample, 1)).astype(np.int64)
    engine = PandapowerEngine(net)
    inj = Injections(net, prof, rows, scaling=1.0, include_sgen=True)
    _, t_pp = _t(engine.run, inj)
    per_step = t_pp / len(rows)
    t_pp_year = per_step * n
    print(f"runpp baseline: {per_step * 1e3:.1f} ms/step over {len(rows)} sampled steps -> {t_pp_year:,.0f} s "
          f"({t_pp_year / 60:.1f} min) for the year, extrapolated")
    print(f"ratio runpp / batch: {t_pp_year / t_year:,.0f}x")
    print(f"target <= 120 s: {'met' if t_year <= 120 else 'MISSED'}")

    if not args.skip_flags:
        for name in ("mv_oberrhein", f"simbench:{args.code}"):
            grid = gs.load_network(name)
            run_snapshot(grid)  # warm
            pk, t_pf = _t(run_snapshot, grid)
            flags, t_fl = _t(flag_loading, grid, pk)
            print(f"flags {name}: snapshot power flow {t_pf * 1e3:.0f} ms + flags (with topology) "
                  f"{t_fl * 1e3:.0f} ms = {(t_pf + t_fl) * 1e3:.0f} ms; {len(flags)} flag(s)")
        flags, t_fl = _t(flag_loading, net, peak)
        print(f"flags of the year's peaks, simbench:{args.code}: {t_fl * 1e3:.0f} ms; {len(flags)} flag(s)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
