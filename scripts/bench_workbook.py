"""Benchmark the XLSX writer (weihai_gis.io.workbook) on a large sheet; prints medians and ratios.

Peers in the same run, alternated: pandas ``DataFrame.to_excel`` (openpyxl engine, no formats, no header
block: what ``tijian.xlsx`` was written with before it moved onto ``write_workbook``) and ``write_workbook``
of an older revision (``--peer-rev``, default ea472c6: cells set one by one on a normal worksheet, a
number format assigned per cell afterwards). The table is a 问题清单-like frame: ids, Chinese names,
counts, metres, shares 0..1 and a boolean, ``--rows`` rows (default 50,000).

Usage: ``.venv/bin/python scripts/bench_workbook.py [--rows 50000] [--repeats 3] [--peer-rev REV]``
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import subprocess
import sys
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


def _older_writer(rev: str, folder: Path) -> Callable[..., object] | None:
    """``write_workbook`` of ``weihai_gis/io/workbook.py`` at git revision ``rev`` (None when unavailable)."""
    root = Path(__file__).resolve().parents[1]
    try:
        text = subprocess.run(
            ["git", "-C", str(root), "show", f"{rev}:weihai_gis/io/workbook.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = folder / "workbook_old.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("workbook_old", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["workbook_old"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    known = {f.name for f in dataclasses.fields(module.Sheet)}
    return lambda p, sheet: module.write_workbook(
        p, [module.Sheet(**{k: v for k, v in vars(sheet).items() if k in known})]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-rev", default="ea472c6")
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
        folder = Path(tmp)
        runs: dict[str, Callable[[], object]] = {
            "pandas to_excel": lambda: frame.to_excel(folder / "pandas.xlsx", index=False),
            "write_workbook": lambda: write_workbook(folder / "ours.xlsx", [sheet]),
        }
        older = _older_writer(args.peer_rev, folder)
        if older is not None:
            runs[f"write_workbook@{args.peer_rev}"] = lambda: older(folder / "old.xlsx", sheet)
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.repeats):  # alternate, so load changes hit every writer alike
            for name, fn in runs.items():
                times[name].append(_median(fn, 1))
        back = read_sheet(folder / "ours.xlsx", 0)
        assert len(back) == args.rows and list(back.columns) == list(frame.columns)
        if older is not None:  # the same cells as the older writer
            pd.testing.assert_frame_equal(back, read_sheet(folder / "old.xlsx", 0))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.rows:,} rows x {frame.shape[1]} columns, median of {args.repeats} (alternated):")
    for name, t in med.items():
        ratio = t / med["write_workbook"]
        print(f"  {name:24s} {t:7.2f} s  ({args.rows / t:,.0f} rows/s)  {ratio:.2f}x write_workbook")


if __name__ == "__main__":
    main()
