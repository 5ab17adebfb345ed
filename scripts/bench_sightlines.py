"""Benchmark: the height-control surface (20 viewpoints) against an older revision, and one CLI viewshed vs GDAL.

Terrain: the real ASTER tile (../shared/data/dem or $WEIHAI_DEM) reprojected to EPSG:4550 at 30 m and
cropped to about 1500 x 1500 cells (the size of central Weihai) around south Rongcheng; without the tile,
synthetic fractal terrain of the same size.

1. Surface: ``height_surface`` of this tree and of git revision ``--against`` (default ``d75603d``, the scan
   that read every sample of every ray; its ``weihai_gis/sightlines/surface.py`` loaded as a module), 20
   viewpoints, ridges extracted from the DEM (not timed), sea horizon kept, ridge share ``--share``
   (default controls.yaml's, as a user's run and ``bench_runs.py``'s surface task); the two run alternately
   ``--repeat`` times, each call cold (the per-DEM tables it builds are forgotten before it, so it is timed
   as one call in a fresh process is: the same question as ``bench_runs.py``), with each revision's default
   threads, plus this tree with 2 threads (``workers=2``: wall time for CPU); CPU seconds (process time, all
   threads) and wall seconds, medians; the limits are checked equal (same unlimited and nodata cells, finite
   limits within 1 cm) before the ratio is printed. Target (issue 11): 20 viewpoints <= 5 s CPU; the
   target's verdict is ``bench_runs.py``'s surface row (a fresh process per run, as a user's), this row
   gives the peer ratio.
2. Viewshed: ``weihai-gis sightlines viewshed`` and ``gdal_viewshed`` as whole processes (start-up
   included) on the same DEM GeoTIFF and observer, alternated, CPU / wall / peak RSS from the kernel
   (``scripts/bench_runs.py``'s launcher), outputs checked to agree on >= 99 % of cells.
   Target (issue 11): CPU <= 3x ``gdal_viewshed``.

Run: .venv/bin/python scripts/bench_sightlines.py [--viewpoints 20] [--repeat 3] [--against REV] [--share S]
     [--json scripts/bench_results/sightlines.json]    (the JSON feeds scripts/bench_report.py)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from affine import Affine

from weihai_gis.sightlines import DEM, extract_ridges, read_dem

REPO = Path(__file__).resolve().parents[1]
TILE = Path(
    os.environ.get("WEIHAI_DEM", REPO.parent / "shared" / "data" / "dem" / "ASTGTMV003_N36E122_dem.tif")
)
PREVIOUS = "d75603d"
"""The revision before the open-sea shortcut: every sample of every ray read (issue 11's 8.57 s)."""
SURFACE_TARGET_S = 5.0
VIEWSHED_TARGET_X = 3.0


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


def load_revision(rev: str):
    """``weihai_gis/sightlines/surface.py`` of git revision ``rev`` as a module."""
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
    return previous


def compare(ours: np.ndarray, previous: np.ndarray) -> tuple[str, bool]:
    """How the two surfaces agree; False when not within 1 cm on the same unlimited and nodata cells."""
    same_nan = np.array_equal(np.isnan(ours), np.isnan(previous))
    same_inf = np.array_equal(np.isinf(ours), np.isinf(previous))
    fin = np.isfinite(ours) & np.isfinite(previous)
    diff = np.abs(ours[fin] - previous[fin])
    largest = float(diff.max()) if diff.size else 0.0
    ok = same_nan and same_inf and largest <= 0.01
    text = (
        f"same unlimited and nodata cells: {same_inf and same_nan}; {fin.sum():,} limited cells, largest "
        f"difference {largest * 1000:.2f} mm"
    )
    return text, ok


def forget_tables(mod) -> None:
    """Drop the per-DEM tables a surface module keeps between calls (so the next call builds them)."""
    for name in ("_TABLES", "_FLAT_ELEVATION"):  # this tree's, d75603d's
        getattr(mod, name, {}).clear()
    offsets = getattr(mod, "_offset_tables", None)
    if offsets is not None:
        offsets.cache_clear()


def controls_share() -> float:
    """controls.yaml's ridge exposed share (what a user's run and bench_runs.py's surface task use)."""
    from weihai_gis.sightlines.zones import load_controls

    return float(load_controls()["sightlines"]["ridge_exposed_share"]["value"])


def bench_surface(dem: DEM, vps: list, rev: str, share: float, repeat: int) -> dict:
    """Alternate this tree's and ``rev``'s height_surface, cold; CPU and wall medians, agreement, the ratio."""
    import weihai_gis.sightlines.surface as ours

    previous = load_revision(rev)
    ridge = extract_ridges(dem)
    kw = {"observer_heights_m": 1.6, "ridge_mask": ridge, "ridge_exposed_share": share}
    runs = {"previous": (previous, {}), "ours": (ours, {}), "ours, 2 threads": (ours, {"workers": 2})}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    out: dict[str, np.ndarray] = {}
    for _ in range(repeat):
        for name, (mod, extra) in runs.items():
            forget_tables(mod)
            t0, w0 = time.process_time(), time.perf_counter()
            out[name] = mod.height_surface(dem, vps, **kw, **extra)
            cpu[name].append(time.process_time() - t0)
            wall[name].append(time.perf_counter() - w0)
    agreement, ok = compare(out["ours"], out["previous"])
    if not ok:
        raise RuntimeError(f"height surfaces differ from {rev}: {agreement}")
    if not np.array_equal(out["ours"], out["ours, 2 threads"], equal_nan=True):
        raise RuntimeError("height surface with 2 threads differs from the one without")
    c_ours, c_prev = statistics.median(cpu["ours"]), statistics.median(cpu["previous"])
    c_thr, w_thr = statistics.median(cpu["ours, 2 threads"]), statistics.median(wall["ours, 2 threads"])
    met = "met" if c_ours <= SURFACE_TARGET_S else "NOT met"
    return {
        "task": f"height surface, {len(vps)} viewpoints, {dem.shape[0]}x{dem.shape[1]} cells, ridge share "
        f"{share:g}, cold (tables built in the call)",
        "cpu_s": c_ours,
        "wall_s": statistics.median(wall["ours"]),
        "rss_mib": None,
        "peer": f"{rev} (every sample read) {c_prev:.2f} s CPU, {statistics.median(wall['previous']):.2f} s wall: "
        f"{c_prev / c_ours:.2f}x less CPU now; {agreement}; this tree with 2 threads {c_thr:.2f} s CPU, "
        f"{w_thr:.2f} s wall (same surface)",
        "verdict": f"height surface, 20 viewpoints, CPU <= {SURFACE_TARGET_S:g} s: {c_ours:.2f} s ({met}; the "
        "target's verdict is the runs table's surface row)",
    }


def bench_cli_viewshed(repeat: int) -> dict:
    """One viewshed from the CLI vs gdal_viewshed, whole processes (bench_runs.py's measurement)."""
    sys.path.insert(0, str(REPO / "scripts"))
    import bench_runs

    rows: list[dict] = []
    bench_runs.bench_viewshed(repeat, rows)
    row = rows[-1]
    if row.get("target") is None:
        return {"task": row["task"], "cpu_s": None, "verdict": ""}
    met = "met" if row["ratio"] <= VIEWSHED_TARGET_X else "NOT met"
    return {
        **{k: row[k] for k in ("task", "cpu_s", "wall_s", "rss_mib", "peer")},
        "verdict": f"one CLI viewshed / gdal_viewshed (whole process, CPU) <= {VIEWSHED_TARGET_X:g}x: "
        f"{row['ratio']:.2f}x ({met})",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--viewpoints", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", type=int, default=1500)
    ap.add_argument(
        "--against", metavar="REV", default=PREVIOUS, help="older revision to time the surface against"
    )
    ap.add_argument(
        "--share", type=float, default=None, help="ridge exposed share (default: controls.yaml's)"
    )
    ap.add_argument("--tasks", default="surface,viewshed")
    ap.add_argument("--json", type=Path, default=None, help="rows for scripts/bench_report.py")
    args = ap.parse_args()
    import bench_runs

    started = bench_runs.start_stamp()  # date, measured commit, load average before the work
    dem, what = load_terrain(args.size)
    vps = pick_viewpoints(dem, args.viewpoints)
    print(
        f"terrain: {what}; grid {dem.shape[0]} x {dem.shape[1]} cells of {dem.cell_size_m:g} m; "
        f"{(~dem.sea & dem.valid).mean():.0%} land, {dem.sea.mean():.0%} sea; {len(vps)} viewpoints; "
        f"median of {args.repeat} alternated runs; load average {os.getloadavg()[0]:.1f}"
    )
    rows = []
    if "surface" in args.tasks:
        share = controls_share() if args.share is None else args.share
        rows.append(bench_surface(dem, vps, args.against, share, args.repeat))
        print(json.dumps(rows[-1], ensure_ascii=False, indent=1))
    if "viewshed" in args.tasks and shutil.which("gdal_viewshed"):
        rows.append(bench_cli_viewshed(args.repeat))
        print(json.dumps(rows[-1], ensure_ascii=False, indent=1))
    for r in rows:
        print(f"{r['task']}: {r.get('cpu_s') or float('nan'):.2f} s CPU; {r.get('verdict', '')}")
    if args.json:
        doc = {
            "bench": "sightlines",
            **started,
            "repeat": args.repeat,
            "command": " ".join(["python scripts/bench_sightlines.py", *sys.argv[1:]]),
            "terrain": what,
            "rows": rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
