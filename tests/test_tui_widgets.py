"""The network map and the reliability charts, mounted in a minimal app and driven with Textual's pilot.

Assertions are on what the widgets draw (the characters and colours of rendered rows, the plotext figure's data)
against independent facts: the bus coordinates and zones stored in RBTS Bus 2, the ties the topology finds,
hand-computed shares and ``numpy.percentile``.
"""

from __future__ import annotations

import copy
from typing import Any

import gridscope as gs
import numpy as np
import pandas as pd
import pytest
from gridscope.grid.facts import bus_xy
from gridscope.tui.widgets.charts import ConvergenceChart, DistributionChart, ParetoChart
from gridscope.tui.widgets.netmap import ZONE_COLORS, NetworkMap
from rich.style import Style
from textual.app import App, ComposeResult

SIZE = (100, 30)


class MapApp(App):
    """One map filling the screen; records the messages it posts."""

    def __init__(self, net: Any, topology: Any) -> None:
        super().__init__()
        self.net, self.topology = net, topology
        self.selected: list[int] = []
        self.highlighted: list[int] = []
        self.modes: list[str] = []

    def compose(self) -> ComposeResult:
        yield NetworkMap(self.net, self.topology, id="map")

    def on_network_map_bus_selected(self, message: NetworkMap.BusSelected) -> None:
        self.selected.append(message.bus)

    def on_network_map_color_mode_changed(self, message: NetworkMap.ColorModeChanged) -> None:
        self.modes.append(message.mode)

    def on_network_map_bus_highlighted(self, message: NetworkMap.BusHighlighted) -> None:
        self.highlighted.append(message.bus)


class ChartApp(App):
    def compose(self) -> ComposeResult:
        yield ParetoChart(id="pareto")
        yield DistributionChart(id="dist")
        yield ConvergenceChart(id="conv")


def rendered(m: NetworkMap, col: int, row: int) -> tuple[str, Style]:
    """Character and style the map draws at widget cell (col, row)."""
    x = 0
    for seg in m.render_line(row):
        if x <= col < x + len(seg.text):
            return seg.text[col - x], seg.style
        x += len(seg.text)
    raise IndexError((col, row))


def colour_hex(style: Style) -> str:
    return style.color.get_truecolor().hex.upper()


def bus_positions(net: Any) -> dict[str, tuple[float, float]]:
    xy = bus_xy(net)
    return {str(n): (float(x), float(y)) for n, x, y in zip(net.bus["name"], xy["x"], xy["y"], strict=True)}


# ------------------------------------------------------------------------------------------- map
async def test_map_gives_every_rbts2_bus_its_own_cell_in_coordinate_order(rbts2_net, rbts2_topology):
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        assert m.geometry.layout == "coordinates"
        cells = {int(b): m.screen_cell_of_bus(int(b)) for b in rbts2_net.bus.index}
        assert len(set(cells.values())) == len(rbts2_net.bus) == 57
        view_w, view_h = m.view_size
        for bus, (col, row) in cells.items():
            assert 0 <= col < view_w and 0 <= row < view_h
            char, _ = rendered(m, col, row)
            # the only source (the ext_grid at B2, bus 0) is a diamond, every other bus a dot
            assert char == ("◆" if bus in set(rbts2_net.ext_grid.bus) else "•")
        # the drawing follows the stored coordinates: east is right, north is up
        xy = bus_xy(rbts2_net)
        for a, b in [(1, 6), (6, 11), (19, 21), (0, 26)]:        # B3 < B4 < B5, B7 < B8, B2 < B10 in x
            assert xy.x[a] < xy.x[b] and cells[a][0] < cells[b][0]
        for a, b in [(1, 19), (19, 23), (23, 39)]:               # B3 above B7 above B9 above B13
            assert xy.y[a] > xy.y[b] and cells[a][1] < cells[b][1]


async def test_map_marks_the_ties_the_topology_finds(rbts2_net, rbts2_topology):
    ties = rbts2_topology.ties
    assert len(ties) == 2
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        view_w, view_h = m.view_size
        drawn = [(c, r) for r in range(view_h) for c in range(view_w) if rendered(m, c, r)[0] == "○"]
        assert len(drawn) == len(ties)
        for sw in ties["switch"]:
            a, b = rbts2_net.switch.at[sw, "bus"], rbts2_net.switch.at[sw, "element"]   # bus-bus tie switches
            (ca, ra), (cb, rb) = m.screen_cell_of_bus(a), m.screen_cell_of_bus(b)
            mid = ((ca + cb) / 2, (ra + rb) / 2)
            assert any(abs(c - mid[0]) <= 1 and abs(r - mid[1]) <= 1 for c, r in drawn), (sw, mid, drawn)


async def test_map_marks_every_switch_once_zoomed_in(rbts2_net, rbts2_topology):
    sw = rbts2_net.switch
    protective = sw["type"].isin(["CB", "FUSE"]) & sw["closed"]
    sectionalising = sw["type"].isin(["DS", "LBS", "LS"]) & sw["closed"]
    assert (protective.sum(), sectionalising.sum()) == (26, 10)      # 4 breakers + 22 fuses; 10 disconnectors
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        await pilot.press("plus", "plus", "plus", "plus")
        glyphs = np.asarray(list("".join(_canvas_text(m))))
        assert (glyphs == "■").sum() == protective.sum()
        assert (glyphs == "▪").sum() == sectionalising.sum()
        assert (glyphs == "○").sum() == len(rbts2_topology.ties)
        assert (glyphs == "•").sum() + (glyphs == "◆").sum() == len(rbts2_net.bus)


def _canvas_text(m: NetworkMap) -> list[str]:
    """Every row of the whole canvas, panned through the view page by page (what a user scrolls across)."""
    from gridscope.tui.widgets.netmap import GLYPHS

    r = m.raster
    out = []
    for row in range(r.height):
        out.append("".join(GLYPHS[k] if k else " " for k in r.mark[row]))
    return out


async def test_zone_colouring_follows_the_feeders_zones(rbts2_net, rbts2_topology):
    # RBTS Bus 2 as stored: feeders F1, F2 serve zone A, F3, F4 zone B
    topo = rbts2_topology
    feeder_name = topo.feeders["name"].to_numpy()
    app = MapApp(rbts2_net, topo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        m.move_cursor_to(0)           # the cursor sits on the source, away from the buses checked
        checked = {"A": 0, "B": 0}
        for pos, bus in enumerate(rbts2_net.bus.index):
            f = topo.feeder_of_node[pos]
            if f < 0:
                continue
            zone = {"F1": "A", "F2": "A", "F3": "B", "F4": "B"}[feeder_name[f]]
            _, style = rendered(m, *m.screen_cell_of_bus(int(bus)))
            assert colour_hex(style) == ZONE_COLORS[zone].upper(), (bus, feeder_name[f])
            checked[zone] += 1
        assert checked["A"] >= 20 and checked["B"] >= 30
        assert m.legend_text.startswith("zone ⣿ A  ⣿ B  │ ◆ source ■ CB/fuse ▪ switch ○ tie ⠉⠉ open")


async def test_loading_colouring_bands_and_flags(rbts2_net, rbts2_topology):
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        theme = app.get_css_variables()
        loading = pd.Series({0: 50.0, 11: 85.0, 15: 120.0})       # feeder heads of F1, F2, F3
        m.set_loading(loading, {("line", 15)})
        m.color_by("loading")
        await pilot.pause()
        assert "<70 %" in m.legend_text and "70–100 %" in m.legend_text and "≥100 %" in m.legend_text
        expect = {0: theme["success"], 11: theme["warning"], 15: theme["error"]}
        geom, raster = m.geometry, m.raster
        ox, oy = m.origin
        for line, colour in expect.items():
            seg = np.flatnonzero((geom.seg_element == "line") & (geom.seg_index == line))[0]
            rows, cols = np.nonzero((raster.cell_seg == seg) & (raster.mark == 0))
            assert rows.size
            for r, c in zip(rows, cols, strict=True):
                _, style = rendered(m, c - ox, r - oy)
                assert colour_hex(style) == colour.upper()[:7]
                bg = style.bgcolor.get_truecolor().hex.upper() if style.bgcolor else None
                assert (bg != theme["surface"].upper()) == (line == 15)      # only the flagged line is highlighted


async def test_loading_colouring_of_the_study_power_flow(rbts2_net, rbts2_topology):
    study = gs.Study(rbts2_net)
    peak, flags = study.loading(), study.flags()
    line_pct = peak.line["loading_percent"]
    assert 70 <= line_pct.max() < 100                                  # RBTS Bus 2 at its peak: one heavy line
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        m.set_loading(line_pct, zip(flags["element"], flags["index"], strict=True),
                      trafo_loading_percent=peak.trafo["loading_percent"])
        m.color_by("loading")
        await pilot.pause()
        theme = app.get_css_variables()
        geom, raster = m.geometry, m.raster
        # cells drawn by exactly one segment, so no neighbour's colour can win them
        pairs = np.unique(np.stack([raster.point_cell, raster.point_seg]), axis=1)
        cells, n_seg = np.unique(pairs[0], return_counts=True)
        lone = set(cells[n_seg == 1].tolist())
        checked = set()
        for line, pct in line_pct.items():
            band = "error" if pct >= 100 else "warning" if pct >= 70 else "success"
            seg = np.flatnonzero((geom.seg_element == "line") & (geom.seg_index == line))[0]
            flat = np.flatnonzero((raster.cell_seg.ravel() == seg) & (raster.mark.ravel() == 0))
            for f in [f for f in flat.tolist() if f in lone][:3]:
                r, c = divmod(f, raster.width)
                _, style = rendered(m, c - m.origin[0], r - m.origin[1])
                assert colour_hex(style) == theme[band].upper()[:7], (line, pct)
                checked.add(line)
        assert len(checked) >= 30 and line_pct.idxmax() in checked


async def test_click_moves_the_cursor_and_set_network_resets(rbts2_net, rbts2_topology, load_builtin):
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        col, row = m.screen_cell_of_bus(36)                          # B12
        await pilot.click(NetworkMap, offset=(col, row))
        assert m.cursor_bus == 36 and app.highlighted[-1] == 36
        cigre = load_builtin("cigre_mv")
        m.set_network(cigre, gs.build_topology(cigre))
        await pilot.pause()
        assert m.geometry.n_bus == len(cigre.bus) and m.zoom == 1.0
        assert m.cursor_bus in set(cigre.ext_grid.bus)
        assert "zone ⣿ C" in m.legend_text


async def test_saidi_colouring_legend_from_real_contributions(rbts2_net, rbts2_topology):
    from gridscope.reliability.results import contributions

    ds = gs.assess_reliability(rbts2_net, method="analytical")
    df = contributions(ds, top=None)
    top = float(df["SAIDI_h"].max())
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        m.set_contributions(df)
        m.color_by("saidi")
        await pilot.pause()
        # four bins at 10 %, 30 %, 60 %, 100 % of the largest contribution
        for share in (0.1, 0.3, 0.6, 1.0):
            assert f"≤{share * top:.3g}" in m.legend_text
        assert m.legend_text.startswith("SAIDI contribution h/cust·yr")
        # the largest contributor is drawn in the hottest colour (the last palette entry)
        worst = df.iloc[0]
        geom = m.geometry
        seg = np.flatnonzero((geom.seg_element == worst["element"]) & (geom.seg_index == worst["index"]))
        assert seg.size
        raster = m.raster
        rows, cols = np.nonzero((raster.cell_seg == seg[0]) & (raster.mark == 0))
        _, style = rendered(m, cols[0] - m.origin[0], rows[0] - m.origin[1])
        hottest = app.get_css_variables()["error"].upper()[:7]
        assert colour_hex(style) == hottest
        # a distribution transformer's segment hides under its buses: its bin shows on its LV bus
        trafos = df[(df["element"] == "trafo") & (df["SAIDI_h"] > 0.6 * top)]
        assert len(trafos)
        m.move_cursor_to(0)
        for t in trafos["index"]:
            _, style = rendered(m, *m.screen_cell_of_bus(int(rbts2_net.trafo.at[t, "lv_bus"])))
            assert colour_hex(style) == hottest, t
        with pytest.raises(gs.errors.InputError):
            m.color_by("voltage")


async def test_zoom_pan_and_fit(rbts2_net, rbts2_topology):
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        fit = m.scale
        # fit: the 3.77 km north-south extent of RBTS Bus 2 fills the 28-row map area less a one-row margin
        # each side: (28 - 2) rows × 4 dots - 1 = 103 dots over 3.77 km
        assert fit == pytest.approx(103 / 3.77, rel=1e-3)
        (c3, _), (c5, _) = m.cell_of_bus(1), m.cell_of_bus(11)      # B3 and B5: 1.5 km apart east-west
        await pilot.press("plus")
        assert m.zoom == pytest.approx(1.5) and m.scale == pytest.approx(1.5 * fit)
        (d3, _), (d5, _) = m.cell_of_bus(1), m.cell_of_bus(11)
        assert (d5 - d3) == pytest.approx(1.5 * (c5 - c3), abs=1)
        await pilot.press("plus", "plus")
        assert m.scale == pytest.approx(1.5 ** 3 * fit)
        before = m.origin
        await pilot.press("shift+right")
        assert m.origin[0] > before[0]
        await pilot.press("0")
        assert m.scale == pytest.approx(fit) and m.zoom == 1.0
        await pilot.press("minus")                                   # never smaller than fit
        assert m.scale == pytest.approx(fit)


async def test_cursor_moves_and_enter_selects_the_bus_under_it(rbts2_net, rbts2_topology):
    xy = bus_xy(rbts2_net)
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        m.focus()
        m.move_cursor_to(1)                                          # B3
        await pilot.press("right")
        moved = m.cursor_bus
        dx, dy = xy.x[moved] - xy.x[1], xy.y[moved] - xy.y[1]
        assert dx > 0 and abs(dy) <= dx                              # within 45° of east
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [moved]
        assert f"bus {moved} {rbts2_net.bus.name[moved]}" in m.status_text
        # the cursor is drawn reversed at the bus's cell
        _, style = rendered(m, *m.screen_cell_of_bus(moved))
        assert style.reverse
        await pilot.press("n", "enter")
        await pilot.pause()
        assert app.selected[-1] == m.cursor_bus != moved
        assert app.highlighted[-1] == m.cursor_bus


async def test_tree_layout_without_coordinates(rbts2_net, rbts2_topology):
    net = copy.deepcopy(rbts2_net)
    net.bus["geo"] = None
    app = MapApp(net, rbts2_topology)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        g = m.geometry
        assert g.layout == "tree"
        assert len({(x, y) for x, y in zip(g.bus_x, g.bus_y, strict=True)}) == 57
        # every bus hangs below the bus it is fed from
        topo = rbts2_topology
        for pos in range(topo.n_bus):
            node = topo.parent_node[pos]
            while node >= topo.n_bus:                                # skip switch nodes
                node = topo.parent_node[node]
            if node >= 0:
                assert g.bus_y[pos] < g.bus_y[node]
        assert len({m.screen_cell_of_bus(int(b)) for b in net.bus.index}) == 57


def test_buses_without_coordinates_sit_at_their_feeding_bus(rbts2_net, rbts2_topology):
    from gridscope.tui.widgets.netmap import build_geometry

    net = copy.deepcopy(rbts2_net)
    net.bus.loc[[3, 5], "geo"] = None                       # LP1, LP2: fed by transformers from LP1 MV, LP2 MV
    g = build_geometry(net, rbts2_topology)
    assert g.layout == "coordinates"
    xy = bus_xy(rbts2_net)
    for lv, mv in [(3, 2), (5, 4)]:
        assert rbts2_net.trafo[(rbts2_net.trafo.hv_bus == mv) & (rbts2_net.trafo.lv_bus == lv)].shape[0] == 1
        assert (g.bus_x[lv], g.bus_y[lv]) == (xy.x[mv], xy.y[mv])
    assert (g.bus_x[6], g.bus_y[6]) == (xy.x[6], xy.y[6])   # the others keep their own


async def test_map_follows_a_light_theme(rbts2_net, rbts2_topology):
    app = MapApp(rbts2_net, rbts2_topology)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        _, dark = rendered(m, *m.screen_cell_of_bus(0))
        app.theme = "textual-light"
        await pilot.pause()
        char, style = rendered(m, *m.screen_cell_of_bus(0))
        assert style.bgcolor != dark.bgcolor and style.color != dark.color
        assert char == "◆"
        surface = app.get_css_variables()["surface"].upper()
        assert style.bgcolor.get_truecolor().hex.upper() == surface
        assert colour_hex(style) == app.get_css_variables()["foreground"].upper()[:7]


async def test_map_of_the_37k_bus_simbench_grid(simbench_big):
    topo = gs.build_topology(simbench_big)
    app = MapApp(simbench_big, topo)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        m = app.query_one(NetworkMap)
        assert m.geometry.n_bus == len(simbench_big.bus) > 37_000
        await pilot.press("plus", "plus", "right", "n", "c", "0")
        await pilot.pause()
        assert app.modes == ["loading"]
        rows = ["".join(seg.text for seg in m.render_line(y)) for y in range(40)]
        assert sum(ch not in " " for row in rows[:38] for ch in row) > 500     # the grid is drawn
        assert m.mode == "loading"


def test_map_snapshot_rbts2(snap_compare, rbts2_net, rbts2_topology):
    assert snap_compare(MapApp(rbts2_net, rbts2_topology), terminal_size=SIZE)


# ------------------------------------------------------------------------------------------- charts
async def test_pareto_bars_are_the_values_given():
    app = ChartApp()
    async with app.run_test(size=(100, 60)) as pilot:
        chart = app.query_one(ParetoChart)
        chart.update_data(["line 1", "trafo 2", "line 3"], [0.5, 1.2, 0.3])
        await pilot.pause()
        assert chart.labels == ["trafo 2", "line 1", "line 3"]
        assert chart.values_h.tolist() == [1.2, 0.5, 0.3]
        # cumulative share by hand: 1.2/2.0, 1.7/2.0, 2.0/2.0
        assert chart.cumulative_percent == pytest.approx([60.0, 85.0, 100.0])
        chart.render()
        bars = [max(y) for y in chart.plt.monitor.y[:3]]              # plotext bar rectangles
        assert bars == [1.2, 0.5, 0.3]
        text = chart.render().plain
        assert "h/customer·yr" in text and "trafo 2" in text
        # against the zone's SAIDI rather than the shown total
        chart.update_data(["a", "b"], [1.0, 0.5], total_h=3.0)
        assert chart.cumulative_percent == pytest.approx([100 / 3, 50.0])


async def test_distribution_marks_p5_p50_p95_of_the_samples():
    rng = np.random.default_rng(7)
    samples = rng.gamma(2.0, 0.4, size=4000)
    p5, p50, p95 = np.percentile(samples, [5, 50, 95])
    app = ChartApp()
    async with app.run_test(size=(100, 60)) as pilot:
        chart = app.query_one(DistributionChart)
        chart.update_data("A", samples, target_h=1.5)
        chart.update_data("system", quantiles_h={0.05: 0.1, 0.5: 0.6, 0.95: 2.0}, target_h=2.5)
        await pilot.pause()
        q = chart.zones["A"].quantiles_h
        assert (q[0.05], q[0.5], q[0.95]) == pytest.approx((p5, p50, p95))
        assert chart.zones["system"].quantiles_h == {0.05: 0.1, 0.5: 0.6, 0.95: 2.0}
        text = chart.render().plain
        assert f"zone A: P5 {p5:.3g} · P50 {p50:.3g} · P95 {p95:.3g} · target 1.5 h/customer·yr" in text
        assert "zone system: P5 0.1 · P50 0.6 · P95 2 · target 2.5" in text
        with pytest.raises(ValueError):
            chart.update_data("B")


async def test_convergence_chart_points_and_reset():
    app = ChartApp()
    async with app.run_test(size=(100, 60)) as pilot:
        chart = app.query_one(ConvergenceChart)
        for years, mean, se in [(1000, 1.30, 0.20), (2000, 1.20, 0.14), (3000, 1.25, 0.11)]:
            chart.add_point(years, mean, se)
        await pilot.pause()
        lo, hi = chart.band_h
        assert lo == pytest.approx([1.10, 1.06, 1.14]) and hi == pytest.approx([1.50, 1.34, 1.36])
        assert "after 3,000 years: 1.25 ± 0.11 h/customer·yr" in chart.render().plain
        chart.reset()
        assert chart.years == [] and "waiting" in chart.render().plain

