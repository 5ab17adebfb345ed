"""WalkNetwork.save / load keeps the barriers a network was cut at, and snapping's memo is keyed by them.

Oracles: the saved arrays and barrier WKB bit for bit, and the snapping of the network before saving (a
point never snaps across a barrier: without its barriers the loaded network would snap it across).
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely
from grid_network import CRS, X0, Y0, grid_network

from weihai_gis.errors import InputFileError
from weihai_gis.network import cut_network, snap_points
from weihai_gis.network.graph import WalkNetwork

SNAP = {"max_snap_m": 500.0, "min_component_nodes": 1}


def _layer(*geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"b{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=CRS)


def _cut() -> WalkNetwork:
    """A 5 × 5 grid of 100 m blocks cut by a fence line at x = 280 and a fenced campus (a polygon)."""
    fence = shapely.LineString([(X0 + 280, Y0 - 50), (X0 + 280, Y0 + 450)])
    campus = shapely.box(X0 + 20, Y0 + 120, X0 + 180, Y0 + 280)
    return cut_network(grid_network(), _layer(fence, campus))


def _points() -> gpd.GeoDataFrame:
    # beside the fence on either side (the nearest street lies across it), inside and outside the campus
    xy = [(275, 50), (285, 350), (100, 130), (100, 110), (60, 290), (400, 400)]
    return gpd.GeoDataFrame(geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


def _wkb(geoms) -> list[bytes]:
    return list(shapely.to_wkb(np.asarray(geoms, dtype=object)))


@pytest.mark.parametrize("cut", [True, False], ids=["barrier-split", "uncut"])
def test_save_and_load_keep_the_network_and_its_barriers_bit_for_bit(tmp_path, cut):
    net = _cut() if cut else grid_network()
    net.save(tmp_path / "net")
    back = WalkNetwork.load(tmp_path / "net")
    for name in ("node_ids", "node_xy", "edge_u", "edge_v", "edge_length_m", "highway"):
        np.testing.assert_array_equal(getattr(back, name), getattr(net, name), err_msg=name)
    assert _wkb(back.edge_geometry) == _wkb(net.edge_geometry)
    if cut:
        assert back.barriers is not None and len(back.barriers) == 2
        assert _wkb(back.barriers) == _wkb(net.barriers)
        assert back.barriers_key() == net.barriers_key() != ""
    else:
        assert back.barriers is None and back.barriers_key() == ""


def test_a_loaded_cut_network_snaps_as_the_cut_network_never_across_a_barrier(tmp_path):
    net = _cut()
    net.save(tmp_path / "net")
    back = WalkNetwork.load(tmp_path / "net")
    pts = _points()
    want = snap_points(net, pts, **SNAP)
    got = snap_points(back, pts, **SNAP)
    for field in dataclasses.fields(want):
        a, b = getattr(want, field.name), getattr(got, field.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(b, a, err_msg=field.name)
    # the same network without its barriers snaps the point beside the fence to the street across it
    bare = dataclasses.replace(back, barriers=None, _cache={})
    across = snap_points(bare, pts, **SNAP)
    assert across.connector_m[0] < want.connector_m[0] - 1.0


def test_the_snap_memo_is_keyed_by_the_barriers(tmp_path):
    net = _cut()
    pts = _points()
    cut_snap = snap_points(net, pts, **SNAP)
    bars = net.barriers
    net.barriers = None  # the same object without barriers: the memo must not hand back the cut snapping
    try:
        free = snap_points(net, pts, **SNAP)
        assert free.connector_m[0] < cut_snap.connector_m[0] - 1.0
    finally:
        net.barriers = bars
    assert snap_points(net, pts, **SNAP).connector_m[0] == cut_snap.connector_m[0]


def test_a_cache_with_damaged_barrier_bytes_is_an_unreadable_cache(tmp_path):
    net = _cut()
    net.save(tmp_path / "net")
    path = tmp_path / "net.npz"
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["barrier_wkb_length"] = arrays["barrier_wkb_length"] + 3
    np.savez(path, **arrays)

    with pytest.raises(InputFileError, match="unreadable"):
        WalkNetwork.load(tmp_path / "net")
