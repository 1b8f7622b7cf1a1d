"""Small hand-checkable feeders for reliability tests (not a test module)."""

from __future__ import annotations

from typing import Any

import numpy as np


def chain_feeder(
    sections: list[dict[str, Any]],
    *,
    tie: bool = False,
    tie_switching_h: float = 1.0,
    zone: str = "B",
) -> Any:
    """A single radial feeder ``B0 -CB- L0 - B1 - L1 - B2 ...`` built from ``sections``.

    Each section dict: ``km``, ``lam`` (per km·yr), ``r`` (repair h), ``switch`` (None, "DS", "FUSE" at the
    section's upstream end; the first section always has the feeder CB), ``customers``, ``p_avg_mw`` (a load at
    the section's downstream bus, skipped when customers is 0), ``sw_h`` (switching hours of its switch).
    With ``tie=True`` a second feeder (a lossless short line from the source, perfectly reliable) ends at a
    normally-open switch to the last bus.
    """
    import pandapower as pp

    net = pp.create_empty_network(name="chain")
    b0 = pp.create_bus(net, 10.0, name="B0", zone=zone)
    pp.create_ext_grid(net, b0)
    prev = b0
    for k, s in enumerate(sections):
        b = pp.create_bus(net, 10.0, name=f"B{k + 1}", zone=s.get("zone", zone))
        line = pp.create_line_from_parameters(
            net, prev, b, s["km"], r_ohm_per_km=0.2, x_ohm_per_km=0.3, c_nf_per_km=10, max_i_ka=0.4,
            name=f"L{k}", lambda_per_km=s["lam"], repair_h=s["r"])
        device = "CB" if k == 0 else s.get("switch")
        if device:
            pp.create_switch(net, prev, line, et="l", type=device, closed=True, name=f"{device} L{k}",
                             switching_h=s.get("sw_h", 1.0))
        if s.get("customers", 0):
            pp.create_load(net, b, p_mw=s.get("p_avg_mw", 0.1), name=f"LD{k + 1}", customers=s["customers"],
                           p_avg_mw=s.get("p_avg_mw", 0.1))
        prev = b
    net.line["type"] = "ol"
    if tie:
        bt = pp.create_bus(net, 10.0, name="BT", zone=zone)
        lt = pp.create_line_from_parameters(net, b0, bt, 0.1, r_ohm_per_km=0.2, x_ohm_per_km=0.3,
                                            c_nf_per_km=10, max_i_ka=0.4, name="LT", lambda_per_km=0.0,
                                            repair_h=1.0)
        pp.create_switch(net, b0, lt, et="l", type="CB", closed=True, name="CB LT")
        pp.create_switch(net, bt, prev, et="b", type="LBS", closed=False, name="tie",
                         switching_h=tie_switching_h)
    from gridscope.grid.defaults import apply_reliability_data

    return apply_reliability_data(net)


def random_tree_feeder(rng: np.random.Generator, n_bus: int, *, n_feeders: int = 1) -> Any:
    """A random radial network: ``n_feeders`` breaker-fed trees with random switches, loads and data."""
    import pandapower as pp

    net = pp.create_empty_network(name="random")
    src = pp.create_bus(net, 10.0, name="S", zone="B")
    pp.create_ext_grid(net, src)
    buses = [src]
    for k in range(n_bus):
        b = pp.create_bus(net, 10.0, name=f"N{k}", zone=str(rng.choice(["A", "B", "C"])))
        if k < n_feeders:
            parent = src
        else:
            parent = int(rng.choice(buses[1:]))
        line = pp.create_line_from_parameters(
            net, parent, b, float(rng.uniform(0.1, 2.0)), r_ohm_per_km=0.2, x_ohm_per_km=0.3,
            c_nf_per_km=10, max_i_ka=0.4, name=f"L{k}", lambda_per_km=float(rng.uniform(0.0, 0.3)),
            repair_h=float(rng.uniform(1.0, 20.0)))
        if parent == src:
            pp.create_switch(net, src, line, et="l", type="CB", closed=True, name=f"F{k}")
        else:
            kind = rng.choice(["none", "DS", "FUSE"], p=[0.4, 0.4, 0.2])
            if kind != "none":
                pp.create_switch(net, parent, line, et="l", type=str(kind), closed=True, name=f"{kind} L{k}",
                                 switching_h=float(rng.uniform(0.2, 2.0)))
        if k < n_feeders or rng.random() < 0.8:
            pp.create_load(net, b, p_mw=float(rng.uniform(0.05, 1.0)), name=f"LD{k}",
                           customers=int(rng.integers(1, 200)))
        buses.append(b)
    net.line["type"] = "ol"
    from gridscope.grid.defaults import apply_reliability_data

    return apply_reliability_data(net)
