"""Shared test configuration: paths to the repository, the embedded data and the read-only reference data."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WEIHAI_SHARED_DATA", REPO.parent / "shared" / "data"))
HIDE_SHARED = os.environ.get("WEIHAI_GIS_HIDE_SHARED") == "1"


_CACHE_TMP = tempfile.mkdtemp(prefix="weihai_gis-test-cache-")
# built networks are cached by default in the user cache folder: never the real home during tests
# (set at import so that CLI subprocesses inherit it too)
os.environ["WEIHAI_GIS_CACHE_DIR"] = _CACHE_TMP


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's network cache folder."""
    shutil.rmtree(_CACHE_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def shared_dem() -> Path:
    """The real ASTER GDEM tile from ../shared/data/dem (skips when absent)."""
    path = SHARED_DATA / "dem" / "ASTGTMV003_N36E122_dem.tif"
    if not path.exists():
        pytest.skip(f"reference DEM not present at {path}")
    return path


@pytest.fixture(scope="session")
def shared_hitwh_osm() -> Path:
    """The 山大哈工大 OSM download from ../shared/data/osm (skips when absent or hidden)."""
    path = SHARED_DATA / "osm" / "weihai-hitwh.osm"
    if HIDE_SHARED or not path.exists():
        pytest.skip(f"shared OSM extract not present at {path} (or WEIHAI_GIS_HIDE_SHARED=1)")
    return path
