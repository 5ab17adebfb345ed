"""Benchmark barriers and service areas on the shipped 山大哈工大 extract; prints medians and ratios.

- barrier cut (STRtree + vectorised predicates) vs the same rules one edge and one barrier at a time
  (the tests' oracle), on every primary road as a barrier line with the extract's OSM crossings;
- service areas of every assessed category (category / facility / catchment mode) vs the coverage run
  they are drawn from (same network, same facilities).

Usage: ``.venv/bin/python scripts/bench_service_areas.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import shapely

from weihai_gis.lifecircle import coverage
from weihai_gis.lifecircle.service_areas import result_service_areas
from weihai_gis.network import barrier_cut, build_network, read_osm_crossings, snap_points
from weihai_gis.samples import hitwh_inputs
from weihai_gis.synthetic import primary_road_barriers


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _slow_cut(net, bars, crossings, tol=15.0, along=2.0) -> int:
    geoms = list(bars.geometry)
    pts = list(crossings.to_crs(net.crs).geometry)
    removed = 0
    for edge in net.edge_geometry:
        for bar in geoms:
            if not edge.intersects(bar):
                continue
            if bar.geom_type in ("Polygon", "MultiPolygon"):
                blocked = not edge.touches(bar)
            else:
                blocked = not all(shapely.Point(c).distance(bar) <= along for c in edge.coords)
                if blocked and any(p.distance(edge.intersection(bar)) <= tol for p in pts):
                    blocked = False
            if blocked:
                removed += 1
                break
    return removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    crossings = read_osm_crossings(inputs.network)
    bars = primary_road_barriers(net)
    print(
        f"network: {net.n_edges} edges; barriers: {len(bars)} primary-road lines; {len(crossings)} crossings"
    )
    fast = _median(lambda: barrier_cut(net, bars, crossings), args.repeats)
    slow = _median(lambda: _slow_cut(net, bars, crossings), 1)
    cut = barrier_cut(net, bars, crossings)
    assert cut.n_removed == _slow_cut(net, bars, crossings)
    print(
        f"barrier cut: {fast * 1000:.1f} ms vs per-edge shapely {slow * 1000:.0f} ms ({slow / fast:.0f}x); "
        f"{cut.n_cut} edges cut, {cut.n_reopened} kept by crossings"
    )
    split = _median(lambda: cut.apply(net), args.repeats)
    after = cut.apply(net)
    plain_snap = _median(lambda: snap_points(net, inputs.origins.to_crs(net.crs)), args.repeats)
    side_snap = _median(lambda: snap_points(after, inputs.origins.to_crs(net.crs)), args.repeats)
    print(
        f"split at the barriers: {split * 1000:.1f} ms ({net.n_edges} -> {after.n_edges} edges); snapping "
        f"{len(inputs.origins)} buildings on their own side {side_snap * 1000:.1f} ms vs "
        f"{plain_snap * 1000:.1f} ms uncut ({side_snap / plain_snap:.2f}x)"
    )
    res = coverage(net, inputs.origins, inputs.facilities, hex_size_m=250)
    base = _median(lambda: coverage(net, inputs.origins, inputs.facilities, hex_size_m=250), args.repeats)
    n_cat = int(res.categories["assessed"].sum())
    print(f"coverage run ({len(inputs.origins)} origins, {n_cat} assessed categories): {base:.2f} s")
    for mode in ("category", "facility", "catchment"):
        t = _median(lambda mode=mode: result_service_areas(net, res, mode=mode), args.repeats)
        areas = result_service_areas(net, res, mode=mode)
        km = float(np.sum(areas["network_m"])) / 1000
        print(
            f"service areas ({mode}): {t:.2f} s for {len(areas)} polygons, {km:.1f} km of reached street "
            f"({t / base:.2f}x the coverage run)"
        )


if __name__ == "__main__":
    main()
