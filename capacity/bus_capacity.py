"""Exact bus open capacity: the largest additional load a bus can take with every limit still met.

Method
------
1. **Screen** (vectorised over all buses): along the radial path from the bus to the supply every line and
   transformer offers its thermal headroom ``(limit − loading) / 100 · rating_mva · vm``; the bus gets the
   smallest, times the power factor. The voltage screen divides the voltage headroom of the subtree of every
   node on the path, ``min(vm) − (1 − band)``, by that node's path ``R + X · tan φ`` (per unit on 1 MVA) and
   takes the smallest (a bus elsewhere sees the drop over the common path only; a bus already below its band
   counts only on the path). The screen is the smaller of the two and only seeds the search.
2. **AC power flow** confirms it: a bracketing search (regula falsi with straddling steps, bisection where a
   power flow fails) on the smallest constraint margin, until the bracket ``[lo, hi]`` satisfies
   ``hi ≤ lo · (1 + rtol)`` (``rtol`` 0.005 by default). ``lo`` is reported: adding 99 % of it violates nothing,
   adding 102 % violates the reported binding limit (the margin is monotone in the added load on radial
   grids).

The power flows are Newton-Raphson on pandapower's own admittance matrices (``net._ppc["internal"]`` of one
``runpp`` of the planning snapshot), for all buses of a round at once: the Jacobian of the base case is
factorised once and reused (chord iterations, many right-hand sides); a case the chord iterations do not
settle is re-solved with a full Newton-Raphson. ``method="pandapower"`` instead runs ``pandapower.runpp`` on
one network copy with an added load, warm-started from the previous results (the baseline the benchmark
compares with).

Constraints (:class:`~gridscope.capacity.open_capacity.Limits`): lines ≤ ``line_percent``, distribution
transformers ≤ ``trafo_percent``, main transformers ≤ ``main_trafo_percent`` (planning; ``physical_percent``
for the physical capacity), an external grid with a known rating (``sn_mva`` or ``max_p_mw`` column) ≤
``main_trafo_percent`` of it, every bus within the band of its level (:func:`~.voltage.band_limits_pu`,
GB/T 12325-2008: ±``v_band_pu`` at 20 kV and below, 0.90..1.10 pu at 35 kV and above). A limit that is already
exceeded before the connection only counts when the added load makes it worse, and only when its element is
on the request's supply path (:class:`SupplyPaths`: the bus, the lines, transformers and buses between it and
the station, and everything upstream of the feeders); a pre-existing violation elsewhere that the load makes
worse is reported in ``offpath_note`` instead of zeroing the bus's capacity.

Buses are searched in chunks of :func:`bus_chunk_size` (a memory budget), so memory does not grow with the
number of buses.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConvergenceError, InputError
from ..grid.facts import (
    element_label,
    element_name,
    ext_grid_rating_mva,
    in_service,
    line_rating_ka,
    line_rating_mva,
    q_from_pf,
    trafo_is_main,
    trafo_rating_mva,
)
from ..grid.topology import build_topology
from ..progress import CANCEL_CHECK_S, ProgressCallback, Reporter
from ..settings import LOAD_PF
from .diagnosis import diagnose_nonconvergence, run_pandapower
from .open_capacity import Limits, nodes_by_depth, reserved_by_node
from .powerflow import prepare_planning_net
from .voltage import VoltageBands, bus_band_limits_pu

__all__ = ["BUS_CHUNK_BYTES", "ACEvaluation", "ACModel", "BindingKind", "Constraints", "SupplyPaths",
           "bus_chunk_size", "bus_open_capacity", "check_buses", "screen_bus_capacity"]


class BindingKind(IntEnum):
    """What limits an added load: the kind of the smallest constraint margin (:meth:`Constraints.margins`).

    The first five are blocks of the margin vector, in this order.
    """

    LINE = 0
    TRAFO = 1
    UNDER_VOLTAGE = 2
    OVER_VOLTAGE = 3
    EXT_GRID = 4
    NO_SOLUTION = 5  # the power flow has no solution (voltage collapse)
    NONE = 6  # nothing binds up to the search limit

_SQRT3 = math.sqrt(3.0)
_TOL_PU = 1e-9
#: The power-flow tolerance is at least this many times the mismatch of pandapower's own solution: on a
#: 37k-bus grid with 380 kV in it rounding alone leaves 2-7e-9 pu, and 1e-9 could never be met.
_TOL_FLOOR_FACTOR = 10.0
#: A limit exceeded before the connection counts only when the connection makes it worse by more than these
#: (well above the power-flow tolerance, so two independent solutions of the same case agree).
WORSE_TOL_PERCENT = 1e-5
WORSE_TOL_PU = 1e-7
WORSE_TOL_MVA = 1e-6


def _reserved_loads(net: Any, work: Any, limits: Limits, topology: Any = None) -> None:
    """Add the reserved (approved, not connected) capacity of ``net`` to ``work`` as loads at ``reserved_pf``."""
    table = net["reserved_capacity"] if "reserved_capacity" in net else None
    if table is None or not isinstance(table, pd.DataFrame) or table.empty:
        return
    import pandapower as pp  # deferred: heavy import

    topo = topology if topology is not None else build_topology(net)
    mva = reserved_by_node(net, topo, reserved_pf=limits.reserved_pf)
    for node in np.flatnonzero(mva > 0):
        bus = int(topo.bus_index[topo.node_bus[node]])
        s = float(mva[node])
        pf = limits.reserved_pf
        pp.create_load(work, bus, p_mw=s * pf, q_mvar=s * math.sqrt(max(0.0, 1 - pf * pf)),
                       name="reserved capacity")


@dataclass
class ACEvaluation:
    """Results of a batch of AC power flows, one column per case (:meth:`ACModel.evaluate`).

    Attributes
    ----------
    converged : numpy.ndarray
        ``(k,)`` bool: the case has a power-flow solution.
    line_loading, trafo_loading : numpy.ndarray
        ``(n_line, k)``, ``(n_trafo, k)`` loading in percent (pandapower's definition), NaN out of service or
        not converged.
    vm : numpy.ndarray
        ``(n_bus, k)`` voltage magnitude in pu, NaN where not energised.
    ext_s : numpy.ndarray
        ``(n_ext_grid, k)`` apparent power of every external grid, MVA.
    V : numpy.ndarray
        ``(n_ppci, k)`` complex bus voltages of pandapower's internal case (empty for ``method="pandapower"``).
    """

    converged: np.ndarray
    line_loading: np.ndarray   # (n_line, k) percent, NaN out of service
    trafo_loading: np.ndarray  # (n_trafo, k)
    vm: np.ndarray             # (n_bus, k), NaN where not energised
    ext_s: np.ndarray          # (n_ext, k) MVA
    V: np.ndarray              # (n_ppci, k) complex


class ACModel:
    """AC power flows of the planning snapshot plus added loads, on pandapower's admittance matrices.

    Parameters
    ----------
    net : pandapowerNet
        The network (not modified).
    scaling, include_sgen : float, bool
        Planning operating point (as :func:`~gridscope.capacity.powerflow.run_snapshot`).
    limits : Limits
        Only ``reserved_pf`` is used here: reserved capacity is added as load.
    method : {"ybus", "pandapower"}
        Batch Newton-Raphson on the admittance matrices, or one ``pandapower.runpp`` per case.
    topology : Topology or None
        Prebuilt topology of ``net`` (places the reserved capacity); built when needed otherwise.
    """

    def __init__(self, net: Any, *, scaling: float = 1.0, include_sgen: bool = False,
                 limits: Limits | None = None, method: str = "ybus", topology: Any = None) -> None:
        import pandapower as pp  # deferred: heavy imports (pandapower, scipy)
        from pandapower.pypower.idx_brch import F_BUS, T_BUS
        from pandapower.pypower.idx_bus import BASE_KV
        from scipy.sparse.linalg import splu

        if method not in ("ybus", "pandapower"):
            raise InputError(f"unknown power-flow method {method!r}: use 'ybus' or 'pandapower'")
        self.method = method
        self.limits = limits or Limits()
        work = prepare_planning_net(net, scaling=scaling, include_sgen=include_sgen)
        _reserved_loads(net, work, self.limits, topology)
        self.extra_load = pp.create_load(work, int(work.bus.index[0]), p_mw=0.0, q_mvar=0.0,
                                         name="gridscope connection", in_service=False)
        try:
            run_pandapower(work)
        except pp.LoadflowNotConverged:
            name = getattr(net, "name", "") or "the network"
            raise ConvergenceError(f"the power flow of {name!r} at the planning load does not converge: "
                                   f"{diagnose_nonconvergence(work)}") from None
        self.work = work
        self.net = net
        self._res_bus0 = work.res_bus.copy()  # restart point after a diverged case
        ppci = work._ppc["internal"]
        self.baseMVA = float(ppci["baseMVA"])
        self.Ybus = ppci["Ybus"].tocsr()
        self.Yf = ppci["Yf"].tocsr()
        self.Yt = ppci["Yt"].tocsr()
        self.V0 = np.asarray(ppci["V"], dtype=complex)
        self.Sbus0 = np.asarray(ppci["Sbus"], dtype=complex)
        self.ref = np.asarray(ppci["ref"], dtype=np.int64)
        self.pv = np.asarray(ppci["pv"], dtype=np.int64)
        self.pq = np.asarray(ppci["pq"], dtype=np.int64)
        self.pvpq = np.r_[self.pv, self.pq]
        n_ppci = self.V0.size
        branch = ppci["branch"]
        f_bus = branch[:, F_BUS].real.astype(np.int64)
        t_bus = branch[:, T_BUS].real.astype(np.int64)
        base_kv = ppci["bus"][:, BASE_KV].real
        # currents (kA) per unit of |I| in per unit, at each branch end
        self._ka_f = self.baseMVA / (_SQRT3 * base_kv[f_bus])
        self._ka_t = self.baseMVA / (_SQRT3 * base_kv[t_bus])
        lookups = work._pd2ppc_lookups
        branch_is = np.asarray(ppci.get("branch_is", np.ones(branch.shape[0], bool)), dtype=bool) \
            if "branch_is" in ppci else None
        if branch_is is None:
            branch_is = np.asarray(work._ppc["internal"]["branch_is"], dtype=bool)
        ppci_of_ppc = np.where(branch_is, np.cumsum(branch_is) - 1, -1)

        def rows(element: str, n: int) -> np.ndarray:
            if element not in lookups["branch"] or n == 0:
                return np.full(n, -1, np.int64)
            f, t = lookups["branch"][element]
            return ppci_of_ppc[np.arange(f, t)]

        self.line_row = rows("line", len(net.line))
        self.trafo_row = rows("trafo", len(net.trafo))
        self.line_imax = line_rating_ka(net).to_numpy()
        self.line_rating_mva = line_rating_mva(net).to_numpy()
        tr = net.trafo
        self.trafo_vn = tr[["vn_hv_kv", "vn_lv_kv"]].to_numpy(dtype=float) if len(tr) else np.zeros((0, 2))
        self.trafo_sn = trafo_rating_mva(net).to_numpy()
        lut = lookups["bus"]
        bidx = net.bus.index.to_numpy(dtype=np.int64)
        raw = np.where(bidx < lut.size, lut[np.minimum(bidx, lut.size - 1)], -1)
        self.bus_ppci = np.where((raw >= 0) & (raw < n_ppci), raw, -1).astype(np.int64)
        self.bus_pos = pd.Series(np.arange(len(bidx)), index=net.bus.index)
        eg = net.ext_grid
        self.ext_ppci = self.bus_ppci[self.bus_pos.reindex(eg["bus"]).to_numpy(dtype=np.int64)] if len(eg) \
            else np.zeros(0, np.int64)
        res_eg = work.res_ext_grid.reindex(eg.index)
        self.ext_s0 = (res_eg["p_mw"].to_numpy(dtype=float) + 1j * res_eg["q_mvar"].to_numpy(dtype=float)) \
            if len(eg) else np.zeros(0, complex)
        self._y_ext = self.Ybus[self.ext_ppci]
        self.ext_inj0 = self.V0[self.ext_ppci] * np.conj(self._y_ext @ self.V0)
        self.tol_pu = _TOL_PU  # mismatch test of the Newton-Raphson and the sweeps (per unit)
        if method == "ybus":
            # the model must reproduce pandapower's solution (constant-power loads)
            F = self._mismatch(self.V0[:, None], self.Sbus0[:, None])
            floor = float(np.abs(F).max()) if F.size else 0.0
            if floor > 1e-6:
                self.method = "pandapower"  # voltage-dependent injections: fall back to runpp
            else:
                self.tol_pu = max(_TOL_PU, _TOL_FLOOR_FACTOR * floor)
                self._lu = splu(self._jacobian(self.V0).tocsc())
                self._tree = radial_tree(self)
        self.n_pf = 0
        self.n_sweeps = 0  # backward/forward sweeps run (radial grids)

    # ------------------------------------------------------------------ Newton-Raphson
    def _mismatch(self, V: np.ndarray, S: np.ndarray) -> np.ndarray:
        mis = V * np.conj(self.Ybus @ V) - S
        return np.vstack([mis[self.pvpq].real, mis[self.pq].imag])

    def _jacobian(self, V: np.ndarray) -> Any:
        import scipy.sparse as sp  # deferred: heavy import

        Ibus = self.Ybus @ V
        diagV = sp.diags(V)
        diagI = sp.diags(Ibus)
        diagVn = sp.diags(V / np.abs(V))
        dS_dVm = diagV @ np.conj(self.Ybus @ diagVn) + np.conj(diagI) @ diagVn
        dS_dVa = 1j * diagV @ np.conj(diagI - self.Ybus @ diagV)
        pvpq, pq = self.pvpq, self.pq
        j11 = dS_dVa[pvpq][:, pvpq].real
        j12 = dS_dVm[pvpq][:, pq].real
        j21 = dS_dVa[pq][:, pvpq].imag
        j22 = dS_dVm[pq][:, pq].imag
        return sp.vstack([sp.hstack([j11, j12]), sp.hstack([j21, j22])], format="csc")

    def _update(self, V: np.ndarray, dx: np.ndarray) -> np.ndarray:
        npvpq = self.pvpq.size
        Va, Vm = np.angle(V), np.abs(V)
        Va[self.pvpq] -= dx[:npvpq]
        Vm[self.pq] -= dx[npvpq:]
        return Vm * np.exp(1j * Va)

    def _solve_full(self, V: np.ndarray, S: np.ndarray, max_it: int = 15) -> tuple[np.ndarray, bool]:
        """Newton-Raphson for one case; gives up early when the mismatch stops falling (no solution)."""
        from scipy.sparse.linalg import spsolve  # deferred: heavy import

        best = np.inf
        for it in range(max_it):
            F = self._mismatch(V[:, None], S[:, None])[:, 0]
            norm = float(np.abs(F).max()) if F.size else 0.0
            if not np.isfinite(norm):
                return V, False
            if norm < self.tol_pu:
                return V, True
            if norm > 10 * best or (it >= 6 and norm > 0.5 * best):
                return V, False
            best = min(best, norm)
            dx = spsolve(self._jacobian(V), F)
            V = self._update(V[:, None], dx[:, None])[:, 0]
        return V, False

    def _solve_batch(self, S: np.ndarray, V: np.ndarray, max_it: int = 40,
                     fallback: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        k = S.shape[1]
        conv = np.zeros(k, bool)
        active = np.ones(k, bool)
        prev = np.full(k, np.inf)
        for _ in range(max_it):
            idx = np.flatnonzero(active)
            if not idx.size:
                break
            F = self._mismatch(V[:, idx], S[:, idx])
            norm = np.abs(F).max(axis=0) if F.size else np.zeros(idx.size)
            ok = norm < self.tol_pu
            conv[idx[ok]] = True
            bad = ~np.isfinite(norm) | (norm > 10 * prev[idx]) | (norm > 1e3)
            active[idx[ok | bad]] = False
            prev[idx] = norm
            go = idx[~ok & ~bad]
            if not go.size:
                break
            F = F[:, ~ok & ~bad]
            dx = self._lu.solve(F)
            V[:, go] = self._update(V[:, go], dx)
        retry = ~conv if fallback is None else ~conv & fallback
        for c in np.flatnonzero(retry):  # chord iterations did not settle: full Newton-Raphson
            V[:, c], conv[c] = self._solve_full(self.V0.copy(), S[:, c])
        return V, conv

    def _solve_sweep(self, rows: np.ndarray, dS: np.ndarray, src: np.ndarray, cols: np.ndarray, V: np.ndarray,
                     max_it: int, fallback: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Radial grids: backward/forward sweeps (compiled, one case after the other) on the exact branch
        two-ports, case ``c`` being the base injections plus ``dS[c]`` at internal bus ``rows[c]``, stopped on
        the same mismatch test as the Newton-Raphson, started from column ``cols[c]`` of ``src``; the solution
        is written to ``V`` (``(n, k)``). A case the sweeps do not settle is re-solved by a full Newton-Raphson
        where ``fallback`` is True."""
        t = self._tree
        k = rows.size
        conv = np.zeros(k, bool)
        self.n_sweeps += sweep_kernel()(t.order, t.pos, t.parent, t.a, t.b, t.ytf, t.ytt, t.ysh, t.yp, t.yi,
                                        t.yx, t.s0, rows.astype(np.int64), dS.astype(complex), src,
                                        np.asarray(cols, dtype=np.int64), V, self.tol_pu, max_it, conv)
        retry = ~conv if fallback is None else ~conv & fallback
        for c in np.flatnonzero(retry):
            S = self.Sbus0.copy()
            S[rows[c]] += dS[c]
            V[:, c], conv[c] = self._solve_full(self.V0.copy(), S)
        return V, conv

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, bus: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray,
                 V_start: np.ndarray | None = None, fallback: np.ndarray | None = None) -> ACEvaluation:
        """Power flows with ``p_mw + j q_mvar`` added at pandapower bus ``bus[c]`` for every case ``c``.

        Cases the chord iterations do not solve are re-solved by a full Newton-Raphson where ``fallback`` is
        True (default: all); the others count as unsolved.
        """
        bus = np.asarray(bus, dtype=np.int64)
        p_mw = np.asarray(p_mw, dtype=float)
        q_mvar = np.asarray(q_mvar, dtype=float)
        if self.method == "pandapower":
            self.n_pf += bus.size
            return self._evaluate_pandapower(bus, p_mw, q_mvar)
        V, conv, added = self.solve(bus, p_mw, q_mvar, V_start, fallback)
        return self._results(V, conv, added)

    def solve(self, bus: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray, V_start: np.ndarray | None = None,
              fallback: np.ndarray | None = None, start_cols: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The power flows of :meth:`evaluate` (``method="ybus"`` only) without the loadings: ``(V, converged,
        added)``, ``V`` the ``(n_ppci, k)`` internal bus voltages, ``added`` the ``(n_ext_grid, k)`` load added
        at each external grid's bus (MVA, complex). ``start_cols``: case ``c`` starts from column
        ``start_cols[c]`` of ``V_start`` (which is then not copied; default: column ``c``)."""
        bus = np.asarray(bus, dtype=np.int64)
        p_mw = np.asarray(p_mw, dtype=float)
        q_mvar = np.asarray(q_mvar, dtype=float)
        k = bus.size
        self.n_pf += k
        rows = self.bus_ppci[self.bus_pos.reindex(bus).to_numpy(dtype=np.int64)]
        dS = -(p_mw + 1j * q_mvar) / self.baseMVA
        if getattr(self, "_tree", None) is not None:
            src = np.ascontiguousarray(self.V0[:, None]) if V_start is None else V_start
            cols = np.zeros(k, np.int64) if V_start is None else \
                (np.arange(k) if start_cols is None else np.asarray(start_cols, dtype=np.int64))
            V, conv = self._solve_sweep(rows, dS, src, cols, np.empty((self.V0.size, k), complex), 40, fallback)
        else:
            V = np.repeat(self.V0[:, None], k, axis=1) if V_start is None else \
                (V_start.copy() if start_cols is None else V_start[:, start_cols])
            S = np.repeat(self.Sbus0[:, None], k, axis=1)
            S[rows, np.arange(k)] += dS
            V, conv = self._solve_batch(S, V, fallback=fallback)
        added = np.zeros((self.ext_ppci.size, k), complex)
        for j, r in enumerate(self.ext_ppci):
            hit = rows == r
            added[j, hit] = p_mw[hit] + 1j * q_mvar[hit]
        return V, conv, added

    def ext_grid_s(self, V: np.ndarray, added: np.ndarray) -> np.ndarray:
        """``(n_ext_grid, k)`` apparent power (MVA) of every external grid for the states ``V`` (:meth:`solve`):
        its base output plus the change of its bus injection plus the load added at its bus."""
        k = V.shape[1]
        if not self.ext_ppci.size:
            return np.zeros((0, k))
        inj = V[self.ext_ppci] * np.conj(self._y_ext @ V)  # the external grids' rows of Ybus only
        return np.abs(self.ext_s0[:, None] + (inj - self.ext_inj0[:, None]) * self.baseMVA + added)

    def _results(self, V: np.ndarray, conv: np.ndarray, added: np.ndarray) -> ACEvaluation:
        k = V.shape[1]
        i_f = np.abs(self.Yf @ V) * self._ka_f[:, None]
        i_t = np.abs(self.Yt @ V) * self._ka_t[:, None]
        ll = np.full((self.line_row.size, k), np.nan)
        ok = self.line_row >= 0
        if ok.any():
            r = self.line_row[ok]
            ll[ok] = np.maximum(i_f[r], i_t[r]) / self.line_imax[ok, None] * 100.0
        tl = np.full((self.trafo_row.size, k), np.nan)
        ok = self.trafo_row >= 0
        if ok.any():
            r = self.trafo_row[ok]
            hv = i_f[r] * self.trafo_vn[ok, 0:1]
            lv = i_t[r] * self.trafo_vn[ok, 1:2]
            tl[ok] = np.maximum(hv, lv) * _SQRT3 / self.trafo_sn[ok, None] * 100.0
        vm = np.full((self.bus_ppci.size, k), np.nan)
        okb = self.bus_ppci >= 0
        vm[okb] = np.abs(V[self.bus_ppci[okb]])
        ext_s = self.ext_grid_s(V, added)  # external grid = base output + change of bus injection + added
        bad = ~conv
        for a in (ll, tl, vm):
            a[:, bad] = np.nan
        return ACEvaluation(converged=conv, line_loading=ll, trafo_loading=tl, vm=vm, ext_s=ext_s, V=V)

    def _evaluate_pandapower(self, bus: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray) -> ACEvaluation:
        import pandapower as pp  # deferred: heavy import

        w = self.work
        k = bus.size
        ll = np.full((len(w.line), k), np.nan)
        tl = np.full((len(w.trafo), k), np.nan)
        vm = np.full((len(w.bus), k), np.nan)
        ext = np.full((len(w.ext_grid), k), np.nan)
        conv = np.zeros(k, bool)
        li = self.extra_load
        for c in range(k):
            w.load.loc[li, ["bus", "p_mw", "q_mvar", "in_service"]] = [int(bus[c]), float(p_mw[c]),
                                                                       float(q_mvar[c]), True]
            with warnings.catch_warnings():  # a diverging case warns about singular matrices
                warnings.simplefilter("ignore")
                try:
                    run_pandapower(w, init="results")
                    conv[c] = True
                except pp.LoadflowNotConverged:
                    w.res_bus = self._res_bus0.copy()  # a previous case diverged: restart from the base
                    try:
                        run_pandapower(w, init="results")
                        conv[c] = True
                    except pp.LoadflowNotConverged:
                        continue
            ll[:, c] = w.res_line["loading_percent"].reindex(w.line.index).to_numpy(dtype=float)
            tl[:, c] = w.res_trafo["loading_percent"].reindex(w.trafo.index).to_numpy(dtype=float)
            vm[:, c] = w.res_bus["vm_pu"].reindex(w.bus.index).to_numpy(dtype=float)
            ext[:, c] = np.hypot(w.res_ext_grid["p_mw"], w.res_ext_grid["q_mvar"]).to_numpy(dtype=float)
        w.load.loc[li, ["p_mw", "q_mvar", "in_service"]] = [0.0, 0.0, False]
        return ACEvaluation(converged=conv, line_loading=ll, trafo_loading=tl, vm=vm, ext_s=ext,
                     V=np.zeros((0, k), complex))


# ---------------------------------------------------------------------------------------------- radial sweeps
@dataclass
class RadialTree:
    """pandapower's internal case as a tree rooted at its slack bus (a forest: one tree per slack), for
    backward/forward sweeps.

    Per bus ``i`` (internal numbering) with parent ``p``: the parallel branches between them summed into one
    two-port ``[I_p; I_i] = [[Y_pp, Y_pi], [Y_ip, Y_ii]] [V_p; V_i]`` (currents into the branch), stored as
    ``ytf = Y_ip``, ``ytt = 1 / Y_ii``, ``a = Y_pp - Y_pi Y_ip / Y_ii`` and ``b = -Y_pi / Y_ii`` (the parent-end current
    is ``a V_p + b J_i`` for a current ``J_i`` delivered into the child's side); ``ysh`` the bus shunt.
    """

    order: np.ndarray   # internal bus at breadth-first position q (tree after tree, each slack first)
    parent: np.ndarray  # position of the parent of position q, -1 at a slack; every array below by position
    a: np.ndarray
    b: np.ndarray
    ytf: np.ndarray
    ytt: np.ndarray     # here 1 / Y_ii
    ysh: np.ndarray
    yp: np.ndarray      # Ybus CSR in positions (the mismatch test)
    yi: np.ndarray
    yx: np.ndarray
    pos: np.ndarray     # breadth-first position of every internal bus
    s0: np.ndarray      # base-case injections (per unit) by position


def radial_tree(model: ACModel) -> RadialTree | None:
    """The :class:`RadialTree` of ``model``'s internal case, or None when it has a loop, PV buses, no slack or
    a part with two slacks (then the chord Newton-Raphson is used). Several slacks (one external grid per
    station) make a forest: one tree per slack, one after the other in the breadth-first order."""
    import scipy.sparse as sp  # deferred: heavy imports
    from pandapower.pypower.idx_brch import F_BUS, T_BUS
    from scipy.sparse.csgraph import breadth_first_order

    n = model.V0.size
    refs = np.asarray(model.ref, dtype=np.int64)
    if model.pv.size or refs.size < 1 or n < 2:
        return None
    branch = model.work._ppc["internal"]["branch"]
    f = branch[:, F_BUS].real.astype(np.int64)
    t = branch[:, T_BUS].real.astype(np.int64)
    rows = np.arange(f.size)
    Yf, Yt = model.Yf.tocsr(), model.Yt.tocsr()
    yff, yft = np.asarray(Yf[rows, f]).ravel(), np.asarray(Yf[rows, t]).ravel()
    ytf, ytt = np.asarray(Yt[rows, f]).ravel(), np.asarray(Yt[rows, t]).ravel()
    adj = sp.coo_matrix((np.ones(f.size), (f, t)), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.int8).tocsr()
    if adj.nnz // 2 != n - refs.size or np.any(f == t):
        return None  # a loop (parallel branches between one pair of buses are summed, not a loop)
    orders, parent = [], np.full(n, -1, np.int64)
    for root in refs:  # a forest of n - n_ref branches reaching all n buses from the roots has one root per tree
        tree, pred = breadth_first_order(adj, int(root), directed=False, return_predecessors=True)
        orders.append(tree)
        parent[tree] = np.where(pred[tree] >= 0, pred[tree], -1)
    order = np.concatenate(orders)
    if order.size != n or np.unique(order).size != n:
        return None  # two slacks in one tree, or buses no slack reaches
    fwd = parent[t] == f
    bwd = parent[f] == t
    if not (fwd | bwd).all():
        return None
    child = np.where(fwd, t, f)
    Ypp, Ypi, Yip, Yii = (np.zeros(n, complex) for _ in range(4))
    np.add.at(Ypp, child, np.where(fwd, yff, ytt))
    np.add.at(Ypi, child, np.where(fwd, yft, ytf))
    np.add.at(Yip, child, np.where(fwd, ytf, yft))
    np.add.at(Yii, child, np.where(fwd, ytt, yff))
    nonroot = parent >= 0
    if np.any(np.abs(Yii[nonroot]) == 0):
        return None
    own = np.zeros(n, complex)
    np.add.at(own, f, yff)
    np.add.at(own, t, ytt)
    ysh = np.asarray(model.Ybus.diagonal(), dtype=complex) - own
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(nonroot, Ypp - Ypi * Yip / Yii, 0)
        b = np.where(nonroot, -Ypi / Yii, 0)
    # everything in breadth-first positions (each tree's slack first, every parent before its children): the
    # sweeps then walk the arrays in order, which keeps them in cache
    order = order.astype(np.int64)
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    par_pos = np.where(parent[order] >= 0, pos[np.maximum(parent[order], 0)], -1)
    Y = model.Ybus.tocsr()[order][:, order].tocsr()
    Y.sort_indices()
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_ytt = np.where(nonroot[order], 1.0 / Yii[order], 0)
    return RadialTree(order=order, parent=par_pos, a=a[order], b=b[order], ytf=Yip[order], ytt=inv_ytt,
                      ysh=ysh[order], yp=Y.indptr.astype(np.int64), yi=Y.indices.astype(np.int64),
                      yx=Y.data.astype(complex), pos=pos, s0=np.asarray(model.Sbus0, dtype=complex)[order])


_KERNELS: dict[str, Any] = {}


def sweep_kernel() -> Any:
    """The compiled backward/forward sweep (numba, compiled on first use and cached on disk). The cases of a
    batch run on numba's threads (``NUMBA_NUM_THREADS``); each case is computed on its own, so the result does
    not depend on the number of threads."""
    if "sweep" in _KERNELS:
        return _KERNELS["sweep"]
    from numba import njit, prange  # deferred: heavy import, compile on first use

    @njit(cache=True, nogil=True, parallel=True)
    def sweep(order, pos, parent, a, b, ytf, inv_ytt, ysh, yp, yi, yx, s0, rows, dS, src, cols, V, tol, max_it,
              conv):  # pragma: no cover
        n, k = V.shape
        its = 0
        for c in prange(k):  # independent cases: the same result on any number of threads
            v = np.empty(n, np.complex128)
            s = np.empty(n, np.complex128)
            J = np.empty(n, np.complex128)
            for q in range(n):  # into breadth-first positions
                v[q] = src[order[q], cols[c]]
                s[q] = s0[q]
            s[pos[rows[c]]] += dS[c]
            prev = np.inf
            check = False
            for it in range(max_it + 1):
                # the mismatch test of the Newton-Raphson, once the voltage updates have become small
                if check:
                    norm = 0.0
                    for q in range(n):
                        if parent[q] < 0:
                            continue  # a slack: its injection is free
                        acc = 0j
                        for p in range(yp[q], yp[q + 1]):
                            acc += yx[p] * v[yi[p]]
                        mis = v[q] * np.conj(acc) - s[q]
                        norm = max(norm, abs(mis.real), abs(mis.imag))
                    if norm < tol:
                        conv[c] = True
                        break
                    if not np.isfinite(norm):
                        break
                if it == max_it:
                    break
                for q in range(n):
                    J[q] = 0j
                for q in range(n - 1, -1, -1):  # backward: currents, children first
                    if parent[q] < 0:
                        continue
                    vq = v[q]
                    mag2 = vq.real * vq.real + vq.imag * vq.imag
                    J[q] += ysh[q] * vq - np.conj(s[q]) * vq / mag2
                    J[parent[q]] += a[q] * v[parent[q]] + b[q] * J[q]
                dv = 0.0
                for q in range(n):  # forward: voltages, parents first
                    if parent[q] < 0:
                        continue
                    new = (-J[q] - ytf[q] * v[parent[q]]) * inv_ytt[q]
                    dv = max(dv, abs(new - v[q]))
                    v[q] = new
                its += 1
                if not np.isfinite(dv) or dv > 10 * prev or dv > 1.0:
                    break  # diverging: beyond the collapse point, or a poor start
                prev = dv
                check = dv < 1e-7
            for q in range(n):
                V[order[q], c] = v[q]
        return its

    _KERNELS["sweep"] = sweep
    return sweep


def margin_kernel() -> Any:
    """The compiled constraint margins of a batch of power-flow states (numba, cached on disk): per case the
    loadings and voltages of :meth:`ACModel.evaluate` are computed from the voltages one element at a time and
    reduced at once to the smallest margin under the rule of :meth:`Constraints.margins_on_path`, without the
    ``(n_element, k)`` arrays. Cases run on numba's threads; each is computed on its own."""
    if "margin" in _KERNELS:
        return _KERNELS["margin"]
    from numba import njit, prange  # deferred: heavy import, compile on first use

    @njit(cache=True, nogil=True, parallel=True)
    def margins(V, conv, bus_node, use_path, yfp, yfi, yfx, ytp, yti, ytx, ka_f, ka_t, line_row, line_imax,
                trafo_row, trafo_hv, trafo_lv, trafo_sn, bus_ppci, ext_vals, vidx, block, row, base, lim, scale,
                upper, tol, node, has_node, tin, size, no_solution, none, watch_kind, watch_elem, out_m, out_kind,
                out_elem, out_nkind, out_nelem, out_watch):  # pragma: no cover
        n, k = V.shape
        n_line, n_trafo, n_bus = line_row.size, trafo_row.size, bus_ppci.size
        n_val = n_line + n_trafo + n_bus + ext_vals.shape[0]
        n_el = vidx.size
        sqrt3 = np.sqrt(3.0)
        for c in prange(k):
            out_watch[c] = np.nan
            if not conv[c]:
                out_m[c] = -1.0
                out_kind[c] = no_solution
                out_elem[c] = 0
                out_nkind[c] = none
                out_nelem[c] = 0
                continue
            v = np.empty(n, np.complex128)
            for i in range(n):
                v[i] = V[i, c]
            val = np.empty(n_val)
            for j in range(n_line + n_trafo):  # branch currents (kA) at both ends, as ``|Yf V|``, ``|Yt V|``
                r = line_row[j] if j < n_line else trafo_row[j - n_line]
                if r < 0:
                    val[j] = np.nan
                    continue
                acc = 0j
                for p in range(yfp[r], yfp[r + 1]):
                    acc += yfx[p] * v[yfi[p]]
                i_f = abs(acc) * ka_f[r]
                acc = 0j
                for p in range(ytp[r], ytp[r + 1]):
                    acc += ytx[p] * v[yti[p]]
                i_t = abs(acc) * ka_t[r]
                if j < n_line:
                    x, y = i_f, i_t
                else:
                    x, y = i_f * trafo_hv[j - n_line], i_t * trafo_lv[j - n_line]
                big = np.nan if (x != x or y != y) else (x if x >= y else y)  # np.maximum
                if j < n_line:
                    val[j] = big / line_imax[j] * 100.0
                else:
                    val[j] = big * sqrt3 / trafo_sn[j - n_line] * 100.0
            o = n_line + n_trafo
            for j in range(n_bus):
                val[o + j] = abs(v[bus_ppci[j]]) if bus_ppci[j] >= 0 else np.nan
            o += n_bus
            for j in range(ext_vals.shape[0]):
                val[o + j] = ext_vals[j, c]
            b = bus_node[c]
            best = np.inf
            kind = block[0] if n_el else 0
            elem = 0
            nbest = np.inf
            nkind = none
            nelem = 0
            for e in range(n_el):
                x = val[vidx[e]]
                if upper[e]:
                    m = (lim[e] - x) / scale[e]
                    not_worse = x <= base[e] + tol[e]
                    pre = base[e] > lim[e]
                else:
                    m = (x - lim[e]) / scale[e]
                    not_worse = x >= base[e] - tol[e]
                    pre = base[e] < lim[e]
                if block[e] == watch_kind[c] and row[e] == watch_elem[c]:
                    out_watch[c] = m  # the watched limit's own margin, before the rules below
                if m != m or (m < 0 and not_worse):
                    m = np.inf  # out of service, or a pre-existing violation not made worse
                if use_path and has_node[e] and pre and np.isfinite(base[e]):
                    a = node[e]
                    on = a < 0 or (b >= 0 and tin[a] <= tin[b] and tin[b] < tin[a] + size[a])
                    if not on:  # off the supply path: a note, it does not bind
                        if m < nbest:
                            nbest, nkind, nelem = m, block[e], row[e]
                        m = np.inf
                if m < best:
                    best, kind, elem = m, block[e], row[e]
            out_m[c] = best
            out_kind[c] = kind
            out_elem[c] = elem
            out_nkind[c] = nkind if nbest < 0 else none
            out_nelem[c] = nelem
        return 0

    _KERNELS["margin"] = margins
    return margins


# ---------------------------------------------------------------------------------------------- constraints
class Constraints:
    """Limits of every constrained quantity and the margins of an evaluation (planning and physical).

    Built once per :class:`ACModel` and limits; the exact bus search and the connection evaluation share it.

    Parameters
    ----------
    model : ACModel
        The AC model; its base case (no added load) is evaluated once here.
    limits : Limits
        Planning and physical limits, voltage band.
    topology : Topology or None
        Prebuilt topology of the model's network (its voltage level boundary places main transformers).

    Attributes
    ----------
    model : ACModel
    base : ACEvaluation
        The base case (one column).
    line_plan, trafo_plan : numpy.ndarray
        Planning limit (percent) per line and per transformer (main transformers at ``main_trafo_percent``).
    trafo_main : numpy.ndarray
        Per transformer: a main transformer by role (:func:`gridscope.grid.facts.trafo_is_main`).
    phys : float
        Physical limit (percent) of every element.
    vmin, vmax, band : float
        Voltage band in pu (``1 ∓ band``).
    ext_rating : numpy.ndarray
        Rating (MVA) per external grid, NaN where unknown (:func:`gridscope.grid.facts.ext_grid_rating_mva`).
    ext_limit_plan : float
        Planning limit (percent) of an external grid's rating.
    """

    def __init__(self, model: ACModel, limits: Limits, topology: Any = None,
                 bands: VoltageBands | None = None) -> None:
        net = model.net
        self.model = model
        self.line_plan = np.full(len(net.line), limits.line_percent)
        topo = topology if topology is not None else build_topology(net)
        main = trafo_is_main(net, radial_max_kv=topo.radial_max_kv).to_numpy(dtype=bool)
        self.trafo_plan = np.where(main, limits.main_trafo_percent, limits.trafo_percent)
        self.trafo_main = main
        self.phys = limits.physical_percent
        # voltage: the band of each bus's level (GB/T 12325-2008, :mod:`.voltage`); ``limits.v_band_pu`` is the
        # band of 20 kV and below, the levels of 35 kV and above take ``bands.hv_pu``
        self.bands = bands if bands is not None else VoltageBands(mv_pu=limits.v_band_pu)
        self.vmin_bus, self.vmax_bus = bus_band_limits_pu(net, self.bands)  # with the optional phases column
        self.vscale_bus = np.maximum(0.5 * (self.vmax_bus - self.vmin_bus), 1e-3)
        self.vmin = 1.0 - self.bands.mv_pu  # the 20 kV-and-below band (scalar, for messages)
        self.vmax = 1.0 + self.bands.mv_pu
        self.band = self.bands.mv_pu
        self.ext_rating = ext_grid_rating_mva(net).to_numpy()
        self.ext_limit_plan = limits.main_trafo_percent
        self.path = SupplyPaths(topo, net)
        self._flat_cache: dict[bool, dict[str, np.ndarray]] = {}
        base = model.evaluate(np.array([int(net.bus.index[0])]), np.zeros(1), np.zeros(1))
        if not base.converged[0]:
            raise ConvergenceError("the base case of the bus open-capacity search does not converge")
        self.base = base
        model.n_pf -= 1

    def margins(self, ev: ACEvaluation, physical: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per case: smallest scaled margin, the :class:`BindingKind` and the element position of the binding
        limit (a negative margin is a violation made worse by the added load). Every limit binds, wherever it
        is (see :meth:`margins_on_path` for the rule of the bus search)."""
        m, kind, elem, _, _ = self.margins_on_path(ev, physical, None)
        return m, kind, elem

    def margins_on_path(self, ev: ACEvaluation, physical: bool, buses: np.ndarray | None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`margins` where a limit already exceeded before the connection binds only on the request's
        supply path.

        Case ``c`` adds load at pandapower bus ``buses[c]``. A limit exceeded in the base case and made worse
        binds when its element is on the supply path of that bus (:class:`SupplyPaths`: the bus itself and
        every bus, line and transformer between it and the supply, and everything upstream of the feeders);
        off the path it is ignored and returned as a note instead. ``buses=None``: every limit binds.

        Returns
        -------
        tuple of numpy.ndarray
            ``(margin, kind, elem, note_kind, note_elem)``: the last two give, per case, the most violated
            pre-existing limit off the path that the case makes worse (``BindingKind.NONE`` when there is none).
        """
        k = ev.converged.size
        blocks = []
        notes = []
        bus_node = None if buses is None else self.path.bus_node(self.model.bus_pos.reindex(buses).to_numpy())

        def add(values: np.ndarray, base: np.ndarray, limit: np.ndarray, scale: np.ndarray, upper: bool,
                tol: float, nodes: np.ndarray | None) -> None:
            if not values.size:
                blocks.append(np.zeros((0, k)))
                notes.append(np.full((0, k), np.inf))
                return
            if upper:
                m = (limit[:, None] - values) / scale[:, None]
                not_worse = values <= base[:, None] + tol
                pre = base > limit
            else:
                m = (values - limit[:, None]) / scale[:, None]
                not_worse = values >= base[:, None] - tol
                pre = base < limit
            # NaN (out of service) and a pre-existing violation not made worse do not bind
            m[np.isnan(m) | ((m < 0) & not_worse)] = np.inf
            note = np.full((0, k), np.inf)
            if bus_node is not None and nodes is not None:
                rows = np.flatnonzero(pre & np.isfinite(base))
                if rows.size:
                    off = ~self.path.on_path(nodes[rows], bus_node)  # (rows, k)
                    sub = m[rows]
                    note = np.full((values.shape[0], k), np.inf)
                    note[rows] = np.where(off, sub, np.inf)
                    m[rows] = np.where(off, np.inf, sub)
            notes.append(note if note.shape[0] else np.full((values.shape[0], k), np.inf))
            blocks.append(m)

        b = self.base
        lp = np.full(self.line_plan.size, self.phys) if physical else self.line_plan
        tp = np.full(self.trafo_plan.size, self.phys) if physical else self.trafo_plan
        add(ev.line_loading, b.line_loading[:, 0], lp, lp, upper=True, tol=WORSE_TOL_PERCENT,
            nodes=self.path.line_node)
        add(ev.trafo_loading, b.trafo_loading[:, 0], tp, tp, upper=True, tol=WORSE_TOL_PERCENT,
            nodes=self.path.trafo_node)
        add(ev.vm, b.vm[:, 0], self.vmin_bus, self.vscale_bus, upper=False, tol=WORSE_TOL_PU,
            nodes=self.path.bus_nodes)
        add(ev.vm, b.vm[:, 0], self.vmax_bus, self.vscale_bus, upper=True, tol=WORSE_TOL_PU,
            nodes=self.path.bus_nodes)
        er = self.ext_rating
        elim = er * (self.phys if physical else self.ext_limit_plan) / 100.0
        ext_vals = np.where(np.isfinite(er)[:, None], ev.ext_s, np.nan) if er.size else ev.ext_s
        add(ext_vals, b.ext_s[:, 0] if er.size else np.zeros(0), elim, np.where(np.isfinite(elim), elim, 1.0),
            upper=True, tol=WORSE_TOL_MVA, nodes=None)
        m, kind, elem = _argmin_blocks(blocks, k)
        m = np.where(ev.converged, m, -1.0)
        kind = np.where(ev.converged, kind, BindingKind.NO_SOLUTION)
        nm, nkind, nelem = _argmin_blocks(notes, k)
        nkind = np.where(ev.converged & (nm < 0), nkind, BindingKind.NONE)
        return m, kind, elem, nkind, nelem

    def _flat(self, physical: bool) -> dict[str, np.ndarray]:
        """Every constrained quantity of :meth:`margins_on_path` as one flat list of elements (blocks in the
        order of :class:`BindingKind`), for :func:`margin_kernel`."""
        key = bool(physical)
        if key in self._flat_cache:
            return self._flat_cache[key]
        model, b, net = self.model, self.base, self.model.net
        n_line, n_trafo, n_bus = len(net.line), len(net.trafo), len(net.bus)
        lp = np.full(self.line_plan.size, self.phys) if physical else self.line_plan
        tp = np.full(self.trafo_plan.size, self.phys) if physical else self.trafo_plan
        er = self.ext_rating
        n_ext = er.size
        elim = er * (self.phys if physical else self.ext_limit_plan) / 100.0
        o_bus, o_ext = n_line + n_trafo, n_line + n_trafo + n_bus
        parts = [  # (kind, value index, base, limit, scale, upper, tol, node or None)
            (BindingKind.LINE, np.arange(n_line), b.line_loading[:, 0], lp, lp, True, WORSE_TOL_PERCENT,
             self.path.line_node),
            (BindingKind.TRAFO, n_line + np.arange(n_trafo), b.trafo_loading[:, 0], tp, tp, True,
             WORSE_TOL_PERCENT, self.path.trafo_node),
            (BindingKind.UNDER_VOLTAGE, o_bus + np.arange(n_bus), b.vm[:, 0], self.vmin_bus, self.vscale_bus,
             False, WORSE_TOL_PU, self.path.bus_nodes),
            (BindingKind.OVER_VOLTAGE, o_bus + np.arange(n_bus), b.vm[:, 0], self.vmax_bus, self.vscale_bus,
             True, WORSE_TOL_PU, self.path.bus_nodes),
            (BindingKind.EXT_GRID, o_ext + np.arange(n_ext), b.ext_s[:, 0] if n_ext else np.zeros(0), elim,
             np.where(np.isfinite(elim), elim, 1.0), True, WORSE_TOL_MVA, None),
        ]

        def cat(fn: Callable[[tuple], np.ndarray], dtype: Any) -> np.ndarray:
            return np.ascontiguousarray(np.concatenate([np.asarray(fn(p), dtype=dtype) for p in parts]))

        flat = {
            "vidx": cat(lambda p: p[1], np.int64),
            "block": cat(lambda p: np.full(p[1].size, int(p[0])), np.int64),
            "row": cat(lambda p: np.arange(p[1].size), np.int64),
            "base": cat(lambda p: p[2], float),
            "lim": cat(lambda p: p[3], float),
            "scale": cat(lambda p: p[4], float),
            "upper": cat(lambda p: np.full(p[1].size, p[5]), np.bool_),
            "tol": cat(lambda p: np.full(p[1].size, p[6]), float),
            "node": cat(lambda p: p[7] if p[7] is not None else np.full(p[1].size, -1), np.int64),
            "has_node": cat(lambda p: np.full(p[1].size, p[7] is not None), np.bool_),
        }
        Yf, Yt = model.Yf, model.Yt
        flat.update({
            "yfp": Yf.indptr.astype(np.int64), "yfi": Yf.indices.astype(np.int64), "yfx": Yf.data.astype(complex),
            "ytp": Yt.indptr.astype(np.int64), "yti": Yt.indices.astype(np.int64), "ytx": Yt.data.astype(complex),
            "ka_f": np.asarray(model._ka_f, dtype=float), "ka_t": np.asarray(model._ka_t, dtype=float),
            "line_row": model.line_row.astype(np.int64), "line_imax": np.asarray(model.line_imax, dtype=float),
            "trafo_row": model.trafo_row.astype(np.int64),
            "trafo_hv": np.ascontiguousarray(model.trafo_vn[:, 0], dtype=float),
            "trafo_lv": np.ascontiguousarray(model.trafo_vn[:, 1], dtype=float),
            "trafo_sn": np.asarray(model.trafo_sn, dtype=float), "bus_ppci": model.bus_ppci.astype(np.int64),
            "ext_finite": np.isfinite(er),
        })
        self._flat_cache[key] = flat
        return flat

    def margins_of_states(self, V: np.ndarray, conv: np.ndarray, added: np.ndarray, physical: bool,
                          buses: np.ndarray | None, watch: tuple[np.ndarray, np.ndarray] | None = None
                          ) -> tuple[np.ndarray, ...]:
        """:meth:`margins_on_path` of the power-flow states of :meth:`ACModel.solve` (``method="ybus"``),
        compiled (:func:`margin_kernel`): the same margins, kinds and elements (ties to the first element in
        the order of the blocks), with the ``(n_element, k)`` loading and voltage arrays never built. The
        element of an unsolved case is 0. ``watch``: per case a (kind, element) whose own scaled margin is
        returned as a sixth array (NaN where none or unsolved), whether it binds or not."""
        f = self._flat(physical)
        k = conv.size
        ext_s = self.model.ext_grid_s(V, added)
        ext_vals = np.ascontiguousarray(np.where(f["ext_finite"][:, None], ext_s, np.nan)) if ext_s.size \
            else np.zeros((0, k))
        if buses is None:
            bus_node, use_path = np.full(k, -1, np.int64), False
        else:
            bus_node = self.path.bus_node(self.model.bus_pos.reindex(buses).to_numpy()).astype(np.int64)
            use_path = True
        m, kind, elem = np.empty(k), np.empty(k, np.int64), np.empty(k, np.int64)
        nkind, nelem, mw = np.empty(k, np.int64), np.empty(k, np.int64), np.empty(k)
        wk, we = (np.full(k, -1, np.int64), np.zeros(k, np.int64)) if watch is None else \
            (np.asarray(watch[0], dtype=np.int64), np.asarray(watch[1], dtype=np.int64))
        margin_kernel()(np.ascontiguousarray(V), np.asarray(conv, dtype=np.bool_), bus_node, use_path,
                        f["yfp"], f["yfi"], f["yfx"], f["ytp"], f["yti"], f["ytx"], f["ka_f"], f["ka_t"],
                        f["line_row"], f["line_imax"], f["trafo_row"], f["trafo_hv"], f["trafo_lv"], f["trafo_sn"],
                        f["bus_ppci"], ext_vals, f["vidx"], f["block"], f["row"], f["base"], f["lim"], f["scale"],
                        f["upper"], f["tol"], f["node"], f["has_node"], self.path.tin, self.path.size,
                        int(BindingKind.NO_SOLUTION), int(BindingKind.NONE), wk, we, m, kind, elem, nkind, nelem,
                        mw)
        return (m, kind, elem, nkind, nelem) if watch is None else (m, kind, elem, nkind, nelem, mw)

    def note(self, kind: int, elem: int) -> str:
        """Text of a pre-existing violation off the request's path that the request makes worse ("" if none)."""
        if kind in (BindingKind.NONE, BindingKind.NO_SOLUTION):
            return ""
        limit, element = self.describe(kind, elem, False)
        return f"made worse off the supply path (already beyond {limit}): {element}"

    def describe(self, kind: int, elem: int, physical: bool) -> tuple[str, str]:
        """(binding limit text, binding element text) for a kind code and element position."""
        net = self.model.net
        kind = BindingKind(kind)
        if kind == BindingKind.LINE:
            idx = net.line.index[elem]
            lim = self.phys if physical else self.line_plan[elem]
            return f"line loading {lim:g} %", _label(net, "line", idx)
        if kind == BindingKind.TRAFO:
            idx = net.trafo.index[elem]
            lim = self.phys if physical else self.trafo_plan[elem]
            what = "main transformer" if self.trafo_main[elem] else "transformer"
            return f"{what} loading {lim:g} %", _label(net, "trafo", idx)
        if kind == BindingKind.UNDER_VOLTAGE:
            return f"voltage >= {self.vmin_bus[elem]:g} pu", _label(net, "bus", net.bus.index[elem])
        if kind == BindingKind.OVER_VOLTAGE:
            return f"voltage <= {self.vmax_bus[elem]:g} pu", _label(net, "bus", net.bus.index[elem])
        if kind == BindingKind.EXT_GRID:
            idx = net.ext_grid.index[elem]
            lim = self.phys if physical else self.ext_limit_plan
            return f"external grid {lim:g} % of rating", _label(net, "ext_grid", idx)
        if kind == BindingKind.NO_SOLUTION:
            return "no power-flow solution (voltage collapse)", ""
        return "none up to the search limit", ""


def _argmin_blocks(blocks: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smallest value per column over stacked blocks: (value, block number, row within the block).

    Each block is reduced on its own (a transposed copy makes the per-case search contiguous), so no stacked
    copy of all margins is made; ties go to the first block and row, as an argmin over the stack would."""
    best = np.full(k, np.inf)
    kind = np.zeros(k, np.int64)
    elem = np.zeros(k, np.int64)
    first = np.ones(k, bool)  # no block seen yet: the first block's row 0 stands for "nothing"
    for number, blk in enumerate(blocks):
        if not blk.shape[0]:
            continue
        bt = np.ascontiguousarray(blk.T)
        pos = bt.argmin(axis=1)
        val = bt[np.arange(k), pos]
        take = (val < best) | (first & ~(val > best))
        best = np.where(take, val, best)
        kind = np.where(take, number, kind)
        elem = np.where(take, pos, elem)
        first &= ~take
    return best, kind, elem


class SupplyPaths:
    """Which elements lie on the supply path of a bus, for many (element, bus) pairs at once.

    The supply path of a bus inside a feeder is the bus itself and every bus, line and transformer of the
    radial tree between it and the feeder's station busbar; everything that is not inside a feeder (the
    stations, main transformers, subtransmission, lines closing a loop) is on every bus's path. A pre-order
    numbering of the feeder nodes (``tin``) with subtree sizes answers "is node ``a`` an ancestor of node
    ``b``" by ``tin[a] <= tin[b] < tin[a] + size[a]``.

    Attributes
    ----------
    line_node, trafo_node : numpy.ndarray
        Per line, per transformer: the tree node below it (its downstream end), -1 when it is not inside a
        feeder.
    bus_nodes : numpy.ndarray
        Per bus (``net.bus`` order): its node, -1 when not inside a feeder.
    """

    def __init__(self, topo: Any, net: Any) -> None:
        n = topo.n_node
        in_f = np.asarray(topo.feeder_of_node) >= 0
        parent = np.asarray(topo.parent_node)
        levels = nodes_by_depth(topo)
        size = np.ones(n, np.int64)
        for nodes in reversed(levels):
            par = parent[nodes]
            ok = (par >= 0) & in_f[np.maximum(par, 0)] & in_f[nodes]
            np.add.at(size, par[ok], size[nodes[ok]])
        tin = np.full(n, -1, np.int64)
        offset = 0
        for nodes in levels:
            nodes = nodes[in_f[nodes]]
            par = parent[nodes]
            root = ~((par >= 0) & in_f[np.maximum(par, 0)])
            r = nodes[root]
            if r.size:
                tin[r] = offset + np.cumsum(size[r]) - size[r]
                offset += int(size[r].sum())
            c, p = nodes[~root], par[~root]
            if c.size:
                order = np.argsort(p, kind="stable")
                c, p = c[order], p[order]
                excl = np.cumsum(size[c]) - size[c]
                first = np.r_[True, p[1:] != p[:-1]]
                start = np.maximum.accumulate(np.where(first, np.arange(c.size), 0))
                tin[c] = tin[p] + 1 + excl - excl[start]
        self.tin, self.size = tin, size
        child = np.full(topo.n_edge, -1, np.int64)
        pe = np.asarray(topo.parent_edge)
        has = (pe >= 0) & in_f
        child[pe[has]] = np.flatnonzero(has)
        self.line_node = child[topo.element_edges("line")] if len(net.line) else np.zeros(0, np.int64)
        self.trafo_node = child[topo.element_edges("trafo")] if len(net.trafo) else np.zeros(0, np.int64)
        nb = np.arange(topo.n_bus)
        self.bus_nodes = np.where(in_f[nb] & (tin[nb] >= 0), nb, -1)

    def bus_node(self, bus_pos: np.ndarray) -> np.ndarray:
        """Node of the buses at positions ``bus_pos`` of ``net.bus`` (-1 outside feeders)."""
        return self.bus_nodes[np.asarray(bus_pos, dtype=np.int64)]

    def on_path(self, elem_node: np.ndarray, bus_node: np.ndarray) -> np.ndarray:
        """``(len(elem_node), len(bus_node))`` bool: element node ``a`` is on the supply path of bus node ``b``
        (``a`` is ``b`` or an ancestor of it; ``a = -1``, an element outside the feeders, is on every path)."""
        a = np.asarray(elem_node, dtype=np.int64)[:, None]
        b = np.asarray(bus_node, dtype=np.int64)[None, :]
        ta = self.tin[np.maximum(a, 0)]
        tb = np.where(b >= 0, self.tin[np.maximum(b, 0)], -1)
        inside = (b >= 0) & (ta <= tb) & (tb < ta + self.size[np.maximum(a, 0)])
        return (a < 0) | inside


def _label(net: Any, table: str, idx: Any) -> str:
    return element_label(table, idx, element_name(net[table], idx))


# ---------------------------------------------------------------------------------------------- screen
def screen_bus_capacity(net: Any, model: ACModel, cons: Constraints, *, pf: float, physical: bool = False,
                        topology: Any = None) -> pd.DataFrame:
    """Fast path-headroom estimate (MW) per bus: thermal and voltage, vectorised over the radial tree.

    Returns a frame indexed by ``net.bus.index`` with ``screen_mw`` (NaN where the bus is not in a feeder)
    and ``screen_thermal_mw``, ``screen_voltage_mw``.
    """
    topo = topology if topology is not None else build_topology(net)
    n_edge, n_node = topo.n_edge, topo.n_node
    head = np.full(n_edge, np.inf)
    r_pu = np.zeros(n_edge)
    x_pu = np.zeros(n_edge)
    vm_bus = cons.base.vm[:, 0]
    le = topo.element_edges("line")
    if le.size:
        ln = net.line
        lim = np.full(len(ln), cons.phys) if physical else cons.line_plan
        loading = cons.base.line_loading[:, 0]
        vn = net.bus["vn_kv"].reindex(ln["from_bus"]).to_numpy(dtype=float)
        rating = model.line_rating_mva
        head[le] = np.where(np.isfinite(loading), np.maximum(0.0, lim - loading) / 100.0 * rating, np.inf)
        par = ln["parallel"].to_numpy(dtype=float)
        r_pu[le] = ln["r_ohm_per_km"].to_numpy(dtype=float) * ln["length_km"].to_numpy(dtype=float) / par / vn**2
        x_pu[le] = ln["x_ohm_per_km"].to_numpy(dtype=float) * ln["length_km"].to_numpy(dtype=float) / par / vn**2
    te = topo.element_edges("trafo")
    if te.size:
        tr = net.trafo
        lim = np.full(len(tr), cons.phys) if physical else cons.trafo_plan
        loading = cons.base.trafo_loading[:, 0]
        head[te] = np.where(np.isfinite(loading), np.maximum(0.0, lim - loading) / 100.0 * model.trafo_sn, np.inf)
        sn = model.trafo_sn
        vk = tr["vk_percent"].to_numpy(dtype=float) / 100.0
        vkr = tr["vkr_percent"].to_numpy(dtype=float) / 100.0
        r_pu[te] = vkr / sn
        x_pu[te] = np.sqrt(np.maximum(vk**2 - vkr**2, 0.0)) / sn
    cap = np.full(n_node, np.inf)
    R = np.zeros(n_node)
    X = np.zeros(n_node)
    vm_node = np.full(n_node, np.nan)
    vm_node[: topo.n_bus] = vm_bus
    vm_node[topo.n_bus:] = vm_bus[topo.node_bus[topo.n_bus:]]
    levels = nodes_by_depth(topo)
    for nodes in levels:
        par = topo.parent_node[nodes]
        pe = topo.parent_edge[nodes]
        up = np.where(par >= 0, cap[np.maximum(par, 0)], np.inf)
        cap[nodes] = np.minimum(up, head[pe])
        R[nodes] = np.where(par >= 0, R[np.maximum(par, 0)], 0.0) + r_pu[pe]
        X[nodes] = np.where(par >= 0, X[np.maximum(par, 0)], 0.0) + x_pu[pe]
    vmin_node = cons.vmin_bus[topo.node_bus] if topo.n_node else np.zeros(0)
    head_v = np.where(np.isfinite(vm_node), vm_node - vmin_node, np.inf)
    # a bus already below its band binds only on the supply path (the bus itself and its ancestors)
    sub_min = np.where(head_v > 0, head_v, np.inf)  # voltage headroom of the subtree
    for nodes in reversed(levels):
        par = topo.parent_node[nodes]
        ok = par >= 0
        np.minimum.at(sub_min, par[ok], sub_min[nodes[ok]])
    tanphi = math.tan(math.acos(pf))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_v = np.where(head_v > 0, sub_min * vm_node**2 / (R + X * tanphi), 0.0)
    # a bus elsewhere sees the drop over the common path only: the load at b lowers every bus j of the subtree
    # of an ancestor a of b by at least the drop over a's path, so the voltage screen of b is the smallest of
    # its ancestors' (subtree headroom / path impedance), exactly min_j headroom_j / Z(common path of b and j)
    for nodes in levels:
        par = topo.parent_node[nodes]
        ok = par >= 0
        p_v[nodes[ok]] = np.fmin(p_v[nodes[ok]], p_v[par[ok]])
    in_tree = topo.feeder_of_node >= 0
    bus_nodes = np.arange(topo.n_bus)
    th = np.where(in_tree[bus_nodes], cap[bus_nodes] * pf, np.nan)
    vv = np.where(in_tree[bus_nodes], p_v[bus_nodes], np.nan)
    return pd.DataFrame({"screen_mw": np.fmin(th, vv), "screen_thermal_mw": th, "screen_voltage_mw": vv},
                        index=net.bus.index)


# ---------------------------------------------------------------------------------------------- search
@dataclass
class _Pace:
    """Cases per power-flow batch so that one batch takes about :data:`~gridscope.progress.CANCEL_CHECK_S`
    (cancellation is checked between batches); the cases of a batch are independent, so the split does not
    change any result."""

    per_case_s: float = 0.0

    def size(self, left: int) -> int:
        if self.per_case_s <= 0:
            return min(left, 64)
        return max(1, min(left, int(0.8 * CANCEL_CHECK_S / self.per_case_s)))


def _evaluate_paced(model: ACModel, cons: Constraints, rep: Reporter, pace: _Pace, buses: np.ndarray,
                    p_mw: np.ndarray, q_mvar: np.ndarray, V_lo: np.ndarray | None, cols: np.ndarray,
                    fallback: np.ndarray, physical: bool, watch: tuple[np.ndarray, np.ndarray]
                    ) -> tuple[np.ndarray, ...]:
    """Power flows and their margins on the supply path (:meth:`Constraints.margins_on_path`) in batches of
    about 100 ms, checking ``cancel`` before each: ``(converged, margin, kind, elem, note_kind, note_elem,
    watched margin)`` (the watched margin NaN for ``method="pandapower"``). With ``method="ybus"`` case ``c``
    starts from column ``cols[c]`` of ``V_lo`` and a feasible case (margin >= 0) writes its solution back there;
    the margins come from the compiled :meth:`Constraints.margins_of_states`, only the margins of a batch are
    kept, not its loadings. ``watch``: per case the (kind, element) whose own margin is wanted."""
    parts = []
    start, k = 0, buses.size
    while start < k:
        rep.check()
        sl = slice(start, start + pace.size(k - start))
        t0 = perf_counter()
        if model.method == "ybus":
            V, conv, added = model.solve(buses[sl], p_mw[sl], q_mvar[sl], V_start=V_lo, fallback=fallback[sl],
                                         start_cols=cols[sl])
            marg = cons.margins_of_states(V, conv, added, physical, buses[sl], (watch[0][sl], watch[1][sl]))
            feas = marg[0] >= 0
            V_lo[:, cols[sl][feas]] = V[:, feas]  # the restart point of the next round
        else:
            ev = model.evaluate(buses[sl], p_mw[sl], q_mvar[sl], fallback=fallback[sl])
            conv = ev.converged
            marg = (*cons.margins_on_path(ev, physical, buses[sl]), np.full(sl.stop - sl.start, np.nan))
        parts.append((conv, *marg))
        pace.per_case_s = (perf_counter() - t0) / (sl.stop - sl.start)
        start = sl.stop
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(7))


def _search(model: ACModel, cons: Constraints, buses: np.ndarray, start: np.ndarray, *, pf: float,
            physical: bool, p_max_mw: float, rtol: float, max_rounds: int, abs_tol_mw: float = 1e-5,
            rep: Reporter, done_before: int = 0) -> dict[str, np.ndarray]:
    """Bracketing search of the largest feasible added load per bus, all buses one round at a time.

    ``rep`` gets the number of buses settled (plus ``done_before``) after every round.
    """
    pace = _Pace()
    k = buses.size
    lo = np.zeros(k)
    hi = np.full(k, np.nan)
    m_lo = np.full(k, np.nan)
    m_hi = np.full(k, np.nan)
    hi_real = np.zeros(k, bool)  # m_hi from a converged power flow (usable for interpolation)
    kind_hi = np.full(k, BindingKind.NONE)
    note_kind = np.full(k, BindingKind.NONE)  # worst pre-existing violation off the path, made worse at ``lo``
    note_elem = np.zeros(k, np.int64)
    elem_hi = np.zeros(k, np.int64)
    prev_lo, prev_mlo = np.full(k, np.nan), np.full(k, np.nan)
    last_feasible = np.zeros(k, bool)
    same_side = np.zeros(k, np.int64)  # consecutive evaluations on the same side of the root
    # Illinois weights of the bracket ends: the end kept twice in a row has its margin halved in the
    # interpolation, so a margin that bends (the binding limit changes inside the bracket) does not make the
    # regula falsi creep towards the root from one side
    w_lo, w_hi = np.ones(k), np.ones(k)
    # the margin at ``lo`` of the limit that binds at ``hi`` (evaluated with it watched): interpolating one
    # limit's own margin is nearly linear, where the smallest margin jumps from one limit to another
    mw_lo = np.full(k, np.nan)
    wk_lo, we_lo = np.full(k, -1, np.int64), np.zeros(k, np.int64)
    # a screen of 0 (a limit on the path already reached): probe at the absolute tolerance first, which settles
    # a zero capacity in one round instead of a bisection down from 1 MW
    guess = np.where(np.isfinite(start) & (start > 0), np.clip(start, 1e-3, p_max_mw),
                     np.where(np.isfinite(start), abs_tol_mw, 1.0))
    done = np.zeros(k, bool)
    # the last feasible solution of every bus: the start of its next power flow
    V_lo = np.repeat(model.V0[:, None], k, axis=1) if model.method == "ybus" else None
    # margins at zero added load: the constraint model's base case
    m0, _, _ = cons.margins(cons.base, physical)
    m_lo[:] = m0[0]
    if m0[0] < 0:  # cannot happen: pre-existing violations are not counted
        done[:] = True
    rounds = 0
    while not done.all() and rounds < max_rounds:
        rounds += 1
        act = np.flatnonzero(~done)
        P = guess[act]
        # a full Newton-Raphson only near a known solvable point: far jumps that the chord iterations cannot
        # solve are beyond the collapse point (or are bracketed away, then re-tried close to ``lo``)
        near = P <= 1.1 * lo[act] + 1e-9
        wk = np.where(np.isfinite(hi[act]), kind_hi[act], -1).astype(np.int64)
        we = elem_hi[act].astype(np.int64)
        conv_ev, m, kind, elem, nkind, nelem, mw = _evaluate_paced(
            model, cons, rep, pace, buses[act], P, q_from_pf(P, pf), V_lo, act, near, physical, (wk, we))
        feas = m >= 0
        # update brackets
        f_idx, i_idx = act[feas], act[~feas]
        prev_lo[f_idx], prev_mlo[f_idx] = lo[f_idx], m_lo[f_idx]
        lo[f_idx], m_lo[f_idx] = P[feas], m[feas]
        note_kind[f_idx], note_elem[f_idx] = nkind[feas], nelem[feas]
        mw_lo[f_idx], wk_lo[f_idx], we_lo[f_idx] = mw[feas], wk[feas], we[feas]
        hi[i_idx], m_hi[i_idx] = P[~feas], m[~feas]
        hi_real[i_idx] = conv_ev[~feas]
        kind_hi[i_idx], elem_hi[i_idx] = kind[~feas], elem[~feas]
        again = feas == last_feasible[act]
        same_side[act] = np.where(again, same_side[act] + 1, 0)
        last_feasible[act] = feas
        w_lo[f_idx], w_hi[i_idx] = 1.0, 1.0
        w_hi[f_idx[again[feas]]] *= 0.5
        w_lo[i_idx[again[~feas]]] *= 0.5
        # stop tests
        bracket = np.isfinite(hi)
        tight = bracket & ((hi <= lo * (1 + rtol)) | (hi - lo <= abs_tol_mw))
        at_max = ~bracket & (lo >= p_max_mw * (1 - 1e-12))
        done |= tight | at_max
        # next guesses
        nxt = guess.copy()
        # no bracket yet: secant extrapolation on (prev_lo, lo), growth between x1.2 and x4
        nb = ~bracket & ~done
        if nb.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = (m_lo[nb] - prev_mlo[nb]) / (lo[nb] - prev_lo[nb])
                est = lo[nb] - m_lo[nb] / slope
            est = np.where(np.isfinite(est) & (slope < 0), est * (1 + rtol / 2), 4 * lo[nb])
            nxt[nb] = np.minimum(np.clip(est, 1.2 * lo[nb], 4 * lo[nb]), p_max_mw)
        br = bracket & ~done
        if br.any():
            a, b_ = lo[br], hi[br]
            with np.errstate(divide="ignore", invalid="ignore"):
                ml, mh = w_lo[br] * m_lo[br], w_hi[br] * m_hi[br]
                est = a + (b_ - a) * ml / (ml - mh)
                same = (wk_lo[br] == kind_hi[br]) & (we_lo[br] == elem_hi[br]) & (mw_lo[br] > 0)
                est_w = a + (b_ - a) * mw_lo[br] / (mw_lo[br] - m_hi[br])
                est = np.where(same & np.isfinite(est_w), est_w, est)
            est = np.where(hi_real[br] & np.isfinite(est), est, 0.5 * (a + b_))
            # straddle the estimated root so the next evaluation closes the bracket on the other side
            est = np.where(last_feasible[br], est * (1 + rtol / 3), est * (1 - rtol / 3))
            width = b_ - a
            # keep off the ends, by less than the tolerance where the bracket is still wide
            gap = np.maximum(np.minimum(0.02 * width, rtol / 4 * a), 1e-3 * width)
            est = np.clip(est, a + gap, b_ - gap)
            # safeguard: interpolation that keeps landing on one side (a margin that jumps, e.g. a limit
            # exceeded before the connection and made worse at once) falls back to bisection
            nxt[br] = np.where(same_side[br] >= 4, 0.5 * (a + b_), est)
        guess = nxt
        rep.update(done_before + int(done.sum()))
    kind_out = np.where(np.isfinite(hi), kind_hi, BindingKind.NONE)
    return {"capacity_mw": lo, "upper_mw": hi, "kind": kind_out, "elem": elem_hi, "converged": done,
            "rounds": np.full(k, rounds), "note_kind": note_kind, "note_elem": note_elem}


#: The physical search starts at the planning capacity or at this fraction of the physical screen, whichever is
#: larger: the linear voltage screen overestimates LV buses up to about 10x (SimBench 1-MVLV-rural-all-0-sw,
#: measured), so 10 % of it is feasible almost everywhere and the x4 growth steps reach the answer in one or two
#: power flows instead of four or five up from 1 kW (2685 -> 2430 power flows for 400 buses). Only a seed: the
#: result is the same bracket test either way.
PHYSICAL_SEED_FRACTION = 0.1

#: Memory budget (bytes) of one chunk of buses in the exact search (states and margins of its cases).
BUS_CHUNK_BYTES = 256 * 2**20


def bus_chunk_size(model: ACModel, budget_bytes: int = BUS_CHUNK_BYTES) -> int:
    """Buses searched together so that one chunk's arrays (complex states, loadings, voltages and margins of
    every case, a few copies each) stay within ``budget_bytes``; at least 8, at most 2048."""
    per_case = 16 * 3 * max(model.V0.size, 1) + 8 * 4 * (len(model.net.line) + len(model.net.trafo)
                                                        + 2 * len(model.net.bus))
    return int(min(2048, max(8, budget_bytes // per_case)))


def bus_open_capacity(net: Any, buses: Any = None, *, pf: float = LOAD_PF, scaling: float = 1.0,
                      include_sgen: bool = False, limits: Limits | None = None, physical: bool = True,
                      method: str = "ybus", rtol: float = 0.005, p_max_mw: float | None = None,
                      max_rounds: int = 40, model: ACModel | None = None, constraints: Constraints | None = None,
                      topology: Any = None, bands: VoltageBands | None = None,
                      progress: ProgressCallback | None = None,
                      cancel: Callable[[], bool] | None = None) -> pd.DataFrame:
    """Largest additional load (MW at power factor ``pf``, lagging) per bus with every limit met.

    Parameters
    ----------
    net : pandapowerNet
        The network; not modified.
    buses : array-like or None
        pandapower bus indices (default: every in-service, energised bus).
    pf : float
        Power factor of the added load, in (0, 1].
    scaling, include_sgen : float, bool
        Planning operating point (as the capacity tables).
    limits : Limits or None
        Planning and physical limits, voltage band.
    physical : bool
        Also compute the capacity at the physical (100 %) thermal limits.
    method : {"ybus", "pandapower"}
        Batch Newton-Raphson on the admittance matrices (fast), or ``pandapower.runpp`` per case.
    rtol : float
        Relative width of the final bracket.
    p_max_mw : float or None
        Search limit (default: 10 × the total load + 10 MW).
    model : ACModel or None
        Reuse a prepared model (same operating point and limits).
    constraints : Constraints or None
        Reuse the constraint model of ``model`` and ``limits`` (its base case is not re-evaluated).
    topology : Topology or None
        Prebuilt topology of ``net`` (the screen, the supply paths and the reserved capacity use it); built
        once otherwise.
    bands : VoltageBands or None
        Voltage band per level (:mod:`gridscope.capacity.voltage`, GB/T 12325-2008); default: ``limits.v_band_pu``
        at 20 kV and below, ``settings.V_BAND_HV_PU`` at 35 kV and above.
    progress, cancel : callable, optional
        The progress protocol (:mod:`gridscope.progress`): records of ``what="buses"`` settled (per chunk of
        buses the planning, then the physical search: ``total`` is twice the buses with ``physical``) after
        every round; ``cancel``
        is checked before every batch of power flows (about every 100 ms).

    Returns
    -------
    pandas.DataFrame
        Index: bus. Columns ``name``, ``vn_kv``, ``screen_mw``, ``open_capacity_mw`` (planning limits),
        ``binding`` (the limit), ``binding_element``, ``upper_mw`` (the infeasible end of the bracket),
        ``search_converged``, ``offpath_note`` (the worst limit already exceeded off the bus's supply path that
        the connection makes worse: it does not bind, ``""`` when there is none) and, with
        ``physical``, ``physical_capacity_mw``, ``physical_binding``, ``physical_binding_element``.

    Raises
    ------
    InputError
        Unknown or out-of-service buses (all listed), invalid ``pf``.
    ConvergenceError
        The planning snapshot itself does not converge.
    CancelledError
        ``cancel`` returned True.
    """
    limits = limits or Limits()
    if not (isinstance(pf, int | float) and 0 < pf <= 1):
        raise InputError(f"power factor must be in (0, 1], got {pf!r}")
    if buses is None:
        bus_arr = None
    else:
        bus_arr = np.atleast_1d(np.asarray(buses))
        check_buses(net, bus_arr)
    topo = topology if topology is not None else build_topology(net)
    if model is None:
        model = ACModel(net, scaling=scaling, include_sgen=include_sgen, limits=limits, method=method,
                        topology=topo)
    if bus_arr is not None:
        isolated = [int(b) for b in bus_arr.tolist()
                    if model.bus_ppci[model.bus_pos[int(b)]] < 0]
        if isolated:
            raise InputError(f"bus(es) {isolated} are not supplied (isolated under the current switch states)")
    cons = constraints if constraints is not None else Constraints(model, limits, topo, bands=bands)
    if bus_arr is None:
        ok = (model.bus_ppci >= 0) & in_service(net.bus)
        bus_arr = net.bus.index.to_numpy()[ok]
    bus_arr = bus_arr.astype(np.int64)
    if p_max_mw is None:
        total = float((net.load["p_mw"] * net.load["scaling"]).sum()) if len(net.load) else 0.0
        p_max_mw = 10.0 * total + 10.0
    scr = screen_bus_capacity(net, model, cons, pf=pf, topology=topo)
    start = scr["screen_mw"].reindex(bus_arr).to_numpy(dtype=float)
    scr_phys = screen_bus_capacity(net, model, cons, pf=pf, physical=True, topology=topo)["screen_mw"] \
        .reindex(bus_arr).to_numpy(dtype=float) if physical else start
    out = pd.DataFrame(index=pd.Index(bus_arr, name="bus"))
    out["name"] = net.bus["name"].reindex(bus_arr).to_numpy() if "name" in net.bus else None
    out["vn_kv"] = net.bus["vn_kv"].reindex(bus_arr).to_numpy(dtype=float)
    out["screen_mw"] = start
    n0 = model.n_pf
    n_tot = bus_arr.size
    rep = Reporter("buses", n_tot * (2 if physical else 1), progress=progress, cancel=cancel)
    chunk = bus_chunk_size(model)
    cols: dict[str, list[np.ndarray]] = {}
    for c0 in range(0, n_tot, chunk):  # bounded chunks: memory does not grow with the number of buses
        sl = slice(c0, min(n_tot, c0 + chunk))
        res = _search(model, cons, bus_arr[sl], start[sl], pf=pf, physical=False, p_max_mw=p_max_mw, rtol=rtol,
                      max_rounds=max_rounds, rep=rep, done_before=c0 * (2 if physical else 1))
        part = {"open_capacity_mw": res["capacity_mw"], "upper_mw": res["upper_mw"], "kind": res["kind"],
                "elem": res["elem"], "search_converged": res["converged"], "note_kind": res["note_kind"],
                "note_elem": res["note_elem"]}
        if physical:
            # bound by a voltage limit or by the collapse point, the planning bracket is the physical one too
            # (the voltage band does not change, every thermal limit only widens): no second search there
            same = np.isin(res["kind"], [BindingKind.UNDER_VOLTAGE, BindingKind.OVER_VOLTAGE,
                                         BindingKind.NO_SOLUTION]) & res["converged"]
            cap2, kind2, elem2 = res["capacity_mw"].copy(), res["kind"].copy(), res["elem"].copy()
            conv2 = res["converged"].copy()
            todo = np.flatnonzero(~same)
            if todo.size:
                # the physical capacity is at least the planning one; the physical screen seeds the search where
                # it is larger (a distribution transformer at its planning limit: planning 0, physical far more)
                start2 = np.maximum(np.fmax(res["capacity_mw"][todo], PHYSICAL_SEED_FRACTION * scr_phys[sl][todo]),
                                    1e-3)
                res2 = _search(model, cons, bus_arr[sl][todo], start2, pf=pf, physical=True, p_max_mw=p_max_mw,
                               rtol=rtol, max_rounds=max_rounds, rep=rep, done_before=2 * c0 + (sl.stop - c0))
                # the planning capacity meets the (wider) physical limits too: where the physical search, seeded
                # above it, closed its bracket below it, the planning value is the feasible end of that bracket
                plan = res["capacity_mw"][todo]
                up = np.isfinite(res2["upper_mw"]) & (res2["upper_mw"] > plan)
                cap2[todo] = np.where(up, np.maximum(res2["capacity_mw"], plan), res2["capacity_mw"])
                kind2[todo], elem2[todo] = res2["kind"], res2["elem"]
                conv2[todo] = res2["converged"]
            rep.update(2 * sl.stop)
            part.update({"physical_capacity_mw": cap2, "pkind": kind2, "pelem": elem2})
            part["search_converged"] = part["search_converged"] & conv2
        for key, val in part.items():
            cols.setdefault(key, []).append(val)
    cat = {key: np.concatenate(val) if val else np.zeros(0) for key, val in cols.items()}
    if not n_tot:
        cat = {key: np.zeros(0, np.int64) for key in ("kind", "elem", "note_kind", "note_elem", "pkind", "pelem")}
        cat.update({key: np.zeros(0) for key in ("open_capacity_mw", "upper_mw", "physical_capacity_mw")})
        cat["search_converged"] = np.zeros(0, bool)
    out["open_capacity_mw"] = cat["open_capacity_mw"]
    out["upper_mw"] = cat["upper_mw"]
    txt = [cons.describe(int(kd), int(e), False) for kd, e in zip(cat["kind"], cat["elem"], strict=True)]
    out["binding"] = [t[0] for t in txt]
    out["binding_element"] = [t[1] for t in txt]
    out["search_converged"] = cat["search_converged"].astype(bool)
    out["offpath_note"] = [cons.note(int(kd), int(e)) for kd, e in zip(cat["note_kind"], cat["note_elem"],
                                                                      strict=True)]
    if physical:
        out["physical_capacity_mw"] = cat["physical_capacity_mw"]
        txt = [cons.describe(int(kd), int(e), True) for kd, e in zip(cat["pkind"], cat["pelem"], strict=True)]
        out["physical_binding"] = [t[0] for t in txt]
        out["physical_binding_element"] = [t[1] for t in txt]
    out.attrs.update({"pf": pf, "method": model.method, "n_power_flows": model.n_pf - n0, "rtol": rtol,
                      "p_max_mw": p_max_mw, "limits": limits.as_dict(), "chunk": chunk,
                      "bands": {"hv_pu": list(cons.bands.hv_pu), "mv_pu": cons.bands.mv_pu,
                                "hv_min_kv": cons.bands.hv_min_kv}})
    return out


def check_buses(net: Any, buses: np.ndarray) -> None:
    """InputError listing every bus index that does not exist or is out of service."""
    problems = []
    for b in np.atleast_1d(buses).tolist():
        try:
            bi = int(b)
        except (TypeError, ValueError):
            problems.append(f"{b!r} is not a bus index")
            continue
        if bi != b or bi not in net.bus.index:
            problems.append(f"bus {b!r} does not exist (the network has {len(net.bus)} buses, indices "
                            f"{net.bus.index.min()}..{net.bus.index.max()})")
        elif "in_service" in net.bus and not bool(net.bus.at[bi, "in_service"]):
            name = net.bus.at[bi, "name"] if "name" in net.bus else None
            problems.append(f"bus {bi}" + (f" ({name})" if name else "") + " is out of service")
    if problems:
        raise InputError("invalid bus: " + "; ".join(problems))
