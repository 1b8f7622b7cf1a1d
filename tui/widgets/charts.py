"""Reliability charts drawn with textual-plotext: Pareto of SAIDI contributors, the Monte-Carlo distribution of
SAIDI per zone, and the running mean ± standard error while a Monte-Carlo run converges.

Each chart keeps its data in plain attributes (what the tests and the app read) and rebuilds the plotext figure
from them on every render, so a resize or a theme change needs nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from textual.app import RenderResult
from textual_plotext import PlotextPlot

__all__ = ["QUANTILE_LEVELS", "SAIDI_UNITS", "ConvergenceChart", "DistributionChart", "ParetoChart",
           "ZoneDistribution"]

#: Units shown on every SAIDI axis.
SAIDI_UNITS = "h/customer·yr"
#: The quantiles the distribution chart marks (those of the Monte-Carlo dataset's ``quantile`` coordinate).
QUANTILE_LEVELS = (0.05, 0.5, 0.95)
_QUANTILE_NAMES = {0.05: "P5", 0.5: "P50", 0.95: "P95"}
_MAX_LABEL = 10          # characters of a Pareto bar label
_BINS = 30               # histogram bins


class ParetoChart(PlotextPlot):
    """Top SAIDI contributors as bars (largest first) with the cumulative share as a line on the right axis.

    Parameters
    ----------
    max_bars : int
        Bars shown at most; the rest still count in the cumulative share's denominator.
    id : str, optional
    """

    def __init__(self, *, max_bars: int = 12, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_bars = int(max_bars)
        self.labels: list[str] = []
        self.values_h = np.zeros(0)
        self.cumulative_percent = np.zeros(0)
        self.title = "Top SAIDI contributors"

    def update_data(self, labels: Sequence[str], values_h: Sequence[float], *, total_h: float | None = None,
                    title: str | None = None) -> None:
        """Set the contributors.

        Parameters
        ----------
        labels : sequence of str
            One per contributor (e.g. ``"line 3 L3"``).
        values_h : sequence of float
            SAIDI contribution of each, h/customer·yr; sorted largest first here.
        total_h : float, optional
            Denominator of the cumulative share (the zone's SAIDI); default the sum of ``values_h``.
        title : str, optional
        """
        values = np.asarray(values_h, dtype=float)
        if len(labels) != values.size:
            raise ValueError(f"{len(labels)} labels for {values.size} values")
        order = np.argsort(-values, kind="stable")
        total = float(values.sum()) if total_h is None else float(total_h)
        shown = order[: self.max_bars]
        self.labels = [str(labels[i]) for i in shown]
        self.values_h = values[shown]
        self.cumulative_percent = (np.cumsum(self.values_h) / total * 100.0 if total > 0
                                   else np.zeros(self.values_h.size))
        if title is not None:
            self.title = title
        self.refresh()

    def render(self) -> RenderResult:
        """Rebuild the figure from the data, then draw it."""
        plt = self.plt
        plt.clear_figure()
        plt.title(self.title)
        if self.values_h.size:
            x = list(range(1, self.values_h.size + 1))
            plt.bar(x, self.values_h.tolist(), color="orange", width=0.6)
            plt.plot(x, self.cumulative_percent.tolist(), yside="right", marker="dot", color="cyan",
                     label="cumulative %")
            room = max(3, min(_MAX_LABEL, self.size.width // max(len(x), 1) - 1))
            plt.xticks(x, [label[:room] for label in self.labels])
            plt.ylim(0, 100, yside="right")
            plt.ylabel(f"SAIDI {SAIDI_UNITS}", yside="left")
            plt.ylabel("cumulative %", yside="right")
        return super().render()


@dataclass(frozen=True)
class ZoneDistribution:
    """The distribution of one zone's annual SAIDI."""

    zone: str
    quantiles_h: dict[float, float]     # QUANTILE_LEVELS → h/customer·yr
    target_h: float | None
    samples_h: np.ndarray | None


class DistributionChart(PlotextPlot):
    """Monte-Carlo distribution of annual SAIDI per zone: a histogram of the simulated years (when samples are
    given), P5 / P50 / P95 marked, and the zone's target as a line; one panel per zone."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.zones: dict[str, ZoneDistribution] = {}

    def update_data(self, zone: str, samples_h: Sequence[float] | np.ndarray | None = None, *,
                    quantiles_h: Mapping[float, float] | None = None, target_h: float | None = None) -> None:
        """Set (or replace) one zone's distribution.

        Parameters
        ----------
        zone : str
            Zone label (``"A"``, ``"system"`` ...).
        samples_h : array-like, optional
            Annual SAIDI of each simulated year (``ds["sample_SAIDI"].sel(zone=zone)`` of a run with
            ``keep_samples=True``); drawn as a histogram. Without ``quantiles_h`` the P5/P50/P95 are computed
            from them (``numpy.percentile``, linear).
        quantiles_h : mapping, optional
            ``{0.05: p5, 0.5: p50, 0.95: p95}`` — e.g. ``dict(zip(ds.quantile.values,
            ds["SAIDI_quantile"].sel(zone=zone).values))``; takes precedence over the samples' own.
        target_h : float, optional
            The zone's SAIDI target, h/customer·yr.
        """
        samples = None
        if samples_h is not None:
            samples = np.asarray(samples_h, dtype=float)
            samples = samples[np.isfinite(samples)]
        if quantiles_h is not None:
            q = {float(k): float(v) for k, v in quantiles_h.items()}
            missing = [lvl for lvl in QUANTILE_LEVELS if lvl not in q]
            if missing:
                raise ValueError(f"quantiles_h lacks {missing}")
        elif samples is not None and samples.size:
            q = dict(zip(QUANTILE_LEVELS, np.percentile(samples, [100 * lvl for lvl in QUANTILE_LEVELS]).tolist(),
                         strict=True))
        else:
            raise ValueError("give samples_h or quantiles_h")
        self.zones[str(zone)] = ZoneDistribution(zone=str(zone), quantiles_h=q,
                                                 target_h=None if target_h is None else float(target_h),
                                                 samples_h=samples)
        self.refresh()

    def clear(self) -> None:
        """Forget every zone."""
        self.zones = {}
        self.refresh()

    def render(self) -> RenderResult:
        """One panel per zone, stacked, sharing the SAIDI axis range."""
        plt = self.plt
        plt.clear_figure()
        zones = list(self.zones.values())
        if not zones:
            plt.title("SAIDI distribution (run Monte Carlo)")
            return super().render()
        hi = max(_upper_h(z) for z in zones)
        hi = hi * 1.05 if hi > 0 else 1.0
        plt.subplots(len(zones), 1)
        for row, z in enumerate(zones, start=1):
            panel = plt.subplot(row, 1)
            q = z.quantiles_h
            marks = " · ".join(f"{_QUANTILE_NAMES[lvl]} {q[lvl]:.3g}" for lvl in QUANTILE_LEVELS)
            target = f" · target {z.target_h:.3g}" if z.target_h is not None else ""
            panel.title(f"zone {z.zone}: {marks}{target} {SAIDI_UNITS}")
            if z.samples_h is not None and z.samples_h.size:
                panel.hist(z.samples_h.tolist(), bins=_BINS, color="blue")
                panel.ylabel("years")
            else:                      # quantiles only: a P5–P95 whisker with the median on it
                panel.plot([q[0.05], q[0.95]], [1.0, 1.0], color="blue", marker="hd")
                panel.scatter([q[0.5]], [1.0], color="green", marker="◆")
                panel.ylim(0.0, 2.0)
                panel.yticks([])
            for lvl, colour in zip(QUANTILE_LEVELS, ("cyan", "green", "cyan"), strict=True):
                panel.vline(q[lvl], colour)
            if z.target_h is not None:
                panel.vline(z.target_h, "red")
            panel.xlim(0, hi)
            if row == len(zones):
                panel.xlabel(f"annual SAIDI, {SAIDI_UNITS}")
        return super().render()


def _upper_h(z: ZoneDistribution) -> float:
    """The largest value a zone's panel must show."""
    values = [*z.quantiles_h.values(), z.target_h or 0.0]
    if z.samples_h is not None and z.samples_h.size:
        values.append(float(z.samples_h.max()))
    return max(values)


class ConvergenceChart(PlotextPlot):
    """Running mean of system SAIDI ± one standard error against simulated years, while a run converges."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.years: list[float] = []
        self.mean_h: list[float] = []
        self.se_h: list[float] = []

    def add_point(self, years: float, mean_h: float, se_h: float) -> None:
        """Append the running estimate after ``years`` simulated years (mean and standard error, h/customer·yr)."""
        self.years.append(float(years))
        self.mean_h.append(float(mean_h))
        self.se_h.append(float(se_h))
        self.refresh()

    def reset(self) -> None:
        """Forget every point (a new run starts)."""
        self.years, self.mean_h, self.se_h = [], [], []
        self.refresh()

    @property
    def band_h(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper edges of the mean ± SE band."""
        mean, se = np.asarray(self.mean_h), np.asarray(self.se_h)
        return mean - se, mean + se

    def render(self) -> RenderResult:
        """The mean as a line, mean ± SE as two thinner lines."""
        plt = self.plt
        plt.clear_figure()
        if self.years:
            last = f"{self.mean_h[-1]:.4g} ± {self.se_h[-1]:.2g}"
            plt.title(f"system SAIDI after {self.years[-1]:,.0f} years: {last} {SAIDI_UNITS}")
            lo, hi = self.band_h
            plt.plot(self.years, lo.tolist(), color="gray", marker="dot", label="− SE")
            plt.plot(self.years, hi.tolist(), color="gray", marker="dot", label="+ SE")
            plt.plot(self.years, self.mean_h, color="cyan", marker="braille", label="mean")
            plt.xlabel("simulated years")
            plt.ylabel(f"SAIDI {SAIDI_UNITS}")
        else:
            plt.title("Monte-Carlo convergence (waiting for a run)")
        return super().render()
