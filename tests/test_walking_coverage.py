"""Walker-group coverage runs: minutes on the 山大哈工大 extract with a hill, and the real ASTER tile.

The ASTER GDEM tile of ../shared/data/dem covers 36–37 N, south of the shipped extract (37.52 N), so the
extract gets a synthetic hill written as an EPSG:4326 GeoTIFF (as a DEM comes), and the real tile is tested on
a street grid laid over its hills near 122.27 E, 36.87 N (skipped when the tile is absent).
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.enums
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from network_oracle import oracle_times
from pyproj import Transformer

from weihai_gis.lifecircle import coverage
from weihai_gis.lifecircle.time_engine import TimeIndex, nearest_time_s
from weihai_gis.network import WalkNetwork, build_network, snap_points
from weihai_gis.network.costs import edge_times
from weihai_gis.options import CoverageOptions
from weihai_gis.samples import hitwh_inputs
from weihai_gis.standards import walker_groups
from weihai_gis.synthetic import write_hitwh_hill_dem

CRS = "EPSG:4550"


@functools.cache
def _hitwh():
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    origins = inputs.origins.to_crs(net.crs)
    origins = origins.set_geometry(shapely.point_on_surface(origins.geometry.to_numpy()))
    return net, origins, inputs.facilities.to_crs(net.crs)


def test_adult_minutes_on_flat_ground_are_the_metres_run_at_the_reference_speed():
    """Without steps (their own, slower pace), 1000 m <-> 15 min: same flags, minutes x speed = metres."""
    net, origins, facilities = _hitwh()
    assert (net.highway == "steps").sum() > 0
    level = dataclasses.replace(
        net, highway=np.where(net.highway == "steps", "footway", net.highway), _cache={}
    )
    logging.disable(logging.WARNING)
    try:
        metres = coverage(level, origins, facilities)
        adult = coverage(level, origins, facilities, walker="adult")
        with_steps = coverage(net, origins, facilities, walker="adult")
    finally:
        logging.disable(logging.NOTSET)
    speed = walker_groups()["adult"]["speed_m_per_min"]
    compared = 0
    for cid, assessed in metres.categories.set_index("id")["assessed"].items():
        # the metres run searches on to twice the limit: compare within the limit (the minutes run's budget)
        d = metres.origins[f"dist_{cid}"].where(metres.origins[f"met_{cid}"])
        t = adult.origins[f"time_{cid}"]
        assert (metres.origins[f"met_{cid}"] == adult.origins[f"met_{cid}"]).all(), cid
        np.testing.assert_allclose(t * speed, d, rtol=1e-9, err_msg=cid)
        np.testing.assert_allclose(adult.origins[f"dist_{cid}"], d, rtol=1e-9, err_msg=cid)
        # the real extract's steps are slower: never more covered with them
        assert (with_steps.origins[f"met_{cid}"] <= adult.origins[f"met_{cid}"]).all(), cid
        compared += int(d.notna().sum()) if assessed else 0
    assert compared > 1000
    assert adult.meta.options["walker"] == "adult" and metres.meta.options["walker"] is None
    assert "time_bus_stop" not in metres.origins


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    height=st.floats(0, 80),
    lon_c=st.floats(122.06, 122.09),
    lat_c=st.floats(37.52, 37.54),
    radius=st.floats(0.003, 0.012),
    slower=st.sampled_from(["elderly", "child", "wheelchair"]),
)
def test_elderly_child_and_wheelchair_never_cover_more_than_adults_on_a_hilly_dem(
    tmp_path_factory, height, lon_c, lat_c, radius, slower
):
    """Per origin and category: met for the slower group implies met for the adult (same DEM, facilities).

    A hill of 0.003° (about 270 m) radius has slopes up to ~25 %: wheelchairs lose its steep streets (1:12).
    """
    net, origins, facilities = _hitwh()
    dem = write_hitwh_hill_dem(
        tmp_path_factory.mktemp("hill") / "hill.tif", height_m=height, lon=lon_c, lat=lat_c, radius_deg=radius
    )
    logging.disable(logging.WARNING)
    try:
        adult = coverage(net, origins, facilities, walker="adult", dem_costs=dem)
        other = coverage(net, origins, facilities, walker=slower, dem_costs=dem)
    finally:
        logging.disable(logging.NOTSET)
    met = [c for c in adult.origins.columns if c.startswith("met_") and "buffer" not in c]
    assert len(met) > 20
    for col in met:
        assert (other.origins[col] <= adult.origins[col]).all(), col
        tcol = col.replace("met_", "time_")
        if tcol in adult.origins:
            both = adult.origins[tcol].notna() & other.origins[tcol].notna()
            assert (other.origins.loc[both, tcol] >= adult.origins.loc[both, tcol] - 1e-9).all()
    assert other.meta.options == {**adult.meta.options, "walker": slower}
    assert adult.meta.options["dem_costs"] == "hill.tif"  # the file name, never a folder


def test_hitwh_hill_times_equal_networkx_on_the_directed_costs(tmp_path):
    net, origins, facilities = _hitwh()
    dem = write_hitwh_hill_dem(tmp_path / "hill.tif", height_m=70)
    times = edge_times(net, dem=dem, walker="elderly")
    assert (times.forward_s != times.backward_s).mean() > 0.5  # the hill makes most edges asymmetric
    o_snap = snap_points(net, origins)
    f_snap = snap_points(net, facilities[facilities["category"] == "bus_stop"])
    got, _ = nearest_time_s(TimeIndex(net, times), o_snap, f_snap, max_time_s=1200)
    want, _ = oracle_times(net, times, o_snap, f_snap)
    want = np.where(want <= 1200, want, np.nan)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)
    assert np.isfinite(got).sum() > 200


def test_walker_option_is_validated():
    with pytest.raises(ValueError, match="walker must be one of"):
        CoverageOptions(walker="runner")
    assert CoverageOptions(dem_costs="x.tif").walker_group == "adult"
    assert CoverageOptions().timed is False


# -- the real ASTER GDEM tile ---------------------------------------------------------------------------------

ASTER_CENTRE = (122.318, 36.975)  # rolling land of 23-131 m inside the tile (most of it is sea)


def _aster_grid():
    """A 1.6 km street grid (100 m blocks, jittered) laid over the tile's hills, in EPSG:4550."""
    rng = np.random.default_rng(7)
    cx, cy = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(*ASTER_CENTRE)
    k = 17
    gx, gy = np.meshgrid(np.arange(k) * 100.0, np.arange(k) * 100.0)
    xy = np.c_[gx.ravel(), gy.ravel()] + rng.normal(0, 15, size=(k * k, 2)) + [cx - 800, cy - 800]
    idx = np.arange(k * k).reshape(k, k)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    frame = gpd.GeoDataFrame(
        {"u": u, "v": v, "highway": "residential"},
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs=CRS,
    )
    net = WalkNetwork.from_segments(frame, crs=CRS, source="aster-grid")
    pts = gpd.GeoSeries(shapely.points(xy.mean(0) + rng.uniform(-800, 800, size=(400, 2))), crs=CRS)
    return net, pts


def _coarser(src_path, out_path, factor=2):
    """The tile around the grid resampled to ``factor`` × coarser cells (averaged), same CRS."""
    with rasterio.open(src_path) as src:
        window = (
            rasterio.windows.from_bounds(
                ASTER_CENTRE[0] - 0.03,
                ASTER_CENTRE[1] - 0.03,
                ASTER_CENTRE[0] + 0.03,
                ASTER_CENTRE[1] + 0.03,
                transform=src.transform,
            )
            .round_offsets()
            .round_lengths()
        )
        h, w = int(window.height) // factor, int(window.width) // factor
        data = src.read(1, window=window, out_shape=(h, w), resampling=rasterio.enums.Resampling.average)
        t = src.window_transform(window) @ Affine.scale(window.width / w, window.height / h)
        profile = {
            "driver": "GTiff",
            "height": h,
            "width": w,
            "count": 1,
            "dtype": "float32",
            "crs": src.crs,
            "transform": t,
        }
    with rasterio.open(out_path, "w", **profile) as dst:
        dst.write(data.astype("float32"), 1)
    return out_path


def test_aster_tile_times_equal_networkx_on_the_directed_costs(shared_dem):
    net, pts = _aster_grid()
    times = edge_times(net, dem=shared_dem, walker="adult")
    rises = np.abs(times.profile.piece_rise_m)
    assert rises.max() > 5  # real relief: several metres per 30 m cell somewhere
    o_snap = snap_points(net, pts.iloc[:380], min_component_nodes=1)
    f_snap = snap_points(net, pts.iloc[380:], min_component_nodes=1)
    got, _ = nearest_time_s(TimeIndex(net, times), o_snap, f_snap, max_time_s=900)
    want, _ = oracle_times(net, times, o_snap, f_snap)
    np.testing.assert_allclose(got, np.where(want <= 900, want, np.nan), rtol=1e-9, atol=1e-6)
    assert np.isfinite(got).sum() > 100


#: Largest change of a coverage rate (share of origins within the budget) when the DEM gets 2× coarser.
#: Measured 0.10 here (0.055 on a 500 m mountain at 122.285 E): ASTER's metre-scale noise gives 30 m cells
#: steeper slopes than 60 m cells, and Tobler's pace is convex, so the coarser DEM walks ~10 % quicker.
RESAMPLING_TOLERANCE = 0.11


def test_aster_coverage_rates_are_stable_under_2x_coarser_dem(shared_dem, tmp_path):
    net, pts = _aster_grid()
    coarse = _coarser(shared_dem, tmp_path / "aster_2x.tif")
    o_snap = snap_points(net, pts.iloc[:380], min_component_nodes=1)
    f_snap = snap_points(net, pts.iloc[380:], min_component_nodes=1)
    fine_t, _ = nearest_time_s(
        TimeIndex(net, edge_times(net, dem=shared_dem)), o_snap, f_snap, max_time_s=1e9
    )
    coarse_t, _ = nearest_time_s(TimeIndex(net, edge_times(net, dem=coarse)), o_snap, f_snap, max_time_s=1e9)
    flat_t, _ = nearest_time_s(TimeIndex(net, edge_times(net)), o_snap, f_snap, max_time_s=1e9)
    for minutes in (3, 5, 10, 15):
        fine, rough = np.mean(fine_t <= minutes * 60), np.mean(coarse_t <= minutes * 60)
        assert abs(fine - rough) <= RESAMPLING_TOLERANCE, minutes
    # and the hills matter more than the resolution: the flat run covers clearly more within 5 minutes
    assert np.mean(flat_t <= 300) - np.mean(fine_t <= 300) > 1.5 * RESAMPLING_TOLERANCE
    ok = np.isfinite(fine_t)
    assert 0.85 < np.median(coarse_t[ok] / fine_t[ok]) <= 1.0
