"""Voltage bands per nominal level (GB/T 12325-2008) for the capacity modules.

The rule lives in :mod:`gridscope.grid.voltage` (one home, so that reliability's planning check and validation
can use it too without importing capacity); this module re-exports it under its established name.
"""

from __future__ import annotations

from ..grid.voltage import (
    PHASES_COLUMN,
    PHASES_VALUES,
    VoltageBands,
    band_limits_pu,
    bus_band_limits_pu,
    bus_phases,
    invalid_phases,
    voltage_band_pu,
)

__all__ = ["PHASES_COLUMN", "PHASES_VALUES", "VoltageBands", "band_limits_pu", "bus_band_limits_pu", "bus_phases",
           "invalid_phases", "voltage_band_pu"]
