"""weihai_gis: GIS toolkit for Weihai's 精致城市建设新三年行动方案 (2025-2027).

Data flows one way: load → validate → analyse → render. The public API is re-exported here::

    import weihai_gis as wg

    layers = wg.load_layers()                       # embedded Weihai dataset, validated
    net = wg.build_network("weihai.osm.pbf")        # or road lines / osmnx GraphML
    fac = wg.read_facilities("amap_pois.xlsx", datum="gcj02", mapping="amap")
    res = wg.coverage(net, origins, fac, profile="gb50180-2018")
    res.summary(layers.town_areas)                  # 覆盖率 per category, 全要素达标率 per town
    wg.maps.save_map(wg.maps.coverage_map(res, layers), "coverage.html", offline=True)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from weihai_gis import crs, errors, maps, sightlines, standards
from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS, diagnose_offset, gcj02_to_wgs84, wgs84_to_gcj02
from weihai_gis.errors import WeihaiGISError
from weihai_gis.facilities import read_facilities
from weihai_gis.jobs import run_main_job
from weihai_gis.layers import Layers, load_layers, read_layer, validate_layers, write_layers
from weihai_gis.lifecircle import CoverageResult, coverage, coverage_by_town_type
from weihai_gis.network import WalkNetwork, build_network, cut_network
from weihai_gis.population import origins_from_buildings, origins_from_points, origins_from_raster
from weihai_gis.report import build_report, write_report
from weihai_gis.standards import list_profiles, load_profile

try:
    __version__ = version("weihai-gis")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = [
    "ANALYSIS_CRS",
    "STORAGE_CRS",
    "CoverageResult",
    "Layers",
    "WalkNetwork",
    "WeihaiGISError",
    "__version__",
    "build_network",
    "build_report",
    "coverage",
    "coverage_by_town_type",
    "crs",
    "cut_network",
    "diagnose_offset",
    "errors",
    "gcj02_to_wgs84",
    "list_profiles",
    "load_layers",
    "load_profile",
    "maps",
    "origins_from_buildings",
    "origins_from_points",
    "origins_from_raster",
    "read_facilities",
    "read_layer",
    "run_main_job",
    "sightlines",
    "standards",
    "validate_layers",
    "wgs84_to_gcj02",
    "write_layers",
    "write_report",
]
