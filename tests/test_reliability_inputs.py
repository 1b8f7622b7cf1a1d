"""Reliability on bad input (validator problems, not crashes or silent zeros) and the tie capacity check."""

from __future__ import annotations

import gridscope as gs
import numpy as np
import pandapower as pp
import pytest
from _feeders import chain_feeder


def _problems(net):
    with pytest.raises(gs.ValidationError) as err:
        gs.assess_reliability(net)
    return err.value.problems


def test_network_without_protective_devices():
    net = gs.load_network("rbts2")
    net.switch.loc[net.switch["type"].isin(["CB", "FUSE"]), "type"] = "DS"
    problems = _problems(net)
    heads = {p.name for p in problems if "no breaker or fuse" in p.message}
    assert heads == {"F1", "F2", "F3", "F4"}
    assert all(p.table == "switch" for p in problems if p.name in heads)


def test_zero_customers():
    net = gs.load_network("rbts2")
    net.load["customers"] = 0
    problems = _problems(net)
    assert any("zero customers" in p.message for p in problems)


def test_nan_and_negative_rates_all_reported():
    net = gs.load_network("rbts2")
    net.line.loc[3, "lambda_per_km"] = np.nan
    net.trafo.loc[2, "repair_h"] = -1.0
    problems = _problems(net)
    found = {(p.table, p.index) for p in problems}
    assert ("line", 3) in found and ("trafo", 2) in found
    assert any(p.name == "S4" and "lambda_per_km" in p.message for p in problems)


def test_load_without_source():
    net = gs.load_network("rbts2")
    bus = pp.create_bus(net, 11.0, name="island", zone="A")
    load = pp.create_load(net, bus, 0.1, name="orphan", customers=5, p_avg_mw=0.05)
    net.bus.loc[bus, ["lambda_per_yr", "repair_h", "planned_per_yr", "planned_h"]] = 0.0
    problems = _problems(net)
    assert any(p.table == "load" and p.index == load and p.name == "orphan" for p in problems)


def test_validate_false_skips_the_check_but_not_the_guard():
    net = gs.load_network("rbts2")
    net.load["customers"] = 0
    with pytest.raises(gs.InputError, match="no customers"):
        gs.assess_reliability(net, validate=False)


def _tie_chain(max_i_ka: float):
    sections = [
        {"km": 1.0, "lam": 0.1, "r": 4.0, "customers": 100, "p_avg_mw": 1.0},
        {"km": 2.0, "lam": 0.1, "r": 4.0, "customers": 50, "p_avg_mw": 0.5, "switch": "DS"},
        {"km": 1.0, "lam": 0.2, "r": 10.0, "customers": 10, "p_avg_mw": 0.2, "switch": "DS"},
    ]
    net = chain_feeder(sections, tie=True, tie_switching_h=1.5)
    net.line.loc[net.line["name"] == "LT", "max_i_ka"] = max_i_ka
    return net


def test_tie_capacity_check_refuses_transfers_the_backup_cannot_carry():
    # backup head line LT: √3 · 10 kV · 1 A · 0.95 = 0.016 MW of headroom, the blocks need 0.3 and 0.2 MW
    weak = _tie_chain(0.001)
    unchecked = gs.assess_reliability(weak)
    checked = gs.assess_reliability(weak, tie_capacity=True)
    assert int(checked.attrs["tie_transfers_blocked"]) == 2
    # refused on faults of L0 (0.1/yr, block LD2+LD3) and L1 (0.2/yr, block LD3)
    assert float(checked.attrs["tie_transfers_blocked_per_yr"]) == pytest.approx(0.1 + 0.2)
    u = dict(zip(checked["load_name"].values, checked["lp_unavailability"].values, strict=True))
    assert u["LD2"] == pytest.approx(1.4) and u["LD3"] == pytest.approx(3.2)  # as if there were no tie
    u0 = dict(zip(unchecked["load_name"].values, unchecked["lp_unavailability"].values, strict=True))
    assert u0["LD2"] == pytest.approx(1.15) and u0["LD3"] == pytest.approx(2.45)
    # a strong backup carries both blocks: same as without the check
    strong = gs.assess_reliability(_tie_chain(0.4), tie_capacity=True)
    assert int(strong.attrs["tie_transfers_blocked"]) == 0
    assert float(strong["SAIDI"].sel(zone="system")) == pytest.approx(float(unchecked["SAIDI"].sel(zone="system")))


def test_tie_capacity_by_feeder_headroom():
    net = _tie_chain(0.4)
    topo = gs.build_topology(net)
    backup = topo.feeders["name"][topo.feeders["name"] != "CB L0"].iloc[0]
    ds = gs.assess_reliability(net, tie_capacity={backup: 0.25})  # carries the 0.2 MW block, not 0.3 MW
    assert int(ds.attrs["tie_transfers_blocked"]) == 1
    with pytest.raises(gs.InputError, match="unknown feeders"):
        gs.assess_reliability(net, tie_capacity={"nope": 1.0})
