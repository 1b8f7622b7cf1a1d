"""Stations by role (grid/stations.py): busbar sections of main transformers joined by bus-bus switches."""

from typing import Any

import pandapower as pp
import pytest
from gridscope.grid.stations import build_stations, station_problems
from gridscope.grid.topology import build_topology


def _two_unit_station(coupler: bool, coupler_closed: bool = False) -> Any:
    """110/10 kV station, two 40 MVA units on two busbar sections, one CB-fed feeder per section."""
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0, name="HV")
    pp.create_ext_grid(net, hv)
    bars = [pp.create_bus(net, 10.0, name=f"BB{k}") for k in (1, 2)]
    for k, bb in enumerate(bars):
        pp.create_transformer(net, hv, bb, "40 MVA 110/10 kV", name=f"T{k + 1}")
        end = pp.create_bus(net, 10.0, name=f"F{k + 1}")
        ln = pp.create_line(net, bb, end, 1.0, "NA2XS2Y 1x185 RM/25 12/20 kV", name=f"L{k + 1}")
        pp.create_switch(net, bb, ln, "l", closed=True, type="CB")
        pp.create_load(net, end, p_mw=5.0)
    if coupler:
        pp.create_switch(net, bars[0], bars[1], "b", closed=coupler_closed, type="CB", name="coupler")
    return net


@pytest.mark.parametrize("closed", [False, True])
def test_two_unit_station_with_coupler_is_one_station(closed: bool) -> None:
    # Two units whose busbars are joined by a coupler (open or closed): one station, 2 x 40 = 80 MVA.
    net = _two_unit_station(coupler=True, coupler_closed=closed)
    st = build_stations(net)
    assert len(st.table) == 1
    row = st.table.loc[0]
    assert row["units"] == (0, 1) and row["n_units"] == 2
    assert row["rating_mva"] == pytest.approx(80.0) and row["largest_unit_mva"] == pytest.approx(40.0)
    assert row["busbars"] == (1, 2) and row["couplers"] == (int(net.switch.index[-1]),)
    assert row["couplers_closed"] == (closed,)
    assert row["supply_lines"] == ()  # fed straight from the ext_grid
    assert sorted(st.unit_table["station"]) == [0, 0]
    assert list(st.of_bus[[1, 2]]) == [0, 0] and st.of_bus[0] == -1


def test_two_units_without_coupler_are_two_stations() -> None:
    net = _two_unit_station(coupler=False)
    st = build_stations(net)
    assert len(st.table) == 2
    assert list(st.table["n_units"]) == [1, 1]
    assert all(len(f) == 1 for f in st.table["feeders"])  # one CB-fed feeder per section
    assert station_problems(net, build_topology(net)) == []


def test_rbts2_has_no_main_transformer_station(rbts2_net: Any) -> None:
    # RBTS Bus 2 is fed straight at its 11 kV busbars (no 33/11 kV transformer modelled).
    assert len(build_stations(rbts2_net).table) == 0


def test_mv_oberrhein_two_stations() -> None:
    import gridscope as gs

    # pandapower's Oberrhein: 2 substations, one 110/20 kV 25 MVA transformer each (pandapower docs).
    st = build_stations(gs.load_network("mv_oberrhein"))
    assert len(st.table) == 2
    assert list(st.table["n_units"]) == [1, 1]
    assert list(st.table["rating_mva"]) == [25.0, 25.0]


@pytest.mark.simbench
def test_simbench_urban_split_busbar_is_one_station(simbench_mv: Any) -> None:
    # 1-MV-urban: two 63 MVA units on busbar sections joined by section breakers, some normally open.
    st = build_stations(simbench_mv)
    assert len(st.table) == 1
    row = st.table.loc[0]
    assert row["n_units"] == 2 and row["rating_mva"] == pytest.approx(126.0)
    assert len(row["couplers"]) >= 1 and not all(row["couplers_closed"])


def test_supply_boundary_names_the_station_voltages() -> None:
    from gridscope.grid.stations import supply_boundary

    net = _two_unit_station(coupler=True)
    text = supply_boundary(net, build_topology(net))
    assert "1 station(s)" in text and "110/10 kV" in text


def test_supply_boundary_reaches_the_results_attrs():
    # pandapower's Oberrhein grid is fed by two 110/20 kV substations (its description); the reliability
    # results say where "supply" (taken as perfectly reliable) ends.
    import gridscope as gs

    ds = gs.Study("mv_oberrhein").reliability()
    text = ds.attrs["supply_boundary"]
    assert "2 station(s)" in text and "110/20 kV" in text


# ------------------------------------------------------------------- issue 8 item 2: stations by role
def _rural_station(hv_kv: float, *, incomer: str = "CB", feeder_head: str = "CB") -> Any:
    """A hv_kv/10 kV station as built in the field: the HV line from the grid behind its own breaker, the unit,
    an incomer switch to the 10 kV busbar and two feeders of two 2 km lines (0.05/km·yr, 10 h repair) with
    100 customers at each line end."""
    from gridscope.grid.defaults import apply_reliability_data

    net = pp.create_empty_network()
    src = pp.create_bus(net, hv_kv, name="grid")
    pp.create_ext_grid(net, src)
    hv = pp.create_bus(net, hv_kv, name="HV")
    l_hv = pp.create_line_from_parameters(net, src, hv, 8.0, 0.2, 0.4, 10.0, 0.4, name="HV line",
                                          lambda_per_km=0.1, repair_h=20.0)
    pp.create_switch(net, src, l_hv, "l", closed=True, type="CB", name="CB HV")
    t_lv = pp.create_bus(net, 10.0, name="T1 LV")
    pp.create_transformer_from_parameters(net, hv, t_lv, sn_mva=10.0, vn_hv_kv=hv_kv, vn_lv_kv=10.5,
                                          vkr_percent=0.5, vk_percent=8.0, pfe_kw=10.0, i0_percent=0.1,
                                          name="T1")
    bb = pp.create_bus(net, 10.0, name="BB")
    pp.create_switch(net, t_lv, bb, "b", closed=True, type=incomer, name="incomer")
    for k in (1, 2):
        prev = bb
        for j in range(2):
            b = pp.create_bus(net, 10.0, name=f"F{k}B{j}", zone="B")
            ln = pp.create_line_from_parameters(net, prev, b, 2.0, 0.2, 0.3, 10.0, 0.4, name=f"F{k}L{j}",
                                                lambda_per_km=0.05, repair_h=10.0)
            if j == 0:
                pp.create_switch(net, prev, ln, "l", closed=True, type=feeder_head, name=f"F{k}")
            pp.create_load(net, b, p_mw=1.0, customers=100, p_avg_mw=0.5)
            prev = b
    return apply_reliability_data(net)


@pytest.mark.parametrize("incomer", ["CB", "DS"])
def test_35_kv_station_same_indices_as_110_kv(incomer: str) -> None:
    import gridscope as gs

    out = {}
    for hv_kv in (35.0, 66.0, 110.0):
        net = _rural_station(hv_kv, incomer=incomer)
        topo = build_topology(net)
        # the unit is a main transformer by role (its busbar, behind the incomer, feeds breaker-fed feeders):
        # one station, two feeders named after their own breakers, not one named after the incomer
        assert topo.feeders["name"].tolist() == ["F1", "F2"]
        assert len(build_stations(net, topo).table) == 1
        ds = gs.assess_reliability(net)
        # only the four 10 kV lines fail (the HV line, the unit and the busbar are supply): per feeder
        # 2 × (2 km × 0.05) = 0.2/yr, each cleared by the feeder CB and repaired in 10 h -> every load point
        # 0.2/yr and 2.0 h/yr: SAIFI 0.2, SAIDI 2.0 h, ENS = 4 × 0.5 MW × 2.0 h = 4.0 MWh
        assert sorted(ds["component_element"].values.tolist()) == ["line"] * 4
        out[hv_kv] = [float(ds[v].sel(zone="system")) for v in ("SAIFI", "SAIDI", "ENS")]
        assert out[hv_kv] == pytest.approx([0.2, 2.0, 4.0])
        assert ds.attrs["trafo_role_warnings"] == ""
        assert f"{hv_kv:g}/10 kV" in ds.attrs["supply_boundary"]
    assert out[35.0] == out[110.0] == out[66.0]


def test_role_warning_for_a_35_kv_unit_without_feeder_breakers() -> None:
    from gridscope.grid.stations import role_warnings

    # feeders headed by load-break switches: nothing marks the 35/10 kV unit as a station transformer
    net = _rural_station(35.0, feeder_head="LBS")
    warn = role_warnings(net)
    assert [(t, i) for t, i, _ in warn] == [("trafo", 0)]
    assert "35/10.5 kV" in warn[0][2] and "distribution transformer" in warn[0][2]
    assert role_warnings(_rural_station(35.0)) == []
    assert role_warnings(_rural_station(110.0, feeder_head="LBS")) == []  # above 36 kV: main whatever it feeds
    # a 10/0.4 kV unit is a distribution transformer without doubt
    dist = _rural_station(35.0)
    lv = pp.create_bus(dist, 0.4)
    pp.create_transformer(dist, int(dist.bus.index[dist.bus["name"] == "F1B1"][0]), lv, "0.25 MVA 10/0.4 kV")
    assert role_warnings(dist) == []
