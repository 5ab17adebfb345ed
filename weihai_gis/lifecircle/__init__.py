"""15-minute life-circle coverage over the walking network, by the Chinese standards (profiles as data).

``coverage(net, origins, facilities, profile=...)`` (also ``weihai_gis.coverage``) snaps origins and
facilities to the nearest walkable edge, runs one multi-source Dijkstra per category (see
:mod:`weihai_gis.lifecircle.engine`), and returns a :class:`CoverageResult` with network and straight-line
(buffer) results side by side, summarised per hexagon, per unit and overall, with the run's metadata. A
category with no facility in the input is *not assessed*: NaN rates, left out of 全要素达标率
(``met_all_basic``), named in the result's warnings. Output columns: :mod:`weihai_gis.lifecircle.columns`.
"""

from __future__ import annotations

from weihai_gis.lifecircle.assessment import (
    BASIC_TYPE,
    all_basic_note,
    all_basic_title_zh,
    assessed_flags,
    basic_assessment,
)
from weihai_gis.lifecircle.by_town import assign_profiles, coverage_by_town_type
from weihai_gis.lifecircle.columns import ALL_BASIC, column
from weihai_gis.lifecircle.compute import coverage
from weihai_gis.lifecircle.engine import NetworkIndex, nearest_distance_m
from weihai_gis.lifecircle.results import CoverageResult, InputRecord, RunMetadata
from weihai_gis.lifecircle.summaries import auto_hex_size_m, hex_ids

__all__ = [
    "ALL_BASIC",
    "BASIC_TYPE",
    "CoverageResult",
    "InputRecord",
    "NetworkIndex",
    "RunMetadata",
    "all_basic_note",
    "all_basic_title_zh",
    "assessed_flags",
    "assign_profiles",
    "auto_hex_size_m",
    "basic_assessment",
    "column",
    "coverage",
    "coverage_by_town_type",
    "hex_ids",
    "nearest_distance_m",
]
