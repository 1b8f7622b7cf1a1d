"""The Dask path equals the in-process path: a real ``dask scheduler`` and ``dask worker`` on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")

STUDY = """
networks = ["rbts2", "cigre_mv"]
[reliability]
method = "monte-carlo"
years = 3000
seed = 5
[scenarios.fewer]
failure_rate_scale = 0.85
[capacity]
enabled = false
[output]
plots = false
report = false
excel = false
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scheduler(tmp_path):
    """A scheduler and one worker process (killed by the finalizer)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)]
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1",
                                       "--nthreads", "2", "--host", "127.0.0.1", "--dashboard-address", ":0",
                                       "--local-directory", str(tmp_path / "worker")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path))
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=40)
        yield address
    finally:
        for p in reversed(procs):
            p.kill()
            p.wait(timeout=10)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.suffix in (".nc", ".csv")}


@pytest.mark.slow
def test_dask_scheduler_gives_the_in_process_files(scheduler, tmp_path):
    from gridscope.annual import study

    config = tmp_path / "s.toml"
    config.write_text(STUDY, encoding="utf-8")
    local = study(config, out=tmp_path / "local")
    remote = study(config, out=tmp_path / "remote", scheduler=scheduler)
    assert remote.run.executor.startswith(f"dask scheduler {scheduler}")
    assert remote.manifest["executor"] == remote.run.executor and local.manifest["executor"] == "in-process"
    assert remote.run.executor.endswith("networks and scenarios as tasks on the cluster")
    one, two = _files(local.folder), _files(remote.folder)
    assert len(one) >= 10 and one == two
    # one network: its Monte-Carlo chunks go to the cluster (chunk i always draws from spawn(...)[i])
    config.write_text(STUDY.replace('networks = ["rbts2", "cigre_mv"]', 'network = "rbts2"'), encoding="utf-8")
    local = study(config, out=tmp_path / "local1")
    from distributed import Client

    with Client(scheduler):  # a user's own default client must not break the NetCDF writer
        remote = study(config, out=tmp_path / "remote1", scheduler=scheduler)
    assert remote.run.executor.endswith("Monte-Carlo chunks on the cluster")
    assert _files(local.folder) == _files(remote.folder)


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    from gridscope.annual import ClusterError, study

    config = tmp_path / "s.toml"
    config.write_text(STUDY, encoding="utf-8")
    port = _free_port()
    with pytest.raises(ClusterError, match=r"cannot use tcp://127\.0\.0\.1"):
        study(config, out=tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}")
    assert not (tmp_path / "out").exists()
