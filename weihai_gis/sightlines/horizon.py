"""Horizon scan of one viewpoint: rays to the grid edge, sampled every cell width, reduced to four numbers each.

Rays are spaced one cell apart at the farthest grid corner and each runs to the grid edge, so a scan takes
about 3 samples per grid cell whatever the viewpoint (2.9-3.3 on the 1509 x 1514 bench grid): the work is
O(cells) per viewpoint, like a ring sweep (XDraw, R2), but every sample lies on the exact line of sight
(nearest cell), so nothing is interpolated between neighbouring lines. See
:mod:`weihai_gis.sightlines.surface` for what the numbers per ray mean.

Not every sample needs reading. Past a ray's last land or ridge cell it crosses only sea and nodata; when the
sea cells share one level the sea tangent ``(z0 - zobs - k d**2) / d`` is a known function of distance that
rises to the sea's horizon distance and falls after it, so the largest visible one there is found from a
handful of candidates, and only the stretches that may hold nodata are sampled. Without sea to protect a ray
ends at its last ridge cell. Where those cells lie along each ray is bounded from a 16 x 16-cell coarse grid
(dilated by a block, so the bound is conservative); the limits equal those of the full scan
(tests/test_sightlines_horizon.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from weihai_gis.sightlines.dem import DEM

__all__ = ["RayLimits", "horizon_scan", "ray_lengths", "sample_rays", "samples_on_grid"]

_CHUNK_SAMPLES = 1_000_000
"""Ray samples handled at once in the horizon scan (about 30 MB of temporaries)."""

RIDGE_FLAG, SEA_FLAG = np.uint8(1), np.uint8(2)
"""Bits of the per-cell flag table gathered once per sample."""


@dataclass(frozen=True)
class RayLimits:
    """Per ray of one viewpoint (``n`` rays at azimuths ``2 pi i / n`` clockwise from north).

    Attributes
    ----------
    ridge_d
        Distance (CRS units) of the ridge's silhouette point (past the ray's end where it meets no ridge or
        the ridge share is 0; the two tangents are then equal).
    tan_front
        Tangent of the limiting sight line in front of the silhouette (ridge share and sea horizon).
    tan_behind
        Tangent of the limiting sight line from the silhouette on (``inf``: no limit).
    """

    ridge_d: npt.NDArray[np.float32]
    tan_front: npt.NDArray[np.float32]
    tan_behind: npt.NDArray[np.float32]


def ray_lengths(dem: DEM, r0: int, c0: int, azimuths: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
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


def sample_rays(
    dem: DEM,
    r0: int,
    c0: int,
    azimuths: npt.NDArray[np.float64],
    dist: npt.NDArray[np.float32],
    count: npt.NDArray[np.int64],
) -> npt.NDArray[np.intp]:
    """Flat index of the cell under every ray sample, shape (samples, rays); ``rows * cols`` past ``count``.

    ``dist`` gives the sample distances (CRS units), one row per sample: shape (samples,) for rays that all
    start at the first sample, or (samples, rays); ``count`` the number of samples to keep per ray (the
    rest, up to the longest ray of the chunk, get the off-grid index).
    """
    t = dem.transform
    n_rows, n_cols = dem.shape
    sc = (np.sin(azimuths) / t.a).astype(np.float32)
    sr = (np.cos(azimuths) / t.e).astype(np.float32)
    d2 = dist[:, None] if dist.ndim == 1 else dist
    pos = d2 * sr
    pos += np.float32(r0 + 0.5)
    # intp, not int32: numpy gathers with an intp index without converting it first (2x faster)
    flat: npt.NDArray[np.intp] = pos.astype(np.intp)
    flat *= n_cols
    np.multiply(d2, sc, out=pos)
    pos += np.float32(c0 + 0.5)
    flat += pos.astype(np.intp)
    first = int(count.min()) if len(count) else 0  # every ray keeps its samples before the shortest's end
    tail = np.arange(first, len(d2), dtype=np.int64)[:, None] >= count[None, :]
    np.putmask(flat[first:], tail, n_rows * n_cols)
    return flat


def samples_on_grid(
    dem: DEM, r0: int, c0: int, azimuths: npt.NDArray[np.float64], dist: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """Return how many leading samples (at distances ``dist``) of each ray fall on the grid.

    A ray leaves the grid once and for all (the grid is convex and sample positions move monotonically
    outwards, also in float32), so the samples on the grid are a prefix of each ray; its length is found
    by bisection with the float32 arithmetic of :func:`sample_rays` instead of four comparisons per sample.
    """
    t = dem.transform
    n_rows, n_cols = dem.shape
    sc = (np.sin(azimuths) / t.a).astype(np.float32)
    sr = (np.cos(azimuths) / t.e).astype(np.float32)
    c0h, r0h = np.float32(c0 + 0.5), np.float32(r0 + 0.5)
    lo = np.zeros(len(sc), dtype=np.int64)  # samples before lo are inside, from hi on outside
    hi = np.full(len(sc), len(dist), dtype=np.int64)
    while (open_ := lo < hi).any():
        mid = (lo + hi) // 2
        d = dist[np.minimum(mid, len(dist) - 1)]
        colf = sc * d + c0h
        rowf = sr * d + r0h
        inside = (colf >= 0) & (colf < n_cols) & (rowf >= 0) & (rowf < n_rows)
        lo = np.where(open_ & inside, mid + 1, lo)
        hi = np.where(open_ & ~inside, mid, hi)
    return lo


def _running_max(t: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``np.maximum.accumulate(t, axis=0)``, one vectorised maximum per sample row (2-3x faster)."""
    out = np.empty_like(t)
    out[0] = t[0]
    for i in range(1, len(t)):
        np.maximum(out[i - 1], t[i], out=out[i])
    return out


def _running_min(z: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``np.minimum.accumulate(z, axis=0)`` row by row, as :func:`_running_max`."""
    out = np.empty_like(z)
    out[0] = z[0]
    for i in range(1, len(z)):
        np.minimum(out[i - 1], z[i], out=out[i])
    return out


def _ray_limits(
    t: npt.NDArray[np.float32],
    z: npt.NDArray[np.float32],
    flags: npt.NDArray[np.uint8],
    share: float,
    has_nodata: bool,
) -> tuple[npt.NDArray[np.floating], ...]:
    """Per ray: (silhouette index, tangent in front, tangent behind, sea tangent, horizon); see surface doc.

    ``t`` holds the elevation tangents of the samples, shape (samples, rays), ``-inf`` off the grid and on
    nodata; ``z`` their heights, ``flags`` their ridge and sea bits. The sea tangent is ``-inf`` where no
    sea sample is visible; the horizon is the largest tangent of all samples.
    """
    n_s, n_az = t.shape
    inf = np.full(n_az, np.inf, dtype=t.dtype)
    run_max = _running_max(t)
    rays = np.arange(n_az)
    hits = np.flatnonzero((flags & RIDGE_FLAG).view(np.bool_))  # ridge samples are few
    if len(hits):
        k_last = np.full(n_az, -1, dtype=np.intp)
        np.maximum.at(k_last, hits % n_az, hits // n_az)  # the farthest ridge sample of each ray
        has_ridge = k_last >= 0
        t_r = run_max[np.maximum(k_last, 0), rays]
        # silhouette point: the first sample holding the skyline tangent t_r; the running maximum never
        # falls, so it is the number of samples below t_r (all before the farthest ridge sample). Only a
        # ridge share lowers the line in front of it: without one, no ray needs it (past the ray's end)
        if share > 0:
            k_r = np.count_nonzero(run_max[: int(k_last.max()) + 1] < t_r, axis=0)
        else:
            k_r = np.full(n_az, n_s)
        if share > 0 and k_r.max() > 0:
            # foot: the first lowest valid sample in front of the silhouette, i.e. the number of samples
            # whose running minimum is still above the running minimum just before k_r (nodata: +inf)
            front = z[: int(k_r.max())]
            z_foot = np.where(front > -np.inf, front, np.inf) if has_nodata else front
            run_min = _running_min(z_foot)
            z_low = run_min[np.maximum(k_r - 1, 0), rays]
            k_f = np.count_nonzero(run_min > z_low, axis=0)
            t_f = np.where(k_r > 0, run_max[np.minimum(k_f, len(run_min) - 1), rays], t_r)
            with np.errstate(invalid="ignore"):
                t_front = np.where(has_ridge, t_r - np.float32(share) * (t_r - t_f), inf)
        else:
            t_front = np.where(has_ridge, t_r, inf)
        t_back = np.where(has_ridge, t_r, inf)
        k_r = np.where(has_ridge, k_r, n_s)
    else:
        k_r, t_front, t_back = np.full(n_az, n_s), inf, inf
    sea = flags >= SEA_FLAG
    if sea.any():
        # a sample is visible when it is not below the horizon of those in front: its tangent is the
        # running maximum; the sea horizon is the largest tangent of a visible sea sample
        sea &= t == run_max
        t_sea = np.where(sea, t, -np.inf).max(axis=0)
    else:
        t_sea = -inf
    return k_r, t_front, t_back, t_sea, run_max[-1]


_BLOCK = 16
"""Block size (cells) of the coarse grid on which each ray's extent of land, ridge and nodata is bounded."""

_PAD = 3
"""Blocks of padding around the coarse grid (the dilation reaches one of them; the rest stay zero)."""

_RAY_GROUP = 4
"""The coarse bounds are read along every 4th ray and serve the rays nearest it (2 ray spacings at most)."""


def _coarse_codes(scan_mask: npt.NDArray[np.bool_], nodata: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Per block of ``_BLOCK`` x ``_BLOCK`` cells, dilated by one block and padded by one block of zeros.

    Bit 0: the block or a neighbour holds a cell of ``scan_mask``; bit 1: of ``nodata``. Padding: ``_PAD`` blocks.
    """
    b = _BLOCK
    n_rows, n_cols = scan_mask.shape
    nb_r, nb_c = -(-n_rows // b), -(-n_cols // b)
    code = np.zeros((nb_r * b, nb_c * b), dtype=np.uint8)
    code[:n_rows, :n_cols] = scan_mask.view(np.uint8) | (nodata.view(np.uint8) << 1)
    blocks = np.bitwise_or.reduce(code.reshape(nb_r, b, nb_c, b), axis=(1, 3))
    out = np.zeros((nb_r + 2 * _PAD, nb_c + 2 * _PAD), dtype=np.uint8)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            out[_PAD + dr : _PAD + dr + nb_r, _PAD + dc : _PAD + dc + nb_c] |= blocks
    return out


def _ray_extents(
    dem: DEM,
    r0: int,
    c0: int,
    azimuths: npt.NDArray[np.float64],
    n_on_grid: npt.NDArray[np.int64],
    codes: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per ray (P, Q): samples from P on hold no ``scan_mask`` cell, samples in [P, Q) no nodata cell either.

    Bounds from the coarse codes of :func:`_coarse_codes`, read along every ``_RAY_GROUP``-th ray at one
    sample per block: a fine sample lies within half a block along the ray and two ray spacings (at most
    2 cells: rays are at most 1 cell apart on the grid) across it from the nearest coarse sample of its
    group's ray, so its cell is in the 3 x 3 blocks around that coarse sample's block, which the dilated
    code covers (also just outside the grid: the padding is dilated into and read, never wrapped).
    """
    b, g = _BLOCK, _RAY_GROUP
    t = dem.transform
    n_az = len(azimuths)
    group = (np.rint(np.arange(n_az) / g).astype(np.int64) * g) % n_az  # each ray's coarse ray
    coarse = np.arange(0, n_az, g)
    reach = np.zeros(n_az, dtype=np.int64)
    np.maximum.at(reach, group, n_on_grid)  # the longest ray of each group
    reach = reach[coarse]
    n_j = int(-(-int(reach.max()) // b)) + 2
    # coarse samples past a group's longest ray repeat its last one; off-grid ones read zero padding
    j = np.minimum(np.arange(n_j, dtype=np.int32)[:, None], (-(-reach // b) + 1).astype(np.int32))
    step = np.float32(dem.cell_size_m)  # coarse sample j lies j * b cells out, i.e. j blocks
    ys = (np.cos(azimuths[coarse]) / t.e).astype(np.float32) * step
    xs = (np.sin(azimuths[coarse]) / t.a).astype(np.float32) * step
    jf = j.astype(np.float32)
    rows = (jf * ys + np.float32((r0 + 0.5) / b + _PAD)).astype(np.int32)
    idx = (jf * xs + np.float32((c0 + 0.5) / b + _PAD)).astype(np.int32)
    np.clip(rows, 0, codes.shape[0] - 1, out=rows)
    np.clip(idx, 0, codes.shape[1] - 1, out=idx)
    rows *= np.int32(codes.shape[1])
    idx += rows
    code = codes.ravel()[idx]
    last_scan = np.where(code & 1, j, -1).max(axis=0)
    p_coarse = (last_scan.astype(np.int64) + 1) * b
    # fine sample s (distance s + 1 cells) is nearest to coarse sample round((s + 1) / b)
    j_start = ((p_coarse + 1) // b).astype(np.int32)
    first_nodata = np.where((code & 2).astype(bool) & (j >= j_start), j, np.int32(n_j + 1)).min(axis=0)
    q_coarse = first_nodata.astype(np.int64) * b - b // 2 - 1
    where = group // g
    p = np.minimum(n_on_grid, p_coarse[where])
    q = np.clip(q_coarse[where], p, n_on_grid)
    return p, q


def _sea_tail(
    dem: DEM,
    r0: int,
    c0: int,
    azimuths: npt.NDArray[np.float64],
    p: npt.NDArray[np.int64],
    q: npt.NDArray[np.int64],
    n_on_grid: npt.NDArray[np.int64],
    flags: npt.NDArray[np.uint8],
    tangent: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Largest tangent of a sea sample beyond each ray's prefix: ``tangent[s]`` is that of sample s at sea level.

    Samples from P on are sea or nodata. In [P, Q) they are all sea, and the sea tangent
    ``(z0 - zobs - k d**2) / d`` rises to its peak at the sea's horizon distance and falls after it, so its
    largest value there is at the sample nearest the peak (or an end); [Q, n) is sampled for its sea cells.
    """
    n = len(tangent)
    best = np.full(len(azimuths), -np.inf, dtype=np.float32)
    has = q > p
    if has.any():
        peak = int(np.argmax(tangent))
        for cand in (p, q - 1, np.full_like(p, peak)):
            k = np.clip(cand, p, np.maximum(q - 1, p))
            best = np.where(has, np.maximum(best, tangent[np.minimum(k, n - 1)]), best)
    rest = np.flatnonzero(n_on_grid > q)
    if len(rest):
        cell = np.float32(dem.cell_size_m)
        order = rest[np.argsort(n_on_grid[rest] - q[rest], kind="stable")]
        for a0, a1 in _chunks(n_on_grid[order] - q[order]):
            sl = np.sort(order[a0:a1])
            count = n_on_grid[sl] - q[sl]
            idx = np.arange(int(count.max()), dtype=np.int64)[:, None] + q[sl][None, :]  # sample number
            flat = sample_rays(dem, r0, c0, azimuths[sl], (idx + 1).astype(np.float32) * cell, count)
            t = np.where(
                np.take(flags, flat, mode="clip") >= SEA_FLAG, tangent[np.minimum(idx, n - 1)], -np.inf
            )
            best[sl] = np.maximum(best[sl], t.max(axis=0))
    return best


def _chunks(n_samples: npt.NDArray[np.int64]) -> Iterator[tuple[int, int]]:
    """Split rays sorted by sample count into chunks of about the same count and ``_CHUNK_SAMPLES`` at most.

    A chunk of azimuths in a row would pad short rays (towards a near edge) to its longest one.
    """
    a0 = 0
    while a0 < len(n_samples):
        first = int(n_samples[a0])
        band = max(1.25 * first, first + 64.0)  # rays up to this long share the chunk
        a1 = int(np.searchsorted(n_samples, band, side="right"))
        a1 = max(a0 + 1, min(a1, a0 + int(_CHUNK_SAMPLES // band)))
        yield a0, a1
        a0 = a1


@dataclass(frozen=True)
class ScanGrid:
    """What the scan of every viewpoint on one DEM reads (built once per DEM, ridge mask and sea choice).

    Attributes
    ----------
    elevation
        Flat float32 heights with nodata as ``-inf`` and one trailing ``-inf`` for samples off the grid.
    flags
        Flat per-cell :data:`RIDGE_FLAG` / :data:`SEA_FLAG` bits, one trailing 0.
    codes
        Coarse codes (:func:`_coarse_codes`) of the cells a ray must scan and of nodata; ``None`` when every
        sample is scanned (sea cells at different levels).
    sea_level
        The one elevation of the sea cells when the sea is kept in view and its open stretches are not scanned.
    has_nodata
        Whether any cell is nodata.
    """

    elevation: npt.NDArray[np.float32]
    flags: npt.NDArray[np.uint8]
    codes: npt.NDArray[np.uint8] | None
    sea_level: float | None
    has_nodata: bool


def scan_grid(
    elevation: npt.NDArray[np.float32],
    shape: tuple[int, int],
    ridge: npt.NDArray[np.bool_] | None,
    sea: npt.NDArray[np.bool_] | None,
    sea_level: float | None,
) -> ScanGrid:
    """Build the :class:`ScanGrid` from the flat elevation table, the ridge mask and the sea to keep in view.

    ``sea_level`` is the elevation shared by every sea cell (``None`` if they differ). Beyond a ray's last
    land or ridge sample it sees only sea at that level and nodata, so its sea horizon there has a closed
    form (:func:`_sea_tail`) and those samples are not scanned; without sea, nothing beyond its last ridge
    sample matters.
    """
    flags = np.zeros(elevation.size, dtype=np.uint8)  # ridge and sea bits: one gather per sample
    if ridge is not None:
        flags[:-1] |= ridge.ravel().astype(np.uint8, copy=False) & RIDGE_FLAG
    nodata = np.isneginf(elevation[:-1])
    ridge_cells = (flags[:-1] & RIDGE_FLAG).view(np.bool_)
    codes: npt.NDArray[np.uint8] | None
    if sea is not None and sea.any():
        flags[:-1] |= sea.ravel().astype(np.bool_).view(np.uint8) * SEA_FLAG
        if sea_level is None:
            codes = None
        else:
            scan = ridge_cells | ~((flags[:-1] >= SEA_FLAG) | nodata)
            codes = _coarse_codes(scan.reshape(shape), nodata.reshape(shape))
    else:
        sea_level = None
        codes = _coarse_codes(ridge_cells.reshape(shape), nodata.reshape(shape))
    return ScanGrid(elevation, flags, codes, sea_level, bool(nodata.any()))


def horizon_scan(
    dem: DEM,
    r0: int,
    c0: int,
    zobs: float,
    grid: ScanGrid,
    *,
    share: float,
    k_curv: float,
    n_az: int,
) -> RayLimits:
    """Scan ``n_az`` rays from the centre of cell (r0, c0) at eye height ``zobs`` (metres above datum).

    Parameters
    ----------
    dem
        Metric DEM (grid geometry).
    grid
        Heights, flags and coarse codes of the grid (:func:`scan_grid`).
    share
        Share (0-1) of the ridge's height above its foreground kept exposed.
    k_curv
        Curvature term: ``cc / (2 a)``.
    n_az
        Number of rays.
    """
    cell = dem.cell_size_m
    azimuths = np.arange(n_az, dtype=np.float64) * (2 * np.pi / n_az)
    n_max = max(1, int(np.ceil(ray_lengths(dem, r0, c0, azimuths).max() / cell)))
    dist = np.arange(1, n_max + 1, dtype=np.float32) * np.float32(cell)
    zobs32, k_curv32 = np.float32(zobs), np.float32(k_curv)
    c_dist = k_curv32 * dist * dist + zobs32  # t = (z - c_dist) / d
    inv_dist = np.float32(1.0) / dist
    n_on_grid = samples_on_grid(dem, r0, c0, azimuths, dist)
    elevation, flags = grid.elevation, grid.flags
    t_tail = np.full(n_az, -np.inf, dtype=np.float32)
    if grid.codes is None:
        p = n_on_grid
    else:
        p, q = _ray_extents(dem, r0, c0, azimuths, n_on_grid, grid.codes)
        if grid.sea_level is not None:
            tail_tangent = (np.float32(grid.sea_level) - c_dist) * inv_dist
            t_tail = _sea_tail(dem, r0, c0, azimuths, p, q, n_on_grid, flags, tail_tangent)
    k_r = np.full(n_az, n_max, dtype=np.intp)
    t_front, t_back = np.full(n_az, np.inf, dtype=np.float32), np.full(n_az, np.inf, dtype=np.float32)
    t_sea, horizon = (np.full(n_az, -np.inf, dtype=np.float32) for _ in range(2))
    scanned = np.flatnonzero(p > 0)
    order = scanned[np.argsort(p[scanned], kind="stable")]
    for a0, a1 in _chunks(p[order]):
        sl = np.sort(order[a0:a1])  # neighbouring azimuths side by side: a sample row is an arc of cells
        n_s = int(p[sl].max())
        flat = sample_rays(dem, r0, c0, azimuths[sl], dist[:n_s], p[sl])
        # take(mode="clip") is a gather without the bounds check of fancy indexing (indices are valid)
        z = np.take(elevation, flat, mode="clip")  # -inf off the grid and on nodata
        t = z - c_dist[:n_s, None]
        t *= inv_dist[:n_s, None]
        k_r[sl], t_front[sl], t_back[sl], t_sea[sl], horizon[sl] = _ray_limits(
            t, z, np.take(flags, flat, mode="clip"), share, grid.has_nodata
        )
        del flat, z, t
    t_sea = np.where(t_tail >= horizon, np.maximum(t_sea, t_tail), t_sea)  # the tail's peak is visible
    t_sea = np.where(np.isfinite(t_sea), t_sea, np.float32(np.inf))
    ridge_d = (k_r + 1).astype(np.float32) * np.float32(cell)
    return RayLimits(ridge_d, np.minimum(t_front, t_sea), np.minimum(t_back, t_sea))
