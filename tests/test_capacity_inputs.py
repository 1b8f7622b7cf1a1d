"""Capacity entry points with pandapower columns missing (found by the long fuzz run: a load table without
``scaling`` ended in a pandas ``KeyError`` inside the planning power flow)."""

from __future__ import annotations

import copy

import gridscope as gs
import numpy as np
import pytest
from gridscope.capacity.connection import evaluate_connection


@pytest.fixture(scope="module")
def rbts2():
    return gs.load_network("rbts2")


def test_missing_load_scaling_is_pandapower_default_one(rbts2):
    assert (rbts2.load["scaling"] == 1.0).all()  # so the two nets below describe the same operating point
    stripped = copy.deepcopy(rbts2)
    stripped.load = stripped.load.drop(columns="scaling")
    ref = gs.assess_capacity(rbts2, exact_bus=False)
    got = gs.assess_capacity(stripped, exact_bus=False)
    for level in ("substation", "feeder", "bus"):
        np.testing.assert_allclose(got.tables[level]["open_capacity_mva"].to_numpy(float),
                                   ref.tables[level]["open_capacity_mva"].to_numpy(float), rtol=1e-9)
    dec = evaluate_connection(stripped, 0.3, bus=int(rbts2.load["bus"].iloc[0]))
    assert dec.decision == evaluate_connection(rbts2, 0.3, bus=int(rbts2.load["bus"].iloc[0])).decision
    assert "scaling" not in stripped.load.columns  # the user's net is not changed
