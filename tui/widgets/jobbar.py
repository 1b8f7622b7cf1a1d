"""The status line of the running job: what, a progress bar, ETA, running figures and "Esc to cancel"."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from ...progress import Progress
from ..i18n import t

__all__ = ["JobBar", "format_figures"]


def format_figures(figures: dict[str, float]) -> str:
    """Running figures as text: ``SAIDI 3.61 ± 0.02 h`` for a mean with its standard error, others ``k v``."""
    parts = []
    shown = set()
    for k, v in figures.items():
        if k.endswith("_stderr_h") or k in shown:
            continue
        se_key = k[:-2] + "_stderr_h" if k.endswith("_h") else None
        if se_key and se_key in figures:
            parts.append(f"{k[:-2]} {v:.4f} ± {figures[se_key]:.4f} h")
            shown.add(se_key)
        elif k in ("years_per_s",):
            parts.append(f"{v:,.0f} years/s")
        elif isinstance(v, float | int) and k not in ("chunk", "elapsed_s"):
            parts.append(f"{k} {v:.4g}")
    return "   ".join(parts)


class JobBar(Horizontal):
    """Shows the running job; hidden (class ``-idle``) when nothing runs."""

    def compose(self) -> ComposeResult:
        yield Label("", id="job-title")
        yield ProgressBar(total=100, show_eta=False, show_percentage=True, id="job-progress")
        yield Label("", id="job-eta")
        yield Label("", id="job-figures")
        yield Label("", id="job-hint")

    def start(self, title: str, lang: str) -> None:
        """A job began."""
        self.remove_class("-idle")
        self.query_one("#job-title", Label).update(title)
        bar = self.query_one(ProgressBar)
        bar.update(total=None, progress=0)
        self.query_one("#job-eta", Label).update("")
        self.query_one("#job-figures", Label).update("")
        self.query_one("#job-hint", Label).update(t("esc_cancel", lang))

    def show(self, p: Progress, lang: str) -> None:
        """A progress record arrived."""
        bar = self.query_one(ProgressBar)
        if p.total > 0:
            bar.update(total=p.total, progress=p.done)
        eta = p.eta_s
        eta_text = "" if math.isnan(eta) else f"{t('eta', lang)} {eta:,.1f} s"
        self.query_one("#job-eta", Label).update(f"{p.done:,.0f}/{p.total:,.0f} {p.what}  {eta_text}")
        self.query_one("#job-figures", Label).update(format_figures(dict(p.figures)))

    def relabel(self, lang: str) -> None:
        """The language was switched while a job runs: the hint now (the ETA word with the next record)."""
        if not self.has_class("-idle"):
            self.query_one("#job-hint", Label).update(t("esc_cancel", lang))

    def stop(self) -> None:
        """The job ended."""
        self.add_class("-idle")
