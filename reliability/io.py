"""Reading and writing reliability results (NetCDF, atomic, safe on a full disk: the writer is
:func:`gridscope.grid.io.write_netcdf`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..grid.io import netcdf_bytes, write_netcdf  # the one NetCDF writer lives with the other writers

__all__ = ["netcdf_bytes", "read_netcdf", "write_netcdf"]


def read_netcdf(path: str | os.PathLike[str]) -> Any:
    """Read a results dataset written by :func:`write_netcdf` (fully loaded, file closed)."""
    import xarray as xr  # deferred: keeps gridscope's start-up (``--help``) light

    if not Path(path).exists():
        raise InputError(f"results file not found: {path}")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()
