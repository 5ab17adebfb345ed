"""Service areas in walking minutes: the streets from which a walker group reaches a facility in time.

Oracle: networkx on the same directed sub-segment costs (:func:`network_oracle.oracle_times`), from points
sampled along every edge to the facilities; the pieces must hold exactly the points within the budget.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from network_oracle import oracle_times
from test_service_areas import _on_edges
from test_walking import _ramp_dem, _random_case

from weihai_gis.errors import LayerError
from weihai_gis.lifecircle import coverage
from weihai_gis.lifecircle.service_areas import ReachedParts, result_service_areas, service_area_polygons
from weihai_gis.lifecircle.service_times import reached_parts_time
from weihai_gis.network import build_network, snap_points
from weihai_gis.network.costs import edge_times
from weihai_gis.samples import hitwh_inputs
from weihai_gis.synthetic import write_hitwh_hill_dem


def _inside(parts: ReachedParts, edge, pos, tol=1e-6):
    """Whether each (edge, pos) lies on a piece (within ``tol`` metres)."""
    hit = np.zeros(len(edge), dtype=bool)
    for e, a, b in zip(parts.edge, parts.start_m, parts.end_m, strict=True):
        hit |= (edge == e) & (pos >= a - tol) & (pos <= b + tol)
    return hit


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_fac=st.integers(1, 4),
    slope=st.floats(-0.15, 0.15),
    bump=st.floats(0, 40),
    walker=st.sampled_from(["adult", "elderly", "wheelchair"]),
    budget=st.floats(40, 500),
)
def test_pieces_hold_exactly_the_street_points_within_the_budget_by_networkx(
    seed, n_fac, slope, bump, walker, budget
):
    case = _random_case(seed, n_fac, highway_steps=True)
    if case is None:
        return
    net, _, f_snap = case
    times = edge_times(net, dem=_ramp_dem(slope, bump=bump), walker=walker)
    parts = ReachedParts(*reached_parts_time(net, f_snap, budget, times))
    k = 25
    edge = np.repeat(np.arange(net.n_edges), k)
    pos = (np.linspace(0, 1, k)[None, :] * net.edge_length_m[:, None]).ravel()
    t, _ = oracle_times(net, times, _on_edges(net, edge, pos), f_snap)
    on = _inside(parts, edge, pos)
    assert on[t <= budget - 1e-6].all()
    assert not on[t > budget + 1e-6].any()
    # a piece ending inside its edge ends exactly at the budget (or where another piece begins)
    length = net.edge_length_m[parts.edge]
    for ends, at_edge_end in (
        (parts.end_m, parts.end_m >= length - 1e-6),
        (parts.start_m, parts.start_m <= 1e-6),
    ):
        touching = np.array(
            [
                (
                    (parts.edge == e)
                    & ((np.abs(parts.start_m - x) < 1e-6) | (np.abs(parts.end_m - x) < 1e-6))
                ).sum()
                > 1
                for e, x in zip(parts.edge, ends, strict=True)
            ],
            dtype=bool,
        )
        cut = ~at_edge_end & ~touching
        if cut.any():
            t_cut, _ = oracle_times(net, times, _on_edges(net, parts.edge[cut], ends[cut]), f_snap)
            np.testing.assert_allclose(t_cut, budget, rtol=1e-9, atol=1e-6)
    # exclusive catchments split the same streets, each piece to its quickest facility
    excl = ReachedParts(*reached_parts_time(net, f_snap, budget, times, exclusive=True))
    assert excl.length_m() == pytest.approx(parts.length_m(), rel=1e-9, abs=1e-6)
    keep = (excl.end_m - excl.start_m) > 1e-3
    mid = 0.5 * (excl.start_m + excl.end_m)[keep]
    each = np.column_stack(
        [
            oracle_times(net, times, _on_edges(net, excl.edge[keep], mid), f_snap.take([j]))[0]
            for j in range(n_fac)
        ]
    )
    mine = each[np.arange(int(keep.sum())), excl.source[keep]]
    np.testing.assert_allclose(mine, each.min(axis=1), rtol=1e-9, atol=1e-6)


def test_a_facility_on_a_hill_is_reached_farther_from_below_than_from_above():
    """A 400 m ramp, facility in the middle: residents below climb (slower), those above walk down."""
    from test_walking import _net

    xy = np.array([[0.0, 0.0], [400.0, 0.0]])
    net = _net(xy, np.array([0]), np.array([1]))
    times = edge_times(net, dem=_ramp_dem(0.1), walker="adult")
    f_snap = _on_edges(net, [0], [200.0])
    budget = 120.0
    (edge, start, end, _) = reached_parts_time(net, f_snap, budget, times)
    speed = times.speed_m_per_s
    up, down = 200 - start[0], end[0] - 200  # below the facility (x < 200) climbs to it
    assert up == pytest.approx(budget * speed / np.exp(3.5 * 0.1), rel=1e-9)
    assert down == pytest.approx(budget * speed / np.exp(3.5 * 0.0), rel=1e-9)
    assert len(edge) == 1 and up < down


@functools.cache
def _hitwh_hill(tmp_dir: str):
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    dem = write_hitwh_hill_dem(f"{tmp_dir}/hill.tif", height_m=70)
    logging.disable(logging.WARNING)
    try:
        res = {
            w: coverage(net, inputs.origins, inputs.facilities, walker=w, dem_costs=dem)
            for w in ("adult", "elderly")
        }
    finally:
        logging.disable(logging.NOTSET)
    return net, dem, res


@pytest.fixture(scope="module")
def hill(tmp_path_factory):
    return _hitwh_hill(str(tmp_path_factory.mktemp("hill")))


def test_elderly_service_areas_on_the_hill_lie_within_the_adults_and_hold_their_streets(hill):
    net, dem, res = hill
    cats = ["primary_school", "bus_stop"]
    areas = {
        w: result_service_areas(net, r, categories=cats, buffer_m=30, dem_costs=dem).set_index("category")
        for w, r in res.items()
    }
    for cid in cats:
        old, young = areas["elderly"].loc[cid], areas["adult"].loc[cid]
        assert 0 < old["network_m"] < young["network_m"]
        assert young.geometry.buffer(1e-6).covers(old.geometry)
    # the polygon holds every reached piece and nothing farther than the buffer from one
    times = edge_times(net, dem=dem, walker="elderly")
    fac = res["elderly"].facilities
    cat = fac[fac["category"] == "bus_stop"]
    budget = 500 / (66.7 / 60)
    parts = ReachedParts(*reached_parts_time(net, snap_points(net, cat), budget, times))
    assert parts.length_m() == pytest.approx(areas["elderly"].loc["bus_stop", "network_m"], rel=1e-12)
    area = areas["elderly"].loc["bus_stop"].geometry
    assert shapely.covers(area.buffer(1e-6), parts.lines(net)).all()
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = area.bounds
    pts = shapely.points(rng.uniform(x0, x1, 5000), rng.uniform(y0, y1, 5000))
    inside = shapely.contains(area, pts)
    assert inside.sum() > 200
    assert (shapely.distance(pts[inside], shapely.union_all(parts.lines(net))) <= 30 + 1e-6).all()


def test_service_areas_of_a_hilly_run_need_its_dem(hill):
    net, dem, res = hill
    with pytest.raises(LayerError, match=r"hill\.tif"):
        result_service_areas(net, res["elderly"], categories=["bus_stop"])
    area = service_area_polygons(
        net,
        res["elderly"].facilities.iloc[:3],
        cutoff_m=300,
        times=edge_times(net, dem=dem, walker="elderly"),
    )
    assert len(area) == 1


def test_cli_coverage_elderly_on_the_dem_writes_minutes_service_areas(hill, tmp_path):
    import geopandas as gpd
    from click.testing import CliRunner

    from weihai_gis.cli import main
    from weihai_gis.samples import HITWH_PBF

    net, dem, res = hill
    origins = tmp_path / "origins.gpkg"
    hitwh_inputs().origins.to_file(origins)
    out = tmp_path / "elderly.gpkg"
    args = ["--network", str(HITWH_PBF), "--facilities", str(HITWH_PBF), "--origins", str(origins)]
    args += ["--walker", "elderly", "--dem-costs", str(dem), "--service-areas", "--out", str(out)]
    result = CliRunner().invoke(main, ["-q", "coverage", *args])
    assert result.exit_code == 0, result.output
    got = gpd.read_file(out, layer="service_areas").set_index("category")
    want = result_service_areas(net, res["elderly"], dem_costs=dem).set_index("category")
    assert list(got.index) == list(want.index) and len(got) > 5
    np.testing.assert_allclose(got["network_m"], want["network_m"], rtol=1e-9)
