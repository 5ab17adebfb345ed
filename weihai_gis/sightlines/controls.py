"""The 三线 height-control surface from planning layers, with the planner parameters of ``controls.yaml``.

:func:`~weihai_gis.sightlines.surface.height_surface` takes arrays and numbers; this module takes what a
planner has — viewpoint, ridgeline and corridor layers — fills every unset parameter from the versioned
``standards/controls.yaml`` (eye height, ridge share, corridor width) and writes the surface as a GeoTIFF
in which :data:`UNLIMITED_M` marks cells without a limit.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import numpy.typing as npt

from weihai_gis.errors import LayerError
from weihai_gis.sightlines.dem import DEM, write_raster
from weihai_gis.sightlines.ridges import extract_ridges, rasterize_lines
from weihai_gis.sightlines.surface import height_surface
from weihai_gis.sightlines.zones import load_controls

__all__ = ["UNLIMITED_M", "surface_from_layers", "write_surface"]

UNLIMITED_M = 10000.0
"""Value written into surface GeoTIFFs where no height limit applies (metres)."""


def surface_from_layers(
    dem: DEM,
    viewpoints: gpd.GeoDataFrame,
    *,
    ridgelines: gpd.GeoDataFrame | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    ridge_exposed_share: float | None = None,
    protect_sea_horizon: bool = True,
    quiet: bool = True,
) -> npt.NDArray[np.float64]:
    """Height-control surface (metres above ground) protecting ridgelines and the sea horizon.

    Parameters
    ----------
    dem
        Metric bare-earth DEM (:func:`~weihai_gis.sightlines.dem.read_dem`).
    viewpoints
        Points (any CRS); an ``observer_height_m`` column gives each eye height, else ``controls.yaml``.
    ridgelines
        Protected ridgelines (any CRS); when None they are extracted from the DEM
        (:func:`~weihai_gis.sightlines.ridges.extract_ridges`).
    corridors
        通山达海 corridors (lines, peak → sea); a ``width_m`` column gives widths, else ``controls.yaml``.
    ridge_exposed_share
        Share of the ridge's visible height that must stay exposed (default from ``controls.yaml``).
    protect_sea_horizon
        Also keep the visible sea horizon free.
    quiet
        Hide the progress bar.

    Returns
    -------
    numpy.ndarray
        Limits >= 0 m on the DEM grid; ``inf`` where unconstrained; ``nan`` on nodata.

    Raises
    ------
    LayerError
        When ``viewpoints`` holds no point.
    """
    params = load_controls()["sightlines"]
    vps = viewpoints[viewpoints.geometry.notna() & ~viewpoints.geometry.is_empty].to_crs(dem.crs)
    if vps.empty:
        raise LayerError("viewpoints: no point to look from; the height-control surface needs at least one.")
    heights = (
        vps["observer_height_m"].astype(float).to_numpy()
        if "observer_height_m" in vps.columns
        else params["observer_height_m"]["value"]
    )
    ridge = (
        rasterize_lines(dem, ridgelines)
        if ridgelines is not None and len(ridgelines)
        else extract_ridges(dem)
    )
    width = None
    if corridors is not None and len(corridors) and "width_m" not in corridors.columns:
        width = params["corridor_width_m"]["value"]  # planner parameter from controls.yaml
    share = params["ridge_exposed_share"]["value"] if ridge_exposed_share is None else ridge_exposed_share
    return height_surface(
        dem,
        [(p.x, p.y) for p in vps.geometry],
        observer_heights_m=heights,
        ridge_mask=ridge,
        protect_sea_horizon=protect_sea_horizon,
        ridge_exposed_share=share,
        corridors=corridors.to_crs(dem.crs) if corridors is not None and len(corridors) else None,
        corridor_width_m=width,
        quiet=quiet,
    )


def write_surface(
    path: str | os.PathLike[str],
    surface: npt.NDArray[np.float64],
    dem: DEM,
    *,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> None:
    """Write a height-control surface as a float32 GeoTIFF (atomically).

    Unlimited cells (``inf``) are written as :data:`UNLIMITED_M` (also recorded in the ``UNLIMITED_VALUE``
    tag); nodata is -9999.
    """
    values = np.where(np.isinf(surface), UNLIMITED_M, surface)
    write_raster(path, values, dem, nodata=-9999.0, inputs=inputs, tags={"UNLIMITED_VALUE": str(UNLIMITED_M)})
