"""Network validation: every problem at once, each with its table, index, name and message.

:func:`validate` never raises on a broken network and never stops at the first problem: it returns a list of
:class:`Problem` (empty when the network is fine), the way power-grid-model's validator does. The checks are
vectorised over the tables and build the topology once (pass ``topology=`` to reuse one you already have), so
the 37k-bus SimBench grid validates in well under a second.

Checks (the ``check`` code of each :class:`Problem` in brackets):

* ``missing_column``: a non-empty table lacking a column pandapower needs (:data:`REQUIRED_COLUMNS`:
  ``line.length_km``, ``switch.closed``, ``load.p_mw``, ...). The other checks are skipped until fixed.
* ``duplicate_index``: a row index used twice in an element table. Every other check addresses rows by
  index, so when this is found the other checks are skipped (fix the indices first).
* ``text_bool``: ``switch.closed`` or an ``in_service`` column holding text (``"False"``, ``"yes"``, ...)
  instead of booleans: pandas reads any non-empty text as True, so ``"False"`` would count as closed or
  in service.
* ``nothing_to_analyse``: no in-service load, or fewer than two in-service buses: there is no load point
  behind a supply element, so no index can be computed.
* ``no_source``: no in-service external grid (or slack generator).
* ``dangling``: a switch, line, transformer or load referencing a bus or element that does not exist; an
  element switch whose bus is not an end of its element; a bus-bus switch with identical ends; an unknown
  switch ``et``.
* ``not_energised``: an in-service load that no source reaches under the current switch states.
* ``meshed_feeder``: a closed element that closes a loop inside one feeder (radial operation is required at
  and below ``radial_max_kv``).
* ``two_sources``: a closed element joining two feeders, or a feeder back into the supply: the load points
  behind it are energised from two sides.
* ``no_protection``: a feeder with no breaker or fuse at its head (reliability needs one to clear faults).
* ``rating``: NaN or non-positive ratings and parameters (``vn_kv``, ``max_i_ka``, ``length_km``, ``sn_mva``,
  ``vk_percent``, ...); a transformer ``vkr_percent`` above its ``vk_percent``; infinite ones (only
  ``line.max_i_ka`` may be ``inf``, an unlimited rating); non-zero
  magnitudes below :data:`TINY_VALUE` (1e-100, which underflow in the power flow) or above
  :data:`HUGE_VALUE` (1e15, which overflow); a NaN or infinite load,
  sgen or gen injection (``p_mw``, ``q_mvar``) or ext_grid ``va_degree``; an ext_grid or gen ``vm_pu``
  that is NaN, infinite or ≤ 0.
* ``phases``: a bus ``phases`` value other than 1 (220 V single-phase supply point), 3 (three-phase) or empty
  (decided by the nominal voltage; :mod:`gridscope.grid.voltage`, GB/T 12325-2008 bands).
* ``reliability_data``: NaN, infinite or negative reliability columns (``lambda_per_km``, ``lambda_per_yr``,
  ``repair_h``, ``switching_h``, ``planned_per_yr``, ``planned_h``) and negative ``p_avg_mw``; a
  ``repair_h`` ≤ 0 on an element that fails (λ > 0: it would be restored instantly), or above
  :data:`MAX_REPAIR_H` (87,600 h = 10 years: no repair of a distribution element takes longer, and a
  larger value makes the unavailability exceed one year per year, i.e. ASAI < 0); an element's fault rate
  (a line's ``lambda_per_km`` × ``length_km``) or ``planned_per_yr`` above :data:`MAX_RATE_PER_YR` (8,760/yr,
  one an hour), or its expected outage time (λ·``repair_h``, ``planned_per_yr``·``planned_h``) above
  :data:`HOURS_PER_YEAR` (8,760 h: out longer than the year).
* ``zone``: an unknown zone label (``A+``, ``A``, ``B``, ``C``, ``D``, ``E`` only), or a bus with loads and
  no zone when zones are required and no ``default_zone`` is given.
* ``switch_type``: a switch type other than ``CB``, ``FUSE``, ``DS``, ``LBS``, ``LS``.
* ``customers``: a missing (NaN), negative or non-integer ``load.customers``; zero customers in total.
* ``duplicate_name``: names used as ids that are not unique (feeder names; bus names, which zone mapping
  files refer to).
* ``station``: an in-service main transformer with its LV side at distribution voltage (≤ ``radial_max_kv``)
  whose station (its busbar and those joined to it by bus-bus switches) feeds no feeder
  (:func:`gridscope.grid.stations.station_problems`): a unit the station tables cannot place. Units with
  both sides above ``radial_max_kv`` (EHV/HV supply transformers) are supply and are not reported.

:data:`CAPACITY_CHECKS` lists the checks that capacity and connection evaluation refuse a network for.

Missing *columns* of the data contract are not problems: they take the documented defaults
(:func:`gridscope.grid.defaults.apply_reliability_data`, which :func:`gridscope.load_network` runs). Missing
*values* (NaN cells) in a column that exists are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .defaults import RADIAL_MAX_KV, ZONES
from .topology import EDGE_KINDS, NO, SWITCH_TYPES, Topology, build_topology
from .voltage import PHASES_COLUMN, invalid_phases

__all__ = ["CAPACITY_CHECKS", "CHECKS", "HOURS_PER_YEAR", "HUGE_VALUE", "MAX_RATE_PER_YR", "MAX_REPAIR_H",
           "REQUIRED_COLUMNS", "TINY_VALUE", "Problem", "validate"]

#: Check codes in the order :func:`validate` runs them.
CHECKS: tuple[str, ...] = (
    "missing_column", "duplicate_index", "text_bool", "nothing_to_analyse",
    "no_source", "dangling", "rating", "phases", "reliability_data", "switch_type", "customers", "zone",
    "duplicate_name", "not_energised", "meshed_feeder", "two_sources", "no_protection", "station", "internal",
)

#: The checks that make power-flow results or the open-capacity arithmetic wrong or impossible: capacity and
#: connection evaluation refuse a network with any of these (they do not need reliability data, customers,
#: zones, protection or unique names).
CAPACITY_CHECKS: frozenset[str] = frozenset({
    "missing_column", "duplicate_index", "text_bool", "nothing_to_analyse", "no_source", "dangling", "rating",
    "phases", "switch_type", "not_energised", "meshed_feeder", "two_sources", "internal",
})

#: Upper bound of a plausible ``repair_h`` (10 years = 87,600 h). A validation bound, not a default: the
#: longest repairs of distribution equipment (a transformer replacement) take weeks, so anything beyond
#: ten years is a unit or typing error; at λ·r > 8,760 h/yr the unavailability exceeds 1 and ASAI < 0.
MAX_REPAIR_H: float = 87_600.0
#: Upper bound of an element's yearly outage rate (fault λ, or planned outages per year): one an hour. Beyond
#: it the number is a unit error, and the Monte-Carlo method would draw that many events per simulated year.
MAX_RATE_PER_YR: float = 8_760.0
#: Hours in a year: an element's expected outage time (λ·r, or planned_per_yr · planned_h) above it means
#: it is out more than the whole year (unavailability > 1, ASAI < 0): a unit or typing error.
HOURS_PER_YEAR: float = 8_760.0

#: Tables whose row indices other tables refer to, or which the analyses read row by row.
_ELEMENT_TABLES: tuple[str, ...] = ("bus", "line", "trafo", "trafo3w", "switch", "load", "sgen", "gen",
                                    "ext_grid", "storage")
#: (table, column) pairs that must hold booleans.
_BOOL_COLUMNS: tuple[tuple[str, str], ...] = (("switch", "closed"), *((t, "in_service") for t in _ELEMENT_TABLES))
#: Failure-rate column of each table with a ``repair_h``.
_LAMBDA_OF: dict[str, str] = {"line": "lambda_per_km", "trafo": "lambda_per_yr", "trafo3w": "lambda_per_yr",
                              "bus": "lambda_per_yr", "switch": "lambda_per_yr"}


@dataclass(frozen=True)
class Problem:
    """One validation problem.

    Attributes
    ----------
    table : str
        pandapower table (``bus``, ``line``, ``trafo``, ``switch``, ``load``, ``ext_grid``, ...), or ``net``
        for network-wide problems.
    index : int or None
        Row index in that table; ``None`` for network-wide problems.
    name : str or None
        The element's name, when it has one.
    message : str
        What is wrong, in one line.
    check : str
        The check that found it (one of :data:`CHECKS`).
    """

    table: str
    index: int | None
    name: str | None
    message: str
    check: str = ""

    def __str__(self) -> str:
        where = self.table if self.index is None else f"{self.table}[{self.index}]"
        if self.name not in (None, ""):
            where += f" {self.name!r}"
        return f"{where}: {self.message}"


# ------------------------------------------------------------------------------------------------ helpers
def _names(df: pd.DataFrame, rows: Any) -> list[str | None]:
    if "name" not in df.columns:
        return [None] * len(rows)
    out = []
    for v in df["name"].reindex(rows).tolist():
        out.append(None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return out


def _emit(out: list[Problem], table: str, df: pd.DataFrame, rows: Any, messages: Any, check: str) -> None:
    """Append one problem per row label in ``rows`` (``messages``: one string, or one per row)."""
    rows = list(rows)
    if not rows:
        return
    if isinstance(messages, str):
        messages = [messages] * len(rows)
    for idx, name, msg in zip(rows, _names(df, rows), messages, strict=True):
        out.append(Problem(table, int(idx), name, str(msg), check))


def _numeric(df: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(df[column], errors="coerce").astype(float)


def _check_values(out: list[Problem], net: Any, table: str, columns: dict[str, str], check: str,
                  nan_hint: str = "", finite: bool = False) -> None:
    """NaN and out-of-range values. ``columns``: column → ``"pos"`` (> 0) or ``"nonneg"`` (≥ 0).

    With ``finite``, ±inf is a problem too (a rating may be unlimited, a failure rate or duration not).
    """
    if table not in net:
        return
    df = net[table]
    if not len(df):
        return
    for column, rule in columns.items():
        if column not in df.columns:
            continue
        raw = df[column]
        v = _numeric(df, column)
        nan = v.isna()
        bad_text = nan & raw.notna()
        bad = (v <= 0) if rule == "pos" else (v < 0)
        need = "> 0" if rule == "pos" else "≥ 0"
        if finite:
            inf = np.isposinf(v.to_numpy())
            _emit(out, table, df, df.index[inf], f"{column} is infinite; it must be a finite number {need}",
                  check)
        if nan.any():
            msgs = [f"{column} is {'not a number (' + repr(r) + ')' if t else 'NaN'}; it must be {need}{nan_hint}"
                    for r, t in zip(raw[nan].tolist(), bad_text[nan].tolist(), strict=True)]
            _emit(out, table, df, df.index[nan], msgs, check)
        if bad.any():
            msgs = [f"{column} = {x:g}; it must be {need}" for x in v[bad].tolist()]
            _emit(out, table, df, df.index[bad], msgs, check)


_RATINGS: dict[str, dict[str, str]] = {
    "bus": {"vn_kv": "pos"},
    "line": {"length_km": "pos", "max_i_ka": "pos", "r_ohm_per_km": "nonneg", "x_ohm_per_km": "nonneg",
             "c_nf_per_km": "nonneg", "parallel": "pos"},
    "trafo": {"sn_mva": "pos", "vn_hv_kv": "pos", "vn_lv_kv": "pos", "vk_percent": "pos",
              "vkr_percent": "nonneg", "parallel": "pos"},
    "trafo3w": {"sn_hv_mva": "pos", "sn_mv_mva": "pos", "sn_lv_mva": "pos", "vn_hv_kv": "pos",
                "vn_mv_kv": "pos", "vn_lv_kv": "pos"},
    "load": {"scaling": "nonneg"},
    "sgen": {"scaling": "nonneg"},
}
#: Ratings that may be infinite (an unlimited thermal rating); every other rating must be finite.
_MAY_BE_INFINITE: frozenset[tuple[str, str]] = frozenset({("line", "max_i_ka")})
#: Operating set points of the sources: a voltage magnitude > 0.
_SETPOINTS: dict[str, dict[str, str]] = {"ext_grid": {"vm_pu": "pos"}, "gen": {"vm_pu": "pos"}}
#: Injections (MW, Mvar): any sign, but a number and finite.
_INJECTIONS: dict[str, tuple[str, ...]] = {"load": ("p_mw", "q_mvar"), "sgen": ("p_mw", "q_mvar"),
                                           "gen": ("p_mw",), "ext_grid": ("va_degree",)}
#: Non-zero magnitudes below this are no physical quantity in any unit a network table uses: the power flow
#: would underflow on them (pandapower computes the admittances with floating-point errors raised).
TINY_VALUE: float = 1e-100
#: Magnitudes above this are no physical quantity in any unit a network table uses (1e15 MW, kV, km, ohm/km
#: ...): the power flow overflows on them (pandapower raises FloatingPointError) instead of not converging.
HUGE_VALUE: float = 1e15

_RELIABILITY: dict[str, dict[str, str]] = {
    "line": {"lambda_per_km": "nonneg", "repair_h": "nonneg"},
    "trafo": {"lambda_per_yr": "nonneg", "repair_h": "nonneg"},
    "trafo3w": {"lambda_per_yr": "nonneg", "repair_h": "nonneg"},
    "bus": {"lambda_per_yr": "nonneg", "repair_h": "nonneg"},
    "switch": {"lambda_per_yr": "nonneg", "repair_h": "nonneg", "switching_h": "nonneg"},
    "load": {"p_avg_mw": "nonneg"},
}
_PLANNED = ("line", "trafo", "trafo3w", "bus", "switch")


def _check_physical(out: list[Problem], net: Any, table: str, columns: list[str],
                    may_be_infinite: frozenset[str] = frozenset()) -> None:
    """Infinite values (either sign; ``+inf`` allowed in ``may_be_infinite``), non-zero magnitudes below
    :data:`TINY_VALUE` and finite magnitudes above :data:`HUGE_VALUE` in ``columns``."""
    df = net[table] if table in net else None
    if df is None or not len(df):
        return
    for column in columns:
        if column not in df.columns:
            continue
        v = _numeric(df, column).to_numpy()
        inf = np.isneginf(v) if column in may_be_infinite else np.isinf(v)
        _emit(out, table, df, df.index[inf], f"{column} is infinite; it must be a finite number", "rating")
        with np.errstate(invalid="ignore"):
            tiny = (v != 0) & (np.abs(v) < TINY_VALUE)
            huge = np.isfinite(v) & (np.abs(v) > HUGE_VALUE)
        _emit(out, table, df, df.index[huge],
              [f"{column} = {x:g} is not a physical value (magnitude above {HUGE_VALUE:g}): check the unit"
               for x in v[huge]], "rating")
        _emit(out, table, df, df.index[tiny],
              [f"{column} = {x:g} is not a physical value (non-zero below {TINY_VALUE:g}): use 0 or the real "
               "value" for x in v[tiny]], "rating")


def _check_trafo_impedance(out: list[Problem], net: Any) -> None:
    """A transformer whose ``vkr_percent`` exceeds its ``vk_percent``: the resistive part of the short-circuit
    voltage cannot exceed the whole (pandapower takes √(vk² − vkr²) for the reactance)."""
    df = net["trafo"] if "trafo" in net else None
    if df is None or not len(df) or not {"vk_percent", "vkr_percent"} <= set(df.columns):
        return
    vk, vkr = _numeric(df, "vk_percent"), _numeric(df, "vkr_percent")
    bad = (vkr > vk) & (vk > 0)
    _emit(out, "trafo", df, df.index[bad],
          [f"vkr_percent = {r:g} exceeds vk_percent = {k:g}: the resistive part of the short-circuit voltage "
           "cannot exceed the whole" for r, k in zip(vkr[bad], vk[bad], strict=True)], "rating")


def _check_repair_times(out: list[Problem], net: Any) -> None:
    """``repair_h`` ≤ 0 where the element fails (λ > 0), or above :data:`MAX_REPAIR_H`."""
    for table, lam_col in _LAMBDA_OF.items():
        df = net[table] if table in net else None
        if df is None or not len(df) or "repair_h" not in df.columns:
            continue
        r = _numeric(df, "repair_h")
        if lam_col in df.columns:  # negative repair_h is reported by the range check already
            instant = (r == 0) & (_numeric(df, lam_col) > 0)
            _emit(out, table, df, df.index[instant],
                  f"repair_h = 0 but {lam_col} > 0: a failing element needs a repair time > 0",
                  "reliability_data")
        long = np.isfinite(r) & (r > MAX_REPAIR_H)
        _emit(out, table, df, df.index[long],
              [f"repair_h = {x:g} h exceeds {MAX_REPAIR_H:g} h (10 years): check the unit" for x in r[long]],
              "reliability_data")


def _check_outage_rates(out: list[Problem], net: Any) -> None:
    """Per element: the yearly fault rate (lines: ``lambda_per_km`` × ``length_km``) and ``planned_per_yr``
    above :data:`MAX_RATE_PER_YR`, and the expected outage time λ·``repair_h`` or ``planned_per_yr`` ·
    ``planned_h`` above :data:`HOURS_PER_YEAR` (out longer than the year)."""
    for table, lam_col in _LAMBDA_OF.items():
        df = net[table] if table in net else None
        if df is None or not len(df):
            continue
        pairs = [(lam_col, "repair_h", "fault rate", "λ·repair_h"),
                 ("planned_per_yr", "planned_h", "planned outages", "planned_per_yr·planned_h")]
        for rate_col, dur_col, what, product in pairs:
            if rate_col not in df.columns:
                continue
            per_km = table == "line" and rate_col == lam_col and "length_km" in df.columns
            rate = _numeric(df, rate_col) * _numeric(df, "length_km") if per_km else _numeric(df, rate_col)
            dur = _numeric(df, dur_col) if dur_col in df.columns else pd.Series(0.0, index=df.index)
            with np.errstate(invalid="ignore", over="ignore"):
                fast = np.isfinite(rate) & (rate > MAX_RATE_PER_YR)
                hours = rate * dur
                long = ~fast & np.isfinite(hours) & (hours > HOURS_PER_YEAR)
                if dur_col == "repair_h":
                    long &= ~(dur > MAX_REPAIR_H)  # that repair time is reported on its own
            per = " (lambda_per_km × length_km)" if per_km else ""
            _emit(out, table, df, df.index[fast],
                  [f"{what} {x:g}/yr{per} exceeds {MAX_RATE_PER_YR:g}/yr (one an hour): check the unit"
                   for x in rate[fast]], "reliability_data")
            _emit(out, table, df, df.index[long],
                  [f"{product} = {x:g} h/yr exceeds the {HOURS_PER_YEAR:g} h of a year (out longer than the "
                   "year): check the units" for x in hours[long]], "reliability_data")


#: Columns pandapower and gridscope cannot do without, in every non-empty table (the data-contract columns
#: are not here: missing, they take the documented defaults).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "bus": ("vn_kv", "in_service"),
    "line": ("from_bus", "to_bus", "length_km", "r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km", "max_i_ka",
             "in_service"),
    "trafo": ("hv_bus", "lv_bus", "sn_mva", "vn_hv_kv", "vn_lv_kv", "vk_percent", "vkr_percent", "in_service"),
    "switch": ("bus", "element", "et", "type", "closed"),
    "load": ("bus", "p_mw", "in_service"),
    "sgen": ("bus", "p_mw", "in_service"),
    "gen": ("bus", "p_mw", "vm_pu", "in_service"),
    "ext_grid": ("bus", "in_service"),
}


def _check_required_columns(out: list[Problem], net: Any) -> bool:
    """Tables lacking a column of :data:`REQUIRED_COLUMNS`; returns True when none is missing."""
    clean = True
    for table, columns in REQUIRED_COLUMNS.items():
        df = net[table] if table in net else None
        if df is None or not len(df):
            continue
        for column in columns:
            if column not in df.columns:
                clean = False
                out.append(Problem(table, None, None, f"the {table} table has no {column!r} column (it has "
                                   f"{len(df)} rows; the other checks are skipped until it is added)",
                                   "missing_column"))
    return clean


def _check_duplicate_indices(out: list[Problem], net: Any) -> bool:
    """Row indices used twice in one table; returns True when there are none."""
    clean = True
    for table in _ELEMENT_TABLES:
        df = net[table] if table in net else None
        if df is None or not len(df):
            continue
        dup = df.index.duplicated(keep="first")
        if not dup.any():
            continue
        clean = False
        names = [None if pd.isna(v) else str(v) for v in df["name"].to_numpy()[dup]] if "name" in df.columns \
            else [None] * int(dup.sum())
        for idx, name in zip(df.index[dup].tolist(), names, strict=True):
            out.append(Problem(table, int(idx) if isinstance(idx, (int, np.integer)) else None, name,
                               f"index {idx!r} is used by {int((df.index == idx).sum())} rows of {table}: "
                               "row indices must be unique (the other checks are skipped until fixed)",
                               "duplicate_index"))
    return clean


def _check_text_bools(out: list[Problem], net: Any) -> None:
    """Text in boolean columns: ``bool("False")`` is True, so the element would count as closed/in service."""
    for table, column in _BOOL_COLUMNS:
        df = net[table] if table in net else None
        if df is None or not len(df) or column not in df.columns or df[column].dtype == bool:
            continue
        values = df[column]
        text = values.map(lambda v: isinstance(v, (str, bytes))).to_numpy(bool)
        _emit(out, table, df, df.index[text],
              [f"{column} is the text {v!r}, not a boolean (text reads as True): store True/False"
               for v in values[text].tolist()], "text_bool")
        # numbers (0/1 from a spreadsheet) or missing values: some code paths index by them instead of masking
        other = ~text & ~values.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(bool)
        _emit(out, table, df, df.index[other],
              [f"{column} is {v!r} ({type(v).__name__}), not a boolean: store True/False"
               for v in values[other].tolist()], "text_bool")


def _in_service(df: pd.DataFrame) -> np.ndarray:
    if "in_service" not in df.columns:
        return np.ones(len(df), bool)
    return df["in_service"].map(lambda v: v is True or (not isinstance(v, (str, bytes)) and pd.notna(v)
                                                        and bool(v))).to_numpy(bool)


def _check_something_to_analyse(out: list[Problem], net: Any) -> None:
    """At least one in-service load and two in-service buses (a supply bus and a load point behind it)."""
    n_bus = int(_in_service(net.bus).sum()) if len(net.bus) else 0
    if n_bus < 2:
        out.append(Problem("bus", None, None, f"the network has {n_bus} in-service bus(es): at least two (a "
                           "supply bus and a load point behind a line or transformer) are needed for an "
                           "analysis", "nothing_to_analyse"))
    if len(net.load) and not _in_service(net.load).any():
        out.append(Problem("load", None, None, f"none of the {len(net.load)} loads is in service: there is "
                           "nothing to analyse", "nothing_to_analyse"))


def _check_nan_only(out: list[Problem], net: Any, table: str, columns: tuple[str, ...], check: str) -> None:
    df = net[table] if table in net else None
    if df is None or not len(df):
        return
    for column in columns:
        if column in df.columns:
            nan = _numeric(df, column).isna()
            _emit(out, table, df, df.index[nan], f"{column} is NaN", check)


def _check_numeric_cells(out: list[Problem], net: Any, table: str, columns: list[str]) -> None:
    """Text in a column the power flow reads as numbers (``"0.5"`` parses, but pandapower does arithmetic on
    the raw column and fails): a ``rating`` problem per cell."""
    df = net[table] if table in net else None
    if df is None or not len(df):
        return
    for column in columns:
        if column not in df.columns or df[column].dtype != object:
            continue
        raw = df[column]
        text = raw.map(lambda v: isinstance(v, (str, bytes))).to_numpy(bool)
        _emit(out, table, df, df.index[text],
              [f"{column} is the text {v!r}, not a number: store numbers" for v in raw[text].tolist()], "rating")


# ------------------------------------------------------------------------------------------------ checks
def _check_sources(out: list[Problem], net: Any) -> bool:
    eg = net.ext_grid
    n_src = int(eg["in_service"].fillna(False).astype(bool).sum()) if len(eg) else 0
    if len(net.gen) and "slack" in net.gen.columns:
        gen = net.gen
        n_src += int((gen["slack"].fillna(False).astype(bool) & gen["in_service"].fillna(False).astype(bool))
                     .sum())
    if n_src == 0:
        out.append(Problem("net", None, getattr(net, "name", None) or None,
                           "the network has no source: add an in-service ext_grid at the supply bus",
                           "no_source"))
    return n_src > 0


def _check_references(out: list[Problem], net: Any) -> None:
    buses = net.bus.index
    for table, columns in (("line", ("from_bus", "to_bus")), ("trafo", ("hv_bus", "lv_bus")),
                           ("trafo3w", ("hv_bus", "mv_bus", "lv_bus")), ("load", ("bus",)),
                           ("sgen", ("bus",)), ("ext_grid", ("bus",)), ("gen", ("bus",)),
                           ("storage", ("bus",))):
        df = net[table] if table in net else None
        if df is None or not len(df):
            continue
        for column in columns:
            missing = ~df[column].isin(buses)
            if missing.any():
                msgs = [f"{column} {b!r} is not a bus of the network" for b in df.loc[missing, column].tolist()]
                _emit(out, table, df, df.index[missing], msgs, "dangling")

    sw = net.switch
    if not len(sw):
        return
    et = sw["et"].astype(str).str.strip().str.lower()
    bus_ok = sw["bus"].isin(buses)
    _emit(out, "switch", sw, sw.index[~bus_ok],
          [f"bus {b!r} is not a bus of the network" for b in sw.loc[~bus_ok, "bus"].tolist()], "dangling")
    bad_et = ~et.isin(["b", "l", "t", "t3"])
    _emit(out, "switch", sw, sw.index[bad_et],
          [f"unknown element type et={e!r} (b, l, t or t3)" for e in sw.loc[bad_et, "et"].tolist()], "dangling")
    ends_of = {"b": ("bus", ()), "l": ("line", ("from_bus", "to_bus")), "t": ("trafo", ("hv_bus", "lv_bus")),
               "t3": ("trafo3w", ("hv_bus", "mv_bus", "lv_bus"))}
    for code, (table, end_cols) in ends_of.items():
        rows = sw[et.eq(code)]
        if not len(rows):
            continue
        target = net[table]
        exists = rows["element"].isin(target.index)
        _emit(out, "switch", sw, rows.index[~exists],
              [f"element {e!r} is not a {table} of the network (et={code!r})"
               for e in rows.loc[~exists, "element"].tolist()], "dangling")
        if code == "b":
            same = exists & bus_ok[rows.index] & (rows["element"].to_numpy() == rows["bus"].to_numpy())
            _emit(out, "switch", sw, rows.index[same], "bus-bus switch with identical ends (bus == element)",
                  "dangling")
            continue
        ok = rows[exists & bus_ok[rows.index]]
        if not len(ok):
            continue
        ends = target.loc[ok["element"].to_numpy(), list(end_cols)].to_numpy()
        at_end = (ends == ok["bus"].to_numpy()[:, None]).any(axis=1)
        _emit(out, "switch", sw, ok.index[~at_end],
              [f"bus {b} is not an end of {table} {e} (its ends: {', '.join(map(str, r))})"
               for b, e, r in zip(ok.loc[~at_end, "bus"].tolist(), ok.loc[~at_end, "element"].tolist(),
                                  ends[~at_end].tolist(), strict=True)], "dangling")


def _check_phases(out: list[Problem], net: Any) -> None:
    """The optional bus ``phases`` column: 1, 3 or empty (the voltage band of a bus depends on it)."""
    bad = invalid_phases(net)
    _emit(out, "bus", net.bus, [idx for idx, _ in bad],
          [f"{PHASES_COLUMN} = {value}: must be 1 (single-phase), 3 (three-phase) or empty (by voltage)"
           for _, value in bad], "phases")


def _check_switch_types(out: list[Problem], net: Any) -> None:
    sw = net.switch
    if not len(sw):
        return
    upper = sw["type"].astype(str).str.strip().str.upper()
    bad = ~upper.isin(list(SWITCH_TYPES))
    known = ", ".join(SWITCH_TYPES)
    _emit(out, "switch", sw, sw.index[bad],
          [f"unknown switch type {t!r} (known: {known})" for t in sw.loc[bad, "type"].tolist()], "switch_type")


def _check_customers(out: list[Problem], net: Any) -> None:
    load = net.load
    if not len(load):
        out.append(Problem("load", None, None, "the network has no loads (no customers to supply)", "customers"))
        return
    if "customers" not in load.columns:
        return  # the documented default (1 per load point) applies
    raw = load["customers"]
    c = pd.to_numeric(raw, errors="coerce").astype(float)
    nan = c.isna()
    _emit(out, "load", load, load.index[nan],
          ["customers is missing" if pd.isna(r) else f"customers {r!r} is not a number"
           for r in raw[nan].tolist()], "customers")
    neg = c < 0
    _emit(out, "load", load, load.index[neg], [f"customers = {x:g} is negative" for x in c[neg].tolist()],
          "customers")
    frac = ~nan & ~neg & (c != np.round(c))
    _emit(out, "load", load, load.index[frac], [f"customers = {x:g} is not an integer" for x in c[frac].tolist()],
          "customers")
    in_service = load["in_service"].fillna(False).astype(bool) if "in_service" in load else True
    if not nan.all() and float(c.where(in_service & ~neg).sum()) == 0.0:
        out.append(Problem("load", None, None, "the in-service loads have zero customers in total: "
                           "customer-based indices (SAIFI, SAIDI) are undefined", "customers"))


def _check_zones(out: list[Problem], net: Any, require_zones: bool, default_zone: str | None) -> None:
    bus = net.bus
    if default_zone is not None and default_zone not in ZONES:
        out.append(Problem("net", None, None, f"default zone {default_zone!r} is not a zone label "
                           f"({', '.join(ZONES)})", "zone"))
    zone = bus["zone"] if "zone" in bus.columns else pd.Series(None, index=bus.index, dtype=object)
    missing = zone.isna() | zone.astype(str).str.strip().isin(["", "None", "nan"])
    unknown = ~missing & ~zone.astype(str).isin(ZONES)
    _emit(out, "bus", bus, bus.index[unknown],
          [f"unknown zone {z!r} (zones: {', '.join(ZONES)})" for z in zone[unknown].tolist()], "zone")
    if require_zones and default_zone is None and len(net.load):
        load = net.load
        in_service = load["in_service"].fillna(False).astype(bool) if "in_service" in load else True
        load_buses = pd.Index(load.loc[in_service, "bus"].unique())
        need = missing & bus.index.isin(load_buses)
        _emit(out, "bus", bus, bus.index[need], "bus has loads but no zone (assign zones, e.g. "
              "`gridscope zones`, or give a default zone)", "zone")


def _check_duplicates(out: list[Problem], net: Any, topo: Topology | None) -> None:
    bus = net.bus
    if "name" in bus.columns:
        names = bus["name"]
        named = names.notna() & ~names.astype(str).str.strip().isin(["", "None", "nan"])
        dup = named & names.duplicated(keep=False)
        if dup.any():
            groups = pd.Series(bus.index[dup], index=names[dup].astype(str)).groupby(level=0)
            first = groups.agg(lambda s: ", ".join(map(str, s.tolist())))
            _emit(out, "bus", bus, bus.index[dup],
                  [f"bus name is not unique (buses {first[str(n)]}): zone mapping files refer to buses by name"
                   for n in names[dup].tolist()], "duplicate_name")
    if topo is not None and len(topo.feeders) and "raw_name" in topo.feeders:
        raw = topo.feeders["raw_name"]
        dup = raw.duplicated(keep=False)
        for fid in np.flatnonzero(dup.to_numpy()):
            table, idx = _edge_ref(topo, int(topo.feeders["head_edge"].iat[fid]))
            out.append(Problem(table, idx, str(raw.iat[fid]),
                               f"feeder name {raw.iat[fid]!r} is used by {int((raw == raw.iat[fid]).sum())} "
                               f"feeders (renamed {topo.feeders['name'].iat[fid]!r}): feeder names are ids in "
                               "zone mappings and results; give the head switches unique names",
                               "duplicate_name"))


def _edge_ref(topo: Topology, edge: int) -> tuple[str, int]:
    return EDGE_KINDS[int(topo.edge_kind[edge])], int(topo.edge_element[edge])


def _check_topology(out: list[Problem], net: Any, topo: Topology, radial_max_kv: float) -> None:
    # loads not energised
    load = net.load
    if len(load):
        in_service = load["in_service"].fillna(False).astype(bool).to_numpy() if "in_service" in load \
            else np.ones(len(load), bool)
        nodes = topo.bus_node(load["bus"].to_numpy())
        has_bus = nodes >= 0
        energised = np.zeros(len(load), bool)
        energised[has_bus] = topo.energised[nodes[has_bus]]
        bad = in_service & has_bus & ~energised
        if bad.any():
            bus_in = net.bus["in_service"].fillna(False).astype(bool) if "in_service" in net.bus else None
            msgs = []
            for b in load.loc[bad, "bus"].tolist():
                if bus_in is not None and not bool(bus_in.at[b]):
                    msgs.append(f"not energised: its bus {b} is out of service")
                else:
                    msgs.append(f"not energised: no closed path from any source reaches bus {b}")
            _emit(out, "load", load, load.index[bad], msgs, "not_energised")

    # loops: inside one feeder (meshed operation), between feeders or back into the supply (two sources)
    names = topo.feeders["name"].to_numpy(dtype=object)
    for e in topo.loop_edges.tolist():
        table, idx = _edge_ref(topo, e)
        a, b = int(topo.edge_from[e]), int(topo.edge_to[e])
        fa, fb = int(topo.feeder_of_node[a]), int(topo.feeder_of_node[b])
        name = _names(net[table], [idx])[0] if idx in net[table].index else None
        if fa == fb and fa != NO:
            out.append(Problem(table, idx, name, f"closes a loop inside feeder {names[fa]!r}: the feeder is "
                               f"operated meshed, but radial operation is required at ≤ {radial_max_kv:g} kV "
                               "(open a switch on the loop)", "meshed_feeder"))
        elif fa != NO and fb != NO:
            out.append(Problem(table, idx, name, f"joins feeders {names[fa]!r} and {names[fb]!r}: their "
                               "elements are energised from two sources (open this element or a tie)",
                               "two_sources"))
        else:
            f = names[max(fa, fb)] if max(fa, fb) != NO else "?"
            out.append(Problem(table, idx, name, f"connects feeder {f!r} back into the supply: the feeder is "
                               "energised from two sources (open this element)", "two_sources"))

    # feeder heads without a protective device
    feeders = topo.feeders
    for fid in np.flatnonzero(feeders["head_switch"].to_numpy() == NO).tolist():
        table, idx = _edge_ref(topo, int(feeders["head_edge"].iat[fid]))
        out.append(Problem(table, idx, str(feeders["name"].iat[fid]),
                           f"feeder {feeders['name'].iat[fid]!r} has no breaker or fuse at its head: the "
                           "reliability analysis needs a protective device (switch type CB or FUSE) there to "
                           "clear faults on the feeder", "no_protection"))


def _check_stations(out: list[Problem], net: Any, topo: Topology) -> None:
    """Main transformers at distribution voltage whose station feeds no feeder (see the module docstring).

    Building the stations costs seconds on a 37k-bus grid, so they are built only when some in-service main
    unit at distribution voltage has an LV bus that heads no feeder (the only case that can be reported).
    """
    tr = net.trafo
    if not len(tr):
        return
    if not (tr["hv_bus"].isin(net.bus.index).all() and tr["lv_bus"].isin(net.bus.index).all()):
        return  # reported as dangling; the stations cannot be built (station_problems raises KeyError)
    from .facts import trafo_is_main

    lv_kv = pd.to_numeric(tr["vn_lv_kv"], errors="coerce").to_numpy(float)
    main = trafo_is_main(net, radial_max_kv=topo.radial_max_kv).to_numpy(bool) & _in_service(tr)
    heads = set(topo.feeders["station_bus"].tolist()) if len(topo.feeders) else set()
    suspect = main & (lv_kv <= topo.radial_max_kv) & ~tr["lv_bus"].isin(heads).to_numpy(bool)
    if not suspect.any():
        return
    from .stations import station_problems

    keep = set(tr.index[suspect].tolist())
    for table, idx, message in station_problems(net, topo):
        if table == "trafo" and idx in keep:
            _emit(out, table, tr, [idx], f"{message}: the station tables cannot place this unit (connect its "
                  "busbar to a feeder or a coupled busbar, or take it out of service)", "station")


# ------------------------------------------------------------------------------------------------ API
def validate(
    net: Any,
    *,
    require_zones: bool = True,
    default_zone: str | None = None,
    radial_max_kv: float = RADIAL_MAX_KV,
    topology: Topology | None = None,
) -> list[Problem]:
    """Check a network against the data contract and return every problem found (``[]`` when fine).

    Parameters
    ----------
    net : pandapowerNet
        The network (not modified).
    require_zones : bool
        Report buses that carry loads but have no zone (per-zone results need one).
    default_zone : str, optional
        Zone that buses without one take; when given, missing zones are not problems.
    radial_max_kv : float
        Buses at or below this voltage must be operated radially.
    topology : Topology, optional
        A topology already built for ``net`` (with the same ``radial_max_kv``); built here otherwise.

    Returns
    -------
    list of Problem
        In the order of :data:`CHECKS`; within a check, in table order.
    """
    out: list[Problem] = []
    try:
        if not _check_required_columns(out, net):
            return out  # every other check reads these columns
        if not _check_duplicate_indices(out, net):
            return out  # every other check addresses rows by index
    except Exception as exc:  # validate must never raise (a table that is not a DataFrame, say)
        out.append(Problem("net", None, None, f"validation could not complete: {type(exc).__name__}: {exc}",
                           "internal"))
        return out
    try:
        _run_checks(out, net, require_zones, default_zone, radial_max_kv, topology)
    except Exception as exc:  # validate must never raise: a net broken in a way no check foresaw
        out.append(Problem("net", None, None, f"validation could not complete: {type(exc).__name__}: {exc}",
                           "internal"))
    order = {c: i for i, c in enumerate(CHECKS)}
    out.sort(key=lambda p: order.get(p.check, len(order)))
    return out


def _run_checks(out: list[Problem], net: Any, require_zones: bool, default_zone: str | None,
                radial_max_kv: float, topology: Topology | None) -> None:
    """All checks after the index check, appending to ``out``."""
    _check_text_bools(out, net)
    _check_something_to_analyse(out, net)
    has_source = _check_sources(out, net)
    _check_references(out, net)
    for table, columns in _RATINGS.items():
        _check_values(out, net, table, columns, "rating")
        _check_physical(out, net, table, list(columns), frozenset(c for t, c in _MAY_BE_INFINITE if t == table))
        _check_numeric_cells(out, net, table, [c for c in columns if c != "scaling"])
    for table, columns in _SETPOINTS.items():
        _check_values(out, net, table, columns, "rating")
        _check_physical(out, net, table, list(columns))
        _check_numeric_cells(out, net, table, list(columns))
    for table, columns in _INJECTIONS.items():
        _check_nan_only(out, net, table, columns, "rating")
        _check_physical(out, net, table, list(columns))
        _check_numeric_cells(out, net, table, [*columns, "scaling"])
    _check_trafo_impedance(out, net)
    _check_phases(out, net)
    hint = " (set it, or fill the defaults: gridscope.grid.defaults.apply_reliability_data(net))"
    for table, columns in _RELIABILITY.items():
        _check_values(out, net, table, columns, "reliability_data", hint, finite=True)
    for table in _PLANNED:
        _check_values(out, net, table, {"planned_per_yr": "nonneg", "planned_h": "nonneg"}, "reliability_data",
                      hint, finite=True)
    _check_repair_times(out, net)
    _check_outage_rates(out, net)
    _check_switch_types(out, net)
    _check_customers(out, net)
    _check_zones(out, net, require_zones, default_zone)
    topo = topology
    if topo is None:
        try:
            topo = build_topology(net, radial_max_kv=radial_max_kv)
        except Exception as exc:  # a net too broken to build a graph from: report, do not crash
            out.append(Problem("net", None, None, f"cannot build the topology: {type(exc).__name__}: {exc}",
                               "dangling"))
            topo = None
    _check_duplicates(out, net, topo)
    if topo is not None and has_source:
        _check_topology(out, net, topo, radial_max_kv)
        _check_stations(out, net, topo)
