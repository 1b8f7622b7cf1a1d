"""TUI responsiveness: key-press latency while a Monte-Carlo run is going, and time to the first screen.

Run: ``.venv/bin/python benchmarks/bench_tui.py`` (``--years N`` for the Monte-Carlo run, ``--presses N``).

Printed next to baselines measured in the same run:

* key latency: a key press (``m``, the map colouring) until the app has handled it, while a Monte-Carlo run
  of rbts2 is going in its thread worker, against the same presses on the idle app. Target: under 100 ms.
* first screen: a new process running ``gridscope.tui.app.run('rbts2')`` headless, from process start to the
  first painted screen (the network loads afterwards in a worker) and to the loaded network, against a new
  process painting an empty Textual app. Target: first screen within 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

from gridscope.study import Study
from gridscope.tui.app import GridscopeApp

_CHILD = r"""
import json, sys, time
t0 = float(sys.argv[1])
from textual.app import App
mode = sys.argv[2]
if mode == "bare":
    class Bare(App):
        def on_mount(self):
            self.call_after_refresh(self.done)
        def done(self):
            self.exit(time.time() - t0)
    print(json.dumps({"first_screen_s": Bare().run(headless=True)}))
else:
    from gridscope.tui.app import GridscopeApp
    out = {}
    async def pilot(p):
        app = p.app
        while app.first_screen_s is None:
            await p.pause(0.005)
        out["first_screen_s"] = time.time() - t0 - (time.perf_counter() - app._t0 - app.first_screen_s)
        while app.study is None:
            await p.pause(0.01)
        out["network_loaded_s"] = time.time() - t0
        app.exit()
    GridscopeApp("rbts2").run(headless=True, auto_pilot=pilot)
    print(json.dumps(out))
"""


def first_screen(mode: str) -> dict[str, float]:
    """Seconds from process start to the first screen (and to the loaded network) in a new process."""
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", _CHILD, repr(t0), mode], capture_output=True, text=True,
                         check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


async def key_latencies(study: Study, *, presses: int, mc_years: int | None) -> tuple[list[float], int]:
    """Latency of ``presses`` presses of the map-colour key, with or without a Monte-Carlo run going."""
    app = GridscopeApp(study, timings=False)
    out: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.study is None:
            await pilot.pause(0.01)
        done_during = 0
        if mc_years:
            view = await app.ensure_view("reliability")
            view.query_one("#rel-years").value = str(mc_years)
            await app.action_run_reliability("monte-carlo")
            while not view.trace:  # the kernel is running (first progress record arrived)
                await pilot.pause(0.01)
            await pilot.press("1")
        for _ in range(presses):
            before = app.network_view.colour
            running = app.job is not None
            t = time.perf_counter()
            app.simulate_key("m")  # posted like a terminal key; we only poll until the app has handled it
            while app.network_view.colour == before:
                await asyncio.sleep(0.0005)
            out.append(time.perf_counter() - t)
            done_during += running and app.job is not None
            await asyncio.sleep(0.05)
        if app.token is not None:
            app.action_cancel_job()
            while app.job is not None:
                await pilot.pause(0.01)
    return out, done_during


def _fmt(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"median {statistics.median(xs) * 1e3:7.1f} ms   p95 {p95 * 1e3:7.1f} ms   max {xs[-1] * 1e3:7.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=50_000_000, help="Monte-Carlo years of the background run")
    ap.add_argument("--presses", type=int, default=30)
    args = ap.parse_args()

    study = Study("rbts2")
    study.reliability(method="monte-carlo", years=1000, seed=1)  # compile / load the kernel outside the timing
    idle, _ = asyncio.run(key_latencies(study, presses=args.presses, mc_years=None))
    busy, during = asyncio.run(key_latencies(study, presses=args.presses, mc_years=args.years))
    print("key press -> handled (map colour key), rbts2")
    print(f"  idle app (baseline)        {_fmt(idle)}")
    print(f"  during Monte Carlo         {_fmt(busy)}   ({during}/{len(busy)} presses while the run was going, "
          f"{args.years:,} years)")
    print(f"  ratio busy/idle (median)   {statistics.median(busy) / statistics.median(idle):.2f}")

    bare = first_screen("bare")
    tui = first_screen("tui")
    print("process start -> first screen")
    print(f"  empty Textual app (baseline)  {bare['first_screen_s']:.3f} s")
    print(f"  gridscope tui rbts2           {tui['first_screen_s']:.3f} s   "
          f"(ratio {tui['first_screen_s'] / bare['first_screen_s']:.2f}; network loaded at "
          f"{tui['network_loaded_s']:.3f} s)")


if __name__ == "__main__":
    main()
