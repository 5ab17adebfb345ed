"""Driving network: one-way streets respected (hand-made square), times against a networkx DiGraph oracle."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from weihai_gis.network.drive import build_drive_network, drive_nearest, drive_network_from_segments

CRS = "EPSG:4550"
X0, Y0 = 560_000.0, 4_150_000.0


def _square(oneway_bc):
    """Square A(0,0) B(1000,0) C(1000,1000) D(0,1000) of primary roads (40 km/h); BC one-way as given."""
    pts = {1: (0, 0), 2: (1000, 0), 3: (1000, 1000), 4: (0, 1000)}
    uv = [(1, 2), (2, 3), (3, 4), (4, 1)]
    lines = [
        shapely.LineString([(X0 + pts[a][0], Y0 + pts[a][1]), (X0 + pts[b][0], Y0 + pts[b][1])])
        for a, b in uv
    ]
    seg = gpd.GeoDataFrame(
        {
            "u": [a for a, _ in uv],
            "v": [b for _, b in uv],
            "highway": "primary",
            "oneway": [None, oneway_bc, None, None],
        },
        geometry=lines,
        crs=CRS,
    )
    return drive_network_from_segments(seg, crs=CRS, source="square")


@pytest.mark.parametrize(
    ("oneway_bc", "minutes", "metres"),
    [
        (None, 1.5 + 0.75, 1500),  # A→B→sample
        ("yes", 1.5 + 0.75, 1500),  # B→C allowed: same
        ("-1", 3.0 + 0.75, 2500),  # only C→B: A→D→C, then down to the sample
    ],
)
def test_one_way_street_forces_the_detour(oneway_bc, minutes, metres):
    drive = _square(oneway_bc)
    station = gpd.GeoSeries([shapely.Point(X0, Y0)], crs=CRS)
    home = gpd.GeoSeries([shapely.Point(X0 + 1010, Y0 + 500)], crs=CRS)  # 10 m off BC, halfway
    access = 10 / (5 * 1000 / 60)  # 10 m at the 5 km/h access speed
    t, _ = drive_nearest(drive, home, station, min_component_nodes=1)
    assert t[0] == pytest.approx(minutes + access)  # 40 km/h: 1000 m in 1.5 min
    d, _ = drive_nearest(drive, home, station, weight="metres", min_component_nodes=1)
    assert d[0] == pytest.approx(metres + 10)
    t, _ = drive_nearest(drive, home, station, limit=2.0, min_component_nodes=1)
    assert np.isnan(t[0])


def test_station_and_home_on_the_same_one_way_edge():
    drive = _square("-1")  # BC runs C→B
    station = gpd.GeoSeries([shapely.Point(X0 + 1000, Y0 + 800)], crs=CRS)
    below = gpd.GeoSeries([shapely.Point(X0 + 1000, Y0 + 300)], crs=CRS)
    above = gpd.GeoSeries([shapely.Point(X0 + 1000, Y0 + 900)], crs=CRS)
    d, _ = drive_nearest(drive, below, station, weight="metres", min_component_nodes=1)
    assert d[0] == pytest.approx(500)  # downstream along C→B
    d, _ = drive_nearest(drive, above, station, weight="metres", min_component_nodes=1)
    assert d[0] == pytest.approx(
        800 + 1000 + 1000 + 1000 + 100
    )  # round the block: down to B, B→A→D→C, to 900


def test_times_match_a_networkx_digraph_on_the_weihai_extract():
    from weihai_gis import data

    pbf = data.path("weihai-hitwh.osm.pbf")
    if not pbf.exists():
        pytest.skip("embedded 山大哈工大 extract not present")
    drive = build_drive_network(pbf)
    net = drive.net
    assert (drive.forward ^ drive.backward).sum() > 50  # the extract maps dual carriageways as one-way pairs
    minutes = drive.edge_minutes()
    g = nx.DiGraph()
    for e in range(net.n_edges):
        u, v, w = int(net.edge_u[e]), int(net.edge_v[e]), float(minutes[e])
        for a, b, ok in ((u, v, drive.forward[e]), (v, u, drive.backward[e])):
            if ok and a != b and (not g.has_edge(a, b) or g[a][b]["weight"] > w):
                g.add_edge(a, b, weight=w)
    rng = np.random.default_rng(0)
    comp = net.components().node_component_size()
    big = np.flatnonzero(comp >= 50)
    stations = rng.choice(big, 3, replace=False)
    homes = big
    pts = lambda idx: gpd.GeoSeries(shapely.points(net.node_xy[idx]), crs=net.crs)  # noqa: E731
    got, snap = drive_nearest(drive, pts(homes), pts(stations))
    want = nx.multi_source_dijkstra_path_length(g, {int(s) for s in stations}, weight="weight")
    want = np.array([want.get(int(h), np.nan) for h in homes])
    ok = snap.reachable & np.isfinite(want)
    assert ok.sum() > 100
    np.testing.assert_allclose(got[ok], want[ok], atol=1e-9)
    # one-way streets make some nodes unreachable or farther than in the undirected graph
    und = nx.multi_source_dijkstra_path_length(g.to_undirected(), {int(s) for s in stations}, weight="weight")
    und = np.array([und.get(int(h), np.nan) for h in homes])
    assert (want[ok] >= und[ok] - 1e-9).all() and (want[ok] > und[ok] + 1e-6).any()
