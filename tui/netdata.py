"""What the feeder tree shows: every element with its feeder and switch-bounded section (from the topology)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SWITCHES_SECTION", "TREE_TABLES", "feeder_elements", "find_bus"]

#: Elements listed in the feeder tree, in this order within a section.
TREE_TABLES = ("bus", "line", "trafo", "load", "sgen", "switch")
#: Section number under which a feeder's switches are listed (switches bound sections, they are in none).
SWITCHES_SECTION = -1


def _names(net: Any, table: str) -> np.ndarray:
    df = net[table]
    if "name" in df:
        return df["name"].astype(object).where(df["name"].notna(), "").astype(str).to_numpy()
    return np.array([""] * len(df), dtype=object)


def feeder_elements(net: Any, topology: Any) -> pd.DataFrame:
    """One row per element of :data:`TREE_TABLES`: ``table``, ``index``, ``name``, ``feeder`` (name, or
    ``None`` for the supply), ``section`` (switch-bounded section id; :data:`SWITCHES_SECTION` for switches).
    """
    parts = []
    for table in TREE_TABLES:
        if table not in net or not len(net[table]):
            continue
        df = net[table]
        feeder = topology.feeder_name_of(net, table).to_numpy()
        if table == "switch":
            section = np.full(len(df), SWITCHES_SECTION, dtype=np.int64)
        elif table in ("line", "trafo"):
            section = topology.section_of_edge[topology.element_edges(table)]
        else:
            nodes = topology.element_nodes(net, table)
            section = np.where(nodes >= 0, topology.section_of_node[np.maximum(nodes, 0)], SWITCHES_SECTION - 1)
        parts.append(pd.DataFrame({"table": table, "index": df.index.to_numpy(), "name": _names(net, table),
                                   "feeder": feeder, "section": section}))
    if not parts:
        return pd.DataFrame(columns=["table", "index", "name", "feeder", "section"])
    return pd.concat(parts, ignore_index=True)


def find_bus(net: Any, text: str) -> int | None:
    """The bus a user typed: its index, or its exact name (case-insensitive); ``None`` when there is none."""
    s = str(text).strip()
    if not s:
        return None
    if s.lstrip("-").isdigit() and int(s) in net.bus.index:
        return int(s)
    if "name" in net.bus:
        names = net.bus["name"].astype(str).str.strip().str.lower()
        hit = names.index[names == s.lower()]
        if len(hit):
            return int(hit[0])
    return None
