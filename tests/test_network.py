"""Walking network: readers agree, splitting, components, cache, snapping reasons."""

from __future__ import annotations

import importlib.util

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from weihai_gis.errors import CRSError, NetworkError
from weihai_gis.network import build_network, sample_osm_path, snap_points
from weihai_gis.network.osm import split_at_shared_vertices


@pytest.fixture(scope="module")
def helsinki():
    return build_network(sample_osm_path())


def _agree(a, b):
    assert a.edge_length_m.sum() == pytest.approx(b.edge_length_m.sum(), rel=1e-9)
    ca, cb = a.components(), b.components()
    assert ca.count == cb.count
    assert ca.largest_length_share == pytest.approx(cb.largest_length_share, rel=1e-9)


def test_sample_is_the_bundled_file_not_a_download():
    path = sample_osm_path()
    assert path.name == "Helsinki.osm.pbf" and "site-packages" in str(path) and path.stat().st_size > 100_000


def test_helsinki_network_excludes_barriers_and_reports_components(helsinki):
    assert not set(helsinki.highway) & {"motorway", "trunk", "motorway_link", "trunk_link"}
    comp = helsinki.components()
    assert comp.count > 1 and comp.sizes.sum() == helsinki.n_nodes
    assert 0.9 < comp.largest_length_share <= 1.0
    # lengths are the projected geometry lengths in metres
    np.testing.assert_allclose(helsinki.edge_length_m, shapely.length(helsinki.edge_geometry))


def test_gpkg_lines_rebuild_the_same_network(helsinki, tmp_path):
    path = tmp_path / "edges.gpkg"
    helsinki.edges_gdf().to_crs("EPSG:4490").to_file(path, layer="roads")
    rebuilt = build_network(path, layer="roads", crs=helsinki.crs)
    _agree(helsinki, rebuilt)


@pytest.mark.skipif(importlib.util.find_spec("osmium") is None, reason="pyosmium not installed")
def test_osm_xml_reader_agrees_with_pbf_reader(helsinki, tmp_path):
    import osmium

    xml = tmp_path / "helsinki.osm.bz2"
    writer = osmium.SimpleWriter(str(xml))
    for obj in osmium.FileProcessor(str(sample_osm_path())):
        writer.add(obj)
    writer.close()
    _agree(helsinki, build_network(xml))


@pytest.mark.skipif(importlib.util.find_spec("osmnx") is None, reason="osmnx not installed")
def test_osmnx_graphml_reader_agrees_with_pbf_reader(helsinki, tmp_path):
    import osmnx as ox

    edges = helsinki.edges_gdf().to_crs("EPSG:4326")
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    nodes = helsinki.nodes_gdf().to_crs("EPSG:4326")
    for nid, geom in zip(nodes["node_id"], nodes.geometry, strict=True):
        graph.add_node(int(nid), x=geom.x, y=geom.y)
    for row in edges.itertuples():
        # osmnx stores both directions of a two-way street
        graph.add_edge(
            int(row.u), int(row.v), highway=row.highway, geometry=row.geometry, length=row.length_m
        )
        graph.add_edge(
            int(row.v), int(row.u), highway=row.highway, geometry=row.geometry.reverse(), length=row.length_m
        )
    path = tmp_path / "walk.graphml"
    ox.save_graphml(graph, path)
    _agree(helsinki, build_network(path, crs=helsinki.crs))


def test_lines_are_split_at_shared_vertices_only():
    cross = np.array(
        [shapely.LineString([(0, 0), (5, 0), (10, 0)]), shapely.LineString([(5, -5), (5, 0), (5, 5)])]
    )
    _, _, segs, _ = split_at_shared_vertices(cross)
    assert len(segs) == 4
    assert sorted(shapely.length(segs)) == [5, 5, 5, 5]
    bend = np.array([shapely.LineString([(0, 0), (5, 0), (10, 3)])])
    assert len(split_at_shared_vertices(bend)[2]) == 1


def test_cache_skips_parsing_on_second_run(tmp_path, monkeypatch):
    first = build_network(sample_osm_path(), cache_dir=tmp_path)
    assert list(tmp_path.glob("network-*.npz"))
    import weihai_gis.network.build as build

    monkeypatch.setattr(build, "_read", lambda *a, **k: pytest.fail("parsed again despite the cache"))
    second = build_network(sample_osm_path(), cache_dir=tmp_path)
    np.testing.assert_array_equal(first.edge_length_m, second.edge_length_m)
    assert shapely.equals(first.edge_geometry, second.edge_geometry).all()


def test_cache_is_on_by_default_in_the_user_cache_folder(tmp_path, monkeypatch):
    import weihai_gis.network.build as build

    monkeypatch.delenv("WEIHAI_GIS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert build.default_cache_dir() == tmp_path / "xdg" / "weihai_gis" / "networks"
    monkeypatch.setenv("WEIHAI_GIS_CACHE_DIR", str(tmp_path / "mine"))
    assert build.default_cache_dir() == tmp_path / "mine"
    lines = [shapely.LineString([(i * 10.0, 0), ((i + 1) * 10.0, 0)]) for i in range(5)]
    frame = gpd.GeoDataFrame(
        {"highway": ["footway", "steps", None, "path", "service"]}, geometry=lines, crs="EPSG:4550"
    )
    src = tmp_path / "a.gpkg"
    frame.to_file(src)
    first = build_network(src, crs="EPSG:4550")
    assert len(list((tmp_path / "mine").glob("network-a-*.npz"))) == 1
    # the same content in another folder: loaded from the cache, messages name the new file
    (tmp_path / "elsewhere").mkdir()
    copy = tmp_path / "elsewhere" / "a.gpkg"
    copy.write_bytes(src.read_bytes())
    monkeypatch.setattr(build, "_read", lambda *a, **k: pytest.fail("parsed again despite the cache"))
    second = build_network(copy, crs="EPSG:4550")
    assert str(copy) in second.source and str(src) not in second.source
    for name in ("node_ids", "node_xy", "edge_u", "edge_v", "edge_length_m", "highway"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert shapely.equals_exact(first.edge_geometry, second.edge_geometry, tolerance=0).all()
    with pytest.raises(pytest.fail.Exception):
        build_network(copy, crs="EPSG:4550", cache=False)  # cache=False parses


def test_unwritable_cache_is_skipped_with_a_warning(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WEIHAI_GIS_CACHE_DIR", str(blocker / "sub"))
    lines = [shapely.LineString([(0, 0), (10, 0)]), shapely.LineString([(10, 0), (10, 10)])]
    src = tmp_path / "c.gpkg"
    gpd.GeoDataFrame(geometry=lines, crs="EPSG:4550").to_file(src)
    net = build_network(src)
    assert net.n_edges == 2
    assert "not written" in caplog.text and "network cache" in caplog.text


def test_analysis_crs_from_the_bounding_box_equals_geopandas_utm_estimate():
    from weihai_gis.network.build import analysis_crs_for

    for lon, lat, crs in (
        (24.94, 60.17, "EPSG:3067"),
        (-73.98, 40.75, "EPSG:3857"),
        (2.35, 48.85, "EPSG:4326"),
    ):
        pts = gpd.GeoSeries(shapely.points([(lon, lat), (lon + 0.05, lat + 0.03)]), crs="EPSG:4326")
        lines = gpd.GeoDataFrame(geometry=[shapely.LineString(pts.to_numpy())], crs="EPSG:4326").to_crs(crs)
        assert analysis_crs_for(lines) == f"EPSG:{lines.estimate_utm_crs().to_epsg()}"
    weihai = gpd.GeoDataFrame(geometry=[shapely.LineString([(122.1, 37.5), (122.2, 37.5)])], crs="EPSG:4326")
    assert analysis_crs_for(weihai.to_crs("EPSG:4550")) == "EPSG:4550"


def test_lines_without_walkable_highway_raise_network_error_naming_file(tmp_path):
    path = tmp_path / "motorway.gpkg"
    gpd.GeoDataFrame(
        {"highway": ["motorway"]},
        geometry=[shapely.LineString([(122.0, 37.0), (122.01, 37.0)])],
        crs="EPSG:4490",
    ).to_file(path, layer="roads")
    with pytest.raises(NetworkError, match=r"motorway\.gpkg"):
        build_network(path, layer="roads")


def test_metres_declared_as_degrees_raise_crs_error(tmp_path):
    path = tmp_path / "wrong.gpkg"
    gpd.GeoDataFrame(
        geometry=[shapely.LineString([(500000, 4100000), (500100, 4100000)])], crs="EPSG:4490"
    ).to_file(path, layer="roads")
    with pytest.raises(CRSError, match="roads"):
        build_network(path, layer="roads")


def test_snap_reasons_name_distance_and_component_size(tmp_path):
    lines = [shapely.LineString([(0, 0), (100 * i, 0)]) for i in (1,)]
    lines += [shapely.LineString([(i * 10.0, 0), ((i + 1) * 10.0, 0)]) for i in range(10, 20)]  # long path
    lines += [shapely.LineString([(0, 500), (10, 500)])]  # island of 2 nodes
    frame = gpd.GeoDataFrame(geometry=lines, crs="EPSG:4550")
    path = tmp_path / "lines.gpkg"
    frame.to_file(path)
    net = build_network(path, crs="EPSG:4550")
    pts = gpd.GeoSeries(
        [shapely.Point(50, 3), shapely.Point(50, -2000), shapely.Point(5, 501)], crs="EPSG:4550"
    )
    snap = snap_points(net, pts, max_snap_m=250, min_component_nodes=5)
    assert snap.reachable.tolist() == [True, False, False]
    assert snap.reason[1] == "snap distance 2000 m > max_snap_m 250 m"
    assert snap.reason[2].startswith("on an isolated component of 2 nodes")
    assert snap.connector_m[0] == pytest.approx(3.0)
    assert snap.to_u_m[0] + snap.to_v_m[0] == pytest.approx(net.edge_length_m[snap.edge[0]])


def test_point_beside_a_stray_path_snaps_to_the_connected_network(tmp_path):
    lines = [shapely.LineString([(i * 10.0, 0), ((i + 1) * 10.0, 0)]) for i in range(20)]  # street, 21 nodes
    lines += [shapely.LineString([(40, 30), (60, 30)])]  # courtyard path OSM left unconnected (2 nodes)
    path = tmp_path / "lines.gpkg"
    gpd.GeoDataFrame(geometry=lines, crs="EPSG:4550").to_file(path)
    net = build_network(path, crs="EPSG:4550")
    pts = gpd.GeoSeries([shapely.Point(50, 35)], crs="EPSG:4550")  # 5 m from the path, 35 m from the street
    snap = snap_points(net, pts, max_snap_m=250, min_component_nodes=5)
    assert snap.reachable.tolist() == [True]
    assert snap.connector_m[0] == pytest.approx(35.0)
    # with a snap limit below 35 m the point is unreachable, and the reason names the isolated path
    snap = snap_points(net, pts, max_snap_m=20, min_component_nodes=5)
    assert snap.reachable.tolist() == [False]
    assert snap.reason[0].startswith("on an isolated component of 2 nodes")
    assert "35 m away" in snap.reason[0]


def _random_net(seed: int, n_lines: int):
    """A small random network of straight segments with shared end points, parallels and islands."""
    from weihai_gis.network import WalkNetwork

    rng = np.random.default_rng(seed)
    cells = rng.choice(144, size=n_lines + 4, replace=False)  # distinct points: no zero-length segment
    xy = np.column_stack([cells // 12, cells % 12]).astype(float) * 25.0
    u = rng.integers(0, len(xy), n_lines)
    v = (u + rng.integers(1, len(xy), n_lines)) % len(xy)  # never u
    keep = u != v
    u, v = u[keep], v[keep]
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    frame = gpd.GeoDataFrame({"u": u, "v": v, "highway": "footway"}, geometry=geoms, crs="EPSG:4550")
    return WalkNetwork.from_segments(frame, crs="EPSG:4550", source=f"random {seed}")


@given(seed=st.integers(0, 10_000), n_lines=st.integers(2, 40), min_nodes=st.integers(1, 6))
@settings(max_examples=40, deadline=None)
def test_snaps_equal_a_brute_force_nearest_edge_and_a_fresh_index(seed, n_lines, min_nodes):
    net = _random_net(seed, n_lines)
    rng = np.random.default_rng(seed + 1)
    pts = gpd.GeoSeries(shapely.points(rng.uniform(-50, 350, size=(30, 2))), crs="EPSG:4550")
    first = snap_points(net, pts.iloc[:10], max_snap_m=60, min_component_nodes=min_nodes)
    reused = snap_points(net, pts, max_snap_m=60, min_component_nodes=min_nodes)  # cached index
    fresh = snap_points(
        _random_net(seed, n_lines), pts, max_snap_m=60, min_component_nodes=min_nodes
    )  # new network object: index built from scratch
    for name in ("edge", "pos_m", "connector_m", "reachable", "reason"):
        np.testing.assert_array_equal(getattr(reused, name), getattr(fresh, name))
        np.testing.assert_array_equal(getattr(reused, name)[:10], getattr(first, name))
    # oracle: the connector is the distance to the nearest edge of a component with >= min_nodes nodes
    size = net.components().node_component_size()[net.edge_u]
    routable = net.edge_geometry[size >= min_nodes]
    dist = shapely.distance(pts.to_numpy()[:, None], routable[None, :])
    expected = dist.min(axis=1) if routable.size else np.full(len(pts), np.inf)
    np.testing.assert_allclose(reused.connector_m, expected, rtol=0, atol=1e-9)
    assert (reused.reachable == (expected <= 60)).all()
    got = shapely.distance(pts.to_numpy()[reused.edge >= 0], net.edge_geometry[reused.edge[reused.edge >= 0]])
    np.testing.assert_allclose(got, reused.connector_m[reused.edge >= 0], atol=1e-9)


def test_snapping_the_same_points_again_reuses_the_result_and_equals_a_fresh_snap():
    from weihai_gis.network.snap import SNAP_MEMO_SIZE

    net = _random_net(7, 30)
    rng = np.random.default_rng(8)
    xy = rng.uniform(-50, 350, size=(40, 2))
    pts = gpd.GeoSeries(shapely.points(xy), crs="EPSG:4550")
    first = snap_points(net, pts, max_snap_m=60, min_component_nodes=2)
    # the same coordinates in another frame (new index, copied geometries) hit the memo
    again = snap_points(
        net, gpd.GeoDataFrame({"a": 1}, geometry=shapely.points(xy), index=np.arange(40) + 100, crs=pts.crs)
    )
    assert snap_points(net, pts, max_snap_m=60, min_component_nodes=2) is first
    assert again is not first  # other limits (the config defaults): its own entry
    with pytest.raises(ValueError, match="read-only"):
        first.connector_m[0] = 0.0  # shared by every caller: never changed in place
    fresh = snap_points(_random_net(7, 30), pts, max_snap_m=60, min_component_nodes=2)
    moved = snap_points(
        net, gpd.GeoSeries(shapely.points(xy[::-1]), crs=pts.crs), max_snap_m=60, min_component_nodes=2
    )
    for name in ("edge", "pos_m", "connector_m", "reachable", "reason"):
        np.testing.assert_array_equal(getattr(first, name), getattr(fresh, name))
        np.testing.assert_array_equal(
            getattr(moved, name), getattr(first, name)[::-1]
        )  # order is part of the key
    for k in range(SNAP_MEMO_SIZE + 2):  # the memo is bounded: old entries go, results stay right
        snap_points(net, pts.translate(k + 1.0), max_snap_m=60, min_component_nodes=2)
    assert len(net._cache["snap_memo"]) == SNAP_MEMO_SIZE
    assert snap_points(net, pts, max_snap_m=60, min_component_nodes=2) is not first


@given(seed=st.integers(0, 10_000), n_lines=st.integers(1, 40))
@settings(max_examples=40, deadline=None)
def test_csr_keeps_the_shortest_parallel_edge_and_drops_self_loops(seed, n_lines):
    from weihai_gis.network import WalkNetwork

    rng = np.random.default_rng(seed)
    n = 8
    u = rng.integers(0, n, n_lines)
    v = rng.integers(0, n, n_lines)
    length = rng.uniform(1, 100, n_lines)
    net = WalkNetwork(
        node_ids=np.arange(n),
        node_xy=np.zeros((n, 2)),
        edge_u=u,
        edge_v=v,
        edge_length_m=length,
        edge_geometry=np.full(n_lines, None, dtype=object),
        highway=np.full(n_lines, "", dtype=object),
        crs="EPSG:4550",
    )
    expected = np.full((n, n), np.inf)
    for a, b, w in zip(u, v, length, strict=True):
        if a != b:
            expected[a, b] = expected[b, a] = min(expected[a, b], w)
    csr = net.to_csr(extra_nodes=2)
    assert csr.shape == (n + 2, n + 2)
    assert csr.indices.dtype == np.int32
    dense = np.full((n + 2, n + 2), np.inf)
    rows = np.repeat(np.arange(n + 2), np.diff(csr.indptr))
    assert not np.any(np.bincount(rows * (n + 2) + csr.indices) > 1)  # no duplicate entries
    dense[rows, csr.indices] = csr.data
    np.testing.assert_array_equal(dense[:n, :n], expected)
    assert np.isinf(dense[n:]).all() and np.isinf(dense[:, n:]).all()
    assert net.to_csr() is net.to_csr()  # built once


_TAG_VALUES = {
    "highway": [
        "footway",
        " Path ",
        "motorway",
        "trunk_link",
        "['footway', 'path']",
        '["trunk", "path"]',
        "x",
    ],
    "foot": ["no", "yes", "designated", "YES", "private", "x"],
    "access": ["private", "no", "yes", "x"],
    "area": ["yes", "no", "x"],
}


def _walkable_by_rules(row: dict) -> bool:
    """Plain per-row reading of walkable.yaml (the oracle for the vectorised mask)."""
    from weihai_gis.standards import walkable_rules

    rules = walkable_rules()

    def text(name):
        value = row.get(name)
        return "" if value is None or value != value else str(value).strip().lower()

    highway = text("highway").strip("[]'\" ")
    highway = highway.replace('"', "'").split(",")[0].strip().strip("'\" ")
    foot, access, area = text("foot"), text("access"), text("area")
    if highway not in rules["walkable_highway"] or highway in rules["barrier_highway"]:
        return False
    if foot in rules["foot_forbidden"] or area in rules["area_excluded"]:
        return False
    return not (access in rules["access_forbidden"] and foot not in rules["foot_allowed"])


@given(
    rows=st.lists(
        st.fixed_dictionaries({k: st.one_of(st.none(), st.sampled_from(v)) for k, v in _TAG_VALUES.items()}),
        min_size=1,
        max_size=30,
    ),
    drop=st.sets(st.sampled_from(sorted(_TAG_VALUES))),
)
@settings(max_examples=60, deadline=None)
def test_walkable_mask_equals_the_rules_read_row_by_row(rows, drop):
    import pandas as pd

    from weihai_gis.network.tags import walkable_mask

    frame = pd.DataFrame(rows).drop(columns=sorted(drop))
    expected = [_walkable_by_rules({k: r[k] for k in r if k not in drop}) for r in rows]
    assert walkable_mask(frame).tolist() == expected


@given(
    xy=st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=2, max_size=40),
    cut=st.lists(st.integers(1, 39), max_size=6),
    scale=st.sampled_from([1.0, 1000.0, 1e7]),
)
@settings(max_examples=60, deadline=None)
def test_split_keys_match_row_wise_unique_of_rounded_coordinates(xy, cut, scale):
    pts = np.asarray(xy, dtype=float) * scale + 0.0001
    bounds = sorted({c for c in cut if c < len(pts) - 1})
    pieces = np.split(pts, bounds)
    lines = [shapely.LineString(p) for p in pieces if len(p) >= 2]
    if not lines:
        return
    u, v, segs, _ = split_at_shared_vertices(np.asarray(lines, dtype=object))
    coords = shapely.get_coordinates(np.asarray(lines, dtype=object))
    _, keys = np.unique(np.round(coords / 0.001).astype(np.int64), axis=0, return_inverse=True)
    keys = keys.ravel()
    # u, v identify the same vertex exactly when their rounded coordinates agree
    start = shapely.get_coordinates(shapely.get_point(segs, 0))
    end = shapely.get_coordinates(shapely.get_point(segs, -1))
    ends = np.concatenate([start, end])
    ids = np.concatenate([u, v])
    grid = np.round(ends / 0.001).astype(np.int64)
    same_id = ids[:, None] == ids[None, :]
    same_xy = (grid[:, None, :] == grid[None, :, :]).all(axis=2)
    np.testing.assert_array_equal(same_id, same_xy)
    from weihai_gis.network.osm import _grid_keys

    np.testing.assert_array_equal(_grid_keys(coords, 0.001), keys)  # packed 1-D keys, same numbering
    np.testing.assert_allclose(shapely.length(segs).sum(), sum(line.length for line in lines))


def test_coordinates_that_do_not_fit_the_declared_crs_raise_crs_error(tmp_path):
    path = tmp_path / "zone_prefix.gpkg"  # 3-degree GK coordinates with the zone prefix, declared without it
    lines = [shapely.LineString([(40_520_000, 4_150_000), (40_520_100, 4_150_000)])]
    gpd.GeoDataFrame(geometry=lines, crs="EPSG:4550").to_file(path)
    with pytest.raises(CRSError, match="does not fit the coordinates"):
        build_network(path)


def test_repr_is_one_short_line_with_counts_not_the_arrays(helsinki):
    text = repr(helsinki)
    assert "\n" not in text and len(text) < 300, text
    assert f"{len(helsinki.node_ids)} nodes" in text and f"{len(helsinki.edge_u)} edges" in text
    assert "array" not in text and "LINESTRING" not in text
