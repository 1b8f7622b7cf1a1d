"""One progress protocol for every long call (DESIGN.md §5).

A long computation (Monte Carlo, time series, exact bus capacity, capacity tables, connection evaluation)
takes two optional keyword arguments:

``progress``
    A callable receiving one :class:`Progress` record: ``done`` and ``total`` units of work, ``what`` is being
    done (``"monte-carlo years"``, ``"power-flow steps"``, ``"buses"`` ...) and ``figures``, the running
    numbers a user may want to watch (the running mean SAIDI and its standard error while a Monte-Carlo run
    converges, for example).
``cancel``
    A callable returning True when the work should stop; :class:`CancelToken` is the standard one (a thread
    event the TUI sets on Esc and the CLI on Ctrl-C). The work checks it at least every 100 ms and raises
    :class:`~gridscope.errors.CancelledError`.

Inside the core, :class:`Reporter` wraps the two: ``rep.update(done, figures)`` posts a record (throttled so a
fast loop does not flood a user interface) and ``rep.check()`` raises when cancelled.

Headless: nothing here imports textual or click.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import CancelledError, InputError

__all__ = ["CANCEL_CHECK_S", "CancelToken", "Progress", "ProgressCallback", "Reporter"]

#: Longest time, in seconds, between two cancellation checks of a long computation.
CANCEL_CHECK_S = 0.1


@dataclass(frozen=True)
class Progress:
    """One progress record of a long computation.

    Attributes
    ----------
    done, total : float
        Units of work done and in all (``total`` may grow, e.g. a Monte-Carlo run with a target CoV).
    what : str
        What the units are (``"monte-carlo years"``, ``"power-flow steps"``, ``"buses"``).
    figures : mapping of str to float
        Running figures (``{"SAIDI_h": 3.61, "SAIDI_stderr_h": 0.02}``); empty when there are none.
    elapsed_s : float
        Seconds since the computation started.
    """

    done: float
    total: float
    what: str
    figures: Mapping[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def fraction(self) -> float:
        """Share done in [0, 1] (0 when ``total`` is 0)."""
        return min(1.0, max(0.0, self.done / self.total)) if self.total > 0 else 0.0

    @property
    def eta_s(self) -> float:
        """Seconds left at the rate so far (NaN before anything is done)."""
        f = self.fraction
        return self.elapsed_s * (1.0 - f) / f if f > 0 else float("nan")


#: What a ``progress=`` argument is.
ProgressCallback = Callable[[Progress], Any]


class CancelToken:
    """A thread-safe cancel flag: ``token.cancel()`` from any thread, ``token()`` is True once cancelled.

    Pass it as ``cancel=token`` to any long call.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the computation to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


class Reporter:
    """The core's side of the protocol: throttled progress records and cancellation checks.

    Parameters
    ----------
    what : str
        What the units of work are.
    total : float
        Units of work in all.
    progress : callable, optional
        Receives :class:`Progress` records.
    cancel : callable, optional
        Returns True when the work should stop.
    min_interval_s : float
        Least time between two records (the first and the last are always posted).
    """

    def __init__(self, what: str, total: float, *, progress: ProgressCallback | None = None,
                 cancel: Callable[[], bool] | None = None, min_interval_s: float = 0.05) -> None:
        problems = []
        if progress is not None and not callable(progress):
            problems.append("progress must be callable")
        if cancel is not None and not callable(cancel):
            problems.append("cancel must be callable")
        if problems:
            raise InputError("; ".join(problems))
        self.what = what
        self.total = float(total)
        self.progress = progress
        self.cancel = cancel
        self.min_interval_s = float(min_interval_s)
        self._start = time.monotonic()
        self._last = -float("inf")

    @property
    def elapsed_s(self) -> float:
        """Seconds since the reporter was made."""
        return time.monotonic() - self._start

    @property
    def cancelled(self) -> bool:
        """True when the cancel callable says so (no exception)."""
        return bool(self.cancel is not None and self.cancel())

    def check(self, done: float | None = None) -> None:
        """Raise :class:`~gridscope.errors.CancelledError` when cancelled."""
        if self.cancelled:
            where = f" after {done:,.0f} of {self.total:,.0f} {self.what}" if done is not None else ""
            raise CancelledError(f"{self.what} cancelled{where}")

    def update(self, done: float, figures: Mapping[str, float] | None = None, *, total: float | None = None,
               force: bool = False) -> None:
        """Post a record (throttled to ``min_interval_s``; always when ``force`` or when done)."""
        if total is not None:
            self.total = float(total)
        if self.progress is None:
            return
        now = time.monotonic()
        final = done >= self.total
        if not (force or final or now - self._last >= self.min_interval_s):
            return
        self._last = now
        self.progress(Progress(done=float(done), total=self.total, what=self.what,
                               figures=dict(figures or {}), elapsed_s=now - self._start))

