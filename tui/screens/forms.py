"""Form helpers shared by the screens: read an Input by field name, collect its validation failures."""

from __future__ import annotations

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label

__all__ = ["field", "field_value", "form_errors", "took"]


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
