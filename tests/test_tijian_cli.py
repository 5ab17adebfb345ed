"""``weihai-gis tijian``: the hand-made case end to end through files, bad input, the embedded extract."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.io.workbook import read_sheet

CRS = "EPSG:4550"
X0, Y0 = 560_000.0, 4_150_000.0


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tijian_cli")
    gpd.GeoDataFrame(geometry=[shapely.LineString([(X0, Y0), (X0 + 3000, Y0)])], crs=CRS).to_file(
        d / "road.gpkg"
    )
    # the bureau's land-use layer: residential 0701 strip, plus a 0702 rural plot and an industrial plot
    gpd.GeoDataFrame(
        {"DLBM": ["0701", "0702", "0601"]},
        geometry=[_box(0, 10, 2000, 30), _box(2500, 10, 2600, 30), _box(0, -30, 2000, -10)],
        crs=CRS,
    ).to_file(d / "sandiao.gpkg")
    gpd.GeoDataFrame(
        {"category": ["middle_school", "primary_school", "kindergarten"]},
        geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 2000, Y0), shapely.Point(X0 + 250, Y0)],
        crs=CRS,
    ).to_file(d / "facilities.gpkg")
    gpd.GeoDataFrame(
        {"population": [10.0, 20.0, 30.0]},
        geometry=[shapely.Point(X0 + x, Y0 + 20) for x in (100, 990, 600)],
        crs=CRS,
    ).to_file(d / "people.gpkg")
    gpd.GeoDataFrame(
        {"id": ["Q1", "Q2"], "name_zh": ["一号小区", "二号小区"]},
        geometry=[_box(0, 10, 500, 30), _box(1500, 10, 2000, 30)],
        crs=CRS,
    ).to_file(d / "xiaoqu.gpkg")
    pd.DataFrame({"id": ["mohurd_middle_school"], "value_official": [45.0]}).to_csv(
        d / "prev.csv", index=False
    )
    return d


def _args(d, out, **extra):
    args = [
        "tijian",
        "run",
        "--network",
        str(d / "road.gpkg"),
        "--facilities",
        str(d / "facilities.gpkg"),
        "--category-field",
        "category",
        "--origins",
        str(d / "people.gpkg"),
        "--land",
        str(d / "sandiao.gpkg"),
        "--xiaoqu",
        str(d / "xiaoqu.gpkg"),
        "--cell-m",
        "10",
        "--min-component-nodes",
        "1",
        "--out",
        str(out),
    ]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def test_run_writes_the_table_with_hand_values_deltas_and_problem_list(files, tmp_path):
    out = tmp_path / "t.xlsx"
    res = CliRunner().invoke(main, _args(files, out, previous=files / "prev.csv"))
    assert res.exit_code == 0, res.output
    table = read_sheet(out, "体检指标表", chinese=True).set_index("编号")
    # only the 0701 polygon counts as residential land: 2000 × 20 m
    assert table.at["mohurd_middle_school", "居住用地 km²"] == pytest.approx(0.04)

    def strip(r):
        return 0.5 * (
            (30 * math.sqrt(r * r - 900) + r * r * math.asin(30 / r))
            - (10 * math.sqrt(r * r - 100) + r * r * math.asin(10 / r))
        )

    sl = 100 * strip(1000) / 40_000
    assert table.at["mohurd_middle_school", "本年值（官方口径）"] == pytest.approx(sl, rel=5e-4)
    assert table.at["mohurd_middle_school", "变化"] == pytest.approx(sl - 45, rel=5e-4)
    assert table.at["tdt_primary_10", "路网距离·居住用地面积占比"] == pytest.approx(100 * 129 / 400)
    assert table.at["mohurd_middle_school", "路网距离·人口占比"] == pytest.approx(100 * 40 / 60)
    problems = read_sheet(out, "小区问题清单")
    assert set(problems["unit_name"]) == {"一号小区", "二号小区"}
    # the layout of io.workbook: header block naming the inputs, Chinese over English headers, % cells
    import openpyxl

    ws = openpyxl.load_workbook(out)["体检指标表"]
    rows = list(ws.iter_rows(values_only=True))
    block = [r[0] for r in rows[: rows.index((None,) * ws.max_column)] if r[0]]
    assert any("road.gpkg" in line and "people.gpkg" in line for line in block)
    assert not any("ESTIMATED" in line for line in block)  # 三调 land and counted residents: nothing to flag
    assert any("阈值未经官方文本核实" in line for line in block)
    head = next(i for i, r in enumerate(rows) if r[0] == "编号")
    assert rows[head + 1][0] == "id" and "本年值（官方口径）" in rows[head]
    col = rows[head + 1].index("value_official") + 1
    units = rows[head + 1].index("unit")
    for i, r in enumerate(rows[head + 2 :], start=head + 3):
        if r[col - 1] is not None:
            want = '0.0"%"' if r[units] == "%" else "#,##0"
            assert ws.cell(i, col).number_format == want, (r[0], r[units])
    share = read_sheet(out, "单元评估")
    ws = openpyxl.load_workbook(out)["单元评估"]
    j = list(share.columns).index("share_network_area") + 1
    cells = [ws.cell(i, j) for i in range(1, ws.max_row + 1)]
    shares = [c for c in cells if isinstance(c.value, (int, float))]
    assert shares and all(c.number_format == "0.0%" for c in shares)


def test_missing_land_code_field_exits_2_naming_file_and_field(files, tmp_path):
    out = tmp_path / "t.xlsx"
    res = CliRunner().invoke(main, _args(files, out, land_code_field="YDDM"))
    assert res.exit_code == 2
    assert "sandiao.gpkg" in res.output and "'YDDM'" in res.output and "DLBM" in res.output
    assert not out.exists()


def test_embedded_weihai_extract_gives_all_three_variants_and_a_problem_list(tmp_path):
    from weihai_gis import data

    if not data.path("weihai-hitwh.osm.pbf").exists():
        pytest.skip("embedded 山大哈工大 extract not present")
    out = tmp_path / "tijian.xlsx"
    res = CliRunner().invoke(
        main, ["-q", "tijian", "run", "--out", str(out)]
    )  # defaults: the embedded extract
    assert res.exit_code == 0, res.output
    table = read_sheet(out, "体检指标表", chinese=True).set_index("编号")
    assert len(table) == 19
    variants = ["直线半径·居住用地面积占比", "路网距离·居住用地面积占比", "路网距离·人口占比"]
    school = table.loc["mohurd_middle_school", variants]
    assert (
        school.notna().all() and (school > 0).all()
    )  # 威海市第一中学 and the 山大实验学校 are in the extract
    # network distance is never shorter than the straight line: the network share cannot exceed the
    # straight-line one (up to the 20 m sampling grid)
    for iid in ("mohurd_middle_school", "tdt_primary_10", "tdt_hospital_2km", "mohurd_park_activity"):
        assert table.at[iid, variants[1]] <= table.at[iid, variants[0]] + 1.0
    assert table["说明"].str.contains("OSM 近似").all()  # land is the OSM approximation
    raw = pd.read_excel(out, sheet_name="体检指标表", header=None)[0].dropna().astype(str)
    assert raw.str.contains("ESTIMATED land").any() and raw.str.contains("ESTIMATED origins").any()
    problems = read_sheet(out, "小区问题清单")
    assert len(problems) > 5 and problems["rank"].tolist() == list(range(1, len(problems) + 1))
    assert problems["failed"].str.contains("差 .* 米", regex=True).any()


def test_last_years_xlsx_and_a_target_file_feed_the_next_table(files, tmp_path):
    first = tmp_path / "2025.xlsx"
    assert CliRunner().invoke(main, _args(files, first)).exit_code == 0
    targets = tmp_path / "targets.csv"
    pd.DataFrame(
        {
            "id": ["mohurd_middle_school", "mohurd_middle_school", "tdt_primary_10"],
            "year": [2026, 2027, 2027],
            "target": [55.0, 60.0, 40.0],
        }
    ).to_csv(targets, index=False)
    second = tmp_path / "2026.xlsx"
    res = CliRunner().invoke(main, _args(files, second, previous=first, indicator_targets=targets))
    assert res.exit_code == 0, res.output
    t = read_sheet(second, "体检指标表").set_index("id")
    # same inputs → last year's value is this year's, the change is zero
    assert t.at["mohurd_middle_school", "previous_value"] == pytest.approx(
        t.at["mohurd_middle_school", "value_official"]
    )
    assert t.at["tdt_primary_10", "change"] == pytest.approx(0)
    assert (
        t.at["mohurd_middle_school", "target_2026"] == 55
        and t.at["mohurd_middle_school", "target_2027"] == 60
    )
    assert t.at["tdt_primary_10", "target_2027"] == 40 and pd.isna(t.at["tdt_primary_10", "target_2026"])


def test_main_job_step_writes_the_table_and_the_report_section(tmp_path):
    from weihai_gis import data
    from weihai_gis.layers import load_layers
    from weihai_gis.network import build_network
    from weihai_gis.report import build_report
    from weihai_gis.samples import hitwh_inputs
    from weihai_gis.tijian.job import tijian_for_main_job
    from weihai_gis.tijian.report_section import report_section

    if not data.path("weihai-hitwh.osm.pbf").exists():
        pytest.skip("embedded 山大哈工大 extract not present")
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    res, path, note = tijian_for_main_job(
        net, inputs.network, inputs.facilities, inputs.origins, load_layers(), tmp_path
    )
    assert path == tmp_path / "tijian.xlsx" and "OSM 近似" in note
    names = pd.ExcelFile(path).sheet_names
    assert {"体检指标表", "小区问题清单", "街区问题清单", "单元评估", "规划目标"} <= set(names)
    assert len(read_sheet(path, "规划目标")) == 53
    section = report_section(res)
    html = build_report(tijian=section, include_maps=False)
    assert 'id="tijian"' in html and "中学服务半径覆盖率" in html and "小区问题清单" in html
    assert len(section["rows"]) == 19 and all(len(r) == len(section["header"]) for r in section["rows"])
    # the driving items now have network values (no fire station in the extract: 未评估, not 0 %)
    fire = res.table.set_index("id").loc["mohurd_fire_5min"]
    assert "未评估" in fire["remark"]
    # a network that is not an OSM extract is skipped with a note
    skipped, none, why = tijian_for_main_job(
        net, tmp_path / "roads.gpkg", inputs.facilities, inputs.origins, {}, tmp_path
    )
    assert skipped is None and none is None and "tijian run" in why
