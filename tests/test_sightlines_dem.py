"""DEM reading: reprojection, windows, mosaics, sea handling and clear errors for bad DEMs."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.errors import DEMError
from weihai_gis.sightlines import DEM, read_dem, viewshed, write_raster


def write_tif(path, data, *, crs="EPSG:4550", transform=None, nodata=None):
    transform = transform or Affine(30, 0, 400000, 0, -30, 4100000)
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": "float32",
        "transform": transform,
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype("float32"), 1)
    return path


def test_dem_without_crs_is_refused_naming_the_file(tmp_path):
    path = write_tif(tmp_path / "nocrs.tif", np.ones((5, 5)), crs=None)
    with pytest.raises(DEMError, match=r"nocrs\.tif.*no CRS"):
        read_dem(path)


def test_all_nodata_dem_is_refused_naming_the_file(tmp_path):
    path = write_tif(tmp_path / "empty.tif", np.full((5, 5), -9999.0), nodata=-9999)
    with pytest.raises(DEMError, match=r"empty\.tif.*nodata"):
        read_dem(path, crs=None)


def test_degree_coordinates_labelled_as_metres_are_refused(tmp_path):
    path = write_tif(
        tmp_path / "fake_metres.tif",
        np.ones((5, 5)),
        transform=Affine(0.000277, 0, 122.0, 0, -0.000277, 37.0),
    )
    with pytest.raises(DEMError, match=r"fake_metres\.tif.*degrees"):
        read_dem(path, crs=None)


def test_geographic_dem_used_without_reprojection_is_refused_by_viewshed(tmp_path):
    path = write_tif(
        tmp_path / "geo.tif",
        np.ones((5, 5)),
        crs="EPSG:4326",
        transform=Affine(0.000277, 0, 122.0, 0, -0.000277, 37.0),
    )
    dem = read_dem(path, crs=None)
    with pytest.raises(DEMError, match=r"geo.tif.*geographic"):
        viewshed(dem, (122.0005, 36.9995))
    result = CliRunner().invoke(
        main,
        [
            "sightlines",
            "viewshed",
            "--dem",
            str(path),
            "--observer",
            "122.0005",
            "36.9995",
            "--out",
            str(tmp_path / "o.tif"),
        ],
    )
    assert result.exit_code == 2 and "geo.tif" in result.output


def test_unreadable_file_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "garbage.tif"
    path.write_bytes(b"this is not a GeoTIFF" * 10)
    with pytest.raises(DEMError, match=r"garbage\.tif"):
        read_dem(path)


def test_mosaic_of_two_tiles_equals_the_whole(tmp_path):
    rng = np.random.default_rng(0)
    whole = rng.uniform(0, 100, (20, 30)).astype("float32")
    t = Affine(30, 0, 400000, 0, -30, 4100000)
    a = write_tif(tmp_path / "a.tif", whole[:, :15], transform=t)
    b = write_tif(tmp_path / "b.tif", whole[:, 15:], transform=t @ Affine.translation(15, 0))
    dem = read_dem([a, b], crs=None)
    assert dem.shape == whole.shape
    np.testing.assert_array_equal(dem.elevation, whole)


def test_bounds_window_and_sea_rule(tmp_path):
    data = np.arange(100, dtype=float).reshape(10, 10) - 20  # rows 0-1 at or below 0 m: sea
    path = write_tif(tmp_path / "w.tif", data, nodata=-9999)
    dem = read_dem(path, crs=None, bounds=(400000 + 60, 4100000 - 150, 400000 + 150, 4100000))
    assert dem.shape == (5, 3)
    np.testing.assert_array_equal(dem.elevation, data[:5, 2:5])
    assert (dem.sea == (data[:5, 2:5] <= 0)).all()
    assert dem.transform.c == 400060


def test_real_tile_is_reprojected_to_metres(shared_dem):
    dem = read_dem(shared_dem, bounds=(122.40, 36.86, 122.45, 36.90), bounds_crs="EPSG:4326", resolution_m=30)
    assert dem.crs.to_epsg() == 4550 and dem.cell_size_m == 30
    assert 0.8 * 4500 / 30 < dem.shape[1] < 1.2 * 4500 / 30  # 0.05 deg of longitude ~ 4.5 km at 36.9 N
    assert np.nanmax(dem.elevation) > 50 and dem.sea.any()


def test_write_raster_is_atomic_and_refuses_to_overwrite_its_input(tmp_path):
    path = write_tif(tmp_path / "in.tif", np.ones((4, 4)))
    dem = read_dem(path, crs=None)
    with pytest.raises(ValueError, match="input"):
        write_raster(path, np.zeros((4, 4)), dem, nodata=None, inputs=(path,))
    assert read_dem(path, crs=None).elevation.max() == 1
    out = write_raster(
        tmp_path / "out.tif", np.full((4, 4), np.nan), DEM(np.ones((4, 4)), dem.transform, dem.crs), nodata=-1
    )
    with rasterio.open(out) as src:
        assert (src.read(1) == -1).all() and src.nodata == -1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("how", ["nodata", "mask band"])
def test_nodata_value_and_mask_band_both_read_as_nan(tmp_path, how):
    # the nodata value is read unmasked and mapped to nan; a mask band (no nodata value) still masks
    data = np.arange(20 * 30, dtype="float32").reshape(20, 30)
    hole = np.zeros(data.shape, bool)
    hole[3:6, 10:14] = True
    path = tmp_path / f"{how.replace(' ', '_')}.tif"
    if how == "nodata":
        write_tif(path, np.where(hole, -9999, data), nodata=-9999)
    else:
        write_tif(path, np.where(hole, 7.0, data))
        with rasterio.open(path, "r+") as dst:
            dst.write_mask(np.where(hole, 0, 255).astype("uint8"))
    dem = read_dem(path, crs=None)
    np.testing.assert_array_equal(np.isnan(dem.elevation), hole)
    np.testing.assert_array_equal(dem.elevation[~hole], data[~hole])


@pytest.mark.parametrize("crs", ["EPSG:27700", "EPSG:4550"])
def test_the_crs_of_a_read_dem_is_a_pyproj_crs_with_the_file_ellipsoid(tmp_path, crs):
    import dataclasses

    import pyproj

    path = write_tif(tmp_path / "d.tif", np.ones((4, 5)), crs=crs)
    dem = read_dem(path, crs=None)
    expected = pyproj.CRS(crs)
    # read without pyproj (rasterio's CRS and its WKT), equal to what pyproj says once parsed
    assert dem.semi_major_m == expected.ellipsoid.semi_major_metre
    assert isinstance(dem.crs, pyproj.CRS) and dem.crs == expected
    assert dem.semi_major_m == expected.ellipsoid.semi_major_metre
    copy = dataclasses.replace(dem, elevation=dem.elevation * 2)
    assert copy.crs == expected and (copy.elevation == 2).all()
    out = write_raster(tmp_path / "o.tif", dem.elevation, dem, nodata=None)
    with rasterio.open(out) as src:
        assert pyproj.CRS(src.crs.to_wkt()) == expected


def test_a_dem_with_an_unknown_crs_is_refused_when_built():
    with pytest.raises(pyproj_error()):
        DEM(np.ones((3, 3)), Affine(30, 0, 0, 0, -30, 0), "EPSG:999999")


def pyproj_error() -> type[Exception]:
    from pyproj.exceptions import CRSError

    return CRSError
