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
