"""The SpreadsheetML writer (io.sheet_xml) against the openpyxl writer it replaced: same cells, formats, headers.

Oracles: openpyxl's own write-only writer (``engine="openpyxl"``) read back with openpyxl, pandas.read_excel,
and the frame itself (floats round-trip exactly from our file; openpyxl writes 16 significant digits).
"""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

import weihai_gis.io.workbook as workbook
from weihai_gis.io.sheet_xml import MAX_CELL_CHARS, column_letter
from weihai_gis.io.workbook import Sheet, read_sheet, write_workbook


def _same_value(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-15)
    return a == b


def _assert_same_workbooks(ours, theirs):
    a, b = load_workbook(ours), load_workbook(theirs)
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        wa, wb = a[name], b[name]
        assert (wa.max_row, wa.max_column) == (wb.max_row, wb.max_column)
        assert wa.auto_filter.ref == wb.auto_filter.ref
        for ra, rb in zip(wa.iter_rows(), wb.iter_rows(), strict=True):
            for ca, cb in zip(ra, rb, strict=True):
                assert _same_value(ca.value, cb.value), (name, ca.coordinate, ca.value, cb.value)
                if ca.value is not None:
                    assert ca.number_format == cb.number_format, (name, ca.coordinate)
                    assert bool(ca.font.b) == bool(cb.font.b) and bool(ca.font.i) == bool(cb.font.i)
                    assert ca.fill.fill_type == cb.fill.fill_type, (name, ca.coordinate)
                    assert bool(ca.alignment.wrap_text) == bool(cb.alignment.wrap_text)
        for key, dim in wb.column_dimensions.items():
            assert wa.column_dimensions[key].width == pytest.approx(dim.width, abs=1e-3)


def _sheet(frame: pd.DataFrame, **kw) -> Sheet:
    return Sheet(
        name="问题清单",
        frame=frame,
        headers_zh={"share": "占比", "people": "人口"},
        percent=frozenset({"share"}) & set(frame.columns),
        counts=frozenset({"people"}) & set(frame.columns),
        title="生活圈 — 问题清单",
        lines=("计算时间: 2026", "⚠ 人口为估算"),
        **kw,
    )


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("&<>\"' \t\n威海"),
    max_size=40,
)


@st.composite
def frames(draw):
    n = draw(st.integers(0, 12))
    # beyond 1e300 openpyxl's 16 digits round up to inf (1.7976931348623157e308 -> "1.797693134862316e+308")
    floats = st.one_of(st.floats(-1e300, 1e300), st.sampled_from([np.nan, np.inf, -np.inf]), st.none())
    return pd.DataFrame(
        {
            "share": draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)),
            "people": draw(st.lists(st.integers(-(2**53), 2**53), min_size=n, max_size=n)),
            "dist_m": pd.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=float),
            "name": draw(st.lists(st.one_of(_text, st.none()), min_size=n, max_size=n)),
            "ok": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            "mixed": draw(
                st.lists(st.one_of(_text, st.integers(-1000, 1000), st.none()), min_size=n, max_size=n)
            ),
        }
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames())
def test_the_xml_writer_writes_what_openpyxl_wrote(frame, tmp_path):
    sheets = [_sheet(frame), Sheet("总体", frame.head(3))]
    ours = write_workbook(tmp_path / "xml.xlsx", sheets)
    theirs = write_workbook(tmp_path / "openpyxl.xlsx", sheets, engine="openpyxl")
    _assert_same_workbooks(ours, theirs)
    back = read_sheet(ours, "问题清单")
    assert len(back) == len(frame)
    if len(frame):  # floats come back bit for bit; NaN and inf as empty cells
        dist = pd.to_numeric(back["dist_m"], errors="coerce").to_numpy(dtype=float)
        want = frame["dist_m"].to_numpy(dtype=float)
        finite = np.isfinite(want)
        assert np.array_equal(dist[finite], want[finite]) and np.isnan(dist[~finite]).all()
        assert back["ok"].tolist() == ["是" if v else "否" for v in frame["ok"]]


def test_layout_cells_of_a_sheet_per_row_formats_and_frozen_headers(tmp_path):
    frame = pd.DataFrame({"unit": ["%", "个"], "value": [12.5, 3000.0], "people": [1, 2]})
    sheet = _sheet(frame, cell_formats={"value": ['0.0"%"', None]})
    path = write_workbook(tmp_path / "w.xlsx", [sheet])
    ws = load_workbook(path)["问题清单"]
    assert ws["A1"].value == "生活圈 — 问题清单" and ws["A1"].font.b and ws["A1"].font.sz == 13
    assert ws["A3"].font.color.rgb.endswith("A15C00")  # the 估算 line is amber
    assert [c.value for c in ws[5]] == ["unit", "value", "人口"] and ws["A5"].fill.fill_type == "solid"
    assert [c.value for c in ws[6]] == ["unit", "value", "people"] and ws["A6"].font.i
    assert ws["B7"].number_format == '0.0"%"' and ws["B8"].number_format == "#,##0.0"
    assert ws["C7"].number_format == "#,##0" and ws["A7"].number_format == "General"
    assert ws.freeze_panes == "B7" and ws.auto_filter.ref == "A6:C8"
    assert pd.read_excel(path, header=None).iloc[6:, 1].tolist() == [12.5, 3000.0]


def test_ids_beyond_2_53_are_text_long_text_is_cut_and_control_characters_dropped(tmp_path, caplog):
    frame = pd.DataFrame(
        {"id": pd.array([2**60 + 1, 7], dtype=object), "note": ["a\x00b\x1fc", "x" * (MAX_CELL_CHARS + 5)]}
    )
    path = write_workbook(tmp_path / "w.xlsx", [Sheet("s", frame)])
    back = read_sheet(path, "s")
    assert back["id"].tolist() == [str(2**60 + 1), 7]  # a double would round it to 1152921504606846976
    assert back["note"][0] == "abc" and len(back["note"][1]) == MAX_CELL_CHARS
    assert "control characters" in caplog.text and "cut" in caplog.text


def test_a_table_longer_than_an_excel_sheet_continues_on_numbered_sheets(tmp_path, monkeypatch):
    # title, a line, the continuation line, empty, two header rows: 14 data rows a sheet
    monkeypatch.setattr(workbook, "MAX_ROWS", 20)
    frame = pd.DataFrame({"origin_id": [f"o{i}" for i in range(40)], "people": np.arange(40)})
    sheet = Sheet("问题清单", frame, title="问题清单", lines=("计算时间: 2026",))
    path = write_workbook(tmp_path / "w.xlsx", [sheet, Sheet("总体", frame.head(2))])
    wb = load_workbook(path)
    assert wb.sheetnames == ["问题清单", "问题清单(2)", "问题清单(3)", "总体"]
    assert all(wb[n].max_row <= 20 for n in wb.sheetnames)
    parts = [read_sheet(path, n) for n in wb.sheetnames[:3]]
    assert pd.concat(parts)["origin_id"].tolist() == frame["origin_id"].tolist()  # every row, in order
    assert "共 40 行" in wb["问题清单"]["A2"].value and "问题清单(3)" in wb["问题清单"]["A2"].value
    assert "续表 3/3" in wb["问题清单(3)"]["A2"].value and "第 29–40 行" in wb["问题清单(3)"]["A2"].value


def test_a_table_that_fills_an_excel_sheet_exactly_stays_on_one(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "MAX_ROWS", 10)
    frame = pd.DataFrame({"a": np.arange(6)})  # title + 1 line + empty + 2 header rows + 6 = 11 rows
    assert [len(p.frame) for p in workbook.excel_parts(Sheet("s", frame, title="t"))] == [6]
    assert [len(p.frame) for p in workbook.excel_parts(Sheet("s", frame, title="t", lines=("x",)))] == [4, 2]


def test_the_package_holds_shared_strings_once_and_a_sane_zip(tmp_path):
    frame = pd.DataFrame({"category": ["幼儿园", "菜市场"] * 500})
    path = write_workbook(tmp_path / "w.xlsx", [Sheet("s", frame)])
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        sst = zf.read("xl/sharedStrings.xml").decode()
    assert sst.count("幼儿园") == 1 and 'count="1002"' in sst  # 1000 cells + the header and id rows


@pytest.mark.parametrize(("index", "letter"), [(1, "A"), (26, "Z"), (27, "AA"), (702, "ZZ"), (703, "AAA")])
def test_column_letters(index, letter):
    assert column_letter(index) == letter


def test_unknown_engine_and_forbidden_sheet_names_are_refused(tmp_path):
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match="engine"):
        write_workbook(tmp_path / "w.xlsx", [Sheet("s", frame)], engine="xlsxwriter")
    with pytest.raises(ValueError, match="forbids"):
        write_workbook(tmp_path / "w.xlsx", [Sheet("a/b", frame)])


def test_categorical_columns_write_as_their_values(tmp_path):
    frame = pd.DataFrame({"category": ["幼儿园", None, "菜市场", "幼儿园"], "n": [1, 2, 3, 4]})
    cats = frame.astype({"category": "category"})
    a = read_sheet(write_workbook(tmp_path / "a.xlsx", [Sheet("s", frame)]), "s")
    b = read_sheet(write_workbook(tmp_path / "b.xlsx", [Sheet("s", cats)]), "s")
    pd.testing.assert_frame_equal(a, b)
    assert b["category"].tolist()[::2] == ["幼儿园", "菜市场"] and pd.isna(b["category"][1])
