"""The network commands of the CLI: validate, networks, zones, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import gridscope as gs
import pandas as pd
import pytest


def _single_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def broken_json(tmp_path_factory):
    net = gs.load_network("rbts2")
    net.switch.loc[net.switch["name"] == "F2", "closed"] = False
    net.line.loc[0, "max_i_ka"] = float("nan")
    path = tmp_path_factory.mktemp("nets") / "broken.json"
    gs.save_network(net, path)
    return path


# ------------------------------------------------------------------------------------------------ validate
def test_validate_clean(run):
    result = run("validate", "rbts2")
    assert result.exit_code == 0
    assert result.stdout.strip() == "rbts2: no problems (57 buses, 4 feeders, 2 ties)"


def test_validate_broken_prints_a_table_and_exits_2(run, broken_json):
    result = run("validate", str(broken_json))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["table", "index", "name", "problem"]
    body = "\n".join(lines)
    assert "LP8" in body and "LP9" in body and "not energised" in body and "max_i_ka" in body
    assert lines[-1] == "3 problem(s)"  # max_i_ka of line 0, LP8 and LP9 not energised
    assert broken_json.exists()


def test_validate_default_zone(run, tmp_path):
    net = gs.load_network("rbts2")
    net.bus["zone"] = None
    path = gs.save_network(net, tmp_path / "nozones.json")
    assert run("validate", str(path)).exit_code == 2
    assert run("validate", str(path), "--default-zone", "B").exit_code == 0
    bad = run("validate", str(path), "--default-zone", "Q")
    assert bad.exit_code == 2 and "default zone 'Q'" in bad.stdout


# ------------------------------------------------------------------------------------------------ bad input
def test_missing_file(run, tmp_path):
    result = run("validate", str(tmp_path / "missing.json"))
    assert result.exit_code == 3
    assert "not found" in _single_error_line(result)


def test_corrupt_json(run, tmp_path):
    path = tmp_path / "corrupt.json"
    path.write_text('{"bus": [1, 2')
    result = run("validate", str(path))
    assert result.exit_code == 3
    assert "corrupt.json" in _single_error_line(result)


def test_excel_that_is_not_a_network(run, tmp_path):
    path = tmp_path / "book.xlsx"
    pd.DataFrame({"x": [1]}).to_excel(path)
    result = run("validate", str(path))
    assert result.exit_code == 3
    assert "book.xlsx" in _single_error_line(result)


def test_unknown_builtin(run):
    result = run("validate", "rbts9")
    assert result.exit_code == 3
    line = _single_error_line(result)
    assert "'rbts9'" in line and "rbts2" in line


def test_unknown_simbench_code(run):
    pytest.importorskip("simbench")
    result = run("validate", "simbench:9-nothing")
    assert result.exit_code == 3
    assert "9-nothing" in _single_error_line(result)


@pytest.mark.parametrize("args", [["validate"], ["validate", "rbts2", "--nope"], ["valdate", "rbts2"],
                                  ["zones", "rbts2", "--per", "street", "--by-density", "--out", "x.json"]])
def test_click_usage_errors_are_one_line(run, args):
    result = run(*args)
    assert result.exit_code == 2
    _single_error_line(result)


def test_real_process_prints_no_traceback(tmp_path):
    path = tmp_path / "corrupt.json"
    path.write_text("{")
    proc = subprocess.run([sys.executable, "-m", "gridscope", "validate", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert proc.stdout == ""


# ------------------------------------------------------------------------------------------------ networks
def test_networks(run):
    result = run("networks")
    assert result.exit_code == 0
    names = [ln.split()[0] for ln in result.stdout.splitlines()]
    assert names == [*gs.builtin_networks(), "simbench:<code>"]


# ------------------------------------------------------------------------------------------------ zones
def _zone_table(stdout: str) -> dict[str, str]:
    lines = stdout.splitlines()
    assert lines[0].split() == ["feeder", "zone", "buses"]
    return {ln.split()[0]: ln.split()[1] for ln in lines[1:] if ln and not ln.startswith("saved")}


def test_zones_by_feeder(run, tmp_path):
    out = tmp_path / "z.json"
    result = run("zones", "rbts2", "--feeder", "F1=A+", "--feeder", "F3=E", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert _zone_table(result.stdout) == {"F1": "A+", "F2": "A", "F3": "E", "F4": "B"}
    net = gs.load_network(out)
    topo = gs.build_topology(net)
    zone_of = net.bus.groupby(topo.feeder_name_of(net, "bus"))["zone"].first().to_dict()
    assert zone_of == {"F1": "A+", "F2": "A", "F3": "E", "F4": "B"}


def test_zones_refuses_to_overwrite(run, tmp_path):
    out = tmp_path / "z.json"
    out.write_text("keep me")
    result = run("zones", "rbts2", "--feeder", "F1=C", "--out", str(out))
    assert result.exit_code != 0 and "--force" in _single_error_line(result)
    assert out.read_text() == "keep me"
    assert run("zones", "rbts2", "--feeder", "F1=C", "--out", str(out), "--force").exit_code == 0
    assert json.loads(out.read_text())  # a network now


def test_zones_never_overwrites_its_input(run, tmp_path):
    src = gs.save_network(gs.load_network("rbts2"), tmp_path / "in.json")
    before = src.read_bytes()
    result = run("zones", str(src), "--by-density", "--out", str(src), "--force")
    assert result.exit_code != 0 and "input" in _single_error_line(result)
    assert src.read_bytes() == before


def test_zones_by_density(run, tmp_path):
    result = run("zones", "rbts2", "--by-density", "--per", "network", "--out", str(tmp_path / "d.xlsx"))
    assert result.exit_code == 0, result.output
    zones = set(_zone_table(result.stdout).values())
    assert len(zones) == 1
    assert gs.load_network(tmp_path / "d.xlsx").bus["zone"].nunique() == 1


def test_zones_from_mapping(run, tmp_path):
    csv = tmp_path / "map.csv"
    csv.write_text("feeder,zone\nF1,A\nF2,B\nF3,C\nF4,D\n")
    result = run("zones", "rbts2", "--mapping", str(csv), "--out", str(tmp_path / "m.json"))
    assert result.exit_code == 0, result.output
    assert _zone_table(result.stdout) == {"F1": "A", "F2": "B", "F3": "C", "F4": "D"}


def test_zones_mapping_problems_all_in_one_line(run, tmp_path):
    csv = tmp_path / "map.csv"
    csv.write_text("feeder,zone\nF1,A\nF9,B\nF3,Q\n")
    result = run("zones", "rbts2", "--mapping", str(csv), "--out", str(tmp_path / "m.json"))
    assert result.exit_code == 4
    line = _single_error_line(result)
    assert "'F9'" in line and "'Q'" in line
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("args, text", [
    ([], "exactly one"),
    (["--by-density", "--feeder", "F1=A"], "exactly one"),
    (["--feeder", "F1"], "FEEDER=ZONE"),
    (["--feeder", "F7=A"], "unknown feeder 'F7'"),
    (["--feeder", "F1=X"], "unknown zone 'X'"),
])
def test_zones_bad_options(run, tmp_path, args, text):
    result = run("zones", "rbts2", *args, "--out", str(tmp_path / "o.json"))
    assert result.exit_code == 4
    assert text in _single_error_line(result)


def test_zones_out_suffix(run, tmp_path):
    result = run("zones", "rbts2", "--by-density", "--out", str(tmp_path / "o.csv"))
    assert result.exit_code == 4 and ".json or .xlsx" in _single_error_line(result)


def test_validate_lists_role_warnings_without_failing(run, tmp_path):
    """A 35/10 kV unit whose feeders are headed by load-break switches is taken as a distribution transformer
    (nothing marks it as a station unit): a warning, printed by validate, exit code still 0."""
    from test_grid_stations import _rural_station

    path = gs.save_network(_rural_station(35.0, feeder_head="LBS"), tmp_path / "rural35.json")
    res = run("validate", str(path))
    assert res.exit_code == 0, res.output
    assert "no problems" in res.output
    assert "1 warning(s)" in res.output and "trafo[0] 'T1':" in res.output
    assert "distribution transformer" in res.output
    clean = run("validate", str(gs.save_network(_rural_station(35.0), tmp_path / "rural35cb.json")))
    assert clean.exit_code == 0 and "warning" not in clean.output
