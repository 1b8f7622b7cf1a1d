"""Helpers shared by the screens: read an Input by field name, collect its validation failures, relabel a
form, clear or relabel every table of a view."""

from __future__ import annotations

import pandas as pd
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label

from ..i18n import t
from ..widgets.frame_table import FrameTable

__all__ = ["clear_tables", "field", "field_value", "form_errors", "relabel_form", "relabel_tables", "took"]


def field_value(view: Widget, prefix: str, name: str) -> str:
    """The stripped text of the Input ``#<prefix>-<name>`` inside ``view``."""
    return view.query_one(f"#{prefix}-{name}", Input).value.strip()


def form_errors(view: Widget, prefix: str, names: list[str]) -> list[str]:
    """One line per invalid field, ``"<label>: <why>"`` (the label is the Label ``#lbl-<name>``).

    Each Input is validated with its own validators, which also marks it invalid (red) on screen.
    """
    errors = []
    for name in names:
        inp = view.query_one(f"#{prefix}-{name}", Input)
        result = inp.validate(inp.value)
        if result is not None and not result.is_valid:
            labels = view.query(f"#lbl-{name}")
            label = str(labels.first(Label).content) if labels else name
            errors.append(f"{label}: {'; '.join(result.failure_descriptions)}")
    return errors


def took(elapsed_s: float | None) -> str:
    """`` — 0.42 s`` after a result's title, or nothing when timings are off."""
    return "" if elapsed_s is None else f" — {elapsed_s:.2f} s"


def field(name: str, label: str, widget: Widget) -> Horizontal:
    """One form row: the label ``#lbl-<name>`` and its input side by side (compact: one line each)."""
    if hasattr(widget, "compact"):
        widget.compact = True
    return Horizontal(Label(label, id=f"lbl-{name}"), widget, classes="field")


def relabel_form(view: Widget, names: tuple[str, ...], lang: str) -> None:
    """Show the form labels ``#lbl-<name>`` of ``view`` in ``lang``."""
    for name in names:
        view.query_one(f"#lbl-{name}", Label).update(t(name, lang))


def clear_tables(view: Widget, lang: str) -> None:
    """Empty every table of ``view`` (a new network was opened)."""
    for table in view.query(FrameTable):
        table.show(pd.DataFrame(), lang)


def relabel_tables(view: Widget, lang: str) -> None:
    """Show the headers of every table of ``view`` in ``lang``."""
    for table in view.query(FrameTable):
        table.relabel(lang)
