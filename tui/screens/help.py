"""The help screen: every key (as rebound by the user's keymap), the screens, and where the keymap lives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pandas as pd
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ..keymap import APP_BINDINGS, keymap_path
from ..widgets.frame_table import FrameTable

__all__ = ["HelpScreen", "key_table"]

_OTHER_KEYS = [
    ("ctrl+p", "Command palette: every action by name", "(textual)"),
    ("tab / shift+tab", "Move between fields and tables", "(textual)"),
    ("enter", "Open a tree node / choose a table row / press a button", "(textual)"),
    ("[  ]", "Previous / next page of a large table", "table.prev_page, table.next_page"),
    ("click a header", "Sort by that column (again: reverse)", ""),
]


def key_table(keymap: Mapping[str, str]) -> pd.DataFrame:
    """Key, action and binding id of every app binding, with the user's keymap applied."""
    rows = [(keymap.get(b.id or "", b.key), b.description, b.id or "") for b in APP_BINDINGS]
    rows += [(k, d, i) for k, d, i in _OTHER_KEYS]
    return pd.DataFrame(rows, columns=["key", "action", "id"])


class HelpScreen(ModalScreen[None]):
    """Keys, screens and the keymap file."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__(classes="modal")
        self.keymap = dict(keymap)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="help"):
            yield Label("gridscope — keys", id="dialog-title")
            yield FrameTable(id="help-keys")
            yield Static(
                "Screens: 1 Network (summary, feeder tree, map, problems, element data) · 2 Reliability · "
                "3 Capacity · 4 Connection.  r runs the current screen's job; Esc cancels a running job.\n"
                f"Rebind any key by its id in {keymap_path()} (or $GRIDSCOPE_KEYMAP), e.g.\n"
                '  [keymap]\n  run = "f5"', id="help-text", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#help-keys", FrameTable)
        table.show(key_table(self.keymap))
        table.focus()
