"""Helpers of the TUI's thread workers: open a study, relay the core's progress records as messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..progress import Progress
from ..study import Study
from .messages import JobProgress

__all__ = ["ProgressRelay", "open_study"]


def open_study(source: Any) -> Study:
    """Load ``source`` (a NET string, a net, or a study already made) as a :class:`~gridscope.study.Study`
    and build what the network screen shows.

    Validation and the topology are computed here, in the worker, so that the screen only draws.
    A network with validation problems opens (its problems are listed); a network too broken for a
    topology opens with its problems and no feeders.
    """
    study = source if isinstance(source, Study) else Study(source)
    if not study.problems:
        _ = study.topology
    return study


class ProgressRelay:
    """The ``progress=`` callback of a worker's core call: posts each record as a :class:`JobProgress`.

    ``post`` is a thread-safe poster (``App.post_message``). Records are thinned to one per ``min_interval_s``
    so a fast kernel cannot flood the event loop (the final record always passes).
    """

    def __init__(self, job: str, post: Callable[[Any], Any], *, min_interval_s: float = 0.05) -> None:
        self.job = job
        self.post = post
        self.min_interval_s = min_interval_s
        self._last = -float("inf")

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self._last < self.min_interval_s and p.done < p.total:
            return
        self._last = now
        self.post(JobProgress(self.job, p))
