"""The annual study in one call: config → checks → run (here or on Dask) → results folder; and its repeat.

>>> from gridscope.annual import study
>>> out = study("examples/studies/county.toml", out="results/county-2026")     # doctest: +SKIP
>>> out.folder, out.run.config.reliability.seed                                   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..progress import ProgressCallback
from .config import StudyConfig, StudyConfigError, load_config
from .executor import SCHEDULER_ENV, dask_client
from .manifest import MANIFEST_NAME, read_manifest
from .runner import StudyRun, run_study
from .writer import output_problems, write_study

__all__ = ["StudyOutcome", "repeat", "study"]


@dataclass
class StudyOutcome:
    """A finished study: where it was written and what it computed.

    Attributes
    ----------
    folder : pathlib.Path
        The results folder.
    run : StudyRun
        The results in memory.
    manifest : dict
        The manifest written.
    identical, differing : list of str
        For a repeat: deterministic result files equal to / different from the original run.
    """

    folder: Path
    run: StudyRun
    manifest: dict[str, Any]
    identical: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)


def _resolve_out(config: StudyConfig, out: str | os.PathLike[str] | None) -> Path:
    if out is not None:
        return Path(out)
    if config.output.folder:
        return Path(config.output.folder)
    raise StudyConfigError(["output: no results folder: give --out DIR or [output] folder = ... in the config"])


def study(config: StudyConfig | str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
          force: bool = False, workers: int | None = None, scheduler: str | None = None, seed: int | None = None,
          progress: ProgressCallback | None = None, cancel: Callable[[], bool] | None = None,
          repeat_of: str | None = None) -> StudyOutcome:
    """Run a study and write its results folder.

    Parameters
    ----------
    config : StudyConfig or path
        A config or its TOML file (validated: every problem at once).
    out : path, optional
        Results folder (default: the config's ``[output] folder``). Must not exist unless ``force``.
    force : bool
        Replace an existing results folder (once the new one is complete).
    workers, scheduler : optional
        Run on a local Dask cluster of ``workers`` processes or on the scheduler at ``scheduler``
        (default: the config's ``[dask]``, then ``DASK_SCHEDULER_ADDRESS``, then in-process).
    seed : int, optional
        Override the config's seed.
    progress, cancel : callable, optional
        The progress protocol (:mod:`gridscope.progress`).
    repeat_of : str, optional
        The manifest being repeated (recorded in the new manifest).

    Returns
    -------
    StudyOutcome

    Raises
    ------
    StudyConfigError
        Config or output-folder problems (before any work).
    ResultsWriteError, ClusterError, ValidationError, ConvergenceError, CancelledError
    """
    cfg = config if isinstance(config, StudyConfig) else load_config(config)
    if seed is not None:
        cfg = cfg.with_seed(seed)
    folder = _resolve_out(cfg, out)
    problems = output_problems(folder, force=force)
    if problems:
        raise StudyConfigError(problems, str(folder))
    scheduler = scheduler or cfg.scheduler or os.environ.get(SCHEDULER_ENV) or None
    n_workers = cfg.workers if workers is None else workers
    started = dt.datetime.now(dt.UTC)
    with dask_client(workers=0 if scheduler else n_workers, scheduler=scheduler,
                     threads_per_worker=cfg.threads_per_worker) as (client, label):
        run = run_study(cfg, client=client, executor_label=label, progress=progress, cancel=cancel)
    written = write_study(run, folder, force=force, started=started, repeat_of=repeat_of)
    manifest = json.loads((written / MANIFEST_NAME).read_text(encoding="utf-8"))
    return StudyOutcome(folder=written, run=run, manifest=manifest)


def repeat(manifest: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None, force: bool = False,
           workers: int | None = None, scheduler: str | None = None, progress: ProgressCallback | None = None,
           cancel: Callable[[], bool] | None = None) -> StudyOutcome:
    """Repeat the run recorded in ``manifest`` and check its deterministic files byte for byte.

    Parameters
    ----------
    manifest : path
        A ``manifest.json`` or a results folder.
    out : path, optional
        Folder of the repeat (default: ``<original folder>-repeat`` beside the original).

    Returns
    -------
    StudyOutcome
        With ``identical`` and ``differing`` filled.

    Raises
    ------
    StudyConfigError
        The manifest is unreadable, or an input file is missing or changed since the run.
    """
    path = Path(manifest)
    recorded, cfg, changed = read_manifest(path)
    if changed:
        raise StudyConfigError(changed, f"the inputs of {path}")
    original = path if path.is_dir() else path.parent
    folder = Path(out) if out is not None else original.with_name(original.name + "-repeat")
    outcome = study(cfg, out=folder, force=force, workers=workers, scheduler=scheduler, progress=progress,
                    cancel=cancel, repeat_of=str(path.resolve()))
    old, new = recorded.get("results", {}), outcome.manifest["results"]
    for name in recorded.get("deterministic", []):
        (outcome.identical if new.get(name) == old[name] else outcome.differing).append(name)
    return outcome
