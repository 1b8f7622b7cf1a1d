"""Reliability defaults: the table, filling by type, per-type overrides, per-element values."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest
from gridscope.errors import ConfigError
from gridscope.grid.defaults import apply_reliability_data, reliability_defaults

STD_OL = "149-AL1/24-ST1A 10.0"
STD_CS = "NA2XS2Y 1x185 RM/25 12/20 kV"


def test_table_has_every_kind_with_a_source():
    t = reliability_defaults()
    assert list(t.index) == ["overhead_line", "cable", "distribution_transformer", "main_transformer",
                             "breaker", "switch", "busbar"]
    assert {"lambda", "lambda_unit", "repair_h", "switching_h", "source"} <= set(t.columns)
    assert t["source"].str.len().gt(20).all()
    assert t.loc["overhead_line", "lambda"] == 0.065 and t.loc["overhead_line", "repair_h"] == 5.0
    assert t.loc["distribution_transformer", "lambda"] == 0.015
    assert t.loc["distribution_transformer", "repair_h"] == 200.0
    t.loc["cable", "lambda"] = 99.0
    assert reliability_defaults().loc["cable", "lambda"] != 99.0  # a copy each time


def _net():
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0)
    mv = pp.create_bus(net, 20.0)
    lv = pp.create_bus(net, 0.4)
    pp.create_ext_grid(net, hv)
    pp.create_transformer(net, hv, mv, "25 MVA 110/20 kV")  # main
    pp.create_transformer(net, mv, lv, "0.4 MVA 20/0.4 kV")  # distribution
    b = [pp.create_bus(net, 20.0) for _ in range(3)]
    pp.create_line(net, mv, b[0], 1.0, STD_OL)  # type ol
    pp.create_line(net, b[0], b[1], 1.0, STD_CS)  # type cs
    pp.create_line(net, b[1], b[2], 1.0, STD_CS)
    pp.create_switch(net, mv, 0, et="l", type="CB")
    pp.create_switch(net, b[0], 1, et="l", type="DS")
    pp.create_load(net, lv, p_mw=0.2, scaling=0.5)
    return net


def test_missing_values_are_filled_by_type_and_present_values_win():
    net = _net()
    net.line["lambda_per_km"] = [np.nan, 0.123, np.nan]  # one present value
    apply_reliability_data(net)
    t = reliability_defaults()
    assert net.line["type"].tolist() == ["ol", "cs", "cs"]
    assert net.line["lambda_per_km"].tolist() == [t.loc["overhead_line", "lambda"], 0.123, t.loc["cable", "lambda"]]
    assert net.line["repair_h"].tolist() == [5.0, t.loc["cable", "repair_h"], t.loc["cable", "repair_h"]]
    assert net.trafo["lambda_per_yr"].tolist() == [t.loc["main_transformer", "lambda"],
                                                    t.loc["distribution_transformer", "lambda"]]
    assert net.trafo["repair_h"].tolist() == [t.loc["main_transformer", "repair_h"],
                                               t.loc["distribution_transformer", "repair_h"]]
    assert net.switch["switching_h"].tolist() == [1.0, 1.0]
    assert (net.switch["lambda_per_yr"] == 0).all() and (net.bus["lambda_per_yr"] == 0).all()
    for table in ("line", "trafo", "bus", "switch"):
        assert (net[table]["planned_per_yr"] == 0).all() and (net[table]["planned_h"] == 0).all()
    assert net.load["customers"].tolist() == [1]
    assert net.load["p_avg_mw"].tolist() == [pytest.approx(0.1)]
    assert list(net["reserved_capacity"].columns) == ["element", "element_index", "p_mw"]
    # applying twice changes nothing
    before = net.line.copy()
    apply_reliability_data(net)
    assert net.line.equals(before)


def test_per_type_overrides_and_own_table():
    net = apply_reliability_data(_net(), overrides={"cable": {"lambda": 0.03, "repair_h": 20},
                                                    "overhead_line": {"repair_h": 8}})
    assert net.line["lambda_per_km"].tolist() == [0.065, 0.03, 0.03]
    assert net.line["repair_h"].tolist() == [8.0, 20.0, 20.0]
    table = reliability_defaults()
    table.loc["breaker", "switching_h"] = 0.1
    net = apply_reliability_data(_net(), defaults=table)
    assert net.switch["switching_h"].tolist() == [0.1, 1.0]


def test_per_element_value_is_just_the_column():
    net = _net()
    apply_reliability_data(net)
    net.line.loc[2, "repair_h"] = 3.5  # a per-element override: set the cell
    apply_reliability_data(net)  # re-applying keeps it
    assert net.line.loc[2, "repair_h"] == 3.5


@pytest.mark.parametrize("overrides, text", [
    ({"transformer": {"lambda": 1}}, "unknown component kind 'transformer'"),
    ({"cable": {"mttr": 1}}, "unknown reliability column 'mttr'"),
])
def test_bad_overrides(overrides, text):
    with pytest.raises(ConfigError, match=text):
        apply_reliability_data(_net(), overrides=overrides)


def test_documented_table_matches_the_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "network-data.md").read_text(encoding="utf-8")
    doc = doc.split("## 2. Reliability defaults", 1)[1].split("\n## ", 1)[0]
    table = reliability_defaults()
    for kind, row in table.iterrows():
        line = next(ln for ln in doc.splitlines() if ln.startswith(f"| `{kind}` |"))
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert [float(cells[1]), float(cells[3]), float(cells[4])] == \
            [row["lambda"], row["repair_h"], row["switching_h"]], kind


def test_text_load_value_is_a_validation_problem_not_a_type_error():
    """Found by the long fuzz run: ``p_mw`` stored as the text 'abc' made ``gs.Study`` raise a pandas
    ``TypeError`` while it filled ``p_avg_mw`` (before the validator could name the value)."""
    import gridscope as gs
    from gridscope.errors import ValidationError

    net = gs.load_network("rbts2")
    net.load["p_mw"] = net.load["p_mw"].astype(object)
    net.load.loc[net.load.index[2], "p_mw"] = "abc"
    net.load = net.load.drop(columns="p_avg_mw")  # filled from p_mw x scaling, as for a plain pandapower net
    filled = apply_reliability_data(copy.deepcopy(net))
    assert np.isnan(filled.load["p_avg_mw"].iloc[2])
    assert filled.load["p_avg_mw"].iloc[0] == pytest.approx(float(net.load["p_mw"].iloc[0]) *
                                                            float(net.load["scaling"].iloc[0]))
    with pytest.raises(ValidationError) as info:
        gs.Study(net).reliability()
    assert "load[2]" in str(info.value) and "'abc'" in str(info.value)
