"""Safe exports (issue 13, item 2): element names that a spreadsheet would read as formulas are written as text
in Excel (read back with openpyxl: no formula cell) and escaped in CSV; numbers stay numbers."""

from __future__ import annotations

import copy

import gridscope as gs
import pandas as pd
import pytest
from gridscope.capacity.export import export_tables, write_flags_csv
from gridscope.cells import is_risky, safe_frame, safe_text, unescape_text, write_frame, write_safe_cell
from gridscope.grid.io import network_hash
from gridscope.reliability.report import write_reliability
from openpyxl import Workbook, load_workbook

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "＝1+1"]


@pytest.fixture(scope="module")
def hostile_net():
    net = gs.load_network("rbts2")
    # the four feeder breakers and one more switch, the first lines and loads get formula-like names
    cb = [*net.switch.index[net.switch.type == "CB"], int(net.switch.index[net.switch.type == "DS"][0])]
    net.switch.loc[cb, "name"] = HOSTILE
    net.line.loc[net.line.index[:5], "name"] = HOSTILE
    net.load.loc[net.load.index[:5], "name"] = HOSTILE
    assert not [p for p in gs.validate(net) if getattr(p, "severity", "error") == "error"]
    return net


@pytest.fixture(scope="module")
def cap(hostile_net):
    return gs.assess_capacity(hostile_net)


# ----------------------------------------------------------------------------------------------- the rule
@pytest.mark.parametrize("text", [*HOSTILE, "\t=1", "\r=1", "  =1+1", "-A1", "＋1", "－1", "＠A1"])
def test_risky_text_is_escaped_for_csv_and_unescaped_back(text):
    assert is_risky(text)
    assert safe_text(text) == "'" + text
    assert unescape_text(safe_text(text)) == text


@pytest.mark.parametrize("value", ["F1", "LP 3", "", "'quoted", "-2.5", "+3", "1e-3", "-.5E+2", 5, -2.5, -7,
                                   None, float("nan"), True])
def test_plain_values_and_numbers_are_untouched(value):
    out = safe_text(value)
    assert out is value or out == value
    assert unescape_text(out) is out


def test_safe_frame_escapes_text_columns_index_and_labels_not_numbers():
    df = pd.DataFrame({"name": ["=1+1", "ok"], "p_mw": [-2.0, 3.0], "=col": [1, 2]},
                      index=pd.Index(["@x", "y"], name="load"))
    out = safe_frame(df)
    assert out["name"].tolist() == ["'=1+1", "ok"]
    assert out["p_mw"].tolist() == [-2.0, 3.0] and out["p_mw"].dtype == float
    assert list(out.columns) == ["name", "p_mw", "'=col"]
    assert out.index.tolist() == ["'@x", "y"] and out.index.name == "load"
    assert df["name"].tolist() == ["=1+1", "ok"]  # the input is not changed


def test_write_safe_cell_stores_text_not_formulas(tmp_path):
    wb = Workbook()
    ws = wb.active
    values = [*HOSTILE, "#N/A", "plain", -2.5, 7, "bad\x01char"]
    for j, v in enumerate(values, start=1):
        write_safe_cell(ws, 1, j, v)
    wb.save(tmp_path / "c.xlsx")
    back = load_workbook(tmp_path / "c.xlsx").active
    cells = [back.cell(row=1, column=j) for j in range(1, len(values) + 1)]
    assert [c.data_type for c in cells] == ["s"] * 7 + ["n", "n", "s"]
    assert [c.value for c in cells[:7]] == values[:7]
    assert [c.value for c in cells[7:9]] == [-2.5, 7]
    assert cells[9].value == "bad\ufffdchar"  # a control character openpyxl refuses is replaced, not fatal
    # risky text also carries the quote-prefix style, so editing the cell in Excel keeps it text
    assert [c.quotePrefix for c in cells[:5]] == [True] * 5 and not cells[6].quotePrefix


def test_write_frame_rows_and_header(tmp_path):
    wb = Workbook()
    ws = wb.active
    nxt = write_frame(ws, pd.DataFrame({"=a": ["=b", None], "x": [-1.5, float("nan")]}))
    assert nxt == 4
    assert [[c.value for c in r] for r in ws.iter_rows()] == [["=a", "x"], ["=b", -1.5], [None, None]]
    assert {c.data_type for r in ws.iter_rows() for c in r} == {"s", "n"}


# ----------------------------------------------------------------------------------------------- the writers
def _cells(path):
    wb = load_workbook(path)
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def test_open_capacity_xlsx_has_no_formula_and_keeps_names_and_numbers(cap, tmp_path):
    path = cap.to_excel(tmp_path / "open_capacity.xlsx")[0]
    cells = _cells(path)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    text = {c.value for c in cells if c.data_type == "s"}
    assert set(HOSTILE[:4]) <= text  # the feeders (named after their breakers) read back as the original text
    wb = load_workbook(path)
    feeder = wb["feeder"]
    header = [c.value for c in feeder[1]]
    for col in ("peak_mva", "open_capacity_mva", "rating_a"):
        j = header.index(col) + 1
        vals = [feeder.cell(row=r, column=j) for r in range(2, feeder.max_row + 1)]
        assert vals and all(c.data_type == "n" for c in vals if c.value is not None)
        expected = cap.tables["feeder"][col].tolist()
        assert [c.value for c in vals] == pytest.approx(expected)


def test_export_tables_negative_numbers_stay_numbers(tmp_path):
    table = pd.DataFrame({"name": HOSTILE, "open_capacity_mva": [-2.5, -1.0, 0.0, 1.5, -3.25]})
    path = export_tables({"feeder": table}, {"note": "=cmd|' /C calc'!A0"}, tmp_path / "t.xlsx")[0]
    ws = load_workbook(path)["feeder"]
    assert [c.value for c in ws["A"][1:]] == HOSTILE
    assert [c.data_type for c in ws["B"][1:]] == ["n"] * 5
    assert [c.value for c in ws["B"][1:]] == [-2.5, -1.0, 0.0, 1.5, -3.25]
    assert not [c for c in _cells(path) if c.data_type == "f"]
    assert "=cmd|' /C calc'!A0" in {c.value for c in _cells(path)}


def _read_csv(path, **kw):
    return pd.read_csv(path, keep_default_na=False, na_values=[""], **kw)


def test_open_capacity_csvs_escape_names_and_keep_numbers(cap, tmp_path):
    written = cap.to_csv(tmp_path / "out" / "cap")
    feeder_csv = next(p for p in written if p.name.endswith("_feeder.csv"))
    raw = feeder_csv.read_text(encoding="utf-8")
    for name in HOSTILE[:4]:  # the feeder names
        assert "'" + name.replace('"', '""') in raw  # escaped (CSV-quoted where the name has quotes)
    back = _read_csv(feeder_csv)
    table = cap.tables["feeder"]
    for col in table.columns:
        if pd.api.types.is_numeric_dtype(table[col]) and not pd.api.types.is_bool_dtype(table[col]):
            assert pd.api.types.is_numeric_dtype(back[col]), col
            assert back[col].tolist() == pytest.approx(table[col].tolist(), nan_ok=True)
        elif table[col].dtype == object:
            assert back[col].map(unescape_text).fillna("").astype(str).tolist() == \
                table[col].fillna("").astype(str).tolist(), col
    # every text cell of every CSV is safe
    for p in written:
        df = _read_csv(p, dtype=str)
        cells = [v for col in df.columns for v in df[col].dropna()] + list(df.columns)
        assert not [v for v in cells if is_risky(v)], p.name


def test_reliability_csvs_escape_names(hostile_net, tmp_path):
    ds = gs.assess_reliability(hostile_net)
    written = write_reliability(ds, tmp_path / "rel")
    load = _read_csv(tmp_path / "rel" / "reliability_load.csv", index_col=0)
    assert load["load_name"].map(unescape_text).tolist()[:5] == HOSTILE
    assert pd.api.types.is_float_dtype(load["lp_unavailability [h/yr]"])
    # the feeders take their breakers' names: the feeder table's index carries them, escaped
    feeder = _read_csv(tmp_path / "rel" / "reliability_feeder.csv", index_col=0)
    assert set(HOSTILE[:4]) <= set(feeder.index.map(unescape_text))
    assert pd.api.types.is_float_dtype(feeder["SAIDI [h/yr]"])
    for p in written:
        df = _read_csv(p, dtype=str)
        cells = [v for col in df.columns for v in df[col].dropna()] + list(df.columns)
        assert not [v for v in cells if is_risky(v)], p.name


def test_flags_csv_is_escaped(cap, tmp_path):
    flags = cap.flags.copy()
    flags.loc[flags.index[0], "name"] = "=HYPERLINK(\"http://x\")"
    path = write_flags_csv(flags, tmp_path / "flags.csv")
    back = _read_csv(path)
    assert back["name"].map(unescape_text).tolist() == flags["name"].tolist()
    assert back["loading_percent"].tolist() == pytest.approx(flags["loading_percent"].tolist(), nan_ok=True)
    with pytest.raises(gs.errors.InputError):
        write_flags_csv(flags, path)


def test_connection_decision_xlsx_has_no_formula(tmp_path):
    net = gs.load_network("rbts2")
    bus = int(net.load.bus.iloc[0])
    net.bus["name"] = net.bus["name"].astype(object)
    net.bus.loc[bus, "name"] = HOSTILE[0]
    dec = gs.evaluate_connection(net, p_mw=0.5, bus=bus)
    assert dec.candidates["name"].iloc[0] == HOSTILE[0]
    dec.to_excel(tmp_path / "decision.xlsx")
    cells = _cells(tmp_path / "decision.xlsx")
    assert not [c for c in cells if c.data_type == "f"]
    assert HOSTILE[0] in {c.value for c in cells if c.data_type == "s"}
    assert {c.data_type for c in cells if isinstance(c.value, float)} == {"n"}


def test_annual_results_folder_tables_and_workbooks_are_safe(hostile_net, tmp_path):
    from gridscope.annual.config import config_from_dict
    from gridscope.annual.runner import run_study
    from gridscope.annual.writer import write_study

    gs.save_network(hostile_net, tmp_path / "hostile.json")
    run = run_study(config_from_dict({"networks": [str(tmp_path / "hostile.json")],
                                      "reliability": {"method": "analytical"},
                                      "output": {"plots": False, "report": False}}))
    out = write_study(run, tmp_path / "out")
    books = sorted(out.rglob("*.xlsx"))
    assert [p.relative_to(out).as_posix() for p in books] == ["capacity/hostile.xlsx", "summary.xlsx"]
    for book in books:
        cells = _cells(book)
        assert not [c.coordinate for c in cells if c.data_type == "f"], book.name
    summary = _cells(out / "summary.xlsx")
    assert set(HOSTILE[:4]) <= {c.value for c in summary if c.data_type == "s"}  # the feeders in the flag sheet
    assert {c.data_type for c in summary if isinstance(c.value, float)} == {"n"}
    csvs = sorted(out.rglob("*.csv"))
    assert len(csvs) == 8  # zones, networks, flags, open_capacity_feeder and the four reliability tables
    for p in csvs:
        df = _read_csv(p, dtype=str)
        cells = [v for col in df.columns for v in df[col].dropna()] + list(df.columns)
        assert not [v for v in cells if is_risky(v)], p.name
    feeders = _read_csv(out / "tables" / "open_capacity_feeder.csv")
    assert set(HOSTILE[:4]) <= set(feeders["name"].map(unescape_text))


# ---------------------------------------------------------------------------------------- network Excel save
def test_saved_network_xlsx_has_no_formula_and_reads_back(hostile_net, tmp_path):
    """gs.save_network(.xlsx): pandas' openpyxl writer made every "=…" name a formula cell (and "#N/A" an error
    cell); they are text cells now, and the net reads back with the same names and numbers."""
    net = copy.deepcopy(hostile_net)
    net.bus.loc[net.bus.index[:2], "name"] = ["#N/A", "=1/0"]
    path = gs.save_network(net, tmp_path / "net.xlsx")
    cells = _cells(path)
    assert [c.coordinate for c in cells if c.data_type in ("f", "e")] == []
    risky = [c for c in cells if isinstance(c.value, str) and c.value.strip()[:1] in "=+-@#＝"]
    # 3 tables (switch, line, load) x 5 hostile names + the two bus names; HOSTILE[2] "-2+3" is in each
    assert len(risky) == 3 * len(HOSTILE) + 2
    assert all(c.data_type == "s" and c.quotePrefix for c in risky)
    numbers = [c for c in cells if isinstance(c.value, int | float) and not isinstance(c.value, bool)]
    assert numbers and all(c.data_type == "n" for c in numbers)  # numbers stay numbers (negative ones too)
    back = gs.load_network(path)
    for table in ("switch", "line", "load"):
        assert back[table]["name"].tolist() == net[table]["name"].tolist(), table
    # pandas' Excel reader takes the text "#N/A" for a missing value (its default na_values); the rest match
    assert back.bus["name"].tolist()[1:] == net.bus["name"].tolist()[1:]
    assert back.line["length_km"].tolist() == pytest.approx(net.line["length_km"].tolist())
    back.bus.loc[back.bus.index[0], "name"] = "#N/A"
    assert network_hash(back) == network_hash(net)  # everything else, numbers included, round-trips


def test_open_capacity_csv_set_is_written_whole_or_not_at_all(cap, tmp_path, monkeypatch):
    """A full disk on the third of the CSV files: none of them is left (before: the first two stayed)."""
    import errno

    from gridscope.grid.io import OutputError

    real, calls = pd.DataFrame.to_csv, []

    def third_fails(self, path, *a, **k):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", third_fails)
    with pytest.raises(OutputError, match="no space left on the device"):
        cap.to_csv(tmp_path / "out" / "cap")
    monkeypatch.undo()
    assert len(calls) == 3 and list((tmp_path / "out").iterdir()) == []
    assert len(cap.to_csv(tmp_path / "out" / "cap")) > 3  # the same call on a disk with room writes them all
