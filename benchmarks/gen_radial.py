"""Synthetic radial 10 kV distribution network for large-network benchmarks.

Layout (all arrays built at once; pandapower's vectorised ``create_*s`` keep 200k buses in seconds):
each station is an external grid on a 110 kV bus and one 110/10 kV transformer into a 10 kV busbar;
each feeder leaves the busbar through a breaker (``CB``), runs a trunk of ``trunk_sections`` cable
sections, each section after the first behind a disconnector (``DS``); every trunk bus carries
``laterals_per_section`` overhead laterals behind a ``FUSE``, each lateral ``lateral_buses`` long with
a load of ``customers`` at every lateral bus. The trunk ends of feeder pairs are joined by a normally
open tie (``LBS``, open). Each station's buses get one supply zone (cycling A, B, C, D).

Defaults ``generate(40, 20)`` give 40 * (2 + 20 * 10 * (1 + 2 * 12)) = 200,080 buses.

Usage: ``python benchmarks/gen_radial.py 40 20 out.json`` (writes pandapower JSON) or
``from benchmarks.gen_radial import generate``.
"""
from __future__ import annotations

import sys

import numpy as np
import pandapower as pp

ZONES = ("A", "B", "C", "D")


def _feeder_layout(trunk_sections: int, laterals_per_section: int,
                   lateral_buses: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of one feeder in local bus numbers (0 = station busbar).

    Returns
    -------
    from_local, to_local : numpy.ndarray
        Bus numbers of each line's ends, the from end upstream.
    kind : numpy.ndarray
        0 first trunk section, 1 later trunk section, 2 lateral head, 3 lateral inner section.
    """
    frm, to, kind = [], [], []
    nxt = 1
    prev_trunk = 0
    for sec in range(trunk_sections):
        trunk = nxt
        nxt += 1
        frm.append(prev_trunk), to.append(trunk), kind.append(0 if sec == 0 else 1)
        for _ in range(laterals_per_section):
            up = trunk
            for k in range(lateral_buses):
                frm.append(up), to.append(nxt), kind.append(2 if k == 0 else 3)
                up = nxt
                nxt += 1
        prev_trunk = trunk
    return np.array(frm), np.array(to), np.array(kind)


def generate(n_stations: int = 40, feeders_per_station: int = 20, trunk_sections: int = 10,
             laterals_per_section: int = 2, lateral_buses: int = 12, *, p_mw: float = 0.01,
             customers: int = 10, seed: int = 0) -> pp.pandapowerNet:
    """Build the synthetic radial network.

    Parameters
    ----------
    n_stations : int
        Number of 110/10 kV stations (one external grid each).
    feeders_per_station : int
        10 kV feeders per station (each with a CB at the busbar).
    trunk_sections : int
        Cable sections along each feeder trunk (a DS before every section but the first).
    laterals_per_section : int
        Fused overhead laterals at each trunk bus.
    lateral_buses : int
        Buses along each lateral; each carries a load.
    p_mw : float
        Mean load per lateral bus in MW (randomised ±50 %). The default 0.01 MW gives 2.4 MW per feeder
        (trunk cable 0.42 kA = 7.3 MVA) and 48 MW per station (76 % of its 63 MVA transformer), so the
        planning power flow converges; 0.05 MW (the old default) loads each station to 3.8x its rating.
    customers : int
        Mean customers per load (randomised 1 .. 2*customers - 1).
    seed : int
        Seed of the random lengths, loads and customers.

    Returns
    -------
    pandapower.pandapowerNet
        The network with ``load.customers`` and ``bus.zone``; failure data are left to the defaults.
    """
    rng = np.random.default_rng(seed)
    frm_l, to_l, kind_l = _feeder_layout(trunk_sections, laterals_per_section, lateral_buses)
    buses_per_feeder = int(to_l.max())  # local buses 1..n (0 is the shared busbar)
    net = pp.create_empty_network(name=f"gen_radial {n_stations}x{feeders_per_station} seed {seed}")

    n_feeders = n_stations * feeders_per_station
    st_zone = np.array([ZONES[s % len(ZONES)] for s in range(n_stations)])
    hv = pp.create_buses(net, n_stations, 110.0, name=[f"S{s}_HV" for s in range(n_stations)],
                         zone=st_zone)
    bb = pp.create_buses(net, n_stations, 10.0, name=[f"S{s}_BB" for s in range(n_stations)],
                         zone=st_zone)
    for s in range(n_stations):
        pp.create_ext_grid(net, hv[s], vm_pu=1.0, name=f"S{s}_grid")
    pp.create_transformers_from_parameters(
        net, hv, bb, sn_mva=63.0, vn_hv_kv=110.0, vn_lv_kv=10.5, vkr_percent=0.3, vk_percent=12.0,
        pfe_kw=30.0, i0_percent=0.05, name=[f"S{s}_T1" for s in range(n_stations)])

    # Feeder f's local bus j (j >= 1) is global bus base + f*buses_per_feeder + j - 1.
    feeder_station = np.repeat(np.arange(n_stations), feeders_per_station)
    f_bus0 = net.bus.index.max() + 1 + np.arange(n_feeders) * buses_per_feeder
    names = [f"S{s}F{f % feeders_per_station}_{j}" for f, s in enumerate(feeder_station)
             for j in range(1, buses_per_feeder + 1)]
    fb = pp.create_buses(net, n_feeders * buses_per_feeder, 10.0, name=names,
                         zone=np.repeat(st_zone[feeder_station], buses_per_feeder))
    assert fb[0] == f_bus0[0]

    def glob(local: np.ndarray) -> np.ndarray:
        g = f_bus0[:, None] + local[None, :] - 1
        return np.where(local[None, :] == 0, bb[feeder_station][:, None], g).ravel()

    n_lf = len(frm_l)
    kinds = np.tile(kind_l, n_feeders)
    trunk = kinds <= 1
    length_km = np.where(trunk, rng.uniform(0.3, 1.5, kinds.size), rng.uniform(0.1, 0.6, kinds.size))
    lines = pp.create_lines_from_parameters(
        net, glob(frm_l), glob(to_l), length_km,
        r_ohm_per_km=np.where(trunk, 0.125, 0.27), x_ohm_per_km=np.where(trunk, 0.08, 0.35),
        c_nf_per_km=np.where(trunk, 300.0, 10.0), max_i_ka=np.where(trunk, 0.42, 0.2),
        type=np.where(trunk, "cs", "ol").tolist())
    lines = np.asarray(lines)

    sw_type = np.array(["CB", "DS", "FUSE", ""])[kinds]
    has_sw = kinds <= 2
    from_bus = net.line.from_bus.to_numpy()
    pp.create_switches(net, from_bus[lines[has_sw]], lines[has_sw], "l", closed=True,
                       type=sw_type[has_sw].tolist(), switching_h=1.0)

    loads_at = glob(to_l[kind_l >= 2])
    pp.create_loads(net, loads_at, p_mw=p_mw * rng.uniform(0.5, 1.5, loads_at.size),
                    q_mvar=0.0, customers=rng.integers(1, 2 * customers, loads_at.size))

    # Normally open ties between the trunk ends of feeder pairs (0-1, 2-3, ...) of each station.
    last_trunk_local = np.array([to_l[(kind_l <= 1)].max()])
    ends = glob(last_trunk_local)
    a, b = ends[0:-1:2], ends[1::2]
    n_ties = min(a.size, b.size)
    if n_ties:
        ties = pp.create_lines_from_parameters(
            net, a[:n_ties], b[:n_ties], 0.5, 0.125, 0.08, 300.0, 0.42, type="cs",
            name=[f"tie{k}" for k in range(n_ties)])
        pp.create_switches(net, a[:n_ties], ties, "l", closed=False, type="LBS", switching_h=1.0)
    del n_lf
    return net


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]] or [40, 20]
    net = generate(*args)
    print(f"{len(net.bus)} buses, {len(net.line)} lines, {len(net.switch)} switches, {len(net.load)} loads")
    if len(sys.argv) > 3:
        pp.to_json(net, sys.argv[3])
