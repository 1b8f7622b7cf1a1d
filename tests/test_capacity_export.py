"""The capacity export writer: Excel read back with openpyxl, CSV, JSON, atomic and no silent overwrite."""

from __future__ import annotations

import json

import gridscope as gs
import pandas as pd
import pytest
from gridscope.capacity.export import COLUMNS_ZH, GRADE_FILLS, SHEETS_ZH, write_capacity
from gridscope.capacity.open_capacity import LEVELS
from gridscope.errors import InputError


@pytest.fixture(scope="module")
def cap():
    return gs.assess_capacity(gs.load_network("rbts2"))


def test_excel_sheets_headers_values_and_fills(cap, tmp_path):
    from openpyxl import load_workbook

    path = cap.to_excel(tmp_path / "cap.xlsx")[0]
    wb = load_workbook(path)
    assert wb.sheetnames == [*LEVELS, "metadata"]
    ws = wb["feeder"]
    header = [c.value for c in ws[1]]
    assert header == list(cap.table("feeder").columns)
    col = header.index("open_capacity_mva")
    got = [ws.cell(row=r, column=col + 1).value for r in range(2, ws.max_row + 1)]
    assert got == pytest.approx(cap.table("feeder")["open_capacity_mva"].tolist())
    gcol = header.index("grade") + 1
    for r in range(2, ws.max_row + 1):
        grade = ws.cell(row=r, column=gcol).value
        assert ws.cell(row=r, column=gcol).fill.start_color.rgb.endswith(GRADE_FILLS[grade])
    meta = {row[0].value: row[1].value for row in wb["metadata"].iter_rows(min_row=2)}
    assert meta["network"] == "RBTS Bus 2"
    assert meta["network_hash"] == gs.grid.io.network_hash(gs.load_network("rbts2"))
    assert meta["limit_line_percent"] == 70.0
    assert meta["gridscope_version"] == gs.__version__
    assert "date" in meta


def test_excel_chinese_headers(cap, tmp_path):
    from openpyxl import load_workbook

    path = cap.to_excel(tmp_path / "cap_zh.xlsx", lang="zh")[0]
    wb = load_workbook(path)
    assert wb.sheetnames == [SHEETS_ZH[lv] for lv in LEVELS] + ["说明"]
    ws = wb["10kV线路"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["编号", "名称"]
    assert "可开放容量(MVA)" in header and "N-1可开放容量(MVA)" in header and "已批未接(MVA)" in header
    assert header == [COLUMNS_ZH[c] for c in cap.table("feeder").columns]
    grades = {ws.cell(row=r, column=header.index("等级") + 1).value for r in range(2, ws.max_row + 1)}
    assert grades <= {"绿", "黄", "红"}
    col = header.index("可开放容量(MVA)") + 1
    assert [ws.cell(row=r, column=col).value for r in range(2, ws.max_row + 1)] == \
        pytest.approx(cap.table("feeder")["open_capacity_mva"].tolist())


def test_no_silent_overwrite_and_atomic(cap, tmp_path):
    path = tmp_path / "cap.xlsx"
    path.write_bytes(b"keep me")
    with pytest.raises(InputError, match="overwrite"):
        cap.to_excel(path)
    assert path.read_bytes() == b"keep me"
    cap.to_excel(path, overwrite=True)
    assert path.read_bytes()[:2] == b"PK"
    assert [p.name for p in tmp_path.iterdir()] == ["cap.xlsx"]  # no temporary files left


def test_csv_and_json(cap, tmp_path):
    files = cap.to_csv(tmp_path / "out.csv", levels=["feeder", "bus"])
    assert sorted(p.name for p in files) == ["out_bus.csv", "out_feeder.csv", "out_metadata.csv"]
    back = pd.read_csv(tmp_path / "out_feeder.csv")
    assert back["open_capacity_mva"].tolist() == pytest.approx(cap.table("feeder")["open_capacity_mva"].tolist())
    zh = cap.to_csv(tmp_path / "zh", lang="zh", levels=["feeder"])
    back = pd.read_csv(zh[0], encoding="utf-8-sig")
    assert "可开放容量(MVA)" in back.columns
    with pytest.raises(InputError, match="exist"):
        cap.to_csv(tmp_path / "out.csv", levels=["feeder"])
    path = cap.to_json(tmp_path / "cap.json")[0]
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc["tables"]) == set(LEVELS)
    assert doc["metadata"]["network"] == "RBTS Bus 2"
    first = doc["tables"]["feeder"][0]
    assert first["open_capacity_mva"] == pytest.approx(cap.table("feeder")["open_capacity_mva"].iloc[0])


def test_bad_format_and_language(cap, tmp_path):
    with pytest.raises(InputError, match="format"):
        write_capacity(cap, tmp_path / "x.txt")
    with pytest.raises(InputError, match="language"):
        cap.to_excel(tmp_path / "x.xlsx", lang="fr")
