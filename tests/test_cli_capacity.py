"""CLI: gridscope capacity / gridscope connect."""

from __future__ import annotations

from click.testing import CliRunner
from gridscope.cli import main


def test_capacity_prints_levels_and_writes_excel(tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "open_capacity.xlsx"
    r = CliRunner().invoke(main, ["capacity", "rbts2", "--level", "feeder", "--out", str(out), "--lang", "zh"])
    assert r.exit_code == 0, r.output
    assert "flag(s)" in r.output and "feeder (4 rows)" in r.output and "F1" in r.output
    assert load_workbook(out).sheetnames == ["10kV线路", "说明"]
    r = CliRunner().invoke(main, ["capacity", "rbts2", "--level", "feeder", "--out", str(out)])
    assert r.exit_code == 4 and "--force" in r.output
    r = CliRunner().invoke(main, ["capacity", "rbts2", "--level", "feeder", "--out", str(out), "--force"])
    assert r.exit_code == 0


def test_connect_decisions_and_exit_codes():
    r = CliRunner().invoke(main, ["connect", "rbts2", "--p-mw", "0.5", "--bus", "20"])
    assert r.exit_code == 0 and "decision: connect at bus 20" in r.output
    r = CliRunner().invoke(main, ["connect", "rbts2", "--p-mw", "8", "--bus", "20"])
    assert r.exit_code == 0 and "decision: reject" in r.output and "line 11" in r.output  # reject is an answer
    r = CliRunner().invoke(main, ["connect", "rbts2", "--p-mw", "1", "--bus", "999"])
    assert r.exit_code == 4 and "bus 999 does not exist" in r.output
    r = CliRunner().invoke(main, ["connect", "rbts2", "--p-mw", "-1", "--bus", "20"])
    assert r.exit_code == 4
    r = CliRunner().invoke(main, ["connect", "rbts2", "--p-mw", "1", "--at", "1000,1000"])
    assert r.exit_code == 4 and "far outside" in r.output
    r = CliRunner().invoke(main, ["connect", "rbts2", "--p-mw", "1", "--at", "nonsense"])
    assert r.exit_code == 4 and "X,Y" in r.output
    r = CliRunner().invoke(main, ["connect", "--help"])
    assert "valid answer" in r.output
