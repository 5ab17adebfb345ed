"""Benchmark reading an Amap POI export: ``read_facilities`` against the previous implementation (the peer,
kept below as it was), and the type mapping against the row-by-row mapping it replaced.

The export is synthetic (Amap columns, GCJ-02 ``location`` "lng,lat" over Weihai, 6 typecodes, GB18030
names). Each read is a whole child process measured by the kernel (CPU = user + sys, peak RSS of the
process; :func:`bench_runs.measure`); runs of ours and of the peer alternate and medians are printed. The
benchmark checks both give the same facilities (ids, kinds, coordinates to 1e-9°) before printing ratios.

The previous implementation decoded the whole file to a Python string, parsed it with pandas' C parser as
``dtype=str``, split ``location`` with ``str.split``, built shapely points three times (read, datum
conversion, ``to_crs``) and iterated the GCJ-02 inverse on every row until the slowest had converged.

Usage: python scripts/bench_facilities.py [--n 2000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runs import PY, measure

CODES = np.array(["141203", "060200", "150700", "090100", "050100", "999999"])
TEXTS = np.array(
    [
        "科教文化服务;学校;小学",
        "购物服务;便民商店/便利店;便民商店/便利店",
        "交通设施服务;公交车站;公交车站相关",
    ]
)


def _export(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "id": np.char.add("B0", np.arange(n).astype(str)),
            "name": np.char.add("设施", np.arange(n).astype(str)),
            "type": TEXTS[rng.integers(0, len(TEXTS), n)],
            "typecode": CODES[rng.integers(0, len(CODES), n)],
            "location": np.char.add(
                np.char.add(np.round(rng.uniform(121.9, 122.3, n), 6).astype(str), ","),
                np.round(rng.uniform(37.3, 37.6, n), 6).astype(str),
            ),
        }
    ).to_csv(path, index=False, encoding="gb18030")


# ---------------------------------------------------------------- the previous implementation (the peer)


def _previous_gcj02_to_wgs84(glon, glat, tol_deg=1e-10, max_iter=30):
    from weihai_gis.crs import wgs84_to_gcj02

    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if np.nanmax(np.abs(np.concatenate([elon, elat])), initial=0.0) < tol_deg:
            break
    return wlon, wlat


def previous_read_facilities(path: Path):
    """``read_facilities(path, mapping="amap", datum="gcj02")`` as it was before pyarrow (same output)."""
    import geopandas as gpd
    import shapely

    from weihai_gis.crs import STORAGE_CRS
    from weihai_gis.facilities import map_amap_types
    from weihai_gis.io.pois import HEADER_SCAN_ROWS

    text = path.read_bytes().decode("gb18030").lstrip("\ufeff")
    first = list(csv.reader(io.StringIO("\n".join(text.split("\n", HEADER_SCAN_ROWS)[:HEADER_SCAN_ROWS]))))
    head = next(i for i, row in enumerate(first) if "location" in row)
    table = pd.read_csv(io.StringIO(text), skiprows=head, dtype=str, keep_default_na=False)
    parts = table["location"].astype(str).str.split(",", n=1, expand=True).reindex(columns=[0, 1])
    x = pd.to_numeric(parts[0].astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(parts[1].astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    frame = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")
    geoms = frame.geometry.to_numpy()
    assert not (frame.geom_type == "MultiPoint").any() and not (shapely.get_type_id(geoms) != 0).any()
    xy = shapely.get_coordinates(geoms)
    lon, lat = _previous_gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    geoms = shapely.points(np.column_stack([lon, lat]))
    kind = map_amap_types(frame["typecode"], frame["type"])
    out = gpd.GeoDataFrame(
        {
            "id": frame["id"].astype(str).to_numpy(),
            "name": frame["name"].fillna("").astype(str).to_numpy(),
            "category": kind.to_numpy(),
            "source_type": frame["typecode"].astype(str).to_numpy(),
        },
        geometry=geoms,
        crs="EPSG:4326",
    ).to_crs(STORAGE_CRS)
    return out[out["category"].notna()].reset_index(drop=True)


# ---------------------------------------------------------------- child processes


def _worker(which: str, path: Path, save: Path | None) -> None:
    import shapely

    if which == "ours":
        from weihai_gis.facilities import read_facilities

        out = read_facilities(path, mapping="amap", datum="gcj02")
    else:
        out = previous_read_facilities(path)
    if save is not None:
        xy = shapely.get_coordinates(out.geometry.to_numpy())
        np.savez(save, xy=xy, id=out["id"].to_numpy(dtype=str), category=out["category"].to_numpy(dtype=str))


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000, help="POIs in the export")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=["ours", "previous"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--save", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.path, args.save)
        return
    from weihai_gis.facilities import _map_amap_unique, map_amap_types

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "amap.csv"
        _export(path, args.n)
        size_mb = path.stat().st_size / 2**20
        script = str(Path(__file__).resolve())
        runs: dict[str, list[dict[str, float]]] = {"ours": [], "previous": []}
        for i in range(args.repeats):  # alternate: load from other users hits both
            for which in ("ours", "previous"):
                cmd = [PY, script, "--worker", which, "--path", str(path)]
                if i == 0:
                    cmd += ["--save", str(Path(folder) / f"{which}.npz")]
                runs[which].append(measure(cmd))
        a, b = np.load(Path(folder) / "ours.npz"), np.load(Path(folder) / "previous.npz")
        assert (a["id"] == b["id"]).all() and (a["category"] == b["category"]).all()
        np.testing.assert_allclose(a["xy"], b["xy"], atol=1e-9, rtol=0)
    med = {
        k: {m: statistics.median(r[m] for r in v) for m in ("wall_s", "cpu_s", "rss_mib")}
        for k, v in runs.items()
    }
    print(
        f"POIs: {args.n:,} ({size_mb:.0f} MB GB18030 CSV, Amap location column, GCJ-02); same facilities: yes"
    )
    print("| read_facilities(mapping='amap', datum='gcj02') | CPU s | wall s | peak RSS MiB |")
    print("|---|---|---|---|")
    for k, label in (("ours", "ours (pyarrow)"), ("previous", "previous implementation")):
        print(f"| {label} | {med[k]['cpu_s']:.1f} | {med[k]['wall_s']:.1f} | {med[k]['rss_mib']:,.0f} |")
    print(
        f"ratio previous / ours: CPU {med['previous']['cpu_s'] / med['ours']['cpu_s']:.1f}x, "
        f"peak RSS {med['previous']['rss_mib'] / med['ours']['rss_mib']:.1f}x (medians of {args.repeats})"
    )
    rng = np.random.default_rng(1)
    n_map = min(args.n, 500_000)
    code = pd.Series(CODES[rng.integers(0, len(CODES), n_map)])
    text = pd.Series(TEXTS[rng.integers(0, len(TEXTS), n_map)])
    fast = _median(lambda: map_amap_types(code, text), args.repeats)
    slow = _median(lambda: _map_amap_unique(code, text), 1)
    print(
        f"type mapping of {n_map:,} rows once per distinct type: median {fast:.3f} s; row by row (1 run): "
        f"{slow:.2f} s, ratio {slow / fast:.0f}x"
    )


if __name__ == "__main__":
    main()
