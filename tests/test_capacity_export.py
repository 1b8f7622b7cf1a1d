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


# --- the bus table's off-path note in the exports (issue 11 item 3) -------------------------------------------


@pytest.fixture(scope="module")
def urban_cap(simbench_mv):
    """1-MV-urban with its exact (default) bus table: 31 buses carry an off-path note (line 66, MV3.101
    Line 67, is already above 70 % on another feeder and rises through the busbar voltage)."""
    return gs.assess_capacity(simbench_mv)


@pytest.mark.simbench
def test_offpath_note_in_exported_bus_table(urban_cap, simbench_mv, tmp_path):
    from gridscope.capacity.bus_capacity import bus_open_capacity
    from openpyxl import load_workbook

    bus = urban_cap.table("bus")
    note = bus.set_index("id")["ac_offpath_note"]
    # the note is the exact search's own column, copied (independent run of bus_open_capacity)
    exact = bus_open_capacity(simbench_mv, note.index.to_numpy())
    assert note.tolist() == exact["offpath_note"].reindex(note.index).tolist()
    noted = note[note != ""]
    assert len(noted) >= 10 and noted.str.contains("off the supply path").all()
    # a pre-existing violation off the path: line 66 really is above 70 % at the planning point
    import copy

    import pandapower as pp

    w = copy.deepcopy(simbench_mv)
    w.sgen["in_service"] = False  # the planning point: generation left out
    pp.runpp(w, numba=False)
    assert w.res_line.at[66, "loading_percent"] > 70.0 and "line 66" in noted.iloc[0]
    b0 = int(noted.index[0])
    # Excel, English and Chinese headers: the note cell is text, equal to the table's
    for lang, header in (("en", "ac_offpath_note"), ("zh", COLUMNS_ZH["ac_offpath_note"])):
        (path,) = urban_cap.to_excel(tmp_path / f"cap_{lang}.xlsx", lang=lang)
        ws = load_workbook(path)[SHEETS_ZH["bus"] if lang == "zh" else "bus"]
        head = [c.value for c in ws[1]]
        col, id_col = head.index(header) + 1, head.index("编号" if lang == "zh" else "id") + 1
        row = next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=id_col).value == b0)
        cell = ws.cell(row=row, column=col)
        assert cell.data_type == "s" and cell.value == noted.iloc[0]
    # CSV (zh: BOM, Chinese header), read back
    paths = urban_cap.to_csv(tmp_path / "cap", lang="zh")
    back = pd.read_csv(next(p for p in paths if p.name.endswith("_bus.csv")), encoding="utf-8-sig")
    got = back.set_index("编号")["供电路径外越限说明"].fillna("")
    assert got.reindex(note.index).tolist() == note.tolist()


def test_offpath_note_is_formula_safe(tmp_path):
    """A note starting like a formula (as a hand-edited table could) is escaped in the CSV, text in Excel."""
    from gridscope.capacity.export import export_tables
    from openpyxl import load_workbook

    table = pd.DataFrame({"id": [1, 2], "ac_offpath_note": ["=HYPERLINK(\"http://x\")", ""]})
    paths = export_tables({"bus": table}, {"network": "x"}, tmp_path / "t", fmt="csv")
    back = pd.read_csv(paths[0])
    assert back.at[0, "ac_offpath_note"] == "'=HYPERLINK(\"http://x\")"
    (xlsx,) = export_tables({"bus": table}, {"network": "x"}, tmp_path / "t.xlsx")
    cell = load_workbook(xlsx)["bus"].cell(row=2, column=2)
    assert cell.data_type == "s" and cell.value.endswith("=HYPERLINK(\"http://x\")")


@pytest.mark.simbench
def test_disclosure_carries_the_feeders_offpath_notes(urban_cap, tmp_path):
    from gridscope.capacity.disclosure import disclosure_table, write_disclosure

    table = disclosure_table(urban_cap)
    bus = urban_cap.table("bus")
    feeders = table[table["level"] == "feeder"].set_index("name")["note"]
    # by hand from the bus table: count the noted buses of each feeder
    noted = bus[bus["ac_offpath_note"] != ""].groupby("feeder").size()
    assert len(noted) >= 1
    for name, n in noted.items():
        assert feeders[name].startswith(f"{n} bus(es): made worse off the supply path")
    for name in set(feeders.index) - set(noted.index):
        assert feeders[name] == ""
    assert (table.loc[table["level"] != "feeder", "note"] == "").all()
    (path,) = write_disclosure(urban_cap, tmp_path / "d.csv", lang="zh")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back.columns[-1] == "备注"
    assert back["备注"].fillna("").tolist() == table["note"].tolist()


@pytest.mark.simbench
def test_cli_out_and_disclosure_show_the_offpath_note(run, urban_cap, tmp_path):
    """``gridscope capacity --out x.xlsx`` and ``--disclosure`` carry the notes of the API's bus table."""
    from openpyxl import load_workbook

    out, disc = tmp_path / "cap.xlsx", tmp_path / "disc.csv"
    r = run("capacity", "simbench:1-MV-urban--0-sw", "--out", str(out), "--disclosure", str(disc), "--lang", "zh",
            "--head", "1")
    assert r.exit_code == 0, r.output
    ws = load_workbook(out)["母线"]
    head = [c.value for c in ws[1]]
    ids = [ws.cell(row=k, column=head.index("编号") + 1).value for k in range(2, ws.max_row + 1)]
    notes = [ws.cell(row=k, column=head.index("供电路径外越限说明") + 1).value or "" for k in range(2, ws.max_row + 1)]
    expected = urban_cap.table("bus").set_index("id")["ac_offpath_note"]
    assert dict(zip(ids, notes, strict=True)) == expected.to_dict()
    back = pd.read_csv(disc, encoding="utf-8-sig")
    assert back["备注"].fillna("").str.contains("off the supply path").sum() >= 1
