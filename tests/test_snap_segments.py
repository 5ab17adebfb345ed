"""Snapping from coordinate arrays equals shapely's STRtree snap: edge, offset along it and connector to 1e-9 m.

The oracle is the shapely path the library used before (an STRtree over the edge LineStrings, ``distance``,
``line_locate_point``, ``line_interpolate_point``), run here in the test. Of several edges at exactly the same
distance the library takes the lowest edge position (the rule of :mod:`weihai_gis.network.segments`); the
oracle lists every tied edge (``all_matches=True``), so the check is "the lowest of the tied edges".
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from grid_network import CRS, X0, Y0, grid_network
from hypothesis import given, settings
from hypothesis import strategies as st

from weihai_gis.network import WalkNetwork, build_network, sample_osm_path, snap_points
from weihai_gis.network.segments import SegmentIndex
from weihai_gis.network.snap import EdgeReference, segment_index


def shapely_snap(net: WalkNetwork, xy: np.ndarray, min_nodes: int):
    """The STRtree reference: per point the tied nearest edges, the connector and positions on each."""
    size = net.components().node_component_size()
    routable = np.flatnonzero(size[net.edge_u] >= min_nodes)
    pts = shapely.points(xy)
    tree = shapely.STRtree(net.edge_geometry[routable])
    (i, j), d = tree.query_nearest(pts, return_distance=True, all_matches=True)
    ties: dict[int, list[int]] = {}
    for a, b in zip(i.tolist(), routable[j].tolist(), strict=True):
        ties.setdefault(a, []).append(b)
    connector = np.full(len(xy), np.inf)
    connector[i] = d
    return ties, connector


def assert_same_as_shapely(net: WalkNetwork, xy: np.ndarray, min_nodes: int = 1) -> None:
    snap = snap_points(
        net, gpd.GeoSeries(shapely.points(xy), crs=net.crs), max_snap_m=1e9, min_component_nodes=min_nodes
    )
    ties, connector = shapely_snap(net, xy, min_nodes)
    np.testing.assert_allclose(snap.connector_m, connector, rtol=0, atol=1e-9)
    has = np.flatnonzero(snap.edge >= 0)
    assert sorted(ties) == has.tolist()
    assert [min(ties[k]) for k in has] == snap.edge[has].tolist()
    geoms = net.edge_geometry[snap.edge[has]]
    pts = shapely.points(xy[has])
    want = np.clip(shapely.line_locate_point(geoms, pts), 0, net.edge_length_m[snap.edge[has]])
    np.testing.assert_allclose(snap.pos_m[has], want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(snap.to_v_m[has], net.edge_length_m[snap.edge[has]] - want, rtol=0, atol=1e-9)
    # the snapped point, as shapely puts it on the edge, is the point at the connector's distance
    at = shapely.line_interpolate_point(geoms, snap.pos_m[has])
    np.testing.assert_allclose(shapely.distance(pts, at), snap.connector_m[has], rtol=0, atol=1e-9)
    mine = segment_index(net, min_nodes).point_at(snap.edge[has], snap.pos_m[has])
    np.testing.assert_allclose(mine, shapely.get_coordinates(at), rtol=0, atol=1e-9)


def test_grid_points_everywhere_including_on_crossings_and_edges():
    net = grid_network(6, 100.0)
    rng = np.random.default_rng(3)
    xy = np.vstack(
        [
            rng.uniform(-150, 650, (400, 2)),  # inside, beside and far outside the grid
            np.array([[i * 100.0, j * 100.0] for i in range(6) for j in range(6)]),  # on every crossing
            np.column_stack([rng.uniform(0, 500, 50), np.full(50, 200.0)]),  # on a street
            [[250.0, 250.0], [50.0, 50.0], [5e4, -3e4]],  # equidistant from 4 streets; very far
        ]
    ) + np.array([X0, Y0])
    assert_same_as_shapely(net, xy)


def test_jittered_city_grid_of_polylines(tmp_path):
    rng = np.random.default_rng(0)
    side = 40
    gx = X0 + np.arange(side)[None, :] * 80.0 + rng.uniform(-15, 15, (side, side))
    gy = Y0 + np.arange(side)[:, None] * 80.0 + rng.uniform(-15, 15, (side, side))
    lines = np.concatenate(
        [shapely.linestrings(np.stack([gx, gy], -1)), shapely.linestrings(np.stack([gx.T, gy.T], -1))]
    )
    roads = gpd.GeoDataFrame({"highway": np.full(len(lines), "residential")}, geometry=lines, crs=CRS)
    roads.to_file(tmp_path / "roads.gpkg", engine="pyogrio")
    net = build_network(tmp_path / "roads.gpkg", cache=False)
    xy = rng.uniform(0, 39 * 80.0, (3000, 2)) + np.array([X0, Y0])
    assert_same_as_shapely(net, xy)


@pytest.mark.parametrize("min_nodes", [1, 20])
def test_the_shipped_extract_buildings_and_random_points(min_nodes):
    net = build_network(sample_osm_path(), cache=False)
    rng = np.random.default_rng(1)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    xy = np.vstack([rng.uniform(lo - 300, hi + 300, (3000, 2)), net.node_xy[::7]])
    assert_same_as_shapely(net, xy, min_nodes)


_coord = st.floats(-200, 200, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 1))


@given(
    lines=st.lists(st.lists(st.tuples(_coord, _coord), min_size=2, max_size=6), min_size=1, max_size=12),
    points=st.lists(st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000)), min_size=1, max_size=20),
)
@settings(max_examples=60, deadline=None)
def test_random_polylines_with_repeated_vertices_equal_shapely(lines, points):
    coords = np.concatenate([np.asarray(line, dtype=float) for line in lines])
    counts = np.array([len(line) for line in lines])
    geoms = shapely.linestrings(coords, indices=np.repeat(np.arange(len(lines)), counts))
    index = SegmentIndex(coords, counts, np.arange(len(lines)), len(lines))
    xy = np.asarray(points, dtype=float)
    edge, dist, at = index.nearest(xy[:, 0], xy[:, 1])
    pts = shapely.points(xy)
    d = shapely.distance(pts[:, None], geoms[None, :])
    np.testing.assert_allclose(dist, d.min(axis=1), rtol=0, atol=1e-9)
    tied = d == dist[:, None]
    assert (edge == tied.argmax(axis=1)).all()  # the lowest tied edge
    np.testing.assert_allclose(at, shapely.line_locate_point(geoms[edge], pts), rtol=0, atol=1e-9)
    pos = np.clip(at, 0, shapely.length(geoms[edge]))
    want = shapely.get_coordinates(shapely.line_interpolate_point(geoms[edge], pos))
    np.testing.assert_allclose(index.point_at(edge, pos), want, rtol=0, atol=1e-9)
    # within a radius: the same (point, edge) pairs as an STRtree dwithin query, with shapely's distances
    pi, ei, di, ai = index.within(xy[:, 0], xy[:, 1], 150.0)
    ri, ci = shapely.STRtree(geoms).query(pts, predicate="dwithin", distance=150.0)
    assert sorted(zip(pi.tolist(), ei.tolist(), strict=True)) == sorted(
        zip(ri.tolist(), ci.tolist(), strict=True)
    )
    np.testing.assert_allclose(di, shapely.distance(pts[pi], geoms[ei]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(ai, shapely.line_locate_point(geoms[ei], pts[pi]), rtol=0, atol=1e-9)
    # "is a segment that near" (the offset check's question): the same points as the dwithin query, also
    # at a radius equal to a point's exact distance (within means <=)
    assert index.any_within(xy[:, 0], xy[:, 1], 150.0).tolist() == np.isin(np.arange(len(xy)), ri).tolist()
    for radius in {float(v) for v in d.min(axis=1)[:3]} | {0.0, 2.5}:
        want = (d <= radius).any(axis=1)
        assert index.any_within(xy[:, 0], xy[:, 1], radius).tolist() == want.tolist(), radius


def test_points_without_geometry_and_an_empty_index_have_no_edge():
    index = SegmentIndex(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0)
    edge, dist, at = index.nearest(np.array([1.0]), np.array([2.0]))
    assert edge.tolist() == [-1] and np.isinf(dist).all() and np.isnan(at).all()
    net = grid_network(3)
    pts = gpd.GeoSeries([shapely.Point(X0 + 10, Y0 + 10), shapely.Point()], crs=net.crs)
    snap = snap_points(net, pts, max_snap_m=100, min_component_nodes=1)
    assert snap.edge[1] == -1 and not snap.reachable[1]
    assert snap.reason[1] == "no geometry or empty network"
    assert snap.connector_m[0] == pytest.approx(10.0, abs=1e-9)


@pytest.mark.parametrize("datum", ["wgs84", "gcj02", "bd09"])
def test_the_offset_check_reference_answers_as_the_edges_strtree(datum):
    """EdgeReference (the segment index) gives diagnose_offset the distances and shares of a GeoSeries."""
    from weihai_gis import crs

    rng = np.random.default_rng(11)
    side = 30  # a dense jittered grid in Weihai's plane: the near-street test decides, not the medians
    gx = X0 + np.arange(side)[None, :] * 80.0 + rng.uniform(-10, 10, (side, side))
    gy = Y0 + np.arange(side)[:, None] * 80.0 + rng.uniform(-10, 10, (side, side))
    a = np.stack([gx, gy], -1)
    segs = np.concatenate([np.stack([a[:, :-1], a[:, 1:]], 2), np.stack([a[:-1], a[1:]], 2)], axis=None)
    segs = segs.reshape(-1, 2, 2)
    from weihai_gis.network import WalkNetwork

    m = len(segs)
    frame = gpd.GeoDataFrame(
        {"u": np.arange(m) * 2, "v": np.arange(m) * 2 + 1, "highway": "residential"},
        geometry=shapely.linestrings(segs),
        crs=CRS,
    )
    net = WalkNetwork.from_segments(frame, crs=CRS, source="grid")
    on = rng.integers(0, net.n_edges, 400)
    xy = shapely.get_coordinates(
        shapely.line_interpolate_point(net.edge_geometry[on], rng.uniform(0, 60, 400))
    )
    lon, lat = gpd.GeoSeries(shapely.points(xy), crs=CRS).to_crs(crs.WEB_CRS).get_coordinates().to_numpy().T
    if datum != "wgs84":
        lon, lat = (crs.wgs84_to_gcj02 if datum == "gcj02" else crs.wgs84_to_bd09)(lon, lat)
    ref = EdgeReference(net)
    assert len(ref) == net.n_edges
    mine, theirs = crs.diagnose_offset(lon, lat, ref), crs.diagnose_offset(lon, lat, net.edge_series())
    assert mine.best == theirs.best and mine.shifted == theirs.shifted
    for k in theirs.median_m:
        assert mine.median_m[k] == pytest.approx(theirs.median_m[k], abs=1e-9)
    assert mine.near_share == theirs.near_share
    assert crs.near_street_shares(lon, lat, ref) == crs.near_street_shares(lon, lat, net.edge_series())


@pytest.mark.parametrize("n_far", [40, 6000])
def test_points_beyond_the_networks_edge_are_found_with_or_without_the_kd_tree(n_far):
    """A few far points are answered by wider blocks (no k-d tree built), many by the k-d tree: both exact."""
    from weihai_gis.network import segments

    net = grid_network(30, 50.0)  # cells of ~50 m: points 600-1500 m out are 12-30 cells away
    rng = np.random.default_rng(4)
    angle = rng.uniform(0, 2 * np.pi, n_far)
    reach = rng.uniform(600, 1500, n_far)
    centre = np.array([X0 + 725.0, Y0 + 725.0])
    xy = centre + (725.0 + reach)[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    assert_same_as_shapely(net, xy)
    # 40 points fit the wider blocks' budget; 6000 (about 12 cells out: 6000 x 33^2 cells) do not
    assert 40 * (2 * segments._WIDE_RINGS[-1] + 1) ** 2 <= segments._WIDE_CELLS < 6000 * 33**2
    assert (segment_index(net, 1)._midpoints is None) == (n_far == 40)


def test_one_index_serves_snapping_and_the_offset_check_when_every_edge_is_in_a_large_component():
    net = grid_network(6, 100.0)
    assert segment_index(net, 20) is segment_index(net, 0)
    frame = net.edge_series().to_frame("geometry")
    island = shapely.LineString([(X0 + 2000, Y0), (X0 + 2050, Y0)])
    lines = np.concatenate([frame.geometry.to_numpy(), [island]])
    u, v = np.r_[net.node_ids[net.edge_u], -1], np.r_[net.node_ids[net.edge_v], -2]
    roads = gpd.GeoDataFrame({"u": u, "v": v, "highway": "residential"}, geometry=lines, crs=net.crs)
    cut = WalkNetwork.from_segments(roads, crs=net.crs, source="grid + island")
    full, large = segment_index(cut, 0), segment_index(cut, 20)
    assert full is not large
    assert len(full.edges) == cut.n_edges and len(large.edges) == cut.n_edges - 1


def test_an_index_of_every_edge_holds_no_coordinate_of_its_own():
    # the segment ends are views of the network's vertex array (a province's would copy 200 MiB), and an
    # index of a subset of edges owns its vertices, which the network keeps unchanged
    net = grid_network(6, 100.0)
    full = segment_index(net, 0)
    for ends in (full.x0, full.y0, full.x1, full.y1):
        assert np.shares_memory(ends, net.edge_coords)
    assert full.line_of_edge is None and full.n_segments == len(net.edge_coords) - net.n_edges
    edges = np.arange(0, net.n_edges, 2)
    coords, counts = net.edge_vertices(edges)
    part = SegmentIndex(coords, counts, edges, net.n_edges)
    assert not np.shares_memory(part.x0, net.edge_coords)
    assert (part.line_of_edge[edges] == np.arange(len(edges))).all() and (part.line_of_edge[1::2] == -1).all()
    mid = net.edge_coords[net.edge_offsets[edges]] * 0.5 + net.edge_coords[net.edge_offsets[edges] + 1] * 0.5
    edge, dist, _ = part.nearest(mid[:, 0], mid[:, 1])
    assert (edge == edges).all() and np.allclose(dist, 0.0)
