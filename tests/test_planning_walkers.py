"""Planning in walking minutes: incremental what-if and cost matrices on the directed time graph of a walker group.

Oracles: a full :func:`weihai_gis.coverage` run with the same walker/DEM (the what-if), networkx on the same
directed sub-segment costs (:func:`network_oracle.oracle_times`), and the metres engine for the flat adult.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from network_oracle import oracle_times
from test_walking import _net, _ramp_dem, _random_case

from weihai_gis.errors import LayerError
from weihai_gis.lifecircle import coverage
from weihai_gis.lifecircle.time_engine import TimeIndex, nearest_time_s
from weihai_gis.network import build_network, snap_points
from weihai_gis.network.costs import edge_times
from weihai_gis.planning import cost_matrix, maximal_covering, node_sites
from weihai_gis.planning.closures import barrier_scenario, barrier_whatif
from weihai_gis.planning.incremental_time import TimeState
from weihai_gis.planning.problem import access_inputs, siting_problem
from weihai_gis.planning.whatif import Scenario, WhatIf
from weihai_gis.samples import hitwh_inputs
from weihai_gis.standards import walker_groups
from weihai_gis.synthetic import write_hitwh_hill_dem

CRS = "EPSG:4550"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_fac=st.integers(2, 8),
    slope=st.floats(-0.15, 0.15),
    bump=st.floats(0, 40),
    walker=st.sampled_from(["adult", "elderly", "wheelchair"]),
    budget=st.floats(60, 900),
    data=st.data(),
)
def test_incremental_times_equal_a_full_directed_search_bit_for_bit(
    seed, n_fac, slope, bump, walker, budget, data
):
    case = _random_case(seed, n_fac + 3, highway_steps=True)
    if case is None:
        return
    net, o_snap, pts = case
    f_snap, extra = pts.take(np.arange(n_fac)), pts.take(np.arange(n_fac, n_fac + 3))
    times = edge_times(net, dem=_ramp_dem(slope, bump=bump), walker=walker)
    index = TimeIndex(net, times)
    state = TimeState.build(index, o_snap, f_snap, max_time_s=budget)
    remove = data.draw(st.lists(st.integers(0, n_fac - 1), unique=True, max_size=n_fac))
    n_add = data.draw(st.integers(0, 3))
    after, stats = state.change(add=extra.take(np.arange(n_add)), remove=remove)
    keep = np.setdiff1d(np.arange(n_fac), remove)
    now = after.facilities
    want_t, want_m = nearest_time_s(index, o_snap, now, max_time_s=budget)
    assert np.array_equal(after.origin_s, want_t, equal_nan=True)
    np.testing.assert_allclose(after.origin_m, want_m, rtol=1e-12, atol=1e-9)
    assert len(now.edge) == len(keep) + n_add and stats.n_removed <= len(remove)
    # and the direction: the oracle walks from each origin to the facility on the directed costs
    oracle_t, _ = oracle_times(net, times, o_snap, now)
    oracle_t = np.where(oracle_t <= budget, oracle_t, np.nan)
    np.testing.assert_allclose(after.origin_s, oracle_t, rtol=1e-9, atol=1e-6)


def test_incremental_time_walks_from_the_resident_up_to_the_facility():
    """An asymmetric ramp: the resident below walks up to the added facility (slower than down from it)."""
    xy = np.array([[0.0, 0.0], [200.0, 0.0], [400.0, 0.0]])
    net = _net(xy, np.array([0, 1]), np.array([1, 2]))
    times = edge_times(net, dem=_ramp_dem(0.1), walker="elderly")
    index = TimeIndex(net, times)
    snap = functools.partial(snap_points, net, min_component_nodes=1)
    low = snap(gpd.GeoSeries([shapely.Point(0, 0)], crs=CRS))
    high = snap(gpd.GeoSeries([shapely.Point(400, 0)], crs=CRS))
    state = TimeState.build(index, low, high.take([]), max_time_s=1e6)
    assert np.isnan(state.origin_s).all()
    up, _ = state.change(add=high)
    down = TimeState.build(index, high, high.take([]), max_time_s=1e6).change(add=low)[0]
    speed = times.speed_m_per_s
    pace = lambda s: np.exp(3.5 * (abs(s + 0.05) - 0.05))  # noqa: E731 (Tobler, coverage-config.yaml)
    assert up.origin_s[0] == pytest.approx(400 / speed * pace(0.1), rel=1e-9)
    assert down.origin_s[0] == pytest.approx(400 / speed * pace(-0.1), rel=1e-9)
    assert up.origin_m[0] == pytest.approx(400.0) and up.origin_s[0] > 1.4 * down.origin_s[0]
    # removing the facility again: nothing in reach
    gone, stats = up.change(remove=[0])
    assert np.isnan(gone.origin_s).all() and stats.n_nodes_affected == 3


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_fac=st.integers(1, 6),
    slope=st.floats(-0.15, 0.15),
    bump=st.floats(0, 40),
    walker=st.sampled_from(["adult", "elderly", "wheelchair"]),
    cutoff_m=st.floats(80, 800),
)
def test_a_walker_cost_matrix_equals_networkx_on_the_same_directed_costs(
    seed, n_fac, slope, bump, walker, cutoff_m
):
    case = _random_case(seed, n_fac, highway_steps=True)
    if case is None:
        return
    net, o_snap, f_snap = case
    times = edge_times(net, dem=_ramp_dem(slope, bump=bump), walker=walker)
    nodes = node_sites(net, np.arange(net.n_nodes))
    adult = walker_groups()["adult"]["speed_m_per_min"] / 60
    budget = cutoff_m / adult
    for sites in (f_snap, nodes):
        cm = cost_matrix(net, o_snap, sites, cutoff_m=cutoff_m, times=times)
        assert cm.walker == walker and cm.cutoff_m == cutoff_m
        got = cm.to_dense() / adult  # seconds origin -> site
        for j in range(len(sites.edge)):
            want, _ = oracle_times(net, times, o_snap, sites.take([j]))
            want = np.where(want <= budget, want, np.inf)
            np.testing.assert_allclose(got[:, j], want, rtol=1e-9, atol=1e-6, err_msg=f"site {j}")
        # the row minimum is the coverage engine's quickest facility (same budget)
        nearest, _ = nearest_time_s(TimeIndex(net, times), o_snap, sites, max_time_s=budget)
        np.testing.assert_allclose(cm.nearest_m() / adult, nearest, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(cm.minutes, cm.dist_m / walker_groups()["adult"]["speed_m_per_min"])


@functools.cache
def _hilly_base(tmp_dir: str):
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    dem = write_hitwh_hill_dem(Path(tmp_dir) / "hill.tif", height_m=70)
    logging.disable(logging.WARNING)
    try:
        base = coverage(net, inputs.origins, inputs.facilities, walker="elderly", dem_costs=dem)
    finally:
        logging.disable(logging.NOTSET)
    return net, inputs, dem, base


@pytest.fixture(scope="module")
def hilly(tmp_path_factory):
    return _hilly_base(str(tmp_path_factory.mktemp("hill")))


def test_an_elderly_hilly_scenario_equals_a_full_run_with_the_same_walker_and_dem(hilly):
    net, inputs, dem, base = hilly
    fac = base.facilities
    add = gpd.GeoDataFrame(
        {"category": ["primary_school", "kindergarten", "elderly_care"], "name": ["小学", "幼儿园", "养老"]},
        geometry=shapely.points(net.node_xy[[10, 200, 400]]),
        crs=net.crs,
    )
    hospital = fac.loc[fac["category"] == "hospital", "id"].iloc[0]
    park = fac.loc[fac["category"] == "park", "id"].iloc[0]
    move = gpd.GeoDataFrame({"id": [park]}, geometry=shapely.points(net.node_xy[[300]]), crs=net.crs)
    scenario = Scenario("规划", add=add, remove=(str(hospital),), move=move)
    res, stats = WhatIf(net, base, dem_costs=dem).run(scenario)
    logging.disable(logging.WARNING)
    try:
        full = coverage(net, inputs.origins, res.facilities, walker="elderly", dem_costs=dem)
    finally:
        logging.disable(logging.NOTSET)
    assert {"primary_school", "kindergarten", "park_15"} <= set(stats)
    checked = 0
    for cid in base.category_ids:
        for col in (f"time_{cid}", f"met_{cid}", f"met_buffer_{cid}"):
            got, want = res.origins[col].to_numpy(), full.origins[col].to_numpy()
            assert np.array_equal(got, want, equal_nan=True), col
        np.testing.assert_allclose(res.origins[f"dist_{cid}"], full.origins[f"dist_{cid}"], rtol=1e-12)
        checked += int(res.origins[f"time_{cid}"].notna().sum())
    assert checked > 1000
    pd.testing.assert_frame_equal(res.overall(), full.overall())
    pd.testing.assert_frame_equal(
        pd.DataFrame(res.hexagons.drop(columns="geometry")),
        pd.DataFrame(full.hexagons.drop(columns="geometry")),
    )
    assert res.meta.options["walker"] == "elderly" and res.meta.options["dem_costs"] == "hill.tif"


def test_a_barrier_on_the_hill_is_walked_by_the_elderly_as_a_full_run_on_the_cut_network(hilly):
    net, inputs, dem, base = hilly
    centre = shapely.centroid(shapely.union_all(net.edge_geometry))
    bars = gpd.GeoDataFrame(
        {"name": ["工地"]}, geometry=[shapely.buffer(centre, 150, cap_style="square")], crs=CRS
    )
    scenario = barrier_scenario(net, bars, name="工地")
    with pytest.raises(LayerError, match="dem_costs"):
        barrier_whatif(net, base, scenario)
    outcome = barrier_whatif(net, base, scenario, dem_costs=dem)
    logging.disable(logging.WARNING)
    try:
        full = coverage(scenario.network, inputs.origins, inputs.facilities, walker="elderly", dem_costs=dem)
    finally:
        logging.disable(logging.NOTSET)
    res = outcome.result
    assert res.meta.options["walker"] == "elderly" and res.meta.options["dem_costs"] == "hill.tif"
    longer = 0
    for cid in base.category_ids:
        got, want = res.origins[f"time_{cid}"].to_numpy(), full.origins[f"time_{cid}"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True, err_msg=cid)
        before = base.origins[f"time_{cid}"].to_numpy()
        longer += int((np.nan_to_num(got, nan=np.inf) > np.nan_to_num(before, nan=np.inf) + 1e-9).sum())
    assert longer > 0  # the fence sends some of the elderly the long way round (or out of reach)
    pd.testing.assert_frame_equal(res.overall(), full.overall())


def test_a_hilly_base_needs_its_dem_for_what_if(hilly, tmp_path):
    net, _, _, base = hilly
    with pytest.raises(LayerError, match=r"hill\.tif.*dem_costs"):
        WhatIf(net, base)
    other = write_hitwh_hill_dem(tmp_path / "other.tif")
    with pytest.raises(LayerError, match=r"'other\.tif' is not the base run's"):
        WhatIf(net, base, dem_costs=other)


def test_what_if_from_precomputed_edge_times_never_reads_the_dem_and_answers_the_same(hilly, monkeypatch):
    import weihai_gis.io.raster as raster

    net, _, dem, base = hilly
    times = edge_times(net, dem=dem, walker="elderly")
    add = gpd.GeoDataFrame(
        {"category": ["primary_school"]}, geometry=shapely.points(net.node_xy[[50]]), crs=net.crs
    )
    scenario = Scenario("规划", add=add)
    want, _ = WhatIf(net, base, dem_costs=dem).run(scenario)

    def refuse(*args, **kwargs):
        raise AssertionError("the DEM was opened although the edge times were given")

    monkeypatch.setattr(raster, "DEMReader", refuse)
    fresh = build_network(hitwh_inputs().network)  # another network object: nothing cached on it
    fresh_times = dataclasses.replace(times, _edge_u=fresh.edge_u, _edge_v=fresh.edge_v)
    got, _ = WhatIf(fresh, base, times=fresh_times).run(scenario)
    for cid in base.category_ids:
        for col in (f"time_{cid}", f"dist_{cid}", f"met_{cid}"):
            assert np.array_equal(
                got.origins[col].to_numpy(), want.origins[col].to_numpy(), equal_nan=True
            ), col
    # a cut network needs the DEM for its new edges: said, not walked on level ground
    centre = shapely.centroid(shapely.union_all(net.edge_geometry))
    bars = gpd.GeoDataFrame({"name": ["工地"]}, geometry=[shapely.buffer(centre, 150)], crs=CRS)
    with pytest.raises(LayerError, match=r"cuts the network.*hill\.tif.*dem_costs"):
        WhatIf(fresh, base, times=fresh_times).run(barrier_scenario(fresh, bars, name="工地"))


def test_what_if_refuses_edge_times_of_another_walker_dem_or_network(hilly, tmp_path):
    net, _, dem, base = hilly
    with pytest.raises(LayerError, match=r"'adult' group's.*'elderly'"):
        WhatIf(net, base, times=edge_times(net, dem=dem, walker="adult"))
    with pytest.raises(LayerError, match=r"level ground.*hills of DEM 'hill\.tif'"):
        WhatIf(net, base, times=edge_times(net, walker="elderly"))
    other = write_hitwh_hill_dem(tmp_path / "other.tif")
    with pytest.raises(LayerError, match=r"DEM 'other\.tif'.*'hill\.tif'"):
        WhatIf(net, base, times=edge_times(net, dem=other, walker="elderly"))
    from weihai_gis.synthetic import street_grid

    with pytest.raises(LayerError, match="edges, the network"):
        WhatIf(net, base, times=edge_times(street_grid(4), walker="elderly"))


def test_siting_and_access_for_the_elderly_on_hills_use_the_minutes_matrix(hilly):
    net, inputs, dem, base = hilly
    kwargs = {"category": "primary_school", "profile": base.profile_name}
    prob, sites, _ = siting_problem(
        net, inputs.origins, inputs.facilities, None, walker="elderly", dem_costs=dem, **kwargs
    )
    flat, _, _ = siting_problem(net, inputs.origins, inputs.facilities, None, **kwargs)
    # the existing schools cover exactly the residents the elderly coverage run counts as served
    existing = np.asarray(prob.cover[:, np.flatnonzero(prob.existing)].sum(axis=1)).ravel() > 0
    met = base.origins["met_primary_school"].to_numpy(bool)
    assert np.array_equal(existing, met) and 0 < met.sum() < len(met)
    # slower walkers on hills reach fewer pairs than the flat metres matrix, and siting serves fewer
    assert prob.cover.nnz < flat.cover.nnz
    k3, k3_flat = maximal_covering(prob, 3), maximal_covering(flat, 3)
    assert k3.covered <= k3_flat.covered + 1e-9
    cm, _, supply, _ = access_inputs(
        net, inputs.origins, inputs.facilities, walker="elderly", dem_costs=dem, **kwargs
    )
    assert cm.walker == "elderly" and len(supply) == len(sites[sites["existing"]])


@functools.cache
def _adult_base(tmp_dir: str):
    net, inputs, dem, _ = _hilly_base(tmp_dir)
    logging.disable(logging.WARNING)
    try:
        return coverage(net, inputs.origins, inputs.facilities, walker="adult", dem_costs=dem)
    finally:
        logging.disable(logging.NOTSET)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    nodes=st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
    cats=st.lists(st.sampled_from(["primary_school", "kindergarten", "health_station", "park"]), min_size=6),
    n_remove=st.integers(0, 3),
)
def test_elderly_scenarios_never_cover_more_than_the_same_adult_scenario(hilly, nodes, cats, n_remove):
    net, _, dem, elderly = hilly
    adult = _adult_base(str(Path(dem).parent))
    add = gpd.GeoDataFrame(
        {"category": cats[: len(nodes)]},
        geometry=shapely.points(net.node_xy[np.asarray(nodes) % net.n_nodes]),
        crs=net.crs,
    )
    scenario = Scenario("随机", add=add, remove=tuple(elderly.facilities["id"].astype(str)[:n_remove]))
    old, _ = WhatIf(net, elderly, dem_costs=dem).run(scenario)
    young, _ = WhatIf(net, adult, dem_costs=dem).run(scenario)
    met = [c for c in old.origins.columns if c.startswith("met_") and "buffer" not in c]
    for col in met:
        assert (old.origins[col] <= young.origins[col]).all(), col
    assert (
        old.overall()["rate_network"].fillna(0) <= young.overall()["rate_network"].fillna(0) + 1e-12
    ).all()


def _cli(tmp_path, command, *args):
    from click.testing import CliRunner

    from weihai_gis.cli import main
    from weihai_gis.samples import HITWH_PBF

    origins = tmp_path / "origins.gpkg"
    if not origins.exists():
        hitwh_inputs().origins.to_file(origins)
    files = ["--network", str(HITWH_PBF), "--facilities", str(HITWH_PBF), "--origins", str(origins)]
    return CliRunner().invoke(main, ["-q", "plan", command, *files, *args])


def test_cli_plan_commands_walk_as_the_walker_on_the_dem(hilly, tmp_path):
    net, _, dem, base = hilly
    walk = ["--walker", "elderly", "--dem-costs", str(dem)]
    # what-if: the table's rates are the library scenario's, in elderly minutes on the hill
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(
        "scenarios:\n  - name: 规划\n    add: [{category: primary_school, x: 122.075, y: 37.530}]\n",
        encoding="utf-8",
    )
    out = tmp_path / "w.gpkg"
    res = _cli(tmp_path, "whatif", *walk, "--scenario", str(scenarios), "--out", str(out))
    assert res.exit_code == 0, res.output
    add = gpd.GeoDataFrame(
        {"category": ["primary_school"]}, geometry=[shapely.Point(122.075, 37.53)], crs=4326
    )
    want, _ = WhatIf(net, base, dem_costs=dem).run(Scenario("规划", add=add))
    table = pd.read_csv(out.with_suffix(".csv")).set_index(["units", "category"])
    rate = want.overall().set_index("id").loc["primary_school", "rate_network"]
    assert table.loc[("全域", "primary_school"), "rate_after"] == pytest.approx(rate, rel=1e-12)
    assert rate > base.overall().set_index("id").loc["primary_school", "rate_network"]
    # gaps: the residents left out are those of the elderly run
    out = tmp_path / "g.gpkg"
    res = _cli(tmp_path, "gaps", *walk, "--category", "primary_school", "--out", str(out))
    assert res.exit_code == 0, res.output
    unmet = base.origins.loc[~base.origins["met_primary_school"], "population"].sum()
    assert pd.read_csv(out.with_suffix(".csv"))["population_unmet"].sum() == pytest.approx(unmet)
    # site: today's (k = 0) coverage is the elderly run's
    out = tmp_path / "s.gpkg"
    res = _cli(
        tmp_path,
        "site",
        *walk,
        "--category",
        "primary_school",
        "--candidates",
        "nodes",
        "--k",
        "1",
        "--curve",
        "1",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    curve = pd.read_csv(out.with_suffix(".csv"))
    met = base.origins["met_primary_school"].to_numpy(bool)
    assert curve.loc[0, "covered"] == pytest.approx(base.origins.loc[met, "population"].sum())


def test_the_main_jobs_siting_scenario_sites_and_answers_in_elderly_minutes(hilly, tmp_path):
    from weihai_gis.jobs.planning_job import siting_scenario, worst_basic_category

    net, inputs, dem, base = hilly
    outcome, note = siting_scenario(net, inputs, base, tmp_path, dem_costs=dem)
    assert outcome is not None, note
    cid = worst_basic_category(base)
    logging.disable(logging.WARNING)
    try:
        full = coverage(net, inputs.origins, outcome.result.facilities, walker="elderly", dem_costs=dem)
    finally:
        logging.disable(logging.NOTSET)
    for col in (f"time_{cid}", f"met_{cid}"):
        assert np.array_equal(outcome.result.origins[col], full.origins[col], equal_nan=True), col
    gained = outcome.table.set_index(["units", "category"]).loc[("全域", cid), "population_newly_covered"]
    assert gained > 0 and (tmp_path / "scenario_comparison.csv").exists()
