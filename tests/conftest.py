"""Shared test configuration: paths to the repository, the embedded data and the read-only reference data.

Reference data (the real ASTER DEM tile, the 山大哈工大 OSM download) lives outside the repository, in
``../shared/data`` by default:

- ``WEIHAI_SHARED_DATA=DIR`` points at another copy;
- ``WEIHAI_DEM=FILE`` names the DEM tile directly (``notebooks/03_sightlines.ipynb`` reads the same variable);
- ``WEIHAI_GIS_HIDE_SHARED=1`` hides all of it, so the suite sees what a fresh clone sees (``.ci/run`` runs the
  suite a second time that way). Tests that need it skip; the notebook falls back to synthetic terrain.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WEIHAI_SHARED_DATA", REPO.parent / "shared" / "data"))
HIDE_SHARED = os.environ.get("WEIHAI_GIS_HIDE_SHARED", "") not in ("", "0")
DEM_TILE = Path(os.environ.get("WEIHAI_DEM", SHARED_DATA / "dem" / "ASTGTMV003_N36E122_dem.tif"))


_CACHE_TMP = tempfile.mkdtemp(prefix="weihai_gis-test-cache-")
# built networks are cached by default in the user cache folder: never the real home during tests
# (set at import so that CLI subprocesses inherit it too)
os.environ["WEIHAI_GIS_CACHE_DIR"] = _CACHE_TMP


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's network cache folder."""
    shutil.rmtree(_CACHE_TMP, ignore_errors=True)


def shared_path(path: Path) -> Path:
    """Return ``path`` (reference data outside the repository) or skip the test when hidden or absent."""
    if HIDE_SHARED:
        pytest.skip(f"reference data hidden (WEIHAI_GIS_HIDE_SHARED=1): {path}")
    if not path.exists():
        pytest.skip(f"reference data not present at {path}")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def shared_dem() -> Path:
    """The real ASTER GDEM tile (``$WEIHAI_DEM`` or ../shared/data/dem; skips when hidden or absent)."""
    return shared_path(DEM_TILE)


@pytest.fixture(scope="session")
def shared_hitwh_osm() -> Path:
    """The 山大哈工大 OSM download from ../shared/data/osm (skips when hidden or absent)."""
    return shared_path(SHARED_DATA / "osm" / "weihai-hitwh.osm")
