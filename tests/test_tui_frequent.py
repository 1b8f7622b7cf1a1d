"""The frequent-interruptions screen driven with Textual's pilot (RBTS Bus 2): the CEMI-n table equals
``cemi_by_zone`` on the analytical rates computed here, the load points at risk show their causes, the device
ranking's top row is the hand-checked breaker at DS S4, cancel stops the ranking, bad input is shown inline,
the tables are exported."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gridscope.reliability.analytical import analytical_indices
from gridscope.reliability.frequent import cemi_by_zone
from gridscope.reliability.impact import build_impact
from gridscope.settings import CEMI_N
from gridscope.study import Study
from gridscope.tui.app import GridscopeApp
from gridscope.tui.widgets.frame_table import FrameTable

sys.path.insert(0, str(Path(__file__).parent))
from test_tui_app import SIZE, opened, wait_for

TOTAL = 1908  # RBTS Bus 2 customers


@pytest.fixture(scope="module")
def rbts2() -> Study:
    return Study("rbts2")


def _pct(values) -> list[str]:
    return [f"{100.0 * v:.4f}" for v in values]


async def test_frequent_screen_cemi_and_load_points(rbts2: Study):
    # independent of the study: the failure-effect structure and analytical rates rebuilt from the network
    imp = build_impact(rbts2.net)
    res = analytical_indices(imp)
    lam = res.lam_fault + res.lam_planned
    cemi2 = cemi_by_zone(lam, imp.load_customers, imp.load_zone, imp.zones, 2)
    cemi0 = cemi_by_zone(lam, imp.load_customers, imp.load_zone, imp.zones, 0)
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("6")
        view = await app.ensure_view("frequent")
        assert view.query_one("#fq-n").value == str(CEMI_N) == "2"  # the one default home: settings.CEMI_N
        await pilot.press("r")
        await wait_for(pilot, lambda: view.summary is not None)
        zones = view.query_one("#fq-zones-table", FrameTable)
        assert zones.column_texts("zone") == ["A", "B", "system"]
        assert zones.column_texts("customers") == ["654", "1254", "1908"]
        assert zones.column_texts("CEMI_%") == _pct(cemi2.values)
        assert "CEMI-2" in str(view.query_one("#fq-status").render())
        # load points at risk: LP12 first (λ = 0.2555/yr, the highest), its causes shown when selected
        lps = view.query_one("#fq-lps-table", FrameTable)
        order = np.argsort(-lam, kind="stable")[:10]
        assert lps.column_texts("name") == [str(imp.load_name[i]) for i in order]
        assert lps.column_texts("lam_per_yr")[0] == "0.2555"
        p12 = 1 - sum(math.exp(-0.2555) * 0.2555 ** k / math.factorial(k) for k in range(3))  # P(N > 2) by hand
        assert lps.column_texts("P(N>n)_%")[0] == f"{100 * p12:.4f}"
        view.query_one("#fq-tabs").active = "fq-lps"
        lps.focus()
        lps.move_cursor(row=1)
        await pilot.pause()
        causes = str(view.query_one("#fq-causes").render())
        assert causes.startswith(f"{imp.load_name[order[1]]} ") and "S18 0.052/yr" in causes
        # n = 0: CEMI-0 is the share of customers interrupted at least once: Σ c·(1 − e^−λ) / Σ c
        view.query_one("#fq-n").value = "0"
        await app.action_run_frequent()
        await wait_for(pilot, lambda: view.summary is not None and view.summary.n == 0)
        assert zones.column_texts("CEMI_%") == _pct(cemi0.values)
        by_hand = float((imp.load_customers * (1 - np.exp(-lam))).sum() / TOTAL)
        assert zones.column_texts("CEMI_%")[-1] == f"{100 * by_hand:.4f}"
        # 中文: the tab, the form and the headers relabelled, the numbers unchanged
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert str(app.query_one("#main-tabs").get_tab("frequent").label) == "频繁停电"
        assert "CEMI(%)" in [str(c.label) for c in zones.columns.values()]
        assert "全系统" in str(view.query_one("#fq-status").render())
        assert zones.column_texts("CEMI_%") == _pct(cemi0.values)


async def test_rank_devices_top_row_and_export(tmp_path: Path, rbts2: Study):
    imp = build_impact(rbts2.net)
    lam = analytical_indices(imp).lam_fault + analytical_indices(imp).lam_planned
    lp12 = [int(np.flatnonzero(imp.load_name == f"LP{i}")[0]) for i in (1, 2)]
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("6")
        view = await app.ensure_view("frequent")
        view.query_one("#fq-n").value = "0"
        await pilot.press("r")
        await wait_for(pilot, lambda: view.summary is not None)
        for kind in ("fuse", "switch", "tie", "live_line"):
            view.query_one(f"#fq-kind-{kind}").value = False
        await pilot.press("d")
        await wait_for(pilot, lambda: view.devices is not None)
        table = view.query_one("#fq-devices-table", FrameTable)
        assert view.query_one("#fq-tabs").active == "fq-devices"
        # the best device is a breaker at DS S4: faults of S4, S7, S10 (2.1 km × 0.065 = 0.1365/yr) no longer
        # interrupt LP1 and LP2 (420 customers): SAIFI −420 × 0.1365 / 1908 = −0.0300 (docs/outages.md)
        assert table.cell_text(0, "description") == "switch 3 (DS S4) (DS) made a breaker"
        assert table.cell_text(0, "saifi_reduction") == f"{420 * 0.1365 / TOTAL:.4f}" == "0.0300"
        # CEMI-0 gain: 210·(e^−(λ−0.1365) − e^−λ) for each of LP1, LP2
        gain = sum(210 * (math.exp(-(lam[p] - 0.1365)) - math.exp(-lam[p])) for p in lp12) / TOTAL
        assert table.cell_text(0, "CEMI_reduction_%") == f"{100 * gain:.4f}"
        assert set(table.column_texts("device")) == {"recloser"}
        # export: the three tables, formula-safe, through the capacity exports' writer
        view.query_one("#fq-export_file").value = str(tmp_path / "frequent.xlsx")
        await pilot.click("#fq-export")
        await wait_for(pilot, lambda: (tmp_path / "frequent.xlsx").exists() and app.job is None)
        sheets = pd.read_excel(tmp_path / "frequent.xlsx", sheet_name=None)
        assert {"cemi", "load_points", "devices", "metadata"} <= set(sheets)
        assert sheets["devices"]["description"].iloc[0] == "switch 3 (DS S4) (DS) made a breaker"
        assert sheets["cemi"]["CEMI_%"].iloc[-1] == pytest.approx(100 * view.summary.cemi["system"])


@pytest.mark.slow
async def test_rank_devices_progress_and_cancel():
    # MV Oberrhein: 363 candidate devices, one failure-effect build each (≈ 15 s here): long enough to cancel
    study = Study("mv_oberrhein")
    app = GridscopeApp(study, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        view = await app.ensure_view("frequent")
        await app.action_rank_devices()
        assert app.job == "devices"
        bar = app.query_one("#jobbar")
        eta = bar.query_one("#job-eta")
        # the progress records arrive: "k/363 candidate devices", with the best reduction so far
        await wait_for(pilot, lambda: "candidate devices" in str(eta.render())
                       and not str(eta.render()).startswith("0/"))
        assert "/363 candidate devices" in str(eta.render())
        assert "Esc to cancel" in str(bar.query_one("#job-hint").render())
        t0 = time.monotonic()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.job is None, timeout=10)
        assert time.monotonic() - t0 < 3.0  # checked before every candidate
        assert view.devices is None  # nothing half-done is shown
        assert any("Cancelled" in n.message and "candidate devices cancelled after" in n.message
                   for n in app._notifications)


def test_rank_devices_reports_progress_and_stops(rbts2: Study):
    from gridscope.errors import CancelledError
    from gridscope.progress import CancelToken
    from gridscope.reliability.devices import RANK_WHAT, candidate_devices

    records = []
    ranked = rbts2.rank_devices(0, kinds=("recloser",), top=None, progress=records.append)
    n_cand = len(candidate_devices(rbts2.net, kinds=("recloser",)))
    assert len(ranked) == n_cand and records[0].done == 0 and records[-1].done == records[-1].total == n_cand
    assert {r.what for r in records} == {RANK_WHAT}
    assert records[-1].figures["best_cemi_reduction"] == pytest.approx(ranked["cemi_reduction"].max())
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        rbts2.rank_devices(0, cancel=token)
    # cancel is asked once before the working copy, then twice per candidate (before it and between its
    # topology and the rest of its build): an Esc during the first candidate's build (the third question)
    # stops the ranking before that build goes on
    calls: list[int] = []
    rbts2.rank_devices(0, kinds=("recloser",), cancel=lambda: bool(calls.append(1)))
    assert len(calls) == 1 + 2 * n_cand
    calls.clear()
    with pytest.raises(CancelledError, match="after 0 of"):
        rbts2.rank_devices(0, kinds=("recloser",), cancel=lambda: bool(calls.append(1)) or len(calls) >= 3)
    assert len(calls) == 3


async def test_frequent_bad_input_inline(rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("6")
        view = await app.ensure_view("frequent")
        view.query_one("#fq-n").value = "-1"
        view.query_one("#fq-top").value = "ten"
        view.query_one("#fq-tie_max_km").value = "x"
        await pilot.press("r")
        await pilot.pause()
        err = str(view.query_one("#fq-form-error").render())
        assert "CEMI n" in err and "Top" in err and "Tie km" in err and app.job is None
        view.query_one("#fq-n").value = "2"
        view.query_one("#fq-top").value = "10"
        view.query_one("#fq-tie_max_km").value = "1"
        for kind in ("fuse", "recloser", "switch", "tie", "live_line"):
            view.query_one(f"#fq-kind-{kind}").value = False
        await app.action_rank_devices()
        await pilot.pause()
        assert "Devices: tick at least one kind" in str(view.query_one("#fq-form-error").render())
        assert app.job is None and view.summary is None
        # export before any result: a warning, no file
        app.action_export_frequent()
        await pilot.pause()
        assert any("Run the frequent" in n.message for n in app._notifications)


async def test_device_kinds_in_chinese(rbts2: Study):
    # one row of each kind (hand-made ranking), then RBTS's own ranking: the device column is shown in the
    # language of the screen; the words are the glossary's, written out here
    zh = {"fuse": "熔断器", "recloser": "重合器", "switch": "开关", "tie": "联络线", "live_line": "不停电作业"}
    kinds = list(zh)
    hand = pd.DataFrame({"kind": kinds, "description": [f"a {k}" for k in kinds],
                         "cemi_reduction": [0.5, 0.4, 0.3, 0.2, 0.1], "customers_relieved": [1.0] * 5,
                         "saifi_reduction": [0.1] * 5, "saidi_reduction_h": [0.2] * 5})
    ranked = rbts2.rank_devices(0, top=None)
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("6")
        view = await app.ensure_view("frequent")
        table = view.query_one("#fq-devices-table", FrameTable)
        view.show_devices(hand, 0, None)
        await pilot.pause()
        assert table.column_texts("device") == kinds
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert table.column_texts("device") == ["熔断器", "重合器", "开关", "联络线", "不停电作业"]
        assert table.column_texts("description") == [f"a {k}" for k in kinds]  # free text is left alone
        view.show_devices(ranked, 0, None)  # shown while in Chinese: 10 reclosers, then 3 ties
        await pilot.pause()
        assert table.column_texts("device") == ["重合器"] * 10 + ["联络线"] * 3
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert table.column_texts("device") == ["recloser"] * 10 + ["tie"] * 3


async def test_job_hint_follows_the_language():
    from gridscope.tui.widgets.jobbar import JobBar
    from textual.app import App

    class One(App):
        def compose(self):
            yield JobBar(id="jobbar", classes="-idle")

    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(JobBar)
        bar.relabel("zh")  # idle: nothing shown, nothing changed
        assert str(bar.query_one("#job-hint").render()) == ""
        bar.start("devices", "en")
        assert str(bar.query_one("#job-hint").render()) == "Esc to cancel"
        bar.relabel("zh")
        await pilot.pause()
        assert str(bar.query_one("#job-hint").render()) == "Esc 取消"
