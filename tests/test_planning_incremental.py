"""Incremental what-if distances equal a full recompute exactly (hypothesis), on a generated network and the
shipped 山大哈工大 extract; more facilities never lower coverage."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weihai_gis.lifecircle import NetworkIndex, nearest_distance_m
from weihai_gis.network import WalkNetwork, build_network, snap_points
from weihai_gis.planning.incremental import NearestState, concat_snapped
from weihai_gis.planning.matrix import node_sites
from weihai_gis.samples import hitwh_inputs


@functools.cache
def _jittered_grid(side: int = 14, seed: int = 0):
    """A grid with jittered nodes (irregular float lengths) and a few streets missing (dead ends, islands)."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    node = (ii * side + jj).ravel()
    xy = np.column_stack([jj.ravel() * 60.0, ii.ravel() * 60.0]) + rng.uniform(-17, 17, (side * side, 2))
    right = node[jj.ravel() < side - 1]
    up = node[ii.ravel() < side - 1]
    u = np.concatenate([right, up])
    v = np.concatenate([right + 1, up + side])
    keep = rng.random(len(u)) > 0.12
    u, v = u[keep], v[keep]
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    net = WalkNetwork(
        node_ids=node.astype(np.int64),
        node_xy=xy,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_length_m=shapely.length(geoms),
        edge_geometry=np.asarray(geoms, dtype=object),
        highway=np.full(len(u), "residential", dtype=object),
        crs="EPSG:4550",
        source="jittered grid",
    )
    span = side * 60.0
    pts = gpd.GeoSeries(shapely.points(rng.uniform(-30, span, (700, 2))), crs=net.crs)
    snap = snap_points(net, pts, max_snap_m=40, min_component_nodes=1)
    origins = snap_points(
        net,
        gpd.GeoSeries(shapely.points(rng.uniform(-30, span, (900, 2))), crs=net.crs),
        max_snap_m=40,
        min_component_nodes=1,
    )
    # the facility pool: snapped points plus sites exactly on nodes (zero connector and offset)
    pool = concat_snapped(snap, node_sites(net, rng.choice(net.n_nodes, 60, replace=False)))
    return net, NetworkIndex(net), origins, pool


def _assert_exact(state: NearestState) -> None:
    full = NearestState.build(state.index, state.origins, state.facilities, max_walk_m=state.max_walk_m)
    assert np.array_equal(state.node_m, full.node_m)
    want = nearest_distance_m(state.index, state.origins, state.facilities, max_walk_m=state.max_walk_m)
    assert np.array_equal(state.origin_m, want, equal_nan=True)


_changes = st.tuples(
    st.lists(st.integers(0, 759), min_size=1, max_size=40, unique=True),  # initial facilities (pool rows)
    st.lists(st.integers(0, 759), max_size=12, unique=True),  # added
    st.lists(st.integers(0, 39), max_size=12, unique=True),  # removed (positions, clipped to the set)
    st.sampled_from([150.0, 300.0, 500.0, 2000.0]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_changes, st.lists(st.integers(0, 759), max_size=6, unique=True))
def test_incremental_add_remove_equals_full_recompute_exactly(change, second_add):
    _, index, origins, pool = _jittered_grid()
    initial, added, removed, cutoff = change
    state = NearestState.build(index, origins, pool.take(initial), max_walk_m=cutoff)
    removed = [r for r in removed if r < len(initial)]
    after, stats = state.change(add=pool.take(added), remove=removed)
    _assert_exact(after)
    assert len(after.facilities.edge) == len(initial) - len(removed) + len(added)
    assert stats.n_origins_recomputed <= len(origins.edge)
    # a second change on the changed state (a move: remove the first, add others) stays exact
    again, _ = after.change(add=pool.take(second_add), remove=[0] if len(after.facilities.edge) else [])
    _assert_exact(again)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 759), min_size=0, max_size=30, unique=True),
    st.lists(st.integers(0, 759), min_size=1, max_size=10, unique=True),
    st.sampled_from([200.0, 450.0, 1000.0]),
)
def test_more_facilities_never_lower_coverage(initial, added, cutoff):
    _, index, origins, pool = _jittered_grid()
    before = NearestState.build(index, origins, pool.take(initial), max_walk_m=cutoff)
    after, _ = before.change(add=pool.take(added))
    was = np.isfinite(before.origin_m)
    assert np.isfinite(after.origin_m)[was].all()  # nobody covered loses coverage
    assert (after.origin_m[was] <= before.origin_m[was]).all()  # and nobody walks farther
    # removing what was added gives back the original distances exactly
    n0 = len(before.facilities.edge)
    back, _ = after.change(remove=np.arange(n0, n0 + len(added)))
    assert np.array_equal(back.origin_m, before.origin_m, equal_nan=True)


def test_a_change_far_away_recomputes_only_its_neighbourhood():
    net, index, origins, pool = _jittered_grid()
    xy = np.array([net.node_xy[net.edge_u[e]] for e in pool.edge])
    west = np.flatnonzero(xy[:, 0] < 200)
    east = np.flatnonzero(xy[:, 0] > 600)[:3]
    state = NearestState.build(index, origins, pool.take(west), max_walk_m=150)
    after, stats = state.change(add=pool.take(east))
    _assert_exact(after)
    assert 0 < stats.n_nodes_changed < net.n_nodes // 4
    assert 0 < stats.n_origins_recomputed < len(origins.edge) // 4


@functools.cache
def _hitwh():
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    fac = inputs.facilities.to_crs(net.crs)
    orig = inputs.origins.to_crs(net.crs)
    orig = orig.set_geometry(shapely.point_on_surface(orig.geometry.to_numpy()))
    return (
        net,
        NetworkIndex(net),
        snap_points(net, orig),
        snap_points(net, fac),
        node_sites(net, np.arange(net.n_nodes)),
    )


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_incremental_equals_full_recompute_on_the_shipped_extract(data):
    net, index, o_snap, f_snap, nodes = _hitwh()
    n_f = len(f_snap.edge)
    initial = data.draw(st.lists(st.integers(0, n_f - 1), min_size=1, max_size=25, unique=True))
    add = data.draw(st.lists(st.integers(0, net.n_nodes - 1), max_size=5, unique=True))
    remove = data.draw(st.lists(st.integers(0, len(initial) - 1), max_size=5, unique=True))
    cutoff = data.draw(st.sampled_from([300.0, 500.0, 1000.0]))
    state = NearestState.build(index, o_snap, f_snap.take(initial), max_walk_m=cutoff)
    after, _ = state.change(add=nodes.take(add), remove=remove)
    _assert_exact(after)


def test_remove_rejects_positions_outside_the_facility_set():
    _, index, origins, pool = _jittered_grid()
    state = NearestState.build(index, origins, pool.take([1, 2, 3]), max_walk_m=300)
    with pytest.raises(IndexError, match=r"0\.\.2"):
        state.change(remove=[3])
