"""Interactive folium maps of the Weihai plan layers and analysis results, saved as self-contained HTML.

Typical use::

    from weihai_gis import maps
    m = maps.planning_map(layers)                 # layers = weihai_gis.layers.load_layers()
    maps.save_map(m, "planning.html")             # offline: no CDN, no tiles, opens without internet

Modules: ``compose`` (ready-made maps), ``planning_layers`` / ``analysis_layers`` (one builder per layer kind),
``basemaps`` (none / OSM / 天地图 / Amap), ``legend``, ``prepare`` (simplify, round, cap size), ``offline``
(inline assets from installed packages), ``results`` (coverage results -> tables).
"""

from weihai_gis.maps.basemaps import BASEMAPS, Basemap, add_basemap
from weihai_gis.maps.compose import coverage_map, planning_map, sightlines_map
from weihai_gis.maps.legend import LegendItem, LegendSection, add_legend
from weihai_gis.maps.offline import OfflineAssetError, inline_assets, map_html, remote_assets, save_map
from weihai_gis.maps.raster import add_raster
from weihai_gis.maps.results import CoverageTables, coverage_tables, read_results_gpkg

__all__ = [
    "BASEMAPS",
    "Basemap",
    "CoverageTables",
    "LegendItem",
    "LegendSection",
    "OfflineAssetError",
    "add_basemap",
    "add_legend",
    "add_raster",
    "coverage_map",
    "coverage_tables",
    "inline_assets",
    "map_html",
    "planning_map",
    "read_results_gpkg",
    "remote_assets",
    "save_map",
    "sightlines_map",
]
