"""Monte-Carlo checkpoint/resume (issue 13 item 5): a run killed with SIGKILL and resumed from its checkpoint
ends with exactly the numbers of an uninterrupted run with the same seed; foreign checkpoints are refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import gridscope as gs
import numpy as np
import pytest
from gridscope.errors import CancelledError, InputError
from gridscope.reliability.checkpoint import read_checkpoint
from gridscope.reliability.montecarlo import expected_values, simulate
from gridscope.settings import MC_REPAIR_DIST

# every statistic of a result (exact comparison, NaN = NaN)
COMPARED = ("annual_mean", "annual_stderr", "annual_std", "index_mean", "index_stderr", "derived_stderr",
            "index_percentiles", "annual_max", "p_miss_target", "feeder_mean", "feeder_stderr", "lp_failure_rate",
            "lp_unavailability_h", "comp_mean", "lp_count_p", "cemi_mean", "lp_longer_p",
            "celid_mean")
KW = dict(years=200_000, seed=7, chunk_years=2000, repair_dist="exponential", saidi_target_h=1.0,
          celid_h=(1.0, 4.0))


@pytest.fixture(scope="module")
def rbts2_impact():
    return gs.Study(gs.load_network("rbts2")).impact()


def assert_identical(a, b) -> None:
    assert a.years == b.years
    for name in COMPARED:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


CHILD = textwrap.dedent("""
    import sys, time
    import gridscope as gs
    from gridscope.reliability.montecarlo import simulate
    imp = gs.Study(gs.load_network("rbts2")).impact()
    print("ready", flush=True)
    # the progress callback slows the run down (0.1 s per chunk) so that it is killed mid-run
    simulate(imp, years=200_000, seed=7, chunk_years=2000, repair_dist="exponential", saidi_target_h=1.0,
             celid_h=(1.0, 4.0), threads=2, checkpoint=sys.argv[1], checkpoint_every_s=0,
             progress=lambda rec: time.sleep(0.1))
    print("finished", flush=True)
""")


@pytest.mark.slow  # a subprocess: interpreter start, network load, kernel from the cache
def test_sigkill_mid_run_then_resume_is_bit_identical(tmp_path: Path, rbts2_impact) -> None:
    ckpt = tmp_path / "run.ckpt"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ckpt)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        years = 0
        while time.monotonic() < deadline:
            if ckpt.exists():
                years = read_checkpoint(ckpt)[1]["years"]
                if years >= 6000:
                    break
            assert child.poll() is None, "the child ended before it was killed"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert 6000 <= years < KW["years"]
    # the file is whole (atomic write) and no temporary file is left but possibly the one being written
    _, meta = read_checkpoint(ckpt)
    assert meta["years"] >= years
    resumed = simulate(rbts2_impact, threads=1, checkpoint=ckpt, **KW)
    assert resumed.options["resumed_years"] == meta["years"]
    reference = simulate(rbts2_impact, threads=2, **KW)
    assert_identical(resumed, reference)


def test_cancel_then_resume_with_seed_from_checkpoint(tmp_path: Path, rbts2_impact) -> None:
    ckpt = tmp_path / "c.npz"
    done = [0]

    def progress(rec) -> None:  # slowed so that every chunk posts a record (they are throttled to 50 ms)
        done[0] = max(done[0], rec.done)
        time.sleep(0.06)

    # the count histograms and the CELID indicators too
    kw = dict(years=30_000, seed=11, chunk_years=1000, interruption_counts=3, celid_h=(1.0, 4.0))
    with pytest.raises(CancelledError) as info:
        simulate(rbts2_impact, threads=2, checkpoint=ckpt, checkpoint_every_s=60.0, progress=progress,
                 cancel=lambda: done[0] >= 5000, **kw)
    partial = info.value.partial
    assert partial is not None and partial.cancelled and 5000 <= partial.years < 30_000
    # the state at the cancellation is written whatever checkpoint_every_s says
    assert read_checkpoint(ckpt)[1]["years"] == partial.years
    resumed = simulate(rbts2_impact, years=30_000, chunk_years=1000, interruption_counts=3, celid_h=(1.0, 4.0),
                       checkpoint=ckpt)  # seed from the file
    assert resumed.seed == 11
    assert_identical(resumed, simulate(rbts2_impact, **kw))
    # a finished run's checkpoint gives its result again at once
    again = simulate(rbts2_impact, years=30_000, chunk_years=1000, interruption_counts=3, celid_h=(1.0, 4.0),
                     checkpoint=ckpt)
    assert resumed.lp_count_p is not None and resumed.lp_longer_p is not None
    assert_identical(again, resumed)


def test_checkpoint_of_another_run_is_refused(tmp_path: Path, rbts2_impact) -> None:
    ckpt = tmp_path / "r.ckpt"
    simulate(rbts2_impact, years=4000, seed=1, chunk_years=1000, checkpoint=ckpt)
    with pytest.raises(InputError, match=r"seed: checkpoint 1, this run 2"):
        simulate(rbts2_impact, years=4000, seed=2, chunk_years=1000, checkpoint=ckpt)
    with pytest.raises(InputError, match=r"chunk_years"):
        simulate(rbts2_impact, years=4000, seed=1, chunk_years=500, checkpoint=ckpt)
    with pytest.raises(InputError, match=r"repair_dist"):
        simulate(rbts2_impact, years=4000, seed=1, chunk_years=1000, checkpoint=ckpt, repair_dist="fixed")
    other = gs.load_network("rbts2")
    other.line["lambda_per_km"] *= 2.0
    with pytest.raises(InputError, match=r"network or durations differ"):
        simulate(gs.Study(other).impact(), years=4000, seed=1, chunk_years=1000, checkpoint=ckpt)


def test_bad_checkpoint_files_and_options(tmp_path: Path, rbts2_impact) -> None:
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not a readable gridscope Monte-Carlo checkpoint"):
        simulate(rbts2_impact, years=1000, seed=1, checkpoint=junk)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(InputError, match="not a gridscope Monte-Carlo checkpoint"):
        simulate(rbts2_impact, years=1000, seed=1, checkpoint=plain)
    with pytest.raises(InputError, match="keep_samples"):
        simulate(rbts2_impact, years=1000, seed=1, checkpoint=tmp_path / "k.ckpt", keep_samples=True)
    with pytest.raises(InputError, match="checkpoint_every_s"):
        simulate(rbts2_impact, years=1000, seed=1, checkpoint=tmp_path / "k.ckpt", checkpoint_every_s=-1)


@pytest.mark.slow  # a subprocess: interpreter start, network load, kernel from the cache
def test_cli_ctrl_c_prints_partial_result_exits_130_writes_nothing(tmp_path: Path, rbts2_impact) -> None:
    ckpt, out, log = tmp_path / "cli.ckpt", tmp_path / "res.nc", tmp_path / "stdout.txt"
    cmd = [sys.executable, "-m", "gridscope", "reliability", "rbts2", "--method", "monte-carlo",
           "--years", "300000000", "--seed", "3", "--checkpoint", str(ckpt), "--out", str(out)]
    with open(log, "w") as fh:
        child = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not ckpt.exists():  # the first checkpoint: the simulation is running (not compiling)
            assert child.poll() is None and time.monotonic() < deadline, child.stderr.read()
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        while "partial Monte-Carlo result" not in log.read_text():
            assert time.monotonic() - t0 < 5.0, "no partial result 5 s after Ctrl-C"
            time.sleep(0.02)
        stopped_s = time.monotonic() - t0
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    assert stopped_s < 2.0  # measured 0.03-0.1 s (plus interpreter teardown before the exit)
    text = log.read_text()
    assert "interrupted" in err
    assert not out.exists()  # no result file, no temporary file
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".gridscope-tmp")] == []
    years = int(text.split("after ")[1].split(" simulated")[0].replace(",", ""))
    _, meta = read_checkpoint(ckpt)
    assert meta["years"] == years and meta["seed"] == 3  # the state at the stop is kept for a resume
    system = next(line for line in text.splitlines() if line.strip().startswith("system"))
    saidi, saidi_se = float(system.split("SAIDI ")[1].split()[0]), float(system.split("± ")[2].split()[0])
    # the exact expectation of the sampling model (exponential repair times, the CLI default; with them
    # min(switching, repair) is below the analytical method's 3.61 h) lies within 5 standard errors
    exact = expected_values(rbts2_impact, repair_dist=MC_REPAIR_DIST).index[2, -1, 1]
    assert saidi_se > 0 and abs(saidi - exact) < 5 * saidi_se + 1e-4


def test_target_cov_run_resumes_to_the_same_stopping_point(tmp_path: Path, rbts2_impact) -> None:
    """The stop rule is checked after each chunk in chunk order, so a resumed target_cov run stops at the same
    chunk as an uninterrupted one, with the same numbers."""
    ckpt = tmp_path / "cov.ckpt"
    kw = dict(target_cov=0.03, seed=9, chunk_years=2000)
    reference = simulate(rbts2_impact, **kw)
    assert reference.converged and reference.years > 6000  # enough chunks to stop in between
    done = [0]

    def progress(rec) -> None:
        done[0] = max(done[0], rec.done)
        time.sleep(0.06)

    with pytest.raises(CancelledError):
        simulate(rbts2_impact, threads=2, checkpoint=ckpt, checkpoint_every_s=0, progress=progress,
                 cancel=lambda: done[0] >= 4000, **kw)
    assert read_checkpoint(ckpt)[1]["years"] < reference.years
    resumed = simulate(rbts2_impact, threads=1, checkpoint=ckpt, **kw)
    assert resumed.converged
    assert_identical(resumed, reference)


def test_cli_checkpoint_resume_and_refusals(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from gridscope.cli import main

    runner = CliRunner()
    ckpt = tmp_path / "r.ckpt"
    args = ["reliability", "rbts2", "--method", "monte-carlo", "--years", "20000", "--checkpoint", str(ckpt)]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert read_checkpoint(ckpt)[1]["years"] == 20_000
    again = runner.invoke(main, args)  # resumes the finished run: the same report
    assert again.exit_code == 0 and again.output == first.output
    other = runner.invoke(main, [*args, "--seed", "2"])
    assert other.exit_code == 4 and "seed: checkpoint 1, this run 2" in other.output
    analytical = runner.invoke(main, ["reliability", "rbts2", "--checkpoint", str(ckpt)])
    assert analytical.exit_code == 4 and "--checkpoint applies to --method monte-carlo only" in analytical.output
