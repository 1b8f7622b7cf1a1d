"""Named integer codes of the reliability engine, defined once.

The impact arrays and the Numba kernel store these as plain integers (``int8``/``int64`` arrays, kernel
constants); the kernel derives its module-level constants from the enums here (``int(DurationClass.REPAIR)``)
so a code is never typed twice.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Distribution", "DurationClass"]


class DurationClass(IntEnum):
    """How long a range of load points interrupted by a failure stays out (``Impact.iv_kind``).

    ``UPSTREAM``: above the fault zone, back on once the zone is isolated and the protective device reclosed
    (``min(switching, repair)``); ``TIE``: below the fault zone, picked up through a normally-open tie (same
    duration); ``REPAIR``: waits for the repair (the fault zone itself, or no usable tie).
    """

    UPSTREAM = 0
    TIE = 1
    REPAIR = 2

    @property
    def label(self) -> str:
        """Human-readable name (``"upstream switching"``, ``"tie transfer"``, ``"repair"``)."""
        return _DURATION_LABELS[self]


_DURATION_LABELS = {DurationClass.UPSTREAM: "upstream switching", DurationClass.TIE: "tie transfer",
                    DurationClass.REPAIR: "repair"}


class Distribution(IntEnum):
    """Families of the unit-mean duration draws of the Monte-Carlo method (repair, switching, planned)."""

    FIXED = 0
    EXPONENTIAL = 1
    LOGNORMAL = 2
    GAMMA = 3

    @property
    def label(self) -> str:
        """Option spelling (``"fixed"``, ``"exponential"``, ``"lognormal"``, ``"gamma"``)."""
        return self.name.lower()
