"""``gridscope study`` / ``gridscope compare`` as a user runs them: repeatable folders, totals, year over year,
figures, the report, and bad input that leaves nothing half written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from gridscope.cli_study import register

ROOT = Path(__file__).resolve().parents[1]

STUDY = """
title = "Test county"
year = 2026
networks = ["rbts2", "cigre_mv"]
[reliability]
method = "monte-carlo"
years = 4000
seed = 11
[scenarios.programme]
failure_rate_scale = 0.85
planned_rate_scale = 0.85
repair_time_scale = 0.95
"""
QUIET = "[output]\nplots = false\nreport = false\nexcel = false\n"


@pytest.fixture(scope="module")
def cli():
    @click.group()
    def main() -> None:
        pass

    register(main)

    def invoke(*args: str) -> object:
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cli):
    """The study run twice with one seed, and repeated from the first run's manifest (tables only), and once
    with every figure and the report."""
    base = tmp_path_factory.mktemp("study")
    config = base / "study.toml"
    config.write_text(STUDY + QUIET, encoding="utf-8")
    (base / "full.toml").write_text(STUDY, encoding="utf-8")
    full = cli("study", base / "full.toml", "--out", base / "full")
    assert full.exit_code == 0, full.output
    first = cli("study", config, "--out", base / "run1")
    assert first.exit_code == 0, first.output
    second = cli("study", config, "--out", base / "run2")
    assert second.exit_code == 0, second.output
    again = cli("study", "--repeat", base / "run1" / "manifest.json", "--out", base / "run3")
    return {"base": base, "first": first, "second": second, "repeat": again}


def _deterministic(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.suffix in (".nc", ".csv")}


def test_same_seed_gives_identical_files_and_repeat_reproduces_them(runs):
    base = runs["base"]
    one, two = _deterministic(base / "run1"), _deterministic(base / "run2")
    assert len(one) >= 15 and one.keys() == two.keys()
    assert _deterministic(base / "full") == one  # figures and report do not touch the numbers
    assert [k for k in one if one[k] != two[k]] == []
    assert runs["repeat"].exit_code == 0, runs["repeat"].output
    assert f"reproduced bit for bit: {len(one)} NetCDF/CSV files identical" in runs["repeat"].output
    assert _deterministic(base / "run3") == one


def test_manifest_records_config_versions_seed_and_hashes(runs):
    import hashlib

    folder = runs["base"] / "run1"
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert m["seed"] == 11 and set(m["network_seeds"]) == {"rbts2", "cigre_mv"}
    assert len(set(m["network_seeds"].values())) == 2  # independent streams per network
    for pkg in ("gridscope", "numpy", "pandas", "pandapower", "numba", "xarray", "power-grid-model"):
        assert m["versions"][pkg], pkg
    config = runs["base"] / "study.toml"
    assert m["inputs"]["config"]["sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert m["results"]["reliability.nc"] == hashlib.sha256((folder / "reliability.nc").read_bytes()).hexdigest()
    assert m["config"]["reliability"]["years"] == 4000 and m["config"]["scenarios"]["programme"]
    # a changed input stops the repeat before any work, exit code 2
    assert json.loads((runs["base"] / "run3" / "manifest.json").read_text())["repeat_of"].endswith("manifest.json")


def test_repeat_refuses_changed_inputs(tmp_path, cli):
    import gridscope as gs

    net_file = tmp_path / "grid.json"
    gs.save_network(gs.load_network("cigre_mv"), net_file)
    config = tmp_path / "s.toml"
    config.write_text('network = "grid.json"\n[capacity]\nenabled = false\n[output]\nplots = false\nreport = false\n'
                      'excel = false\n', encoding="utf-8")
    assert cli("study", config, "--out", tmp_path / "r").exit_code == 0
    net = gs.load_network(net_file)
    net.line.loc[0, "length_km"] *= 2
    gs.save_network(net, net_file)
    res = cli("study", "--repeat", tmp_path / "r", "--out", tmp_path / "r2")
    assert res.exit_code == 2 and "changed since the run" in res.output
    assert not (tmp_path / "r2").exists()


def test_totals_are_those_of_the_merged_network(runs):
    """Customer-weighted totals equal the indices of one network holding both (pandapower merge_nets)."""
    import warnings

    import gridscope as gs
    from gridscope.reliability.io import read_netcdf
    from pandapower.toolbox import merge_nets

    totals = read_netcdf(runs["base"] / "run1" / "reliability.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        merged = merge_nets(gs.load_network("rbts2"), gs.load_network("cigre_mv"), validate=False)
    exact = gs.assess_reliability(merged)
    ours = totals.sel(scenario="base")
    # Monte Carlo totals against the exact merged network: within 4 standard errors per zone
    for z in exact.zone.values:
        se = float(ours["SAIDI_stderr"].sel(zone=z))
        assert abs(float(ours["SAIDI"].sel(zone=z)) - float(exact["SAIDI"].sel(zone=z))) < 4 * se, z
    np.testing.assert_array_equal(ours["customers"].values, exact["customers"].values)


def test_analytical_totals_match_the_merged_network_exactly():
    import warnings

    import gridscope as gs
    from gridscope.annual.config import config_from_dict
    from gridscope.annual.runner import run_study
    from gridscope.annual.totals import study_totals
    from pandapower.toolbox import merge_nets

    run = run_study(config_from_dict({"networks": ["rbts2", "cigre_mv"], "capacity": {"enabled": False}}))
    totals = study_totals(run.reliability).sel(scenario="base")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        merged = merge_nets(gs.load_network("rbts2"), gs.load_network("cigre_mv"), validate=False)
    exact = gs.assess_reliability(merged)
    for name in ("SAIFI", "SAIDI", "CAIDI", "ASAI", "ENS", "SAIDI_fault"):
        np.testing.assert_allclose(totals[name].values, exact[name].values, rtol=1e-12, err_msg=name)
    # rbts2 alone: 2.0 fault outages/yr = the published component data summed (lines 0.065/km·yr, trafos 0.015)
    rb = run.reliability["rbts2"].sel(scenario="base")
    net = gs.load_network("rbts2")
    lam = (net.line.lambda_per_km * net.line.length_km).sum() + net.trafo.lambda_per_yr.sum()
    assert float(rb["fault_events_per_yr"]) == pytest.approx(lam, rel=1e-12)


def test_compare_two_runs_hand_checked(runs, cli, tmp_path):
    """'this year' is the programme scenario: outages × 0.85 and repair × 0.95 exactly."""
    from gridscope.annual.compare import compare_results
    from gridscope.reliability.io import read_netcdf

    totals = read_netcdf(runs["base"] / "run1" / "reliability.nc")
    last, this = totals.sel(scenario="base"), totals.sel(scenario="programme")
    cmp = compare_results(last, this)
    prog = cmp.programme
    assert prog.loc["outage_events_per_yr", "change_pct"] == pytest.approx(-15.0, abs=1e-9)
    assert prog.loc["mean_repair_h", "change_pct"] == pytest.approx(-5.0, abs=1e-9)
    assert prog["pass"].tolist() == [True, True]
    # SAIDI per zone from the files: change = this/last − 1
    z = cmp.zones
    for zone in z.index:
        a, b = float(last["SAIDI"].sel(zone=zone)), float(this["SAIDI"].sel(zone=zone))
        assert z.loc[zone, "SAIDI_change_pct"] == pytest.approx((b / a - 1) * 100, rel=1e-12)
    # the CLI on two folders: identical results change by 0 % and miss the −15 % target
    res = cli("compare", runs["base"] / "run1", runs["base"] / "run2", "--check", "--out", tmp_path / "c.csv")
    assert res.exit_code == 1 and "verdict: targets missed" in res.output
    assert "+0.00" in res.output and (tmp_path / "c.csv").exists()
    res = cli("compare", runs["base"] / "nope", runs["base"] / "run2")
    assert res.exit_code == 4 and "no results at" in res.output


def test_every_plot_is_produced_and_labelled(runs):
    from gridscope.annual.compare import compare_results
    from gridscope.annual.plots import plot_year_over_year
    from gridscope.reliability.io import read_netcdf
    from gridscope.reliability.plots import plot_distribution, plot_pareto, plot_zones_vs_targets

    folder = runs["base"] / "full" / "plots"
    names = {p.stem for p in folder.glob("*.png")}
    expected = {"zones_vs_targets", "networks_saidi", "open_capacity", "rbts2_distribution", "rbts2_pareto",
                "rbts2_zones", "rbts2_saidi_map", "rbts2_loading_map", "cigre_mv_zones"}
    assert expected <= names and names == {p.stem for p in folder.glob("*.svg")}
    for png in folder.glob("*.png"):
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000

    totals = read_netcdf(runs["base"] / "run1" / "reliability.nc")
    fig = plot_zones_vs_targets(totals)
    saidi, asai = fig.axes
    assert saidi.get_ylabel() == "SAIDI (h per customer·yr)" and asai.get_ylabel() == "ASAI (%)"
    assert len(asai.patches) == totals.sizes["zone"]  # one bar per zone (A, B, C, system)
    assert len(saidi.patches) == 2 * totals.sizes["zone"]  # fault + planned stacked
    rb = read_netcdf(runs["base"] / "run1" / "networks" / "rbts2.nc")
    fig = plot_distribution(rb)
    assert len(fig.axes) == rb.sizes["zone"] and all("SAIDI" in ax.get_xlabel() for ax in fig.axes)
    assert any("P95" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    fig = plot_pareto(rb, top=10)
    assert len(fig.axes[0].patches) == 10 and "cumulative" in fig.axes[1].get_ylabel()
    cmp = compare_results(totals.sel(scenario="base"), totals.sel(scenario="programme"))
    fig = plot_year_over_year(cmp)
    assert [ax.get_ylabel().split(" ")[0] for ax in fig.axes] == ["SAIFI", "CAIDI", "ASAI"]
    assert len(fig.axes[0].patches) == 2 * len(cmp.zones)


def test_capacity_figures_and_maps():
    import gridscope as gs
    from gridscope.annual.plots import branch_loading, plot_network_loading, plot_open_capacity
    from gridscope.annual.runner import NetworkGeometry, network_geometry
    from gridscope.grid.facts import bus_xy_km
    from gridscope.reliability.plots import branch_saidi_contribution, plot_network_saidi

    st = gs.Study("rbts2")
    cap = st.capacity()
    fig = plot_open_capacity({"rbts2": cap})
    assert len(fig.axes[0].patches) == len(cap.table("feeder")) and fig.axes[0].get_xlabel() == \
        "open capacity (MVA)"
    geo: NetworkGeometry = network_geometry(st.net)
    assert len(geo.branches) == len(st.net.line) + len(st.net.trafo)
    values, flagged = branch_loading(geo.branches, cap)
    lines = geo.branches["element"] == "line"
    np.testing.assert_allclose(values[lines.to_numpy()], cap.peak.line["loading_percent"].to_numpy())
    assert flagged.sum() == len(cap.flags[cap.flags["element"].isin(["line", "trafo"])])
    from gridscope.reliability.plots import plot_network_zones

    fig = plot_network_zones(geo.bus_xy_km, geo.branches, geo.bus_zone)
    dots = fig.axes[0].collections[1]  # branches first, then one dot per bus
    assert len(dots.get_offsets()) == len(st.net.bus)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["zone A", "zone B"]
    fig = plot_network_loading(bus_xy_km(st.net), geo.branches, cap)
    assert "loading" in fig.axes[1].get_ylabel()  # the colour bar
    ds = st.reliability()
    contrib = branch_saidi_contribution(ds, geo.branches)
    assert np.nansum(contrib) == pytest.approx(float(ds["contrib_SAIDI"].sel(zone="system").sum()), rel=1e-9)
    fig = plot_network_saidi(bus_xy_km(st.net), geo.branches, ds)
    assert "SAIDI" in fig.axes[1].get_ylabel()


def test_report_is_self_contained_with_the_zones_table(runs, tmp_path):
    import re

    text = (runs["base"] / "full" / "report.html").read_text(encoding="utf-8")
    assert "Supply zones against targets" in text and "<table>" in text
    for zone in ("A", "B", "C", "system"):
        assert f"<td>{zone}</td>" in text
    assert "Top reinforcement needs" in text and "Open capacity by feeder" in text and "Provenance" in text
    # nothing to fetch: no URL in any src/href/url(), figures as data URIs
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text) and "url(" not in text
    assert "@import" not in text and text.count('src="data:image/png;base64,') >= 9


def test_chinese_report_and_excel(tmp_path, cli):
    import openpyxl

    config = tmp_path / "zh.toml"
    config.write_text('network = "cigre_mv"\n[output]\nlang = "zh"\nplots = false\n', encoding="utf-8")
    res = cli("study", config, "--out", tmp_path / "zh")
    assert res.exit_code == 0, res.output
    html = (tmp_path / "zh" / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "各供电区域与目标对比" in html and "供电可靠率" in html
    wb = openpyxl.load_workbook(tmp_path / "zh" / "summary.xlsx", read_only=True)
    assert "分区汇总" in wb.sheetnames
    assert not (tmp_path / "zh" / "plots").exists()


# ---------------------------------------------------------------------------------------------- bad input
def test_bad_config_lists_every_problem_exit_2(tmp_path, cli):
    config = tmp_path / "bad.toml"
    config.write_text('networks = ["nowhere.json", "rbts3"]\ncolour = "red"\n[reliability]\nyears = "x"\n',
                      encoding="utf-8")
    res = cli("study", config, "--out", tmp_path / "out")
    assert res.exit_code == 2
    assert "4 problem(s)" in res.output and "nowhere.json does not exist" in res.output
    assert "unknown network 'rbts3'" in res.output and "unknown key 'colour'" in res.output
    assert not (tmp_path / "out").exists()


def test_output_folder_problems_before_any_work(tmp_path, cli):
    config = tmp_path / "s.toml"
    config.write_text('network = "cigre_mv"\n', encoding="utf-8")
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    res = cli("study", config, "--out", tmp_path / "afile")
    assert res.exit_code == 2 and "is a file, not a folder" in res.output
    (tmp_path / "exists").mkdir()
    (tmp_path / "exists" / "keep.txt").write_text("old", encoding="utf-8")
    res = cli("study", config, "--out", tmp_path / "exists")
    assert res.exit_code == 2 and "--force" in res.output
    assert (tmp_path / "exists" / "keep.txt").read_text(encoding="utf-8") == "old"
    res = cli("study", config)
    assert res.exit_code == 2 and "no results folder" in res.output
    res = cli("study", config, "--repeat", "m.json")
    assert res.exit_code == 2 and "one of them" in res.output


def _run_cli(args: list[str], cwd: Path, preexec: object = None, prefix: list[str] | None = None
             ) -> subprocess.CompletedProcess:
    code = "import sys, click\nfrom gridscope.cli_study import register\nmain = click.Group()\nregister(main)\n" \
           "main(sys.argv[1:])\n"
    return subprocess.run([*(prefix or []), sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=preexec, timeout=120, check=False)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_full_disk_leaves_nothing_half_written(tmp_path):
    """A file-size limit makes writes fail with EFBIG (SIGXFSZ ignored): clear message, exit 6, no folder."""
    config = tmp_path / "s.toml"
    config.write_text('network = "cigre_mv"\n[capacity]\nenabled = false\n', encoding="utf-8")

    def limit() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    res = _run_cli(["study", str(config), "--out", str(tmp_path / "out")], tmp_path, limit)
    assert res.returncode == 6, res.stderr
    assert "cannot write the results folder" in res.stderr and "file too large" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def _without_root_override() -> list[str]:
    """A command prefix under which permissions apply (root drops its override capabilities)."""
    import shutil

    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_read_only_folder(tmp_path):
    """Writing into a folder without write permission: clear message, exit 2 before any work, nothing written."""
    config = tmp_path / "s.toml"
    config.write_text('network = "cigre_mv"\n[capacity]\nenabled = false\n', encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    try:
        res = _run_cli(["study", str(config), "--out", str(locked / "out")], tmp_path,
                       prefix=_without_root_override())
        assert res.returncode == 2, res.stderr
        assert "permission denied" in res.stderr.lower() and "Traceback" not in res.stderr
        assert list(locked.iterdir()) == []
    finally:
        os.chmod(locked, 0o755)


def test_force_replaces_only_once_complete(tmp_path, cli):
    config = tmp_path / "s.toml"
    config.write_text(textwrap.dedent("""
        network = "cigre_mv"
        [capacity]
        enabled = false
        [output]
        plots = false
        report = false
        excel = false
    """), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old", encoding="utf-8")
    res = cli("study", config, "--out", out, "--force")
    assert res.exit_code == 0, res.output
    assert not (out / "old.txt").exists() and (out / "reliability.nc").exists()
    assert _leftovers(tmp_path) == []


def test_progress_and_cancel(tmp_path):
    from gridscope.annual import study
    from gridscope.errors import CancelledError
    from gridscope.progress import CancelToken

    config = tmp_path / "s.toml"
    config.write_text('networks = ["cigre_mv", "case33bw"]\n[scenarios.x]\nrepair_time_scale = 0.9\n'
                      "[capacity]\nenabled = false\n" + QUIET, encoding="utf-8")
    seen = []
    out = study(config, out=tmp_path / "ok", progress=seen.append)
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total == 4  # 2 networks × (base, x)
    assert seen[-1].what == "study tasks" and out.folder.exists()

    token = CancelToken()
    checks = []

    def cancel() -> bool:  # the user presses Esc while the first task runs
        checks.append(1)
        if len(checks) > 1:
            token.cancel()
        return token()

    with pytest.raises(CancelledError, match="after 1 of 4 study tasks"):
        study(config, out=tmp_path / "cancelled", cancel=cancel)
    assert not (tmp_path / "cancelled").exists() and _leftovers(tmp_path) == []


def test_previous_year_in_tables_and_report(runs, cli):
    """A config naming last year's folder gets the comparison table and the year-over-year report section."""
    base = runs["base"]
    config = base / "next.toml"
    config.write_text(STUDY.replace('year = 2026', 'year = 2027\nprevious = "run1"')
                      + "[output]\nplots = false\nexcel = false\n", encoding="utf-8")
    res = cli("study", config, "--out", base / "next")
    assert res.exit_code == 0, res.output
    assert "Against the yearly targets" in res.output and "verdict: targets missed" in res.output
    table = (base / "next" / "tables" / "comparison.csv").read_text(encoding="utf-8")
    assert table.splitlines()[0].startswith("zone,SAIFI_last,SAIFI_this,SAIFI_change_pct,SAIFI_pass")
    html = (base / "next" / "report.html").read_text(encoding="utf-8")
    section = html[html.index("id='yoy'"):html.index("id='networks'")]
    assert section.count("<table>") == 3 and "outage_events_per_yr" in section and 'class="no"' in section


def test_network_with_validation_problems_is_named(tmp_path, cli):
    import gridscope as gs

    net = gs.load_network("cigre_mv")
    net.bus["zone"] = net.bus["zone"].astype(object)
    net.bus.loc[net.bus.index[3], "zone"] = None
    gs.save_network(net, tmp_path / "no_zone.json")
    config = tmp_path / "s.toml"
    config.write_text('networks = ["rbts2", "no_zone.json"]\n' + QUIET, encoding="utf-8")
    res = cli("study", config, "--out", tmp_path / "out")
    assert res.exit_code == 2 and "network 'no_zone' (base)" in res.output and "zone" in res.output
    assert not (tmp_path / "out").exists()
    # a default zone for buses without one makes it valid
    config.write_text('networks = [{source = "no_zone.json", default_zone = "C"}]\n' + QUIET, encoding="utf-8")
    assert cli("study", config, "--out", tmp_path / "out").exit_code == 0
