"""Benchmark the XLSX writer (weihai_gis.io.workbook) on a large sheet; prints medians and ratios.

The peer in the same run is pandas ``DataFrame.to_excel`` (openpyxl engine, no formats, no header block):
what ``tijian.xlsx`` was written with before it moved onto ``write_workbook``. The table is a 问题清单-like
frame: ids, Chinese names, counts, metres, shares 0..1 and a boolean, ``--rows`` rows (default 50,000).

Usage: ``.venv/bin/python scripts/bench_workbook.py [--rows 50000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from weihai_gis.io.workbook import Sheet, read_sheet, write_workbook


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "unit_id": [f"xq-{i}" for i in range(rows)],
            "unit_name": [f"未命名小区 {i}" for i in range(rows)],
            "population": rng.uniform(0, 2000, rows),
            "nearest_network_m": rng.uniform(0, 3000, rows),
            "share_network_area": rng.uniform(0, 1, rows),
            "share_straight_line": rng.uniform(0, 1, rows),
            "fails": rng.uniform(0, 1, rows) > 0.5,
            "remark": ["居住用地为 OSM 近似"] * rows,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    frame = _frame(args.rows)
    sheet = Sheet(
        "单元评估",
        frame,
        headers_zh={"unit_id": "单元编号", "unit_name": "单元名称", "population": "人口"},
        percent=frozenset({"share_network_area", "share_straight_line"}),
        counts=frozenset({"population", "nearest_network_m"}),
        title="bench",
        lines=("⚠ 估算数据 / ESTIMATED",),
    )
    with tempfile.TemporaryDirectory() as tmp:
        ours, peer = Path(tmp) / "ours.xlsx", Path(tmp) / "peer.xlsx"
        times = {"pandas to_excel": [], "write_workbook": []}
        for _ in range(args.repeats):  # alternate, so load changes hit both alike
            times["pandas to_excel"].append(_median(lambda: frame.to_excel(peer, index=False), 1))
            times["write_workbook"].append(_median(lambda: write_workbook(ours, [sheet]), 1))
        back = read_sheet(ours, 0)
        assert len(back) == args.rows and list(back.columns) == list(frame.columns)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.rows:,} rows x {frame.shape[1]} columns, median of {args.repeats}:")
    for name, t in med.items():
        print(f"  {name:16s} {t:7.2f} s  ({args.rows / t:,.0f} rows/s)")
    print(f"  ratio write_workbook / pandas: {med['write_workbook'] / med['pandas to_excel']:.2f}")


if __name__ == "__main__":
    main()
