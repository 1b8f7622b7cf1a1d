"""Matplotlib figures of reliability results: zones against targets, feeders, contributors, distributions.

:func:`plot_reliability` is the four-panel overview ``gridscope run`` saves. The report figures of the annual
study (:mod:`gridscope.annual`) answer one question each: :func:`plot_zones_vs_targets` (SAIDI and ASAI per
zone vs targets), :func:`plot_distribution` (Monte-Carlo annual SAIDI with P5/P50/P95 and the target),
:func:`plot_pareto` (SAIDI contributions, cumulative share), and the network maps drawn from bus coordinates
by :func:`draw_network` — :func:`plot_network_zones` and :func:`plot_network_saidi`. They use the Figure API
(no pyplot), so they draw headless, in threads and on Dask workers; :func:`save_figure` writes PNG and SVG
without timestamps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..grid.io import atomic_write
from .results import contributions

__all__ = [
    "branch_saidi_contribution",
    "draw_network",
    "plot_distribution",
    "plot_network_saidi",
    "plot_network_zones",
    "plot_pareto",
    "plot_reliability",
    "plot_zones_vs_targets",
    "save_figure",
    "save_reliability_figure",
]



def _saidi_bars(ax: Any, ds: Any, x: np.ndarray) -> np.ndarray:
    """Stacked fault/planned SAIDI bars per zone (±3 standard errors for Monte Carlo); returns the targets."""
    fault, planned = ds["SAIDI_fault"].values, ds["SAIDI_planned"].values
    ax.bar(x, fault, 0.6, label="fault", color="#1f78b4")
    ax.bar(x, planned, 0.6, bottom=fault, label="planned", color="#a6cee3")
    if "SAIDI_stderr" in ds:
        ax.errorbar(x, ds["SAIDI"].values, yerr=3 * ds["SAIDI_stderr"].values, fmt="none", ecolor="k",
                    capsize=4, label="±3 standard errors")
    return ds["saidi_target_h"].values

def plot_reliability(ds: Any, *, top: int = 10, fig: Any = None) -> Any:
    """A four-panel figure: SAIDI per zone vs target, SAIDI per feeder, top contributors, annual SAIDI spread.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`gridscope.assess_reliability` (analytical or Monte Carlo; a ``scenario`` dimension is
        shown as grouped bars in the zone panel).
    top : int
        Contributors shown.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (a new 12×8 in figure by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt  # deferred: matplotlib only when drawing

    fig = fig or plt.figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    zones = [str(z) for z in ds.zone.values]

    ax = axes[0, 0]
    x = np.arange(len(zones))
    if "scenario" in ds.dims:
        names = [str(s) for s in ds.scenario.values]
        width = 0.8 / len(names)
        for k, name in enumerate(names):
            ax.bar(x + k * width - 0.4 + width / 2, ds["SAIDI"].sel(scenario=name).values, width, label=name)
        target = ds["saidi_target_h"].isel(scenario=0).values
    else:
        target = _saidi_bars(ax, ds, x)
    ok = ~np.isnan(target)
    ax.scatter(x[ok], target[ok], marker="_", s=900, color="red", zorder=3, label="target")
    ax.set_xticks(x, zones)
    ax.set_ylabel("SAIDI (h per customer·yr)")
    ax.set_title("SAIDI by supply zone vs target")
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    saidi_f = ds["feeder_SAIDI"]
    if "scenario" in saidi_f.dims:
        saidi_f = saidi_f.isel(scenario=0)
    order = np.argsort(-np.nan_to_num(saidi_f.values))[:20]
    ax.barh(np.asarray(ds.feeder.values)[order].astype(str)[::-1], saidi_f.values[order][::-1])
    ax.set_xlabel("SAIDI (h per customer·yr)")
    ax.set_title(f"Feeders (worst {len(order)})")

    ax = axes[1, 0]
    base = ds.isel(scenario=0) if "scenario" in ds.dims else ds
    contrib = contributions(base, zone="system", top=top)
    labels = [f"{e} {i} {n}".strip() for e, i, n in zip(contrib["element"], contrib["index"], contrib["name"],
                                                         strict=True)]
    ax.barh(labels[::-1], contrib["SAIDI_share"].to_numpy()[::-1] * 100)
    ax.set_xlabel("share of system SAIDI (%)")
    ax.set_title(f"Top {len(contrib)} contributors")

    ax = axes[1, 1]
    if "sample_SAIDI" in base:
        for z in zones:
            ax.hist(base["sample_SAIDI"].sel(zone=z).values, bins=60, histtype="step", label=z)
        ax.set_xlabel("annual SAIDI (h)")
        ax.set_title("Year-to-year distribution")
        ax.legend(fontsize=8)
    elif "SAIDI_quantile" in base:
        q = base["SAIDI_quantile"].values
        ax.errorbar(x, q[:, 1], yerr=[q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]], fmt="o", capsize=4)
        ax.set_xticks(x, zones)
        ax.set_ylabel("annual SAIDI (h): P5 / P50 / P95")
        ax.set_title("Year-to-year spread (Monte Carlo)")
    else:
        lp = base["lp_unavailability"].values
        ax.hist(lp, bins=30)
        ax.set_xlabel("load-point unavailability (h/yr)")
        ax.set_title("Load points")
    fig.suptitle(f"{ds.attrs.get('network', '')} — {ds.attrs.get('method', '')}")
    return fig


def save_reliability_figure(ds: Any, path: str | os.PathLike[str], *, overwrite: bool = False, **kw: Any) -> Path:
    """Draw :func:`plot_reliability` and save it atomically (format from the suffix: .png, .pdf, .svg)."""
    import matplotlib.pyplot as plt  # deferred: matplotlib only when drawing

    fig = plot_reliability(ds, **kw)
    fmt = Path(path).suffix.lstrip(".") or "png"
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=110), overwrite=overwrite)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------------------------- report figures
# The figures of the annual report (gridscope.annual): one question each, drawn with the Figure API (no pyplot,
# so they work headless in threads and on Dask workers).
_ZONE_COLORS = {"A+": "#6a3d9a", "A": "#1f78b4", "B": "#33a02c", "C": "#ff7f00", "D": "#e31a1c", "E": "#b15928"}


def _figure(fig: Any, size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure  # deferred: matplotlib only when drawing

    return fig if fig is not None else Figure(figsize=size, layout="constrained")


def _base_case(ds: Any) -> Any:
    if "scenario" not in ds.dims:
        return ds
    names = [str(s) for s in ds.scenario.values]
    return ds.sel(scenario="base" if "base" in names else names[0])


def plot_zones_vs_targets(ds: Any, *, fig: Any = None) -> Any:
    """SAIDI (fault + planned) and ASAI per supply zone against the zone targets, two panels.

    Parameters
    ----------
    ds : xarray.Dataset
        A results dataset (one network, or a study's totals); with a ``scenario`` dimension the base case.
    fig : matplotlib.figure.Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(fig, (10, 4))
    base = _base_case(ds)
    zones = [str(z) for z in base.zone.values]
    x = np.arange(len(zones))
    ax_s, ax_a = fig.subplots(1, 2)
    target = _saidi_bars(ax_s, base, x)
    ok = ~np.isnan(target)
    ax_s.scatter(x[ok], target[ok], marker="_", s=900, color="red", zorder=3, label="target")
    ax_s.set_xticks(x, zones)
    ax_s.set_xlabel("supply zone")
    ax_s.set_ylabel("SAIDI (h per customer·yr)")
    ax_s.set_title("SAIDI by zone vs target")
    ax_s.legend(fontsize=8)

    asai = base["ASAI"].values * 100
    t_asai = base["asai_target"].values * 100
    meets = base["meets_target"].values
    colors = ["#999999" if m != m else ("#33a02c" if m else "#e31a1c") for m in meets]
    ax_a.bar(x, asai, 0.6, color=colors)
    ax_a.scatter(x[ok], t_asai[ok], marker="_", s=900, color="k", zorder=3, label="target")
    finite = np.concatenate([asai[np.isfinite(asai)], t_asai[ok]])
    if finite.size:
        low = float(finite.min())
        ax_a.set_ylim(low - max(0.02, (100 - low) * 0.2), 100.0)
    ax_a.set_xticks(x, zones)
    ax_a.set_xlabel("supply zone")
    ax_a.set_ylabel("ASAI (%)")
    ax_a.set_title("Supply reliability (green: meets target, red: misses)")
    ax_a.legend(fontsize=8, loc="lower right")
    return fig


def plot_distribution(ds: Any, *, fig: Any = None, bins: int = 60) -> Any:
    """Monte Carlo: the distribution of annual SAIDI per zone with P5 / P50 / P95 and the target line.

    Needs the yearly samples (``keep_samples=True``: ``sample_SAIDI``); with only the quantiles
    (``SAIDI_quantile``) the P5–P95 range per zone is drawn instead.

    Returns
    -------
    matplotlib.figure.Figure
    """
    base = _base_case(ds)
    zones = [str(z) for z in base.zone.values]
    if "sample_SAIDI" not in base and "SAIDI_quantile" not in base:
        raise InputError("plot_distribution needs a Monte-Carlo result (sample_SAIDI or SAIDI_quantile)")
    if "sample_SAIDI" not in base:
        fig = _figure(fig, (7, 4))
        ax = fig.subplots()
        q = base["SAIDI_quantile"].transpose("zone", "quantile").values
        x = np.arange(len(zones))
        ax.errorbar(x, q[:, 1], yerr=[q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]], fmt="o", capsize=5,
                    label="P50 with P5–P95")
        t = base["saidi_target_h"].values
        ok = ~np.isnan(t)
        ax.scatter(x[ok], t[ok], marker="_", s=900, color="red", label="target")
        ax.set_xticks(x, zones)
        ax.set_xlabel("supply zone")
        ax.set_ylabel("annual SAIDI (h per customer)")
        ax.set_title("Year-to-year spread of SAIDI (Monte Carlo)")
        ax.legend(fontsize=8)
        return fig
    fig = _figure(fig, (4.0 * len(zones), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(zones), squeeze=False)[0])
    for ax, z in zip(axes, zones, strict=True):
        values = base["sample_SAIDI"].sel(zone=z).values
        p5, p50, p95, p995 = np.percentile(values, [5, 50, 95, 99.5])
        # a few catastrophic years stretch the axis: cut it at P99.5, counts on a log scale
        ax.hist(values, bins=bins, range=(0.0, max(p995, 1e-9) * 1.05), color="#a6cee3", edgecolor="#1f78b4",
                linewidth=0.5, label="simulated years")
        ax.set_yscale("log")
        for v, name, style in ((p5, "P5", ":"), (p50, "P50", "--"), (p95, "P95", ":")):
            ax.axvline(v, color="k", linestyle=style, linewidth=1, label=f"{name} {v:.2f} h")
        target = float(base["saidi_target_h"].sel(zone=z))
        if np.isfinite(target):
            ax.axvline(target, color="red", linewidth=1.5, label=f"target {target:.2f} h")
        ax.set_xlabel("annual SAIDI (h per customer), axis cut at P99.5")
        ax.set_ylabel("years (log scale)")
        ax.set_title("system" if z == "system" else f"zone {z}")
        ax.legend(fontsize=7)
    fig.suptitle(f"Distribution of annual SAIDI over {base.sizes.get('year', 0):,} simulated years")
    return fig


def plot_pareto(ds: Any, *, zone: str = "system", top: int = 20, fig: Any = None) -> Any:
    """Pareto chart of the components' SAIDI contributions: bars largest first, cumulative share line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    base = _base_case(ds)
    all_c = contributions(base, zone=zone, top=None)
    shown = all_c.head(top)
    fig = _figure(fig, (10, 4.2))
    ax = fig.subplots()
    labels = [f"{e} {i}" + (f" {n}" if n and n != str(i) else "") for e, i, n in
              zip(shown["element"], shown["index"], shown["name"], strict=True)]
    x = np.arange(len(shown))
    ax.bar(x, shown["SAIDI_h"].to_numpy(), color="#1f78b4", label="contribution")
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("SAIDI contribution (h per customer·yr)")
    ax.set_xlabel("component")
    total = float(all_c["SAIDI_h"].sum()) or 1.0
    ax2 = ax.twinx()
    ax2.plot(x, shown["SAIDI_h"].cumsum().to_numpy() / total * 100, color="#e31a1c", marker="o", markersize=3,
             label="cumulative share")
    ax2.axhline(80, color="#e31a1c", linestyle=":", linewidth=1, label="80 %")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("cumulative share of SAIDI (%)")
    handles = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="center right")
    ax.set_title(f"Top {len(shown)} contributors to {zone} SAIDI ({len(all_c)} components contribute)")
    return fig


def draw_network(ax: Any, bus_xy_km: Any, branches: Any, *, branch_values: Any = None, cmap: str = "viridis",
                 norm: Any = None, highlight: Any = None, bus_colors: Any = None, linewidth: float = 1.6) -> Any:
    """Draw a network from bus coordinates onto ``ax``: branches as segments, buses as dots.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    bus_xy_km : pandas.DataFrame
        ``x_km``, ``y_km`` per bus index (:func:`gridscope.grid.facts.bus_xy_km`).
    branches : pandas.DataFrame
        ``element``, ``index``, ``from_bus``, ``to_bus`` (lines and transformers).
    branch_values : array-like, optional
        A value per branch row coloured with ``cmap``/``norm`` (NaN: grey); default all grey.
    highlight : array-like of bool, optional
        Branch rows drawn with a thick red outline underneath.
    bus_colors : sequence, optional
        A colour per bus (default: small dark dots).

    Returns
    -------
    matplotlib.collections.LineCollection
        The coloured branches (for a colour bar).
    """
    from matplotlib.collections import LineCollection  # deferred: matplotlib only when drawing

    xy = bus_xy_km.reindex(branches["from_bus"]).to_numpy(), bus_xy_km.reindex(branches["to_bus"]).to_numpy()
    segments = np.stack([xy[0], xy[1]], axis=1)
    if highlight is not None and np.any(highlight):
        mask = np.asarray(highlight, dtype=bool)
        ax.add_collection(LineCollection(segments[mask], colors="#e31a1c", linewidths=linewidth * 4, alpha=0.5,
                                         zorder=1))
    colormap = None
    if branch_values is not None:
        import matplotlib  # deferred: matplotlib only when drawing

        colormap = matplotlib.colormaps[cmap].with_extremes(bad="#cccccc")
    lc = LineCollection(segments, linewidths=linewidth, zorder=2, cmap=colormap, norm=norm)
    if branch_values is not None:
        lc.set_array(np.ma.masked_invalid(np.asarray(branch_values, dtype=float)))
    else:
        lc.set_color("#888888")
    ax.add_collection(lc)
    ax.scatter(bus_xy_km["x_km"], bus_xy_km["y_km"], s=10, c=bus_colors if bus_colors is not None else "#333333",
               zorder=3)
    # transformers join buses drawn almost on top of each other: a square at the midpoint shows them
    trafo = (branches["element"] == "trafo").to_numpy()
    if trafo.any():
        mid = (xy[0][trafo] + xy[1][trafo]) / 2
        edge = np.where(np.asarray(highlight, dtype=bool)[trafo], "#e31a1c", "#333333") \
            if highlight is not None else "#333333"
        kw: dict[str, Any] = {"c": "#888888"}
        if branch_values is not None:
            kw = {"c": np.asarray(branch_values, dtype=float)[trafo], "cmap": colormap, "norm": lc.norm,
                  "plotnonfinite": True}
        ax.scatter(mid[:, 0], mid[:, 1], s=46, marker="s", edgecolors=edge, linewidths=1.5, zorder=4,
                   label="transformer", **kw)
    ax.set_xlabel("x (km)")
    ax.set_ylabel("y (km)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    return lc


def plot_network_zones(bus_xy_km: Any, branches: Any, bus_zone: Any, *, title: str = "", fig: Any = None) -> Any:
    """The network drawn from its coordinates, buses coloured by supply zone (legend: zones).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D  # deferred: matplotlib only when drawing

    fig = _figure(fig, (6.5, 5.5))
    ax = fig.subplots()
    zones = [str(z) for z in bus_zone.reindex(bus_xy_km.index).fillna("")]
    colors = [_ZONE_COLORS.get(z, "#999999") for z in zones]
    draw_network(ax, bus_xy_km, branches, bus_colors=colors)
    present = [z for z in _ZONE_COLORS if z in set(zones)] + (["none"] if "" in set(zones) else [])
    ax.legend([Line2D([], [], marker="o", linestyle="", color=_ZONE_COLORS.get(z, "#999999")) for z in present],
              [f"zone {z}" for z in present], fontsize=8, title="supply zone")
    ax.set_title(title or "Supply zones")
    return fig


def branch_saidi_contribution(ds: Any, branches: Any, *, zone: str = "system") -> np.ndarray:
    """Each branch row's contribution to ``zone`` SAIDI (h per customer·yr; NaN for branches that are no
    component of the results)."""
    base = _base_case(ds)
    contrib = base["contrib_SAIDI"].sel(zone=zone).values
    key = dict(zip(zip(base["component_element"].values.astype(str), base["component_index"].values.tolist(),
                       strict=True), contrib, strict=True))
    return np.array([key.get((str(e), int(i)), np.nan) for e, i in zip(branches["element"], branches["index"],
                                                                        strict=True)], dtype=float)


def plot_network_saidi(bus_xy_km: Any, branches: Any, ds: Any, *, zone: str = "system", title: str = "",
                       fig: Any = None) -> Any:
    """The network coloured by each line's and transformer's contribution to SAIDI (colour bar in h).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(fig, (7, 5.5))
    ax = fig.subplots()
    values = branch_saidi_contribution(ds, branches, zone=zone)
    lc = draw_network(ax, bus_xy_km, branches, branch_values=values, cmap="magma_r", linewidth=2.2)
    fig.colorbar(lc, ax=ax, label=f"contribution to {zone} SAIDI (h per customer·yr)")
    if (branches["element"] == "trafo").any():
        ax.legend(fontsize=8, loc="best")  # the transformer squares
    ax.set_title(title or "SAIDI contribution of each line and transformer")
    return fig


def save_figure(fig: Any, folder: str | os.PathLike[str], stem: str, *, formats: tuple[str, ...] = ("png", "svg"),
                dpi: int = 110) -> list[Path]:
    """Save ``fig`` as ``<folder>/<stem>.<format>`` for each format (no timestamps in the files)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
        fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
        paths.append(path)
    return paths
