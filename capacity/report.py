"""Headless text reports of capacity results: the flag table and the open-capacity tables per level.

The CLI prints them; the TUI shows the same columns (:data:`FLAG_DISPLAY`, :data:`LEVEL_DISPLAY`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..textfmt import format_table

__all__ = ["FLAG_DISPLAY", "LEVEL_DISPLAY", "capacity_text", "flag_counts", "flags_text", "loading_line"]

#: Flag-table columns shown to a user: (column, header, format).
FLAG_DISPLAY: tuple[tuple[str, str, str | None], ...] = (
    ("element", "element", None), ("index", "index", None), ("name", "name", None), ("feeder", "feeder", None),
    ("zone", "zone", None), ("vn_kv", "kV", "{:g}"), ("loading_percent", "loading %", "{:.1f}"),
    ("vm_pu", "vm pu", "{:.4f}"), ("limit_percent", "limit %", "{:.1f}"), ("when", "when", None),
    ("severity", "severity", None),
)

#: Open-capacity columns shown per level: (column, format).
LEVEL_DISPLAY: tuple[tuple[str, str | None], ...] = (
    ("id", None), ("name", None), ("rating_mva", "{:.3f}"), ("load_rate_percent", "{:.1f}"),
    ("reserved_mva", "{:.3f}"), ("open_capacity_mva", "{:.3f}"), ("n1_open_capacity_mva", "{:.3f}"),
    ("binding_element", None), ("grade", None), ("ac_open_capacity_mw", "{:.3f}"),
    ("ac_binding_element", None), ("ac_physical_capacity_mw", "{:.3f}"),
)


def flag_counts(flags: pd.DataFrame) -> str:
    """``"12 flag(s): heavy 9, overload 3"`` (``"0 flag(s)"`` when there are none)."""
    counts = flags["severity"].value_counts().to_dict() if len(flags) else {}
    return f"{len(flags)} flag(s)" + (": " + ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "")


def loading_line(peak: Any) -> str:
    """One line on the loading the flags come from (method, steps, maxima, voltage range)."""
    s = peak.summary()
    return (f"{peak.method}, {peak.n_steps} step(s), scaling {getattr(peak, 'scaling', 1.0):g}; max line loading "
            f"{s['max_line_loading_percent']:.1f} %, max transformer loading {s['max_trafo_loading_percent']:.1f} %, "
            f"voltage {s['vm_min_pu']:.4f}..{s['vm_max_pu']:.4f} pu")


def flags_text(flags: pd.DataFrame, *, top: int = 20, hours: bool = False) -> str:
    """The flag table, worst first, at most ``top`` rows (0: all), with a line on what was left out.

    ``hours`` adds the hours above the limit (time series).
    """
    if not len(flags):
        return ""
    cols = [c for c in FLAG_DISPLAY if c[0] in flags.columns]
    if hours and "hours_above" in flags.columns:
        cols.append(("hours_above", "hours", "{:g}"))
    shown = flags if top <= 0 else flags.head(top)
    table = shown[[c for c, _, _ in cols]].set_axis([h for _, h, _ in cols], axis=1).set_index("element")
    text = format_table(table, {h: f for _, h, f in cols if f is not None})
    if len(shown) < len(flags):
        text += f"\n... {len(flags) - len(shown)} more"
    return text


def capacity_text(cap: Any, levels: Sequence[str], *, head: int = 10) -> str:
    """The head of each level's open-capacity table (``head`` rows), one block per level."""
    blocks = []
    for level in levels:
        t = cap.table(level)
        block = f"{level} ({len(t)} rows)"
        if len(t):
            cols = [(c, f) for c, f in LEVEL_DISPLAY if c in t.columns]
            shown = t[[c for c, _ in cols]].head(head).set_index("id")
            block += "\n" + format_table(shown, {c: f for c, f in cols if f is not None})
        blocks.append(block)
    return "\n\n".join(blocks)
