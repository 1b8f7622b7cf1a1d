"""The connection screen: a request form (bus or location, MW, power factor, radius) → ranked candidates, the
decision and the reinforcement list, optionally the reliability impact."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.validation import Function, Number
from textual.widgets import Button, Input, Label, Static, Switch, TabbedContent, TabPane

from ..i18n import t
from ..netdata import find_bus
from ..widgets.frame_table import FrameTable
from .forms import clear_tables, field, field_value, form_errors, relabel_form, relabel_tables, took

__all__ = ["ConnectionView", "parse_location"]

_FORM_LABELS = ("bus", "location", "p_mw", "pf", "radius", "with_reliability")


def parse_location(text: str) -> tuple[float, float] | None:
    """``"x, y"`` (or ``"x y"``) as two floats; ``None`` when it is not two numbers."""
    parts = text.replace(",", " ").split()
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        return None


class ConnectionView(Horizontal):
    """Form on the left, the decision and its tables on the right."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lang = "en"
        self.net: Any = None
        self.result: Any = None
        self.elapsed_s: float | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="con-form", classes="form"):
            yield field("bus", t("bus"), Input("", placeholder="12 or B12", id="con-bus",
                        validators=[Function(self._known_bus, "no such bus in the network")]))
            yield field("location", t("location"), Input("", placeholder="x, y", id="con-location",
                        validators=[Function(lambda s: parse_location(s) is not None, "give two numbers: x, y")]))
            yield field("p_mw", t("p_mw"), Input("1.0", id="con-p_mw", validators=[Number(minimum=1e-6, maximum=1000.0,
                                                                   failure_description="demand must be > 0 MW")]))
            yield field("pf", t("pf"), Input("0.95", id="con-pf", validators=[Number(minimum=0.01, maximum=1.0)]))
            yield field("radius", t("radius"), Input("", placeholder="optional", id="con-radius",
                                                     validators=[Number(minimum=1e-6)], valid_empty=True))
            with Horizontal(classes="switch-row"):
                yield Switch(False, id="con-reliability")
                yield Label(t("with_reliability"), id="lbl-with_reliability")
            yield Label("", id="con-form-error", classes="inline-error")
            with Horizontal(classes="buttons"):
                yield Button(t("evaluate"), variant="primary", id="con-run")
        with Vertical(id="con-results"):
            yield Static("", id="con-decision")
            yield Static("", id="con-message")
            with TabbedContent(id="con-tabs"):
                with TabPane(t("candidates"), id="con-candidates"):
                    yield FrameTable(id="cand-table")
                with TabPane(t("reinforcements"), id="con-reinforcements"):
                    yield FrameTable(id="reinf-table")
                with TabPane(t("violations"), id="con-violations"):
                    yield FrameTable(id="viol-table")

    def _known_bus(self, text: str) -> bool:
        return not text.strip() or self.net is None or find_bus(self.net, text) is not None

    def set_bus(self, bus: int) -> None:
        """Fill the bus field (a bus picked on the map or in the tree)."""
        name = ""
        if self.net is not None and "name" in self.net.bus and bus in self.net.bus.index:
            name = str(self.net.bus.at[bus, "name"])
        self.query_one("#con-bus", Input).value = str(bus)
        self.query_one("#con-location", Input).value = ""
        self.query_one("#con-form-error", Label).update(f"bus {bus} {name}".strip())

    # ------------------------------------------------------------------ form
    def request(self) -> dict[str, Any] | None:
        """Arguments of :meth:`gridscope.study.Study.connection`, or ``None`` with inline messages."""
        bus_text, loc_text = field_value(self, "con", "bus"), field_value(self, "con", "location")
        names = ["p_mw", "pf", "radius"]
        errors = []
        if bool(bus_text) == bool(loc_text):
            errors.append(f"{t('bus', self.lang)} / {t('location', self.lang)}: give one of the two")
        names += ["bus"] if bus_text else ["location"] if loc_text else []
        errors += form_errors(self, "con", names)
        self.query_one("#con-form-error", Label).update("\n".join(errors))
        if errors:
            return None
        req: dict[str, Any] = {"p_mw": float(field_value(self, "con", "p_mw")),
                               "pf": float(field_value(self, "con", "pf")),
                               "reliability": bool(self.query_one("#con-reliability", Switch).value)}
        if bus_text:
            req["bus"] = find_bus(self.net, bus_text)
        else:
            req["location"] = parse_location(loc_text)
        radius = field_value(self, "con", "radius")
        if radius:
            req["radius"] = float(radius)
        return req

    # ------------------------------------------------------------------ results
    def show_result(self, dec: Any, elapsed_s: float | None) -> None:
        """Show a :class:`~gridscope.capacity.connection.ConnectionDecision`."""
        self.result, self.elapsed_s = dec, elapsed_s
        banner = self.query_one("#con-decision", Static)
        banner.set_classes(f"decision -{dec.decision}")
        banner.update(f"{t(dec.decision, self.lang)}  —  bus {dec.bus}, {dec.p_mw:g} MW, pf {dec.pf:g}"
                      f"{took(elapsed_s)}")
        msg = dec.message
        if dec.reliability:
            msg += "\n" + "   ".join(f"{k} {v:.4f}" for k, v in dec.reliability.items())
        self.query_one("#con-message", Static).update(msg)
        self.query_one("#cand-table", FrameTable).show(dec.candidates, self.lang)
        self.query_one("#reinf-table", FrameTable).show(dec.reinforcements, self.lang)
        self.query_one("#viol-table", FrameTable).show(dec.violations, self.lang)
        tabs = self.query_one("#con-tabs", TabbedContent)
        tabs.active = {"reject": "con-violations", "connect_then_reinforce": "con-reinforcements"}.get(
            dec.decision, "con-candidates")

    def reset(self, study: Any) -> None:
        """A new network was opened: forget the old decision, validate buses against the new net."""
        self.net = study.net
        self.result = None
        self.query_one("#con-decision", Static).update("")
        self.query_one("#con-message", Static).update("")
        clear_tables(self, self.lang)

    # ------------------------------------------------------------------ language
    def relabel(self, lang: str) -> None:
        """Show every label in ``lang``."""
        self.lang = lang
        relabel_form(self, _FORM_LABELS, lang)
        self.query_one("#con-run", Button).label = t("evaluate", lang)
        tabs = self.query_one("#con-tabs", TabbedContent)
        for key in ("candidates", "reinforcements", "violations"):
            tabs.get_tab(f"con-{key}").label = t(key, lang)
        if self.result is not None:
            self.show_result(self.result, self.elapsed_s)
        relabel_tables(self, lang)
