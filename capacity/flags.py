"""Loading flags: heavy load (重载), overload (过载) and bus voltages outside the allowed band.

Defaults follow the planning guidance the project is written for: a line is *heavily loaded* at or above 70 %
of its rating, a transformer at or above 80 %; anything at or above 100 % is *overloaded*; a bus voltage more
outside the band of its voltage level is *under-* or *overvoltage* (GB/T 12325-2008, :mod:`.voltage`: ±7 % at
20 kV and below, 0.90..1.10 pu at 35 kV and above, where the standard bounds the sum of the absolute deviations
by 10 %; +7 % / -10 % at 220 V single-phase supply points: ``phases`` = 1, or a nominal voltage at or below
0.25 kV without ``phases``).
Every threshold can be overridden per element type and per voltage level:

>>> Thresholds(overrides={"line": {20.0: 60.0}, "bus": {0.4: 0.10}})       # doctest: +SKIP

* ``"line"``, ``"trafo"``, ``"trafo3w"``: heavy-load threshold in percent, keyed by the nominal voltage (kV) of
  the line's from-bus, of the transformer's HV side;
* ``"line_overload"``, ``"trafo_overload"``, ``"trafo3w_overload"``: overload threshold in percent;
* ``"bus"``: half-width of the voltage band in per unit, keyed by the bus's nominal voltage (replaces the
  level's default band).

A voltage level matches when it is within 1 % of the key (10 and 10.5 kV are different levels).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..grid.topology import build_topology
from ..settings import (
    LINE_HEAVY_PERCENT,
    OVERLOAD_PERCENT,
    TRAFO_HEAVY_PERCENT,
    V_BAND_HV_MIN_KV,
    V_BAND_HV_PU,
    V_BAND_LV1PH_MAX_KV,
    V_BAND_LV1PH_PU,
    V_BAND_PU,
)
from .voltage import VoltageBands, band_limits_pu, bus_phases

__all__ = ["FLAG_COLUMNS", "SEVERITIES", "Thresholds", "flag_loading"]

#: Columns of the flag table, in order.
FLAG_COLUMNS = ["element", "index", "name", "feeder", "zone", "vn_kv", "loading_percent", "vm_pu",
                "limit_percent", "when", "severity", "hours_above"]
#: Severities, worst first (the table's sort order).
SEVERITIES = ("overload", "undervoltage", "overvoltage", "heavy")
_OVERRIDE_KEYS = ("line", "trafo", "trafo3w", "line_overload", "trafo_overload", "trafo3w_overload", "bus")


@dataclass(frozen=True)
class Thresholds:
    """Loading and voltage thresholds of the flags.

    Defaults from :mod:`gridscope.settings` (one home, shared with the CLI).

    Attributes
    ----------
    line_heavy : float
        Line heavy-load threshold, percent of rating (default 70).
    trafo_heavy : float
        Two-winding transformer heavy-load threshold, percent (default 80).
    trafo3w_heavy : float
        Three-winding transformer heavy-load threshold, percent (default 80).
    overload : float
        Overload threshold for every element type, percent (default 100).
    v_band_pu : float
        Allowed deviation of bus voltage from nominal below ``v_band_hv_min_kv``, per unit (default 0.07: ±7 %).
    v_band_hv_pu : tuple of float
        Band (lo, hi) in per unit at and above ``v_band_hv_min_kv`` (default 0.90..1.10).
    v_band_hv_min_kv : float
        Nominal voltage (kV) from which ``v_band_hv_pu`` applies (default 35).
    v_band_lv1ph_pu : tuple of float
        Band (lo, hi) of 220 V single-phase supply points (default 0.90..1.07).
    v_band_lv1ph_max_kv : float
        Buses at or below this nominal voltage (kV) are single-phase unless ``net.bus["phases"]`` says 3
        (default 0.25; 0 leaves only the ``phases`` column).
    overrides : mapping
        Per element type and voltage level, see the module docstring.
    """

    line_heavy: float = LINE_HEAVY_PERCENT
    trafo_heavy: float = TRAFO_HEAVY_PERCENT
    trafo3w_heavy: float = TRAFO_HEAVY_PERCENT
    overload: float = OVERLOAD_PERCENT
    v_band_pu: float = V_BAND_PU
    overrides: Mapping[str, Mapping[float, float]] = field(default_factory=dict)
    v_band_hv_pu: tuple[float, float] = V_BAND_HV_PU
    v_band_hv_min_kv: float = V_BAND_HV_MIN_KV
    v_band_lv1ph_pu: tuple[float, float] = V_BAND_LV1PH_PU
    v_band_lv1ph_max_kv: float = V_BAND_LV1PH_MAX_KV

    def __post_init__(self) -> None:
        problems = []
        for name in ("line_heavy", "trafo_heavy", "trafo3w_heavy", "overload"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                problems.append(f"{name} must be a positive percentage, got {value!r}")
        if not (np.isfinite(self.v_band_pu) and 0 < self.v_band_pu < 1):
            problems.append(f"v_band_pu must be in (0, 1) per unit, got {self.v_band_pu!r}")
        try:
            hv_lo, hv_hi = (float(x) for x in self.v_band_hv_pu)
            if not (0 < hv_lo < 1 < hv_hi < 2):
                problems.append(f"v_band_hv_pu must be (lo, hi) with 0 < lo < 1 < hi < 2, got {self.v_band_hv_pu!r}")
        except (TypeError, ValueError):
            problems.append(f"v_band_hv_pu must be a pair of numbers (lo, hi), got {self.v_band_hv_pu!r}")
        try:
            lv_lo, lv_hi = (float(x) for x in self.v_band_lv1ph_pu)
            if not (0 < lv_lo < 1 < lv_hi < 2):
                problems.append(f"v_band_lv1ph_pu must be (lo, hi) with 0 < lo < 1 < hi < 2, got "
                                f"{self.v_band_lv1ph_pu!r}")
        except (TypeError, ValueError):
            problems.append(f"v_band_lv1ph_pu must be a pair of numbers (lo, hi), got {self.v_band_lv1ph_pu!r}")
        if not (np.isfinite(self.v_band_lv1ph_max_kv) and self.v_band_lv1ph_max_kv >= 0):
            problems.append(f"v_band_lv1ph_max_kv must be a kV >= 0, got {self.v_band_lv1ph_max_kv!r}")
        if not (np.isfinite(self.v_band_hv_min_kv) and self.v_band_hv_min_kv > 0):
            problems.append(f"v_band_hv_min_kv must be a positive kV, got {self.v_band_hv_min_kv!r}")
        for key, levels in dict(self.overrides).items():
            if key not in _OVERRIDE_KEYS:
                problems.append(f"unknown override {key!r}; use one of {', '.join(_OVERRIDE_KEYS)}")
                continue
            if not isinstance(levels, Mapping):
                problems.append(f"override {key!r} must map voltage level (kV) to a value, got {levels!r}")
                continue
            for kv, value in levels.items():
                try:
                    kv_f, value_f = float(kv), float(value)
                except (TypeError, ValueError):
                    problems.append(f"override {key!r}: {kv!r}: {value!r} is not a number pair")
                    continue
                if not (kv_f > 0 and np.isfinite(value_f) and value_f > 0):
                    problems.append(f"override {key!r}: level {kv!r} kV -> {value!r} must both be positive")
                elif key == "bus" and value_f >= 1:
                    problems.append(f"override 'bus': band {value!r} at {kv!r} kV must be in per unit (< 1)")
        if problems:
            raise InputError("invalid thresholds:\n  " + "\n  ".join(problems))

    # ------------------------------------------------------------------ resolution per element
    def _by_level(self, key: str, vn_kv: np.ndarray, default: float) -> np.ndarray:
        out = np.full(vn_kv.shape, float(default))
        for kv, value in dict(self.overrides.get(key, {})).items():
            match = np.abs(vn_kv - float(kv)) <= 0.01 * float(kv)
            out[match] = float(value)
        return out

    def heavy_percent(self, element: str, vn_kv: Any) -> np.ndarray:
        """Heavy-load threshold (percent) of ``element`` rows at nominal voltages ``vn_kv``."""
        default = {"line": self.line_heavy, "trafo": self.trafo_heavy, "trafo3w": self.trafo3w_heavy}[element]
        return self._by_level(element, np.asarray(vn_kv, dtype=float), default)

    def overload_percent(self, element: str, vn_kv: Any) -> np.ndarray:
        """Overload threshold (percent) of ``element`` rows at nominal voltages ``vn_kv``."""
        return self._by_level(f"{element}_overload", np.asarray(vn_kv, dtype=float), self.overload)

    @property
    def bands(self) -> VoltageBands:
        """The voltage bands per level (:class:`~gridscope.capacity.voltage.VoltageBands`) of these thresholds."""
        return VoltageBands(hv_pu=tuple(float(x) for x in self.v_band_hv_pu), mv_pu=float(self.v_band_pu),
                            hv_min_kv=float(self.v_band_hv_min_kv),
                            lv_single_phase_pu=tuple(float(x) for x in self.v_band_lv1ph_pu),
                            lv_single_phase_max_kv=float(self.v_band_lv1ph_max_kv))

    def band_limits(self, vn_kv: Any, phases: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Allowed voltage band ``(lo_pu, hi_pu)`` of buses at nominal voltages ``vn_kv`` (``phases``: 1 / 3 /
        NaN per bus, :func:`~gridscope.capacity.voltage.bus_phases`): the level's band
        (:func:`~gridscope.capacity.voltage.band_limits_pu`) unless a ``"bus"`` override names the level."""
        vn = np.asarray(vn_kv, dtype=float)
        lo, hi = band_limits_pu(vn, self.bands, phases=phases)
        for kv, value in dict(self.overrides.get("bus", {})).items():
            match = np.abs(vn - float(kv)) <= 0.01 * float(kv)
            lo = np.where(match, 1.0 - float(value), lo)
            hi = np.where(match, 1.0 + float(value), hi)
        return lo, hi

    def band_pu(self, vn_kv: Any) -> np.ndarray:
        """Allowed voltage deviation (per unit, the wider side of :meth:`band_limits`) at nominal voltages
        ``vn_kv``."""
        lo, hi = self.band_limits(vn_kv)
        return np.maximum(1.0 - lo, hi - 1.0)

    @classmethod
    def coerce(cls, value: Thresholds | Mapping[str, Any] | None) -> Thresholds:
        """A :class:`Thresholds` from ``None`` (defaults), a mapping of its fields, or itself."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            known = {"line_heavy", "trafo_heavy", "trafo3w_heavy", "overload", "v_band_pu", "overrides",
                     "v_band_hv_pu", "v_band_hv_min_kv", "v_band_lv1ph_pu", "v_band_lv1ph_max_kv"}
            unknown = sorted(set(value) - known)
            if unknown:
                raise InputError(f"unknown threshold field(s) {', '.join(unknown)}; use {', '.join(sorted(known))}")
            return cls(**dict(value))
        raise InputError(f"thresholds must be a Thresholds, a mapping or None, got {type(value).__name__}")


def element_voltage_kv(net: Any, element: str) -> pd.Series:
    """Nominal voltage a threshold is looked up with: the from-bus of a line, the HV side of a transformer."""
    if element == "line":
        bus = net.line["from_bus"]
    elif element in ("trafo", "trafo3w"):
        bus = net[element]["hv_bus"]
    elif element == "bus":
        return net.bus["vn_kv"].astype(float)
    else:  # pragma: no cover - internal use only
        raise ValueError(element)
    return pd.Series(net.bus["vn_kv"].reindex(bus.to_numpy()).to_numpy(dtype=float), index=net[element].index)


def _element_bus(net: Any, element: str) -> pd.Series:
    if element == "line":
        return net.line["from_bus"]
    if element in ("trafo", "trafo3w"):
        return net[element]["lv_bus"]
    return pd.Series(net.bus.index, index=net.bus.index)


def _lookup(net: Any, element: str, topology: Any) -> pd.DataFrame:
    """name, feeder, zone, vn_kv of every row of ``net[element]``."""
    df = net[element]
    name = df["name"] if "name" in df.columns else pd.Series(None, index=df.index)
    if topology is not None and len(df):
        feeder = topology.feeder_name_of(net, element)
    else:
        feeder = pd.Series(None, index=df.index, dtype=object)
    zone_col = net.bus["zone"] if "zone" in net.bus.columns else pd.Series(None, index=net.bus.index)
    zone = pd.Series(zone_col.reindex(_element_bus(net, element).to_numpy()).to_numpy(), index=df.index)
    return pd.DataFrame({"name": name, "feeder": feeder, "zone": zone,
                         "vn_kv": element_voltage_kv(net, element)}, index=df.index)


def _hours(peak: Any, element: str, kind: str, threshold: np.ndarray, index: pd.Index) -> np.ndarray:
    """Hours above ``threshold`` from ``peak.hours_above`` (NaN when not counted with these thresholds)."""
    out = np.full(len(index), np.nan)
    ha = getattr(peak, "hours_above", None)
    if ha is None or not len(ha):
        return out
    sub = ha[(ha["element"] == element) & (ha["kind"] == kind)].set_index("index")
    if not len(sub):
        return out
    sub = sub.reindex(index)
    same = np.isclose(sub["threshold_percent"].to_numpy(dtype=float), threshold)
    out[same] = sub["hours_above"].to_numpy(dtype=float)[same]
    return out


def _loading_flags(net: Any, peak: Any, element: str, th: Thresholds, topology: Any) -> list[pd.DataFrame]:
    table = getattr(peak, element)
    if table is None or not len(table) or element not in net or not len(net[element]):
        return []
    info = _lookup(net, element, topology)
    loading = table["loading_percent"].reindex(info.index).to_numpy(dtype=float)
    when = table["time"].reindex(info.index).to_numpy(dtype=object) if "time" in table else \
        np.full(len(info), None, dtype=object)
    vn = info["vn_kv"].to_numpy(dtype=float)
    heavy = th.heavy_percent(element, vn)
    over = th.overload_percent(element, vn)
    finite = np.isfinite(loading)
    is_over = finite & (loading >= over)
    is_heavy = finite & ~is_over & (loading >= heavy)
    out = []
    for mask, limit, severity in ((is_over, over, "overload"), (is_heavy, heavy, "heavy")):
        if not mask.any():
            continue
        hours = _hours(peak, element, severity, limit, info.index)
        rows = info[mask].copy()
        rows.insert(0, "element", element)
        rows.insert(1, "index", info.index[mask])
        rows["loading_percent"] = loading[mask]
        rows["vm_pu"] = np.nan
        rows["limit_percent"] = limit[mask]
        rows["when"] = when[mask]
        rows["severity"] = severity
        rows["hours_above"] = hours[mask]
        rows["_excess"] = loading[mask] / limit[mask]
        out.append(rows)
    return out


def _voltage_flags(net: Any, peak: Any, th: Thresholds, topology: Any) -> list[pd.DataFrame]:
    bus = peak.bus
    if bus is None or not len(bus):
        return []
    info = _lookup(net, "bus", topology)
    phases = bus_phases(net)
    if phases is not None:
        phases = pd.Series(phases, index=net.bus.index).reindex(info.index).to_numpy(dtype=float)
    band_lo, band_hi = th.band_limits(info["vn_kv"].to_numpy(dtype=float), phases)
    band = np.maximum(1.0 - band_lo, band_hi - 1.0)
    if "vm_min_pu" in bus.columns:
        vmin = bus["vm_min_pu"].reindex(info.index).to_numpy(dtype=float)
        vmax = bus["vm_max_pu"].reindex(info.index).to_numpy(dtype=float)
        tmin = bus["time_min"].reindex(info.index).to_numpy(dtype=object)
        tmax = bus["time_max"].reindex(info.index).to_numpy(dtype=object)
    else:
        vmin = vmax = bus["vm_pu"].reindex(info.index).to_numpy(dtype=float)
        tmin = tmax = np.full(len(info), None, dtype=object)
    hours = _hours(peak, "bus", "voltage", 100.0 * band, info.index)
    out = []
    # a bus is outside the band when vm < lo or vm > hi (a value exactly on the band edge is allowed)
    for vm, when, limit, severity in ((vmin, tmin, band_lo, "undervoltage"),
                                      (vmax, tmax, band_hi, "overvoltage")):
        with np.errstate(invalid="ignore"):
            mask = np.isfinite(vm) & ((vm < limit - 1e-12) if severity == "undervoltage" else
                                      (vm > limit + 1e-12))
        if not mask.any():
            continue
        rows = info[mask].copy()
        rows.insert(0, "element", "bus")
        rows.insert(1, "index", info.index[mask])
        rows["loading_percent"] = np.nan
        rows["vm_pu"] = vm[mask]
        rows["limit_percent"] = 100.0 * limit[mask]
        rows["when"] = when[mask]
        rows["severity"] = severity
        rows["hours_above"] = hours[mask]
        rows["_excess"] = np.abs(vm[mask] - 1.0) / np.abs(limit[mask] - 1.0)
        out.append(rows)
    return out


def flag_loading(net: Any, peak: Any, *, thresholds: Thresholds | Mapping[str, Any] | None = None,
                 topology: Any = None) -> pd.DataFrame:
    """Flag heavily loaded and overloaded lines and transformers and buses outside the voltage band.

    Parameters
    ----------
    net : pandapowerNet
        The network the loading was computed on (for names, voltage levels and zones); not modified.
    peak : PeakLoading
        From :func:`~gridscope.capacity.powerflow.run_snapshot` or
        :func:`~gridscope.capacity.powerflow.run_timeseries`.
    thresholds : Thresholds, mapping or None
        Default :class:`Thresholds`.
    topology : Topology, None or False
        For the feeder column; built with :func:`gridscope.grid.topology.build_topology` when ``None``; pass
        ``False`` to skip feeders.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FLAG_COLUMNS`: ``element`` (``line``/``trafo``/``trafo3w``/``bus``), ``index``, ``name``,
        ``feeder``, ``zone`` (of the line's from-bus, the transformer's LV bus, the bus), ``vn_kv`` (the level
        the threshold was taken at), ``loading_percent`` (NaN for buses), ``vm_pu`` (buses), ``limit_percent``
        (loading threshold; for buses the voltage limit in percent of nominal, e.g. 93.0), ``when`` (label of
        the peak step, ``None`` for a snapshot), ``severity`` (``overload``, ``undervoltage``,
        ``overvoltage``, ``heavy``), ``hours_above`` (time series: hours at or above the threshold, or outside
        the band; NaN for a snapshot). Sorted worst first: by severity, then by how far beyond the limit.
        An element is listed once, with its worst severity; a bus can be listed as both under- and
        overvoltage over a time series.
    """
    th = Thresholds.coerce(thresholds)
    if topology is None:
        topology = build_topology(net)
    elif topology is False:
        topology = None
    parts: list[pd.DataFrame] = []
    for element in ("line", "trafo", "trafo3w"):
        parts += _loading_flags(net, peak, element, th, topology)
    parts += _voltage_flags(net, peak, th, topology)
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("element", "name", "feeder", "zone", "when",
                                                                  "severity") else float)
                             for c in FLAG_COLUMNS})
    flags = pd.concat(parts, ignore_index=True)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    flags["_rank"] = flags["severity"].map(rank)
    flags = flags.sort_values(["_rank", "_excess", "element", "index"], ascending=[True, False, True, True],
                              kind="stable")
    flags["index"] = flags["index"].astype(np.int64)
    return flags[FLAG_COLUMNS].reset_index(drop=True)
