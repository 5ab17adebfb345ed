"""Wheelchair ramp length limits per slope (GB 50763-2012 3.4.4): a climb longer than its run is impassable.

Oracle: the standard's table (1:20 at most 24 m, 1:16 at most 14.4 m, 1:12 at most 9 m of horizontal run
between landings), on synthetic ramps sampled exactly (1 m DEM cells centred on whole metres, so every
sub-segment is either level or at the ramp's slope). Lengths sit well inside or outside each limit, so the
verdict does not depend on how slopes between two rows are interpolated.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from weihai_gis.errors import StandardsError
from weihai_gis.network import WalkNetwork
from weihai_gis.network.costs import edge_times
from weihai_gis.network.ramps import ramp_too_long
from weihai_gis.sightlines import DEM
from weihai_gis.standards import coverage_config, walker_groups

CRS = "EPSG:4550"


def _dem(climbs: list[tuple[float, float, float]]) -> DEM:
    """z(x) of climbs ``(start x, run m, slope)`` one after another, level between; cells centred on whole metres."""
    xs = np.arange(-10.0, 211.0)
    z = np.zeros_like(xs)
    for a, run, slope in climbs:
        z += slope * np.clip(xs - a, 0.0, run)
    grid = np.repeat(z[None, :], 5, axis=0)
    transform = Affine(1.0, 0, xs[0] - 0.5, 0, -1.0, 2.5)  # rows centred on y = 2, 1, 0, -1, -2
    return DEM(grid, transform, CRS, source="ramp.tif")


def _line_net(*stops: float) -> WalkNetwork:
    """Edges along y = 0 from stop to stop (x in metres), each node shared by the two edges meeting there."""
    xy = np.array([[x, 0.0] for x in stops])
    u, v = np.arange(len(stops) - 1), np.arange(1, len(stops))
    frame = gpd.GeoDataFrame(
        {"u": u, "v": v, "highway": "footway"},
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs=CRS,
    )
    return WalkNetwork.from_segments(frame, crs=CRS, source="ramp")


def _usable(net: WalkNetwork, dem: DEM, walker: str = "wheelchair") -> np.ndarray:
    times = edge_times(net, dem=dem, walker=walker)
    assert (
        np.isfinite(times.forward_s) == np.isfinite(times.backward_s)
    ).all()  # closed both ways or neither
    return np.isfinite(times.forward_s)


# (slope, run the standard allows): 1:20 slightly steeper than the row (its 24 m, interpolated 23.2 m),
# 1:16 exactly, and just under 1:12 (the group's max_slope 0.0833 closes 1:12 itself)
CLASSES = [(0.051, 23.2), (0.0625, 14.4), (0.083, 9.0)]


@pytest.mark.parametrize(("slope", "allowed"), CLASSES, ids=["1:20", "1:16", "1:12"])
@pytest.mark.parametrize("share", [0.8, 1.2])
@pytest.mark.parametrize("downhill", [False, True], ids=["up", "down"])
def test_a_climb_longer_than_the_run_allowed_at_its_slope_closes_the_edge(slope, allowed, share, downhill):
    run = float(round(allowed * share))
    dem = _dem([(40.0, run, -slope if downhill else slope)])
    net = _line_net(0.0, 100.0)
    assert _usable(net, dem)[0] == (run <= allowed)
    assert _usable(net, dem, "adult")[0]  # walkers on foot have no ramp limit


def test_a_landing_within_the_edge_splits_a_climb_into_two_allowed_ramps():
    slope = 0.051
    landing = _dem([(20.0, 20.0, slope), (43.0, 20.0, slope)])  # 20 m, 3 m level, 20 m
    continuous = _dem([(20.0, 40.0, slope)])
    net = _line_net(0.0, 100.0)
    assert _usable(net, landing)[0]
    assert not _usable(net, continuous)[0]
    # rising then falling is two climbs (a crest), each within the run
    crest = _dem([(20.0, 20.0, slope), (40.0, 20.0, -slope)])
    assert _usable(net, crest)[0]


def test_a_node_counts_as_a_landing_and_gentle_climbs_have_no_length_limit():
    slope = 0.051
    across = _dem([(20.0, 40.0, slope)])  # 40 m of climb, split by the node at x = 40 into 20 m + 20 m
    assert _usable(_line_net(0.0, 40.0, 100.0), across).all()
    assert not _usable(_line_net(0.0, 100.0), across)[0]
    gentle = _dem([(0.0, 200.0, 0.045)])  # 1:22 over 200 m: no ramp class applies
    assert _usable(_line_net(0.0, 200.0), gentle).all()


def test_ramp_too_long_names_only_the_edges_with_a_long_climb():
    net = _line_net(0.0, 60.0, 120.0, 200.0)
    dem = _dem([(5.0, 30.0, 0.0625), (70.0, 10.0, 0.0625), (130.0, 30.0, 0.03)])
    times = edge_times(net, dem=dem, walker="adult")
    slopes, runs = walker_groups()["wheelchair"]["ramp_max_run"]
    np.testing.assert_array_equal(ramp_too_long(times.profile, slopes, runs), [0])


def test_the_table_is_cited_consistent_and_validated(monkeypatch):
    table = coverage_config()["walker_groups"]["wheelchair"]["ramp_max_run"]
    assert "GB 50763-2012" in table["citation"] and table["verified"] is False
    # each row's highest rise is its slope times its run (the standard's table: 0.75 m over 9 m at 1:12)
    np.testing.assert_allclose(
        np.multiply(table["slope"], table["max_run_m"]), table["max_rise_m"], rtol=0, atol=0.005
    )
    assert walker_groups()["adult"]["ramp_max_run"] is None
    broken = coverage_config()
    broken["walker_groups"]["wheelchair"]["ramp_max_run"]["slope"] = [0.08, 0.05, 0.1, 0.12, 0.2]
    import weihai_gis.standards as standards

    monkeypatch.setattr(standards, "coverage_config", lambda: broken)
    standards.walker_groups.cache_clear()
    try:
        with pytest.raises(StandardsError, match=r"ramp_max_run.*increasing"):
            standards.walker_groups()
    finally:
        monkeypatch.undo()
        standards.walker_groups.cache_clear()
