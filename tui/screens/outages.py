"""The outages screen (先算后停): a jobs file → the planned outages with their switching plans and impacts,
the combined outages (一停多用) with their dates, and the zone budgets; approve or reject each outage and the
budget follows; write the plan with the CLI's writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import Function, Integer
from textual.widgets import Button, Checkbox, Input, Label, TabbedContent, TabPane

from ..i18n import t
from ..widgets.frame_table import FrameTable
from .forms import clear_tables, field_value, form_errors, relabel_tables, took

__all__ = ["APPROVED", "REJECTED", "OutagesView"]

#: The user's decision on an outage, shown in the outages table.
APPROVED, REJECTED = "approved", "rejected"

_JOB_COLUMNS = ["job", "elements", "feeder", "requested", "planned", "duration_h", "live_line", "customers",
                "customer_hours", "saved_customer_hours", "closed_ties", "refused", "group", "verdict"]
_GROUP_COLUMNS = ["group", "decision", "jobs", "requested", "planned", "moved_days", "duration_h", "customers",
                  "customer_hours", "saved_customer_hours", "verdict", "note"]
_ZONE_COLUMNS = ["zone", "customers", "saidi_target_h", "fault_saidi_h", "budget_h", "planned_saidi_h",
                 "remaining_h", "within_budget"]
_FORMATS = {"customers": "{:.0f}", "customer_hours": "{:.1f}", "saved_customer_hours": "{:.1f}",
            "duration_h": "{:g}", "moved_days": "{:d}"}


def _is_jobs_file(text: str) -> bool:
    p = Path(text.strip()).expanduser()
    return p.suffix.lower() in (".csv", ".xlsx") and p.is_file()


class OutagesView(Vertical):
    """Form bars on top; jobs, outages and zone budgets in tabs below (the tabs take the rest of the height)."""

    DEFAULT_CSS = """
    OutagesView .bar Checkbox { margin: 0 1 0 1; }
    OutagesView #out-status { width: 1fr; }
    OutagesView .bar Button { min-width: 0; padding: 0 1; }
    OutagesView #out-tabs { height: 1fr; }
    OutagesView #out-tabs > ContentSwitcher { height: 1fr; }
    OutagesView #out-tabs TabPane { height: 1fr; }
    OutagesView FrameTable { min-height: 4; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lang = "en"
        self.plan: Any = None
        self.decisions: dict[str, str] = {}
        self.elapsed_s: float | None = None

    def compose(self) -> ComposeResult:
        # three one-line rows (a compact checkbox, not a 3-row switch) and tables that take the rest, so the
        # whole form and a few table rows fit an 80x24 terminal
        with Horizontal(id="out-bar", classes="bar"):
            yield Label(t("jobs_file"), id="lbl-jobs_file")
            yield Input("", placeholder="jobs.csv / jobs.xlsx", id="out-jobs_file", compact=True,
                        validators=[Function(_is_jobs_file, "not an existing .csv/.xlsx file")])
            yield Label(t("year"), id="lbl-year")
            yield Input("", placeholder="auto", id="out-year", compact=True,
                        validators=[Integer(minimum=1900, maximum=2200)], valid_empty=True)
            yield Button(t("run"), variant="primary", id="out-run", compact=True)
            yield Button(t("toggle_decision"), id="out-toggle", compact=True)
        with Horizontal(id="out-bar-rules", classes="bar"):
            yield Label(t("window_days"), id="lbl-window_days")
            yield Input("60", id="out-window_days", compact=True, validators=[Integer(minimum=1, maximum=366)])
            yield Label(t("max_interruptions"), id="lbl-max_interruptions")
            yield Input("1", id="out-max_interruptions", compact=True, validators=[Integer(minimum=1, maximum=365)])
            yield Checkbox(t("transfer_check"), True, id="out-transfer_check", compact=True)
        with Horizontal(id="out-bar2", classes="bar"):
            yield Label(t("plan_file"), id="lbl-plan_file")
            yield Input("", placeholder="plan.xlsx / plan.csv", id="out-plan_file", compact=True)
            yield Button(t("export"), id="out-export", compact=True)
        yield Label(t("no_plan"), id="out-status")
        yield Label("", id="out-form-error", classes="inline-error")
        with TabbedContent(id="out-tabs"):
            with TabPane(t("outage_groups"), id="out-groups"):
                yield FrameTable(id="out-groups-table")
            with TabPane(t("jobs"), id="out-jobs"):
                yield FrameTable(id="out-jobs-table")
            with TabPane(t("budget"), id="out-budget"):
                yield FrameTable(id="out-budget-table")

    def on_mount(self) -> None:
        # narrow fields (inline styles: the app's stylesheet gives every bar input 16 cells)
        for name, width in (("jobs_file", 22), ("year", 6), ("window_days", 5), ("max_interruptions", 5),
                            ("plan_file", 30)):
            self.query_one(f"#out-{name}", Input).styles.width = width

    # ------------------------------------------------------------------ form
    def request(self) -> dict[str, Any] | None:
        """Arguments of :meth:`gridscope.study.Study.outages` (``jobs`` first), or ``None`` with inline errors."""
        errors = form_errors(self, "out", ["jobs_file", "year", "window_days", "max_interruptions"])
        self.query_one("#out-form-error", Label).update("\n".join(errors))
        if errors:
            return None
        year = field_value(self, "out", "year")
        return {"jobs": str(Path(field_value(self, "out", "jobs_file")).expanduser()),
                "year": int(year) if year else None,
                "window_days": int(field_value(self, "out", "window_days")),
                "max_interruptions": int(field_value(self, "out", "max_interruptions")),
                "check_transfer": bool(self.query_one("#out-transfer_check", Checkbox).value)}

    def export_path(self) -> str | None:
        """The plan file to write, or ``None`` (with an inline message) when none is given."""
        path = field_value(self, "out", "plan_file")
        if not path.lower().endswith((".xlsx", ".csv")):
            self.query_one("#out-form-error", Label).update(f"{t('plan_file', self.lang)}: give a .xlsx or .csv")
            return None
        self.query_one("#out-form-error", Label).update("")
        return str(Path(path).expanduser())

    # ------------------------------------------------------------------ results
    def show_result(self, plan: Any, elapsed_s: float | None) -> None:
        """Show an :class:`~gridscope.reliability.planning.OutagePlan`; decisions start from its verdicts."""
        self.plan, self.elapsed_s = plan, elapsed_s
        self.decisions = {g: APPROVED if v in ("approve", "live line") else REJECTED
                          for g, v in plan.groups["verdict"].items()}
        self.query_one("#out-jobs-table", FrameTable).show(plan.jobs.reset_index()[_JOB_COLUMNS], self.lang,
                                                           _FORMATS)
        self._show_decisions()

    def _show_decisions(self) -> None:
        from ...reliability.planning import approved_budget

        plan = self.plan
        groups = plan.groups.assign(decision=pd.Series(self.decisions)).reset_index()[_GROUP_COLUMNS]
        table = self.query_one("#out-groups-table", FrameTable)
        row = table.cursor_row
        table.show(groups, self.lang, _FORMATS)
        if 0 <= row < len(groups):
            table.move_cursor(row=row)
        approved = [g for g, d in self.decisions.items() if d == APPROVED]
        zones = approved_budget(plan, approved).reset_index()[_ZONE_COLUMNS]
        self.query_one("#out-budget-table", FrameTable).show(zones, self.lang, {"customers": "{:.0f}"})
        ch = float(plan.groups["customer_hours"].sum())
        saved = float(plan.groups["saved_customer_hours"].sum() + plan.jobs["saved_customer_hours"].sum())
        over = ", ".join(zones.loc[~zones["within_budget"], "zone"].astype(str))
        self.query_one("#out-status", Label).update(t(
            "plan_summary", self.lang, jobs=len(plan.jobs), groups=len(plan.groups), approved=len(approved),
            ch=f"{ch:,.1f}", saved=f"{saved:,.1f}", over=over or "–") + took(self.elapsed_s))

    def toggle_selected(self) -> str | None:
        """Approve ↔ reject the outage under the cursor of the outages table; returns its group, if any."""
        if self.plan is None:
            return None
        table = self.query_one("#out-groups-table", FrameTable)
        if not 0 <= table.cursor_row < len(table.view):
            return None
        group = str(table.view.iloc[table.cursor_row]["group"])
        self.decisions[group] = REJECTED if self.decisions[group] == APPROVED else APPROVED
        self._show_decisions()
        return group

    def reset(self, study: Any) -> None:
        """A new network was opened: forget the plan."""
        self.plan = None
        self.decisions = {}
        self.query_one("#out-status", Label).update(t("no_plan", self.lang))
        clear_tables(self, self.lang)

    # ------------------------------------------------------------------ language
    def relabel(self, lang: str) -> None:
        """Show every label in ``lang``."""
        self.lang = lang
        for name in ("jobs_file", "year", "window_days", "max_interruptions", "plan_file"):
            self.query_one(f"#lbl-{name}", Label).update(t(name, lang))
        self.query_one("#out-transfer_check", Checkbox).label = t("transfer_check", lang)
        self.query_one("#out-run", Button).label = t("run", lang)
        self.query_one("#out-toggle", Button).label = t("toggle_decision", lang)
        self.query_one("#out-export", Button).label = t("export", lang)
        for button in self.query(Button):  # a new label does not re-measure an auto-width button by itself
            button.refresh(layout=True)
        tabs = self.query_one("#out-tabs", TabbedContent)
        for key, pane in (("outage_groups", "out-groups"), ("jobs", "out-jobs"), ("budget", "out-budget")):
            tabs.get_tab(pane).label = t(key, lang)
        if self.plan is not None:
            self._show_decisions()
        else:
            self.query_one("#out-status", Label).update(t("no_plan", lang))
        relabel_tables(self, lang)
