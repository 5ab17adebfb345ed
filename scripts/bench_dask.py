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
from weihai_gis.synthetic import CRS, province_grid

KINDS = [
    "kindergarten", "primary_school", "middle_school", "health_station", "hospital", "convenience",
    "supermarket", "market", "bus_stop", "park", "sports", "culture", "police", "post", "toilet",
]  # fmt: skip


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
    net = province_grid(range(args.fraction_tiles), args.tile_side, args.spacing_m)
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
