"""Stations by role: the MV busbar sections on the LV side of main transformers.

A station is the set of MV busbar sections at the LV side of main transformers (role rule of
:func:`gridscope.grid.facts.trafo_is_main`) joined by bus-bus switches, OPEN or closed: a normally-open
bus-section breaker still belongs to the station (SimBench 1-MV-urban: two 63 MVA units on busbars joined by
normally-open section breakers are ONE station with two units).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from gridscope.grid.facts import element_name, in_service, trafo_is_main, trafo_rating_mva
from gridscope.grid.topology import Topology, build_topology


@dataclass(eq=False)
class Stations:
    """Stations of a network (see the module docstring).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per station (index = station id): ``name``, ``hv_kv``, ``mv_kv``, ``units``, ``n_units``,
        ``unit_sn_mva``, ``rating_mva``, ``largest_unit_mva``, ``busbars``, ``couplers``,
        ``couplers_closed``, ``feeders``, ``hv_buses``, ``supply_lines``.
    unit_table : pandas.DataFrame
        One row per main transformer: ``trafo``, ``station``, ``lv_bus``, ``hv_bus``, ``sn_mva``, ``feeders``.
    of_bus : pandas.Series
        Station id per ``net.bus`` index, -1 outside any station.
    feeder_station : numpy.ndarray
        Station id per topology feeder id, -1 if none.
    """

    table: pd.DataFrame
    unit_table: pd.DataFrame
    of_bus: pd.Series
    feeder_station: np.ndarray


def _bus_switch_groups(net: Any, seeds: np.ndarray) -> dict[int, int]:
    """Group id per bus reachable from ``seeds`` through bus-bus switches (open or closed), same voltage."""
    import networkx as nx  # deferred: only station building needs it

    sw = net.switch
    g = nx.Graph()
    g.add_nodes_from(int(b) for b in seeds)
    if len(sw):
        bb = sw[sw["et"].astype(str).eq("b")]
        vn_kv = net.bus["vn_kv"]
        for s, row in bb.iterrows():
            a, b = int(row["bus"]), int(row["element"])
            if np.isclose(vn_kv.at[a], vn_kv.at[b]):
                g.add_edge(a, b, switch=int(s))
    group: dict[int, int] = {}
    comps = [c for c in nx.connected_components(g) if c & {int(b) for b in seeds}]
    comps.sort(key=min)
    for k, comp in enumerate(comps):
        for b in comp:
            group[int(b)] = k
    return group


def _couplers(net: Any, busbars: set[int]) -> list[int]:
    """Bus-bus switches with both ends on the station's busbars."""
    sw = net.switch
    if not len(sw):
        return []
    bb = sw[sw["et"].astype(str).eq("b")]
    both = bb["bus"].astype(int).isin(busbars) & bb["element"].astype(int).isin(busbars)
    return [int(s) for s in bb.index[both]]


def _supply_lines(net: Any, hv_buses: set[int]) -> list[int]:
    """In-service lines with an end on the station's HV buses (empty if fed straight from an ext_grid)."""
    ln = net.line
    if not len(ln):
        return []
    ok = in_service(ln)
    touch = ln["from_bus"].astype(int).isin(hv_buses) | ln["to_bus"].astype(int).isin(hv_buses)
    return [int(i) for i in ln.index[touch.to_numpy() & ok]]


def build_stations(net: Any, topo: Topology | None = None) -> Stations:
    """Recognise the stations of ``net``.

    Parameters
    ----------
    net : pandapowerNet
    topo : Topology, optional
        Built with :func:`build_topology` if not given.

    Returns
    -------
    Stations
    """
    topo = build_topology(net) if topo is None else topo
    tr = net.trafo
    main = trafo_is_main(net, radial_max_kv=topo.radial_max_kv).to_numpy() & in_service(tr)
    main_idx = tr.index[main]
    lv_bus = tr.loc[main_idx, "lv_bus"].to_numpy(dtype=np.int64)
    group = _bus_switch_groups(net, lv_bus)
    sn_mva = trafo_rating_mva(net)
    feeders = topo.feeders
    f_bus = feeders["station_bus"].to_numpy(dtype=np.int64) if len(feeders) else np.zeros(0, dtype=np.int64)
    feeder_station = np.array([group.get(int(b), -1) for b in f_bus], dtype=np.int64)
    unit_rows = []
    for t, b in zip(main_idx, lv_bus, strict=True):
        unit_rows.append({"trafo": int(t), "station": group[int(b)], "lv_bus": int(b),
                          "hv_bus": int(tr.at[t, "hv_bus"]), "sn_mva": float(sn_mva.at[t]),
                          "feeders": tuple(int(f) for f in np.flatnonzero(f_bus == b))})
    units = pd.DataFrame(unit_rows, columns=["trafo", "station", "lv_bus", "hv_bus", "sn_mva", "feeders"])
    n_station = len(set(group.values()))
    rows = []
    for s in range(n_station):
        u = units[units["station"] == s]
        busbars = sorted(b for b, k in group.items() if k == s)
        couplers = _couplers(net, set(busbars))
        hv_buses = sorted(set(u["hv_bus"].tolist()))
        unit_sn = tuple(float(x) for x in u["sn_mva"])
        rows.append({
            "name": element_name(net.bus, busbars[0]),
            "hv_kv": float(tr.loc[u["trafo"], "vn_hv_kv"].max()),
            "mv_kv": float(net.bus.loc[busbars, "vn_kv"].max()),
            "units": tuple(int(t) for t in u["trafo"]), "n_units": len(u), "unit_sn_mva": unit_sn,
            "rating_mva": float(sum(unit_sn)), "largest_unit_mva": float(max(unit_sn)),
            "busbars": tuple(busbars), "couplers": tuple(couplers),
            "couplers_closed": tuple(bool(net.switch.at[c, "closed"]) for c in couplers),
            "feeders": tuple(int(f) for f in np.flatnonzero(feeder_station == s)),
            "hv_buses": tuple(hv_buses), "supply_lines": tuple(_supply_lines(net, set(hv_buses))),
        })
    table = pd.DataFrame(rows, columns=["name", "hv_kv", "mv_kv", "units", "n_units", "unit_sn_mva",
                                        "rating_mva", "largest_unit_mva", "busbars", "couplers",
                                        "couplers_closed", "feeders", "hv_buses", "supply_lines"])
    of_bus = pd.Series(-1, index=net.bus.index, dtype=np.int64, name="station")
    for b, k in group.items():
        of_bus.at[b] = k
    return Stations(table=table, unit_table=units, of_bus=of_bus, feeder_station=feeder_station)


def station_problems(net: Any, topo: Topology) -> list[tuple[str, int, str]]:
    """Ambiguous station cases for validation, as ``(table, index, message)``.

    Reports a main transformer whose busbar section feeds no feeder.
    """
    stations = build_stations(net, topo)
    out = []
    for _, u in stations.unit_table.iterrows():
        st = stations.table.loc[u["station"]]
        if not st["feeders"]:
            out.append(("trafo", int(u["trafo"]), "main transformer whose station feeds no feeder"))
    return out


def supply_boundary(net: Any, topo: Topology) -> str:
    """Plain description of where "supply" ends, for ``impact.attrs["supply_boundary"]``.

    Parameters
    ----------
    net : pandapowerNet
    topo : Topology

    Returns
    -------
    str
    """
    st = build_stations(net, topo).table
    if not len(st):
        return ("supply: the external grid(s) and every bus above "
                f"{topo.radial_max_kv:g} kV, taken as perfectly reliable; no main transformer recognised")
    kinds = ", ".join(sorted({f"{hv:g}/{mv:g} kV" for hv, mv in zip(st["hv_kv"], st["mv_kv"], strict=True)}))
    return (f"supply: everything up to and including the {len(st)} station(s) ({kinds}), main transformers, "
            "station busbars, bus couplers and HV supply lines, taken as perfectly reliable; "
            "faults are counted from the MV feeder breakers down")
