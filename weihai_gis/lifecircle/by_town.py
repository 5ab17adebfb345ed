"""Urban or rural standards per resident, chosen by the type of the town (镇) the resident lives in.

TD/T 1062-2021 distinguishes an urban (城镇) and a rural (乡村) life circle. The plan types Weihai's 48 towns
(城郊融合型, 区域支撑型, 工业引领型, 文旅康养型, 生态农业型); ``standards/coverage-config.yaml`` maps each type
to a profile (``town_type_profile``: a design choice, documented there), 街道 use the urban profile. This
module assigns every origin the profile of the town area it falls in and runs :func:`coverage` once per
profile, so each resident is measured against the standard that applies where they live.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd

from weihai_gis.errors import LayerError
from weihai_gis.lifecircle.compute import coverage
from weihai_gis.lifecircle.results import CoverageResult
from weihai_gis.network import WalkNetwork
from weihai_gis.standards import profile_for_town_type

__all__ = ["OUTSIDE_TOWNS", "assign_profiles", "coverage_by_town_type"]

log = logging.getLogger(__name__)

OUTSIDE_TOWNS = "unassigned"
"""Town type used for origins outside every town area (mapped like a town whose type the plan leaves open)."""


def assign_profiles(
    origins: gpd.GeoDataFrame, town_areas: gpd.GeoDataFrame, towns: gpd.GeoDataFrame
) -> pd.Series:
    """Return the life-circle profile name of each origin, from the type of the town area containing it.

    Parameters
    ----------
    origins
        Residences (points or polygons; polygons use a point on their surface), any CRS.
    town_areas
        Areas with an ``id`` equal to the ``towns`` code (e.g. the embedded Voronoi ``town_areas``, or the
        bureau's township boundaries).
    towns
        The ``towns`` layer: ``id``, ``kind`` (town / street) and ``town_type``.

    Returns
    -------
    pandas.Series
        Profile name per origin (same index); origins outside every area get the profile of
        :data:`OUTSIDE_TOWNS`.

    Raises
    ------
    LayerError
        When a layer lacks the fields this needs.
    """
    for frame, name, fields in (
        (town_areas, "town_areas", ("id",)),
        (towns, "towns", ("id", "kind", "town_type")),
    ):
        missing = [f for f in fields if f not in frame.columns]
        if missing:
            raise LayerError(f"{name}: fields {missing} are missing; expected {list(fields)}.")
    kind_type = towns.set_index("id")
    town_type = kind_type["town_type"].where(kind_type["kind"] == "town", "n/a")
    areas = town_areas[["id", "geometry"]].rename(columns={"id": "town_id"}).to_crs(origins.crs)
    points = origins.geometry.copy()
    polygons = points.geom_type != "Point"
    points[polygons] = points[polygons].representative_point()
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points, crs=origins.crs), areas, predicate="within", how="left"
    )
    joined = joined[~joined.index.duplicated(keep="first")]  # a point on a shared edge: first area
    types = joined["town_id"].map(town_type).fillna(OUTSIDE_TOWNS)
    return types.map(profile_for_town_type).rename("profile")


def coverage_by_town_type(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    town_areas: gpd.GeoDataFrame,
    towns: gpd.GeoDataFrame,
    **options: object,
) -> dict[str, CoverageResult]:
    """Run :func:`coverage` once per profile, each on the origins living where that profile applies.

    Parameters
    ----------
    net, origins, facilities
        As for :func:`coverage`.
    town_areas, towns
        As for :func:`assign_profiles`.
    **options
        Other keyword arguments of :func:`coverage` (``category_field``, ``max_snap_m`` ...); ``profile``
        is chosen here and may not be passed.

    Returns
    -------
    dict
        Profile name → :class:`CoverageResult` of the origins assigned that profile.
    """
    if "profile" in options:
        raise TypeError("coverage_by_town_type chooses the profile per origin; do not pass `profile`.")
    profiles = assign_profiles(origins, town_areas, towns)
    results = {}
    for name, rows in profiles.groupby(profiles).groups.items():
        log.info("profile %s: %d origins", name, len(rows))
        results[str(name)] = coverage(net, origins.loc[rows], facilities, profile=str(name), **options)  # type: ignore[arg-type]
    return results
