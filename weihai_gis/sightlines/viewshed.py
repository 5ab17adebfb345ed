"""Viewsheds on a DEM: a numpy port of GDAL's ``gdal_viewshed`` (Wang, Robinson & White 2000, Edge mode).

GDAL (``alg/viewshed``, MIT licence) scans rows outward from the observer and keeps, per cell, a
*reference height*: the height of the plane through the observer and the two already-processed neighbours
that bracket the ray to the cell. Heights are first made relative to the observer and lowered for earth
curvature and refraction,

    z' = z - cc * r**2 / (2 * a) - Zobs,

with ``r`` the distance between cell centres, ``a`` the semi-major axis of the DEM CRS ellipsoid and
``cc`` the curvature coefficient (0.85714 by default, i.e. refraction coefficient 1/7). For a cell at integer
offsets (x, y) from the observer cell, with k = max(|x|, |y|) >= 2 and the bracketing cells taken one step
toward the observer:

* |x| = k >= |y| = j (column type):  Z = (R[x-sx, y-sy] * j + R[x-sx, y] * (k - j)) / (k - 1)
* |y| = k >  |x| = i (row type):     Z = (R[x-sx, y-sy] * i + R[x, y-sy] * (k - i)) / (k - 1)

which reduces to GDAL's line rule on the axes and diagonals. A cell is visible iff ``z' + tz >= Z`` and its
reference height becomes ``R = max(z', Z)``. The observer cell and its eight neighbours are visible.

Because every cell depends only on cells of the previous square ring k - 1, the scan runs ring by ring, each
ring side a handful of vectorised numpy operations. The rules follow the current GDAL source
(``alg/viewshed/viewshed_executor.cpp``, GDAL >= 3.10). Older GDAL (before the fix of issue #10205, 2024;
e.g. Debian's 3.6.2, against which this port was checked cell for cell) compares the six cells in the rows just
above and below the observer with the observer's *ground* height instead of marking them visible; where
they lie lower (an observer on a summit) the raised reference propagates outward and can hide many cells.
``legacy_neighbours=True`` reproduces that behaviour to compare with an old ``gdal_viewshed``.

Nodata cells never occlude (their height is taken as far below the observer) and are reported not visible.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from weihai_gis.errors import DEMError
from weihai_gis.sightlines.dem import DEM

__all__ = [
    "DEFAULT_CURVATURE_COEFF",
    "ViewshedResult",
    "cumulative_viewshed",
    "relative_heights",
    "viewshed",
]

log = logging.getLogger(__name__)

DEFAULT_CURVATURE_COEFF = 0.85714
"""GDAL's default ``-cc``: curvature minus refraction with a refraction coefficient of 1/7."""

_NODATA_RELATIVE_M = -1.0e7
"""Relative height given to nodata cells so that they never occlude anything behind them."""


@dataclass(frozen=True)
class ViewshedResult:
    """Visibility from one observer on a DEM grid.

    Attributes
    ----------
    visible
        True where a target of the given height is visible (False on nodata and beyond the max distance).
    in_range
        False beyond ``max_distance_m`` and on nodata cells.
    observer_rowcol
        (row, col) of the observer cell.
    observer_z_m
        Eye height above the datum in metres (ground of the observer cell plus the observer height).
    min_target_height_m
        GDAL's GROUND output (computed on first access): the smallest height above ground at which a target
        would be visible (``nan`` on nodata and out of range).
    """

    visible: npt.NDArray[np.bool_]
    in_range: npt.NDArray[np.bool_]
    observer_rowcol: tuple[int, int]
    observer_z_m: float
    _reference_m: npt.NDArray[np.float64] = field(repr=False, compare=False)
    _relative_m: npt.NDArray[np.float64] = field(repr=False, compare=False)

    @cached_property
    def min_target_height_m(self) -> npt.NDArray[np.float64]:
        """GDAL's GROUND output: ``max(0, Z - z')`` = ``R - z'`` in range, ``nan`` elsewhere (metres)."""
        ground = np.subtract(self._reference_m, self._relative_m)
        np.copyto(ground, np.nan, where=~self.in_range)
        return ground


def _observer_cell(dem: DEM, observer_xy: tuple[float, float]) -> tuple[int, int]:
    row, col = dem.rowcol(*observer_xy)
    if not (0 <= row < dem.shape[0] and 0 <= col < dem.shape[1]):
        raise DEMError(
            f"DEM {dem.source}: observer ({observer_xy[0]:.2f}, {observer_xy[1]:.2f}) lies outside the DEM "
            f"(CRS {dem.crs.to_string()}); give coordinates in the DEM's CRS."
        )
    if not np.isfinite(dem.elevation[row, col]):
        raise DEMError(
            f"DEM {dem.source}: observer ({observer_xy[0]:.2f}, {observer_xy[1]:.2f}) is on a nodata cell."
        )
    return row, col


def _squared_distances(dem: DEM, observer_rowcol: tuple[int, int]) -> npt.NDArray[np.float64]:
    """Squared distances (m²) between the observer's cell centre and every cell centre, one new array."""
    r0, c0 = observer_rowcol
    a, b, _, d, e, _ = dem.coefficients
    iy = np.arange(dem.shape[0], dtype=np.float64) - r0
    ix = np.arange(dem.shape[1], dtype=np.float64) - c0
    if b == 0 and d == 0:  # north-up: r² = (a x)² + (e y)², one pass over the grid
        dx, dy = a * ix, e * iy
        return np.add.outer(dy * dy, dx * dx)
    dx = a * ix[None, :] + b * iy[:, None]
    dy = d * ix[None, :] + e * iy[:, None]
    return dx * dx + dy * dy


def _lower_in_place(
    r2: npt.NDArray[np.float64],
    dem: DEM,
    observer_z_m: float,
    curvature_coeff: float,
    valid: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float64]:
    """Turn ``r2`` into z' = z - cc r² / 2a - Zobs in place (nodata: far below the eye); return it.

    ``valid`` is ``dem.valid`` when the caller has it (z' is then finite exactly where the elevation is).
    """
    factor = -(curvature_coeff / (2.0 * dem.semi_major_m))
    z = np.multiply(r2, factor, out=r2)
    z += dem.elevation
    z -= observer_z_m
    if valid is None or not (math.isfinite(factor) and math.isfinite(observer_z_m)):
        valid = np.isfinite(z)
    np.copyto(z, _NODATA_RELATIVE_M, where=~valid)
    return z


def relative_heights(
    dem: DEM, observer_rowcol: tuple[int, int], observer_z_m: float, curvature_coeff: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return (z', r2): heights relative to the eye, lowered for curvature, and squared distances (m²).

    Parameters
    ----------
    dem
        Metric DEM.
    observer_rowcol
        (row, col) of the observer cell; distances are between cell centres as in GDAL.
    observer_z_m
        Eye height above the datum in metres.
    curvature_coeff
        GDAL's ``cc``; 0 disables the curvature correction.
    """
    r2 = _squared_distances(dem, observer_rowcol)
    return _lower_in_place(r2.copy(), dem, observer_z_m, curvature_coeff), r2


def _ring_side(
    prev: npt.NDArray[np.float64],
    o: int,
    lo: int,
    hi: int,
    w: npt.NDArray[np.float64],
    k: int,
    inv: float,
    ref_out: npt.NDArray[np.float64],
) -> None:
    """One side of ring k: offsets lo..hi along the side, ``prev`` the parallel line of ring k - 1.

    ``Z = (prev[o + t - sign(t)] * |t| + prev[o + t] * (k - |t|)) / (k - 1)``; writes ``max(R, Z)`` in place.
    """
    same = prev[o + lo : o + hi + 1]
    toward = np.concatenate((prev[o + lo + 1 : o + 1], prev[o : o + 1], prev[o : o + hi]))
    z = (toward * w + same * (k - w)) * inv
    np.maximum(ref_out, z, out=ref_out)


def _reference_heights(
    zrel: npt.NDArray[np.float64], r0: int, c0: int, *, legacy_neighbours: bool = False
) -> npt.NDArray[np.float64]:
    """Return ``R = max(z', Z)`` for every cell, Z being GDAL's reference-plane height.

    The observer and its eight neighbours have no plane (R = z'). A cell is visible iff ``z' + tz >= R`` (for
    ``tz >= 0``, exactly GDAL's ``z' + tz >= Z``), and ``R - z'`` is the height a target there needs to be seen.
    """
    nrows, ncols = zrel.shape
    ref = zrel.copy()  # R = max(z', Z), filled ring by ring
    if legacy_neighbours:  # GDAL <= 3.9: cells in the rows next to the observer compared with its ground
        cols = slice(max(c0 - 1, 0), c0 + 2)
        for r in (r0 - 1, r0 + 1):
            if 0 <= r < nrows:
                np.maximum(ref[r, cols], zrel[r0, c0], out=ref[r, cols])
    kmax = max(r0, nrows - 1 - r0, c0, ncols - 1 - c0)
    abs_y = np.abs(np.arange(-nrows, nrows + 1, dtype=np.float64))
    abs_x = np.abs(np.arange(-ncols, ncols + 1, dtype=np.float64))
    for k in range(2, kmax + 1):
        inv = 1.0 / (k - 1)
        ylo, yhi = max(-k, -r0), min(k, nrows - 1 - r0)
        wy = abs_y[nrows + ylo : nrows + yhi + 1]
        for sx in (1, -1):  # columns x = +k and x = -k, |y| <= k
            c = c0 + sx * k
            if 0 <= c < ncols:
                _ring_side(ref[:, c - sx], r0, ylo, yhi, wy, k, inv, ref[r0 + ylo : r0 + yhi + 1, c])
        xlo, xhi = max(-(k - 1), -c0), min(k - 1, ncols - 1 - c0)
        wx = abs_x[ncols + xlo : ncols + xhi + 1]
        for sy in (1, -1):  # rows y = +k and y = -k, |x| < k
            r = r0 + sy * k
            if 0 <= r < nrows:
                _ring_side(ref[r - sy], c0, xlo, xhi, wx, k, inv, ref[r, c0 + xlo : c0 + xhi + 1])
    return ref


def viewshed(
    dem: DEM,
    observer_xy: tuple[float, float],
    *,
    observer_height_m: float = 2.0,
    target_height_m: float = 0.0,
    curvature_coeff: float = DEFAULT_CURVATURE_COEFF,
    max_distance_m: float | None = None,
    legacy_neighbours: bool = False,
) -> ViewshedResult:
    """Compute the viewshed of one observer exactly as ``gdal_viewshed`` does (Edge cell mode).

    Parameters
    ----------
    dem
        DEM (or surface model with buildings burnt in) on a metric grid.
    observer_xy
        Observer position (x, y) in the DEM's CRS; the containing cell is used, like GDAL.
    observer_height_m
        Eye height above the ground of the observer cell, metres (GDAL ``-oz``).
    target_height_m
        Height above ground of the target at each cell, metres (GDAL ``-tz``); at least 0.
    curvature_coeff
        Earth-curvature coefficient (GDAL ``-cc``); 0 for a flat earth.
    max_distance_m
        Cells farther than this (centre to centre) are out of range; ``None`` for no limit.
    legacy_neighbours
        Reproduce GDAL before the fix of issue #10205 (e.g. 3.6.2): the six cells in the rows just above and below
        the observer are compared with the observer's ground height instead of being always visible, and
        that raised reference propagates outward. Only useful to compare with an old ``gdal_viewshed``.

    Returns
    -------
    ViewshedResult

    Raises
    ------
    DEMError
        If the observer lies outside the DEM or on nodata, the grid is not metric, or the target height is
        negative.
    """
    if not target_height_m >= 0:
        raise DEMError(
            f"DEM {dem.source}: target height {target_height_m} m is below ground; give a height >= 0 m."
        )
    dem.require_metric()
    r0, c0 = _observer_cell(dem, observer_xy)
    zobs = float(dem.elevation[r0, c0]) + observer_height_m
    buf = _squared_distances(dem, (r0, c0))
    valid = dem.valid
    in_range = valid.copy() if max_distance_m else valid
    if max_distance_m:
        in_range &= buf <= max_distance_m**2
    zrel = _lower_in_place(buf, dem, zobs, curvature_coeff, valid)
    ref = _reference_heights(zrel, r0, c0, legacy_neighbours=legacy_neighbours)
    visible = np.greater_equal(zrel + target_height_m if target_height_m else zrel, ref)
    visible &= in_range
    return ViewshedResult(visible, in_range, (r0, c0), zobs, ref, zrel)


def cumulative_viewshed(
    dem: DEM,
    observers_xy: Sequence[tuple[float, float]],
    *,
    observer_heights_m: float | Sequence[float] = 2.0,
    target_height_m: float = 0.0,
    curvature_coeff: float = DEFAULT_CURVATURE_COEFF,
    max_distance_m: float | None = None,
    quiet: bool = True,
) -> npt.NDArray[np.int32]:
    """Count, per cell, how many observers see it.

    Parameters
    ----------
    dem
        Metric DEM or surface model.
    observers_xy
        Observer positions (x, y) in the DEM's CRS.
    observer_heights_m
        One eye height above ground for all observers, or one per observer (metres).
    target_height_m, curvature_coeff, max_distance_m
        As in :func:`viewshed`.
    quiet
        Hide the progress bar.

    Returns
    -------
    numpy.ndarray
        int32 counts of shape ``dem.shape``.
    """
    from tqdm import (
        tqdm,
    )  # here: importing tqdm reads package metadata (~0.1 s of a single viewshed's start-up)

    heights = np.broadcast_to(np.asarray(observer_heights_m, dtype=float), (len(observers_xy),))
    count = np.zeros(dem.shape, dtype=np.int32)
    for xy, h in tqdm(list(zip(observers_xy, heights, strict=True)), disable=quiet, desc="viewsheds"):
        res = viewshed(
            dem,
            xy,
            observer_height_m=float(h),
            target_height_m=target_height_m,
            curvature_coeff=curvature_coeff,
            max_distance_m=max_distance_m,
        )
        count += res.visible
    return count
