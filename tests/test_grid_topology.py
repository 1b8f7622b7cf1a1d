"""Topology: feeders, upstream paths, protective devices, sections and ties, on RBTS Bus 2, constructed
stations and SimBench grids."""

from __future__ import annotations

import gridscope as gs
import networkx as nx
import numpy as np
import pandapower as pp
import pytest
from gridscope.grid.defaults import apply_reliability_data
from gridscope.grid.topology import EDGE_LINE, EDGE_SWITCH, NO, build_topology

STD = "NA2XS2Y 1x185 RM/25 12/20 kV"


# ------------------------------------------------------------------------------------------------ RBTS Bus 2
def test_rbts_summary(rbts2_topology):
    s = rbts2_topology.summary()
    assert s["feeders"] == 4 and s["ties"] == 2 and s["loops"] == 0 and s["unsupplied_buses"] == 0
    assert s["sections"] == 37  # 36 line sections + the station bus


def test_rbts_nearest_protective_device_is_the_lateral_fuse(rbts2_net, rbts2_topology):
    net, topo = rbts2_net, rbts2_topology
    nodes = topo.element_nodes(net, "load")
    edges = topo.nearest_protective_edge[nodes]
    assert (edges >= 0).all()
    assert (topo.edge_kind[edges] == EDGE_SWITCH).all()
    switches = net.switch.loc[topo.edge_element[edges]]
    assert (switches["type"] == "FUSE").all()
    # the fuse sits on the lateral that ends at the load point
    lateral = net.line.loc[switches["element"].to_numpy()]
    lp_mv = net.bus.loc[lateral["to_bus"].to_numpy(), "name"].str.replace(" MV", "").tolist()
    assert lp_mv == net.load["name"].tolist()


def test_rbts_upstream_switches_of_lp7(rbts2_net, rbts2_topology):
    net, topo = rbts2_net, rbts2_topology
    node = topo.bus_node(net.load.loc[net.load["name"] == "LP7", "bus"].to_numpy())[0]
    up = topo.upstream_switches(net, int(node))
    assert net.switch.loc[up["switch"], "name"].tolist() == ["FUSE S11", "DS S10", "DS S7", "DS S4", "F1"]
    assert up["type"].tolist() == ["FUSE", "DS", "DS", "DS", "CB"]
    assert up["protective"].tolist() == [True, False, False, False, True]
    assert up["sectionalising"].tolist() == [False, True, True, True, False]
    # the whole path: T7, the switch nodes and line sections S11, S10, S7, S4, S1
    kinds = topo.edge_kind[topo.upstream_edges(int(node))]
    lines = topo.edge_element[topo.upstream_edges(int(node))][kinds == EDGE_LINE]
    assert net.line.loc[lines, "name"].tolist() == ["S11", "S10", "S7", "S4", "S1"]


def test_rbts_tree_is_consistent(rbts2_net, rbts2_topology):
    topo = rbts2_topology
    radial = topo.order
    assert radial.size == topo.n_node - 1  # everything but the station bus
    assert (topo.depth[radial] == topo.depth[topo.parent_node[radial]] + 1).all()
    pos = np.empty(topo.n_node, np.int64)
    pos[radial] = np.arange(radial.size)
    inner = radial[~topo.supply_node[topo.parent_node[radial]]]
    assert (pos[topo.parent_node[inner]] < pos[inner]).all()  # parents before children
    # every line's downstream node is its to_bus (sections are drawn away from the station)
    down = topo.element_nodes(rbts2_net, "line")
    assert (topo.bus_index[topo.node_bus[down]] == rbts2_net.line["to_bus"].to_numpy()).all()
    assert topo.feeder_of(rbts2_net, "line").value_counts().sort_index().tolist() == [11, 4, 10, 11]


def test_rbts_sections_are_switch_bounded(rbts2_net, rbts2_topology):
    topo = rbts2_topology
    line_edges = topo.element_edges("line")
    sections = topo.section_of_edge[line_edges]
    assert np.unique(sections).size == 36  # each RBTS line section is its own section
    assert (topo.section_of_edge[topo.element_edges("switch")] == NO).all()
    # a lateral's transformer shares its line's section
    trafo_edges = topo.element_edges("trafo")
    assert np.isin(topo.section_of_edge[trafo_edges], sections).all()


# ------------------------------------------------------------------------------------------------ constructed
def _station(with_middle_section: bool = True, head_as_bus_switch: bool = False):
    """110 kV source, two 110/20 kV transformers onto busbar sections A and C; busbar B between them through
    two closed couplers (or A–C directly); two feeders from B (or A), each through a breaker, joined by a
    normally-open tie."""
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0, name="HV")
    pp.create_ext_grid(net, hv)
    a = pp.create_bus(net, 20.0, name="A", zone="B")
    c = pp.create_bus(net, 20.0, name="C", zone="B")
    for lv, name in ((a, "T1"), (c, "T2")):
        t = pp.create_transformer(net, hv, lv, "25 MVA 110/20 kV", name=name)
        pp.create_switch(net, lv, t, et="t", type="CB", name=f"{name} CB")
    if with_middle_section:
        b = pp.create_bus(net, 20.0, name="B", zone="B")
        pp.create_switch(net, a, b, et="b", type="CB", name="coupler AB")
        pp.create_switch(net, b, c, et="b", type="CB", name="coupler BC")
    else:
        b = a
        pp.create_switch(net, a, c, et="b", type="CB", name="coupler AC")
    ends = []
    for k in range(2):
        head = b
        if head_as_bus_switch:
            head = pp.create_bus(net, 20.0, name=f"H{k}", zone="B")
            pp.create_switch(net, b, head, et="b", type="CB", name=f"CB{k}")
        prev = head
        for i in range(3):
            nxt = pp.create_bus(net, 20.0, name=f"F{k}.{i}", zone="B")
            line = pp.create_line(net, prev, nxt, 1.0, STD, name=f"L{k}.{i}")
            if i == 0 and not head_as_bus_switch:
                pp.create_switch(net, prev, line, et="l", type="CB", name=f"CB{k}")
            pp.create_load(net, nxt, 0.2, name=f"LD{k}.{i}", customers=10)
            prev = nxt
        ends.append(prev)
    pp.create_switch(net, ends[0], ends[1], et="b", closed=False, type="LBS", name="tie")
    return apply_reliability_data(net)


@pytest.mark.parametrize("middle", [True, False])
@pytest.mark.parametrize("bus_switch_heads", [True, False])
def test_station_busbar_sections_are_supply(middle, bus_switch_heads):
    net = _station(middle, bus_switch_heads)
    topo = build_topology(net)
    assert sorted(topo.feeders["name"]) == ["CB0", "CB1"]
    assert (net.switch.loc[topo.feeders["head_switch"], "name"].to_numpy() == topo.feeders["name"].to_numpy()).all()
    assert topo.loop_edges.size == 0
    assert topo.supply_node[topo.bus_node(net.bus.index[net.bus["name"].isin(["A", "B", "C"])])].all()
    assert len(topo.ties) == 1 and set(topo.ties[["feeder_a", "feeder_b"]].iloc[0]) == {0, 1}
    assert gs.validate(net, topology=topo) == []


def test_two_switches_at_one_line_end_are_chained(rbts2_copy):
    net = rbts2_copy
    s1 = net.line.index[net.line["name"] == "S1"][0]
    ds = pp.create_switch(net, int(net.line.at[s1, "from_bus"]), int(s1), et="l", type="DS", name="extra DS")
    apply_reliability_data(net)
    topo = build_topology(net)
    node = topo.bus_node(net.load.loc[net.load["name"] == "LP1", "bus"].to_numpy())[0]
    names = net.switch.loc[topo.upstream_switches(net, int(node))["switch"], "name"].tolist()
    assert names[-2:] == ["extra DS", "F1"] and ds in net.switch.index
    assert gs.validate(net, topology=topo) == []


def test_unsupplied_island_is_not_a_loop(rbts2_copy):
    net = rbts2_copy
    net.switch.loc[net.switch["name"] == "F1", "closed"] = False
    b3 = int(net.bus.index[net.bus["name"] == "B3"][0])
    b5 = int(net.bus.index[net.bus["name"] == "B5"][0])
    pp.create_line(net, b3, b5, 1.0, "149-AL1/24-ST1A 10.0", name="island loop")
    topo = build_topology(net)
    assert topo.loop_edges.size == 0
    assert not topo.energised[topo.bus_node(b3)].any()


def test_trafo3w_station():
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0)
    pp.create_ext_grid(net, hv)
    mv = pp.create_bus(net, 20.0, zone="C")
    lv = pp.create_bus(net, 10.0, zone="C")
    pp.create_transformer3w(net, hv, mv, lv, "63/25/38 MVA 110/20/10 kV")
    for bus, name in ((mv, "mv feeder"), (lv, "lv feeder")):
        end = pp.create_bus(net, net.bus.at[bus, "vn_kv"], zone="C")
        line = pp.create_line(net, bus, end, 2.0, STD, name=name)
        pp.create_switch(net, bus, line, et="l", type="CB", name=name)
        pp.create_load(net, end, 1.0, customers=5)
    apply_reliability_data(net)
    topo = build_topology(net)
    assert sorted(topo.feeders["name"]) == ["lv feeder", "mv feeder"]
    assert gs.validate(net, topology=topo) == []


def _station_35_10(feeder_breakers: bool = True):
    """A 35 kV source, a 5 km 35 kV line to a 35/10 kV station, two 10 kV feeders of two sections each."""
    net = pp.create_empty_network()
    src = pp.create_bus(net, 35.0, name="35 kV source", zone="B")
    pp.create_ext_grid(net, src)
    hv = pp.create_bus(net, 35.0, name="station 35 kV", zone="B")
    pp.create_line_from_parameters(net, src, hv, 5.0, 0.17, 0.38, 10.0, 0.45, name="35 kV line")
    mv = pp.create_bus(net, 10.0, name="station 10 kV", zone="B")
    pp.create_transformer_from_parameters(net, hv, mv, sn_mva=10.0, vn_hv_kv=35.0, vn_lv_kv=10.0,
                                          vk_percent=7.5, vkr_percent=0.6, pfe_kw=9.0, i0_percent=0.5,
                                          name="T 35/10")
    for f in ("F1", "F2"):
        prev = mv
        for k in range(2):
            nxt = pp.create_bus(net, 10.0, name=f"{f}.{k}", zone="B")
            line = pp.create_line(net, prev, nxt, 1.0, STD, name=f"{f} L{k}")
            if k == 0 and feeder_breakers:
                pp.create_switch(net, prev, line, et="l", type="CB", name=f)
            pp.create_load(net, nxt, 0.5, customers=10)
            prev = nxt
    apply_reliability_data(net)
    return net


def test_35_10_kv_station_is_supply_by_role():
    net = _station_35_10()
    topo = build_topology(net)
    # the 35/10 kV transformer is a main transformer (its 10 kV busbar heads breaker-fed feeders): the 35 kV
    # line, the transformer and the 10 kV busbar are supply; each breaker heads one feeder of 2 buses, 2 loads
    assert sorted(topo.feeders["name"]) == ["F1", "F2"]
    assert topo.feeders["n_bus"].tolist() == [2, 2] and topo.feeders["n_load"].tolist() == [2, 2]
    assert topo.supply_node[topo.bus_node(net.bus.index[:3])].all()
    assert topo.edge_supply[topo.element_edges("trafo")].all()
    assert topo.edge_supply[topo.element_edges("line")[0]]
    assert net.trafo.at[0, "repair_h"] == 15.0  # main-transformer data from the defaults table
    assert gs.validate(net, topology=topo) == []


def test_35_10_kv_without_feeder_breakers_is_one_feeder():
    # nothing marks the 10 kV busbar as a station's: by voltage alone (35 kV ≤ 36 kV) the 35 kV line heads one
    # feeder that holds everything downstream
    net = _station_35_10(feeder_breakers=False)
    topo = build_topology(net)
    assert len(topo.feeders) == 1 and topo.feeders["n_bus"].iat[0] == 6
    assert net.trafo.at[0, "repair_h"] == 200.0  # distribution-transformer data


@pytest.mark.parametrize("seed", range(5))
def test_random_radial_networks_match_networkx(seed):
    rng = np.random.default_rng(seed)
    net = pp.create_empty_network()
    src = pp.create_bus(net, 20.0, zone="C")
    pp.create_ext_grid(net, src)
    buses = [src]
    n = int(rng.integers(20, 80))
    for i in range(n):
        parent = buses[int(rng.integers(0, len(buses)))]
        b = pp.create_bus(net, 20.0, zone="C")
        line = pp.create_line(net, parent, b, float(rng.uniform(0.1, 2)), STD)
        if parent == src:
            pp.create_switch(net, src, line, et="l", type="CB", name=f"CB{i}")
        elif rng.random() < 0.3:
            pp.create_switch(net, parent, line, et="l", type=str(rng.choice(["FUSE", "DS"])))
        pp.create_load(net, b, 0.1, customers=1)
        buses.append(b)
    apply_reliability_data(net)
    topo = build_topology(net)
    graph = nx.Graph()
    graph.add_edges_from(zip(net.line["from_bus"], net.line["to_bus"], strict=True))
    depth = nx.single_source_shortest_path_length(graph, src)
    # one feeder per line leaving the source; feeders are the components without the source
    graph.remove_node(src)
    comps = list(nx.connected_components(graph))
    assert len(topo.feeders) == len(comps)
    feeder = topo.feeder_of(net, "bus")
    for comp in comps:
        assert feeder.loc[list(comp)].nunique() == 1
    # line depth in the graph equals the number of line edges on the upstream path
    for b in buses[1:]:
        edges = topo.upstream_edges(int(topo.bus_node(b)[0]))
        assert int((topo.edge_kind[edges] == EDGE_LINE).sum()) == depth[b]
    assert gs.validate(net, topology=topo) == []


# ------------------------------------------------------------------------------------------------ SimBench
def _check_simbench(net, topo):
    s = topo.summary()
    assert s["loops"] == 0, "feeders must be radial"
    assert s["ties"] > 0
    assert s["unsupplied_buses"] == 0
    load_nodes = topo.element_nodes(net, "load")
    assert topo.energised[load_nodes].all()
    # every load point is in a feeder or at the supply (SimBench puts equivalent loads on station busbars)
    assert ((topo.feeder_of_node[load_nodes] >= 0) | topo.supply_node[load_nodes]).all()
    assert (topo.feeders["head_switch"] >= 0).all()
    assert topo.feeders["name"].is_unique
    # every tie joins two energised points
    assert topo.energised[topo.ties["node_a"]].all() and topo.energised[topo.ties["node_b"]].all()
    assert gs.validate(net, topology=topo) == []


def test_simbench_mv_urban(simbench_mv):
    topo = build_topology(simbench_mv)
    _check_simbench(simbench_mv, topo)
    # the units reach busbar sections 4-7 through incomer breakers (bus-bus "CB MV3.101 Busbar0..3"): the
    # sections are station busbars and every breaker-fed line leaving them is a feeder (issue 8 item 2): ten
    # with loads plus the reserve line to the base station's busbar 1B; before, four feeders named after the
    # incomers
    sw = simbench_mv.switch
    cb_lines = sw.index[sw["et"].eq("l") & sw["type"].eq("CB") & sw["bus"].isin([4, 5, 6, 7])]
    assert sorted(topo.feeders["head_switch"]) == sorted(cb_lines)
    assert len(topo.feeders) == 11
    assert not topo.feeders["name"].str.contains("Busbar").any()


@pytest.mark.slow
def test_simbench_complete_data(simbench_big):
    topo = build_topology(simbench_big)  # speed: benchmarks/bench_topology.py, not a timed test
    assert topo.n_bus == 37587
    _check_simbench(simbench_big, topo)
    # the equivalent external grids of levels present in the data set are off: 7 EHV sources remain
    assert int(simbench_big.ext_grid["in_service"].sum()) == 7
    # every MV feeder leaves a station busbar through its breaker, none through a transformer's MV breaker
    head = simbench_big.switch.loc[topo.feeders["head_switch"]]
    assert (head["type"] == "CB").all()
    assert not head["name"].str.contains("MV-Side").any()
