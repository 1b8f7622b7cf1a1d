"""Reliability results as an :class:`xarray.Dataset`: indices by zone, feeder, load point and component.

Layout (DESIGN.md §4):

* dimension ``zone``: the supply-zone labels present, then ``"system"``;
* dimension ``feeder``: feeder names; ``load``: ``net.load`` index (load points in service and supplied) with
  coordinates ``load_name``, ``load_feeder`` (feeder name, ``""`` at the supply) and ``load_zone``;
  ``component``: 0..n-1 with coordinates ``component_element``, ``component_index``, ``component_name``,
  ``component_feeder``;
* indices ``SAIFI``, ``SAIDI``, ``CAIDI``, ``ASAI``, ``ASUI``, ``ENS``, ``AENS`` (fault + planned) with the
  splits ``<index>_fault`` and ``<index>_planned`` (故障停电 / 预安排停电), per zone; the same with a
  ``feeder_`` prefix per feeder;
* ``lp_failure_rate``, ``lp_unavailability``, ``lp_duration`` per load point (and ``_fault`` / ``_planned``);
* ``contrib_SAIDI``, ``contrib_ENS`` (component × zone) and their shares ``contrib_SAIDI_share``,
  ``contrib_ENS_share``;
* targets: ``asai_target``, ``saidi_target_h``, ``meets_target``, ``margin_h`` per zone;
* Monte Carlo adds ``<index>_stderr``, ``<index>_cov``, ``<index>_quantile`` (zone × quantile) and
  ``p_miss_target``.

Every variable has ``units`` and ``long_name`` attrs; the dataset's attrs carry the provenance.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..grid.defaults import HOURS_PER_YEAR

__all__ = ["INDEX_UNITS", "LOAD_LABELS", "build_dataset", "contributions", "indices_from_sums", "target_variables",
           "to_dataframe"]


INDEX_UNITS: dict[str, tuple[str, str]] = {
    "SAIFI": ("1/(customer*yr)", "system average interruption frequency index (用户平均停电次数)"),
    "SAIDI": ("h/(customer*yr)", "system average interruption duration index (用户平均停电时间)"),
    "CAIDI": ("h", "customer average interruption duration index"),
    "ASAI": ("1", "average service availability index (供电可靠率 RS-1)"),
    "ASUI": ("1", "average service unavailability index"),
    "ENS": ("MWh/yr", "energy not supplied"),
    "AENS": ("kWh/(customer*yr)", "average energy not supplied"),
}
OUTAGES = ("fault", "planned")


def indices_from_sums(ci: np.ndarray, ch: np.ndarray, ens_mwh: np.ndarray, customers: np.ndarray
                      ) -> dict[str, np.ndarray]:
    """Indices from yearly customer interruptions, customer hours and energy not supplied per group."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.asarray(customers, dtype=float)
        saifi = np.where(n > 0, ci / n, np.nan)
        saidi = np.where(n > 0, ch / n, np.nan)
        caidi = np.where(saifi > 0, saidi / saifi, np.nan)
        return {
            "SAIFI": saifi,
            "SAIDI": saidi,
            "CAIDI": caidi,
            "ASAI": 1.0 - saidi / HOURS_PER_YEAR,
            "ASUI": saidi / HOURS_PER_YEAR,
            "ENS": np.asarray(ens_mwh, dtype=float),
            "AENS": np.where(n > 0, ens_mwh * 1000.0 / n, np.nan),
        }


def _counts(values: np.ndarray) -> np.ndarray:
    """Customer counts as int64 when they are whole numbers (the data contract), else unchanged floats."""
    v = np.asarray(values, dtype=float)
    return v.astype(np.int64) if np.all(np.isfinite(v) & (v == np.round(v))) else v


def _var(dims: tuple[str, ...], data: np.ndarray, name: str) -> tuple[tuple[str, ...], np.ndarray, dict]:
    base = name.replace("feeder_", "")
    for suffix in ("_fault", "_planned", "_stderr", "_cov", "_quantile"):
        base = base.replace(suffix, "")
    units, long = INDEX_UNITS.get(base, ("", base))
    if name.endswith("_cov"):
        units = "1"
    kind = " (fault outages)" if "_fault" in name else " (planned outages)" if "_planned" in name else ""
    return dims, data, {"units": units, "long_name": long + kind}


def build_dataset(
    impact: Any,
    *,
    lam: dict[str, np.ndarray],
    unav_h: dict[str, np.ndarray],
    group_sums: dict[str, dict[str, np.ndarray]],
    feeder_sums: dict[str, dict[str, np.ndarray]],
    comp_ch: np.ndarray,
    comp_ens: np.ndarray,
    targets: pd.DataFrame,
    attrs: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Any:
    """Assemble the results dataset from per-load, per-group and per-component values of either method.

    Parameters
    ----------
    impact : Impact
    lam, unav_h : dict
        ``{"fault": array, "planned": array}`` per load position: interruptions/yr and hours/yr.
    group_sums : dict
        ``{"fault"|"planned": {"ci", "ch", "ens"}}`` arrays over zones + system (yearly expectations).
    feeder_sums : dict
        Same per feeder.
    comp_ch, comp_ens : numpy.ndarray
        Customer hours and MWh per component × (zones + system), fault + planned.
    targets : pandas.DataFrame
        :func:`gridscope.grid.defaults.zone_targets`.
    attrs : dict
        Provenance.
    extra : dict, optional
        More variables ``name -> (dims, data, attrs)`` (Monte-Carlo statistics).

    Returns
    -------
    xarray.Dataset
    """
    import xarray as xr  # deferred: keeps gridscope's start-up (``--help``) light

    zones = [*impact.zones, "system"]
    n_z = len(impact.zones)
    cust = np.array([impact.load_customers[impact.load_zone == z].sum() for z in range(n_z)]
                    + [impact.load_customers.sum()])
    f_ids = np.arange(len(impact.feeders))
    f_cust = np.bincount(np.maximum(impact.load_feeder, 0), weights=np.where(impact.load_feeder >= 0,
                         impact.load_customers, 0.0), minlength=len(impact.feeders))[: len(f_ids)]

    data: dict[str, Any] = {}
    data["customers"] = (("zone",), _counts(cust), {"units": "1", "long_name": "customers served"})
    data["feeder_customers"] = (("feeder",), _counts(f_cust), {"units": "1", "long_name": "customers served"})
    total = {k: group_sums["fault"][k] + group_sums["planned"][k] for k in ("ci", "ch", "ens")}
    f_total = {k: feeder_sums["fault"][k] + feeder_sums["planned"][k] for k in ("ci", "ch", "ens")}
    for label, sums, fsums in (("", total, f_total), ("_fault", group_sums["fault"], feeder_sums["fault"]),
                               ("_planned", group_sums["planned"], feeder_sums["planned"])):
        idx = indices_from_sums(sums["ci"], sums["ch"], sums["ens"], cust)
        fidx = indices_from_sums(fsums["ci"], fsums["ch"], fsums["ens"], f_cust)
        for name in INDEX_UNITS:
            data[name + label] = _var(("zone",), idx[name], name + label)
            data["feeder_" + name + label] = _var(("feeder",), fidx[name], "feeder_" + name + label)

    # load points, in net.load order
    order = np.argsort(impact.load_index, kind="stable")
    lam_t = lam["fault"] + lam["planned"]
    u_t = unav_h["fault"] + unav_h["planned"]
    with np.errstate(invalid="ignore", divide="ignore"):
        for label, lv, uv in (("", lam_t, u_t), ("_fault", lam["fault"], unav_h["fault"]),
                              ("_planned", lam["planned"], unav_h["planned"])):
            data["lp_failure_rate" + label] = (("load",), lv[order], {
                "units": "1/yr", "long_name": "load-point interruption rate" + label.replace("_", " ")})
            data["lp_unavailability" + label] = (("load",), uv[order], {
                "units": "h/yr", "long_name": "load-point unavailability" + label.replace("_", " ")})
            data["lp_duration" + label] = (("load",), np.where(lv > 0, uv / lv, 0.0)[order], {
                "units": "h", "long_name": "load-point mean interruption duration" + label.replace("_", " ")})
    data["lp_customers"] = (("load",), _counts(impact.load_customers[order]), {"units": "1",
                                                                             "long_name": "customers"})
    data["lp_p_avg_mw"] = (("load",), impact.load_p_avg_mw[order], {"units": "MW", "long_name": "average demand"})

    # contributions (fault + planned)
    with np.errstate(invalid="ignore", divide="ignore"):
        saidi_c = comp_ch / np.where(cust > 0, cust, np.nan)
        ch_tot = comp_ch.sum(axis=0)
        ens_tot = comp_ens.sum(axis=0)
        data["contrib_SAIDI"] = (("component", "zone"), saidi_c, {
            "units": "h/(customer*yr)", "long_name": "component contribution to SAIDI"})
        data["contrib_SAIDI_share"] = (("component", "zone"), comp_ch / np.where(ch_tot > 0, ch_tot, np.nan),
                                       {"units": "1", "long_name": "component share of SAIDI"})
        data["contrib_ENS"] = (("component", "zone"), comp_ens, {
            "units": "MWh/yr", "long_name": "component contribution to ENS"})
        data["contrib_ENS_share"] = (("component", "zone"), comp_ens / np.where(ens_tot > 0, ens_tot, np.nan),
                                     {"units": "1", "long_name": "component share of ENS"})

    data.update(target_variables(targets, zones, data["SAIDI"][1], ("zone",)))
    for name, value in (extra or {}).items():
        data[name] = value

    coords = {
        "zone": zones,
        "feeder": list(impact.feeders),
        "load": impact.load_index[order],
        "component": np.arange(impact.n_comp),
        "component_element": ("component", impact.comp_element.astype(str)),
        "component_index": ("component", impact.comp_index),
        "component_name": ("component", np.array([str(x) if x is not None else "" for x in impact.comp_name])),
        "component_feeder": ("component", np.array(
            [impact.feeders[f] if f >= 0 else "" for f in impact.comp_feeder], dtype=str)),
        **_load_coords(impact, order),
    }
    ds = xr.Dataset(data_vars=data, coords=coords)
    if (f_cust <= 0).any():  # a feeder serving no customer has no indices: it is left out, not reported as NaN
        ds = ds.isel(feeder=np.flatnonzero(f_cust > 0))
    ds.attrs.update(_plain_attrs(getattr(impact, "attrs", None) or {}))
    ds.attrs.update(attrs)
    ds.attrs.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    return ds


def _plain_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """The str/number entries of ``impact.attrs`` (netCDF attrs hold no other types; bools become 0/1)."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, bool | np.bool_):
            out[str(key)] = int(value)
        elif isinstance(value, str | int | float | np.integer | np.floating):
            out[str(key)] = value.item() if isinstance(value, np.generic) else value
    return out


def _load_coords(impact: Any, order: np.ndarray) -> dict[str, tuple[str, np.ndarray]]:
    """Name, feeder name and zone label of every load point, in ``net.load`` order."""
    names = impact.load_name if impact.load_name is not None else np.full(impact.n_load, "")
    feeders = np.array([*impact.feeders, ""], dtype=str)
    feeder = feeders[np.where(impact.load_feeder >= 0, impact.load_feeder, len(impact.feeders))]
    zone = np.array(impact.zones, dtype=str)[impact.load_zone] if impact.n_load else np.zeros(0, str)
    return {"load_name": ("load", np.asarray(names, dtype=str)[order]),
            "load_feeder": ("load", feeder[order]), "load_zone": ("load", zone[order])}


#: Label columns of the load-point table (coordinate -> column).
LOAD_LABELS = {"load_name": "load_name", "load_feeder": "feeder", "load_zone": "zone"}



def target_variables(targets: pd.DataFrame, zones: Any, saidi_h: np.ndarray,
                     dims: tuple[str, ...]) -> dict[str, tuple]:
    """The target variables of a results dataset: ``asai_target``, ``saidi_target_h`` (dim ``zone``), and
    ``margin_h``, ``meets_target`` with ``dims`` (the dims of ``saidi_h``, ending in ``zone``).

    Parameters
    ----------
    targets : pandas.DataFrame
        :func:`gridscope.grid.defaults.zone_targets` (indexed by zone).
    zones : sequence of str
        The zone labels of the dataset (``"system"`` has no target: NaN).
    saidi_h : numpy.ndarray
        SAIDI per zone (h/yr), shaped by ``dims``.
    dims : tuple of str
        Dimensions of ``saidi_h``.
    """
    tz = targets.reindex(zones)
    asai_t = tz["asai_target"].to_numpy(dtype=float)
    saidi_t = tz["saidi_target_h"].to_numpy(dtype=float)
    meets = np.where(np.isnan(saidi_t), np.nan, (saidi_h <= saidi_t).astype(float))
    return {
        "asai_target": (("zone",), asai_t, {"units": "1", "long_name": "supply-reliability target (ASAI)"}),
        "saidi_target_h": (("zone",), saidi_t, {"units": "h/(customer*yr)",
                                                "long_name": "SAIDI allowed by the target"}),
        "margin_h": (dims, saidi_t - saidi_h, {"units": "h/(customer*yr)",
                                               "long_name": "target SAIDI minus SAIDI (negative: target missed)"}),
        "meets_target": (dims, meets, {"units": "1", "long_name": "1 if the zone meets its target, 0 if not, NaN "
                                       "without a target"}),
    }

def to_dataframe(ds: Any, kind: str = "zone") -> pd.DataFrame:
    """A tidy table of a results dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`gridscope.assess_reliability`.
    kind : {"zone", "feeder", "load", "component"}
        ``zone``: one row per zone (system last) with every index, the fault/planned splits and targets;
        ``feeder``: one row per feeder; ``load``: per load point (name, feeder, zone, then the values);
        ``component``: contributions per component to system SAIDI and ENS, largest first.

    Returns
    -------
    pandas.DataFrame
    """
    if kind == "zone":
        names = [v for v in ds.data_vars if ds[v].dims == ("zone",)]
        return ds[names].to_dataframe()[names]
    if kind == "feeder":
        names = [v for v in ds.data_vars if ds[v].dims == ("feeder",)]
        df = ds[names].to_dataframe()[names]
        return df.rename(columns=lambda c: c.replace("feeder_", "", 1))
    if kind == "load":
        names = [v for v in ds.data_vars if ds[v].dims == ("load",)]
        df = ds[names].to_dataframe()
        labels = [c for c in LOAD_LABELS if c in df]  # files written before the feeder/zone labels lack them
        return df[[*labels, *names]].rename(columns=LOAD_LABELS)
    if kind == "component":
        return contributions(ds, zone="system", top=None)
    raise InputError(f"kind must be zone, feeder, load or component, got {kind!r}")


def contributions(ds: Any, *, zone: str = "system", by: str = "SAIDI", top: int | None = 10) -> pd.DataFrame:
    """Components ranked by their contribution to ``by`` (``SAIDI`` or ``ENS``) in ``zone``.

    Returns
    -------
    pandas.DataFrame
        element, index, name, feeder, SAIDI contribution and share, ENS contribution and share.
    """
    if by not in ("SAIDI", "ENS"):
        raise InputError(f"by must be 'SAIDI' or 'ENS', got {by!r}")
    if zone not in ds.zone.values:
        raise InputError(f"unknown zone {zone!r}; zones: {', '.join(map(str, ds.zone.values))}")
    sel = ds.sel(zone=zone)
    df = pd.DataFrame({
        "element": ds["component_element"].values,
        "index": ds["component_index"].values,
        "name": ds["component_name"].values,
        "feeder": ds["component_feeder"].values,
        "SAIDI_h": sel["contrib_SAIDI"].values,
        "SAIDI_share": sel["contrib_SAIDI_share"].values,
        "ENS_mwh": sel["contrib_ENS"].values,
        "ENS_share": sel["contrib_ENS_share"].values,
    })
    key = "SAIDI_h" if by == "SAIDI" else "ENS_mwh"
    df = df[df[key] > 0].sort_values(key, ascending=False, kind="stable").reset_index(drop=True)
    return df if top is None else df.head(top)
