"""``gs.assess_capacity``: loading flags and open-capacity tables at five levels, with provenance and exports."""

from __future__ import annotations

import copy
import datetime as _dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import __version__
from ..errors import InputError, ValidationError
from ..grid.defaults import with_pandapower_defaults
from ..grid.io import network_hash
from ..grid.topology import build_topology
from ..grid.validation import CAPACITY_CHECKS
from ..grid.validation import validate as validate_net
from ..progress import ProgressCallback, Reporter
from ..settings import EXACT_BUS_DEFAULT_MAX_BUSES, LOAD_PF
from .bus_capacity import bus_open_capacity
from .export import write_capacity
from .flags import Thresholds, flag_loading
from .n1 import n1_tables
from .open_capacity import LEVELS, Grades, Limits, open_capacity_tables, resolve_level
from .powerflow import planning_loading

__all__ = ["CapacityResult", "assess_capacity", "capacity_problems", "validated_topology", "with_reserved"]


@dataclass(eq=False)
class CapacityResult:
    """Loading flags and open-capacity tables of one network.

    Attributes
    ----------
    flags : pandas.DataFrame
        Heavy-load, overload and voltage flags (:func:`gridscope.capacity.flags.flag_loading`).
    tables : dict of str to pandas.DataFrame
        One open-capacity table per level (:data:`~gridscope.capacity.open_capacity.LEVELS`).
    peak : PeakLoading
        The loading the tables were computed from.
    limits, grades : Limits, Grades
        The limits and grade thresholds used.
    meta : dict
        Provenance: network name and hash, date, gridscope version, loading method, scaling.
    """

    flags: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    peak: Any
    limits: Limits
    grades: Grades
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self, level: str) -> pd.DataFrame:
        """The open-capacity table of ``level`` (``"substation"``, ``"main_transformer"``, ``"feeder"``,
        ``"distribution_transformer"``, ``"bus"``)."""
        return self.tables[resolve_level(level)]

    def metadata(self) -> dict[str, Any]:
        """Provenance, limits and grade thresholds as one flat dict (the export's metadata sheet)."""
        out = dict(self.meta)
        out.update({f"limit_{k}": v for k, v in self.limits.as_dict().items()})
        out.update({f"grade_{k}": v for k, v in self.grades.as_dict().items()})
        return out

    def summary(self) -> str:
        """A short text: flags by kind and, per level, rows, total open capacity and grade counts."""
        lines = [f"open capacity of {self.meta.get('network', '?')} ({self.meta.get('loading', '')}, "
                 f"scaling {self.meta.get('scaling', 1.0):g})"]
        if self.flags is not None and len(self.flags):
            col = next((c for c in ("severity", "flag", "kind") if c in self.flags.columns), None)
            counts = self.flags[col].value_counts().to_dict() if col else {"flags": len(self.flags)}
            lines.append("flags: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        else:
            lines.append("flags: none")
        for level in LEVELS:
            t = self.tables[level]
            if not len(t):
                lines.append(f"{level}: none")
                continue
            g = t["grade"].value_counts()
            lines.append(f"{level}: {len(t)} rows, open capacity min {t['open_capacity_mva'].min():.3f} MVA, "
                         f"grades green {g.get('green', 0)} / yellow {g.get('yellow', 0)} / red {g.get('red', 0)}")
        return "\n".join(lines)

    def to_excel(self, path: str | os.PathLike[str], *, lang: str = "en", overwrite: bool = False,
                 levels: list[str] | None = None) -> Any:
        """Write one sheet per level plus a metadata sheet (colour grades); see :mod:`.export`."""
        return write_capacity(self, path, fmt="xlsx", lang=lang, overwrite=overwrite, levels=levels)

    def to_csv(self, prefix: str | os.PathLike[str], *, lang: str = "en", overwrite: bool = False,
               levels: list[str] | None = None) -> Any:
        """Write one CSV per level (``<prefix>_<level>.csv``, or into a directory) and ``<prefix>_meta.csv``."""
        return write_capacity(self, prefix, fmt="csv", lang=lang, overwrite=overwrite, levels=levels)

    def to_json(self, path: str | os.PathLike[str], *, lang: str = "en", overwrite: bool = False,
                levels: list[str] | None = None) -> Any:
        """Write every level and the metadata to one JSON file."""
        return write_capacity(self, path, fmt="json", lang=lang, overwrite=overwrite, levels=levels)

    def __repr__(self) -> str:
        rows = ", ".join(f"{k}={len(v)}" for k, v in self.tables.items())
        return f"CapacityResult({self.meta.get('network', '?')!r}, flags={len(self.flags)}, {rows})"


def assess_capacity(net: Any, *, scaling: float = 1.0, profiles: Any = None, thresholds: Any = None,
                    limits: Limits | None = None, grades: Grades | None = None, peak: Any = None,
                    topology: Any = None, exact_bus: bool | None = None, thermal_only: bool = False,
                    bus_pf: float = LOAD_PF,
                    reserved: pd.DataFrame | str | os.PathLike[str] | None = None, validate: bool = True,
                    progress: ProgressCallback | None = None, cancel: Callable[[], bool] | None = None,
                    **loading_kw: Any) -> CapacityResult:
    """Loading flags and open capacity (可开放容量) at five levels.

    Parameters
    ----------
    net : pandapowerNet
        The network; not modified.
    scaling : float
        Load scaling of the planning snapshot (or of the time series).
    profiles : None or profiles
        ``None``: one power flow at the planning load; otherwise peaks over a time series
        (:func:`gridscope.capacity.powerflow.planning_loading`).
    thresholds : Thresholds or None
        Flag thresholds (:class:`gridscope.capacity.flags.Thresholds`); when ``limits`` is not given the
        planning limits follow them.
    limits : Limits or None
        Open-capacity limits (default 70 % lines, 80 % transformers, N-1 factor 1.3).
    grades : Grades or None
        Grade thresholds (default green ≥ 30 %, red < 10 % of ``rating · limit`` still open).
    peak : PeakLoading or None
        A loading computed before (by a :class:`gridscope.Study`, say): used as it is, no power flow is run
        (``scaling``, ``profiles`` and ``**loading_kw`` then only matter for ``exact_bus``).
    topology : Topology or None
        A prebuilt :func:`~gridscope.grid.topology.build_topology` of ``net``: used as it is, not rebuilt.
    exact_bus : bool or None
        Add the exact AC bus open capacity (:func:`~gridscope.capacity.bus_capacity.bus_open_capacity`, load
        at power factor ``bus_pf``, planning and physical limits, with the binding limit and element) to the
        ``bus`` table as ``ac_open_capacity_mw``, ``ac_binding``, ``ac_binding_element``,
        ``ac_physical_capacity_mw``, ``ac_physical_binding``, ``ac_physical_binding_element``,
        ``ac_offpath_note`` (a limit already exceeded off the bus's supply path that the load makes worse: a
        note, not a limit; empty when none); default
        (``None``): ``not thermal_only``, so the bus table is voltage-aware by default. The thermal path
        arithmetic of the other levels stays in ``open_capacity_mva``; the AC search also sees the voltage
        band of every level and the losses the new load adds. Computed at the planning snapshot (``scaling``), also when
        ``profiles`` are given.
    thermal_only : bool
        Leave the exact, voltage-aware bus capacity out (the bus table is then the thermal path arithmetic only).
    bus_pf : float
        Power factor of the added load for ``exact_bus``.
    reserved : DataFrame, path or None
        Approved-but-not-connected load (已批未接): a table like ``net["reserved_capacity"]`` (``element``,
        ``element_index``, ``p_mw``), or a ``.csv``/``.xlsx`` file read by
        :func:`gridscope.capacity.reserved.read_reserved`. It replaces ``net["reserved_capacity"]`` on a
        shallow copy of ``net`` (the caller's net is not touched); the CLI's ``--reserved`` does the same.
    validate : bool
        Refuse a network with problems that make the power flow or the open-capacity arithmetic wrong
        (:data:`~gridscope.grid.validation.CAPACITY_CHECKS`, see :func:`capacity_problems`) with one
        :class:`~gridscope.errors.ValidationError` listing all of them. Reliability data, customers and zones
        are not needed here and not checked.
    progress, cancel : callable, optional
        The progress protocol (:mod:`gridscope.progress`): records of ``what="capacity steps"`` (loading,
        flags, tables, exact bus capacity); a time series and the exact bus search report their own steps
        and check ``cancel`` as they go.
    **loading_kw
        Passed on to :func:`~gridscope.capacity.powerflow.planning_loading` (e.g. ``include_sgen=True``).

    Returns
    -------
    CapacityResult

    Raises
    ------
    ValidationError
        ``validate`` and the network has problems of :data:`~gridscope.grid.validation.CAPACITY_CHECKS`.
    ConvergenceError
        The power flow does not converge.
    InputError
        Invalid limits, thresholds or reserved-capacity rows (or an unreadable reserved-capacity file).
    CancelledError
        ``cancel`` returned True.
    """
    net = with_pandapower_defaults(net)
    if reserved is not None:
        net = with_reserved(net, reserved)
    if validate:
        topology = validated_topology(net, topology)
    exact_note = ""
    if exact_bus is None:
        exact_bus = not thermal_only and len(net.bus) <= EXACT_BUS_DEFAULT_MAX_BUSES
        if not thermal_only and not exact_bus:
            exact_note = (f"exact bus capacity left out by default: {len(net.bus):,} buses > "
                          f"{EXACT_BUS_DEFAULT_MAX_BUSES:,} (settings.EXACT_BUS_DEFAULT_MAX_BUSES); pass "
                          "exact_bus=True (CLI --exact-bus) to compute it")
    elif exact_bus and thermal_only:
        raise InputError("exact_bus=True and thermal_only=True contradict each other")
    thresholds = thresholds if thresholds is not None else Thresholds()
    if limits is None:
        limits = Limits.from_thresholds(thresholds)
    grades = grades or Grades()
    rep = Reporter("capacity steps", 4 if exact_bus else 3, progress=progress, cancel=cancel)
    rep.update(0, force=True)
    if peak is None:
        if profiles is not None:
            loading_kw = {**loading_kw, "progress": progress, "cancel": cancel}
        peak = planning_loading(net, scaling=scaling, profiles=profiles, **loading_kw)
        loading_kw.pop("progress", None)
        loading_kw.pop("cancel", None)
    rep.check(1)
    rep.update(1)
    topo = topology if topology is not None else build_topology(net)
    flags = flag_loading(net, peak, thresholds=thresholds, topology=topo)
    rep.check(2)
    rep.update(2)
    tables = open_capacity_tables(net, peak, topology=topo, limits=limits, grades=grades,
                                  n1=n1_tables(net, peak, topology=topo, limits=limits))
    rep.check(3)
    rep.update(3)
    if exact_bus:
        tables["bus"] = _with_exact_bus(net, tables["bus"], scaling=scaling, pf=bus_pf, limits=limits,
                                        include_sgen=bool(loading_kw.get("include_sgen", False)), topology=topo,
                                        progress=progress, cancel=cancel)
        rep.update(4)
    meta = {
        "network": str(getattr(net, "name", "") or "network"),
        "network_hash": network_hash(net),
        "date": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "gridscope_version": __version__,
        "loading": str(getattr(peak, "method", "snapshot")),
        "scaling": float(getattr(peak, "scaling", scaling)),
        "n_steps": int(getattr(peak, "n_steps", 1)),
        "include_sgen": bool(getattr(peak, "include_sgen", False)),
        "exact_bus": bool(exact_bus),
    }
    if exact_note:
        meta["exact_bus_note"] = exact_note
    return CapacityResult(flags=flags, tables=tables, peak=peak, limits=limits, grades=grades, meta=meta)


def with_reserved(net: Any, reserved: pd.DataFrame | str | os.PathLike[str]) -> Any:
    """A shallow copy of ``net`` whose ``reserved_capacity`` table is ``reserved`` (a table, or a file read
    by :func:`gridscope.capacity.reserved.read_reserved`); the other tables are shared, not copied."""
    if isinstance(reserved, str | os.PathLike):
        from .reserved import read_reserved

        table = read_reserved(reserved, net)
    elif isinstance(reserved, pd.DataFrame):
        table = reserved.copy()
    else:
        from ..errors import InputError

        raise InputError("reserved must be a DataFrame like net['reserved_capacity'] or a .csv/.xlsx path, "
                         f"got {type(reserved).__name__}")
    out = copy.copy(net)
    out["reserved_capacity"] = table
    return out


def capacity_problems(net: Any, topology: Any = None) -> list[Any]:
    """The validation problems that capacity and connection evaluation refuse a network for.

    :func:`gridscope.validate` (zones not required) restricted to
    :data:`~gridscope.grid.validation.CAPACITY_CHECKS`; ``[]`` when the network can be assessed.
    """
    problems = validate_net(net, require_zones=False, topology=topology)
    return [p for p in problems if p.check in CAPACITY_CHECKS]


def validated_topology(net: Any, topology: Any = None) -> Any:
    """Validate ``net`` for capacity work and return the topology to use (``topology``, or one built here).

    Raises
    ------
    ValidationError
        With every problem of :func:`capacity_problems`.
    """
    if topology is None:
        try:
            topology = build_topology(net)
        except Exception:  # a net too broken for a graph: validate reports why
            topology = None
    problems = capacity_problems(net, topology)
    if problems:
        raise ValidationError(problems)
    return topology


_AC_COLUMNS = {
    "open_capacity_mw": "ac_open_capacity_mw",
    "binding": "ac_binding",
    "binding_element": "ac_binding_element",
    "physical_capacity_mw": "ac_physical_capacity_mw",
    "physical_binding": "ac_physical_binding",
    "physical_binding_element": "ac_physical_binding_element",
    "offpath_note": "ac_offpath_note",
}


def _with_exact_bus(net: Any, bus_table: pd.DataFrame, *, scaling: float, pf: float, limits: Limits,
                    include_sgen: bool, topology: Any, progress: ProgressCallback | None,
                    cancel: Callable[[], bool] | None) -> pd.DataFrame:
    """The bus table with the exact AC open capacity of every listed bus merged in (``ac_*`` columns)."""
    if not len(bus_table):
        return bus_table
    exact = bus_open_capacity(net, bus_table["id"].to_numpy(), pf=pf, scaling=scaling, include_sgen=include_sgen,
                              limits=limits, physical=True, topology=topology, progress=progress, cancel=cancel)
    exact = exact[[c for c in _AC_COLUMNS if c in exact.columns]].rename(columns=_AC_COLUMNS)
    return bus_table.join(exact, on="id")
