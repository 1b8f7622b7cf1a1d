"""The capacity screen: loading flags (sortable, filtered by feeder, zone and severity) and the open-capacity
tables by level in tabs, their grades coloured; export through the CLI's writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import Number
from textual.widgets import Button, Input, Label, Select, TabbedContent, TabPane

from ...capacity.flags import SEVERITIES
from ...capacity.open_capacity import LEVELS
from ...capacity.report import FLAG_DISPLAY, LEVEL_DISPLAY, loading_line
from ..i18n import header, t, value
from ..tables import loading_table
from ..widgets.frame_table import FrameTable
from .forms import clear_tables, field_value, form_errors, relabel_tables, took

__all__ = ["CapacityView", "filter_flags"]

_ALL = "__all__"
#: Display formats of the flag and level tables: the CLI's (capacity/report.py).
FLAG_FORMATS = {col: fmt for col, _, fmt in FLAG_DISPLAY if fmt} | {"hours_above": "{:g}"}
LEVEL_FORMATS = {col: fmt for col, fmt in LEVEL_DISPLAY if fmt}


def filter_flags(flags: pd.DataFrame, *, feeder: str | None = None, zone: str | None = None,
                 severity: str | None = None, text: str = "") -> pd.DataFrame:
    """The flags matching every given filter (``None`` = any); ``text`` matches the name or index."""
    keep = pd.Series(True, index=flags.index)
    if feeder is not None:
        keep &= flags["feeder"].astype(str) == feeder
    if zone is not None:
        keep &= flags["zone"].astype(str) == zone
    if severity is not None:
        keep &= flags["severity"] == severity
    if text:
        needle = text.lower()
        keep &= (flags["name"].astype(str).str.lower().str.contains(needle, regex=False)
                 | flags["index"].astype(str).eq(text))
    return flags[keep]


class CapacityView(Vertical):
    """Run bar and filters on top, tables in tabs below."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lang = "en"
        self.result: Any = None
        self.net: Any = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="cap-bar", classes="bar"):
            yield Label(t("scaling"), id="lbl-scaling")
            yield Input("1.0", id="cap-scaling", validators=[Number(minimum=0.0, maximum=100.0)], compact=True)
            yield Label(t("profiles"), id="lbl-profiles")
            yield Input("", placeholder="profiles.csv or simbench", id="cap-profiles", compact=True)
            yield Button(t("run"), variant="primary", id="cap-run", compact=True)
            yield Button(t("export"), id="cap-export", compact=True)
        with Horizontal(id="cap-filters", classes="bar"):
            yield Label(t("filter"), id="lbl-filter")
            for col in ("feeder", "zone"):
                yield Select([(t("all"), _ALL)], value=_ALL, allow_blank=False, id=f"flt-{col}", prompt=col,
                             compact=True)
            yield Select([(t("all"), _ALL)] + [(s, s) for s in SEVERITIES], value=_ALL, allow_blank=False,
                         id="flt-severity", prompt="severity", compact=True)
            yield Input("", placeholder="name / index", id="flt-text", compact=True)
        yield Label(t("no_capacity"), id="cap-status")
        yield Label("", id="cap-form-error", classes="inline-error")
        with TabbedContent(id="cap-tabs"):
            with TabPane(t("flags"), id="cap-flags"):
                yield FrameTable(id="flags-table")
            with TabPane(t("peaks"), id="cap-peaks"):
                yield FrameTable(id="peaks-table")
            for level in LEVELS:
                with TabPane(header(level), id=f"cap-{level}"):
                    yield FrameTable(id=f"level-{level}")

    # ------------------------------------------------------------------ form
    def request(self) -> dict[str, Any] | None:
        """Options for :meth:`gridscope.study.Study.capacity`, or ``None`` with inline messages."""
        errors = form_errors(self, "cap", ["scaling"])
        profiles = field_value(self, "cap", "profiles")
        if profiles and profiles != "simbench":  # "simbench": the net's own SimBench profiles
            if not Path(profiles).expanduser().is_file():
                errors.append(f"{t('profiles', self.lang)}: no such file {profiles}")
        self.query_one("#cap-form-error", Label).update("\n".join(errors))
        if errors:
            return None
        opts: dict[str, Any] = {"scaling": float(field_value(self, "cap", "scaling"))}
        if profiles:
            opts["profiles"] = profiles
        return opts

    # ------------------------------------------------------------------ results
    def show_result(self, result: Any, elapsed_s: float | None) -> None:
        """Fill the flag table, the filters and every level's table."""
        self.result = result
        flags = result.flags
        counts = flags["severity"].value_counts().to_dict() if len(flags) else {}
        text = ", ".join(f"{value(k, self.lang)} {v}" for k, v in counts.items()) or "no flags"
        self.query_one("#cap-status", Label).update(
            f"{result.meta.get('network', '')}: {text}{took(elapsed_s)}\n{loading_line(result.peak)}")
        self._filter_options(flags)
        self.refilter()
        for level in LEVELS:
            self.query_one(f"#level-{level}", FrameTable).show(result.table(level), self.lang, LEVEL_FORMATS)
        self.query_one("#peaks-table", FrameTable).show(loading_table(self.net, result.peak), self.lang,
                                                        FLAG_FORMATS)

    def _filter_options(self, flags: pd.DataFrame) -> None:
        all_ = (t("all", self.lang), _ALL)
        for col in ("feeder", "zone"):
            vals = sorted({str(v) for v in flags[col].dropna()}) if len(flags) else []
            sel = self.query_one(f"#flt-{col}", Select)
            sel.set_options([all_] + [(v, v) for v in vals])
            sel.value = _ALL

    def filters(self) -> dict[str, Any]:
        """The current filter settings (``None`` = any)."""
        def pick(id_: str) -> str | None:
            v = self.query_one(id_, Select).value
            return None if v in (_ALL, Select.BLANK) else str(v)

        return {"feeder": pick("#flt-feeder"), "zone": pick("#flt-zone"), "severity": pick("#flt-severity"),
                "text": self.query_one("#flt-text", Input).value.strip()}

    def refilter(self) -> None:
        """Show the flags matching the filters."""
        if self.result is None:
            return
        shown = filter_flags(self.result.flags, **self.filters())
        self.query_one("#flags-table", FrameTable).show(shown, self.lang, FLAG_FORMATS)

    @on(Select.Changed, "#cap-filters Select")
    @on(Input.Changed, "#flt-text")
    def _filter_changed(self) -> None:
        self.refilter()

    def reset(self, study: Any) -> None:
        """A new network was opened: forget the old results."""
        self.net = study.net
        self.result = None
        self.query_one("#cap-status", Label).update(t("no_capacity", self.lang))
        clear_tables(self, self.lang)

    # ------------------------------------------------------------------ language
    def relabel(self, lang: str) -> None:
        """Show every label in ``lang``."""
        self.lang = lang
        for key in ("scaling", "profiles", "filter"):
            self.query_one(f"#lbl-{key}", Label).update(t(key, lang))
        self.query_one("#cap-run", Button).label = t("run", lang)
        self.query_one("#cap-export", Button).label = t("export", lang)
        tabs = self.query_one("#cap-tabs", TabbedContent)
        tabs.get_tab("cap-flags").label = t("flags", lang)
        tabs.get_tab("cap-peaks").label = t("peaks", lang)
        for level in LEVELS:
            tabs.get_tab(f"cap-{level}").label = header(level, lang)
        if self.result is None:
            self.query_one("#cap-status", Label).update(t("no_capacity", lang))
        relabel_tables(self, lang)
