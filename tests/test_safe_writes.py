"""Written files get the user's umask like a plain ``open()``; CLI bounds on --target zones and --programme-years;
writes that survive a full disk, an unwritable place and kill -9; results folders written whole or not at all."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from gridscope.errors import InputError
from gridscope.grid.io import (
    STALE_TEMP_H,
    TEMP_PREFIX,
    OutputError,
    atomic_folder,
    atomic_write,
    atomic_write_many,
    current_umask,
    remove_stale_temps,
    save_network,
)


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


# ------------------------------------------------------------------------- full disk, unwritable places, kill -9
# issue 13 item 5: h5py segfaulted (exit 139) on ENOSPC/EFBIG and left a hidden temp file; every writer now
# fails with one line, exit 6 (OutputError) and leaves nothing.
def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _gridscope_limited(args: str, cwd: Path, limit_kb: int = 50) -> subprocess.CompletedProcess:
    """``gridscope ARGS`` under ``ulimit -f LIMIT_KB`` (writes past it fail with EFBIG: Python ignores SIGXFSZ)."""
    cmd = f"ulimit -f {limit_kb}; exec {sys.executable} -m gridscope {args}"
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.mark.slow  # a subprocess each (~5 s)
def test_reliability_out_on_full_disk_is_one_line_exit_6(tmp_path):
    # rbts2's analytical reliability.nc is ~97 KB: a 50 KB file-size limit stops the write half way
    res = _gridscope_limited("reliability rbts2 --out x.nc", tmp_path)
    assert res.returncode == OutputError.exit_code == 6, res.stderr[-2000:]
    err = res.stderr.strip().splitlines()
    assert err == ["error: cannot write x.nc: file too large (size limit reached); nothing was written"]
    assert list(tmp_path.iterdir()) == []  # no x.nc, no hidden temp file


@pytest.mark.slow
def test_run_out_on_full_disk_leaves_no_folder(tmp_path):
    res = _gridscope_limited("run rbts2 --out res", tmp_path)
    assert res.returncode == 6, res.stderr[-2000:]
    assert "cannot write the results folder res: file too large" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("args", ["capacity rbts2 --out c.xlsx", "connect rbts2 --p-mw 1 --bus 5 --out k.xlsx",
                                  "zones rbts2 --by-density --out z.xlsx"])
def test_excel_outputs_on_full_disk(tmp_path, args):
    # openpyxl/lxml report the failed write as SerialisationError("IO_EFBIG"), and the half-written zip archive
    # fails again when garbage-collected ("Exception ignored in ZipFile.__del__"): neither may reach the user
    res = _gridscope_limited(args, tmp_path, limit_kb=4)
    assert res.returncode == 6, res.stderr[-2000:]
    out = args.rsplit(" ", 1)[1]
    assert res.stderr.strip().splitlines() == [
        f"error: cannot write {out}: file too large (size limit reached); nothing was written"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dest", ["/proc/gridscope-x.nc", "/sys/gridscope-x.nc"])
def test_reliability_out_to_unwritable_place(run, dest):
    result = run("reliability", "rbts2", "--out", dest)
    assert result.exit_code == 6
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot write {dest}: ") and last.endswith("nothing was written")
    assert "Traceback" not in result.output and not Path(dest).exists()


def test_run_out_to_unwritable_place(run):
    result = run("run", "rbts2", "--out", "/sys/gridscope-res")
    assert result.exit_code == 6
    assert result.output.strip().splitlines()[-1].startswith("error: cannot write the results folder /sys/")


@pytest.mark.parametrize(("code", "reason"), [(errno.ENOSPC, "no space left on the device"),
                                              (errno.EDQUOT, "disk quota exceeded"),
                                              (errno.EROFS, "read-only file system")])
def test_atomic_write_os_error_is_output_error(tmp_path, code, reason):
    dest = tmp_path / "keep.csv"
    dest.write_text("old")

    def fail(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise OSError(code, os.strerror(code))

    with pytest.raises(OutputError) as info:
        atomic_write(dest, fail)
    assert str(info.value) == f"cannot write {dest}: {reason}; nothing was written (the existing one is unchanged)"
    assert dest.read_text() == "old" and _hidden(tmp_path) == []


def test_write_netcdf_round_trip_and_failure(tmp_path, rbts2_net, monkeypatch):
    import gridscope as gs
    import xarray as xr
    from gridscope.reliability.io import read_netcdf, write_netcdf

    ds = gs.assess_reliability(rbts2_net)
    path = write_netcdf(ds, tmp_path / "r.nc")
    back = read_netcdf(path)
    # the independent reader: xarray's own h5netcdf backend on the file gives the same values
    xr.testing.assert_allclose(back["SAIDI"], ds["SAIDI"])
    assert float(back["SAIDI"].sel(zone="system")) == pytest.approx(float(ds["SAIDI"].sel(zone="system")))
    with pytest.raises(InputError, match="exists"):
        write_netcdf(ds, path)
    # a failure while the bytes are written (what ENOSPC does) is an OutputError, the old file stays
    before = path.read_bytes()
    real_open = open

    def full_open(file, mode="r", *a, **k):
        fh = real_open(file, mode, *a, **k)
        if "w" in mode and str(file).startswith(str(tmp_path / TEMP_PREFIX)):
            fh.close()
            raise OSError(errno.ENOSPC, "No space left on device")
        return fh

    monkeypatch.setattr("builtins.open", full_open)
    with pytest.raises(OutputError, match="no space left"):
        write_netcdf(ds, path, overwrite=True)
    monkeypatch.undo()
    assert path.read_bytes() == before and _hidden(tmp_path) == []


def test_overwrite_false_never_replaces_a_file_that_appears_meanwhile(tmp_path):
    dest = tmp_path / "out.csv"

    def racing(tmp: str) -> None:
        Path(tmp).write_text("mine")
        dest.write_text("theirs")  # another process creates the file while we write

    with pytest.raises(InputError, match="exists"):
        atomic_write(dest, racing, overwrite=False)
    assert dest.read_text() == "theirs" and _hidden(tmp_path) == []


def test_stale_temp_files_are_removed_by_the_next_write(tmp_path):
    old_file = tmp_path / f"{TEMP_PREFIX}r.nc.abc123.nc"
    old_dir = tmp_path / f"{TEMP_PREFIX}res.xyz"
    fresh = tmp_path / f"{TEMP_PREFIX}other.nc.def456.nc"
    other = tmp_path / ".r.nc.keep"  # not ours: never touched
    for p in (old_file, fresh, other):
        p.write_bytes(b"x" * 100)
    old_dir.mkdir()
    (old_dir / "a.csv").write_text("x")
    stale = time.time() - (STALE_TEMP_H + 1) * 3600
    for p in (old_file, old_dir, other):
        os.utime(p, (stale, stale))
    atomic_write(tmp_path / "new.csv", _write_text)
    assert _hidden(tmp_path) == sorted([fresh.name, other.name])
    assert remove_stale_temps(tmp_path) == []


def test_kill_9_during_write_leaves_only_a_named_temp_file(tmp_path):
    # the writer blocks after writing half its content; kill -9 runs no cleanup
    code = ("import sys, time\nfrom gridscope.grid.io import atomic_write\n"
            "def w(tmp):\n    open(tmp, 'wb').write(b'x' * 10000)\n    print('WRITING', flush=True)\n"
            "    time.sleep(60)\n"
            f"atomic_write({str(tmp_path / 'big.nc')!r}, w)\n")
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline().strip() == "WRITING"
        finally:
            proc.kill()  # SIGKILL
            proc.wait(30)
    left = list(tmp_path.iterdir())
    assert [p.name.startswith(f"{TEMP_PREFIX}big.nc.") for p in left] == [True]
    stale = time.time() - (STALE_TEMP_H + 1) * 3600
    os.utime(left[0], (stale, stale))
    atomic_write(tmp_path / "big.nc", _write_text)  # the next write into the folder removes it
    assert [p.name for p in tmp_path.iterdir()] == ["big.nc"]


# -------------------------------------------------------------------------------- a folder as a whole or nothing
def _fill_two(d: Path) -> None:
    (d / "a.csv").write_text("a")
    (d / "b.csv").write_text("b")


def test_atomic_folder_new_empty_existing_and_force(tmp_path):
    out = atomic_folder(tmp_path / "new", _fill_two)
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv"]
    (tmp_path / "empty").mkdir()
    assert sorted(p.name for p in atomic_folder(tmp_path / "empty", _fill_two).iterdir()) == ["a.csv", "b.csv"]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("old")
    with pytest.raises(OutputError, match="not empty; pass --force"):
        atomic_folder(tmp_path / "full", _fill_two)
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["old.txt"]
    atomic_folder(tmp_path / "full", _fill_two, force=True)  # replaced whole: the old file is gone
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["a.csv", "b.csv"]
    assert _hidden(tmp_path) == []


def test_atomic_folder_failure_keeps_the_old_folder(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("old")

    def half(d: Path) -> None:
        (d / "a.csv").write_text("a")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=r"results folder .*full: no space left on the device"):
        atomic_folder(tmp_path / "full", half, force=True)
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["old.txt"] and _hidden(tmp_path) == []


def test_force_never_replaces_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "keep.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="current, home or root folder"):
        atomic_folder(".", _fill_two, force=True)
    with pytest.raises(OutputError, match="current, home or root folder"):
        atomic_folder(tmp_path.parent, _fill_two, force=True)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_run_into_folder_with_an_old_file(run, tmp_path):
    # before: 7 new files were written next to the old one, then the 8th failed ("exists")
    out = tmp_path / "res"
    out.mkdir()
    (out / "flags.csv").write_text("old")
    result = run("run", "rbts2", "--out", str(out))
    assert result.exit_code == 4
    assert "not empty; pass --force" in result.output and "Traceback" not in result.output
    assert [p.name for p in out.iterdir()] == ["flags.csv"] and (out / "flags.csv").read_text() == "old"
    result = run("run", "rbts2", "--out", str(out), "--force")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["flags.csv", "open_capacity.xlsx", "reliability.nc", "reliability.png",
                     "reliability_component.csv", "reliability_feeder.csv", "reliability_load.csv",
                     "reliability_zone.csv"]
    assert (out / "flags.csv").read_text() != "old" and _hidden(tmp_path) == []


def test_atomic_write_many_is_all_or_nothing(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "sub" / "b.csv", tmp_path / "c.csv"
    a.write_text("old a")

    def full(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    text = {p: (lambda tmp, p=p: Path(tmp).write_text(f"new {p.name}")) for p in (a, b)}
    with pytest.raises(OutputError, match=r"cannot write .*c\.csv: no space left on the device"):
        atomic_write_many({**text, c: full})
    # the third file failed: the first two are not written either (a keeps its old text), no temp file
    assert a.read_text() == "old a" and not b.exists() and not c.exists()
    assert _hidden(tmp_path) == [] and _hidden(tmp_path / "sub") == []
    with pytest.raises(InputError, match=r"a\.csv exists; pass overwrite=True .* replace it"):
        atomic_write_many({**text, c: _write_text}, overwrite=False)
    assert not c.exists()
    assert atomic_write_many({**text, c: _write_text}) == [a, b, c]
    assert [p.read_text() for p in (a, b, c)] == ["new a.csv", "new b.csv", "x"]
