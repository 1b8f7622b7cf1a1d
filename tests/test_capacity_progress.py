"""The capacity calls on the one progress protocol and built once: Progress records, cancellation raising
CancelledError, prebuilt topology / loading / AC model used as they are (the same numbers, nothing rebuilt)."""

from __future__ import annotations

import pandas as pd
import pytest
from gridscope.capacity import api, bus_capacity, connection
from gridscope.capacity.api import assess_capacity
from gridscope.capacity.bus_capacity import ACModel, BindingKind, Constraints, bus_open_capacity
from gridscope.capacity.connection import evaluate_connection
from gridscope.capacity.open_capacity import Limits
from gridscope.capacity.powerflow import run_snapshot
from gridscope.errors import CancelledError
from gridscope.grid.topology import build_topology
from gridscope.progress import CancelToken, Progress


def _records():
    seen: list[Progress] = []
    return seen, seen.append


def test_bus_open_capacity_reports_buses_and_cancels(load_builtin):
    net = load_builtin("mv_oberrhein")
    buses = net.bus.index[net.bus["vn_kv"] < 30][:12].to_numpy()
    seen, progress = _records()
    res = bus_open_capacity(net, buses, progress=progress)
    assert all(isinstance(r, Progress) and r.what == "buses" for r in seen)
    # planning then physical search: the total counts every bus twice, the last record is complete
    assert seen[-1].done == seen[-1].total == 2 * buses.size
    assert [r.done for r in seen] == sorted(r.done for r in seen)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError, match="buses cancelled"):
        bus_open_capacity(net, buses, cancel=token)
    assert len(res) == buses.size


def test_assess_capacity_uses_prebuilt_topology_and_peak(load_builtin, monkeypatch):
    net = load_builtin("mv_oberrhein")
    ref = assess_capacity(net)
    topo, peak = build_topology(net), run_snapshot(net)

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt although prebuilt")

    monkeypatch.setattr(api, "build_topology", refuse)
    monkeypatch.setattr(api, "planning_loading", refuse)
    seen, progress = _records()
    cap = assess_capacity(net, topology=topo, peak=peak, progress=progress)
    for level in ref.tables:
        pd.testing.assert_frame_equal(cap.tables[level], ref.tables[level])
    pd.testing.assert_frame_equal(cap.flags, ref.flags)
    # throttled records: the first (0 of 4: loading, flags, tables, exact bus capacity) and the last (complete)
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total == 4 and seen[-1].what == "capacity steps"
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        assess_capacity(net, topology=topo, peak=peak, cancel=token)


def test_connection_builds_once_and_takes_prebuilt_model(load_builtin, monkeypatch):
    net = load_builtin("mv_oberrhein")
    bus = int(net.load["bus"].iloc[5])
    ref = evaluate_connection(net, 1.0, bus=bus, radius=2.0)
    counts = {"model": 0, "constraints": 0, "topology": 0}

    class CountingModel(ACModel):
        def __init__(self, *args, **kwargs):
            counts["model"] += 1
            super().__init__(*args, **kwargs)

    class CountingConstraints(Constraints):
        def __init__(self, *args, **kwargs):
            counts["constraints"] += 1
            super().__init__(*args, **kwargs)

    def counting_topology(*args, **kwargs):
        counts["topology"] += 1
        return build_topology(*args, **kwargs)

    monkeypatch.setattr(connection, "ACModel", CountingModel)
    monkeypatch.setattr(connection, "Constraints", CountingConstraints)
    monkeypatch.setattr(bus_capacity, "Constraints", CountingConstraints)
    monkeypatch.setattr(connection, "build_topology", counting_topology)
    monkeypatch.setattr(bus_capacity, "build_topology", counting_topology)
    monkeypatch.setattr(api, "build_topology", counting_topology)  # the validation builds the one topology
    dec = evaluate_connection(net, 1.0, bus=bus, radius=2.0)
    assert counts == {"model": 1, "constraints": 1, "topology": 1}
    pd.testing.assert_frame_equal(dec.candidates, ref.candidates)
    # a model and topology handed in are used as they are
    topo = build_topology(net)
    model = ACModel(net, limits=Limits(), topology=topo)
    counts.update(model=0, constraints=0, topology=0)
    seen, progress = _records()
    dec2 = evaluate_connection(net, 1.0, bus=bus, radius=2.0, topology=topo, model=model, progress=progress)
    assert counts == {"model": 0, "constraints": 1, "topology": 0}
    assert dec2.decision == ref.decision and dec2.bus == ref.bus
    pd.testing.assert_frame_equal(dec2.candidates, ref.candidates)
    assert seen[-1].done == seen[-1].total == 3 and seen[-1].what == "connection steps"


def test_binding_kinds_are_named():
    assert [k.name for k in BindingKind] == ["LINE", "TRAFO", "UNDER_VOLTAGE", "OVER_VOLTAGE", "EXT_GRID",
                                             "NO_SOLUTION", "NONE"]
    assert list(BindingKind) == list(range(7))
