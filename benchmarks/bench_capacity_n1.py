"""N-1 by power flow benchmark: the whole feeder N-1 table and the main-transformer N-1.

For each network: :func:`gridscope.capacity.n1.feeder_n1` (every feeder head lost in turn, every usable tie tried,
the largest load at every bus of the feeder searched: one ``runpp`` per switched configuration builds the AC
model, then batched chord Newton-Raphson) and :func:`~gridscope.capacity.n1.main_transformer_n1`, against the
``runpp`` baseline: the same searches with one warm-started ``pandapower.runpp`` per case, extrapolated from the
measured time of such a ``runpp`` on the network (``--measure-baseline`` runs it instead, and checks the values
agree within the search tolerance).

Run::

    python benchmarks/bench_capacity_n1.py                      # 1-MV-urban--0-sw and 1-MVLV-rural-all-0-sw
    python benchmarks/bench_capacity_n1.py --quick              # 1-MV-urban--0-sw only
    python benchmarks/bench_capacity_n1.py --measure-baseline   # also run the runpp baseline for real

Wall-clock seconds on whatever else the machine is doing; network loading is not timed; one warm-up call
(imports, first ``runpp``) is made on a small network first.
"""

from __future__ import annotations

import argparse
import copy
import time

import gridscope as gs
import numpy as np
import pandapower as pp
from gridscope.capacity.n1 import feeder_n1, main_transformer_n1
from gridscope.grid.topology import EdgeKind, build_topology

NETWORKS = ("simbench:1-MV-urban--0-sw", "simbench:1-MVLV-rural-all-0-sw")


def _runpp_seconds(net, topo, row, repeats: int = 5) -> tuple[float, float]:
    """(cold, warm) seconds of one ``runpp`` of the N-1 configuration of feeder ``row`` with a load added."""
    w = copy.deepcopy(net)
    if len(w.sgen):
        w.sgen["in_service"] = False
    head = int(topo.feeders["head_edge"].iat[int(row["feeder"])])
    kind, idx = EdgeKind(int(topo.edge_kind[head])), int(topo.edge_element[head])
    if kind == EdgeKind.SWITCH:
        w.switch.at[idx, "closed"] = False
    else:
        w[kind.table].at[idx, "in_service"] = False
    w.switch.at[int(row["tie_switch"]), "closed"] = True
    li = pp.create_load(w, int(row["worst_bus"]), p_mw=0.0, q_mvar=0.0)
    t = time.perf_counter()
    pp.runpp(w, numba=False)
    cold = time.perf_counter() - t
    times = []
    for k in range(repeats):
        w.load.at[li, "p_mw"] = 0.1 * (k + 1)
        t = time.perf_counter()
        pp.runpp(w, numba=False, init="results")
        times.append(time.perf_counter() - t)
    return cold, float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1-MV-urban--0-sw only")
    ap.add_argument("--measure-baseline", action="store_true", help="run the runpp baseline instead of extrapolating")
    ap.add_argument("networks", nargs="*", help="network names (default: the two SimBench grids)")
    a = ap.parse_args()
    names = a.networks or (NETWORKS[:1] if a.quick else NETWORKS)
    feeder_n1(gs.load_network("rbts2"))  # warm-up: imports, first runpp
    for name in names:
        net = gs.load_network(name)
        topo = build_topology(net)
        t = time.perf_counter()
        st = main_transformer_n1(net, topology=topo)
        t_st = time.perf_counter() - t
        t = time.perf_counter()
        fd = feeder_n1(net, topology=topo)
        t_fd = time.perf_counter() - t
        n_pf, n_models = fd.attrs["n_pf"], fd.attrs["n_models"]
        print(f"\n{name}: {len(net.bus)} buses, {len(topo.feeders)} feeders, {len(topo.ties)} ties")
        print(f"  main-transformer N-1 ({len(st)} station(s)): {t_st:.2f} s; "
              + "; ".join(f"{r.name}: {r.n1_mva:.3f} MVA ({r.binding} {r.binding_element}, base "
                          f"{r.n1_base_loading_percent:.1f} %)" for r in st.itertuples()))
        print(f"  feeder N-1 table: {t_fd:.2f} s ({n_models} switched configurations, {n_pf} batched AC power "
              "flows)")
        for r in fd.itertuples():
            print(f"    {r.name:<22} {r.n1_mva:8.3f} MVA  tie {r.tie_switch:>4}  bus {r.worst_bus:>6}  "
                  f"{r.binding}: {r.binding_element}")
        sample = fd[fd["tie_switch"] >= 0]
        if not len(sample):
            continue
        cold, warm = _runpp_seconds(net, topo, sample.iloc[0])
        base = n_models * cold + n_pf * warm
        print(f"  runpp baseline extrapolated: {n_models} x {cold * 1e3:.0f} ms (cold) + {n_pf} x "
              f"{warm * 1e3:.0f} ms (warm) = {base:.1f} s -> ratio {base / t_fd:.1f}x")
        if a.measure_baseline:
            t = time.perf_counter()
            ref = feeder_n1(net, topology=topo, method="pandapower")
            t_ref = time.perf_counter() - t
            diff = np.abs(ref["n1_mva"].to_numpy() - fd["n1_mva"].to_numpy())
            scale = np.maximum(ref["n1_mva"].to_numpy(), 1e-9)
            print(f"  runpp baseline measured: {t_ref:.1f} s -> ratio {t_ref / t_fd:.1f}x; largest relative "
                  f"difference of the values {float(np.max(diff / scale)):.2%}")


if __name__ == "__main__":
    main()
