"""The DEM grid object: elevations, transform, a CRS read lazily, the sea mask and the source name.

A :class:`DEM` holds a float64 elevation array (``nan`` where there is no data), its affine transform, its
CRS, a boolean sea mask and the name of the file(s) it came from, so every later error can name the file.
Files are read and written by :mod:`weihai_gis.sightlines.dem`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weihai_gis import geotransform
from weihai_gis.crs import ANALYSIS_CRS
from weihai_gis.errors import DEMError

if TYPE_CHECKING:  # pyproj loads when a CRS object is used, affine when the transform is
    from affine import Affine
    from pyproj import CRS

__all__ = ["DEM"]

_DEGREE_SIZED_PIXEL = 1e-3
"""A projected pixel smaller than this many metres is almost surely a degree value labelled as metres."""

_WKT1_SPHEROID = re.compile(r'SPHEROID\["[^"]*",\s*([-+0-9.eE]+)')
"""Semi-major axis in a WKT1 CRS (always metres in WKT1), as rasterio's ``CRS.to_wkt()`` writes it."""


class _LazyCRS:
    """The descriptor behind :attr:`DEM.crs`: a :class:`pyproj.CRS`, built on first read.

    A CRS object that knows whether it is geographic and has a WKT (rasterio's CRS of the file read by
    :func:`read_dem`, or a pyproj CRS) is kept as given; anything else (``"EPSG:4550"``, an EPSG code) is
    parsed by pyproj at once, so a bad CRS still fails when the DEM is built. The viewshed reads the CRS's
    name, kind and ellipsoid without pyproj (about 0.1 s of start-up the ``viewshed`` command never needs).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._given = f"_{name}_given"
        self._parsed = f"_{name}_pyproj"

    def __get__(self, obj: Any, objtype: type | None = None) -> CRS:
        if obj is None:  # class access: the dataclass field has no default
            raise AttributeError("DEM.crs has no default")
        parsed = obj.__dict__.get(self._parsed)
        if parsed is None:
            from pyproj import CRS

            parsed = obj.__dict__[self._parsed] = CRS.from_user_input(obj.__dict__[self._given])
        return parsed

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self._parsed] = None
        if not (hasattr(value, "is_geographic") and hasattr(value, "to_wkt")):
            from pyproj import CRS

            value = obj.__dict__[self._parsed] = CRS.from_user_input(value)
        obj.__dict__[self._given] = value


class _LazyTransform:
    """The descriptor behind :attr:`DEM.transform`: an :class:`affine.Affine`, built on first read.

    An ``Affine`` is kept as given; six coefficients ``(a, b, c, d, e, f)`` (what the numpy GeoTIFF reader
    gives) become one when the transform is first read. :attr:`DEM.coefficients` has them either way, and
    the viewshed works from them (``affine`` and ``attrs`` take ~20 ms to import).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._coefficients = f"_{name}_coefficients"
        self._built = f"_{name}_affine"

    def __get__(self, obj: Any, objtype: type | None = None) -> Affine:
        if obj is None:  # class access: the dataclass field has no default
            raise AttributeError("DEM.transform has no default")
        built = obj.__dict__.get(self._built)
        if built is None:
            built = obj.__dict__[self._built] = geotransform.to_affine(obj.__dict__[self._coefficients])
        return built

    def __set__(self, obj: Any, value: Any) -> None:
        affine = sys.modules.get("affine")
        obj.__dict__[self._built] = value if affine is not None and isinstance(value, affine.Affine) else None
        obj.__dict__[self._coefficients] = geotransform.coefficients(value)


@dataclass
class DEM:
    """A digital elevation model on a north-up grid in a metric CRS.

    Attributes
    ----------
    elevation
        Heights in metres, float64, shape (rows, cols); ``nan`` where the source had no data.
    transform
        Affine transform from (col, row) to CRS coordinates of the cell corner (an :class:`affine.Affine`;
        given as one or as its six coefficients).
    crs
        The grid's CRS (metres unless :meth:`require_metric` was skipped on purpose).
    sea
        True where the cell is sea (see :func:`read_dem`).
    source
        File name(s) the grid came from, used in error messages.
    """

    elevation: npt.NDArray[np.float64]
    transform: _LazyTransform = _LazyTransform()
    crs: _LazyCRS = _LazyCRS()
    sea: npt.NDArray[np.bool_] = field(default=None)  # type: ignore[arg-type]
    source: str = "<array>"

    def __post_init__(self) -> None:
        self.elevation = np.asarray(self.elevation, dtype=np.float64)
        if self.sea is None:
            self.sea = np.zeros(self.elevation.shape, dtype=bool)

    @property
    def _crs_light(self) -> Any:
        """The CRS as given (rasterio's or pyproj's): its kind, name and WKT without importing pyproj."""
        return self.__dict__["_crs_given"]

    @property
    def coefficients(self) -> geotransform.Coefficients:
        """The transform's six coefficients ``(a, b, c, d, e, f)`` (no ``affine`` import)."""
        return self.__dict__["_transform_coefficients"]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        return self.elevation.shape

    @property
    def cell_size_m(self) -> float:
        """Width of a cell in CRS units (metres for a metric grid)."""
        return float(abs(self.coefficients[0]))

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """True where the elevation is known."""
        return np.isfinite(self.elevation)

    @property
    def semi_major_m(self) -> float:
        """Semi-major axis of the CRS ellipsoid in metres (used for earth curvature, as GDAL does)."""
        if self.__dict__.get("_crs_pyproj") is None:
            if (axis := getattr(self._crs_light, "semi_major_m", None)) is not None:
                return float(axis)  # a GeoTIFF's EPSG code looked up in proj.db
            if m := _WKT1_SPHEROID.search(self._crs_light.to_wkt()):
                return float(m[1])
        return float(self.crs.ellipsoid.semi_major_metre) if self.crs.ellipsoid else 6378137.0

    def rowcol(self, x: float, y: float) -> tuple[int, int]:
        """Return the (row, col) of the cell containing CRS point (x, y), truncating like GDAL."""
        col, row = geotransform.apply(geotransform.invert(self.coefficients), x, y)  # ~transform @ (x, y)
        return int(np.floor(row)), int(np.floor(col))

    def cell_centres(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return the x and y coordinates of every cell centre, each of shape (rows, cols)."""
        rows, cols = np.indices(self.shape, dtype=np.float64)
        a, b, c, d, e, f = self.coefficients
        xs = c + (cols + 0.5) * a + (rows + 0.5) * b
        ys = f + (cols + 0.5) * d + (rows + 0.5) * e
        return xs, ys

    def require_metric(self) -> DEM:
        """Check that cell sizes and distances are in metres; return self.

        Raises
        ------
        DEMError
            If the CRS is geographic (degrees) or a projected CRS has degree-sized pixels or coordinates.
        """
        crs = self._crs_light
        if crs.is_geographic:
            raise DEMError(
                f"DEM {self.source}: CRS {crs.to_string()} is geographic (degrees) but the analysis needs "
                f"metres; read it with read_dem(..., crs={ANALYSIS_CRS!r}) or reproject it "
                f"(gdalwarp -t_srs {ANALYSIS_CRS})."
            )
        left, bottom = geotransform.apply(self.coefficients, 0, self.shape[0])
        right, top = geotransform.apply(self.coefficients, self.shape[1], 0)
        looks_degrees = max(abs(left), abs(right)) <= 180 and max(abs(top), abs(bottom)) <= 90
        if self.cell_size_m < _DEGREE_SIZED_PIXEL or (looks_degrees and self.cell_size_m < 0.01):
            raise DEMError(
                f"DEM {self.source}: CRS {crs.to_string()} says metres but the pixel size is "
                f"{self.cell_size_m:g} and the bounds ({left:g}, {bottom:g}, {right:g}, {top:g}) look like "
                "longitude/latitude degrees; assign the right geographic CRS (gdal_edit -a_srs EPSG:4326) "
                "and reproject."
            )
        if abs(self.coefficients[1]) > 1e-9 or abs(self.coefficients[3]) > 1e-9:
            raise DEMError(f"DEM {self.source}: rotated grids are not supported; warp it north-up first.")
        return self
