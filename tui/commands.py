"""The command palette's provider: every action of the app, by name (ctrl+p)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

__all__ = ["COMMANDS", "GridscopeCommands"]

#: (name, help, app action) of every palette command.
COMMANDS: list[tuple[str, str, str]] = [
    ("Open network…", "Open a built-in network, a .json/.xlsx file or simbench:<code>", "open_network"),
    ("Show network", "Summary, feeder tree, map, problems", "show_tab('network')"),
    ("Show reliability", "Reliability indices by zone, feeder and load point", "show_tab('reliability')"),
    ("Show capacity", "Loading flags and open capacity", "show_tab('capacity')"),
    ("Show connection", "Evaluate a new connection", "show_tab('connection')"),
    ("Run analytical reliability", "Exact failure-effect analysis", "run_reliability('analytical')"),
    ("Run Monte-Carlo reliability", "Sampled years with the form's years / CoV and seed",
     "run_reliability('monte-carlo')"),
    ("Run yearly programme", "−15 % outages, −5 % repair time per year, side by side", "run_programme"),
    ("Run capacity assessment", "Loading flags and open capacity at five levels", "run_capacity"),
    ("Evaluate connection", "Candidates and decision for the connection form", "run_connection"),
    ("Export capacity tables…", "Excel / CSV / JSON, English or Chinese headers", "export"),
    ("Cancel running job", "Stop the Monte-Carlo run or power flows", "cancel_job"),
    ("Map: colour by zone", "Supply-zone colours", "set_colour('zone')"),
    ("Map: colour by loading", "Loading with flagged elements highlighted", "set_colour('loading')"),
    ("Map: colour by SAIDI contribution", "Components by their share of SAIDI", "set_colour('saidi')"),
    ("Toggle light / dark theme", "", "toggle_theme"),
    ("Switch language 中文 / English", "", "toggle_language"),
    ("Help: keys", "Every key and the keymap file", "help"),
    ("Quit", "", "quit"),
]


class GridscopeCommands(Provider):
    """Offers :data:`COMMANDS`; each runs the app action of the same name."""

    def _run(self, action: str) -> Callable[[], Any]:
        return partial(self.app.run_action, action)

    async def discover(self) -> Hits:
        for name, help_text, action in COMMANDS:
            yield DiscoveryHit(name, self._run(action), help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._run(action), help=help_text or None)
