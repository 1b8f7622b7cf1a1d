"""Open-capacity benchmark figures.

0. Snapshot power flow in a fresh process (so pandapower's numba JIT compile is visible): gridscope's
   ``run_snapshot`` (pandapower ``runpp`` without numba, the default; and ``engine="pgm"``) against a plain
   ``pandapower.runpp``, on rbts2 and mv_oberrhein read from JSON (no power flow while loading); printed as the
   ratio baseline / new.
1. Flags + all five open-capacity tables (``gs.assess_capacity``, including its power flow) on mv_oberrhein and
   on SimBench ``1-MV-urban--0-sw``.
2. Exact bus open capacity (planning and physical limits) for every bus of mv_oberrhein and of the 5.5k-bus
   SimBench ``1-MVLV-rural-all-0-sw`` (``--sample N``: N random buses instead), with the pandapower-``runpp``
   baseline (the same search, one ``runpp`` per case, warm-started) measured on a sample of buses and
   extrapolated. The numba kernel of the radial sweeps is compiled (or loaded from numba's cache) by a
   warm-up call on two buses that is timed separately; the environment is printed first (editable install
   or not, where numba caches the kernels, thread settings, machine load). CPU seconds are the whole
   process's (every numba thread), so they can be compared on a shared machine where wall time cannot.

Run::

    python benchmarks/bench_open_capacity.py            # everything (several minutes)
    python benchmarks/bench_open_capacity.py --quick    # without the 5k-bus grid
    python benchmarks/bench_open_capacity.py --bus-only # only part 2
    python benchmarks/bench_open_capacity.py --bus-only --threads 1   # the kernels on one thread

Times are wall-clock seconds on whatever else the machine is doing; network loading is not timed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gridscope as gs
import numpy as np
import pandapower as pp
from gridscope.capacity.bus_capacity import ACModel, bus_open_capacity


def _timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


_SNAPSHOT_CHILD = """
import sys, time
import pandapower as pp
from gridscope.capacity.powerflow import run_snapshot
net = pp.from_json(sys.argv[1])
mode = sys.argv[2]
t = time.perf_counter()
if mode == "runpp":
    work = pp.from_json(sys.argv[1])
    work.sgen["in_service"] = False
    pp.runpp(work)
else:
    run_snapshot(net, engine=mode)
print(time.perf_counter() - t)
"""


def _child_seconds(path: Path, mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", _SNAPSHOT_CHILD, str(path), mode], check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def bench_snapshot(name: str, repeat: int = 2) -> None:
    """First snapshot power flow of a fresh process: plain ``pandapower.runpp`` vs gridscope's two engines."""
    net = gs.load_network(name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.json"
        pp.to_json(net, str(path))
        best = {mode: min(_child_seconds(path, mode) for _ in range(repeat))
                for mode in ("runpp", "pandapower", "pgm")}
    print(f"snapshot power flow {name:26s} {len(net.bus):6d} buses  first call in a fresh process: "
          f"pandapower.runpp {best['runpp']:.2f} s, gridscope (runpp numba=False) {best['pandapower']:.2f} s "
          f"-> ratio {best['runpp'] / best['pandapower']:.1f}x; gridscope engine='pgm' {best['pgm']:.2f} s "
          f"-> ratio {best['runpp'] / best['pgm']:.1f}x")


def bench_tables(name: str, repeat: int = 3) -> None:
    net = gs.load_network(name)
    gs.assess_capacity(net)  # warm-up (imports)
    times = []
    for _ in range(repeat):
        cap, dt = _timed(gs.assess_capacity, net)
        times.append(dt)
    rows = ", ".join(f"{k} {len(v)}" for k, v in cap.tables.items())
    print(f"flags + 5 tables  {name:28s} {len(net.bus):6d} buses  best {min(times):6.3f} s "
          f"(median {np.median(times):.3f} s; {len(cap.flags)} flags; {rows})")


def environment() -> None:
    """What the figures depend on: install kind, numba cache, threads, BLAS, machine load."""
    import importlib.metadata as md
    import json
    import os

    import numba

    editable = "unknown"
    try:
        dist = md.distribution("gridscope")
        direct = dist.read_text("direct_url.json")
        editable = bool(json.loads(direct).get("dir_info", {}).get("editable")) if direct else False
    except md.PackageNotFoundError:
        editable = "not installed (source tree)"
    from gridscope.capacity.bus_capacity import margin_kernel, sweep_kernel

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    caches = []
    for kernel in (sweep_kernel(), margin_kernel()):  # where numba keeps the compiled kernels (not compiled yet)
        cache = getattr(kernel, "_cache", None)
        impl = getattr(cache, "_impl", None)
        caches.append(f"{getattr(cache, '_cache_path', '?')} ({type(getattr(impl, 'locator', None)).__name__})")
    print(f"# environment: gridscope {gs.__version__} at {Path(gs.__file__).parent} (editable install: {editable}); "
          f"python {sys.version.split()[0]}, numpy {np.__version__}, pandapower {pp.__version__}; "
          f"numba {numba.__version__} threads {numba.config.NUMBA_NUM_THREADS} (layer {numba.config.THREADING_LAYER}), "
          f"kernel cache {sorted(set(caches))}; "
          + ", ".join(f"{k}={os.environ.get(k, '-')}" for k in ("NUMBA_CACHE_DIR", "NUMBA_NUM_THREADS",
                                                                "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                                "OPENBLAS_CORETYPE"))
          + f"; {os.cpu_count()} CPUs, load average {load[0]}")


def bench_bus(name: str, n_buses: int | None, n_baseline: int, seed: int = 0) -> None:
    net = gs.load_network(name)
    model, t_model = _timed(ACModel, net)
    ok = net.bus.index[(model.bus_ppci >= 0) & net.bus["in_service"].to_numpy(bool)].to_numpy()
    rng = np.random.default_rng(seed)
    buses = ok if n_buses is None or n_buses >= ok.size else np.sort(rng.choice(ok, n_buses, replace=False))
    cpu0 = time.process_time()
    _, t_warm = _timed(bus_open_capacity, net, buses[:2], model=model)  # numba compile or cache load
    cpu_warm = time.process_time() - cpu0
    sweeps0 = model.n_sweeps
    cpu0 = time.process_time()  # CPU of the whole process: every numba thread counts
    res, t_fast = _timed(bus_open_capacity, net, buses, model=model)
    cpu = time.process_time() - cpu0
    n_pf = res.attrs["n_power_flows"]
    sample = rng.choice(buses, size=min(n_baseline, buses.size), replace=False)
    cpu0 = time.process_time()
    base, t_base = _timed(bus_open_capacity, net, sample, method="pandapower")
    cpu_base = time.process_time() - cpu0
    per_bus = t_base / sample.size
    extrapolated = per_bus * buses.size
    agree = np.allclose(base["physical_capacity_mw"], res.loc[sample, "physical_capacity_mw"], rtol=0.011,
                        atol=1e-5)
    solver = "radial sweeps" if getattr(model, "_tree", None) is not None else model.method
    print(f"bus open capacity {name:28s} {buses.size:5d} buses  {t_fast:7.2f} s wall, {cpu:.2f} s CPU "
          f"(+{t_model:.2f} s model, {t_warm:.2f} s wall / {cpu_warm:.2f} s CPU warm-up/compile; {n_pf} AC power "
          f"flows by {solver}, {model.n_sweeps - sweeps0} sweeps, {t_fast / max(n_pf, 1) * 1e3:.2f} ms wall / "
          f"{cpu / max(n_pf, 1) * 1e3:.2f} ms CPU each; chunk {res.attrs['chunk']})")
    print(f"    runpp baseline: {sample.size} buses in {t_base:.1f} s wall, {cpu_base:.1f} s CPU "
          f"({base.attrs['n_power_flows']} runpp) -> {extrapolated:.0f} s extrapolated for {buses.size} buses; "
          f"ratio {extrapolated / t_fast:.0f}x (CPU {cpu_base / sample.size * buses.size / max(cpu, 1e-9):.0f}x); "
          f"sample agrees within 1.1 %: {agree}")
    pos = (res["open_capacity_mw"] > 0).sum()
    print(f"    planning capacity > 0 at {pos}/{buses.size} buses; binding: "
          + ", ".join(f"{k} {v}" for k, v in res["binding"].str.split(" ").str[0].value_counts().items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 5k-bus SimBench grid")
    parser.add_argument("--baseline", type=int, default=5, help="buses in the runpp baseline sample")
    parser.add_argument("--sample", type=int, default=None, help="random buses of the 5k-bus grid (default: all)")
    parser.add_argument("--bus-only", action="store_true", help="only the exact bus capacity (part 2)")
    parser.add_argument("--threads", type=int, default=None, help="numba threads of the kernels (default: all)")
    args = parser.parse_args()
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
    print("# gridscope open-capacity benchmark (wall-clock; the machine may be shared, figures are noisy)")
    environment()
    if not args.bus_only:
        bench_snapshot("rbts2")
        bench_snapshot("mv_oberrhein")
        bench_tables("mv_oberrhein")
        bench_tables("simbench:1-MV-urban--0-sw")
        bench_bus("mv_oberrhein", None, args.baseline)
    if not args.quick:
        bench_bus("simbench:1-MVLV-rural-all-0-sw", args.sample, max(2, args.baseline // 2))


if __name__ == "__main__":
    main()
