"""The disclosure table (issue 11 item 5): rows copied from assess_capacity's level tables (rbts2 and
SimBench), a hand value, reserved capacity (已批未接), zh / en headers, formula-safe CSV and Excel."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
from gridscope.capacity.disclosure import (
    DISCLOSURE_COLUMNS,
    DISCLOSURE_LEVELS,
    disclosure_table,
    write_disclosure,
)
from gridscope.errors import InputError

VALUE_COLUMNS = ["name", "voltage_kv", "rating_mva", "peak_mva", "load_rate_percent", "reserved_mva",
                 "open_capacity_mva", "n1_open_capacity_mva", "grade"]
PARENT = {"main_transformer": "substation", "feeder": "substation", "distribution_transformer": "feeder"}


def _assert_copied(cap, table: pd.DataFrame) -> None:
    """Every disclosure row equals its level table's row, column by column, and nothing is left out."""
    for level in DISCLOSURE_LEVELS:
        src = cap.table(level)
        rows = table[table["level"] == level]
        assert len(rows) == len(src)
        assert rows["id"].tolist() == src["id"].tolist()
        for col in VALUE_COLUMNS:
            pd.testing.assert_series_equal(rows[col].reset_index(drop=True), src[col].reset_index(drop=True),
                                           check_names=False, check_dtype=False)
        if level in PARENT:
            assert rows["parent"].tolist() == src[PARENT[level]].tolist()


@pytest.fixture(scope="module")
def rbts2_cap(rbts2_net):
    import gridscope as gs

    return gs.assess_capacity(rbts2_net)


def test_rbts2_rows_are_the_tables_and_a_hand_value(rbts2_cap):
    table = disclosure_table(rbts2_cap)
    assert list(table.columns) == DISCLOSURE_COLUMNS
    # RBTS Bus 2: one 33/11 kV supply (no main transformer modelled), 4 feeders, 20 distribution transformers
    assert table["level"].value_counts().to_dict() == {"distribution_transformer": 20, "feeder": 4,
                                                       "substation": 1}
    _assert_copied(rbts2_cap, table)
    # hand value: feeder F1's head section is rated 470 A at 11 kV -> sqrt(3) * 11 kV * 0.470 kA = 8.9547 MVA;
    # its load rate is the peak over that rating
    f1 = table[(table["level"] == "feeder") & (table["name"] == "F1")].iloc[0]
    assert f1["rating_mva"] == pytest.approx(math.sqrt(3) * 11 * 0.470, rel=1e-9)
    assert f1["load_rate_percent"] == pytest.approx(100 * f1["peak_mva"] / f1["rating_mva"])
    # distribution transformer T1: 1 MVA nameplate (RBTS data), parent feeder F1
    t1 = table[(table["level"] == "distribution_transformer") & (table["name"] == "T1")].iloc[0]
    assert t1["rating_mva"] == 1.0 and t1["parent"] == "F1"


def test_reserved_capacity_shows_in_the_disclosure(rbts2_net, rbts2_cap):
    import gridscope as gs

    net = copy.deepcopy(rbts2_net)
    # 0.5 MW approved but not connected at load 10 (LP11 at bus 28, the LV side of T11 on feeder F3)
    load = 10
    net["reserved_capacity"] = pd.DataFrame({"element": ["load"], "element_index": [load], "p_mw": [0.5]})
    cap = gs.assess_capacity(net)
    table = disclosure_table(cap)
    _assert_copied(cap, table)
    row = table[(table["level"] == "feeder") & (table["name"] == "F3")].iloc[0]
    assert row["reserved_mva"] == pytest.approx(0.5)  # reserved_pf 1: 0.5 MW counts as 0.5 MVA
    assert table.loc[table["level"] == "substation", "reserved_mva"].item() == pytest.approx(0.5)
    dt = table[(table["level"] == "distribution_transformer") & (table["reserved_mva"] > 0)]
    assert dt["name"].tolist() == ["T11"] and dt["parent"].item() == "F3"
    assert dt["reserved_mva"].item() == pytest.approx(0.5)
    # and the open capacity of F3 fell by the reserved 0.5 MVA (its head section binds, 0.698 MVA before)
    base = disclosure_table(rbts2_cap)
    before = base.loc[(base["level"] == "feeder") & (base["name"] == "F3"), "open_capacity_mva"].item()
    assert before > 0.5
    assert row["open_capacity_mva"] == pytest.approx(before - 0.5, abs=1e-9)


@pytest.mark.simbench
def test_simbench_rows_are_the_tables(simbench_mv):
    import gridscope as gs

    cap = gs.assess_capacity(simbench_mv)
    table = disclosure_table(cap)
    _assert_copied(cap, table)
    assert (table["level"] == "main_transformer").sum() == len(cap.table("main_transformer")) >= 1
    # hand value: a main transformer's rating is its nameplate sn_mva (x parallel) -- SimBench 1-MV-urban 63 MVA
    mt = table[table["level"] == "main_transformer"].iloc[0]
    assert mt["rating_mva"] == pytest.approx(float(simbench_mv.trafo.at[int(mt["id"]), "sn_mva"]))


def test_levels_choice_and_errors(rbts2_cap, tmp_path):
    only = disclosure_table(rbts2_cap, levels=["feeder"])
    assert set(only["level"]) == {"feeder"} and len(only) == 4
    with pytest.raises(InputError, match="not part of the disclosure"):
        disclosure_table(rbts2_cap, levels=["bus"])
    with pytest.raises(InputError, match="unknown capacity level"):
        disclosure_table(rbts2_cap, levels=["nowhere"])
    with pytest.raises(InputError, match=r"\.xlsx or \.csv"):
        write_disclosure(rbts2_cap, tmp_path / "d.json")
    with pytest.raises(InputError, match="unknown language"):
        write_disclosure(rbts2_cap, tmp_path / "d.csv", lang="fr")
    write_disclosure(rbts2_cap, tmp_path / "d.csv")
    with pytest.raises(InputError, match="exists"):
        write_disclosure(rbts2_cap, tmp_path / "d.csv")


def test_zh_csv_headers_values_and_formula_safety(rbts2_net, tmp_path):
    import gridscope as gs

    net = copy.deepcopy(rbts2_net)
    net.trafo.at[0, "name"] = "=HYPERLINK(\"http://x\")"
    cap = gs.assess_capacity(net)
    (path,) = write_disclosure(cap, tmp_path / "公开.csv", lang="zh")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads the Chinese headers
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert list(back.columns) == ["层级", "编号", "名称", "所属", "电压等级(kV)", "额定容量(MVA)", "最大负荷(MVA)",
                                  "负载率(%)", "已批未接(MVA)", "可开放容量(MVA)", "N-1可开放容量(MVA)", "等级",
                                  "备注"]
    assert set(back["层级"]) == {"变电站", "11kV线路", "配变"}  # RBTS Bus 2 feeders are 11 kV
    assert set(back["等级"].dropna()) <= {"绿", "黄", "红"}
    assert back.loc[back["层级"] == "配变", "名称"].iloc[0] == "'=HYPERLINK(\"http://x\")"
    table = disclosure_table(cap)
    np.testing.assert_allclose(back["可开放容量(MVA)"], table["open_capacity_mva"])


def test_en_xlsx_sheet_colours_and_metadata(rbts2_cap, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    (path,) = write_disclosure(rbts2_cap, tmp_path / "disclosure.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["disclosure", "metadata"]
    ws = wb["disclosure"]
    header = [c.value for c in ws[1]]
    assert header == DISCLOSURE_COLUMNS
    table = disclosure_table(rbts2_cap)
    grade_col = header.index("grade") + 1
    assert [ws.cell(row=r, column=grade_col).value for r in range(2, len(table) + 2)] == table["grade"].tolist()
    red = next(r for r in range(2, len(table) + 2) if ws.cell(row=r, column=grade_col).value == "red")
    assert ws.cell(row=red, column=grade_col).fill.start_color.rgb.endswith("FFC7CE")
    meta = {r[0].value: r[1].value for r in wb["metadata"].iter_rows(min_row=2)}
    assert meta["network"] == rbts2_cap.meta["network"]
    (zh,) = write_disclosure(rbts2_cap, tmp_path / "zh.xlsx", lang="zh")
    assert openpyxl.load_workbook(zh).sheetnames == ["可开放容量公开", "说明"]


def test_cli_disclosure(run, tmp_path):
    out = tmp_path / "disclosure.csv"
    r = run("capacity", "rbts2", "--disclosure", str(out), "--lang", "zh", "--head", "1")
    assert r.exit_code == 0, r.output
    assert f"wrote disclosure table {out}" in r.output
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert len(back) == 25 and back.columns[0] == "层级"
    r = run("capacity", "rbts2", "--disclosure", str(out))
    assert r.exit_code == 4 and "--force" in r.output  # an existing file is kept
    r = run("capacity", "rbts2", "--disclosure", str(tmp_path / "d.json"))
    assert r.exit_code == 4 and "--disclosure must end in .xlsx or .csv" in r.output
