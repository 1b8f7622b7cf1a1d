"""The reliability screen: method and scenario form; zones vs targets, feeders, load points, top contributors,
the Monte-Carlo distribution and convergence, and the yearly programme."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.validation import Integer, Number
from textual.widgets import Button, Input, Label, Select, Static, Switch, TabbedContent, TabPane

from ...progress import Progress
from ...reliability.mc_defaults import DEFAULT_YEARS
from ..i18n import t
from ..tables import contributors_table, feeder_table, load_table, programme_table, zone_table
from ..widgets.frame_table import FrameTable
from .forms import clear_tables, field, field_value, form_errors, relabel_form, relabel_tables, took

try:  # the charts are written alongside this screen; the screen works without them
    from ..widgets.charts import ConvergenceChart, DistributionChart, ParetoChart
except ImportError:  # pragma: no cover - only while the widgets are missing
    ConvergenceChart = DistributionChart = ParetoChart = None

__all__ = ["ReliabilityRequest", "ReliabilityView"]

_RESULT_TABS = (("rel-zones", "zones"), ("rel-feeders", "feeders"), ("rel-loads", "load_points"),
                ("rel-contrib", "contributors"), ("rel-dist", "distribution"), ("rel-conv", "convergence"),
                ("rel-prog", "programme"))
_FORM_LABELS = ("method", "years", "target_cov", "seed", "failure_rate_scale", "repair_time_scale",
                "live_work_fraction", "tie_capacity", "programme_years")


@dataclass(frozen=True)
class ReliabilityRequest:
    """What the form asks for: the keyword arguments of :meth:`gridscope.study.Study.reliability`."""

    options: dict[str, Any]
    programme_years: int

    @property
    def method(self) -> str:
        """``"analytical"`` or ``"monte-carlo"``."""
        return str(self.options["method"])


def _chart(cls: Any, id_: str) -> Any:
    return cls(id=id_) if cls is not None else Static("(chart widget not available)", id=id_)


class ReliabilityView(Horizontal):
    """Form on the left, results in tabs on the right."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lang = "en"
        self.result: Any = None
        self.trace: list[tuple[float, float, float]] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="rel-form", classes="form"):
            methods = [(t("analytical"), "analytical"), (t("monte_carlo"), "monte-carlo")]
            yield field("method", t("method"), Select(methods, value="analytical", allow_blank=False,
                                                      id="rel-method"))
            for name, default, validator in (
                ("years", str(DEFAULT_YEARS), Integer(minimum=1)),  # the core checks the upper bound
                ("target_cov", "", Number(minimum=1e-6, maximum=1.0)),
                ("seed", "1", Integer(minimum=0)),
                ("failure_rate_scale", "1.0", Number(minimum=0.0, maximum=100.0)),
                ("repair_time_scale", "1.0", Number(minimum=0.0, maximum=100.0)),
                ("live_work_fraction", "0.0", Number(minimum=0.0, maximum=1.0)),
            ):
                yield field(name, t(name), Input(default, id=f"rel-{name}", validators=[validator],
                                                 valid_empty=name == "target_cov",
                                                 placeholder="e.g. 0.01" if name == "target_cov" else ""))
            with Horizontal(classes="switch-row"):
                yield Switch(False, id="rel-tie_capacity")
                yield Label(t("tie_capacity"), id="lbl-tie_capacity")
            yield field("programme_years", t("programme_years"),
                        Input("3", id="rel-programme_years", validators=[Integer(minimum=1, maximum=30)]))
            yield Label("", id="rel-form-error", classes="inline-error")
            with Horizontal(classes="buttons"):
                yield Button(t("run"), variant="primary", id="rel-run")
                yield Button(t("run_programme"), id="rel-programme")
        with Vertical(id="rel-results"):
            yield Label(t("idle"), id="rel-status")
            with TabbedContent(id="rel-tabs"):
                with TabPane(t("zones"), id="rel-zones"):
                    yield FrameTable(id="zone-table")
                with TabPane(t("feeders"), id="rel-feeders"):
                    yield FrameTable(id="feeder-table")
                with TabPane(t("load_points"), id="rel-loads"):
                    yield FrameTable(id="load-table")
                with TabPane(t("contributors"), id="rel-contrib"):
                    yield FrameTable(id="contrib-table")
                    yield _chart(ParetoChart, "pareto-chart")
                with TabPane(t("distribution"), id="rel-dist"):
                    yield _chart(DistributionChart, "dist-chart")
                with TabPane(t("convergence"), id="rel-conv"):
                    yield Label("", id="conv-figures")
                    yield _chart(ConvergenceChart, "conv-chart")
                with TabPane(t("programme"), id="rel-prog"):
                    yield FrameTable(id="prog-table")

    def on_mount(self) -> None:
        self._method_fields("analytical")

    @on(Select.Changed, "#rel-method")
    def _method_changed(self, event: Select.Changed) -> None:
        self._method_fields(str(event.value))

    def _method_fields(self, method: str) -> None:
        mc = method == "monte-carlo"
        for name in ("years", "target_cov", "seed"):
            self.query_one(f"#rel-{name}", Input).disabled = not mc

    # ------------------------------------------------------------------ the form
    def request(self) -> ReliabilityRequest | None:
        """The form's request, or ``None`` with the problems shown inline under the form."""
        fields = ["failure_rate_scale", "repair_time_scale", "live_work_fraction", "programme_years"]
        method = str(self.query_one("#rel-method", Select).value)
        if method == "monte-carlo":
            fields += ["years", "target_cov", "seed"]
        errors = form_errors(self, "rel", fields)
        self.query_one("#rel-form-error", Label).update("\n".join(errors))
        if errors:
            return None
        opts: dict[str, Any] = {"method": method}
        for name in ("failure_rate_scale", "repair_time_scale", "live_work_fraction"):
            opts[name] = float(field_value(self, "rel", name))
        opts["tie_capacity"] = bool(self.query_one("#rel-tie_capacity", Switch).value)
        if method == "monte-carlo":
            opts["seed"] = int(field_value(self, "rel", "seed"))
            cov = field_value(self, "rel", "target_cov")
            if cov:
                opts["target_cov"] = float(cov)
            else:
                opts["years"] = int(field_value(self, "rel", "years"))
        return ReliabilityRequest(opts, int(field_value(self, "rel", "programme_years")))

    # ------------------------------------------------------------------ results
    def started(self, req: ReliabilityRequest) -> None:
        """A run began: clear the convergence trace."""
        self.trace = []
        if req.method == "monte-carlo":
            self.query_one("#conv-figures", Label).update("")
            chart = self.query_one("#conv-chart")
            if hasattr(chart, "reset"):
                chart.reset()

    def progress(self, p: Progress) -> None:
        """A Monte-Carlo record: the running mean ± SE of system SAIDI."""
        mean, se = p.figures.get("SAIDI_h"), p.figures.get("SAIDI_stderr_h")
        if mean is None:
            return
        self.trace.append((float(p.done), float(mean), float(se if se is not None else float("nan"))))
        self.query_one("#conv-figures", Label).update(
            f"{p.done:,.0f} years: SAIDI {mean:.4f} ± {0.0 if se is None else se:.4f} h/yr")
        chart = self.query_one("#conv-chart")
        if hasattr(chart, "add_point"):
            chart.add_point(*self.trace[-1])

    def show_result(self, ds: Any, net: Any, topology: Any, elapsed_s: float | None) -> None:
        """Fill every result tab from a reliability dataset."""
        self.result = ds
        method = str(ds.attrs.get("method", ""))
        extra = f", {int(ds.attrs.get('years', 0)):,} years, seed {ds.attrs.get('seed')}" if method == "monte-carlo" \
            else ""
        self.query_one("#rel-status", Label).update(
            f"{ds.attrs.get('network', '')}: {method}{extra}{took(elapsed_s)}")
        lang = self.lang
        self.query_one("#zone-table", FrameTable).show(zone_table(ds), lang)
        self.query_one("#feeder-table", FrameTable).show(feeder_table(ds), lang)
        self.query_one("#load-table", FrameTable).show(load_table(ds), lang)
        contrib = contributors_table(ds)
        self.query_one("#contrib-table", FrameTable).show(contrib, lang)
        pareto = self.query_one("#pareto-chart")
        if hasattr(pareto, "update_data"):
            labels = [f"{e} {n}" for e, n in zip(contrib["element"], contrib["name"], strict=True)]
            pareto.update_data(labels, contrib["SAIDI_h"].tolist(),
                               total_h=float(ds["SAIDI"].sel(zone="system")))
        self._distribution(ds)
        if method == "monte-carlo" and "SAIDI_stderr" in ds:
            se = float(ds["SAIDI_stderr"].sel(zone="system"))
            self.query_one("#conv-figures", Label).update(
                f"{int(ds.attrs.get('years', 0)):,} years: SAIDI {float(ds['SAIDI'].sel(zone='system')):.4f}"
                f" ± {se:.4f} h/yr")
        self.query_one("#rel-tabs", TabbedContent).active = "rel-zones"

    def _distribution(self, ds: Any) -> None:
        """The Monte-Carlo SAIDI distribution per zone: P5/P50/P95 and the target line."""
        dist = self.query_one("#dist-chart")
        if not hasattr(dist, "update_data"):
            return
        dist.clear()
        if "SAIDI_quantile" not in ds:
            return
        levels = ds["quantile"].values
        for z in ds["zone"].values:
            q = dict(zip(levels.tolist(), ds["SAIDI_quantile"].sel(zone=z).values.tolist(), strict=True))
            target = float(ds["saidi_target_h"].sel(zone=z)) if "saidi_target_h" in ds else float("nan")
            dist.update_data(str(z), quantiles_h=q, target_h=None if target != target else target)

    def show_programme(self, ds: Any) -> None:
        """The yearly programme's scenarios side by side."""
        self.query_one("#prog-table", FrameTable).show(programme_table(ds), self.lang)
        self.query_one("#rel-tabs", TabbedContent).active = "rel-prog"

    def reset(self, study: Any) -> None:
        """A new network was opened: forget the old results."""
        self.result = None
        self.trace = []
        self.query_one("#rel-status", Label).update(t("idle", self.lang))
        clear_tables(self, self.lang)

    # ------------------------------------------------------------------ language
    def relabel(self, lang: str) -> None:
        """Show every label in ``lang``."""
        self.lang = lang
        relabel_form(self, _FORM_LABELS, lang)
        method = self.query_one("#rel-method", Select)
        current = method.value
        method.set_options([(t("analytical", lang), "analytical"), (t("monte_carlo", lang), "monte-carlo")])
        method.value = current
        self.query_one("#rel-run", Button).label = t("run", lang)
        self.query_one("#rel-programme", Button).label = t("run_programme", lang)
        tabs = self.query_one("#rel-tabs", TabbedContent)
        for pane_id, key in _RESULT_TABS:
            tabs.get_tab(pane_id).label = t(key, lang)
        relabel_tables(self, lang)
