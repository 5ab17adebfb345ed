"""Height-control surfaces: the tallest building per cell that keeps ridgelines and the sea horizon in view.

For a viewpoint with eye height ``Zobs`` and a cell ``p`` at distance ``d`` and azimuth ``theta``, a building
stays below the protected silhouette when its top is under the sight line of elevation angle ``alpha``:

    H_max(p) = Zobs + d * tan(alpha(theta, d)) + cc * d**2 / (2 * a) - ground(p)

(the same curvature convention as :mod:`weihai_gis.sightlines.viewshed`). ``alpha`` comes from one horizon
scan per viewpoint (:mod:`weihai_gis.sightlines.horizon`: rays sampled every cell width, nearest-cell heights,
about 3 samples per grid cell, fewer where open sea or the far side of the last ridge need no sampling), never
from repeated viewsheds:

* ridge: ``t_r`` = the skyline tangent up to the farthest ridge cell on the ray (the largest elevation
  tangent of any sample up to it, so a rounded crest hidden by its own front slope still counts), reached
  at the silhouette point at distance ``d_r``.
  To keep the top ``share`` of the ridge exposed, in front of the ridge the line is lowered to
  ``t_r - share * (t_r - t_f)`` where ``t_f`` is the tangent of the foreground: the highest elevation
  tangent up to the foot of the ridge, the foot being the lowest terrain point between viewpoint and ridge.
  Behind the ridge (``d >= d_r``) the limit is the silhouette line ``t_r`` itself.
* sea horizon: ``t_s`` = the largest elevation tangent among visible sea cells (the visible sea horizon);
  it applies to the whole ray.

Each cell takes the ray nearest its azimuth. The surface is the minimum over viewpoints (and over 通山达海
corridors, :func:`~weihai_gis.sightlines.corridors.corridor_limits`), clipped at 0 m; ``inf`` means no limit
(nothing protected is visible along that direction). Heights are float32 per viewpoint (0.1 mm at 1 km).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from weihai_gis.errors import DEMError
from weihai_gis.sightlines.corridors import corridor_limits
from weihai_gis.sightlines.dem import DEM
from weihai_gis.sightlines.horizon import ScanGrid, horizon_scan, scan_grid
from weihai_gis.sightlines.viewshed import DEFAULT_CURVATURE_COEFF

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["height_surface", "viewpoint_limit"]

_MAX_TABLE_CELLS = 40_000_000  # a 3160 x 3160 grid
"""Largest shared per-cell geometry table (float32 distance + float64 azimuth: 480 MB); larger grids compute it per viewpoint."""

_TABLES_LOCK = threading.RLock()
"""Serialises building the shared tables: viewpoints on a thread pool would otherwise each build them."""


@functools.lru_cache(maxsize=2)
def _offset_tables(
    n_rows: int, n_cols: int, a: float, e: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """Distance and azimuth (fraction of a turn, 0-1) of every cell offset (dr, dc) on a north-up grid.

    Shape (2 n_rows - 1, 2 n_cols - 1), centred on offset (0, 0): the per-cell geometry of any viewpoint on
    the grid is a view into these tables, computed once for all viewpoints.
    """
    dr = np.arange(-(n_rows - 1), n_rows, dtype=np.float64)[:, None] * e + 0.0  # y offsets; +0.0 not -0.0
    dc = np.arange(-(n_cols - 1), n_cols, dtype=np.float64)[None, :] * a + 0.0
    # the distance is symmetric in the offsets' signs (hypot takes absolute values): one quadrant, mirrored
    quadrant = np.hypot(dc[:, n_cols - 1 :], dr[n_rows - 1 :]).astype(np.float32)
    dist = np.empty((2 * n_rows - 1, 2 * n_cols - 1), dtype=np.float32)
    dist[n_rows - 1 :, n_cols - 1 :] = quadrant
    dist[n_rows - 1 :, : n_cols - 1] = quadrant[:, :0:-1]
    dist[: n_rows - 1] = dist[: n_rows - 1 : -1]
    # float64: ray choice as exact as before; np.mod(x, 2 pi) for x in (-pi, pi] is x + 2 pi where x < 0
    # (numpy's float mod adds the divisor to a negative fmod), done in place without mod's division
    turn = np.arctan2(dc, dr)
    np.add(turn, 2 * np.pi, out=turn, where=turn < 0)
    turn /= 2 * np.pi
    return dist, turn


def _cell_geometry(dem: DEM, r0: int, c0: int) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]:
    """Distance (CRS units) and azimuth (fraction of a turn) from the centre of cell (r0, c0) to every cell."""
    t = dem.transform
    n_rows, n_cols = dem.shape
    if t.b == 0 and t.d == 0 and (2 * n_rows - 1) * (2 * n_cols - 1) <= _MAX_TABLE_CELLS:
        with _TABLES_LOCK:  # lru_cache would let every thread of a pool compute the same tables
            dist, turn = _offset_tables(n_rows, n_cols, float(t.a), float(t.e))
        rows = slice(n_rows - 1 - r0, 2 * n_rows - 1 - r0)
        cols = slice(n_cols - 1 - c0, 2 * n_cols - 1 - c0)
        return dist[rows, cols], turn[rows, cols]
    xs, ys = dem.cell_centres()  # rotated grid: no shared table
    dx = xs - (t.c + (c0 + 0.5) * t.a)
    dy = ys - (t.f + (r0 + 0.5) * t.e)
    return np.hypot(dx, dy).astype(np.float32), np.mod(np.arctan2(dx, dy), 2 * np.pi) / (2 * np.pi)


def viewpoint_limit(
    dem: DEM,
    viewpoint_xy: tuple[float, float],
    *,
    observer_height_m: float = 1.6,
    ridge_mask: npt.NDArray[np.bool_] | None = None,
    protect_sea_horizon: bool = True,
    ridge_exposed_share: float = 0.0,
    curvature_coeff: float = DEFAULT_CURVATURE_COEFF,
    n_azimuths: int | None = None,
) -> npt.NDArray[np.float32]:
    """Height limit (metres above ground) per cell for one viewpoint; ``inf`` where nothing is protected.

    Parameters
    ----------
    dem
        Metric DEM (bare earth: existing buildings are not part of the protected view).
    viewpoint_xy
        Viewpoint (x, y) in the DEM's CRS.
    observer_height_m
        Eye height above the ground of the viewpoint cell, metres.
    ridge_mask
        Protected ridge cells (see :func:`~weihai_gis.sightlines.ridges.extract_ridges`,
        :func:`~weihai_gis.sightlines.ridges.rasterize_lines`); ``None`` for none.
    protect_sea_horizon
        Also keep the visible sea horizon (sea cells of ``dem.sea``) in view.
    ridge_exposed_share
        Share (0-1) of the ridge's visible height above its foreground that must stay exposed.
    curvature_coeff
        Earth curvature and refraction coefficient (GDAL convention).
    n_azimuths
        Number of rays; default one per cell of the perimeter at the farthest grid corner.

    Returns
    -------
    numpy.ndarray
        float32 limits (about 0.1 mm resolution at 1 km), may be negative before clipping (``nan`` on nodata).
    """
    dem.require_metric()
    if not 0.0 <= ridge_exposed_share <= 1.0:
        raise ValueError(f"ridge_exposed_share must be within 0-1, got {ridge_exposed_share}")
    r0, c0 = dem.rowcol(*viewpoint_xy)
    if not (0 <= r0 < dem.shape[0] and 0 <= c0 < dem.shape[1]) or not np.isfinite(dem.elevation[r0, c0]):
        raise DEMError(f"DEM {dem.source}: viewpoint {viewpoint_xy} lies outside the DEM or on nodata.")
    if ridge_mask is not None and ridge_mask.shape != dem.shape:
        raise DEMError(
            f"DEM {dem.source}: ridge mask shape {ridge_mask.shape} differs from the grid {dem.shape}."
        )
    zobs = float(dem.elevation[r0, c0]) + observer_height_m
    cell = dem.cell_size_m
    corners = np.array([[0, 0], [0, dem.shape[1]], [dem.shape[0], 0], [dem.shape[0], dem.shape[1]]])
    r_max = float(np.hypot(corners[:, 0] - r0 - 0.5, corners[:, 1] - c0 - 0.5).max()) * cell
    n_az = n_azimuths or int(np.ceil(2 * np.pi * r_max / cell))
    k_curv = curvature_coeff / (2.0 * dem.semi_major_m)
    tables = _grid_tables(dem)
    rays = horizon_scan(
        dem,
        r0,
        c0,
        zobs,
        tables.scan_grid(ridge_mask, protect_sea_horizon),
        share=ridge_exposed_share,
        k_curv=k_curv,
        n_az=n_az,
    )
    d, turn = _cell_geometry(dem, r0, c0)
    # each cell takes the ray nearest its azimuth; ray 0 is repeated at the end for cells whose azimuth
    # rounds to a full turn
    az = np.multiply(turn, n_az)
    np.rint(az, out=az)
    az_idx = az.astype(np.intp)  # numpy gathers with intp indices as they are (int32 ones are converted)
    del az

    def per_cell(per_ray: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        # take(mode="clip"): a gather without the bounds check of fancy indexing (az_idx is within range)
        return np.take(np.append(per_ray, per_ray[0]), az_idx, mode="clip")

    tan_lim = per_cell(rays.tan_behind)
    if not np.array_equal(rays.tan_front, rays.tan_behind):  # a ridge share: lower in front of the ridge
        front = d < per_cell(rays.ridge_d)
        np.copyto(tan_lim, per_cell(rays.tan_front), where=front)
    # limit = zobs + d * (tan + k d) - ground, in float32 (heights to 0.1 mm)
    limit = np.float32(k_curv) * d
    limit += tan_lim
    with np.errstate(invalid="ignore"):
        limit *= d
    limit -= tables.ground
    limit += np.float32(zobs)
    limit[r0, c0] = np.inf if not np.isfinite(tan_lim[r0, c0]) else observer_height_m
    return limit


class _GridTables:
    """Per-DEM tables shared by every viewpoint of a run (built once, cached for the last DEM)."""

    def __init__(self, dem: DEM) -> None:
        self.dem = dem
        ground = dem.elevation.astype(np.float32)
        self.ground = ground  # nan on nodata
        self.flat = np.append(np.where(dem.valid, ground, -np.inf).ravel(), np.float32(-np.inf))
        """Heights with nodata as -inf and one trailing -inf for samples off the grid."""
        sea_z = ground[dem.sea]
        self.sea_level = float(sea_z[0]) if len(sea_z) and bool((sea_z == sea_z[0]).all()) else None
        """The elevation of every sea cell when they share one (the scan then skips open sea), else None."""
        self._scan: tuple[npt.NDArray[np.bool_] | None, bool, ScanGrid] | None = None

    def scan_grid(self, ridge_mask: npt.NDArray[np.bool_] | None, protect_sea: bool) -> ScanGrid:
        """Return the scan tables for this ridge mask and sea choice (the last ones are kept)."""
        with _TABLES_LOCK:
            return self._scan_grid(ridge_mask, protect_sea)

    def _scan_grid(self, ridge_mask: npt.NDArray[np.bool_] | None, protect_sea: bool) -> ScanGrid:
        if self._scan is not None:
            ridge, sea, grid = self._scan
            same_ridge = (ridge is None and ridge_mask is None) or (
                ridge is not None and ridge_mask is not None and np.array_equal(ridge, ridge_mask)
            )
            if same_ridge and sea == protect_sea:
                return grid
        sea_mask = self.dem.sea if protect_sea else None
        grid = scan_grid(self.flat, self.dem.shape, ridge_mask, sea_mask, self.sea_level)
        self._scan = (None if ridge_mask is None else ridge_mask.copy(), protect_sea, grid)
        return grid


def _grid_tables(dem: DEM) -> _GridTables:
    """Return the per-DEM tables of ``dem``, built on first use (by one thread: the others wait)."""
    with _TABLES_LOCK:
        cached = _TABLES.get(id(dem))
        if cached is not None and cached[0] is dem:
            return cached[1]
        tables = _GridTables(dem)
        _TABLES.clear()  # one DEM at a time
        _TABLES[id(dem)] = (dem, tables)
        return tables


_TABLES: dict[int, tuple[DEM, _GridTables]] = {}


def height_surface(
    dem: DEM,
    viewpoints_xy: Sequence[tuple[float, float]],
    *,
    observer_heights_m: float | Sequence[float] = 1.6,
    ridge_mask: npt.NDArray[np.bool_] | None = None,
    protect_sea_horizon: bool = True,
    ridge_exposed_share: float = 0.0,
    corridors: gpd.GeoDataFrame | None = None,
    corridor_width_m: float | None = None,
    curvature_coeff: float = DEFAULT_CURVATURE_COEFF,
    n_azimuths: int | None = None,
    quiet: bool = True,
    workers: int | None = None,
) -> npt.NDArray[np.float64]:
    """Height-control surface: per cell, the tallest building (m above ground) allowed by every viewpoint.

    Parameters
    ----------
    dem
        Metric bare-earth DEM.
    viewpoints_xy
        Viewpoints (x, y) in the DEM's CRS.
    observer_heights_m
        Eye height(s) above ground, one for all or one per viewpoint, metres.
    ridge_mask, protect_sea_horizon, ridge_exposed_share, curvature_coeff, n_azimuths
        See :func:`viewpoint_limit`.
    corridors
        Optional 通山达海 corridors (see :func:`corridor_limits`).
    corridor_width_m
        Width of every corridor in metres (default: the corridors' ``width_m`` column).
    quiet
        Hide the progress bar.
    workers
        Viewpoints computed at once on threads, at most 4 (default 1). Threads cut wall time on an idle
        machine but add CPU (20-30 % more on the 1509 x 1514 bench grid with 2 or 4 threads on 2 cores:
        the scan is bound by memory traffic the cores share), so they are opt-in; the result does not
        depend on them.

    Returns
    -------
    numpy.ndarray
        Limits >= 0 m; ``inf`` where unconstrained; ``nan`` on nodata.
    """
    heights = np.broadcast_to(np.asarray(observer_heights_m, dtype=float), (len(viewpoints_xy),))
    surface = np.full(dem.shape, np.inf, dtype=np.float32)

    def one(xy: tuple[float, float], h: float) -> npt.NDArray[np.float32]:
        return viewpoint_limit(
            dem,
            xy,
            observer_height_m=float(h),
            ridge_mask=ridge_mask,
            protect_sea_horizon=protect_sea_horizon,
            ridge_exposed_share=ridge_exposed_share,
            curvature_coeff=curvature_coeff,
            n_azimuths=n_azimuths,
        )

    jobs = list(zip(viewpoints_xy, heights, strict=True))
    n_workers = max(1, min(workers or 1, 4, len(jobs)))
    bar = tqdm(total=len(jobs), disable=quiet, desc="viewpoints")
    if n_workers == 1:
        for xy, h in jobs:
            np.fmin(surface, one(xy, h), out=surface)
            bar.update()
    else:
        # numpy releases the GIL in the ray scan: viewpoints run side by side, results folded in order
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            for lim in pool.map(lambda job: one(*job), jobs):
                np.fmin(surface, lim, out=surface)
                bar.update()
    bar.close()
    if corridors is not None and len(corridors):
        surface = np.fmin(
            surface,
            corridor_limits(dem, corridors, width_m=corridor_width_m, curvature_coeff=curvature_coeff),
        )
    out = np.maximum(surface, 0.0, dtype=np.float64)
    out[~dem.valid] = np.nan
    return out
