"""A map of the network drawn in the terminal: lines as braille dots, buses, switches, ties and sources as marks.

The geometry (bus positions in km, one segment per line / transformer winding / bus-bus switch, one mark per
switch) is built once per network (:func:`build_geometry`). For each zoom level and widget size the whole
canvas is rasterised once with numpy (:func:`rasterize`): every segment becomes its dots (a vectorised DDA,
the same cells Bresenham's algorithm lights), OR-ed into one braille character per cell, and every bus gets a
cell of its own where there is room. Colouring fills one style-index array per raster; ``render_line`` only
slices rows of these arrays, so panning and moving the cursor cost nothing on a 37k-bus grid.

Buses without coordinates are placed by a tree layout of the radial topology (feeder depth downwards, leaves
side by side). Terminal cells are twice as tall as wide and a braille cell holds 2 × 4 dots, so dots are square
and one scale serves both axes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.events import Click, MouseScrollDown, MouseScrollUp, Resize
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ...errors import InputError
from ...grid.facts import bus_xy_km
from ...grid.topology import NO, PROTECTIVE_TYPES

__all__ = ["LOADING_HEAVY_PERCENT", "LOADING_OVERLOAD_PERCENT", "ZONE_COLORS", "ColorMode", "MapGeometry",
           "MapRaster", "Mark", "NetworkMap", "build_geometry", "fit_scale", "rasterize"]


class ColorMode(StrEnum):
    """What the map's colours show."""

    ZONE = "zone"
    LOADING = "loading"
    SAIDI = "saidi"


class Mark(IntEnum):
    """What a marked cell stands for (later codes are drawn over earlier ones)."""

    NONE = 0
    SWITCH = 1
    SWITCH_OPEN = 2
    BREAKER = 3
    BREAKER_OPEN = 4
    TIE = 5
    BUS = 6
    SOURCE = 7


GLYPHS: dict[Mark, str] = {Mark.SWITCH: "▪", Mark.SWITCH_OPEN: "▫", Mark.BREAKER: "■", Mark.BREAKER_OPEN: "□",
                           Mark.TIE: "○", Mark.BUS: "•", Mark.SOURCE: "◆"}
_GLYPH_CP = np.zeros(len(Mark), dtype=np.uint32)
for _mark, _glyph in GLYPHS.items():
    _GLYPH_CP[_mark] = ord(_glyph)

#: Supply-zone colours: mid-luminance hues readable on light and dark backgrounds.
ZONE_COLORS: dict[str, str] = {"A+": "#D6336C", "A": "#E8590C", "B": "#1C7ED6", "C": "#2F9E44",
                               "D": "#9C36B5", "E": "#A0522D"}
#: Line loading bands of the "loading" colouring (DESIGN.md glossary: heavy ≥ 70 %, overload ≥ 100 %).
LOADING_HEAVY_PERCENT = 70.0
LOADING_OVERLOAD_PERCENT = 100.0
#: Upper edges of the SAIDI-contribution colour bins, as fractions of the largest contribution.
SAIDI_BIN_EDGES = (0.1, 0.3, 0.6, 1.0)

# Braille dot bit of the dot at (row % 4, column % 2) of a cell.
_DOT_BIT = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
_BRAILLE_BASE = 0x2800
_PAD_CELLS = 1                 # empty cells around the drawing
_ZOOM_STEP = 1.5               # scale factor per zoom key press
_MAX_ZOOM_LEVEL = 24
_MAX_CANVAS_CELLS = 4_000_000  # cap on the rasterised canvas (memory, raster time)
_MAX_NUDGED_BUSES = 4000       # beyond this many colliding buses, overlapping buses share a cell
_SWITCH_OFFSET_DOTS = 4.0      # an element switch is marked this far along its element from its bus
_MIN_ELEMENT_SWITCH_DOTS = 10.0  # ... when the element is at least this long on screen (ties: always)
_MIN_BUS_SWITCH_DOTS = 6.0     # a bus-bus switch is marked at its midpoint when its buses are this far apart
_FOOTER_ROWS = 2               # legend and status lines
# Palette slots shared by every colour mode; mode colours follow.
_FG, _MUTED = 0, 1


@dataclass(frozen=True)
class MapGeometry:
    """Everything the map draws, in km (``y`` upwards), built once per network.

    Bus arrays are in ``net.bus`` order (position ``i`` ↔ ``bus_index[i]``). Segments are the lines, the
    transformer windings and the bus-bus switches; switch marks are one per element switch (``seg_*`` of a
    bus-bus switch carries its own mark at the segment midpoint).
    """

    layout: str                 # "coordinates" or "tree"
    bus_index: np.ndarray
    bus_name: np.ndarray
    bus_x: np.ndarray
    bus_y: np.ndarray
    bus_source: np.ndarray      # bool: an ext_grid is connected
    tab_order: np.ndarray       # bus positions, supply first then each feeder depth-first
    seg_x0: np.ndarray
    seg_y0: np.ndarray
    seg_x1: np.ndarray
    seg_y1: np.ndarray
    seg_element: np.ndarray     # "line", "trafo", "trafo3w", "switch"
    seg_index: np.ndarray       # pandapower index in that table
    seg_bus: np.ndarray         # bus position whose zone colours the segment (the downstream end)
    seg_open: np.ndarray        # bool: drawn dashed (open switch on it, or out of service)
    sw_index: np.ndarray        # switch marks: pandapower switch index
    sw_x: np.ndarray            # km position of the switch's bus ...
    sw_y: np.ndarray
    sw_dx: np.ndarray           # ... and unit direction along its element (0, 0 for bus-bus switches)
    sw_dy: np.ndarray
    sw_len: np.ndarray          # km length of the switch's element (bus-bus: between its two buses)
    sw_mark: np.ndarray         # Mark code
    sw_midpoint: np.ndarray     # bool: bus-bus switch, marked at the midpoint (x, y already the midpoint)

    @property
    def n_bus(self) -> int:
        """Number of buses."""
        return int(self.bus_index.size)


@dataclass(frozen=True)
class MapRaster:
    """The canvas at one scale: ``height × width`` cells; row 0 is the top (north)."""

    scale: float                # dots per km
    x_min: float
    y_max: float
    width: int
    height: int
    bits: np.ndarray            # uint8 braille dot bits per cell
    cell_seg: np.ndarray        # int32 segment drawn in the cell (last one wins), -1 if none
    point_cell: np.ndarray      # flat cell of every drawn dot, for recolouring flagged segments
    point_seg: np.ndarray
    mark: np.ndarray            # int8 Mark per cell
    mark_ref: np.ndarray        # int32 bus position (bus / source marks) or switch-mark row, -1 if none
    bus_cx: np.ndarray          # cell of every bus (after nudging buses apart)
    bus_cy: np.ndarray

    def to_dots(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dot coordinates (column, row) of km positions."""
        pad = float(_PAD_CELLS)
        return (np.asarray(x) - self.x_min) * self.scale + 2 * pad, (self.y_max - np.asarray(y)) * self.scale + 4 * pad


# ----------------------------------------------------------------------------------------- geometry
def _preorder(topology: Any) -> tuple[np.ndarray, np.ndarray]:
    """Nodes depth-first (each supply root, then its subtree) and the number of bus ancestors of each node."""
    parent = topology.parent_node
    n = int(topology.n_node)
    has_parent = parent >= 0
    kids_sorted = np.argsort(np.where(has_parent, parent, n), kind="stable")
    counts = np.bincount(parent[has_parent], minlength=n)
    start = np.concatenate(([0], np.cumsum(counts)))
    roots = np.flatnonzero(~has_parent)
    order: list[int] = []
    bus_depth = np.zeros(n, dtype=np.int64)
    is_bus = np.arange(n) < topology.n_bus
    stack = list(roots[::-1])
    while stack:
        node = stack.pop()
        order.append(node)
        kids = kids_sorted[start[node]:start[node + 1]]
        bus_depth[kids] = bus_depth[node] + is_bus[kids]
        stack.extend(kids[::-1].tolist())
    return np.asarray(order, dtype=np.int64), bus_depth


def _tree_xy(topology: Any, order: np.ndarray, bus_depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tree layout: leaves 1 km apart left to right in depth-first order, parents centred over their children,
    each bus level 1 km further down."""
    parent = topology.parent_node
    n = int(topology.n_node)
    x = np.full(n, np.nan)
    is_leaf = np.bincount(parent[parent >= 0], minlength=n) == 0
    leaves = order[is_leaf[order]]
    x[leaves] = np.arange(leaves.size, dtype=float)
    lo = np.where(is_leaf, x, np.inf)
    hi = np.where(is_leaf, x, -np.inf)
    for node in order[::-1]:       # children before parents
        p = parent[node]
        if p >= 0:
            lo[p] = min(lo[p], lo[node])
            hi[p] = max(hi[p], hi[node])
    x = (lo + hi) / 2.0
    y = -bus_depth.astype(float)
    return x[: topology.n_bus], y[: topology.n_bus]


def _fill_from_ancestors(x: np.ndarray, y: np.ndarray, topology: Any, order: np.ndarray) -> None:
    """Give buses without coordinates those of their nearest bus ancestor that has them (in place)."""
    nb = int(topology.n_bus)
    node_x = np.full(int(topology.n_node), np.nan)
    node_y = node_x.copy()
    node_x[:nb], node_y[:nb] = x, y
    for node in order:             # parents before children
        p = topology.parent_node[node]
        if np.isnan(node_x[node]) and p >= 0:
            node_x[node], node_y[node] = node_x[p], node_y[p]
    x[:], y[:] = node_x[:nb], node_y[:nb]
    rest = np.isnan(x)
    if rest.any():                 # no placed ancestor (unsupplied islands): a row below the drawing
        x[rest] = np.nanmean(x)
        y[rest] = np.nanmin(y) - 1.0


def _segments(net: Any, pos: pd.Index) -> dict[str, list[np.ndarray]]:
    """Segments (bus positions of both ends) of lines, transformer windings and bus-bus switches."""
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("a", "b", "element", "index", "open")}
    sw = net.switch

    def add(table: str, index: pd.Index, a: Any, b: Any, open_: np.ndarray) -> None:
        out["a"].append(pos.get_indexer(np.asarray(a)))
        out["b"].append(pos.get_indexer(np.asarray(b)))
        out["element"].append(np.full(len(index), table, dtype=object))
        out["index"].append(np.asarray(index, dtype=np.int64))
        out["open"].append(np.asarray(open_, dtype=bool))

    def element_open(et: str, df: pd.DataFrame) -> np.ndarray:
        opened = sw.loc[(sw["et"] == et) & ~sw["closed"].astype(bool), "element"]
        in_service = df["in_service"].fillna(False).astype(bool) if "in_service" in df else True
        return np.asarray(df.index.isin(opened.to_numpy()) | ~np.asarray(in_service, dtype=bool))

    if len(net.line):
        add("line", net.line.index, net.line.from_bus, net.line.to_bus, element_open("l", net.line))
    if len(net.trafo):
        add("trafo", net.trafo.index, net.trafo.hv_bus, net.trafo.lv_bus, element_open("t", net.trafo))
    if "trafo3w" in net and len(net.trafo3w):
        t3 = net.trafo3w
        op = element_open("t3", t3)
        add("trafo3w", t3.index, t3.hv_bus, t3.mv_bus, op)
        add("trafo3w", t3.index, t3.hv_bus, t3.lv_bus, op)
    bb = sw[sw["et"] == "b"]
    if len(bb):
        add("switch", bb.index, bb.bus, bb.element, ~bb["closed"].astype(bool).to_numpy())
    return {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64 if k in "ab" else object))
            for k, v in out.items()}


def _switch_marks(net: Any, pos: pd.Index, bus_x: np.ndarray, bus_y: np.ndarray,
                  tie_switches: set[int]) -> dict[str, np.ndarray]:
    """One mark per switch: its glyph, where it sits and which way its element runs."""
    sw = net.switch
    n = len(sw)
    bus = pos.get_indexer(sw["bus"].to_numpy())
    other = np.full(n, -1, dtype=np.int64)
    et = sw["et"].astype(str).to_numpy()
    elem = sw["element"].to_numpy()
    for code, table, ends in (("l", "line", ("from_bus", "to_bus")), ("t", "trafo", ("hv_bus", "lv_bus")),
                              ("t3", "trafo3w", ("hv_bus", "lv_bus")), ("b", None, None)):
        rows = np.flatnonzero(et == code)
        if not rows.size:
            continue
        if table is None:
            other[rows] = pos.get_indexer(elem[rows])
            continue
        df = net[table].reindex(elem[rows])
        a = pos.get_indexer(df[ends[0]].to_numpy())
        b = pos.get_indexer(df[ends[1]].to_numpy())
        other[rows] = np.where(a == bus[rows], b, a)
    valid = (bus >= 0) & (other >= 0)
    mid = et == "b"
    bx, by = bus_x[np.maximum(bus, 0)], bus_y[np.maximum(bus, 0)]
    ox, oy = bus_x[np.maximum(other, 0)], bus_y[np.maximum(other, 0)]
    dx, dy = ox - bx, oy - by
    length = np.hypot(dx, dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = np.where(length > 0, dx / length, 0.0)
        uy = np.where(length > 0, dy / length, 0.0)
    x = np.where(mid, (bx + ox) / 2.0, bx)
    y = np.where(mid, (by + oy) / 2.0, by)
    closed = sw["closed"].astype(bool).to_numpy()
    protective = sw["type"].astype(str).str.strip().str.upper().isin(PROTECTIVE_TYPES).to_numpy()
    mark = np.where(protective, np.where(closed, Mark.BREAKER, Mark.BREAKER_OPEN),
                    np.where(closed, Mark.SWITCH, Mark.SWITCH_OPEN)).astype(np.int8)
    mark[np.isin(sw.index.to_numpy(), list(tie_switches))] = Mark.TIE
    keep = valid
    return {"index": sw.index.to_numpy()[keep], "x": x[keep], "y": y[keep], "dx": np.where(mid, 0.0, ux)[keep],
            "dy": np.where(mid, 0.0, uy)[keep], "len": length[keep], "mark": mark[keep], "mid": mid[keep]}


def build_geometry(net: Any, topology: Any) -> MapGeometry:
    """Bus positions, segments and switch marks of ``net`` (coordinates if every bus can get one, else a tree).

    Parameters
    ----------
    net : pandapowerNet
    topology : gridscope.grid.topology.Topology
        Of ``net``; used for the tree layout, the tab order, the downstream end of each segment and the ties.

    Returns
    -------
    MapGeometry
    """
    pos = pd.Index(net.bus.index)
    xy = bus_xy_km(net)
    x, y = xy["x_km"].to_numpy(dtype=float).copy(), xy["y_km"].to_numpy(dtype=float).copy()
    order, bus_depth = _preorder(topology)
    missing = np.isnan(x) | np.isnan(y)
    if missing.mean() > 0.5:
        layout = "tree"
        x, y = _tree_xy(topology, order, bus_depth)
    else:
        layout = "coordinates"
        if missing.any():
            x[missing], y[missing] = np.nan, np.nan
            _fill_from_ancestors(x, y, topology, order)
    bus_order = order[order < topology.n_bus]
    tab = np.concatenate([bus_order, np.setdiff1d(np.arange(topology.n_bus), bus_order)])

    seg = _segments(net, pos)
    valid = (seg["a"] >= 0) & (seg["b"] >= 0)
    seg = {k: v[valid] for k, v in seg.items()}
    a, b = seg["a"], seg["b"]
    # the downstream end colours the segment: the end with more bus ancestors
    depth_bus = bus_depth[: topology.n_bus]
    down = np.where(depth_bus[b] >= depth_bus[a], b, a)
    ties = set(topology.ties["switch"].astype(int).tolist()) if len(topology.ties) else set()
    marks = _switch_marks(net, pos, x, y, ties)
    source = np.zeros(len(pos), dtype=bool)
    if "ext_grid" in net and len(net.ext_grid):
        eg = pos.get_indexer(net.ext_grid["bus"].to_numpy())
        source[eg[eg >= 0]] = True
    names = net.bus["name"].astype(object).where(net.bus["name"].notna(), "").astype(str).to_numpy() \
        if "name" in net.bus else np.full(len(pos), "", dtype=object)
    return MapGeometry(
        layout=layout, bus_index=pos.to_numpy(), bus_name=names, bus_x=x, bus_y=y, bus_source=source,
        tab_order=tab, seg_x0=x[a], seg_y0=y[a], seg_x1=x[b], seg_y1=y[b], seg_element=seg["element"],
        seg_index=seg["index"], seg_bus=down, seg_open=seg["open"], sw_index=marks["index"], sw_x=marks["x"],
        sw_y=marks["y"], sw_dx=marks["dx"], sw_dy=marks["dy"], sw_len=marks["len"], sw_mark=marks["mark"],
        sw_midpoint=marks["mid"])


# ----------------------------------------------------------------------------------------- raster
def fit_scale(geom: MapGeometry, width: int, height: int) -> float:
    """Dots per km that fit the whole network into ``width × height`` cells (with a one-cell margin)."""
    room_x = max(2 * (width - 2 * _PAD_CELLS) - 1, 1)
    room_y = max(4 * (height - 2 * _PAD_CELLS) - 1, 1)
    spans = _spans(geom)
    scales = [room / span for room, span in zip((room_x, room_y), spans, strict=True) if span > 0]
    return min(scales) if scales else 1.0


def _spans(geom: MapGeometry) -> tuple[float, float]:
    """Extent of the buses in km (x, y)."""
    if not geom.n_bus:
        return 0.0, 0.0
    return float(np.ptp(geom.bus_x)), float(np.ptp(geom.bus_y))


def _canvas_cells(geom: MapGeometry, scale: float) -> float:
    """Cells of the canvas at ``scale`` (what :func:`rasterize` allocates)."""
    span_x, span_y = _spans(geom)
    return (span_x * scale / 2 + 1 + 2 * _PAD_CELLS) * (span_y * scale / 4 + 1 + 2 * _PAD_CELLS)


def _line_dots(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray,
               dashed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every dot of every segment (vectorised DDA: one dot per step along the longer axis, rounded, which lights
    the cells Bresenham's algorithm lights); dashed segments keep two dots of every four."""
    steps = np.maximum(np.abs(x1 - x0), np.abs(y1 - y0)).round().astype(np.int64)
    n = steps + 1
    seg = np.repeat(np.arange(n.size), n)
    t = np.arange(seg.size) - np.repeat(np.cumsum(n) - n, n)
    frac = t / np.maximum(steps[seg], 1)
    px = np.rint(x0[seg] + (x1 - x0)[seg] * frac).astype(np.int64)
    py = np.rint(y0[seg] + (y1 - y0)[seg] * frac).astype(np.int64)
    keep = ~dashed[seg] | ((t // 2) % 2 == 0)
    return px[keep], py[keep], seg[keep]


def _nudge_apart(cx: np.ndarray, cy: np.ndarray, fx: np.ndarray, fy: np.ndarray, width: int,
                 height: int) -> None:
    """Move buses that share a cell to the nearest free cell within two cells of their exact position (in place).

    ``fx``, ``fy`` are the exact positions in cell units; the first bus of a cell keeps it.
    """
    flat = cy * width + cx
    _, first = np.unique(flat, return_index=True)
    clash = np.setdiff1d(np.arange(flat.size), first)
    if not clash.size or clash.size > _MAX_NUDGED_BUSES:
        return
    taken = set(flat[first].tolist())
    ring = [(dx, dy) for r in (1, 2) for dx in range(-r, r + 1) for dy in range(-r, r + 1)
            if max(abs(dx), abs(dy)) == r]
    for i in clash.tolist():
        best, best_d = None, np.inf
        for dx, dy in ring:
            x, y = cx[i] + dx, cy[i] + dy
            if not (0 <= x < width and 0 <= y < height) or y * width + x in taken:
                continue
            # cells are twice as tall as wide: weigh rows double
            d = (x + 0.5 - fx[i]) ** 2 + (2 * (y + 0.5 - fy[i])) ** 2
            if d < best_d:
                best, best_d = (x, y), d
        if best is not None:
            cx[i], cy[i] = best
            taken.add(best[1] * width + best[0])


def _switch_cells(geom: MapGeometry, r0: MapRaster, rows: np.ndarray, len_dots: np.ndarray,
                  bus_cells: set[int]) -> np.ndarray:
    """Flat cell of each shown switch mark.

    Bus-bus switches sit at their midpoint; element switches a short way along their element from their bus,
    pushed further along (up to half the element) where another switch or a bus already holds the cell, so
    two switches at one bus stay two marks.
    """
    width, height = r0.width, r0.height
    x0, y0 = r0.to_dots(geom.sw_x[rows], geom.sw_y[rows])
    ux, uy = geom.sw_dx[rows], -geom.sw_dy[rows]          # dot rows grow southwards
    offset = np.clip(0.3 * len_dots, _SWITCH_OFFSET_DOTS, 2 * _SWITCH_OFFSET_DOTS)

    def cell_at(k: np.ndarray | int, off: np.ndarray | float) -> np.ndarray:
        x = np.clip(x0[k] + ux[k] * off, 0, 2 * width - 1).astype(np.int64)
        y = np.clip(y0[k] + uy[k] * off, 0, 4 * height - 1).astype(np.int64)
        return (y // 4) * width + x // 2

    cells = cell_at(np.arange(rows.size), offset)
    _, first = np.unique(cells, return_index=True)
    clash = np.setdiff1d(np.arange(rows.size), first)
    if not clash.size or clash.size > _MAX_NUDGED_BUSES:
        return cells
    taken = set(cells[first].tolist()) | bus_cells
    movable = ~geom.sw_midpoint[rows]
    for k in clash.tolist():
        off = float(offset[k])
        while movable[k] and off + 2.0 <= 0.5 * len_dots[k]:
            off += 2.0
            cell = int(cell_at(k, off))
            if cell not in taken:
                cells[k] = cell
                break
        taken.add(int(cells[k]))
    return cells


def rasterize(geom: MapGeometry, scale: float) -> MapRaster:
    """The whole canvas at ``scale`` dots per km.

    Parameters
    ----------
    geom : MapGeometry
    scale : float
        Dots per km (a cell is 2 dots wide and 4 high).

    Returns
    -------
    MapRaster
    """
    x_min = float(np.min(geom.bus_x)) if geom.n_bus else 0.0
    y_max = float(np.max(geom.bus_y)) if geom.n_bus else 0.0
    span_x, span_y = _spans(geom)
    width = int(span_x * scale) // 2 + 1 + 2 * _PAD_CELLS
    height = int(span_y * scale) // 4 + 1 + 2 * _PAD_CELLS
    r0 = MapRaster(scale=scale, x_min=x_min, y_max=y_max, width=width, height=height, bits=np.zeros(0, np.uint8),
                   cell_seg=np.zeros(0, np.int32), point_cell=np.zeros(0, np.int64),
                   point_seg=np.zeros(0, np.int32), mark=np.zeros(0, np.int8), mark_ref=np.zeros(0, np.int32),
                   bus_cx=np.zeros(0, np.int64), bus_cy=np.zeros(0, np.int64))
    sx0, sy0 = r0.to_dots(geom.seg_x0, geom.seg_y0)
    sx1, sy1 = r0.to_dots(geom.seg_x1, geom.seg_y1)
    px, py, pseg = _line_dots(sx0, sy0, sx1, sy1, geom.seg_open)
    inside = (px >= 0) & (py >= 0) & (px < 2 * width) & (py < 4 * height)
    px, py, pseg = px[inside], py[inside], pseg[inside]
    cell = (py // 4) * width + px // 2
    bits = np.zeros(width * height, dtype=np.uint8)
    np.bitwise_or.at(bits, cell, _DOT_BIT[py % 4, px % 2])
    cell_seg = np.full(width * height, -1, dtype=np.int32)
    cell_seg[cell] = pseg

    mark = np.zeros(width * height, dtype=np.int8)
    mark_ref = np.full(width * height, -1, dtype=np.int32)
    # buses, nudged apart where they share a cell
    bx, by = r0.to_dots(geom.bus_x, geom.bus_y)
    cx = np.clip(bx, 0, 2 * width - 1).astype(np.int64) // 2
    cy = np.clip(by, 0, 4 * height - 1).astype(np.int64) // 4
    _nudge_apart(cx, cy, bx / 2.0, by / 4.0, width, height)
    bcell = cy * width + cx
    # switches: ties always; others only where their element is long enough on screen to keep them apart
    len_dots = geom.sw_len * scale
    room = np.where(geom.sw_midpoint, len_dots >= _MIN_BUS_SWITCH_DOTS, len_dots >= _MIN_ELEMENT_SWITCH_DOTS)
    shown = np.flatnonzero(room | (geom.sw_mark == Mark.TIE))
    wcell = _switch_cells(geom, r0, shown, len_dots[shown], set(bcell.tolist()))
    for code in (Mark.SWITCH, Mark.SWITCH_OPEN, Mark.BREAKER, Mark.BREAKER_OPEN, Mark.TIE):
        rows = geom.sw_mark[shown] == code
        mark[wcell[rows]] = code
        mark_ref[wcell[rows]] = shown[rows]
    order = np.flatnonzero(~geom.bus_source)
    mark[bcell[order]] = Mark.BUS
    mark_ref[bcell[order]] = order
    src = np.flatnonzero(geom.bus_source)
    mark[bcell[src]] = Mark.SOURCE
    mark_ref[bcell[src]] = src
    shape = (height, width)
    return MapRaster(scale=scale, x_min=x_min, y_max=y_max, width=width, height=height,
                     bits=bits.reshape(shape), cell_seg=cell_seg.reshape(shape), point_cell=cell,
                     point_seg=pseg.astype(np.int32), mark=mark.reshape(shape), mark_ref=mark_ref.reshape(shape),
                     bus_cx=cx, bus_cy=cy)


# ----------------------------------------------------------------------------------------- colours
@dataclass
class _Colouring:
    """Palette indices and highlight flags of every segment, bus and switch mark under one colour mode."""

    palette: list[str]          # hex colours; _FG and _MUTED first
    seg: np.ndarray
    bus: np.ndarray
    switch: np.ndarray
    seg_flag: np.ndarray
    bus_flag: np.ndarray
    switch_flag: np.ndarray
    legend: list[tuple[str, int | None]]   # (text, palette index; negative: flagged variant; None: plain)


def _hex(color: Color) -> str:
    return color.hex6


def _show_transformers_at_their_lv_bus(geom: MapGeometry, seg: np.ndarray, bus: np.ndarray, seg_flag: np.ndarray,
                                       bus_flag: np.ndarray) -> None:
    """Give a bus the worse of its own colour and that of the transformers it is the LV side of (in place).

    A distribution transformer's two buses are metres apart, so its segment hides under the bus mark; its
    loading band or SAIDI bin shows on the bus instead. Palette indices of both modes rise with severity.
    """
    rows = np.flatnonzero(np.isin(geom.seg_element, ["trafo", "trafo3w"]))
    if rows.size:
        np.maximum.at(bus, geom.seg_bus[rows], seg[rows])
        np.logical_or.at(bus_flag, geom.seg_bus[rows], seg_flag[rows])


class NetworkMap(Widget, can_focus=True):
    """A map of the network drawn in the terminal.

    Parameters
    ----------
    net : pandapowerNet
    topology : gridscope.grid.topology.Topology
        The topology of ``net`` (the study's, so nothing is rebuilt).
    id : str, optional
        DOM id.

    Keys: arrows move the cursor to the nearest bus that way, ``n`` / ``p`` to the next / previous bus
    (supply first, then each feeder depth-first), shift+arrows pan, ``+`` / ``-`` zoom, ``0`` fits the network,
    ``c`` cycles the colouring, Enter posts :class:`NetworkMap.BusSelected`. A click moves the cursor to the
    nearest bus; the mouse wheel zooms.
    """

    DEFAULT_CSS = """
    NetworkMap {
        width: 1fr;
        height: 1fr;
        min-height: 6;
        background: $surface;
        color: $foreground;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus,equals_sign", "zoom(1)", "Zoom in", id="map.zoom_in"),
        Binding("minus", "zoom(-1)", "Zoom out", id="map.zoom_out"),
        Binding("0", "fit", "Fit", id="map.fit"),
        Binding("up", "move('up')", "Bus up", show=False, id="map.cursor_up"),
        Binding("down", "move('down')", "Bus down", show=False, id="map.cursor_down"),
        Binding("left", "move('left')", "Bus left", show=False, id="map.cursor_left"),
        Binding("right", "move('right')", "Bus right", show=False, id="map.cursor_right"),
        Binding("shift+up", "pan(0, -1)", "Pan up", show=False, id="map.pan_up"),
        Binding("shift+down", "pan(0, 1)", "Pan down", show=False, id="map.pan_down"),
        Binding("shift+left", "pan(-1, 0)", "Pan left", show=False, id="map.pan_left"),
        Binding("shift+right", "pan(1, 0)", "Pan right", show=False, id="map.pan_right"),
        Binding("n", "step(1)", "Next bus", show=False, id="map.next_bus"),
        Binding("p", "step(-1)", "Previous bus", show=False, id="map.previous_bus"),
        Binding("c", "cycle_colour", "Colour", id="map.cycle_colour"),
        Binding("enter", "select", "Select bus", id="map.select"),
    ]

    class MapMessage(Message):
        """Base of the map's messages: ``control`` is the map that posted it."""

        def __init__(self, network_map: NetworkMap) -> None:
            super().__init__()
            self.network_map = network_map

        @property
        def control(self) -> NetworkMap:
            """The map that posted the message."""
            return self.network_map

    class BusSelected(MapMessage):
        """Enter on a bus (the connection form takes it). ``bus`` is the pandapower bus index."""

        def __init__(self, network_map: NetworkMap, bus: int) -> None:
            super().__init__(network_map)
            self.bus = int(bus)

    class BusHighlighted(MapMessage):
        """The cursor moved to a bus (pandapower index ``bus``)."""

        def __init__(self, network_map: NetworkMap, bus: int) -> None:
            super().__init__(network_map)
            self.bus = int(bus)

    class ColorModeChanged(MapMessage):
        """The colouring changed (by :meth:`NetworkMap.color_by` or the ``c`` key); ``mode`` is its value."""

        def __init__(self, network_map: NetworkMap, mode: str) -> None:
            super().__init__(network_map)
            self.mode = str(mode)

    def __init__(self, net: Any, topology: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._mode = ColorMode.ZONE
        self._styles: dict[tuple[int, bool, bool, bool], Style] = {}
        self._load_network(net, topology)

    def _load_network(self, net: Any, topology: Any) -> None:
        self._net = net
        self._topology = topology
        self.geometry = build_geometry(net, topology)
        self._zone = (net.bus["zone"].astype(object).where(net.bus["zone"].notna(), None).to_numpy()
                      if "zone" in net.bus else np.full(self.geometry.n_bus, None, dtype=object))
        self._loading: pd.Series | None = None
        self._trafo_loading: pd.Series | None = None
        self._flagged: set[tuple[str, int]] = set()
        self._contrib: pd.DataFrame | None = None
        self._zoom_level = 0
        self._origin = (0, 0)             # canvas cell at the top-left of the view
        self._rasters: dict[tuple[int, int, int], MapRaster] = {}
        self._colouring: _Colouring | None = None
        self._cell_style: np.ndarray | None = None
        geom = self.geometry
        start = np.flatnonzero(geom.bus_source)
        self._cursor = int(start[0]) if start.size else (int(geom.tab_order[0]) if geom.n_bus else -1)

    def set_network(self, net: Any, topology: Any) -> None:
        """Show another network (or an edited one): geometry rebuilt, loading and contributions dropped, zoom
        back to fit; the colour mode stays."""
        self._load_network(net, topology)
        self._origin = self._clamp_origin(0, 0)
        self._recolour()

    # ------------------------------------------------------------------ public state
    @property
    def mode(self) -> ColorMode:
        """The current colouring."""
        return self._mode

    @property
    def cursor_bus(self) -> int:
        """pandapower index of the bus under the cursor (-1 for a network without buses)."""
        return int(self.geometry.bus_index[self._cursor]) if self._cursor >= 0 else NO

    @property
    def zoom(self) -> float:
        """Magnification relative to fit-to-screen (1.0 = the whole network fits)."""
        return _ZOOM_STEP ** self._zoom_level

    @property
    def scale(self) -> float:
        """Current dots per km (a cell is 2 dots wide, 4 dots high)."""
        return self.raster.scale

    @property
    def view_size(self) -> tuple[int, int]:
        """Columns and rows of the map area (the widget less its legend and status lines)."""
        w, h = self.size.width, self.size.height
        return max(w, 1), max(h - _FOOTER_ROWS if h > _FOOTER_ROWS + 3 else h, 1)

    @property
    def origin(self) -> tuple[int, int]:
        """Canvas cell (column, row) shown at the top-left of the view."""
        return self._origin

    @property
    def raster(self) -> MapRaster:
        """The canvas at the current zoom and size (rasterised once per zoom level and size)."""
        w, h = self.view_size
        key = (w, h, self._zoom_level)
        raster = self._rasters.get(key)
        if raster is None:
            raster = rasterize(self.geometry, fit_scale(self.geometry, w, h) * self.zoom)
            self._rasters = {key: raster}
            self._cell_style = None
        return raster

    def cell_of_bus(self, bus: int) -> tuple[int, int]:
        """Canvas cell (column, row) of pandapower bus ``bus``."""
        i = self._bus_pos(bus)
        r = self.raster
        return int(r.bus_cx[i]), int(r.bus_cy[i])

    def screen_cell_of_bus(self, bus: int) -> tuple[int, int]:
        """Widget cell (column, row) of ``bus`` under the current pan (may be outside the view)."""
        cx, cy = self.cell_of_bus(bus)
        return cx - self._origin[0], cy - self._origin[1]

    @property
    def legend_text(self) -> str:
        """The legend line as plain text."""
        return "".join(text for text, _ in self._colours().legend)

    @property
    def status_text(self) -> str:
        """The status line as plain text: the bus under the cursor, its zone and feeder, the zoom."""
        if self._cursor < 0:
            return ""
        geom, topo = self.geometry, self._topology
        bus = self.cursor_bus
        name = geom.bus_name[self._cursor]
        zone = self._zone[self._cursor] or "—"
        feeder_id = int(topo.feeder_of_node[self._cursor]) if self._cursor < topo.n_bus else NO
        feeder = str(topo.feeders["name"].iloc[feeder_id]) if feeder_id >= 0 else "supply"
        return (f" bus {bus} {name} · zone {zone} · feeder {feeder} · ×{self.zoom:.2g} · {self._mode.value}"
                f" · ←↑↓→ bus  ⇧← pan  +/- zoom  0 fit  c colour  ⏎ select")

    # ------------------------------------------------------------------ data and colour modes
    def color_by(self, mode: str | ColorMode) -> None:
        """Colour the map by ``"zone"``, ``"loading"`` or ``"saidi"``."""
        try:
            new = ColorMode(mode)
        except ValueError:
            raise InputError(f"colour mode must be one of {', '.join(m.value for m in ColorMode)}, "
                             f"got {mode!r}") from None
        changed = new is not self._mode
        self._mode = new
        self._recolour()
        if changed:
            self.post_message(self.ColorModeChanged(self, new.value))

    def set_loading(self, line_loading_percent: pd.Series, flagged: Iterable[tuple[str, int]] = (), *,
                    trafo_loading_percent: pd.Series | None = None) -> None:
        """Loading data for the ``"loading"`` colouring.

        Parameters
        ----------
        line_loading_percent : pandas.Series
            Indexed by ``net.line`` index.
        flagged : iterable of (element, index)
            Flagged elements (``("line", 3)``, ``("trafo", 0)``, ``("bus", 12)`` ...), highlighted.
        trafo_loading_percent : pandas.Series, optional
            Indexed by ``net.trafo`` index.
        """
        self._loading = pd.Series(line_loading_percent, dtype=float)
        self._trafo_loading = None if trafo_loading_percent is None else pd.Series(trafo_loading_percent,
                                                                                   dtype=float)
        self._flagged = {(str(e), int(i)) for e, i in flagged}
        self._recolour()

    def set_contributions(self, df: pd.DataFrame) -> None:
        """Per-component SAIDI contributions (columns ``element``, ``index``, ``SAIDI_h``, as
        :func:`gridscope.reliability.results.contributions` returns) for the ``"saidi"`` colouring."""
        missing = {"element", "index", "SAIDI_h"} - set(df.columns)
        if missing:
            raise InputError(f"contributions need columns element, index, SAIDI_h; missing {sorted(missing)}")
        self._contrib = df[["element", "index", "SAIDI_h"]].copy()
        self._recolour()

    def _recolour(self) -> None:
        self._colouring = None
        self._cell_style = None
        self._styles = {}
        self.refresh()

    def _theme_colours(self) -> dict[str, str]:
        try:
            variables = self.app.get_css_variables()
        except Exception:  # not mounted yet: plain defaults
            variables = {}
        fg = Color.parse(variables.get("foreground", "#E0E0E0"))
        bg = Color.parse(variables.get("surface", variables.get("background", "#1E1E1E")))
        out = {"fg": _hex(fg), "bg": _hex(bg), "muted": _hex(fg.blend(bg, 0.55))}
        for key, default in (("success", "#4EBF71"), ("warning", "#FEA62B"), ("error", "#B93C5B")):
            out[key] = _hex(Color.parse(variables.get(key, default)))
        return out

    def _colours(self) -> _Colouring:
        if self._colouring is None:
            self._colouring = self._build_colouring()
        return self._colouring

    def _build_colouring(self) -> _Colouring:
        geom = self.geometry
        theme = self._theme_colours()
        palette = [theme["fg"], theme["muted"]]
        n_seg, n_sw = geom.seg_index.size, geom.sw_index.size
        seg = np.full(n_seg, _MUTED, dtype=np.int16)
        bus = np.full(geom.n_bus, _MUTED, dtype=np.int16)
        switch = np.full(n_sw, _FG, dtype=np.int16)
        seg_flag = np.zeros(n_seg, bool)
        bus_flag = np.zeros(geom.n_bus, bool)
        switch_flag = np.zeros(n_sw, bool)
        legend: list[tuple[str, int | None]] = []
        if self._mode is ColorMode.ZONE:
            legend.append(("zone ", None))
            zones = [z for z in ZONE_COLORS if (self._zone == z).any()]
            others = sorted({str(z) for z in self._zone if z is not None and z not in ZONE_COLORS})
            for z in zones + others:
                palette.append(ZONE_COLORS.get(z, theme["fg"]))
                k = len(palette) - 1
                bus[self._zone == z] = k
                legend += [("⣿", k), (f" {z}  ", None)]
            if pd.isna(self._zone).any():
                legend += [("⣿", _MUTED), (" none  ", None)]
            seg = bus[geom.seg_bus].copy()
        elif self._mode is ColorMode.LOADING:
            palette += [theme["success"], theme["warning"], theme["error"]]
            ok, heavy, over = 2, 3, 4

            def band(values: np.ndarray) -> np.ndarray:
                return np.select([values >= LOADING_OVERLOAD_PERCENT, values >= LOADING_HEAVY_PERCENT,
                                  values >= 0], [over, heavy, ok], _MUTED).astype(np.int16)

            for table, series in (("line", self._loading), ("trafo", self._trafo_loading)):
                rows = np.flatnonzero(geom.seg_element == table)
                if series is not None and rows.size:
                    values = series.reindex(geom.seg_index[rows]).to_numpy(dtype=float)
                    seg[rows] = band(np.nan_to_num(values, nan=-1.0))
            for table, idx, flags in (("bus", geom.bus_index, bus_flag), ("switch", geom.sw_index, switch_flag)):
                flags[:] = [(table, int(i)) in self._flagged for i in idx]
            seg_flag[:] = [(str(e), int(i)) in self._flagged for e, i in zip(geom.seg_element, geom.seg_index,
                                                                                strict=True)]
            bus[bus_flag] = over
            legend += [("loading ", None), ("⣿", ok), (f" <{LOADING_HEAVY_PERCENT:g} %  ", None), ("⣿", heavy),
                       (f" {LOADING_HEAVY_PERCENT:g}–{LOADING_OVERLOAD_PERCENT:g} %  ", None), ("⣿", over),
                       (f" ≥{LOADING_OVERLOAD_PERCENT:g} %  ", None), ("⣿", _MUTED), (" no data  ", None),
                       ("▐flagged▌", -over), ("  ", None)]
        else:
            warn, err = Color.parse(theme["warning"]), Color.parse(theme["error"])
            steps = len(SAIDI_BIN_EDGES)
            palette += [_hex(warn.blend(err, k / (steps - 1))) for k in range(steps)]
            legend.append(("SAIDI contribution h/cust·yr ", None))
            df = self._contrib
            top = float(df["SAIDI_h"].max()) if df is not None and len(df) else 0.0
            if df is not None and top > 0:
                share = df.assign(bin=np.searchsorted(np.asarray(SAIDI_BIN_EDGES) * top, df["SAIDI_h"].to_numpy(),
                                                      side="left").clip(0, steps - 1) + 2)
                share = share[df["SAIDI_h"].to_numpy() > 0]
                lookup = {(str(e), int(i)): int(b) for e, i, b in zip(share["element"], share["index"], share["bin"],
                                                                     strict=True)}
                seg[:] = [lookup.get((str(e), int(i)), _MUTED) for e, i in zip(geom.seg_element, geom.seg_index,
                                                                               strict=True)]
                bus[:] = [lookup.get(("bus", int(i)), _MUTED) for i in geom.bus_index]
                switch[:] = [lookup.get(("switch", int(i)), _FG) for i in geom.sw_index]
                for k, edge in enumerate(SAIDI_BIN_EDGES):
                    legend += [("⣿", k + 2), (f" ≤{edge * top:.3g}  ", None)]
            else:
                legend.append(("no contributions set  ", None))
            legend += [("⣿", _MUTED), (" 0  ", None)]
        if self._mode is not ColorMode.ZONE:
            _show_transformers_at_their_lv_bus(geom, seg, bus, seg_flag, bus_flag)
        legend += [("│ ", None), ("◆", _FG), (" source ", None), ("■", _FG), (" CB/fuse ", None), ("▪", _FG),
                   (" switch ", None), ("○", _FG), (" tie ", None), ("⠉⠉", _FG), (" open", None)]
        return _Colouring(palette=palette, seg=seg, bus=bus, switch=switch, seg_flag=seg_flag, bus_flag=bus_flag,
                          switch_flag=switch_flag, legend=legend)

    def _cell_styles(self) -> np.ndarray:
        """Per canvas cell: palette index × 4 + 2·flagged + bold (marks are bold)."""
        raster = self.raster
        if self._cell_style is not None:
            return self._cell_style
        c = self._colours()
        style = np.zeros(raster.bits.shape, dtype=np.int32)
        flag = np.zeros(raster.bits.size, dtype=bool)
        has_seg = raster.cell_seg >= 0
        style[has_seg] = c.seg[raster.cell_seg[has_seg]]
        if c.seg_flag.any():
            hit = c.seg_flag[raster.point_seg]
            cells, segs = raster.point_cell[hit], raster.point_seg[hit]
            style.reshape(-1)[cells] = c.seg[segs]
            flag[cells] = True
        flag = flag.reshape(style.shape)
        mark, ref = raster.mark, raster.mark_ref
        is_bus = (mark == Mark.BUS) | (mark == Mark.SOURCE)
        style[is_bus] = c.bus[ref[is_bus]]
        flag[is_bus] |= c.bus_flag[ref[is_bus]]
        is_sw = (mark > Mark.NONE) & ~is_bus
        style[is_sw] = c.switch[ref[is_sw]]
        flag[is_sw] |= c.switch_flag[ref[is_sw]]
        style[mark == Mark.SOURCE] = _FG
        self._cell_style = style * 4 + flag * 2 + (mark > Mark.NONE)
        return self._cell_style

    def _style(self, key: int, cursor: bool = False) -> Style:
        index, flagged, bold = key // 4, bool(key & 2), bool(key & 1)
        cache_key = (index, flagged, bold, cursor)
        style = self._styles.get(cache_key)
        if style is None:
            c = self._colours()
            base = self.rich_style
            colour = c.palette[index]
            bg = None
            if flagged:
                theme = self._theme_colours()
                bg = _hex(Color.parse(theme["error"]).blend(Color.parse(theme["bg"]), 0.55))
            style = base + Style(color=colour, bgcolor=bg, bold=bold or flagged or cursor, reverse=cursor)
            self._styles[cache_key] = style
        return style

    # ------------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        """One row: a slice of the canvas, or the legend / status line at the bottom."""
        width = self.size.width
        _, view_h = self.view_size
        if y >= view_h:
            return self._footer_line(y - view_h, width)
        raster = self.raster
        styles = self._cell_styles()
        ox, oy = self._origin
        row = oy + y
        cp = np.full(width, 0x20, dtype=np.uint32)
        keys = np.zeros(width, dtype=np.int64)
        lo, hi = max(ox, 0), min(ox + width, raster.width)
        if 0 <= row < raster.height and lo < hi:
            sl = slice(lo - ox, hi - ox)
            bits = raster.bits[row, lo:hi].astype(np.uint32)
            marks = raster.mark[row, lo:hi]
            cp[sl] = np.where(marks > 0, _GLYPH_CP[marks], np.where(bits > 0, _BRAILLE_BASE + bits, 0x20))
            keys[sl] = styles[row, lo:hi]
        text = cp.tobytes().decode("utf-32-le")
        cursor_col = -1
        if self._cursor >= 0:
            cx, cy = int(raster.bus_cx[self._cursor]), int(raster.bus_cy[self._cursor])
            if cy == row and 0 <= cx - ox < width:
                cursor_col = cx - ox
        cuts = np.flatnonzero(np.diff(keys)) + 1
        bounds = [0, *cuts.tolist(), width]
        segments: list[Segment] = []
        for a, b in pairwise(bounds):
            if a <= cursor_col < b:
                if a < cursor_col:
                    segments.append(Segment(text[a:cursor_col], self._style(int(keys[a]))))
                segments.append(Segment(text[cursor_col], self._style(int(keys[cursor_col]), cursor=True)))
                if cursor_col + 1 < b:
                    segments.append(Segment(text[cursor_col + 1:b], self._style(int(keys[a]))))
            else:
                segments.append(Segment(text[a:b], self._style(int(keys[a]))))
        return Strip(segments, width)

    def _footer_line(self, k: int, width: int) -> Strip:
        base = self.rich_style
        if k == 0:
            segments = []
            for text, idx in self._colours().legend:
                style = base if idx is None else self._style(abs(idx) * 4 + (2 if idx < 0 else 0))
                segments.append(Segment(text, style))
            return Strip(segments).crop_extend(0, width, base)
        return Strip([Segment(self.status_text, base + Style(dim=True))]).crop_extend(0, width, base)

    # ------------------------------------------------------------------ view
    def _bus_pos(self, bus: int) -> int:
        hits = np.flatnonzero(self.geometry.bus_index == bus)
        if not hits.size:
            raise InputError(f"bus {bus} is not in the network")
        return int(hits[0])

    def _clamp_origin(self, ox: int, oy: int) -> tuple[int, int]:
        view_w, view_h = self.view_size
        r = self.raster

        def clamp(o: int, size: int, view: int) -> int:
            if size <= view:
                return (size - view) // 2          # centred
            return int(min(max(o, 0), size - view))

        return clamp(ox, r.width, view_w), clamp(oy, r.height, view_h)

    def _keep_cursor_visible(self) -> None:
        if self._cursor < 0:
            return
        view_w, view_h = self.view_size
        r = self.raster
        cx, cy = int(r.bus_cx[self._cursor]), int(r.bus_cy[self._cursor])
        ox, oy = self._origin
        margin_x, margin_y = min(4, view_w // 4), min(2, view_h // 4)
        if not (ox + margin_x <= cx < ox + view_w - margin_x):
            ox = cx - view_w // 2
        if not (oy + margin_y <= cy < oy + view_h - margin_y):
            oy = cy - view_h // 2
        self._origin = self._clamp_origin(ox, oy)

    def _set_zoom(self, level: int) -> None:
        view_w, view_h = self.view_size
        fit = fit_scale(self.geometry, view_w, view_h)
        level = int(min(max(level, 0), _MAX_ZOOM_LEVEL))
        while level > 0 and _canvas_cells(self.geometry, fit * _ZOOM_STEP ** level) > _MAX_CANVAS_CELLS:
            level -= 1
        if level == self._zoom_level:
            return
        old = self.raster
        ox, oy = self._origin
        # keep the cursor's bus (or the view centre) at the same place on screen
        if self._cursor >= 0 and 0 <= old.bus_cx[self._cursor] - ox < view_w \
                and 0 <= old.bus_cy[self._cursor] - oy < view_h:
            ax = float(self.geometry.bus_x[self._cursor])
            ay = float(self.geometry.bus_y[self._cursor])
            sx, sy = int(old.bus_cx[self._cursor]) - ox, int(old.bus_cy[self._cursor]) - oy
        else:
            sx, sy = view_w // 2, view_h // 2
            ax = old.x_min + ((ox + sx) * 2 - 2 * _PAD_CELLS) / old.scale
            ay = old.y_max - ((oy + sy) * 4 - 4 * _PAD_CELLS) / old.scale
        self._zoom_level = level
        new = self.raster
        nx, ny = new.to_dots(np.array([ax]), np.array([ay]))
        self._origin = self._clamp_origin(int(nx[0] // 2) - sx, int(ny[0] // 4) - sy)
        self.refresh()

    def on_resize(self, event: Resize) -> None:
        """At fit zoom refit to the new size; zoomed in, keep the zoom level and the cursor in view."""
        if self._zoom_level == 0:
            self._origin = self._clamp_origin(0, 0)
        else:
            self._keep_cursor_visible()
        self.refresh()

    def on_mount(self) -> None:
        """Follow the app's theme."""
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._recolour())

    # ------------------------------------------------------------------ actions
    def action_zoom(self, direction: int) -> None:
        """Zoom in (``direction`` > 0) or out one step."""
        self._set_zoom(self._zoom_level + (1 if direction > 0 else -1))

    def action_fit(self) -> None:
        """Show the whole network."""
        self._zoom_level = 0
        self._origin = self._clamp_origin(0, 0)
        self.refresh()

    def action_pan(self, dx: int, dy: int) -> None:
        """Pan a quarter of the view."""
        view_w, view_h = self.view_size
        ox, oy = self._origin
        self._origin = self._clamp_origin(ox + dx * max(view_w // 4, 1), oy + dy * max(view_h // 4, 1))
        self.refresh()

    def action_move(self, direction: str) -> None:
        """Move the cursor to the nearest bus in ``direction`` (up, down, left, right)."""
        target = self.nearest_bus_towards(direction)
        if target is not None:
            self.move_cursor_to(target)

    def action_step(self, delta: int) -> None:
        """Move the cursor to the next (``delta`` = 1) or previous bus in tab order."""
        order = self.geometry.tab_order
        if not order.size:
            return
        at = int(np.flatnonzero(order == self._cursor)[0])
        self.move_cursor_to(int(self.geometry.bus_index[order[(at + delta) % order.size]]))

    def action_cycle_colour(self) -> None:
        """Switch to the next colour mode."""
        modes = list(ColorMode)
        self.color_by(modes[(modes.index(self._mode) + 1) % len(modes)])

    def action_select(self) -> None:
        """Post :class:`NetworkMap.BusSelected` for the bus under the cursor."""
        if self._cursor >= 0:
            self.post_message(self.BusSelected(self, self.cursor_bus))

    def move_cursor_to(self, bus: int) -> None:
        """Put the cursor on pandapower bus ``bus``, scroll it into view and post ``BusHighlighted``."""
        self._cursor = self._bus_pos(bus)
        self._keep_cursor_visible()
        self.refresh()
        self.post_message(self.BusHighlighted(self, self.cursor_bus))

    def nearest_bus_towards(self, direction: str) -> int | None:
        """The pandapower index of the nearest bus from the cursor in ``direction``, or ``None``.

        Buses within 45° of the direction come first; the score is the distance along the direction plus twice
        the distance across it, in km.
        """
        geom = self.geometry
        if self._cursor < 0:
            return None
        ux, uy = {"up": (0, 1), "down": (0, -1), "left": (-1, 0), "right": (1, 0)}[direction]
        dx = geom.bus_x - geom.bus_x[self._cursor]
        dy = geom.bus_y - geom.bus_y[self._cursor]
        along = dx * ux + dy * uy
        across = np.abs(dx * uy - dy * ux)
        ahead = along > 1e-12
        if not ahead.any():
            return None
        cone = ahead & (across <= along)
        pool = cone if cone.any() else ahead
        score = np.where(pool, along + 2.0 * across, np.inf)
        return int(geom.bus_index[int(np.argmin(score))])

    # ------------------------------------------------------------------ mouse
    def on_click(self, event: Click) -> None:
        """Move the cursor to the bus nearest the clicked cell."""
        _, view_h = self.view_size
        if event.y >= view_h or not self.geometry.n_bus:
            return
        r = self.raster
        cx, cy = event.x + self._origin[0], event.y + self._origin[1]
        d = (r.bus_cx - cx) ** 2 + (2 * (r.bus_cy - cy)) ** 2
        self.move_cursor_to(int(self.geometry.bus_index[int(np.argmin(d))]))

    def on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        """Wheel up zooms in."""
        self.action_zoom(1)

    def on_mouse_scroll_down(self, event: MouseScrollDown) -> None:
        """Wheel down zooms out."""
        self.action_zoom(-1)
