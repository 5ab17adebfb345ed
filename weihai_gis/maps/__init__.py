"""Interactive folium maps of the Weihai plan layers and analysis results, saved as self-contained HTML.

Typical use::

    from weihai_gis import maps
    m = maps.planning_map(layers)                 # layers = weihai_gis.layers.load_layers()
    maps.save_map(m, "planning.html")             # offline: no CDN, no tiles, opens without internet

Modules: ``compose`` (ready-made maps), ``planning_layers`` / ``analysis_layers`` (one builder per layer kind),
``basemaps`` (none / OSM / 天地图 / Amap), ``legend``, ``prepare`` (simplify, round, cap size), ``offline``
(inline assets from installed packages). Coverage maps draw a ``CoverageResult`` as it is (its hexagon and
unit summaries); rate classes come from :mod:`weihai_gis.render.classes`.
"""

from weihai_gis.maps.basemaps import BASEMAPS, Basemap, add_basemap
from weihai_gis.maps.compose import coverage_map, planning_map, sightlines_map
from weihai_gis.maps.legend import LegendItem, LegendSection, add_legend, add_source_note
from weihai_gis.maps.offline import OfflineAssetError, inline_assets, map_html, remote_assets, save_map
from weihai_gis.maps.raster import add_raster

__all__ = [
    "BASEMAPS",
    "Basemap",
    "LegendItem",
    "LegendSection",
    "OfflineAssetError",
    "add_basemap",
    "add_legend",
    "add_raster",
    "add_source_note",
    "coverage_map",
    "inline_assets",
    "map_html",
    "planning_map",
    "remote_assets",
    "save_map",
    "sightlines_map",
]
