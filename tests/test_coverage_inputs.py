"""Origins from population rasters, buildings and point files; hexagon ids; CLI on user files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin

from weihai_gis.cli import main
from weihai_gis.errors import LayerError
from weihai_gis.io.workbook import read_sheet
from weihai_gis.lifecircle import hex_ids
from weihai_gis.lifecircle.summaries import hexagons as _hexagons
from weihai_gis.population import origins_from_buildings, origins_from_points, origins_from_raster


def test_raster_origins_are_cell_centres_with_cell_population(tmp_path):
    data = np.array([[0, 5, 0], [2.5, 0, -9999], [0, 0, 1]], dtype="float32")
    path = tmp_path / "pop.tif"
    transform = from_origin(500000, 4100000, 100, 100)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=3,
        height=3,
        count=1,
        dtype="float32",
        crs="EPSG:4550",
        transform=transform,
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)
    o = origins_from_raster(path)
    assert o["population"].sum() == pytest.approx(8.5)
    assert len(o) == 3
    first = o.loc[o["origin_id"] == "r0c1"].geometry.iloc[0]
    assert (first.x, first.y) == (500150.0, 4099950.0)


def test_building_population_uses_levels_when_present_and_default_otherwise():
    square = shapely.box(0, 0, 10, 10)  # 100 m²
    b = gpd.GeoDataFrame(
        {"building:levels": ["4", None]}, geometry=[square, shapely.box(20, 0, 30, 10)], crs="EPSG:4550"
    )
    o = origins_from_buildings(
        b, default_floors=2, dwelling_area_m2=50, household_size=3, metric_crs="EPSG:4550"
    )
    assert o["population"].tolist() == pytest.approx([100 * 4 / 50 * 3, 100 * 2 / 50 * 3])
    assert o["floors_source"].tolist() == ["field", "default"]


def test_point_origins_need_a_valid_population_field(tmp_path):
    path = tmp_path / "o.gpkg"
    gpd.GeoDataFrame({"pop": [1, -3]}, geometry=[shapely.Point(0, 0)] * 2, crs="EPSG:4550").to_file(path)
    with pytest.raises(LayerError, match="'population' is missing"):
        origins_from_points(path)
    with pytest.raises(LayerError, match="1 rows are not non-negative"):
        origins_from_points(path, population_field="pop")


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-1e5, 1e5), y=st.floats(-1e5, 1e5), size=st.floats(50, 2000))
def test_hex_id_gives_the_hexagon_containing_the_point(x, y, size):
    q, r = hex_ids(np.array([x]), np.array([y]), size)
    hexagon = _hexagons(q, r, size)[0]
    assert shapely.distance(hexagon, shapely.Point(x, y)) < 1e-6 * size


def test_cli_on_user_files_writes_unit_summaries(tmp_path):
    x0, y0 = 420_000, 4_140_000  # inside Weihai in EPSG:4550
    ticks = range(0, 2001, 200)  # a vertex at every crossing, so the grid is one network
    grid = [shapely.LineString([(x0 + x, y0 + y) for x in ticks]) for y in ticks]
    grid += [shapely.LineString([(x0 + x, y0 + y) for y in ticks]) for x in ticks]
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(grid)}, geometry=grid, crs="EPSG:4550").to_crs(
        "EPSG:4490"
    )
    net_path, fac_path, org_path, units_path = (
        tmp_path / n for n in ("roads.gpkg", "fac.csv", "o.gpkg", "towns.gpkg")
    )
    roads.to_file(net_path)
    minx, miny, maxx, maxy = roads.total_bounds
    pd.DataFrame(
        {
            "name": ["站A", "小学B"],
            "lon": [minx + 0.001, maxx - 0.002],
            "lat": [miny + 0.0001, maxy - 0.002],
            "category": ["bus_stop", "primary_school"],
        }
    ).to_csv(fac_path, index=False)
    rng = np.random.default_rng(0)
    pts = shapely.points(np.column_stack([rng.uniform(minx, maxx, 60), rng.uniform(miny, maxy, 60)]))
    gpd.GeoDataFrame({"population": rng.integers(1, 50, 60)}, geometry=pts, crs="EPSG:4490").to_file(org_path)
    midx = (minx + maxx) / 2
    gpd.GeoDataFrame(
        {"id": ["W", "E"], "name_zh": ["西", "东"]},
        geometry=[
            shapely.box(minx - 1, miny - 1, midx, maxy + 1),
            shapely.box(midx, miny - 1, maxx + 1, maxy + 1),
        ],
        crs="EPSG:4490",
    ).to_file(units_path)
    out = tmp_path / "out" / "r.gpkg"
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "coverage",
            "--network",
            str(net_path),
            "--facilities",
            str(fac_path),
            "--category-field",
            "category",
            "--origins",
            str(org_path),
            "--units",
            str(units_path),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = pyogrio.read_dataframe(out, layer="summary_towns")
    origins = pyogrio.read_dataframe(out, layer="origins")
    assert origins.crs.to_epsg() == 4550
    assert summary["population"].sum() == pytest.approx(origins["population"].sum())
    assert set(summary["id"]) == {"W", "E"}
    assert "rate_bus_stop" in summary and "gap_all_basic" in summary
    sheet = read_sheet(out.with_suffix(".xlsx"), "towns")
    assert sheet["rate_bus_stop"].tolist() == pytest.approx(summary["rate_bus_stop"].tolist(), nan_ok=True)
    # only the two kinds in the file are assessed: 全要素达标率 is their AND, the others are NaN, not 0
    table = pd.read_csv(out.with_suffix(".csv")).set_index("id")
    both = origins["met_bus_stop"] & origins["met_primary_school"]
    want = (origins["population"] * both).sum() / origins["population"].sum()
    assert table.loc["all_basic", "rate_network"] == pytest.approx(want)
    assert set(table.index[table["assessed"]]) == {"bus_stop", "primary_school", "all_basic"}
    assert table.loc[~table["assessed"], "rate_network"].isna().all()


def test_cli_maps_bad_facility_categories_to_exit_2(tmp_path):
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"]},
        geometry=[shapely.LineString([(122.1, 37.4), (122.11, 37.4)])],
        crs="EPSG:4490",
    )
    roads.to_file(tmp_path / "r.gpkg")
    pd.DataFrame({"lon": [122.105], "lat": [37.4], "category": ["菜场"]}).to_csv(
        tmp_path / "f.csv", index=False
    )
    gpd.GeoDataFrame({"population": [1]}, geometry=[shapely.Point(122.101, 37.4)], crs="EPSG:4490").to_file(
        tmp_path / "o.gpkg"
    )
    result = CliRunner().invoke(
        main,
        [
            "coverage",
            "--network",
            str(tmp_path / "r.gpkg"),
            "--facilities",
            str(tmp_path / "f.csv"),
            "--category-field",
            "category",
            "--origins",
            str(tmp_path / "o.gpkg"),
            "--out",
            str(tmp_path / "x.gpkg"),
        ],
    )
    assert result.exit_code == 2
    assert "菜场" in result.output
    assert not (tmp_path / "x.gpkg").exists()
