"""Tie transfers checked by AC power flow (tie_capacity="powerflow"): a transfer the head line could carry is
refused because a section between the station and the tie would overload; verified with pandapower runpp.

RBTS Bus 2 with F2's middle section S14 (bus 19 → bus 21, where the tie B6-B8 from F1 lands) cut to 0.15 kA
(2.86 MVA at 11 kV): S14 already carries LP9 (1.87 MW); F2's head line S12 keeps its 0.47 kA.
"""

from __future__ import annotations

import copy

import gridscope as gs
import pandapower as pp
import pytest
from gridscope.reliability.impact import TIE_CHECK_PF


@pytest.fixture(scope="module")
def weak_f2(rbts2_net):
    net = copy.deepcopy(rbts2_net)
    net.line.loc[net.line.index[net.line["name"] == "S14"][0], "max_i_ka"] = 0.15
    return net


def _line(net, name):
    return int(net.line.index[net.line["name"] == name][0])


def test_headroom_is_the_load_that_fills_the_weakest_section(weak_f2):
    st = gs.Study(weak_f2)
    room = st.tie_headroom()["F2"]
    bus21 = int(weak_f2.bus.index[weak_f2.bus["name"] == "B8"][0]) if "B8" in set(weak_f2.bus["name"]) else 21
    q_per_p = (1 / TIE_CHECK_PF**2 - 1) ** 0.5
    s14 = _line(weak_f2, "S14")
    for factor, ok in ((1.0, True), (1.02, False)):
        net = copy.deepcopy(weak_f2)
        pp.create_load(net, bus21, p_mw=room * factor, q_mvar=room * factor * q_per_p)
        pp.runpp(net)
        # at the headroom S14 is at its rating (or a bus at its band); 2 % more breaks it
        worst = max(net.res_line["loading_percent"].max() - 100, (0.93 - net.res_bus["vm_pu"].min()) * 1000)
        assert (worst <= 0.05) == ok, (factor, net.res_line.at[s14, "loading_percent"])


def test_transfer_refused_by_power_flow_not_by_head_headroom(weak_f2):
    st = gs.Study(weak_f2)
    s4 = _line(weak_f2, "S4")
    head = st.impact(True).tie_blocked
    pf = st.impact("powerflow").tie_blocked
    # a fault on S4: the block below DS S7 (LP5-LP7, 0.9167 + 0.75 + 0.75 = 2.4167 MW) would go to F2
    assert not (head["component"] == f"line {s4}").any()
    row = pf[pf["component"] == f"line {s4}"].iloc[0]
    assert row["transfer_mw"] == pytest.approx(2.4167, abs=1e-4)
    assert row["headroom_mw"] == pytest.approx(st.tie_headroom()["F2"])
    # runpp in that switched state: F2's head line S12 is fine, S14 is overloaded
    net = copy.deepcopy(weak_f2)
    net.switch.loc[net.switch["name"].isin(["DS S4", "FUSE S5", "FUSE S6", "DS S7"]), "closed"] = False
    net.switch.loc[net.switch["name"] == "tie B6-B8", "closed"] = True
    net.line.loc[s4, "in_service"] = False
    net.switch.loc[net.switch["name"] == "DS S7", "closed"] = True  # S7 stays: only S4's section is out
    net.switch.loc[net.switch["name"] == "DS S4", "closed"] = False
    pp.runpp(net)
    assert net.res_line.at[_line(net, "S12"), "loading_percent"] < 100
    assert net.res_line.at[_line(net, "S14"), "loading_percent"] > 100
    saidi = {m: float(st.reliability(tie_capacity=m)["SAIDI"].sel(zone="system")) for m in (False, True,
                                                                                              "powerflow")}
    assert saidi[False] <= saidi[True] <= saidi["powerflow"]
    assert st.reliability(tie_capacity="powerflow").attrs["tie_capacity_check"] == "powerflow"


def test_engine_refuses_the_string_without_the_capacity_module(weak_f2):
    from gridscope.errors import InputError
    from gridscope.reliability.api import assess_reliability

    with pytest.raises(InputError, match="powerflow"):
        assess_reliability(weak_f2, tie_capacity="powerflow")


def test_cli_tie_capacity_modes(run):
    head = run("reliability", "rbts2", "--tie-capacity", "--top", "1")
    pf = run("reliability", "rbts2", "--tie-capacity", "powerflow", "--top", "1")
    assert head.exit_code == 0 and pf.exit_code == 0, pf.output
    assert "refused by the capacity check" in pf.output
