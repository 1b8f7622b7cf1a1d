"""Writing a study's results folder as a whole: everything goes into a temporary folder beside the target,
which is renamed into place only when complete — a failed run (full disk, cancel, error) leaves nothing.

Layout of a results folder::

    reliability.nc                   totals per zone and scenario, each network's zone values (network dim)
    networks/<name>.nc               each network's full results, every scenario
    tables/zones.csv                 totals per scenario and zone (units in the headers)
    tables/networks.csv              per scenario, network and zone
    tables/<name>/reliability_*.csv  each network's zone, feeder, load-point and component tables (base case)
    tables/flags.csv                 flagged equipment of every network
    tables/open_capacity_feeder.csv  open capacity per feeder of every network
    tables/comparison.csv            year over year (when the config names ``previous``)
    capacity/<name>.xlsx             open capacity at five levels per network (en/zh headers)
    summary.xlsx                     the summary tables in one workbook (en/zh headers)
    plots/*.png, plots/*.svg         the figures
    report.html                      the self-contained report
    manifest.json                    config, versions, seed, input and result hashes
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..cells import safe_frame, write_frame
from ..grid.io import OutputError, atomic_folder, folder_problems
from ..reliability.io import write_netcdf
from ..reliability.report import with_units, write_reliability
from .compare import compare_results
from .manifest import MANIFEST_NAME, build_manifest
from .plots import study_figures
from .report import sheet_name, translate_table, write_report
from .runner import BASE, StudyRun
from .totals import study_totals

__all__ = ["ResultsWriteError", "output_problems", "study_tables", "write_folder", "write_study"]


class ResultsWriteError(OutputError):
    """The results folder cannot be written (read-only place, full disk, file in the way). Exit code 6.

    Nothing is left behind: the temporary folder is removed and an existing results folder is kept.
    """

    exit_code = 6


def output_problems(folder: str | os.PathLike[str], *, force: bool = False) -> list[str]:
    """What stops ``folder`` from being written (checked before any work; ``[]`` when fine).

    The rules of :func:`gridscope.grid.io.folder_problems`: an existing non-empty folder only with ``force``.
    """
    return [f"output: {p}" for p in folder_problems(folder, force=force)]


def write_folder(dest: str | os.PathLike[str], fill: Callable[[Path], Any], *, force: bool = False) -> Path:
    """Create folder ``dest`` atomically: ``fill(tmp)`` writes into a temporary folder, then it is renamed.

    :func:`gridscope.grid.io.atomic_folder`; with ``force`` an existing folder is replaced, by a rename as well,
    after the new one is complete.

    Raises
    ------
    ResultsWriteError
        ``dest`` is a file, exists without ``force``, or writing failed (the temporary folder is removed).
    """
    try:
        return atomic_folder(dest, fill, force=force)
    except OutputError as exc:
        raise ResultsWriteError(str(exc)) from None


# ---------------------------------------------------------------------------------------------- tables
_ZONE_VARS = ("customers", "SAIFI", "SAIDI", "CAIDI", "ASAI", "ASUI", "ENS", "AENS", "SAIFI_fault", "SAIDI_fault",
              "SAIFI_planned", "SAIDI_planned", "SAIFI_stderr", "SAIDI_stderr", "ENS_stderr", "asai_target",
              "saidi_target_h", "margin_h", "meets_target")


def _with_network(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = [df.assign(network=name)[["network", *df.columns]] for name, df in frames.items() if len(df)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["network"])


def study_tables(run: StudyRun, totals: Any, comparison: Any = None) -> dict[str, pd.DataFrame]:
    """The study's summary tables (plain column names; :func:`gridscope.reliability.report.with_units` adds units).

    ``zones`` (scenario × zone totals), ``networks`` (scenario × network × zone), ``flags``,
    ``open_capacity_feeder`` and, with a comparison, ``comparison``.
    """
    zone_vars = [v for v in _ZONE_VARS if v in totals]
    zones = totals[zone_vars].to_dataframe()[zone_vars].reset_index()
    net_vars = [v for v in totals.data_vars if v.startswith("network_") and totals[v].dims == (
        "scenario", "network", "zone")]
    networks = totals[net_vars].to_dataframe().dropna(subset=["network_customers"]).reset_index()
    networks = networks.rename(columns=lambda c: c.removeprefix("network_") if c != "network" else c)
    tables = {"zones": zones, "networks": networks}
    if run.capacity:
        tables["flags"] = _with_network({n: c.flags for n, c in run.capacity.items()})
        tables["open_capacity_feeder"] = _with_network({n: c.table("feeder") for n, c in run.capacity.items()})
    if comparison is not None:
        tables["comparison"] = comparison.table().reset_index()
    return tables


def _write_tables(run: StudyRun, tables: dict[str, pd.DataFrame], tmp: Path) -> None:
    folder = tmp / "tables"
    folder.mkdir()
    for name, table in tables.items():
        safe_frame(with_units(table)).to_csv(folder / f"{name}.csv", index=False)
    for name, ds in run.reliability.items():
        write_reliability(ds.sel(scenario=BASE), folder / name)


def _write_excel(run: StudyRun, tables: dict[str, pd.DataFrame], tmp: Path, lang: str) -> None:
    from openpyxl import Workbook  # deferred: only the Excel output needs it
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, table in tables.items():
        ws = wb.create_sheet(sheet_name(name, lang)[:31])
        write_frame(ws, translate_table(table, lang))
        for cell in ws[1]:
            cell.font = bold
    wb.save(tmp / "summary.xlsx")
    if run.capacity:
        (tmp / "capacity").mkdir()
        for name, cap in run.capacity.items():
            cap.to_excel(tmp / "capacity" / f"{name}.xlsx", lang=lang)


def write_study(run: StudyRun, folder: str | os.PathLike[str], *, force: bool = False,
                started: dt.datetime | None = None, repeat_of: str | None = None) -> Path:
    """Write the whole results folder of ``run`` (see the module docstring), atomically.

    Parameters
    ----------
    run : StudyRun
        From :func:`gridscope.annual.runner.run_study`.
    folder : path
        The results folder; must not exist unless ``force``.
    force : bool
        Replace an existing folder (only once the new one is complete).
    started : datetime, optional
        When the run started (for the manifest).
    repeat_of : str, optional
        The manifest this run repeats.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    started = started or dt.datetime.now(dt.UTC)
    cfg = run.config
    totals = study_totals(run.reliability, targets=cfg.targets, attrs={
        "title": cfg.title, "year": cfg.year if cfg.year is not None else "", "method": cfg.reliability.method,
        "seed": int(cfg.reliability.seed or 0), "gridscope_version": __version__})
    comparison = None
    if cfg.previous is not None:
        comparison = compare_results(cfg.previous, totals, outage_reduction=cfg.outage_reduction,
                                     repair_reduction=cfg.repair_reduction)
    tables = study_tables(run, totals, comparison)

    def fill(tmp: Path) -> None:
        write_netcdf(totals, tmp / "reliability.nc")
        (tmp / "networks").mkdir()
        for name, ds in run.reliability.items():
            write_netcdf(ds, tmp / "networks" / f"{name}.nc")
        _write_tables(run, tables, tmp)
        if cfg.output.excel:
            _write_excel(run, tables, tmp, cfg.output.lang)
        figures: dict[str, list[Path]] = {}
        if cfg.output.plots or cfg.output.report:
            figures = study_figures(run, totals, comparison, tmp / "plots")
        if cfg.output.report:
            write_report(run, totals, comparison, figures, tmp / "report.html", lang=cfg.output.lang)
        if not cfg.output.plots:
            shutil.rmtree(tmp / "plots", ignore_errors=True)
        manifest = build_manifest(run, tmp, started=started, repeat_of=repeat_of)
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n",
                                         encoding="utf-8")

    return write_folder(folder, fill, force=force)
