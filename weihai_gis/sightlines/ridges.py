"""Protected ridgelines as grid masks: rasterised from a layer, or extracted from the DEM."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weihai_gis.errors import LayerError
from weihai_gis.sightlines.dem import DEM

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["extract_ridges", "rasterize_lines"]


def rasterize_lines(dem: DEM, lines: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
    """Return a mask of the cells touched by ``lines`` (any CRS; reprojected to the DEM's CRS)."""
    import rasterio.features

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
    from scipy import ndimage

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
