"""城市体检 variants on a hand-made case (values computed by hand), an overlay oracle, deltas and 问题清单."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from weihai_gis.lifecircle import coverage
from weihai_gis.network import build_network
from weihai_gis.tijian import (
    catalogue_profile,
    compare_previous,
    indicator_table,
    land_samples,
    load_catalogue,
    network_distances,
    problem_list,
    straight_line_share,
)

CRS = "EPSG:4550"
X0, Y0 = 560_000.0, 4_150_000.0  # a spot in Weihai's zone; local coordinates below are offsets from it
IDS = [
    "mohurd_xq_elderly",
    "mohurd_xq_kindergarten",
    "mohurd_middle_school",
    "tdt_primary_10",
    "tdt_elderly_5",
]


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _circle_strip(radius, y0, y1):
    """∫_{y0}^{y1} sqrt(R² − y²) dy: area of a quarter-disk of radius R between the lines y0 and y1."""

    def f(y):
        return 0.5 * (y * math.sqrt(radius**2 - y**2) + radius**2 * math.asin(y / radius))

    return f(y1) - f(y0)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A 3 km straight road; residential land [0,2000]×[10,30]; two 小区; three facilities; three households."""
    path = tmp_path_factory.mktemp("tijian") / "road.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(X0, Y0), (X0 + 3000, Y0)])], crs=CRS).to_file(path)
    net = build_network(path, crs=CRS)
    land = gpd.GeoDataFrame({"approximate": [False]}, geometry=[_box(0, 10, 2000, 30)], crs=CRS)
    fac = gpd.GeoDataFrame(
        {"category": ["middle_school", "primary_school", "kindergarten"]},
        geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 2000, Y0), shapely.Point(X0 + 250, Y0)],
        crs=CRS,
    )
    people = gpd.GeoDataFrame(
        {"population": [10.0, 20.0, 30.0]},
        geometry=[shapely.Point(X0 + x, Y0 + 20) for x in (100, 990, 600)],
        crs=CRS,
    )
    xiaoqu = gpd.GeoDataFrame(
        {"id": ["Q1", "Q2"], "name_zh": ["一号小区", "二号小区"]},
        geometry=[_box(0, 10, 500, 30), _box(1500, 10, 2000, 30)],
        crs=CRS,
    )
    cat = load_catalogue()
    cat = cat[cat["id"].isin(IDS)].reset_index(drop=True)
    prof = catalogue_profile(cat)
    kw = {"profile": prof, "min_component_nodes": 1, "offset_check": "off"}
    samples = land_samples(land, cell_m=10)
    land_d = network_distances(coverage(net, samples, fac, **kw))
    pop_d = network_distances(coverage(net, people, fac, **kw))
    table, assessment = indicator_table(
        cat, land, fac, land_distances=land_d, population_distances=pop_d, units={"小区": xiaoqu}
    )
    return cat, samples, table.set_index("id"), assessment


def test_samples_tile_the_land_exactly(case):
    _, samples, _, _ = case
    assert len(samples) == 400 and samples["area_m2"].sum() == pytest.approx(40_000)
    xy = shapely.get_coordinates(samples.geometry.to_numpy()) - [X0, Y0]
    assert set(np.round(xy[:, 1], 6)) == {15.0, 25.0}  # cell centres


def test_straight_line_variant_equals_the_circle_integral(case):
    _, _, table, _ = case
    # middle school at x=0, R=1000: quarter-disk strip between y=10 and y=30 over 40,000 m² of land
    want = 100 * _circle_strip(1000, 10, 30) / 40_000
    assert table.at["mohurd_middle_school", "value_straight_line"] == pytest.approx(want, rel=5e-4)
    assert table.at["mohurd_middle_school", "land_km2"] == pytest.approx(0.04)
    r = round(10 * 66.7, 1)  # TD/T 10 walking minutes at the configured adult speed
    want = 100 * _circle_strip(r, 10, 30) / 40_000
    assert table.at["tdt_primary_10", "value_straight_line"] == pytest.approx(want, rel=5e-4)


def test_network_area_variant_counts_cells_by_hand(case):
    _, _, table, _ = case
    # sample (x+5, 15|25) reaches the school at x=0 over x+5 along the road + 15|25 m connector:
    # row y=15: x ≤ 980 → 99 cells; row y=25: x ≤ 970 → 98 cells; of 400 cells
    assert table.at["mohurd_middle_school", "value_network_area"] == pytest.approx(100 * 197 / 400)
    # primary school at x=2000, 667 m: row 15 needs x+5 ≥ 1348 (65 cells), row 25 x+5 ≥ 1358 (64 cells)
    assert table.at["tdt_primary_10", "value_network_area"] == pytest.approx(100 * 129 / 400)
    # official variants: 住建部 straight line, TD/T network
    assert (
        table.at["mohurd_middle_school", "value_official"]
        == table.at["mohurd_middle_school", "value_straight_line"]
    )
    assert table.at["tdt_primary_10", "value_official"] == table.at["tdt_primary_10", "value_network_area"]


def test_population_variant_by_hand(case):
    _, _, table, _ = case
    # households at x=100 (10 people, 120 m), x=990 (20, 1010 m), x=600 (30, 620 m) from the middle school
    assert table.at["mohurd_middle_school", "value_network_population"] == pytest.approx(100 * 40 / 60)
    # primary school at 2000: 1920, 1030, 1420 m — none within 667 m
    assert table.at["tdt_primary_10", "value_network_population"] == 0


def test_count_indicator_and_problem_list_by_hand(case):
    _, _, table, assessment = case
    # kindergarten at x=250, 300 m: 一号小区 [0,500] fully covered, 二号小区 [1500,2000] not
    assert table.at["mohurd_xq_kindergarten", "value_straight_line"] == 1
    assert table.at["mohurd_xq_kindergarten", "value_network_area"] == 1
    assert table.at["mohurd_xq_kindergarten", "value_network_population"] == 0  # nobody lives in 二号小区
    problems = problem_list(assessment).set_index("unit_id")
    assert set(problems.index) == {"Q1", "Q2"}
    assert "社区小学步行10分钟覆盖率" in problems.at["Q1", "failed"]
    assert (
        "中学服务半径覆盖率" in problems.at["Q2", "failed"]
        and "未达标配建的幼儿园数量" in problems.at["Q2", "failed"]
    )
    a = assessment.set_index(["unit_id", "indicator_id"])
    # 二号小区, middle school (official straight line): the median of its 100 samples' straight-line distances
    # is the 50th smallest, at x+5 = 1745, y = 25
    want = math.hypot(1745, 25) - 1000
    assert a.at[("Q2", "mohurd_middle_school"), "shortfall_m"] == pytest.approx(want)
    assert problems.at["Q2", "n_failed"] == 2 and problems.iloc[0]["n_failed"] == 2
    assert problems.at["Q1", "n_failed"] == 1


def test_indicators_without_any_facility_are_not_assessed(case):
    _, _, table, assessment = case
    for iid in ("mohurd_xq_elderly", "tdt_elderly_5"):  # no elderly-care facility in the input
        assert (
            table.loc[iid, ["value_straight_line", "value_network_area", "value_network_population"]]
            .isna()
            .all()
        )
        assert "未评估" in table.at[iid, "remark"]
    assert not assessment.loc[assessment["indicator_id"] == "mohurd_xq_elderly", "fails"].any()


def test_previous_year_table_gives_deltas(case):
    _, _, table, _ = case
    t = table.reset_index()
    prev = pd.DataFrame({"id": ["mohurd_middle_school", "tdt_primary_10"], "value_official": [40.0, 50.0]})
    out = compare_previous(t, prev).set_index("id")
    assert out.at["mohurd_middle_school", "change"] == pytest.approx(
        out.at["mohurd_middle_school", "value_official"] - 40
    )
    assert out.at["tdt_primary_10", "change"] == pytest.approx(100 * 129 / 400 - 50)
    assert pd.isna(out.at["mohurd_xq_kindergarten", "previous_value"])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), radius=st.floats(20, 400))
def test_straight_line_share_matches_a_geopandas_overlay(seed, radius):
    rng = np.random.default_rng(seed)
    boxes = [
        shapely.box(x, y, x + w, y + h)
        for x, y, w, h in zip(*rng.uniform(0, 1000, (2, 8)), *rng.uniform(20, 300, (2, 8)), strict=True)
    ]
    land = gpd.GeoDataFrame(geometry=boxes, crs=CRS)
    pts = rng.uniform(-100, 1200, (int(rng.integers(1, 6)), 2))
    covered, total = straight_line_share(land, pts, radius)
    disks = gpd.GeoDataFrame(geometry=shapely.buffer(shapely.points(pts), radius, quad_segs=64), crs=CRS)
    dissolved = land.dissolve()
    oracle = gpd.overlay(dissolved, disks.dissolve(), how="intersection").area.sum()
    assert total == pytest.approx(dissolved.area.sum(), rel=1e-9)
    assert covered == pytest.approx(oracle, rel=1e-6, abs=1e-6)


def test_driving_items_use_the_driving_network_by_hand(tmp_path):
    from weihai_gis.network.drive import drive_network_from_segments
    from weihai_gis.tijian import assess

    road = shapely.LineString([(X0, Y0), (X0 + 3000, Y0)])
    path = tmp_path / "road.gpkg"
    gpd.GeoDataFrame(geometry=[road], crs=CRS).to_file(path)
    net = build_network(path, crs=CRS)
    drive = drive_network_from_segments(
        gpd.GeoDataFrame({"u": [1], "v": [2], "highway": ["primary"]}, geometry=[road], crs=CRS),
        crs=CRS,
        source="road",
    )
    land = gpd.GeoDataFrame(geometry=[_box(0, 10, 2000, 30)], crs=CRS)
    fac = gpd.GeoDataFrame({"category": ["fire_station"]}, geometry=[shapely.Point(X0, Y0)], crs=CRS)
    cat = load_catalogue()
    cat = cat[cat["id"].isin(["mohurd_fire_station", "mohurd_fire_5min"])].reset_index(drop=True)
    res = assess(
        net, land, fac, catalogue=cat, cell_m=10, offset_check="off", min_component_nodes=1, drive=drive
    )
    t = res.table.set_index("id")
    # 1500 m by road: x+5 + connector ≤ 1500 → row 15: x ≤ 1480 (149 cells), row 25: x ≤ 1470 (148)
    assert t.at["mohurd_fire_station", "value_network_area"] == pytest.approx(100 * 297 / 400)
    assert t.at["mohurd_fire_station", "value_straight_line"] == pytest.approx(
        100 * _circle_strip(1500, 10, 30) / 40_000, rel=5e-4
    )
    # 5 minutes at 40 km/h (3,333 m) plus ≤25 m at 5 km/h (0.3 min): every cell
    assert t.at["mohurd_fire_5min", "value_network_area"] == pytest.approx(100)
    assert pd.isna(t.at["mohurd_fire_5min", "value_straight_line"])  # no metre radius for driving minutes
    assert t.at["mohurd_fire_5min", "value_official"] == 100


def test_network_distances_are_searched_to_the_catalogues_factor_times_the_threshold_only(tmp_path):
    # the profile's radius is already search_factor x threshold (300 m x 2 = 600 m for kindergartens):
    # coverage() must not widen it again by its own factor (that would search 1200 m)
    from weihai_gis.tijian import assess, tijian_settings

    road = shapely.LineString([(X0, Y0), (X0 + 3000, Y0)])
    path = tmp_path / "road.gpkg"
    gpd.GeoDataFrame(geometry=[road], crs=CRS).to_file(path)
    net = build_network(path, crs=CRS)
    land = gpd.GeoDataFrame(geometry=[_box(0, 10, 1500, 30)], crs=CRS)
    fac = gpd.GeoDataFrame({"category": ["kindergarten"]}, geometry=[shapely.Point(X0, Y0)], crs=CRS)
    cat = load_catalogue()
    cat = cat[cat["id"] == "mohurd_xq_kindergarten"].reset_index(drop=True)
    res = assess(net, land, fac, catalogue=cat, cell_m=10, offset_check="off", min_component_nodes=1)
    reach = 300.0 * float(tijian_settings()["search_factor"])
    d = res.samples["dist_mohurd_xq_kindergarten"].to_numpy(dtype=float)
    x = res.samples.geometry.x.to_numpy() - X0
    assert np.nanmax(d) <= reach
    assert np.isfinite(d[x < reach - 40]).all()  # connector <= 30 m: known within the reach
    assert np.isnan(d[x > reach + 10]).all()
