"""RBTS Bus 2 as built by gridscope matches shared/reference/rbts-bus2.md."""

from __future__ import annotations

import gridscope as gs
import numpy as np
import pytest
from gridscope.grid.builtin import rbts2

FEEDERS = {  # name: (load points, customers, average MW)
    "F1": (range(1, 8), 652, 3.645),
    "F2": (range(8, 10), 2, 2.150),
    "F3": (range(10, 16), 632, 3.106),
    "F4": (range(16, 23), 622, 3.390),
}


def test_totals(rbts2_net):
    net = rbts2_net
    assert len(net.load) == 22
    assert net.load["name"].tolist() == [f"LP{i}" for i in range(1, 23)]
    assert int(net.load["customers"].sum()) == 1908
    assert net.load["customers"].dtype.kind == "i"
    assert net.load["p_avg_mw"].sum() == pytest.approx(12.291, abs=1e-9)
    assert net.load["p_mw"].sum() == pytest.approx(20.0006, abs=1e-9)
    assert len(net.line) == 36
    assert net.line["length_km"].sum() == pytest.approx(26.15, abs=1e-9)
    assert (net.line["type"] == "ol").all()
    assert len(net.ext_grid) == 1


def test_distribution_transformers(rbts2_net):
    net = rbts2_net
    assert len(net.trafo) == 20
    assert (net.trafo["vn_hv_kv"] == 11.0).all() and (net.trafo["vn_lv_kv"] == 0.415).all()
    assert (net.trafo["lambda_per_yr"] == 0.015).all() and (net.trafo["repair_h"] == 200.0).all()
    # every LP except LP8 and LP9 behind a transformer; those two are 11 kV customers
    load_kv = net.load["bus"].map(net.bus["vn_kv"])
    lv = {f"LP{i}" for i in range(1, 23)} - {"LP8", "LP9"}
    assert set(net.load.loc[load_kv == 0.415, "name"]) == lv
    assert set(net.load.loc[load_kv == 11.0, "name"]) == {"LP8", "LP9"}


def test_reliability_data_from_the_reference(rbts2_net):
    net = rbts2_net
    assert np.allclose(net.line["lambda_per_km"], 0.065)
    assert np.allclose(net.line["repair_h"], 5.0)
    assert np.allclose(net.switch["switching_h"], 1.0)
    assert (net.switch["lambda_per_yr"] == 0).all() and (net.bus["lambda_per_yr"] == 0).all()
    # sum of line failure rates: 0.065 f/(km·yr) × 26.15 km
    assert 0.065 * net.line["length_km"].sum() == pytest.approx(1.69975)


def test_switches(rbts2_net):
    sw = rbts2_net.switch
    assert sw["type"].value_counts().to_dict() == {"FUSE": 22, "DS": 10, "CB": 4, "LBS": 2}
    assert set(sw.loc[sw["type"] == "CB", "name"]) == {"F1", "F2", "F3", "F4"}
    assert sw.loc[sw["type"] == "CB", "closed"].all()
    ties = sw[~sw["closed"]]
    assert ties["name"].tolist() == ["tie B6-B8", "tie B12-B16"]
    assert (ties["et"] == "b").all()
    # fuses on every lateral, disconnectors on every main section except the first
    line_name = sw["element"].map(rbts2_net.line["name"])
    fuses = set(line_name[sw["type"] == "FUSE"])
    assert fuses == {f"S{i}" for i in (2, 3, 5, 6, 8, 9, 11, 13, 15, 17, 19, 20, 22, 23, 25, 27, 28, 30, 31,
                                       33, 35, 36)}
    assert set(line_name[sw["type"] == "DS"]) == {f"S{i}" for i in (4, 7, 10, 14, 18, 21, 24, 29, 32, 34)}
    assert set(line_name[sw["type"] == "CB"]) == {"S1", "S12", "S16", "S26"}
    # each switch at the upstream end of its section
    lines = rbts2_net.line.loc[sw.loc[sw["et"] == "l", "element"]]
    assert (lines["from_bus"].to_numpy() == sw.loc[sw["et"] == "l", "bus"].to_numpy()).all()


def test_feeders(rbts2_net, rbts2_topology):
    net, topo = rbts2_net, rbts2_topology
    assert topo.feeders["name"].tolist() == ["F1", "F2", "F3", "F4"]
    feeder_of_load = topo.feeder_name_of(net, "load")
    for name, (lps, customers, avg) in FEEDERS.items():
        loads = net.load[feeder_of_load == name]
        assert loads["name"].tolist() == [f"LP{i}" for i in lps]
        assert int(loads["customers"].sum()) == customers
        assert loads["p_avg_mw"].sum() == pytest.approx(avg, abs=1e-9)


def test_ties_join_f1_f2_and_f3_f4(rbts2_net, rbts2_topology):
    topo = rbts2_topology
    names = topo.feeders["name"].to_numpy()
    joined = {frozenset((names[a], names[b])) for a, b in zip(topo.ties["feeder_a"], topo.ties["feeder_b"],
                                                               strict=True)}
    assert joined == {frozenset(("F1", "F2")), frozenset(("F3", "F4"))}
    assert topo.ties["name"].tolist() == ["tie B6-B8", "tie B12-B16"]


def test_zones(rbts2_net):
    by_feeder = rbts2_net.bus.groupby(gs.build_topology(rbts2_net).feeder_name_of(rbts2_net, "bus"))["zone"]
    assert by_feeder.unique().map(list).to_dict() == {"F1": ["A"], "F2": ["A"], "F3": ["B"], "F4": ["B"]}


def test_published_variants():
    no_ties = rbts2(ties=False)
    assert (no_ties.switch["type"] != "LBS").all() and len(no_ties.switch) == 36
    fuses_only = rbts2(disconnectors=False)
    assert set(fuses_only.switch["type"]) == {"CB", "FUSE"}
    assert gs.validate(no_ties) == [] and gs.validate(fuses_only) == []
    assert len(gs.build_topology(no_ties).ties) == 0
    case_e = rbts2(transformer_repair_h=10.0)
    assert (case_e.trafo["repair_h"] == 10.0).all()
