"""Default reliability data and supply-zone targets: one table each, with the source of every value.

Both tables are plain :class:`pandas.DataFrame` objects returned as copies, so a user can look at them, change
them and pass the result back (``apply_reliability_data(net, defaults=my_table)``). Per-element values already
in the network (columns of the data contract, DESIGN.md §2) always win over the table.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .facts import RADIAL_MAX_KV, trafo_is_main

__all__ = [
    "CONTRACT_COLUMNS",
    "PANDAPOWER_DEFAULT_COLUMNS",
    "ZONES",
    "ZONE_DENSITY_BANDS",
    "apply_reliability_data",
    "missing_contract_columns",
    "reliability_defaults",
    "upstream_defaults",
    "with_pandapower_defaults",
    "zone_targets",
]

#: Supply-area classes of the State Grid planning guide (Q/GDW 1738), best first.
ZONES: tuple[str, ...] = ("A+", "A", "B", "C", "D", "E")

#: Load-density bands (MW/km²) per supply-area class, DESIGN.md §7: lower bound inclusive, upper exclusive.
ZONE_DENSITY_BANDS: dict[str, tuple[float, float]] = {
    "A+": (30.0, math.inf),
    "A": (15.0, 30.0),
    "B": (6.0, 15.0),
    "C": (1.0, 6.0),
    "D": (0.1, 1.0),
    "E": (0.0, 0.1),
}

_RBTS = "RBTS Bus 2, Allan et al., IEEE Trans. PWRS 6(2) 1991 (shared/reference/rbts-bus2.md)"

# kind: the component class the row applies to.
# lambda: failures per km·yr (lines) or per yr (everything else); repair_h: mean repair hours;
# switching_h: hours to operate a switch during restoration.
_DEFAULTS: list[dict[str, Any]] = [
    {
        "kind": "overhead_line",
        "lambda": 0.065,
        "lambda_unit": "1/(km*yr)",
        "repair_h": 5.0,
        "switching_h": 1.0,
        "source": f"{_RBTS}: 11 kV overhead sections",
    },
    {
        "kind": "cable",
        "lambda": 0.04,
        "lambda_unit": "1/(km*yr)",
        "repair_h": 30.0,
        "switching_h": 1.0,
        "source": "engineering estimate for 10-20 kV XLPE cable (fewer, longer failures than overhead); "
        "replace with the utility's own outage statistics",
    },
    {
        "kind": "distribution_transformer",
        "lambda": 0.015,
        "lambda_unit": "1/yr",
        "repair_h": 200.0,
        "switching_h": 1.0,
        "source": f"{_RBTS}: 11/0.415 kV transformers, case A (repair); case E uses 10 h replacement",
    },
    {
        "kind": "main_transformer",
        "lambda": 0.015,
        "lambda_unit": "1/yr",
        "repair_h": 15.0,
        "switching_h": 1.0,
        "source": f"{_RBTS}: 33/11 kV station transformers (the published indices treat the supply as "
        "100 % reliable; main transformers sit in the supply and are not failed by the radial analysis)",
    },
    {
        "kind": "breaker",
        "lambda": 0.0,
        "lambda_unit": "1/yr",
        "repair_h": 4.0,
        "switching_h": 1.0,
        "source": "DESIGN.md §2: switchgear perfectly reliable by default; "
        f"{_RBTS} gives 0.006 1/yr, 4 h for 11 kV breakers if you want to include them",
    },
    {
        "kind": "switch",
        "lambda": 0.0,
        "lambda_unit": "1/yr",
        "repair_h": 4.0,
        "switching_h": 1.0,
        "source": "DESIGN.md §2: fuses, disconnectors and load-break switches perfectly reliable by default; "
        "switching time 1 h as in the RBTS",
    },
    {
        "kind": "busbar",
        "lambda": 0.0,
        "lambda_unit": "1/yr",
        "repair_h": 2.0,
        "switching_h": 1.0,
        "source": f"DESIGN.md §2: busbars perfectly reliable by default; {_RBTS} gives 0.001 1/yr, 2 h",
    },
]

# Station equipment for the upstream option (gridscope.reliability.upstream): used where the net gives the
# busbar or the bus-section breaker no failure rate (the data contract's default for them is 0). Main
# transformers use their own trafo row (the main_transformer defaults above); supply lines their line row.
_UPSTREAM: list[dict[str, Any]] = [
    {"kind": "station_busbar", "lambda": 0.001, "lambda_unit": "1/yr", "repair_h": 2.0, "switching_h": 1.0,
     "source": f"{_RBTS}: 33 kV and 11 kV busbars 0.001 1/yr, 2 h (the published indices leave them out)"},
    {"kind": "station_coupler", "lambda": 0.006, "lambda_unit": "1/yr", "repair_h": 4.0, "switching_h": 1.0,
     "source": f"{_RBTS}: 11 kV breakers 0.006 1/yr, 4 h; isolated by its disconnectors in the 1 h switching "
     "time"},
]

# Supply-reliability targets (供电可靠率, RS-1) per supply-area class, State Grid distribution planning
# guide targets as given in the project brief; E has no national target (set it in the config).
_TARGETS: list[dict[str, Any]] = [
    {"zone": "A+", "asai_target": 0.99999, "source": "State Grid planning target A+ 99.999 %"},
    {"zone": "A", "asai_target": 0.99989, "source": "State Grid planning target A 99.989 % (about 1 h/yr)"},
    {"zone": "B", "asai_target": 0.99965, "source": "State Grid planning target B 99.965 % (about 3 h/yr)"},
    {"zone": "C", "asai_target": 0.99897, "source": "State Grid planning target C 99.897 % (about 9 h/yr)"},
    {"zone": "D", "asai_target": 0.99828, "source": "State Grid planning target D 99.828 % (about 15 h/yr)"},
    {"zone": "E", "asai_target": np.nan, "source": "no national target: set one per config"},
]

HOURS_PER_YEAR = 8760.0


def reliability_defaults() -> pd.DataFrame:
    """Return the default reliability data table (a copy), indexed by component kind.

    Returns
    -------
    pandas.DataFrame
        Index ``kind`` (``overhead_line``, ``cable``, ``distribution_transformer``, ``main_transformer``,
        ``breaker``, ``switch``, ``busbar``); columns ``lambda`` (1/(km·yr) for lines, 1/yr otherwise),
        ``lambda_unit``, ``repair_h``, ``switching_h``, ``source``.
    """
    return pd.DataFrame(_DEFAULTS).set_index("kind")


def upstream_defaults() -> pd.DataFrame:
    """Return the station-equipment defaults of the upstream option (a copy), indexed by ``kind``.

    Returns
    -------
    pandas.DataFrame
        Index ``station_busbar``, ``station_coupler``; columns ``lambda`` (1/yr), ``lambda_unit``,
        ``repair_h``, ``switching_h``, ``source``.
    """
    return pd.DataFrame(_UPSTREAM).set_index("kind")


def zone_targets(overrides: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Return the supply-zone reliability targets (a copy), optionally overridden.

    Parameters
    ----------
    overrides : mapping, optional
        Zone label → ASAI target as a fraction (``0.9999``) or a percentage (``99.99``).

    Returns
    -------
    pandas.DataFrame
        Index ``zone``; columns ``asai_target`` (fraction), ``saidi_target_h`` (h per customer-year, from
        ``(1 - asai) × 8760``) and ``source``.
    """
    table = pd.DataFrame(_TARGETS).set_index("zone")
    for zone, value in (overrides or {}).items():
        value = float(value)
        if value > 1.0:
            value /= 100.0
        if not 0.0 < value <= 1.0:
            raise ConfigError(f"zone target for {zone!r} must be a fraction or a percentage, got {value!r}")
        table.loc[str(zone), ["asai_target", "source"]] = [value, "user override"]
    # rounded to 1e-6 h (3.6 ms): the target's meaning, without the float residue (3.0659999999996623 -> 3.066)
    table["saidi_target_h"] = ((1.0 - table["asai_target"]) * HOURS_PER_YEAR).round(6)
    return table[["asai_target", "saidi_target_h", "source"]]


def _line_kind(line: pd.DataFrame) -> pd.Series:
    """Overhead (``ol``) or cable (``cs``) per line; unknown types count as overhead (the worse case)."""
    kind = pd.Series("overhead_line", index=line.index, dtype=object)
    if "type" in line:
        kind[line["type"].astype(str).str.lower().isin(["cs", "cable", "ug"])] = "cable"
    return kind


def _fill(df: pd.DataFrame, column: str, values: pd.Series | float) -> None:
    """Fill missing values of ``df[column]`` (creating it if absent) from ``values``."""
    if column not in df.columns:
        df[column] = values
    else:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype(float)
        missing = df[column].isna()
        if missing.any():
            fill = values[missing] if isinstance(values, pd.Series) else values
            df.loc[missing, column] = fill


def _fill_by_kind(df: pd.DataFrame, kind: pd.Series, table: pd.DataFrame, columns: Mapping[str, str]) -> None:
    """Fill ``df``'s reliability columns (``df`` column → defaults-table column) from each row's kind; an
    empty table gets the columns, empty."""
    for column, source in columns.items():
        if len(df):
            _fill(df, column, kind.map(table[source]))
        elif column not in df.columns:
            df[column] = pd.Series(dtype=float)


#: pandapower columns with a default of their own (``pandapower.create_load``): a net written by hand or by
#: another tool may lack them; missing, they take that default (never a KeyError deep inside an analysis).
PANDAPOWER_DEFAULT_COLUMNS: dict[str, dict[str, float]] = {"load": {"scaling": 1.0}, "sgen": {"scaling": 1.0}}


def apply_reliability_data(
    net: Any,
    *,
    defaults: pd.DataFrame | None = None,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    radial_max_kv: float = RADIAL_MAX_KV,
) -> Any:
    """Fill the data-contract reliability columns where they are missing (in place) and return ``net``.

    Values already present in the network win; NaN cells are filled. ``overrides`` replace the table's values
    for a component kind before filling, e.g. ``{"cable": {"lambda": 0.03, "repair_h": 20}}``. Per-element
    values are set directly on the tables (``net.line.loc[5, "repair_h"] = 8``).

    Parameters
    ----------
    net : pandapowerNet
        The network; modified in place.
    defaults : pandas.DataFrame, optional
        A table shaped like :func:`reliability_defaults`; that table by default.
    overrides : mapping, optional
        Kind → {column → value} replacing entries of ``defaults``.
    radial_max_kv : float
        A transformer with its HV side above this voltage is a main transformer; below it the role decides
        (:func:`gridscope.grid.facts.trafo_is_main`): main-transformer data for stations, distribution data
        for the others.

    Returns
    -------
    pandapowerNet
        The same object, for chaining.
    """
    table = reliability_defaults() if defaults is None else defaults.copy()
    for kind, values in (overrides or {}).items():
        if kind not in table.index:
            raise ConfigError(f"unknown component kind {kind!r} in reliability overrides; "
                              f"known: {', '.join(table.index)}")
        for column, value in values.items():
            if column not in ("lambda", "repair_h", "switching_h"):
                raise ConfigError(f"unknown reliability column {column!r} for {kind!r}; "
                                  "use lambda, repair_h or switching_h")
            table.loc[kind, column] = float(value)

    line = net.line
    _fill_by_kind(line, _line_kind(line), table, {"lambda_per_km": "lambda", "repair_h": "repair_h"})
    trafo = net.trafo
    trafo_kind = pd.Series(np.where(trafo_is_main(net, radial_max_kv=radial_max_kv), "main_transformer",
                                    "distribution_transformer"), index=trafo.index, dtype=object)
    _fill_by_kind(trafo, trafo_kind, table, {"lambda_per_yr": "lambda", "repair_h": "repair_h"})

    if len(net.trafo3w):
        _fill(net.trafo3w, "lambda_per_yr", float(table.loc["main_transformer", "lambda"]))
        _fill(net.trafo3w, "repair_h", float(table.loc["main_transformer", "repair_h"]))

    bus = net.bus
    _fill(bus, "lambda_per_yr", float(table.loc["busbar", "lambda"]))
    _fill(bus, "repair_h", float(table.loc["busbar", "repair_h"]))

    switch = net.switch
    is_cb = switch["type"].astype(str).str.upper().eq("CB").to_numpy() if len(switch) else np.zeros(0, bool)
    switch_kind = pd.Series(np.where(is_cb, "breaker", "switch"), index=switch.index, dtype=object)
    _fill_by_kind(switch, switch_kind, table,
                  {"lambda_per_yr": "lambda", "repair_h": "repair_h", "switching_h": "switching_h"})

    for element in ("line", "trafo", "trafo3w", "bus", "switch"):
        df = net[element]
        for column in ("planned_per_yr", "planned_h"):
            if column not in df.columns:
                df[column] = 0.0 if len(df) else pd.Series(dtype=float)
            else:
                df[column] = pd.to_numeric(df[column], errors="coerce").astype(float).fillna(0.0)

    load = net.load
    if "scaling" not in load.columns:  # pandapower's own column; a stripped table would break p_avg_mw below
        load["scaling"] = PANDAPOWER_DEFAULT_COLUMNS["load"]["scaling"] if len(load) else pd.Series(dtype=float)
    if "customers" not in load.columns:
        load["customers"] = 1 if len(load) else pd.Series(dtype="int64")
    # text in p_mw or scaling gives NaN here (not a TypeError): the validator names the text value
    p_mw = pd.to_numeric(load["p_mw"], errors="coerce") if "p_mw" in load.columns else np.nan  # missing: listed
    p_scaled = p_mw * pd.to_numeric(load["scaling"], errors="coerce") if len(load) else pd.Series(dtype=float)
    if "p_avg_mw" not in load.columns:
        load["p_avg_mw"] = p_scaled.astype(float)
    else:
        load["p_avg_mw"] = pd.to_numeric(load["p_avg_mw"], errors="coerce").astype(float)
        missing = load["p_avg_mw"].isna()
        load.loc[missing, "p_avg_mw"] = p_scaled[missing]

    if "reserved_capacity" not in net:
        net["reserved_capacity"] = pd.DataFrame(
            {
                "element": pd.Series(dtype=object),
                "element_index": pd.Series(dtype="int64"),
                "p_mw": pd.Series(dtype=float),
            }
        )
    return net

#: The data-contract columns every analysis reads (DESIGN.md §2); a net lacking one gets the defaults table.
CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "line": ("lambda_per_km", "repair_h"),
    "trafo": ("lambda_per_yr", "repair_h"),
    "bus": ("lambda_per_yr", "repair_h"),
    "switch": ("lambda_per_yr", "repair_h", "switching_h"),
    "load": ("customers", "p_avg_mw"),
}


def with_pandapower_defaults(net: Any) -> Any:
    """``net`` itself when it has every column of :data:`PANDAPOWER_DEFAULT_COLUMNS`, else a deep copy with the
    missing ones added at pandapower's defaults (the user's net is never changed)."""
    missing = [(t, c, v) for t, cols in PANDAPOWER_DEFAULT_COLUMNS.items() if t in net
               for c, v in cols.items() if c not in net[t].columns]
    if not missing:
        return net
    net = copy.deepcopy(net)
    for table, column, value in missing:
        net[table][column] = value if len(net[table]) else pd.Series(dtype=float)
    return net


def missing_contract_columns(net: Any) -> list[str]:
    """``table.column`` of every data-contract column absent from a non-empty table of ``net``.

    These are the columns :func:`apply_reliability_data` fills; a net lacking one has not been prepared.

    Parameters
    ----------
    net : pandapowerNet

    Returns
    -------
    list of str
    """
    out = []
    for table, columns in CONTRACT_COLUMNS.items():
        df = net[table] if table in net else None
        if df is None or not len(df):
            continue
        out += [f"{table}.{c}" for c in columns if c not in df.columns]
    return out
