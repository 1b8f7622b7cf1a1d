"""Defaults of the Monte-Carlo reliability method, in one place for the API, ``simulate`` and the CLI.

Imports nothing heavy, so the CLI can use these as click option defaults without loading numpy or numba.
"""

from __future__ import annotations

from ..settings import MC_MAX_YEARS, MC_REPAIR_DIST, MC_YEARS
from .codes import Distribution

__all__ = [
    "DEFAULT_COV_ON",
    "DEFAULT_CV",
    "DEFAULT_MAX_YEARS",
    "DEFAULT_PLANNED_DIST",
    "DEFAULT_REPAIR_DIST",
    "DEFAULT_SWITCHING_DIST",
    "DEFAULT_YEARS",
    "DISTRIBUTION_NAMES",
    "MIN_YEARS_FOR_COV",
]

#: Simulated years when neither ``years`` nor ``target_cov`` is given.
DEFAULT_YEARS = MC_YEARS  # the value's home is gridscope.settings (shared with the CLI)
#: Upper bound on the simulated years of a ``target_cov`` run when ``max_years`` is not given.
DEFAULT_MAX_YEARS = MC_MAX_YEARS
#: Years simulated before the ``target_cov`` rule may stop a run (a CoV from fewer years is not trusted).
MIN_YEARS_FOR_COV = 1000
#: Index whose coefficient of variation the ``target_cov`` rule watches.
DEFAULT_COV_ON = "SAIDI"
#: Duration families (option spellings), in the order of :class:`~gridscope.reliability.codes.Distribution`.
DISTRIBUTION_NAMES: tuple[str, ...] = tuple(d.label for d in Distribution)
#: Repair times are exponential (memoryless repair, the usual Monte-Carlo assumption).
DEFAULT_REPAIR_DIST = MC_REPAIR_DIST
#: Switching times are fixed at each switch's ``switching_h`` (the analytical convention).
DEFAULT_SWITCHING_DIST = "fixed"
#: Planned outages last their ``planned_h``.
DEFAULT_PLANNED_DIST = "fixed"
#: Coefficient of variation of lognormal and gamma durations when ``*_cv`` is not given.
DEFAULT_CV = 1.0
