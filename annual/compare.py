"""Year over year: this year's results against last year's, per zone and system, against the yearly targets.

The yearly programme asks for 15 % fewer outages and 5 % shorter repairs every year, and every zone must meet
its supply-reliability (ASAI) target. :func:`compare_results` checks, per zone and for the system:

=====================  ======================================  =========================================
quantity               measured as                             passes when
=====================  ======================================  =========================================
outages                SAIFI (interruptions per customer·yr)   change ≤ −outage_reduction (−15 %)
repair time            CAIDI (h per interruption)              change ≤ −repair_reduction (−5 %)
SAIDI                  h per customer·yr                       (reported; follows from the two above)
ASAI                   supply reliability                      ≥ the zone's target this year
=====================  ======================================  =========================================

and, for the whole study (a study's ``reliability.nc`` carries them), the expected number of component
outages per year (target −15 %) and the fault-rate-weighted mean repair time (target −5 %) — the programme's
own measures, which SAIFI and CAIDI only reflect through the network's switching.

Inputs are datasets or files: a study's results folder or its ``reliability.nc``, or a NetCDF written by
``gridscope reliability --out``. A dataset with a ``scenario`` dimension is compared on its ``base`` case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..reliability.io import read_netcdf
from ..textfmt import format_table

__all__ = ["Comparison", "compare_results", "read_results"]

#: Floating-point slack on a pass/fail decision (a change of exactly −15 % passes a −15 % target).
_SLACK = 1e-9


def read_results(source: Any) -> Any:
    """A results dataset from a dataset, a results folder (its ``reliability.nc``) or a NetCDF path."""
    if hasattr(source, "data_vars"):
        return source
    path = Path(os.fspath(source))
    if path.is_dir():
        path = path / "reliability.nc"
    if not path.exists():
        raise InputError(f"no results at {source}: give a results folder or a .nc file")
    try:
        return read_netcdf(path)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read results {path}: {exc}") from None


def _base(ds: Any) -> Any:
    if "scenario" not in ds.dims:
        return ds
    names = [str(s) for s in ds.scenario.values]
    return ds.sel(scenario="base" if "base" in names else names[0])


@dataclass(frozen=True)
class Comparison:
    """Year-over-year changes and pass/fail.

    Attributes
    ----------
    zones : pandas.DataFrame
        One row per zone (and ``system``): ``SAIFI_last``, ``SAIFI_this``, ``SAIFI_change_pct``,
        ``SAIFI_pass``; the same for ``CAIDI``; ``SAIDI_last``, ``SAIDI_this``, ``SAIDI_change_pct``;
        ``ASAI_last_pct``, ``ASAI_this_pct``, ``ASAI_target_pct``, ``ASAI_pass`` (None without a target).
    programme : pandas.DataFrame
        Rows ``outage_events_per_yr`` and ``mean_repair_h``: ``last``, ``this``, ``change_pct``,
        ``target_pct``, ``pass`` (empty when the inputs do not carry them).
    outage_reduction, repair_reduction : float
        The yearly targets checked.
    last_label, this_label : str
        Where the two results came from.
    """

    zones: pd.DataFrame
    programme: pd.DataFrame
    outage_reduction: float
    repair_reduction: float
    last_label: str = "last"
    this_label: str = "this"

    @property
    def passed(self) -> bool:
        """Every check with a verdict passed."""
        verdicts = [v for c in ("SAIFI_pass", "CAIDI_pass", "ASAI_pass") for v in self.zones[c] if v is not None]
        verdicts += [v for v in self.programme.get("pass", []) if v is not None]
        return all(verdicts)

    def table(self) -> pd.DataFrame:
        """The zone table in display units, pass/fail as ``yes``/``NO``/``-``."""
        out = self.zones.copy()
        for c in ("SAIFI_pass", "CAIDI_pass", "ASAI_pass"):
            out[c] = [_verdict(v) for v in out[c]]
        return out

    def summary(self) -> str:
        """A text report: the zone table, the programme measures and the verdict."""
        fmt = {c: "{:.4f}" for c in self.zones.columns if c.endswith(("_last", "_this"))}
        fmt |= {c: "{:+.2f}" for c in self.zones.columns if c.endswith("_change_pct")}
        fmt |= {"ASAI_last_pct": "{:.4f}", "ASAI_this_pct": "{:.4f}", "ASAI_target_pct": "{:.3f}"}
        table = self.table()
        targets = [c for c in table.columns if c.startswith(("SAIFI", "CAIDI"))]
        levels = [c for c in table.columns if c.startswith(("SAIDI", "ASAI"))]
        lines = [f"Year over year: {self.this_label} vs {self.last_label}", "",
                 f"Against the yearly targets (outages −{self.outage_reduction:.0%}/yr via SAIFI, repair time "
                 f"−{self.repair_reduction:.0%}/yr via CAIDI):", format_table(table[targets], fmt), "",
                 "SAIDI and supply reliability against the zone targets:", format_table(table[levels], fmt)]
        if len(self.programme):
            prog = self.programme.copy()
            prog["pass"] = [_verdict(v) for v in prog["pass"]]
            lines += ["", "Programme measures (whole study):",
                      format_table(prog, {"last": "{:.4f}", "this": "{:.4f}", "change_pct": "{:+.2f}",
                                          "target_pct": "{:+.1f}"})]
        lines += ["", "verdict: " + ("all targets met" if self.passed else "targets missed (see NO above)")]
        return "\n".join(lines)


def _verdict(v: Any) -> str:
    return "-" if v is None else ("yes" if v else "NO")


def _change_pct(last: np.ndarray, this: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(last > 0, (this - last) / last * 100.0, np.nan)


def _passes(change_pct: np.ndarray, reduction: float) -> list[bool | None]:
    limit = -reduction * 100.0
    return [None if np.isnan(c) else bool(c <= limit + _SLACK * 100) for c in change_pct]


def compare_results(last: Any, this: Any, *, outage_reduction: float = 0.15, repair_reduction: float = 0.05
                    ) -> Comparison:
    """Compare two years' reliability results against the yearly targets and the zone targets.

    Parameters
    ----------
    last, this : xarray.Dataset or path
        Last year's and this year's results (dataset, results folder, or ``.nc`` file).
    outage_reduction, repair_reduction : float
        Yearly targets as shares in [0, 1): 0.15 means SAIFI (and the outage count) must fall by 15 %.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        Unreadable inputs, targets out of range, or no zone in common.
    """
    for name, value in (("outage_reduction", outage_reduction), ("repair_reduction", repair_reduction)):
        if not (isinstance(value, int | float) and 0.0 <= value < 1.0):
            raise InputError(f"{name} must be in [0, 1), got {value!r}")
    labels = [str(x) if not hasattr(x, "data_vars") else x.attrs.get("network", "dataset") for x in (last, this)]
    a, b = _base(read_results(last)), _base(read_results(this))
    zones = [str(z) for z in b.zone.values if z in set(map(str, a.zone.values))]
    if not zones:
        raise InputError("the two results have no zone in common")
    a, b = a.sel(zone=zones), b.sel(zone=zones)
    out = pd.DataFrame(index=pd.Index(zones, name="zone"))
    for name, reduction in (("SAIFI", outage_reduction), ("CAIDI", repair_reduction), ("SAIDI", None)):
        la, th = a[name].values.astype(float), b[name].values.astype(float)
        out[f"{name}_last"], out[f"{name}_this"] = la, th
        out[f"{name}_change_pct"] = _change_pct(la, th)
        if reduction is not None:
            out[f"{name}_pass"] = _passes(out[f"{name}_change_pct"].to_numpy(), reduction)
    out["ASAI_last_pct"] = a["ASAI"].values * 100.0
    out["ASAI_this_pct"] = b["ASAI"].values * 100.0
    target = b["asai_target"].values * 100.0
    out["ASAI_target_pct"] = target
    out["ASAI_pass"] = [None if np.isnan(t) else bool(v >= t - _SLACK) for v, t in zip(out["ASAI_this_pct"], target,
                                                                                      strict=True)]
    rows = []
    for name, reduction in (("outage_events_per_yr", outage_reduction), ("mean_repair_h", repair_reduction)):
        if name in a and name in b:
            la, th = float(a[name]), float(b[name])
            change = float(_change_pct(np.array([la]), np.array([th]))[0])
            rows.append({"measure": name, "last": la, "this": th, "change_pct": change,
                         "target_pct": -reduction * 100.0, "pass": _passes(np.array([change]), reduction)[0]})
    programme = pd.DataFrame(rows).set_index("measure") if rows else pd.DataFrame(
        columns=["last", "this", "change_pct", "target_pct", "pass"])
    return Comparison(zones=out, programme=programme, outage_reduction=float(outage_reduction),
                      repair_reduction=float(repair_reduction), last_label=labels[0], this_label=labels[1])
