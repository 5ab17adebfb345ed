"""Height-control surfaces: the tallest building per cell that keeps ridgelines and the sea horizon in view.

For a viewpoint with eye height ``Zobs`` and a cell ``p`` at distance ``d`` and azimuth ``theta``, a building
stays below the protected silhouette when its top is under the sight line of elevation angle ``alpha``:

    H_max(p) = Zobs + d * tan(alpha(theta, d)) + cc * d**2 / (2 * a) - ground(p)

(the same curvature convention as :mod:`weihai_gis.sightlines.viewshed`). ``alpha`` comes from one horizon
scan per viewpoint (rays sampled every cell width, nearest-cell heights), never from repeated viewsheds:

* ridge: ``t_r`` = the skyline tangent up to the farthest ridge cell on the ray (the largest elevation
  tangent of any sample up to it, so a rounded crest hidden by its own front slope still counts), reached
  at the silhouette point at distance ``d_r``.
  To keep the top ``share`` of the ridge exposed, in front of the ridge the line is lowered to
  ``t_r - share * (t_r - t_f)`` where ``t_f`` is the tangent of the foreground: the highest elevation
  tangent up to the foot of the ridge, the foot being the lowest terrain point between viewpoint and ridge.
  Behind the ridge (``d >= d_r``) the limit is the silhouette line ``t_r`` itself.
* sea horizon: ``t_s`` = the largest elevation tangent among visible sea cells (the visible sea horizon);
  it applies to the whole ray.

The surface is the minimum over viewpoints (and over 通山达海 corridors, :func:`corridor_limits`), clipped
at 0 m; ``inf`` means no limit (nothing protected is visible along that direction).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import rasterio.features
from scipy import ndimage
from tqdm import tqdm

from weihai_gis.errors import DEMError, LayerError
from weihai_gis.sightlines.dem import DEM
from weihai_gis.sightlines.viewshed import DEFAULT_CURVATURE_COEFF

__all__ = ["corridor_limits", "extract_ridges", "height_surface", "rasterize_lines", "viewpoint_limit"]

log = logging.getLogger(__name__)

_CHUNK_SAMPLES = 4_000_000
"""Ray samples handled at once in the horizon scan (bounds memory to a few hundred MB)."""


def rasterize_lines(dem: DEM, lines: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
    """Return a mask of the cells touched by ``lines`` (any CRS; reprojected to the DEM's CRS)."""
    if lines.crs is None:
        raise LayerError("ridgelines: layer has no CRS.")
    geoms = [g for g in lines.to_crs(dem.crs).geometry if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(dem.shape, dtype=bool)
    return rasterio.features.rasterize(
        [(g, 1) for g in geoms], out_shape=dem.shape, transform=dem.transform, all_touched=True, dtype="uint8"
    ).astype(bool)


def extract_ridges(
    dem: DEM,
    *,
    min_prominence_m: float = 40.0,
    prominence_radius_m: float = 300.0,
    lag_cells: int = 2,
    min_directions: int = 2,
) -> npt.NDArray[np.bool_]:
    """Mark ridge cells: local maxima across the slope that stand out from their surroundings.

    A cell is a ridge cell when (1) along at least ``min_directions`` of the four profiles through it
    (W-E, N-S and both diagonals) it is higher than both cells ``lag_cells`` away (the profile test of
    Peucker & Douglas 1975: a maximum across the fall line), and (2) it rises at least ``min_prominence_m``
    above the lowest cell within ``prominence_radius_m``. Sea and nodata cells are never ridges.

    Parameters
    ----------
    dem
        Metric DEM.
    min_prominence_m
        Minimum height above the local minimum, metres.
    prominence_radius_m
        Radius of the neighbourhood for the local minimum, metres.
    lag_cells
        Distance in cells of the profile neighbours (2 suppresses one-cell noise).
    min_directions
        Number of profiles (1-4) on which the cell must be a maximum.

    Returns
    -------
    numpy.ndarray
        Boolean mask of ridge cells.
    """
    z = np.where(dem.valid, dem.elevation, np.nanmin(dem.elevation))
    pad = np.pad(z, lag_cells, mode="edge")
    n, m = z.shape
    count = np.zeros(z.shape, dtype=np.int8)
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        lr, lc = dr * lag_cells, dc * lag_cells
        ahead = pad[lag_cells + lr : lag_cells + lr + n, lag_cells + lc : lag_cells + lc + m]
        behind = pad[lag_cells - lr : lag_cells - lr + n, lag_cells - lc : lag_cells - lc + m]
        count += (z > ahead) & (z > behind)
    size = 2 * round(prominence_radius_m / dem.cell_size_m) + 1
    prominence = z - ndimage.minimum_filter(z, size=size, mode="nearest")
    return (count >= min_directions) & (prominence >= min_prominence_m) & dem.valid & ~dem.sea


def _sample_rays(
    dem: DEM, r0: int, c0: int, azimuths: npt.NDArray[np.float64], dist: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """Flat index of the cell under every ray sample; samples off the grid get index ``rows * cols``.

    A ray leaves the grid once and for all (the grid is convex and sample positions move monotonically
    outwards, also in float32), so the samples on the grid are a prefix of each ray; its length is found
    by bisection with the same float32 arithmetic instead of four comparisons per sample.
    """
    t = dem.transform
    n_rows, n_cols = dem.shape
    dist32 = dist.astype(np.float32)
    sc = (np.sin(azimuths) / t.a).astype(np.float32)
    sr = (np.cos(azimuths) / t.e).astype(np.float32)
    c0h, r0h = np.float32(c0 + 0.5), np.float32(r0 + 0.5)
    n_in = _samples_inside(sc, sr, c0h, r0h, dist32, n_rows, n_cols)
    index_type = np.int32 if n_rows * n_cols < 2**31 - 1 else np.intp
    flat: npt.NDArray[np.intp] = (np.multiply.outer(sr, dist32) + r0h).astype(index_type)
    flat *= n_cols
    flat += (np.multiply.outer(sc, dist32) + c0h).astype(index_type)
    flat[np.arange(len(dist32))[None, :] >= n_in[:, None]] = n_rows * n_cols
    return flat


def _samples_inside(
    sc: npt.NDArray[np.float32],
    sr: npt.NDArray[np.float32],
    c0h: np.float32,
    r0h: np.float32,
    dist32: npt.NDArray[np.float32],
    n_rows: int,
    n_cols: int,
) -> npt.NDArray[np.int64]:
    """Return how many leading samples of each ray fall on the grid (bisection per ray)."""
    lo = np.zeros(len(sc), dtype=np.int64)  # samples before lo are inside, from hi on outside
    hi = np.full(len(sc), len(dist32), dtype=np.int64)
    while (open_ := lo < hi).any():
        mid = (lo + hi) // 2
        d = dist32[np.minimum(mid, len(dist32) - 1)]
        colf = sc * d + c0h
        rowf = sr * d + r0h
        inside = (colf >= 0) & (colf < n_cols) & (rowf >= 0) & (rowf < n_rows)
        lo = np.where(open_ & inside, mid + 1, lo)
        hi = np.where(open_ & ~inside, mid, hi)
    return lo


_MAX_TABLE_CELLS = 40_000_000  # a 3160 x 3160 grid
"""Largest shared per-cell geometry table (float32 distance + float64 azimuth: 480 MB); larger grids compute it per viewpoint."""


@functools.lru_cache(maxsize=2)
def _offset_tables(
    n_rows: int, n_cols: int, a: float, e: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """Distance and azimuth (fraction of a turn, 0-1) of every cell offset (dr, dc) on a north-up grid.

    Shape (2 n_rows - 1, 2 n_cols - 1), centred on offset (0, 0): the per-cell geometry of any viewpoint on
    the grid is a view into these tables, computed once for all viewpoints.
    """
    dr = np.arange(-(n_rows - 1), n_rows, dtype=np.float64)[:, None] * e + 0.0  # y offsets; +0.0 not -0.0
    dc = np.arange(-(n_cols - 1), n_cols, dtype=np.float64)[None, :] * a
    dist = np.hypot(dc, dr).astype(np.float32)
    turn = np.mod(np.arctan2(dc, dr), 2 * np.pi) / (2 * np.pi)  # float64: ray choice as exact as before
    return dist, turn


def _cell_geometry(dem: DEM, r0: int, c0: int) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]:
    """Distance (CRS units) and azimuth (fraction of a turn) from the centre of cell (r0, c0) to every cell."""
    t = dem.transform
    n_rows, n_cols = dem.shape
    if t.b == 0 and t.d == 0 and (2 * n_rows - 1) * (2 * n_cols - 1) <= _MAX_TABLE_CELLS:
        dist, turn = _offset_tables(n_rows, n_cols, float(t.a), float(t.e))
        rows = slice(n_rows - 1 - r0, 2 * n_rows - 1 - r0)
        cols = slice(n_cols - 1 - c0, 2 * n_cols - 1 - c0)
        return dist[rows, cols], turn[rows, cols]
    xs, ys = dem.cell_centres()  # rotated grid: no shared table
    dx = xs - (t.c + (c0 + 0.5) * t.a)
    dy = ys - (t.f + (r0 + 0.5) * t.e)
    return np.hypot(dx, dy), np.mod(np.arctan2(dx, dy), 2 * np.pi) / (2 * np.pi)


def _ray_lengths(dem: DEM, r0: int, c0: int, azimuths: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Distance (CRS units) from the centre of cell (r0, c0) to the grid edge along each azimuth."""
    t = dem.transform
    x0, y0 = t.c + (c0 + 0.5) * t.a, t.f + (r0 + 0.5) * t.e
    left, right = t.c, t.c + dem.shape[1] * t.a
    top, bottom = t.f, t.f + dem.shape[0] * t.e
    dx, dy = np.sin(azimuths), np.cos(azimuths)
    with np.errstate(divide="ignore", invalid="ignore"):
        tx = np.where(dx > 1e-12, (right - x0) / dx, np.where(dx < -1e-12, (left - x0) / dx, np.inf))
        ty = np.where(dy > 1e-12, (top - y0) / dy, np.where(dy < -1e-12, (bottom - y0) / dy, np.inf))
    return np.minimum(tx, ty)


def _ray_limits(
    t: npt.NDArray[np.floating],
    z: npt.NDArray[np.floating],
    ridge: npt.NDArray[np.bool_],
    sea: npt.NDArray[np.bool_],
    share: float,
) -> tuple[npt.NDArray[np.floating], ...]:
    """Per ray: (ridge distance index, tangent in front, tangent behind, sea tangent); see module doc."""
    n_az, n_s = t.shape
    inf = np.full(n_az, np.inf, dtype=t.dtype)
    run_max = np.maximum.accumulate(t, axis=1)
    rows = np.arange(n_az)
    cols = np.arange(n_s)[None, :]
    has_ridge = ridge.any(axis=1)
    if has_ridge.any():
        k_last = (n_s - 1) - np.argmax(ridge[:, ::-1], axis=1)  # farthest ridge sample on the ray
        k_last[~has_ridge] = 0
        t_r = run_max[rows, k_last]
        # silhouette point: the first sample up to k_last holding its largest tangent, i.e. the first
        # sample where the running maximum reaches t_r (argmax of the prefix, one comparison per sample)
        k_r = np.argmax(run_max >= t_r[:, None], axis=1)
        z_front = np.where((cols < k_r[:, None]) & (z > -np.inf), z, np.inf)
        k_f = np.argmin(z_front, axis=1)
        t_f = np.where(k_r > 0, run_max[rows, k_f], t_r)
        with np.errstate(invalid="ignore"):
            t_front = np.where(has_ridge, t_r - share * (t_r - t_f), inf)
        t_back = np.where(has_ridge, t_r, inf)
        k_r = np.where(has_ridge, k_r, n_s)
    else:
        k_r, t_front, t_back = np.full(n_az, n_s), inf, inf
    if sea.any():
        visible = np.empty(t.shape, dtype=bool)  # not below the horizon of the samples in front
        visible[:, 0] = True
        np.greater_equal(t[:, 1:], run_max[:, :-1], out=visible[:, 1:])
        visible &= sea
        t_sea = np.where(visible, t, -np.inf).max(axis=1)
        t_sea = np.where(np.isfinite(t_sea), t_sea, inf)
    else:
        t_sea = inf
    return k_r, t_front, t_back, t_sea


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
) -> npt.NDArray[np.float64]:
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
        Protected ridge cells (see :func:`extract_ridges`, :func:`rasterize_lines`); ``None`` for none.
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
        float64 limits, may be negative before clipping (``nan`` on nodata cells).
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
    azimuths = np.arange(n_az, dtype=np.float64) * (2 * np.pi / n_az)
    ray_len = _ray_lengths(dem, r0, c0, azimuths)
    k_curv = curvature_coeff / (2.0 * dem.semi_major_m)
    # one extra element at the end stands for "off the grid"; the scan runs in float32 (tangents of
    # metre heights over metre distances: 7 significant digits are ample) to halve memory traffic
    elev = _flat_elevation(dem)
    # ridge (bit 0) and sea (bit 1) flags in one byte per cell: one gather per sample instead of two
    flags = np.zeros(dem.elevation.size + 1, dtype=np.uint8)
    if ridge_mask is not None:
        flags[:-1] |= ridge_mask.ravel().astype(np.uint8)
    if protect_sea_horizon:
        flags[:-1] |= dem.sea.ravel().astype(np.uint8) << 1
    k_r = np.empty(n_az, dtype=np.intp)
    t_front, t_back, t_sea = (np.empty(n_az, dtype=np.float32) for _ in range(3))
    zobs32, k_curv32 = np.float32(zobs), np.float32(k_curv)
    # rays in order of length, chunked so that a chunk's rays have about the same number of samples: a
    # chunk of azimuths in a row would pad short rays (towards a near edge) to its longest one
    order = np.argsort(ray_len, kind="stable")
    n_samples = np.maximum(1, np.ceil(ray_len[order] / cell)).astype(np.int64)
    a0 = 0
    while a0 < n_az:
        first = int(n_samples[a0])
        band = max(1.25 * first, first + 64.0)  # rays up to this long share the chunk
        a1 = int(np.searchsorted(n_samples, band, side="right"))
        a1 = max(a0 + 1, min(a1, a0 + int(_CHUNK_SAMPLES // band)))
        sl = order[a0:a1]
        n_s = int(n_samples[a1 - 1])
        a0 = a1
        dist = np.arange(1, n_s + 1, dtype=np.float32) * np.float32(cell)  # rays end at the edge
        flat = _sample_rays(dem, r0, c0, azimuths[sl], dist)  # type: ignore[arg-type]  # float32 distances
        z = elev[flat]  # -inf off the grid and on nodata
        t = z - (k_curv32 * dist * dist + zobs32)
        t *= np.float32(1.0) / dist
        f = flags[flat]
        ridge_s = (f & 1).view(np.bool_)
        sea_s = (f >> 1).view(np.bool_)
        k_r[sl], t_front[sl], t_back[sl], t_sea[sl] = _ray_limits(t, z, ridge_s, sea_s, ridge_exposed_share)
        del flat, z, t, f, ridge_s, sea_s
    d, turn = _cell_geometry(dem, r0, c0)
    # per ray, with ray 0 repeated at the end for cells whose azimuth rounds to a full turn
    ridge_d = np.append((k_r + 1).astype(np.float32) * np.float32(cell), np.float32(0))
    tan_in_front = np.minimum(t_front, t_sea)
    tan_behind = np.minimum(t_back, t_sea)
    ridge_d[-1] = ridge_d[0]
    tan_in_front, tan_behind = np.append(tan_in_front, tan_in_front[0]), np.append(tan_behind, tan_behind[0])
    az_idx = np.rint(turn * n_az).astype(np.int32 if n_az < 2**31 - 1 else np.intp)
    tan_lim = np.where(d < ridge_d[az_idx], tan_in_front[az_idx], tan_behind[az_idx])
    d64 = d.astype(np.float64)
    with np.errstate(invalid="ignore"):
        limit = zobs + d64 * tan_lim + k_curv * d64 * d64 - dem.elevation
    limit[r0, c0] = np.inf if not np.isfinite(tan_lim[r0, c0]) else observer_height_m
    return limit


def _flat_elevation(dem: DEM) -> npt.NDArray[np.float32]:
    """Elevations as float32 with nodata as -inf and one trailing -inf for samples off the grid (cached)."""
    cached = _FLAT_ELEVATION.get(id(dem))
    if cached is not None and cached[0] is dem:
        return cached[1]
    flat = np.append(
        np.where(dem.valid, dem.elevation, -np.inf).astype(np.float32).ravel(), np.float32(-np.inf)
    )
    _FLAT_ELEVATION.clear()  # one DEM at a time
    _FLAT_ELEVATION[id(dem)] = (dem, flat)
    return flat


_FLAT_ELEVATION: dict[int, tuple[DEM, npt.NDArray[np.float32]]] = {}


def corridor_limits(
    dem: DEM,
    corridors: gpd.GeoDataFrame,
    *,
    width_m: float | None = None,
    observer_height_m: float = 1.6,
    curvature_coeff: float = DEFAULT_CURVATURE_COEFF,
) -> npt.NDArray[np.float64]:
    """Height limits inside 通山达海 view corridors: under the sight line from the peak to the sea target.

    Each corridor is a line from a peak (first vertex) to a sea target (last vertex). Inside the corridor
    polygon (the line buffered by half its width) a building must stay below the straight sight line from
    the peak eye (ground + ``observer_height_m``) to the target (ground, at least sea level), evaluated at
    the cell's distance from the peak along the chord, with the curvature convention of the viewshed.

    Parameters
    ----------
    dem
        Metric DEM.
    corridors
        Lines in any CRS, with a ``width_m`` column unless ``width_m`` is given.
    width_m
        Corridor width in metres for every line (overrides the column).
    observer_height_m
        Eye height above the peak's ground, metres.
    curvature_coeff
        Earth curvature and refraction coefficient.

    Returns
    -------
    numpy.ndarray
        Limits in metres above ground inside corridors, ``inf`` elsewhere.
    """
    dem.require_metric()
    if corridors.crs is None:
        raise LayerError("view_corridors: layer has no CRS.")
    if width_m is None and "width_m" not in corridors.columns:
        raise LayerError("view_corridors: field 'width_m' missing and no width_m given.")
    lines = corridors.to_crs(dem.crs)
    xs, ys = dem.cell_centres()
    k_curv = curvature_coeff / (2.0 * dem.semi_major_m)
    out = np.full(dem.shape, np.inf)
    for idx, row in lines.iterrows():
        geom = row.geometry
        width = float(width_m if width_m is not None else row["width_m"])
        if geom is None or geom.is_empty or not width > 0:
            raise LayerError(f"view_corridors: row {idx} needs a line geometry and a width > 0 m.")
        coords = np.asarray(geom.coords if geom.geom_type == "LineString" else geom.geoms[0].coords)
        (xa, ya), (xb, yb) = coords[0][:2], coords[-1][:2]
        ra, ca = dem.rowcol(xa, ya)
        rb, cb = dem.rowcol(xb, yb)
        if not all(0 <= r < dem.shape[0] and 0 <= c < dem.shape[1] for r, c in ((ra, ca), (rb, cb))):
            raise LayerError(f"view_corridors: row {idx} has an end outside the DEM {dem.source}.")
        za = dem.elevation[ra, ca] + observer_height_m
        zb = max(np.nan_to_num(dem.elevation[rb, cb], nan=0.0), 0.0)
        length = float(np.hypot(xb - xa, yb - ya))
        tan = (zb - k_curv * length**2 - za) / length
        inside = rasterio.features.geometry_mask(
            [geom.buffer(width / 2.0)], out_shape=dem.shape, transform=dem.transform, invert=True
        )
        s = np.clip(((xs - xa) * (xb - xa) + (ys - ya) * (yb - ya)) / length, 0.0, length)
        limit = za + s * tan + k_curv * s * s - dem.elevation
        out = np.where(inside, np.fmin(out, limit), out)
    return out


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
        Viewpoints computed at once on threads (default: the CPU count, at most 4); the result does not
        depend on it.

    Returns
    -------
    numpy.ndarray
        Limits >= 0 m; ``inf`` where unconstrained; ``nan`` on nodata.
    """
    heights = np.broadcast_to(np.asarray(observer_heights_m, dtype=float), (len(viewpoints_xy),))
    surface = np.full(dem.shape, np.inf)

    def one(xy: tuple[float, float], h: float) -> npt.NDArray[np.float64]:
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
    n_workers = max(1, min(workers or os.cpu_count() or 1, 4, len(jobs)))
    bar = tqdm(total=len(jobs), disable=quiet, desc="viewpoints")
    if n_workers == 1:
        for xy, h in jobs:
            surface = np.fmin(surface, one(xy, h))
            bar.update()
    else:
        # numpy releases the GIL in the ray scan: viewpoints run side by side, results folded in order
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            for lim in pool.map(lambda job: one(*job), jobs):
                surface = np.fmin(surface, lim)
                bar.update()
    bar.close()
    if corridors is not None and len(corridors):
        surface = np.fmin(
            surface,
            corridor_limits(dem, corridors, width_m=corridor_width_m, curvature_coeff=curvature_coeff),
        )
    surface = np.maximum(surface, 0.0)
    surface[~dem.valid] = np.nan
    return surface
