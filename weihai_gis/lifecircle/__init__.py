"""15-minute life-circle coverage over the walking network, by the Chinese standards (profiles as data).

``coverage(net, origins, facilities, profile=...)`` snaps origins and facilities to the nearest walkable
edge, runs one multi-source Dijkstra per category (see :mod:`weihai_gis.lifecircle.engine`), and returns a
:class:`CoverageResult` with network and straight-line (buffer) results side by side. A category with no
facility in the input is *not assessed*: NaN rates, left out of 全要素达标率 (``all_basic_met``), named in
the result's warnings.
"""

from __future__ import annotations

from weihai_gis.lifecircle.by_town import assign_profiles, coverage_by_town_type
from weihai_gis.lifecircle.compute import coverage
from weihai_gis.lifecircle.engine import NetworkIndex, nearest_distance_m
from weihai_gis.lifecircle.results import (
    BASIC_TYPE,
    CoverageResult,
    all_basic_note,
    all_basic_title_zh,
    assessed_flags,
    basic_assessment,
    hex_ids,
)

__all__ = [
    "BASIC_TYPE",
    "CoverageResult",
    "NetworkIndex",
    "all_basic_note",
    "all_basic_title_zh",
    "assessed_flags",
    "assign_profiles",
    "basic_assessment",
    "coverage",
    "coverage_by_town_type",
    "hex_ids",
    "nearest_distance_m",
]
