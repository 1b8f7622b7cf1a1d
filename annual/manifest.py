"""The manifest of a results folder: config, versions, seed and input hashes, so a run can be repeated.

``manifest.json`` records the normalised config (paths absolute), the study seed and every network's derived
seed, the versions of gridscope and its numeric dependencies, the sha256 of every input file (config, networks,
zone mappings, profiles, reserved capacity), the content hash of every network as analysed, the sha256 of
every result file, and when and where (executor) the run went. ``gridscope study --repeat manifest.json``
re-runs the recorded config and checks that the deterministic result files come out byte for byte the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import StudyConfig, StudyConfigError, config_from_dict

__all__ = [
    "DETERMINISTIC_SUFFIXES",
    "MANIFEST_NAME",
    "VERSIONED_PACKAGES",
    "build_manifest",
    "input_files",
    "read_manifest",
    "sha256_file",
    "versions",
]

MANIFEST_NAME = "manifest.json"
#: Packages whose versions decide the numbers.
VERSIONED_PACKAGES = ("gridscope", "numpy", "pandas", "scipy", "pandapower", "numba", "xarray", "h5netcdf",
                      "h5py", "power-grid-model", "networkx", "dask", "distributed")
#: Result files that a repeated run must reproduce byte for byte (Excel, PNG, SVG and HTML embed dates or
#: renderer details and are checked by content elsewhere).
DETERMINISTIC_SUFFIXES = (".nc", ".csv")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def versions() -> dict[str, str | None]:
    """Installed versions of :data:`VERSIONED_PACKAGES` (None when not installed) and of Python."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def input_files(config: StudyConfig) -> dict[str, str]:
    """Every input file of a study (label → absolute path)."""
    files = {}
    if config.config_file:
        files["config"] = config.config_file
    for n in config.networks:
        if n.is_file:
            files[f"network:{n.name}"] = n.source
        if n.zone_mapping:
            files[f"zone_mapping:{n.zone_mapping}"] = n.zone_mapping
    for label, path in (("profiles", config.capacity.profiles), ("reserved", config.capacity.reserved)):
        if path and Path(path).is_file():
            files[label] = path
    return files


def build_manifest(run: Any, folder: Path, *, started: dt.datetime, repeat_of: str | None = None) -> dict[str, Any]:
    """The manifest of ``run`` written into ``folder`` (its result files are hashed as they are now)."""
    results = {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*"))
               if p.is_file() and p.name != MANIFEST_NAME}
    return {
        "gridscope_manifest": 1,
        "title": run.config.title,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "executor": run.executor,
        "host": platform.node(),
        "seed": run.config.reliability.seed,
        "network_seeds": run.seeds,
        "network_hashes": {n: str(ds.attrs.get("network_hash", "")) for n, ds in run.reliability.items()},
        "versions": versions(),
        "inputs": {label: {"path": p, "sha256": sha256_file(p)} for label, p in input_files(run.config).items()},
        "config": run.config.to_dict(),
        "results": results,
        "deterministic": sorted(k for k in results if k.endswith(DETERMINISTIC_SUFFIXES)),
        "timings": run.volatile,
        "repeat_of": repeat_of,
    }


def read_manifest(path: str | os.PathLike[str]) -> tuple[dict[str, Any], StudyConfig, list[str]]:
    """Read a manifest (or a results folder's), return it, its config and the input files that changed.

    Raises
    ------
    StudyConfigError
        The file is missing or not a gridscope manifest.
    """
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_NAME
    try:
        manifest = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StudyConfigError([f"{p}: no such manifest"], str(p)) from None
    except (OSError, ValueError) as exc:
        raise StudyConfigError([f"{p}: not a readable manifest ({exc})"], str(p)) from None
    if not isinstance(manifest, dict) or manifest.get("gridscope_manifest") != 1 or "config" not in manifest:
        raise StudyConfigError([f"{p}: not a gridscope study manifest"], str(p))
    config = config_from_dict(manifest["config"], source=str(p))
    changed = []
    for label, item in manifest.get("inputs", {}).items():
        f = Path(item["path"])
        if label == "config":
            continue  # the config is embedded; its file may have moved on
        if not f.is_file():
            changed.append(f"{label}: {f} is missing")
        elif sha256_file(f) != item["sha256"]:
            changed.append(f"{label}: {f} changed since the run (sha256 differs)")
    return manifest, config, changed
