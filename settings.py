"""Default settings: the one home of every default the API and the CLI share.

Plain constants with no imports, so the CLI can show them in ``--help`` without loading pandas or numba.
The core modules take their defaults from here (``Thresholds``, ``Limits``, ``simulate``,
``assess_reliability``, ``evaluate_connection``); the CLI's options show the same values.
"""

from __future__ import annotations

__all__ = [
    "CAPACITY_LEVELS",
    "CEMI_N",
    "DEVICE_MAX_CANDIDATES",
    "DEVICE_TIE_MAX_KM",
    "EXACT_BUS_DEFAULT_MAX_BUSES",
    "LINE_HEAVY_PERCENT",
    "LOAD_PF",
    "MC_MAX_YEARS",
    "MC_REPAIR_DIST",
    "MC_YEARS",
    "N1_OVERLOAD_FACTOR",
    "N1_POWERFLOW_MAX_BUSES",
    "OVERLOAD_PERCENT",
    "TRAFO_HEAVY_PERCENT",
    "V_BAND_HV_MIN_KV",
    "V_BAND_HV_PU",
    "V_BAND_LV1PH_MAX_KV",
    "V_BAND_LV1PH_PU",
    "V_BAND_PU",
]

#: Monte Carlo: simulated years when neither ``years`` nor ``target_cov`` is given.
MC_YEARS: int = 100_000
#: Monte Carlo: upper bound of the simulated years with a ``target_cov`` stop rule.
MC_MAX_YEARS: int = 1_000_000
#: Monte Carlo: distribution of repair durations.
MC_REPAIR_DIST: str = "exponential"

#: Heavy load (重载) of lines, % of rating (State Grid reinforcement trigger).
LINE_HEAVY_PERCENT: float = 70.0
#: Heavy load of transformers, % of rating.
TRAFO_HEAVY_PERCENT: float = 80.0
#: Overload (过载), % of rating.
OVERLOAD_PERCENT: float = 100.0
#: Allowed voltage deviation from nominal, per unit (GB/T 12325: ±7 % at 20 kV and below).
V_BAND_PU: float = 0.07
#: Nominal voltage (kV) from which the GB/T 12325-2008 rule for 35 kV and above applies.
V_BAND_HV_MIN_KV: float = 35.0
#: 35 kV and above (GB/T 12325-2008 4.1): the absolute positive and negative deviations sum to at most 10 %; when both
#: have the same sign the larger one is judged. A single power-flow snapshot has one deviation, so the band is ±10 %.
V_BAND_HV_PU: tuple[float, float] = (0.90, 1.10)
#: 220 V single-phase supply (GB/T 12325-2008 4.3): +7 % / -10 % of nominal.
V_BAND_LV1PH_PU: tuple[float, float] = (0.90, 1.07)
#: A bus of nominal voltage at or below this (kV) is a 220 V single-phase supply point (phase-to-neutral
#: 0.22/0.23 kV) unless its optional ``phases`` column says 3; ``phases`` = 1 marks one at any voltage.
V_BAND_LV1PH_MAX_KV: float = 0.25

#: Short-time overload factor of the remaining main transformer(s) of a station with one unit out: capacity's
#: N-1 and the reliability upstream option's transfer check use the same value (the planning practice of Q/GDW 1738:
#: 1.3 for up to two hours).
N1_OVERLOAD_FACTOR: float = 1.3

#: Open-capacity tables: N-1 by AC power flow (one AC model per feeder and tie, per multi-unit station) up to this
#: many buses; above it the headroom arithmetic (``gridscope.capacity.n1.n1_tables(method="auto")``).
N1_POWERFLOW_MAX_BUSES: int = 20_000

#: Capacity tables: the exact, voltage-aware bus capacity is computed by default up to this many buses (every
#: SimBench MV grid; the 5,479-bus MV+LV grid takes about a minute and a half here, 200k buses would take hours);
#: above it only on request (``exact_bus=True``, CLI ``--exact-bus``), with a note in the result's meta.
EXACT_BUS_DEFAULT_MAX_BUSES: int = 2_000

#: Power factor (lagging) of a requested load and of the load added by the exact bus capacity search.
LOAD_PF: float = 0.95

#: Frequent interruptions (频繁停电): CEMI-n counts customers with MORE than this many interruptions a year
#: (2: three or more, the issue's "≥ 3 a year"); ``gridscope frequent --n``, ``rank_devices``, the TUI's form.
CEMI_N: int = 2
#: Device ranking: the longest new tie line considered (km) and the most candidates evaluated (one re-analysis
#: each; more is refused rather than cut).
DEVICE_TIE_MAX_KM: float = 1.0
DEVICE_MAX_CANDIDATES: int = 500

#: Open-capacity levels, top down.
CAPACITY_LEVELS: tuple[str, ...] = ("substation", "main_transformer", "feeder", "distribution_transformer", "bus")
