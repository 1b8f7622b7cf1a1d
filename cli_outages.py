"""The ``gridscope outages`` command (click): planned jobs → switching plans, impacts, groups, dates, budgets.

Thin: parse, call :func:`gridscope.reliability.planning.plan_outages`, print, write. Exit codes: 0 done; 2 the
jobs or the network have problems (all listed, with the file row); 3 the network cannot be loaded; 4 invalid
input (a file that cannot be read, an output that exists without ``--force``); 130 interrupted.
"""

from __future__ import annotations

from typing import Any

import click

from .cli_common import handle_errors, parse_targets

__all__ = ["outages_cmd", "register"]


def register(main: click.Group) -> None:
    """Add ``outages`` to the ``gridscope`` command group."""
    main.add_command(outages_cmd)


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
                targets: tuple[str, ...], default_zone: str | None, out_path: str | None, lang: str,
                force: bool) -> None:
    """Planned outages of JOBS (.csv/.xlsx) on NET: compute before switching off (先算后停).

    For each job: the switches opened, the ties closed beforehand (checked by power flow), the customers still
    interrupted, customer-hours, ENS and the SAIDI increment per zone against the zone's budget (target less
    the expected fault SAIDI); live-line jobs interrupt nobody. Overlapping jobs are combined (一停多用) and
    every outage gets a date that keeps customers within the interruption limit.
    """
    from .reliability.planning import plan_outages, read_jobs, write_plan
    from .study import Study

    st = Study(net_source, default_zone=default_zone)
    jobs = read_jobs(jobs_path, st.net, year=year, sheet=int(sheet) if sheet.isdigit() else sheet)
    zones = st.impact().zones
    plan = plan_outages(st.net, jobs, year=year, targets=parse_targets(targets, zones) if targets else None,
                        window_days=window_days, max_interruptions=max_interruptions,
                        check_transfer=not no_transfer_check, scaling=scaling, combine=not no_combine,
                        topology=st.topology, impact=st.impact())
    _print_plan(plan)
    if out_path:
        for path in write_plan(plan, out_path, lang=lang, overwrite=force):
            click.echo(f"wrote {path}")


def _print_plan(plan: Any) -> None:
    from .textfmt import format_table

    jobs = plan.jobs[["requested", "planned", "duration_h", "live_line", "customers", "customer_hours",
                      "saved_customer_hours", "group", "verdict"]]
    click.echo(f"Planned jobs ({plan.attrs['year']}):")
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
