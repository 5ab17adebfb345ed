"""The network holds edge geometry as vertex arrays: lengths, LineStrings and caches equal the shapely ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from weihai_gis.network import WalkNetwork, build_network
from weihai_gis.network.osm import split_at_shared_vertices, split_vertices_at_shared
from weihai_gis.network.polylines import (
    lines_from_vertices,
    offsets_from_counts,
    polyline_lengths,
    vertices_of,
)
from weihai_gis.network.snap import snap_points


def _polylines(seed: int, n: int, max_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = rng.integers(2, max_vertices + 1, n)
    scale = 10 ** rng.uniform(-3, 5)
    coords = rng.normal(0, 1, (int(counts.sum()), 2)) * scale + np.array([420_000.0, 4_130_000.0])
    return coords, offsets_from_counts(counts)


@given(seed=st.integers(0, 100_000), n=st.integers(1, 60), max_vertices=st.sampled_from([2, 3, 9, 40]))
@settings(max_examples=60, deadline=None)
def test_polyline_lengths_equal_shapely_length_bit_for_bit(seed, n, max_vertices):
    coords, offsets = _polylines(seed, n, max_vertices)
    lines = lines_from_vertices(coords, offsets)
    np.testing.assert_array_equal(polyline_lengths(coords, offsets), shapely.length(lines))


@given(seed=st.integers(0, 100_000), n=st.integers(1, 40))
@settings(max_examples=40, deadline=None)
def test_lines_of_some_edges_are_those_of_all_edges_and_round_trip_to_the_arrays(seed, n):
    coords, offsets = _polylines(seed, n, 6)
    lines = lines_from_vertices(coords, offsets)
    pick = np.random.default_rng(seed).integers(0, n, 2 * n)
    assert shapely.equals_exact(lines_from_vertices(coords, offsets, pick), lines[pick], tolerance=0).all()
    back, back_offsets = vertices_of(lines)
    np.testing.assert_array_equal(back, coords)
    np.testing.assert_array_equal(back_offsets, offsets)


def test_split_arrays_are_the_split_linestrings():
    coords, offsets = _polylines(3, 30, 12)
    lines = lines_from_vertices(coords, offsets)
    # lines sharing vertices: every third line reuses a vertex of the next one
    shared = coords.copy()
    shared[offsets[1:-1:3]] = coords[offsets[2::3] + 1][: len(offsets[1:-1:3])]
    lines = lines_from_vertices(shared, offsets)
    u, v, segs, src = split_at_shared_vertices(lines)
    u2, v2, c2, o2, src2 = split_vertices_at_shared(lines)
    np.testing.assert_array_equal(u, u2)
    np.testing.assert_array_equal(v, v2)
    np.testing.assert_array_equal(src, src2)
    assert len(segs) > len(lines)
    assert shapely.equals_exact(segs, lines_from_vertices(c2, o2), tolerance=0).all()


@given(seed=st.integers(0, 100_000), m=st.integers(1, 50))
@settings(max_examples=50, deadline=None)
def test_from_arrays_drops_repeated_segments_as_a_pandas_duplicated_oracle(seed, m):
    rng = np.random.default_rng(seed)
    nodes = rng.uniform(0, 100, (6, 2))
    u = rng.integers(0, 6, m)
    v = rng.integers(0, 6, m)
    straight = np.stack([nodes[u], nodes[v]], axis=1)
    bend = rng.random(m) < 0.3  # some segments bend (another length between the same nodes)
    mid = (straight[:, 0] + straight[:, 1]) / 2 + np.where(bend[:, None], 5.0, 0.0)
    coords = np.stack([straight[:, 0], mid, straight[:, 1]], axis=1).reshape(-1, 2)
    offsets = offsets_from_counts(np.full(m, 3))
    lines = lines_from_vertices(coords, offsets)
    length = shapely.length(lines)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    oracle = ~pd.DataFrame({"lo": lo, "hi": hi, "mm": np.round(length * 1000)}).duplicated().to_numpy()
    oracle &= length > 0
    if not oracle.any():
        return
    net = WalkNetwork.from_arrays(u + 100, v + 100, coords, offsets, None, crs="EPSG:4550", source="t")
    assert net.n_edges == int(oracle.sum())
    np.testing.assert_array_equal(net.edge_length_m, length[oracle])
    assert shapely.equals_exact(net.edge_geometry, lines[oracle], tolerance=0).all()
    np.testing.assert_array_equal(net.node_ids[net.edge_u], (u + 100)[oracle])
    np.testing.assert_array_equal(net.node_xy[net.edge_u], coords[offsets[:-1]][oracle])
    np.testing.assert_array_equal(net.node_xy[net.edge_v], coords[offsets[1:] - 1][oracle])


def _grid_roads(tmp_path):
    import geopandas as gpd

    rng = np.random.default_rng(0)
    side = 12
    gx = 420_000 + np.arange(side)[None, :] * 80.0 + rng.uniform(-15, 15, (side, side))
    gy = 4_130_000 + np.arange(side)[:, None] * 80.0 + rng.uniform(-15, 15, (side, side))
    lines = np.concatenate(
        [shapely.linestrings(np.stack([gx, gy], -1)), shapely.linestrings(np.stack([gx.T, gy.T], -1))]
    )
    path = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame(
        {"highway": np.full(len(lines), "residential")}, geometry=lines, crs="EPSG:4550"
    ).to_file(path, layer="roads")
    return path, lines


def test_a_built_and_a_cached_network_build_no_linestrings_until_asked(tmp_path):
    import geopandas as gpd

    path, lines = _grid_roads(tmp_path)
    built = build_network(path, cache_dir=tmp_path / "cache")
    loaded = build_network(path, cache_dir=tmp_path / "cache")
    _, _, segs, _ = split_at_shared_vertices(lines)
    for net in (built, loaded):
        pts = gpd.GeoSeries(shapely.points(net.node_xy[:40] + 7.0), crs=net.crs)
        snap_points(net, pts, max_snap_m=60, min_component_nodes=2)
        assert "edge_geometry" not in net._cache  # snapping reads the vertex arrays
        np.testing.assert_array_equal(net.edge_length_m, shapely.length(net.edge_geometry))
        assert "edge_geometry" in net._cache
    assert shapely.equals_exact(built.edge_geometry, loaded.edge_geometry, tolerance=0).all()
    assert sorted(shapely.to_wkb(built.edge_geometry)) == sorted(shapely.to_wkb(segs))


def test_edge_geometry_is_read_only_and_assigning_it_replaces_the_vertices(tmp_path):
    path, _ = _grid_roads(tmp_path)
    net = build_network(path, cache=False)
    geoms = net.edge_geometry
    assert not geoms.flags.writeable
    moved = geoms.copy()
    moved[0] = shapely.reverse(moved[0])
    net.edge_geometry = moved
    coords, counts = net.edge_vertices([0])
    np.testing.assert_array_equal(coords, shapely.get_coordinates(moved[0]))
    assert counts.tolist() == [shapely.get_num_coordinates(moved[0])]
    assert shapely.equals_exact(net.edge_lines([0, 3]), moved[[0, 3]], tolerance=0).all()


@given(
    st.lists(st.integers(0, 60), min_size=0, max_size=80)
    | st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=40)
)
@settings(max_examples=80, deadline=None)
def test_unique_keys_equal_numpys_unique_dense_or_not(values):
    from weihai_gis.network.graph import _unique_keys

    keys = np.asarray(values, dtype=np.int64)
    got = _unique_keys(keys)
    want = np.unique(keys, return_index=True, return_inverse=True)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b.ravel())
        assert a.dtype == np.int64
