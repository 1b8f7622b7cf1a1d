"""The outages and frequent screens fit an 80x24 terminal: every form row is one line inside the screen, no
button label is cut (English and Chinese), and the tables take the rest of the height without running under the
footer. Checked on the widgets' screen regions after a real run (the status line wraps to two rows then)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gridscope.study import Study
from gridscope.tui.app import GridscopeApp
from gridscope.tui.widgets.frame_table import FrameTable
from rich.cells import cell_len
from textual.containers import Horizontal
from textual.widgets import Button

sys.path.insert(0, str(Path(__file__).parent))
from test_tui_app import opened, wait_for
from test_tui_outages import JOBS

SMALL = (80, 24)


@pytest.fixture(scope="module")
def rbts2() -> Study:
    return Study("rbts2")


def _check_fits(app: GridscopeApp, view, table_id: str) -> None:
    width, height = SMALL
    bars = [w for w in view.children if isinstance(w, Horizontal)]
    assert bars, "the form bars"
    for bar in bars:
        assert bar.region.height == 1
        for w in bar.children:
            # each field, label and button of a bar: one row, wholly on screen
            assert w.region.height == 1 and w.region.right <= width, (bar.id, w.id, w.region)
            if isinstance(w, Button):  # label + one cell each side
                assert w.region.width >= cell_len(w.label.plain) + 2, (w.id, str(w.label), w.region)
    table = view.query_one(f"#{table_id}", FrameTable)
    footer_top = app.query_one("Footer").region.y
    assert table.region.height >= 4 and table.region.bottom <= footer_top == height - 1
    assert view.region.bottom <= footer_top
    # nothing of the view is laid out below its own area (the old outages form needed 31 rows in 20)
    assert max(w.region.bottom for w in view.children if w.display) <= view.region.bottom


async def test_outages_screen_fits_80x24(tmp_path: Path, rbts2: Study):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS, encoding="utf-8")
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SMALL) as pilot:
        await opened(pilot, app)
        await pilot.press("5")
        view = await app.ensure_view("outages")
        await pilot.pause()
        _check_fits(app, view, "out-groups-table")
        view.query_one("#out-jobs_file").value = str(jobs)
        await app.action_run()
        await wait_for(pilot, lambda: view.plan is not None)
        await pilot.pause()
        _check_fits(app, view, "out-groups-table")
        assert view.query_one("#out-groups-table", FrameTable).row_count == 3
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert str(view.query_one("#out-run", Button).label) == "计算"
        _check_fits(app, view, "out-groups-table")


async def test_frequent_screen_fits_80x24(rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SMALL) as pilot:
        await opened(pilot, app)
        await pilot.press("6")
        view = await app.ensure_view("frequent")
        await app.action_run_frequent()
        await wait_for(pilot, lambda: view.summary is not None)
        await pilot.pause()
        _check_fits(app, view, "fq-zones-table")
        await pilot.press("ctrl+l")
        await pilot.pause()
        _check_fits(app, view, "fq-zones-table")
