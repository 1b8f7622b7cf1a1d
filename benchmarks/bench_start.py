"""Start-up and main-job wall time, against the bare ``import pandapower`` measured in the same run.

Every figure is the best of ``--repeat`` fresh processes (so each pays what a user's new process pays: imports,
JIT compiles, network loading). Targets (issue "One prepared study per network"):

* ``gridscope run rbts2``        ≤ 1.5 s above ``python -c "import pandapower"``
* ``gridscope run mv_oberrhein`` ≤ 3 s above it
* ``gridscope --help``           < 0.3 s

Run: ``.venv/bin/python benchmarks/bench_start.py [--repeat 3] [--nets rbts2 mv_oberrhein]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def best_of(cmd: list[str], repeat: int) -> float:
    """Least wall time of ``repeat`` runs of ``cmd`` (each a new process), in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nets", nargs="+", default=["rbts2", "mv_oberrhein"])
    args = parser.parse_args()
    gridscope = str(BIN / "gridscope")

    baseline = best_of([sys.executable, "-c", "import pandapower"], args.repeat)
    print(f"{'what':<34} {'seconds':>8} {'above import pandapower':>24}   target")
    label = 'python -c "import pandapower"'
    print(f"{label:<34} {baseline:8.2f} {'(baseline)':>24}")
    help_s = best_of([gridscope, "--help"], args.repeat)
    print(f"{'gridscope --help':<34} {help_s:8.2f} {help_s - baseline:+24.2f}   < 0.30 s absolute")
    targets = {"rbts2": 1.5, "mv_oberrhein": 3.0}
    for net in args.nets:
        out = Path(tempfile.mkdtemp(prefix="bench-start-"))
        try:
            run_s = best_of([gridscope, "run", net, "--out", str(out / "r"), "--force"], args.repeat)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        target = targets.get(net)
        met = target is not None and run_s - baseline <= target
        verdict = "" if target is None else f"≤ {target:.1f} s above: {'met' if met else 'MISSED'}"
        print(f"{'gridscope run ' + net:<34} {run_s:8.2f} {run_s - baseline:+24.2f}   {verdict}")


if __name__ == "__main__":
    main()
