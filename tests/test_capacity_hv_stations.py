"""A station whose lower side is above the radial MV range (220/110 kV) in the open-capacity tables.

SimBench's complete grid (``1-complete_data-mixed-all-0-sw``) has 111 such stations; the substation step took
the station's bus from its MV supply nodes, found none and raised a numpy ``ValueError`` (``Study.capacity`` on
the 37k-bus grid failed). Here the same shape, small: 220 kV grid -> 220/110 kV unit -> 110 kV busbar ->
110/20 kV unit -> 20 kV busbar -> one 20 kV feeder.
"""

from __future__ import annotations

import gridscope as gs
import pandapower as pp
import pytest


@pytest.fixture
def chain():
    net = pp.create_empty_network()
    b220 = pp.create_bus(net, 220.0, name="EHV")
    b110 = pp.create_bus(net, 110.0, name="HV")
    b20 = pp.create_bus(net, 20.0, name="MV busbar")
    b1 = pp.create_bus(net, 20.0, name="MV 1")
    pp.create_ext_grid(net, b220)
    pp.create_transformer_from_parameters(net, b220, b110, sn_mva=100.0, vn_hv_kv=220.0, vn_lv_kv=110.0,
                                          vkr_percent=0.3, vk_percent=12.0, pfe_kw=0.0, i0_percent=0.0,
                                          name="EHV unit")
    pp.create_transformer_from_parameters(net, b110, b20, sn_mva=40.0, vn_hv_kv=110.0, vn_lv_kv=20.0,
                                          vkr_percent=0.4, vk_percent=12.0, pfe_kw=0.0, i0_percent=0.0,
                                          name="HV unit")
    line = pp.create_line_from_parameters(net, b20, b1, length_km=2.0, r_ohm_per_km=0.1, x_ohm_per_km=0.1,
                                          c_nf_per_km=0.0, max_i_ka=0.4, name="feeder head")
    pp.create_switch(net, b20, line, et="l", type="CB", name="CB 1")
    pp.create_load(net, b1, p_mw=4.0, q_mvar=0.0, name="load")
    return gs.load_network(net)


def test_hv_station_is_a_row_without_feeders(chain):
    res = gs.assess_capacity(chain, exact_bus=False)
    sub = res.tables["substation"].set_index("name")
    # the 110/20 kV station: its 20 kV busbar, one feeder; 4 MW at unity pf (~4.0 MVA plus losses) on 40 MVA
    mv = sub.loc["MV busbar"]
    assert mv["voltage_kv"] == 20.0 and mv["n_feeders"] == 1
    assert mv["peak_mva"] == pytest.approx(4.0, rel=0.02)
    # 80 % limit: 0.8 * 40 - ~4.0 = ~28 MVA
    assert mv["open_capacity_mva"] == pytest.approx(0.8 * 40.0 - mv["peak_mva"], abs=1e-6)
    # the 220/110 kV station: its 110 kV busbar, no feeder; it carries the same 4 MW (plus the HV unit's losses)
    hv = sub.loc["HV"]
    assert hv["voltage_kv"] == 110.0 and hv["n_feeders"] == 0
    assert hv["peak_mva"] == pytest.approx(mv["peak_mva"], rel=0.02)
    assert hv["open_capacity_mva"] == pytest.approx(0.8 * 100.0 - hv["peak_mva"], abs=1e-6)
    # the feeder and its bus are capped by the MV station, not by the HV one
    assert res.tables["feeder"]["n1_open_capacity_mva"].notna().all()
