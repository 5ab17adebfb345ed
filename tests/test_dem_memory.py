"""A DEM too large for memory is refused before reading, naming the DEM and the fix; --max-distance reads
only the observer's window, so a viewshed on a 100,000 × 100,000 DEM works.

The large DEM is a real GeoTIFF (sparse, tiled: GDAL stores unwritten blocks as nothing), so the test
file is a few kilobytes.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin
from rasterio.windows import Window

from weihai_gis.cli import main
from weihai_gis.errors import DEMError
from weihai_gis.sightlines import read_dem, viewshed

X0, Y0 = 400_000.0, 4_200_000.0  # EPSG:4550, Weihai


def _terrain(rows: int, cols: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols]
    hills = sum(
        rng.uniform(20, 80)
        * np.exp(-((xx - rng.uniform(0, cols)) ** 2 + (yy - rng.uniform(0, rows)) ** 2) / 800)
        for _ in range(12)
    )
    return (hills + rng.normal(0, 0.5, (rows, cols))).astype("float32")


@pytest.fixture(scope="module")
def huge_dem(tmp_path_factory):
    path = tmp_path_factory.mktemp("dem") / "huge.tif"
    profile = dict(
        driver="GTiff", width=100_000, height=100_000, count=1, dtype="float32", crs="EPSG:4550",
        transform=from_origin(X0, Y0, 1.0, 1.0), nodata=-9999.0, tiled=True, blockxsize=256, blockysize=256,
        compress="deflate", BIGTIFF="YES", SPARSE_OK="TRUE",
    )  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(_terrain(600, 600), 1, window=Window(50_000, 50_000, 600, 600))
    return path


def test_reading_a_dem_larger_than_memory_is_refused_before_reading(huge_dem):
    assert huge_dem.stat().st_size < 5_000_000
    with pytest.raises(DEMError, match=r"huge\.tif.*10,000,000,000 cells.*GB.*--max-distance"):
        read_dem(huge_dem, crs=None)


def test_viewshed_cli_without_a_range_exits_2_and_with_max_distance_reads_only_the_window(huge_dem, tmp_path):
    observer = (X0 + 50_300, Y0 - 50_300)
    args = ["sightlines", "viewshed", "--dem", str(huge_dem), "--observer", *map(str, observer)]
    refused = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "all.tif")])
    assert refused.exit_code == 2 and "--max-distance" in refused.output and "Traceback" not in refused.output
    assert not (tmp_path / "all.tif").exists()
    done = CliRunner().invoke(main, [*args, "--max-distance", "250", "--out", str(tmp_path / "v.tif")])
    assert done.exit_code == 0, done.output
    with rasterio.open(tmp_path / "v.tif") as src:
        assert src.width < 1000 and src.height < 1000


def test_a_windowed_viewshed_equals_the_whole_grid_viewshed_within_range(tmp_path):
    path = tmp_path / "small.tif"
    data = _terrain(400, 400, seed=5)
    with rasterio.open(
        path, "w", driver="GTiff", width=400, height=400, count=1, dtype="float32", crs="EPSG:4550",
        transform=from_origin(X0, Y0, 2.0, 2.0), nodata=-9999.0,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    observer, reach = (X0 + 401.0, Y0 - 399.0), 150.0
    whole = viewshed(read_dem(path, crs=None, sea_at_or_below_m=None), observer, max_distance_m=reach)
    args = ["sightlines", "viewshed", "--dem", str(path), "--observer", *map(str, observer)]
    done = CliRunner().invoke(main, [*args, "--max-distance", str(reach), "--out", str(tmp_path / "w.tif")])
    assert done.exit_code == 0, done.output
    with rasterio.open(tmp_path / "w.tif") as src:
        window = src.read(1)
        col0 = round((src.transform.c - X0) / 2.0)
        row0 = round((Y0 - src.transform.f) / 2.0)
    part = whole.visible[row0 : row0 + window.shape[0], col0 : col0 + window.shape[1]]
    in_range = whole.in_range[row0 : row0 + window.shape[0], col0 : col0 + window.shape[1]]
    assert in_range.sum() == whole.in_range.sum() > 1000  # the window holds the whole range
    np.testing.assert_array_equal(window[in_range], part[in_range].astype("uint8"))
