"""Reserved capacity (已批未接) read from the planner's CSV/Excel file: hand-checked effect, every bad row listed."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pandas as pd
import pytest
from gridscope.capacity.open_capacity import open_capacity_tables
from gridscope.capacity.reserved import read_reserved
from gridscope.errors import InputError

sys.path.insert(0, str(Path(__file__).parent))
from test_capacity_open import fake_peak, station_net


def _peak(net, lines, trafos, d0):
    return fake_peak(net, {lines[0]: 50.0, lines[1]: 40.0, lines[2]: 40.0},
                     {trafos[0]: 60.0, trafos[1]: 50.0, d0: 50.0})


def test_good_csv_changes_open_capacity_by_reserved_mva(tmp_path):
    net, b, trafos, lines, d0 = station_net()
    base = open_capacity_tables(net, _peak(net, lines, trafos, d0))
    f = tmp_path / "approved.csv"
    # 80 kW by bus name on the LV side of D0 (Chinese element name), 0.05 MW on D0 by index
    f.write_text(f"element,element_index,name,p_kw,note\n母线,,B4,80,shop\ntrafo,{d0},,50,EV\n",
                 encoding="utf-8")
    table = read_reserved(f, net)
    assert table["element"].tolist() == ["bus", "trafo"]
    assert table["element_index"].tolist() == [b[4], d0]
    assert table["p_mw"].tolist() == pytest.approx([0.08, 0.05])
    assert "reserved_capacity" not in net  # the net is not modified
    net2 = copy.deepcopy(net)
    net2["reserved_capacity"] = table
    after = open_capacity_tables(net2, _peak(net2, lines, trafos, d0))
    # D0 own limit: 0.63*0.8 - 0.315 = 0.189 MVA; minus 0.08 + 0.05 reserved (pf 1) = 0.059 MVA
    dt0 = base["distribution_transformer"].set_index("id").at[d0, "open_capacity_mva"]
    dt1 = after["distribution_transformer"].set_index("id").at[d0, "open_capacity_mva"]
    assert dt0 == pytest.approx(0.189)
    assert dt1 == pytest.approx(0.189 - 0.13)


def test_xlsx_by_sheet_and_wrong_sheet(tmp_path):
    net, b, *_ = station_net()
    f = tmp_path / "approved.xlsx"
    pd.DataFrame({"element": ["bus"], "element_index": [b[3]], "p_mw": [0.2]}).to_excel(
        f, sheet_name="approved", index=False)
    assert read_reserved(f, net, sheet="approved")["p_mw"].tolist() == [0.2]
    with pytest.raises(InputError, match="sheet 'nope' not found"):
        read_reserved(f, net, sheet="nope")


def test_bad_rows_all_listed(tmp_path):
    net, *_ = station_net()
    f = tmp_path / "bad.csv"
    f.write_text("element,element_index,p_mw\n"
                 "pump,0,1\n"            # row 2: unknown element
                 "bus,99,1\n"            # row 3: unknown index
                 "bus,1,-0.5\n"          # row 4: negative
                 "bus,2,nan\n"           # row 5: NaN
                 "bus,3,lots\n"          # row 6: text
                 "bus,1,0.1\n"           # row 7: fine
                 "bus,1,0.2\n", encoding="utf-8")  # row 8: duplicate of row 7
    with pytest.raises(InputError) as info:
        read_reserved(f, net)
    text = str(info.value)
    assert "6 invalid row(s)" in text
    for needle in ("row 2: element 'pump'", "row 3: bus 99 does not exist", "row 4: p_mw '-0.5'",
                   "row 5: p_mw 'nan'", "row 6: p_mw 'lots'", "row 8: bus 1 repeats row 7"):
        assert needle in text


def test_missing_column_and_unknown_name(tmp_path):
    net, *_ = station_net()
    f = tmp_path / "m.csv"
    f.write_text("element,p_mw\nbus,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="element_index or name"):
        read_reserved(f, net)
    f.write_text("element,name,p_mw\nbus,NoSuchBus,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="named 'NoSuchBus' does not exist"):
        read_reserved(f, net)


def test_oversize_refused(tmp_path, monkeypatch):
    net, *_ = station_net()
    f = tmp_path / "big.csv"
    f.write_text("element,element_index,p_mw\n" + "bus,1,0.1\n" * 20000, encoding="utf-8")
    monkeypatch.setenv("GRIDSCOPE_MAX_INPUT_MB", "0.01")
    with pytest.raises(InputError, match="input limit"):
        read_reserved(f, net)


def test_bad_file_exit_code_is_input_error():
    # README exit-code table: bad input files map to InputError's code
    assert InputError("x").exit_code == 4
