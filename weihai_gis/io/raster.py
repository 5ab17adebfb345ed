"""Elevation at points: bilinear samples of a DEM in any CRS, reprojecting the points and never the raster.

A walking network is in a metric CRS (e.g. EPSG:4550) while DEM tiles usually come in EPSG:4326 (ASTER,
SRTM). Warping the raster would resample it once more; instead the sample points are transformed into the
DEM's CRS (pyproj) and interpolated there between the four surrounding cell centres. Only the window
covering the points is read (rasterio windowed read), so a 1° tile costs what the study area needs.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.transform
import rasterio.windows
from affine import Affine
from pyproj import CRS, Geod, Transformer

from weihai_gis.errors import DEMError
from weihai_gis.files import require_input_file
from weihai_gis.sightlines.dem import DEM

__all__ = ["DEMReader", "ElevationSamples", "bilinear_cells", "cell_coords", "sample_elevation"]

log = logging.getLogger(__name__)

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class ElevationSamples:
    """Elevations at points and what the DEM was.

    Attributes
    ----------
    z_m
        Elevation in metres per point (bilinear), NaN outside the DEM or next to a nodata cell.
    cell_size_m
        Ground size in metres of the smaller side of a DEM cell (at the points' centre for a geographic DEM).
    source
        File name of the DEM (no folder), for messages and metadata.
    """

    z_m: npt.NDArray[np.float64]
    cell_size_m: float
    source: str


def _cell_size_m(transform: Affine, crs: CRS, lon: float, lat: float) -> float:
    """Ground size (metres) of the smaller side of a cell; geographic cells measured on the ellipsoid."""
    if not crs.is_geographic:
        return float(min(abs(transform.a), abs(transform.e)))
    _, _, east = _GEOD.inv(lon, lat, lon + abs(transform.a), lat)
    _, _, north = _GEOD.inv(lon, lat, lon, lat + abs(transform.e))
    return float(min(east, north))


def _pixel(
    transform: Affine, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Column and row (fractional, cell corners at integers) of points, as ``~transform @ (x, y)`` gives them.

    A north-up transform (no rotation terms) skips the products with zero: ``x * a + y * 0 + c`` equals
    ``x * a + c`` for every finite ``y`` (a non-finite ``y`` gives a non-finite row either way).
    """
    inv = ~transform
    if inv.b == 0.0 and inv.d == 0.0:
        return x * inv.a + inv.c, y * inv.e + inv.f
    col, row = inv @ (x, y)
    return np.asarray(col, dtype=float), np.asarray(row, dtype=float)


def cell_coords(
    transform: Affine, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Column and row of points counted from the first cell's centre (what :func:`bilinear_cells` takes).

    The pixel coordinates of ``~transform`` minus one half. Both are affine in ``(x, y)``, so a point placed by
    linear interpolation between two points has the interpolated cell coordinates.
    """
    col, row = _pixel(transform, x, y)
    return col - 0.5, row - 0.5


def bilinear_cells(
    grid: npt.NDArray[np.float64], col: npt.NDArray[np.float64], row: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Bilinear interpolation at cell coordinates (:func:`cell_coords`); NaN outside the centres' hull or next to nodata.

    A point within half a cell of the outer edge takes the edge cells (clamped), as GDAL does. When every
    point lies strictly inside the centres' hull (the usual case: the window is read with a margin) the
    clamps and the mask are skipped; they change nothing there, so the values are the same bit for bit.
    """
    rows, cols = grid.shape
    n = len(col)
    everywhere = n > 0 and rows > 1 and cols > 1
    if everywhere:  # min/max are NaN when any coordinate is, and NaN fails every comparison
        everywhere = bool(
            col.min() >= 0.0 and col.max() < cols - 1 and row.min() >= 0.0 and row.max() < rows - 1
        )
    if everywhere:
        return _bilinear_inside(grid, col, row)
    inside = (col >= -0.5) & (row >= -0.5) & (col <= cols - 0.5) & (row <= rows - 0.5)
    if not inside.any():
        return np.full(n, np.nan)
    everywhere = bool(inside.all())
    c = np.clip(col if everywhere else col[inside], 0.0, cols - 1.0)
    r = np.clip(row if everywhere else row[inside], 0.0, rows - 1.0)
    c0 = np.minimum(np.floor(c).astype(np.int64), max(cols - 2, 0))
    r0 = np.minimum(np.floor(r).astype(np.int64), max(rows - 2, 0))
    fc, fr = c - c0, r - r0
    # the next column and row: c0 + 1 and r0 + 1, or the same cell on a grid one cell wide or high
    dc, dr = int(cols > 1), cols * int(rows > 1)
    flat = grid.ravel()
    at = r0 * cols
    at += c0
    gc = 1 - fc
    top = flat[at] * gc + flat[at + dc] * fc
    at += dr
    bottom = flat[at] * gc + flat[at + dc] * fc
    z = top * (1 - fr) + bottom * fr
    if everywhere:
        return z
    out = np.full(n, np.nan)
    out[inside] = z
    return out


def _bilinear_inside(
    grid: npt.NDArray[np.float64], col: npt.NDArray[np.float64], row: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """:func:`bilinear_cells` of points strictly inside the centres' hull of a grid at least 2 x 2, same bits.

    No clamp is needed there; the floor comes as a float (exact), the flat index as one float product cast
    once (exact below 2**53), and the four corners as gathers at that one index from views shifted by one
    column and one row.
    """
    cols = grid.shape[1]
    c0, r0 = np.floor(col), np.floor(row)
    fc, fr = col - c0, row - r0
    r0 *= cols
    r0 += c0
    at = r0.astype(np.intp)
    flat = grid.ravel()
    gc = 1 - fc
    top = flat.take(at) * gc
    top += flat[1:].take(at) * fc
    bottom = flat[cols:].take(at) * gc
    bottom += flat[cols + 1 :].take(at) * fc
    top *= 1 - fr
    bottom *= fr
    top += bottom
    return top


def _bilinear(
    grid: npt.NDArray[np.float64], transform: Affine, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Bilinear interpolation between cell centres at points in the grid's CRS (:func:`bilinear_cells`)."""
    return bilinear_cells(grid, *cell_coords(transform, x, y))


class DEMReader:
    """A DEM opened once and sampled bilinearly at points given in any CRS (a context manager).

    :func:`sample_elevation` opens, samples and closes in one call; a caller sampling in steps (the
    cell size first, to place the points, then the points) keeps one reader open, so the file is opened
    and its window read once.

    Parameters
    ----------
    dem
        A GeoTIFF (any CRS; only the window around the sampled points is read) or a
        :class:`~weihai_gis.sightlines.DEM`.

    Raises
    ------
    DEMError
        The file cannot be read or has no CRS.
    """

    def __init__(self, dem: str | os.PathLike[str] | DEM) -> None:
        self._src: Any = None
        if isinstance(dem, DEM):
            self._grid: npt.NDArray[np.float64] | None = dem.elevation
            self.transform: Affine = dem.transform
            self.crs: CRS = CRS.from_user_input(dem.crs)
            self.source = Path(dem.source).name
            return
        path = require_input_file(dem, what="DEM")
        self.source = path.name
        try:
            src = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise DEMError(f"DEM {self.source}: cannot be read as a raster ({exc}).") from exc
        if src.crs is None:
            src.close()
            raise DEMError(f"DEM {self.source}: has no CRS; assign one first (gdal_edit -a_srs EPSG:...).")
        self._src = src
        self._grid = None
        self.transform = src.transform
        self.crs = CRS.from_user_input(src.crs)

    def __enter__(self) -> DEMReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (nothing for an in-memory DEM)."""
        if self._src is not None:
            self._src.close()
            self._src = None

    def to_dem_crs(
        self, x: npt.ArrayLike, y: npt.ArrayLike, crs: str | CRS
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return the points (x, y) given in ``crs`` in the DEM's CRS."""
        return _to_crs(np.asarray(x, dtype=float), np.asarray(y, dtype=float), crs, self.crs)

    def cell_size_m(self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]) -> float:
        """Ground size in metres of the smaller side of a cell at the centre of points in the DEM's CRS."""
        lon, lat = _centre_lonlat(px, py, self.crs)
        return _cell_size_m(self.transform, self.crs, lon, lat)

    def window(
        self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], Affine]:
        """Return the elevation grid around points in the DEM's CRS and its transform (a file: only that window read).

        The window covers the points' cells with a margin of two cells (NaN on nodata cells); an in-memory
        DEM gives its whole grid.

        Raises
        ------
        DEMError
            (A file.) No point could be transformed, or the points' window misses the DEM.
        """
        if self._src is None:
            if self._grid is None:
                raise DEMError(f"DEM {self.source}: the file is closed.")
            return self._grid, self.transform
        src = self._src
        ok = np.isfinite(px) & np.isfinite(py)
        if not ok.any():
            raise DEMError(f"DEM {self.source}: no sample point could be transformed into its CRS.")
        # the pixel bounds of the points: for a north-up transform the column (row) is monotonic in x (y),
        # so the extremes come from the extreme coordinates
        fx, fy = (px, py) if bool(ok.all()) else (px[ok], py[ok])
        inv = ~src.transform
        if inv.b == 0.0 and inv.d == 0.0:
            fx = np.array([fx.min(), fx.max()])
            fy = np.array([fy.min(), fy.max()])
        col, row = _pixel(src.transform, fx, fy)
        r0 = max(int(np.floor(np.min(row))) - 2, 0)
        r1 = min(int(np.ceil(np.max(row))) + 3, src.height)
        c0 = max(int(np.floor(np.min(col))) - 2, 0)
        c1 = min(int(np.ceil(np.max(col))) + 3, src.width)
        if r1 <= r0 or c1 <= c0:
            raise DEMError(self.outside_message(px, py))
        window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        data = src.read(1, window=window, masked=True)
        return np.ma.filled(data.astype(np.float64), np.nan), src.window_transform(window)

    def outside_message(self, px: npt.ArrayLike, py: npt.ArrayLike) -> str:
        """Return the error text for points (in the DEM's CRS) that miss the DEM: both extents."""
        if self._src is not None:
            bounds = tuple(self._src.bounds)
        else:  # an in-memory DEM: its grid's extent (west, south, east, north)
            assert self._grid is not None
            bounds = rasterio.transform.array_bounds(*self._grid.shape, self.transform)
        return _outside_message(self.source, bounds, self.crs, px, py)

    def z_m(self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Return the bilinear elevation at points in the DEM's CRS (a file: only their window is read).

        Raises
        ------
        DEMError
            (A file.) No point could be transformed, or none falls on the DEM.
        """
        grid, transform = self.window(px, py)
        z = _bilinear(grid, transform, px, py)
        if self._src is not None and not np.isfinite(z).any():
            raise DEMError(self.outside_message(px, py))
        return z

    def sample(self, x: npt.ArrayLike, y: npt.ArrayLike, crs: str | CRS) -> ElevationSamples:
        """Return the elevation at points (x, y) given in ``crs`` (see :func:`sample_elevation`)."""
        px, py = self.to_dem_crs(x, y, crs)
        z = self.z_m(px, py)
        return ElevationSamples(z, self.cell_size_m(px, py), self.source)


def sample_elevation(
    dem: str | os.PathLike[str] | DEM,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    crs: str | CRS,
) -> ElevationSamples:
    """Return the DEM's elevation at points (x, y) given in ``crs``, by bilinear interpolation.

    Parameters
    ----------
    dem
        A GeoTIFF (any CRS; only the window around the points is read) or a :class:`~weihai_gis.sightlines.DEM`.
    x, y
        Point coordinates in ``crs``.
    crs
        CRS of the points (e.g. the walking network's metric CRS).

    Returns
    -------
    ElevationSamples
        Elevations (NaN where the DEM has no value) and the DEM's cell size in ground metres.

    Raises
    ------
    DEMError
        The file cannot be read or has no CRS, or no point falls on the DEM (the message gives both extents).
    """
    with DEMReader(dem) as reader:
        return reader.sample(x, y, crs)


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer | None:
    """One pyproj transformer per CRS pair (building one takes a third of a second); None when equal."""
    src_crs, dst_crs = CRS.from_user_input(src), CRS.from_user_input(dst)
    return None if src_crs == dst_crs else Transformer.from_crs(src_crs, dst_crs, always_xy=True)


def _to_crs(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], src: str | CRS, dst: CRS
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    transformer = _transformer(CRS.from_user_input(src).to_wkt(), CRS.from_user_input(dst).to_wkt())
    if transformer is None:
        return x, y
    px, py = transformer.transform(x, y)
    return np.asarray(px, dtype=float), np.asarray(py, dtype=float)


def _centre_lonlat(px: npt.NDArray[np.float64], py: npt.NDArray[np.float64], crs: CRS) -> tuple[float, float]:
    ok = np.isfinite(px) & np.isfinite(py)
    cx, cy = (float(np.mean(px[ok])), float(np.mean(py[ok]))) if ok.any() else (0.0, 0.0)
    if crs.is_geographic:
        return cx, cy
    lons, lats = _to_crs(np.array([cx]), np.array([cy]), crs, CRS.from_epsg(4326))
    lon, lat = float(lons[0]), float(lats[0])
    return (float(lon), float(lat)) if math.isfinite(lon) and math.isfinite(lat) else (0.0, 0.0)


def _outside_message(source: str, bounds: tuple[float, ...], crs: CRS, px: Any, py: Any) -> str:
    return (
        f"DEM {source}: the walking network lies outside it (DEM bounds {tuple(round(b, 4) for b in bounds)} in "
        f"{crs.to_string()}; network points span x {np.nanmin(px):.4f}–{np.nanmax(px):.4f}, "
        f"y {np.nanmin(py):.4f}–{np.nanmax(py):.4f} there). Give a DEM covering the network "
        "(e.g. the ASTER GDEM tile of its 1° cell)."
    )
