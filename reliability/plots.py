"""Matplotlib figures of reliability results: zones against targets, feeders, contributors, distributions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_reliability", "save_reliability_figure"]


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
    import matplotlib.pyplot as plt

    from .results import contributions

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
        fault = ds["SAIDI_fault"].values
        planned = ds["SAIDI_planned"].values
        ax.bar(x, fault, 0.6, label="fault")
        ax.bar(x, planned, 0.6, bottom=fault, label="planned")
        if "SAIDI_stderr" in ds:
            ax.errorbar(x, ds["SAIDI"].values, yerr=3 * ds["SAIDI_stderr"].values, fmt="none", ecolor="k",
                        capsize=4, label="±3 SE")
        target = ds["saidi_target_h"].values
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
    import matplotlib.pyplot as plt

    from ..grid.io import atomic_write

    fig = plot_reliability(ds, **kw)
    fmt = Path(path).suffix.lstrip(".") or "png"
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=110), overwrite=overwrite)
    finally:
        plt.close(fig)
