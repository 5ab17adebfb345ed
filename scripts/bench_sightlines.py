"""Benchmark: height-control surface and viewsheds for >= 20 viewpoints vs GDAL's gdal_viewshed.

Terrain: the real ASTER tile (../shared/data/dem or $WEIHAI_DEM) reprojected to EPSG:4550 at 30 m and
cropped to about 1500 x 1500 cells (the size of central Weihai) around south Rongcheng; without the tile,
synthetic fractal terrain of the same size. Each task runs --repeat times (median reported). Peak memory:
tracemalloc peak for our numpy code; max RSS of the gdal_viewshed child processes for GDAL.

Run: .venv/bin/python scripts/bench_sightlines.py [--viewpoints 20] [--repeat 3] [--size 1500]
     .venv/bin/python scripts/bench_sightlines.py --against REV [--viewpoints 4]
``--against REV`` instead times ``viewpoint_limit`` of this tree against the one of git revision REV (its
``weihai_gis/sightlines/surface.py`` loaded as a module), on one thread, alternated, CPU seconds, after
checking both give identical limits.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from affine import Affine

from weihai_gis.sightlines import DEM, extract_ridges, height_surface, read_dem, viewshed, write_raster

REPO = Path(__file__).resolve().parents[1]
TILE = Path(
    os.environ.get("WEIHAI_DEM", REPO.parent / "shared" / "data" / "dem" / "ASTGTMV003_N36E122_dem.tif")
)


def load_terrain(size: int) -> tuple[DEM, str]:
    if TILE.exists():
        span_lon, span_lat = size * 30 / 89_000, size * 30 / 111_000
        bounds = (122.66 - span_lon, 37.0 - span_lat, 122.66, 37.0)
        dem = read_dem(TILE, bounds=bounds, bounds_crs="EPSG:4326", resolution_m=30)
        return dem, f"real ASTER GDEM tile {TILE.name}, reprojected to EPSG:4550 at 30 m"
    rng = np.random.default_rng(0)
    z = np.zeros((size, size))
    for octave in range(1, 7):
        n = 2**octave + 1
        coarse = rng.normal(0, 300 / octave**1.5, (n, n))
        idx = np.linspace(0, n - 1, size)
        rows = np.interp(idx, np.arange(n), np.arange(n))
        z += np.array([np.interp(idx, np.arange(n), coarse[int(r)]) for r in rows])
    z -= np.percentile(z, 40)
    dem = DEM(z, Affine(30, 0, 430000, 0, -30, 4110000), "EPSG:4550", sea=z <= 0)
    return dem, "synthetic fractal terrain (real tile absent)"


def pick_viewpoints(dem: DEM, n: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(42)
    land = np.argwhere(dem.valid & ~dem.sea & (dem.elevation > 5))
    chosen = land[rng.choice(len(land), size=n, replace=False)]
    return [dem.transform @ (c + 0.5, r + 0.5) for r, c in chosen]


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median wall time of ``repeat`` runs, then one more run under tracemalloc for the peak (MB)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def gdal_peak_mb(gdal: str, xy: tuple[float, float], src: Path, out: Path) -> float:
    """Max RSS (MB) of one gdal_viewshed run, measured by GNU time when present."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    if not Path(gnu_time).exists():
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cmd = [
        gnu_time,
        "-f",
        "%M",
        gdal,
        "-q",
        "-oz",
        "1.6",
        "-ox",
        repr(float(xy[0])),
        "-oy",
        repr(float(xy[1])),
    ]
    res = subprocess.run([*cmd, str(src), str(out)], check=True, capture_output=True, text=True)
    return int(res.stderr.strip().splitlines()[-1]) / 1024


def against(rev: str, dem: DEM, vps: list[tuple[float, float]], repeat: int) -> None:
    """Alternate ``viewpoint_limit`` of this tree and of revision ``rev``; CPU medians and their ratio."""
    import weihai_gis.sightlines.surface as ours

    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:weihai_gis/sightlines/surface.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "surface_previous.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("surface_previous", path)
        assert spec is not None and spec.loader is not None
        previous = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(previous)
    ridge = extract_ridges(dem)
    for mod in (previous, ours):  # the shared per-cell tables are built once per module, not timed
        mod.viewpoint_limit(dem, vps[0], ridge_mask=ridge)
    cpu: dict[str, list[float]] = {"previous": [], "ours": []}
    outs: dict[str, list[np.ndarray]] = {}
    for _ in range(repeat):
        for name, mod in (("previous", previous), ("ours", ours)):
            t0 = time.process_time()
            outs[name] = [mod.viewpoint_limit(dem, p, ridge_mask=ridge) for p in vps]
            cpu[name].append(time.process_time() - t0)
    for a, b in zip(outs["previous"], outs["ours"], strict=True):
        np.testing.assert_array_equal(a, b)  # the same limits, bit for bit
    p, o = statistics.median(cpu["previous"]), statistics.median(cpu["ours"])
    print(
        f"viewpoint_limit, {len(vps)} viewpoints, one thread, CPU s (median of {repeat}, alternated): "
        f"{rev} {p:.2f}, this tree {o:.2f}, ratio {p / o:.2f}x; limits identical"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--viewpoints", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", type=int, default=1500)
    ap.add_argument("--against", metavar="REV", help="time viewpoint_limit against git revision REV")
    args = ap.parse_args()
    dem, what = load_terrain(args.size)
    if args.against:
        print(f"terrain: {what}; grid {dem.shape[0]} x {dem.shape[1]} cells")
        against(args.against, dem, pick_viewpoints(dem, args.viewpoints), args.repeat)
        return
    vps = pick_viewpoints(dem, args.viewpoints)
    print(
        f"terrain: {what}; grid {dem.shape[0]} x {dem.shape[1]} cells of {dem.cell_size_m:g} m; "
        f"{(~dem.sea & dem.valid).mean():.0%} land; {len(vps)} viewpoints; median of {args.repeat} runs"
    )
    ridge = extract_ridges(dem)
    t_surface, m_surface = timed(
        lambda: height_surface(dem, vps, observer_heights_m=1.6, ridge_mask=ridge, ridge_exposed_share=0.3),
        args.repeat,
    )

    def all_viewsheds() -> None:
        for p in vps:
            viewshed(dem, p, observer_height_m=1.6)

    t_vs, m_vs = timed(all_viewsheds, args.repeat)
    rows = [
        ("height surface (ours, 1 horizon scan per viewpoint)", t_surface, m_surface),
        ("viewsheds (ours, numpy GDAL port)", t_vs, m_vs),
    ]
    gdal = shutil.which("gdal_viewshed")
    t_gdal = float("nan")
    m_gdal = float("nan")
    if gdal:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "dem.tif"
            write_raster(src, dem.elevation, dem, nodata=-9999, dtype="float32")
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                for i, (x, y) in enumerate(vps):
                    cmd = [gdal, "-q", "-oz", "1.6", "-ox", repr(float(x)), "-oy", repr(float(y))]
                    subprocess.run([*cmd, str(src), str(Path(tmp) / f"v{i}.tif")], check=True)
                times.append(time.perf_counter() - t0)
            t_gdal = statistics.median(times)
            m_gdal = gdal_peak_mb(gdal, vps[0], src, Path(tmp) / "mem.tif")
        rows.append(("viewsheds (gdal_viewshed subprocesses)", t_gdal, m_gdal))
    else:
        print("gdal_viewshed not found: GDAL rows skipped")
    print(f"\n{'task':<55} {'median s':>9} {'s/viewpt':>9} {'peak MB':>8} {'vs GDAL':>8}")
    for name, t, m in rows:
        ratio = t / t_gdal if np.isfinite(t_gdal) else float("nan")
        print(f"{name:<55} {t:>9.2f} {t / len(vps):>9.3f} {m:>8.0f} {ratio:>7.2f}x")
    print("\npeak MB: tracemalloc peak (numpy allocations) of one run of ours over all viewpoints; max RSS")
    print("of one gdal_viewshed process (GNU time). GDAL times include process start and GeoTIFF writing.")


if __name__ == "__main__":
    main()
