"""The network screen: summary, feeder tree, the map, validation problems and the chosen element's data."""

from __future__ import annotations

from typing import Any

import pandas as pd
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static, TabbedContent, TabPane, Tree

from ..i18n import t, value
from ..messages import ShowElement
from ..netdata import SWITCHES_SECTION, feeder_elements
from ..tables import element_table, problems_table
from ..widgets.frame_table import FrameTable
from .forms import relabel_tables

try:  # the map widget is written alongside this screen; the screen works without it
    from ..widgets.netmap import NetworkMap
except ImportError:  # pragma: no cover - only while the widget is missing
    NetworkMap = None

__all__ = ["COLOUR_MODES", "NetworkView"]

#: Map colourings, in the order the colour key cycles through them.
COLOUR_MODES = ("zone", "loading", "saidi")


class NetworkView(Vertical):
    """Everything about the open network."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.study: Any = None
        self.elements = pd.DataFrame()
        self.colour = COLOUR_MODES[0]
        self.lang = "en"

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="net-left"):
                yield Static(t("no_network"), id="net-summary")
                yield Tree("—", id="feeder-tree")
            with TabbedContent(id="net-tabs"):
                with TabPane(t("map"), id="net-map"):
                    yield Label(self._colour_text(), id="map-colour")
                    yield Static("", id="map-placeholder")
                with TabPane(t("problems"), id="net-problems"):
                    yield Label("", id="problems-status")
                    yield FrameTable(id="problems-table")
                with TabPane(t("element"), id="net-element"):
                    yield Label("", id="element-title")
                    yield FrameTable(id="element-table")

    # ------------------------------------------------------------------ filling
    async def set_study(self, study: Any) -> None:
        """Show a freshly opened study (everything it needs was built in the loading worker)."""
        self.study = study
        problems = study.problems
        self.elements = feeder_elements(study.net, study.topology) if not problems else pd.DataFrame()
        self._summary()
        self._tree()
        self._problems(problems)
        await self._map()
        if problems:
            self.query_one("#net-tabs", TabbedContent).active = "net-problems"

    def _summary(self) -> None:
        s = self.study.summary() if not self.study.problems else None
        lang = self.lang
        if s is None:
            net = self.study.net
            text = (f"[b]{self.study.name}[/b]\n{t('buses', lang)} {len(net.bus):,}  {t('lines', lang)} "
                    f"{len(net.line):,}\n[red]{t('n_problems', lang, n=len(self.study.problems))}[/red]")
        else:
            zones = "  ".join(f"{z}: {c:,}" for z, c in s["zones"].items())
            text = (f"[b]{s['name']}[/b]\n"
                    f"{t('buses', lang)} {s['buses']:,}   {t('lines', lang)} {s['lines']:,} "
                    f"({s['line_km']:,.2f} km)\n"
                    f"{t('trafos', lang)} {s['trafos']:,}   {t('switches', lang)} {s['switches']:,}\n"
                    f"{t('feeders', lang)} {s['feeders']:,}   {t('ties', lang)} {s['ties']:,}   "
                    f"{t('sources', lang)} {s['sources']:,}\n"
                    f"{t('load_points', lang)} {s['load_points']:,}   {t('customers', lang)} {s['customers']:,}\n"
                    f"{t('peak_mw', lang)} {s['peak_mw']:,.3f}\n"
                    f"{t('zones', lang)}: {zones}\n"
                    f"[green]{t('no_problems', lang)}[/green]")
        self.query_one("#net-summary", Static).update(text)

    def _tree(self) -> None:
        tree = self.query_one("#feeder-tree", Tree)
        tree.clear()
        tree.root.set_label(self.study.name)
        tree.root.expand()
        if self.elements.empty:
            return
        topo = self.study.topology
        for fid, row in topo.feeders.iterrows():
            n = int(row["n_load"])
            node = tree.root.add(f"{row['name']}  ({row['n_bus']} buses, {n} loads)",
                                 data=("feeder", int(fid), str(row["name"])))
            node.allow_expand = True
        for _, tie in topo.ties.iterrows():
            tree.root.add_leaf(f"⇄ {tie['name']}", data=("switch", int(tie["switch"])))

    @on(Tree.NodeExpanded, "#feeder-tree")
    def _expand(self, event: Tree.NodeExpanded) -> None:
        """Sections and elements are added when a node is first opened (37k-bus grids stay instant)."""
        node = event.node
        data = node.data
        if not data or node.children or data[0] not in ("feeder", "section"):
            return
        el = self.elements
        if data[0] == "feeder":
            mine = el[el["feeder"] == data[2]]
            for sec, group in mine.groupby("section", sort=True):
                label = "switches" if sec == SWITCHES_SECTION else f"section {sec}"
                child = node.add(f"{label}  ({len(group)})", data=("section", int(sec), data[2]))
                child.allow_expand = True
        else:
            mine = el[(el["feeder"] == data[2]) & (el["section"] == data[1])]
            for r in mine.itertuples(index=False):
                node.add_leaf(f"{value(r.table, self.lang)} {r.index} {r.name}", data=(r.table, int(r.index)))

    @on(Tree.NodeSelected, "#feeder-tree")
    def _selected(self, event: Tree.NodeSelected) -> None:
        data = event.node.data
        if data and data[0] not in ("feeder", "section"):
            self.post_message(ShowElement(data[0], data[1]))

    def _problems(self, problems: list[Any]) -> None:
        lang = self.lang
        status = t("n_problems", lang, n=len(problems)) if problems else t("no_problems", lang)
        self.query_one("#problems-status", Label).update(status)
        self.query_one("#problems-table", FrameTable).show(problems_table(problems), lang)

    @on(FrameTable.RowSelected, "#problems-table")
    def _problem_chosen(self, event: FrameTable.RowSelected) -> None:
        row = self.query_one("#problems-table", FrameTable).row_data(event.row_key)
        if row is not None and row["table"] != "net" and row["index"] != "":
            self.post_message(ShowElement(str(row["table"]), int(row["index"])))

    def show_element(self, table: str, index: int | None) -> None:
        """Show one element's data and switch to its tab."""
        if self.study is None:
            return
        self.query_one("#element-title", Label).update(f"{table}[{index}]")
        self.query_one("#element-table", FrameTable).show(element_table(self.study.net, table, index), self.lang)
        self.query_one("#net-tabs", TabbedContent).active = "net-element"

    # ------------------------------------------------------------------ map
    async def _map(self) -> None:
        await self.query("#netmap").remove()
        holder = self.query_one("#map-placeholder", Static)
        label = self.query_one("#map-colour", Label)
        if NetworkMap is None or self.study.problems:
            holder.display = label.display = True
            why = "fix the validation problems to draw it" if self.study.problems else "map widget not available"
            holder.update(f"{self.study.name}: {len(self.study.net.bus):,} buses ({why})")
            return
        holder.display = label.display = False  # the map shows its colouring in its own status line
        self.query_one("#net-map", TabPane).mount(NetworkMap(self.study.net, self.study.topology, id="netmap"))
        self._apply_colour()

    @property
    def network_map(self) -> Any:
        """The map widget, when there is one."""
        found = self.query("#netmap")
        return found.first() if found else None

    def _colour_text(self) -> str:
        return f"{t('colour', self.lang)}: {self.colour}   (m)"

    def cycle_colour(self) -> str:
        """Colour the map by the next mode (zone → loading → SAIDI contribution); returns the mode."""
        m = self.network_map
        current = str(m.mode.value) if m is not None else self.colour
        i = COLOUR_MODES.index(current) if current in COLOUR_MODES else -1
        self.set_colour(COLOUR_MODES[(i + 1) % len(COLOUR_MODES)])
        return self.colour

    def set_colour(self, mode: str) -> None:
        """Colour the map by ``mode``."""
        self.colour = mode
        self.query_one("#map-colour", Label).update(self._colour_text())
        self._apply_colour()

    def _apply_colour(self) -> None:
        m = self.network_map
        if m is not None:
            m.color_by(self.colour)

    def set_map_loading(self, peak: Any, flags: pd.DataFrame) -> None:
        """Pass the planning loading and the flagged elements to the map (the loading colouring)."""
        m = self.network_map
        if m is not None:
            flagged = list(zip(flags["element"].astype(str), flags["index"].astype(int), strict=True))
            m.set_loading(peak.line["loading_percent"], flagged,
                          trafo_loading_percent=peak.trafo["loading_percent"])

    def set_contributions(self, contributions: pd.DataFrame) -> None:
        """Pass SAIDI contributions per component (``element``, ``index``, ``SAIDI_h``) to the map."""
        m = self.network_map
        if m is not None:
            m.set_contributions(contributions)

    # ------------------------------------------------------------------ language
    def relabel(self, lang: str) -> None:
        """Show every label in ``lang``."""
        self.lang = lang
        tabs = self.query_one("#net-tabs", TabbedContent)
        for pane_id, key in (("net-map", "map"), ("net-problems", "problems"), ("net-element", "element")):
            tabs.get_tab(pane_id).label = t(key, lang)
        self.query_one("#map-colour", Label).update(self._colour_text())
        if self.study is not None:
            self._summary()
            self._problems(self.study.problems)
        else:
            self.query_one("#net-summary", Static).update(t("no_network", lang))
        relabel_tables(self, lang)
