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

from .facts import MV_MIN_KV, RADIAL_MAX_KV, element_name, in_service, trafo_is_main, trafo_rating_mva
from .topology import Topology, build_topology


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


def _bus_bus_switches(net: Any) -> pd.DataFrame:
    """Bus-bus switches as ``switch``, ``a``, ``b`` (bus indices), in switch-table order."""
    sw = net.switch
    if not len(sw):
        return pd.DataFrame({"switch": np.zeros(0, np.int64), "a": np.zeros(0, np.int64),
                             "b": np.zeros(0, np.int64)})
    bb = sw[sw["et"].astype(str).eq("b").to_numpy()]
    return pd.DataFrame({"switch": bb.index.to_numpy(dtype=np.int64), "a": bb["bus"].to_numpy(dtype=np.int64),
                         "b": bb["element"].to_numpy(dtype=np.int64)})


def _bus_switch_groups(net: Any, seeds: np.ndarray, bb: pd.DataFrame) -> dict[int, int]:
    """Group id per bus reachable from ``seeds`` through bus-bus switches (open or closed), same voltage;
    groups numbered in the order of their smallest bus index."""
    from scipy.sparse import coo_matrix  # deferred: scipy.sparse is slow to import
    from scipy.sparse.csgraph import connected_components

    bus_idx = net.bus.index.to_numpy(dtype=np.int64)
    rows = pd.Index(bus_idx)
    ia, ib = rows.get_indexer(bb["a"].to_numpy()), rows.get_indexer(bb["b"].to_numpy())
    vn_kv = pd.to_numeric(net.bus["vn_kv"], errors="coerce").to_numpy(dtype=float)
    keep = (ia >= 0) & (ib >= 0)
    keep[keep] = np.isclose(vn_kv[ia[keep]], vn_kv[ib[keep]])
    n = bus_idx.size
    label = connected_components(coo_matrix((np.ones(int(keep.sum()), np.int8), (ia[keep], ib[keep])),
                                            shape=(n, n)), directed=False)[1]
    seed_rows = rows.get_indexer(np.asarray(seeds, dtype=np.int64))
    member = np.isin(label, label[seed_rows[seed_rows >= 0]])
    first = pd.Series(bus_idx[member]).groupby(label[member]).min().sort_values()
    number = pd.Series(np.arange(first.size), index=first.index)
    return dict(zip(bus_idx[member].tolist(), number.reindex(label[member]).to_numpy().tolist(), strict=True))


def _couplers(bb: pd.DataFrame, of_bus: pd.Series) -> pd.Series:
    """Station id per bus-bus switch with both ends on that station's busbars (``-1`` for the others)."""
    sa = of_bus.reindex(bb["a"].to_numpy()).fillna(-1).to_numpy(dtype=np.int64)
    sb = of_bus.reindex(bb["b"].to_numpy()).fillna(-1).to_numpy(dtype=np.int64)
    return pd.Series(np.where((sa >= 0) & (sa == sb), sa, -1), index=bb["switch"].to_numpy())


def _supply_lines(net: Any, hv_station: pd.DataFrame) -> dict[int, tuple[int, ...]]:
    """Per station: in-service lines with an end on its HV buses (none if fed straight from an ext_grid);
    ``hv_station`` has one row per (``hv_bus``, ``station``)."""
    ln = net.line
    if not len(ln) or not len(hv_station):
        return {}
    ends = pd.DataFrame({"line": np.tile(ln.index.to_numpy(dtype=np.int64), 2),
                         "hv_bus": np.concatenate([ln["from_bus"].to_numpy(dtype=np.int64),
                                                   ln["to_bus"].to_numpy(dtype=np.int64)]),
                         "ok": np.tile(in_service(ln), 2)})
    hit = ends[ends["ok"]].merge(hv_station, on="hv_bus")[["station", "line"]].drop_duplicates()
    return {int(k): tuple(int(x) for x in sorted(v)) for k, v in hit.groupby("station")["line"]}


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
    bb = _bus_bus_switches(net)
    group = _bus_switch_groups(net, lv_bus, bb)
    of_bus = pd.Series(-1, index=net.bus.index, dtype=np.int64, name="station")
    if group:
        of_bus[list(group)] = np.asarray(list(group.values()), dtype=np.int64)
    sn_mva = trafo_rating_mva(net)
    feeders = topo.feeders
    f_bus = feeders["station_bus"].to_numpy(dtype=np.int64) if len(feeders) else np.zeros(0, dtype=np.int64)
    feeder_station = of_bus.reindex(f_bus).fillna(-1).to_numpy(dtype=np.int64)
    f_of_bus = pd.Series(np.arange(f_bus.size), index=f_bus).groupby(level=0).agg(tuple)
    units = pd.DataFrame({
        "trafo": main_idx.to_numpy(dtype=np.int64),
        "station": of_bus.reindex(lv_bus).to_numpy(dtype=np.int64),
        "lv_bus": lv_bus,
        "hv_bus": tr.loc[main_idx, "hv_bus"].to_numpy(dtype=np.int64),
        "sn_mva": sn_mva.reindex(main_idx).to_numpy(dtype=float),
        "feeders": [tuple(int(f) for f in f_of_bus.get(int(b), ())) for b in lv_bus],
    }, columns=["trafo", "station", "lv_bus", "hv_bus", "sn_mva", "feeders"])
    n_station = len(set(group.values()))
    coupler_of = _couplers(bb, of_bus)
    supply_lines = _supply_lines(net, units[["hv_bus", "station"]].drop_duplicates())
    busbars_of = (pd.Series(list(group), dtype=np.int64).groupby(list(group.values())).agg(sorted) if group
                  else pd.Series(dtype=object))
    closed = net.switch["closed"] if len(net.switch) else pd.Series(dtype=bool)
    rows = []
    for s in range(n_station):
        u = units[units["station"] == s]
        busbars = [int(x) for x in busbars_of.at[s]]
        couplers = [int(c) for c in coupler_of.index[coupler_of.to_numpy() == s]]
        unit_sn = tuple(float(x) for x in u["sn_mva"])
        rows.append({
            "name": element_name(net.bus, busbars[0]),
            "hv_kv": float(tr.loc[u["trafo"], "vn_hv_kv"].max()),
            "mv_kv": float(net.bus.loc[busbars, "vn_kv"].max()),
            "units": tuple(int(t) for t in u["trafo"]), "n_units": len(u), "unit_sn_mva": unit_sn,
            "rating_mva": float(sum(unit_sn)), "largest_unit_mva": float(max(unit_sn)),
            "busbars": tuple(busbars), "couplers": tuple(couplers),
            "couplers_closed": tuple(bool(closed.at[c]) for c in couplers),
            "feeders": tuple(int(f) for f in np.flatnonzero(feeder_station == s)),
            "hv_buses": tuple(sorted(set(u["hv_bus"].tolist()))), "supply_lines": supply_lines.get(s, ()),
        })
    table = pd.DataFrame(rows, columns=["name", "hv_kv", "mv_kv", "units", "n_units", "unit_sn_mva",
                                        "rating_mva", "largest_unit_mva", "busbars", "couplers",
                                        "couplers_closed", "feeders", "hv_buses", "supply_lines"])
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


def role_warnings(net: Any, *, radial_max_kv: float = RADIAL_MAX_KV) -> list[tuple[str, int, str]]:
    """Transformers whose role (main or distribution) is ambiguous, as ``(table, index, message)`` warnings.

    A warning, not a problem: the analysis runs, but the user should check the role it took. Reported: an
    in-service two-winding transformer with both sides at distribution voltage and medium voltage on its
    LV side (a 35/10 kV or 20/10 kV unit, HV ≤ ``radial_max_kv``, LV ≥ ``MV_MIN_KV``) that the role rule
    (:func:`gridscope.grid.facts.trafo_is_main`) takes as a *distribution* transformer because no
    breaker-fed feeder leaves its LV busbar: it fails with distribution-transformer data and everything
    below it is one feeder. If it is a station transformer, a ``CB`` at each feeder head makes it one.

    Parameters
    ----------
    net : pandapowerNet
    radial_max_kv : float

    Returns
    -------
    list of tuple
    """
    tr = net.trafo
    if not len(tr):
        return []
    hv_kv = pd.to_numeric(tr["vn_hv_kv"], errors="coerce").to_numpy(dtype=float)
    lv_kv = pd.to_numeric(tr["vn_lv_kv"], errors="coerce").to_numpy(dtype=float)
    main = trafo_is_main(net, radial_max_kv=radial_max_kv).to_numpy(dtype=bool)
    odd = in_service(tr) & ~main & (hv_kv <= radial_max_kv) & (lv_kv >= MV_MIN_KV)
    return [("trafo", int(t), f"{hv:g}/{lv:g} kV transformer taken as a distribution transformer (it fails "
             "with distribution-transformer data and everything below it is one feeder): no breaker-fed "
             "feeder leaves its LV busbar; if it is a station transformer, put a CB at each feeder head")
            for t, hv, lv in zip(tr.index[odd], hv_kv[odd], lv_kv[odd], strict=True)]


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
