"""Tie transfer headroom by AC power flow, for the reliability tie-capacity check (``tie_capacity="powerflow"``).

The failure-effect analysis restores a block through a normally-open tie only where the backup feeder can
carry it (DESIGN.md §3). The head line's headroom (``tie_capacity=True``) ignores the sections between the
station and the tie and the voltage drop. Here the headroom of a backup feeder is the largest load that can be
added *where its tie lands* with every line and transformer within its physical (100 %) rating and every bus
within its voltage band: the exact AC bus open capacity (:func:`~gridscope.capacity.bus_capacity.
bus_open_capacity`, ``physical_capacity_mw``) at the tie bus, at the planning load; the smallest over the
feeder's ties when it has several. The block's load is then compared with it, every block already put on that
feeder counted (:func:`gridscope.reliability.impact.build_impact` with a headroom dict).

The injection point on the backup side is the tie switch's bus, or for a tie at a line end on the backup side
the line's far bus (the line itself carries only the transfer and is not checked).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..grid.topology import NO, Topology, build_topology
from ..reliability.impact import TIE_CHECK_PF
from .bus_capacity import bus_open_capacity

__all__ = ["tie_headroom_mw", "tie_landing_buses"]


def tie_landing_buses(topo: Topology) -> pd.DataFrame:
    """Where each tie lands on each of its two feeders: ``switch``, ``feeder`` (id), ``bus`` (pandapower index).

    A side on the supply or unsupplied (feeder ``-1``) is left out.
    """
    rows = []
    for t in topo.ties.itertuples():
        for node, feeder in ((t.node_a, t.feeder_a), (t.node_b, t.feeder_b)):
            if feeder == NO:
                continue
            n = int(node)
            while n >= topo.n_bus and topo.parent_node[n] >= 0:  # a switch's virtual node: up to its line's bus
                n = int(topo.parent_node[n])
            if n < topo.n_bus:
                rows.append({"switch": int(t.switch), "feeder": int(feeder), "bus": int(topo.bus_index[n])})
    return pd.DataFrame(rows, columns=["switch", "feeder", "bus"])


def tie_headroom_mw(net: Any, *, topology: Topology | None = None, scaling: float = 1.0) -> dict[str, float]:
    """MW each backup feeder can take through its ties, by AC power flow (see the module docstring).

    Parameters
    ----------
    net : pandapowerNet
        The network (planning load: ``p_mw × scaling``).
    topology : Topology, optional
        Its topology.
    scaling : float
        Load scaling of the planning point.

    Returns
    -------
    dict
        Feeder name → headroom MW (at the tie check's power factor), for every feeder a tie lands on.
    """
    topo = topology if topology is not None else build_topology(net)
    land = tie_landing_buses(topo)
    if land.empty:
        return {}
    buses = np.unique(land["bus"].to_numpy())
    cap = bus_open_capacity(net, buses, pf=TIE_CHECK_PF, scaling=scaling, physical=True, topology=topo)
    land["mw"] = cap["physical_capacity_mw"].reindex(land["bus"]).to_numpy(dtype=float)
    names = topo.feeders["name"].tolist()
    per = land.groupby("feeder")["mw"].min()
    return {names[int(f)]: float(max(v, 0.0)) for f, v in per.items()}
