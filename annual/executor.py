"""Where a study runs: in this process (default), on a local Dask cluster, or on a running one.

``--workers N`` starts a :class:`distributed.LocalCluster` of N worker processes for the run;
``--scheduler tcp://host:port`` (or the ``DASK_SCHEDULER_ADDRESS`` environment variable) connects to an existing
scheduler. The workers must be able to import gridscope (the same version: the manifest records the client's)
and to read the study's input files at the same absolute paths (shared storage).

dask and distributed are optional (``pip install gridscope[dask]``); they are imported only here and only when
a cluster is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import GridscopeError

__all__ = ["SCHEDULER_ENV", "ClusterError", "dask_client"]

#: Environment variable naming a running scheduler (the CLI's ``--scheduler`` default).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT_S = 5


class ClusterError(GridscopeError):
    """The Dask cluster cannot be started or reached (or dask is not installed). Exit code 7."""

    exit_code = 7


@contextmanager
def dask_client(*, workers: int = 0, scheduler: str | None = None, threads_per_worker: int | None = None
                ) -> Iterator[tuple[Any, str]]:
    """A Dask client for the run, or ``None`` for in-process; yields ``(client, label)``.

    Parameters
    ----------
    workers : int
        Start a local cluster with this many worker processes (0: none).
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:port``); wins over ``workers``.
    threads_per_worker : int, optional
        Threads of each local worker (default: cores / workers).

    Raises
    ------
    ClusterError
        dask is missing, the cluster does not start, or the scheduler does not answer.
    """
    if not scheduler and workers <= 0:
        yield None, "in-process"
        return
    try:  # deliberately deferred: dask is optional and slow to import
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("a Dask cluster needs dask and distributed: pip install 'gridscope[dask]'") from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            label = f"dask scheduler {scheduler} ({len(client.scheduler_info()['workers'])} workers)"
        else:
            threads = threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
            label = f"local dask cluster ({workers} workers × {threads} threads)"
    except (OSError, TimeoutError, RuntimeError) as exc:  # distributed reports a failed start as RuntimeError
        if cluster is not None:
            cluster.close()
        where = scheduler or f"a local cluster of {workers} workers"
        raise ClusterError(f"cannot use {where}: {exc}") from None
    try:
        yield client, label
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
