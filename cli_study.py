"""The ``gridscope study`` and ``gridscope compare`` commands (click), registered on the main group by
:func:`register`. Thin: parse, call :mod:`gridscope.annual`, print.

Exit codes: 0 done; 1 a repeat did not reproduce its files (or ``compare --check`` found a missed target);
2 config or output-folder problems (all listed) or a changed input of a repeat; 3 a network cannot be loaded;
4 invalid input; 5 a power flow does not converge; 6 the results folder cannot be written (nothing is left
behind); 7 the Dask cluster cannot be started or reached; 130 interrupted.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import click

from .cli_common import handle_errors, progress_bar

__all__ = ["compare_cmd", "register", "study_cmd"]


def register(main: click.Group) -> None:
    """Add ``study`` and ``compare`` to the ``gridscope`` command group."""
    main.add_command(study_cmd)
    main.add_command(compare_cmd)


@click.command("study")
@click.argument("config_path", metavar="CONFIG.toml", required=False, type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Results folder (default: [output] folder of the config; for --repeat: <original>-repeat). "
                   "Written as a whole: it appears only when complete.")
@click.option("--force", is_flag=True, help="Replace an existing results folder (once the new one is complete).")
@click.option("--repeat", "manifest", type=click.Path(), default=None, metavar="MANIFEST",
              help="Repeat the run of this manifest.json (or results folder) and check it bit for bit.")
@click.option("--seed", type=int, default=None, help="Override the config's Monte-Carlo seed.")
@click.option("--workers", type=int, default=None, metavar="N",
              help="Run on a local Dask cluster of N worker processes (0: in-process).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT", envvar="DASK_SCHEDULER_ADDRESS",
              help="Run on a running Dask scheduler (env DASK_SCHEDULER_ADDRESS).")
@handle_errors
def study_cmd(config_path: str | None, out_dir: str | None, force: bool, manifest: str | None, seed: int | None,
              workers: int | None, scheduler: str | None) -> None:
    """The annual reliability study of CONFIG.toml: one results folder with NetCDF, CSV/Excel tables, plots,
    an HTML report and a manifest.

    The config is checked before any work; every problem is listed (exit code 2). With --repeat MANIFEST the
    recorded config, seed and inputs are run again and the NetCDF and CSV files compared with the original
    byte for byte (exit code 1 when they differ).
    """
    from .annual import read_results, repeat, study  # deferred: keeps 'gridscope --help' fast
    from .annual.compare import compare_results
    from .annual.report import zone_summary
    from .textfmt import format_table

    if (config_path is None) == (manifest is None):
        raise click.UsageError("give CONFIG.toml or --repeat MANIFEST (one of them)")
    start = time.monotonic()
    kw = {"out": out_dir, "force": force, "workers": workers, "scheduler": scheduler, "progress": progress_bar()}
    if manifest is not None:
        if seed is not None:
            raise click.UsageError("--seed cannot change a repeat (the manifest's seed is used)")
        outcome = repeat(manifest, **kw)
    else:
        outcome = study(config_path, seed=seed, **kw)
    run = outcome.run
    click.echo(f"{run.config.title}: {len(run.reliability)} network(s), method {run.config.reliability.method}, "
               f"seed {run.config.reliability.seed}, {run.executor}")
    zones = zone_summary(read_results(outcome.folder)).set_index("zone")
    click.echo("\nStudy totals by supply zone (base case):")
    click.echo(format_table(zones, {"ASAI_pct": "{:.4f}", "target_pct": "{:.3f}", "margin_h": "{:+.3f}",
                                    "SAIFI": "{:.4f}", "SAIDI": "{:.4f}", "CAIDI": "{:.3f}"}))
    if run.config.previous:
        click.echo("")
        click.echo(compare_results(run.config.previous, outcome.folder, outage_reduction=run.config.outage_reduction,
                                   repair_reduction=run.config.repair_reduction).summary())
    n_files = len(outcome.manifest["results"]) + 1
    report = ", report.html" if (outcome.folder / "report.html").exists() else ""
    click.echo(f"\nwrote {outcome.folder} ({n_files} files{report}) in {time.monotonic() - start:.1f} s")
    if manifest is not None:
        if outcome.differing:
            click.echo(f"NOT reproduced: {len(outcome.differing)} of {len(outcome.differing) + len(outcome.identical)}"
                       " deterministic files differ: " + ", ".join(outcome.differing), err=True)
            sys.exit(1)
        click.echo(f"reproduced bit for bit: {len(outcome.identical)} NetCDF/CSV files identical to {manifest}")


@click.command("compare")
@click.argument("last", metavar="LAST")
@click.argument("this", metavar="THIS")
@click.option("--outage-reduction", type=float, default=0.15, show_default=True,
              help="Yearly target: share fewer outages (SAIFI and outage count).")
@click.option("--repair-reduction", type=float, default=0.05, show_default=True,
              help="Yearly target: share shorter repair (CAIDI and mean repair time).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, metavar="FILE.csv",
              help="Write the comparison table as CSV.")
@click.option("--force", is_flag=True, help="Overwrite --out.")
@click.option("--check", is_flag=True, help="Exit code 1 when a target is missed (for schedulers).")
@handle_errors
def compare_cmd(last: str, this: str, outage_reduction: float, repair_reduction: float, out_path: str | None,
                force: bool, check: bool) -> None:
    """Year over year: THIS year's results against LAST year's (results folders or .nc files), per zone and
    system, against the yearly targets (outages −15 %/yr, repair time −5 %/yr) and the zone ASAI targets.
    """
    from .annual.compare import compare_results  # deferred: keeps 'gridscope --help' fast
    from .cells import safe_frame
    from .errors import InputError
    from .grid.io import atomic_write

    if out_path is not None and not out_path.lower().endswith(".csv"):
        raise InputError(f"--out must end in .csv, got {out_path!r}")
    cmp = replace(compare_results(last, this, outage_reduction=outage_reduction, repair_reduction=repair_reduction),
                  last_label=last, this_label=this)
    click.echo(cmp.summary())
    if out_path is not None:
        atomic_write(out_path, lambda tmp: safe_frame(cmp.table()).to_csv(tmp), overwrite=force)
        click.echo(f"wrote {out_path}")
    if check and not cmp.passed:
        sys.exit(1)
