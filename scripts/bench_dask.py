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

A minutes case (``--cases minutes``, or both: ``--cases metres minutes``) runs the ``--walker`` group on
random Gaussian hills written as a 1 arc-second DEM over the fraction (Tobler, directed): the edge times are
computed once by the client and scattered, the halo is the time budget × the fastest downhill speed. Each
case prints wall and CPU medians; CPU is the whole process tree's (client + scheduler in this process, plus
every worker process), which is less sensitive to the machine's load than wall seconds. Only 1-2 workers
can be measured on this 2-core machine; >= 4 workers is unmeasured here.

Usage: python scripts/bench_dask.py [--tiles 20] [--tile-side 100] [--fraction-tiles 2] [--workers 1 2]
       [--cases metres minutes] [--walker elderly]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
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
from weihai_gis.synthetic import CRS, province_grid, random_hills, write_hill_dem

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


def hill_dem(net: WalkNetwork, folder: Path) -> Path:
    """Write random hills (30-120 m) as a 1 arc-second DEM covering the network and return its path."""
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lo, hi = net.node_xy.min(axis=0) - 500, net.node_xy.max(axis=0) + 500
    west, south = to_lonlat.transform(*lo)
    east, north = to_lonlat.transform(*hi)
    hills = random_hills(west, south, east - west, north - south, n=12, seed=0)
    cols, rows = int((east - west) * 3600) + 2, int((north - south) * 3600) + 2
    return write_hill_dem(folder / "hills.tif", hills, west=west, south=south, cols=cols, rows=rows)


def cpu_s(client=None) -> float:
    """CPU seconds so far of this process, plus every worker process of ``client`` (its own processes)."""
    own = psutil.Process().cpu_times()
    total = own.user + own.system
    if client is not None:
        total += sum(client.run(lambda: sum(psutil.Process(os.getpid()).cpu_times()[:2])).values())
    return total


def median_run(fn, repeats: int, client=None) -> tuple[float, float]:
    """Return the median wall and whole-process-tree CPU seconds of ``repeats`` calls of ``fn``."""
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), cpu_s(client)
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu_s(client) - c)
    return statistics.median(walls), statistics.median(cpus)


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
    ap.add_argument("--cases", nargs="+", choices=["metres", "minutes"], default=["metres"])
    ap.add_argument("--walker", default="elderly", help="walker group of the minutes case")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the synthetic inputs leave categories unassessed: expected

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
    tmp = tempfile.TemporaryDirectory()
    cases = {}
    for case in args.cases:
        opts = CoverageOptions(offset_check="off", hex_size_m=500)
        if case == "minutes":
            opts = opts.replace(walker=args.walker, dem_costs=hill_dem(net, Path(tmp.name)))
        cases[case] = opts
    n_prov_origins = province_nodes // args.nodes_per_origin
    rows: dict[str, dict[str, float]] = {}
    memory: dict[str, list[float]] = {}
    for case, opts in cases.items():
        label = case if case == "metres" else f"minutes ({args.walker}, hills)"
        run = {"single": median_run(lambda o=opts: coverage(net, origins, facilities, o), args.repeats)}
        halos = ["time", "box"] if case == "minutes" else ["box"]  # metres runs: the box of the cutoff
        for w in args.workers:
            with connect(f"local:{w}:{args.memory_limit}") as client:
                client.wait_for_workers(w)
                for halo in halos:
                    name = f"dask-{w}" + ("" if case == "metres" else f"-{halo}")
                    backend = DaskDistances(client, halo=halo)
                    coverage(net, origins, facilities, opts, distances=backend)  # warm: imports, caches
                    run[name] = median_run(
                        lambda b=backend, o=opts: coverage(net, origins, facilities, o, distances=b),
                        args.repeats,
                        client,
                    )
                    sizes = [len(p.edges) for p in backend.partitions]
                    print(
                        f"{label} {name}: {len(sizes)} partitions, sub-networks {min(sizes):,}-{max(sizes):,} "
                        f"(sum {sum(sizes):,}) of {net.n_edges:,} edges"
                    )
                memory[f"{case} dask-{w}"] = sorted(
                    v / 2**20
                    for v in client.run(lambda: psutil.Process(os.getpid()).memory_info().rss).values()
                )
        wall0, cpu0 = run["single"]
        print(f"\n{label}: {'run':13} {'wall s':>7} {'CPU s':>7} {'origins/s':>10} {'wall vs single':>15} "
              f"{'CPU vs single':>14} {'province h':>11}")  # fmt: skip
        for name, (wall, cpu) in run.items():
            thr = len(origins) / wall
            rows[f"{case} {name}"] = {
                "median_wall_s": wall, "median_cpu_s": cpu, "origins_per_s": thr,
                "province_h": n_prov_origins / thr / 3600,
            }  # fmt: skip
            print(f"{'':{len(label) + 2}}{name:13} {wall:7.2f} {cpu:7.2f} {thr:10.0f} {wall0 / wall:15.2f} "
                  f"{cpu / cpu0:14.2f} {n_prov_origins / thr / 3600:11.2f}")  # fmt: skip
    if "metres single" in rows and "minutes single" in rows:
        print(f"minutes / metres (single, wall): "
              f"{rows['minutes single']['median_wall_s'] / rows['metres single']['median_wall_s']:.2f}")  # fmt: skip
    for name, mem in memory.items():
        print(f"{name}: worker RSS after the run {', '.join(f'{m:.0f}' for m in mem)} MiB "
              f"(limit {args.memory_limit} each)")  # fmt: skip
    print(f"province origins {n_prov_origins:,}; T_province(w) = origins_province / throughput(w)")
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: figures are noisy); "
        ">= 4 workers unmeasured here"
    )
    tmp.cleanup()
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "memory_mib": memory, "nodes": net.n_nodes}, indent=1))


if __name__ == "__main__":
    main()
