"""The frequent-interruptions screen (频繁停电治理): CEMI-n by zone, the load points most likely to be interrupted
more than n times a year with the components that cause it, and candidate devices ranked by what each one
actually removes (one re-analysis per candidate, with progress and Esc to cancel).

The numbers come from the prepared study (:meth:`gridscope.study.Study.frequent`,
:meth:`gridscope.study.Study.rank_devices`); the screen only reads the form and draws.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import Integer, Number
from textual.widgets import Button, Checkbox, DataTable, Input, Label, TabbedContent, TabPane

from ...reliability.devices import DEVICE_KINDS
from ...settings import CEMI_N, DEVICE_TIE_MAX_KM
from ..i18n import header, t, value
from ..widgets.frame_table import FrameTable
from .forms import clear_tables, field_value, form_errors, relabel_tables, took

__all__ = ["DEFAULT_TOP", "FrequentView", "frequent_tables"]

#: Load points and devices listed by default (the CLI's ``--top``).
DEFAULT_TOP = 10

_ZONE_COLUMNS = ["zone", "customers", "CEMI_%", "customers_over_n"]
_LP_COLUMNS = ["name", "zone", "customers", "lam_fault_per_yr", "lam_planned_per_yr", "lam_per_yr", "P(N>n)_%",
               "causes"]
_DEVICE_COLUMNS = ["device", "description", "CEMI_reduction_%", "customers_relieved", "saifi_reduction",
                   "saidi_reduction_h"]
_FORMATS = {"customers": "{:.0f}", "CEMI_%": "{:.4f}", "customers_over_n": "{:.2f}", "lam_fault_per_yr": "{:.4f}",
            "lam_planned_per_yr": "{:.4f}", "lam_per_yr": "{:.4f}", "P(N>n)_%": "{:.4f}",
            "CEMI_reduction_%": "{:.4f}", "customers_relieved": "{:.2f}", "saifi_reduction": "{:.4f}",
            "saidi_reduction_h": "{:.4f}"}
_FIELDS = ["n", "top", "tie_max_km"]


def frequent_tables(summary: Any, devices: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The tables the screen shows (and exports): ``cemi`` by zone and ``load_points`` at risk (once run),
    ``devices`` (once ranked); shares in percent."""
    out = {}
    if summary is not None:
        zones = summary.zones.assign(**{"CEMI_%": summary.zones["cemi"] * 100.0})[_ZONE_COLUMNS]
        lps = summary.load_points.assign(**{"P(N>n)_%": summary.load_points["p_more_than_n"] * 100.0})
        out = {"cemi": zones.reset_index(drop=True), "load_points": lps[_LP_COLUMNS].reset_index(drop=True)}
    if devices is not None:
        out["devices"] = devices.assign(device=devices["kind"],
                                        **{"CEMI_reduction_%": devices["cemi_reduction"] * 100.0}
                                        )[_DEVICE_COLUMNS].reset_index(drop=True)
    return out


class FrequentView(Vertical):
    """Form bars on top; CEMI-n by zone, the load points at risk (with the causes of the one selected) and
    the ranked devices in tabs below."""

    DEFAULT_CSS = """
    FrequentView .bar Checkbox { margin: 0 1 0 0; }
    FrequentView #fq-status { width: 1fr; }
    FrequentView #fq-causes { width: 1fr; height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    FrequentView #fq-tabs { height: 1fr; }
    FrequentView #fq-tabs > ContentSwitcher { height: 1fr; }
    FrequentView #fq-tabs TabPane { height: 1fr; }
    FrequentView FrameTable { min-height: 4; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lang = "en"
        self.summary: Any = None
        self.devices: pd.DataFrame | None = None
        self.devices_n: int | None = None
        self.elapsed_s: float | None = None

    def on_mount(self) -> None:
        # narrow number fields (inline styles: the app's stylesheet gives every bar input 16 cells)
        for name in _FIELDS:
            self.query_one(f"#fq-{name}", Input).styles.width = 7
        self.query_one("#fq-export_file", Input).styles.width = 30

    def compose(self) -> ComposeResult:
        # three short rows, so every field stays visible on an 80-column terminal
        with Horizontal(id="fq-bar", classes="bar"):
            yield Label(t("cemi_n"), id="lbl-n")
            yield Input(str(CEMI_N), id="fq-n", compact=True, validators=[Integer(minimum=0, maximum=1000)])
            yield Label(t("top"), id="lbl-top")
            yield Input(str(DEFAULT_TOP), id="fq-top", compact=True, validators=[Integer(minimum=1, maximum=10_000)])
            yield Label(t("tie_max_km"), id="lbl-tie_max_km")
            yield Input(f"{DEVICE_TIE_MAX_KM:g}", id="fq-tie_max_km", compact=True,
                        validators=[Number(minimum=0.001, maximum=1000.0)])
            yield Button(t("run"), variant="primary", id="fq-run", compact=True)
            yield Button(t("rank_devices"), id="fq-rank", compact=True)
        with Horizontal(id="fq-bar-kinds", classes="bar"):
            yield Label(t("device_kinds"), id="lbl-device_kinds")
            for kind in DEVICE_KINDS:
                yield Checkbox(str(value(kind)), True, id=f"fq-kind-{kind}", compact=True)
        with Horizontal(id="fq-bar-export", classes="bar"):
            yield Label(t("export_file"), id="lbl-export_file")
            yield Input("", placeholder="frequent.xlsx / .csv", id="fq-export_file", compact=True)
            yield Button(t("export"), id="fq-export", compact=True)
        yield Label(t("no_frequent"), id="fq-status")
        yield Label("", id="fq-form-error", classes="inline-error")
        with TabbedContent(id="fq-tabs"):
            with TabPane(t("cemi_zones"), id="fq-zones"):
                yield FrameTable(id="fq-zones-table")
            with TabPane(t("at_risk"), id="fq-lps"):
                yield FrameTable(id="fq-lps-table")
                yield Label("", id="fq-causes")
            with TabPane(t("devices"), id="fq-devices"):
                yield FrameTable(id="fq-devices-table")

    # ------------------------------------------------------------------ form
    def request(self) -> dict[str, Any] | None:
        """Arguments of :meth:`gridscope.study.Study.rank_devices` (``n``, ``top``, ``kinds``, ``tie_max_km``;
        :meth:`~gridscope.study.Study.frequent` takes ``n`` and ``top``), or ``None`` with inline errors."""
        errors = form_errors(self, "fq", _FIELDS)
        kinds = tuple(k for k in DEVICE_KINDS if self.query_one(f"#fq-kind-{k}", Checkbox).value)
        if not kinds:
            errors.append(f"{t('device_kinds', self.lang)}: {t('pick_one', self.lang)}")
        self.query_one("#fq-form-error", Label).update("\n".join(errors))
        if errors:
            return None
        return {"n": int(field_value(self, "fq", "n")), "top": int(field_value(self, "fq", "top")),
                "kinds": kinds, "tie_max_km": float(field_value(self, "fq", "tie_max_km"))}

    def export_path(self) -> str | None:
        """The file to write the tables to, or ``None`` (with an inline message) when none is given."""
        path = field_value(self, "fq", "export_file")
        if not path.lower().endswith((".xlsx", ".csv")):
            self.query_one("#fq-form-error", Label).update(f"{t('export_file', self.lang)}: give a .xlsx or .csv")
            return None
        self.query_one("#fq-form-error", Label).update("")
        return str(Path(path).expanduser())

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables shown, for the export (headers translated by the writer's caller)."""
        return frequent_tables(self.summary, self.devices)

    # ------------------------------------------------------------------ results
    def show_result(self, summary: Any, elapsed_s: float | None) -> None:
        """Show a :class:`~gridscope.reliability.devices.FrequentSummary`; a ranking for another n is dropped."""
        self.summary, self.elapsed_s = summary, elapsed_s
        if self.devices_n != summary.n:
            self.devices, self.devices_n = None, None
            self.query_one("#fq-devices-table", FrameTable).show(pd.DataFrame(), self.lang)
        tables = frequent_tables(summary, None)
        self.query_one("#fq-zones-table", FrameTable).show(tables["cemi"], self.lang, _FORMATS)
        lps = self.query_one("#fq-lps-table", FrameTable)
        lps.show(tables["load_points"], self.lang, _FORMATS)
        self._show_causes(0)
        self._status()

    def show_devices(self, ranked: pd.DataFrame, n: int, elapsed_s: float | None) -> None:
        """Show the devices ranked by the CEMI-``n`` reduction (:meth:`~gridscope.study.Study.rank_devices`)."""
        self.devices, self.devices_n, self.elapsed_s = ranked, n, elapsed_s
        shown = frequent_tables(None, ranked)["devices"]
        self.query_one("#fq-devices-table", FrameTable).show(shown, self.lang, _FORMATS, categories=("device",))
        self.query_one("#fq-tabs", TabbedContent).active = "fq-devices"
        self._status()

    def _status(self) -> None:
        lang = self.lang
        if self.summary is None and self.devices is None:
            self.query_one("#fq-status", Label).update(t("no_frequent", lang))
            return
        parts = []
        if self.summary is not None:
            s = self.summary
            parts.append(t("frequent_summary", lang, n=s.n, cemi=f"{100.0 * float(s.cemi['system']):.4f}",
                           lps=len(s.load_points)))
        if self.devices is not None:
            best = (str(self.devices["description"].iloc[0]) if len(self.devices) else "–")
            parts.append(t("devices_summary", lang, k=len(self.devices), best=best))
        self.query_one("#fq-status", Label).update(" · ".join(parts) + took(self.elapsed_s))

    def _show_causes(self, row: int) -> None:
        table = self.query_one("#fq-lps-table", FrameTable)
        label = self.query_one("#fq-causes", Label)
        if not 0 <= row < len(table.view):
            label.update("")
            return
        r = table.view.iloc[row]
        label.update(f"{r['name']} ({header('causes', self.lang)}): {r['causes'] or '–'}")

    @on(DataTable.RowHighlighted, "#fq-lps-table")
    def _lp_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_causes(event.cursor_row)

    def reset(self, study: Any) -> None:
        """A new network was opened: forget the results."""
        self.summary, self.devices, self.devices_n = None, None, None
        clear_tables(self, self.lang)
        self.query_one("#fq-causes", Label).update("")
        self._status()

    # ------------------------------------------------------------------ language
    def relabel(self, lang: str) -> None:
        """Show every label in ``lang``."""
        self.lang = lang
        for key, lbl in (("cemi_n", "n"), ("top", "top"), ("tie_max_km", "tie_max_km"),
                         ("device_kinds", "device_kinds"), ("export_file", "export_file")):
            self.query_one(f"#lbl-{lbl}", Label).update(t(key, lang))
        for kind in DEVICE_KINDS:
            self.query_one(f"#fq-kind-{kind}", Checkbox).label = str(value(kind, lang))
        self.query_one("#fq-run", Button).label = t("run", lang)
        self.query_one("#fq-rank", Button).label = t("rank_devices", lang)
        self.query_one("#fq-export", Button).label = t("export", lang)
        tabs = self.query_one("#fq-tabs", TabbedContent)
        for key, pane in (("cemi_zones", "fq-zones"), ("at_risk", "fq-lps"), ("devices", "fq-devices")):
            tabs.get_tab(pane).label = t(key, lang)
        self._status()
        relabel_tables(self, lang)
        self._show_causes(self.query_one("#fq-lps-table", FrameTable).cursor_row)
