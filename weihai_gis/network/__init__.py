"""Walking networks: read OSM / GraphML / road lines, build CSR arrays, snap points to edges."""

from __future__ import annotations

from weihai_gis.network.build import analysis_crs_for, build_network, sample_osm_path
from weihai_gis.network.graph import Components, WalkNetwork
from weihai_gis.network.snap import Snapped, snap_points

__all__ = [
    "Components",
    "Snapped",
    "WalkNetwork",
    "analysis_crs_for",
    "build_network",
    "sample_osm_path",
    "snap_points",
]
