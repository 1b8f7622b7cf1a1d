"""Capacity features that join other parts: exact AC bus capacity in the tables, reliability of a connection."""

from __future__ import annotations

import gridscope as gs
import numpy as np
import pytest
from gridscope.capacity.bus_capacity import bus_open_capacity


def test_exact_bus_columns_equal_the_bus_search():
    net = gs.load_network("cigre_mv")
    cap = gs.assess_capacity(net, exact_bus=True)
    bus = cap.table("bus")
    direct = bus_open_capacity(net, bus["id"].to_numpy(), pf=0.95)
    np.testing.assert_allclose(bus["ac_open_capacity_mw"].to_numpy(),
                               direct.loc[bus["id"], "open_capacity_mw"].to_numpy())
    np.testing.assert_allclose(bus["ac_physical_capacity_mw"].to_numpy(),
                               direct.loc[bus["id"], "physical_capacity_mw"].to_numpy())
    assert (bus["ac_physical_capacity_mw"] >= bus["ac_open_capacity_mw"] - 1e-9).all()
    assert cap.meta["exact_bus"] is True
    plain = gs.assess_capacity(net, thermal_only=True)
    assert "ac_open_capacity_mw" not in plain.table("bus").columns


def test_exact_bus_headers_in_chinese(tmp_path):
    import openpyxl

    cap = gs.assess_capacity(gs.load_network("cigre_mv"), exact_bus=True)
    path = cap.to_excel(tmp_path / "oc.xlsx", lang="zh")
    path = path[0] if isinstance(path, list | tuple) else path
    wb = openpyxl.load_workbook(path)
    headers = [c.value for c in next(wb["母线"].iter_rows(max_row=1))]
    assert "精确可开放容量(MW)" in headers and "精确受限元件" in headers


def test_connection_reliability_impact_matches_rbts_load_point():
    net = gs.load_network("rbts2")
    lp8_bus = int(net.load.loc[net.load["name"] == "LP8", "bus"].iloc[0])
    dec = gs.evaluate_connection(net, p_mw=0.2, bus=lp8_bus, reliability=True)
    rel = dec.reliability
    # a new customer on LP8's bus sees exactly LP8's published λ and U (shared/reference/rbts-bus2.md)
    assert rel["new_customer_interruptions_per_yr"] == pytest.approx(0.13975, rel=1e-9)
    assert rel["new_customer_hours_per_yr"] == pytest.approx(0.54275, rel=1e-9)
    assert rel["SAIDI_before"] == pytest.approx(3.612587, rel=1e-6)
    expected_saifi = (0.2482109538784067 * 1908 + 0.13975) / 1909
    assert rel["SAIFI_after"] == pytest.approx(expected_saifi, rel=1e-9)
    assert rel["ENS_after"] == pytest.approx(rel["ENS_before"] + 0.2 * 0.54275, rel=1e-9)


def test_cli_capacity_exact_bus_and_connect_reliability(run):
    result = run("capacity", "cigre_mv", "--exact-bus", "--level", "bus", "--head", "3")
    assert result.exit_code == 0 and "ac_open_capacity_mw" in result.output
    result = run("connect", "rbts2", "--p-mw", "0.2", "--bus", "20", "--reliability")
    assert result.exit_code == 0 and "new_customer_hours_per_yr 0.5428" in result.output


def test_exact_bus_default_only_up_to_the_size_limit(rbts2_net, monkeypatch):
    from gridscope.capacity import api

    monkeypatch.setattr(api, "EXACT_BUS_DEFAULT_MAX_BUSES", 10)  # rbts2 has 57 buses
    cap = api.assess_capacity(rbts2_net)
    assert "ac_open_capacity_mw" not in cap.table("bus").columns and cap.meta["exact_bus"] is False
    assert "57 buses > 10" in cap.meta["exact_bus_note"]
    forced = api.assess_capacity(rbts2_net, exact_bus=True)
    assert "ac_open_capacity_mw" in forced.table("bus").columns and "exact_bus_note" not in forced.meta
