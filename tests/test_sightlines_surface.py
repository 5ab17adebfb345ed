"""Height-control surfaces (checked against the viewshed with buildings burnt in) and the CLI."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from weihai_gis.cli import main
from weihai_gis.sightlines import (
    DEM,
    burn_buildings,
    corridor_limits,
    extract_ridges,
    height_surface,
    viewshed,
    write_raster,
)

CELL = 20.0
T = Affine(CELL, 0, 450000, 0, -CELL, 4100000)


def ridge_dem(n_rows=120, n_cols=200, crest_col=150, height=100.0) -> DEM:
    cols = np.arange(n_cols)[None, :]
    z = height * np.exp(-(((cols - crest_col) / 12.0) ** 2)) + np.zeros((n_rows, 1))
    return DEM(z + 5.0, T, "EPSG:4550")


def xy(row, col):
    return T @ (col + 0.5, row + 0.5)


def run_sightlines(command: str, *flags: str, **options: object) -> None:
    """Run ``weihai-gis -q sightlines COMMAND FLAGS --option value ...`` and require success.

    Option names take dashes for underscores; a tuple value gives several arguments (``observer=(x, y)``).
    """
    args = ["-q", "sightlines", command, *flags]
    for key, value in options.items():
        args += [
            f"--{key.replace('_', '-')}",
            *(str(v) for v in (value if isinstance(value, tuple) else (value,))),
        ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output


def test_building_at_the_limit_keeps_the_ridge_visible_and_taller_hides_it():
    dem = ridge_dem()
    ridge = np.zeros(dem.shape, bool)
    ridge[:, 150] = True
    vp, p = (60, 20), (60, 90)
    base = viewshed(dem, xy(*vp), observer_height_m=1.6)
    zrow = dem.elevation[60, 100:] - (0.85714 / (2 * 6378137.0)) * ((np.arange(100, 200) - 20) * CELL) ** 2
    silhouette = (60, 100 + int(np.argmax((zrow - base.observer_z_m) / ((np.arange(100, 200) - 20) * CELL))))
    assert base.visible[silhouette]
    surf = height_surface(dem, [xy(*vp)], observer_heights_m=1.6, ridge_mask=ridge, protect_sea_horizon=False)
    limit = surf[p]
    assert 0 < limit < np.inf
    for h, crest_visible in ((limit - 0.5, True), (limit + 1.0, False)):
        b = gpd.GeoDataFrame({"h": [h]}, geometry=[box(*xy(*p), *xy(*p))]).buffer(CELL * 0.3)
        b = gpd.GeoDataFrame({"h": [h]}, geometry=b, crs=4550)
        built = burn_buildings(dem, b, height_field="h")
        assert built.elevation[p] == pytest.approx(dem.elevation[p] + h)
        vs = viewshed(built, xy(*vp), observer_height_m=1.6)
        assert vs.visible[silhouette] == crest_visible


def test_nothing_protected_means_no_limit():
    dem = ridge_dem()
    surf = height_surface(dem, [xy(60, 20)], ridge_mask=None, protect_sea_horizon=True)  # no sea cells
    assert np.isinf(surf).all()


def test_sea_horizon_limits_buildings_in_front_of_the_sea():
    z = np.zeros((60, 120))
    z[:, :40] = 20.0  # a 20 m terrace, sea (0 m) to the east
    dem = DEM(z, T, "EPSG:4550", sea=z <= 0)
    low = height_surface(dem, [xy(30, 5)], observer_heights_m=1.6, curvature_coeff=0.0)
    assert np.isinf(low[30, 5:]).all()  # from 1.6 m the terrace edge hides the sea: nothing to protect east
    surf = height_surface(dem, [xy(30, 5)], observer_heights_m=30.0, curvature_coeff=0.0)
    # eye 50 m; the farthest visible sea cell (114 cells east) sets the line: 50 - 50 * d / 2280 m
    assert surf[30, 30] == pytest.approx(50.0 - 50.0 * (25 * CELL) / (114 * CELL) - 20.0)
    assert (surf[~np.isnan(surf)] >= 0).all()


@settings(max_examples=10, deadline=None)
@given(a=st.floats(0, 1), b=st.floats(0, 1), seed=st.integers(0, 1000))
def test_keeping_more_of_the_ridge_exposed_never_raises_a_limit(a, b, seed):
    lo, hi = sorted((a, b))
    rng = np.random.default_rng(seed)
    dem = ridge_dem(n_rows=40, n_cols=80, crest_col=60)
    dem.elevation += rng.uniform(0, 5, dem.shape)
    ridge = extract_ridges(dem, min_prominence_m=30)
    kw = {"ridge_mask": ridge, "protect_sea_horizon": False, "n_azimuths": 360}
    s_lo = height_surface(dem, [xy(20, 5)], ridge_exposed_share=lo, **kw)
    s_hi = height_surface(dem, [xy(20, 5)], ridge_exposed_share=hi, **kw)
    assert (s_hi <= s_lo + 1e-9).all()


def test_extract_ridges_finds_the_crest_not_the_flanks():
    dem = ridge_dem()
    ridge = extract_ridges(dem)
    assert ridge[5:-5, 150].all()
    assert not ridge[:, :140].any() and not ridge[:, 160:].any()


def test_corridor_limit_is_the_sight_line_from_peak_to_sea():
    z = np.zeros((60, 120))
    z[30, 10] = 200.0  # the peak
    dem = DEM(z, T, "EPSG:4550")
    line = gpd.GeoDataFrame({"width_m": [100.0]}, geometry=[LineString([xy(30, 10), xy(30, 110)])], crs=4550)
    lim = corridor_limits(dem, line, observer_height_m=0.0, curvature_coeff=0.0)
    length = 100 * CELL
    for col in (30, 60, 90):
        s = (col - 10) * CELL
        assert lim[30, col] == pytest.approx(200.0 * (1 - s / length))
        assert lim[31, col] == pytest.approx(200.0 * (1 - s / length))  # 20 m off-axis, inside 100 m
    assert np.isinf(lim[40, 60])  # 200 m off-axis: outside


def test_cli_viewshed_writes_the_library_result_on_the_dem_grid(tmp_path):
    rng = np.random.default_rng(2)
    dem = DEM(rng.uniform(0, 50, (40, 50)), T, "EPSG:4550")
    dem.elevation[0, 0] = np.nan
    path = write_raster(tmp_path / "dem.tif", dem.elevation, dem, nodata=-9999)
    out = tmp_path / "vs.tif"
    x, y = xy(20, 25)
    run_sightlines(
        "viewshed",
        dem=path,
        observer=(x, y),
        observer_height="3",
        target_height="1",
        out=out,
    )
    with rasterio.open(out) as src:
        got, nodata = src.read(1), src.nodata
        assert src.transform == T and src.crs.to_epsg() == 4550
    expected = viewshed(dem, (x, y), observer_height_m=3, target_height_m=1).visible
    assert nodata == 255 and got[0, 0] == 255
    assert ((got == 1) == expected).all()


def test_cli_zones_surface_and_check_round_trip(tmp_path):
    x0, y0 = 450000.0, 4100000.0
    coast = gpd.GeoDataFrame(geometry=[LineString([(x0 - 3000, y0), (x0 + 3000, y0)])], crs=4550)
    land = gpd.GeoDataFrame(geometry=[box(x0 - 3000, y0, x0 + 3000, y0 + 3000)], crs=4550)
    coast.to_file(tmp_path / "coast.gpkg")
    land.to_file(tmp_path / "land.gpkg")
    run_sightlines(
        "zones",
        coastline=tmp_path / "coast.gpkg",
        land=tmp_path / "land.gpkg",
        out=tmp_path / "zones.gpkg",
    )
    zones = gpd.read_file(tmp_path / "zones.gpkg", layer="coastal_zones")
    assert set(zones["zone"]) == {"core_setback", "general_control", "seaward"}
    dem = ridge_dem()
    write_raster(tmp_path / "dem.tif", dem.elevation, dem, nodata=-9999)
    gpd.GeoDataFrame(geometry=[Point(xy(60, 20))], crs=4550).to_file(tmp_path / "vp.gpkg")
    run_sightlines(
        "surface",
        dem=tmp_path / "dem.tif",
        viewpoints=tmp_path / "vp.gpkg",
        out=tmp_path / "s.tif",
    )
    with rasterio.open(tmp_path / "s.tif") as src:
        surf = src.read(1)
    assert 0 <= surf[60, 90] < surf[60, 190] < 10000  # the limit line rises away from the viewpoint
    blds = gpd.GeoDataFrame(
        {"id": ["tall", "low"], "h": [float(surf[60, 90]) + 20, 1.0]},
        geometry=[Point(xy(60, 90)).buffer(5), Point(xy(60, 91)).buffer(5)],
        crs=4550,
    )
    blds.to_file(tmp_path / "b.gpkg")
    run_sightlines(
        "check",
        buildings=tmp_path / "b.gpkg",
        height_field="h",
        surface=tmp_path / "s.tif",
        out=tmp_path / "v.gpkg",
    )
    viol = gpd.read_file(tmp_path / "v.gpkg", layer="violations")
    assert list(viol["building_id"]) == ["tall"] and viol["excess_m"].iloc[0] == pytest.approx(20, abs=0.01)


def test_cli_check_with_zones_and_corridor_without_width_column(tmp_path):
    x0, y0 = 450000.0, 4100000.0
    gpd.GeoDataFrame(geometry=[LineString([(x0 - 3000, y0), (x0 + 3000, y0)])], crs=4550).to_file(
        tmp_path / "coast.gpkg"
    )
    gpd.GeoDataFrame(geometry=[box(x0 - 3000, y0, x0 + 3000, y0 + 3000)], crs=4550).to_crs(4490).to_file(
        tmp_path / "land.gpkg"
    )  # land in EPSG:4490, coastline in EPSG:4550
    run_sightlines(
        "zones",
        coastline=tmp_path / "coast.gpkg",
        land=tmp_path / "land.gpkg",
        out=tmp_path / "zones.gpkg",
    )
    blds = gpd.GeoDataFrame(
        {"id": ["near_sea", "inland"], "h": [5.0, 5.0]},
        geometry=[box(x0, y0 + 20, x0 + 20, y0 + 40), box(x0, y0 + 2000, x0 + 20, y0 + 2020)],
        crs=4550,
    )
    blds.to_file(tmp_path / "b.shp")  # Shapefile input works too
    run_sightlines(
        "check",
        buildings=tmp_path / "b.shp",
        height_field="h",
        zones=tmp_path / "zones.gpkg",
        out=tmp_path / "v.gpkg",
    )
    viol = gpd.read_file(tmp_path / "v.gpkg", layer="violations")
    assert list(viol["building_id"]) == ["near_sea"] and viol["zone"].iloc[0] == "core_setback"
    # corridors without a width_m column take the planner parameter from controls.yaml
    dem = ridge_dem()
    write_raster(tmp_path / "dem.tif", dem.elevation, dem, nodata=-9999)
    gpd.GeoDataFrame(geometry=[Point(xy(60, 20))], crs=4550).to_file(tmp_path / "vp.gpkg")
    gpd.GeoDataFrame(geometry=[LineString([xy(60, 150), xy(60, 5)])], crs=4550).to_file(tmp_path / "c.gpkg")
    run_sightlines(
        "surface",
        "--no-sea",
        dem=tmp_path / "dem.tif",
        viewpoints=tmp_path / "vp.gpkg",
        corridors=tmp_path / "c.gpkg",
        out=tmp_path / "s.tif",
    )
    with rasterio.open(tmp_path / "s.tif") as src:
        surf = src.read(1)
    assert surf[60, 100] < surf[20, 100]  # inside the corridor the peak-to-sea sight line is lower


def test_overlapping_footprints_each_see_every_cell_they_cover():
    from weihai_gis.sightlines import DEM, surface_limits_under

    limits = np.full((10, 10), 50.0)
    limits[4, 4] = 12.0  # the one low cell, covered by both footprints
    surface = DEM(limits, Affine(10, 0, 0, 0, -10, 100), "EPSG:4550")
    podium = box(20, 40, 60, 70)  # cell centres x 25..55, y 45..65 -> rows 3..5, cols 2..5
    tower = box(40, 50, 50, 60)  # only cell (4, 4)
    got = surface_limits_under(gpd.GeoDataFrame(geometry=[podium, tower], crs="EPSG:4550"), surface)
    assert got.tolist() == [12.0, 12.0]


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n_vp=st.integers(1, 4))
def test_surface_does_not_depend_on_threads_and_equals_the_per_viewpoint_minimum(seed, n_vp):
    rng = np.random.default_rng(seed)
    dem = ridge_dem(n_rows=60, n_cols=90, crest_col=70)
    dem = DEM(dem.elevation + rng.uniform(0, 3, dem.shape), T, "EPSG:4550", sea=np.zeros(dem.shape, bool))
    dem.sea[:, :5] = True
    ridges = extract_ridges(dem, min_prominence_m=20)
    vps = [
        xy(int(r), int(c)) for r, c in zip(rng.integers(0, 60, n_vp), rng.integers(0, 40, n_vp), strict=True)
    ]
    one = height_surface(dem, vps, ridge_mask=ridges, workers=1)
    two = height_surface(dem, vps, ridge_mask=ridges, workers=2)
    np.testing.assert_array_equal(one, two)
    from weihai_gis.sightlines import viewpoint_limit

    each = np.stack([viewpoint_limit(dem, p, ridge_mask=ridges) for p in vps])
    want = np.maximum(each.min(axis=0), 0.0)
    np.testing.assert_array_equal(one, want)


def test_shared_cell_geometry_equals_the_cell_centres():
    from weihai_gis.sightlines.surface import _cell_geometry

    dem = ridge_dem(n_rows=37, n_cols=53)
    xs, ys = dem.cell_centres()
    for r0, c0 in ((0, 0), (36, 52), (10, 40), (36, 0)):
        d, turn = _cell_geometry(dem, r0, c0)
        dx = xs - (T.c + (c0 + 0.5) * T.a)
        dy = ys - (T.f + (r0 + 0.5) * T.e)
        np.testing.assert_allclose(d, np.hypot(dx, dy), rtol=1e-6)
        np.testing.assert_allclose(turn, np.mod(np.arctan2(dx, dy), 2 * np.pi) / (2 * np.pi), atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(r0=st.integers(0, 36), c0=st.integers(0, 52), start=st.floats(0, 2 * np.pi))
def test_ray_samples_on_the_grid_are_exactly_those_inside_its_bounds(r0, c0, start):
    # the prefix found by bisection must equal the four comparisons per sample it replaced
    from weihai_gis.sightlines.horizon import sample_rays, samples_on_grid

    dem = ridge_dem(n_rows=37, n_cols=53)
    az = np.mod(start + np.arange(97) * (2 * np.pi / 97), 2 * np.pi)
    dist = np.arange(1, 80, dtype=np.float32) * np.float32(CELL)
    colf = np.multiply.outer((np.sin(az) / T.a).astype(np.float32), dist) + np.float32(c0 + 0.5)
    rowf = np.multiply.outer((np.cos(az) / T.e).astype(np.float32), dist) + np.float32(r0 + 0.5)
    inside = (colf >= 0) & (colf < 53) & (rowf >= 0) & (rowf < 37)
    want = np.where(inside, rowf.astype(np.int32) * 53 + colf.astype(np.int32), 37 * 53)
    count = samples_on_grid(dem, r0, c0, az, dist)
    np.testing.assert_array_equal(sample_rays(dem, r0, c0, az, dist, count), want.T)


def test_viewpoint_limit_does_not_depend_on_how_rays_are_chunked(monkeypatch):
    import weihai_gis.sightlines.horizon as horizon
    import weihai_gis.sightlines.surface as surface

    rng = np.random.default_rng(3)
    dem = ridge_dem(n_rows=60, n_cols=90, crest_col=70)
    dem = DEM(dem.elevation + rng.uniform(0, 3, dem.shape), T, "EPSG:4550", sea=np.zeros(dem.shape, bool))
    dem.sea[:, :5] = True
    ridges = extract_ridges(dem, min_prominence_m=20)
    whole = [
        surface.viewpoint_limit(dem, xy(r, c), ridge_mask=ridges, ridge_exposed_share=0.3)
        for r, c in ((0, 0), (30, 20), (59, 89))
    ]
    monkeypatch.setattr(horizon, "_CHUNK_SAMPLES", 500)  # many small chunks of rays of similar length
    for (r, c), want in zip(((0, 0), (30, 20), (59, 89)), whole, strict=True):
        got = surface.viewpoint_limit(dem, xy(r, c), ridge_mask=ridges, ridge_exposed_share=0.3)
        np.testing.assert_array_equal(got, want)
        assert np.isfinite(got).mean() > 0.5  # the ridge and the sea constrain most cells


@pytest.mark.parametrize("a, e", [(20.0, -20.0), (-12.5, 30.0), (0.3, -0.7)])
def test_offset_tables_equal_the_direct_formula_bit_for_bit(a, e):
    # one mirrored quadrant of distances and mod's in-place equivalent must not move any cell to another ray
    from weihai_gis.sightlines.surface import _offset_tables

    n_rows, n_cols = 23, 31
    dist, turn = _offset_tables.__wrapped__(n_rows, n_cols, a, e)
    dr = np.arange(-(n_rows - 1), n_rows, dtype=np.float64)[:, None] * e + 0.0
    dc = np.arange(-(n_cols - 1), n_cols, dtype=np.float64)[None, :] * a + 0.0
    np.testing.assert_array_equal(dist, np.hypot(dc, dr).astype(np.float32))
    want = np.mod(np.arctan2(dc, dr), 2 * np.pi) / (2 * np.pi)
    np.testing.assert_array_equal(turn.view(np.int64), want.view(np.int64))  # signed zeros too


def test_a_thread_pool_builds_the_shared_tables_once(monkeypatch):
    import weihai_gis.sightlines.surface as surface

    built: list[int] = []
    real_offsets, real_tables = surface._offset_tables.__wrapped__, surface._GridTables.__init__

    def count_offsets(*args):
        built.append(1)
        return real_offsets(*args)

    def count_tables(self, dem):
        built.append(2)
        real_tables(self, dem)

    monkeypatch.setattr(surface, "_offset_tables", functools.lru_cache(maxsize=2)(count_offsets))
    monkeypatch.setattr(surface._GridTables, "__init__", count_tables)
    dem = ridge_dem(n_rows=40, n_cols=60, crest_col=45)
    vps = [xy(r, c) for r, c in ((5, 5), (20, 10), (35, 20), (10, 30), (30, 2), (2, 25))]
    got = height_surface(dem, vps, workers=4)
    assert sorted(built) == [1, 2]
    np.testing.assert_array_equal(got, height_surface(dem, vps, workers=1))
