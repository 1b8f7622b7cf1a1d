"""Scripted annual reliability run from a TOML config: results as NetCDF, CSV and a figure, year over year.

Usage::

    python examples/annual_run.py examples/annual_run.toml

Writes ``reliability-<year>.nc``, ``reliability-<year>-zone.csv``, ``reliability-<year>.png`` and
``programme-<year>.nc`` into the configured folder and prints the zone table, the programme and, when
``previous`` names last year's file, the change of every zone's SAIDI and ASAI.

This is the minimal script form. The full annual study — many networks with totals per zone, scenarios,
capacity, a results folder with a manifest (repeatable bit for bit), figures, an HTML report, year over year
against the yearly targets and Dask scale-out — is ``gridscope study``: see ``examples/studies/*.toml`` and
docs/annual.md.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import gridscope as gs


def main(config_path: str) -> int:
    config = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    year = int(config.get("year", 0))
    out = Path(config.get("out", "gridscope-results/annual"))
    net = gs.load_network(config["network"])
    options = {"targets": config.get("targets")}
    if config.get("method", "analytical") == "monte-carlo":
        options.update(method="monte-carlo", years=int(config.get("years", 100_000)), seed=config.get("seed"))
    ds = gs.assess_reliability(net, **options)

    gs.reliability.write_netcdf(ds, out / f"reliability-{year}.nc", overwrite=True)
    table = gs.reliability.to_dataframe(ds, "zone")
    table.to_csv(out / f"reliability-{year}-zone.csv")
    gs.reliability.save_reliability_figure(ds, out / f"reliability-{year}.png", overwrite=True)
    print(table[["customers", "SAIFI", "SAIDI", "ASAI", "ENS", "saidi_target_h", "margin_h"]].to_string())

    prog = config.get("programme")
    if prog:
        plan = gs.reliability.yearly_programme(
            net, years=int(prog.get("years", 3)), fault_reduction=float(prog.get("fault_reduction", 0.15)),
            repair_reduction=float(prog.get("repair_reduction", 0.05)),
            live_work_fraction=prog.get("live_work_fraction"), targets=config.get("targets"))
        gs.reliability.write_netcdf(plan, out / f"programme-{year}.nc", overwrite=True)
        print("\nprogramme, SAIDI (h per customer-year):")
        print(plan["SAIDI"].to_pandas().T.to_string())

    previous = config.get("previous")
    if previous:
        last = gs.reliability.read_netcdf(previous)
        zones = [z for z in ds.zone.values if z in set(last.zone.values)]
        now, before = ds.sel(zone=zones), last.sel(zone=zones)
        print(f"\nyear over year (vs {previous}):")
        for z in zones:
            d_saidi = float(now["SAIDI"].sel(zone=z) - before["SAIDI"].sel(zone=z))
            d_asai = float(now["ASAI"].sel(zone=z) - before["ASAI"].sel(zone=z)) * 100
            print(f"  {z:8s} SAIDI {d_saidi:+.4f} h   ASAI {d_asai:+.5f} %-points")
    print(f"\nwrote results into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_suffix(".toml"))))
