"""The loading result every capacity analysis reads: :class:`PeakLoading`, from one snapshot or a time series.

Its home is here, below both producers (:mod:`.powerflow` for the snapshot, :mod:`.timeseries` for the batch
time series), so neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .flags import Thresholds

__all__ = [
    "BUS_COLUMNS",
    "BUS_TS_COLUMNS",
    "EXT_GRID_COLUMNS",
    "LINE_COLUMNS",
    "TRAFO3W_COLUMNS",
    "TRAFO_COLUMNS",
    "PeakLoading",
]

LINE_COLUMNS = ["loading_percent", "i_ka", "p_from_mw", "q_from_mvar", "p_to_mw", "q_to_mvar", "time"]
TRAFO_COLUMNS = ["loading_percent", "p_hv_mw", "q_hv_mvar", "s_hv_mva", "p_lv_mw", "time"]
TRAFO3W_COLUMNS = ["loading_percent", "time"]
BUS_COLUMNS = ["vm_pu", "p_mw", "q_mvar"]
BUS_TS_COLUMNS = ["vm_pu", "vm_min_pu", "vm_max_pu", "time_min", "time_max", "p_mw", "q_mvar", "time"]
EXT_GRID_COLUMNS = ["p_mw", "q_mvar", "time"]


@dataclass(eq=False)
class PeakLoading:
    """Peak loading of every element, from one snapshot or a time series.

    Attributes
    ----------
    line : pandas.DataFrame
        Index ``net.line.index``; columns ``loading_percent``, ``i_ka``, ``p_from_mw``, ``q_from_mvar``,
        ``p_to_mw``, ``q_to_mvar`` (all at the line's own peak step) and ``time`` (label of that step, ``None``
        for a snapshot).
    trafo : pandas.DataFrame
        Index ``net.trafo.index``; ``loading_percent``, ``p_hv_mw``, ``q_hv_mvar``, ``s_hv_mva``, ``p_lv_mw``,
        ``time``.
    trafo3w : pandas.DataFrame
        Index ``net.trafo3w.index``; ``loading_percent``, ``time`` (empty when the network has none).
    bus : pandas.DataFrame
        Index ``net.bus.index``; ``vm_pu``, ``p_mw``, ``q_mvar`` (net injection, as ``res_bus``). For a time
        series also ``vm_min_pu``, ``vm_max_pu``, ``time_min``, ``time_max`` and ``time`` (the system peak step
        at which ``vm_pu``, ``p_mw``, ``q_mvar`` are given).
    ext_grid : pandas.DataFrame
        Index ``net.ext_grid.index``; ``p_mw``, ``q_mvar`` and ``time`` (for a time series: the step of the
        largest import ``p_mw``).
    method : str
        ``"snapshot"`` or ``"timeseries:<engine>"``.
    scaling : float
        Load scaling factor applied on top of the network's own ``scaling`` column.
    n_steps : int
        Number of power flows the peaks are taken over (1 for a snapshot).
    hours_above : pandas.DataFrame or None
        Time series only: columns ``element``, ``index``, ``kind`` (``"heavy"``, ``"overload"`` or
        ``"voltage"``), ``threshold_percent`` (for ``"voltage"``: the allowed band in percent of nominal
        voltage) and ``hours_above`` (hours at or above the loading threshold, or outside the voltage band).
    include_sgen : bool
        Whether static generators were in service.
    step_h : float or None
        Length of one time step in hours (time series only).
    engine : str or None
        Batch engine of a time series (``"pgm"`` or ``"pandapower"``).
    time_index : pandas.Index or None
        Labels of the time steps (time series only).
    thresholds : Thresholds or None
        The thresholds ``hours_above`` was counted with.
    """

    line: pd.DataFrame
    trafo: pd.DataFrame
    trafo3w: pd.DataFrame
    bus: pd.DataFrame
    ext_grid: pd.DataFrame
    method: str
    scaling: float
    n_steps: int
    hours_above: pd.DataFrame | None = None
    include_sgen: bool = False
    step_h: float | None = None
    engine: str | None = None
    time_index: pd.Index | None = field(default=None, repr=False)
    thresholds: Thresholds | None = field(default=None, repr=False)

    @property
    def is_timeseries(self) -> bool:
        """True when the peaks were taken over a time series."""
        return self.method.startswith("timeseries")

    def summary(self) -> dict[str, Any]:
        """Maximum line and transformer loading, voltage range and number of steps (for printing)."""
        def _max(df: pd.DataFrame) -> float:
            return float(df["loading_percent"].max()) if len(df) and df["loading_percent"].notna().any() \
                else float("nan")

        vmin = self.bus["vm_min_pu"] if "vm_min_pu" in self.bus else self.bus["vm_pu"]
        vmax = self.bus["vm_max_pu"] if "vm_max_pu" in self.bus else self.bus["vm_pu"]
        return {
            "method": self.method,
            "n_steps": self.n_steps,
            "scaling": self.scaling,
            "max_line_loading_percent": _max(self.line),
            "max_trafo_loading_percent": _max(self.trafo),
            "vm_min_pu": float(vmin.min()),
            "vm_max_pu": float(vmax.max()),
        }


