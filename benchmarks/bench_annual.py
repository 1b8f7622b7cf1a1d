"""Benchmark of a many-network annual study (issue 9): in-process against a local 2-worker Dask cluster.

Builds N network files (default 50): copies of the built-in networks (RBTS Bus 2 cases A and E, CIGRE MV,
case33bw) with varied reliability data (line failure rates × 0.75 … 1.25, transformer repair times × 0.5 … 1.5)
and runs one study over all of them — Monte Carlo with a fixed seed, two scenarios, flags and open capacity —
first in this process, then on a local cluster of 2 worker processes, and prints:

* wall time of each (the cluster's start-up and the workers' first imports are timed apart);
* the ratio in-process / cluster (> 1: the cluster is faster);
* whether the two results folders' NetCDF and CSV files are byte for byte identical (they must be).

Tables only (no figures, report or Excel), so the figures measure the computation. Run:
``python benchmarks/bench_annual.py [--networks 50] [--years 20000] [--workers 2]``. Figures taken while other
processes use the CPU are noisy: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from pathlib import Path

import gridscope as gs
from gridscope.annual import study
from gridscope.annual.executor import dask_client

BASES = ("rbts2", "rbts2-e", "cigre_mv", "case33bw")


def make_networks(folder: Path, n: int) -> None:
    """``n`` network files with varied reliability data, named ``grid-000.json`` …"""
    nets = {name: gs.load_network(name) for name in BASES}
    for i in range(n):
        net = copy.deepcopy(nets[BASES[i % len(BASES)]])
        net.name = f"grid-{i:03d}"
        net.line["lambda_per_km"] *= 0.75 + 0.5 * (i / max(n - 1, 1))
        if len(net.trafo):
            net.trafo["repair_h"] *= 0.5 + (i % 11) / 10
        gs.save_network(net, folder / f"grid-{i:03d}.json")


CONFIG = """
title = "Benchmark: {n} networks"
networks = ["grids/*.json"]
default_zone = "C"
[reliability]
method = "monte-carlo"
years = {years}
seed = 2026
[scenarios.fewer_outages]
failure_rate_scale = 0.85
planned_rate_scale = 0.85
[scenarios.faster_repair]
repair_time_scale = 0.95
[output]
plots = false
report = false
excel = false
"""


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.suffix in (".nc", ".csv")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=50)
    parser.add_argument("--years", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "grids").mkdir()
        t0 = time.perf_counter()
        make_networks(root / "grids", args.networks)
        print(f"built {args.networks} network files in {time.perf_counter() - t0:.1f} s "
              f"(load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)")
        config = root / "study.toml"
        config.write_text(CONFIG.format(n=args.networks, years=args.years), encoding="utf-8")

        t0 = time.perf_counter()
        local = study(config, out=root / "local")
        t_local = time.perf_counter() - t0
        tasks = len(local.manifest["timings"])
        print(f"in-process:            {t_local:7.1f} s  ({tasks} tasks: networks × (base, 2 scenarios, capacity))")

        t0 = time.perf_counter()
        with dask_client(workers=args.workers) as (client, label):
            t_start = time.perf_counter() - t0
            client.run(lambda: __import__("gridscope.study") and __import__("pandapower"))  # workers' imports
            t_import = time.perf_counter() - t0 - t_start
            t1 = time.perf_counter()
            cluster = study(config, out=root / "cluster", scheduler=client.scheduler.address)
            t_run = time.perf_counter() - t1
        print(f"{label}: start {t_start:.1f} s, worker imports {t_import:.1f} s, study {t_run:.1f} s")
        total = t_start + t_import + t_run
        print(f"ratio in-process / cluster: {t_local / t_run:.2f} (study only), {t_local / total:.2f} (with start-up)")
        same = files(local.folder) == files(cluster.folder)
        print(f"results identical byte for byte: {same} ({len(files(local.folder))} NetCDF/CSV files)")
        system = local.run.reliability
        print(f"networks: {len(system)}, study SAIDI (system) "
              f"{float(gs.annual.read_results(local.folder)['SAIDI'].sel(scenario='base', zone='system')):.4f} h")


if __name__ == "__main__":
    main()
