"""三线 sightline and coastal controls.

DEM IO, GDAL-compatible viewsheds, height-control surfaces, coastal setback zones, railway bands and
compliance checks.

Modules: :mod:`.dem` (read/write rasters, burn buildings), :mod:`.viewshed` (GDAL Wang-2000 port),
:mod:`.surface` (height limits from horizon scans, ridges, corridors), :mod:`.zones` (coastal zones,
railway bands, controls.yaml), :mod:`.compliance` (violations).
"""

from weihai_gis.sightlines.compliance import VIOLATION_COLUMNS, check_buildings, surface_limits_under
from weihai_gis.sightlines.controls import UNLIMITED_M, surface_from_layers, write_surface
from weihai_gis.sightlines.dem import DEM, burn_buildings, read_dem, write_raster
from weihai_gis.sightlines.surface import (
    corridor_limits,
    extract_ridges,
    height_surface,
    rasterize_lines,
    viewpoint_limit,
)
from weihai_gis.sightlines.viewshed import (
    DEFAULT_CURVATURE_COEFF,
    ViewshedResult,
    cumulative_viewshed,
    viewshed,
)
from weihai_gis.sightlines.zones import ZONE_COLUMNS, coastal_zones, hsr_bands, load_controls

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
