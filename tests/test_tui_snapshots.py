"""SVG snapshots of the key screens (pytest-textual-snapshot): fixed terminal size, tiny networks, no timings.

Update after an intended change of the look with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and
review the SVGs in ``tests/__snapshots__/test_tui_snapshots/``.
"""

from __future__ import annotations

import time

from gridscope.tui.app import GridscopeApp

SIZE = (100, 30)


async def _until(pilot, cond, timeout: float = 30.0) -> None:
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout, "timed out waiting for the app"
        await pilot.pause(0.02)


async def _opened(pilot) -> None:
    await _until(pilot, lambda: pilot.app.study is not None)
    await pilot.pause()


def test_snapshot_network_screen(snap_compare):
    assert snap_compare(GridscopeApp("rbts2", timings=False), terminal_size=SIZE, run_before=_opened)


def test_snapshot_reliability_zones(snap_compare):
    async def run(pilot):
        await _opened(pilot)
        await pilot.press("2", "r")
        await _until(pilot, lambda: getattr(pilot.app.mounted_view("reliability"), "result", None) is not None)
        await pilot.pause()

    assert snap_compare(GridscopeApp("rbts2", timings=False), terminal_size=SIZE, run_before=run)


def test_snapshot_connection_reject_in_chinese(snap_compare):
    async def run(pilot):
        await _opened(pilot)
        view = await pilot.app.ensure_view("connection")
        await pilot.press("4", "ctrl+l")
        view.query_one("#con-bus").value = "5"
        view.query_one("#con-p_mw").value = "3"
        await pilot.press("r")
        await _until(pilot, lambda: view.result is not None)
        await pilot.pause()

    assert snap_compare(GridscopeApp("rbts2", timings=False), terminal_size=SIZE, run_before=run)
