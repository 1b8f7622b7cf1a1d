"""Supply zones (供电区域 A+…E): assign ``net.bus.zone`` from a mapping file, per feeder, or by load density."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError
from .defaults import ZONE_DENSITY_BANDS, ZONES
from .facts import bus_xy_km
from .topology import build_topology
from .untrusted import MAX_LISTED_ROWS, missing_columns, read_input_table

__all__ = [
    "assign_zones_by_density",
    "assign_zones_by_feeder",
    "assign_zones_from_mapping",
    "zone_for_density",
]

def zone_for_density(density_mw_per_km2: float | np.ndarray) -> np.ndarray:
    """Supply-area class for load densities in MW/km² (bands of DESIGN.md §7: A+ ≥ 30, A 15–30, …, E < 0.1)."""
    d = np.atleast_1d(np.asarray(density_mw_per_km2, dtype=float))
    out = np.full(d.shape, "E", dtype=object)
    for zone, (lo, hi) in ZONE_DENSITY_BANDS.items():
        out[(d >= lo) & (d < hi)] = zone
    out[np.isnan(d)] = None
    return out


def _covered_area_km2(x: np.ndarray, y: np.ndarray, margin_km: float) -> float:
    """Area of the convex hull of the points grown by ``margin_km`` (exact Minkowski sum with a disk)."""
    from scipy.spatial import ConvexHull, QhullError  # deferred: scipy.spatial is slow to import

    pts = np.unique(np.column_stack([x, y]), axis=0)
    disk = np.pi * margin_km**2
    if len(pts) == 1:
        return disk
    if len(pts) == 2:
        return 2 * margin_km * float(np.hypot(*(pts[1] - pts[0]))) + disk
    try:
        hull = ConvexHull(pts)
        # 2-D hull: volume is the area, area is the perimeter
        return float(hull.volume) + float(hull.area) * margin_km + disk
    except QhullError:  # collinear points: a segment
        span = float(np.hypot(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
        return 2 * margin_km * span + disk


def assign_zones_by_density(
    net: Any,
    *,
    per: Literal["feeder", "network"] = "feeder",
    margin_km: float = 0.1,
    units: Literal["auto", "degrees", "km", "m"] = "auto",
    load_column: str = "p_mw",
) -> pd.DataFrame:
    """Set ``net.bus.zone`` from load density (MW/km²) per feeder or for the whole network, in place.

    The area a group of buses covers is the convex hull of their coordinates grown by ``margin_km`` (each
    bus supplies the ground around it); the load is ``load_column × scaling`` of the loads on those buses.
    Buses of the supply (and buses without coordinates in a feeder with none) take the zone of the feeder
    they feed, or of the whole network.

    Parameters
    ----------
    net : pandapowerNet
        Modified in place (``bus.zone``).
    per : {"feeder", "network"}
        One density per feeder, or one for the whole network.
    margin_km : float
        Supply radius around each bus (km), > 0.
    units : {"auto", "degrees", "km", "m"}
        Coordinate units; see :func:`gridscope.grid.facts.bus_xy_km`.
    load_column : str
        Load column used for the density (peak ``p_mw`` by default, or ``p_avg_mw``).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``load_mw``, ``area_km2``, ``density_mw_per_km2``, ``zone``.
    """
    if margin_km <= 0:
        raise InputError(f"margin_km must be > 0, got {margin_km}")
    if per not in ("feeder", "network"):
        raise InputError(f"per must be 'feeder' or 'network', got {per!r}")
    xy = bus_xy_km(net, units)
    if xy.isna().all(axis=None):
        raise InputError("no bus has geo coordinates: density-based zones need net.bus.geo "
                         "(assign zones by feeder or from a mapping file instead)")
    load = net.load
    p = (load[load_column] * load["scaling"]).where(load["in_service"].astype(bool), 0.0)
    bus_load = p.groupby(load["bus"]).sum().reindex(net.bus.index, fill_value=0.0)
    if per == "network":
        groups = pd.Series("network", index=net.bus.index)
    else:
        topo = build_topology(net)
        names = topo.feeder_name_of(net, "bus")
        groups = names.fillna("(supply)")
    rows = []
    for name, members in groups.groupby(groups).groups.items():
        if name == "(supply)":
            continue
        pts = xy.loc[members].dropna()
        mw = float(bus_load.loc[members].sum())
        area = _covered_area_km2(pts["x_km"].to_numpy(), pts["y_km"].to_numpy(), margin_km) if len(pts) \
            else np.nan
        rows.append({"group": name, "load_mw": mw, "area_km2": area,
                     "density_mw_per_km2": mw / area if area and area > 0 else np.nan})
    table = pd.DataFrame(rows).set_index("group")
    table["zone"] = zone_for_density(table["density_mw_per_km2"].to_numpy())
    zone = groups.map(table["zone"])
    if per == "feeder" and zone.isna().any():
        # supply buses: the zone of the densest feeder they feed (the strictest target)
        rank = {z: i for i, z in enumerate(ZONES)}
        best = min(table["zone"].dropna(), key=lambda z: rank[z]) if table["zone"].notna().any() else None
        zone = zone.fillna(best)
    net.bus["zone"] = zone.astype(object)
    return table


def assign_zones_by_feeder(net: Any, mapping: Mapping[str, str], *, default: str | None = None) -> None:
    """Set ``net.bus.zone`` per feeder name, in place: ``{"F1": "A", "F2": "B"}``.

    Buses of feeders the mapping does not name keep the valid zone they have, else take ``default``. Supply
    buses (the station, not part of any feeder) take ``default`` if given, else keep their zone, else the
    strictest zone given. Unknown feeder names and zone labels raise :class:`~gridscope.errors.ConfigError`
    listing all of them.
    """
    topo = build_topology(net)
    names = topo.feeder_name_of(net, "bus")
    known = set(topo.feeders["name"])
    problems = [f"unknown feeder {k!r}" for k in mapping if k not in known]
    problems += [f"unknown zone {v!r} for feeder {k!r}" for k, v in mapping.items() if v not in ZONES]
    if default is not None and default not in ZONES:
        problems.append(f"unknown default zone {default!r}")
    if problems:
        raise ConfigError("; ".join(problems) + f" (feeders: {', '.join(sorted(known))}; zones: "
                          f"{', '.join(ZONES)})")
    zone = names.map(dict(mapping)).astype(object)
    existing = net.bus["zone"].where(net.bus["zone"].isin(ZONES)) if "zone" in net.bus \
        else pd.Series(None, index=net.bus.index, dtype=object)
    # buses of feeders the mapping does not name keep a valid zone they have, else take the default
    other = names.notna() & zone.isna()
    zone[other] = existing[other]
    supply = names.isna()
    if default is not None:
        zone[zone.isna()] = default
    elif mapping:
        # supply buses without a zone: the strictest zone among the feeders given (they feed those feeders)
        rank = {z: i for i, z in enumerate(ZONES)}
        strictest = min(mapping.values(), key=lambda z: rank[z])
        fill = supply & zone.isna()
        zone[fill] = existing[fill].fillna(strictest)
    net.bus["zone"] = zone.astype(object)


def assign_zones_from_mapping(net: Any, path: str | os.PathLike[str], *, default: str | None = None,
                              sheet: str | int = 0) -> None:
    """Set ``net.bus.zone`` from a CSV or Excel (``.xlsx``) file, in place.

    The file has a ``zone`` column and either a ``bus`` column (bus names, or bus indices when the column is
    integer) or a ``feeder`` column (feeder names); rows of both kinds may be mixed in one file, bus rows win.
    The file is read by :func:`gridscope.grid.untrusted.read_input_table` (size limit, UTF-8 or GB18030 text,
    no repeated columns). All problems -- missing columns, and every bad row by its file row number (header =
    row 1): unknown buses, feeders or zone labels, rows naming neither, a bus or feeder given twice with
    different zones -- are reported at once as a :class:`~gridscope.errors.ConfigError`.
    """
    table = read_input_table(path, what="zone mapping file", sheet=sheet, error=ConfigError)
    table.columns = [str(c).strip().lower() for c in table.columns]
    table = table.astype(str).apply(lambda c: c.str.strip())
    absent = missing_columns(table, ["zone", ("bus", "feeder")])
    if absent:
        raise ConfigError(f"{path}: needs a 'zone' column and a 'bus' or 'feeder' column (missing: "
                          f"{', '.join(absent)}), found {list(table.columns)}")
    if not len(table):
        raise ConfigError(f"{path}: the zone mapping has no rows")
    problems: list[str] = []
    blank = pd.Series("", index=table.index)
    bus_col, feeder_col = table.get("bus", blank), table.get("feeder", blank)
    for i, z in table["zone"].items():
        if z not in ZONES:
            problems.append(f"row {i + 2}: unknown zone {z!r}" + (" (zones: " + ", ".join(ZONES) + ")"
                                                                  if z.upper() in ZONES else ""))
        if not bus_col[i] and not feeder_col[i]:
            problems.append(f"row {i + 2}: names neither a bus nor a feeder")
    feeder_rows = table[feeder_col != ""] if "feeder" in table.columns else table.iloc[:0]
    bus_rows = table[bus_col != ""] if "bus" in table.columns else table.iloc[:0]
    by_name = pd.Series(net.bus.index, index=net.bus["name"].astype(str)) if "name" in net.bus else None
    bus_targets: dict[int, str] = {}
    bus_row_of: dict[int, int] = {}
    for i, row in bus_rows.iterrows():
        key = row["bus"]
        if by_name is not None and key in by_name.index:
            hits = by_name.loc[[key]].to_numpy().tolist()
            if len(hits) > 1:
                problems.append(f"row {i + 2}: bus name {key!r} is not unique (buses "
                                f"{', '.join(map(str, hits))}): use the bus index")
                continue
            bus = int(hits[0])
        elif key.lstrip("-").isdigit() and int(key) in net.bus.index:
            bus = int(key)
        else:
            problems.append(f"row {i + 2}: unknown bus {key!r}")
            continue
        if bus in bus_targets and bus_targets[bus] != row["zone"]:
            problems.append(f"row {i + 2}: bus {key!r} is given zone {row['zone']!r}, row {bus_row_of[bus]} gave "
                            f"{bus_targets[bus]!r}")
            continue
        bus_targets[bus], bus_row_of[bus] = row["zone"], int(i) + 2
    feeder_map: dict[str, str] = {}
    if len(feeder_rows):
        known = set(build_topology(net).feeders["name"])
        feeder_row_of: dict[str, int] = {}
        for i, row in feeder_rows.iterrows():
            f = row["feeder"]
            if f not in known:
                problems.append(f"row {i + 2}: unknown feeder {f!r}")
            elif f in feeder_map and feeder_map[f] != row["zone"]:
                problems.append(f"row {i + 2}: feeder {f!r} is given zone {row['zone']!r}, row "
                                f"{feeder_row_of[f]} gave {feeder_map[f]!r}")
            else:
                feeder_map[f], feeder_row_of[f] = row["zone"], int(i) + 2
    if problems:
        shown = problems[:MAX_LISTED_ROWS] + ([f"... and {len(problems) - MAX_LISTED_ROWS} more"]
                                              if len(problems) > MAX_LISTED_ROWS else [])
        raise ConfigError(f"{path}: " + "; ".join(shown))
    if feeder_map:
        assign_zones_by_feeder(net, feeder_map, default=default)
    elif default is not None:
        net.bus["zone"] = net.bus["zone"].where(net.bus["zone"].isin(ZONES), default) \
            if "zone" in net.bus else default
    for b, z in bus_targets.items():
        net.bus.at[b, "zone"] = z
