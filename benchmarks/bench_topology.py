"""Time loading the built-in networks, and load, validate and topology on a large SimBench grid.

    python benchmarks/bench_topology.py [--code CODE] [--repeat N] [--reference] [--builtins-only]

**Built-ins** (issue 12): for every built-in network, a fresh process runs ``gs.load_network(name)``, built
from scratch and from gridscope's network cache; its wall time is printed next to a bare
``python -c "import pandapower"`` measured in the same run, as the time above that import and as a ratio (the
best of ``--repeat`` rounds of each).

**SimBench** ``1-complete_data-mixed-all-0-sw`` (37,587 buses):

Each measurement runs in a fresh Python process; ``import`` is importing pandapower and gridscope, the rest:

* **cold**: an empty gridscope cache (a temporary ``GRIDSCOPE_CACHE_DIR``): ``simbench.get_simbench_net``
  builds the network from its CSV files, gridscope prepares it and writes the cache entry;
* **warm**: the same cache again: the prepared network is unpickled.

``--reference`` also times plain ``simbench.get_simbench_net`` alone. Target (issue 2): load + validate +
topology under 15 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CODE = "1-complete_data-mixed-all-0-sw"

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import pandapower
import gridscope as gs
from gridscope.grid.topology import build_topology
t1 = time.perf_counter()
net = gs.load_network("simbench:" + sys.argv[1])
t2 = time.perf_counter()
topo = build_topology(net)
t3 = time.perf_counter()
problems = gs.validate(net, topology=topo)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "topology": t3 - t2, "validate": t4 - t3,
                  "buses": int(topo.n_bus), "feeders": len(topo.feeders), "ties": len(topo.ties),
                  "sections": topo.summary()["sections"], "problems": len(problems)}))
"""

_REFERENCE = r"""
import json, sys, time
t0 = time.perf_counter()
import simbench as sb
t1 = time.perf_counter()
sb.get_simbench_net(sys.argv[1])
print(json.dumps({"import": t1 - t0, "get_simbench_net": time.perf_counter() - t1}))
"""


_BUILTIN = r"""
import json, sys, time
t0 = time.perf_counter()
import gridscope as gs
t1 = time.perf_counter()
net = gs.load_network(sys.argv[1])
print(json.dumps({"import": t1 - t0, "load": time.perf_counter() - t1, "buses": len(net.bus)}))
"""


def _wall(args: list[str], cache: str = "off") -> tuple[float, str]:
    """Wall time of a fresh Python process running ``args``, and its last line of output."""
    env = dict(os.environ, GRIDSCOPE_CACHE_DIR=cache)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, (out.stdout.strip().splitlines() or [""])[-1]


def bench_builtins(repeat: int) -> None:
    """Print load time of every built-in network against a bare pandapower import.

    Each network is timed built from scratch (cache off) and from gridscope's network cache (warmed first).
    The bare import and the networks are run in turn, ``repeat`` rounds, and the best of each is kept, so a
    busy machine slows both sides alike.
    """
    from gridscope.grid.builtin import builtin_networks

    names = builtin_networks()
    bare: list[float] = []
    runs: dict[tuple[str, str], list[tuple[float, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="gridscope-bench-") as cache:
        for name in names:
            _wall(["-c", _BUILTIN, name], cache)  # warm the cache
        for _ in range(repeat):
            bare.append(_wall(["-c", "import pandapower"])[0])
            for name in names:
                for mode, where in (("built", "off"), ("cached", cache)):
                    runs.setdefault((name, mode), []).append(_wall(["-c", _BUILTIN, name], where))
    base = min(bare)
    print(f"bare 'python -c \"import pandapower\"': {base:.2f} s (best of {repeat})")
    print(f"{'network':<14}{'mode':<8}{'buses':>6}{'process':>9}{'above':>8}{'ratio':>7}{'load':>7}")
    for (name, mode), timings in runs.items():
        wall, line = min(timings, key=lambda r: r[0])
        r = json.loads(line)
        print(f"{name:<14}{mode:<8}{r['buses']:>6}{wall:9.2f}{wall - base:8.2f}{wall / base:7.2f}{r['load']:7.2f}")
    print("process: wall time of 'gs.load_network(name)' in a fresh process (built: cache off; cached: from the "
          "network cache); above: process - bare import; ratio: process / bare import; load: inside that process")


def _run(script: str, code: str, cache: str) -> dict:
    env = dict(os.environ, GRIDSCOPE_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", script, code], env=env, check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=CODE, help="SimBench code (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=2, help="warm runs (default: %(default)s)")
    parser.add_argument("--reference", action="store_true", help="also time plain simbench.get_simbench_net")
    parser.add_argument("--builtins-only", action="store_true", help="time only the built-in networks")
    args = parser.parse_args()

    bench_builtins(max(args.repeat, 1))
    if args.builtins_only:
        return

    print(f"SimBench {args.code}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    header = f"{'run':<8}{'import':>8}{'load':>8}{'validate':>10}{'topology':>10}{'total':>8}" \
             f"{'  (load+validate+topology)':>28}"
    print(header)
    with tempfile.TemporaryDirectory(prefix="gridscope-bench-") as cache:
        runs = [("cold", _run(_CHILD, args.code, cache))]
        runs += [(f"warm {i + 1}", _run(_CHILD, args.code, cache)) for i in range(args.repeat)]
    for label, r in runs:
        work = r["load"] + r["validate"] + r["topology"]
        print(f"{label:<8}{r['import']:8.2f}{r['load']:8.2f}{r['validate']:10.2f}{r['topology']:10.2f}"
              f"{r['import'] + work:8.2f}{work:28.2f}")
    r = runs[0][1]
    print(f"network: {r['buses']} buses, {r['feeders']} feeders, {r['ties']} ties, {r['sections']} sections, "
          f"{r['problems']} validation problems")
    if args.reference:
        ref = _run(_REFERENCE, args.code, "off")
        print(f"reference: import simbench {ref['import']:.2f} s, get_simbench_net {ref['get_simbench_net']:.2f} s")


if __name__ == "__main__":
    main()
