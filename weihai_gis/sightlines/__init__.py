"""三线 sightline and coastal controls.

DEM IO, GDAL-compatible viewsheds, height-control surfaces, coastal setback zones, railway bands and
compliance checks.

Modules: :mod:`.grid` (the DEM object), :mod:`.dem` (read/write rasters, burn buildings), :mod:`.viewshed`
(GDAL Wang-2000 port), :mod:`.ridges` (ridgeline masks), :mod:`.horizon` (the ray scan of one viewpoint),
:mod:`.surface` (height limits per viewpoint and their minimum), :mod:`.corridors` (通山达海 corridors),
:mod:`.zones` (coastal zones, railway bands, controls.yaml), :mod:`.controls` (the surface from planning
layers), :mod:`.compliance` (violations).

The viewshed names are imported at once (numpy; importing the ``viewshed`` submodule later would otherwise
bind the package attribute ``viewshed`` to the module, not the function); every other name is loaded on first
use (module ``__getattr__``), so ``weihai-gis sightlines viewshed`` runs without geopandas, pandas or scipy,
and on a baseline GeoTIFF without rasterio (:mod:`weihai_gis.io.geotiff`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weihai_gis.lazy_exports import lazy_exports
from weihai_gis.sightlines.viewshed import (
    DEFAULT_CURVATURE_COEFF,
    ViewshedResult,
    cumulative_viewshed,
    viewshed,
)

if TYPE_CHECKING:  # the same names as _WHERE, for type checkers and editors
    from weihai_gis.sightlines.compliance import VIOLATION_COLUMNS, check_buildings, surface_limits_under
    from weihai_gis.sightlines.controls import UNLIMITED_M, surface_from_layers, write_surface
    from weihai_gis.sightlines.corridors import corridor_limits
    from weihai_gis.sightlines.dem import DEM, burn_buildings, read_dem, write_raster
    from weihai_gis.sightlines.ridges import extract_ridges, rasterize_lines
    from weihai_gis.sightlines.surface import height_surface, viewpoint_limit
    from weihai_gis.sightlines.zones import ZONE_COLUMNS, coastal_zones, hsr_bands, load_controls

_WHERE: dict[str, str] = {
    "VIOLATION_COLUMNS": "weihai_gis.sightlines.compliance",
    "check_buildings": "weihai_gis.sightlines.compliance",
    "surface_limits_under": "weihai_gis.sightlines.compliance",
    "UNLIMITED_M": "weihai_gis.sightlines.controls",
    "surface_from_layers": "weihai_gis.sightlines.controls",
    "write_surface": "weihai_gis.sightlines.controls",
    "corridor_limits": "weihai_gis.sightlines.corridors",
    "DEM": "weihai_gis.sightlines.dem",
    "burn_buildings": "weihai_gis.sightlines.dem",
    "read_dem": "weihai_gis.sightlines.dem",
    "write_raster": "weihai_gis.sightlines.dem",
    "extract_ridges": "weihai_gis.sightlines.ridges",
    "rasterize_lines": "weihai_gis.sightlines.ridges",
    "height_surface": "weihai_gis.sightlines.surface",
    "viewpoint_limit": "weihai_gis.sightlines.surface",
    "ZONE_COLUMNS": "weihai_gis.sightlines.zones",
    "coastal_zones": "weihai_gis.sightlines.zones",
    "hsr_bands": "weihai_gis.sightlines.zones",
    "load_controls": "weihai_gis.sightlines.zones",
}
"""Where each public name lives (imported on first access)."""

__all__ = [
    "DEFAULT_CURVATURE_COEFF",
    "DEM",
    "UNLIMITED_M",
    "VIOLATION_COLUMNS",
    "ZONE_COLUMNS",
    "ViewshedResult",
    "burn_buildings",
    "check_buildings",
    "coastal_zones",
    "corridor_limits",
    "cumulative_viewshed",
    "extract_ridges",
    "height_surface",
    "hsr_bands",
    "load_controls",
    "rasterize_lines",
    "read_dem",
    "surface_from_layers",
    "surface_limits_under",
    "viewpoint_limit",
    "viewshed",
    "write_raster",
    "write_surface",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
