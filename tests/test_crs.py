"""CRS constants, GCJ-02/BD-09 conversion against published values, and offset detection."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from weihai_gis import crs
from weihai_gis.errors import CRSError, WeihaiGISError

GEOD = pyproj.Geod(ellps="WGS84")

# Published expectations from the gcoord test suite (hujiulong/gcoord, test/unit/crs/*.spec.ts), an
# implementation independent of ours and of pyproj; they are checked there to 5 decimals (toBeCloseTo(x, 5)).
PUBLISHED = [
    ("wgs84_to_gcj02", (123.0, 45.0), (123.00607541, 45.00197815)),
    ("gcj02_to_bd09", (123.0, 45.0), (123.00636499, 45.00636899)),
    ("wgs84_to_bd09", (123.0, 45.0), (123.0124491, 45.0083293)),
    ("gcj02_to_wgs84", (123.0, 45.0), (122.99395597, 44.99804071)),
    ("bd09_to_gcj02", (123.0, 45.0), (122.99363304, 44.99365430)),
    ("bd09_to_wgs84", (123.0, 45.0), (122.98762210, 44.99171540)),
]

weihai_lon = st.floats(min_value=crs.WEIHAI_BOUNDS[0], max_value=crs.WEIHAI_BOUNDS[2])
weihai_lat = st.floats(min_value=crs.WEIHAI_BOUNDS[1], max_value=crs.WEIHAI_BOUNDS[3])


@pytest.mark.parametrize(("func", "src", "expected"), PUBLISHED)
def test_conversions_match_published_values(func, src, expected):
    lon, lat = getattr(crs, func)(*src)
    assert abs(float(lon) - expected[0]) < 5e-6
    assert abs(float(lat) - expected[1]) < 5e-6


def test_points_outside_china_are_not_shifted():
    lon, lat = crs.wgs84_to_gcj02([183.0, 2.0], [45.0, 48.0])
    assert lon.tolist() == [183.0, 2.0]
    assert lat.tolist() == [45.0, 48.0]


@settings(max_examples=200, deadline=None)
@given(weihai_lon, weihai_lat)
def test_gcj02_round_trip_is_far_below_half_a_metre(lon, lat):
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    wlon, wlat = crs.gcj02_to_wgs84(glon, glat)
    _, _, err_m = GEOD.inv(lon, lat, float(wlon), float(wlat))
    assert err_m < 0.001  # the brief asks for well under 0.5 m


@settings(max_examples=200, deadline=None)
@given(weihai_lon, weihai_lat)
def test_bd09_round_trip_is_far_below_half_a_metre(lon, lat):
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    wlon, wlat = crs.bd09_to_wgs84(blon, blat)
    _, _, err_m = GEOD.inv(lon, lat, float(wlon), float(wlat))
    assert err_m < 0.001


def test_gcj02_offset_in_weihai_is_a_few_hundred_metres():
    lon = np.linspace(121.7, 122.6, 7)
    lat = np.linspace(36.8, 37.5, 7)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    _, _, dist = GEOD.inv(lon, lat, glon, glat)
    assert np.all((dist > 250) & (dist < 700))


def test_conversion_is_vectorised_and_shape_preserving():
    lon = np.full((3, 4), 122.1)
    lat = np.full((3, 4), 37.5)
    glon, _ = crs.wgs84_to_gcj02(lon, lat)
    assert glon.shape == (3, 4)
    assert np.allclose(glon, glon[0, 0])
    with pytest.raises(ValueError, match="same shape"):
        crs.wgs84_to_gcj02([1.0, 2.0], [1.0])


def test_crs_codes_are_cgcs2000_and_gauss_kruger_123e():
    storage = pyproj.CRS(crs.STORAGE_CRS)
    analysis = pyproj.CRS(crs.ANALYSIS_CRS)
    assert storage.is_geographic and "2000" in storage.datum.name
    assert analysis.is_projected and analysis.axis_info[0].unit_name == "metre"
    assert analysis.datum == storage.datum
    params = {p.name: p.value for p in analysis.coordinate_operation.params}
    assert params["Longitude of natural origin"] == pytest.approx(123.0)
    # Weihai's far west (Rushan, ~121.2E) lies just outside the nominal 121.5-124.5E zone; the scale
    # error there stays below 0.5 m per km, which the module docstring promises.
    factors = pyproj.Proj(analysis).get_factors(121.2, 36.9)
    assert abs(factors.meridional_scale - 1.0) < 5e-4


def test_to_wgs84_rejects_unknown_datum_with_the_choices():
    with pytest.raises(CRSError, match="gcj02"):
        crs.to_wgs84([122.0], [37.0], "mars")


def test_require_crs_names_the_input():
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy([122.0], [37.0]))
    with pytest.raises(WeihaiGISError, match=r"pois\.csv"):
        crs.require_crs(gdf, where="pois.csv")


def _street_grid() -> gpd.GeoDataFrame:
    """A 3 km grid of 'streets' in central Weihai, spaced 1 km, as a WGS84 reference."""
    x0, y0 = 122.08, 37.47
    lines = [LineString([(x0 + i * 0.0113, y0), (x0 + i * 0.0113, y0 + 0.027)]) for i in range(4)]
    lines += [LineString([(x0, y0 + j * 0.009), (x0 + 0.034, y0 + j * 0.009)]) for j in range(4)]
    return gpd.GeoDataFrame(geometry=lines, crs=crs.WEB_CRS)


def _points_on(grid: gpd.GeoDataFrame, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    pts = [
        g.interpolate(rng.uniform(0, 1), normalized=True)
        for g in grid.geometry.sample(n, replace=True, random_state=3)
    ]
    return np.array([p.x for p in pts]), np.array([p.y for p in pts])


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_diagnose_offset_detects_shifted_points(datum):
    grid = _street_grid()
    lon, lat = _points_on(grid)
    fwd = crs.wgs84_to_gcj02 if datum == "gcj02" else crs.wgs84_to_bd09
    slon, slat = fwd(lon, lat)
    diag = crs.diagnose_offset(slon, slat, grid)
    assert diag.shifted
    assert diag.best == datum
    assert diag.median_m[datum] < 1.0
    assert datum.upper() in diag.message("pois.xlsx") and "pois.xlsx" in diag.message("pois.xlsx")


def test_diagnose_offset_accepts_true_wgs84_points():
    grid = _street_grid()
    lon, lat = _points_on(grid)
    diag = crs.diagnose_offset(lon, lat, grid)
    assert not diag.shifted
    assert diag.best == "wgs84"


def test_transformers_are_made_once_per_crs_pair_and_give_pyprojs_numbers():
    a = crs.transformer(crs.STORAGE_CRS, crs.ANALYSIS_CRS)
    assert crs.transformer(crs.STORAGE_CRS, crs.ANALYSIS_CRS) is a
    assert crs.transformer(crs.ANALYSIS_CRS, crs.STORAGE_CRS) is not a
    rng = np.random.default_rng(5)
    lon = rng.uniform(crs.WEIHAI_BOUNDS[0], crs.WEIHAI_BOUNDS[2], 500)
    lat = rng.uniform(crs.WEIHAI_BOUNDS[1], crs.WEIHAI_BOUNDS[3], 500)
    # the offset check takes WGS84 lon/lat through CGCS2000's transformer: PROJ's WGS84 route (a null
    # "ballpark" offset, found by a 0.1 s database search) gives exactly the same metres
    wgs84 = pyproj.Transformer.from_crs(crs.WEB_CRS, crs.ANALYSIS_CRS, always_xy=True).transform(lon, lat)
    assert np.array_equal(np.array(a.transform(lon, lat)), np.array(wgs84))
    back = pyproj.Transformer.from_crs(crs.ANALYSIS_CRS, crs.WEB_CRS, always_xy=True).transform(*wgs84)
    assert np.array_equal(
        np.array(crs.transformer(crs.ANALYSIS_CRS, crs.STORAGE_CRS).transform(*wgs84)), back
    )


def test_a_cached_transformer_gives_every_thread_the_same_numbers():
    from concurrent.futures import ThreadPoolExecutor

    t = crs.transformer(crs.STORAGE_CRS, crs.ANALYSIS_CRS)
    lon, lat = np.linspace(121.2, 122.7, 20_000), np.linspace(36.7, 37.5, 20_000)
    want = np.array(t.transform(lon, lat))
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: np.array(t.transform(lon, lat)), range(8)))
    assert all(np.array_equal(g, want) for g in got)


def test_atomic_path_keeps_previous_output_when_writing_fails(tmp_path):
    from weihai_gis.files import atomic_path

    dest = tmp_path / "result.csv"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.csv"]


def test_atomic_path_refuses_to_overwrite_an_input(tmp_path):
    from weihai_gis.errors import InputFileError
    from weihai_gis.files import atomic_path

    src = tmp_path / "towns.gpkg"
    src.write_bytes(b"input")
    with pytest.raises(InputFileError, match="input file"), atomic_path(src, inputs=(src,)):
        pass
    assert src.read_bytes() == b"input"
