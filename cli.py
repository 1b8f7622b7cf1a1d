"""The ``gridscope`` command line (click). Thin: parse, call the API, print or write.

Heavy libraries are imported inside the commands so ``gridscope --help`` stays instant. Every
:class:`~gridscope.errors.GridscopeError` is printed as one clear message (no traceback) and mapped to its
exit code; validation problems are printed as a table.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from .errors import GridscopeError, ValidationError


def print_problems(problems: list[Any], *, file: Any = None) -> None:
    """Print validation problems as an aligned table (table, index, name, message)."""
    out = file or sys.stderr
    rows = [(str(p.table), str(p.index), str(p.name if p.name is not None else ""), str(p.message))
            for p in problems]
    head = ("table", "index", "name", "problem")
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(3)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(head[:3], widths, strict=True)) + "  " + head[3], file=out)
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3], file=out)
    click.echo(f"{len(problems)} problem(s)", file=out)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for commands: print gridscope errors without a traceback and exit with their code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            print_problems(exc.problems)
            sys.exit(exc.exit_code)
        except GridscopeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gridscope")
def main() -> None:
    """gridscope: distribution-grid reliability and capacity analysis.

    NET is a built-in name (rbts2, rbts2-e, mv_oberrhein, cigre_mv, case33bw), a pandapower .json/.xlsx
    file, or simbench:<code>.
    """


# Commands are added below, one block per area (network, reliability, capacity). Keep each block thin.


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
    from .grid.io import load_network
    from .grid.topology import build_topology
    from .grid.validation import validate

    net = load_network(net_source)
    try:
        topo = build_topology(net)
    except Exception:  # too broken for a graph: validate reports why
        topo = None
    problems = validate(net, default_zone=default_zone, topology=topo)
    if problems or topo is None:
        print_problems(problems, file=click.get_text_stream("stdout"))
        sys.exit(2)
    click.echo(f"{net_source}: no problems ({topo.n_bus} buses, {len(topo.feeders)} feeders, "
               f"{len(topo.ties)} ties)")


def _parse_feeder_zones(items: tuple[str, ...]) -> dict[str, str]:
    from .errors import InputError

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
              help="CSV with a 'zone' column and a 'bus' (name or index) or 'feeder' column.")
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

    from .errors import InputError
    from .grid.io import load_network, save_network
    from .grid.topology import build_topology
    from .grid.zones import assign_zones_by_density, assign_zones_by_feeder, assign_zones_from_mapping

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
        z = zone[feeder == name].dropna().astype(str)
        counts = z.value_counts()
        label = "/".join(counts.index) if len(counts) else "-"
        rows.append((str(name), label, str(int((feeder == name).sum()))))
    head = ("feeder", "zone", "buses")
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(3)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    save_network(net, out, overwrite=True)
    click.echo(f"saved {out}")


# ------------------------------------------------------------------------------------ capacity: flags
def _fmt_cell(value: Any, kind: str) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "pct":
        return f"{float(value):.1f}"
    if kind == "pu":
        return f"{float(value):.4f}"
    if kind == "h":
        return f"{float(value):g}"
    return str(value)


def _stderr_progress() -> Callable[[int, int], None] | None:
    """A one-line progress indicator on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def report(done: int, total: int) -> None:
        click.echo(f"\rpower flow: {done}/{total} steps ({100 * done / max(total, 1):.0f} %)", err=True, nl=False)
        if done >= total:
            click.echo("", err=True)

    return report


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
@click.option("--line-limit", type=float, default=70.0, show_default=True, help="Line heavy-load limit, %.")
@click.option("--trafo-limit", type=float, default=80.0, show_default=True,
              help="Transformer heavy-load limit, %.")
@click.option("--overload", type=float, default=100.0, show_default=True, help="Overload limit, %.")
@click.option("--v-band", type=float, default=0.07, show_default=True,
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
    from .capacity.flags import Thresholds, flag_loading
    from .capacity.powerflow import run_snapshot, run_timeseries
    from .errors import InputError
    from .grid.io import atomic_write, load_network

    if out_path is not None and not out_path.lower().endswith(".csv"):
        raise InputError(f"--out must end in .csv, got {out_path!r}")
    th = Thresholds(line_heavy=line_limit, trafo_heavy=trafo_limit, trafo3w_heavy=trafo_limit,
                    overload=overload, v_band_pu=v_band)
    net = load_network(net_source)
    if profiles is None:
        peak = run_snapshot(net, scaling=scaling, include_sgen=bool(include_sgen))
    else:
        peak = run_timeseries(net, profiles, engine=engine, scaling=scaling, thresholds=th,
                              include_sgen=True if include_sgen is None else include_sgen,
                              progress=_stderr_progress())
    flags = flag_loading(net, peak, thresholds=th)
    s = peak.summary()
    click.echo(f"{net_source}: {peak.method}, {peak.n_steps} step(s), scaling {scaling:g}; max line loading "
               f"{s['max_line_loading_percent']:.1f} %, max transformer loading {s['max_trafo_loading_percent']:.1f} "
               f"%, voltage {s['vm_min_pu']:.4f}..{s['vm_max_pu']:.4f} pu")
    counts = flags["severity"].value_counts().to_dict() if len(flags) else {}
    click.echo(f"{len(flags)} flag(s)" + (": " + ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else ""))
    if len(flags):
        shown = flags if top <= 0 else flags.head(top)
        cols = [("element", "element", "s"), ("index", "index", "s"), ("name", "name", "s"),
                ("feeder", "feeder", "s"), ("zone", "zone", "s"), ("vn_kv", "kV", "s"),
                ("loading_percent", "loading %", "pct"), ("vm_pu", "vm pu", "pu"),
                ("limit_percent", "limit %", "pct"), ("when", "when", "s"), ("severity", "severity", "s")]
        if peak.is_timeseries:
            cols.append(("hours_above", "hours", "h"))
        rows = [[_fmt_cell(r[c], kind) for c, _, kind in cols] for r in shown.to_dict("records")]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, (_, h, _) in enumerate(cols)]
        click.echo("  ".join(h.ljust(w) for (_, h, _), w in zip(cols, widths, strict=True)).rstrip())
        for row in rows:
            click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if len(shown) < len(flags):
            click.echo(f"... {len(flags) - len(shown)} more (--top 0 shows all, --out writes all)")
    if out_path is not None:
        dest = atomic_write(out_path, lambda tmp: flags.to_csv(tmp, index=False), overwrite=force)
        click.echo(f"wrote {dest}")


# ------------------------------------------------------------------------------------------------ reliability
def _fmt_table(df: Any, floatfmt: dict[str, str] | None = None) -> str:
    """Render a DataFrame as an aligned plain-text table (index included)."""
    floatfmt = floatfmt or {}
    cols = [df.index.name or "", *map(str, df.columns)]
    rows = []
    for idx, row in df.iterrows():
        cells = [str(idx)]
        for c, v in row.items():
            fmt = floatfmt.get(str(c), "{:.4g}")
            if isinstance(v, float):
                cells.append("-" if v != v else fmt.format(v))
            else:
                cells.append(str(v))
        rows.append(cells)
    widths = [max(len(cols[i]), *(len(r[i]) for r in rows)) if rows else len(cols[i]) for i in range(len(cols))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cols, widths, strict=True)))]
    for r in rows:
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)


def reliability_summary(ds: Any, *, top: int = 5) -> str:
    """Text report of a reliability dataset: zones vs targets, feeders, top contributors."""
    import pandas as pd

    from .reliability.results import contributions

    zone = pd.DataFrame({
        "customers": ds["customers"].values,
        "SAIFI": ds["SAIFI"].values,
        "SAIDI_h": ds["SAIDI"].values,
        "CAIDI_h": ds["CAIDI"].values,
        "ASAI_%": ds["ASAI"].values * 100,
        "ENS_MWh": ds["ENS"].values,
        "target_%": ds["asai_target"].values * 100,
        "margin_h": ds["margin_h"].values,
    }, index=pd.Index(ds.zone.values, name="zone"))
    zone["meets"] = ["-" if m != m else ("yes" if m else "NO") for m in ds["meets_target"].values]
    if "SAIDI_stderr" in ds:
        zone.insert(3, "±SE_h", ds["SAIDI_stderr"].values)
    if "p_miss_target" in ds:
        zone["P(year misses)"] = ds["p_miss_target"].values
    fmt = {"customers": "{:.0f}", "ASAI_%": "{:.4f}", "target_%": "{:.3f}", "SAIDI_h": "{:.4f}",
           "SAIFI": "{:.4f}", "CAIDI_h": "{:.3f}", "ENS_MWh": "{:.3f}", "margin_h": "{:+.3f}", "±SE_h": "{:.4f}",
           "P(year misses)": "{:.3f}"}
    feeder = pd.DataFrame({
        "customers": ds["feeder_customers"].values,
        "SAIFI": ds["feeder_SAIFI"].values,
        "SAIDI_h": ds["feeder_SAIDI"].values,
        "CAIDI_h": ds["feeder_CAIDI"].values,
        "ENS_MWh": ds["feeder_ENS"].values,
    }, index=pd.Index(ds.feeder.values, name="feeder"))
    feeder = feeder.sort_values("SAIDI_h", ascending=False)
    head = f"Reliability of {ds.attrs.get('network', '')} ({ds.attrs.get('method')}"
    if ds.attrs.get("method") == "monte-carlo":
        head += f", {int(ds.attrs.get('years', 0)):,} years, seed {ds.attrs.get('seed')}"
    head += ")"
    parts = [head, "", "By supply zone (fault + planned) vs targets:", _fmt_table(zone, fmt)]
    if (ds["SAIDI_planned"] > 0).any():
        split = pd.DataFrame({"SAIDI_fault_h": ds["SAIDI_fault"].values, "SAIDI_planned_h": ds["SAIDI_planned"].values},
                             index=pd.Index(ds.zone.values, name="zone"))
        parts += ["", "Fault / planned (故障 / 预安排):", _fmt_table(split, {"SAIDI_fault_h": "{:.4f}",
                                                                          "SAIDI_planned_h": "{:.4f}"})]
    shown = feeder.head(15)
    parts += ["", f"By feeder (worst {len(shown)} of {len(feeder)} by SAIDI):", _fmt_table(shown, fmt)]
    top_df = contributions(ds, zone="system", top=top)
    if len(top_df):
        t = top_df.set_index(top_df["element"] + " " + top_df["index"].astype(str))
        t.index.name = "component"
        t = t[["name", "feeder", "SAIDI_h", "SAIDI_share", "ENS_mwh"]]
        parts += ["", f"Top {len(t)} contributors to system SAIDI:",
                  _fmt_table(t, {"SAIDI_h": "{:.4f}", "SAIDI_share": "{:.1%}", "ENS_mwh": "{:.3f}"})]
    if int(ds.attrs.get("tie_transfers_blocked", 0)):
        parts += ["", f"Tie transfers refused by the capacity check: {ds.attrs['tie_transfers_blocked']} "
                  f"(expected {float(ds.attrs.get('tie_transfers_blocked_per_yr', 0.0)):.4f} times per year)"]
    return "\n".join(parts)


def _parse_targets(items: tuple[str, ...]) -> dict[str, float]:
    from .errors import InputError

    out, bad = {}, []
    for item in items:
        zone, _, value = item.partition("=")
        try:
            out[zone.strip()] = float(value)
        except ValueError:
            bad.append(item)
    if bad:
        raise InputError(f"--target takes ZONE=PERCENT (e.g. B=99.965), got: {', '.join(bad)}")
    return out


def _progress_printer() -> Callable[..., Any] | None:
    """A one-line progress bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    import time

    start = time.monotonic()

    def show(done: int, total: int, info: Any = None) -> None:
        frac = min(1.0, done / total) if total else 0.0
        elapsed = time.monotonic() - start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r[{bar:<30}] {done:,}/{total:,} years  ETA {eta:5.1f} s  (Ctrl-C to cancel)")
        sys.stderr.flush()
        if done >= total:
            sys.stderr.write("\n")

    return show


def _reliability_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--method", type=click.Choice(["analytical", "monte-carlo"]), default="analytical",
                     show_default=True),
        click.option("--years", type=int, default=None, help="Monte Carlo: simulated years (default 100000)."),
        click.option("--seed", type=int, default=1, show_default=True, help="Monte Carlo seed."),
        click.option("--target-cov", type=float, default=None,
                     help="Monte Carlo: stop when the CoV of every zone's mean SAIDI is at most this."),
        click.option("--max-years", type=int, default=1_000_000, show_default=True),
        click.option("--threads", type=int, default=None, help="Monte Carlo threads (default: all cores)."),
        click.option("--repair-dist", type=click.Choice(["exponential", "fixed", "lognormal", "gamma"]),
                     default="exponential", show_default=True),
        click.option("--failure-rate-scale", type=float, default=1.0, show_default=True),
        click.option("--repair-time-scale", type=float, default=1.0, show_default=True),
        click.option("--live-work-fraction", type=float, default=0.0, show_default=True,
                     help="Share of planned jobs done live (不停电作业)."),
        click.option("--tie-capacity", is_flag=True, help="Transfer through a tie only if the backup feeder can "
                     "carry the block (peak load)."),
        click.option("--target", "targets", multiple=True, metavar="ZONE=PERCENT",
                     help="Override a zone's ASAI target, e.g. --target B=99.97."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run_reliability(net: Any, method: str, years: int | None, seed: int, target_cov: float | None,
                     max_years: int, threads: int | None, repair_dist: str, failure_rate_scale: float,
                     repair_time_scale: float, live_work_fraction: float, tie_capacity: bool,
                     targets: tuple[str, ...]) -> Any:
    import gridscope as gs

    kw: dict[str, Any] = {}
    if method == "monte-carlo":
        if years is None and target_cov is None:
            years = 100_000
        kw = {"years": years, "seed": seed, "target_cov": target_cov, "max_years": max_years,
              "threads": threads, "repair_dist": repair_dist, "progress": _progress_printer()}
    return gs.assess_reliability(
        net, method=method, failure_rate_scale=failure_rate_scale, repair_time_scale=repair_time_scale,
        live_work_fraction=live_work_fraction, tie_capacity=tie_capacity, targets=_parse_targets(targets), **kw)


@main.command("reliability")
@click.argument("net_source", metavar="NET")
@_reliability_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the results dataset to this NetCDF file.")
@click.option("--tables", "tables_dir", type=click.Path(file_okay=False), default=None,
              help="Write zone/feeder/load/component tables as CSV into this folder.")
@click.option("--force", is_flag=True, help="Replace existing output files.")
@click.option("--top", type=int, default=5, show_default=True, help="Contributors to list.")
@handle_errors
def reliability_cmd(net_source: str, out_path: str | None, tables_dir: str | None, force: bool, top: int,
                    **options: Any) -> None:
    """Reliability indices (SAIFI, SAIDI, CAIDI, ASAI, ENS) by supply zone and feeder, vs zone targets."""
    import gridscope as gs

    net = gs.load_network(net_source)
    ds = _run_reliability(net, **options)
    click.echo(reliability_summary(ds, top=top))
    _write_reliability_outputs(ds, out_path, tables_dir, force)


def _write_reliability_outputs(ds: Any, out_path: str | None, tables_dir: str | None, force: bool) -> None:
    from pathlib import Path

    from .grid.io import atomic_write
    from .reliability.io import write_netcdf
    from .reliability.results import to_dataframe

    if out_path:
        write_netcdf(ds, out_path, overwrite=force)
        click.echo(f"\nwrote {out_path}")
    if tables_dir:
        folder = Path(tables_dir)
        for kind in ("zone", "feeder", "load", "component"):
            path = folder / f"reliability_{kind}.csv"
            atomic_write(path, lambda tmp, k=kind: to_dataframe(ds, k).to_csv(tmp), overwrite=force)
        click.echo(f"wrote reliability_{{zone,feeder,load,component}}.csv in {folder}")


@main.command("scenario")
@click.argument("net_source", metavar="NET")
@click.option("--failure-rate-scale", type=float, default=1.0, show_default=True)
@click.option("--repair-time-scale", type=float, default=1.0, show_default=True)
@click.option("--live-work-fraction", type=float, default=0.0, show_default=True)
@click.option("--programme-years", type=int, default=None,
              help="Instead: the yearly programme (−15 %% faults, −5 %% repair time per year) over N years.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None)
@click.option("--force", is_flag=True)
@handle_errors
def scenario_cmd(net_source: str, failure_rate_scale: float, repair_time_scale: float, live_work_fraction: float,
                 programme_years: int | None, out_path: str | None, force: bool) -> None:
    """What-if study: base and scenario side by side (SAIFI, SAIDI, ASAI, ENS per zone)."""
    import gridscope as gs
    import pandas as pd

    net = gs.load_network(net_source)
    if programme_years:
        ds = gs.reliability.yearly_programme(net, years=programme_years, live_work_fraction=live_work_fraction
                                             or None)
    else:
        ds = gs.reliability.scenario(net, failure_rate_scale=failure_rate_scale,
                                     repair_time_scale=repair_time_scale, live_work_fraction=live_work_fraction)
    for name, unit in (("SAIFI", "1/yr"), ("SAIDI", "h/yr"), ("ASAI", "%"), ("ENS", "MWh/yr")):
        values = ds[name].to_pandas()
        if name == "ASAI":
            values = values * 100
        table = pd.DataFrame(values.T) if isinstance(values, pd.DataFrame) else pd.DataFrame(values)
        table.index.name = "zone"
        click.echo(f"\n{name} ({unit}):")
        click.echo(_fmt_table(table, dict.fromkeys(map(str, table.columns), "{:.5f}" if name != "ASAI"
                                                   else "{:.4f}")))
    if out_path:
        from .reliability.io import write_netcdf

        write_netcdf(ds, out_path, overwrite=force)
        click.echo(f"\nwrote {out_path}")


# ------------------------------------------------------------------------------------------------ main job
@main.command("run")
@click.argument("net_source", metavar="NET")
@_reliability_options
@click.option("--scaling", type=float, default=1.0, show_default=True, help="Planning load = peak × scaling.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the result files (default: gridscope-results/<network>-<time>).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Column headers of the open-capacity workbook.")
@click.option("--force", is_flag=True, help="Replace files in an existing --out folder.")
@handle_errors
def run_cmd(net_source: str, scaling: float, out_dir: str | None, lang: str, force: bool, **options: Any) -> None:
    """The main job: validate NET, reliability by zone vs targets, flagged equipment, open capacity; write tables.

    Writes reliability.nc, reliability_{zone,feeder,load,component}.csv, reliability.png, flags.csv and
    open_capacity.xlsx (one sheet per level) into the output folder.
    """
    import datetime as dt
    import re
    from pathlib import Path

    import gridscope as gs

    from .grid.io import atomic_write

    net = gs.load_network(net_source)
    topo = gs.build_topology(net)
    problems = gs.validate(net, topology=topo)
    if problems:
        raise gs.ValidationError(problems)
    s = topo.summary()
    click.echo(f"{net.name or net_source}: {s['buses']} buses, {s['feeders']} feeders, {s['ties']} ties, "
               f"{len(net.load)} load points, {int(net.load['customers'].sum())} customers; validation: no problems")
    click.echo("")
    ds = _run_reliability(net, **options)
    click.echo(reliability_summary(ds))

    cap = gs.assess_capacity(net, scaling=scaling)
    flags = cap.flags
    click.echo("")
    if len(flags):
        counts = ", ".join(f"{n} {k}" for k, n in flags["severity"].value_counts().items())
        click.echo(f"Flagged equipment at planning load (peak × {scaling:g}): {counts}")
        cols = [c for c in ("element", "index", "name", "feeder", "zone", "loading_percent", "vm_pu",
                            "limit_percent", "severity") if c in flags.columns]
        shown = flags[cols].head(15).set_index("element")
        click.echo(_fmt_table(shown, {"loading_percent": "{:.1f}", "vm_pu": "{:.4f}", "limit_percent": "{:.0f}"}))
        if len(flags) > len(shown):
            click.echo(f"... {len(flags) - len(shown)} more in flags.csv")
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
        click.echo(_fmt_table(feeders[cols].head(20).set_index("name"),
                              dict.fromkeys(["rating_mva", "peak_mva", "reserved_mva", "open_capacity_mva",
                                             "n1_open_capacity_mva"], "{:.3f}") | {"load_rate_percent": "{:.1f}"}))

    if out_dir is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(net_source).rsplit("/", 1)[-1])
        folder = Path("gridscope-results") / f"{slug}-{stamp}"
    else:
        folder = Path(out_dir)
    _write_reliability_outputs(ds, str(folder / "reliability.nc"), str(folder), force)
    from .reliability.plots import save_reliability_figure

    save_reliability_figure(ds, folder / "reliability.png", overwrite=force)
    atomic_write(folder / "flags.csv", lambda tmp: flags.to_csv(tmp, index=False), overwrite=force)
    cap.to_excel(folder / "open_capacity.xlsx", lang=lang, overwrite=force)
    click.echo(f"wrote reliability.png, flags.csv and open_capacity.xlsx in {folder}")


# ------------------------------------------------------------------------------------ capacity: open capacity
_CAP_LEVELS = ["substation", "main_transformer", "feeder", "distribution_transformer", "bus"]


def _parse_xy(text: str) -> tuple[float, float]:
    from .errors import InputError

    parts = text.replace(";", ",").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(f"--at needs X,Y (two numbers), got {text!r}") from None


@main.command("capacity")
@click.argument("net_source", metavar="NET")
@click.option("--level", "levels", multiple=True, type=click.Choice(_CAP_LEVELS),
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
              help="Add the exact AC bus open capacity (voltage and thermal limits, planning and physical).")
@click.option("--pf", type=float, default=0.95, show_default=True, help="Power factor of the load for --exact-bus.")
@handle_errors
def capacity_cmd(net_source: str, levels: tuple[str, ...], scaling: float, out_path: str | None, lang: str,
                 force: bool, n_head: int, profiles: str | None, exact_bus: bool, pf: float) -> None:
    """Loading flags and open capacity (可开放容量) of NET at five levels.

    Prints the number of flags and the head of each level's table (open capacity and N-1 open capacity in
    MVA, binding element, grade). Exit code 0 on success, 4 for invalid input, 5 when the power flow does
    not converge.
    """
    from .capacity.api import assess_capacity
    from .grid.io import load_network

    net = load_network(net_source)
    cap = assess_capacity(net, scaling=scaling, profiles=profiles, exact_bus=exact_bus, bus_pf=pf)
    counts = cap.flags["severity"].value_counts().to_dict() if len(cap.flags) else {}
    click.echo(f"{net_source}: {len(cap.flags)} flag(s)"
               + (": " + ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else ""))
    chosen = list(levels) or _CAP_LEVELS
    cols = ["id", "name", "rating_mva", "load_rate_percent", "reserved_mva", "open_capacity_mva",
            "n1_open_capacity_mva", "binding_element", "grade"]
    fmt = dict.fromkeys(["rating_mva", "reserved_mva", "open_capacity_mva", "n1_open_capacity_mva"], "{:.3f}")
    fmt["load_rate_percent"] = "{:.1f}"
    for level in chosen:
        t = cap.table(level)
        click.echo(f"\n{level} ({len(t)} rows)")
        if len(t):
            shown = cols + [c for c in ("ac_open_capacity_mw", "ac_binding_element", "ac_physical_capacity_mw")
                            if c in t.columns]
            click.echo(_fmt_table(t[shown].head(n_head).set_index("id"),
                                  fmt | {"ac_open_capacity_mw": "{:.3f}", "ac_physical_capacity_mw": "{:.3f}"}))
    if out_path is not None:
        from .errors import InputError

        lower = out_path.lower()
        if lower.endswith(".xlsx"):
            written = cap.to_excel(out_path, lang=lang, overwrite=force, levels=chosen)
        elif lower.endswith(".json"):
            written = cap.to_json(out_path, lang=lang, overwrite=force, levels=chosen)
        elif lower.endswith(".csv") or out_path.endswith(("/", "\\")):
            written = cap.to_csv(out_path, lang=lang, overwrite=force, levels=chosen)
        else:
            raise InputError(f"--out must end in .xlsx, .csv or .json (or be a directory/), got {out_path!r}")
        click.echo("\nwrote " + ", ".join(str(p) for p in written))


@main.command("connect")
@click.argument("net_source", metavar="NET")
@click.option("--p-mw", type=float, required=True, help="Requested active power, MW.")
@click.option("--bus", type=int, default=None, help="Connect at this bus (pandapower index).")
@click.option("--at", "at", default=None, metavar="X,Y",
              help="Connect near this point (bus coordinate system: lon,lat or km).")
@click.option("--pf", type=float, default=0.95, show_default=True, help="Power factor of the load (lagging).")
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
    from .capacity.connection import evaluate_connection
    from .errors import InputError
    from .grid.io import load_network

    if (bus is None) == (at is None):
        raise InputError("give exactly one of --bus and --at X,Y")
    location = _parse_xy(at) if at is not None else None
    if out_path is not None and not out_path.lower().endswith((".xlsx", ".json")):
        raise InputError(f"--out must end in .xlsx or .json, got {out_path!r}")
    net = load_network(net_source)
    dec = evaluate_connection(net, p_mw, bus=bus, location=location, pf=pf, radius=radius, scaling=scaling,
                              reliability=with_reliability)
    click.echo(dec.summary())
    if out_path is not None:
        writer = dec.to_json if out_path.lower().endswith(".json") else dec.to_excel
        click.echo("wrote " + ", ".join(str(p) for p in writer(out_path, lang=lang, overwrite=force)))
