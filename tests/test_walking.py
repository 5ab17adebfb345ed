"""Walker groups and hills: Tobler edge costs, the directed time engine against networkx, steps, DEM sampling."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from network_oracle import oracle_distances, oracle_times
from pyproj import Transformer

from weihai_gis.errors import DEMError, StandardsError
from weihai_gis.io.raster import sample_elevation
from weihai_gis.lifecircle.engine import NetworkIndex, nearest_distance_m
from weihai_gis.lifecircle.time_engine import TimeIndex, nearest_time_s
from weihai_gis.network import WalkNetwork, snap_points
from weihai_gis.network.costs import edge_times, tobler_pace_factor
from weihai_gis.sightlines import DEM
from weihai_gis.standards import walker_groups

CRS = "EPSG:4550"


def _net(xy, u, v, highway="footway"):
    frame = gpd.GeoDataFrame(
        {"u": u, "v": v, "highway": highway},
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs=CRS,
    )
    return WalkNetwork.from_segments(frame, crs=CRS, source="synthetic")


def _ramp_dem(slope_x, *, origin=(-100.0, -100.0), size=60, cell=10.0, bump=0.0):
    """A metric DEM z = slope_x * x (+ a bump), cell-centred samples so bilinear interpolation is exact."""
    x0, y0 = origin
    transform = Affine(cell, 0, x0, 0, -cell, y0 + size * cell)
    cols, rows = np.meshgrid(np.arange(size), np.arange(size))
    xs = x0 + (cols + 0.5) * cell
    ys = y0 + size * cell - (rows + 0.5) * cell
    z = slope_x * xs + bump * np.exp(-(((xs - 150) / 80) ** 2 + ((ys - 150) / 80) ** 2))
    return DEM(z, transform, CRS, source="ramp.tif")


def test_tobler_pace_is_one_on_flat_ground_and_matches_the_published_speeds():
    # Tobler 1993: 6 exp(-3.5 |S + 0.05|) km/h -> 5.04 km/h flat, 6 km/h at S = -0.05, 3.71 at S = 0.0875
    flat = 6 * np.exp(-3.5 * 0.05)
    assert tobler_pace_factor(0.0) == pytest.approx(1.0)
    assert flat / tobler_pace_factor(-0.05) == pytest.approx(6.0)
    assert flat / tobler_pace_factor(np.tan(np.radians(5))) == pytest.approx(3.71, abs=0.01)


@pytest.mark.parametrize("slope", [0.0, 0.03, 0.08, -0.02, -0.12])
@pytest.mark.parametrize("walker", ["adult", "elderly"])
def test_ramp_edge_time_equals_toblers_closed_form_in_both_directions(slope, walker):
    xy = np.array([[0.0, 0.0], [300.0, 0.0], [300.0, 200.0]])
    net = _net(xy, np.array([0, 1]), np.array([1, 2]))
    times = edge_times(net, dem=_ramp_dem(slope), walker=walker)
    speed = walker_groups()[walker]["speed_m_per_min"] / 60
    pace = lambda s: np.exp(3.5 * (abs(s + 0.05) - 0.05))  # noqa: E731
    # east-west edge climbs at `slope`, the north-south one is level
    assert times.forward_s[0] == pytest.approx(300 / speed * pace(slope), rel=1e-9)
    assert times.backward_s[0] == pytest.approx(300 / speed * pace(-slope), rel=1e-9)
    assert times.forward_s[1] == pytest.approx(200 / speed, rel=1e-9)
    assert times.backward_s[1] == pytest.approx(200 / speed, rel=1e-9)
    assert times.profile.piece_offset[1] == 30  # one sub-segment per 10 m cell
    forward, backward = times  # unpacks as the two arrays
    assert forward is times.forward_s and backward is times.backward_s


def test_flat_times_are_length_over_the_groups_speed_and_steps_are_slow_or_excluded():
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 30.0]])
    net = _net(xy, np.array([0, 1]), np.array([1, 2]), highway=np.array(["footway", "steps"]))
    groups = walker_groups()
    adult = edge_times(net, walker="adult")
    speed = groups["adult"]["speed_m_per_min"] / 60
    assert adult.forward_s[0] == pytest.approx(100 / speed)
    # steps without a DEM: the mean of the ascent (0.35) and descent (0.5) paces, both ways
    mean_pace = (1 / 0.35 + 1 / 0.5) / 2
    assert adult.forward_s[1] == pytest.approx(30 / speed * mean_pace)
    assert adult.backward_s[1] == pytest.approx(30 / speed * mean_pace)
    wheel = edge_times(net, walker="wheelchair")
    assert np.isinf(wheel.forward_s[1]) and np.isinf(wheel.backward_s[1])
    assert np.isfinite(wheel.forward_s[0])
    with pytest.raises(StandardsError, match="unknown walker group 'runner'"):
        edge_times(net, walker="runner")


def test_steps_on_a_dem_climb_slowly_and_descend_faster():
    xy = np.array([[0.0, 0.0], [40.0, 0.0]])
    net = _net(xy, np.array([0]), np.array([1]), highway="steps")
    times = edge_times(net, dem=_ramp_dem(0.3), walker="adult")
    speed = walker_groups()["adult"]["speed_m_per_min"] / 60
    assert times.forward_s[0] == pytest.approx(40 / speed / 0.35)
    assert times.backward_s[0] == pytest.approx(40 / speed / 0.5)


@pytest.mark.parametrize("slope", [0.0, 0.055, 0.08, 0.09, 0.15, -0.09, -0.055])
@pytest.mark.parametrize("angle_deg", [0.0, 30.0, 60.0])
def test_wheelchairs_cannot_use_edges_steeper_than_the_ramp_limit_in_either_direction(slope, angle_deg):
    """GB 50763-2012 ramps <= 1:12: the slope *along* the edge counts, uphill and downhill alike.

    A 300 m climb at 1:20 or steeper is also longer than any ramp run the standard allows without a
    landing (3.4.4: at most 24 m at 1:20), so it is closed too (tests/test_ramp_limits.py).
    """
    limit = walker_groups()["wheelchair"]["max_slope"]
    assert limit == pytest.approx(1 / 12, abs=1e-3)
    a = np.radians(angle_deg)
    xy = np.array([[0.0, 0.0], [300.0 * np.cos(a), 300.0 * np.sin(a)], [0.0, 300.0]])
    net = _net(xy, np.array([0, 0]), np.array([1, 2]))  # edge 1 runs north: level on the ramp
    dem = _ramp_dem(slope)
    wheel = edge_times(net, dem=dem, walker="wheelchair")
    along = slope * np.cos(a)  # the ramp z = slope * x seen along the edge
    steep = abs(along) > limit or abs(along) >= 1 / 20  # too steep, or too long a ramp at its slope
    assert np.isinf(wheel.forward_s[0]) == steep and np.isinf(wheel.backward_s[0]) == steep
    assert np.isfinite(wheel.forward_s[1]) and np.isfinite(wheel.backward_s[1])
    pace = lambda s: np.exp(3.5 * (abs(s + 0.05) - 0.05))  # noqa: E731
    if not steep:
        assert wheel.forward_s[0] == pytest.approx(300 / wheel.speed_m_per_s * pace(along), rel=1e-9)
        assert wheel.backward_s[0] == pytest.approx(300 / wheel.speed_m_per_s * pace(-along), rel=1e-9)
    adult = edge_times(net, dem=dem, walker="adult")  # adults climb it, and nobody is limited on the flat
    assert (
        np.isfinite(adult.forward_s).all()
        and np.isfinite(edge_times(net, walker="wheelchair").forward_s).all()
    )


def test_one_steep_stretch_closes_the_whole_edge_for_wheelchairs():
    xy = np.array([[0.0, 0.0], [300.0, 0.0]])
    net = _net(xy, np.array([0]), np.array([1]))
    transform = Affine(10.0, 0, -100.0, 0, -10.0, 500.0)
    cols, _ = np.meshgrid(np.arange(60), np.arange(60))
    xs = -100.0 + (cols + 0.5) * 10.0
    z = np.where(xs < 150, 0.0, np.minimum((xs - 150) * 0.12, 2.4))  # a 20 m stretch at 12 %, flat around
    times = edge_times(net, dem=DEM(z, transform, CRS, source="step.tif"), walker="wheelchair")
    assert np.isinf(times.forward_s[0]) and np.isinf(times.backward_s[0])
    assert (np.abs(times.profile.piece_rise_m / times.profile.piece_length_m) > 1 / 12).sum() >= 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_fac=st.integers(1, 6),
    slope=st.floats(-0.2, 0.2),
    bump=st.floats(0, 50),
    budget=st.floats(30, 900),
)
def test_wheelchair_users_never_reach_more_than_adults_on_a_ramp(seed, n_fac, slope, bump, budget):
    case = _random_case(seed, n_fac)
    if case is None:
        return
    net, o_snap, f_snap = case
    dem = _ramp_dem(slope, bump=bump)
    wheel = edge_times(net, dem=dem, walker="wheelchair")
    adult = edge_times(net, dem=dem, walker="adult")
    t_w, _ = nearest_time_s(TimeIndex(net, wheel), o_snap, f_snap, max_time_s=budget)
    t_a, _ = nearest_time_s(TimeIndex(net, adult), o_snap, f_snap, max_time_s=budget)
    assert not (np.isfinite(t_w) & ~np.isfinite(t_a)).any()  # covered in a wheelchair -> covered on foot
    both = np.isfinite(t_w) & np.isfinite(t_a)
    assert np.all(t_w[both] >= t_a[both] - 1e-9)
    want, _ = oracle_times(net, wheel, o_snap, f_snap)  # and the steep edges are really gone
    np.testing.assert_allclose(t_w, np.where(want <= budget, want, np.nan), rtol=1e-9, atol=1e-6)


def test_partial_edge_times_are_exact_on_the_piecewise_ramp():
    xy = np.array([[0.0, 0.0], [300.0, 0.0]])
    net = _net(xy, np.array([0]), np.array([1]))
    times = edge_times(net, dem=_ramp_dem(0.06), walker="adult")
    speed = times.speed_m_per_s
    pos = np.array([0.0, 3.0, 10.0, 155.5, 300.0])
    fwd, bwd = times.partial_s(np.zeros(5, dtype=int), pos)
    np.testing.assert_allclose(fwd, pos / speed * tobler_pace_factor(0.06), rtol=1e-9)
    np.testing.assert_allclose(bwd, pos / speed * tobler_pace_factor(-0.06), rtol=1e-9)


def _random_case(seed, n_fac, highway_steps=False):
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 6, size=(9, 2)).astype(float) * 50.0
    u, v = rng.integers(0, 9, 16), rng.integers(0, 9, 16)
    keep = u != v
    u, v = u[keep], v[keep]
    if not len(u):
        return None
    highway = np.where(rng.random(len(u)) < (0.25 if highway_steps else 0), "steps", "footway")
    net = _net(xy, u, v, highway=highway)
    pts = gpd.GeoSeries(shapely.points(rng.uniform(-20, 270, size=(30 + n_fac, 2))), crs=CRS)
    o_snap = snap_points(net, pts.iloc[:30], max_snap_m=1e6, min_component_nodes=1)
    f_snap = snap_points(net, pts.iloc[30:], max_snap_m=1e6, min_component_nodes=1)
    return net, o_snap, f_snap


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_fac=st.integers(1, 8),
    slope=st.floats(-0.15, 0.15),
    bump=st.floats(0, 40),
    walker=st.sampled_from(["adult", "elderly", "child", "wheelchair"]),
    budget=st.floats(30, 900),
)
def test_directed_time_engine_equals_networkx_on_the_same_costs(seed, n_fac, slope, bump, walker, budget):
    case = _random_case(seed, n_fac, highway_steps=True)
    if case is None:
        return
    net, o_snap, f_snap = case
    times = edge_times(net, dem=_ramp_dem(slope, bump=bump), walker=walker)
    index = TimeIndex(net, times)
    got_t, got_m = nearest_time_s(index, o_snap, f_snap, max_time_s=budget)
    want_t, _ = oracle_times(net, times, o_snap, f_snap)
    want_t = np.where(want_t <= budget, want_t, np.nan)
    np.testing.assert_allclose(got_t, want_t, rtol=1e-9, atol=1e-6)
    assert np.array_equal(np.isfinite(got_m), np.isfinite(got_t))
    # the metres are those of a real route: no shorter than the shortest distance, no longer than the
    # fastest possible walk (Tobler's peak, 5 % downhill) in that time
    flat = nearest_distance_m(NetworkIndex(net), o_snap, f_snap, max_walk_m=1e9)
    ok = np.isfinite(got_t)
    assert np.all(got_m[ok] >= flat[ok] - 1e-6)
    assert np.all(got_m[ok] <= got_t[ok] * times.speed_m_per_s / tobler_pace_factor(-0.05) + 1e-6)
    # the index is reused across categories: a run in between leaves no trace
    nearest_time_s(index, o_snap, f_snap.take([0]), max_time_s=budget)
    again, _ = nearest_time_s(index, o_snap, f_snap, max_time_s=budget)
    np.testing.assert_allclose(again, got_t, rtol=0, atol=1e-9)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 6))
def test_flat_adult_time_is_the_metres_engine_at_the_reference_speed(seed, n_fac):
    case = _random_case(seed, n_fac)
    if case is None:
        return
    net, o_snap, f_snap = case
    times = edge_times(net, walker="adult")
    got_t, got_m = nearest_time_s(TimeIndex(net, times), o_snap, f_snap, max_time_s=1e9)
    want = oracle_distances(net, o_snap, f_snap)
    want = np.where(np.isfinite(want), want, np.nan)  # not connected: NaN like the engine
    np.testing.assert_allclose(got_t * times.speed_m_per_s, want, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(got_m, want, rtol=1e-9, atol=1e-6)


def test_time_runs_from_origin_to_facility_not_back():
    """A facility at the top of a hill: walking up to it takes longer than walking down from it."""
    xy = np.array([[0.0, 0.0], [400.0, 0.0]])
    net = _net(xy, np.array([0]), np.array([1]))
    times = edge_times(net, dem=_ramp_dem(0.08), walker="adult")
    low = snap_points(net, gpd.GeoSeries([shapely.Point(0, 5)], crs=CRS), min_component_nodes=1)
    high = snap_points(net, gpd.GeoSeries([shapely.Point(400, 5)], crs=CRS), min_component_nodes=1)
    index = TimeIndex(net, times)
    up, _ = nearest_time_s(index, low, high, max_time_s=1e6)  # resident below, facility above
    down, _ = nearest_time_s(index, high, low, max_time_s=1e6)
    speed = times.speed_m_per_s
    assert up[0] == pytest.approx((400 * tobler_pace_factor(0.08) + 10) / speed, rel=1e-9)
    assert down[0] == pytest.approx((400 * tobler_pace_factor(-0.08) + 10) / speed, rel=1e-9)
    assert up[0] > down[0]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000), n_fac=st.integers(1, 6), slope=st.floats(-0.2, 0.2), bump=st.floats(0, 50)
)
def test_hills_never_shorten_a_round_trip_and_bound_the_one_way_time(seed, n_fac, slope, bump):
    """Tobler's pace exp(3.5(|S+.05|-.05)) >= 1 + 3.5 S (and its mean over S and -S >= 1): a hilly walk takes at
    least the flat time plus 3.5 m of level walking per metre climbed, and there-and-back at least the flat
    round trip. One way downhill may be quicker than on the flat (Tobler peaks at a 5 % descent)."""
    case = _random_case(seed, n_fac)
    if case is None:
        return
    net, o_snap, f_snap = case
    dem = _ramp_dem(slope, bump=bump)
    hilly = edge_times(net, dem=dem, walker="adult")
    flat = edge_times(net, walker="adult")
    assert np.all(hilly.forward_s + hilly.backward_s >= flat.forward_s + flat.backward_s - 1e-9)
    # one way on a plain ramp (elevation linear along every edge): at least the flat time plus the climb
    ramp = _ramp_dem(slope)
    t_h, _ = nearest_time_s(TimeIndex(net, edge_times(net, dem=ramp)), o_snap, f_snap, max_time_s=1e9)
    t_f, _ = nearest_time_s(TimeIndex(net, flat), o_snap, f_snap, max_time_s=1e9)
    ok = np.isfinite(t_f)
    assert np.array_equal(ok, np.isfinite(t_h))
    o_xy = shapely.get_coordinates(
        shapely.line_interpolate_point(net.edge_geometry[o_snap.edge], o_snap.pos_m)
    )
    f_xy = shapely.get_coordinates(
        shapely.line_interpolate_point(net.edge_geometry[f_snap.edge], f_snap.pos_m)
    )
    z_o, z_f = slope * o_xy[:, 0], slope * f_xy[:, 0]
    bound = t_f + 3.5 * (np.min(z_f) - z_o) / flat.speed_m_per_s
    assert np.all(t_h[ok] >= bound[ok] - 1e-6)


def _write_lonlat_dem(path, lon0, lat0, n, res, z):
    profile = {
        "driver": "GTiff",
        "height": n,
        "width": n,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": Affine(res, 0, lon0, 0, -res, lat0 + n * res),
        "nodata": -9999,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z.astype("float32"), 1)
    return path


def test_dem_in_lonlat_is_sampled_by_reprojecting_points_bilinearly(tmp_path):
    # z = 1000 * lon + 500 * lat is linear in lon/lat, so bilinear sampling in the DEM's CRS is exact
    n, res, lon0, lat0 = 50, 1 / 3600, 122.06, 37.51
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    lon = lon0 + (cols + 0.5) * res
    lat = lat0 + n * res - (rows + 0.5) * res
    path = _write_lonlat_dem(
        tmp_path / "lonlat.tif", lon0, lat0, n, res, 1000 * (lon - 122) + 500 * (lat - 37)
    )
    q_lon = np.array([122.0650, 122.0700, 122.0660])
    q_lat = np.array([37.5150, 37.5200, 37.5180])
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(q_lon, q_lat)
    got = sample_elevation(path, x, y, CRS)
    np.testing.assert_allclose(got.z_m, 1000 * (q_lon - 122) + 500 * (q_lat - 37), atol=1e-3)
    assert 24 < got.cell_size_m < 25  # 1 arc-second east-west at 37.5 N, on the ellipsoid
    with pytest.raises(DEMError, match=r"lonlat\.tif: the walking network lies outside it"):
        sample_elevation(path, x + 50_000, y, CRS)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.sampled_from([0.0, 1.0, 2.5, np.inf])), min_size=0, max_size=80)
)
def test_the_transposed_graph_order_is_lexsort_by_key_then_time(pairs):
    from weihai_gis.network.costs import _by_key_then_time

    key = np.array([k for k, _ in pairs], dtype=np.int64)
    time = np.array([t for _, t in pairs], dtype=float)
    np.testing.assert_array_equal(_by_key_then_time(key, time), np.lexsort((time, key)))


def test_the_profile_equals_sampling_every_cut_point_on_its_own(tmp_path):
    """Shared nodes are sampled once: the rises equal sampling each edge's start and cut ends separately.

    The cut points are interpolated between their span's transformed vertices: <= 0.2 mm from transforming
    each (EXACT_SPAN_M), so on this hill (slopes < 0.5) a rise differs by < 2 x 0.5 x 0.2 mm = 0.2 mm.
    """
    from weihai_gis.network import build_network
    from weihai_gis.network.costs import edge_profile
    from weihai_gis.samples import hitwh_inputs
    from weihai_gis.synthetic import write_hitwh_hill_dem

    net = build_network(hitwh_inputs().network)
    dem = write_hitwh_hill_dem(tmp_path / "hill.tif", height_m=70, radius_deg=0.005)
    prof = edge_profile(net, dem)
    edge = prof.piece_edge
    starts = shapely.get_coordinates(shapely.get_point(net.edge_geometry, 0))
    ends = shapely.get_coordinates(shapely.line_interpolate_point(net.edge_geometry[edge], prof.piece_end_m))
    z0 = sample_elevation(dem, starts[:, 0], starts[:, 1], net.crs).z_m
    z1 = sample_elevation(dem, ends[:, 0], ends[:, 1], net.crs).z_m
    prev = np.r_[0.0, z1[:-1]]
    prev[prof.piece_offset[:-1]] = z0
    np.testing.assert_allclose(prof.piece_rise_m, z1 - prev, rtol=0, atol=2e-4)
    assert np.abs(prof.piece_rise_m).max() > 1  # a real hill
    assert np.abs(prof.piece_rise_m / prof.piece_length_m).max() < 0.5
    assert edge_profile(net, dem) is prof  # cached per network and file
