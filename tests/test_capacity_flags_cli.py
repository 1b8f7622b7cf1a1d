"""``gridscope flags``: the printed table, the CSV it writes, and one-line errors with their exit codes."""

from __future__ import annotations

import gridscope as gs
import pandas as pd
from gridscope.capacity.flags import FLAG_COLUMNS, flag_loading
from gridscope.capacity.powerflow import run_snapshot


def test_snapshot_flags_printed_and_written(run, tmp_path):
    out = tmp_path / "flags.csv"
    res = run("flags", "mv_oberrhein", "--scaling", "1.6", "--top", "5", "--out", str(out))
    assert res.exit_code == 0, res.output
    net = gs.load_network("mv_oberrhein")
    expected = flag_loading(net, run_snapshot(net, scaling=1.6))
    assert f"{len(expected)} flag(s)" in res.output
    assert "HV/MV Transformer 1" in res.output and "overload" in res.output
    assert f"... {len(expected) - 5} more" in res.output
    written = pd.read_csv(out)
    assert list(written.columns) == FLAG_COLUMNS and len(written) == len(expected)
    assert list(written["index"]) == list(expected["index"])
    res = run("flags", "mv_oberrhein", "--out", str(out))
    assert res.exit_code == 4 and "exists" in res.stderr


def test_thresholds_from_options(run):
    res = run("flags", "mv_oberrhein", "--line-limit", "40", "--trafo-limit", "200", "--overload", "300",
              "--top", "0")
    assert res.exit_code == 0, res.output
    net = gs.load_network("mv_oberrhein")
    loading = run_snapshot(net).line["loading_percent"]
    assert f"{int((loading >= 40).sum())} flag(s): heavy {int((loading >= 40).sum())}" in res.output
    assert "trafo " not in res.output


def test_bad_profiles_and_nonconvergence_exit_codes(run, tmp_path):
    bad = tmp_path / "p.csv"
    bad.write_text("load:0,load:99999\n1,2\n")
    res = run("flags", "case33bw", "--profiles", str(bad))
    assert res.exit_code == 4
    assert "no 'time' column" in res.stderr and "no load with index 99999" in res.stderr
    assert "Traceback" not in res.output
    res = run("flags", "mv_oberrhein", "--scaling", "30")
    assert res.exit_code == 5 and "likely cause" in res.stderr
    res = run("flags", "mv_oberrhein", "--out", str(tmp_path / "x.txt"))
    assert res.exit_code == 4 and ".csv" in res.stderr
