"""The gridscope terminal UI: one app over one :class:`~gridscope.study.Study`.

``gridscope tui [NET]`` calls :func:`run`. Every computation runs in a thread worker calling the study (the
nogil kernels keep the event loop free); workers talk to the app only through the typed messages of
:mod:`.messages`. One job runs at a time, with a progress bar, ETA and Esc to cancel.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.widget import Widget
from textual.widgets import Button, Footer, Header, TabbedContent, TabPane

from ..capacity.export import write_capacity
from ..errors import CancelledError, ConfigError, GridscopeError, ValidationError
from ..progress import CancelToken
from ..reliability.results import contributions
from .commands import GridscopeCommands
from .i18n import t
from .jobs import ProgressRelay, open_study
from .keymap import APP_BINDINGS, KeymapFile, load_keymap
from .messages import JobFailed, JobFinished, JobProgress, JobStarted, NetworkLoaded, ShowElement
from .screens.capacity import CapacityView
from .screens.connection import ConnectionView
from .screens.frequent import FrequentView
from .screens.help import HelpScreen
from .screens.modals import ErrorModal, ExportModal, ExportRequest, OpenNetworkModal
from .screens.network import COLOUR_MODES, NetworkView
from .screens.outages import OutagesView
from .screens.reliability import ReliabilityView
from .widgets.jobbar import JobBar
from .widgets.netmap import NetworkMap

__all__ = ["DARK", "LIGHT", "GridscopeApp", "run"]

#: The two themes the theme key switches between.
DARK, LIGHT = "textual-dark", "textual-light"
_TABS = ("network", "reliability", "capacity", "connection", "outages", "frequent")
_VIEWS: dict[str, type[Widget]] = {"network": NetworkView, "reliability": ReliabilityView,
                                   "capacity": CapacityView, "connection": ConnectionView,
                                   "outages": OutagesView, "frequent": FrequentView}


class GridscopeApp(App[None]):
    """The gridscope TUI.

    Parameters
    ----------
    source : str, optional
        Network to open at start (built-in name, path or ``simbench:<code>``); opened in a worker.
    lang : {"en", "zh"}
        Label language.
    keymap_file : path-like, optional
        TOML keymap (default: ``$GRIDSCOPE_KEYMAP`` or ``~/.config/gridscope/keymap.toml``).
    timings : bool
        Show how long each job took (off for deterministic screenshots).
    """

    CSS_PATH = "gridscope.tcss"
    TITLE = "gridscope"
    BINDINGS: ClassVar[list[BindingType]] = list(APP_BINDINGS)
    COMMANDS = App.COMMANDS | {GridscopeCommands}

    def __init__(self, source: Any = None, *, lang: str = "en", keymap_file: Any = None,
                 timings: bool = True) -> None:
        super().__init__()
        self.timings = timings
        self.source = source
        self.lang = lang
        self.study: Any = None
        self.keymap_error: str | None = None
        try:
            self.keymap_file = load_keymap(keymap_file)
        except ConfigError as exc:  # a broken keymap must not keep the app from starting: defaults, and say so
            self.keymap_file = KeymapFile(None, {})
            self.keymap_error = str(exc)
        self.job: str | None = None
        self.token: CancelToken | None = None
        self.first_screen_s: float | None = None
        self._t0 = time.perf_counter()
        self._mount_lock = asyncio.Lock()

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="main-tabs", initial="network"):
            with TabPane(t("network", self.lang), id="network"):
                yield NetworkView(id="network-view")
            for name in _TABS[1:]:  # mounted when first shown (see ensure_view): a fast first screen
                yield TabPane(t(name, self.lang), id=name)
        yield JobBar(id="jobbar", classes="-idle")
        yield Footer()

    def on_mount(self) -> None:
        self.theme = DARK
        self.set_keymap(self.keymap_file.keymap)
        if self.keymap_error:
            self.notify(f"{self.keymap_error} (default keys in use)", severity="error", timeout=10)
        if self.keymap_file.unknown:
            self.notify(f"keymap {self.keymap_file.path}: unknown ids {', '.join(self.keymap_file.unknown)}",
                        severity="warning")
        if self.lang != "en":
            self._relabel()
        if self.source:
            self.open_source(self.source)
        self.call_after_refresh(self._first_paint)

    def _first_paint(self) -> None:
        self.first_screen_s = time.perf_counter() - self._t0

    async def ensure_view(self, name: str) -> Widget:
        """The view of tab ``name``, mounted on first use (with the current language and network)."""
        async with self._mount_lock:  # a tab switch and a key may both ask for the same view at once
            found = self.mounted_view(name)
            if found is not None:
                return found
            view = _VIEWS[name](id=f"{name}-view")
            await self.query_one(f"TabPane#{name}", TabPane).mount(view)
        if self.lang != "en":
            view.relabel(self.lang)
        if isinstance(view, ConnectionView | CapacityView) and self.study is not None:
            view.net = self.study.net
        return view

    def mounted_view(self, name: str) -> Any:
        """The view of tab ``name`` if it has been mounted, else ``None``."""
        found = self.query(f"#{name}-view")
        return found.first() if found else None

    @on(TabbedContent.TabActivated, "#main-tabs")
    async def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in _VIEWS:
            await self.ensure_view(event.pane.id)

    @property
    def network_view(self) -> NetworkView:
        """The network screen."""
        return self.query_one("#network-view", NetworkView)

    @property
    def reliability_view(self) -> ReliabilityView:
        """The reliability screen."""
        return self.query_one("#reliability-view", ReliabilityView)

    @property
    def capacity_view(self) -> CapacityView:
        """The capacity screen."""
        return self.query_one("#capacity-view", CapacityView)

    @property
    def connection_view(self) -> ConnectionView:
        """The connection screen."""
        return self.query_one("#connection-view", ConnectionView)

    @property
    def outages_view(self) -> OutagesView:
        """The outages screen."""
        return self.query_one("#outages-view", OutagesView)

    @property
    def frequent_view(self) -> FrequentView:
        """The frequent-interruptions screen."""
        return self.query_one("#frequent-view", FrequentView)

    # ------------------------------------------------------------------ opening a network
    def open_source(self, source: str) -> None:
        """Open ``source`` in a worker; the network screen shows a loading indicator meanwhile."""
        self.network_view.loading = True
        self.sub_title = t("loading_network", self.lang, name=getattr(source, "name", source))
        self._load_worker(source)

    @work(thread=True, exclusive=True, group="load")
    def _load_worker(self, source: str) -> None:
        t0 = time.perf_counter()
        try:
            study = open_study(source)
        except Exception as exc:  # shown in a modal; the app stays usable (ctrl+o to try another)
            self.post_message(JobFailed("open", exc))
            return
        self.post_message(NetworkLoaded(study, time.perf_counter() - t0))

    async def on_network_loaded(self, message: NetworkLoaded) -> None:
        await self.set_study(message.study)

    async def set_study(self, study: Any) -> None:
        """Make ``study`` the open network (every screen is reset to it)."""
        self.study = study
        self.network_view.loading = False
        self.sub_title = f"{study.name}  ({study.source})"
        await self.network_view.set_study(study)
        for name in _TABS[1:]:
            view = self.mounted_view(name)
            if view is not None:
                view.reset(study)

    def action_open_network(self) -> None:
        """Open another network (dialog with a file picker)."""
        async def opened(study: Any) -> None:
            if study is not None:
                await self.set_study(study)

        self.push_screen(OpenNetworkModal(self.lang), opened)

    # ------------------------------------------------------------------ jobs
    def start_job(self, job: str, title: str, fn: Callable[[Any, CancelToken], Any]) -> bool:
        """Run ``fn(progress, cancel)`` in a thread worker as job ``job``; False if another job is running."""
        if self.token is not None:
            self.notify(f"{self.job} is running — Esc to cancel it first", severity="warning")
            return False
        self.token = CancelToken()
        self.job = job
        self.post_message(JobStarted(job, title))
        self._job_worker(job, fn, self.token)
        return True

    @work(thread=True, group="job")
    def _job_worker(self, job: str, fn: Callable[[Any, CancelToken], Any], token: CancelToken) -> None:
        relay = ProgressRelay(job, self.post_message)
        t0 = time.perf_counter()
        try:
            result = fn(relay, token)
        except Exception as exc:  # every failure reaches the user as a modal, never as a crash
            self.post_message(JobFailed(job, exc))
            return
        self.post_message(JobFinished(job, result, time.perf_counter() - t0))

    def on_job_started(self, message: JobStarted) -> None:
        self.query_one(JobBar).start(message.title, self.lang)

    def on_job_progress(self, message: JobProgress) -> None:
        if message.job != self.job:
            return
        self.query_one(JobBar).show(message.progress, self.lang)
        if message.job == "reliability":
            self.reliability_view.progress(message.progress)

    def _job_ended(self) -> None:
        self.token = None
        self.job = None
        self.query_one(JobBar).stop()

    def on_job_finished(self, message: JobFinished) -> None:
        self._job_ended()
        r, s = message.result, (message.elapsed_s if self.timings else None)
        if message.job == "reliability":
            self.reliability_view.show_result(r, self.study.net, self.study.topology, s)
            self.network_view.set_contributions(contributions(r, top=None))
        elif message.job == "programme":
            self.reliability_view.show_programme(r)
        elif message.job == "capacity":
            self.capacity_view.show_result(r, s)
            self.network_view.set_map_loading(r.peak, r.flags)
        elif message.job == "connection":
            self.connection_view.show_result(r, s)
        elif message.job == "outages":
            self.outages_view.show_result(r, s)
        elif message.job == "frequent":
            self.frequent_view.show_result(r, s)
        elif message.job == "devices":
            ranked, n = r
            self.frequent_view.show_devices(ranked, n, s)
        elif message.job == "export":
            files = ", ".join(str(p) for p in r)
            self.notify(t("exported", self.lang, n=len(r), files=files), timeout=8)
        if s is not None:
            self.notify(t("done_in", self.lang, what=message.job, s=s), timeout=3)

    def on_job_failed(self, message: JobFailed) -> None:
        if message.job == "open":
            self.network_view.loading = False
            self.sub_title = ""
        else:
            self._job_ended()
        if isinstance(message.error, CancelledError):
            self.notify(f"{t('cancelled', self.lang)} {message.error}", severity="warning")
            return
        self.show_error(message.error)

    def show_error(self, error: BaseException) -> None:
        """Show ``error`` in a modal: gridscope's own errors with their message, others with a traceback."""
        if isinstance(error, ValidationError):
            title = f"{t('error', self.lang)}: {len(error.problems)} validation problem(s)"
            text = str(error)
        elif isinstance(error, GridscopeError):
            title = f"{t('error', self.lang)}: {type(error).__name__}"
            text = str(error)
        else:
            title = f"Unexpected error: {type(error).__name__}"
            text = f"{error}\n\n" + "".join(traceback.format_exception(error)[-6:])
        self.push_screen(ErrorModal(title, text))

    def action_cancel_job(self) -> None:
        """Ask the running job to stop (checked by the core at least every 100 ms)."""
        if self.token is not None:
            self.token.cancel()
            self.notify(f"cancelling {self.job} …", timeout=2)

    # ------------------------------------------------------------------ the four jobs
    def _need_study(self) -> bool:
        if self.study is None:
            self.notify(t("no_network", self.lang), severity="warning")
            return False
        return True

    async def action_run(self) -> None:
        """Run the current screen's job."""
        tab = self.query_one("#main-tabs", TabbedContent).active
        if tab == "reliability":
            await self.action_run_reliability()
        elif tab == "capacity":
            await self.action_run_capacity()
        elif tab == "connection":
            await self.action_run_connection()
        elif tab == "outages":
            await self.action_run_outages()
        elif tab == "frequent":
            await self.action_run_frequent()
        else:
            await self.action_run_reliability("analytical")

    async def action_run_reliability(self, method: str | None = None) -> None:
        """Reliability with the form's options (``method`` overrides the form's method)."""
        if not self._need_study():
            return
        view = await self.ensure_view("reliability")
        if method is not None:
            view.query_one("#rel-method").value = method
        req = view.request()
        if req is None:
            self.action_show_tab("reliability")
            return
        study, opts = self.study, dict(req.options)
        view.started(req)
        self.action_show_tab("reliability")
        self.start_job("reliability", f"{t('reliability', self.lang)} · {req.method}",
                       lambda progress, cancel: study.reliability(progress=progress, cancel=cancel, **opts))

    async def action_run_programme(self) -> None:
        """The yearly programme (analytical) over the form's programme years."""
        if not self._need_study():
            return
        req = (await self.ensure_view("reliability")).request()
        if req is None:
            return
        study, years = self.study, req.programme_years
        tie = req.options.get("tie_capacity", False)
        self.action_show_tab("reliability")
        self.start_job("programme", f"{t('programme', self.lang)} · {years} years",
                       lambda progress, cancel: study.yearly_programme(years=years, tie_capacity=tie))

    async def action_run_capacity(self) -> None:
        """Flags and open-capacity tables with the capacity screen's options."""
        if not self._need_study():
            return
        opts = (await self.ensure_view("capacity")).request()
        if opts is None:
            self.action_show_tab("capacity")
            return
        study = self.study
        self.action_show_tab("capacity")
        self.start_job("capacity", t("capacity", self.lang),
                       lambda progress, cancel: study.capacity(progress=progress, cancel=cancel, **opts))

    async def action_run_connection(self) -> None:
        """Evaluate the connection form's request."""
        if not self._need_study():
            return
        req = (await self.ensure_view("connection")).request()
        if req is None:
            self.action_show_tab("connection")
            return
        study = self.study
        p_mw = req.pop("p_mw")
        self.action_show_tab("connection")
        self.start_job("connection", f"{t('connection', self.lang)} · {p_mw:g} MW",
                       lambda progress, cancel: study.connection(p_mw, progress=progress, cancel=cancel, **req))

    async def action_run_outages(self) -> None:
        """Plan the jobs file of the outages screen (先算后停)."""
        if not self._need_study():
            return
        req = (await self.ensure_view("outages")).request()
        self.action_show_tab("outages")
        if req is None:
            return
        study, jobs = self.study, req.pop("jobs")
        self.start_job("outages", f"{t('outages', self.lang)} · {Path(jobs).name}",
                       lambda progress, cancel: study.outages(jobs, **req))

    async def action_run_frequent(self) -> None:
        """CEMI-n by zone and the load points at risk with their causes (the frequent screen's form)."""
        if not self._need_study():
            return
        req = (await self.ensure_view("frequent")).request()
        self.action_show_tab("frequent")
        if req is None:
            return
        study, n, top = self.study, req["n"], req["top"]
        self.start_job("frequent", f"{t('frequent', self.lang)} · CEMI-{n}",
                       lambda progress, cancel: study.frequent(n, top=top))

    async def action_rank_devices(self) -> None:
        """Rank the candidate devices of the frequent screen's form by the CEMI-n reduction (one re-analysis
        each: progress, Esc to cancel)."""
        if not self._need_study():
            return
        req = (await self.ensure_view("frequent")).request()
        self.action_show_tab("frequent")
        if req is None:
            return
        study, n = self.study, req.pop("n")
        self.start_job("devices", f"{t('rank_devices', self.lang)} · CEMI-{n}",
                       lambda progress, cancel: (study.rank_devices(n, progress=progress, cancel=cancel, **req), n))

    def action_export_frequent(self) -> None:
        """Write the frequent screen's tables (the file named there: .xlsx, or .csv files) with the capacity
        exports' writer (atomic, formula-safe), headers in the current language."""
        from ..capacity.export import export_tables
        from .i18n import header

        view = self.mounted_view("frequent")
        if view is None or (view.summary is None and view.devices is None):
            self.notify(t("no_frequent_result", self.lang), severity="warning")
            return
        path = view.export_path()
        if path is None:
            return
        lang = self.lang
        tables = {k: df.rename(columns=lambda c: header(str(c), lang)) for k, df in view.tables().items()}
        study = self.study
        meta = {"network": study.name, "network_hash": study.network_hash, "method": "analytical (Poisson)",
                "cemi_n": view.summary.n if view.summary is not None else view.devices_n,
                "devices_cemi_n": view.devices_n}
        self.start_job("export", f"{t('export', self.lang)} {Path(path).suffix}",
                       lambda progress, cancel: export_tables(tables, meta, path, lang=lang))

    def action_export_plan(self) -> None:
        """Write the outage plan (the file named on the outages screen) with the CLI's writer."""
        from ..reliability.planning import write_plan

        view = self.mounted_view("outages")
        if view is None or view.plan is None:
            self.notify(t("no_plan", self.lang), severity="warning")
            return
        path = view.export_path()
        if path is not None:
            plan, lang = view.plan, self.lang
            self.start_job("export", f"{t('export', self.lang)} {Path(path).suffix}",
                           lambda progress, cancel: write_plan(plan, path, lang=lang))

    def action_toggle_decision(self) -> None:
        """Approve or reject the outage under the cursor (outages screen); the zone budget follows."""
        view = self.mounted_view("outages")
        group = view.toggle_selected() if view is not None else None
        if group is not None:
            self.notify(f"{group}: {view.decisions[group]}", timeout=2)

    def action_export(self) -> None:
        """Export the capacity tables (dialog: path, format, language) with the CLI's writer; on the frequent
        screen its tables to the file named there."""
        if self.query_one("#main-tabs", TabbedContent).active == "frequent":
            self.action_export_frequent()
            return
        view = self.mounted_view("capacity")
        result = view.result if view is not None else None
        if result is None:
            self.notify(t("no_capacity", self.lang), severity="warning")
            return
        name = "".join(c if c.isalnum() else "_" for c in (self.study.name if self.study else "network"))
        default = str(Path.cwd() / f"{name}_capacity.xlsx")

        def chosen(req: ExportRequest | None) -> None:
            if req is not None:
                self.export_capacity(req)

        self.push_screen(ExportModal(default, self.lang), chosen)

    def export_capacity(self, req: ExportRequest) -> None:
        """Write the capacity tables as ``req`` says (in a worker; the files are announced when written)."""
        result = self.capacity_view.result
        self.start_job("export", f"{t('export', self.lang)} {req.fmt}",
                       lambda progress, cancel: write_capacity(result, req.path, fmt=req.fmt, lang=req.lang))

    # ------------------------------------------------------------------ buttons and picks
    @on(Button.Pressed, "#rel-run")
    async def _rel_run(self) -> None:
        await self.action_run_reliability()

    @on(Button.Pressed, "#rel-programme")
    async def _rel_programme(self) -> None:
        await self.action_run_programme()

    @on(Button.Pressed, "#cap-run")
    async def _cap_run(self) -> None:
        await self.action_run_capacity()

    @on(Button.Pressed, "#cap-export")
    def _cap_export(self) -> None:
        self.action_export()

    @on(Button.Pressed, "#con-run")
    async def _con_run(self) -> None:
        await self.action_run_connection()

    @on(Button.Pressed, "#out-run")
    async def _out_run(self) -> None:
        await self.action_run_outages()

    @on(Button.Pressed, "#out-toggle")
    def _out_toggle(self) -> None:
        self.action_toggle_decision()

    @on(Button.Pressed, "#out-export")
    def _out_export(self) -> None:
        self.action_export_plan()

    @on(Button.Pressed, "#fq-run")
    async def _fq_run(self) -> None:
        await self.action_run_frequent()

    @on(Button.Pressed, "#fq-rank")
    async def _fq_rank(self) -> None:
        await self.action_rank_devices()

    @on(Button.Pressed, "#fq-export")
    def _fq_export(self) -> None:
        self.action_export_frequent()

    async def on_show_element(self, message: ShowElement) -> None:
        self.network_view.show_element(message.table, message.index)
        if message.table == "bus" and message.index is not None:
            (await self.ensure_view("connection")).set_bus(int(message.index))

    @on(NetworkMap.BusSelected)
    async def _bus_picked(self, message: NetworkMap.BusSelected) -> None:
        self.network_view.show_element("bus", int(message.bus))
        (await self.ensure_view("connection")).set_bus(int(message.bus))

    # ------------------------------------------------------------------ view actions
    def action_show_tab(self, name: str) -> None:
        """Show one of the six screens."""
        if name in _TABS:
            self.query_one("#main-tabs", TabbedContent).active = name

    def action_cycle_colour(self) -> None:
        """Colour the map by the next mode."""
        self.network_view.cycle_colour()

    def action_set_colour(self, mode: str) -> None:
        """Colour the map by ``mode`` (zone, loading, saidi)."""
        if mode in COLOUR_MODES:
            self.network_view.set_colour(mode)
            self.action_show_tab("network")

    def action_toggle_theme(self) -> None:
        """Switch between the dark and the light theme."""
        self.theme = LIGHT if self.theme == DARK else DARK

    def action_toggle_language(self) -> None:
        """Switch the labels between English and Chinese."""
        self.lang = "zh" if self.lang == "en" else "en"
        self._relabel()

    def _relabel(self) -> None:
        tabs = self.query_one("#main-tabs", TabbedContent)
        for name in _TABS:
            tabs.get_tab(name).label = t(name, self.lang)
        for name in _TABS:
            view = self.mounted_view(name)
            if view is not None:
                view.relabel(self.lang)
        self.query_one(JobBar).relabel(self.lang)

    def action_help(self) -> None:
        """Show the keys."""
        self.push_screen(HelpScreen(self.keymap_file.keymap))


def run(source: str | None = None) -> None:
    """Run the TUI, opening ``source`` (a built-in name, path or ``simbench:<code>``) if given."""
    GridscopeApp(source).run()
