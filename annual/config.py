"""The annual-study configuration: a TOML file checked against ``study.schema.json``, every problem at once.

The JSON Schema shipped beside this module is the one home of the config's structure (keys, types, ranges,
choices); editors use it for completion, :func:`schema_problems` checks a parsed config against it, and
:func:`load_config` adds the checks a schema cannot express (files exist, globs match, built-in names are
known, Monte Carlo has a stopping rule). Paths in a config are relative to the config file's folder.

>>> from gridscope.annual import load_config
>>> cfg = load_config("examples/studies/county.toml")            # doctest: +SKIP
>>> [n.name for n in cfg.networks]                                # doctest: +SKIP
['feeder-north', 'feeder-south']
"""

from __future__ import annotations

import difflib
import glob
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import GridscopeError
from ..grid.builtin import BUILTIN
from ..settings import LINE_HEAVY_PERCENT, MC_MAX_YEARS, MC_REPAIR_DIST, MC_YEARS, TRAFO_HEAVY_PERCENT

__all__ = [
    "SCHEMA_PATH",
    "CapacityOptions",
    "NetworkSpec",
    "OutputOptions",
    "ReliabilityOptions",
    "StudyConfig",
    "StudyConfigError",
    "config_from_dict",
    "load_config",
    "load_schema",
    "schema_problems",
]

#: The JSON Schema of the study config (shipped as package data).
SCHEMA_PATH = Path(__file__).with_name("study.schema.json")

_GLOB_CHARS = frozenset("*?[")
_FILE_SUFFIXES = (".json", ".xlsx", ".xls")


class StudyConfigError(GridscopeError):
    """A study config has problems; ``problems`` lists every one (``"where: what"`` lines). Exit code 2."""

    exit_code = 2

    def __init__(self, problems: list[str], source: str = "study config") -> None:
        self.problems = list(problems)
        self.source = source
        lines = [f"{len(self.problems)} problem(s) in {source}:", *(f"  {p}" for p in self.problems)]
        super().__init__("\n".join(lines))


# ------------------------------------------------------------------------------------------------ schema
@cache
def load_schema() -> dict[str, Any]:
    """The study config's JSON Schema (a dict; cached, do not modify)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "object": (dict,),
    "array": (list,),
}


def _type_ok(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind])


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def schema_problems(value: Any, schema: Mapping[str, Any] | None = None, where: str = "") -> list[str]:
    """Every way ``value`` breaks ``schema`` (the study schema by default), as ``"where: what"`` lines.

    Implements the JSON Schema keywords the study schema uses: ``type``, ``enum``, ``const``, ``not``,
    ``anyOf``, ``properties``, ``additionalProperties``, ``required``, ``propertyNames``, ``items``,
    ``minItems``, ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum`` and local ``$ref``.
    """
    root = load_schema() if schema is None else schema
    return _check(value, root, root, where or "config")


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _check(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], where: str) -> list[str]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        options = [_check(value, s, root, where) for s in schema["anyOf"]]
        if all(options):  # report against the option of the right type, if there is one
            return min(options, key=lambda o: (any(": expected " in p for p in o), len(o)))
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        if not any(_type_ok(value, k) for k in kinds):
            return [f"{where}: expected {' or '.join(kinds)}, got {type(value).__name__} {_show(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {_show(value)} is not one of {', '.join(map(str, schema['enum']))}"]
    if "const" in schema and value != schema["const"]:
        return [f"{where}: must be {schema['const']!r}"]
    if "not" in schema and not _check(value, schema["not"], root, where):
        return [f"{where}: {_show(value)} is not allowed here"]
    problems: list[str] = []
    if _type_ok(value, "number"):
        for key, ok, words in (("minimum", lambda v, b: v >= b, "≥"), ("maximum", lambda v, b: v <= b, "≤"),
                               ("exclusiveMinimum", lambda v, b: v > b, ">"),
                               ("exclusiveMaximum", lambda v, b: v < b, "<")):
            if key in schema and not ok(value, schema[key]):
                problems.append(f"{where}: must be {words} {schema[key]}, got {value!r}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where}: needs at least {schema['minItems']} item(s)")
        if "items" in schema:
            for i, item in enumerate(value):
                problems += _check(item, schema["items"], root, f"{where}[{i}]")
    if isinstance(value, dict):
        problems += _check_object(value, schema, root, where)
    return problems


def _check_object(value: dict, schema: Mapping[str, Any], root: Mapping[str, Any], where: str) -> list[str]:
    problems = [f"{where}: missing key {k!r}" for k in schema.get("required", []) if k not in value]
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for key, item in value.items():
        here = f"{where}.{key}" if where != "config" else key
        if names is not None:
            bad = _check(key, names, root, f"{where} key {key!r}")
            if bad:
                problems += bad
                continue
        if key in props:
            problems += _check(item, props[key], root, here)
        elif extra is False:
            close = difflib.get_close_matches(key, list(props), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(props)})"
            problems.append(f"{where}: unknown key {key!r}{hint}")
        elif isinstance(extra, dict):
            problems += _check(item, extra, root, here)
    return problems


# ------------------------------------------------------------------------------------------------ config
@dataclass(frozen=True)
class NetworkSpec:
    """One network of a study.

    Attributes
    ----------
    name : str
        Label in tables, file names and the report (unique within the study).
    source : str
        What :func:`gridscope.load_network` is given: a built-in name, an absolute path or ``simbench:<code>``.
    is_file : bool
        ``source`` is a file (its sha256 goes into the manifest).
    zone_mapping : str or None
        Absolute path of the zone mapping CSV applied to this network.
    default_zone : str or None
        Zone of buses the network and the mapping leave without one.
    """

    name: str
    source: str
    is_file: bool = False
    zone_mapping: str | None = None
    default_zone: str | None = None


@dataclass(frozen=True)
class ReliabilityOptions:
    """How the reliability indices are computed (``[reliability]`` of the config)."""

    method: str = "analytical"
    years: int | None = None
    target_cov: float | None = None
    max_years: int = MC_MAX_YEARS
    seed: int | None = None
    repair_dist: str = MC_REPAIR_DIST
    tie_capacity: bool = False


@dataclass(frozen=True)
class CapacityOptions:
    """Flags and open capacity (``[capacity]`` of the config)."""

    enabled: bool = True
    scaling: float = 1.0
    profiles: str | None = None
    reserved: str | None = None
    line_limit: float = LINE_HEAVY_PERCENT
    trafo_limit: float = TRAFO_HEAVY_PERCENT
    main_trafo_limit: float = TRAFO_HEAVY_PERCENT
    #: None: the engine's default (:class:`gridscope.capacity.open_capacity.Limits`)
    n1_overload_factor: float | None = None


@dataclass(frozen=True)
class OutputOptions:
    """What the results folder holds (``[output]`` of the config)."""

    folder: str | None = None
    lang: str = "en"
    plots: bool = True
    report: bool = True
    excel: bool = True


@dataclass(frozen=True)
class StudyConfig:
    """A validated study config with every path resolved (see :func:`load_config`).

    ``to_dict()`` gives the normalised config recorded in the manifest; :func:`config_from_dict` reads it back.
    """

    networks: tuple[NetworkSpec, ...]
    title: str = "Annual reliability study"
    year: int | None = None
    reliability: ReliabilityOptions = field(default_factory=ReliabilityOptions)
    reliability_data: dict[str, dict[str, float]] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)
    outage_reduction: float = 0.15
    repair_reduction: float = 0.05
    scenarios: dict[str, dict[str, float]] = field(default_factory=dict)
    capacity: CapacityOptions = field(default_factory=CapacityOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    previous: str | None = None
    workers: int = 0
    threads_per_worker: int | None = None
    scheduler: str | None = None
    config_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The normalised config as plain data (JSON-ready; paths absolute)."""
        return asdict(self)

    def with_seed(self, seed: int) -> StudyConfig:
        """A copy whose Monte-Carlo seed is ``seed``."""
        return replace(self, reliability=replace(self.reliability, seed=int(seed)))


def load_config(path: str | os.PathLike[str]) -> StudyConfig:
    """Read and validate a study config (TOML); every problem is reported at once.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file. Relative paths inside it are relative to its folder.

    Returns
    -------
    StudyConfig

    Raises
    ------
    StudyConfigError
        Listing every problem: TOML syntax, unknown keys, wrong types or ranges, missing files, unmatched
        globs, unknown built-in networks, duplicate network names.
    """
    p = Path(path)
    if not p.is_file():
        raise StudyConfigError([f"{p}: no such file" if not p.exists() else f"{p}: not a file"], str(p))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StudyConfigError([f"TOML syntax: {exc}"], str(p)) from None
    return config_from_dict(data, base_dir=p.resolve().parent, config_file=str(p.resolve()), source=str(p))


def config_from_dict(data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                     config_file: str | None = None, source: str = "study config") -> StudyConfig:
    """Validate a parsed config (a TOML table, or a manifest's ``config``) and build a :class:`StudyConfig`.

    A manifest's normalised config (:meth:`StudyConfig.to_dict`) is recognised by its ``networks`` of tables
    with a ``source`` and ``is_file`` and read back as it is.
    """
    if _is_normalised(data):
        return _from_normalised(data)
    base = Path(base_dir)
    problems = schema_problems(dict(data))
    if "network" in data and "networks" in data:
        problems.append("config: give 'network' or 'networks', not both")
    elif "network" not in data and "networks" not in data:
        problems.append("config: missing key 'networks' (or 'network')")
    if problems:
        # the checks of files and names still run on the parts whose structure is right, so the user sees
        # every problem at once; the config is not built
        _semantic_problems(problems, data, base)
        raise StudyConfigError(problems, source)

    default_zone = data.get("default_zone")
    mapping = _resolve_file(problems, base, data.get("zone_mapping"), "zone_mapping")
    entries = [data["network"]] if "network" in data else list(data["networks"])
    networks = _expand_networks(problems, base, entries, mapping, default_zone)

    rel = dict(data.get("reliability", {}))
    if rel.get("method", "analytical") == "monte-carlo":
        if "years" in rel and "target_cov" in rel:
            problems.append("reliability: give years or target_cov, not both")
        elif "years" not in rel and "target_cov" not in rel:
            rel["years"] = MC_YEARS
    else:
        for key in ("years", "target_cov", "max_years", "repair_dist"):
            if key in rel:
                problems.append(f"reliability.{key}: only for method = 'monte-carlo'")
    cap = dict(data.get("capacity", {}))
    profiles = cap.get("profiles")
    if profiles is not None and profiles.strip().lower() != "simbench":
        cap["profiles"] = _resolve_file(problems, base, profiles, "capacity.profiles")
    if "reserved" in cap:
        cap["reserved"] = _resolve_file(problems, base, cap["reserved"], "capacity.reserved")
        if cap["reserved"] is not None:
            _check_reserved(problems, cap["reserved"], {n.name for n in networks})
    out = dict(data.get("output", {}))
    if "folder" in out:
        out["folder"] = str((base / out["folder"]).resolve())
    previous = data.get("previous")
    if previous is not None:
        prev = (base / previous).resolve()
        if not prev.exists():
            problems.append(f"previous: {prev} does not exist")
        previous = str(prev)
    dask = data.get("dask", {})
    if dask.get("workers") and dask.get("scheduler"):
        problems.append("dask: give workers or scheduler, not both")
    if problems:
        raise StudyConfigError(problems, source)
    yearly = data.get("yearly_targets", {})
    return StudyConfig(
        networks=tuple(networks),
        title=str(data.get("title", StudyConfig.title)),
        year=data.get("year"),
        reliability=ReliabilityOptions(**rel),
        reliability_data={k: dict(v) for k, v in data.get("reliability_data", {}).items()},
        targets={k: float(v) for k, v in data.get("targets", {}).items()},
        outage_reduction=float(yearly.get("outage_reduction", StudyConfig.outage_reduction)),
        repair_reduction=float(yearly.get("repair_reduction", StudyConfig.repair_reduction)),
        scenarios={k: {o: float(x) for o, x in v.items()} for k, v in data.get("scenarios", {}).items()},
        capacity=CapacityOptions(**cap),
        output=OutputOptions(**out),
        previous=previous,
        workers=int(dask.get("workers", 0)),
        threads_per_worker=dask.get("threads_per_worker"),
        scheduler=dask.get("scheduler"),
        config_file=config_file,
    )


def _semantic_problems(problems: list[str], data: Mapping[str, Any], base: Path) -> None:
    """File, glob and name checks of the config parts that passed the schema (appended to ``problems``)."""
    def clean(key: str) -> bool:
        return not any(p.startswith((f"{key}:", f"{key}.", f"{key}[", f"{key} key")) for p in problems)

    mapping = _resolve_file(problems, base, data["zone_mapping"], "zone_mapping") \
        if clean("zone_mapping") and "zone_mapping" in data else None
    key = "network" if "network" in data else "networks"
    if key in data and clean(key):
        entries = [data["network"]] if key == "network" else list(data["networks"])
        _expand_networks(problems, base, entries, mapping, None)
    if "previous" in data and clean("previous") and not (base / data["previous"]).exists():
        problems.append(f"previous: {(base / data['previous']).resolve()} does not exist")
    cap = data.get("capacity")
    if isinstance(cap, dict) and clean("capacity"):
        if "reserved" in cap:
            _resolve_file(problems, base, cap["reserved"], "capacity.reserved")
        if "profiles" in cap and cap["profiles"].strip().lower() != "simbench":
            _resolve_file(problems, base, cap["profiles"], "capacity.profiles")


def _is_normalised(data: Mapping[str, Any]) -> bool:
    nets = data.get("networks")
    return isinstance(nets, list | tuple) and bool(nets) and all(
        isinstance(n, Mapping) and "is_file" in n for n in nets)


def _from_normalised(data: Mapping[str, Any]) -> StudyConfig:
    d = dict(data)
    d["networks"] = tuple(NetworkSpec(**n) for n in d["networks"])
    d["reliability"] = ReliabilityOptions(**d.get("reliability", {}))
    d["capacity"] = CapacityOptions(**d.get("capacity", {}))
    d["output"] = OutputOptions(**d.get("output", {}))
    return StudyConfig(**d)


def _resolve_file(problems: list[str], base: Path, value: str | None, where: str) -> str | None:
    if value is None:
        return None
    path = (base / value).resolve()
    if not path.is_file():
        problems.append(f"{where}: {path} {'is not a file' if path.exists() else 'does not exist'}")
        return None
    return str(path)


def _builtin_name(text: str) -> str | None:
    for candidate in (text, text.lower().replace("_", "-")):
        if candidate in BUILTIN:
            return candidate
    return None


def _expand_networks(problems: list[str], base: Path, entries: list[Any], mapping: str | None,
                     default_zone: str | None) -> list[NetworkSpec]:
    """Network entries → specs: globs expanded (sorted), files resolved, built-in names checked."""
    specs: list[NetworkSpec] = []
    for i, entry in enumerate(entries):
        where = f"networks[{i}]" if len(entries) > 1 or isinstance(entry, dict) else "network"
        item = {"source": entry} if isinstance(entry, str) else dict(entry)
        text = item["source"].strip()
        own_map = _resolve_file(problems, base, item.get("zone_mapping"), f"{where}.zone_mapping") \
            if "zone_mapping" in item else mapping
        zone = item.get("default_zone", default_zone)
        if text.lower().startswith("simbench:"):
            found = [(text, text.split(":", 1)[1].strip(), False)]
        elif _GLOB_CHARS & set(text):
            paths = sorted(glob.glob(str(base / text)))
            if not paths:
                problems.append(f"{where}: no file matches {text!r} (in {base})")
            found = [(str(Path(q).resolve()), Path(q).stem, True) for q in paths]
        elif text.lower().endswith(_FILE_SUFFIXES) or "/" in text or os.sep in text:
            path = (base / text).resolve()
            if not path.is_file():
                problems.append(f"{where}: network file {path} does not exist")
            found = [(str(path), path.stem, True)]
        elif (name := _builtin_name(text)) is not None:
            found = [(name, name, False)]
        else:
            close = difflib.get_close_matches(text, list(BUILTIN), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"built-in networks: {', '.join(BUILTIN)}"
            problems.append(f"{where}: unknown network {text!r} (not a file, not a built-in name; {hint})")
            found = []
        if "name" in item and len(found) > 1:
            problems.append(f"{where}: 'name' cannot label a glob matching {len(found)} files")
        for source, stem, is_file in found:
            specs.append(NetworkSpec(name=item.get("name", stem), source=source, is_file=is_file,
                                     zone_mapping=own_map, default_zone=zone))
    seen: dict[str, int] = {}
    for spec in specs:
        seen[spec.name] = seen.get(spec.name, 0) + 1
    problems += [f"networks: name {n!r} is used {k} times (give each a name = ...)" for n, k in seen.items() if k > 1]
    return specs


def _check_reserved(problems: list[str], path: str, names: set[str]) -> None:
    try:
        table = pd.read_csv(path)
    except Exception as exc:
        problems.append(f"capacity.reserved: cannot read {path}: {exc}")
        return
    missing = [c for c in ("element", "element_index", "p_mw") if c not in table.columns]
    if missing:
        problems.append(f"capacity.reserved: {path} lacks column(s) {', '.join(missing)}")
    if "network" in table.columns:
        unknown = sorted(set(table["network"].astype(str)) - names)
        if unknown:
            problems.append(f"capacity.reserved: unknown network(s) {', '.join(unknown)}")
    elif len(names) > 1:
        problems.append("capacity.reserved: a study of several networks needs a 'network' column")
