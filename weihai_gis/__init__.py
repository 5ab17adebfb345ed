"""weihai_gis: GIS toolkit for Weihai's 精致城市建设新三年行动方案 (2025-2027).

Data flows one way: load → validate → analyse → render. The public API is re-exported here::

    import weihai_gis as wg

    layers = wg.load_layers()                       # embedded Weihai dataset, validated
    net = wg.build_network("weihai.osm.pbf")        # or road lines / osmnx GraphML
    fac = wg.read_facilities("amap_pois.xlsx", datum="gcj02", mapping="amap")
    res = wg.coverage(net, origins, fac, profile="gb50180-2018")
    res.summary(layers.town_areas)                  # 覆盖率 per category, 全要素达标率 per town
    wg.maps.save_map(wg.maps.coverage_map(res, layers), "coverage.html", offline=True)

Every name is loaded on first use (module ``__getattr__``), so ``import weihai_gis`` and the ``weihai-gis``
command line start without geopandas, folium, rasterio or the coverage engine; ``dir(wg)`` and ``__all__`` list
the whole API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weihai_gis import lazy_exports as _lazy

if TYPE_CHECKING:  # the same names as _WHERE, for type checkers and editors
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

__version__: str  # read from the installed metadata on first access (see lazy_exports)

_SUBMODULES = ("crs", "errors", "maps", "sightlines", "standards")

_WHERE: dict[str, str] = {
    "ANALYSIS_CRS": "weihai_gis.crs",
    "STORAGE_CRS": "weihai_gis.crs",
    "diagnose_offset": "weihai_gis.crs",
    "gcj02_to_wgs84": "weihai_gis.crs",
    "wgs84_to_gcj02": "weihai_gis.crs",
    "WeihaiGISError": "weihai_gis.errors",
    "read_facilities": "weihai_gis.facilities",
    "run_main_job": "weihai_gis.jobs",
    "Layers": "weihai_gis.layers",
    "load_layers": "weihai_gis.layers",
    "read_layer": "weihai_gis.layers",
    "validate_layers": "weihai_gis.layers",
    "write_layers": "weihai_gis.layers",
    "CoverageResult": "weihai_gis.lifecircle",
    "coverage": "weihai_gis.lifecircle",
    "coverage_by_town_type": "weihai_gis.lifecircle",
    "WalkNetwork": "weihai_gis.network",
    "build_network": "weihai_gis.network",
    "cut_network": "weihai_gis.network",
    "origins_from_buildings": "weihai_gis.population",
    "origins_from_points": "weihai_gis.population",
    "origins_from_raster": "weihai_gis.population",
    "build_report": "weihai_gis.report",
    "write_report": "weihai_gis.report",
    "list_profiles": "weihai_gis.standards",
    "load_profile": "weihai_gis.standards",
}
"""Where each public name lives (imported on first access)."""

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


def _version() -> str:
    """Return the installed distribution's version (importlib.metadata costs ~0.1 s of start-up: read on use)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("weihai-gis")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0"


__getattr__, __dir__ = _lazy.lazy_exports(
    __name__, _WHERE, __all__, submodules=_SUBMODULES, computed={"__version__": _version}
)
