"""The prepared study: one network, validated once, its topology, failure-effect structure, planning power flow
and capacity tables built once, lazily — what the free functions, the CLI and the TUI all call into.

>>> import gridscope as gs
>>> st = gs.Study("rbts2")                 # or gs.Study(net)
>>> st.problems                            # validation, computed once
[]
>>> float(st.reliability()["SAIDI"].sel(zone="system"))   # doctest: +ELLIPSIS
3.61258...
>>> cap = st.capacity()                    # the planning power flow runs once and is reused by flags/connection

What it caches and when it is dropped
-------------------------------------
=====================  ==========================================================================
``problems``           the validation result (against the cached topology)
``topology``           :class:`~gridscope.grid.topology.Topology` under the current switch states
``impact(tie_capacity)``  the failure-effect structure, one per tie-capacity option
analytical results     one per option set (Monte-Carlo runs are not cached: they are cheap to repeat
                       with their seed, and their samples can be large)
``loading(...)``       the planning snapshot / time-series peaks, one per (scaling, profiles name, sgen)
``capacity(...)``      flags and open-capacity tables, one per option set
=====================  ==========================================================================

Every public call first compares the network's content hash with the one the cache was built for (0.15 s on a
37k-bus grid, microseconds on a feeder); when the network was edited in place, everything is dropped and rebuilt
on demand, so a result is never stale. :meth:`Study.edited` gives a new study on an edited copy and leaves this
one as it was.

The study is safe to share between threads (the TUI's workers): builds run under a lock, long computations
(Monte Carlo, time series) outside it.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import InputError, ValidationError

# The engines (grid, reliability, capacity: numpy, pandas, scipy, xarray, pandapower) are imported in the
# methods that use them: ``import gridscope.study`` stays cheap, so the TUI's first screen and ``gs.Study``
# come up before the numeric stack has loaded, and a study that only validates never imports capacity.

if TYPE_CHECKING:  # pragma: no cover - type checkers only; the real imports are deferred (start-up time)
    import pandas as pd
    import xarray as xr

    from .capacity.api import CapacityResult
    from .capacity.connection import ConnectionDecision
    from .capacity.powerflow import PeakLoading
    from .grid.topology import Topology
    from .grid.validation import Problem
    from .reliability.impact import Impact

__all__ = ["Study", "assess_capacity", "assess_reliability", "evaluate_connection"]


def _freeze(value: Any) -> Hashable:
    """A hashable cache key for option values (mappings, lists and dataclasses included)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return ("unhashable", id(value))
    return value




class Study:
    """A prepared study of one network.

    Parameters
    ----------
    net : pandapowerNet or str or os.PathLike
        The network, or what :func:`gridscope.load_network` takes (built-in name, ``.json``/``.xlsx`` path,
        ``simbench:<code>``). A net given as an object is used as it is, not copied, and never modified.
    validate : bool
        Refuse to analyse a network with validation problems (:class:`~gridscope.errors.ValidationError`
        listing all of them). ``False`` analyses it anyway (for experiments on imperfect data).
    default_zone : str, optional
        Supply zone of buses without one (passed to :func:`gridscope.validate`).

    Attributes
    ----------
    net : pandapowerNet
        The network analysed.
    source : str
        What the network was loaded from (the name given, or the net's own name).
    """

    def __init__(self, net: Any, *, validate: bool = True, default_zone: str | None = None) -> None:
        from .grid.io import load_network, network_hash

        if isinstance(net, str | os.PathLike):
            self.source = os.fspath(net)
            net = load_network(net)
        elif hasattr(net, "bus") and hasattr(net, "line"):
            self.source = str(getattr(net, "name", "") or "network")
        else:
            raise InputError(f"Study needs a pandapower net or a network name/path, got {type(net).__name__}")
        #: What the study filled in for the user (data-contract columns taken from the defaults table).
        self.notes: list[str] = []
        from .grid.defaults import apply_reliability_data, missing_contract_columns

        missing = missing_contract_columns(net)
        if missing:
            # a net that did not come through load_network: analyse a copy with the documented defaults, so a
            # missing failure-rate column cannot silently mean "never fails" (SAIDI 0); the user's net is kept.
            # Filling them reads the topology facts and the load table, which a duplicated index or a missing
            # required column (switch type, load p_mw) makes meaningless: refuse first.
            _refuse_structural_problems(net)
            net = apply_reliability_data(copy.deepcopy(net))
            self.notes.append("defaults table applied for missing columns: " + ", ".join(missing))
        self.net = net
        self.validate = bool(validate)
        self.default_zone = default_zone
        self._lock = threading.RLock()
        self._cache: dict[Hashable, Any] = {}
        self._hash = network_hash(net)

    # ------------------------------------------------------------------ cache plumbing
    def __repr__(self) -> str:
        return f"Study({self.name!r}, hash={self._hash}, cached={sorted(map(str, self._cache))})"

    @property
    def name(self) -> str:
        """The network's name (its ``name``, else the source)."""
        return str(getattr(self.net, "name", "") or self.source)

    @property
    def network_hash(self) -> str:
        """Content hash of the network's tables (the provenance every result carries)."""
        self.refresh()
        return self._hash

    def refresh(self) -> bool:
        """Drop every cached item if the network changed since it was built; True when something was dropped."""
        from .grid.io import network_hash

        h = network_hash(self.net)
        with self._lock:
            if h == self._hash:
                return False
            self._hash = h
            self._cache.clear()
            return True

    def invalidate(self) -> None:
        """Drop every cached item (the next call rebuilds what it needs)."""
        with self._lock:
            self._cache.clear()

    def cached(self) -> list[str]:
        """Names of the cached items (for diagnostics and tests)."""
        with self._lock:
            return sorted(str(k[0] if isinstance(k, tuple) else k) for k in self._cache)

    def _get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def edited(self, edit: Callable[[Any], Any]) -> Study:
        """A new study on a copy of the network changed by ``edit(net_copy)``; this study is left as it was.

        >>> faster = st.edited(lambda n: n.switch.__setitem__("switching_h", 0.5))  # doctest: +SKIP
        """
        net = copy.deepcopy(self.net)
        edit(net)
        out = Study(net, validate=self.validate, default_zone=self.default_zone)
        out.source = self.source
        return out

    # ------------------------------------------------------------------ network
    def _topology(self) -> Topology:
        from .grid.topology import build_topology

        return self._get("topology", lambda: build_topology(self.net))

    def _problems(self) -> list[Problem]:
        from .grid.validation import validate

        def build() -> list[Problem]:
            try:
                topo = self._topology()
            except Exception:  # a net too broken for a graph: validate says why
                topo = None
            return validate(self.net, default_zone=self.default_zone, topology=topo)

        return self._get("problems", build)

    @property
    def topology(self) -> Topology:
        """The network's :class:`~gridscope.grid.topology.Topology` (built once)."""
        self.refresh()
        return self._topology()

    @property
    def problems(self) -> list[Problem]:
        """Every validation problem (``[]`` when the network is fine); computed once."""
        self.refresh()
        return list(self._problems())

    def check(self) -> None:
        """Raise :class:`~gridscope.errors.ValidationError` with every problem, if there are any and the study
        validates."""
        if self.validate:
            problems = self._problems()
            if problems:
                raise ValidationError(problems)

    def summary(self) -> dict[str, Any]:
        """Counts a grid engineer reads first.

        Returns
        -------
        dict
            ``buses``, ``lines``, ``line_km``, ``trafos``, ``switches``, ``feeders``, ``ties``, ``sources``,
            ``load_points``, ``customers``, ``peak_mw`` (sum of ``p_mw × scaling``), ``zones`` (zone →
            customers) and ``problems`` (number of validation problems).
        """
        import numpy as np

        self.refresh()
        net = self.net
        topo = self._topology()
        load = net.load
        customers = load["customers"] if "customers" in load else np.ones(len(load))
        zones: dict[str, int] = {}
        if len(load) and "zone" in net.bus:
            zone_of_load = net.bus["zone"].reindex(load["bus"]).astype(object).fillna("-").astype(str).to_numpy()
            for z, c in zip(zone_of_load, np.asarray(customers, dtype=float), strict=True):
                zones[z] = zones.get(z, 0) + int(c)
        scaling = load["scaling"] if "scaling" in load else 1.0
        return {
            "name": self.name,
            "buses": len(net.bus),
            "lines": len(net.line),
            "line_km": float(net.line["length_km"].sum()) if len(net.line) else 0.0,
            "trafos": int(len(net.trafo) + len(net.trafo3w)),
            "switches": len(net.switch),
            "feeders": len(topo.feeders),
            "ties": len(topo.ties),
            "sources": len(net.ext_grid),
            "load_points": len(load),
            "customers": int(np.asarray(customers, dtype=float).sum()),
            "peak_mw": float((load["p_mw"] * scaling).sum()) if len(load) else 0.0,
            "zones": dict(sorted(zones.items())),
            "problems": len(self._problems()),
        }

    # ------------------------------------------------------------------ reliability
    def _impact(self, tie_capacity: bool | str | Mapping[str, float]) -> Impact:
        from .reliability.impact import build_impact

        self.check()
        key = ("impact", _freeze(tie_capacity))
        if tie_capacity == "powerflow":
            return self._get(key, lambda: build_impact(self.net, topology=self._topology(),
                                                       tie_capacity=self.tie_headroom()))
        return self._get(key, lambda: build_impact(self.net, topology=self._topology(), tie_capacity=tie_capacity))

    def tie_headroom(self) -> dict[str, float]:
        """MW each backup feeder can take through its ties by AC power flow (cached; what
        ``tie_capacity="powerflow"`` uses, :func:`gridscope.capacity.ties.tie_headroom_mw`)."""
        from .capacity.ties import tie_headroom_mw

        self.refresh()
        return self._get(("tie_headroom",), lambda: tie_headroom_mw(self.net, topology=self._topology()))

    def impact(self, tie_capacity: bool | str | Mapping[str, float] = False) -> Impact:
        """The failure-effect structure (:class:`~gridscope.reliability.impact.Impact`), one per tie option
        (``False``, ``True``: head-line headroom, ``"powerflow"``: :meth:`tie_headroom`, or a dict)."""
        self.refresh()
        return self._impact(tie_capacity)

    def reliability(self, *, method: str = "analytical", tie_capacity: bool | Mapping[str, float] = False,
                    progress: Callable[..., Any] | None = None, cancel: Callable[[], bool] | None = None,
                    **options: Any) -> xr.Dataset:
        """Reliability indices by supply zone, feeder, load point and component.

        Takes the options of :func:`gridscope.reliability.api.assess_reliability` (``method``, ``years``,
        ``seed``, ``target_cov``, scales, ``live_work_fraction``, ``targets``, Monte-Carlo options) and the
        progress protocol (:mod:`gridscope.progress`). Analytical results are cached per option set.

        Returns
        -------
        xarray.Dataset
        """
        from .reliability.api import assess_reliability as engine

        self.refresh()
        impact = self._impact(tie_capacity)
        def run() -> xr.Dataset:
            return engine(self.net, method=method, impact=impact, topology=self._topology(),
                          tie_capacity=tie_capacity, validate=False, network_hash=self._hash, progress=progress,
                          cancel=cancel, **options)

        if method != "analytical":
            return run()
        # a shallow copy: a caller editing attrs or adding variables does not touch the cached result
        return self._get(("reliability", _freeze(tie_capacity), _freeze(options)), run).copy()

    def scenario(self, *, name: str = "scenario", **options: Any) -> xr.Dataset:
        """The base case and one what-if side by side (see :func:`gridscope.reliability.scenarios.scenario`)."""
        from .reliability.scenarios import scenario

        return self._scenarios(scenario, name=name, **options)

    def compare_scenarios(self, scenarios: Mapping[str, Mapping[str, float]], **options: Any) -> xr.Dataset:
        """Several what-ifs stacked along ``scenario``
        (see :func:`gridscope.reliability.scenarios.compare_scenarios`)."""
        from .reliability.scenarios import compare_scenarios

        return self._scenarios(compare_scenarios, scenarios, **options)

    def yearly_programme(self, **options: Any) -> xr.Dataset:
        """The yearly programme compounded over years
        (see :func:`gridscope.reliability.scenarios.yearly_programme`)."""
        from .reliability.scenarios import yearly_programme

        return self._scenarios(yearly_programme, **options)

    def _scenarios(self, func: Callable[..., Any], *args: Any, tie_capacity: bool | Mapping[str, float] = False,
                   **options: Any) -> xr.Dataset:
        self.refresh()
        return func(self.net, *args, impact=self._impact(tie_capacity), topology=self._topology(),
                    tie_capacity=tie_capacity, validate=False, network_hash=self._hash, **options)

    # ------------------------------------------------------------------ capacity
    def _loading(self, scaling: float, profiles: Any, progress: Any, cancel: Any, **kw: Any) -> PeakLoading:
        from .capacity.powerflow import planning_loading

        def build() -> PeakLoading:
            if profiles is not None:  # only a time series is long enough to report progress
                kw.update(progress=progress, cancel=cancel)
            return planning_loading(self.net, scaling=scaling, profiles=profiles, **kw)

        if profiles is not None and not isinstance(profiles, str):
            return build()  # profile tables are not cached: they may be large and mutable
        return self._get(("loading", float(scaling), profiles, _freeze(kw)), build)

    def loading(self, *, scaling: float = 1.0, profiles: Any = None, progress: Callable[..., Any] | None = None,
                cancel: Callable[[], bool] | None = None, **kw: Any) -> PeakLoading:
        """The planning loading: one snapshot at ``scaling``, or the peaks over ``profiles`` (cached)."""
        self.refresh()
        return self._loading(scaling, profiles, progress, cancel, **kw)

    def flags(self, *, scaling: float = 1.0, profiles: Any = None, thresholds: Any = None,
              progress: Callable[..., Any] | None = None, cancel: Callable[[], bool] | None = None,
              **kw: Any) -> pd.DataFrame:
        """Heavy-load, overload and voltage flags (:func:`gridscope.capacity.flags.flag_loading`)."""
        from .capacity.flags import flag_loading

        self.refresh()
        peak = self._loading(scaling, profiles, progress, cancel, **kw)
        return flag_loading(self.net, peak, thresholds=thresholds, topology=self._topology())

    def capacity(self, *, scaling: float = 1.0, profiles: Any = None, progress: Callable[..., Any] | None = None,
                 cancel: Callable[[], bool] | None = None, **options: Any) -> CapacityResult:
        """Loading flags and open capacity at five levels (options of
        :func:`gridscope.capacity.api.assess_capacity`); cached per option set."""
        from .capacity.api import assess_capacity as engine

        self.refresh()
        loading_kw = {k: options[k] for k in ("include_sgen",) if k in options}
        self._capacity_check()
        peak = self._loading(scaling, profiles, progress, cancel, **loading_kw)
        def run() -> CapacityResult:
            return engine(self.net, scaling=scaling, profiles=profiles, peak=peak, topology=self._topology(),
                          progress=progress, cancel=cancel, **options)

        if profiles is not None and not isinstance(profiles, str):
            return run()
        return self._get(("capacity", float(scaling), profiles, _freeze(options)), run)

    def ac_model(self, *, scaling: float = 1.0, include_sgen: bool = False, limits: Any = None) -> Any:
        """The AC model of the planning operating point
        (:class:`~gridscope.capacity.bus_capacity.ACModel`), built once per operating point and limits."""
        from .capacity.bus_capacity import ACModel

        self.refresh()
        key = ("ac_model", float(scaling), bool(include_sgen), _freeze(limits))
        return self._get(key, lambda: ACModel(self.net, scaling=scaling, include_sgen=include_sgen, limits=limits,
                                              topology=self._topology()))

    def connection(self, p_mw: float, *, scaling: float = 1.0, include_sgen: bool = False, limits: Any = None,
                   reliability: bool = False, progress: Callable[..., Any] | None = None,
                   cancel: Callable[[], bool] | None = None, **options: Any) -> ConnectionDecision:
        """Evaluate connecting a load of ``p_mw`` (options of
        :func:`gridscope.capacity.connection.evaluate_connection`: ``bus``, ``location``, ``pf``, ``radius``
        ...). Uses the cached topology, AC model and, with ``reliability=True``, the cached failure-effect
        structure (the network must then validate)."""
        from .capacity.connection import evaluate_connection as engine

        self.refresh()
        impact = self._impact(False) if reliability else None
        self._capacity_check()
        model = self.ac_model(scaling=scaling, include_sgen=include_sgen, limits=limits)
        return engine(self.net, p_mw, scaling=scaling, include_sgen=include_sgen, limits=limits,
                      reliability=reliability, topology=self._topology(), model=model, impact=impact,
                      progress=progress, cancel=cancel, **options)


    def _capacity_check(self) -> None:
        """Refuse a network the capacity engines cannot take (every problem at once: the capacity checks, not
        the reliability data) before any power flow; cached, so it runs once per network state."""
        from .capacity.api import validated_topology

        def check() -> bool:
            try:
                topo = self._topology()
            except Exception:  # a net too broken for a graph: the validator says why
                topo = None
            return validated_topology(self.net, topo) is not None

        self._get(("capacity_check",), check)

    def outages(self, jobs: Any, *, profiles: Any = None, **options: Any) -> Any:
        """Planned jobs' switching plans, impacts, groups, dates and zone budgets (先算后停): options of
        :func:`gridscope.reliability.planning.plan_outages` (``year``, ``window_days``, ``check_transfer`` ...),
        with the cached topology and failure-effect structure. With ``profiles`` (anything
        :func:`gridscope.capacity.timeseries.coerce_profiles` takes, e.g. ``"simbench"``) each job's transfers
        are checked at the peak step of its date."""
        from .reliability.planning import plan_outages

        self.refresh()
        if profiles is not None:
            from .capacity.timeseries import net_on_day

            options["net_on"] = net_on_day(self.net, profiles)
        return plan_outages(self.net, jobs, topology=self._topology(), impact=self._impact(False), **options)

    def frequent(self, n: int | None = None, *, top: int | None = 10) -> Any:
        """Frequent interruptions (频繁停电): CEMI-``n`` by zone and the ``top`` load points most likely to have
        more than ``n`` interruptions a year with their causes
        (:func:`gridscope.reliability.devices.frequent_summary`), on the cached failure-effect structure (the
        summary itself is not cached: 0.16 s on MV Oberrhein, and its tables are the caller's to change);
        ``n`` defaults to :data:`gridscope.settings.CEMI_N`."""
        from .reliability.devices import frequent_summary
        from .settings import CEMI_N

        self.refresh()
        return frequent_summary(self._impact(False), CEMI_N if n is None else n, top=top)

    def rank_devices(self, n: int | None = None, *, progress: Callable[..., Any] | None = None,
                     cancel: Callable[[], bool] | None = None, **options: Any) -> pd.DataFrame:
        """Candidate devices ranked by the CEMI-``n`` reduction, one re-analysis each (options of
        :func:`gridscope.reliability.devices.rank_devices`: ``kinds``, ``top``, ``tie_max_km``,
        ``max_candidates``), starting from the cached topology and failure-effect structure; not cached."""
        from .reliability.devices import rank_devices
        from .settings import CEMI_N

        self.refresh()
        impact = self._impact(options.get("tie_capacity", False))
        return rank_devices(self.net, CEMI_N if n is None else n, topology=self._topology(), impact=impact,
                            progress=progress, cancel=cancel, **options)


#: Validation checks that make filling the defaults meaningless (a column it reads is absent, a row index used
#: twice): a study on such a net is refused with these problems before anything is filled.
_STRUCTURAL_CHECKS = frozenset({"missing_column", "duplicate_index"})


def _refuse_structural_problems(net: Any) -> None:
    """Raise :class:`ValidationError` with every missing-column and duplicate-index problem (the validator's own
    checks)."""
    from .grid.validation import validate

    found = [p for p in validate(net) if p.check in _STRUCTURAL_CHECKS]
    if found:
        raise ValidationError(found)


# ---------------------------------------------------------------------------------------------- free functions
def assess_reliability(net: Any, *, validate: bool = True, topology: Any = None, impact: Any = None,
                       **options: Any) -> xr.Dataset:
    """Reliability indices of ``net`` (one-shot: a :class:`Study` is built and dropped).

    The options are those of :meth:`Study.reliability`. ``topology``/``impact`` prebuilt by the caller are
    used as they are (no study, no validation).
    """
    if topology is not None or impact is not None:
        from .reliability.api import assess_reliability as engine

        return engine(net, validate=validate, topology=topology, impact=impact, **options)
    return Study(net, validate=validate).reliability(**options)


def assess_capacity(net: Any, **options: Any) -> CapacityResult:
    """Loading flags and open capacity of ``net`` at five levels (one-shot :meth:`Study.capacity`)."""
    return Study(net, validate=False).capacity(**options)


def evaluate_connection(net: Any, p_mw: float, **options: Any) -> ConnectionDecision:
    """Evaluate a connection request on ``net`` (one-shot :meth:`Study.connection`)."""
    return Study(net, validate=False).connection(p_mw, **options)
