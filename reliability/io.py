"""Reading and writing reliability results (NetCDF, atomic, safe on a full disk)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..grid.io import atomic_write

__all__ = ["netcdf_bytes", "read_netcdf", "write_netcdf"]


def netcdf_bytes(ds: Any) -> Any:
    """``ds`` serialised as a NetCDF-4 file (h5netcdf engine) in memory: a bytes-like object.

    Boolean and object attrs are stored as strings, so the file reads back with :func:`read_netcdf`.
    """
    out = ds.copy()
    out.attrs = {k: (v if isinstance(v, int | float | str) and not isinstance(v, bool) else str(v))
                 for k, v in ds.attrs.items()}
    with _local_scheduler():
        return out.to_netcdf(engine="h5netcdf")


def write_netcdf(ds: Any, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a results dataset to NetCDF atomically; the one NetCDF writer of gridscope.

    The file is built in memory first (:func:`netcdf_bytes`) and then written with plain Python file I/O
    through :func:`gridscope.grid.io.atomic_write`. HDF5 writing straight to a file crashes the interpreter
    (segmentation fault) when a write fails half way (full disk, ``ulimit -f``) and its handles are closed;
    written this way a failure is an ordinary :class:`~gridscope.grid.io.OutputError` and the temporary file
    is removed. The temporary file exists only while the bytes are copied out (well under a second for tens
    of MB), so a ``kill -9`` rarely leaves one, and a left one is removed by a later write into the folder.

    Parameters
    ----------
    ds : xarray.Dataset
    path : path-like
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        ``path`` exists and ``overwrite`` is False.
    OutputError
        The file cannot be written (full disk, size limit, permission, read-only place).
    """
    data = netcdf_bytes(ds)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return atomic_write(path, write, overwrite=overwrite)


def read_netcdf(path: str | os.PathLike[str]) -> Any:
    """Read a results dataset written by :func:`write_netcdf` (fully loaded, file closed)."""
    import xarray as xr  # deferred: keeps gridscope's start-up (``--help``) light

    if not Path(path).exists():
        raise InputError(f"results file not found: {path}")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def _local_scheduler() -> Any:
    """While a Dask client is the default, xarray takes a cluster-wide lock named after the in-memory target,
    which the scheduler cannot know; our data are in memory, so the synchronous scheduler is right."""
    try:
        import dask.config  # deferred: dask is optional
    except ImportError:
        return contextlib.nullcontext()
    return dask.config.set(scheduler="synchronous")
