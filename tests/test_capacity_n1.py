"""Feeder N-1 transfer room is capped by the receiving station (issue 11, item 4), hand-computed.

Only this part of issue 11 is built so far; the power-flow N-1 (capacity/n1.py) is not.
"""

from __future__ import annotations

import pytest
from test_capacity_open import base_case


def test_transfer_room_capped_by_receiving_station():
    # T0 at 78 %: the station has (16 - 15.6) / 0.5 - 0.6 = 0.2 MVA open (see test_upstream_cap_by_substation).
    # Feeder B's own head spare is sqrt(3)*10*0.4*0.6 - 0.5 = 3.66 MVA, but load moved through the tie still
    # passes the station's main transformers, so only 0.2 MVA of it is room; and vice versa.
    _net, _b, _trafos, _lines, _d0, tabs = base_case(t0_pct=78.0)
    fd = tabs["feeder"]
    assert fd["transfer_mva"].tolist() == pytest.approx([0.2, 0.2])
    # each feeder's own peak + reserved (> 0.2 MVA) no longer fits through the tie -> N-1 = 0
    assert (fd["n1_open_capacity_mva"] == 0.0).all()


def test_full_station_gives_no_transfer_room():
    # T0 at 90 %: station load above its limit -> open capacity 0 -> a neighbour in it offers no room at all
    _net, _b, _trafos, _lines, _d0, tabs = base_case(t0_pct=90.0)
    assert tabs["substation"].iloc[0]["open_capacity_mva"] == 0.0
    assert (tabs["feeder"]["transfer_mva"] == 0.0).all()
