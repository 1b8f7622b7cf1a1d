"""Display tables of the TUI built from the study's results (no analysis here: selection and layout only).

Reliability tables are the core's display tables (:mod:`gridscope.reliability.report`, the same the CLI
prints) with their index as a column; the rest is selection and layout. Everything returns a
:class:`pandas.DataFrame` whose column names are the display headers (with their units, ``SAIDI_h``), which
:func:`gridscope.tui.i18n.header` translates.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..reliability import report
from ..reliability.results import contributions

__all__ = [
    "contributors_table",
    "element_table",
    "feeder_table",
    "load_table",
    "loading_table",
    "problems_table",
    "programme_table",
    "zone_table",
]


def zone_table(ds: Any) -> pd.DataFrame:
    """The core's zone table (:func:`gridscope.reliability.report.zone_table`) with the zone as a column and,
    for Monte Carlo, the SAIDI quantiles the distribution tab draws (P5, P50, P95)."""
    out = report.zone_table(ds).reset_index()
    if "SAIDI_quantile" in ds:
        q = ds["SAIDI_quantile"]
        for level in q["quantile"].values:
            out[f"P{round(float(level) * 100):d}_h"] = q.sel(quantile=level).values
    return out


def feeder_table(ds: Any) -> pd.DataFrame:
    """The core's feeder table (worst SAIDI first) with the feeder as a column."""
    return report.feeder_table(ds).reset_index()


def load_table(ds: Any) -> pd.DataFrame:
    """The core's load-point table (name, feeder, zone, customers, λ, U, r) with the load index as a column."""
    return report.load_table(ds).reset_index()


def contributors_table(ds: Any, *, zone: str = "system", top: int = 20) -> pd.DataFrame:
    """The components contributing most to SAIDI of ``zone`` (the core's ranking) with the cumulative share."""
    c = contributions(ds, zone=zone, top=top)
    return pd.DataFrame({
        "element": c["element"], "index": c["index"], "name": c["name"], "feeder": c["feeder"],
        "SAIDI_h": c["SAIDI_h"], "share_%": c["SAIDI_share"] * 100.0,
        "cum_share_%": c["SAIDI_share"].cumsum() * 100.0,
    })


def programme_table(ds: Any) -> pd.DataFrame:
    """System and per-zone SAIDI / SAIFI / ASAI across the yearly programme's scenarios, side by side."""
    rows = []
    for sc in ds["scenario"].values:
        one = ds.sel(scenario=sc)
        row: dict[str, Any] = {"scenario": str(sc)}
        for z in one["zone"].values:
            row[f"SAIDI_h {z}"] = float(one["SAIDI"].sel(zone=z))
        row["SAIFI system"] = float(one["SAIFI"].sel(zone="system"))
        row["ASAI_% system"] = float(one["ASAI"].sel(zone="system")) * 100.0
        rows.append(row)
    return pd.DataFrame(rows)


def loading_table(net: Any, peak: Any) -> pd.DataFrame:
    """Peak loading of every line and transformer (its peak step's label for a time series), highest first."""
    parts = []
    for element in ("line", "trafo", "trafo3w"):
        df = getattr(peak, element, None)
        if df is None or not len(df):
            continue
        names = net[element]["name"].reindex(df.index) if "name" in net[element] else pd.Series("", index=df.index)
        parts.append(pd.DataFrame({"element": element, "index": df.index.to_numpy(),
                                   "name": names.astype(object).to_numpy(),
                                   "loading_percent": df["loading_percent"].to_numpy(),
                                   "when": df["time"].to_numpy() if "time" in df else None}))
    if not parts:
        return pd.DataFrame(columns=["element", "index", "name", "loading_percent", "when"])
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values("loading_percent", ascending=False, kind="stable", na_position="last")


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
