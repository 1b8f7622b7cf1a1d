"""The outages screen driven with Textual's pilot: the plan shown is the API's, approve/reject moves the zone
budget by exactly the outage's customer-hours, bad input is shown inline, the plan is written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gridscope.study import Study
from gridscope.tui.app import GridscopeApp
from gridscope.tui.widgets.frame_table import FrameTable

sys.path.insert(0, str(Path(__file__).parent))
from test_tui_app import SIZE, opened, wait_for

JOBS = ("job,element,element_name,duration_h,date,live_line\n"
        "J1,line,S4,8,2027-03-01,no\nJ2,line,S5,4,2027-03-02,no\nJ3,line,S3,6,2027-05-01,yes\n"
        "J4,line,S2,6,2027-06-01,no\n")


@pytest.fixture(scope="module")
def rbts2() -> Study:
    return Study("rbts2")


async def test_outages_screen_plan_decide_export(tmp_path: Path, rbts2: Study):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(JOBS, encoding="utf-8")
    expected = rbts2.outages(str(jobs), targets={"A": 99.0, "B": 99.0})
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("5")
        view = await app.ensure_view("outages")
        view.query_one("#out-jobs_file").value = str(jobs)
        await pilot.press("r")
        await wait_for(pilot, lambda: view.plan is not None)
        groups = view.query_one("#out-groups-table", FrameTable)
        # the API's groups, in the same order; J1+J2 combined: 1688 customer-hours instead of 2528
        assert groups.column_texts("group") == list(expected.groups.index)
        assert groups.column_texts("customer_hours")[0] == "1688.0"
        # RBTS's faults already exceed the default targets: every interrupting outage starts rejected
        assert set(view.decisions.values()) == {"approved", "rejected"}
        g1 = groups.column_texts("group")[0]
        assert view.decisions[g1] == "rejected"
        budget = view.query_one("#out-budget-table", FrameTable)
        before = float(budget.column_texts("planned_saidi_h")[0])
        groups.focus()
        groups.move_cursor(row=0)
        await pilot.press("a")
        await pilot.pause()
        assert view.decisions[g1] == "approved"
        after = float(budget.column_texts("planned_saidi_h")[0])
        cust_a = expected.zones.at["A", "customers"]
        # zone A is budget row 0; approving G1 spends its 1688 customer-hours of zone A
        assert after - before == pytest.approx(1688.0 / cust_a, abs=1e-4)
        view.query_one("#out-plan_file").value = str(tmp_path / "plan.xlsx")
        await pilot.click("#out-export")
        await wait_for(pilot, lambda: (tmp_path / "plan.xlsx").exists() and app.job is None)


async def test_outages_screen_bad_input_inline(tmp_path: Path, rbts2: Study):
    app = GridscopeApp(rbts2, timings=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("5")
        view = await app.ensure_view("outages")
        view.query_one("#out-jobs_file").value = str(tmp_path / "missing.csv")
        view.query_one("#out-window_days").value = "0"
        await pilot.press("r")
        await pilot.pause()
        err = str(view.query_one("#out-form-error").render())
        assert "Jobs file" in err and "Window" in err and app.job is None
        # a jobs file with bad rows: the problems come up in the error modal, every row listed
        bad = tmp_path / "bad.csv"
        bad.write_text("job,element,element_name,duration_h,date\nJ1,line,S99,8,2027-03-01\n"
                       "J2,line,S2,-1,2027-03-01\n", encoding="utf-8")
        view.query_one("#out-jobs_file").value = str(bad)
        view.query_one("#out-window_days").value = "60"
        await pilot.press("r")
        from gridscope.tui.screens.modals import ErrorModal

        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert app.screen.title_text.endswith("2 validation problem(s)")
        assert "S99" in app.screen.message and "duration_h" in app.screen.message
