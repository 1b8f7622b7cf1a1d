"""Key bindings of the TUI, each with an id, and the user's keymap file.

A user rebinds any key by its id in a TOML file, ``$GRIDSCOPE_KEYMAP`` or
``$XDG_CONFIG_HOME/gridscope/keymap.toml`` (``~/.config/gridscope/keymap.toml``)::

    [keymap]
    run = "f5"
    "tab.capacity" = "f3,3"      # several keys: comma-separated

The app applies it with :meth:`textual.app.App.set_keymap`; unknown ids are reported, not fatal.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding

from ..errors import ConfigError

__all__ = ["APP_BINDINGS", "KEYMAP_ENV", "KeymapFile", "binding_ids", "keymap_path", "load_keymap"]

#: Environment variable naming the keymap file.
KEYMAP_ENV = "GRIDSCOPE_KEYMAP"

#: The app's bindings; ids are what a keymap file names.
APP_BINDINGS: list[Binding] = [
    Binding("ctrl+o", "open_network", "Open", id="open"),
    Binding("r", "run", "Run", id="run"),
    Binding("escape", "cancel_job", "Cancel job", id="cancel", show=False),
    Binding("ctrl+e", "export", "Export", id="export"),
    Binding("m", "cycle_colour", "Map colour", id="map.colour"),
    Binding("1", "show_tab('network')", "Network", id="tab.network", show=False),
    Binding("2", "show_tab('reliability')", "Reliability", id="tab.reliability", show=False),
    Binding("3", "show_tab('capacity')", "Capacity", id="tab.capacity", show=False),
    Binding("4", "show_tab('connection')", "Connection", id="tab.connection", show=False),
    Binding("5", "show_tab('outages')", "Outages", id="tab.outages", show=False),
    Binding("6", "show_tab('frequent')", "Frequent", id="tab.frequent", show=False),
    Binding("a", "toggle_decision", "Approve/reject", id="outages.decision", show=False),
    Binding("d", "rank_devices", "Rank devices", id="frequent.devices", show=False),
    Binding("ctrl+t", "toggle_theme", "Theme", id="theme"),
    Binding("ctrl+l", "toggle_language", "中/EN", id="language"),
    Binding("f1,question_mark", "help", "Help", id="help"),
    Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
]


def binding_ids() -> list[str]:
    """Ids of every app binding (what a keymap file may name)."""
    return [b.id for b in APP_BINDINGS if b.id]


def keymap_path() -> Path:
    """Where the user's keymap file is looked for."""
    env = os.environ.get(KEYMAP_ENV)
    if env:
        return Path(env).expanduser()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "gridscope" / "keymap.toml"


@dataclass(frozen=True)
class KeymapFile:
    """A loaded keymap: ``keymap`` (binding id -> keys) to apply, ``unknown`` ids it named that do not exist."""

    path: Path | None
    keymap: dict[str, str]
    unknown: tuple[str, ...] = ()


def load_keymap(path: str | os.PathLike[str] | None = None) -> KeymapFile:
    """Read the user's keymap.

    Parameters
    ----------
    path : path-like, optional
        The TOML file; default :func:`keymap_path`. A missing file gives an empty keymap.

    Returns
    -------
    KeymapFile

    Raises
    ------
    ConfigError
        The file is not valid TOML or a key is not a string.
    """
    p = Path(path) if path is not None else keymap_path()
    if not p.is_file():
        return KeymapFile(None, {})
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"keymap file {p}: {exc}") from exc
    table = data.get("keymap", data)
    bad = [k for k, v in table.items() if not isinstance(v, str)]
    if bad:
        raise ConfigError(f"keymap file {p}: keys must be strings, e.g. run = \"f5\" (not: {', '.join(bad)})")
    known = set(binding_ids())
    keymap = {k: v for k, v in table.items() if k in known}
    unknown = tuple(sorted(k for k in table if k not in known))
    return KeymapFile(p, keymap, unknown)
