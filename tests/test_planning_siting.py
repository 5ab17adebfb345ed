"""Siting: the cost matrix equals the coverage engine; MILP optima equal brute force and beat spopt."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planning_data import helsinki, siting_instance

from weihai_gis.lifecircle import NetworkIndex, nearest_distance_m
from weihai_gis.network import snap_points
from weihai_gis.planning import (
    SitingError,
    SitingProblem,
    cost_matrix,
    coverage_curve,
    maximal_covering,
    node_sites,
    set_covering,
)


def _covered(dense_cover, pop, open_cols):
    return float(pop[dense_cover[:, list(open_cols)].any(axis=1)].sum()) if open_cols else 0.0


def _brute_max(dense, pop, existing, k):
    cand = np.flatnonzero(~existing)
    fixed = list(np.flatnonzero(existing))
    return max(_covered(dense, pop, fixed + list(s)) for s in itertools.combinations(cand, k))


def _max_flow(dense, demand, capacity, open_cols):
    """Oracle for the capacitated problems: max flow source -> sites (capacity) -> origins -> sink (demand)."""
    g = nx.DiGraph()
    for j in open_cols:
        g.add_edge("s", ("f", j), capacity=float(capacity[j]))
        for i in np.flatnonzero(dense[:, j]):
            g.add_edge(("f", j), ("o", i))  # no capacity attribute = unbounded
    for i in range(dense.shape[0]):
        if demand[i] > 0 and dense[i, list(open_cols)].any():
            g.add_edge(("o", i), "t", capacity=float(demand[i]))
    if "t" not in g:
        return 0.0
    return float(nx.maximum_flow_value(g, "s", "t"))


def test_cost_matrix_row_minimum_equals_the_coverage_engine():
    net, _, facilities, o_snap, f_snap = helsinki()
    rows = np.flatnonzero(facilities["category"].to_numpy() == "convenience")
    cm = cost_matrix(net, o_snap, f_snap.take(rows), cutoff_m=500)
    ref = nearest_distance_m(NetworkIndex(net), o_snap, f_snap.take(rows), max_walk_m=500)
    np.testing.assert_array_equal(np.isnan(ref), np.isnan(cm.nearest_m()))
    np.testing.assert_allclose(cm.nearest_m(), ref, atol=1e-9, equal_nan=True)
    # each column alone is the engine run on that one facility
    for j in (0, 5, len(rows) - 1):
        one = nearest_distance_m(NetworkIndex(net), o_snap, f_snap.take(rows[[j]]), max_walk_m=500)
        np.testing.assert_allclose(cm.nearest_m([j]), one, atol=1e-9, equal_nan=True)


def test_node_sites_equal_snapping_the_node_points():
    net, _, _, o_snap, _ = helsinki()
    nodes = np.arange(0, net.n_nodes, 97)
    pts = gpd.GeoSeries(shapely.points(net.node_xy[nodes]), crs=net.crs)
    snapped = snap_points(net, pts, min_component_nodes=1)
    cm = cost_matrix(net, o_snap, node_sites(net, nodes), cutoff_m=400)
    for j in (0, 3, 11):
        ref = nearest_distance_m(NetworkIndex(net), o_snap, snapped.take([j]), max_walk_m=400)
        np.testing.assert_allclose(cm.nearest_m([j]), ref, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_maximal_covering_equals_brute_force_with_existing_fixed(k):
    cm, pop, existing = siting_instance()
    dense = cm.to_dense() <= cm.cutoff_m
    res = maximal_covering(SitingProblem(cm.covers(), pop, existing), k, method="exact")
    assert res.covered == pytest.approx(_brute_max(dense, pop, existing, k), rel=1e-12)
    assert res.gap == pytest.approx(0, abs=1e-9) and res.k <= k
    assert not existing[res.chosen].any()
    assert res.covered == pytest.approx(_covered(dense, pop, [*np.flatnonzero(existing), *res.chosen]))


def test_set_covering_is_the_smallest_subset_reaching_the_target():
    cm, pop, existing = siting_instance()
    dense = cm.to_dense() <= cm.cutoff_m
    prob = SitingProblem(cm.covers(), pop, existing)
    target = _brute_max(dense, pop, existing, 3) / pop.sum() - 1e-6  # reachable with 3, maybe fewer
    res = set_covering(prob, target, method="exact")
    fewest = next(k for k in range(0, 4) if _brute_max(dense, pop, existing, k) >= target * pop.sum() - 1e-6)
    assert res.k == fewest and res.share >= target - 1e-9 and res.gap == 0


@pytest.mark.parametrize("scale", [1.0, 3.0])  # 1: greedy meets the LP bound (a proof); 3: the MILP decides
def test_capacitated_maximal_covering_equals_brute_force_max_flow(scale):
    cm, pop, existing = siting_instance(n_candidates=9, n_existing=1, cutoff_m=400)
    dense = cm.to_dense() <= cm.cutoff_m
    demand = pop * 0.05  # e.g. school-age share
    capacity = np.linspace(40, 160, len(existing)) * scale
    prob = SitingProblem(cm.covers(), pop, existing, capacity, demand)
    fixed = list(np.flatnonzero(existing))
    best = {0: _max_flow(dense, demand, capacity, fixed)}
    for k in (1, 2):
        best[k] = max(
            _max_flow(dense, demand, capacity, fixed + list(s))
            for s in itertools.combinations(np.flatnonzero(~existing), k)
        )
        res = maximal_covering(prob, k, method="exact")
        assert res.covered == pytest.approx(best[k], rel=1e-7) and res.gap == pytest.approx(0, abs=1e-7)
        assert res.served is not None and np.all(res.served <= capacity + 1e-6)
        assert res.served.sum() == pytest.approx(res.covered, rel=1e-7)
    # capacitated set covering: the fewest sites whose max flow reaches the target (reachable with 2)
    need = best[2] * (1 - 1e-6)
    res = set_covering(prob, need / demand.sum(), method="exact")
    assert res.k == next(k for k in (0, 1, 2) if best[k] >= need) and res.covered >= need - 1e-6


def test_greedy_reports_a_valid_lp_bound_and_gap():
    cm, pop, existing = siting_instance(n_candidates=40, n_existing=2, cutoff_m=300)
    prob = SitingProblem(cm.covers(), pop, existing)
    for k in (2, 5):
        exact = maximal_covering(prob, k, method="exact")
        greedy = maximal_covering(prob, k, method="greedy")
        assert greedy.covered <= exact.covered + 1e-9 <= greedy.bound + 1e-6
        assert greedy.gap == pytest.approx((greedy.bound - greedy.covered) / greedy.bound)
    curve = coverage_curve(prob, range(0, 6), method="exact")
    assert curve["covered"].is_monotonic_increasing and curve["k"].tolist() == list(range(6))


def test_unreachable_target_says_what_is_reachable():
    cm, pop, existing = siting_instance()
    with pytest.raises(SitingError, match=r"cannot be reached: opening all 14 candidate sites covers"):
        set_covering(SitingProblem(cm.covers(), pop, existing), 1.0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_adding_a_candidate_never_lowers_the_maximal_covering_objective(data):
    cm, pop, existing = siting_instance(n_candidates=20)
    cand = np.flatnonzero(~existing)
    subset = data.draw(st.lists(st.sampled_from(list(cand)), min_size=1, max_size=8, unique=True))
    extra = data.draw(st.sampled_from([c for c in cand if c not in subset]))
    k = data.draw(st.integers(1, 3))

    def best(cols):
        keep = np.concatenate([np.flatnonzero(existing), cols])
        sub = cm.take_sites(keep)
        ex = np.zeros(len(keep), dtype=bool)
        ex[: existing.sum()] = True
        return maximal_covering(SitingProblem(sub.covers(), pop, ex), k, method="exact").covered

    assert best([*subset, extra]) >= best(subset) - 1e-9


def test_matches_or_beats_spopt_lscp_and_mclp_on_the_same_cost_matrix():
    pulp = pytest.importorskip("pulp")
    locate = pytest.importorskip("spopt.locate")
    cm, pop, _ = siting_instance(n_candidates=25, n_existing=0, cutoff_m=300)
    dense = cm.to_dense()
    finite = np.where(np.isfinite(dense), dense, 1e9)
    solver = pulp.PULP_CBC_CMD(msg=False)
    none = np.zeros(cm.n_sites, dtype=bool)
    for k in (2, 4):
        theirs = locate.MCLP.from_cost_matrix(finite, pop, service_radius=cm.cutoff_m, p_facilities=k)
        theirs.solve(solver)
        their_sites = [j for j in range(cm.n_sites) if theirs.fac2cli[j]]
        their_cov = _covered(dense <= cm.cutoff_m, pop, their_sites)
        ours = maximal_covering(SitingProblem(cm.covers(), pop, none), k, method="exact")
        assert ours.covered >= their_cov - 1e-6
    # LSCP needs every demand coverable: keep the origins some candidate reaches
    reach = np.isfinite(dense).any(axis=1)
    theirs = locate.LSCP.from_cost_matrix(finite[reach], service_radius=cm.cutoff_m).solve(solver)
    n_theirs = sum(1 for j in range(cm.n_sites) if theirs.fac2cli[j])
    sub = cm.covers()[np.flatnonzero(reach)]
    ours = set_covering(SitingProblem(sub, pop[reach], none), 1.0, method="exact")
    assert ours.k <= n_theirs and ours.share == pytest.approx(1.0)
