"""N-1 open capacity by AC power flow: feeders (head lost, load transferred through a tie) and main
transformers (largest unit out, bus couplers closed).

Feeder N-1
----------
For every feeder ``f`` of :func:`~gridscope.grid.topology.build_topology` and every usable tie (a normally-open
switch of ``topology.ties`` joining ``f`` to another feeder ``g``):

1. the feeder head (``feeders.head_edge``: its breaker opened, or its first line / transformer out of service)
   is lost and the tie is closed, so the whole feeder is fed from ``g``;
2. an AC power flow (:class:`~gridscope.capacity.bus_capacity.ACModel`, pandapower's admittance matrices of one
   ``runpp`` of that configuration, then batched chord Newton-Raphson) checks the *transfer region*: every line
   and bus of ``f`` and ``g`` at the feeder voltage (not the LV networks below their distribution
   transformers) and the main transformers of ``g``'s (and ``f``'s) station.
   Lines may run to ``Limits.n1_transfer_percent`` (100 %), main transformers to ``Limits.physical_percent``,
   buses stay in their voltage band (:func:`~gridscope.capacity.voltage.voltage_band_pu`, the MV band
   ``Limits.v_band_pu``). A value beyond its limit that is no worse than in the normal (pre-fault) state does
   not count;
3. the added load is placed at every bus of ``f`` at the feeder voltage in turn (power factor ``pf``) and the
   largest load that still passes is searched for each (bracketing with regula falsi, until
   ``hi <= lo · (1 + rtol)``); the feeder's value for that tie is the smallest over its buses (the **worst
   point**), with that bus and its binding element.

The best tie is the one with the largest value. A feeder without a usable tie has N-1 capacity 0; a
configuration whose transfer alone already violates a limit, or does not solve, gives 0 with that element.

Main-transformer N-1
--------------------
For every station of :func:`~gridscope.grid.stations.build_stations` with two or more units: the largest unit
is taken out of service, every bus coupler of the station is closed and the remaining units may run at
``Limits.n1_overload_factor`` × 100 % (1.3). The N-1 capacity is the largest load added at the station busbar
that keeps every remaining unit within that limit (single-unit stations: 0).

Everything is computed at the planning snapshot (``scaling``, ``include_sgen``) with reserved capacity
(``net["reserved_capacity"]``) added as load, as the exact bus capacity does. Results in MVA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConvergenceError, GridscopeError, InputError
from ..grid.facts import element_label, element_name, in_service
from ..grid.stations import build_stations
from ..grid.topology import EdgeKind, build_topology
from ..settings import LOAD_PF, N1_POWERFLOW_MAX_BUSES
from .bus_capacity import ACModel, BindingKind
from .open_capacity import Limits
from .voltage import VoltageBands, voltage_band_pu

__all__ = ["FEEDER_N1_COLUMNS", "STATION_N1_COLUMNS", "N1Tables", "feeder_n1", "main_transformer_n1", "n1_tables"]

#: Columns of :func:`feeder_n1`.
FEEDER_N1_COLUMNS = ["feeder", "name", "n1_mva", "tie_switch", "worst_bus", "binding", "binding_element",
                     "n_ties_tried", "note"]
#: Columns of :func:`main_transformer_n1`.
STATION_N1_COLUMNS = ["station", "name", "units", "unit_out", "couplers_closed", "n1_base_loading_percent",
                      "n1_mva", "binding", "binding_element", "note"]

_KIND_TEXT = {BindingKind.LINE: "line loading", BindingKind.TRAFO: "main transformer loading",
              BindingKind.UNDER_VOLTAGE: "voltage low", BindingKind.OVER_VOLTAGE: "voltage high",
              BindingKind.NO_SOLUTION: "no power-flow solution", BindingKind.NONE: "none up to the search limit"}
_WORSE_TOL = 1e-6


@dataclass
class _Region:
    """The constrained elements of one configuration: positions in ``net.line`` / ``net.trafo`` /
    ``net.bus``, their limits and scales, and the normal-state values a violation must exceed to count."""

    line_pos: np.ndarray
    line_lim: float
    trafo_pos: np.ndarray
    trafo_lim: float
    bus_pos: np.ndarray
    v_lo: np.ndarray
    v_hi: np.ndarray
    ref_line: np.ndarray
    ref_trafo: np.ndarray
    ref_vm: np.ndarray

    def margins(self, ev: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per case: smallest scaled margin, its :class:`BindingKind` and the element position (in its
        table); not converged cases get margin -1 and ``NO_SOLUTION``."""
        k = ev.converged.size
        blocks, kinds, elems = [], [], []

        def add(vals: np.ndarray, ref: np.ndarray, lim: np.ndarray, scale: np.ndarray, upper: bool,
                kind: BindingKind, pos: np.ndarray) -> None:
            if not vals.shape[0]:
                return
            m = ((lim[:, None] - vals) if upper else (vals - lim[:, None])) / scale[:, None]
            worse = (vals > ref[:, None] + _WORSE_TOL) if upper else (vals < ref[:, None] - _WORSE_TOL)
            m = np.where(np.isnan(vals), np.inf, m)
            m = np.where((m < 0) & ~worse, np.inf, m)  # no worse than before the fault: does not count
            blocks.append(m)
            kinds.append(np.full(vals.shape[0], int(kind)))
            elems.append(pos)

        nl, nt = self.line_pos.size, self.trafo_pos.size
        add(ev.line_loading[self.line_pos], self.ref_line, np.full(nl, self.line_lim), np.full(nl, self.line_lim),
            True, BindingKind.LINE, self.line_pos)
        add(ev.trafo_loading[self.trafo_pos], self.ref_trafo, np.full(nt, self.trafo_lim),
            np.full(nt, self.trafo_lim), True, BindingKind.TRAFO, self.trafo_pos)
        vm = ev.vm[self.bus_pos]
        add(vm, self.ref_vm, self.v_lo, 1.0 - self.v_lo, False, BindingKind.UNDER_VOLTAGE, self.bus_pos)
        add(vm, self.ref_vm, self.v_hi, self.v_hi - 1.0, True, BindingKind.OVER_VOLTAGE, self.bus_pos)
        if not blocks:
            return (np.where(ev.converged, np.inf, -1.0), np.full(k, int(BindingKind.NONE)),
                    np.full(k, -1, np.int64))
        allm = np.vstack(blocks)
        allk = np.concatenate(kinds)
        alle = np.concatenate(elems)
        pos = np.argmin(allm, axis=0)
        m = allm[pos, np.arange(k)]
        kind = np.where(np.isfinite(m), allk[pos], int(BindingKind.NONE))
        elem = np.where(np.isfinite(m), alle[pos], -1)
        m = np.where(ev.converged, m, -1.0)
        kind = np.where(ev.converged, kind, int(BindingKind.NO_SOLUTION))
        return m, kind, elem


def _describe(net: Any, kind: int, elem: int) -> tuple[str, str]:
    kind = BindingKind(int(kind))
    table = {BindingKind.LINE: "line", BindingKind.TRAFO: "trafo", BindingKind.UNDER_VOLTAGE: "bus",
             BindingKind.OVER_VOLTAGE: "bus"}.get(kind)
    if table is None or elem < 0:
        return _KIND_TEXT.get(kind, kind.name.lower()), ""
    idx = net[table].index[int(elem)]
    return _KIND_TEXT[kind], element_label(table, idx, element_name(net[table], idx))


def _largest_load(model: ACModel, region: _Region, buses: np.ndarray, *, pf: float, rtol: float,
                  s_start_mva: float, s_max_mva: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Largest apparent power (MVA) at power factor ``pf`` that passes ``region`` at each of ``buses``.

    Each round evaluates two points ``s · (1 ∓ rtol / 2.5)`` around the regula-falsi (or, before a failing
    point is known, the linear-extrapolation) estimate ``s``, so a near-linear margin is bracketed within
    ``rtol`` in one or two rounds; bisection where the failing point did not solve.

    Returns
    -------
    lo, kind, elem : numpy.ndarray
        Per bus the passing load, and the :class:`BindingKind` and element position at the failing end.
    """
    k = buses.size
    sin_phi = math.sqrt(max(0.0, 1.0 - pf * pf))
    base = model.evaluate(buses[:1], np.zeros(1), np.zeros(1))
    m0, k0, e0 = region.margins(base)
    lo = np.zeros(k)
    m_lo = np.full(k, float(m0[0]))
    hi = np.full(k, np.inf)
    m_hi = np.full(k, np.nan)
    kind = np.full(k, int(BindingKind.NONE))
    elem = np.full(k, -1, np.int64)
    if m0[0] < 0:  # the configuration itself violates (or does not solve): nothing can be added
        return lo, np.full(k, int(k0[0])), np.full(k, int(e0[0]))
    s = np.full(k, float(s_start_mva))
    for _ in range(40):
        todo = (hi > lo * (1.0 + rtol)) & (lo < s_max_mva)
        idx = np.flatnonzero(todo)
        if not idx.size:
            break
        pts = np.concatenate([s[idx] * (1.0 - rtol / 2.5), s[idx] * (1.0 + rtol / 2.5)])
        owner = np.concatenate([idx, idx])
        ev = model.evaluate(buses[owner], pts * pf, pts * sin_phi)
        m, kd, el = region.margins(ev)
        for j in np.argsort(pts):  # ascending: the smallest failing point sets hi
            b = owner[j]
            if m[j] >= 0:
                if pts[j] > lo[b] and pts[j] < hi[b]:
                    lo[b], m_lo[b] = pts[j], m[j]
            elif pts[j] < hi[b]:
                hi[b], m_hi[b], kind[b], elem[b] = pts[j], m[j], kd[j], el[j]
        for b in idx:
            if np.isinf(hi[b]):  # no failing point yet: extrapolate the margin linearly from 0
                slope = (m0[0] - m_lo[b]) / lo[b] if lo[b] > 0 else 0.0
                guess = m0[0] / slope if slope > 0 else 4.0 * max(lo[b], s_start_mva)
                s[b] = min(max(guess * 1.02, 1.05 * lo[b]), 4.0 * max(lo[b], s_start_mva), s_max_mva)
            elif kind[b] == BindingKind.NO_SOLUTION or not np.isfinite(m_hi[b]) or m_lo[b] <= m_hi[b]:
                s[b] = 0.5 * (lo[b] + hi[b])
            else:
                rf = lo[b] + (hi[b] - lo[b]) * m_lo[b] / (m_lo[b] - m_hi[b])
                s[b] = float(np.clip(rf, lo[b] + 0.01 * (hi[b] - lo[b]), hi[b] - 0.01 * (hi[b] - lo[b])))
    return lo, kind, elem


def _set(net: Any, table: str, idx: int, column: str, value: Any, undo: list[tuple[str, int, str, Any]]) -> None:
    undo.append((table, idx, column, net[table].at[idx, column]))
    net[table].at[idx, column] = value


def _restore(net: Any, undo: list[tuple[str, int, str, Any]]) -> None:
    for table, idx, column, value in reversed(undo):
        net[table].at[idx, column] = value
    undo.clear()


def _lose_edge(net: Any, topo: Any, edge: int, undo: list) -> None:
    kind = EdgeKind(int(topo.edge_kind[edge]))
    idx = int(topo.edge_element[edge])
    if kind == EdgeKind.SWITCH:
        _set(net, "switch", idx, "closed", False, undo)
    else:
        _set(net, kind.table, idx, "in_service", False, undo)


def _model(net: Any, *, scaling: float, include_sgen: bool, limits: Limits, method: str = "ybus") -> ACModel | None:
    """The AC model of a switched configuration, None when it has no power-flow solution."""
    import pandapower as pp  # deferred: heavy import

    try:
        return ACModel(net, scaling=scaling, include_sgen=include_sgen, limits=limits, method=method)
    except (ConvergenceError, pp.LoadflowNotConverged):
        return None


def _unrestored(model: ACModel, net: Any, positions: np.ndarray) -> np.ndarray:
    """``net.bus`` indices among the bus ``positions`` left without voltage in the model's base case."""
    base = model.evaluate(net.bus.index[:1].to_numpy(), np.zeros(1), np.zeros(1))
    model.n_pf -= 1
    dead = positions[np.isnan(base.vm[positions, 0])]
    return net.bus.index[dead].to_numpy()


def feeder_n1(net: Any, *, topology: Any = None, stations: Any = None, limits: Limits | None = None,
              scaling: float = 1.0, include_sgen: bool = False, pf: float = LOAD_PF,
              rtol: float = 0.005, method: str = "ybus",
              with_buses: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Feeder N-1 open capacity by AC power flow (method in the module docstring).

    Parameters
    ----------
    net : pandapowerNet
        The network; restored after use (switch states and in-service flags are changed temporarily).
    topology, stations : Topology, Stations, optional
        Prebuilt :func:`build_topology` / :func:`build_stations` of ``net``.
    limits : Limits, optional
        ``n1_transfer_percent`` (lines), ``physical_percent`` (main transformers), ``v_band_pu``.
    scaling, include_sgen : float, bool
        The planning snapshot.
    pf : float
        Power factor of the added load.
    rtol : float
        Relative width of the final search bracket.
    method : {"ybus", "pandapower"}
        The searches' power flows: batched Newton-Raphson on the admittance matrices, or one
        ``pandapower.runpp`` each (the benchmark's baseline).
    with_buses : bool
        Also return the per-bus values: a frame indexed by ``net.bus`` index (every bus of a feeder at the
        feeder voltage) with ``n1_mva`` (the best tie *for that bus*: max over the ties of the largest load at
        that bus), ``tie_switch``, ``binding``, ``binding_element``.

    Returns
    -------
    pandas.DataFrame
        One row per feeder id, columns :data:`FEEDER_N1_COLUMNS`: ``n1_mva`` (MVA, 0 without a usable tie),
        ``tie_switch`` (the best tie), ``worst_bus`` (where the added load binds first), ``binding`` and
        ``binding_element`` (the limit violated just above ``n1_mva``). ``attrs``: ``n_pf`` (batched AC
        power flows of the searches), ``n_models`` (switched configurations, one ``runpp`` each),
        ``seconds``.
    """
    limits = limits or Limits()
    topo = topology if topology is not None else build_topology(net)
    st = stations if stations is not None else build_stations(net, topo)
    feeders = topo.feeders
    nf = len(feeders)
    bands = VoltageBands(mv_pu=limits.v_band_pu)
    bus_vn = net.bus["vn_kv"].to_numpy(dtype=float)
    bus_pos = pd.Series(np.arange(len(net.bus)), index=net.bus.index)
    node_feeder = topo.feeder_of_node[: topo.n_bus]
    node_pos = bus_pos.reindex(topo.bus_index[: topo.n_bus]).to_numpy(dtype=np.int64)
    line_edges = topo.element_edges("line")
    lf = topo.feeder_of_node[np.maximum(topo.edge_from[line_edges], 0)]
    lt = topo.feeder_of_node[np.maximum(topo.edge_to[line_edges], 0)]
    line_vn = bus_vn[bus_pos.reindex(net.line["from_bus"]).to_numpy(dtype=np.int64)] if len(net.line) \
        else np.zeros(0)
    units = st.unit_table
    trafo_pos = pd.Series(np.arange(len(net.trafo)), index=net.trafo.index)
    lo_all = np.array([voltage_band_pu(v, bands=bands)[0] if v > 0 else 0.0 for v in bus_vn])
    hi_all = np.array([voltage_band_pu(v, bands=bands)[1] if v > 0 else 2.0 for v in bus_vn])
    rows = [{"feeder": f, "name": feeders["name"].iat[f] if nf else "", "n1_mva": 0.0, "tie_switch": -1,
             "worst_bus": -1, "binding": "no usable tie", "binding_element": "", "n_ties_tried": 0, "note": ""}
            for f in range(nf)]
    if not nf:
        return pd.DataFrame(rows, columns=FEEDER_N1_COLUMNS)
    normal = _model(net, scaling=scaling, include_sgen=include_sgen, limits=limits)
    if normal is None:
        raise ConvergenceError("feeder N-1: the normal-state power flow does not converge")
    ref = normal.evaluate(net.bus.index[:1].to_numpy(), np.zeros(1), np.zeros(1))
    ties = topo.ties
    undo: list = []
    n_pf, n_models, t0 = 0, 1, perf_counter()
    bus_mva = np.full(len(net.bus), np.nan)
    bus_tie = np.full(len(net.bus), -1, dtype=np.int64)
    bus_bind = np.full(len(net.bus), "", dtype=object)
    bus_elem = np.full(len(net.bus), "", dtype=object)
    for f in range(nf):
        vn_f = float(feeders["vn_kv"].iat[f])
        cand = node_pos[(node_feeder == f) & np.isclose(bus_vn[node_pos], vn_f)]
        if not cand.size:
            rows[f]["binding"] = "feeder has no bus at its voltage"
            continue
        head = int(feeders["head_edge"].iat[f])
        usable = ties[((ties["feeder_a"] == f) & (ties["feeder_b"] >= 0) & (ties["feeder_b"] != f))
                      | ((ties["feeder_b"] == f) & (ties["feeder_a"] >= 0) & (ties["feeder_a"] != f))]
        best: dict[str, Any] | None = None
        for _, t in usable.iterrows():
            g = int(t["feeder_b"]) if int(t["feeder_a"]) == f else int(t["feeder_a"])
            sw = int(t["switch"])
            stations_fg = {int(st.feeder_station[f]), int(st.feeder_station[g])} - {-1}
            tpos = trafo_pos.reindex(units.loc[units["station"].isin(stations_fg), "trafo"]).to_numpy(np.int64)
            in_fg = np.isin(node_feeder, [f, g]) & np.isclose(bus_vn[node_pos], vn_f)
            bpos = node_pos[in_fg]
            lpos = np.flatnonzero((np.isin(lf, [f, g]) | np.isin(lt, [f, g])) & np.isclose(line_vn, vn_f))
            region = _Region(line_pos=lpos, line_lim=limits.n1_transfer_percent, trafo_pos=tpos,
                             trafo_lim=limits.physical_percent, bus_pos=bpos, v_lo=lo_all[bpos], v_hi=hi_all[bpos],
                             ref_line=ref.line_loading[lpos, 0], ref_trafo=ref.trafo_loading[tpos, 0],
                             ref_vm=ref.vm[bpos, 0])
            try:
                _lose_edge(net, topo, head, undo)
                _set(net, "switch", sw, "closed", True, undo)
                model = _model(net, scaling=scaling, include_sgen=include_sgen, limits=limits, method=method)
            finally:
                _restore(net, undo)
            rows[f]["n_ties_tried"] += 1
            n_models += 1
            if model is None:
                res = {"n1_mva": 0.0, "tie_switch": sw, "worst_bus": -1,
                       "binding": _KIND_TEXT[BindingKind.NO_SOLUTION], "binding_element": ""}
                per_bus = (np.zeros(cand.size), [(res["binding"], "")] * cand.size)
            elif (dead := _unrestored(model, net, cand)).size:
                res = {"n1_mva": 0.0, "tie_switch": sw, "worst_bus": -1, "binding": "not restored through this tie",
                       "binding_element": element_label("bus", int(dead[0]), element_name(net.bus, int(dead[0])))}
                per_bus = (np.zeros(cand.size), [(res["binding"], res["binding_element"])] * cand.size)
            else:
                head_mva = 2.0 * float(np.sqrt(3.0) * vn_f * np.nanmax(normal.line_imax)) \
                    if normal.line_imax.size else 10.0
                lo, kind, elem = _largest_load(model, region, net.bus.index[cand].to_numpy(), pf=pf, rtol=rtol,
                                               s_start_mva=max(0.05 * head_mva, 0.1), s_max_mva=10.0 * head_mva)
                n_pf += model.n_pf
                w = int(np.argmin(lo))
                text, el = _describe(net, int(kind[w]), int(elem[w]))
                res = {"n1_mva": float(lo[w]), "tie_switch": sw, "worst_bus": int(net.bus.index[cand[w]]),
                       "binding": text, "binding_element": el}
                per_bus = (lo, [_describe(net, int(a), int(b)) for a, b in zip(kind, elem, strict=True)])
            better = ~(bus_mva[cand] >= per_bus[0])  # NaN (not yet tried) or smaller
            for j in np.flatnonzero(better):
                p = cand[j]
                bus_mva[p], bus_tie[p] = per_bus[0][j], sw
                bus_bind[p], bus_elem[p] = per_bus[1][j]
            if best is None or res["n1_mva"] > best["n1_mva"]:
                best = res
        if best is not None:
            rows[f].update(best)
    out = pd.DataFrame(rows, columns=FEEDER_N1_COLUMNS)
    out.attrs.update(n_pf=int(n_pf), n_models=int(n_models), seconds=perf_counter() - t0)
    if not with_buses:
        return out
    tried = np.flatnonzero(np.isfinite(bus_mva))
    buses = pd.DataFrame({"n1_mva": bus_mva[tried], "tie_switch": bus_tie[tried], "binding": bus_bind[tried],
                          "binding_element": bus_elem[tried]}, index=net.bus.index[tried])
    buses.index.name = "bus"
    return out, buses


def main_transformer_n1(net: Any, *, topology: Any = None, stations: Any = None, limits: Limits | None = None,
                        scaling: float = 1.0, include_sgen: bool = False, pf: float = LOAD_PF,
                        rtol: float = 0.005) -> pd.DataFrame:
    """Main-transformer N-1 open capacity by AC power flow per station (method in the module docstring).

    Parameters
    ----------
    net : pandapowerNet
        The network; restored after use.
    topology, stations : Topology, Stations, optional
        Prebuilt :func:`build_topology` / :func:`build_stations` of ``net``.
    limits : Limits, optional
        ``n1_overload_factor`` of the remaining units.
    scaling, include_sgen, pf, rtol
        As :func:`feeder_n1`.

    Returns
    -------
    pandas.DataFrame
        One row per station id, columns :data:`STATION_N1_COLUMNS`: ``unit_out`` (trafo index),
        ``n1_base_loading_percent`` (largest loading of a remaining unit with nothing added), ``n1_mva``.
    """
    limits = limits or Limits()
    topo = topology if topology is not None else build_topology(net)
    st = stations if stations is not None else build_stations(net, topo)
    trafo_pos = pd.Series(np.arange(len(net.trafo)), index=net.trafo.index)
    rows = []
    undo: list = []
    for s, srow in st.table.iterrows():
        units = list(srow["units"])
        row = {"station": int(s), "name": srow["name"], "units": ", ".join(
            element_label("trafo", t, element_name(net.trafo, t)) for t in units), "unit_out": -1,
            "couplers_closed": "", "n1_base_loading_percent": np.nan, "n1_mva": 0.0, "binding": "",
            "binding_element": "", "note": ""}
        if len(units) < 2:
            row["note"] = "single unit: no N-1 reserve inside the station"
            rows.append(row)
            continue
        sn = np.array(srow["unit_sn_mva"], dtype=float)
        out = int(units[int(np.argmax(sn))])
        rest = [t for t in units if t != out and bool(in_service(net.trafo.loc[[t]])[0])]
        closed_now = [int(c) for c, cl in zip(srow["couplers"], srow["couplers_closed"], strict=True) if not cl]
        row.update(unit_out=out, couplers_closed=", ".join(f"switch {c}" for c in closed_now))
        try:
            _set(net, "trafo", out, "in_service", False, undo)
            for c in closed_now:
                _set(net, "switch", c, "closed", True, undo)
            model = _model(net, scaling=scaling, include_sgen=include_sgen, limits=limits)
        finally:
            _restore(net, undo)
        if model is None:
            row.update(binding=_KIND_TEXT[BindingKind.NO_SOLUTION], note="largest unit out: no solution")
            rows.append(row)
            continue
        busbars = np.array(srow["busbars"], dtype=np.int64)
        dead = _unrestored(model, net, pd.Series(np.arange(len(net.bus)), index=net.bus.index)
                           .reindex(busbars).to_numpy(np.int64))
        if dead.size:
            row.update(binding="station busbar not supplied with the largest unit out",
                       binding_element=element_label("bus", int(dead[0]), element_name(net.bus, int(dead[0]))),
                       note="the remaining units cannot reach every busbar of the station")
            rows.append(row)
            continue
        tpos = trafo_pos.reindex(rest).to_numpy(np.int64)
        lim = limits.n1_overload_factor * 100.0
        inf_ref = np.full(tpos.size, -np.inf)
        region = _Region(line_pos=np.zeros(0, np.int64), line_lim=100.0, trafo_pos=tpos, trafo_lim=lim,
                         bus_pos=np.zeros(0, np.int64), v_lo=np.zeros(0), v_hi=np.zeros(0), ref_line=np.zeros(0),
                         ref_trafo=inf_ref, ref_vm=np.zeros(0))
        base = model.evaluate(net.bus.index[:1].to_numpy(), np.zeros(1), np.zeros(1))
        row["n1_base_loading_percent"] = float(np.nanmax(base.trafo_loading[tpos, 0]))
        lv = int(net.trafo.at[rest[int(np.argmax(sn[[units.index(t) for t in rest]]))], "lv_bus"])
        total = float(sn[[units.index(t) for t in rest]].sum())
        lo, kind, elem = _largest_load(model, region, np.array([lv]), pf=pf, rtol=rtol,
                                       s_start_mva=max(0.1 * total, 0.1), s_max_mva=10.0 * total)
        text, el = _describe(net, int(kind[0]), int(elem[0]))
        if kind[0] == BindingKind.TRAFO:
            text = f"main transformer loading {lim:g} % (N-1)"
        row.update(n1_mva=float(lo[0]), binding=text, binding_element=el,
                   note=f"{element_label('trafo', out, element_name(net.trafo, out))} out, couplers closed, "
                        f"others at {limits.n1_overload_factor:g} x rating; load added at bus {lv}")
        rows.append(row)
    return pd.DataFrame(rows, columns=STATION_N1_COLUMNS)


@dataclass
class N1Tables:
    """N-1 values for :func:`~gridscope.capacity.open_capacity.open_capacity_tables` (its ``n1`` argument).

    Attributes
    ----------
    stations, feeders : pandas.DataFrame or None
        :func:`main_transformer_n1` and :func:`feeder_n1`; None: the tables use the headroom arithmetic.
    buses : pandas.DataFrame or None
        The per-bus values of :func:`feeder_n1` (``with_buses=True``).
    note : str
        Why the arithmetic is used (empty when the power flow gave the values, or when the arithmetic was asked
        for).
    """

    stations: pd.DataFrame | None
    feeders: pd.DataFrame | None
    note: str = ""
    buses: pd.DataFrame | None = None


def n1_tables(net: Any, peak: Any = None, *, topology: Any = None, stations: Any = None,
              limits: Limits | None = None, method: str = "auto") -> N1Tables:
    """N-1 values for the open-capacity tables, by power flow where it is affordable.

    Parameters
    ----------
    net : pandapowerNet
    peak : PeakLoading, optional
        Its ``scaling`` and ``include_sgen`` give the planning snapshot (1.0, False without it).
    topology, stations : Topology, Stations, optional
        Prebuilt :func:`build_topology` / :func:`build_stations` of ``net``.
    limits : Limits, optional
    method : {"auto", "powerflow", "arithmetic"}
        ``"auto"``: power flow up to :data:`gridscope.settings.N1_POWERFLOW_MAX_BUSES` buses (one AC model per
        feeder and tie does not scale to the largest networks), arithmetic above; and the arithmetic, with a
        note, if the power flow raises a gridscope error (``"powerflow"`` raises it).

    Returns
    -------
    N1Tables
    """
    if method not in ("auto", "powerflow", "arithmetic"):
        raise InputError(f"unknown N-1 method {method!r}: use 'auto', 'powerflow' or 'arithmetic'")
    if method == "arithmetic":
        return N1Tables(None, None)
    if method == "auto" and len(net.bus) > N1_POWERFLOW_MAX_BUSES:
        return N1Tables(None, None, f"N-1 by arithmetic: more than {N1_POWERFLOW_MAX_BUSES} buses")
    limits = limits or Limits()
    topo = topology if topology is not None else build_topology(net)
    st = stations if stations is not None else build_stations(net, topo)
    kw = {"scaling": float(getattr(peak, "scaling", 1.0) or 1.0),
          "include_sgen": bool(getattr(peak, "include_sgen", False))}
    try:
        st_n1 = main_transformer_n1(net, topology=topo, stations=st, limits=limits, **kw)
        fd_n1, bus_n1 = feeder_n1(net, topology=topo, stations=st, limits=limits, with_buses=True, **kw)
    except GridscopeError as exc:  # e.g. the planning snapshot does not solve: say so, use the arithmetic
        if method == "powerflow":
            raise
        return N1Tables(None, None, f"N-1 by power flow not possible ({exc}); arithmetic rule")
    return N1Tables(st_n1, fd_n1, buses=bus_n1)
