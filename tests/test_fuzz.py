"""Fuzzing the whole pipeline (issue 13 item 3): random valid and corrupted networks never crash gridscope.

Random networks (:func:`grids`): one to three radial 10 kV feeders, as trees, from an MV busbar that is fed
straight by the external grid or through a 110/10 kV main transformer; random switches (CB, FUSE, DS, LBS)
at random places, feeder heads that are not always breakers, normally-open ties (sometimes closed: a mesh),
distribution transformers with an LV load behind a fuse, sgens and PV gens, out-of-service elements, and
sometimes no data-contract columns at all (the defaults table must then apply). :func:`corruptions` breaks
them: NaN, negative, zero, huge, subnormal, infinite, missing values, text in numeric columns, text booleans,
duplicate indices, dropped columns, references to buses that do not exist.

Pipeline (:func:`run_pipeline`): ``gs.validate`` -> analytical reliability -> Monte Carlo (a few years) ->
capacity (``gridscope.capacity.api.assess_capacity``) -> connection evaluation
(``gridscope.capacity.connection.evaluate_connection``). The property, per stage: either a clean result
whose indices are finite (and physically bounded), or a :class:`~gridscope.errors.GridscopeError`; a
:class:`~gridscope.errors.ValidationError` names real elements (table, index present in the net). Any other
exception fails the test (hypothesis shrinks it to a small repro). ``validate`` itself never raises and
never falls back to its ``internal`` guard.

Independent checks on networks that validate clean: system SAIFI is at most the total failure rate Σλ
(each failure interrupts at most every customer) and SAIDI at most Σλ·r plus Σ planned·duration (no
interruption lasts longer than its repair, or the planned outage); 0 ≤ ASAI ≤ 1 and ASAI = 1 - SAIDI/8760.

CI runs a bounded, reproducible profile (``derandomize=True``, :data:`CI_EXAMPLES` cases, override with
``GRIDSCOPE_FUZZ_EXAMPLES``); ``benchmarks/fuzz_long.py`` runs the same generators for 10,000 cases.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

#: Cases in the CI profile (about 0.5 s each on one core).
CI_EXAMPLES: int = int(os.environ.get("GRIDSCOPE_FUZZ_EXAMPLES", "20"))
#: Monte-Carlo years per case: enough to exercise the kernel, cheap.
MC_YEARS: int = 200
#: Stages of :func:`run_pipeline`, in order.
STAGES: tuple[str, ...] = ("validate", "study", "analytical", "monte-carlo", "capacity", "connection")

_HEAD_TYPES = ("CB", "CB", "CB", "CB", "FUSE", "DS", "LBS")


def _real(lo: float, hi: float) -> Any:
    """A plausible value in [lo, hi], rounded to 4 decimals: valid data carries no subnormal or 17-digit
    floats (those are what the corruptions are for)."""
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 4))
_BRANCH_SWITCH = (None, None, "DS", "FUSE", "LBS", "CB")
_ZONES = ("A", "B", "C")

#: (table, column) pairs a corruption may hit, with the kinds that make sense there.
_NUMERIC_TARGETS: tuple[tuple[str, str], ...] = (
    ("bus", "vn_kv"), ("bus", "lambda_per_yr"), ("bus", "repair_h"),
    ("line", "length_km"), ("line", "r_ohm_per_km"), ("line", "x_ohm_per_km"), ("line", "c_nf_per_km"),
    ("line", "max_i_ka"), ("line", "lambda_per_km"), ("line", "repair_h"), ("line", "parallel"),
    ("line", "planned_per_yr"), ("line", "planned_h"),
    ("trafo", "sn_mva"), ("trafo", "vn_hv_kv"), ("trafo", "vn_lv_kv"), ("trafo", "vk_percent"),
    ("trafo", "vkr_percent"), ("trafo", "lambda_per_yr"), ("trafo", "repair_h"),
    ("switch", "switching_h"), ("switch", "lambda_per_yr"), ("switch", "repair_h"),
    ("load", "p_mw"), ("load", "q_mvar"), ("load", "scaling"), ("load", "customers"), ("load", "p_avg_mw"),
    ("sgen", "p_mw"), ("sgen", "q_mvar"), ("gen", "p_mw"), ("gen", "vm_pu"),
    ("ext_grid", "vm_pu"), ("ext_grid", "va_degree"),
)
_REFERENCE_TARGETS: tuple[tuple[str, str], ...] = (
    ("line", "from_bus"), ("line", "to_bus"), ("trafo", "hv_bus"), ("trafo", "lv_bus"), ("load", "bus"),
    ("switch", "bus"), ("switch", "element"), ("sgen", "bus"), ("ext_grid", "bus"),
)
_BOOL_TARGETS: tuple[tuple[str, str], ...] = (
    ("switch", "closed"), ("line", "in_service"), ("load", "in_service"), ("trafo", "in_service"),
    ("bus", "in_service"), ("ext_grid", "in_service"), ("sgen", "in_service"),
)
_DROP_TARGETS: tuple[tuple[str, str], ...] = (
    ("line", "lambda_per_km"), ("line", "repair_h"), ("trafo", "lambda_per_yr"), ("load", "customers"),
    ("bus", "zone"), ("switch", "switching_h"), ("line", "max_i_ka"), ("line", "length_km"),
    ("trafo", "sn_mva"), ("load", "p_mw"), ("switch", "type"), ("switch", "closed"), ("bus", "vn_kv"),
    ("load", "scaling"), ("line", "in_service"),
)
_INDEX_TABLES = ("bus", "line", "switch", "load", "trafo")
KINDS = ("nan", "negative", "zero", "huge", "tiny", "inf", "text", "numeric_text", "text_bool", "int_bool",
         "duplicate_index", "drop_column", "dangling", "bad_zone", "bad_switch_type")


@dataclass
class Case:
    """One fuzz case: the network, what was done to it, and the connection request to evaluate."""

    net: Any
    notes: list[str] = field(default_factory=list)
    corrupted: bool = False
    intended_valid: bool = True
    bus: int = 0
    p_mw: float = 0.1

    def describe(self) -> str:
        """The recipe of the case in one paragraph (with the net's JSON, a complete repro)."""
        return "; ".join(self.notes) or "clean network"


# ---------------------------------------------------------------------------------------------- generators
@st.composite
def grids(draw: Any) -> Case:
    """A random network (see the module docstring); ``intended_valid`` when nothing was made invalid."""
    import pandapower as pp

    notes: list[str] = []
    valid = True
    net = pp.create_empty_network(name="fuzz")
    with_station = draw(st.booleans())
    bb = pp.create_bus(net, 10.0, name="BB", zone="B")
    if with_station:
        hv = pp.create_bus(net, 110.0, name="HV", zone="B")
        pp.create_ext_grid(net, hv, vm_pu=1.0)
        pp.create_transformer_from_parameters(net, hv, bb, sn_mva=40.0, vn_hv_kv=110.0, vn_lv_kv=10.0,
                                              vkr_percent=0.4, vk_percent=12.0, pfe_kw=20.0, i0_percent=0.05,
                                              name="T1")
        notes.append("110/10 kV station")
    else:
        pp.create_ext_grid(net, bb, vm_pu=1.02)
    n_feeders = draw(st.integers(1, 3))
    feeder_buses: list[list[int]] = []
    k = 0
    for f in range(n_feeders):
        n_sections = draw(st.integers(1, 6))
        buses: list[int] = []
        for s in range(n_sections):
            parent = bb if s == 0 else buses[draw(st.integers(0, len(buses) - 1))]
            b = pp.create_bus(net, 10.0, name=f"N{k}", zone=draw(st.sampled_from(_ZONES)))
            line = pp.create_line_from_parameters(
                net, parent, b, draw(_real(0.1, 3.0)), r_ohm_per_km=draw(_real(0.1, 0.6)),
                x_ohm_per_km=draw(_real(0.1, 0.4)), c_nf_per_km=draw(_real(0.0, 300.0)),
                max_i_ka=draw(_real(0.1, 0.6)), name=f"L{k}")
            net.line.at[line, "type"] = draw(st.sampled_from(("ol", "cs")))
            kind = draw(st.sampled_from(_HEAD_TYPES)) if s == 0 else draw(st.sampled_from(_BRANCH_SWITCH))
            if s == 0 and kind not in ("CB", "FUSE"):
                valid = False  # no protection at the feeder head
                notes.append(f"feeder {f} head {kind}")
            if kind is not None:
                pp.create_switch(net, parent, line, et="l", type=kind, closed=True, name=f"{kind} L{k}")
            if draw(_real(0, 1)) < 0.75 or s == n_sections - 1:
                p = draw(_real(0.01, 1.0))
                pp.create_load(net, b, p_mw=p, q_mvar=0.3 * p, name=f"LD{k}", customers=draw(st.integers(1, 300)))
            buses.append(b)
            k += 1
        feeder_buses.append(buses)
    if draw(_real(0, 1)) < 0.4:  # a distribution transformer with an LV load behind a fuse
        at = draw(st.sampled_from([b for fb in feeder_buses for b in fb]))
        lv = pp.create_bus(net, 0.4, name="LV", zone=str(net.bus.at[at, "zone"]))
        t = pp.create_transformer(net, at, lv, "0.63 MVA 10/0.4 kV", name="DT")
        pp.create_switch(net, at, t, et="t", type="FUSE", closed=True, name="FUSE DT")
        pp.create_load(net, lv, p_mw=draw(_real(0.01, 0.3)), name="LD LV", customers=draw(st.integers(1, 50)))
        notes.append("distribution transformer")
    if n_feeders >= 2 and draw(st.booleans()):  # a tie between two feeders' ends, normally open (or not)
        a, b = feeder_buses[0][-1], feeder_buses[1][-1]
        tie = pp.create_line_from_parameters(net, a, b, 0.5, r_ohm_per_km=0.2, x_ohm_per_km=0.3, c_nf_per_km=10,
                                             max_i_ka=0.3, name="tie line")
        closed = draw(_real(0, 1)) < 0.2
        pp.create_switch(net, a, tie, et="l", type=draw(st.sampled_from(("LBS", "DS", "CB"))), closed=closed,
                         name="tie")
        notes.append("closed tie (two sources)" if closed else "normally-open tie")
        valid &= not closed
    all_buses = [b for fb in feeder_buses for b in fb]
    if draw(_real(0, 1)) < 0.3:
        pp.create_sgen(net, draw(st.sampled_from(all_buses)), p_mw=draw(_real(0.01, 0.5)), name="PV")
        notes.append("sgen")
    if draw(_real(0, 1)) < 0.15:
        pp.create_gen(net, draw(st.sampled_from(all_buses)), p_mw=draw(_real(0.05, 0.5)), vm_pu=1.0,
                      name="G")
        notes.append("gen")
    if draw(_real(0, 1)) < 0.15:
        table = draw(st.sampled_from(("line", "load", "sgen", "switch")))
        if len(net[table]) and "in_service" in net[table].columns:
            row = draw(st.sampled_from(list(net[table].index)))
            net[table].at[row, "in_service"] = False
            notes.append(f"{table} {row} out of service")
            valid = False  # may leave loads unsupplied
    if draw(_real(0, 1)) < 0.85:
        from gridscope.grid.defaults import apply_reliability_data

        net = apply_reliability_data(net)
    else:
        notes.append("no data-contract columns (defaults must apply)")
    bus = draw(st.sampled_from(all_buses))
    p_mw = draw(st.sampled_from((0.05, 0.5, 2.0, 20.0)))
    return Case(net=net, notes=notes, intended_valid=valid, bus=int(bus), p_mw=float(p_mw))


def _corrupt(draw: Any, case: Case) -> None:
    """Apply one random corruption to ``case.net`` in place (noted in ``case.notes``)."""
    net = case.net
    kind = draw(st.sampled_from(KINDS))
    case.corrupted = True
    if kind in ("nan", "negative", "zero", "huge", "tiny", "inf", "text"):
        options = [(t, c) for t, c in _NUMERIC_TARGETS if t in net and len(net[t]) and c in net[t].columns]
        if not options:
            return
        table, column = draw(st.sampled_from(options))
        row = draw(st.sampled_from(list(net[table].index)))
        df = net[table]
        old = df.at[row, column]
        value: Any = {"nan": np.nan, "zero": 0.0, "huge": draw(st.sampled_from((1e12, 1e300))),
                      "tiny": draw(st.sampled_from((1e-310, -1e-200))),
                      "inf": draw(st.sampled_from((np.inf, -np.inf))), "text": "abc"}.get(kind)
        if kind == "negative":
            value = -abs(float(old)) - 1.0 if isinstance(old, int | float | np.number) and np.isfinite(old) \
                else -1.0
        if kind == "text" or df[column].dtype.kind in "iub":
            df[column] = df[column].astype(object)
        df.at[row, column] = value
        case.notes.append(f"{table}.{column}[{row}] = {value!r} (was {old!r})")
    elif kind == "text_bool":
        options = [(t, c) for t, c in _BOOL_TARGETS if len(net[t]) and c in net[t].columns]
        table, column = draw(st.sampled_from(options))
        row = draw(st.sampled_from(list(net[table].index)))
        text = draw(st.sampled_from(("False", "True", "yes", "0")))
        net[table][column] = net[table][column].astype(object)
        net[table].at[row, column] = text
        case.notes.append(f"{table}.{column}[{row}] = {text!r} (text boolean)")
    elif kind == "numeric_text":  # "0.5" instead of 0.5: parses, but arithmetic on the raw column fails
        options = [(t, c) for t, c in _NUMERIC_TARGETS if t in net and len(net[t]) and c in net[t].columns]
        table, column = draw(st.sampled_from(options))
        row = draw(st.sampled_from(list(net[table].index)))
        net[table][column] = net[table][column].astype(object)
        net[table].at[row, column] = str(net[table].at[row, column])
        case.notes.append(f"{table}.{column}[{row}] as text {net[table].at[row, column]!r}")
    elif kind == "int_bool":  # 0/1 from a spreadsheet instead of booleans
        options = [(t, c) for t, c in _BOOL_TARGETS if len(net[t]) and c in net[t].columns
                   and net[t][c].dtype == bool]
        if not options:
            return
        table, column = draw(st.sampled_from(options))
        net[table][column] = net[table][column].astype(int)
        case.notes.append(f"{table}.{column} as 0/1 integers")
    elif kind == "duplicate_index":
        options = [t for t in _INDEX_TABLES if len(net[t]) >= 2]
        if not options:
            return
        table = draw(st.sampled_from(options))
        idx = list(net[table].index)
        i, j = draw(st.sampled_from([(a, b) for a in range(len(idx)) for b in range(len(idx)) if a != b]))
        idx[i] = idx[j]
        net[table].index = idx
        case.notes.append(f"{table} row {i} takes index {idx[j]} (duplicate)")
    elif kind == "drop_column":
        options = [(t, c) for t, c in _DROP_TARGETS if c in net[t].columns]
        table, column = draw(st.sampled_from(options))
        net[table] = net[table].drop(columns=[column])
        case.notes.append(f"{table}.{column} dropped")
    elif kind == "dangling":
        options = [(t, c) for t, c in _REFERENCE_TARGETS if len(net[t])]
        table, column = draw(st.sampled_from(options))
        row = draw(st.sampled_from(list(net[table].index)))
        net[table].at[row, column] = 9999
        case.notes.append(f"{table}.{column}[{row}] = 9999 (no such element)")
    elif kind == "bad_zone":
        row = draw(st.sampled_from(list(net.bus.index)))
        zone = draw(st.sampled_from(("Q", "", None, "a", 3)))
        if "zone" in net.bus.columns:
            net.bus["zone"] = net.bus["zone"].astype(object)
            net.bus.at[row, "zone"] = zone
            case.notes.append(f"bus.zone[{row}] = {zone!r}")
    elif kind == "bad_switch_type" and len(net.switch):
        row = draw(st.sampled_from(list(net.switch.index)))
        typ = draw(st.sampled_from(("breaker", "", None, "cb", "LS")))
        net.switch["type"] = net.switch["type"].astype(object)
        net.switch.at[row, "type"] = typ
        case.notes.append(f"switch.type[{row}] = {typ!r}")


@st.composite
def cases(draw: Any) -> Case:
    """A random network, left intact (about a third of the cases) or with one to three corruptions."""
    case = draw(grids())
    for _ in range(draw(st.sampled_from((0, 0, 1, 1, 2, 3)))):
        _corrupt(draw, case)
    return case


# ---------------------------------------------------------------------------------------------- the pipeline
@dataclass
class Outcome:
    """What each stage gave: ``"ok"`` or the name of the :class:`GridscopeError` subclass raised."""

    stages: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return all(v == "ok" for v in self.stages.values())


def _check_named(net: Any, problems: list[Any], where: str) -> None:
    """Every problem names a table of the net and, when it has an index, a row that exists there."""
    for p in problems:
        assert p.table == "net" or p.table in net, f"{where}: problem names no table of the net: {p}"
        if p.index is not None and p.table != "net":
            assert p.index in net[p.table].index, f"{where}: problem names a row that does not exist: {p}"
        assert p.message, f"{where}: problem without a message: {p}"


def _total_rates(net: Any) -> tuple[float, float]:
    """Upper bounds for system SAIFI and SAIDI: Σλ and Σλ·r + Σ planned·duration of the in-service elements
    (defaults applied as the study does), computed from the tables alone."""
    import copy

    from gridscope.grid.defaults import apply_reliability_data

    net = apply_reliability_data(copy.deepcopy(net))
    lam = 0.0
    hours = 0.0
    for table in ("line", "trafo", "bus", "switch"):
        df = net[table]
        if not len(df):
            continue
        on = df["in_service"].to_numpy(bool) if "in_service" in df.columns else np.ones(len(df), bool)
        if table == "line":
            rate = df["lambda_per_km"].to_numpy(float) * df["length_km"].to_numpy(float)
        else:
            rate = df["lambda_per_yr"].to_numpy(float) if "lambda_per_yr" in df.columns else np.zeros(len(df))
        r = df["repair_h"].to_numpy(float) if "repair_h" in df.columns else np.zeros(len(df))
        pl = df["planned_per_yr"].to_numpy(float) if "planned_per_yr" in df.columns else np.zeros(len(df))
        ph = df["planned_h"].to_numpy(float) if "planned_h" in df.columns else np.zeros(len(df))
        lam += float(np.sum((rate + pl)[on]))
        hours += float(np.sum((rate * r + pl * ph)[on]))
    return lam, hours


def _check_reliability(ds: Any, net: Any, *, bounds: bool) -> None:
    zones = [str(z) for z in ds["zone"].values]
    cust = ds["customers"] if "customers" in ds else None
    for z in zones:
        if cust is not None and float(cust.sel(zone=z)) <= 0:
            continue  # a zone without customers has undefined per-customer indices
        for name in ("SAIFI", "SAIDI", "ASAI", "ENS", "AENS"):
            v = float(ds[name].sel(zone=z))
            assert math.isfinite(v), f"{name} of zone {z} is {v}"
        saifi, saidi, asai = (float(ds[n].sel(zone=z)) for n in ("SAIFI", "SAIDI", "ASAI"))
        assert saifi >= 0 and saidi >= 0 and float(ds["ENS"].sel(zone=z)) >= 0
        assert 0.0 <= asai <= 1.0, f"ASAI of zone {z} is {asai}"
        assert asai == pytest.approx(1.0 - saidi / 8760.0, rel=1e-9, abs=1e-12)
        caidi = float(ds["CAIDI"].sel(zone=z))
        assert (saifi == 0) or math.isfinite(caidi), f"CAIDI of zone {z} is {caidi} with SAIFI {saifi}"
    if bounds:
        lam, hours = _total_rates(net)
        saifi, saidi = float(ds["SAIFI"].sel(zone="system")), float(ds["SAIDI"].sel(zone="system"))
        assert saifi <= lam * (1 + 1e-9) + 1e-12, (saifi, lam)
        assert saidi <= hours * (1 + 1e-9) + 1e-12, (saidi, hours)


def _check_capacity(cap: Any) -> None:
    for level, table in cap.tables.items():
        if not len(table):
            continue
        v = table["open_capacity_mva"].to_numpy(float)
        assert not np.isinf(v).any(), f"{level}: infinite open capacity"
        assert not np.isnan(v).any(), f"{level}: NaN open capacity"
        assert (v >= -1e-9).all(), f"{level}: negative open capacity {v.min()}"


def _stage(outcome: Outcome, name: str, net: Any, func: Any, check: Any) -> Any:
    from gridscope.errors import GridscopeError, ValidationError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandapower/numba chatter; errors are what we are after
            result = func()
    except ValidationError as exc:
        _check_named(net, exc.problems, name)
        outcome.stages[name] = "ValidationError"
        return None
    except GridscopeError as exc:
        assert str(exc), f"{name}: {type(exc).__name__} without a message"
        outcome.stages[name] = type(exc).__name__
        return None
    check(result)
    outcome.stages[name] = "ok"
    return result


def run_pipeline(case: Case, *, mc_years: int = MC_YEARS) -> Outcome:
    """Run every stage on ``case``; assert the properties (module docstring). Other exceptions propagate."""
    import gridscope as gs
    from gridscope.capacity.api import assess_capacity, capacity_problems
    from gridscope.capacity.connection import DECISIONS, evaluate_connection
    from gridscope.grid.validation import Problem

    net = case.net
    outcome = Outcome()
    problems = gs.validate(net)
    assert all(isinstance(p, Problem) for p in problems)
    internal = [p for p in problems if p.check == "internal"]
    assert not internal, f"validate fell back to its internal guard: {internal}"
    _check_named(net, problems, "validate")
    outcome.stages["validate"] = "ok" if not problems else "problems"
    if case.intended_valid and not case.corrupted:
        assert problems == [], f"a valid network ({case.describe()}) has problems: {problems}"

    # one prepared study for both methods (what gs.assess_reliability does per call): defaults applied on a
    # copy when data-contract columns are missing, validated once, one topology and impact structure
    study = _stage(outcome, "study", net, lambda: gs.Study(net), lambda st: None)
    if study is not None:
        rel = _stage(outcome, "analytical", net, study.reliability,
                     lambda ds: _check_reliability(ds, net, bounds=not problems))
        if not problems:
            assert rel is not None, f"validates clean, but analytical reliability refused: {outcome.stages}"
        _stage(outcome, "monte-carlo", net,
               lambda: study.reliability(method="monte-carlo", years=mc_years, seed=1, threads=1),
               lambda ds: _check_reliability(ds, net, bounds=False))
    cap = _stage(outcome, "capacity", net, lambda: assess_capacity(net), _check_capacity)
    if cap is None and outcome.stages["capacity"] == "ValidationError":
        assert capacity_problems(net), "capacity refused a network without capacity problems"
    _stage(outcome, "connection", net, lambda: evaluate_connection(net, case.p_mw, bus=case.bus),
           lambda dec: _check_decision(dec, DECISIONS))
    return outcome


def _check_decision(dec: Any, decisions: tuple[str, ...]) -> None:
    assert dec.decision in decisions
    for col in ("open_capacity_mw", "physical_capacity_mw"):
        v = dec.candidates[col].to_numpy(float)
        assert not np.isnan(v).any(), f"connection: NaN {col}"


# ---------------------------------------------------------------------------------------------- tests
#: No shrinking in CI: a case costs ~0.5 s and shrinking one took minutes; the failure report prints the
#: case (its recipe in ``notes``) and, being derandomized, the run repeats exactly.
_PHASES = (Phase.explicit, Phase.generate)

@pytest.mark.slow
@settings(max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None, phases=_PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(case=cases())
def test_pipeline_gives_a_result_or_a_gridscope_error(case: Case) -> None:
    run_pipeline(case)


@settings(max_examples=max(5, CI_EXAMPLES // 4), deadline=None, derandomize=True, database=None, phases=_PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=grids())
def test_valid_random_networks_validate_clean_and_run(case: Case) -> None:
    # the generator's own check: an uncorrupted network without deliberate faults (non-protective feeder
    # heads, closed ties, out-of-service elements) validates clean and goes through every stage
    out = run_pipeline(case)
    if case.intended_valid:
        assert out.stages["analytical"] == "ok" and out.stages["monte-carlo"] == "ok", out.stages
