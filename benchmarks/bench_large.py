"""Large networks end to end: wall time and peak memory of every stage (issue 13 item 6).

Grids: the synthetic radial 10 kV network of :mod:`gen_radial` (``gen:<buses>``: ~5,000 buses per station,
20 feeders per station, each with 10 trunk sections behind disconnectors, 20 fused laterals of 12 buses, a
load at every lateral bus and a normally-open tie to the neighbouring feeder; 200k buses = 40 stations ×
20 feeders) and the 37,587-bus SimBench ``1-complete_data-mixed-all-0-sw`` (``simbench``).

Stages (each measured in a fresh Python process; the stages it depends on run first, untimed, and
so do the one-time imports (pandapower, xarray, dask, openpyxl: 5-30 s on a busy machine) and the
Monte-Carlo kernel's JIT compile):

=============  =======================================================================================
generate       ``gen_radial.generate`` (generated grids only; the network is then saved once as JSON)
load           ``gs.load_network`` (JSON for generated grids, the signed cache for SimBench) + ``gs.Study``
topology       ``Study.topology`` (:func:`gridscope.build_topology`)
validate       ``Study.problems`` (:func:`gridscope.validate` with the topology)
impact         ``Study.impact()`` (failure-effect analysis)
analytical     ``Study.reliability(method="analytical")`` (indices and the result dataset)
mc1, mc2       ``Study.reliability(method="monte-carlo", years=Y, seed=1, threads=1 or 2)`` after the
               kernel's JIT warm-up; years/s printed
loading        ``Study.loading()`` (the planning power flow)
capacity       ``Study.capacity(exact_bus=False)`` (flags + five open-capacity tables)
exact_bus      AC model + :func:`~gridscope.capacity.bus_capacity.bus_open_capacity` on ``--exact-buses``
               random buses (a bounded subset: the full set is ``exact_bus=True``)
xlsx           ``CapacityResult.to_excel`` (open_capacity.xlsx)
=============  =======================================================================================

Memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (peak RSS of the process, prerequisites included) after
the stage, and the stage's own rise: peak after minus the current RSS before it (``/proc/self/statm``).
tracemalloc is not used (too slow at this size).

Run::

    python benchmarks/bench_large.py                          # gen:200000 and simbench, every stage
    python benchmarks/bench_large.py --size 20000 --size 50000 --size 200000 --stages topology,impact
    python benchmarks/bench_large.py --quick                  # gen:20000 and gen:50000, fewer MC years

Figures are wall-clock on whatever else the machine runs: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIMBENCH_CODE = "1-complete_data-mixed-all-0-sw"
BUSES_PER_STATION = 2 + 20 * 10 * (1 + 2 * 12)  # gen_radial.generate(n, 20) defaults: 5,002 buses per station
STAGES = ("generate", "load", "topology", "validate", "impact", "analytical", "mc1", "mc2", "loading",
          "capacity", "exact_bus", "xlsx")
#: What each stage needs built first (untimed) in its process.
NEEDS = {
    "generate": (), "load": (), "topology": ("load",), "validate": ("load", "topology"),
    "impact": ("load", "topology", "validate"), "analytical": ("load", "topology", "validate", "impact"),
    "mc1": ("load", "topology", "validate", "impact", "warmup"),
    "mc2": ("load", "topology", "validate", "impact", "warmup"),
    "loading": ("load", "topology"), "capacity": ("load", "topology", "loading"),
    "exact_bus": ("load", "topology"), "xlsx": ("load", "topology", "loading", "capacity"),
}
NEEDS = {k: ("imports", *v) for k, v in NEEDS.items()}
GIB = 2.0**30


def stations_for(n_bus: int) -> int:
    """Stations of a generated grid of about ``n_bus`` buses (20 feeders each)."""
    return max(1, round(n_bus / BUSES_PER_STATION))


def _rss_now() -> float:
    """Current resident set size in bytes."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_s() -> float:
    """CPU seconds (user + system, all threads) of this process so far: less noisy than wall time on a shared
    machine."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rss_peak() -> float:
    """Peak resident set size of this process in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


# ---------------------------------------------------------------------------------------------- child side
class _Run:
    """The objects one child process builds, stage by stage."""

    def __init__(self, grid: str, workdir: Path, opts: dict[str, Any]) -> None:
        self.grid, self.workdir, self.opts = grid, workdir, opts
        self.net: Any = None
        self.st: Any = None
        self.cap: Any = None
        self.info: dict[str, Any] = {}

    def path(self) -> Path:
        return self.workdir / f"{self.grid.replace(':', '_')}.json"

    def do(self, stage: str, *, prerequisite: bool = False) -> None:
        import gridscope as gs

        if stage == "generate":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from gen_radial import generate

            net = generate(stations_for(int(self.grid.split(":")[1])), 20)
            self.info.update(buses=len(net.bus), lines=len(net.line), switches=len(net.switch),
                             loads=len(net.load))
            self.net = net
        elif stage == "load":  # the timed stage also pickles the net for the next processes' prerequisites
            src = "simbench:" + SIMBENCH_CODE if self.grid == "simbench" else str(self.path())
            quick = self.path().with_suffix(".pkl")
            if prerequisite and quick.exists():  # this benchmark's own pickle of the loaded net (untimed)
                with open(quick, "rb") as fh:
                    self.net = pickle.load(fh)
            else:
                self.net = gs.load_network(src)
                if not prerequisite:
                    with open(quick, "wb") as fh:
                        pickle.dump(self.net, fh, protocol=pickle.HIGHEST_PROTOCOL)
            self.st = gs.Study(self.net)
            self.info.update(buses=len(self.net.bus), loads=len(self.net.load))
        elif stage == "topology":
            topo = self.st.topology
            self.info.update(feeders=len(topo.feeders), ties=len(topo.ties))
        elif stage == "validate":
            self.info["problems"] = len(self.st.problems)
        elif stage == "impact":
            imp = self.st.impact()
            self.info.update(components=int(imp.n_comp), ranges=int(imp.iv_lo.size))
        elif stage == "imports":  # one-time import cost (pandapower, xarray and the dask it probes, openpyxl)
            import numpy as np
            import openpyxl  # noqa: F401
            import pandapower  # noqa: F401
            import xarray as xr
            from gridscope.capacity import api, bus_capacity, export  # noqa: F401
            from gridscope.grid import io, topology, validation  # noqa: F401
            from gridscope.reliability import analytical, api, impact, montecarlo  # noqa: F401, F811

            xr.Dataset({"x": ("d", np.zeros(1))})
        elif stage == "warmup":
            from gridscope.reliability.montecarlo import warm_up

            warm_up()
        elif stage == "analytical":
            ds = self.st.reliability(method="analytical")
            self.info["SAIDI_h"] = float(ds["SAIDI"].sel(zone="system"))
        elif stage in ("mc1", "mc2"):
            years = self.opts["years"]
            ds = self.st.reliability(method="monte-carlo", years=years, seed=1, threads=int(stage[-1]))
            self.info.update(years=years, SAIDI_h=float(ds["SAIDI"].sel(zone="system")))
        elif stage == "loading":
            self.st.loading()
        elif stage == "capacity":
            # exact_bus defaults to True (not thermal_only) since a8a7338: the full AC search at every bus is
            # quadratic in the network (hours at 200k buses); the bounded exact stage is ``exact_bus`` below
            self.cap = self.st.capacity(exact_bus=False)
            self.info["rows"] = {k: len(v) for k, v in self.cap.tables.items()}
        elif stage == "exact_bus":
            import numpy as np
            from gridscope.capacity.bus_capacity import bus_open_capacity

            t = time.perf_counter()
            model = self.st.ac_model()
            self.info["model_s"] = round(time.perf_counter() - t, 2)
            ok = self.net.bus.index[(model.bus_ppci >= 0) & self.net.bus["in_service"].to_numpy(bool)]
            rng = np.random.default_rng(0)
            k = min(self.opts["exact_buses"], len(ok))
            buses = np.sort(rng.choice(ok.to_numpy(), k, replace=False))
            res = bus_open_capacity(self.net, buses, model=model, topology=self.st.topology)
            self.info.update(buses_searched=k, n_power_flows=int(res.attrs.get("n_power_flows", -1)))
        elif stage == "xlsx":
            out = self.workdir / f"open_capacity_{self.grid.replace(':', '_')}.xlsx"
            self.cap.to_excel(out, overwrite=True)
            self.info["xlsx_mb"] = round(out.stat().st_size / 1e6, 1)
        else:  # pragma: no cover - argparse restricts the names
            raise ValueError(stage)


def child(grid: str, stage: str, workdir: Path, opts: dict[str, Any]) -> dict[str, Any]:
    """Run ``stage`` of ``grid`` after its prerequisites; its wall time and memory figures."""
    run = _Run(grid, workdir, opts)
    t0 = time.perf_counter()
    for pre in NEEDS[stage]:
        run.do(pre, prerequisite=True)
    t_pre = time.perf_counter() - t0
    rss0, peak0, cpu0 = _rss_now(), _rss_peak(), _cpu_s()
    t1 = time.perf_counter()
    run.do(stage)
    wall = time.perf_counter() - t1
    cpu = _cpu_s() - cpu0
    peak1 = _rss_peak()
    if stage == "generate":  # save it once for the other stages' processes
        import gridscope as gs

        gs.save_network(run.net, run.path(), overwrite=True)
    if stage in ("mc1", "mc2"):
        run.info["years_per_s"] = round(run.info["years"] / wall)
    return {"grid": grid, "stage": stage, "wall_s": wall, "cpu_s": cpu, "prereq_s": t_pre, "peak_rss_gib": peak1 / GIB,
            "stage_rise_gib": max(peak1 - rss0, 0.0) / GIB if peak1 > peak0 else 0.0, **run.info}


# --------------------------------------------------------------------------------------------- parent side
def _stage_in_child(grid: str, stage: str, workdir: Path, opts: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", grid, stage, str(workdir), json.dumps(opts)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"grid": grid, "stage": stage, "error": f"exit {out.returncode}: {tail}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return f"{os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def _row(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['grid']:>12s}  {r['stage']:<10s}  FAILED {r['error']}"
    extra = {k: v for k, v in r.items() if k not in ("grid", "stage", "wall_s", "cpu_s", "prereq_s",
                                                       "peak_rss_gib", "stage_rise_gib")}
    return (f"{r['grid']:>12s}  {r['stage']:<10s} {r['wall_s']:8.2f} s (cpu {r['cpu_s']:7.2f} s)  "
            f"peak RSS {r['peak_rss_gib']:6.2f} GiB "
            f"(stage +{r['stage_rise_gib']:5.2f})  {json.dumps(extra)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, action="append",
                        help="generated grid of about this many buses (repeatable; default 200000; 0: none)")
    parser.add_argument("--no-simbench", action="store_true", help="skip the 37k-bus SimBench grid")
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated, from: " + ", ".join(STAGES))
    parser.add_argument("--years", type=int, default=None, help="Monte-Carlo years (default 5000, --quick 1000)")
    parser.add_argument("--exact-buses", type=int, default=200, help="buses in the exact_bus subset")
    parser.add_argument("--quick", action="store_true", help="gen:20000 and gen:50000 only, 1000 MC years")
    parser.add_argument("--workdir", default=None, help="where generated networks and exports go (default: temp)")
    parser.add_argument("--json", default=None, help="also write every row to this JSON file")
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    bad = sorted(set(stages) - set(STAGES))
    if bad:
        parser.error(f"unknown stages {bad}; choose from {', '.join(STAGES)}")
    sizes = [n for n in args.size if n > 0] if args.size else ([20_000, 50_000] if args.quick else [200_000])
    grids = [f"gen:{n}" for n in sizes] + ([] if args.no_simbench or args.quick else ["simbench"])
    opts = {"years": args.years or (1000 if args.quick else 5000), "exact_buses": args.exact_buses}
    print(f"# gridscope large-network benchmark; {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    tmp = tempfile.TemporaryDirectory(prefix="gridscope-bench-") if args.workdir is None else None
    workdir = Path(args.workdir or tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for grid in grids:
        todo = [s for s in stages if not (grid == "simbench" and s == "generate")]
        if grid != "simbench" and not (workdir / f"{grid.replace(':', '_')}.json").exists() and "generate" not in todo:
            todo.insert(0, "generate")
        for stage in todo:
            r = _stage_in_child(grid, stage, workdir, opts)
            r["load_avg"] = round(os.getloadavg()[0], 1)
            rows.append(r)
            print(_row(r), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        g, s, w, o = sys.argv[2:6]
        print(json.dumps(child(g, s, Path(w), json.loads(o))))
    else:
        main()
