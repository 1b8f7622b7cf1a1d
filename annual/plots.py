"""The figures of an annual study: loading map, open capacity by feeder, year over year, and the set of all
figures a results folder and its report get (PNG and SVG each).

The reliability figures themselves live in :mod:`gridscope.reliability.plots`; this module adds the ones that
need capacity results or two years, and :func:`study_figures` draws and saves them all. Figure API only (no
pyplot): headless, thread-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..reliability.plots import (
    draw_network,
    plot_distribution,
    plot_network_saidi,
    plot_network_zones,
    plot_pareto,
    plot_zones_vs_targets,
    save_figure,
)
from .runner import DETAIL_NETWORKS, StudyRun

__all__ = ["branch_loading", "plot_network_loading", "plot_networks_saidi", "plot_open_capacity",
           "plot_year_over_year", "study_figures"]

_GRADE_COLORS = {"green": "#33a02c", "yellow": "#ffbf00", "red": "#e31a1c"}


def _figure(size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure  # deferred: matplotlib only when drawing

    return Figure(figsize=size, layout="constrained")


def branch_loading(branches: pd.DataFrame, cap: Any) -> tuple[np.ndarray, np.ndarray]:
    """Peak loading (%) of each branch row and whether it is flagged, from a capacity result."""
    load = {"line": cap.peak.line["loading_percent"], "trafo": cap.peak.trafo["loading_percent"]}
    values = np.array([float(load[e].get(i, np.nan)) if e in load else np.nan
                       for e, i in zip(branches["element"], branches["index"], strict=True)])
    flags = cap.flags
    flagged = set(zip(flags["element"].astype(str), flags["index"].astype(int), strict=True)) if len(flags) else set()
    mask = np.array([(str(e), int(i)) in flagged for e, i in zip(branches["element"], branches["index"],
                                                                   strict=True)])
    return values, mask


def plot_network_loading(bus_xy_km: pd.DataFrame, branches: pd.DataFrame, cap: Any, *, title: str = "") -> Any:
    """The network coloured by peak loading (%), flagged (heavy / overloaded) elements outlined in red.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.colors import Normalize  # deferred: matplotlib only when drawing
    from matplotlib.lines import Line2D

    fig = _figure((7, 5.5))
    ax = fig.subplots()
    values, mask = branch_loading(branches, cap)
    lc = draw_network(ax, bus_xy_km, branches, branch_values=values, cmap="RdYlGn_r",
                      norm=Normalize(0, max(100.0, float(np.nanmax(values)) if np.isfinite(values).any() else 100.0)),
                      highlight=mask, linewidth=2.2)
    fig.colorbar(lc, ax=ax, label="peak loading (% of rating)")
    ax.legend([Line2D([], [], color="#e31a1c", linewidth=6, alpha=0.5),
               Line2D([], [], marker="s", linestyle="", color="#888888", markeredgecolor="#333333")],
              [f"flagged: heavy load or overload ({int(mask.sum())})", "transformer (square)"], fontsize=8,
              loc="best")
    ax.set_title(title or "Loading at the planning point")
    return fig


def plot_open_capacity(capacity: Mapping[str, Any], *, top: int = 30) -> Any:
    """Open capacity (and N-1 open capacity) per feeder, smallest first, bars coloured by grade.

    Parameters
    ----------
    capacity : mapping of str to CapacityResult
        Per network.
    top : int
        Feeders shown (the ones with the least open capacity).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Patch  # deferred: matplotlib only when drawing

    rows = []
    for net, cap in capacity.items():
        t = cap.table("feeder")
        label = t["name"].astype(str) if len(capacity) == 1 else net + " / " + t["name"].astype(str)
        rows.append(pd.DataFrame({"label": label.to_numpy(), "open": t["open_capacity_mva"].to_numpy(dtype=float),
                                  "n1": t["n1_open_capacity_mva"].to_numpy(dtype=float)
                                  if "n1_open_capacity_mva" in t else np.nan,
                                  "grade": t["grade"].astype(str).to_numpy(),
                                  "binding": t["binding_element"].astype(str).to_numpy()
                                  if "binding_element" in t else ""}))
    df = pd.concat(rows, ignore_index=True).sort_values("open", kind="stable").head(top)
    fig = _figure((8, max(3.0, 0.28 * len(df) + 1.2)))
    ax = fig.subplots()
    y = np.arange(len(df))[::-1]
    ax.barh(y, df["open"], 0.7, color=[_GRADE_COLORS.get(g, "#999999") for g in df["grade"]])
    ax.scatter(df["n1"], y, marker="|", s=120, color="k", zorder=3, label="N-1 open capacity")
    for yi, (o, n1, b) in zip(y, zip(df["open"], df["n1"], df["binding"], strict=True), strict=True):
        ax.annotate(f"{o:.2f} MVA (N-1 {n1:.2f}), limited by {b}", (max(o, 0.0), yi), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(y, df["label"], fontsize=7)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel("open capacity (MVA)")
    ax.set_xlim(0, max(1e-3, float(np.nanmax(df["open"]))) * 1.6)  # room for the labels
    ax.set_title(f"Open capacity by feeder ({len(df)} with the least)")
    ax.legend([*(Patch(color=c) for c in _GRADE_COLORS.values()), ax.collections[-1]],
              [*(f"grade {g}" for g in _GRADE_COLORS), "N-1 open capacity"], fontsize=7, loc="upper right")
    return fig


def plot_networks_saidi(totals: Any, *, top: int = 40) -> Any:
    """System SAIDI of each network of a study (worst first) with the study total.

    Returns
    -------
    matplotlib.figure.Figure
    """
    base = totals.sel(scenario="base") if "scenario" in totals.dims else totals
    saidi = base["network_SAIDI"].sel(zone="system").to_series().sort_values(ascending=False).head(top)
    fig = _figure((8, max(3.0, 0.28 * len(saidi) + 1.2)))
    ax = fig.subplots()
    y = np.arange(len(saidi))[::-1]
    ax.barh(y, saidi.to_numpy(), 0.7, color="#1f78b4", label="network")
    ax.axvline(float(base["SAIDI"].sel(zone="system")), color="red", linestyle="--", label="study total")
    cust = base["network_customers"].sel(zone="system").to_series().reindex(saidi.index)
    ax.set_yticks(y, [f"{n} ({c:,.0f} customers)" for n, c in cust.items()], fontsize=7)
    ax.set_xlabel("system SAIDI (h per customer·yr)")
    ax.set_title(f"SAIDI by network ({len(saidi)} of {base.sizes['network']})")
    ax.legend(fontsize=8)
    return fig


def plot_year_over_year(comparison: Any) -> Any:
    """Last year vs this year per zone: SAIFI and CAIDI with the yearly targets, ASAI with the zone targets.

    Returns
    -------
    matplotlib.figure.Figure
    """
    z = comparison.zones
    zones = list(z.index)
    x = np.arange(len(zones))
    fig = _figure((12, 4))
    axes = fig.subplots(1, 3)
    panels = (("SAIFI", "SAIFI (interruptions per customer·yr)", 1 - comparison.outage_reduction),
              ("CAIDI", "CAIDI (h per interruption)", 1 - comparison.repair_reduction),
              ("ASAI", "ASAI (%)", None))
    for ax, (name, label, factor) in zip(axes, panels, strict=True):
        last = z[f"{name}_last_pct" if name == "ASAI" else f"{name}_last"].to_numpy(dtype=float)
        this = z[f"{name}_this_pct" if name == "ASAI" else f"{name}_this"].to_numpy(dtype=float)
        ax.bar(x - 0.2, last, 0.4, label="last year", color="#a6cee3")
        ax.bar(x + 0.2, this, 0.4, label="this year", color="#1f78b4")
        target = last * factor if factor is not None else z["ASAI_target_pct"].to_numpy(dtype=float)
        ok = np.isfinite(target)
        what = f"target (−{1 - factor:.0%})" if factor is not None else "zone target"
        ax.scatter(x[ok] + 0.2, target[ok], marker="_", s=500, color="red", zorder=3, label=what)
        if name == "ASAI":
            values = np.concatenate([last[np.isfinite(last)], this[np.isfinite(this)], target[ok]])
            if values.size:
                ax.set_ylim(float(values.min()) - max(0.02, (100 - float(values.min())) * 0.2), 100.0)
        ax.set_xticks(x, zones)
        ax.set_xlabel("supply zone")
        ax.set_ylabel(label)
        ax.set_title(f"{name}: last vs this year")
        ax.legend(fontsize=7)
    return fig


def study_figures(run: StudyRun, totals: Any, comparison: Any, folder: Path) -> dict[str, list[Path]]:
    """Draw and save every figure of a study into ``folder`` (PNG + SVG); name → files.

    Study-wide: ``zones_vs_targets``, ``year_over_year`` (with a comparison), ``networks_saidi`` (several
    networks), ``open_capacity`` (with capacity). Per network (the first :data:`DETAIL_NETWORKS`):
    ``<name>_distribution`` (Monte Carlo), ``<name>_pareto``, ``<name>_zones``, ``<name>_saidi_map``,
    ``<name>_loading_map`` (with capacity).
    """
    out: dict[str, list[Path]] = {}

    def keep(name: str, fig: Any) -> None:
        out[name] = save_figure(fig, folder, name)

    keep("zones_vs_targets", plot_zones_vs_targets(totals))
    if comparison is not None:
        keep("year_over_year", plot_year_over_year(comparison))
    if len(run.reliability) > 1:
        keep("networks_saidi", plot_networks_saidi(totals))
    if run.capacity:
        keep("open_capacity", plot_open_capacity(run.capacity))
    for name in list(run.reliability)[:DETAIL_NETWORKS]:
        ds, geo = run.reliability[name], run.geometry[name]
        if "sample_SAIDI" in ds or "SAIDI_quantile" in ds:
            keep(f"{name}_distribution", plot_distribution(ds))
        keep(f"{name}_pareto", plot_pareto(ds))
        if geo is not None and np.isfinite(geo.bus_xy_km.to_numpy()).any():
            keep(f"{name}_zones", plot_network_zones(geo.bus_xy_km, geo.branches, geo.bus_zone,
                                                     title=f"{name}: supply zones"))
            keep(f"{name}_saidi_map", plot_network_saidi(geo.bus_xy_km, geo.branches, ds,
                                                         title=f"{name}: SAIDI contribution"))
            if name in run.capacity:
                keep(f"{name}_loading_map", plot_network_loading(geo.bus_xy_km, geo.branches, run.capacity[name],
                                                                 title=f"{name}: peak loading"))
    return out
