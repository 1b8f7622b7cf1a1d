"""Smoke test of the real TUI in a real terminal: tmux runs ``gridscope tui rbts2``, we type and read the screen.

Skipped cleanly where tmux is not installed. Until the CLI registers ``gridscope tui`` the test starts the app
through :func:`gridscope.tui.app.run` directly (same code path after the argument parsing).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _command() -> str:
    probe = subprocess.run([sys.executable, "-m", "gridscope", "tui", "--help"], capture_output=True, timeout=60,
                           check=False)
    if probe.returncode == 0:
        return f"{shlex.quote(sys.executable)} -m gridscope tui rbts2"
    code = "from gridscope.tui.app import run; run('rbts2')"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


class Tmux:
    """One detached tmux session running a command."""

    def __init__(self, command: str, width: int = 120, height: int = 40) -> None:
        self.name = f"gridscope-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        command], check=True, timeout=30)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True,
                              timeout=30, check=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True, timeout=30)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False, timeout=30)


@pytest.fixture
def tui():
    session = Tmux(_command())
    yield session
    session.close()


def test_tui_rbts2_in_tmux(tui: Tmux):
    screen = tui.wait_for("No validation problems.")
    assert "Buses 57" in screen and "Customers 1,908" in screen
    assert "F1  (18 buses, 7 loads)" in screen and "⇄ tie B6-B8" in screen
    assert "zone ⣿ A  ⣿ B" in screen  # the map's legend: coloured by supply zone
    tui.keys("2")
    tui.wait_for("Method")
    tui.keys("r")
    screen = tui.wait_for("3.6126")  # system SAIDI of RBTS Bus 2, h/customer·yr
    assert "system" in screen and "1908" in screen
    tui.keys("C-l")
    tui.wait_for("供电可靠性")
    tui.keys("C-q")
    start = time.monotonic()
    while time.monotonic() - start < 10:
        if subprocess.run(["tmux", "has-session", "-t", tui.name], capture_output=True, check=False).returncode:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("ctrl+q did not quit the app")
