"""Reading and writing reliability results (NetCDF, atomic)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..grid.io import atomic_write

__all__ = ["read_netcdf", "write_netcdf"]


def write_netcdf(ds: Any, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a results dataset to NetCDF atomically (h5netcdf engine).

    Boolean and object attrs are stored as strings, so the file reads back with :func:`read_netcdf`.
    """
    out = ds.copy()
    out.attrs = {k: (v if isinstance(v, int | float | str) and not isinstance(v, bool) else str(v))
                 for k, v in ds.attrs.items()}
    return atomic_write(path, lambda tmp: out.to_netcdf(tmp, engine="h5netcdf"), overwrite=overwrite)


def read_netcdf(path: str | os.PathLike[str]) -> Any:
    """Read a results dataset written by :func:`write_netcdf` (fully loaded, file closed)."""
    import xarray as xr  # deferred: keeps gridscope's start-up (``--help``) light

    if not Path(path).exists():
        raise InputError(f"results file not found: {path}")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()
