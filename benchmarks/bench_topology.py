"""Time load, validate and topology on the SimBench ``1-complete_data-mixed-all-0-sw`` grid (37,587 buses).

    python benchmarks/bench_topology.py [--code CODE] [--repeat N] [--reference]

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
    args = parser.parse_args()

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
