"""Benchmark of the device ranking (``rank_devices``, ``gridscope frequent --devices``, the TUI's ``d``).

For RBTS Bus 2, MV Oberrhein and SimBench 1-MV-rural (``--quick``: RBTS only) it prints:

* the number of candidate devices (every kind, the default tie length) and the ranking's wall time, seconds
  per candidate, started from the study's cached topology and failure-effect structure as the Study, the CLI
  and the TUI call it;
* a baseline timed in the same process: one ``build_impact`` + ``analytical_indices`` of the base network
  (median of ``--repeat`` runs just before and ``--repeat`` just after the ranking, so that a change of the
  machine's load in between moves both) × the number of candidates. The ratio ranking / baseline says how
  close the ranking is to "one re-analysis per candidate" (1.0: nothing but the re-analyses; above: the cost
  of adding and removing each device, of the CEMI sums, of a candidate network being larger than the base);
* the gaps between two cancellation checks (the ``cancel=`` callable is called before each candidate and once
  inside its build; the first gap runs from the call to the first check): the longest bounds how long Esc
  waits in the TUI;
* the load average (2 cores shared with other processes here: figures are noisy, compare the ratio).

Run: ``python benchmarks/bench_devices.py [--quick] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import gridscope as gs
from gridscope.reliability.analytical import analytical_indices
from gridscope.reliability.devices import candidate_devices
from gridscope.reliability.impact import build_impact
from gridscope.settings import CEMI_N

NETWORKS = ("rbts2", "mv_oberrhein", "simbench:1-MV-rural--0-sw")


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def baseline_runs(net: Any, repeat: int) -> list[float]:
    """``repeat`` timings of one failure-effect build (topology included, as for each candidate) and analytical
    run of ``net``."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        analytical_indices(build_impact(net))
        runs.append(time.perf_counter() - t0)
    return runs


def bench(name: str, repeat: int) -> dict[str, Any]:
    """Time the ranking of every candidate device of network ``name`` against the baseline."""
    study = gs.Study(name)
    study.frequent(CEMI_N)  # builds and caches topology and impact (numba compiled on the first network)
    net = study.net
    n_cand = len(candidate_devices(net))
    before = baseline_runs(net, repeat)
    stamps: list[float] = []

    def cancel() -> bool:
        stamps.append(time.perf_counter())
        return False

    t0 = time.perf_counter()
    ranked = study.rank_devices(CEMI_N, top=None, cancel=cancel)
    rank = time.perf_counter() - t0
    base = statistics.median(before + baseline_runs(net, repeat))
    gaps = [b - a for a, b in zip([t0, *stamps], stamps, strict=False)] + [t0 + rank - stamps[-1]]
    assert len(ranked) == n_cand and len(stamps) >= n_cand
    return {"network": name, "candidates": n_cand, "rank_s": rank, "per_candidate_s": rank / n_cand,
            "baseline_s": base, "ratio": rank / (base * n_cand), "first_gap_s": gaps[0],
            "median_gap_s": statistics.median(gaps), "max_gap_s": max(gaps),
            "best": str(ranked["description"].iloc[0])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="RBTS Bus 2 only")
    ap.add_argument("--repeat", type=int, default=3, help="baseline runs before and after the ranking (default 3 each)")
    args = ap.parse_args()
    print(f"load average before: {_loadavg()}  ({os.cpu_count()} CPUs)")
    head = (f"{'network':<28}{'cands':>6}{'rank s':>9}{'s/cand':>9}{'1 analysis s':>14}{'ratio':>7}"
            f"{'1st gap s':>11}{'med gap':>9}{'max gap s':>11}")
    print(head)
    for name in NETWORKS[:1] if args.quick else NETWORKS:
        r = bench(name, args.repeat)
        print(f"{r['network']:<28}{r['candidates']:>6}{r['rank_s']:>9.2f}{r['per_candidate_s']:>9.4f}"
              f"{r['baseline_s']:>14.4f}{r['ratio']:>7.2f}{r['first_gap_s']:>11.3f}"
              f"{r['median_gap_s']:>9.3f}{r['max_gap_s']:>11.3f}"
              f"   best: {r['best']}")
    print(f"load average after: {_loadavg()}")


if __name__ == "__main__":
    main()
