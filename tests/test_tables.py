"""Summary tables a planner pastes: XLSX read back with openpyxl (headers, % cells, widths, notices), CSV + notice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from maps_data import make_layers, make_results
from openpyxl import load_workbook

from weihai_gis.io.tables import notice_path, write_summary_tables
from weihai_gis.io.workbook import Sheet, display_width, read_sheet, write_workbook


@pytest.fixture(scope="module")
def layers():
    return make_layers()


@pytest.fixture(scope="module")
def results(layers):
    return make_results(layers)


@pytest.fixture(scope="module")
def written(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("tables")
    csv, xlsx = write_summary_tables(results, out / "coverage_summary.csv", out / "coverage_summary.xlsx")
    return csv, xlsx


def _header_rows(ws):
    """Return (Chinese header row, English id row) numbers: the two rows after the first empty one."""
    for r in range(1, ws.max_row + 1):
        if all(c.value is None for c in ws[r]):
            return r + 1, r + 2
    raise AssertionError("no empty row after the header block")


def test_xlsx_has_one_sheet_per_unit_with_chinese_names(written):
    wb = load_workbook(written[1])
    assert wb.sheetnames == ["总体", "重点片区", "区市"]


def test_xlsx_headers_are_chinese_over_the_english_ids(written, results):
    ws = load_workbook(written[1])["总体"]
    zh_row, id_row = _header_rows(ws)
    zh = [c.value for c in ws[zh_row]]
    ids = [c.value for c in ws[id_row]]
    assert ids == list(results.overall().columns)
    assert zh[ids.index("rate_network")] == "路网覆盖率"
    assert zh[ids.index("rate_buffer")] == "直线缓冲覆盖率"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in str(h)) for h in zh)  # every header has Chinese
    assert ws[zh_row][0].font.bold


def test_xlsx_rates_are_percent_cells_holding_the_exact_share(written, results):
    ws = load_workbook(written[1])["总体"]
    _, id_row = _header_rows(ws)
    ids = [c.value for c in ws[id_row]]
    table = results.overall().set_index("id")
    for col in ("rate_network", "rate_buffer", "gap"):
        j = ids.index(col) + 1
        for r in range(id_row + 1, ws.max_row + 1):
            cell = ws.cell(r, j)
            cid = ws.cell(r, 1).value
            assert cell.number_format == "0.0%", (col, cid)
            assert cell.value == pytest.approx(float(table.loc[cid, col]))
    j = ids.index("n_facilities") + 1
    assert ws.cell(id_row + 1, j).number_format == "#,##0"


def test_xlsx_unit_sheet_puts_network_straight_line_and_gap_side_by_side(written, results):
    frame = read_sheet(written[1], "区市")
    cols = list(frame.columns)
    i = cols.index("rate_clinic")
    assert cols[i : i + 3] == ["rate_clinic", "rate_buffer_clinic", "gap_clinic"]
    want = results.units["counties"].set_index("id")
    got = frame.set_index("id")
    for col in ("rate_all_basic", "rate_buffer_clinic", "population"):
        np.testing.assert_allclose(got[col].astype(float), want.loc[got.index, col].astype(float))


def test_xlsx_column_widths_fit_the_chinese_headers(written):
    ws = load_workbook(written[1])["重点片区"]
    zh_row, _ = _header_rows(ws)
    for cell in ws[zh_row]:
        width = ws.column_dimensions[cell.column_letter].width
        assert width >= min(60, display_width(cell.value)), cell.value


def test_xlsx_header_block_names_date_profile_sources_and_the_estimate_notice(written, results):
    wb = load_workbook(written[1])
    for ws in wb.worksheets:
        zh_row, _ = _header_rows(ws)
        block = "\n".join(str(ws.cell(r, 1).value) for r in range(1, zh_row - 1))
        assert results.meta.created in block and "gb50180-2018" in block and "EPSG:4550" in block
        assert "roads.gpkg" in block and "估算" in block and "未经官方文本核实" in block
    ws = wb["区市"]
    zh_row, id_row = _header_rows(ws)
    heads = dict(zip([c.value for c in ws[id_row]], [c.value for c in ws[zh_row]], strict=True))
    assert heads["population"] == "人口（估算）"


def test_real_population_is_never_labelled_estimated(results, tmp_path):
    inputs = tuple(dataclasses.replace(i, status="real") for i in results.meta.inputs)
    real = dataclasses.replace(results, meta=results.meta.replace(inputs=inputs))
    csv, xlsx = write_summary_tables(real, tmp_path / "s.csv", tmp_path / "s.xlsx")
    wb = load_workbook(xlsx)
    text = "".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    assert "估算" not in text
    assert "估算" not in notice_path(csv).read_text(encoding="utf-8-sig")


def test_sample_data_is_flagged_in_every_sheet_and_the_csv_notice(layers, tmp_path):
    sample = make_results(layers, where="helsinki")
    csv, xlsx = write_summary_tables(sample, tmp_path / "s.csv", tmp_path / "s.xlsx")
    for ws in load_workbook(xlsx).worksheets:
        assert any("样例数据" in str(ws.cell(r, 1).value) for r in range(1, 8))
    assert "样例数据" in notice_path(csv).read_text(encoding="utf-8-sig")


def test_csv_keeps_machine_ids_with_a_bom_and_a_notice_file_beside_it(written, results):
    csv, _ = written
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the UTF-8 BOM as UTF-8
    table = pd.read_csv(csv, encoding="utf-8-sig")
    assert list(table.columns) == list(results.overall().columns)
    np.testing.assert_allclose(table["rate_network"], results.overall()["rate_network"])
    notice = notice_path(csv)
    assert notice.name == "coverage_summary.说明.txt"
    text = notice.read_text(encoding="utf-8-sig")
    assert "估算" in text and "rate_network: 路网覆盖率" in text and results.meta.created in text


def test_problem_sheets_keep_their_chinese_headers(results, tmp_path):
    problems = pd.DataFrame(
        {"origin_id": ["O1", "O2"], "category": ["clinic", "market"], "population": [12.0, 30.0]}
    )
    missing = pd.DataFrame({"category": ["clinic"], "population_left_out": [42.0], "share_left_out": [0.125]})
    res = dataclasses.replace(results, problem_table=problems, missing_by_category=missing)
    _, xlsx = write_summary_tables(res, tmp_path / "s.csv", tmp_path / "s.xlsx")
    ws = load_workbook(xlsx)["缺失类别人口"]
    zh_row, id_row = _header_rows(ws)
    assert [c.value for c in ws[zh_row]] == ["缺失类别", "未覆盖人口（估算）", "未覆盖人口占比"]
    assert ws.cell(id_row + 1, 3).number_format == "0.0%"
    back = read_sheet(xlsx, "问题清单")
    assert back["origin_id"].tolist() == ["O1", "O2"]


def test_workbook_refuses_duplicate_sheet_names_after_cutting(tmp_path):
    frame = pd.DataFrame({"a": [1]})
    long = "x" * 40
    with pytest.raises(ValueError, match="two sheets"):
        write_workbook(tmp_path / "w.xlsx", [Sheet(long, frame), Sheet(long + "y", frame)])


def test_read_sheet_rejects_a_sheet_without_the_layout(tmp_path):
    path = tmp_path / "plain.xlsx"
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_excel(path, index=False)
    with pytest.raises(ValueError, match=r"plain\.xlsx.*header block"):
        read_sheet(path)


def test_a_long_problem_list_sheet_holds_the_residents_most_left_out_and_says_where_the_rest_is(
    results, tmp_path, monkeypatch
):
    import weihai_gis.io.tables as tables

    monkeypatch.setattr(tables, "XLSX_PROBLEM_ROWS", 5)
    rng = np.random.default_rng(0)
    problems = pd.DataFrame(
        {
            "origin_id": [f"o{i}" for i in range(40)],
            "population": rng.permutation(40).astype(float) + 1,
            "category": "kindergarten",
            "dist_network_m": rng.uniform(300, 900, 40),
        }
    )
    res = dataclasses.replace(results, problem_table=problems)
    _, xlsx = write_summary_tables(res, tmp_path / "s.csv", tmp_path / "s.xlsx")
    sheet = read_sheet(xlsx, "问题清单")
    assert sheet["population"].tolist() == [40.0, 39.0, 38.0, 37.0, 36.0]  # the 5 largest, largest first
    ws = load_workbook(xlsx)["问题清单"]
    block = " ".join(str(ws.cell(r, 1).value) for r in range(1, 6))
    assert "前 5 行（共 40 行）" in block and "problems" in block
