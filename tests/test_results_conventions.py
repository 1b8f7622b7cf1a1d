"""Result conventions a reliability engineer reads without asking (issue 8 item 4): feeders without customers
are absent, CAIDI is undefined (NaN, printed "-") where SAIFI = 0, targets carry no float residue."""

from __future__ import annotations

import copy

import gridscope as gs
import numpy as np
import pytest
from gridscope.grid.defaults import zone_targets


def test_feeder_without_customers_is_absent(rbts2_net):
    net = copy.deepcopy(rbts2_net)
    net.load.loc[net.load["name"].isin(["LP8", "LP9"]), "in_service"] = False  # F2 serves nobody now
    for method, kw in (("analytical", {}), ("monte-carlo", {"years": 2000, "seed": 1})):
        ds = gs.assess_reliability(net, method=method, **kw)
        assert list(ds.feeder.values) == ["F1", "F3", "F4"]
        assert np.isfinite(ds["feeder_SAIDI"].values).all()
        assert (ds["feeder_customers"].values > 0).all()


def test_caidi_undefined_where_saifi_is_zero(rbts2_net):
    net = copy.deepcopy(rbts2_net)
    f2 = net.line["name"].isin(["S12", "S13", "S14", "S15"])
    net.line.loc[f2, "lambda_per_km"] = 0.0  # F2 (LP8, LP9: 11 kV customers, no transformer) never fails
    ds = gs.assess_reliability(net)
    f = ds.sel(feeder="F2")
    assert float(f["feeder_SAIFI"]) == 0.0 and float(f["feeder_SAIDI"]) == 0.0
    assert np.isnan(float(f["feeder_CAIDI"]))
    from gridscope.reliability.report import reliability_summary

    row = next(ln for ln in reliability_summary(ds).splitlines() if ln.startswith("F2 "))
    assert " - " in row + " " and "nan" not in row


def test_targets_are_rounded_to_their_meaning():
    t = zone_targets()
    # (1 - 0.99965) × 8760 = 3.066 h, (1 - 0.99989) × 8760 = 0.9636 h: exactly, without 3.0659999999996623
    assert t.at["B", "saidi_target_h"] == 3.066
    assert t.at["A", "saidi_target_h"] == 0.9636
    assert repr(float(t.at["C", "saidi_target_h"])) == "9.0228"
    assert t.at["B", "saidi_target_h"] == pytest.approx((1 - 0.99965) * 8760, abs=1e-6)
