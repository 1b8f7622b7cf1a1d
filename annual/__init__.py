"""Scripted annual reliability studies: a TOML config → one results folder (NetCDF, CSV/Excel, plots, an HTML
report, a manifest), many networks with totals per zone, year over year, and scale-out on Dask.

>>> import gridscope.annual as annual
>>> out = annual.study("examples/studies/county.toml", out="results/county-2026")    # doctest: +SKIP
>>> annual.compare_results("results/county-2025", out.folder).passed                  # doctest: +SKIP

The CLI is ``gridscope study CONFIG.toml`` and ``gridscope compare LAST THIS``; see docs/annual.md. Headless:
nothing here imports click or textual.
"""

from __future__ import annotations

from .api import StudyOutcome, repeat, study
from .compare import Comparison, compare_results, read_results
from .config import SCHEMA_PATH, StudyConfig, StudyConfigError, config_from_dict, load_config, schema_problems
from .executor import ClusterError
from .runner import StudyRun, run_study
from .totals import study_totals
from .writer import ResultsWriteError, write_study

__all__ = [
    "SCHEMA_PATH",
    "ClusterError",
    "Comparison",
    "ResultsWriteError",
    "StudyConfig",
    "StudyConfigError",
    "StudyOutcome",
    "StudyRun",
    "compare_results",
    "config_from_dict",
    "load_config",
    "read_results",
    "repeat",
    "run_study",
    "schema_problems",
    "study",
    "study_totals",
    "write_study",
]
