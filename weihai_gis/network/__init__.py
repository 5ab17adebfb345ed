"""Walking networks: read OSM / GraphML / road lines, build CSR arrays, snap points to edges, cut at barriers."""

from __future__ import annotations

from weihai_gis.network.barriers import BarrierCut, barrier_cut, cut_network, disconnected_origins
from weihai_gis.network.build import analysis_crs_for, build_network, sample_osm_path
from weihai_gis.network.graph import Components, WalkNetwork
from weihai_gis.network.osm import read_osm_crossings
from weihai_gis.network.snap import Snapped, snap_points

__all__ = [
    "BarrierCut",
    "Components",
    "Snapped",
    "WalkNetwork",
    "analysis_crs_for",
    "barrier_cut",
    "build_network",
    "cut_network",
    "disconnected_origins",
    "read_osm_crossings",
    "sample_osm_path",
    "snap_points",
]
