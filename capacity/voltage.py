"""Voltage bands per nominal level (GB/T 12325-2008), the one place flags, bus capacity and N-1 read them.

GB/T 12325-2008 "Power quality - Deviation of supply voltage":

* 4.1, 35 kV and above: the sum of the absolute positive and negative deviations is at most 10 % of nominal; when
  both deviations have the same sign the larger absolute value is judged. A power-flow snapshot has one deviation
  per bus, so the rule reads as the band 0.90..1.10 pu (``V_BAND_HV_PU``).
* 4.2, 20 kV and below three-phase: ±7 % (``V_BAND_PU``).
* 4.3, 220 V single-phase: +7 % / -10 % (``V_BAND_LV1PH_PU``), chosen with ``single_phase=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..settings import V_BAND_HV_MIN_KV, V_BAND_HV_PU, V_BAND_LV1PH_PU, V_BAND_PU

__all__ = ["VoltageBands", "band_limits_pu", "voltage_band_pu"]


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
    """

    hv_pu: tuple[float, float] = V_BAND_HV_PU
    mv_pu: float = V_BAND_PU
    lv_single_phase_pu: tuple[float, float] = V_BAND_LV1PH_PU
    hv_min_kv: float = V_BAND_HV_MIN_KV


def voltage_band_pu(vn_kv: float, single_phase: bool = False,
                    bands: VoltageBands | None = None) -> tuple[float, float]:
    """Return the allowed voltage band of a bus of nominal voltage ``vn_kv``.

    Parameters
    ----------
    vn_kv : float
        Nominal voltage of the bus, kV (must be positive).
    single_phase : bool
        True for a 220 V single-phase supply point.
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
    if single_phase:
        return b.lv_single_phase_pu
    if vn_kv >= b.hv_min_kv:
        return b.hv_pu
    return (1.0 - b.mv_pu, 1.0 + b.mv_pu)


def band_limits_pu(vn_kv: Any, bands: VoltageBands | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Allowed voltage band of many three-phase buses at once (flags, exact bus capacity and N-1 use it).

    Parameters
    ----------
    vn_kv : array-like
        Nominal voltage per bus, kV; a non-positive or NaN level gets the medium-voltage band.
    bands : VoltageBands, optional
        Bands to use (default: the GB/T 12325-2008 values of ``settings.py``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(lo_pu, hi_pu)`` per bus: ``bands.hv_pu`` at and above ``bands.hv_min_kv``, ``1 ∓ bands.mv_pu`` below.
    """
    b = bands or VoltageBands()
    vn = np.asarray(vn_kv, dtype=float)
    with np.errstate(invalid="ignore"):
        hv = vn >= b.hv_min_kv
    lo = np.where(hv, float(b.hv_pu[0]), 1.0 - float(b.mv_pu))
    hi = np.where(hv, float(b.hv_pu[1]), 1.0 + float(b.mv_pu))
    return lo, hi
