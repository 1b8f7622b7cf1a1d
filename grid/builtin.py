"""Built-in networks, each ready for every analysis: zones, reliability data, protection and ties filled in.

=============  ==========================================================================================
name           what it is
=============  ==========================================================================================
``rbts2``      RBTS Bus 2 (Allan et al. 1991), case A: 4 feeders, 22 load points, 1908 customers, 26.15 km,
               transformer repair 200 h. Built from ``shared/reference/rbts-bus2.md``.
``rbts2-e``    RBTS Bus 2 case E: as ``rbts2`` with 10 h transformer replacement.
``mv_oberrhein`` pandapower's 20 kV Oberrhein grid (2 substations, 179 buses, geo coordinates).
``cigre_mv``   pandapower's CIGRE MV benchmark without DER (2 feeders, 3 ties).
``case33bw``   Baran & Wu 33-bus 12.66 kV feeder; its 5 tie lines become lines with a normally-open switch.
=============  ==========================================================================================

Every value gridscope adds to a pandapower network is named in the builder's docstring with its origin.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..errors import NetworkError
from .defaults import apply_reliability_data
from .facts import element_name, q_from_pf
from .topology import EdgeKind, build_topology
from .zones import assign_zones_by_density

__all__ = [
    "BUILTIN",
    "BUILTIN_DESCRIPTIONS",
    "add_head_breakers",
    "builtin_descriptions",
    "builtin_key",
    "builtin_networks",
    "make_builtin",
    "rbts2",
]

# ---------------------------------------------------------------------------------------------- RBTS Bus 2
# (section, feeder, from, to, km, role, device) straight from shared/reference/rbts-bus2.md
_RBTS_SECTIONS: list[tuple[str, str, str, str, float, str]] = [
    ("S1", "F1", "B2", "B3", 0.75, "CB"), ("S2", "F1", "B3", "LP1", 0.6, "FUSE"),
    ("S3", "F1", "B3", "LP2", 0.8, "FUSE"), ("S4", "F1", "B3", "B4", 0.75, "DS"),
    ("S5", "F1", "B4", "LP3", 0.8, "FUSE"), ("S6", "F1", "B4", "LP4", 0.6, "FUSE"),
    ("S7", "F1", "B4", "B5", 0.75, "DS"), ("S8", "F1", "B5", "LP5", 0.8, "FUSE"),
    ("S9", "F1", "B5", "LP6", 0.75, "FUSE"), ("S10", "F1", "B5", "B6", 0.6, "DS"),
    ("S11", "F1", "B6", "LP7", 0.8, "FUSE"),
    ("S12", "F2", "B2", "B7", 0.75, "CB"), ("S13", "F2", "B7", "LP8", 0.8, "FUSE"),
    ("S14", "F2", "B7", "B8", 0.6, "DS"), ("S15", "F2", "B8", "LP9", 0.8, "FUSE"),
    ("S16", "F3", "B2", "B9", 0.75, "CB"), ("S17", "F3", "B9", "LP10", 0.6, "FUSE"),
    ("S18", "F3", "B9", "B10", 0.8, "DS"), ("S19", "F3", "B10", "LP11", 0.75, "FUSE"),
    ("S20", "F3", "B10", "LP12", 0.8, "FUSE"), ("S21", "F3", "B10", "B11", 0.6, "DS"),
    ("S22", "F3", "B11", "LP13", 0.75, "FUSE"), ("S23", "F3", "B11", "LP14", 0.8, "FUSE"),
    ("S24", "F3", "B11", "B12", 0.75, "DS"), ("S25", "F3", "B12", "LP15", 0.6, "FUSE"),
    ("S26", "F4", "B2", "B13", 0.8, "CB"), ("S27", "F4", "B13", "LP16", 0.75, "FUSE"),
    ("S28", "F4", "B13", "LP17", 0.6, "FUSE"), ("S29", "F4", "B13", "B14", 0.75, "DS"),
    ("S30", "F4", "B14", "LP18", 0.6, "FUSE"), ("S31", "F4", "B14", "LP19", 0.8, "FUSE"),
    ("S32", "F4", "B14", "B15", 0.75, "DS"), ("S33", "F4", "B15", "LP20", 0.8, "FUSE"),
    ("S34", "F4", "B15", "B16", 0.6, "DS"), ("S35", "F4", "B16", "LP21", 0.75, "FUSE"),
    ("S36", "F4", "B16", "LP22", 0.8, "FUSE"),
]

# (type, customers, avg MW, peak MW) per load point
_RBTS_LP_TYPES: dict[str, tuple[str, int, float, float]] = {
    "residential_a": ("residential", 210, 0.535, 0.8668),
    "residential_b": ("residential", 200, 0.450, 0.7291),
    "small_user_8": ("small user", 1, 1.000, 1.6279),
    "small_user_9": ("small user", 1, 1.150, 1.8721),
    "govt": ("govt/institutional", 1, 0.566, 0.9167),
    "commercial": ("commercial", 10, 0.454, 0.750),
}
_RBTS_LP: dict[int, str] = {
    **dict.fromkeys((1, 2, 3, 10, 11), "residential_a"),
    **dict.fromkeys((12, 17, 18, 19), "residential_b"),
    8: "small_user_8", 9: "small_user_9",
    **dict.fromkeys((4, 5, 13, 14, 20, 21), "govt"),
    **dict.fromkeys((6, 7, 15, 16, 22), "commercial"),
}
_RBTS_TIES = [("B6", "B8"), ("B12", "B16")]
#: Illustrative 11/0.415 kV transformer ratings (MVA) per load-point type (the RBTS publishes none): the five
#: 210-customer residential points get 1 MVA (about 95 % at peak: heavy, as planners find in old residential
#: areas), the others a size that leaves them near 60 %.
_RBTS_TRAFO_MVA = {"residential_a": 1.0, "residential_b": 1.25, "commercial": 1.25, "govt": 1.6}
#: Illustrative supply-area classes for the RBTS feeders (the RBTS publishes none).
_RBTS_ZONES = {"F1": "A", "F2": "A", "F3": "B", "F4": "B"}
#: Illustrative power factor of every RBTS load (the RBTS publishes active power only).
_RBTS_PF = 0.95


def rbts2(transformer_repair_h: float = 200.0, *, ties: bool = True, disconnectors: bool = True) -> Any:
    """RBTS Bus 2 with the published protection, switching and reliability data.

    Built from ``shared/reference/rbts-bus2.md`` (Allan, Billinton, Sjarief, Goel, So, IEEE Trans. PWRS 6(2),
    1991). The 33 kV supply is an external grid at the 11 kV bus B2 (100 % reliable, as published).

    What comes from the reference: topology, section lengths, line failure rate 0.065 f/(km·yr) and repair 5 h,
    transformer failure rate 0.015 f/yr and repair 200 h (case A) or 10 h replacement (case E), switching time
    1 h, customers, average and peak loads, breakers/fuses/disconnectors and the two normally-open ties.

    What gridscope adds (not part of the RBTS, chosen for the power flow and capacity analysis, documented
    here): conductor 149-AL1/24-ST1A 10.0 (overhead, 470 A), 11/0.415 kV transformers of 1 MVA for the
    210-customer residential points (heavy at peak), 1.25 MVA for the other residential and the commercial
    points, 1.6 MVA for the govt/institutional points, power factor 0.95 for every load, schematic coordinates in km
    (feeders along x, one per 1 km of y) and supply zones A (F1, F2) and B (F3, F4) to show per-zone results.

    Parameters
    ----------
    transformer_repair_h : float
        Distribution-transformer repair (case A: 200) or replacement (case E: 10) hours.
    ties : bool
        Model the normally-open ties B6–B8 and B12–B16 (the published "without ties" case sets False).
    disconnectors : bool
        Model the disconnectors on the main sections (the published "fuses only" case sets False; the ties
        are then left out too, as published).

    Returns
    -------
    pandapowerNet
    """
    import pandapower as pp  # deferred: heavy, and not needed to list the networks

    net = pp.create_empty_network(name="RBTS Bus 2" + ("" if transformer_repair_h == 200.0 else
                                                        f" (transformer repair {transformer_repair_h:g} h)"))
    std = "149-AL1/24-ST1A 10.0"
    buses: dict[str, int] = {}
    coords: dict[str, tuple[float, float]] = {"B2": (0.0, 0.0)}
    feeder_y = {"F1": 1.5, "F2": 0.5, "F3": -0.5, "F4": -1.5}
    lateral_count: dict[str, int] = {}

    def bus(name: str, vn_kv: float, xy: tuple[float, float], zone: str) -> int:
        buses[name] = pp.create_bus(net, vn_kv=vn_kv, name=name, zone=zone, geodata=xy, type="b")
        return buses[name]

    bus("B2", 11.0, coords["B2"], "A")
    pp.create_ext_grid(net, buses["B2"], vm_pu=1.0, name="33/11 kV supply (B1-B2)")
    for sec, feeder, a, b, km, device in _RBTS_SECTIONS:
        zone = _RBTS_ZONES[feeder]
        xa, ya = coords[a]
        if b.startswith("LP"):
            k = lateral_count.get(a, 0)
            lateral_count[a] = k + 1
            xy = (xa + 0.2 * (k + 1), ya + (0.45 if k == 0 else -0.45) * (1 if ya >= 0 else -1) * km)
            lp = int(b[2:])
            with_trafo = lp not in (8, 9)
            mv_name = f"{b} MV" if with_trafo else b
            coords[mv_name] = xy
            bus(mv_name, 11.0, xy, zone)
            line = pp.create_line(net, buses[a], buses[mv_name], km, std, name=sec)
            if with_trafo:
                kind, cust, avg, peak = _RBTS_LP_TYPES[_RBTS_LP[lp]]
                sn = _RBTS_TRAFO_MVA[_RBTS_LP[lp]]
                lv = bus(b, 0.415, (xy[0], xy[1] + 0.05), zone)
                pp.create_transformer_from_parameters(
                    net, buses[mv_name], lv, sn_mva=sn, vn_hv_kv=11.0, vn_lv_kv=0.415, vk_percent=6.0,
                    vkr_percent=1.1, pfe_kw=1.4, i0_percent=0.3, name=f"T{lp}",
                    repair_h=float(transformer_repair_h), lambda_per_yr=0.015)
        else:
            coords[b] = (xa + km, feeder_y[feeder])
            bus(b, 11.0, coords[b], zone)
            line = pp.create_line(net, buses[a], buses[b], km, std, name=sec)
        if device == "DS" and not disconnectors:
            continue
        pp.create_switch(net, buses[a], line, et="l", closed=True, type=device,
                         name=feeder if device == "CB" else f"{device} {sec}", switching_h=1.0)
    net.line["type"] = "ol"
    net.line["lambda_per_km"] = 0.065
    net.line["repair_h"] = 5.0
    if ties and disconnectors:
        for a, b in _RBTS_TIES:
            pp.create_switch(net, buses[a], buses[b], et="b", closed=False, type="LBS",
                             name=f"tie {a}-{b}", switching_h=1.0)
    for lp in range(1, 23):
        kind, cust, avg, peak = _RBTS_LP_TYPES[_RBTS_LP[lp]]
        pp.create_load(net, buses[f"LP{lp}"], p_mw=peak, q_mvar=q_from_pf(peak, _RBTS_PF), name=f"LP{lp}",
                       customers=cust, p_avg_mw=avg, type=kind)
    net.load["customers"] = net.load["customers"].astype("int64")
    net.bus["lambda_per_yr"] = 0.0
    net.switch["lambda_per_yr"] = 0.0
    return apply_reliability_data(net)


# ---------------------------------------------------------------------------------------------- helpers
def add_head_breakers(net: Any, *, only_missing: bool = False) -> None:
    """Give every feeder head a breaker at its station end (an existing head switch becomes a CB), in place.

    Parameters
    ----------
    net : pandapowerNet
        Modified in place (``net.switch``).
    only_missing : bool
        Touch only feeders without a breaker or fuse at their head.
    """
    import pandapower as pp  # deferred: heavy

    topo = build_topology(net)
    feeders = topo.feeders[topo.feeders["head_switch"] < 0] if only_missing else topo.feeders
    for _, f in feeders.iterrows():  # one per feeder
        e = int(f["head_edge"])
        kind = EdgeKind(int(topo.edge_kind[e]))
        element = int(topo.edge_element[e])
        if kind is EdgeKind.SWITCH:
            net.switch.loc[element, "type"] = "CB"
        elif kind in (EdgeKind.LINE, EdgeKind.TRAFO):
            et, unnamed = ("l", "") if kind is EdgeKind.LINE else ("t", "trafo ")
            station = int(topo.bus_index[topo.node_bus[int(f["supply_node"])]])
            label = element_name(net[kind.table], element) or f"{unnamed}{element}"
            pp.create_switch(net, station, element, et=et, closed=True, type="CB", name=f"CB {label}")


#: pandapower's "load" scenario of the Oberrhein grid: load scaling, transformer taps, power factors.
_OBERRHEIN_LOAD_SCALING = 0.6
_OBERRHEIN_SGEN_SCALING = 0.0
_OBERRHEIN_HV_TAPS = (-2, -3)
_OBERRHEIN_LOAD_PF = 0.98
_OBERRHEIN_SGEN_PF = 1.0


def _oberrhein_without_power_flow() -> Any:
    """``pandapower.networks.mv_oberrhein()`` (scenario "load") without the power flow it closes with.

    pandapower's function reads the JSON file it ships, sets the scenario and then runs ``runpp`` only to fill
    the result tables (4-6 s with its numba compile in a new process). gridscope runs its own power flows, so
    the file is read and the scenario set here; every element table is the same (tests compare them) and the
    result tables are empty.
    """
    import pandapower as pp  # deferred: heavy

    net = pp.from_json(os.path.join(pp.pp_dir, "networks", "mv_oberrhein.json"))
    net.load["q_mvar"] = q_from_pf(net.load["p_mw"].to_numpy(dtype=float), _OBERRHEIN_LOAD_PF)
    net.sgen["q_mvar"] = q_from_pf(net.sgen["p_mw"].to_numpy(dtype=float), _OBERRHEIN_SGEN_PF)
    net.load["scaling"] = _OBERRHEIN_LOAD_SCALING
    net.sgen["scaling"] = _OBERRHEIN_SGEN_SCALING
    net.trafo["tap_pos"] = net.trafo["tap_pos"].astype("float64")
    hv_units = net.trafo.index[net.trafo["sn_mva"] > 1]  # the two HV/MV units (MV/LV units are < 1 MVA)
    net.trafo.loc[hv_units, "tap_pos"] = list(_OBERRHEIN_HV_TAPS)
    # the file carries results of another operating point (angles 150° apart): none is better than stale
    pp.toolbox.clear_result_tables(net)
    return net


def mv_oberrhein() -> Any:
    """pandapower's MV Oberrhein grid with gridscope's data.

    Added: a breaker at every feeder head (pandapower models 4 of them; the others get one, since the feeder
    head is where the substation's outgoing breaker stands); reliability data from the defaults table by line
    type (``cs`` cable, ``ol`` overhead); one customer per load point (DL/T 836 convention); supply zones from
    load density over the buses' coordinates (:func:`gridscope.grid.zones.assign_zones_by_density`). The
    result tables are empty: pandapower's closing power flow is not run.
    """
    net = _oberrhein_without_power_flow()
    net.name = "mv_oberrhein"
    add_head_breakers(net)
    apply_reliability_data(net)
    assign_zones_by_density(net, per="feeder")
    return net


def cigre_mv() -> Any:
    """pandapower's CIGRE MV benchmark (no DER) with gridscope's data.

    Added: breakers at both feeder heads; reliability data by line type from the defaults table; one customer
    per load point; supply zone C for every bus (a suburban benchmark; the CIGRE task force publishes no
    zone).
    """
    import pandapower.networks as pn  # deferred: heavy

    net = pn.create_cigre_network_mv(with_der=False)
    net.name = "cigre_mv"
    add_head_breakers(net)
    net.bus["zone"] = "C"
    apply_reliability_data(net)
    return net


def case33bw() -> Any:
    """Baran & Wu 33-bus feeder with gridscope's data.

    Changed: the five tie lines (out of service in pandapower's case) are put in service with a normally-open
    load-break switch at their from-end, which is what they are. Added: a breaker at the head of line 0;
    overhead line reliability data from the defaults table; one customer per load point; supply zone C for
    every bus (the case publishes no zone); a thermal rating of 400 A for every line (the case publishes none
    and pandapower's copy carries a placeholder of about 99,999 kA, which would hide every loading flag; at
    the case's 3.7 MW the head section runs near 55 %).
    """
    import pandapower as pp  # deferred: heavy
    import pandapower.networks as pn

    net = pn.case33bw()
    net.line["max_i_ka"] = 0.4
    net.name = "case33bw"
    ties = net.line.index[~net.line["in_service"].astype(bool)]
    for li in ties:
        net.line.at[li, "in_service"] = True
        pp.create_switch(net, int(net.line.at[li, "from_bus"]), int(li), et="l", closed=False, type="LBS",
                         name=f"tie {li}")
    net.line["name"] = [f"L{i}" for i in net.line.index]
    net.bus["name"] = [f"bus {i}" for i in net.bus.index]
    add_head_breakers(net)
    net.line["type"] = "ol"
    net.bus["zone"] = "C"
    apply_reliability_data(net)
    return net


BUILTIN: dict[str, Callable[[], Any]] = {
    "rbts2": rbts2,
    "rbts2-e": lambda: rbts2(transformer_repair_h=10.0),
    "mv_oberrhein": mv_oberrhein,
    "cigre_mv": cigre_mv,
    "case33bw": case33bw,
}


#: One line per built-in network (``gridscope networks`` prints these).
BUILTIN_DESCRIPTIONS: dict[str, str] = {
    "rbts2": "RBTS Bus 2 (Allan et al. 1991), case A: 11 kV, 4 feeders, 22 load points, 1908 customers, "
             "2 ties, transformer repair 200 h",
    "rbts2-e": "RBTS Bus 2 case E: as rbts2 with 10 h transformer replacement",
    "mv_oberrhein": "pandapower's 20 kV Oberrhein grid: 2 substations, 179 buses, geo coordinates, "
                    "zones by load density",
    "cigre_mv": "pandapower's CIGRE MV benchmark without DER: 20 kV, 2 feeders, 3 open switches, zone C",
    "case33bw": "Baran & Wu 33-bus 12.66 kV feeder with its 5 tie switches open, zone C",
}


def builtin_descriptions() -> dict[str, str]:
    """Built-in network name → one-line description."""
    return {name: BUILTIN_DESCRIPTIONS.get(name, "") for name in BUILTIN}


def builtin_networks() -> list[str]:
    """Names accepted by :func:`gridscope.load_network` besides paths and ``simbench:<code>``."""
    return list(BUILTIN)


def builtin_key(name: str) -> str:
    """The key in :data:`BUILTIN` of a built-in network name (``"RBTS2_E"`` → ``"rbts2-e"``).

    Raises
    ------
    NetworkError
        ``name`` is no built-in network (the message lists them).
    """
    key = name.strip().lower().replace("_", "-") if name.strip().lower().startswith("rbts") else name.strip()
    if key not in BUILTIN:
        raise NetworkError(f"unknown built-in network {name!r}; built-in networks: {', '.join(BUILTIN)} "
                           "(or give a .json/.xlsx path or simbench:<code>)")
    return key


def make_builtin(name: str) -> Any:
    """Build the built-in network ``name`` (see :func:`builtin_networks`), filled with its reliability data."""
    return BUILTIN[builtin_key(name)]()
