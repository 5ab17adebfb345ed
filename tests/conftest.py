"""Shared test configuration: paths to the repository, the embedded data and the read-only reference data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WEIHAI_SHARED_DATA", REPO.parent / "shared" / "data"))


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
