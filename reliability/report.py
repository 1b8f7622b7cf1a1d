"""Headless reports of reliability results: display tables, the text summary, and the one writer of result files.

The CLI prints :func:`reliability_summary`, the TUI shows :func:`zone_table`, :func:`feeder_table` and
:func:`load_table`, and both write results through :func:`write_reliability`. Column headers carry their units
(``SAIDI [h/yr]``) in the CSV files; customers are integers; the load-point table carries feeder and zone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cells import safe_frame
from ..errors import InputError
from ..grid.io import atomic_write_many
from ..textfmt import format_table
from .results import contributions, to_dataframe

__all__ = [
    "FORMATS",
    "TABLE_KINDS",
    "UNITS",
    "feeder_table",
    "load_table",
    "reliability_summary",
    "reliability_tables",
    "with_units",
    "write_reliability",
    "zone_table",
]

#: The tables a results dataset is written as (``reliability_<kind>.csv``).
TABLE_KINDS: tuple[str, ...] = ("zone", "feeder", "load", "component")

#: Unit of every index and column (fault/planned variants share their base's unit); "-" for ratios.
UNITS: dict[str, str] = {
    "customers": "customers", "SAIFI": "1/yr", "SAIDI": "h/yr", "CAIDI": "h", "ASAI": "-", "ASUI": "-",
    "ENS": "MWh/yr", "AENS": "kWh/customer·yr", "asai_target": "-", "saidi_target_h": "h/yr",
    "margin_h": "h/yr", "meets_target": "bool", "p_miss_target": "-",
    "lp_failure_rate": "1/yr", "lp_unavailability": "h/yr", "lp_duration": "h", "lp_customers": "customers",
    "lp_p_avg_mw": "MW", "SAIDI_h": "h/yr", "SAIDI_share": "-", "ENS_mwh": "MWh/yr", "ENS_share": "-",
}

_SPLITS = ("_fault", "_planned")
_STATS = ("_stderr", "_cov", "_quantile")


def _unit_of(column: str) -> str | None:
    if column in UNITS:
        return UNITS[column]
    for suffix in (*_SPLITS, *_STATS):
        if column.endswith(suffix):
            base = _unit_of(column[: -len(suffix)])
            return "-" if suffix == "_cov" and base is not None else base
    return None


def with_units(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``[unit]`` appended to every column whose unit is known, and customer counts as integers."""
    out = df.copy()
    for c in out.columns:
        if _unit_of(str(c)) == "customers" and out[c].notna().all():
            out[c] = out[c].round().astype(np.int64)
    return out.rename(columns=lambda c: f"{c} [{u}]" if (u := _unit_of(str(c))) not in (None, "bool") else c)


def reliability_tables(ds: Any) -> dict[str, pd.DataFrame]:
    """The four result tables (zone, feeder, load, component) of a results dataset, with units in headers."""
    return {kind: with_units(to_dataframe(ds, kind)) for kind in TABLE_KINDS}


def write_reliability(ds: Any, folder: str | os.PathLike[str] | None = None, *,
                      netcdf: str | os.PathLike[str] | None = None, overwrite: bool = False) -> list[Path]:
    """Write a results dataset: the NetCDF file and/or the four CSV tables (``reliability_<kind>.csv``).

    Every file is written atomically (temporary file, then rename). Text that a spreadsheet would read as a
    formula (a load named ``=…``) is escaped with a leading ``'`` (:func:`gridscope.cells.safe_frame`). An
    existing file is replaced only with ``overwrite``, and then only after every file was checked, so a refused
    write leaves nothing half done.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`gridscope.assess_reliability` or :meth:`gridscope.Study.reliability`.
    folder : path, optional
        Folder for the CSV tables (created if missing).
    netcdf : path, optional
        The NetCDF file (``reliability.nc``).
    overwrite : bool
        Replace existing files.

    Returns
    -------
    list of Path
        The files written.
    """
    from .io import write_netcdf

    targets = [Path(netcdf)] if netcdf is not None else []
    if folder is not None:
        targets += [Path(folder) / f"reliability_{kind}.csv" for kind in TABLE_KINDS]
    if not targets:
        raise InputError("write_reliability needs a folder for the tables or a netcdf path")
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise InputError("; ".join(f"{p} exists" for p in existing) + "; pass overwrite=True (CLI: --force) to "
                         "replace")
    written = []
    if netcdf is not None:
        written.append(write_netcdf(ds, netcdf, overwrite=True))
    if folder is not None:  # the four tables all or nothing (a full disk on the third leaves none of them)
        safe = {kind: safe_frame(table) for kind, table in reliability_tables(ds).items()}
        writes = {Path(folder) / f"reliability_{kind}.csv": (lambda tmp, t=table: t.to_csv(tmp))
                  for kind, table in safe.items()}
        written += atomic_write_many(writes, overwrite=True)
    return written


# ------------------------------------------------------------------------------------------ display tables
def zone_table(ds: Any) -> pd.DataFrame:
    """Per supply zone (and system): customers, indices, ASAI target, margin and pass/fail, display units.

    ``ASAI_%`` and ``target_%`` are percentages; Monte-Carlo results add ``±SE_h`` (standard error of SAIDI)
    and ``P(year misses)`` (probability that a single year misses the zone's target).
    """
    zone = pd.DataFrame({
        "customers": np.round(ds["customers"].values).astype(np.int64),
        "SAIFI": ds["SAIFI"].values,
        "SAIDI_h": ds["SAIDI"].values,
        "CAIDI_h": ds["CAIDI"].values,
        "ASAI_%": ds["ASAI"].values * 100,
        "ENS_MWh": ds["ENS"].values,
        "target_%": ds["asai_target"].values * 100,
        "margin_h": ds["margin_h"].values,
    }, index=pd.Index(ds.zone.values, name="zone"))
    zone["meets"] = ["-" if m != m else ("yes" if m else "NO") for m in ds["meets_target"].values]
    if "SAIDI_stderr" in ds:
        zone.insert(3, "±SE_h", ds["SAIDI_stderr"].values)
    if "p_miss_target" in ds:
        zone["P(year misses)"] = ds["p_miss_target"].values
    return zone


def feeder_table(ds: Any) -> pd.DataFrame:
    """Per feeder: customers, SAIFI, SAIDI, CAIDI, ENS, worst SAIDI first."""
    feeder = pd.DataFrame({
        "customers": np.round(ds["feeder_customers"].values).astype(np.int64),
        "SAIFI": ds["feeder_SAIFI"].values,
        "SAIDI_h": ds["feeder_SAIDI"].values,
        "CAIDI_h": ds["feeder_CAIDI"].values,
        "ENS_MWh": ds["feeder_ENS"].values,
    }, index=pd.Index(ds.feeder.values, name="feeder"))
    return feeder.sort_values("SAIDI_h", ascending=False, kind="stable")


def load_table(ds: Any) -> pd.DataFrame:
    """Per load point: name, feeder, zone, customers, λ (1/yr), U (h/yr), r (h), average load."""
    df = to_dataframe(ds, "load")
    cols = {"load_name": "name", "feeder": "feeder", "zone": "zone", "lp_customers": "customers",
            "lp_failure_rate": "λ_per_yr", "lp_unavailability": "U_h_per_yr", "lp_duration": "r_h",
            "lp_p_avg_mw": "p_avg_MW"}
    out = df[[c for c in cols if c in df.columns]].rename(columns=cols)
    if "customers" in out:
        out["customers"] = out["customers"].round().astype(np.int64)
    return out


#: Display formats of the tables above.
FORMATS: dict[str, str] = {
    "customers": "{:.0f}", "ASAI_%": "{:.4f}", "target_%": "{:.3f}", "SAIDI_h": "{:.4f}", "SAIFI": "{:.4f}",
    "CAIDI_h": "{:.3f}", "ENS_MWh": "{:.3f}", "margin_h": "{:+.3f}", "±SE_h": "{:.4f}", "P(year misses)": "{:.3f}",
    "λ_per_yr": "{:.5f}", "U_h_per_yr": "{:.5f}", "r_h": "{:.3f}", "p_avg_MW": "{:.3f}",
}


def reliability_summary(ds: Any, *, top: int = 5, feeders: int = 15) -> str:
    """Text report of a reliability dataset: zones vs targets, fault/planned split, feeders, top contributors.

    Parameters
    ----------
    ds : xarray.Dataset
        A results dataset.
    top : int
        Contributors to list.
    feeders : int
        Feeders to list (worst SAIDI first).
    """
    head = f"Reliability of {ds.attrs.get('network', '')} ({ds.attrs.get('method')}"
    if ds.attrs.get("method") == "monte-carlo":
        head += f", {int(ds.attrs.get('years', 0)):,} years, seed {ds.attrs.get('seed')}"
    head += ")"
    parts = [head, "", "By supply zone (fault + planned) vs targets:", format_table(zone_table(ds), FORMATS)]
    if (ds["SAIDI_planned"] > 0).any():
        split = pd.DataFrame({"SAIDI_fault_h": ds["SAIDI_fault"].values,
                              "SAIDI_planned_h": ds["SAIDI_planned"].values},
                             index=pd.Index(ds.zone.values, name="zone"))
        parts += ["", "Fault / planned (故障 / 预安排):",
                  format_table(split, {"SAIDI_fault_h": "{:.4f}", "SAIDI_planned_h": "{:.4f}"})]
    if "SAIDI_upstream" in ds:
        up = pd.DataFrame({"SAIDI_h": ds["SAIDI"].values, "SAIDI_upstream_h": ds["SAIDI_upstream"].values},
                          index=pd.Index(ds.zone.values, name="zone"))
        up["upstream_share"] = (up["SAIDI_upstream_h"] / up["SAIDI_h"]).where(up["SAIDI_h"] > 0, 0.0)
        parts += ["", "Upstream share (main transformers, station busbars, couplers, supply lines):",
                  format_table(up, {"SAIDI_h": "{:.4f}", "SAIDI_upstream_h": "{:.4f}", "upstream_share": "{:.1%}"})]
    table = feeder_table(ds)
    shown = table.head(feeders)
    parts += ["", f"By feeder (worst {len(shown)} of {len(table)} by SAIDI):", format_table(shown, FORMATS)]
    top_df = contributions(ds, zone="system", top=top)
    if len(top_df):
        t = top_df.set_index(top_df["element"] + " " + top_df["index"].astype(str))
        t.index.name = "component"
        t = t[["name", "feeder", "SAIDI_h", "SAIDI_share", "ENS_mwh"]]
        parts += ["", f"Top {len(t)} contributors to system SAIDI:",
                  format_table(t, {"SAIDI_h": "{:.4f}", "SAIDI_share": "{:.1%}", "ENS_mwh": "{:.3f}"})]
    if int(ds.attrs.get("tie_transfers_blocked", 0)):
        parts += ["", f"Tie transfers refused by the capacity check: {ds.attrs['tie_transfers_blocked']} "
                  f"(expected {float(ds.attrs.get('tie_transfers_blocked_per_yr', 0.0)):.4f} times per year)"]
    return "\n".join(parts)
