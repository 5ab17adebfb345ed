"""Barriers and closures cut the walking network; crossings reopen it (oracle: shapely per edge + networkx)."""

from __future__ import annotations

import functools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from grid_network import CRS, X0, Y0, grid_network, node_index, nx_graph
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from weihai_gis.errors import CRSError, LayerError
from weihai_gis.layers.io import read_vector
from weihai_gis.network import build_network, snap_points
from weihai_gis.network.barriers import barrier_cut, cut_network, disconnected_origins
from weihai_gis.network.osm import read_osm_crossings
from weihai_gis.samples import hitwh_inputs
from weihai_gis.synthetic import primary_road_barriers

TOL = 5.0


def _layer(*geoms, crs=CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"b{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=crs)


def _pt(x, y):
    return shapely.Point(X0 + x, Y0 + y)


def _line(*xy):
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in xy])


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def slow_removed(net, barriers, crossings=None, tol=TOL, along=2.0) -> tuple[np.ndarray, np.ndarray]:
    """The module's rules, one edge and one barrier at a time with scalar shapely calls (the oracle's cut)."""
    bars = list(barriers.to_crs(net.crs).geometry)
    pts = [] if crossings is None else list(crossings.to_crs(net.crs).geometry)
    removed = np.zeros(net.n_edges, dtype=bool)
    reopened = np.zeros(net.n_edges, dtype=bool)
    for e, edge in enumerate(net.edge_geometry):
        for bar in bars:
            if not edge.intersects(bar):
                continue
            if bar.geom_type in ("Polygon", "MultiPolygon"):
                blocked = not edge.touches(bar)
            else:
                blocked = not all(shapely.Point(c).distance(bar) <= along for c in edge.coords)
            if not blocked:
                continue
            meet = edge.intersection(bar)
            if bar.geom_type not in ("Polygon", "MultiPolygon") and any(p.distance(meet) <= tol for p in pts):
                reopened[e] = True
            else:
                removed[e] = True
    return removed, reopened & ~removed


def _dist(net, a, b):
    return dijkstra(net.to_csr(), directed=False, indices=a)[b]


def test_a_line_across_the_grid_cuts_the_edges_it_crosses_and_splits_the_grid_in_two():
    net = grid_network()
    cut = barrier_cut(net, _layer(_line((250, -50), (250, 450))))
    assert cut.n_removed == 5 and cut.n_reopened == 0
    after = cut.apply(net)
    comp = after.components()
    assert comp.count == 2 and sorted(comp.sizes.tolist()) == [10, 15]
    assert np.isinf(_dist(after, node_index(net, 0), node_index(net, 4)))


def test_a_crossing_reopens_only_its_edge_and_the_detour_equals_networkx():
    net = grid_network()
    bars = _layer(_line((250, -50), (250, 450)))
    crossings = _layer(_pt(252, 200))  # 2 m beside the barrier on the middle row
    cut = barrier_cut(net, bars, crossings, crossing_tolerance_m=TOL)
    assert cut.n_removed == 4 and cut.n_reopened == 1
    after = cut.apply(net)
    a, b = node_index(net, 0), node_index(net, 4)
    want = nx.dijkstra_path_length(nx_graph(net, ~slow_removed(net, bars, crossings)[0]), a, b)
    assert _dist(after, a, b) == pytest.approx(want) == pytest.approx(800.0)  # up 200, across 400, down 200


def test_a_barrier_through_a_junction_closes_every_edge_meeting_it():
    net = grid_network()
    cut = barrier_cut(net, _layer(_line((190, 190), (210, 210))))  # crosses node (2, 2) diagonally
    assert cut.n_removed == 4
    centre = node_index(net, 12)
    assert cut.removed[(net.edge_u == centre) | (net.edge_v == centre)].all()


def test_a_polygon_removes_edges_entering_it_and_keeps_edges_on_or_outside_its_outline():
    net = grid_network()
    assert barrier_cut(net, _layer(_box(150, 150, 250, 250))).n_removed == 4  # around the centre node
    assert barrier_cut(net, _layer(_box(100, 100, 200, 200))).n_removed == 0  # a block: outline = streets
    assert barrier_cut(net, _layer(_box(120, 120, 180, 180))).n_removed == 0  # inside a block
    # a fenced campus over four blocks: the 4 edges inside it go, the streets on its outline stay
    assert barrier_cut(net, _layer(_box(100, 100, 300, 300))).n_removed == 4


def test_a_road_drawn_as_its_own_barrier_stays_walkable_along_but_cannot_be_crossed():
    net = grid_network()
    cut = barrier_cut(net, _layer(_line((0, 200), (400, 200))))
    along = np.isclose(shapely.get_coordinates(shapely.get_point(net.edge_geometry, 0))[:, 1], Y0 + 200) & (
        np.isclose(shapely.get_coordinates(shapely.get_point(net.edge_geometry, -1))[:, 1], Y0 + 200)
    )
    assert not cut.removed[along].any() and along.sum() == 4
    assert cut.n_removed == 10  # the vertical edges above and below each of the 5 nodes of the row
    after = cut.apply(net)
    assert np.isinf(_dist(after, node_index(net, 0), node_index(net, 24)))
    assert _dist(after, node_index(net, 10), node_index(net, 14)) == pytest.approx(400.0)


def test_the_input_network_is_not_changed_and_the_cut_keeps_its_nodes():
    net = grid_network()
    before = (net.edge_u.copy(), net.edge_length_m.copy(), net.to_csr().copy())
    after = cut_network(net, _layer(_line((250, -50), (250, 450))))
    assert net.n_edges == 40 and after.n_edges == 35 and after.n_nodes == net.n_nodes
    np.testing.assert_array_equal(net.edge_u, before[0])
    np.testing.assert_array_equal(net.edge_length_m, before[1])
    assert (net.to_csr() != before[2]).nnz == 0 and net.components().count == 1
    np.testing.assert_array_equal(after.node_ids, net.node_ids)


def test_barriers_in_another_crs_are_reprojected_to_the_same_cut():
    net = grid_network()
    bars = _layer(_line((250, -50), (250, 450)), _box(30, 330, 70, 420))
    lonlat = bars.to_crs("EPSG:4326")
    np.testing.assert_array_equal(barrier_cut(net, lonlat).removed, barrier_cut(net, bars).removed)


@pytest.mark.parametrize(
    ("frame", "error", "needle"),
    [
        (_layer(), LayerError, "empty"),
        (_layer(_line((0, 0), (1, 1)), crs=None), CRSError, "no CRS"),
        (
            _layer(shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])),
            LayerError,
            "invalid",
        ),
        (_layer(_pt(0, 0)), LayerError, "Point"),
        (_layer(shapely.LineString()), LayerError, "no geometry"),
    ],
)
def test_bad_barrier_layers_are_refused_with_the_reason(frame, error, needle):
    with pytest.raises(error, match=needle):
        barrier_cut(grid_network(), frame)


def test_errors_name_the_file_and_layer_the_barriers_were_read_from(tmp_path):
    path = tmp_path / "closures.gpkg"
    bad = _layer(shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)]))
    bad.to_file(path, layer="工地", driver="GPKG")
    with pytest.raises(LayerError, match=r"closures\.gpkg.*工地.*invalid"):
        barrier_cut(grid_network(), read_vector(path, layer="工地", what="barriers"))
    with pytest.raises(LayerError, match=r"crossings.*points"):
        barrier_cut(grid_network(), _layer(_line((0, 0), (1, 1))), _layer(_line((0, 0), (1, 1))))


@functools.cache
def _hitwh():
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    return net, inputs, read_osm_crossings(inputs.network)


def _hitwh_barriers(net):
    """Every primary road of the extract as a barrier line, plus a closed 200 m square around a building."""
    lines = list(primary_road_barriers(net).geometry)
    centre = shapely.centroid(shapely.union_all(net.edge_geometry))
    site = shapely.buffer(centre, 100, cap_style="square")
    return gpd.GeoDataFrame(geometry=[*lines, site], crs=net.crs)


def test_cut_equals_the_per_edge_shapely_cut_and_distances_equal_networkx_on_the_shipped_extract():
    net, _inputs, crossings = _hitwh()
    bars = _hitwh_barriers(net)
    cut = barrier_cut(net, bars, crossings, crossing_tolerance_m=15, along_tolerance_m=2)
    want_removed, want_reopened = slow_removed(net, bars, crossings, tol=15, along=2)
    np.testing.assert_array_equal(cut.removed, want_removed)
    np.testing.assert_array_equal(cut.reopened, want_reopened)
    assert cut.n_removed > 30 and cut.n_reopened > 20  # OSM crossing nodes on the primary roads open streets
    after = cut.apply(net)
    graph = nx_graph(net, ~want_removed)
    rng = np.random.default_rng(0)
    sources = rng.choice(net.n_nodes, 15, replace=False)
    got = dijkstra(after.to_csr(), directed=False, indices=sources)
    for k, s in enumerate(sources):
        want = np.full(net.n_nodes, np.inf)
        for node, d in nx.single_source_dijkstra_path_length(graph, int(s)).items():
            want[node] = d
        np.testing.assert_allclose(got[k], want, rtol=0, atol=1e-6)
    # a cut never shortens a walk
    before = dijkstra(net.to_csr(), directed=False, indices=sources)
    assert (got >= before - 1e-9).all() and (got > before + 1).any()


def test_disconnected_origins_counts_who_loses_the_network_and_nobody_else():
    net = grid_network()
    bars = _layer(_box(150, 150, 250, 250), _box(-60, -60, 160, 60))  # the centre node and the corner block
    after = cut_network(net, bars)
    origins = gpd.GeoDataFrame(geometry=[_pt(200, 200), _pt(10, 10), _pt(300, 310)], crs=CRS)
    lost = disconnected_origins(net, after, origins, max_snap_m=30, min_component_nodes=3)
    assert lost.tolist() == [True, True, False]
    assert snap_points(net, origins, max_snap_m=30, min_component_nodes=3).reachable.all()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(*(st.floats(-50, 450, allow_nan=False) for _ in range(4))), min_size=1, max_size=4),
    st.lists(st.tuples(st.floats(-20, 420), st.floats(-20, 420)), max_size=6),
)
def test_random_barriers_cut_like_the_slow_oracle_and_never_shorten_a_walk(lines, points):
    net = grid_network()
    lines = [(x0, y0, x1, y1) for x0, y0, x1, y1 in lines if abs(x1 - x0) + abs(y1 - y0) > 1]
    if not lines:
        return
    bars = _layer(*[_line((x0, y0), (x1, y1)) for x0, y0, x1, y1 in lines])
    crossings = _layer(*[_pt(x, y) for x, y in points]) if points else None
    cut = barrier_cut(net, bars, crossings, crossing_tolerance_m=TOL, along_tolerance_m=2)
    removed, reopened = slow_removed(net, bars, crossings)
    np.testing.assert_array_equal(cut.removed, removed)
    np.testing.assert_array_equal(cut.reopened, reopened)
    got = dijkstra(cut.apply(net).to_csr(), directed=False)
    assert (got >= dijkstra(net.to_csr(), directed=False) - 1e-9).all()
