"""Network facts (gridscope.grid.facts): every value checked against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from gridscope.errors import InputError
from gridscope.grid import facts


def _station_net(hv_kv: float = 35.0, with_cb: bool = True):
    """An hv_kv/10 kV station (ext grid at HV) feeding one 10 kV line to a 10/0.4 kV unit."""
    net = pp.create_empty_network()
    hv = pp.create_bus(net, hv_kv, name="HV")
    mv = pp.create_bus(net, 10.0, name="MV busbar")
    far = pp.create_bus(net, 10.0, name="far")
    lv = pp.create_bus(net, 0.4, name="LV")
    pp.create_ext_grid(net, hv)
    pp.create_transformer_from_parameters(net, hv, mv, sn_mva=20.0, vn_hv_kv=hv_kv, vn_lv_kv=10.0,
                                          vk_percent=8.0, vkr_percent=0.5, pfe_kw=10.0, i0_percent=0.1,
                                          name="station", parallel=2, df=0.9)
    pp.create_transformer_from_parameters(net, far, lv, sn_mva=0.63, vn_hv_kv=10.0, vn_lv_kv=0.4,
                                          vk_percent=4.0, vkr_percent=1.0, pfe_kw=1.0, i0_percent=0.3)
    line = pp.create_line_from_parameters(net, mv, far, 2.0, r_ohm_per_km=0.2, x_ohm_per_km=0.3,
                                          c_nf_per_km=10.0, max_i_ka=0.4, df=0.8, parallel=2, name="L1")
    if with_cb:
        pp.create_switch(net, mv, line, et="l", type="CB", name="CB L1")
    return net


def test_line_rating_hand_computed():
    net = _station_net()
    # 0.4 kA × 0.8 × 2 = 0.64 kA; √3 × 10 kV × 0.64 kA = 11.085 MVA
    assert facts.line_rating_ka(net).iat[0] == pytest.approx(0.64)
    assert facts.line_rating_mva(net).iat[0] == pytest.approx(11.0851, abs=1e-4)


def test_line_rating_missing_df_parallel_default_to_one():
    net = _station_net()
    net.line = net.line.drop(columns=["df", "parallel"])
    assert facts.line_rating_ka(net).iat[0] == pytest.approx(0.4)


def test_trafo_and_ext_grid_ratings():
    net = _station_net()
    # 20 MVA × 0.9 × 2 = 36 MVA; 0.63 MVA × 1 × 1
    assert facts.trafo_rating_mva(net).tolist() == pytest.approx([36.0, 0.63])
    assert np.isnan(facts.ext_grid_rating_mva(net).iat[0])  # no sn_mva / max_p_mw: unknown
    net.ext_grid["max_p_mw"] = 30.0
    assert facts.ext_grid_rating_mva(net).iat[0] == 30.0
    net.ext_grid["sn_mva"] = 40.0  # sn_mva wins over max_p_mw
    assert facts.ext_grid_rating_mva(net).iat[0] == 40.0
    net.ext_grid["sn_mva"] = np.nan  # not a number: back to max_p_mw
    assert facts.ext_grid_rating_mva(net).iat[0] == 30.0


def test_35_10_station_is_main_by_role():
    net = _station_net(35.0)
    assert facts.trafo_role(net).tolist() == ["main", "distribution"]
    assert facts.trafo_is_main(net).tolist() == [True, False]


def test_110_kv_is_main_even_without_breakers():
    net = _station_net(110.0, with_cb=False)
    assert facts.trafo_role(net).tolist() == ["main", "distribution"]


def test_35_10_without_feeder_breakers_is_distribution():
    # no CB heads a line out of the 10 kV busbar: nothing marks it as a station
    net = _station_net(35.0, with_cb=False)
    assert facts.trafo_role(net).tolist() == ["distribution", "distribution"]


def test_lv_breaker_does_not_make_a_station():
    net = _station_net(35.0)
    lv = int(net.bus.index[net.bus["name"] == "LV"][0])
    lv2 = pp.create_bus(net, 0.4)
    ln = pp.create_line_from_parameters(net, lv, lv2, 0.1, 0.2, 0.1, 0.0, 0.2)
    pp.create_switch(net, lv, ln, et="l", type="CB")  # an LV breaker: LV side below 1 kV
    assert facts.trafo_role(net).tolist() == ["main", "distribution"]


def test_supply_level_buses_include_station_hv_side():
    net = _station_net(35.0)
    assert facts.bus_is_supply_level(net).tolist() == [True, False, False, False]
    assert facts.bus_is_supply_level(_station_net(35.0, with_cb=False)).tolist() == [False] * 4


def test_in_service_one_rule():
    df = pd.DataFrame({"in_service": [True, False, np.nan, "True", "False", "false", None]}, dtype=object)
    assert facts.in_service(df).tolist() == [True, False, False, True, False, False, False]
    assert facts.in_service(pd.DataFrame({"x": [1, 2]})).tolist() == [True, True]
    assert facts.in_service(pd.DataFrame({"in_service": [1.0, 0.0, np.nan]})).tolist() == [True, False, False]


def test_labels():
    net = _station_net()
    net.trafo.at[1, "name"] = None
    assert facts.element_label("line", 0, "L1") == "line 0 (L1)"
    assert facts.element_label("trafo", 1, "") == "trafo 1"
    assert facts.element_labels(net, "trafo").tolist() == ["trafo 0 (station)", "trafo 1"]
    assert facts.element_names(net.trafo).tolist() == ["station", ""]
    assert facts.element_name(net.trafo, 1) == ""
    assert facts.element_name(net.line, 0) == "L1"


def test_q_from_pf():
    # 1 MW at pf 0.95: tan(acos(0.95)) = sqrt(1 - 0.95²) / 0.95 = 0.328684
    assert facts.q_from_pf(1.0, 0.95) == pytest.approx(math.sqrt(1 - 0.95**2) / 0.95)
    assert facts.q_from_pf(2.0, 1.0) == 0.0
    assert facts.q_from_pf(np.array([1.0, 2.0]), 0.8) == pytest.approx([0.75, 1.5])  # 3-4-5 triangle
    for bad in (0.0, 1.2, -0.5):
        with pytest.raises(InputError):
            facts.q_from_pf(1.0, bad)


def test_bus_xy_reads_geo_text_dict_and_legacy():
    net = pp.create_empty_network()
    pp.create_bus(net, 10.0, geodata=(1.5, -2.0))
    pp.create_bus(net, 10.0)
    pp.create_bus(net, 10.0)
    net.bus["geo"] = net.bus["geo"].astype(object)
    net.bus.at[2, "geo"] = {"type": "Point", "coordinates": [3.0, 4.0]}
    xy = facts.bus_xy(net)
    assert xy.loc[0].tolist() == [1.5, -2.0]
    assert xy.loc[1].isna().all()
    assert xy.loc[2].tolist() == [3.0, 4.0]
    net.bus["geo"] = None
    net["bus_geodata"] = pd.DataFrame({"x": [7.0, 8.0], "y": [9.0, 10.0]}, index=[0, 2])
    assert facts.bus_xy(net)["x"].tolist()[0] == 7.0


@pytest.mark.parametrize(("x", "y", "lonlat"), [
    ([7.80, 7.94], [48.30, 48.47], True),    # mv_oberrhein-like degrees
    ([0.0, 4.0], [0.0, 1.5], False),          # schematic km round the origin
    ([0.0, 4.0], [2.0, 4.0], False),          # schematic km near the axis: latitude < 5°
    ([100.0, 300.0], [50.0, 60.0], False),    # out of the longitude range
    ([8.0, 14.0], [48.0, 49.0], False),       # spans 6°: too wide for one distribution grid
])
def test_coords_are_lonlat(x, y, lonlat):
    assert facts.coords_are_lonlat(pd.DataFrame({"x": x, "y": y})) is lonlat


def test_bus_xy_km_projection():
    net = pp.create_empty_network()
    pp.create_bus(net, 20.0, geodata=(8.00, 50.0))
    pp.create_bus(net, 20.0, geodata=(8.01, 50.0))
    xy = facts.bus_xy_km(net)
    # 0.01° of longitude at 50° N: 0.01 × 111.320 × cos 50° = 0.7156 km
    assert xy["x_km"].diff().iat[1] == pytest.approx(0.01 * 111.320 * math.cos(math.radians(50.0)))
    assert facts.bus_xy_km(net, "m")["x_km"].diff().iat[1] == pytest.approx(0.01 / 1000)
    with pytest.raises(InputError):
        facts.bus_xy_km(net, "miles")  # type: ignore[arg-type]


@pytest.mark.parametrize("incomer", ["CB", "DS"])
def test_unit_behind_an_incomer_is_main_by_role(incomer):
    # 35/10 kV unit -> its LV terminal -> closed incomer (bus-bus) -> busbar with a CB-fed feeder: main
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 35.0)
    pp.create_ext_grid(net, hv)
    t_lv, bb, end = (pp.create_bus(net, 10.0) for _ in range(3))
    pp.create_transformer_from_parameters(net, hv, t_lv, 10.0, 35.0, 10.5, 0.5, 8.0, 10.0, 0.1)
    sw = pp.create_switch(net, t_lv, bb, "b", closed=True, type=incomer)
    ln = pp.create_line_from_parameters(net, bb, end, 1.0, 0.2, 0.3, 10.0, 0.4)
    pp.create_switch(net, bb, ln, "l", closed=True, type="CB")
    assert facts.trafo_is_main(net).tolist() == [True]
    net.switch.at[sw, "closed"] = False  # an open incomer joins nothing: no breaker-fed feeder behind it
    assert facts.trafo_is_main(net).tolist() == [False]
    net.switch.at[sw, "closed"] = True
    net.bus.at[bb, "vn_kv"] = 20.0  # a bus-bus switch between two voltages is no incomer
    assert facts.trafo_is_main(net).tolist() == [False]
