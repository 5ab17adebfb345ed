"""The hills run's fast paths give the general formulas' results (bit for bit, or within a stated bound).

Each fast path (north-up DEMs sampled without the affine's zero terms and, inside the grid, without the
clamps; origins on a facility's edge found from the origins sorted by edge; route metres summed over the
reached nodes only) is checked bit for bit against the plain formula it replaces, written out here as the
oracle. Cut points (straight edges placed without a segment search) match the general formula to 1e-9 m,
and interpolating them between their span's vertices in the DEM's CRS instead of transforming each stays
within the 0.2 mm that ``profile.EXACT_SPAN_M`` states (random spans across Weihai, and the extract's roads).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from weihai_gis.io.raster import _bilinear
from weihai_gis.lifecircle.engine import same_edge_pairs
from weihai_gis.lifecircle.time_engine import TimeIndex, node_time_s, tree_sums
from weihai_gis.network import snap_points
from weihai_gis.network.costs import edge_times
from weihai_gis.network.profile import EXACT_SPAN_M, _cut_spans
from weihai_gis.synthetic import CRS, random_hills, street_grid, write_hill_dem


def _points_along_oracle(net, edge, frac):
    """Every point placed by a search over all edges' vertices laid end to end (the general formula)."""
    coords = shapely.get_coordinates(net.edge_geometry)
    count = shapely.get_num_coordinates(net.edge_geometry).astype(np.int64)
    first = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    last = first + count - 1
    seg = np.hypot(*np.diff(coords, axis=0).T)
    seg[last[(count > 0) & (last < len(seg))]] = 0.0
    cum = np.r_[0.0, np.cumsum(seg)]
    start, total = cum[first], cum[last] - cum[first]
    target = start[edge] + frac * total[edge]
    k = first[edge]
    bent = np.flatnonzero(count[edge] > 2)
    if len(bent):
        eb = edge[bent]
        k[bent] = np.clip(np.searchsorted(cum, target[bent], side="right") - 1, first[eb], last[eb] - 1)
    span = cum[k + 1] - cum[k]
    t = np.clip(np.divide(target - cum[k], span, out=np.zeros_like(target), where=span > 0), 0.0, 1.0)
    return coords[first], coords[k] + (coords[k + 1] - coords[k]) * t[:, None]


def _bilinear_oracle(grid, transform, x, y):
    """Bilinear interpolation with the full affine product and every index computed on its own."""
    col, row = ~transform @ (x, y)
    col = np.asarray(col, dtype=float) - 0.5
    row = np.asarray(row, dtype=float) - 0.5
    rows, cols = grid.shape
    inside = (col >= -0.5) & (row >= -0.5) & (col <= cols - 0.5) & (row <= rows - 0.5)
    out = np.full(len(x), np.nan)
    if not inside.any():
        return out
    c = np.clip(col[inside], 0.0, cols - 1.0)
    r = np.clip(row[inside], 0.0, rows - 1.0)
    c0 = np.minimum(np.floor(c).astype(np.int64), max(cols - 2, 0))
    r0 = np.minimum(np.floor(r).astype(np.int64), max(rows - 2, 0))
    c1, r1 = np.minimum(c0 + 1, cols - 1), np.minimum(r0 + 1, rows - 1)
    fc, fr = c - c0, r - r0
    flat = grid.ravel()
    top = flat[r0 * cols + c0] * (1 - fc) + flat[r0 * cols + c1] * fc
    bottom = flat[r1 * cols + c0] * (1 - fc) + flat[r1 * cols + c1] * fc
    out[inside] = top * (1 - fr) + bottom * fr
    return out


def _pieces(net, per_edge):
    n_pieces = np.asarray(per_edge, dtype=np.int64)
    edge = np.repeat(np.arange(net.n_edges), n_pieces)
    offset = np.r_[0, np.cumsum(n_pieces)]
    k = np.arange(offset[-1]) - offset[:-1][edge] + 1
    return n_pieces, edge, k / n_pieces[edge]


def _cuts(net, n_pieces):
    """The inner cut points of ``_cut_spans`` (first vertex ``k``, share ``t``) and their shares of the edges."""
    coords, count = net.edge_vertices()
    count = count.astype(np.int64)
    first = np.r_[0, np.cumsum(count)[:-1]]
    n_inner = n_pieces - 1
    edge = np.repeat(np.arange(net.n_edges), n_inner)
    j = np.arange(1, n_inner.sum() + 1) - np.repeat(np.cumsum(n_inner) - n_inner, n_inner)
    frac = j / n_pieces[edge]
    cx, cy = np.ascontiguousarray(coords[:, 0]), np.ascontiguousarray(coords[:, 1])
    k, t, _ = _cut_spans(cx, cy, first, first + count - 1, count, n_inner, frac)
    return coords, k, t, edge, frac


def test_cut_points_of_straight_and_bent_edges_are_the_general_formulas_points():
    from weihai_gis.network import build_network
    from weihai_gis.samples import hitwh_inputs

    rng = np.random.default_rng(3)
    for net in (build_network(hitwh_inputs().network), street_grid(12, 50.0, crs=CRS)):
        assert (shapely.get_num_coordinates(net.edge_geometry) == 2).any()
        n_pieces, _, _ = _pieces(net, rng.integers(1, 6, net.n_edges))
        coords, k, t, edge, frac = _cuts(net, n_pieces)
        got = coords[k] + (coords[k + 1] - coords[k]) * t[:, None]
        np.testing.assert_allclose(got, _points_along_oracle(net, edge, frac)[1], rtol=0, atol=1e-9)
        # and the points lie where shapely puts them
        at = shapely.get_coordinates(
            shapely.line_interpolate_point(net.edge_geometry[edge], frac, normalized=True)
        )
        np.testing.assert_allclose(got, at, rtol=0, atol=1e-6)


#: Weihai (市区, 文登, 荣成, 乳山) in EPSG:4326: the network CRS EPSG:4550 is 1.2-2.7 degrees east of its meridian.
WEIHAI_LONLAT = ((121.2, 122.7), (36.7, 37.6))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), span_m=st.floats(1.0, EXACT_SPAN_M))
def test_cut_points_interpolated_in_the_dems_crs_are_within_0_2_mm_of_the_transformed_ones(seed, span_m):
    """Interpolating between transformed vertices (EPSG:4550 -> ASTER's EPSG:4326) moves a cut <= 0.2 mm."""
    rng = np.random.default_rng(seed)
    to_m = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    to_deg = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    (w, e), (s, n) = WEIHAI_LONLAT
    ax, ay = to_m.transform(rng.uniform(w, e, 500), rng.uniform(s, n, 500))
    angle = rng.uniform(0, 2 * np.pi, 500)
    bx, by = ax + span_m * np.cos(angle), ay + span_m * np.sin(angle)
    t = rng.uniform(0, 1, 500)
    (alon, alat), (blon, blat) = to_deg.transform(ax, ay), to_deg.transform(bx, by)
    # the interpolated point, taken back into metres, against the point placed in metres
    qx, qy = to_m.transform(alon + (blon - alon) * t, alat + (blat - alat) * t)
    assert (
        np.hypot(qx - (ax + (bx - ax) * t), qy - (ay + (by - ay) * t)).max()
        <= 2e-4 * (span_m / 100) ** 2 + 1e-9
    )


def test_cut_points_of_the_extracts_roads_in_the_dems_crs_are_within_0_2_mm_of_the_transformed_ones():
    """The same bound on Weihai's real roads (the shipped 山大哈工大 extract), every cut of every span."""
    from weihai_gis.network import build_network
    from weihai_gis.samples import hitwh_inputs

    net = build_network(hitwh_inputs().network)
    n_pieces = np.maximum(np.ceil(net.edge_length_m / 5.0).astype(np.int64), 1)  # a cut every <= 5 m
    coords, k, t, _, _ = _cuts(net, n_pieces)
    span = np.hypot(*(coords[k + 1] - coords[k]).T)
    assert span.max() > 50  # long spans are met
    keep = span <= EXACT_SPAN_M  # longer ones are transformed on their own
    k, t = k[keep], t[keep]
    to_deg = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_deg.transform(coords[:, 0], coords[:, 1])
    ilon, ilat = lon[k] + (lon[k + 1] - lon[k]) * t, lat[k] + (lat[k + 1] - lat[k]) * t
    qx, qy = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True).transform(ilon, ilat)
    exact = coords[k] + (coords[k + 1] - coords[k]) * t[:, None]
    assert np.hypot(qx - exact[:, 0], qy - exact[:, 1]).max() <= 2e-4


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    cell=st.sampled_from([1 / 3600, 0.5, 30.0]),
    flip=st.booleans(),
    rotated=st.booleans(),
    seed=st.integers(0, 10_000),
    inside=st.booleans(),
)
def test_bilinear_sampling_equals_the_full_affine_formula_bit_for_bit(
    rows, cols, cell, flip, rotated, seed, inside
):
    """Points anywhere (the general path) or all strictly inside the cell centres' hull (the fast path)."""
    rng = np.random.default_rng(seed)
    grid = rng.normal(50, 20, (rows, cols))
    grid[rng.random((rows, cols)) < 0.1] = np.nan  # nodata cells
    a = -cell if flip else cell
    transform = Affine(a, cell / 7 if rotated else 0.0, 122.0, 0.0, -cell, 37.5)
    x = 122.0 + rng.uniform(-1.5, cols + 1.5, 200) * cell * (-1 if flip else 1)
    y = 37.5 - rng.uniform(-1.5, rows + 1.5, 200) * cell
    x[:3] = [np.nan, np.inf, 122.0]
    if inside and not rotated:
        x = 122.0 + rng.uniform(0.5, max(cols - 0.5, 0.5), 200) * cell * (-1 if flip else 1)
        y = 37.5 - rng.uniform(0.5, max(rows - 0.5, 0.5), 200) * cell
    np.testing.assert_array_equal(_bilinear(grid, transform, x, y), _bilinear_oracle(grid, transform, x, y))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 12), max_size=60),
    st.lists(st.integers(0, 12), max_size=15),
)
def test_origins_on_a_facilitys_edge_are_the_engines_pairs_in_the_same_order(o_edge, f_edge):
    from weihai_gis.lifecircle.time_engine import OriginSide

    o = np.array(o_edge, dtype=np.int64)
    f = np.array(f_edge, dtype=np.int64)
    side = OriginSide(*([np.zeros(0)] * 2), o, *([np.zeros(0)] * 9), edge_order=np.argsort(o, kind="stable"))
    which, start = side.same_edge_pairs(f)
    want_which, want_start = same_edge_pairs(o, f)
    np.testing.assert_array_equal(which, want_which)
    np.testing.assert_array_equal(start, want_start)


def test_route_metres_over_the_reached_nodes_equal_the_sums_over_the_whole_tree(tmp_path):
    net = street_grid(40, 50.0, origin_xy=(500_000.0, 4_150_000.0), crs=CRS)
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(*net.node_xy.T)
    lon0, lat0 = lon.min() - 0.002, lat.min() - 0.002
    w, h = lon.max() - lon0 + 0.002, lat.max() - lat0 + 0.002
    dem = write_hill_dem(
        tmp_path / "hill.tif",
        random_hills(lon0, lat0, w, h, n=6, seed=2),
        west=lon0,
        south=lat0,
        cols=int(w * 3600) + 1,
        rows=int(h * 3600) + 1,
    )
    index = TimeIndex(net, edge_times(net, dem=dem, walker="elderly"))
    rng = np.random.default_rng(0)
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    for n_fac, budget in ((1, 300.0), (5, 600.0), (30, 1e9)):
        pts = gpd.GeoSeries(shapely.points(rng.uniform(lo, hi, (n_fac, 2))), crs=CRS)
        node_s, pred = node_time_s(index, snap_points(net, pts), max_time_s=budget)
        want = tree_sums(*index.tree_hops(pred))
        got = index.route_metres(pred)
        np.testing.assert_array_equal(got, want)
        assert np.isfinite(got).sum() == np.isfinite(node_s).sum()
