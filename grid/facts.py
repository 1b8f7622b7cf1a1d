"""Network facts: the one place every module asks for element ratings, transformer roles, labels,
in-service masks, reactive power from a power factor and bus coordinates.

Every function is a pure, vectorised reading of a pandapower net (nothing is modified, no Python loop runs
over the elements). The rules, stated once:

* **Ratings.** A line carries ``max_i_ka × df × parallel`` kA (``df`` and ``parallel`` default to 1), i.e.
  ``√3 × vn_kv(from bus) × max_i_ka × df × parallel`` MVA; a two-winding transformer ``sn_mva × df ×
  parallel`` MVA; a three-winding transformer ``sn_hv_mva``; an external grid its ``sn_mva`` where that is a
  positive number, else its ``max_p_mw``, else unknown (NaN).
* **Transformer role.** A transformer is a *main* (station, HV/MV) transformer when its HV side is above
  :data:`RADIAL_MAX_KV`, or when its LV side is medium voltage (≥ :data:`MV_MIN_KV`) and its LV busbar feeds
  breaker-fed feeders (a ``CB`` switch heads a line out of that busbar, or out of a bus joined to it by
  closed bus-bus switches at the same voltage: an incomer breaker or disconnector between the transformer
  and its busbar). A 110/20 kV, a 66/10 kV and a 35/10 kV station are main transformers; 10/0.4 kV units
  are distribution transformers.
* **In service.** A missing ``in_service`` column means every element is in service; NaN means out of
  service; the text ``"True"``/``"False"`` (from a spreadsheet) is read as the boolean it names.
* **Labels.** ``"<table> <index>"``, followed by ``" (<name>)"`` when the element has a non-empty name.
* **Coordinates.** From pandapower's ``geo`` GeoJSON column, else the legacy ``bus_geodata`` table. They are
  longitude/latitude when every point lies in the geographic range, the points span less than
  :data:`LONLAT_MAX_SPAN_DEG` on both axes and every latitude is at least :data:`LONLAT_MIN_ABS_LAT_DEG` away
  from the equator (a schematic drawn in km round the origin is not mistaken for degrees); otherwise km.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "KM_PER_DEG_LAT",
    "KM_PER_DEG_LON_EQUATOR",
    "LONLAT_MAX_SPAN_DEG",
    "LONLAT_MIN_ABS_LAT_DEG",
    "MV_MIN_KV",
    "RADIAL_MAX_KV",
    "bus_is_supply_level",
    "bus_xy",
    "bus_xy_km",
    "coords_are_lonlat",
    "element_label",
    "element_labels",
    "element_name",
    "element_names",
    "ext_grid_rating_mva",
    "in_service",
    "line_rating_ka",
    "line_rating_mva",
    "q_from_pf",
    "trafo3w_is_main",
    "trafo3w_rating_mva",
    "trafo_is_main",
    "trafo_rating_mva",
    "trafo_role",
]

#: Buses at or below this nominal voltage (kV) belong to the radially operated distribution part; above it the
#: network is the (meshed, perfectly reliable) supply. Transformers whose HV side is above it are main
#: transformers whatever feeds from them.
RADIAL_MAX_KV: float = 36.0

#: Lowest medium voltage (kV): an LV side at or above it can be a station's MV busbar.
MV_MIN_KV: float = 1.0

#: Coordinates spanning less than this (degrees) on both axes may be longitude/latitude (a distribution grid
#: is far smaller than 5° ≈ 550 km).
LONLAT_MAX_SPAN_DEG: float = 5.0

#: Every latitude must be at least this far from the equator (degrees) for coordinates to count as lon/lat.
LONLAT_MIN_ABS_LAT_DEG: float = 5.0

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320

_SQRT3 = float(np.sqrt(3.0))
_TRUE_TEXT = frozenset({"true", "t", "yes", "y", "1", "1.0"})


# ---------------------------------------------------------------------------------------------- helpers
def _numbers(df: pd.DataFrame, column: str, default: float) -> np.ndarray:
    """``df[column]`` as floats, ``default`` where the column or a value is missing."""
    if column not in df.columns:
        return np.full(len(df), float(default))
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(values), float(default), values)


# ---------------------------------------------------------------------------------------------- in service
def in_service(df: pd.DataFrame) -> np.ndarray:
    """Boolean in-service mask of an element table, one rule for every module.

    Parameters
    ----------
    df : pandas.DataFrame
        An element table (``net.line``, ``net.trafo``, ...).

    Returns
    -------
    numpy.ndarray
        ``True`` where in service. A missing ``in_service`` column gives all ``True``; NaN/None gives
        ``False``; text is read as what it says (``"True"`` → True, ``"False"`` → False).
    """
    if "in_service" not in df.columns:
        return np.ones(len(df), dtype=bool)
    col = df["in_service"]
    if col.dtype == bool:
        return col.to_numpy(dtype=bool)
    if col.dtype.kind in "iuf":
        values = col.to_numpy(dtype=float)
        return ~np.isnan(values) & (values != 0)
    text = col.astype(str).str.strip().str.lower()
    return (text.isin(_TRUE_TEXT) & col.notna()).to_numpy(dtype=bool)


# ---------------------------------------------------------------------------------------------- ratings
def line_rating_ka(net: Any) -> pd.Series:
    """Thermal rating of every line in kA: ``max_i_ka × df × parallel`` (``df``, ``parallel`` default 1).

    Returns
    -------
    pandas.Series
        Indexed like ``net.line``.
    """
    line = net.line
    ka = _numbers(line, "max_i_ka", np.nan) * _numbers(line, "df", 1.0) * _numbers(line, "parallel", 1.0)
    return pd.Series(ka, index=line.index, name="rating_ka")


def line_rating_mva(net: Any) -> pd.Series:
    """Thermal rating of every line in MVA: ``√3 × vn_kv(from bus) × line_rating_ka``.

    Returns
    -------
    pandas.Series
        Indexed like ``net.line``.
    """
    line = net.line
    vn_kv = net.bus["vn_kv"].reindex(line["from_bus"]).to_numpy(dtype=float) if len(line) else np.zeros(0)
    return pd.Series(_SQRT3 * vn_kv * line_rating_ka(net).to_numpy(), index=line.index, name="rating_mva")


def trafo_rating_mva(net: Any) -> pd.Series:
    """Rating of every two-winding transformer in MVA: ``sn_mva × df × parallel`` (defaults 1).

    Returns
    -------
    pandas.Series
        Indexed like ``net.trafo``.
    """
    tr = net.trafo
    mva = _numbers(tr, "sn_mva", np.nan) * _numbers(tr, "df", 1.0) * _numbers(tr, "parallel", 1.0)
    return pd.Series(mva, index=tr.index, name="rating_mva")


def trafo3w_rating_mva(net: Any) -> pd.Series:
    """Rating of every three-winding transformer in MVA: its HV winding's ``sn_hv_mva``.

    Returns
    -------
    pandas.Series
        Indexed like ``net.trafo3w``.
    """
    t3 = net.trafo3w
    return pd.Series(_numbers(t3, "sn_hv_mva", np.nan), index=t3.index, name="rating_mva")


def ext_grid_rating_mva(net: Any) -> pd.Series:
    """Rating of every external grid in MVA: ``sn_mva`` where a positive number, else ``max_p_mw``, else NaN.

    Returns
    -------
    pandas.Series
        Indexed like ``net.ext_grid``; NaN where the grid's capacity is unknown (unlimited source).
    """
    eg = net.ext_grid
    rating = np.full(len(eg), np.nan)
    for column in ("max_p_mw", "sn_mva"):  # later columns win: sn_mva over max_p_mw
        values = _numbers(eg, column, np.nan)
        rating = np.where(np.isfinite(values) & (values > 0), values, rating)
    return pd.Series(rating, index=eg.index, name="rating_mva")


# ---------------------------------------------------------------------------------------------- roles
def _station_busbar_groups(net: Any) -> np.ndarray:
    """A group label per ``net.bus`` row: buses joined by closed bus-bus switches at one nominal voltage share
    a label (a transformer's LV terminal, its incomer switch and the busbar behind it)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    bus_rows = pd.Index(net.bus.index)
    sw = net.switch
    closed = (in_service(sw[["closed"]].set_axis(["in_service"], axis=1)) if "closed" in sw.columns
              else np.ones(len(sw), dtype=bool))
    bb = sw[sw["et"].astype(str).eq("b").to_numpy() & closed]
    a = bus_rows.get_indexer(bb["bus"].to_numpy(dtype=np.int64))
    b = bus_rows.get_indexer(bb["element"].to_numpy(dtype=np.int64))
    vn_kv = _numbers(net.bus, "vn_kv", np.nan)
    keep = (a >= 0) & (b >= 0)
    keep[keep] = np.isclose(vn_kv[a[keep]], vn_kv[b[keep]])
    g = coo_matrix((np.ones(int(keep.sum()), dtype=np.int8), (a[keep], b[keep])), shape=(len(bus_rows),) * 2)
    return connected_components(g, directed=False)[1]


def _buses_heading_cb_feeders(net: Any) -> np.ndarray:
    """Bus indices with a ``CB`` switch heading a line out of them, or joined to such a bus by closed
    bus-bus switches at the same voltage (an incomer switch between a transformer and its busbar)."""
    sw = net.switch
    if not len(sw):
        return np.zeros(0, dtype=np.int64)
    is_cb = sw["type"].astype(str).str.strip().str.upper().eq("CB") & sw["et"].astype(str).eq("l")
    heads = np.unique(sw.loc[is_cb, "bus"].to_numpy(dtype=np.int64))
    if not heads.size:
        return heads
    group = _station_busbar_groups(net)
    pos = pd.Index(net.bus.index).get_indexer(heads)
    return np.sort(net.bus.index.to_numpy(dtype=np.int64)[np.isin(group, group[pos[pos >= 0]])])


def trafo_is_main(net: Any, *, radial_max_kv: float = RADIAL_MAX_KV) -> pd.Series:
    """True for main (station, HV/MV) transformers, by role (see the module docstring).

    Parameters
    ----------
    net : pandapowerNet
    radial_max_kv : float
        An HV side above this voltage makes a main transformer whatever it feeds.

    Returns
    -------
    pandas.Series
        Boolean, indexed like ``net.trafo``.
    """
    tr = net.trafo
    hv_kv = _numbers(tr, "vn_hv_kv", np.nan)
    lv_kv = _numbers(tr, "vn_lv_kv", np.nan)
    feeds_cb = np.isin(tr["lv_bus"].to_numpy(dtype=np.int64), _buses_heading_cb_feeders(net)) if len(tr) \
        else np.zeros(0, dtype=bool)
    main = (hv_kv > radial_max_kv) | ((lv_kv >= MV_MIN_KV) & feeds_cb)
    return pd.Series(main, index=tr.index, name="is_main", dtype=bool)


def trafo_role(net: Any, *, radial_max_kv: float = RADIAL_MAX_KV) -> pd.Series:
    """``"main"`` or ``"distribution"`` for every two-winding transformer (rule of :func:`trafo_is_main`).

    Returns
    -------
    pandas.Series
        Indexed like ``net.trafo``.
    """
    main = trafo_is_main(net, radial_max_kv=radial_max_kv)
    return pd.Series(np.where(main.to_numpy(), "main", "distribution"), index=main.index, name="role",
                     dtype=object)


def trafo3w_is_main(net: Any, *, radial_max_kv: float = RADIAL_MAX_KV) -> pd.Series:
    """True for main three-winding transformers: the rule of :func:`trafo_is_main` with the MV or LV winding
    as the LV side (HV above ``radial_max_kv``, or a winding of ≥ 1 kV at a busbar heading breaker-fed feeders).

    Returns
    -------
    pandas.Series
        Boolean, indexed like ``net.trafo3w``.
    """
    t3 = net.trafo3w
    main = _numbers(t3, "vn_hv_kv", np.nan) > radial_max_kv
    if len(t3):
        cb_buses = _buses_heading_cb_feeders(net)
        for side in ("mv", "lv"):
            feeds_cb = np.isin(t3[f"{side}_bus"].to_numpy(dtype=np.int64), cb_buses)
            main |= (_numbers(t3, f"vn_{side}_kv", np.nan) >= MV_MIN_KV) & feeds_cb
    return pd.Series(main, index=t3.index, name="is_main", dtype=bool)


def bus_is_supply_level(net: Any, *, radial_max_kv: float = RADIAL_MAX_KV) -> np.ndarray:
    """Per bus (``net.bus`` order): at a supply (subtransmission or higher) voltage.

    Above ``radial_max_kv``; and, where a main transformer (by role) has its HV side at or below
    ``radial_max_kv`` (a 35/10 kV station), at or above that HV voltage too: the lines feeding such a
    station are subtransmission, part of the supply.
    """
    vn_kv = net.bus["vn_kv"].to_numpy(dtype=float)
    main = trafo_is_main(net, radial_max_kv=radial_max_kv).to_numpy()
    hv_kv = _numbers(net.trafo, "vn_hv_kv", np.nan)[main]
    low_station_kv = hv_kv[hv_kv <= radial_max_kv]
    floor_kv = float(low_station_kv.min()) if low_station_kv.size else np.inf
    return (vn_kv > radial_max_kv) | (vn_kv >= floor_kv)


# ---------------------------------------------------------------------------------------------- labels
def element_names(df: pd.DataFrame) -> pd.Series:
    """The ``name`` of every element as text, ``""`` where missing (no column, None, NaN or empty)."""
    if "name" not in df.columns:
        return pd.Series("", index=df.index, name="name", dtype=object)
    names = df["name"]
    return names.astype(str).where(names.notna(), "").astype(object).rename("name")


def element_name(df: pd.DataFrame, index: Any) -> str:
    """The ``name`` of one element as text, ``""`` where missing."""
    if "name" not in df.columns:
        return ""
    value = df.at[index, "name"]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def element_label(table: str, index: Any, name: str | None) -> str:
    """Display label of one element: ``"line 5 (S1)"``, or ``"line 5"`` when it has no name."""
    return f"{table} {index}" + (f" ({name})" if name else "")


def element_labels(net: Any, table: str) -> pd.Series:
    """Display labels (:func:`element_label`) of every row of ``net[table]``.

    Returns
    -------
    pandas.Series
        Indexed like ``net[table]``.
    """
    df = net[table]
    names = element_names(df)
    prefix = pd.Series(f"{table} ", index=df.index, dtype=object) + df.index.astype(str).to_numpy()
    suffix = (" (" + names + ")").where(names.ne(""), "")
    return (prefix + suffix).rename("label")


# ---------------------------------------------------------------------------------------------- power
def q_from_pf(p_mw: Any, pf: Any) -> Any:
    """Reactive power (Mvar) of a load drawing ``p_mw`` at power factor ``pf``, lagging positive.

    ``q = p × tan(arccos(pf))``, e.g. 1 MW at 0.95 → 0.3287 Mvar.

    Raises
    ------
    InputError
        ``pf`` is not in (0, 1].
    """
    pf_arr = np.asarray(pf, dtype=float)
    if not np.all((pf_arr > 0.0) & (pf_arr <= 1.0)):
        raise InputError(f"power factor must be in (0, 1], got {pf!r}")
    q = np.asarray(p_mw, dtype=float) * np.tan(np.arccos(pf_arr))
    return float(q) if q.ndim == 0 else q


# ---------------------------------------------------------------------------------------------- coordinates
_COORDS_RE = r"""['"]coordinates['"]\s*:\s*[\[(]\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)"""


def bus_xy(net: Any) -> pd.DataFrame:
    """Bus coordinates as stored (columns ``x``, ``y``; NaN where a bus has none).

    Read from pandapower's ``geo`` column (GeoJSON points, as text or dict); when no bus has one, from the
    legacy ``bus_geodata`` table.
    """
    bus = net.bus
    x = np.full(len(bus), np.nan)
    y = np.full(len(bus), np.nan)
    if "geo" in bus.columns and len(bus):
        geo = bus["geo"]
        parts = geo.astype(str).where(geo.notna(), "").str.extract(_COORDS_RE)
        x = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float)
    if np.isnan(x).all() and "bus_geodata" in net and len(net["bus_geodata"]):
        legacy = net["bus_geodata"].reindex(bus.index)
        x, y = legacy["x"].to_numpy(dtype=float), legacy["y"].to_numpy(dtype=float)
    return pd.DataFrame({"x": x, "y": y}, index=bus.index)


def coords_are_lonlat(xy: pd.DataFrame) -> bool:
    """Whether coordinates (columns ``x``, ``y``) are longitude/latitude; the rule is in the module docstring."""
    x = xy["x"].to_numpy(dtype=float)
    y = xy["y"].to_numpy(dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    if not ok.any():
        return False
    x, y = x[ok], y[ok]
    in_range = bool((np.abs(x) <= 180.0).all() and (np.abs(y) <= 90.0).all())
    small = bool(np.ptp(x) < LONLAT_MAX_SPAN_DEG and np.ptp(y) < LONLAT_MAX_SPAN_DEG)
    off_equator = bool(np.abs(y).min() >= LONLAT_MIN_ABS_LAT_DEG)
    return in_range and small and off_equator


def bus_xy_km(net: Any, units: Literal["auto", "degrees", "km", "m"] = "auto") -> pd.DataFrame:
    """Bus coordinates in km (columns ``x_km``, ``y_km``; NaN where a bus has none).

    Parameters
    ----------
    net : pandapowerNet
    units : {"auto", "degrees", "km", "m"}
        ``"auto"`` applies :func:`coords_are_lonlat`. Degrees are projected equirectangularly at the mean
        latitude (error < 0.5 % over a distribution grid); ``"m"`` divides by 1000.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``net.bus``.
    """
    xy = bus_xy(net)
    x, y = xy["x"].to_numpy(), xy["y"].to_numpy()
    if units == "auto":
        units = "degrees" if coords_are_lonlat(xy) else "km"
    if units == "degrees":
        lat0 = np.deg2rad(np.nanmean(y)) if np.isfinite(y).any() else 0.0
        x = x * KM_PER_DEG_LON_EQUATOR * np.cos(lat0)
        y = y * KM_PER_DEG_LAT
    elif units == "m":
        x, y = x / 1000.0, y / 1000.0
    elif units != "km":
        raise InputError(f"units must be 'auto', 'degrees', 'km' or 'm', got {units!r}")
    return pd.DataFrame({"x_km": x, "y_km": y}, index=net.bus.index)
