"""Totals of a many-network study per supply zone: customer-weighted indices from summed interruptions.

For each zone, the yearly customer interruptions (CI = SAIFI × customers), customer hours (CH = SAIDI ×
customers) and energy not supplied of every network are summed and the indices recomputed from the sums with
:func:`gridscope.reliability.results.indices_from_sums` — the same formulas a single network uses, so a study
of one network gives that network's indices, and a study of several gives what one merged network would.
Monte-Carlo standard errors combine as independent sums (each network has its own seed stream).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..grid.defaults import ZONES, zone_targets
from ..reliability.results import INDEX_UNITS, indices_from_sums, target_variables

__all__ = ["NETWORK_VARIABLES", "study_totals"]

#: Per-network zone variables kept in the totals dataset (as ``network_<name>``).
NETWORK_VARIABLES = ("customers", "SAIFI", "SAIDI", "CAIDI", "ASAI", "ENS", "meets_target")
_SPLITS = ("", "_fault", "_planned")
_SE_INDICES = ("SAIFI", "SAIDI", "ENS")


def _zone_order(datasets: Mapping[str, Any]) -> list[str]:
    present = {str(z) for ds in datasets.values() for z in ds.zone.values} - {"system"}
    known = [z for z in ZONES if z in present]
    return [*known, *sorted(present - set(known)), "system"]


def study_totals(datasets: Mapping[str, Any], *, targets: Mapping[str, float] | None = None,
                 attrs: Mapping[str, Any] | None = None) -> Any:
    """The study's totals per zone and scenario, with each network's zone values beside them.

    Parameters
    ----------
    datasets : mapping of str to xarray.Dataset
        Network name → its results with a ``scenario`` dimension (the same scenarios in every network).
    targets : mapping, optional
        Zone ASAI target overrides (:func:`gridscope.grid.defaults.zone_targets`).
    attrs : mapping, optional
        Provenance attrs of the result.

    Returns
    -------
    xarray.Dataset
        Dimensions ``scenario``, ``zone`` (zones present in any network, then ``system``) and ``network``.
        Variables: ``customers``; every index with its ``_fault``/``_planned`` split; Monte Carlo:
        ``<index>_stderr`` for SAIFI, SAIDI, ENS; ``asai_target``, ``saidi_target_h``, ``margin_h``,
        ``meets_target``; ``outage_events_per_yr``, ``fault_events_per_yr``, ``planned_events_per_yr``,
        ``mean_repair_h``; and ``network_<var>`` (scenario × network × zone) for :data:`NETWORK_VARIABLES`.
    """
    import xarray as xr  # deferred: a heavy import only the assembly needs

    names = list(datasets)
    zones = _zone_order(datasets)
    scen = [str(s) for s in next(iter(datasets.values())).scenario.values]
    aligned = {n: ds.reindex(zone=zones) for n, ds in datasets.items()}
    n_n = len(names)

    def stack(var: str) -> np.ndarray:  # scenario × network × zone, NaN where a network lacks the zone
        return np.stack([aligned[n][var].transpose("scenario", "zone").values for n in names], axis=1)

    cust_nz = np.nan_to_num(stack("customers"))
    cust = cust_nz.sum(axis=1)
    data: dict[str, Any] = {"customers": (("zone",), cust[0], {"units": "1", "long_name": "customers served"})}
    mc = all("SAIDI_stderr" in ds for ds in datasets.values())
    for split in _SPLITS:
        ci = np.nansum(stack("SAIFI" + split) * cust_nz, axis=1)
        ch = np.nansum(stack("SAIDI" + split) * cust_nz, axis=1)
        ens = np.nansum(stack("ENS" + split), axis=1)
        for name, values in indices_from_sums(ci, ch, ens, cust).items():
            units, long = INDEX_UNITS[name]
            data[name + split] = (("scenario", "zone"), values, {"units": units, "long_name": long + split})
        if mc:
            for name in _SE_INDICES:
                se = np.nan_to_num(stack(f"{name}{split}_stderr"))
                weight = np.ones_like(cust_nz) if name == "ENS" else cust_nz
                with np.errstate(invalid="ignore", divide="ignore"):
                    total_se = np.sqrt(np.sum((se * weight) ** 2, axis=1))
                    total_se = total_se if name == "ENS" else np.where(cust > 0, total_se / cust, np.nan)
                data[f"{name}{split}_stderr"] = (("scenario", "zone"), total_se, {
                    "units": INDEX_UNITS[name][0], "long_name": f"standard error of the mean {name}{split}"})

    data.update(target_variables(zone_targets(targets), zones, data["SAIDI"][1], ("scenario", "zone")))

    def per_net(var: str) -> np.ndarray:  # scenario × network
        return np.stack([aligned[n][var].transpose("scenario").values for n in names], axis=1)

    fault, planned = per_net("fault_events_per_yr"), per_net("planned_events_per_yr")
    repair = per_net("mean_repair_h")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_repair = np.nansum(fault * repair, axis=1) / fault.sum(axis=1)
    for name, values, units, long in (
            ("fault_events_per_yr", fault.sum(axis=1), "1/yr", "expected fault outages per year"),
            ("planned_events_per_yr", planned.sum(axis=1), "1/yr", "expected planned outages per year"),
            ("outage_events_per_yr", (fault + planned).sum(axis=1), "1/yr", "expected outages per year"),
            ("mean_repair_h", mean_repair, "h", "fault-rate-weighted mean repair time")):
        data[name] = (("scenario",), values, {"units": units, "long_name": long})
        data["network_" + name] = (("scenario", "network"), per_net(name), {"units": units, "long_name": long})
    for var in NETWORK_VARIABLES:
        values = stack(var)
        units, long = INDEX_UNITS.get(var, ("1", var))
        data["network_" + var] = (("scenario", "network", "zone"), values, {"units": units, "long_name": long})
    ds = xr.Dataset(data, coords={"scenario": scen, "zone": zones, "network": names})
    ds.attrs.update({"kind": "gridscope annual study totals", "networks": n_n, **dict(attrs or {})})
    return ds
