"""15-minute life-circle coverage over the walking network, by the Chinese standards (profiles as data).

``coverage(net, origins, facilities, profile=...)`` snaps origins and facilities to the nearest walkable
edge, runs one multi-source Dijkstra per category (see :mod:`weihai_gis.coverage.engine`), and returns a
:class:`CoverageResult` with network and straight-line (buffer) results side by side.
"""

from __future__ import annotations

from weihai_gis.coverage.compute import coverage
from weihai_gis.coverage.engine import NetworkIndex, nearest_distance_m
from weihai_gis.coverage.result import CoverageResult, hex_ids

__all__ = ["CoverageResult", "NetworkIndex", "coverage", "hex_ids", "nearest_distance_m"]
