"""The ``gridscope outages`` command (click): planned jobs → switching plans, impacts, groups, dates, budgets;
and ``gridscope frequent``: the load points most often interrupted, their causes and the devices that help most.

Thin: parse, call :func:`gridscope.reliability.planning.plan_outages`, print, write. Exit codes: 0 done; 2 the
jobs or the network have problems (all listed, with the file row); 3 the network cannot be loaded; 4 invalid
input (a file that cannot be read, an output that exists without ``--force``); 130 interrupted.
"""

from __future__ import annotations

from typing import Any

import click

from .cli_common import handle_errors, parse_targets
from .settings import CEMI_N, DEVICE_MAX_CANDIDATES, DEVICE_TIE_MAX_KM

__all__ = ["frequent_cmd", "outages_cmd", "register"]


def register(main: click.Group) -> None:
    """Add ``outages`` and ``frequent`` to the ``gridscope`` command group."""
    main.add_command(outages_cmd)
    main.add_command(frequent_cmd)


@click.command("outages")
@click.argument("net_source", metavar="NET")
@click.argument("jobs_path", metavar="JOBS", type=click.Path(dir_okay=False))
@click.option("--year", type=click.IntRange(1900, 2200), default=None,
              help="Planning year (default: the year of the jobs' dates).")
@click.option("--sheet", default="0", show_default=True, help="Excel sheet of the jobs (name or number).")
@click.option("--window-days", type=click.IntRange(1, 366), default=60, show_default=True,
              help="A customer gets at most --max-interruptions planned interruptions within this many days.")
@click.option("--max-interruptions", type=click.IntRange(1, 365), default=1, show_default=True,
              help="Planned interruptions allowed per customer within --window-days.")
@click.option("--no-transfer-check", is_flag=True,
              help="Accept every tie transfer without the power-flow check.")
@click.option("--no-combine", is_flag=True, help="Do not combine overlapping jobs into one outage (一停多用).")
@click.option("--scaling", type=click.FloatRange(min=0.0, min_open=True), default=1.0, show_default=True,
              help="Planning load as a factor on every load.")
@click.option("--profiles", default=None, metavar="FILE|simbench",
              help="Load profiles (a CSV, or simbench for a SimBench net's own): check each job's transfers at "
                   "the peak step of its date instead of the planning load.")
@click.option("--target", "targets", multiple=True, metavar="ZONE=PERCENT",
              help="Override a zone's ASAI target (repeatable), e.g. --target B=99.965.")
@click.option("--default-zone", default=None, help="Zone for buses without one.")
@click.option("--out", "out_path", default=None, metavar="FILE",
              help="Write the plan: plan.xlsx (a sheet per table) or plan.csv (+ plan_groups.csv, plan_zones.csv, "
                   "plan_job_zones.csv).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Headers of the written tables.")
@click.option("--force", is_flag=True, help="Replace existing output files.")
@handle_errors
def outages_cmd(net_source: str, jobs_path: str, year: int | None, sheet: str, window_days: int,
                max_interruptions: int, no_transfer_check: bool, no_combine: bool, scaling: float,
                profiles: str | None, targets: tuple[str, ...], default_zone: str | None, out_path: str | None,
                lang: str, force: bool) -> None:
    """Planned outages of JOBS (.csv/.xlsx) on NET: compute before switching off (先算后停).

    For each job: the switches opened, the ties closed beforehand (checked by power flow), the customers still
    interrupted, customer-hours, ENS and the SAIDI increment per zone against the zone's budget (target less
    the expected fault SAIDI); live-line jobs interrupt nobody. Overlapping jobs are combined (一停多用) and
    every outage gets a date that keeps customers within the interruption limit.
    """
    from .reliability.planning import read_jobs, write_plan
    from .study import Study

    st = Study(net_source, default_zone=default_zone)
    jobs = read_jobs(jobs_path, st.net, year=year, sheet=int(sheet) if sheet.isdigit() else sheet)
    zones = st.impact().zones
    plan = st.outages(jobs, profiles=profiles, year=year,
                      targets=parse_targets(targets, zones) if targets else None, window_days=window_days,
                      max_interruptions=max_interruptions, check_transfer=not no_transfer_check, scaling=scaling,
                      combine=not no_combine)
    _print_plan(plan)
    if out_path:
        for path in write_plan(plan, out_path, lang=lang, overwrite=force):
            click.echo(f"wrote {path}")


def _print_plan(plan: Any) -> None:
    from .textfmt import format_table

    jobs = plan.jobs[["requested", "planned", "duration_h", "live_line", "customers", "customer_hours",
                      "saved_customer_hours", "group", "verdict"]]
    click.echo(f"Planned jobs ({plan.attrs['year']}; transfers checked at the {plan.attrs['check_load']}):"
               if plan.attrs["check_transfer"] else f"Planned jobs ({plan.attrs['year']}; transfers not checked):")
    click.echo(format_table(jobs, {"customers": "{:.0f}", "customer_hours": "{:.1f}",
                                   "saved_customer_hours": "{:.1f}", "duration_h": "{:g}"}))
    refused = plan.jobs[plan.jobs["refused"] != ""]
    for job, why in refused["refused"].items():
        click.echo(f"  {job}: transfer refused — {why}")
    combined = plan.groups[plan.groups["jobs"].str.contains(";")]
    if len(combined):
        click.echo("\nCombined outages (一停多用):")
        click.echo(format_table(combined[["jobs", "planned", "customer_hours", "separate_customer_hours",
                                          "saved_customer_hours"]], {"customer_hours": "{:.1f}",
                                                                     "separate_customer_hours": "{:.1f}",
                                                                     "saved_customer_hours": "{:.1f}"}))
    moved = plan.groups[plan.groups["moved_days"] > 0]
    for g, r in moved.iterrows():
        click.echo(f"  {g} ({r['jobs']}): moved {r['moved_days']} day(s) to {r['planned']} "
                   f"(interruption limit {plan.attrs['max_interruptions']} per {plan.attrs['window_days']} days)")
    click.echo("\nZone budgets (SAIDI h per customer-year):")
    click.echo(format_table(plan.zones[["customers", "saidi_target_h", "fault_saidi_h", "budget_h",
                                        "planned_saidi_h", "remaining_h", "within_budget"]],
                            {"customers": "{:.0f}"}, default="{:.4g}"))


@click.command("frequent")
@click.argument("net_source", metavar="NET")
@click.option("--n", "n", type=click.IntRange(0, 1000), default=CEMI_N, show_default=True,
              help="Frequent = more than N interruptions a year (2: three or more).")
@click.option("--top", type=click.IntRange(1), default=10, show_default=True, help="Rows to list.")
@click.option("--devices", is_flag=True,
              help="Rank candidate devices (fuse, recloser, switch, tie, live-line work) by the CEMI-N reduction, "
                   "each computed by re-running the analysis with the device added.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["fuse", "recloser", "switch", "tie", "live_line"]),
              help="Candidate kinds for --devices (repeatable; default all).")
@click.option("--tie-max-km", type=click.FloatRange(0.0, min_open=True), default=DEVICE_TIE_MAX_KM,
              show_default=True, help="Longest new tie line considered (needs bus coordinates).")
@click.option("--max-candidates", type=click.IntRange(1), default=DEVICE_MAX_CANDIDATES, show_default=True,
              help="Refuse to evaluate more candidates than this.")
@click.option("--default-zone", default=None, help="Zone for buses without one.")
@handle_errors
def frequent_cmd(net_source: str, n: int, top: int, devices: bool, kinds: tuple[str, ...], tie_max_km: float,
                 max_candidates: int, default_zone: str | None) -> None:
    """Frequent interruptions (频繁停电) on NET: CEMI-N by zone, the load points most likely to be interrupted
    more than N times a year with the components that cause it, and (--devices) what would help most."""
    from .reliability.devices import DEVICE_KINDS
    from .study import Study
    from .textfmt import format_table

    st = Study(net_source, default_zone=default_zone)
    st.check()
    summary = st.frequent(n, top=top)
    click.echo(f"CEMI-{n} (customers with more than {n} interruptions a year):  "
               + "   ".join(f"{z} {v:.2%}" for z, v in summary.cemi.items()))
    lps = summary.load_points
    click.echo(f"\nLoad points most likely to have more than {n} interruptions a year:")
    click.echo(format_table(lps[["name", "zone", "customers", "lam_per_yr", "p_more_than_n", "causes"]],
                            {"customers": "{:.0f}", "lam_per_yr": "{:.4f}", "p_more_than_n": "{:.2%}"}))
    if devices:
        ranked = st.rank_devices(n, kinds=kinds or DEVICE_KINDS, top=top, tie_max_km=tie_max_km,
                                 max_candidates=max_candidates)
        click.echo(f"\nDevices ranked by the CEMI-{n} reduction (each computed by re-running the analysis):")
        if ranked.empty:
            click.echo("  no candidate device")
        else:
            click.echo(format_table(ranked[["kind", "description", "cemi_reduction", "customers_relieved",
                                            "saifi_reduction", "saidi_reduction_h"]],
                                    {"cemi_reduction": "{:.3%}", "customers_relieved": "{:.1f}",
                                     "saifi_reduction": "{:.4f}", "saidi_reduction_h": "{:.4f}"}))
