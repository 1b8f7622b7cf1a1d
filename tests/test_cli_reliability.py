"""CLI: reliability, scenario and the main job."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from gridscope.cli import main


def test_reliability_command_prints_zones_and_targets(tmp_path):
    out = tmp_path / "rel.nc"
    result = CliRunner().invoke(main, ["reliability", "rbts2", "--out", str(out), "--tables", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "3.6126" in result.output  # system SAIDI
    assert "99.989" in result.output and "NO" in result.output  # zone A target missed
    assert out.exists() and (tmp_path / "reliability_feeder.csv").exists()
    again = CliRunner().invoke(main, ["reliability", "rbts2", "--out", str(out)])
    assert again.exit_code != 0 and "exists" in again.output


def test_reliability_monte_carlo_command():
    result = CliRunner().invoke(main, ["reliability", "rbts2-e", "--method", "monte-carlo", "--years", "20000",
                                       "--seed", "5", "--repair-dist", "fixed"])
    assert result.exit_code == 0, result.output
    assert "monte-carlo, 20,000 years, seed 5" in result.output and "±SE_h" in result.output


def test_scenario_command():
    result = CliRunner().invoke(main, ["scenario", "rbts2", "--failure-rate-scale", "0.85"])
    assert result.exit_code == 0, result.output
    assert "0.21098" in result.output  # 0.85 × 0.248211


def test_bad_options_one_line():
    result = CliRunner().invoke(main, ["reliability", "rbts2", "--failure-rate-scale", "-1"])
    assert result.exit_code == 4
    assert result.output.startswith("error:") and "Traceback" not in result.output


def test_run_main_job(tmp_path):
    result = CliRunner().invoke(main, ["run", "rbts2", "--out", str(tmp_path / "res")])
    assert result.exit_code == 0, result.output
    for text in ("validation: no problems", "By supply zone", "Flagged equipment", "Open capacity per feeder"):
        assert text in result.output
    names = {p.name for p in (tmp_path / "res").iterdir()}
    assert {"reliability.nc", "reliability_zone.csv", "flags.csv", "open_capacity.xlsx"} <= names


@pytest.mark.parametrize("args", [["--help"], ["reliability", "--help"]])
def test_help_is_fast_and_imports_nothing_heavy(args):
    code = ("import sys\nfrom gridscope.cli import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandapower', 'numba', 'xarray', 'textual', 'scipy') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_reliability_figure(tmp_path):
    import gridscope as gs

    ds = gs.assess_reliability(gs.load_network("rbts2"))
    path = gs.reliability.save_reliability_figure(ds, tmp_path / "rel.png")
    assert path.stat().st_size > 10_000 and path.read_bytes()[:4] == b"\x89PNG"
    plan = gs.reliability.yearly_programme(gs.load_network("rbts2"), years=2)
    assert gs.reliability.save_reliability_figure(plan, tmp_path / "plan.pdf").exists()


def test_annual_run_example(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = tmp_path / "run.toml"
    text = (root / "examples" / "annual_run.toml").read_text(encoding="utf-8")
    text = text.replace('method = "monte-carlo"', 'method = "analytical"')
    text = text.replace('out = "gridscope-results/annual"', f'out = "{tmp_path.as_posix()}/out"')
    config.write_text(text, encoding="utf-8")
    first = subprocess.run([sys.executable, str(root / "examples" / "annual_run.py"), str(config)],
                           capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "out" / "reliability-2026.nc").exists() and "programme" in first.stdout
    # the same network next year: the comparison reads last year's file and finds no change
    config.write_text(text.replace("year = 2026", "year = 2027").replace(
        "# previous = ", "previous = ").replace("gridscope-results/annual/reliability-2025.nc",
                                                 f"{tmp_path.as_posix()}/out/reliability-2026.nc"), encoding="utf-8")
    second = subprocess.run([sys.executable, str(root / "examples" / "annual_run.py"), str(config)],
                            capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "SAIDI +0.0000 h" in second.stdout
