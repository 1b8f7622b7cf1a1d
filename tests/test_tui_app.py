"""Functional tests of the TUI: drive the real app with Textual's pilot and assert on what it shows.

Every number checked on screen is compared with the API's own result for the same options (the API is checked
against published values in the reliability and capacity tests; here we prove the screen shows exactly it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import gridscope as gs
import pandapower as pp
import pandas as pd
import pytest
from gridscope.study import Study
from gridscope.tui.app import DARK, LIGHT, GridscopeApp
from gridscope.tui.commands import COMMANDS, GridscopeCommands
from gridscope.tui.keymap import binding_ids, load_keymap
from gridscope.tui.screens.help import HelpScreen
from gridscope.tui.screens.modals import ErrorModal, ExportModal, OpenNetworkModal
from gridscope.tui.widgets.frame_table import PAGE_ROWS, FrameTable, format_cell

SIZE = (120, 40)


async def wait_for(pilot, cond: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until ``cond()`` holds."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            inline = [str(w.render()) for w in pilot.app.screen.query(".inline-error")]
            raise AssertionError(f"timed out waiting for the app: screen {pilot.app.screen!r}, inline {inline}")
        await pilot.pause(0.02)


async def opened(pilot, app: GridscopeApp) -> None:
    await wait_for(pilot, lambda: app.study is not None)
    await pilot.pause()


def f4(x: float) -> str:
    """How the tables show a number below 1,000."""
    return f"{x:.4f}"


@pytest.fixture(scope="module")
def rbts2() -> Study:
    return Study("rbts2")


# ---------------------------------------------------------------------------------------------- network
async def test_open_rbts2_shows_summary_tree_and_map():
    app = GridscopeApp("rbts2", timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        s = Study("rbts2").summary()
        text = str(app.network_view.query_one("#net-summary").render())
        assert f"Buses {s['buses']}" in text and f"Customers {s['customers']:,}" in text
        assert f"Feeders {s['feeders']}   Ties {s['ties']}" in text
        assert "A: 654  B: 1,254" in text
        tree = app.network_view.query_one("#feeder-tree")
        labels = [str(n.label) for n in tree.root.children]
        assert [lb.split()[0] for lb in labels[:4]] == ["F1", "F2", "F3", "F4"]
        assert sum(lb.startswith("⇄") for lb in labels) == 2
        # expand F1 -> sections -> elements; choosing an element shows its row of net.line
        f1 = tree.root.children[0]
        f1.expand()
        await pilot.pause()
        assert f1.children and str(f1.children[0].label).startswith(("section", "switches"))
        sec = next(c for c in f1.children if str(c.label).startswith("section"))
        sec.expand()
        await pilot.pause()
        line_node = next(c for c in sec.children if c.data[0] == "line")
        tree.select_node(line_node)
        await pilot.pause()
        tbl = app.network_view.query_one("#element-table", FrameTable)
        net = app.study.net
        idx = line_node.data[1]
        fields = dict(zip(tbl.column_texts("field"), tbl.column_texts("value"), strict=True))
        assert fields["name"] == str(net.line.at[idx, "name"])
        assert fields["length_km"] == f4(net.line.at[idx, "length_km"])
        nmap = app.network_view.network_map
        assert nmap is not None and nmap.mode.value == "zone"


async def test_broken_network_lists_problems(tmp_path: Path):
    net = gs.load_network("rbts2")
    net.bus.loc[5, "zone"] = None
    net.line.loc[3, "length_km"] = -1.0
    path = tmp_path / "broken.json"
    pp.to_json(net, str(path))
    expected = Study(str(path)).problems
    assert expected  # the file is broken as intended
    app = GridscopeApp(str(path), timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        table = app.network_view.query_one("#problems-table", FrameTable)
        assert table.row_count == len(expected)
        assert table.column_texts("message") == [p.message for p in expected]
        assert app.network_view.query_one("#net-tabs").active == "net-problems"
        # choosing a problem jumps to the element it names
        row = next(i for i, p in enumerate(expected) if p.table == "line" and p.index == 3)
        table.focus()
        table.move_cursor(row=row)
        await pilot.press("enter")
        await pilot.pause()
        assert str(app.network_view.query_one("#element-title").render()) == "line[3]"
        # analysis is refused with the problems in a modal, not a crash
        await pilot.press("2", "r")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert "validation problem" in app.screen.title_text
        await pilot.press("escape")


# ---------------------------------------------------------------------------------------------- reliability
async def test_analytical_zone_table_equals_api(rbts2: Study):
    ds = gs.assess_reliability(gs.load_network("rbts2"))
    app = GridscopeApp("rbts2", timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("2", "r")
        await wait_for(pilot, lambda: getattr(app.mounted_view("reliability"), "result", None) is not None)
        zt = app.reliability_view.query_one("#zone-table", FrameTable)
        assert zt.column_texts("zone") == ["A", "B", "system"]
        assert zt.column_texts("SAIDI_h")[-1] == "3.6126"  # published RBTS Bus 2 case A, 3.61 h
        assert zt.column_texts("SAIDI_h") == [f4(v) for v in ds["SAIDI"].values]
        assert zt.column_texts("SAIFI") == [f4(v) for v in ds["SAIFI"].values]
        assert zt.column_texts("customers") == ["654", "1254", "1908"]
        meets = zt.column_texts("meets")
        assert meets[:2] == ["NO", "NO"]  # margins −2.645 h and −0.549 h: both zones miss their targets
        assert zt.column_texts("margin_h")[:2] == [f"{v:+.3f}" for v in ds["margin_h"].values[:2]]
        ft = app.reliability_view.query_one("#feeder-table", FrameTable)
        worst_first = ds["feeder_SAIDI"].to_series().sort_values(ascending=False, kind="stable")
        assert ft.column_texts("feeder") == list(worst_first.index)
        assert ft.column_texts("SAIDI_h") == [f4(v) for v in worst_first.values]
        ct = app.reliability_view.query_one("#contrib-table", FrameTable)
        top = gs.reliability.results.contributions(ds, top=None)
        assert ct.column_texts("name")[:3] == list(top["name"][:3])


async def test_monte_carlo_small_run_equals_api(rbts2: Study):
    ds = rbts2.reliability(method="monte-carlo", years=3000, seed=7)
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        view = await app.ensure_view("reliability")
        view.query_one("#rel-years").value = "3000"
        view.query_one("#rel-seed").value = "7"
        await pilot.press("2")
        await app.action_run_reliability("monte-carlo")
        await wait_for(pilot, lambda: view.result is not None)
        zt = view.query_one("#zone-table", FrameTable)
        assert zt.column_texts("SAIDI_h") == [f4(v) for v in ds["SAIDI"].values]
        assert zt.column_texts("±SE_h") == [f4(v) for v in ds["SAIDI_stderr"].values]
        assert zt.column_texts("P95_h") == [f4(v) for v in ds["SAIDI_quantile"].sel(quantile=0.95).values]
        assert zt.column_texts("P(year misses)")[:2] == [f"{v:.3f}" for v in ds["p_miss_target"].values[:2]]
        assert "3,000 years, seed 7" in str(view.query_one("#rel-status").render())
        dist = view.query_one("#dist-chart")
        assert dist.zones["system"].quantiles_h[0.5] == pytest.approx(
            float(ds["SAIDI_quantile"].sel(zone="system", quantile=0.5)))


async def test_cancel_monte_carlo_run(rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        view = await app.ensure_view("reliability")
        view.query_one("#rel-years").value = "10000000"  # ≈ 3 s or more: long enough to cancel
        await app.action_run_reliability("monte-carlo")
        await wait_for(pilot, lambda: bool(view.trace))  # running mean ± SE arrives while it runs
        assert "SAIDI" in str(view.query_one("#conv-figures").render())
        bar = app.query_one("#jobbar")
        assert "-idle" not in bar.classes and "Esc to cancel" in str(bar.query_one("#job-hint").render())
        t0 = time.monotonic()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.job is None, timeout=5)
        assert time.monotonic() - t0 < 2.0
        assert view.result is None  # nothing half-done is shown as a result
        assert "-idle" in bar.classes
        assert any("Cancelled" in n.message for n in app._notifications)


# ---------------------------------------------------------------------------------------------- map
async def test_switch_map_colouring(rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        nmap = app.network_view.network_map
        assert nmap.legend_text.startswith("zone")
        await pilot.press("m")
        assert nmap.mode.value == "loading" and nmap.legend_text.startswith("loading")
        await pilot.press("m")
        assert nmap.mode.value == "saidi"
        app.action_set_colour("zone")
        assert nmap.mode.value == "zone"


# ---------------------------------------------------------------------------------------------- capacity
async def test_flags_sort_and_filter():
    st = Study("cigre_mv")
    flags = st.capacity().flags
    app = GridscopeApp("cigre_mv", timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: getattr(app.mounted_view("capacity"), "result", None) is not None)
        table = app.capacity_view.query_one("#flags-table", FrameTable)
        assert table.row_count == len(flags)
        assert table.column_texts("name") == [str(n) for n in flags["name"]]  # worst first, as the API sorts
        table.sort_on("loading_percent")
        lp = flags["loading_percent"].dropna().sort_values(kind="stable")
        assert table.column_texts("loading_percent")[:len(lp)] == [f"{v:.1f}" for v in lp]  # the CLI's format
        table.sort_on("loading_percent")  # again: descending
        assert table.column_texts("loading_percent")[0] == f"{lp.max():.1f}"
        sev = app.capacity_view.query_one("#flt-severity")
        sev.value = "undervoltage"
        await pilot.pause()
        n_uv = int((flags["severity"] == "undervoltage").sum())
        assert n_uv and table.row_count == n_uv
        assert set(table.column_texts("severity")) == {"undervoltage"}
        sev.value = "__all__"
        feeder = str(flags["feeder"].dropna().iloc[0])
        app.capacity_view.query_one("#flt-feeder").value = feeder
        await pilot.pause()
        assert table.row_count == int((flags["feeder"].astype(str) == feeder).sum())
        peaks = app.capacity_view.query_one("#peaks-table", FrameTable)
        peak = st.capacity().peak
        assert peaks.row_count == len(peak.line) + len(peak.trafo) + len(peak.trafo3w)
        top = max(peak.line["loading_percent"].max(), peak.trafo["loading_percent"].max())
        assert peaks.column_texts("loading_percent")[0] == f"{top:.1f}"
        ft = app.capacity_view.query_one("#level-feeder", FrameTable)
        assert ft.column_texts("open_capacity_mva") == [f"{v:.3f}" for v in st.capacity().table("feeder")
                                                         ["open_capacity_mva"]]


async def test_export_capacity_and_read_back(tmp_path: Path, rbts2: Study):
    result = rbts2.capacity()
    out = tmp_path / "rbts2_cap.xlsx"
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: getattr(app.mounted_view("capacity"), "result", None) is not None)
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportModal))
        app.screen.query_one("#export-path").value = str(out)
        app.screen.query_one("#export-lang").value = "zh"
        await pilot.click("#export-ok")
        await wait_for(pilot, lambda: out.exists() and app.job is None)
    sheets = pd.read_excel(out, sheet_name=None)
    feeder = sheets["10kV线路"]
    assert list(feeder["可开放容量(MVA)"].round(6)) == list(result.table("feeder")["open_capacity_mva"].round(6))
    assert "说明" in sheets


# ---------------------------------------------------------------------------------------------- connection
@pytest.mark.parametrize(("source", "p_mw", "bus", "decision", "banner"), [
    ("rbts2", "3", "5", "reject", "REJECT"),
    ("rbts2", "2.0", "12", "connect_then_reinforce", "CONNECT, THEN REINFORCE"),
    ("mv_oberrhein", "1", "36", "connect", "CONNECT"),
])
async def test_connection_three_outcomes(source, p_mw, bus, decision, banner):
    expected = Study(source).connection(float(p_mw), bus=int(bus))
    assert expected.decision == decision
    app = GridscopeApp(source, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        view = await app.ensure_view("connection")
        await pilot.press("4")
        view.query_one("#con-bus").value = bus
        view.query_one("#con-p_mw").value = p_mw
        await pilot.press("r")
        await wait_for(pilot, lambda: view.result is not None)
        text = str(view.query_one("#con-decision").render())
        assert text.startswith(banner + "  —") and f"bus {bus}" in text
        assert view.result.decision == decision
        cand = view.query_one("#cand-table", FrameTable)
        assert cand.column_texts("bus") == [f"{b:,}" for b in expected.candidates["bus"]]
        if decision == "connect_then_reinforce":
            reinf = view.query_one("#reinf-table", FrameTable)
            assert reinf.column_texts("name") == list(expected.reinforcements["name"])
        if decision == "reject":
            viol = view.query_one("#viol-table", FrameTable)
            assert viol.row_count == len(expected.violations)


# ---------------------------------------------------------------------------------------------- bad input
async def test_bad_form_input_is_shown_inline(tmp_path: Path, rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        rel = await app.ensure_view("reliability")
        rel.query_one("#rel-method").value = "monte-carlo"
        rel.query_one("#rel-years").value = "lots"
        await pilot.press("2", "r")
        await pilot.pause()
        assert app.job is None and "Years" in str(rel.query_one("#rel-form-error").render())
        con = await app.ensure_view("connection")
        con.query_one("#con-bus").value = "no-such-bus"
        con.query_one("#con-p_mw").value = "-2"
        await pilot.press("4", "r")
        await pilot.pause()
        err = str(con.query_one("#con-form-error").render())
        assert "no such bus" in err and "demand must be > 0 MW" in err and app.job is None
        con.query_one("#con-bus").value = "B12"  # a bus by name is fine
        con.query_one("#con-p_mw").value = "abc"
        await pilot.press("r")
        await pilot.pause()
        err = str(con.query_one("#con-form-error").render())
        assert "no such bus" not in err and "Demand" in err
        # a file that is not a network, then a corrupt JSON: inline in the open dialog
        (tmp_path / "notes.txt").write_text("hello")
        (tmp_path / "bad.json").write_text("{not json")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, OpenNetworkModal))
        dialog = app.screen
        source = dialog.query_one("#open-source")
        source.value = str(tmp_path / "notes.txt")
        await pilot.click("#open-ok")
        await pilot.pause()
        assert "not a network file" in str(dialog.query_one("#open-error").render())
        source.value = str(tmp_path / "bad.json")
        source.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "NetworkError" in str(dialog.query_one("#open-error").render()), timeout=10)
        assert isinstance(app.screen, OpenNetworkModal)  # still open for another try
        source.value = "case33bw"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.study is not rbts2)
        assert app.study.name and len(app.study.net.bus) == 33


# ---------------------------------------------------------------------------------------------- language, theme
async def test_switch_language_and_theme(rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("2", "r")
        await wait_for(pilot, lambda: getattr(app.mounted_view("reliability"), "result", None) is not None)
        background = app.screen.styles.background
        await pilot.press("ctrl+l")
        await pilot.pause()
        tabs = app.query_one("#main-tabs")
        assert str(tabs.get_tab("reliability").label) == "供电可靠性"
        zt = app.reliability_view.query_one("#zone-table", FrameTable)
        headers = [str(c.label) for c in zt.columns.values()]
        assert "用户平均停电时间SAIDI(h/户·年)" in headers and "供电可靠率ASAI(%)" in headers
        assert zt.column_texts("meets")[0] == "未达标"
        assert zt.column_texts("SAIDI_h")[-1] == "3.6126"
        assert "用户数" in str(app.network_view.query_one("#net-summary").render())
        await pilot.press("ctrl+l")
        assert str(tabs.get_tab("reliability").label) == "Reliability"
        assert app.theme == DARK
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme == LIGHT and app.screen.styles.background != background


# ---------------------------------------------------------------------------------------------- keys
async def test_user_keymap_and_help(tmp_path: Path, rbts2: Study):
    km = tmp_path / "keymap.toml"
    km.write_text('[keymap]\nrun = "f5"\n"tab.reliability" = "f2"\nno_such_id = "x"\n')
    loaded = load_keymap(km)
    assert loaded.keymap == {"run": "f5", "tab.reliability": "f2"} and loaded.unknown == ("no_such_id",)
    app = GridscopeApp(rbts2, keymap_file=km, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("f2", "f5")
        await wait_for(pilot, lambda: getattr(app.mounted_view("reliability"), "result", None) is not None)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = app.screen.query_one("#help-keys", FrameTable)
        rows = dict(zip(keys.column_texts("id"), keys.column_texts("key"), strict=True))
        assert rows["run"] == "f5" and rows["tab.reliability"] == "f2" and rows["export"] == "ctrl+e"
        await pilot.press("escape")


def test_every_binding_has_an_id_and_a_palette_command():
    ids = binding_ids()
    assert len(ids) == len(set(ids))
    actions = {a.split("(")[0] for _, _, a in COMMANDS}
    for needed in ("open_network", "run_reliability", "run_capacity", "run_connection", "export", "cancel_job",
                   "set_colour", "toggle_theme", "toggle_language", "help", "run_programme"):
        assert needed in actions
    for _, _, action in COMMANDS:
        name = action.split("(")[0]
        assert hasattr(GridscopeApp, f"action_{name}") or name == "quit"


async def test_command_palette_runs_an_action(rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"analytical")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.mounted_view("reliability"), "result", None) is not None)
        assert app.query_one("#main-tabs").active == "reliability"
    assert GridscopeCommands is not None


# ---------------------------------------------------------------------------------------------- tables
def test_format_cell_and_paging_constants():
    assert format_cell(3.612587).plain == "3.6126"
    assert format_cell(12345.678).plain == "12,345.7"
    assert format_cell(float("nan")).plain == "–"
    assert format_cell("overload").style == "bold red"
    assert PAGE_ROWS == 1000


async def test_large_table_is_paged():
    from textual.app import App

    df = pd.DataFrame({"bus": range(2500), "v": [i / 7 for i in range(2500)]})

    class One(App):
        def compose(self):
            yield FrameTable(id="t")

    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(FrameTable)
        table.show(df)
        assert table.row_count == PAGE_ROWS and "of 2,500" in table.border_subtitle
        table.focus()
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert table.row_count == 500 and table.cell_text(0, "bus") == "2,000"
        table.sort_on("v")
        table.sort_on("v")  # descending from the first page
        assert table.page == 0 and table.cell_text(0, "bus") == "2,499"


async def test_yearly_programme_side_by_side(rbts2: Study):
    expected = rbts2.yearly_programme(years=3)
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        view = await app.ensure_view("reliability")
        await pilot.press("2")
        await app.action_run_programme()
        await wait_for(pilot, lambda: view.query_one("#prog-table", FrameTable).row_count == 4)
        table = view.query_one("#prog-table", FrameTable)
        assert table.column_texts("scenario") == ["base", "year 1", "year 2", "year 3"]
        system = expected["SAIDI"].sel(zone="system").values
        assert table.column_texts("SAIDI_h system") == [f4(v) for v in system]
        assert system[1] < system[0]  # −15 % outages and −5 % repair time lower SAIDI year on year


async def test_broken_keymap_file_is_reported_not_fatal(tmp_path: Path, rbts2: Study):
    km = tmp_path / "keymap.toml"
    km.write_text("[keymap\nrun = f5")
    app = GridscopeApp(rbts2, keymap_file=km, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        assert any(str(km) in n.message and "default keys" in n.message for n in app._notifications)
        await pilot.press("2", "r")  # the default keys work
        await wait_for(pilot, lambda: getattr(app.mounted_view("reliability"), "result", None) is not None)


async def test_bus_picked_on_the_map_fills_the_connection_form(rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        nmap = app.network_view.network_map
        nmap.focus()
        await pilot.press("n", "n", "enter")  # the map's own keys: next bus twice, pick it
        bus = nmap.cursor_bus
        await wait_for(pilot, lambda: app.mounted_view("connection") is not None)
        view = app.mounted_view("connection")
        await wait_for(pilot, lambda: view.query_one("#con-bus").value == str(bus))
        assert str(app.network_view.query_one("#element-title").render()) == f"bus[{bus}]"
        await pilot.press("4", "r")
        await wait_for(pilot, lambda: view.result is not None)
        expected = rbts2.connection(1.0, bus=bus)
        assert view.result.bus == bus and view.result.decision == expected.decision
        assert str(view.query_one("#con-decision").render()).startswith(
            {"connect": "CONNECT  —", "connect_then_reinforce": "CONNECT, THEN REINFORCE", "reject": "REJECT"}
            [expected.decision])
