"""Typed messages the TUI's thread workers post to the app (``post_message`` is thread-safe).

A worker never touches a widget: it posts one of these and the app (on its event loop) updates the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from ..progress import Progress

__all__ = ["JobFailed", "JobFinished", "JobProgress", "JobStarted", "NetworkLoaded", "ShowElement"]


@dataclass
class JobStarted(Message):
    """A job began: ``job`` names it (``"reliability"``, ``"capacity"`` ...), ``title`` is shown to the user."""

    job: str
    title: str


@dataclass
class JobProgress(Message):
    """A progress record of the running job (the core's :class:`~gridscope.progress.Progress`)."""

    job: str
    progress: Progress


@dataclass
class JobFinished(Message):
    """A job ended with ``result`` after ``elapsed_s`` seconds."""

    job: str
    result: Any
    elapsed_s: float


@dataclass
class JobFailed(Message):
    """A job raised ``error`` (a cancelled job raises :class:`~gridscope.errors.CancelledError`)."""

    job: str
    error: BaseException


@dataclass
class NetworkLoaded(Message):
    """A network was opened: ``study`` is its :class:`~gridscope.study.Study` (validated, topology built)."""

    study: Any
    elapsed_s: float


@dataclass
class ShowElement(Message):
    """Show one element's data (a problem row or a tree node was chosen): ``table`` and row ``index``."""

    table: str
    index: int | None
