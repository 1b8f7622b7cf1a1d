"""Supply zones: density bands, covered area, density/mapping/feeder assignment, targets."""

from __future__ import annotations

import math

import gridscope as gs
import numpy as np
import pandapower as pp
import pytest
from gridscope.errors import ConfigError, InputError
from gridscope.grid.defaults import ZONES, apply_reliability_data, zone_targets
from gridscope.grid.facts import bus_xy_km
from gridscope.grid.zones import (
    _covered_area_km2,
    assign_zones_by_density,
    assign_zones_by_feeder,
    assign_zones_from_mapping,
    zone_for_density,
)

STD = "NA2XS2Y 1x185 RM/25 12/20 kV"


# ------------------------------------------------------------------------------------------------ bands
@pytest.mark.parametrize("density, zone", [
    (1000.0, "A+"), (30.0, "A+"), (29.999, "A"), (15.0, "A"), (14.999, "B"), (6.0, "B"), (5.999, "C"),
    (1.0, "C"), (0.999, "D"), (0.1, "D"), (0.0999, "E"), (0.0, "E"),
])
def test_density_bands(density, zone):
    assert zone_for_density(density).tolist() == [zone]


def test_density_nan_has_no_zone():
    assert zone_for_density([np.nan, 7.0]).tolist() == [None, "B"]


# ------------------------------------------------------------------------------------------------ area
def test_area_is_the_hull_grown_by_the_margin():
    r = 0.25
    # rectangle 2 km × 1 km: area 2, perimeter 6 -> A + P r + π r²
    x, y = np.array([0, 2, 2, 0, 1.0]), np.array([0, 0, 1, 1, 0.5])
    assert _covered_area_km2(x, y, r) == pytest.approx(2 + 6 * r + math.pi * r**2)
    # one point: a disk; two points: a stadium; collinear points: a stadium over the span
    assert _covered_area_km2(np.array([3.0]), np.array([4.0]), r) == pytest.approx(math.pi * r**2)
    assert _covered_area_km2(np.array([0.0, 3.0]), np.array([0.0, 4.0]), r) == pytest.approx(
        2 * r * 5 + math.pi * r**2)
    assert _covered_area_km2(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]), r) == pytest.approx(
        2 * r * math.hypot(2, 2) + math.pi * r**2)
    # duplicates do not count twice
    assert _covered_area_km2(np.array([1.0, 1.0]), np.array([1.0, 1.0]), r) == pytest.approx(math.pi * r**2)


def _two_feeders(load_a_mw: float, load_b_mw: float):
    """Station at (0, 0) km; feeder A over the rectangle (0..2) × (0..1) km, feeder B a single line to
    (0, -3) km; one load per feeder end bus."""
    net = pp.create_empty_network()
    st = pp.create_bus(net, 20.0, name="station", geodata=(0.0, 0.0))
    pp.create_ext_grid(net, st)

    def feeder(name, points, load_mw):
        prev = st
        for k, xy in enumerate(points):
            b = pp.create_bus(net, 20.0, name=f"{name}{k}", geodata=xy)
            line = pp.create_line(net, prev, b, 1.0, STD, name=f"{name}-L{k}")
            if prev == st:
                pp.create_switch(net, st, line, et="l", type="CB", name=name)
            prev = b
        pp.create_load(net, prev, load_mw, name=f"{name} load", customers=1)

    feeder("A", [(2.0, 0.0), (2.0, 1.0), (0.0, 1.0)], load_a_mw)
    feeder("B", [(0.0, -3.0)], load_b_mw)
    return apply_reliability_data(net)


def test_density_per_feeder_hand_computed():
    r = 0.1
    # feeder A's buses (the station is not part of it): (2,0), (2,1), (0,1), a right triangle 2 × 1
    # with area 1 and perimeter 3 + √5
    area_a = 1 + (3 + math.sqrt(5)) * r + math.pi * r**2
    area_b = math.pi * r**2  # one bus
    net = _two_feeders(load_a_mw=10 * area_a, load_b_mw=0.05 * area_b)
    table = assign_zones_by_density(net, per="feeder", margin_km=r)
    assert table.loc["A", "area_km2"] == pytest.approx(area_a)
    assert table.loc["B", "area_km2"] == pytest.approx(area_b)
    assert table.loc["A", "density_mw_per_km2"] == pytest.approx(10.0)
    assert table.loc["B", "density_mw_per_km2"] == pytest.approx(0.05)
    assert table["zone"].to_dict() == {"A": "B", "B": "E"}
    zone = net.bus.set_index("name")["zone"]
    assert zone[["A0", "A1", "A2"]].tolist() == ["B"] * 3 and zone["B0"] == "E"
    assert zone["station"] == "B"  # the strictest zone among the feeders it feeds
    assert gs.validate(net) == []


def test_density_for_the_whole_network():
    r = 0.5
    net = _two_feeders(load_a_mw=1.0, load_b_mw=1.0)
    # all five buses: hull of (0,-3), (2,0), (2,1), (0,1) [(0,0) inside] -> shoelace area 5, perimeter
    pts = np.array([(0, -3), (2, 0), (2, 1), (0, 1)], float)
    area = 0.5 * abs(sum(pts[i, 0] * pts[i - 1, 1] - pts[i - 1, 0] * pts[i, 1] for i in range(4)))
    perimeter = sum(np.hypot(*(pts[i] - pts[i - 1])) for i in range(4))
    expect = area + perimeter * r + math.pi * r**2
    table = assign_zones_by_density(net, per="network", margin_km=r)
    assert table.loc["network", "area_km2"] == pytest.approx(expect)
    assert table.loc["network", "density_mw_per_km2"] == pytest.approx(2.0 / expect)
    assert net.bus["zone"].nunique() == 1 and net.bus["zone"].iat[0] == zone_for_density(2.0 / expect)[0]


def test_density_uses_scaling_and_in_service():
    net = _two_feeders(load_a_mw=1.0, load_b_mw=1.0)
    base = assign_zones_by_density(net, per="feeder")
    net.load["scaling"] = 2.0
    net.load.loc[net.load["name"] == "B load", "in_service"] = False
    table = assign_zones_by_density(net, per="feeder")
    assert table.loc["A", "load_mw"] == pytest.approx(2 * base.loc["A", "load_mw"])
    assert table.loc["B", "load_mw"] == 0.0


def test_density_bad_options():
    net = _two_feeders(1.0, 1.0)
    with pytest.raises(InputError, match="margin_km"):
        assign_zones_by_density(net, margin_km=0)
    with pytest.raises(InputError, match="per"):
        assign_zones_by_density(net, per="street")  # type: ignore[arg-type]
    net.bus["geo"] = None
    with pytest.raises(InputError, match="coordinates"):
        assign_zones_by_density(net)


def test_coordinate_units():
    net = pp.create_empty_network()
    pp.create_bus(net, 20.0, geodata=(8.00, 50.0))
    pp.create_bus(net, 20.0, geodata=(8.01, 50.0))
    xy = bus_xy_km(net)  # auto: longitude/latitude
    assert xy["x_km"].diff().iat[1] == pytest.approx(0.01 * 111.320 * math.cos(math.radians(50)))
    assert bus_xy_km(net, "km")["x_km"].diff().iat[1] == pytest.approx(0.01)
    assert bus_xy_km(net, "m")["x_km"].diff().iat[1] == pytest.approx(0.01 / 1000)
    with pytest.raises(InputError):
        bus_xy_km(net, "miles")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ feeder / mapping
def test_assign_by_feeder(rbts2_copy):
    net = rbts2_copy
    assign_zones_by_feeder(net, {"F1": "A+", "F4": "D"})
    topo = gs.build_topology(net)
    zone = net.bus.groupby(topo.feeder_name_of(net, "bus"))["zone"].unique().map(list).to_dict()
    assert zone == {"F1": ["A+"], "F2": ["A"], "F3": ["B"], "F4": ["D"]}  # F2, F3 keep their zones
    assert net.bus.loc[0, "zone"] == "A"  # station bus keeps its valid zone
    net.bus["zone"] = None
    assign_zones_by_feeder(net, {"F1": "C", "F2": "D"}, default="E")
    zone = net.bus.groupby(topo.feeder_name_of(net, "bus"))["zone"].unique().map(list).to_dict()
    assert zone == {"F1": ["C"], "F2": ["D"], "F3": ["E"], "F4": ["E"]}
    assert net.bus.loc[0, "zone"] == "E"


def test_assign_by_feeder_reports_everything(rbts2_copy):
    with pytest.raises(ConfigError) as info:
        assign_zones_by_feeder(rbts2_copy, {"F1": "Z", "F7": "A", "F8": "B"}, default="Q")
    text = str(info.value)
    for part in ("unknown feeder 'F7'", "unknown feeder 'F8'", "unknown zone 'Z'", "unknown default zone 'Q'"):
        assert part in text


def test_mapping_by_bus_name_index_and_feeder(rbts2_copy, tmp_path):
    net = rbts2_copy
    lp3 = int(net.bus.index[net.bus["name"] == "LP3"][0])
    csv = tmp_path / "zones.csv"
    csv.write_text("feeder,bus,zone\nF1,,C\nF2,,C\nF3,,D\nF4,,D\n,LP3,A+\n,5,A\n")
    assign_zones_from_mapping(net, csv)
    zone = net.bus["zone"]
    assert zone[lp3] == "A+" and zone[5] == "A"  # bus rows win over their feeder's row
    topo = gs.build_topology(net)
    feeder = topo.feeder_name_of(net, "bus")
    assert set(zone[(feeder == "F1") & ~net.bus.index.isin([lp3, 5])]) == {"C"}
    assert set(zone[feeder == "F4"]) == {"D"}
    assert gs.validate(net) == []


def test_mapping_reports_every_problem_at_once(rbts2_copy, tmp_path):
    net = rbts2_copy
    net.bus.loc[net.bus["name"] == "B4", "name"] = "B3"
    csv = tmp_path / "zones.csv"
    csv.write_text("bus,feeder,zone\nB99,,A\nLP1,,AAA\n,F9,B\n,F1,X\nB3,,C\n")
    before = net.bus["zone"].copy()
    with pytest.raises(ConfigError) as info:
        assign_zones_from_mapping(net, csv)
    text = str(info.value)
    assert "\n" not in text
    for part in ("unknown bus 'B99'", "unknown zone 'AAA'", "unknown feeder 'F9'", "unknown zone 'X'",
                 "bus name 'B3' is not unique"):
        assert part in text, part
    assert net.bus["zone"].equals(before)  # nothing changed


@pytest.mark.parametrize("content, text", [
    ("bus,color\nB3,red\n", "needs a 'zone' column"),
    ("zone\nA\n", "needs a 'zone' column"),
])
def test_mapping_bad_files(rbts2_copy, tmp_path, content, text):
    csv = tmp_path / "m.csv"
    csv.write_text(content)
    with pytest.raises(ConfigError, match=text):
        assign_zones_from_mapping(rbts2_copy, csv)
    with pytest.raises(ConfigError, match="not found"):
        assign_zones_from_mapping(rbts2_copy, tmp_path / "missing.csv")


# ------------------------------------------------------------------------------------------------ targets
def test_zone_targets_default_and_override():
    t = zone_targets()
    assert list(t.index) == list(ZONES)
    assert t.loc["A+", "asai_target"] == pytest.approx(0.99999)
    assert t.loc["A", "asai_target"] == pytest.approx(0.99989)
    assert t.loc["B", "asai_target"] == pytest.approx(0.99965)
    assert t.loc["C", "asai_target"] == pytest.approx(0.99897)
    assert t.loc["D", "asai_target"] == pytest.approx(0.99828)
    assert np.isnan(t.loc["E", "asai_target"])
    assert t.loc["A", "saidi_target_h"] == pytest.approx((1 - 0.99989) * 8760)
    assert t["source"].str.len().gt(0).all()
    o = zone_targets({"E": 99.5, "A": 0.9999})
    assert o.loc["E", "asai_target"] == pytest.approx(0.995) and o.loc["A", "asai_target"] == pytest.approx(0.9999)
    assert o.loc["E", "source"] == "user override"
    assert zone_targets().loc["E", "asai_target"] != 0.995  # overrides do not leak into the table
    with pytest.raises(ConfigError):
        zone_targets({"A": -1})
