"""Written files get the user's umask like a plain ``open()``; CLI bounds on --target zones and --programme-years."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager

import pytest
from gridscope.errors import InputError
from gridscope.grid.io import atomic_write, current_umask, save_network


@contextmanager
def umask(mask: int):
    """Set the process umask for the block and restore the previous one."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _write_text(tmp: str) -> None:
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("x")


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_mode_follows_umask(tmp_path, mask, expected):
    # 0o666 & ~mask by hand: 022 -> 644, 077 -> 600, 002 -> 664 (what `touch` gives under that umask)
    with umask(mask):
        assert current_umask() == mask
        dest = atomic_write(tmp_path / "out.csv", _write_text)
        plain = tmp_path / "plain.csv"
        plain.write_text("x")  # the independent reference: a normal open() under the same umask
    assert _mode(dest) == expected == _mode(plain)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_atomic_write_keeps_mode_of_replaced_file(tmp_path):
    # open(existing, "w") keeps the file's mode; the atomic replacement must too
    dest = tmp_path / "shared.csv"
    dest.write_text("old")
    os.chmod(dest, 0o640)
    with umask(0o077):
        atomic_write(dest, _write_text)
    assert _mode(dest) == 0o640
    assert dest.read_text() == "x"


def test_atomic_write_mode_when_writer_recreates_file(tmp_path):
    # writers such as netCDF/h5py delete and recreate the path: the mode is still set after write()
    def recreate(tmp: str) -> None:
        os.unlink(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)

    with umask(0o022):
        dest = atomic_write(tmp_path / "out.nc", recreate)
    assert _mode(dest) == 0o644


def test_save_network_mode_follows_umask(tmp_path, rbts2_copy):
    with umask(0o022):
        dest = save_network(rbts2_copy, tmp_path / "net.json")
    assert _mode(dest) == 0o644


def test_atomic_write_refuses_existing_without_overwrite(tmp_path):
    dest = tmp_path / "keep.csv"
    dest.write_text("mine")
    with pytest.raises(InputError, match="exists"):
        atomic_write(dest, _write_text, overwrite=False)
    assert dest.read_text() == "mine"


# ------------------------------------------------------------------------------------------------ CLI bounds
def test_target_for_unknown_zone_is_refused(run):
    result = run("reliability", "rbts2", "--target", "Q=99", "--target", "B=99.99")
    assert result.exit_code == InputError.exit_code == 4
    assert "zone(s) not in the network: Q" in result.output
    assert "its zones are: A, B" in result.output  # rbts2's buses carry zones A and B only
    assert "Traceback" not in result.output


def test_target_bad_format_and_unknown_zone_reported_together(run):
    result = run("reliability", "rbts2", "--target", "B=x", "--target", "Q=99")
    assert result.exit_code == 4
    assert "got: B=x" in result.output and "not in the network: Q" in result.output


def test_target_for_known_zone_is_applied(run):
    result = run("reliability", "rbts2", "--target", "B=99.99")
    assert result.exit_code == 0, result.output
    row = next(line.split() for line in result.output.splitlines() if line.startswith("B "))
    # target SAIDI = (1 - 0.9999) x 8760 = 0.876 h; margin = 0.876 - SAIDI_B (printed in the same row)
    saidi_h, target_pct, margin_h = float(row[3]), float(row[7]), float(row[8])
    assert target_pct == pytest.approx(99.99)
    assert margin_h == pytest.approx(0.876 - saidi_h, abs=2e-3)


@pytest.mark.parametrize("years", ["100000", "0", "-3"])
def test_programme_years_out_of_range_is_refused(run, years):
    result = run("scenario", "rbts2", "--programme-years", years)
    assert result.exit_code == 2  # click usage error
    assert "--programme-years" in result.output and "1<=x<=50" in result.output


def test_results_folder_gets_the_umask(tmp_path):
    # annual/writer.write_folder builds the folder with mkdtemp (mode 0700); after the rename it must be what
    # a plain mkdir gives under the same umask (0755 under 022), so colleagues can read a shared results folder.
    import os

    from gridscope.annual.writer import write_folder

    old = os.umask(0o022)
    try:
        (tmp_path / "plain").mkdir()
        out = write_folder(tmp_path / "results", lambda d: (d / "a.txt").write_text("x"))
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == ((tmp_path / "plain").stat().st_mode & 0o777) == 0o755
