"""CLI: gridscope capacity / gridscope connect."""

from __future__ import annotations

import pytest
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


def test_capacity_reserved_file_lowers_the_feeder_by_its_mva(tmp_path):
    # 0.4 MW approved on load 8 (feeder F2 of rbts2: 2.54 MVA open, head-bound) at the reserved pf of 1.0 is
    # 0.4 MVA less open capacity on F2 (2.54 - 0.4 = 2.14 MVA), and nothing changes on another feeder.
    import json

    approved = tmp_path / "approved.csv"
    approved.write_text("element,element_index,p_mw\nload,8,0.4\n", encoding="utf-8")
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    assert CliRunner().invoke(main, ["capacity", "rbts2", "--level", "feeder", "--out", str(before)]).exit_code == 0
    r = CliRunner().invoke(main, ["capacity", "rbts2", "--level", "feeder", "--out", str(after),
                                  "--reserved", str(approved)])
    assert r.exit_code == 0, r.output

    def feeders(path):
        rows = json.loads(path.read_text(encoding="utf-8"))["tables"]["feeder"]
        return {row["name"]: row["open_capacity_mva"] for row in rows}

    b, a = feeders(before), feeders(after)
    changed = {k for k in b if abs(b[k] - a[k]) > 1e-9}
    assert len(changed) == 1
    assert changed == {"F2"}
    assert b["F2"] - a["F2"] == pytest.approx(0.4)


def test_capacity_reserved_bad_file_lists_every_row_and_exits_4(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("element,element_index,p_mw\npump,0,1\nload,9999,1\nload,1,-2\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["capacity", "rbts2", "--reserved", str(bad)])
    assert r.exit_code == 4
    assert "Traceback" not in r.output
    for row in ("row 2", "row 3", "row 4"):
        assert row in r.output
