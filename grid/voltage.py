"""Voltage bands per nominal level (GB/T 12325-2008), the one place they are defined.

Capacity (flags, bus capacity, N-1, connection, time series; re-exported by :mod:`gridscope.capacity.voltage`),
reliability's planning check (transfers within limits) and validation (the ``phases`` column) read them here.

GB/T 12325-2008 "Power quality - Deviation of supply voltage":

* 4.1, 35 kV and above: the sum of the absolute positive and negative deviations is at most 10 % of nominal; when
  both deviations have the same sign the larger absolute value is judged. A power-flow snapshot has one deviation
  per bus, so the rule reads as the band 0.90..1.10 pu (``V_BAND_HV_PU``).
* 4.2, 20 kV and below three-phase: ±7 % (``V_BAND_PU``).
* 4.3, 220 V single-phase: +7 % / -10 % (``V_BAND_LV1PH_PU``).

Which bus is a 220 V single-phase supply point: the optional bus column ``phases`` (1 = single-phase, 3 =
three-phase; missing or NaN = decide by voltage) wins; otherwise a bus of nominal voltage at or below
``VoltageBands.lv_single_phase_max_kv`` (``settings.V_BAND_LV1PH_MAX_KV``, 0.25 kV: a 0.22 / 0.23 kV
phase-to-neutral bus) is single-phase. A 0.4 kV bus is three-phase LV and keeps ±7 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..settings import V_BAND_HV_MIN_KV, V_BAND_HV_PU, V_BAND_LV1PH_MAX_KV, V_BAND_LV1PH_PU, V_BAND_PU

__all__ = ["PHASES_COLUMN", "PHASES_VALUES", "VoltageBands", "band_limits_pu", "bus_band_limits_pu", "bus_phases",
           "invalid_phases", "voltage_band_pu"]

#: Optional bus column marking single-phase (1) or three-phase (3) supply points.
PHASES_COLUMN = "phases"
#: The values the ``phases`` column may hold (besides empty / NaN: decide by voltage).
PHASES_VALUES = (1, 3)


@dataclass(frozen=True)
class VoltageBands:
    """Allowed voltage band (lo, hi) in per unit of nominal, per voltage level.

    Parameters
    ----------
    hv_pu : tuple of float
        Band at and above ``hv_min_kv`` (GB/T 12325-2008 4.1).
    mv_pu : float
        Symmetric deviation below ``hv_min_kv``, three-phase (GB/T 12325-2008 4.2).
    lv_single_phase_pu : tuple of float
        Band of 220 V single-phase supply (GB/T 12325-2008 4.3).
    hv_min_kv : float
        Nominal voltage, kV, from which the ``hv_pu`` band applies.
    lv_single_phase_max_kv : float
        A bus at or below this nominal voltage, kV, is a single-phase supply point unless its ``phases`` column
        says 3 (0 or less: only the ``phases`` column marks single-phase buses).
    """

    hv_pu: tuple[float, float] = V_BAND_HV_PU
    mv_pu: float = V_BAND_PU
    lv_single_phase_pu: tuple[float, float] = V_BAND_LV1PH_PU
    hv_min_kv: float = V_BAND_HV_MIN_KV
    lv_single_phase_max_kv: float = V_BAND_LV1PH_MAX_KV


def voltage_band_pu(vn_kv: float, single_phase: bool | None = None,
                    bands: VoltageBands | None = None) -> tuple[float, float]:
    """Return the allowed voltage band of a bus of nominal voltage ``vn_kv``.

    Parameters
    ----------
    vn_kv : float
        Nominal voltage of the bus, kV (must be positive).
    single_phase : bool or None
        True for a 220 V single-phase supply point, False for three-phase; None (default): single-phase when
        ``vn_kv <= bands.lv_single_phase_max_kv``.
    bands : VoltageBands, optional
        Bands to use; the GB/T 12325-2008 defaults of ``settings.py`` when omitted.

    Returns
    -------
    tuple of float
        ``(lo_pu, hi_pu)``.
    """
    if not vn_kv > 0:
        raise ValueError(f"vn_kv must be positive, got {vn_kv!r}")
    b = bands or VoltageBands()
    if single_phase is None:
        single_phase = vn_kv <= b.lv_single_phase_max_kv
    if single_phase:
        return b.lv_single_phase_pu
    if vn_kv >= b.hv_min_kv:
        return b.hv_pu
    return (1.0 - b.mv_pu, 1.0 + b.mv_pu)


def band_limits_pu(vn_kv: Any, bands: VoltageBands | None = None,
                   phases: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Allowed voltage band of many buses at once (flags, exact bus capacity and N-1 use it).

    Parameters
    ----------
    vn_kv : array-like
        Nominal voltage per bus, kV; a non-positive or NaN level gets the medium-voltage band.
    bands : VoltageBands, optional
        Bands to use (default: the GB/T 12325-2008 values of ``settings.py``).
    phases : array-like or None
        Per bus 1 (single-phase), 3 (three-phase) or NaN (by voltage), e.g. :func:`bus_phases`; None: every bus
        by voltage.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lo_pu, hi_pu)`` per bus: ``bands.lv_single_phase_pu`` at single-phase buses (``phases`` = 1, or
        ``phases`` unknown and ``0 < vn_kv <= bands.lv_single_phase_max_kv``), else ``bands.hv_pu`` at and above
        ``bands.hv_min_kv``, ``1 ∓ bands.mv_pu`` below.
    """
    b = bands or VoltageBands()
    vn = np.asarray(vn_kv, dtype=float)
    with np.errstate(invalid="ignore"):
        hv = vn >= b.hv_min_kv
        single = (vn > 0) & (vn <= b.lv_single_phase_max_kv)
    if phases is not None:
        ph = np.broadcast_to(np.asarray(phases, dtype=float), vn.shape)
        single = np.where(np.isnan(ph), single, ph == 1)
    lo = np.where(hv, float(b.hv_pu[0]), 1.0 - float(b.mv_pu))
    hi = np.where(hv, float(b.hv_pu[1]), 1.0 + float(b.mv_pu))
    lo = np.where(single, float(b.lv_single_phase_pu[0]), lo)
    hi = np.where(single, float(b.lv_single_phase_pu[1]), hi)
    return lo, hi


def _phases_numeric(net: Any) -> tuple[np.ndarray, np.ndarray]:
    """``phases`` as floats (NaN where empty or not a number) and the mask of values not allowed."""
    import pandas as pd  # deferred: only when the column exists

    col = net.bus[PHASES_COLUMN]
    num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    bad = (~np.isnan(num) & ~np.isin(num, np.asarray(PHASES_VALUES, dtype=float))) | (
        np.isnan(num) & col.notna().to_numpy())
    return num, bad


def invalid_phases(net: Any) -> list[tuple[Any, str]]:
    """Buses whose ``phases`` value is not 1, 3 or empty, as ``(bus index, value as written)``, in table order.

    ``[]`` when the column is absent or every value is allowed; validation reports each as a problem.
    """
    if PHASES_COLUMN not in net.bus.columns or not len(net.bus):
        return []
    _, bad = _phases_numeric(net)
    col = net.bus[PHASES_COLUMN]
    return [(idx, _show(col.at[idx])) for idx in net.bus.index[bad]]


def bus_phases(net: Any) -> np.ndarray | None:
    """The optional ``net.bus["phases"]`` column as floats (1, 3 or NaN), or None when the column is absent.

    Raises
    ------
    InputError
        A value other than 1, 3 or empty; the message lists table, index and name of every such bus.
    """
    if PHASES_COLUMN not in net.bus.columns:
        return None
    import pandas as pd  # deferred: only when the column exists

    num, bad = _phases_numeric(net)
    if bad.any():
        col = net.bus[PHASES_COLUMN]
        names = net.bus["name"] if "name" in net.bus.columns else pd.Series("", index=net.bus.index)
        rows = [f"bus {idx} ({names.at[idx]!s}): phases = {_show(col.at[idx])}" for idx in net.bus.index[bad][:20]]
        more = f"\n  ... and {int(bad.sum()) - 20} more" if bad.sum() > 20 else ""
        raise InputError("bus column 'phases' must be 1 (single-phase), 3 (three-phase) or empty:\n  "
                         + "\n  ".join(rows) + more)
    return num


def _show(value: Any) -> str:
    """A cell value as a user wrote it (2.0 -> 2, "x" -> 'x')."""
    if isinstance(value, str):
        return repr(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return repr(value)
    return f"{f:g}"


def bus_band_limits_pu(net: Any, bands: VoltageBands | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`band_limits_pu` of every bus of ``net`` (in ``net.bus`` order), with its ``phases`` column.

    Parameters
    ----------
    net : pandapowerNet
    bands : VoltageBands, optional

    Returns
    -------
    tuple of numpy.ndarray
        ``(lo_pu, hi_pu)`` per row of ``net.bus``.
    """
    return band_limits_pu(net.bus["vn_kv"].to_numpy(dtype=float), bands, phases=bus_phases(net))
