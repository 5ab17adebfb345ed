"""Exact service areas: reached streets within the cutoff by networkx, polygons = reached lines + buffer, no hull."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from grid_network import CRS, X0, Y0, grid_network
from hypothesis import given, settings
from hypothesis import strategies as st
from network_oracle import oracle_distances

from weihai_gis.lifecircle.service_areas import ReachedParts, reached_parts, service_area_polygons
from weihai_gis.network import Snapped, build_network, cut_network, snap_points
from weihai_gis.samples import hitwh_inputs
from weihai_gis.standards import load_profile

SNAP = {"min_component_nodes": 1}


def _on_edges(net, edge, pos) -> Snapped:
    """Points lying on the network at ``pos`` metres along ``edge`` (no connector)."""
    edge = np.asarray(edge, dtype=np.int64)
    pos = np.asarray(pos, dtype=float)
    n = len(edge)
    return Snapped(
        edge=edge,
        pos_m=pos,
        to_u_m=pos,
        to_v_m=net.edge_length_m[edge] - pos,
        connector_m=np.zeros(n),
        reachable=np.ones(n, dtype=bool),
        reason=np.full(n, None, dtype=object),
    )


def _samples(parts: ReachedParts, per_part: int, rng) -> tuple[np.ndarray, np.ndarray]:
    frac = rng.random((len(parts), per_part))
    edge = np.repeat(parts.edge, per_part)
    pos = (parts.start_m[:, None] + frac * (parts.end_m - parts.start_m)[:, None]).ravel()
    return edge, pos


def _check_exact(net, f_snap, cutoff, parts, rng, per_part=4):
    """Sampled points of the pieces are within the cutoff; piece ends inside an edge lie exactly at it."""
    edge, pos = _samples(parts, per_part, rng)
    d = oracle_distances(net, _on_edges(net, edge, pos), f_snap)
    assert (d <= cutoff + 1e-6).all(), float(d.max())
    length = net.edge_length_m[parts.edge]
    inner = parts.end_m < length - 1e-6
    # an end inside an edge: exactly at the cutoff, or where the next piece (another facility's) begins
    nxt = np.array(
        [
            ((parts.edge == e) & (np.abs(parts.start_m - t) < 1e-6)).any()
            for e, t in zip(parts.edge, parts.end_m, strict=True)
        ],
        dtype=bool,
    )
    ends = inner & ~nxt
    d_end = oracle_distances(net, _on_edges(net, parts.edge[ends], parts.end_m[ends]), f_snap)
    np.testing.assert_allclose(d_end, cutoff, atol=1e-6)
    beyond = np.minimum(parts.end_m[ends] + 0.5, length[ends])
    covered = np.array(
        [
            ((parts.edge == e) & (parts.start_m <= t) & (parts.end_m >= t)).any()
            for e, t in zip(parts.edge[ends], beyond, strict=True)
        ],
        dtype=bool,
    )
    d_out = oracle_distances(net, _on_edges(net, parts.edge[ends][~covered], beyond[~covered]), f_snap)
    assert (d_out > cutoff).all()
    return int(ends.sum())


def _fully_reached_by_networkx(net, f_snap, cutoff) -> np.ndarray:
    """Edges whose every point is within the cutoff by networkx (21 samples per edge + the node formula)."""
    k = 21
    edge = np.repeat(np.arange(net.n_edges), k)
    pos = (np.linspace(0, 1, k)[None, :] * net.edge_length_m[:, None]).ravel()
    d = oracle_distances(net, _on_edges(net, edge, pos), f_snap).reshape(net.n_edges, k)
    du, dv = d[:, 0], d[:, -1]
    return (d <= cutoff).all(axis=1) & ((du + dv + net.edge_length_m) / 2 <= cutoff + 1e-9)


@functools.cache
def _hitwh():
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    return net, inputs.facilities.to_crs(net.crs)


def _category(facilities, cid):
    cat = load_profile("gb50180-2018").categories.set_index("id").loc[cid]
    rows = facilities["category"].isin([*cat["kinds"], cid]).to_numpy()
    return facilities[rows].reset_index(drop=True), float(cat["max_walk_m"])


@pytest.mark.parametrize("cid", ["sports_small", "bus_stop"])
def test_reached_streets_are_within_the_cutoff_by_networkx_and_end_exactly_at_it_on_the_shipped_extract(cid):
    net, facilities = _hitwh()
    fac, cutoff = _category(facilities, cid)
    f_snap = snap_points(net, fac)
    parts = reached_parts(net, f_snap, cutoff)
    rng = np.random.default_rng(1)
    assert _check_exact(net, f_snap, cutoff, parts, rng) > 20  # many streets end inside an edge
    want_full = _fully_reached_by_networkx(net, f_snap, cutoff)
    whole = parts.edge[(parts.start_m == 0) & (parts.end_m >= net.edge_length_m[parts.edge] - 1e-9)]
    assert set(np.flatnonzero(want_full)) <= set(whole.tolist())
    area = service_area_polygons(net, fac, cutoff_m=cutoff, buffer_m=30, label=cid)
    assert len(area) == 1 and area["category"].iloc[0] == cid
    polygon = area.geometry.iloc[0].buffer(1e-6)
    assert shapely.covers(polygon, net.edge_geometry[want_full]).all()


def test_points_of_the_polygon_lie_within_the_buffer_of_a_reached_street_and_it_is_no_hull():
    net, facilities = _hitwh()
    fac, cutoff = _category(facilities, "bus_stop")
    f_snap = snap_points(net, fac)
    buffer_m = 40.0
    area = service_area_polygons(net, fac, cutoff_m=cutoff, buffer_m=buffer_m).geometry.iloc[0]
    parts = reached_parts(net, f_snap, cutoff)
    reached = shapely.union_all(parts.lines(net))  # the streets only, not the facilities' connectors
    rng = np.random.default_rng(2)
    x0, y0, x1, y1 = area.bounds
    pts = shapely.points(rng.uniform(x0, x1, 20000), rng.uniform(y0, y1, 20000))
    inside = shapely.contains(area, pts)
    assert inside.sum() > 1000
    assert (shapely.distance(pts[inside], reached) <= buffer_m + 1e-6).all()
    near = shapely.distance(pts, reached) < 0.99 * buffer_m
    assert inside[near].all()
    hull = shapely.convex_hull(area)
    assert area.area < 0.8 * hull.area  # land between the reached streets is left out


def test_a_barrier_keeps_the_service_area_out_of_the_land_behind_it():
    net = grid_network(5, 100.0)
    cut = cut_network(
        net,
        gpd.GeoDataFrame(geometry=[shapely.LineString([(X0 + 250, Y0 - 50), (X0 + 250, Y0 + 450)])], crs=CRS),
    )
    fac = gpd.GeoDataFrame({"id": ["school"]}, geometry=[shapely.Point(X0 + 200, Y0 + 195)], crs=CRS)
    kw = {"cutoff_m": 600.0, "buffer_m": 25.0, **SNAP}
    before = service_area_polygons(net, fac, **kw).geometry.iloc[0]
    after = service_area_polygons(cut, fac, **kw).geometry.iloc[0]
    right = shapely.points(np.column_stack([np.full(5, X0 + 300), Y0 + 100 * np.arange(5)]))
    assert shapely.contains(before, right).all()
    assert not shapely.intersects(after, right).any()
    # the reached streets run up to the fence (the dead ends of the cut edges) and stop there, + buffer
    assert X0 + 250 + 25 - 1e-6 <= after.bounds[2] <= X0 + 250 + 25 + 1e-6


def _grid_case(fx, fy, cutoff):
    net = grid_network(6, 100.0)
    fac = gpd.GeoDataFrame(
        {"id": [f"f{i}" for i in range(len(fx))]},
        geometry=shapely.points(np.column_stack([X0 + np.asarray(fx), Y0 + np.asarray(fy)])),
        crs=CRS,
    )
    return net, fac, snap_points(net, fac, **SNAP)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-20, 520), st.floats(-20, 520)), min_size=1, max_size=4),
    st.floats(40, 700),
)
def test_random_facilities_on_a_grid_reach_exactly_the_streets_networkx_reaches(points, cutoff):
    fx, fy = zip(*points, strict=True)
    net, _fac, f_snap = _grid_case(fx, fy, cutoff)
    parts = reached_parts(net, f_snap, cutoff)
    rng = np.random.default_rng(3)
    _check_exact(net, f_snap, cutoff, parts, rng, per_part=3)
    want_full = _fully_reached_by_networkx(net, f_snap, cutoff)
    whole = parts.edge[(parts.start_m == 0) & (parts.end_m >= net.edge_length_m[parts.edge] - 1e-9)]
    assert set(np.flatnonzero(want_full)) <= set(whole.tolist())
    # pieces of one edge never overlap
    order = np.lexsort((parts.start_m, parts.edge))
    e, s, t = parts.edge[order], parts.start_m[order], parts.end_m[order]
    same = e[1:] == e[:-1]
    assert (s[1:][same] >= t[:-1][same] - 1e-9).all()


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 500), st.floats(0, 500)), min_size=2, max_size=4),
    st.floats(60, 600),
)
def test_exclusive_catchments_split_the_same_streets_between_their_nearest_facilities(points, cutoff):
    fx, fy = zip(*points, strict=True)
    net, _fac, f_snap = _grid_case(fx, fy, cutoff)
    joint = reached_parts(net, f_snap, cutoff)
    parts = reached_parts(net, f_snap, cutoff, exclusive=True)
    assert parts.length_m() == pytest.approx(joint.length_m(), abs=1e-6)
    assert (parts.source >= 0).all()
    mid = 0.5 * (parts.start_m + parts.end_m)
    pts = _on_edges(net, parts.edge, mid)
    each = np.column_stack([oracle_distances(net, pts, f_snap.take([j])) for j in range(len(f_snap.edge))])
    own = each[np.arange(len(parts)), parts.source]
    np.testing.assert_allclose(own, each.min(axis=1), atol=1e-6)


def test_facility_areas_lie_in_their_category_area_and_together_cover_it():
    net, facilities = _hitwh()
    fac, cutoff = _category(facilities, "sports_small")
    kw = {"cutoff_m": cutoff, "buffer_m": 30.0}
    whole = service_area_polygons(net, fac, mode="category", **kw)
    each = service_area_polygons(net, fac, mode="facility", **kw)
    catch = service_area_polygons(net, fac, mode="catchment", **kw)
    n_ok = int(snap_points(net, fac).reachable.sum())
    assert len(each) == n_ok > 10
    # a facility whose every street piece is nearer another facility (e.g. the same spot, a longer
    # connector) has no catchment
    assert 0 < len(catch) <= n_ok
    area = whole.geometry.iloc[0].buffer(1e-6)
    assert shapely.covers(area, each.geometry.to_numpy()).all()
    assert shapely.union_all(each.geometry.to_numpy()).symmetric_difference(whole.geometry.iloc[0]).area < 1.0
    assert catch["network_m"].sum() == pytest.approx(whole["network_m"].iloc[0], rel=1e-9)
    assert each["network_m"].sum() >= whole["network_m"].iloc[0] - 1e-6  # overlapping areas count twice
    assert set(each["facility"]) == set(fac["id"].astype(str)[snap_points(net, fac).reachable])


def test_a_facility_in_the_middle_of_an_edge_reaches_both_ways_along_it():
    net = grid_network(3, 100.0)
    fac = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 40, Y0)], crs=CRS)
    f_snap = snap_points(net, fac, **SNAP)
    parts = reached_parts(net, f_snap, 30.0)
    e = int(f_snap.edge[0])
    assert parts.edge.tolist() == [e]
    assert (parts.start_m[0], parts.end_m[0]) == pytest.approx((10.0, 70.0))


def test_bad_service_area_options_are_refused():
    net = grid_network(3, 100.0)
    fac = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 40, Y0)], crs=CRS)
    with pytest.raises(ValueError, match="mode"):
        service_area_polygons(net, fac, cutoff_m=100, mode="hull")
    with pytest.raises(ValueError, match="buffer_m"):
        service_area_polygons(net, fac, cutoff_m=100, buffer_m=0)
