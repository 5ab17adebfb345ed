"""weihai_gis.io.geotiff: the numpy GeoTIFF reader and writer against rasterio (the oracle) on files it writes."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rasterio.windows
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS

from weihai_gis.io import geotiff
from weihai_gis.io.geotiff import open_geotiff, window_from_bounds, write_geotiff

DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")
TRANSFORM = Affine(30.0, 0.0, 424_325.0257, 0.0, -30.0, 4_096_860.743)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _values(rng: np.random.Generator, dtype: str, shape: tuple[int, int]) -> np.ndarray:
    if dtype.startswith("float"):
        a = rng.normal(100.0, 300.0, shape).astype(dtype)
        a[rng.random(shape) < 0.05] = np.nan
        return a
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _write(path, array, *, crs="EPSG:4550", nodata=None, transform=TRANSFORM, **options) -> None:
    profile = {"driver": "GTiff", "height": array.shape[0], "width": array.shape[1], "count": 1}
    profile |= {"dtype": array.dtype.name, "crs": crs, "transform": transform, "nodata": nodata, **options}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)


files = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(DTYPES),
        "compress": st.sampled_from([None, "deflate"]),
        "tiled": st.booleans(),
        "predictor": st.sampled_from([1, 2, 3]),
        "height": st.integers(1, 70),
        "width": st.integers(1, 70),
        "rows_per_strip": st.integers(1, 80),
        "nodata": st.booleans(),
        "seed": st.integers(0, 2**32 - 1),
    }
)


def _make(tmp_path, spec) -> tuple[object, np.ndarray]:
    dtype, shape = spec["dtype"], (spec["height"], spec["width"])
    if spec["predictor"] == 3 and not dtype.startswith("float"):
        spec = spec | {"predictor": 2}
    array = _values(np.random.default_rng(spec["seed"]), dtype, shape)
    options: dict = {}
    if spec["compress"]:
        options |= {"compress": spec["compress"], "predictor": spec["predictor"]}
    if spec["tiled"]:
        options |= {"tiled": True, "blockxsize": 16, "blockysize": 32}
    else:
        options["blockysize"] = spec["rows_per_strip"]
    nodata = (np.nan if dtype.startswith("float") else 0) if spec["nodata"] else None
    path = tmp_path / f"in-{spec['seed']}.tif"
    _write(path, array, nodata=nodata, **options)
    return path, array


@SETTINGS
@given(spec=files, frac=st.tuples(*[st.floats(0, 1)] * 4))
def test_a_file_rasterio_writes_reads_back_the_same_values_transform_and_nodata(tmp_path, spec, frac):
    path, array = _make(tmp_path, spec)
    tif = open_geotiff(path)
    assert tif is not None, spec
    with tif, rasterio.open(path) as src:
        assert tif.transform == src.transform and tif.dtype == np.dtype(src.dtypes[0])
        assert (tif.nodata is None) == (src.nodata is None)
        if src.nodata is not None:
            assert np.array_equal(tif.nodata, src.nodata, equal_nan=True)
        assert tif.crs.epsg == src.crs.to_epsg() == 4550 and not tif.crs.is_geographic
        got = tif.read()
        assert got.dtype == array.dtype and np.array_equal(got, src.read(1), equal_nan=True)
        r0, c0 = int(frac[0] * (src.height - 1)), int(frac[1] * (src.width - 1))
        h, w = 1 + int(frac[2] * (src.height - r0 - 1)), 1 + int(frac[3] * (src.width - c0 - 1))
        window = rasterio.windows.Window(c0, r0, w, h)
        assert np.array_equal(tif.read((r0, c0, h, w)), src.read(1, window=window), equal_nan=True)


@SETTINGS
@given(spec=files, out_dtype=st.sampled_from(DTYPES), nodata=st.sampled_from([None, 255, -9999.0]))
def test_what_write_geotiff_writes_rasterio_reads_as_the_same_values_grid_crs_nodata_and_tags(
    tmp_path, spec, out_dtype, nodata
):
    path, _ = _make(tmp_path, spec)
    if nodata is not None and not np.can_cast(np.min_scalar_type(nodata), out_dtype):
        nodata = None
    values = _values(np.random.default_rng(spec["seed"] + 1), out_dtype, (spec["height"], spec["width"]))
    tif = open_geotiff(path)
    assert tif is not None
    grid = tif.transform @ Affine.translation(3, 2)  # a window's grid: the writer places it, not the input
    out = tmp_path / f"out-{spec['seed']}.tif"
    tags = {"VALUES": "1=visible 0=not", "NOTE": 'a <b> & "c"'}
    with tif:
        write_geotiff(out, values, transform=grid, crs=tif.crs, nodata=nodata, tags=tags, zlevel=1)
    with rasterio.open(out) as back, rasterio.open(path) as src:
        assert back.count == 1 and back.dtypes[0] == out_dtype
        assert np.array_equal(back.read(1), values, equal_nan=True)
        assert back.transform == grid and back.crs == src.crs
        assert back.nodata == nodata or (nodata is None and back.nodata is None)
        assert back.tags() == {**tags, "AREA_OR_POINT": "Area"}
    again = open_geotiff(out)  # and our own reader reads it
    assert again is not None and np.array_equal(again.read(), values, equal_nan=True)
    again.close()


@pytest.mark.parametrize(
    "options",
    [
        {"compress": "lzw"},
        {"compress": "packbits"},
        {"count": 2},
        {"BIGTIFF": "YES"},
        {"ENDIANNESS": "BIG"},
        {"overviews": True},
        {"mask": True},
        {"aux_xml": True},
        {"crs": None},
        {"pixel_is_point": True},
        {"dtype": "int8"},
        {"gcps": True},
    ],
    ids=lambda o: next(iter(o)),
)
def test_anything_but_a_baseline_geotiff_is_left_to_rasterio_and_read_dem_still_reads_it(tmp_path, options):
    from weihai_gis.sightlines import read_dem

    array = np.arange(40 * 50, dtype="float32").reshape(40, 50)
    path = tmp_path / "dem.tif"
    special = {
        k: options.pop(k)
        for k in ("overviews", "mask", "aux_xml", "pixel_is_point", "gcps", "count", "crs", "dtype")
        if k in options
    }
    dtype = special.get("dtype", "float32")
    profile = {"driver": "GTiff", "height": 40, "width": 50, "count": special.get("count", 1), "dtype": dtype}
    profile |= {"crs": special.get("crs", "EPSG:4550"), "transform": TRANSFORM, **options}
    if special.get("gcps"):
        profile.pop("transform")
    with rasterio.open(path, "w", **profile) as dst:
        for band in range(1, profile["count"] + 1):
            dst.write(array.astype(dtype), band)
        if special.get("overviews"):
            dst.build_overviews([2])
        if special.get("mask"):
            with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
                dst.write_mask(array > 10)
        if special.get("pixel_is_point"):
            dst.update_tags(AREA_OR_POINT="Point")
        if special.get("gcps"):
            from rasterio.control import GroundControlPoint

            gcps = [GroundControlPoint(r, c, *(TRANSFORM @ (c, r))) for r, c in ((0, 0), (0, 50), (40, 0))]
            dst.gcps = (gcps, CRS.from_epsg(4550).to_wkt())
    if special.get("aux_xml"):
        (tmp_path / "dem.tif.aux.xml").write_text("<PAMDataset></PAMDataset>", encoding="utf-8")
    assert open_geotiff(path) is None
    if special.get("crs", "EPSG:4550") is not None and not special.get("gcps"):
        dem = read_dem(path, crs=None, sea_at_or_below_m=None)  # rasterio reads it
        assert dem.shape == (40, 50) and not isinstance(dem._crs_light, geotiff.GeoTIFFCRS)


@settings(max_examples=200, deadline=None)
@given(
    box=st.tuples(*[st.floats(-2000.0, 3000.0, allow_nan=False)] * 4),
    transform=st.sampled_from(
        [TRANSFORM, Affine(12.5, 0, 1000.3, 0, -7.25, 5000.1), Affine(1, 0, 0, 0, -1, 40)]
    ),
)
def test_window_from_bounds_is_rasterio_s_rounded_window_clipped_to_the_image(box, transform):
    width, height = 60, 45
    x0, y0 = transform @ (0, 0)
    left, right = sorted((x0 + box[0] * abs(transform.a) / 30, x0 + box[1] * abs(transform.a) / 30))
    bottom, top = sorted((y0 - box[2] * abs(transform.e) / 30, y0 - box[3] * abs(transform.e) / 30))
    ours = window_from_bounds(transform, (left, bottom, right, top), width, height)
    window = rasterio.windows.from_bounds(left, bottom, right, top, transform=transform)
    window = window.round_offsets().round_lengths()
    try:
        theirs = window.intersection(rasterio.windows.Window(0, 0, width, height))
    except rasterio.errors.WindowError:
        assert ours is None
        return
    if theirs.width <= 0 or theirs.height <= 0:
        assert ours is None
        return
    assert ours == (theirs.row_off, theirs.col_off, theirs.height, theirs.width)


@pytest.mark.parametrize(
    "crs",
    [
        "EPSG:4550",  # CGCS2000 / 3-degree Gauss-Kruger CM 123E
        "EPSG:32651",  # WGS 84 / UTM 51N
        "EPSG:2385",  # Xian 1980 / 3-degree Gauss-Kruger CM 120E (IAG 1975, 6378140 m)
        "EPSG:2432",  # Beijing 1954 / 3-degree Gauss-Kruger CM 117E (Krassowsky, 6378245 m)
        "EPSG:4326",
        "+proj=tmerc +lon_0=122 +ellps=krass +units=m",  # no EPSG code: GeoKeys give datum or axes
        "+proj=tmerc +lon_0=122 +a=6371000 +b=6371000 +units=m",  # a sphere of 6371 km
    ],
)
def test_the_ellipsoid_s_semi_major_axis_is_pyproj_s_or_left_to_the_wkt(tmp_path, crs):
    from weihai_gis.sightlines import read_dem

    path = tmp_path / "dem.tif"
    _write(path, np.zeros((4, 5), dtype="float32"), crs=crs)
    tif = open_geotiff(path)
    assert tif is not None
    with rasterio.open(path) as src:
        expected = CRS.from_user_input(src.crs).ellipsoid.semi_major_metre
    assert tif.crs.semi_major_m in (None, pytest.approx(expected, abs=1e-6))
    if crs.startswith("EPSG"):
        assert tif.crs.semi_major_m == pytest.approx(expected, abs=1e-6)
        assert tif.crs.to_string() == crs and tif.crs.is_geographic == (crs == "EPSG:4326")
    tif.close()
    dem = read_dem(path, crs=None, sea_at_or_below_m=None)
    assert isinstance(dem._crs_light, geotiff.GeoTIFFCRS)
    assert dem.semi_major_m == pytest.approx(expected, abs=1e-6)
    assert dem.crs == CRS.from_user_input(rasterio.open(path).crs)  # to_wkt: rasterio reads the file's CRS


def test_the_viewshed_through_the_numpy_reader_and_writer_is_the_rasterio_one_bit_for_bit(
    tmp_path, monkeypatch
):
    from weihai_gis.sightlines import dem as dem_module
    from weihai_gis.sightlines import read_dem, viewshed, write_raster

    rng = np.random.default_rng(7)
    z = (np.cumsum(np.cumsum(rng.normal(0, 2, (90, 110)), 0), 1) / 5 + 50).astype("float32")
    z[rng.random(z.shape) < 0.01] = -9999.0
    path = tmp_path / "dem.tif"
    _write(path, z, nodata=-9999.0, compress="deflate", predictor=3, tiled=True, blockxsize=32, blockysize=32)
    x, y = TRANSFORM @ (55.5, 44.5)
    outs = {}
    for how in ("numpy", "rasterio"):
        if how == "rasterio":
            monkeypatch.setattr(dem_module, "open_geotiff", lambda p: None)
        for bounds in (None, (x - 900, y - 700, x + 800, y + 1000)):
            grid = read_dem(path, crs=None, sea_at_or_below_m=None, bounds=bounds)
            assert isinstance(grid._crs_light, geotiff.GeoTIFFCRS) == (how == "numpy")
            res = viewshed(
                grid, (x, y), observer_height_m=2.0, max_distance_m=None if bounds is None else 700.0
            )
            values = np.where(res.in_range, res.visible.astype(np.uint8), 255).astype(np.uint8)
            out = write_raster(
                tmp_path / f"{how}-{bounds is None}.tif", values, grid, nodata=255, dtype="uint8"
            )
            with rasterio.open(out) as back:
                outs[how, bounds is None] = (
                    back.read(1),
                    back.transform,
                    back.crs,
                    back.nodata,
                    grid.elevation,
                )
    for full in (True, False):
        a, b = outs["numpy", full], outs["rasterio", full]
        assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]
        assert np.array_equal(a[4], b[4], equal_nan=True)


def test_ellipsoid_lookups_are_remembered_per_proj_db_and_equal_the_database_s_answer(tmp_path, monkeypatch):
    from weihai_gis.io import epsg

    monkeypatch.setenv("WEIHAI_GIS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("WEIHAI_GIS_NO_PROJ_CACHE", raising=False)
    db = epsg.proj_db()
    assert db is not None
    fresh = epsg.semi_major_axis_m.__wrapped__  # past the in-process memo
    assert fresh("projected_crs", 2432) == epsg._query(db, "projected_crs", 2432) == 6378245.0  # Krassowsky
    lines = epsg.cache_file().read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and lines[0].endswith("|projected_crs|2432\t6378245.0")
    epsg.cache_file().write_text(lines[0].replace("6378245.0", "1.5") + "\n", encoding="utf-8")
    assert fresh("projected_crs", 2432) == 1.5  # read from the file, not the database
    monkeypatch.setattr(epsg, "_db_key", lambda d: "another proj.db|1|2")  # a new database: asked again
    assert fresh("projected_crs", 2432) == 6378245.0
    monkeypatch.setenv("WEIHAI_GIS_NO_PROJ_CACHE", "1")
    (tmp_path / "cache").chmod(0o500)  # and a cache that cannot be written is no error
    try:
        assert fresh("geodetic_crs", 4610) == 6378140.0  # Xian 1980: IAG 1975
        monkeypatch.delenv("WEIHAI_GIS_NO_PROJ_CACHE")
        assert fresh("ellipsoid", 7019) == 6378137.0  # GRS 1980
    finally:
        (tmp_path / "cache").chmod(0o700)
    assert fresh("projected_crs", 999999) is None


finite = st.floats(-1e7, 1e7, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(t=st.tuples(*[finite] * 6), x=finite, y=finite)
def test_geotransform_is_affine_s_arithmetic_bit_for_bit(t, x, y):
    from weihai_gis import geotransform

    affine_t = Affine(*t)

    def same(a, b) -> bool:  # equal bit for bit (a nearly degenerate transform may give nan in both)
        return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)

    assert geotransform.coefficients(affine_t) == tuple(affine_t)[:6]
    assert same(geotransform.apply(t, x, y), affine_t @ (x, y))
    if affine_t.determinant != 0 and not affine_t.is_degenerate:
        assert same(geotransform.invert(t), tuple(~affine_t)[:6])


def test_a_dem_keeps_an_affine_as_given_and_builds_one_from_coefficients_on_first_read():
    from weihai_gis.sightlines import DEM

    dem = DEM(np.zeros((3, 4)), TRANSFORM, "EPSG:4550")
    assert dem.transform is TRANSFORM and dem.coefficients == tuple(TRANSFORM)[:6]
    light = DEM(np.zeros((3, 4)), tuple(TRANSFORM)[:6], "EPSG:4550")
    assert "_transform_affine" in light.__dict__ and light.__dict__["_transform_affine"] is None
    assert light.transform == TRANSFORM and isinstance(light.transform, Affine)
    assert light.rowcol(*(TRANSFORM @ (2.5, 1.5))) == dem.rowcol(*(TRANSFORM @ (2.5, 1.5))) == (1, 2)
    assert [a.tolist() for a in light.cell_centres()] == [a.tolist() for a in dem.cell_centres()]
