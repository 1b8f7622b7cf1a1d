"""Display tables of the TUI built from the study's results (no analysis here: selection and layout only).

Reliability tables come from the core's headless report module when it is there
(:mod:`gridscope.reliability.report`); until then they are laid out here from the dataset with the same
columns. Everything returns a :class:`pandas.DataFrame` whose column names are the display headers (units after
a space), which :func:`gridscope.tui.i18n.header` translates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..reliability.results import contributions

__all__ = [
    "contributors_table",
    "element_table",
    "feeder_table",
    "load_table",
    "problems_table",
    "programme_table",
    "zone_table",
]


def _is_mc(ds: Any) -> bool:
    return str(ds.attrs.get("method", "")) == "monte-carlo"


def zone_table(ds: Any) -> pd.DataFrame:
    """Indices per supply zone and system with their targets (and Monte-Carlo standard errors and P(miss))."""
    zones = [str(z) for z in ds["zone"].values]
    out = pd.DataFrame({
        "zone": zones,
        "customers": ds["customers"].values.astype(np.int64),
        "SAIFI 1/yr": ds["SAIFI"].values,
        "SAIDI h/yr": ds["SAIDI"].values,
        "CAIDI h": ds["CAIDI"].values,
        "ASAI %": ds["ASAI"].values * 100.0,
        "ENS MWh/yr": ds["ENS"].values,
    })
    if _is_mc(ds):
        out.insert(4, "SAIDI_stderr h/yr", ds["SAIDI_stderr"].values)
        q = ds["SAIDI_quantile"]
        for qq in q["quantile"].values:
            out[f"SAIDI_P{round(float(qq) * 100):d} h/yr"] = q.sel(quantile=qq).values
    if "saidi_target_h" in ds:
        out["target_h h/yr"] = ds["saidi_target_h"].values
        out["margin_h h"] = ds["margin_h"].values
        meets = ds["meets_target"].values
        out["meets"] = ["" if np.isnan(m) else ("pass" if m > 0.5 else "FAIL") for m in meets]
    if "p_miss_target" in ds:
        out["p_miss"] = ds["p_miss_target"].values
    return out


def feeder_table(ds: Any) -> pd.DataFrame:
    """Indices per feeder."""
    out = pd.DataFrame({
        "feeder": [str(f) for f in ds["feeder"].values],
        "customers": ds["feeder_customers"].values.astype(np.int64),
        "SAIFI 1/yr": ds["feeder_SAIFI"].values,
        "SAIDI h/yr": ds["feeder_SAIDI"].values,
        "CAIDI h": ds["feeder_CAIDI"].values,
        "ASAI %": ds["feeder_ASAI"].values * 100.0,
        "ENS MWh/yr": ds["feeder_ENS"].values,
    })
    if "feeder_SAIDI_stderr" in ds:
        out.insert(4, "SAIDI_stderr h/yr", ds["feeder_SAIDI_stderr"].values)
    return out


def load_table(ds: Any, net: Any = None, topology: Any = None) -> pd.DataFrame:
    """Failure rate, unavailability and mean duration per load point, with its feeder and zone when known."""
    idx = ds["load"].values
    out = pd.DataFrame({
        "load": idx,
        "name": [str(n) for n in ds["load_name"].values] if "load_name" in ds.coords else idx.astype(str),
    })
    if net is not None and topology is not None:
        feeder = topology.feeder_name_of(net, "load").reindex(idx)
        out["feeder"] = feeder.to_numpy()
        if "zone" in net.bus:
            out["zone"] = net.bus["zone"].reindex(net.load["bus"].reindex(idx)).astype(object).to_numpy()
    out["customers"] = ds["lp_customers"].values.astype(np.int64) if "lp_customers" in ds else 1
    out["lambda 1/yr"] = ds["lp_failure_rate"].values
    out["U_h h/yr"] = ds["lp_unavailability"].values
    out["r_h h"] = ds["lp_duration"].values
    return out


def contributors_table(ds: Any, *, zone: str = "system", top: int = 20) -> pd.DataFrame:
    """The components contributing most to SAIDI of ``zone`` (the core's ranking) with the cumulative share."""
    c = contributions(ds, zone=zone, top=top)
    return pd.DataFrame({
        "element": c["element"], "index": c["index"], "name": c["name"], "feeder": c["feeder"],
        "SAIDI h/yr": c["SAIDI_h"], "share %": c["SAIDI_share"] * 100.0,
        "cum_share %": c["SAIDI_share"].cumsum() * 100.0,
    })


def programme_table(ds: Any) -> pd.DataFrame:
    """System and per-zone SAIDI / SAIFI / ASAI across the yearly programme's scenarios, side by side."""
    rows = []
    for sc in ds["scenario"].values:
        one = ds.sel(scenario=sc)
        row: dict[str, Any] = {"scenario": str(sc)}
        for z in one["zone"].values:
            row[f"SAIDI {z}"] = float(one["SAIDI"].sel(zone=z))
        row["SAIFI system"] = float(one["SAIFI"].sel(zone="system"))
        row["ASAI system %"] = float(one["ASAI"].sel(zone="system")) * 100.0
        rows.append(row)
    return pd.DataFrame(rows)


def problems_table(problems: list[Any]) -> pd.DataFrame:
    """Validation problems, one row each (table, index, name, message, check)."""
    return pd.DataFrame({
        "table": [p.table for p in problems],
        "index": [("" if p.index is None else p.index) for p in problems],
        "name": [p.name or "" for p in problems],
        "message": [p.message for p in problems],
        "check": [p.check for p in problems],
    })


def element_table(net: Any, table: str, index: Any) -> pd.DataFrame:
    """One element's row of ``net[table]`` as field / value pairs (empty when it does not exist)."""
    df = net[table] if table in net else None
    if df is None or index is None or index not in df.index:
        return pd.DataFrame({"field": [], "value": []})
    row = df.loc[index]
    return pd.DataFrame({"field": [str(k) for k in row.index], "value": [row[k] for k in row.index]})
