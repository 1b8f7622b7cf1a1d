"""The ``gridscope`` command line (click). Thin: parse, call the prepared study, print or write.

Every command works on one :class:`gridscope.Study`, so a network is loaded, validated and analysed once.
Heavy libraries are imported inside the commands so ``gridscope --help`` stays instant. Every
:class:`~gridscope.errors.GridscopeError` is printed as one clear message (no traceback) and mapped to its
exit code; validation problems are printed as a table. Text tables come from the headless reports
(:mod:`gridscope.reliability.report`, :mod:`gridscope.capacity.report`), shared with the TUI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from .cli_common import handle_errors, parse_targets, print_problems, progress_bar
from .cli_outages import register as register_outages
from .cli_study import register as register_study
from .errors import InputError
from .reliability.mc_defaults import DISTRIBUTION_NAMES
from .settings import (
    CAPACITY_LEVELS,
    LINE_HEAVY_PERCENT,
    LOAD_PF,
    MC_MAX_YEARS,
    MC_REPAIR_DIST,
    MC_YEARS,
    OVERLOAD_PERCENT,
    TRAFO_HEAVY_PERCENT,
    V_BAND_PU,
)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Group(click.Group):
    """A click group whose own errors (unknown option, missing argument, bad value) print as one line."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"error: {_one_line(exc.format_message())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {_one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=_Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gridscope")
@click.pass_context
def main(ctx: click.Context) -> None:
    """gridscope: distribution-grid reliability and capacity analysis.

    NET is a built-in name (rbts2, rbts2-e, mv_oberrhein, cigre_mv, case33bw), a pandapower .json/.xlsx
    file, or simbench:<code>. With no command on a terminal, the terminal UI opens (gridscope tui).
    """
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            _open_tui(None)
        else:
            click.echo(ctx.get_help())


def _open_tui(source: str | None) -> None:
    from .tui.app import run

    run(source)


@main.command("tui")
@click.argument("net_source", metavar="NET", required=False)
@handle_errors
def tui_cmd(net_source: str | None) -> None:
    """Open the terminal UI (on NET, if given): network, reliability, capacity and connections in one app."""
    _open_tui(net_source)


def _study(net_source: str, *, validate: bool = True, default_zone: str | None = None) -> Any:
    from .study import Study

    return Study(net_source, validate=validate, default_zone=default_zone)


# ------------------------------------------------------------------------------------------------ network
@main.command("networks")
@handle_errors
def networks_cmd() -> None:
    """List the built-in networks (usable wherever NET is asked for)."""
    from .grid.builtin import builtin_descriptions

    desc = builtin_descriptions()
    width = max(len("simbench:<code>"), *map(len, desc))
    for name, text in desc.items():
        click.echo(f"{name.ljust(width)}  {text}")
    click.echo(f"{'simbench:<code>'.ljust(width)}  any SimBench code, e.g. simbench:1-MV-urban--0-sw "
               "(needs the simbench extra)")


@main.command("validate")
@click.argument("net_source", metavar="NET")
@click.option("--default-zone", metavar="Z", default=None,
              help="Zone for buses without one (A+, A, B, C, D, E); missing zones are then not problems.")
@handle_errors
def validate_cmd(net_source: str, default_zone: str | None) -> None:
    """Check NET against the data contract; print every problem as a table.

    Exit code 0 when clean, 2 when there are problems, 3 when NET cannot be loaded.
    """
    st = _study(net_source, default_zone=default_zone)
    problems = st.problems
    try:
        topo = st.topology
    except Exception:  # too broken for a graph: the problems say why
        topo = None
    if problems or topo is None:
        print_problems(problems, file=click.get_text_stream("stdout"))
        _print_role_warnings(st.net, topo)
        sys.exit(2)
    click.echo(f"{net_source}: no problems ({topo.n_bus} buses, {len(topo.feeders)} feeders, "
               f"{len(topo.ties)} ties)")
    _print_role_warnings(st.net, topo)


def _print_role_warnings(net: Any, topo: Any) -> None:
    """Transformers whose role (main or distribution) the analysis had to guess: warnings, not problems (the
    exit code is the problems'); the failure-effect results carry the same text in ``trafo_role_warnings``."""
    from .grid.stations import role_warnings

    if topo is None:
        return
    try:
        warnings = role_warnings(net, radial_max_kv=topo.radial_max_kv)
    except Exception:  # a net too broken for the role rule: its problems are already listed
        return
    if warnings:
        click.echo(f"\n{len(warnings)} warning(s) (the analysis runs; check the role it took):")
        for table, idx, message in warnings:
            name = net[table].at[idx, "name"] if "name" in net[table] else None
            label = f" {name!r}" if isinstance(name, str) and name else ""
            click.echo(f"  {table}[{idx}]{label}: {message}")


def _parse_feeder_zones(items: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    bad = [item for item in items if "=" not in item]
    if bad:
        raise InputError(f"--feeder takes FEEDER=ZONE, got {', '.join(map(repr, bad))}")
    for item in items:
        feeder, zone = item.rsplit("=", 1)
        mapping[feeder.strip()] = zone.strip()
    return mapping


@main.command("zones")
@click.argument("net_source", metavar="NET")
@click.option("--by-density", is_flag=True, help="Zones from load density (MW/km²) over the buses' coordinates.")
@click.option("--per", type=click.Choice(["feeder", "network"]), default="feeder", show_default=True,
              help="With --by-density: one density per feeder or for the whole network.")
@click.option("--mapping", "mapping_file", type=click.Path(dir_okay=False), default=None,
              help="CSV (UTF-8 or GBK) or .xlsx with a 'zone' column and a 'bus' (name or index) or 'feeder' "
              "column; every bad row is listed.")
@click.option("--feeder", "feeder_zones", multiple=True, metavar="F=Z", help="Zone of feeder F (repeatable).")
@click.option("--default-zone", metavar="Z", default=None,
              help="With --mapping/--feeder: zone of the buses the mapping does not cover.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Where to save the network with its zones (.json or .xlsx); never the input file.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@handle_errors
def zones_cmd(net_source: str, by_density: bool, per: str, mapping_file: str | None,
              feeder_zones: tuple[str, ...], default_zone: str | None, out_path: str, force: bool) -> None:
    """Assign supply zones (A+ ... E) to NET's buses and save the network to OUT.

    Give exactly one of --by-density, --mapping FILE.csv or --feeder F=Z (repeatable). The zone of each
    feeder is printed.
    """
    import os
    from pathlib import Path

    from .grid.io import load_network, save_network
    from .grid.topology import build_topology
    from .grid.zones import assign_zones_by_density, assign_zones_by_feeder, assign_zones_from_mapping
    from .textfmt import format_rows

    modes = [m for m, on in (("--by-density", by_density), ("--mapping", mapping_file is not None),
                             ("--feeder", bool(feeder_zones))) if on]
    if len(modes) != 1:
        raise InputError("give exactly one of --by-density, --mapping FILE.csv or --feeder F=Z"
                         + (f" (got {' and '.join(modes)})" if modes else ""))
    out = Path(out_path)
    if out.suffix.lower() not in (".json", ".xlsx"):
        raise InputError(f"--out must end in .json or .xlsx, got {out_path!r}")
    src = Path(net_source)
    if src.exists() and out.exists() and os.path.samefile(src, out):
        raise InputError(f"--out {out_path} is the input network: gridscope never overwrites its input")
    if out.exists() and not force:
        raise InputError(f"{out_path} exists; pass --force to overwrite it")
    net = load_network(net_source)
    if by_density:
        assign_zones_by_density(net, per=per)
    elif mapping_file is not None:
        assign_zones_from_mapping(net, mapping_file, default=default_zone)
    else:
        assign_zones_by_feeder(net, _parse_feeder_zones(feeder_zones), default=default_zone)
    topo = build_topology(net)
    feeder = topo.feeder_name_of(net, "bus")
    zone = net.bus["zone"].astype(object)
    rows = []
    for name in topo.feeders["name"]:
        counts = zone[feeder == name].dropna().astype(str).value_counts()
        rows.append((str(name), "/".join(counts.index) if len(counts) else "-", int((feeder == name).sum())))
    click.echo(format_rows(("feeder", "zone", "buses"), rows, right=[False, False, False]))
    save_network(net, out, overwrite=True)
    click.echo(f"saved {out}")


# ------------------------------------------------------------------------------------ capacity: flags
@main.command("flags")
@click.argument("net_source", metavar="NET")
@click.option("--scaling", type=float, default=1.0, show_default=True, help="Factor on every load.")
@click.option("--profiles", "profiles", default=None, metavar="simbench|FILE",
              help="Time series: 'simbench' (the network's SimBench profiles) or a profile CSV; default: one "
                   "snapshot at the planning load.")
@click.option("--engine", type=click.Choice(["pgm", "pandapower"]), default="pgm", show_default=True,
              help="Time-series engine (power-grid-model batch, or one pandapower runpp per step).")
@click.option("--include-sgen/--no-sgen", default=None,
              help="Static generators in service (default: off for a snapshot, on for a time series).")
@click.option("--line-limit", type=float, default=LINE_HEAVY_PERCENT, show_default=True,
              help="Line heavy-load limit, %.")
@click.option("--trafo-limit", type=float, default=TRAFO_HEAVY_PERCENT, show_default=True,
              help="Transformer heavy-load limit, %.")
@click.option("--overload", type=float, default=OVERLOAD_PERCENT, show_default=True, help="Overload limit, %.")
@click.option("--v-band", type=float, default=V_BAND_PU, show_default=True,
              help="Allowed voltage deviation from nominal, per unit.")
@click.option("--top", type=int, default=20, show_default=True, help="Rows to print (0: all).")
@click.option("--out", "out_path", default=None, metavar="FILE.csv", help="Write the whole flag table as CSV.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@handle_errors
def flags_cmd(net_source: str, scaling: float, profiles: str | None, engine: str, include_sgen: bool | None,
              line_limit: float, trafo_limit: float, overload: float, v_band: float, top: int,
              out_path: str | None, force: bool) -> None:
    """Heavy-load (重载), overload (过载) and voltage flags of NET, worst first.

    One power flow at the planning load (loads x SCALING, generation off), or the peaks over a time series
    with --profiles. Exit code 0 whether or not there are flags; 5 when the power flow does not converge.
    """
    from .capacity.export import write_flags_csv
    from .capacity.flags import Thresholds
    from .capacity.report import flag_counts, flags_text, loading_line

    if out_path is not None and not out_path.lower().endswith(".csv"):
        raise InputError(f"--out must end in .csv, got {out_path!r}")
    th = Thresholds(line_heavy=line_limit, trafo_heavy=trafo_limit, trafo3w_heavy=trafo_limit,
                    overload=overload, v_band_pu=v_band)
    st = _study(net_source, validate=False)
    if profiles is None:
        kw: dict[str, Any] = {"include_sgen": bool(include_sgen)}
    else:
        kw = {"engine": engine, "thresholds": th, "include_sgen": True if include_sgen is None else include_sgen}
    peak = st.loading(scaling=scaling, profiles=profiles, progress=progress_bar(), **kw)
    flags = st.flags(scaling=scaling, profiles=profiles, thresholds=th, **kw)  # the loading above, cached
    click.echo(f"{net_source}: {loading_line(peak)}")
    click.echo(flag_counts(flags))
    if len(flags):
        text = flags_text(flags, top=top, hours=peak.is_timeseries)
        click.echo(text.replace(" more", " more (--top 0 shows all, --out writes all)") if top > 0 else text)
    if out_path is not None:
        dest = write_flags_csv(flags, out_path, overwrite=force)
        click.echo(f"wrote {dest}")


# ------------------------------------------------------------------------------------------------ reliability
def _reliability_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--method", type=click.Choice(["analytical", "monte-carlo"]), default="analytical",
                     show_default=True),
        click.option("--years", type=int, default=None,
                     help=f"Monte Carlo: simulated years (default {MC_YEARS}, or the minimum with --target-cov)."),
        click.option("--seed", type=int, default=1, show_default=True, help="Monte Carlo seed."),
        click.option("--target-cov", type=float, default=None,
                     help="Monte Carlo: stop when the CoV of every zone's mean SAIDI is at most this."),
        click.option("--max-years", type=int, default=MC_MAX_YEARS, show_default=True),
        click.option("--threads", type=int, default=None, help="Monte Carlo threads (default: all cores)."),
        click.option("--repair-dist", type=click.Choice(DISTRIBUTION_NAMES),
                     default=MC_REPAIR_DIST, show_default=True),
        click.option("--failure-rate-scale", type=float, default=1.0, show_default=True),
        click.option("--repair-time-scale", type=float, default=1.0, show_default=True),
        click.option("--live-work-fraction", type=float, default=0.0, show_default=True,
                     help="Share of planned jobs done live (不停电作业)."),
        click.option("--tie-capacity", type=click.Choice(["headroom", "powerflow"]), is_flag=False,
                     flag_value="headroom", default=None,
                     help="Transfer through a tie only if the backup feeder can carry the block at peak load: "
                     "'headroom' (alone: --tie-capacity) its head line's spare, 'powerflow' the AC open capacity "
                     "where the tie lands (every section and the voltage band)."),
        click.option("--upstream", is_flag=True, help="Include main transformers, station busbars, bus couplers "
                     "and supply lines as failing components (default: the supply is perfectly reliable)."),
        click.option("--target", "targets", multiple=True, metavar="ZONE=PERCENT",
                     help="Override a zone's ASAI target, e.g. --target B=99.97."),
        click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, metavar="FILE",
                     help="Monte Carlo: keep the run's state in FILE (written every few seconds and when "
                     "stopped); run again with the same FILE and options to resume (same numbers as one run)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


#: ``--tie-capacity`` value → the ``tie_capacity`` option of Study.reliability.
_TIE_MODES: dict[str | None, bool | str] = {None: False, "headroom": True, "powerflow": "powerflow"}


def _run_reliability(st: Any, method: str, years: int | None, seed: int, target_cov: float | None,
                     max_years: int, threads: int | None, repair_dist: str, failure_rate_scale: float,
                     repair_time_scale: float, live_work_fraction: float, tie_capacity: str | None,
                     targets: tuple[str, ...], checkpoint: str | None = None, upstream: bool = False,
                     interruption_counts: int | None = None, celid_h: float | None = None) -> Any:
    tie_capacity = _TIE_MODES[tie_capacity]
    kw: dict[str, Any] = {}
    if method == "monte-carlo":
        kw = {"years": years, "seed": seed, "target_cov": target_cov, "max_years": max_years,
              "threads": threads, "repair_dist": repair_dist, "progress": progress_bar()}
        if interruption_counts:
            kw["interruption_counts"] = interruption_counts
        if celid_h is not None:
            kw["celid_h"] = (celid_h,)
        if checkpoint is not None:
            kw["checkpoint"] = checkpoint
    elif checkpoint is not None:
        raise InputError("--checkpoint applies to --method monte-carlo only")

    def run(**extra: Any) -> Any:
        return st.reliability(method=method, failure_rate_scale=failure_rate_scale,
                              repair_time_scale=repair_time_scale, live_work_fraction=live_work_fraction,
                              tie_capacity=tie_capacity, upstream=upstream,
                              targets=parse_targets(targets, st.impact(tie_capacity).zones if targets else None),
                              **kw, **extra)

    if method != "monte-carlo":
        return run()
    return _run_mc_interruptible(run, checkpoint)


def _run_mc_interruptible(run: Callable[..., Any], checkpoint: str | None) -> Any:
    """Run a Monte-Carlo job so that Ctrl-C (SIGINT) stops it between chunks, prints the partial result
    (years done, SAIFI/SAIDI with standard errors) and exits 130 before anything is written; a second Ctrl-C
    interrupts at once."""
    import signal
    import threading

    from .errors import CancelledError

    stop = threading.Event()
    previous = None

    def on_sigint(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return run(cancel=stop.is_set)
    except CancelledError as exc:
        click.echo("\ninterrupted", err=True)
        partial = getattr(exc, "partial", None)
        if partial is not None:
            click.echo(_partial_text(partial, checkpoint))
        sys.exit(130)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _partial_text(res: Any, checkpoint: str | None) -> str:
    """Lines on the partial Monte-Carlo result of a cancelled run (nothing is written to files)."""
    lines = [f"partial Monte-Carlo result after {res.years:,} simulated years (seed {res.seed}; not written):"]
    for group in res.groups:
        saifi, saifi_se = res.mean("SAIFI", group=group), res.stderr("SAIFI", group=group)
        saidi, saidi_se = res.mean("SAIDI", group=group), res.stderr("SAIDI", group=group)
        lines.append(f"  {group:<12} SAIFI {saifi:.4f} ± {saifi_se:.4f} /yr   SAIDI {saidi:.4f} ± {saidi_se:.4f} h/yr")
    if checkpoint is not None:
        lines.append(f"state kept in {checkpoint}: run the same command again to resume")
    return "\n".join(lines)


def _write_reliability(ds: Any, netcdf: str | None, tables_dir: str | None, force: bool) -> None:
    from .reliability.report import write_reliability

    if netcdf is None and tables_dir is None:
        return
    written = write_reliability(ds, tables_dir, netcdf=netcdf, overwrite=force)
    if netcdf:
        click.echo(f"\nwrote {netcdf}")
    if tables_dir:
        click.echo(f"wrote reliability_{{zone,feeder,load,component}}.csv in {written[-1].parent}")


@main.command("reliability")
@click.argument("net_source", metavar="NET")
@_reliability_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the results dataset to this NetCDF file.")
@click.option("--tables", "tables_dir", type=click.Path(file_okay=False), default=None,
              help="Write zone/feeder/load/component tables as CSV into this folder.")
@click.option("--force", is_flag=True, help="Replace existing output files.")
@click.option("--top", type=int, default=5, show_default=True, help="Contributors to list.")
@click.option("--cemi", "cemi_n", type=click.IntRange(0, 1000), default=None, metavar="N",
              help="Also print CEMI-N: the share of customers with more than N interruptions a year.")
@click.option("--celid", "celid_h", type=click.FloatRange(0.0), default=None, metavar="T",
              help="Also print CELID-T: the share of customers with an interruption longer than T hours.")
@handle_errors
def reliability_cmd(net_source: str, out_path: str | None, tables_dir: str | None, force: bool, top: int,
                    cemi_n: int | None, celid_h: float | None, **options: Any) -> None:
    """Reliability indices (SAIFI, SAIDI, CAIDI, ASAI, ENS) by supply zone and feeder, vs zone targets."""
    from .reliability.report import reliability_summary

    st = _study(net_source)
    # Monte Carlo with --cemi N: the kernel counts each load point's interruptions per year (bins 0 .. N+1)
    # and with --celid T each load point's years with an interruption longer than T h
    ds = _run_reliability(st, interruption_counts=cemi_n + 1 if cemi_n is not None else None, celid_h=celid_h,
                          **options)
    click.echo(reliability_summary(ds, top=top))
    if cemi_n is not None or celid_h is not None:
        _print_frequent(st, ds, cemi_n, celid_h, options["live_work_fraction"], _TIE_MODES[options["tie_capacity"]])
    _write_reliability(ds, out_path, tables_dir, force)


def _print_frequent(st: Any, ds: Any, cemi_n: int | None, celid_h: float | None, live_work_fraction: float,
                    tie_capacity: bool | str) -> None:
    from .reliability.devices import celid_by_zone
    from .reliability.frequent import cemi_from_results

    def by_zone(values: Any) -> dict[str, float]:
        return dict(zip([str(z) for z in ds.zone.values], values.tolist(), strict=True))

    if cemi_n is not None:
        if "CEMI_mc" in ds:
            cemi = by_zone(ds["CEMI_mc"].isel(cemi_n=cemi_n).values)
            how = "sampled: each load point's yearly interruption count, mean over the simulated years"
        else:
            cemi = cemi_from_results(ds, cemi_n).to_dict()
            how = "Poisson from the per-load-point rates"
        click.echo(f"\nCEMI-{cemi_n} (customers with more than {cemi_n} interruptions a year; {how}):")
        click.echo("  " + "   ".join(f"{z} {v:.2%}" for z, v in cemi.items()))
    if celid_h is not None:
        if "CELID_mc" in ds:
            celid = by_zone(ds["CELID_mc"].sel(celid_h=celid_h).values)
            how = "sampled: each load point's years with an interruption longer than t, sampled durations"
        else:
            celid = celid_by_zone(st.impact(tie_capacity), celid_h, live_work_fraction=live_work_fraction).to_dict()
            how = "analytical, mean durations"
        click.echo(f"\nCELID-{celid_h:g}h (customers with an interruption longer than {celid_h:g} h in a year; "
                   f"{how}):")
        click.echo("  " + "   ".join(f"{z} {v:.2%}" for z, v in celid.items()))


@main.command("scenario")
@click.argument("net_source", metavar="NET")
@click.option("--failure-rate-scale", type=float, default=1.0, show_default=True)
@click.option("--repair-time-scale", type=float, default=1.0, show_default=True)
@click.option("--live-work-fraction", type=float, default=0.0, show_default=True)
@click.option("--programme-years", type=click.IntRange(1, 50), default=None,  # 50: beyond any planning horizon
              help="Instead: the yearly programme (−15 %% faults, −5 %% repair time per year) over N years "
              "(1 to 50).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None)
@click.option("--force", is_flag=True)
@handle_errors
def scenario_cmd(net_source: str, failure_rate_scale: float, repair_time_scale: float, live_work_fraction: float,
                 programme_years: int | None, out_path: str | None, force: bool) -> None:
    """What-if study: base and scenario side by side (SAIFI, SAIDI, ASAI, ENS per zone)."""
    import pandas as pd

    from .textfmt import format_table

    st = _study(net_source)
    if programme_years:
        ds = st.yearly_programme(years=programme_years, live_work_fraction=live_work_fraction or None)
    else:
        ds = st.scenario(failure_rate_scale=failure_rate_scale, repair_time_scale=repair_time_scale,
                         live_work_fraction=live_work_fraction)
    for name, unit in (("SAIFI", "1/yr"), ("SAIDI", "h/yr"), ("ASAI", "%"), ("ENS", "MWh/yr")):
        values = ds[name].to_pandas()
        if name == "ASAI":
            values = values * 100
        table = pd.DataFrame(values.T) if isinstance(values, pd.DataFrame) else pd.DataFrame(values)
        table.index.name = "zone"
        click.echo(f"\n{name} ({unit}):")
        click.echo(format_table(table, dict.fromkeys(map(str, table.columns), "{:.5f}" if name != "ASAI"
                                                     else "{:.4f}")))
    if out_path:
        _write_reliability(ds, out_path, None, force)


# ------------------------------------------------------------------------------------------------ main job
@main.command("run")
@click.argument("net_source", metavar="NET")
@_reliability_options
@click.option("--scaling", type=float, default=1.0, show_default=True, help="Planning load = peak × scaling.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the result files (default: gridscope-results/<network>-<time>).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Column headers of the open-capacity workbook.")
@click.option("--force", is_flag=True, help="Replace an existing non-empty --out folder (as a whole, once the new "
              "results are complete).")
@handle_errors
def run_cmd(net_source: str, scaling: float, out_dir: str | None, lang: str, force: bool, **options: Any) -> None:
    """The main job: validate NET, reliability by zone vs targets, flagged equipment, open capacity; write tables.

    Writes reliability.nc, reliability_{zone,feeder,load,component}.csv, reliability.png, flags.csv and
    open_capacity.xlsx (one sheet per level) into the output folder.
    """
    import datetime as dt
    import re
    from pathlib import Path

    from .capacity.export import write_flags_csv
    from .capacity.report import flag_counts, flags_text
    from .grid.io import atomic_folder, folder_problems
    from .reliability.plots import save_reliability_figure
    from .reliability.report import reliability_summary, write_reliability
    from .textfmt import format_table

    if out_dir is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(net_source).rsplit("/", 1)[-1])
        folder = Path("gridscope-results") / f"{slug}-{stamp}"
    else:
        folder = Path(out_dir)
    problems = folder_problems(folder, force=force)  # before any work: a refused folder costs nothing
    if Path(net_source).is_file() and Path(net_source).resolve().is_relative_to(folder.resolve()):
        problems.append(f"{folder} holds the input network {net_source}: gridscope never replaces its input")
    if problems:
        raise InputError(f"--out: {problems[0]}")
    st = _study(net_source)
    st.check()
    s = st.summary()
    click.echo(f"{st.name}: {s['buses']} buses, {s['feeders']} feeders, {s['ties']} ties, {s['load_points']} load "
               f"points, {s['customers']} customers; validation: no problems")
    click.echo("")
    ds = _run_reliability(st, **options)
    click.echo(reliability_summary(ds))

    cap = st.capacity(scaling=scaling, progress=progress_bar())
    flags = cap.flags
    click.echo("")
    if len(flags):
        click.echo(f"Flagged equipment at planning load (peak × {scaling:g}): {flag_counts(flags).split(': ', 1)[1]}")
        click.echo(flags_text(flags, top=15).replace(" more", " more in flags.csv"))
    else:
        click.echo(f"Flagged equipment at planning load (peak × {scaling:g}): none")
    click.echo("")
    click.echo(cap.summary())
    feeders = cap.table("feeder")
    if len(feeders):
        cols = [c for c in ("name", "rating_mva", "peak_mva", "load_rate_percent", "reserved_mva",
                            "open_capacity_mva", "n1_open_capacity_mva", "binding_element", "grade")
                if c in feeders.columns]
        click.echo("\nOpen capacity per feeder (可开放容量):")
        click.echo(format_table(feeders[cols].head(20).set_index("name"),
                                dict.fromkeys(["rating_mva", "peak_mva", "reserved_mva", "open_capacity_mva",
                                               "n1_open_capacity_mva"], "{:.3f}") | {"load_rate_percent": "{:.1f}"}))


    def fill(tmp: Path) -> None:  # the whole folder or nothing: written beside it, renamed when complete
        write_reliability(ds, tmp, netcdf=tmp / "reliability.nc")
        save_reliability_figure(ds, tmp / "reliability.png")
        write_flags_csv(flags, tmp / "flags.csv")
        cap.to_excel(tmp / "open_capacity.xlsx", lang=lang)

    atomic_folder(folder, fill, force=force)
    click.echo(f"\nwrote reliability.nc, reliability_{{zone,feeder,load,component}}.csv, reliability.png, "
               f"flags.csv and open_capacity.xlsx in {folder}")


# ------------------------------------------------------------------------------------ capacity: open capacity
def _parse_xy(text: str) -> tuple[float, float]:
    parts = text.replace(";", ",").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(f"--at needs X,Y (two numbers), got {text!r}") from None


@main.command("capacity")
@click.argument("net_source", metavar="NET")
@click.option("--level", "levels", multiple=True, type=click.Choice(CAPACITY_LEVELS),
              help="Level(s) to print and write (repeatable; default: all five).")
@click.option("--scaling", type=float, default=1.0, show_default=True, help="Factor on every load.")
@click.option("--out", "out_path", default=None, metavar="FILE",
              help="Write the tables: open_capacity.xlsx (one sheet per level + metadata), .json, or .csv "
                   "(one file per level, FILE's stem as prefix).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Column headers of the written tables.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--head", "n_head", type=int, default=10, show_default=True, help="Rows printed per level.")
@click.option("--profiles", default=None, metavar="simbench|FILE",
              help="Peak loading over a time series ('simbench' or a profile CSV) instead of one snapshot.")
@click.option("--exact-bus", is_flag=True,
              help="Exact AC bus open capacity (voltage and thermal limits, planning and physical): the default.")
@click.option("--thermal-only", is_flag=True,
              help="Bus table without the exact AC, voltage-aware capacity (thermal path arithmetic only).")
@click.option("--pf", type=float, default=LOAD_PF, show_default=True,
              help="Power factor of the load for the exact bus capacity and --seasonal.")
@click.option("--reserved", "reserved_path", default=None, metavar="FILE",
              help="Reserved capacity (已批未接) from a CSV/Excel file: element, element_index or name, p_mw or p_kw.")
@click.option("--disclosure", "disclosure_path", default=None, metavar="FILE.xlsx|FILE.csv",
              help="Write the disclosure table (station / main transformer / feeder / 配变 rows; --lang headers).")
@click.option("--seasonal", "seasonal_path", default=None, metavar="FILE.nc|FILE.csv",
              help="With --profiles: open capacity per feeder and 配变 per season and hour of a typical day "
                   "(worst day per season and hour).")
@click.option("--customer-profile", "customer", default=None, metavar="commercial|ev|FILE",
              help="With --seasonal: a new customer's daily shape (24 or 96 values); adds the largest peak MW "
                   "it can have at each element (coincident peak).")
@handle_errors
def capacity_cmd(net_source: str, levels: tuple[str, ...], scaling: float, out_path: str | None, lang: str,
                 force: bool, n_head: int, profiles: str | None, exact_bus: bool, thermal_only: bool, pf: float,
                 reserved_path: str | None, disclosure_path: str | None, seasonal_path: str | None,
                 customer: str | None) -> None:
    """Loading flags and open capacity (可开放容量) of NET at five levels.

    Prints the number of flags and the head of each level's table (open capacity and N-1 open capacity in
    MVA, binding element, grade). Exit code 0 on success, 4 for invalid input, 5 when the power flow does
    not converge.
    """
    from .capacity.report import capacity_text, flag_counts

    lower = (out_path or "").lower()
    if out_path is not None and not (lower.endswith((".xlsx", ".json", ".csv")) or out_path.endswith(("/", "\\"))):
        raise InputError(f"--out must end in .xlsx, .csv or .json (or be a directory/), got {out_path!r}")
    if disclosure_path is not None and not disclosure_path.lower().endswith((".xlsx", ".csv")):
        raise InputError(f"--disclosure must end in .xlsx or .csv, got {disclosure_path!r}")
    if seasonal_path is not None and not seasonal_path.lower().endswith((".nc", ".csv")):
        raise InputError(f"--seasonal must end in .nc or .csv, got {seasonal_path!r}")
    if seasonal_path is not None and profiles is None:
        raise InputError("--seasonal needs --profiles (simbench or a profile CSV with timestamps)")
    if customer is not None and seasonal_path is None:
        raise InputError("--customer-profile needs --seasonal FILE")
    if customer is not None:
        from .capacity.seasonal import customer_shape

        customer_shape(customer)  # a bad shape is refused before any power flow (exit 4)
    st = _study(net_source, validate=False)
    if reserved_path is not None:
        from .capacity.reserved import read_reserved

        reserved = read_reserved(reserved_path, st.net)  # every bad row listed at once (exit 4)
        st = st.edited(lambda net: net.__setitem__("reserved_capacity", reserved))
    if exact_bus and thermal_only:
        raise InputError("--exact-bus and --thermal-only contradict each other")
    # default (neither flag): exact bus capacity up to settings.EXACT_BUS_DEFAULT_MAX_BUSES buses
    cap = st.capacity(scaling=scaling, profiles=profiles, exact_bus=True if exact_bus else False if thermal_only
                      else None, thermal_only=thermal_only, bus_pf=pf, progress=progress_bar())
    click.echo(f"{net_source}: {flag_counts(cap.flags)}")
    if cap.meta.get("exact_bus_note"):
        click.echo(f"note: {cap.meta['exact_bus_note']}")
    chosen = list(levels) or list(CAPACITY_LEVELS)
    click.echo("\n" + capacity_text(cap, chosen, head=n_head))
    if out_path is not None:
        if lower.endswith(".xlsx"):
            written = cap.to_excel(out_path, lang=lang, overwrite=force, levels=chosen)
        elif lower.endswith(".json"):
            written = cap.to_json(out_path, lang=lang, overwrite=force, levels=chosen)
        else:
            written = cap.to_csv(out_path, lang=lang, overwrite=force, levels=chosen)
        click.echo("\nwrote " + ", ".join(str(p) for p in written))
    if disclosure_path is not None:
        from .capacity.disclosure import write_disclosure

        written = write_disclosure(cap, disclosure_path, lang=lang, overwrite=force)
        click.echo("wrote disclosure table " + ", ".join(str(p) for p in written))
    if seasonal_path is not None:
        from .capacity.seasonal import seasonal_open_capacity, seasonal_text, write_seasonal

        ds = seasonal_open_capacity(st.net, profiles, customer=customer, pf=pf, scaling=scaling,
                                    progress=progress_bar())
        click.echo("\n" + seasonal_text(ds, head=n_head))
        click.echo(f"wrote seasonal curves {write_seasonal(ds, seasonal_path, lang=lang, overwrite=force)}")


@main.command("connect")
@click.argument("net_source", metavar="NET")
@click.option("--p-mw", type=float, required=True, help="Requested active power, MW.")
@click.option("--bus", type=int, default=None, help="Connect at this bus (pandapower index).")
@click.option("--at", "at", default=None, metavar="X,Y",
              help="Connect near this point (bus coordinate system: lon,lat or km).")
@click.option("--pf", type=float, default=LOAD_PF, show_default=True, help="Power factor of the load (lagging).")
@click.option("--radius", type=float, default=None, metavar="KM", help="Candidates within this distance.")
@click.option("--scaling", type=float, default=1.0, show_default=True, help="Factor on every load.")
@click.option("--out", "out_path", default=None, metavar="FILE.xlsx|FILE.json",
              help="Write the candidates and reinforcements.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.option("--reliability", "with_reliability", is_flag=True,
              help="Also the reliability impact: system SAIFI/SAIDI/ENS before and after, and the new customer's "
                   "expected interruptions and hours per year.")
@handle_errors
def connect_cmd(net_source: str, p_mw: float, bus: int | None, at: str | None, pf: float, radius: float | None,
                scaling: float, out_path: str | None, lang: str, force: bool, with_reliability: bool) -> None:
    """Evaluate connecting a load of P_MW to NET at --bus or near --at X,Y (就近接入).

    Prints the decision -- connect, connect_then_reinforce (先接入、后改造) or reject -- with the ranked
    candidate points and the elements to reinforce. A "reject" decision is a valid answer: the exit code is 0.
    Non-zero exit codes mean invalid input (4: unknown bus, bad size, location far outside the grid) or a
    power flow that does not converge (5).
    """
    if (bus is None) == (at is None):
        raise InputError("give exactly one of --bus and --at X,Y")
    location = _parse_xy(at) if at is not None else None
    if out_path is not None and not out_path.lower().endswith((".xlsx", ".json")):
        raise InputError(f"--out must end in .xlsx or .json, got {out_path!r}")
    st = _study(net_source, validate=False)
    dec = st.connection(p_mw, bus=bus, location=location, pf=pf, radius=radius, scaling=scaling,
                        reliability=with_reliability, progress=progress_bar())
    click.echo(dec.summary())
    if out_path is not None:
        writer = dec.to_json if out_path.lower().endswith(".json") else dec.to_excel
        click.echo("wrote " + ", ".join(str(p) for p in writer(out_path, lang=lang, overwrite=force)))


register_study(main)  # gridscope study / gridscope compare (the annual runs)
register_outages(main)  # gridscope outages (planned jobs, 先算后停)
