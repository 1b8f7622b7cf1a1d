"""pandapower's power flow as gridscope runs it, and the diagnosis of a power flow that does not converge.

:func:`run_pandapower` is the one place capacity calls ``pandapower.runpp``: with ``numba=False``. pandapower's numba
Newton-Raphson is JIT-compiled anew in every process (3-9 s before the first result); its pure-NumPy/SciPy
path solves the same equations with the same algorithm and tolerance, so the results are pandapower's to
rounding (the tests compare both), at no compile cost. On networks of tens of thousands of buses the
compiled path is faster per call once compiled; pass ``numba=True`` there (``**runpp_kwargs``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from ..grid.facts import in_service, line_rating_mva, trafo_rating_mva

__all__ = ["PANDAPOWER_OPTIONS", "diagnose_nonconvergence", "net_label", "run_pandapower"]

#: Options gridscope passes to ``pandapower.runpp`` unless the caller overrides them.
PANDAPOWER_OPTIONS: dict[str, Any] = {"numba": False}


def run_pandapower(net: Any, **runpp_kwargs: Any) -> None:
    """``pandapower.runpp(net, ...)`` with :data:`PANDAPOWER_OPTIONS` as defaults (no numba JIT compile).

    Raises ``pandapower.LoadflowNotConverged`` as pandapower does.
    """
    import pandapower as pp  # deferred: heavy import, not needed for `gridscope --help`

    pp.runpp(net, **{**PANDAPOWER_OPTIONS, **runpp_kwargs})


def net_label(net: Any) -> str:
    """The network's name quoted for a message (``'rbts2'``), or ``the network``."""
    name = getattr(net, "name", None)
    return repr(name) if name else "the network"


def _supply_capacity_mva(net: Any) -> tuple[float, list[str]]:
    """Rating of the branches leaving the source buses (joined by closed bus-bus switches)."""
    from scipy.sparse import coo_matrix  # deferred: scipy is heavy at start-up
    from scipy.sparse.csgraph import connected_components

    bus_pos = pd.Series(np.arange(len(net.bus)), index=net.bus.index)
    sw = net.switch[(net.switch["et"] == "b") & net.switch["closed"].astype(bool)] if len(net.switch) \
        else net.switch
    a = bus_pos.reindex(sw["bus"]).to_numpy() if len(sw) else np.zeros(0, dtype=int)
    b = bus_pos.reindex(sw["element"]).to_numpy() if len(sw) else np.zeros(0, dtype=int)
    n = len(net.bus)
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _, group = connected_components(graph, directed=False)
    eg = net.ext_grid[in_service(net.ext_grid)]
    src_groups = set(group[bus_pos.reindex(eg["bus"]).to_numpy()].tolist())
    in_src = pd.Series(np.isin(group, list(src_groups)), index=net.bus.index)
    parts: list[str] = []
    total = 0.0
    tr = net.trafo[in_service(net.trafo)] if len(net.trafo) else net.trafo
    if len(tr):
        feed = tr[in_src.reindex(tr["hv_bus"]).to_numpy()]
        rating = trafo_rating_mva(net)
        for idx, row in feed.iterrows():
            s_mva = float(rating.at[idx])
            total += s_mva
            parts.append(f"trafo {idx} {row.get('name', '')!s} {s_mva:g} MVA".replace("  ", " "))
    ln = net.line[in_service(net.line)] if len(net.line) else net.line
    if len(ln):
        at_src = in_src.reindex(ln["from_bus"]).to_numpy() ^ in_src.reindex(ln["to_bus"]).to_numpy()
        feed = ln[at_src]
        # a line joins buses of one nominal voltage: its MVA rating is the same seen from either end
        s_mva = line_rating_mva(net).reindex(feed.index).to_numpy(dtype=float)
        total += float(np.nansum(s_mva))
        parts += [f"line {i} {s:.3g} MVA" for i, s in zip(feed.index, s_mva, strict=True)]
    return total, parts


def _load_mva(net: Any) -> tuple[float, float]:
    ld = net.load[in_service(net.load)] if len(net.load) else net.load
    p = float((ld["p_mw"] * ld["scaling"]).sum()) if len(ld) else 0.0
    q = float((ld["q_mvar"] * ld["scaling"]).sum()) if len(ld) else 0.0
    return p, q


def _converges(net: Any, factor: float, algorithm: str) -> bool:
    import pandapower as pp  # deferred: heavy import

    trial = copy.deepcopy(net)
    trial.load["scaling"] = trial.load["scaling"].astype(float) * factor
    try:
        run_pandapower(trial, algorithm=algorithm)
    except pp.LoadflowNotConverged:
        return False
    except Exception:  # pandapower raises other errors on degenerate data
        return False
    return True


def diagnose_nonconvergence(net: Any, *, algorithm: str = "nr", bisection_steps: int = 5) -> str:
    """The likely cause of a power flow that does not converge, in one sentence or a few.

    Checks, in order: buses cut off from every external grid (islanded), the total load against the rating of
    the elements feeding it, and the largest fraction of the load at which pandapower's power flow still
    converges (found by bisection: below 100 % the load is beyond the grid's maximum loadability -- voltage
    collapse; if even 1 % does not converge the data are wrong).

    Parameters
    ----------
    net : pandapowerNet
        The network *as run* (loads at the failing step); not modified.
    algorithm : str
        pandapower algorithm used for the bisection.
    bisection_steps : int
        Power flows spent on the bisection.

    Returns
    -------
    str
        The diagnosis, starting with ``"likely cause: "``.
    """
    causes: list[str] = []
    try:
        import pandapower.topology as top  # deferred: heavy import

        unsupplied = sorted(top.unsupplied_buses(net))
    except Exception:  # topology may fail on broken data; the other checks still help
        unsupplied = []
    if unsupplied:
        loads_on = net.load[net.load["bus"].isin(unsupplied) & in_service(net.load)]
        names = [f"bus {b} {net.bus.at[b, 'name']!r}" for b in unsupplied[:5]]
        more = f" and {len(unsupplied) - 5} more" if len(unsupplied) > 5 else ""
        causes.append(f"{len(unsupplied)} bus(es) islanded from every ext_grid ({', '.join(names)}{more}; "
                      f"{len(loads_on)} load(s) on them)")
    p_mw, q_mvar = _load_mva(net)
    s_load = float(np.hypot(p_mw, q_mvar))
    cap, parts = _supply_capacity_mva(net)
    if cap > 0 and s_load > 1.5 * cap:
        causes.append(f"load far above ratings: the total load {s_load:.3g} MVA is {s_load / cap:.1f}x the "
                      f"rating of the elements feeding it ({cap:.3g} MVA: {', '.join(parts[:4])})")
    if _converges(net, 1.0, algorithm):
        causes.append("pandapower's own power flow converges at this load, so the failure is numerical in the "
                      "batch engine: rerun this step with engine='pandapower'")
    else:
        lo, hi = 0.0, 1.0
        for trial in (0.5, 0.1, 0.01):
            if _converges(net, trial, algorithm):
                lo = trial
                break
            hi = trial
        if lo == 0.0:
            causes.append("it does not converge even at 1 % of the load: the data are wrong (zero or negative "
                          "impedances, transformer voltages not matching their buses, islanded generation)")
        else:
            for _ in range(bisection_steps):
                mid = 0.5 * (lo + hi)
                if _converges(net, mid, algorithm):
                    lo = mid
                else:
                    hi = mid
            causes.append(f"voltage collapse: the power flow converges up to about {100 * lo:.0f} % of this "
                          f"load ({lo * p_mw:.3g} of {p_mw:.3g} MW), beyond it the grid cannot carry the load")
    return "likely cause: " + "; ".join(causes)
