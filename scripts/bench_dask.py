"""Benchmark coverage on Dask: throughput for 1, 2 (and N) local workers vs the single-machine run.

The province-size network is a perturbed street grid (block ``--spacing-m``, nodes jittered by ±30 % of a
block, 8 % of the streets missing) generated lazily tile by tile: tile ``(i, j)`` of a ``--tiles`` × ``--tiles``
province is reproducible from its index alone, so a run builds only the tiles it benchmarks (a contiguous
block of ``--fraction-tiles`` × ``--fraction-tiles`` tiles) and nobody needs the 4 M-node network in memory to
repeat the figures. Origins (one per ``--nodes-per-origin`` nodes) and facilities (15 categories, one
facility per ``--nodes-per-facility`` nodes each) are placed at random on the fraction.

Each configuration runs ``--repeats`` times; the script prints medians, the throughput in origins per second,
the ratio to the single-machine peer in the same run, the memory of each worker (RSS after the run) and the
extrapolated cost of the whole province::

    T_province(w) = n_origins_province / throughput(w)   (throughput measured on the fraction)

which holds because partitions are independent and their sub-networks have a size set by the cutoff, not by
the province (the client's snapping and summaries are linear in origins too). The machine is shared with other
jobs (2 cores): figures are noisy; run it on an idle machine for the README.

Usage: python scripts/bench_dask.py [--tiles 20] [--tile-side 100] [--fraction-tiles 2] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import psutil
import shapely

from weihai_gis.distributed import DaskDistances, connect
from weihai_gis.lifecircle import coverage
from weihai_gis.network import WalkNetwork
from weihai_gis.options import CoverageOptions

CRS = "EPSG:4550"
X0, Y0 = 300_000.0, 4_000_000.0
KINDS = [
    "kindergarten", "primary_school", "middle_school", "health_station", "hospital", "convenience",
    "supermarket", "market", "bus_stop", "park", "sports", "culture", "police", "post", "toilet",
]  # fmt: skip


def _unit_hash(keys: np.ndarray, mult: int) -> np.ndarray:
    """Map integer keys to [0, 1) by multiplicative hashing (uint64 wrap-around): stable, no state."""
    with np.errstate(over="ignore"):
        h = keys.astype(np.uint64) * np.uint64(mult)
    return (h >> np.uint64(11)).astype(float) / 2.0**53


def grid_tile(i: int, j: int, side: int, spacing_m: float) -> tuple[np.ndarray, ...]:
    """Return one tile of the province grid: global node ids, node xy, and edges (u, v ids) with the next tiles.

    Node ``(r, c)`` of the province (row ``r = i * side + a``) has id ``r * 10**7 + c`` and sits at its block
    corner jittered by a hash of its id, so neighbouring tiles agree on shared nodes without being built.
    """
    a, b = np.meshgrid(np.arange(side + 1), np.arange(side + 1), indexing="ij")  # +1: edges into next tile
    r, c = (i * side + a).ravel(), (j * side + b).ravel()
    ids = r.astype(np.int64) * 10**7 + c
    jitter = _unit_hash(ids, 11400714819323198485) - 0.5
    jitter2 = _unit_hash(ids, 14029467366897019727) - 0.5
    xy = np.column_stack([X0 + (c + 0.6 * jitter) * spacing_m, Y0 + (r + 0.6 * jitter2) * spacing_m])
    own = (a.ravel() < side) & (b.ravel() < side)
    right = up = np.flatnonzero(own)
    u = np.concatenate([ids[right], ids[up]])
    v = np.concatenate([ids[right] + 1, ids[up] + 10**7])
    drop = _unit_hash(u * 3 + v, 6364136223846793005) < 0.08  # 8 % of streets missing, stable per edge
    return ids, xy, u[~drop], v[~drop]


def province_fraction(tiles: range, side: int, spacing_m: float) -> WalkNetwork:
    """Build the tiles ``tiles × tiles`` of the province as one network (only their own nodes and edges)."""
    ids, xy, us, vs = [], [], [], []
    for i in tiles:
        for j in tiles:
            t_ids, t_xy, u, v = grid_tile(i, j, side, spacing_m)
            ids.append(t_ids)
            xy.append(t_xy)
            us.append(u)
            vs.append(v)
    node_ids, first = np.unique(np.concatenate(ids), return_index=True)
    node_xy = np.concatenate(xy)[first]
    u, v = np.concatenate(us), np.concatenate(vs)
    keep = np.isin(u, node_ids) & np.isin(v, node_ids)
    u, v = np.searchsorted(node_ids, u[keep]), np.searchsorted(node_ids, v[keep])
    used = np.unique(np.r_[u, v])
    remap = np.full(len(node_ids), -1)
    remap[used] = np.arange(len(used))
    u, v, node_ids, node_xy = remap[u], remap[v], node_ids[used], node_xy[used]
    geoms = shapely.linestrings(np.stack([node_xy[u], node_xy[v]], axis=1))
    return WalkNetwork(
        node_ids=node_ids,
        node_xy=node_xy,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_length_m=shapely.length(geoms),
        edge_geometry=np.asarray(geoms, dtype=object),
        highway=np.full(len(u), "residential", dtype=object),
        crs=CRS,
        source="synthetic province fraction",
    )


def points(net: WalkNetwork, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    return rng.uniform(lo, hi, size=(n, 2))


def inputs(net: WalkNetwork, nodes_per_origin: int, nodes_per_facility: int):
    o_xy = points(net, max(1, net.n_nodes // nodes_per_origin), 1)
    origins = gpd.GeoDataFrame(
        {"population": np.full(len(o_xy), 30.0)}, geometry=shapely.points(o_xy), crs=CRS
    )
    per = max(1, net.n_nodes // nodes_per_facility)
    f_xy = points(net, per * len(KINDS), 2)
    facilities = gpd.GeoDataFrame({"category": np.repeat(KINDS, per)}, geometry=shapely.points(f_xy), crs=CRS)
    return origins, facilities


def median_run(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiles", type=int, default=20, help="province = tiles × tiles tiles")
    ap.add_argument("--tile-side", type=int, default=100, help="blocks per tile side")
    ap.add_argument("--spacing-m", type=float, default=80.0)
    ap.add_argument("--fraction-tiles", type=int, default=2, help="benchmark this many tiles per side")
    ap.add_argument("--nodes-per-origin", type=int, default=4)
    ap.add_argument("--nodes-per-facility", type=int, default=2000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory-limit", default="2GiB")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    province_nodes = (args.tiles * args.tile_side) ** 2
    t = time.perf_counter()
    net = province_fraction(range(args.fraction_tiles), args.tile_side, args.spacing_m)
    origins, facilities = inputs(net, args.nodes_per_origin, args.nodes_per_facility)
    build_s = time.perf_counter() - t
    share = net.n_nodes / province_nodes
    print(
        f"province: {args.tiles}x{args.tiles} tiles of {args.tile_side}^2 blocks = {province_nodes:,} nodes; "
        f"fraction {net.n_nodes:,} nodes, {net.n_edges:,} edges ({share:.2%}), {len(origins):,} origins, "
        f"{len(facilities):,} facilities; generated in {build_s:.1f} s"
    )
    opts = CoverageOptions(offset_check="off", hex_size_m=500)
    run = {"single": median_run(lambda: coverage(net, origins, facilities, opts), args.repeats)}
    memory: dict[int, list[float]] = {}
    for w in args.workers:
        with connect(f"local:{w}:{args.memory_limit}") as client:
            client.wait_for_workers(w)
            backend = DaskDistances(client)
            coverage(net, origins, facilities, opts, distances=backend)  # warm: imports on the workers
            run[f"dask-{w}"] = median_run(
                lambda b=backend: coverage(net, origins, facilities, opts, distances=b), args.repeats
            )
            memory[w] = sorted(
                v / 2**20 for v in client.run(lambda: psutil.Process(os.getpid()).memory_info().rss).values()
            )
    n_prov_origins = province_nodes // args.nodes_per_origin
    print(f"{'run':10} {'median s':>9} {'origins/s':>10} {'vs single':>9} {'province h (extrapolated)':>26}")
    rows = {}
    for name, sec in run.items():
        thr = len(origins) / sec
        rows[name] = {"median_s": sec, "origins_per_s": thr, "province_h": n_prov_origins / thr / 3600}
        print(f"{name:10} {sec:9.2f} {thr:10.0f} {run['single'] / sec:9.2f} {rows[name]['province_h']:26.2f}")
    for w, mem in memory.items():
        print(f"dask-{w}: worker RSS after the run {', '.join(f'{m:.0f}' for m in mem)} MiB "
              f"(limit {args.memory_limit} each)")  # fmt: skip
    print(f"province origins {n_prov_origins:,}; T_province(w) = origins_province / throughput(w)")
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: figures are noisy)"
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "memory_mib": memory, "nodes": net.n_nodes}, indent=1))


if __name__ == "__main__":
    main()
