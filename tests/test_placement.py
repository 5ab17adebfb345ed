"""Origins and facilities get the network's sanity checks: CRS range, swapped lon/lat, extent, snapped share,
and a BD-09 export read as GCJ-02 is named as BD-09.

A 3 km street grid in central Weihai (EPSG:4550) with residents and facilities on it; every refusal is
checked through the library (the exception type) and the CLI (exit 2, one line naming the file and the fix).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS, wgs84_to_bd09
from weihai_gis.errors import CoordinateOffsetError, CRSError, LayerError
from weihai_gis.facilities import read_facilities
from weihai_gis.lifecircle import coverage
from weihai_gis.network import build_network
from weihai_gis.population import origins_from_points

CENTRE = (122.113, 37.5002)
HALF_M, SPACING_M = 1500.0, 250.0


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    folder = tmp_path_factory.mktemp("place")
    to_m = pyproj.Transformer.from_crs("EPSG:4326", ANALYSIS_CRS, always_xy=True)
    cx, cy = to_m.transform(*CENTRE)
    ticks = np.arange(-HALF_M, HALF_M + 1, SPACING_M)
    lines = [shapely.LineString([(cx + t, cy + u) for u in ticks]) for t in ticks]  # a vertex at every
    lines += [shapely.LineString([(cx + u, cy + t) for u in ticks]) for t in ticks]  # crossing: one network
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=ANALYSIS_CRS)
    roads.to_crs(STORAGE_CRS).to_file(folder / "roads.gpkg", layer="roads")
    rng = np.random.default_rng(7)
    xy = rng.uniform(-HALF_M, HALF_M, size=(300, 2)) + np.array([cx, cy])
    residents = gpd.GeoDataFrame(
        {"population": rng.integers(5, 50, len(xy)).astype(float)},
        geometry=gpd.points_from_xy(*xy.T),
        crs=ANALYSIS_CRS,
    )
    residents.to_crs(STORAGE_CRS).to_file(folder / "residents.gpkg", layer="residents")
    on_street = [lines[i].interpolate(rng.uniform(0, 2 * HALF_M)) for i in rng.integers(0, len(lines), 12)]
    shops = gpd.GeoDataFrame(
        {"id": [f"s{i}" for i in range(12)], "category": ["convenience"] * 12},
        geometry=on_street,
        crs=ANALYSIS_CRS,
    )
    shops.to_crs(STORAGE_CRS).to_file(folder / "shops.gpkg", layer="shops")
    return {
        "folder": folder,
        "net": build_network(folder / "roads.gpkg"),
        "residents": residents,
        "shops": shops.to_crs(STORAGE_CRS),
        "xy": xy,
    }


def _write(frame: gpd.GeoDataFrame, path, layer: str = "o") -> str:
    frame.to_file(path, layer=layer)
    return str(path)


def _cli(place, origins: str, tmp_path, *extra: str):
    args = ["coverage", "--network", str(place["folder"] / "roads.gpkg"), "--facilities",
            str(place["folder"] / "shops.gpkg"), "--category-field", "category", "--origins", origins,
            *extra, "--out", str(tmp_path / "res.gpkg")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not (tmp_path / "res.gpkg").exists()
    return result.output


def test_origins_in_metres_declared_as_degrees_are_refused_naming_file_layer_and_fix(place, tmp_path):
    metres = place["residents"].set_crs("EPSG:4326", allow_override=True)
    path = _write(metres, tmp_path / "metres.gpkg", layer="pop")
    with pytest.raises(CRSError, match="look like metres"):
        coverage(place["net"], origins_from_points(path), place["shops"])
    out = _cli(place, path, tmp_path)
    assert "metres.gpkg" in out and "'pop'" in out and "EPSG:4550" in out and "must be finite" not in out


def test_origins_with_swapped_lon_lat_are_refused_as_swapped(place, tmp_path):
    lonlat = place["residents"].to_crs("EPSG:4326")
    swapped = lonlat.set_geometry(gpd.points_from_xy(lonlat.geometry.y, lonlat.geometry.x), crs="EPSG:4326")
    path = _write(swapped, tmp_path / "swapped.gpkg")
    with pytest.raises(CRSError, match="swapped"):
        coverage(place["net"], origins_from_points(path), place["shops"])
    assert "swapped" in _cli(place, path, tmp_path)


def test_origins_hundreds_of_km_from_the_network_are_refused_not_given_zero_coverage(place, tmp_path):
    far = place["residents"].translate(xoff=-568_000)  # the same grid shifted 568 km west
    path = _write(place["residents"].set_geometry(far).to_crs(STORAGE_CRS), tmp_path / "far.gpkg")
    with pytest.raises(LayerError, match=r"300 of 300 points \(100%\) lie more than 2 km outside"):
        coverage(place["net"], origins_from_points(path), place["shops"])
    out = _cli(place, path, tmp_path)
    assert "far.gpkg" in out and "(median 566.5 km away)" in out, out


def test_a_few_origins_off_the_extent_are_a_warning_and_computed_as_unreachable(place, tmp_path):
    origins = place["residents"].copy()
    origins.geometry = origins.geometry.where(origins.index >= 30, origins.geometry.translate(xoff=10_000))
    res = coverage(place["net"], origins, place["shops"])
    assert any("30 of 300 points (10%)" in w for w in res.warnings)
    assert not res.origins["reachable"].iloc[:30].any()


def test_origins_of_which_almost_none_snap_are_refused(place, tmp_path):
    cx, cy = place["xy"].mean(axis=0)
    sparse = [shapely.LineString([(cx - 3000, cy - 3000 + d), (cx + 3000, cy - 3000 + d)]) for d in (0, 6000)]
    sparse += [
        shapely.LineString([(cx - 3000 + d, cy - 3000), (cx - 3000 + d, cy + 3000)]) for d in (0, 6000)
    ]
    path = tmp_path / "ring.gpkg"
    gpd.GeoDataFrame({"highway": ["primary"] * 4}, geometry=sparse, crs=ANALYSIS_CRS).to_file(path, layer="r")
    net = build_network(path)
    with pytest.raises(LayerError, match=r"only 0 of 300 origins \(0%\) lie within max_snap_m"):
        coverage(net, place["residents"], place["shops"], min_component_nodes=1)


def test_bd09_export_read_as_gcj02_names_bd09_not_the_option_already_given(place, tmp_path):
    lonlat = place["shops"].to_crs("EPSG:4326")
    blon, blat = wgs84_to_bd09(lonlat.geometry.x.to_numpy(), lonlat.geometry.y.to_numpy())
    csv = tmp_path / "baidu.csv"
    pd.DataFrame({"id": lonlat["id"], "category": lonlat["category"], "lng": blon, "lat": blat}).to_csv(
        csv, index=False
    )
    fac = read_facilities(csv, datum="gcj02", category_field="category")
    with pytest.raises(CoordinateOffsetError) as info:
        coverage(place["net"], place["residents"], fac)
    message = str(info.value)
    assert "baidu.csv" in message and "--datum bd09" in message
    assert "use --datum gcj02" not in message and "with --datum gcj02" not in message
    right = read_facilities(csv, datum="bd09", category_field="category")
    assert (
        coverage(place["net"], place["residents"], right)
        .categories.set_index("id")
        .loc["convenience", "n_facilities_reachable"]
        == 12
    )


def test_duplicate_origin_ids_in_a_frame_built_in_memory_are_refused_by_coverage(place):
    origins = place["residents"].copy()
    origins["origin_id"] = [f"o{i}" for i in range(len(origins))]
    origins.loc[[3, 7, 11], "origin_id"] = "o0"
    with pytest.raises(LayerError, match=r"field 'origin_id': 1 ids occur more than once \('o0' ×4\)"):
        coverage(place["net"], origins, place["shops"])
    with pytest.raises(LayerError, match=r"id field 'code' is missing"):
        coverage(place["net"], origins, place["shops"], id_field="code")
    origins["code"] = np.arange(len(origins))
    res = coverage(place["net"], origins, place["shops"], id_field="code")
    assert res.origins["origin_id"].tolist() == [str(i) for i in range(len(origins))]


def test_duplicate_facility_ids_are_counted_per_row_with_a_warning(place):
    shops = place["shops"].copy()
    shops.loc[[1, 2], "id"] = "s0"
    res = coverage(place["net"], place["residents"], shops)
    assert any("field 'id': 1 ids occur more than once ('s0' ×3)" in w for w in res.warnings)
    assert res.categories.set_index("id").loc["convenience", "n_facilities"] == len(shops)
