"""Time-series loading: profile readers, the batch power-flow engines and the running peaks.

A year of quarter-hourly steps (35,040 or, for a leap year like SimBench's 2016, 35,136) is not a year of
pandapower ``runpp`` calls: the default engine converts the network once to power-grid-model and runs every
chunk of steps as one *batch* calculation (only the load and generation powers change between steps). Only
the running peaks are kept, so memory is bounded by the chunk size, not by the number of steps.

Profiles
--------
Profiles replace the ``p_mw`` (``q_mvar``) of loads, static generators and storages per step; the element's
own ``scaling`` column and the run's ``scaling`` factor (loads only) apply on top, exactly as pandapower's
time-series controllers do. Sources:

* ``"simbench"``: the relative profiles stored in a SimBench network (``net.profiles``), turned into absolute
  values by ``simbench.get_absolute_values``; time labels from the profiles' ``time`` column.
* a dict of DataFrames keyed by ``(element, column)`` -- ``("load", "p_mw")``, ``("load", "q_mvar")``,
  ``("sgen", "p_mw")``, ``("sgen", "q_mvar")``, ``("storage", "p_mw")``, ``("storage", "q_mvar")`` -- rows
  the time steps (all with the same index), columns element indices. This is what
  ``simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)`` returns.
* a CSV file, see :func:`read_profile_csv`.

Every in-service load and sgen needs an active-power profile unless ``missing="static"`` (then it keeps its
static value); a load without a reactive-power profile keeps its power factor (``q = p × q_mvar / p_mw``); an
sgen or storage without one keeps its static ``q_mvar``.

Engines
-------
``"pgm"``: power-grid-model, Newton-Raphson, tolerance 1e-8 pu, batch over the steps of a chunk, threads.
The conversion covers buses, lines, two-winding transformers with ratio taps, bus-bus switches (links), line
and transformer switches, loads (constant power, impedance and current shares), static generators, storages,
shunts and external grids. Other elements in service (gen, ward, xward, impedance, dcline, trafo3w, ...) are
refused with a clear message; use ``engine="pandapower"`` for them.
``"pandapower"``: one ``runpp`` per step (slow; the reference the batch engine is cross-checked against).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConvergenceError, InputError
from ..grid.facts import in_service, line_rating_ka, trafo_rating_mva
from ..progress import CANCEL_CHECK_S, ProgressCallback, Reporter
from .diagnosis import diagnose_nonconvergence, net_label, run_pandapower
from .flags import Thresholds, element_voltage_kv
from .loading import PeakLoading
from .voltage import bus_phases

__all__ = [
    "ENGINES",
    "Injections",
    "PandapowerEngine",
    "PgmEngine",
    "Profiles",
    "coerce_profiles",
    "day_peak_step",
    "net_on_day",
    "read_profile_csv",
    "run_batch",
    "simbench_profiles",
]

ENGINES = ("pgm", "pandapower")
_PROFILE_ELEMENTS = ("load", "sgen", "storage")
_PROFILE_COLUMNS = ("p_mw", "q_mvar")
_SOURCE_SK_VA = 1e15  # an ideal slack (pandapower's ext_grid) as a very stiff power-grid-model source


# ============================================================================================ profiles
@dataclass(eq=False)
class Profiles:
    """Per-step active and reactive power of loads, sgens and storages (before scaling).

    Attributes
    ----------
    time : pandas.Index
        Label of every step (a DatetimeIndex when the times could be parsed).
    step_h : float
        Hours per step.
    data : dict
        ``(element, column) -> (positions, values)``: ``positions`` are row positions in ``net[element]``,
        ``values`` an array of shape ``(n_steps, len(positions))``.
    source : str
        Where the profiles came from (for messages and provenance).
    """

    time: pd.Index
    step_h: float
    data: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(repr=False)
    source: str = ""

    @property
    def n_steps(self) -> int:
        """Number of time steps."""
        return len(self.time)

    def block(self, net: Any, element: str, column: str, rows: np.ndarray) -> np.ndarray:
        """Values of ``net[element][column]`` at the steps ``rows``: profiles where given, else static.

        A load's reactive power without a profile follows its active-power profile at the static power factor.
        """
        static = net[element][column].to_numpy(dtype=float) if len(net[element]) else np.zeros(0)
        out = np.tile(static, (len(rows), 1))
        if element == "load" and column == "q_mvar" and (element, "p_mw") in self.data:
            pos, values = self.data[(element, "p_mw")]
            p_static = net.load["p_mw"].to_numpy(dtype=float)[pos]
            q_static = static[pos]
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(p_static != 0, q_static / p_static, 0.0)
            out[:, pos] = values[rows] * ratio
        got = self.data.get((element, column))
        if got is not None:
            pos, values = got
            out[:, pos] = values[rows]
        return out


def _parse_time(labels: pd.Index | pd.Series) -> pd.Index:
    """Datetime labels when every label parses (SimBench's ``dd.mm.yyyy HH:MM`` or ISO), else as given."""
    values = pd.Index(labels)
    if isinstance(values, pd.DatetimeIndex):
        return values
    if values.dtype.kind in "iuf":
        return values
    for fmt in ("%d.%m.%Y %H:%M", "ISO8601"):
        try:
            return pd.DatetimeIndex(pd.to_datetime(values, format=fmt))
        except (ValueError, TypeError):
            continue
    return values


def _infer_step_h(time: pd.Index, step_h: float | None, problems: list[str]) -> float:
    if step_h is not None:
        if not (np.isfinite(step_h) and step_h > 0):
            problems.append(f"step_h must be a positive number of hours, got {step_h!r}")
            return 1.0
        return float(step_h)
    if isinstance(time, pd.DatetimeIndex) and len(time) > 1:
        diffs = np.diff(time.asi8) / 3.6e12
        if np.allclose(diffs, diffs[0]) and diffs[0] > 0:
            return float(diffs[0])
        return float(np.median(diffs)) if np.median(diffs) > 0 else 1.0
    return 1.0


def _check_time(time: pd.Index, problems: list[str]) -> None:
    """Duplicate, unsorted or irregular time labels are "misaligned" profiles."""
    if time.has_duplicates:
        dup = time[time.duplicated()].unique()[:5]
        problems.append(f"duplicate time label(s) {', '.join(map(str, dup))}")
    if isinstance(time, pd.DatetimeIndex) and len(time) > 1:
        if time.hasnans:
            problems.append(f"{int(time.isna().sum())} time label(s) are missing (NaT)")
            return
        diffs = np.diff(time.asi8)
        if (diffs <= 0).any():
            first = int(np.argmax(diffs <= 0)) + 1
            problems.append(f"time labels are not increasing (row {first}: {time[first]} after {time[first - 1]})")
        elif not (diffs == diffs[0]).all():
            first = int(np.argmax(diffs != diffs[0])) + 1
            problems.append(f"time steps are irregular: {pd.Timedelta(int(diffs[0]))} at first, then "
                            f"{pd.Timedelta(int(diffs[first - 1]))} at row {first} ({time[first]}); resample "
                            "the profiles to one step length")


def _missing_elements(net: Any, covered: dict[str, set[int]], include_sgen: bool) -> list[str]:
    problems = []
    for element in ("load", "sgen"):
        if element == "sgen" and not include_sgen:
            continue
        df = net[element]
        if not len(df):
            continue
        active = df.index[in_service(df)]
        lacking = [i for i in active if i not in covered.get(element, set())]
        if lacking:
            names = [f"{i} {df.at[i, 'name']!r}" if "name" in df.columns and isinstance(df.at[i, "name"], str)
                     else str(i) for i in lacking[:10]]
            more = f" ... and {len(lacking) - 10} more" if len(lacking) > 10 else ""
            problems.append(f"no active-power profile for {len(lacking)} in-service {element}(s): "
                            f"{', '.join(names)}{more} (pass missing='static' to keep their static value)")
    return problems


def coerce_profiles(net: Any, profiles: Any, *, step_h: float | None = None, missing: str = "error",
                    include_sgen: bool = True) -> Profiles:
    """Turn any accepted profile source into :class:`Profiles`, checking it against ``net``.

    Parameters
    ----------
    net : pandapowerNet
        The network the profiles belong to.
    profiles : "simbench", None, str, os.PathLike, dict or Profiles
        See the module docstring.
    step_h : float or None
        Hours per step (default: from the time labels, else 1 h).
    missing : {"error", "static"}
        What to do with in-service loads and sgens without an active-power profile.
    include_sgen : bool
        Whether sgens take part (when not, their profiles are not required).

    Raises
    ------
    InputError
        Every problem at once: unknown elements or columns, duplicate columns, non-numeric or missing values,
        rows of different length or index (misaligned), duplicate or irregular times, uncovered elements.
    """
    if missing not in ("error", "static"):
        raise InputError(f"missing must be 'error' or 'static', got {missing!r}")
    if isinstance(profiles, Profiles):
        return profiles
    if profiles is None or (isinstance(profiles, str) and profiles.lower() == "simbench"):
        return simbench_profiles(net, step_h=step_h)
    if isinstance(profiles, str | os.PathLike):
        return read_profile_csv(profiles, net, step_h=step_h, missing=missing, include_sgen=include_sgen)
    if isinstance(profiles, Mapping):
        return _profiles_from_dict(net, profiles, step_h=step_h, missing=missing, include_sgen=include_sgen,
                                   source="dict")
    raise InputError(f"profiles must be 'simbench', a CSV path, a dict of DataFrames or Profiles, "
                     f"got {type(profiles).__name__}")


def simbench_profiles(net: Any, *, step_h: float | None = None) -> Profiles:
    """The profiles stored in a SimBench network, in absolute values.

    Raises
    ------
    InputError
        The network has no SimBench profiles (``net.profiles``) or simbench is not installed.
    """
    if "profiles" not in net or not isinstance(net["profiles"], Mapping) or not len(net["profiles"]):
        raise InputError(f"network {getattr(net, 'name', '')!r} has no SimBench profiles (net.profiles); give a "
                         "profile CSV or a dict of DataFrames instead")
    try:
        import simbench as sb  # deferred: optional and heavy
    except ImportError:
        raise InputError("SimBench profiles need the simbench package: pip install 'gridscope[simbench]'") \
            from None
    absolute = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    absolute = {k: v for k, v in absolute.items() if isinstance(k, tuple) and k[0] in _PROFILE_ELEMENTS
                and v.shape[1]}
    time = None
    for key in ("load", "renewables", "storage", "powerplants"):
        df = net["profiles"].get(key)
        if isinstance(df, pd.DataFrame) and "time" in df.columns and len(df):
            time = _parse_time(df["time"])
            break
    prof = _profiles_from_dict(net, absolute, step_h=step_h, missing="static", include_sgen=True,
                               source="simbench")
    if time is not None and len(time) == prof.n_steps:
        problems: list[str] = []
        prof.time = time
        prof.step_h = _infer_step_h(time, step_h, problems)
    return prof


def _profiles_from_dict(net: Any, profiles: Mapping[Any, Any], *, step_h: float | None, missing: str,
                        include_sgen: bool, source: str) -> Profiles:
    problems: list[str] = []
    data: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    covered: dict[str, set[int]] = {}
    index: pd.Index | None = None
    first_key = None
    for key, df in profiles.items():
        if isinstance(key, str) and "." in key:
            key = tuple(key.split(".", 1))
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] in _PROFILE_ELEMENTS
                and key[1] in _PROFILE_COLUMNS):
            problems.append(f"unknown profile key {key!r}; use (element, column) with element in "
                            f"{_PROFILE_ELEMENTS} and column in {_PROFILE_COLUMNS}")
            continue
        if not isinstance(df, pd.DataFrame):
            problems.append(f"profile {key!r} is a {type(df).__name__}, not a DataFrame")
            continue
        element, column = key
        if df.shape[1] == 0:
            continue
        if index is None:
            index, first_key = df.index, key
        elif len(df.index) != len(index) or not df.index.equals(index):
            problems.append(f"profile {key!r} is misaligned with {first_key!r}: {len(df)} rows "
                            f"({_span(df.index)}) against {len(index)} ({_span(index)})")
            continue
        table = net[element]
        cols = pd.Index(df.columns)
        if cols.has_duplicates:
            problems.append(f"profile {key!r}: duplicate column(s) {', '.join(map(str, cols[cols.duplicated()]))}")
            continue
        pos = table.index.get_indexer(cols)
        unknown = cols[pos < 0]
        if len(unknown):
            problems.append(f"profile {key!r}: no {element} with index {', '.join(map(str, unknown[:10]))}"
                            f"{' ...' if len(unknown) > 10 else ''}")
            continue
        try:
            values = df.to_numpy(dtype=float)
        except (TypeError, ValueError):
            problems.append(f"profile {key!r} has non-numeric values")
            continue
        bad = ~np.isfinite(values)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            problems.append(f"profile {key!r}: {int(bad.sum())} missing or non-finite value(s), first at step "
                            f"{df.index[r]!r}, {element} {cols[c]!r}")
            continue
        data[(element, column)] = (pos.astype(np.int64), values)
        if column == "p_mw":
            covered.setdefault(element, set()).update(int(i) for i in cols)
    if index is None:
        if not problems:
            problems.append("no profile data: every profile table is empty")
        raise InputError("bad profiles:\n  " + "\n  ".join(problems))
    time = _parse_time(index)
    _check_time(time, problems)
    step = _infer_step_h(time, step_h, problems)
    if missing == "error":
        problems += _missing_elements(net, covered, include_sgen)
    if problems:
        raise InputError(f"bad profiles ({source}):\n  " + "\n  ".join(problems))
    return Profiles(time=time, step_h=step, data=data, source=source)


def _span(index: pd.Index) -> str:
    return f"{index[0]} .. {index[-1]}" if len(index) else "empty"


def read_profile_csv(path: str | os.PathLike[str], net: Any, *, step_h: float | None = None,
                     missing: str = "error", include_sgen: bool = True) -> Profiles:
    """Read load and generation profiles from a CSV file.

    Format: a ``time`` column (timestamps, ISO or ``dd.mm.yyyy HH:MM``; or any unique labels, then give
    ``step_h``) and one column per element and quantity, values in MW / Mvar (they replace ``p_mw`` /
    ``q_mvar``; the element's ``scaling`` applies on top)::

        time,load:0,load:1,sgen:3,load:0:q_mvar,Load 7
        2024-01-01 00:00,0.21,0.35,0.0,0.07,0.12

    Column names: ``<element>:<index>`` (active power), ``<element>:<index>:q_mvar`` or ``:p_mw``
    (element ``load``, ``sgen`` or ``storage``), or an element's ``name`` (active power; the name must be unique
    among loads, sgens and storages).

    Parameters
    ----------
    path : path-like
        The CSV file (not modified).
    net : pandapowerNet
        The network the columns refer to.
    step_h : float or None
        Hours per step (default: from the time column, else 1 h).
    missing : {"error", "static"}
        In-service loads and sgens without a column: an error or kept at their static value.
    include_sgen : bool
        Whether sgens must be covered.

    Raises
    ------
    InputError
        The file is missing or unreadable, or -- all listed at once -- the ``time`` column is missing, columns
        are unknown, duplicated or ambiguous, values are missing or not numbers, times are duplicated or
        irregular, elements are not covered.
    """
    from ..grid.untrusted import read_input_table

    p = Path(path)
    # the untrusted-input reader: size limit, encoding (UTF-8 or GB18030), binary content, malformed CSV,
    # blank or repeated column names, each refused with one line
    raw = read_input_table(p, what="profile file", dtype=None, keep_default_na=True)
    problems: list[str] = []
    if "time" not in raw.columns:
        problems.append(f"no 'time' column (columns: {', '.join(map(str, raw.columns[:8]))}"
                        f"{' ...' if raw.shape[1] > 8 else ''})")
        time_values = pd.RangeIndex(len(raw))
    else:
        time_values = pd.Index(raw["time"])
    names: dict[str, list[tuple[str, int]]] = {}
    for element in _PROFILE_ELEMENTS:
        if element in net and len(net[element]) and "name" in net[element].columns:
            for idx, name in net[element]["name"].items():
                if isinstance(name, str) and name:
                    names.setdefault(name, []).append((element, int(idx)))
    targets: dict[tuple[str, str], dict[int, str]] = {}
    seen: dict[tuple[str, str, int], str] = {}
    for col in raw.columns:
        if col == "time":
            continue
        target = _parse_column(str(col), net, names, problems)
        if target is None:
            continue
        element, column, idx = target
        if (element, column, idx) in seen:
            problems.append(f"columns {seen[(element, column, idx)]!r} and {col!r} both give {element} {idx} "
                            f"{column}")
            continue
        seen[(element, column, idx)] = str(col)
        targets.setdefault((element, column), {})[idx] = str(col)
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    index = pd.Index(time_values)
    for (element, column), cols in targets.items():
        sub = raw[list(cols.values())]
        numeric = sub.apply(pd.to_numeric, errors="coerce")
        bad = numeric.isna() & sub.notna()
        if bad.any().any():
            for c in sub.columns[bad.any().to_numpy()]:
                r = int(np.argmax(bad[c].to_numpy()))
                problems.append(f"column {c!r}: {int(bad[c].sum())} non-numeric value(s), first {sub[c].iloc[r]!r} "
                                f"at row {r + 2} (time {index[r]})")
        empty = sub.isna()
        if empty.any().any():
            for c in sub.columns[empty.any().to_numpy()]:
                r = int(np.argmax(empty[c].to_numpy()))
                problems.append(f"column {c!r}: {int(empty[c].sum())} missing value(s), first at row {r + 2} "
                                f"(time {index[r]})")
        frame = numeric.copy()
        frame.columns = list(cols.keys())
        frame.index = index
        frames[(element, column)] = frame
    if not targets and not problems:
        problems.append("no element columns besides 'time'")
    if problems:
        # report the structural problems together with the coverage and time problems
        time = _parse_time(index)
        _check_time(time, problems)
        covered = {e: set(c) for (e, col), c in targets.items() if col == "p_mw"}
        if missing == "error":
            problems += _missing_elements(net, covered, include_sgen)
        raise InputError(f"bad profile file {p}:\n  " + "\n  ".join(problems))
    return _profiles_from_dict(net, frames, step_h=step_h, missing=missing, include_sgen=include_sgen,
                               source=str(p))


def _parse_column(col: str, net: Any, names: dict[str, list[tuple[str, int]]],
                  problems: list[str]) -> tuple[str, str, int] | None:
    parts = col.split(":")
    if len(parts) in (2, 3) and parts[0].strip() in _PROFILE_ELEMENTS:
        element = parts[0].strip()
        column = parts[2].strip() if len(parts) == 3 else "p_mw"
        if column not in _PROFILE_COLUMNS:
            problems.append(f"column {col!r}: unknown quantity {column!r} (use p_mw or q_mvar)")
            return None
        try:
            idx = int(parts[1])
        except ValueError:
            problems.append(f"column {col!r}: {parts[1]!r} is not an element index")
            return None
        if element not in net or idx not in net[element].index:
            problems.append(f"column {col!r}: no {element} with index {idx}")
            return None
        return element, column, idx
    hits = names.get(col, [])
    if len(hits) == 1:
        return hits[0][0], "p_mw", hits[0][1]
    if len(hits) > 1:
        problems.append(f"column {col!r}: the name is ambiguous ({', '.join(f'{e} {i}' for e, i in hits)}); "
                        "use <element>:<index>")
        return None
    problems.append(f"column {col!r}: not a load/sgen/storage name nor <element>:<index>[:p_mw|:q_mvar]")
    return None


# ============================================================================================ engines
@dataclass(eq=False)
class StepResults:
    """Results of a chunk of steps, arrays of shape ``(n_steps, n_elements)`` in pandapower units.

    ``failed`` marks steps that did not converge (their rows are NaN); ``errors`` holds their messages.
    """

    vm_pu: np.ndarray
    bus_p_mw: np.ndarray
    bus_q_mvar: np.ndarray
    line_i_ka: np.ndarray
    line_loading: np.ndarray
    line_p_from: np.ndarray
    line_q_from: np.ndarray
    line_p_to: np.ndarray
    line_q_to: np.ndarray
    trafo_loading: np.ndarray
    trafo_p_hv: np.ndarray
    trafo_q_hv: np.ndarray
    trafo_p_lv: np.ndarray
    trafo3w_loading: np.ndarray
    eg_p: np.ndarray
    eg_q: np.ndarray
    failed: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)


class Injections:
    """Per-step element powers (MW, Mvar; pandapower sign conventions, scaling applied) of a chunk.

    Parameters
    ----------
    net : pandapowerNet
        The network the profiles belong to.
    prof : Profiles
        The profiles (an empty ``data`` dict gives the static values).
    rows : numpy.ndarray
        Step positions of the chunk.
    scaling : float
        Factor on every load (on top of its ``scaling`` column).
    include_sgen : bool
        Static generators follow their profiles, or are held at zero.

    Attributes
    ----------
    load_p, load_q, sgen_p, sgen_q, storage_p, storage_q : numpy.ndarray
        Shape ``(len(rows), len(net[element]))``.
    """

    def __init__(self, net: Any, prof: Profiles, rows: np.ndarray, *, scaling: float, include_sgen: bool):
        def scale(element: str) -> np.ndarray:
            if not len(net[element]):
                return np.ones(0)
            return net[element]["scaling"].to_numpy(dtype=float) if "scaling" in net[element].columns \
                else np.ones(len(net[element]))

        self.load_p = prof.block(net, "load", "p_mw", rows) * (scale("load") * scaling)
        self.load_q = prof.block(net, "load", "q_mvar", rows) * (scale("load") * scaling)
        on = 1.0 if include_sgen else 0.0
        self.sgen_p = prof.block(net, "sgen", "p_mw", rows) * (scale("sgen") * on)
        self.sgen_q = prof.block(net, "sgen", "q_mvar", rows) * (scale("sgen") * on)
        self.storage_p = prof.block(net, "storage", "p_mw", rows) * scale("storage")
        self.storage_q = prof.block(net, "storage", "q_mvar", rows) * scale("storage")


def _ratio_tap(trafo: pd.DataFrame) -> np.ndarray:
    """Transformers whose tap changer acts on the ratio, as pandapower 3 decides it.

    pandapower >= 3 applies a tap only when ``tap_changer_type`` is ``"Ratio"`` or ``"Symmetrical"`` (``"Ideal"``
    shifts the phase only); without that column (older networks) every tap with data acts.
    """
    if "tap_changer_type" not in trafo.columns:
        return np.ones(len(trafo), dtype=bool)
    return trafo["tap_changer_type"].isin(["Ratio", "Symmetrical"]).to_numpy()


def _pgm_unsupported(net: Any) -> list[str]:
    problems = []
    for table in ("gen", "ward", "xward", "impedance", "dcline", "trafo3w", "tcsc", "svc", "ssc", "vsc",
                  "motor", "asymmetric_load", "asymmetric_sgen", "shunt_characteristic_table"):
        if table in net and isinstance(net[table], pd.DataFrame) and len(net[table]):
            df = net[table]
            n = int(in_service(df).sum())
            if n:
                problems.append(f"{n} in-service {table}")
    if len(net.trafo):
        tr = net.trafo[in_service(net.trafo)]
        typ = tr["tap_changer_type"] if "tap_changer_type" in tr.columns else pd.Series("Ratio", index=tr.index)
        active = typ.notna() & (typ.astype(str) != "") & tr["tap_pos"].notna()
        tabular = tr.index[active & (typ == "Tabular")]
        if len(tabular):
            problems.append(f"tabular tap changers on trafo {', '.join(map(str, tabular[:5]))}")
        ideal = tr.index[active & (typ == "Ideal") & (tr["tap_pos"] != tr.get("tap_neutral", 0))]
        if len(ideal):
            problems.append(f"ideal phase-shifting taps on trafo {', '.join(map(str, ideal[:5]))}")
        if "tap2_pos" in tr.columns and "tap2_changer_type" in tr.columns:
            second = tr.index[tr["tap2_pos"].notna() & tr["tap2_changer_type"].notna()]
            if len(second):
                problems.append(f"second tap changers on trafo {', '.join(map(str, second[:5]))}")
        if "tap_step_degree" in tr.columns:
            shifting = tr.index[(tr["tap_step_degree"].fillna(0) != 0) & active]
            if len(shifting):
                problems.append(f"phase-shifting taps on trafo {', '.join(map(str, shifting[:5]))}")
        if "tap_dependency_table" in tr.columns:
            dep = tr.index[tr["tap_dependency_table"].fillna(False).astype(bool)]
            if len(dep):
                problems.append(f"tap-dependent impedance on trafo {', '.join(map(str, dep[:5]))}")
        frac = tr["tap_pos"][active].dropna()
        frac = frac.index[frac != np.round(frac)]
        if len(frac):
            problems.append(f"non-integer tap positions on trafo {', '.join(map(str, frac[:5]))}")
    if len(net.switch):
        sw = net.switch[(net.switch["et"] == "b") & net.switch["closed"].astype(bool)]
        if "z_ohm" in sw.columns:
            z = sw.index[sw["z_ohm"].fillna(0) > 0]
            if len(z):
                problems.append(f"closed bus-bus switches with an impedance (z_ohm > 0): {', '.join(map(str, z[:5]))}")
    if len(net.line):
        same = net.line.index[net.line["from_bus"] == net.line["to_bus"]]
        if len(same):
            problems.append(f"lines from a bus to itself: {', '.join(map(str, same[:5]))}")
    return problems


class PgmEngine:
    """power-grid-model batch engine: the network converted once, each chunk of steps one batch call.

    Parameters
    ----------
    net : pandapowerNet
        The network (read only).
    threads : int
        power-grid-model ``threading``: 0 all hardware threads, -1 sequential, n > 0 that many.
    """

    name = "pgm"

    def __init__(self, net: Any, *, threads: int = 0) -> None:
        problems = _pgm_unsupported(net)
        if problems:
            raise InputError("the power-grid-model engine does not model: " + "; ".join(problems)
                             + " -- use engine='pandapower'")
        from power_grid_model import ComponentType as CT  # deferred: heavy import
        from power_grid_model import LoadGenType, PowerGridModel, initialize_array

        self.threads = int(threads)
        self._net = net
        self.n_trafo3w = len(net.trafo3w) if "trafo3w" in net else 0  # all out of service (checked above)
        bus = net.bus
        self.n_bus = len(bus)
        bus_pos = pd.Series(np.arange(self.n_bus), index=bus.index)
        bus_on = in_service(bus)
        next_id = self.n_bus
        data: dict[Any, np.ndarray] = {}

        def ids(n: int) -> np.ndarray:
            nonlocal next_id
            out = np.arange(next_id, next_id + n)
            next_id += n
            return out

        def bpos(values: Any) -> np.ndarray:
            return bus_pos.reindex(np.asarray(values)).to_numpy(dtype=np.int64)

        node = initialize_array("input", CT.node, self.n_bus)
        node["id"] = np.arange(self.n_bus)
        node["u_rated"] = bus["vn_kv"].to_numpy(dtype=float) * 1e3
        data[CT.node] = node

        # element switches: an open switch at a bus opens that end of the element
        def end_closed(et: str, table: pd.DataFrame, bus_col: str) -> np.ndarray:
            ok = np.ones(len(table), dtype=bool)
            if not len(net.switch) or not len(table):
                return ok
            sw = net.switch[(net.switch["et"] == et) & ~net.switch["closed"].astype(bool)]
            if not len(sw):
                return ok
            open_pairs = set(zip(sw["element"].astype(int), sw["bus"].astype(int), strict=True))
            ends = table[bus_col].to_numpy(dtype=np.int64)
            for k, (idx, b) in enumerate(zip(table.index, ends, strict=True)):
                if (int(idx), int(b)) in open_pairs:
                    ok[k] = False
            return ok

        f_hz = float(getattr(net, "f_hz", 50.0) or 50.0)
        self.f_hz = f_hz
        line = net.line
        self.n_line = len(line)
        if self.n_line:
            on = in_service(line)
            fb, tb = bpos(line["from_bus"]), bpos(line["to_bus"])
            par = line["parallel"].to_numpy(dtype=float) if "parallel" in line.columns else np.ones(self.n_line)
            length = line["length_km"].to_numpy(dtype=float)
            c_nf = line["c_nf_per_km"].to_numpy(dtype=float)
            g_us = line["g_us_per_km"].fillna(0).to_numpy(dtype=float) if "g_us_per_km" in line.columns \
                else np.zeros(self.n_line)
            arr = initialize_array("input", CT.line, self.n_line)
            arr["id"] = self.line_id = ids(self.n_line)
            arr["from_node"], arr["to_node"] = fb, tb
            arr["from_status"] = on & bus_on[fb] & end_closed("l", line, "from_bus")
            arr["to_status"] = on & bus_on[tb] & end_closed("l", line, "to_bus")
            arr["r1"] = line["r_ohm_per_km"].to_numpy(dtype=float) * length / par
            arr["x1"] = line["x_ohm_per_km"].to_numpy(dtype=float) * length / par
            arr["c1"] = c_nf * length * par * 1e-9
            with np.errstate(divide="ignore", invalid="ignore"):
                arr["tan1"] = np.where(c_nf > 0, g_us / (2 * np.pi * f_hz * c_nf * 1e-3), 0.0)
            self.line_imax_ka = line_rating_ka(net).to_numpy()
            arr["i_n"] = np.where(self.line_imax_ka > 0, self.line_imax_ka * 1e3, np.nan)
            data[CT.line] = arr

        trafo = net.trafo
        self.n_trafo = len(trafo)
        if self.n_trafo:
            on = in_service(trafo)
            hb, lb = bpos(trafo["hv_bus"]), bpos(trafo["lv_bus"])
            par = trafo["parallel"].to_numpy(dtype=float) if "parallel" in trafo.columns else np.ones(self.n_trafo)
            sn_va = trafo["sn_mva"].to_numpy(dtype=float) * par * 1e6
            arr = initialize_array("input", CT.transformer, self.n_trafo)
            arr["id"] = self.trafo_id = ids(self.n_trafo)
            arr["from_node"], arr["to_node"] = hb, lb
            arr["from_status"] = on & bus_on[hb] & end_closed("t", trafo, "hv_bus")
            arr["to_status"] = on & bus_on[lb] & end_closed("t", trafo, "lv_bus")
            vn_hv = trafo["vn_hv_kv"].to_numpy(dtype=float)
            vn_lv = trafo["vn_lv_kv"].to_numpy(dtype=float)
            arr["u1"], arr["u2"] = vn_hv * 1e3, vn_lv * 1e3
            arr["sn"] = sn_va
            arr["uk"] = trafo["vk_percent"].to_numpy(dtype=float) * 1e-2
            arr["pk"] = trafo["vkr_percent"].to_numpy(dtype=float) * 1e-2 * sn_va
            p0 = trafo["pfe_kw"].to_numpy(dtype=float) * par * 1e3
            arr["p0"] = p0
            arr["i0"] = np.maximum(trafo["i0_percent"].to_numpy(dtype=float) * 1e-2, p0 / sn_va)
            shift = trafo["shift_degree"].fillna(0).to_numpy(dtype=float) if "shift_degree" in trafo.columns \
                else np.zeros(self.n_trafo)
            clock = (np.round(shift / 30.0).astype(int) % 12)
            arr["clock"] = clock
            arr["winding_from"] = np.where(clock % 2 == 1, 2, 1)  # delta for odd clocks, else wye_n
            arr["winding_to"] = 1
            tap_pos = trafo["tap_pos"].to_numpy(dtype=float) if "tap_pos" in trafo.columns \
                else np.full(self.n_trafo, np.nan)
            tap_neutral = trafo["tap_neutral"].to_numpy(dtype=float) if "tap_neutral" in trafo.columns \
                else np.full(self.n_trafo, np.nan)
            step = trafo["tap_step_percent"].to_numpy(dtype=float) if "tap_step_percent" in trafo.columns \
                else np.full(self.n_trafo, np.nan)
            side = trafo["tap_side"].astype(object).to_numpy() if "tap_side" in trafo.columns \
                else np.full(self.n_trafo, None, dtype=object)
            has_tap = np.isfinite(tap_pos) & np.isfinite(tap_neutral) & np.isfinite(step) & \
                np.isin(side, ["hv", "lv"]) & _ratio_tap(trafo)
            lv_side = side == "lv"
            arr["tap_side"] = np.where(lv_side, 1, 0)
            arr["tap_pos"] = np.where(has_tap, tap_pos, 0).astype(np.int64)
            arr["tap_nom"] = np.where(has_tap, tap_neutral, 0).astype(np.int64)
            tmin = trafo["tap_min"].to_numpy(dtype=float) if "tap_min" in trafo.columns else tap_pos
            tmax = trafo["tap_max"].to_numpy(dtype=float) if "tap_max" in trafo.columns else tap_pos
            lo = np.where(has_tap, np.fmin(np.nan_to_num(tmin, nan=-127), tap_pos), 0)
            hi = np.where(has_tap, np.fmax(np.nan_to_num(tmax, nan=127), tap_pos), 0)
            arr["tap_min"], arr["tap_max"] = lo.astype(np.int64), hi.astype(np.int64)
            arr["tap_size"] = np.where(has_tap, step * 1e-2 * np.where(lv_side, vn_lv, vn_hv) * 1e3, 0.0)
            self.trafo_vn = (vn_hv, vn_lv)
            self.trafo_rating_mva = trafo_rating_mva(net).to_numpy()
            data[CT.transformer] = arr

        sw = net.switch[net.switch["et"] == "b"] if len(net.switch) else net.switch
        if len(sw):
            arr = initialize_array("input", CT.link, len(sw))
            arr["id"] = ids(len(sw))
            a, b = bpos(sw["bus"]), bpos(sw["element"])
            closed = sw["closed"].astype(bool).to_numpy() & bus_on[a] & bus_on[b]
            arr["from_node"], arr["to_node"] = a, b
            arr["from_status"] = arr["to_status"] = closed
            data[CT.link] = arr

        eg = net.ext_grid
        self.n_eg = len(eg)
        if self.n_eg:
            arr = initialize_array("input", CT.source, self.n_eg)
            arr["id"] = ids(self.n_eg)
            nb = bpos(eg["bus"])
            arr["node"] = nb
            arr["status"] = in_service(eg) & bus_on[nb]
            arr["u_ref"] = eg["vm_pu"].to_numpy(dtype=float)
            arr["u_ref_angle"] = np.deg2rad(eg["va_degree"].fillna(0).to_numpy(dtype=float)) \
                if "va_degree" in eg.columns else 0.0
            arr["sk"] = _SOURCE_SK_VA
            arr["rx_ratio"] = 0.1
            arr["z01_ratio"] = 1.0
            data[CT.source] = arr

        # loads: one constant-power block, plus impedance and current blocks where any load has those shares
        load = net.load
        self.n_load = len(load)
        self._load_blocks: list[tuple[np.ndarray, np.ndarray]] = []  # (p share, q share) per block
        load_parts = []
        if self.n_load:
            def share(col: str) -> np.ndarray:
                return load[col].fillna(0).to_numpy(dtype=float) / 100.0 if col in load.columns \
                    else np.zeros(self.n_load)

            zp, ip = share("const_z_p_percent"), share("const_i_p_percent")
            zq, iq = share("const_z_q_percent"), share("const_i_q_percent")
            if "const_z_percent" in load.columns and "const_z_p_percent" not in load.columns:
                zp = zq = share("const_z_percent")
            if "const_i_percent" in load.columns and "const_i_p_percent" not in load.columns:
                ip = iq = share("const_i_percent")
            lb = bpos(load["bus"])
            status = in_service(load) & bus_on[lb]
            blocks = [(LoadGenType.const_power, 1 - zp - ip, 1 - zq - iq)]
            if (zp != 0).any() or (zq != 0).any():
                blocks.append((LoadGenType.const_impedance, zp, zq))
            if (ip != 0).any() or (iq != 0).any():
                blocks.append((LoadGenType.const_current, ip, iq))
            for kind, sp, sq in blocks:
                arr = initialize_array("input", CT.sym_load, self.n_load)
                arr["id"] = ids(self.n_load)
                arr["node"], arr["status"], arr["type"] = lb, status, kind
                arr["p_specified"] = 0.0
                arr["q_specified"] = 0.0
                load_parts.append(arr)
                self._load_blocks.append((sp, sq))
        def const_power(component: Any, table: pd.DataFrame) -> np.ndarray:
            """Constant-power injections at the elements' buses; powers are set per step."""
            arr = initialize_array("input", component, len(table))
            arr["id"] = ids(len(table))
            nodes = bpos(table["bus"])
            arr["node"], arr["status"], arr["type"] = nodes, in_service(table) & bus_on[nodes], \
                LoadGenType.const_power
            arr["p_specified"] = arr["q_specified"] = 0.0
            return arr

        storage = net.storage if "storage" in net else pd.DataFrame()
        self.n_storage = len(storage)
        if self.n_storage:
            load_parts.append(const_power(CT.sym_load, storage))
        if load_parts:
            data[CT.sym_load] = np.concatenate(load_parts)
        sgen = net.sgen
        self.n_sgen = len(sgen)
        if self.n_sgen:
            data[CT.sym_gen] = const_power(CT.sym_gen, sgen)
        shunt = net.shunt if "shunt" in net else pd.DataFrame()
        if len(shunt):
            arr = initialize_array("input", CT.shunt, len(shunt))
            arr["id"] = ids(len(shunt))
            sb = bpos(shunt["bus"])
            arr["node"], arr["status"] = sb, in_service(shunt) & bus_on[sb]
            steps = shunt["step"].to_numpy(dtype=float) if "step" in shunt.columns else np.ones(len(shunt))
            vn = shunt["vn_kv"].to_numpy(dtype=float) * 1e3
            arr["g1"] = shunt["p_mw"].to_numpy(dtype=float) * steps * 1e6 / vn**2
            arr["b1"] = -shunt["q_mvar"].to_numpy(dtype=float) * steps * 1e6 / vn**2
            data[CT.shunt] = arr
        self._ct = CT
        self.input_data = data
        try:
            self.model = PowerGridModel(data, system_frequency=f_hz)
        except Exception as exc:
            raise InputError(f"power-grid-model refused the converted network: {type(exc).__name__}: {exc}") \
                from None
        self._bus_on = bus_on

    def run(self, inj: Injections) -> StepResults:
        """Power flow of every step of a chunk as one batch calculation."""
        from power_grid_model.errors import PowerGridBatchError, PowerGridError  # deferred with the model

        CT = self._ct
        n = inj.load_p.shape[0]
        update: dict[Any, dict[str, np.ndarray]] = {}
        if CT.sym_load in self.input_data:
            p_parts, q_parts = [], []
            for sp, sq in self._load_blocks:
                p_parts.append(inj.load_p * sp)
                q_parts.append(inj.load_q * sq)
            if self.n_storage:
                p_parts.append(inj.storage_p)
                q_parts.append(inj.storage_q)
            update[CT.sym_load] = {"p_specified": np.concatenate(p_parts, axis=1) * 1e6,
                                   "q_specified": np.concatenate(q_parts, axis=1) * 1e6}
        if self.n_sgen:
            update[CT.sym_gen] = {"p_specified": inj.sgen_p * 1e6, "q_specified": inj.sgen_q * 1e6}
        outputs: dict[Any, list[str]] = {CT.node: ["u_pu", "p", "q", "energized"]}
        if self.n_line:
            outputs[CT.line] = ["i_from", "i_to", "p_from", "q_from", "p_to", "q_to", "energized"]
        if self.n_trafo:
            outputs[CT.transformer] = ["i_from", "i_to", "p_from", "q_from", "p_to", "energized"]
        if self.n_eg:
            outputs[CT.source] = ["p", "q"]
        errors: dict[int, str] = {}
        failed = np.zeros(n, dtype=bool)
        try:
            res = self.model.calculate_power_flow(
                update_data=update, threading=self.threads, output_component_types=outputs,
                error_tolerance=1e-8, max_iterations=30, continue_on_batch_error=True)
        except PowerGridBatchError as exc:  # pragma: no cover - continue_on_batch_error returns instead
            raise ConvergenceError(f"power-grid-model batch failed: {exc}") from None
        except PowerGridError as exc:
            raise ConvergenceError(f"power-grid-model failed: {type(exc).__name__}: {exc}") from None
        batch_error = getattr(self.model, "batch_error", None)
        if batch_error is not None and len(getattr(batch_error, "failed_scenarios", [])):
            for k, msg in zip(batch_error.failed_scenarios, batch_error.error_messages, strict=False):
                failed[int(k)] = True
                errors[int(k)] = str(msg).splitlines()[0] if msg else "failed"
        node = res[CT.node]
        vm = np.where(node["energized"] == 1, node["u_pu"], np.nan)
        # res_bus sign convention: positive = consumption; pandapower gives 0 at unsupplied buses
        bus_p = np.where(node["energized"] == 1, -node["p"] * 1e-6, 0.0)
        bus_q = np.where(node["energized"] == 1, -node["q"] * 1e-6, 0.0)
        empty = np.zeros((n, 0))
        if self.n_line:
            ln = res[CT.line]
            # as pandapower: a line cut off from every source has no current (NaN) and zero flows
            i_ka = np.where(ln["energized"] == 1, np.maximum(ln["i_from"], ln["i_to"]) * 1e-3, np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                loading = np.where(self.line_imax_ka > 0, i_ka / self.line_imax_ka * 100.0, np.inf)
            lp = (ln["p_from"] * 1e-6, ln["q_from"] * 1e-6, ln["p_to"] * 1e-6, ln["q_to"] * 1e-6)
        else:
            i_ka = loading = empty
            lp = (empty, empty, empty, empty)
        if self.n_trafo:
            tr = res[CT.transformer]
            vn_hv, vn_lv = self.trafo_vn
            s_mva = np.where(tr["energized"] == 1,
                             np.maximum(tr["i_from"] * vn_hv, tr["i_to"] * vn_lv) * np.sqrt(3) * 1e-3, np.nan)
            t_loading = s_mva / self.trafo_rating_mva * 100.0
            tp = (tr["p_from"] * 1e-6, tr["q_from"] * 1e-6, tr["p_to"] * 1e-6)
        else:
            t_loading = empty
            tp = (empty, empty, empty)
        if self.n_eg:
            src = res[CT.source]
            eg_p, eg_q = src["p"] * 1e-6, src["q"] * 1e-6
        else:
            eg_p = eg_q = empty
        out = StepResults(vm_pu=vm, bus_p_mw=bus_p, bus_q_mvar=bus_q, line_i_ka=i_ka, line_loading=loading,
                          line_p_from=lp[0], line_q_from=lp[1], line_p_to=lp[2], line_q_to=lp[3],
                          trafo_loading=t_loading, trafo_p_hv=tp[0], trafo_q_hv=tp[1], trafo_p_lv=tp[2],
                          trafo3w_loading=np.full((n, self.n_trafo3w), np.nan), eg_p=eg_p, eg_q=eg_q,
                          failed=failed, errors=errors)
        if failed.any():
            _blank(out, failed)
        return out


def _blank(out: StepResults, failed: np.ndarray) -> None:
    for name in ("vm_pu", "bus_p_mw", "bus_q_mvar", "line_i_ka", "line_loading", "line_p_from", "line_q_from",
                 "line_p_to", "line_q_to", "trafo_loading", "trafo_p_hv", "trafo_q_hv", "trafo_p_lv",
                 "trafo3w_loading", "eg_p", "eg_q"):
        arr = getattr(out, name)
        if arr.shape[1]:
            arr = arr.astype(float, copy=True)
            arr[failed] = np.nan
            setattr(out, name, arr)


class PandapowerEngine:
    """Reference engine: one pandapower ``runpp`` per step on a private copy of the network."""

    name = "pandapower"

    def __init__(self, net: Any, *, algorithm: str = "nr", **runpp_kwargs: Any) -> None:
        self.work = copy.deepcopy(net)
        self.algorithm = algorithm
        self.runpp_kwargs = runpp_kwargs
        for element in ("load", "sgen", "storage"):
            if element in self.work and len(self.work[element]):
                for col in ("p_mw", "q_mvar", "scaling"):
                    self.work[element][col] = self.work[element][col].astype(float)
                self.work[element]["scaling"] = 1.0  # the injections are passed with scaling applied

    def run(self, inj: Injections) -> StepResults:
        """One ``runpp`` per step of the chunk."""
        import pandapower as pp  # deferred: heavy import

        w = self.work
        n = inj.load_p.shape[0]
        nb, nl, nt = len(w.bus), len(w.line), len(w.trafo)
        n3 = len(w.trafo3w) if "trafo3w" in w else 0
        ne = len(w.ext_grid)
        arrays = {k: np.full((n, m), np.nan) for k, m in (
            ("vm_pu", nb), ("bus_p_mw", nb), ("bus_q_mvar", nb), ("line_i_ka", nl), ("line_loading", nl),
            ("line_p_from", nl), ("line_q_from", nl), ("line_p_to", nl), ("line_q_to", nl),
            ("trafo_loading", nt), ("trafo_p_hv", nt), ("trafo_q_hv", nt), ("trafo_p_lv", nt),
            ("trafo3w_loading", n3), ("eg_p", ne), ("eg_q", ne))}
        failed = np.zeros(n, dtype=bool)
        errors: dict[int, str] = {}
        for k in range(n):
            if len(w.load):
                w.load["p_mw"] = inj.load_p[k]
                w.load["q_mvar"] = inj.load_q[k]
            if len(w.sgen):
                w.sgen["p_mw"] = inj.sgen_p[k]
                w.sgen["q_mvar"] = inj.sgen_q[k]
            if "storage" in w and len(w.storage):
                w.storage["p_mw"] = inj.storage_p[k]
                w.storage["q_mvar"] = inj.storage_q[k]
            try:
                run_pandapower(w, algorithm=self.algorithm, **self.runpp_kwargs)
            except pp.LoadflowNotConverged as exc:
                failed[k] = True
                errors[k] = str(exc).splitlines()[0] if str(exc) else "pandapower power flow did not converge"
                continue
            arrays["vm_pu"][k] = w.res_bus["vm_pu"].to_numpy()
            arrays["bus_p_mw"][k] = w.res_bus["p_mw"].to_numpy()
            arrays["bus_q_mvar"][k] = w.res_bus["q_mvar"].to_numpy()
            if nl:
                rl = w.res_line
                arrays["line_i_ka"][k] = rl["i_ka"].to_numpy()
                arrays["line_loading"][k] = rl["loading_percent"].to_numpy()
                arrays["line_p_from"][k] = rl["p_from_mw"].to_numpy()
                arrays["line_q_from"][k] = rl["q_from_mvar"].to_numpy()
                arrays["line_p_to"][k] = rl["p_to_mw"].to_numpy()
                arrays["line_q_to"][k] = rl["q_to_mvar"].to_numpy()
            if nt:
                rt = w.res_trafo
                arrays["trafo_loading"][k] = rt["loading_percent"].to_numpy()
                arrays["trafo_p_hv"][k] = rt["p_hv_mw"].to_numpy()
                arrays["trafo_q_hv"][k] = rt["q_hv_mvar"].to_numpy()
                arrays["trafo_p_lv"][k] = rt["p_lv_mw"].to_numpy()
            if n3:
                arrays["trafo3w_loading"][k] = w.res_trafo3w["loading_percent"].to_numpy()
            if ne:
                arrays["eg_p"][k] = w.res_ext_grid["p_mw"].to_numpy()
                arrays["eg_q"][k] = w.res_ext_grid["q_mvar"].to_numpy()
        return StepResults(**arrays, failed=failed, errors=errors)


def make_engine(net: Any, engine: str, *, threads: int = 0) -> PgmEngine | PandapowerEngine:
    """The batch engine called ``engine`` (:data:`ENGINES`) for ``net``."""
    if engine == "pgm":
        return PgmEngine(net, threads=threads)
    if engine == "pandapower":
        return PandapowerEngine(net)
    raise InputError(f"unknown power-flow engine {engine!r}; use one of {', '.join(ENGINES)}")


# ======================================================================================== running peaks
class _Peak:
    """Running maximum of a (steps, elements) quantity with its step and companion values at that step."""

    def __init__(self, n: int, companions: tuple[str, ...]) -> None:
        self.value = np.full(n, -np.inf)
        self.step = np.full(n, -1, dtype=np.int64)
        self.comp = {c: np.full(n, np.nan) for c in companions}

    def update(self, values: np.ndarray, steps: np.ndarray, companions: dict[str, np.ndarray]) -> None:
        if not values.shape[1] or not values.shape[0]:
            return
        filled = np.where(np.isnan(values), -np.inf, values)
        arg = filled.argmax(axis=0)
        cols = np.arange(values.shape[1])
        best = filled[arg, cols]
        better = best > self.value
        if better.any():
            self.value[better] = best[better]
            self.step[better] = steps[arg[better]]
            for c, arr in companions.items():
                self.comp[c][better] = arr[arg[better], cols[better]]

    def result(self) -> np.ndarray:
        return np.where(np.isneginf(self.value), np.nan, self.value)


def _labels(time: pd.Index, steps: np.ndarray) -> np.ndarray:
    out = np.full(steps.shape, None, dtype=object)
    ok = steps >= 0
    out[ok] = pd.Index(time).take(steps[ok]).to_numpy(dtype=object)
    return out


def run_batch(net: Any, profiles: Any = "simbench", *, engine: str = "pgm", time_steps: Any = None,
              step_h: float | None = None, thresholds: Any = None, scaling: float = 1.0,
              include_sgen: bool = True, missing: str = "error", chunk_size: int = 2048, threads: int = 0,
              progress: ProgressCallback | None = None,
              cancel: Callable[[], bool] | None = None) -> PeakLoading:
    """Implementation of :func:`gridscope.capacity.powerflow.run_timeseries` (see there)."""
    if not (np.isfinite(scaling) and scaling >= 0):
        raise InputError(f"scaling must be a finite number >= 0, got {scaling!r}")
    if engine not in ENGINES:
        raise InputError(f"unknown power-flow engine {engine!r}; use one of {', '.join(ENGINES)}")
    if int(chunk_size) < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size!r}")
    th = Thresholds.coerce(thresholds)
    prof = coerce_profiles(net, profiles, step_h=step_h, missing=missing, include_sgen=include_sgen)
    if step_h is not None:
        prof.step_h = float(step_h)
    rows = _select_steps(prof, time_steps)
    eng = make_engine(net, engine, threads=threads)
    nb, nl, nt = len(net.bus), len(net.line), len(net.trafo)
    n3 = len(net.trafo3w) if "trafo3w" in net else 0
    line_pk = _Peak(nl, ("i_ka", "p_from_mw", "q_from_mvar", "p_to_mw", "q_to_mvar"))
    trafo_pk = _Peak(nt, ("p_hv_mw", "q_hv_mvar", "p_lv_mw"))
    t3_pk = _Peak(n3, ())
    vmax_pk = _Peak(nb, ())
    vmin_pk = _Peak(nb, ())
    eg_pk = _Peak(len(net.ext_grid), ("q_mvar",))
    # hours above: counts per element
    heavy_line = th.heavy_percent("line", element_voltage_kv(net, "line")) if nl else np.zeros(0)
    over_line = th.overload_percent("line", element_voltage_kv(net, "line")) if nl else np.zeros(0)
    heavy_tr = th.heavy_percent("trafo", element_voltage_kv(net, "trafo")) if nt else np.zeros(0)
    over_tr = th.overload_percent("trafo", element_voltage_kv(net, "trafo")) if nt else np.zeros(0)
    heavy_t3 = th.heavy_percent("trafo3w", element_voltage_kv(net, "trafo3w")) if n3 else np.zeros(0)
    over_t3 = th.overload_percent("trafo3w", element_voltage_kv(net, "trafo3w")) if n3 else np.zeros(0)
    # each bus against the band of its own level (GB/T 12325-2008, :mod:`.voltage`, with the ``phases`` column):
    # +7 % / -10 % at 220 V counts 0.91 pu inside, 1.08 pu outside; the hours table keys the band by its wider
    # side in percent, as :func:`~.flags.flag_loading` looks it up
    band_lo, band_hi = th.band_limits(net.bus["vn_kv"].to_numpy(dtype=float), bus_phases(net))
    band = np.maximum(1.0 - band_lo, band_hi - 1.0)
    counts = {k: np.zeros(m, dtype=np.int64) for k, m in (
        ("line_heavy", nl), ("line_over", nl), ("trafo_heavy", nt), ("trafo_over", nt), ("t3_heavy", n3),
        ("t3_over", n3), ("bus", nb))}
    # the system peak step: largest total load
    sys_peak_step, sys_peak_value = -1, -np.inf
    sys_bus = (np.full(nb, np.nan), np.full(nb, np.nan), np.full(nb, np.nan))
    failures: dict[int, str] = {}
    total = rows.size
    done = 0
    rep = Reporter("power-flow steps", total, progress=progress, cancel=cancel)
    per_step_s = 0.0
    while done < total:
        rep.check(done)
        chunk = rows[done:done + _chunk_steps(int(chunk_size), per_step_s, done)]
        started = perf_counter()
        inj = Injections(net, prof, chunk, scaling=scaling, include_sgen=include_sgen)
        res = eng.run(inj)
        for k, msg in res.errors.items():
            failures[int(chunk[k])] = msg
        ok = ~res.failed
        line_pk.update(res.line_loading, chunk, {"i_ka": res.line_i_ka, "p_from_mw": res.line_p_from,
                                                 "q_from_mvar": res.line_q_from, "p_to_mw": res.line_p_to,
                                                 "q_to_mvar": res.line_q_to})
        trafo_pk.update(res.trafo_loading, chunk, {"p_hv_mw": res.trafo_p_hv, "q_hv_mvar": res.trafo_q_hv,
                                                   "p_lv_mw": res.trafo_p_lv})
        t3_pk.update(res.trafo3w_loading, chunk, {})
        vmax_pk.update(res.vm_pu, chunk, {})
        vmin_pk.update(-res.vm_pu, chunk, {})
        eg_pk.update(res.eg_p, chunk, {"q_mvar": res.eg_q})
        with np.errstate(invalid="ignore"):
            if nl:
                counts["line_heavy"] += (res.line_loading >= heavy_line).sum(axis=0)
                counts["line_over"] += (res.line_loading >= over_line).sum(axis=0)
            if nt:
                counts["trafo_heavy"] += (res.trafo_loading >= heavy_tr).sum(axis=0)
                counts["trafo_over"] += (res.trafo_loading >= over_tr).sum(axis=0)
            if n3:
                counts["t3_heavy"] += (res.trafo3w_loading >= heavy_t3).sum(axis=0)
                counts["t3_over"] += (res.trafo3w_loading >= over_t3).sum(axis=0)
            counts["bus"] += ((res.vm_pu < band_lo - 1e-12) | (res.vm_pu > band_hi + 1e-12)).sum(axis=0)
        load_total = inj.load_p.sum(axis=1) if inj.load_p.shape[1] else np.zeros(len(chunk))
        load_total = np.where(ok, load_total, -np.inf)
        if len(load_total):
            k = int(np.argmax(load_total))
            if load_total[k] > sys_peak_value:
                sys_peak_value, sys_peak_step = float(load_total[k]), int(chunk[k])
                sys_bus = (res.vm_pu[k].copy(), res.bus_p_mw[k].copy(), res.bus_q_mvar[k].copy())
        done += len(chunk)
        per_step_s = (perf_counter() - started) / len(chunk)
        rep.update(done, {"max_line_loading_percent": float(np.nanmax(line_pk.result(), initial=np.nan))
                          if nl else float("nan")})
    if failures:
        _raise_failures(net, prof, failures, scaling=scaling, include_sgen=include_sgen, engine=eng.name,
                        diagnose=diagnose_nonconvergence, name=net_label(net))
    time = prof.time
    line = pd.DataFrame({"loading_percent": line_pk.result(), **line_pk.comp}, index=net.line.index)
    line["time"] = _labels(time, line_pk.step)
    trafo = pd.DataFrame({"loading_percent": trafo_pk.result(), "p_hv_mw": trafo_pk.comp["p_hv_mw"],
                          "q_hv_mvar": trafo_pk.comp["q_hv_mvar"]}, index=net.trafo.index)
    trafo["s_hv_mva"] = np.hypot(trafo["p_hv_mw"], trafo["q_hv_mvar"])
    trafo["p_lv_mw"] = trafo_pk.comp["p_lv_mw"]
    trafo["time"] = _labels(time, trafo_pk.step)
    t3_index = net.trafo3w.index if "trafo3w" in net else pd.Index([], dtype=np.int64)
    trafo3w = pd.DataFrame({"loading_percent": t3_pk.result()}, index=t3_index)
    trafo3w["time"] = _labels(time, t3_pk.step)
    sys_label = time[sys_peak_step] if sys_peak_step >= 0 else None
    bus = pd.DataFrame({"vm_pu": sys_bus[0], "vm_min_pu": -vmin_pk.result(), "vm_max_pu": vmax_pk.result(),
                        "time_min": _labels(time, vmin_pk.step), "time_max": _labels(time, vmax_pk.step),
                        "p_mw": sys_bus[1], "q_mvar": sys_bus[2]}, index=net.bus.index)
    bus["time"] = sys_label
    ext_grid = pd.DataFrame({"p_mw": eg_pk.result(), "q_mvar": eg_pk.comp["q_mvar"]}, index=net.ext_grid.index)
    ext_grid["time"] = _labels(time, eg_pk.step)
    h = prof.step_h
    parts = []
    for element, key, kind, thr, index in (
            ("line", "line_heavy", "heavy", heavy_line, net.line.index),
            ("line", "line_over", "overload", over_line, net.line.index),
            ("trafo", "trafo_heavy", "heavy", heavy_tr, net.trafo.index),
            ("trafo", "trafo_over", "overload", over_tr, net.trafo.index),
            ("trafo3w", "t3_heavy", "heavy", heavy_t3, t3_index),
            ("trafo3w", "t3_over", "overload", over_t3, t3_index),
            ("bus", "bus", "voltage", 100.0 * band, net.bus.index)):
        if len(index):
            parts.append(pd.DataFrame({"element": element, "index": np.asarray(index, dtype=np.int64),
                                       "kind": kind, "threshold_percent": thr,
                                       "hours_above": counts[key] * h}))
    hours = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["element", "index", "kind", "threshold_percent", "hours_above"])
    return PeakLoading(line=line, trafo=trafo, trafo3w=trafo3w, bus=bus, ext_grid=ext_grid,
                       method=f"timeseries:{eng.name}", scaling=float(scaling), n_steps=int(total),
                       hours_above=hours, include_sgen=include_sgen, step_h=h, engine=eng.name,
                       time_index=time[rows] if total else time[:0], thresholds=th)


def _chunk_steps(chunk_size: int, per_step_s: float, done: int) -> int:
    """Steps of the next chunk: at most ``chunk_size`` (memory) and about :data:`CANCEL_CHECK_S` of work, so
    cancellation is checked that often; the first chunk is small to measure the time per step."""
    if done == 0 or per_step_s <= 0:
        return max(1, min(chunk_size, 16))
    return max(1, min(chunk_size, int(0.8 * CANCEL_CHECK_S / per_step_s)))


def _select_steps(prof: Profiles, time_steps: Any) -> np.ndarray:
    n = prof.n_steps
    if time_steps is None:
        return np.arange(n)
    if isinstance(time_steps, slice):
        return np.arange(n)[time_steps]
    steps = np.asarray(time_steps)
    if steps.dtype.kind not in "iu":
        raise InputError("time_steps must be a slice or integer step positions")
    bad = steps[(steps < 0) | (steps >= n)]
    if bad.size:
        raise InputError(f"time step position(s) {', '.join(map(str, bad[:10]))} out of range 0..{n - 1}")
    return steps.astype(np.int64)


def net_at_step(net: Any, prof: Profiles, step: int, *, scaling: float = 1.0, include_sgen: bool = True) -> Any:
    """A copy of ``net`` with loads, sgens and storages set to step ``step`` (scaling in the powers)."""
    work = copy.deepcopy(net)
    inj = Injections(net, prof, np.asarray([step]), scaling=scaling, include_sgen=include_sgen)
    for element, p, q in (("load", inj.load_p, inj.load_q), ("sgen", inj.sgen_p, inj.sgen_q),
                          ("storage", inj.storage_p, inj.storage_q)):
        if element in work and len(work[element]):
            work[element]["p_mw"] = p[0]
            work[element]["q_mvar"] = q[0]
            work[element]["scaling"] = 1.0
    return work


def _raise_failures(net: Any, prof: Profiles, failures: dict[int, str], *, scaling: float, include_sgen: bool,
                    engine: str, diagnose: Callable[..., str], name: str) -> None:
    steps = sorted(failures)
    first = steps[0]
    labels = [str(prof.time[s]) for s in steps[:10]]
    more = f" and {len(steps) - 10} more" if len(steps) > 10 else ""
    cause = diagnose(net_at_step(net, prof, first, scaling=scaling, include_sgen=include_sgen))
    exc = ConvergenceError(
        f"the power flow of {name} did not converge at {len(steps)} time step(s): {', '.join(labels)}{more} "
        f"(engine {engine}; first failure at step {first}, time {prof.time[first]}: {failures[first]}); "
        f"{cause}")
    exc.time_steps = [prof.time[s] for s in steps]  # type: ignore[attr-defined]
    exc.step_positions = steps  # type: ignore[attr-defined]
    raise exc


def day_peak_step(net: Any, prof: Profiles, day: Any) -> int:
    """The step of calendar day ``day`` (month and day; the profile's year may differ) with the largest total
    load active power; 28 February stands in for 29 February when the profile has no leap day.

    Raises
    ------
    InputError
        The profile's time labels are not dates, or it has no step on that day.
    """
    time = prof.time
    if not isinstance(time, pd.DatetimeIndex):
        raise InputError(f"profiles {prof.source!r}: time labels are not dates, so a day's load cannot be found")
    month, dom = int(day.month), int(day.day)
    rows = np.flatnonzero((time.month == month) & (time.day == dom))
    if rows.size == 0 and (month, dom) == (2, 29):
        rows = np.flatnonzero((time.month == 2) & (time.day == 28))
    if rows.size == 0:
        raise InputError(f"profiles {prof.source!r} ({_span(time)}) have no step on {month:02d}-{dom:02d}")
    total = prof.block(net, "load", "p_mw", rows).sum(axis=1)
    return int(rows[int(np.argmax(total))])


def net_on_day(net: Any, profiles: Any, *, include_sgen: bool = True) -> Callable[[Any], Any]:
    """``f(date)`` → a copy of ``net`` with the loads, sgens and storages of that day's peak step
    (:func:`day_peak_step`; the elements' own ``scaling`` applied, then set to 1); what
    :meth:`gridscope.Study.outages` gives the planned-job transfer check."""
    prof = coerce_profiles(net, profiles, include_sgen=include_sgen)

    def on(day: Any) -> Any:
        return net_at_step(net, prof, day_peak_step(net, prof, day), include_sgen=include_sgen)

    return on
