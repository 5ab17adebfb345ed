"""通山达海 view corridors: height limits under the sight line from a peak to its sea target."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weihai_gis.errors import LayerError
from weihai_gis.sightlines.dem import DEM
from weihai_gis.sightlines.viewshed import DEFAULT_CURVATURE_COEFF

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["corridor_limits"]


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
    import rasterio.features

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
