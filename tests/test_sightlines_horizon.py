"""The horizon scan: open sea and the stretches past the last ridge are skipped, with the same limits.

Oracle: the same scan with every sample on every ray read (``ScanGrid.codes`` unset), which is the ray
sampling of the previous implementation (identical float32 tangents). The shortcut is exact by construction
(the sea tangent's closed form at one sea level; conservative coarse bounds of where land, ridges and nodata
may lie), so the limits must agree to float32 rounding, on synthetic coasts with islands, nodata holes and
a nodata rim, and on the real ASTER tile when ../shared/data is present.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

import weihai_gis.sightlines.surface as surface
from weihai_gis.sightlines import DEM, extract_ridges, read_dem, viewpoint_limit

CELL = 30.0
T = Affine(CELL, 0, 450000, 0, -CELL, 4100000)


def coast_dem(seed: int, n_rows: int = 90, n_cols: int = 130) -> DEM:
    """Hills to the west, sea at 0 m to the east with islands, a nodata rim and a nodata hole at sea."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices((n_rows, n_cols))
    z = 120 * np.exp(-(((cols - 25) / 18.0) ** 2)) * (1 + 0.3 * np.sin(rows / 7.0)) - 0.9 * (cols - 45)
    for _ in range(3):  # islands
        r, c = rng.integers(10, n_rows - 10), rng.integers(70, n_cols - 10)
        z = np.maximum(z, 60 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 20.0) - 1)
    z = np.where(z > 0, z + rng.uniform(0, 2, z.shape), 0.0)
    z[:3, :] = np.nan  # nodata rim (a reprojected tile's corner)
    z[:, -4:] = np.nan
    r, c = rng.integers(20, n_rows - 20), rng.integers(80, n_cols - 20)
    z[r : r + 4, c : c + 6] = np.nan  # a hole at sea
    return DEM(z, T, "EPSG:4550", sea=np.isfinite(z) & (z <= 0))


def every_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make viewpoint_limit read every sample of every ray (no coarse bounds)."""
    full = surface.scan_grid
    monkeypatch.setattr(
        surface, "scan_grid", lambda *a: dataclasses.replace(full(*a), codes=None, sea_level=None)
    )


def land_points(dem: DEM, rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    land = np.argwhere(dem.valid & ~dem.sea)
    return [dem.transform @ (c + 0.5, r + 0.5) for r, c in land[rng.choice(len(land), n, replace=False)]]


def limits(dem: DEM, points, ridges, share: float, sea: bool) -> list[np.ndarray]:
    kw = {"ridge_mask": ridges, "ridge_exposed_share": share, "protect_sea_horizon": sea}
    return [
        viewpoint_limit(dem, p, observer_height_m=h, **kw) for p, h in zip(points, (1.6, 30.0), strict=False)
    ]


def assert_same_limits(fast: list[np.ndarray], full: list[np.ndarray]) -> None:
    for a, b in zip(fast, full, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
        fin = np.isfinite(a)
        np.testing.assert_allclose(a[fin], b[fin], rtol=0, atol=1e-3)  # float32 heights of a few 100 m


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.sampled_from([0.0, 0.3]))
def test_skipping_open_sea_changes_no_limit(seed, share):
    check_against_full_scan(seed, share, sea=True)


@pytest.mark.parametrize("share", [0.0, 0.3])
def test_skipping_what_lies_beyond_the_farthest_ridge_changes_no_limit(share):
    check_against_full_scan(11, share, sea=False)


def check_against_full_scan(seed: int, share: float, sea: bool) -> None:
    dem = coast_dem(seed)
    ridges = extract_ridges(dem, min_prominence_m=20)
    points = land_points(dem, np.random.default_rng(seed), 2)
    fast = limits(dem, points, ridges, share, sea)
    with pytest.MonkeyPatch.context() as mp:
        every_sample(mp)
        full = limits(DEM(dem.elevation, T, "EPSG:4550", sea=dem.sea), points, ridges, share, sea)
    assert_same_limits(fast, full)
    if sea:  # the sea horizon limits cells beyond the coast: the shortcut had something to do
        assert np.isfinite(fast[1][dem.sea]).any()


def test_a_sea_at_several_levels_is_scanned_sample_by_sample(monkeypatch):
    dem = coast_dem(5)
    dem.elevation[dem.sea] = -np.random.default_rng(0).uniform(0, 3, int(dem.sea.sum()))  # bathymetry
    grid = surface._grid_tables(dem).scan_grid(None, True)
    assert grid.sea_level is None and grid.codes is None


def test_real_tile_limits_equal_the_full_scan(shared_dem, monkeypatch):
    dem = read_dem(shared_dem, bounds=(122.40, 36.86, 122.56, 36.98), bounds_crs="EPSG:4326", resolution_m=30)
    assert dem.sea.any() and (~dem.valid).any()  # open sea and a nodata rim, as in the benchmark
    ridges = extract_ridges(dem)
    points = land_points(dem, np.random.default_rng(1), 2)
    fast = limits(dem, points, ridges, 0.3, True)
    every_sample(monkeypatch)
    full = limits(DEM(dem.elevation, dem.transform, dem.crs, sea=dem.sea), points, ridges, 0.3, True)
    assert_same_limits(fast, full)
