"""Benchmark the XLSX writer (weihai_gis.io.workbook) on a large sheet; prints medians and ratios.

Writers of the same sheet in the same run, alternated (CPU seconds of this process beside wall seconds):
``write_workbook`` (SpreadsheetML text, :mod:`weihai_gis.io.sheet_xml`), ``write_workbook(engine="openpyxl")``
(the write-only openpyxl writer it replaced: same layout and formats), XlsxWriter in ``constant_memory``
mode with the same header block and formats (when installed: ``pip install xlsxwriter``; not a dependency),
pandas ``DataFrame.to_excel`` (openpyxl engine, no formats, no header block) and ``write_workbook`` of an
older revision (``--peer-rev``, default ea472c6: cells set one by one on a normal worksheet). The table is a
问题清单-like frame: ids, Chinese names, counts, metres, shares 0..1 and a boolean, ``--rows`` rows
(default 50,000). The cells of every layout-preserving writer are checked equal to ours (read back).

With ``--json`` the medians go into a JSON that ``scripts/bench_report.py`` renders as the README's
``bench:workbook`` block.

Usage: ``.venv/bin/python scripts/bench_workbook.py [--rows 50000] [--repeats 3] [--peer-rev REV] [--json out.json]``
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from bench_runs import start_stamp  # scripts/ is on sys.path when run as a script

from weihai_gis.io.workbook import Sheet, read_sheet, write_workbook


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Return (CPU s, wall s) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def _xlsxwriter(path: Path, sheet: Sheet) -> None:
    """Write ``sheet`` with XlsxWriter (constant_memory: rows streamed) in the layout of io.workbook."""
    import xlsxwriter

    from weihai_gis.io.workbook import _layout

    lay = _layout(sheet)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "nan_inf_to_errors": False})
    ws = wb.add_worksheet(sheet.name)
    fonts = {"title": {"bold": True, "font_size": 13}, "warn": {"font_color": "#A15C00"}}
    fonts["note"] = {"font_color": "#444444"}
    for j, w in enumerate(lay.widths):
        ws.set_column(j, j, w)
    for r, (text, kind) in enumerate(lay.lead):
        ws.write_string(r, 0, text, wb.add_format(fonts[kind]))
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "text_wrap": True, "valign": "top"})
    grey = wb.add_format({"font_color": "#808080", "italic": True, "font_size": 9})
    r0 = len(lay.lead) + 1
    for j, (zh, c) in enumerate(zip(lay.heads, lay.cols, strict=True)):
        ws.write_string(r0, j, zh, head)
        ws.write_string(r0 + 1, j, c, grey)
    formats = [wb.add_format({"num_format": f}) if f else None for f in lay.formats]
    for i in range(lay.n):
        for j, (values, fmt) in enumerate(zip(lay.columns, formats, strict=True)):
            v = values[i]
            if isinstance(v, str):
                ws.write_string(r0 + 2 + i, j, v)
            elif v is not None:
                ws.write_number(r0 + 2 + i, j, v, fmt)  # type: ignore[arg-type]
    ws.autofilter(r0 + 1, 0, r0 + 1 + lay.n, len(lay.cols) - 1)
    ws.freeze_panes(r0 + 2, 1)
    wb.close()


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
    parser.add_argument("--json", type=Path, help="Write the medians here (for scripts/bench_report.py).")
    args = parser.parse_args()
    started = start_stamp()  # date, measured commit, load average before the work
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
            "write_workbook": lambda: write_workbook(folder / "ours.xlsx", [sheet]),
            "write_workbook openpyxl": lambda: write_workbook(
                folder / "opx.xlsx", [sheet], engine="openpyxl"
            ),
            "pandas to_excel": lambda: frame.to_excel(folder / "pandas.xlsx", index=False),
        }
        checked = {"write_workbook openpyxl": "opx.xlsx"}
        if importlib.util.find_spec("xlsxwriter") is not None:
            runs["xlsxwriter"] = lambda: _xlsxwriter(folder / "xw.xlsx", sheet)
            checked["xlsxwriter"] = "xw.xlsx"
        older = _older_writer(args.peer_rev, folder)
        if older is not None:
            runs[f"write_workbook@{args.peer_rev}"] = lambda: older(folder / "old.xlsx", sheet)
            checked[f"write_workbook@{args.peer_rev}"] = "old.xlsx"
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
        for _ in range(args.repeats):  # alternate, so load changes hit every writer alike
            for name, fn in runs.items():
                times[name].append(_timed(fn))
        back = read_sheet(folder / "ours.xlsx", 0)
        assert len(back) == args.rows and list(back.columns) == list(frame.columns)
        for name, file in checked.items():  # the same cells (floats: openpyxl keeps 16 digits)
            pd.testing.assert_frame_equal(back, read_sheet(folder / file, 0), rtol=1e-15, obj=name)
        sizes = {
            name: (folder / f).stat().st_size
            for name, f in {**checked, "write_workbook": "ours.xlsx"}.items()
        }
    cpu = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
    wall = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
    print(
        f"{args.rows:,} rows x {frame.shape[1]} columns, median of {args.repeats} (alternated), load {_load()}:"
    )
    print(
        f"  {'writer':26s} {'CPU s':>7s} {'wall s':>7s} {'rows/s (CPU)':>13s} {'CPU vs ours':>11s} {'MB':>6s}"
    )
    for name in runs:
        size = f"{sizes[name] / 1e6:6.1f}" if name in sizes else "     -"
        print(
            f"  {name:26s} {cpu[name]:7.2f} {wall[name]:7.2f} {args.rows / cpu[name]:13,.0f} "
            f"{cpu[name] / cpu['write_workbook']:10.1f}x {size}"
        )
    if args.json:
        command = [
            "python scripts/bench_workbook.py",
            "--rows",
            str(args.rows),
            "--repeats",
            str(args.repeats),
        ]
        command += ["--peer-rev", args.peer_rev, "--json", _rel(args.json)]
        rows = [
            {
                "writer": name,
                "cpu_s": cpu[name],
                "wall_s": wall[name],
                "mb": sizes[name] / 1e6 if name in sizes else None,
                "checked": name in checked,
            }
            for name in runs
        ]
        doc = {"bench": "workbook", **started, "repeat": args.repeats, "command": " ".join(command)}
        doc |= {"n_rows": args.rows, "n_columns": frame.shape[1], "rows": rows}
        args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return str(path)


def _load() -> str:
    import os

    return f"{os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    main()
