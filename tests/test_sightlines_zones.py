"""Coastal zones, railway bands and compliance checks, verified with shapely distances."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from weihai_gis.errors import LayerError
from weihai_gis.sightlines import (
    DEM,
    VIOLATION_COLUMNS,
    ZONE_COLUMNS,
    check_buildings,
    coastal_zones,
    hsr_bands,
)
from weihai_gis.sightlines.zones import load_controls

X0, Y0 = 450000.0, 4100000.0  # EPSG:4550 metres; coastline along y = Y0, land to the north


@pytest.fixture(scope="module")
def synthetic_coast():
    coast = gpd.GeoDataFrame(
        {"id": ["c"]}, geometry=[LineString([(X0 - 5000, Y0), (X0 + 5000, Y0)])], crs=4550
    )
    land = gpd.GeoDataFrame({"id": ["l"]}, geometry=[box(X0 - 5000, Y0, X0 + 5000, Y0 + 5000)], crs=4550)
    ucb = gpd.GeoDataFrame({"id": ["u"]}, geometry=[box(X0 - 5000, Y0, X0, Y0 + 5000)], crs=4550)
    return coast, land, ucb


def zone_at(zones_m: gpd.GeoDataFrame, x: float, y: float) -> set[str]:
    hit = zones_m[zones_m.contains(Point(x, y))]
    return set(hit["zone"])


def test_coastal_zone_columns_crs_and_parameter_status(synthetic_coast):
    coast, land, _ = synthetic_coast
    zones = coastal_zones(coast, land)
    assert list(zones.columns) == ZONE_COLUMNS and zones.crs.to_epsg() == 4490
    landward = zones[zones["zone"] != "seaward"]
    assert (landward["status"] == "parameter").all()  # Shandong widths are not published: never official
    assert set(zones["zone"]) == {"core_setback", "general_control", "seaward"}


def test_points_at_known_distances_fall_in_the_right_zone(synthetic_coast):
    coast, land, ucb = synthetic_coast
    c = load_controls()["coastal"]
    core_in = c["core_setback"]["inside_urban_boundary_m"]["value"]
    core_out = c["core_setback"]["outside_urban_boundary_m"]["value"]
    gen_in = c["general_control"]["inside_urban_boundary_m"]["value"]
    gen_out = c["general_control"]["outside_urban_boundary_m"]["value"]
    zones = coastal_zones(coast, land, urban_boundary=ucb).to_crs(4550)
    x_in, x_out = X0 - 2000, X0 + 2000  # inside / outside the urban development boundary
    for x, core, gen in ((x_in, core_in, gen_in), (x_out, core_out, gen_out)):
        assert zone_at(zones, x, Y0 + core - 2) == {"core_setback"}
        assert zone_at(zones, x, Y0 + core + 2) == {"general_control"}
        assert zone_at(zones, x, Y0 + gen - 2) == {"general_control"}
        assert zone_at(zones, x, Y0 + gen + 2) == set()
    assert zone_at(zones, X0, Y0 - 998) == {"seaward"}
    assert zone_at(zones, X0, Y0 - 1002) == set()


@settings(max_examples=40, deadline=None)
@given(x=st.floats(X0 - 4000, X0 + 4000), y=st.floats(Y0 - 1500, Y0 + 800))
def test_zone_membership_matches_shapely_distance(synthetic_coast_once, x, y):
    coast_geom, zones, bands = synthetic_coast_once
    p = Point(x, y)
    d = coast_geom.distance(p)
    if min(abs(d - b) for b in bands) < 1.0:
        return  # within a metre of a line: buffer polygons approximate circles
    got = zone_at(zones, x, y)
    if y < Y0:
        expected = {"seaward"} if d < bands[2] else set()
    else:
        expected = {"core_setback"} if d < bands[0] else ({"general_control"} if d < bands[1] else set())
    assert got == expected


@pytest.fixture(scope="module")
def synthetic_coast_once(synthetic_coast):
    coast, land, _ = synthetic_coast
    c = load_controls()["coastal"]
    bands = (
        c["core_setback"]["outside_urban_boundary_m"]["value"],
        c["general_control"]["outside_urban_boundary_m"]["value"],
        c["seaward_m"]["value"],
    )
    return coast.geometry.iloc[0], coastal_zones(coast, land).to_crs(4550), bands


def test_hsr_safety_band_is_measured_from_the_formation_edge():
    line = gpd.GeoDataFrame(geometry=[LineString([(X0, Y0), (X0 + 3000, Y0 + 1000)])], crs=4550)
    for context, width in (("urban", 10), ("suburban", 12), ("village", 15), ("other", 20)):
        band = hsr_bands(line, context=context, formation_half_width_m=7.0).to_crs(4550)
        safety = band[band["zone"] == "hsr_safety"].geometry.iloc[0]
        assert band["outer_m"].iloc[0] == width
        edge_pt = Point(X0 + 1500, Y0 + 500)
        normal = np.array([-1000.0, 3000.0]) / np.hypot(1000, 3000)
        inside = Point(*(np.array(edge_pt.coords[0]) + normal * (7 + width - 0.5)))
        outside = Point(*(np.array(edge_pt.coords[0]) + normal * (7 + width + 0.5)))
        assert safety.contains(inside) and not safety.contains(outside)
    with_landscape = hsr_bands(line, context="urban", formation_half_width_m=7.0, landscape_m=100)
    assert set(with_landscape["zone"]) == {"hsr_safety", "hsr_landscape"}


def buildings_layer(heights, xs, y):
    geoms = [box(x - 10, y - 10, x + 10, y + 10) for x in xs]
    return gpd.GeoDataFrame({"id": [f"B{i}" for i in range(len(xs))], "h": heights}, geometry=geoms, crs=4550)


def test_core_setback_forbids_buildings_and_general_control_caps_height(synthetic_coast):
    coast, land, _ = synthetic_coast
    zones = coastal_zones(coast, land)
    cap = load_controls()["coastal"]["general_control"]["max_height_m"]["value"]
    core = buildings_layer([6.0, 0.0], [X0, X0 + 100], Y0 + 50)
    general = buildings_layer([cap + 5.0, cap - 1.0], [X0, X0 + 100], Y0 + 350)
    viol = check_buildings(pd_concat(core, general), height_field="h", zones=zones)
    assert list(viol.columns) == VIOLATION_COLUMNS and viol.crs.to_epsg() == 4490
    got = {(r.building_id, r.zone, r.excess_m) for r in viol.itertuples()}
    assert got == {("B0", "core_setback", 6.0), ("B2", "general_control", 5.0)}


def pd_concat(a, b):
    out = gpd.GeoDataFrame(
        {"id": [f"B{i}" for i in range(len(a) + len(b))], "h": list(a["h"]) + list(b["h"])},
        geometry=list(a.geometry) + list(b.geometry),
        crs=4550,
    )
    return out


def test_surface_violation_uses_the_lowest_limit_under_the_footprint():
    limits = np.full((20, 20), 30.0)
    limits[5, 6] = 12.0
    grid = DEM(limits, Affine(10, 0, X0, 0, -10, Y0), "EPSG:4550")
    blds = gpd.GeoDataFrame(
        {"id": ["A", "B"], "h": [20.0, 20.0]},
        geometry=[box(X0 + 40, Y0 - 80, X0 + 80, Y0 - 40), box(X0 + 140, Y0 - 140, X0 + 180, Y0 - 100)],
        crs=4550,
    )
    viol = check_buildings(blds, height_field="h", surface=grid)
    assert list(viol["building_id"]) == ["A"] and viol["limit_m"].iloc[0] == 12.0
    assert viol["excess_m"].iloc[0] == pytest.approx(8.0)


def test_bad_height_field_is_reported_with_rows():
    blds = buildings_layer([10.0, -3.0], [X0, X0 + 100], Y0)
    with pytest.raises(LayerError, match=r"'h'.*1 rows"):
        check_buildings(blds, height_field="h")
    with pytest.raises(LayerError, match="'height'"):
        check_buildings(blds, height_field="height")


@settings(max_examples=30, deadline=None)
@given(
    heights=st.lists(st.floats(0, 80), min_size=6, max_size=6),
    lower=st.lists(st.floats(0, 1), min_size=6, max_size=6),
)
def test_lowering_a_building_never_adds_a_violation(synthetic_coast_zones, heights, lower):
    zones, grid = synthetic_coast_zones
    xs = [X0 - 300, X0 - 100, X0, X0 + 150, X0 + 300, X0 + 420]
    before = buildings_layer(heights, xs, Y0 + 180)
    after = before.copy()
    after["h"] = [h * f for h, f in zip(heights, lower, strict=True)]
    key = lambda v: set(zip(v["building_id"], v["rule"], strict=True))  # noqa: E731
    v_before = check_buildings(before, height_field="h", zones=zones, surface=grid)
    v_after = check_buildings(after, height_field="h", zones=zones, surface=grid)
    assert key(v_after) <= key(v_before)


@pytest.fixture(scope="module")
def synthetic_coast_zones(synthetic_coast):
    coast, land, ucb = synthetic_coast
    zones = coastal_zones(coast, land, urban_boundary=ucb)
    rng = np.random.default_rng(5)
    grid = DEM(rng.uniform(0, 60, (100, 100)), Affine(10, 0, X0 - 500, 0, -10, Y0 + 500), "EPSG:4550")
    return zones, grid


def test_zones_refuse_layers_without_crs(synthetic_coast):
    coast, land, _ = synthetic_coast
    with pytest.raises(LayerError, match="coastline: layer has no CRS"):
        coastal_zones(coast.set_crs(None, allow_override=True), land)
    assert shapely.is_valid(coastal_zones(coast, land).geometry).all()


def test_coastline_given_as_land_polygons_uses_their_boundary(synthetic_coast):
    coast, land, _ = synthetic_coast
    as_lines = coastal_zones(coast, land).to_crs(4550)
    as_polygon = coastal_zones(land, land).to_crs(4550)  # the land polygon's edge includes y = Y0
    assert zone_at(as_polygon, X0, Y0 + 50) == zone_at(as_lines, X0, Y0 + 50) == {"core_setback"}


def test_wrong_geometry_types_are_refused_naming_rows(synthetic_coast):
    coast, land, _ = synthetic_coast
    points = gpd.GeoDataFrame(geometry=[Point(X0, Y0), Point(X0 + 1, Y0)], crs=4550)
    with pytest.raises(LayerError, match=r"coastline: 2 rows .*Point.*expected LineString"):
        coastal_zones(points, land)
    with pytest.raises(LayerError, match=r"land: 1 rows .*LineString.*expected Polygon"):
        coastal_zones(coast, coast)


def _traced(mask: np.ndarray, transform: Affine) -> shapely.Geometry:
    import rasterio.features

    shapes = rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=transform)
    return shapely.union_all([shapely.geometry.shape(g) for g, v in shapes if v == 1])


def test_a_speckled_dem_land_mask_gives_the_zones_of_its_clean_shore():
    # 100 x 100 cells of 30 m: land to the north of a stair-step shore, a 6 x 6-cell islet (3.2 ha, kept),
    # and 1-cell islets in the sea and 1-cell holes on land (900 m², raster noise: dropped).
    c = load_controls()["coastal"]
    min_area = c["min_feature_area_m2"]["value"]
    assert 900 < min_area < 6 * 6 * 900
    transform = Affine(30, 0, X0, 0, -30, Y0 + 3000)
    rows, cols = np.mgrid[0:100, 0:100]
    clean = rows < 40 + cols // 10  # stair-step shore
    clean[75:81, 20:26] = True  # the islet
    noisy = clean.copy()
    rng = np.random.default_rng(3)
    specks = rng.integers(1, 99, size=(400, 2))  # away from the grid edge, which is part of the outline
    for r, col in specks:
        near_clean = clean[r - 1 : r + 2, col - 1 : col + 2]
        if near_clean.all() or not near_clean.any():  # a lone cell flipped inside land or sea
            noisy[r, col] = ~clean[r, col]
    assert (noisy != clean).sum() > 150
    land_noisy, land_clean = _traced(noisy, transform), _traced(clean, transform)
    assert shapely.get_num_geometries(land_noisy) > 50 and shapely.get_num_geometries(land_clean) == 2

    def frame(g):
        return gpd.GeoDataFrame(geometry=[g], crs=4550)

    zones = coastal_zones(frame(land_noisy.boundary), frame(land_noisy)).to_crs(4550)
    # the slow obvious computation: distance of every cell centre to the clean shore, inside or outside land
    xs, ys = transform @ (cols.ravel() + 0.5, rows.ravel() + 0.5)
    pts = shapely.points(xs, ys)
    dist = shapely.distance(pts, land_clean.boundary)
    on_land = shapely.contains(land_clean, pts)
    core_m = c["core_setback"]["outside_urban_boundary_m"]["value"]
    gen_m = c["general_control"]["outside_urban_boundary_m"]["value"]
    sea_m = c["seaward_m"]["value"]
    expected = {
        "core_setback": on_land & (dist <= core_m),
        "general_control": on_land & (dist > core_m) & (dist <= gen_m),
        "seaward": ~on_land & (dist <= sea_m),
    }
    for zone, want in expected.items():
        geom = zones.loc[zones["zone"] == zone].geometry.iloc[0]
        got = shapely.covers(geom, pts)
        # cells within the arc-chord tolerance of a band edge (1 % of the width) may fall either way
        edges = [core_m, gen_m] if zone != "seaward" else [sea_m]
        ambiguous = np.zeros(len(pts), bool)
        for d in edges:
            ambiguous |= np.abs(dist - d) <= 0.01 * d + 1
        wrong = (got != want) & ~ambiguous
        assert not wrong.any(), (
            f"{zone}: {wrong.sum()} cells differ from the distance oracle: {list(zip(rows.ravel()[wrong], cols.ravel()[wrong], dist[wrong].round(), got[wrong], strict=True))[:8]}"
        )
        assert want.sum() > 100
    islet_centre = shapely.Point(transform @ (23, 78))
    assert zones.loc[zones["zone"] == "core_setback"].geometry.iloc[0].covers(islet_centre)  # kept: > 1 ha
