"""XLSX sheets a planner pastes into a 汇报: header block, Chinese headers over English ids, % cells, fitted widths.

Every sheet written by :func:`write_workbook` has the same layout, so it reads the same in Excel/WPS and back
in pandas (:func:`read_sheet`):

=========  ===========================================================================================
row        content
=========  ===========================================================================================
1          title (bold)
2 .. k     header block: run date, profile, data sources, the 样例/估算/未核实 notices (one line each)
k + 1      empty
k + 2      Chinese column headers (bold, shaded, frozen)
k + 3      English column ids (grey; the ids of the CSV and the GeoPackage)
k + 4 ..   data; shares 0..1 formatted ``0.0%``, counts ``#,##0``, metres ``#,##0``; missing and
           infinite values (no facility within the search radius) are empty cells
=========  ===========================================================================================

The workbook is written in openpyxl's write-only mode (rows streamed to disk, memory flat in the row count).
Time is openpyxl's cell serialisation: a 50,000 × 8 sheet took 44 s here against 37 s for a plain
``DataFrame.to_excel`` and 45 s for the earlier cell-by-cell writer, on the 2-core machine under a load of ~8
(``scripts/bench_workbook.py``, alternated medians); hence the 问题清单 caps (20,000 rows).
"""

from __future__ import annotations

import logging
import math
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weihai_gis.files import atomic_path

__all__ = ["Sheet", "display_width", "read_sheet", "write_workbook"]

log = logging.getLogger(__name__)

PERCENT_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0"
_MAX_WIDTH = 60
_MIN_WIDTH = 6


@dataclass(frozen=True)
class Sheet:
    """One sheet: a table, its Chinese headers and the number format of its columns.

    Attributes
    ----------
    name
        Sheet name (at most 31 characters; longer names are cut).
    frame
        The table; its column names are the English ids (second header row).
    headers_zh
        Column id → Chinese header (first header row); columns not in it show their id.
    percent
        Columns holding shares 0..1, shown as ``0.0%``.
    counts
        Columns holding counts, people or metres, shown as ``#,##0``.
    title
        First line of the sheet.
    lines
        Header-block lines under the title (date, profile, sources, notices).
    cell_formats
        Column id → one number format per row (None: the column's), for columns whose unit changes by
        row (the 体检 table: ``0.0"%"`` for a share in percent, ``#,##0`` for a count).
    """

    name: str
    frame: pd.DataFrame
    headers_zh: Mapping[str, str] = field(default_factory=dict)
    percent: frozenset[str] = frozenset()
    counts: frozenset[str] = frozenset()
    title: str = ""
    lines: tuple[str, ...] = ()
    cell_formats: Mapping[str, Sequence[str | None]] = field(default_factory=dict)


def display_width(text: object) -> int:
    """Return the width of ``text`` in Excel character units: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _cell_value(v: object) -> object:
    if v is None or (isinstance(v, float) and not math.isfinite(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return "是" if bool(v) else "否"
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, (list, tuple, dict)):
        return str(v)
    return v


def _column_format(sheet: Sheet, col: str) -> str | None:
    """Return the number format of ``col``: % for shares, thousands for counts, one decimal for floats."""
    if col in sheet.percent:
        return PERCENT_FORMAT
    if col in sheet.counts:
        return COUNT_FORMAT
    return DECIMAL_FORMAT if pd.api.types.is_float_dtype(sheet.frame[col]) else None


def _column_values(series: pd.Series) -> list[object]:
    """Return the cells of a column as plain Python values (None for missing), a column at a time."""
    if pd.api.types.is_bool_dtype(series):
        return ["是" if v else "否" for v in series.to_numpy(dtype=bool)]
    if pd.api.types.is_float_dtype(series):
        arr = series.to_numpy(dtype=float)
        return [v if math.isfinite(v) else None for v in arr.tolist()]  # Excel holds no NaN or inf
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.int64).tolist()
    return [_cell_value(v) for v in series.to_numpy(dtype=object)]


def _data_width(values: list[object], fmt: str | None) -> float:
    shown = [v for v in values if v is not None]
    if fmt == PERCENT_FORMAT:
        return 7
    if fmt is not None:
        nums = [float(v) for v in shown if isinstance(v, (int, float))]
        return max(len(f"{min(nums):,.1f}"), len(f"{max(nums):,.1f}")) if nums else 0
    return max((display_width(v) for v in shown[:500]), default=0)


def _write_sheet(ws: Any, sheet: Sheet) -> None:
    """Lay ``sheet`` out on the write-only openpyxl worksheet ``ws`` (rows streamed, styles per column)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    def styled(value: object, **style: Any) -> Any:
        cell = WriteOnlyCell(ws, value=value)  # type: ignore[arg-type]  # openpyxl's stub lists fewer types than it writes
        for key, v in style.items():
            setattr(cell, key, v)
        return cell

    cols = [str(c) for c in sheet.frame.columns]
    formats = [_column_format(sheet, c) for c in cols]
    columns = [_column_values(sheet.frame[c]) for c in sheet.frame.columns]
    heads = [sheet.headers_zh.get(c, c) for c in cols]
    for j, (col, zh, fmt, values) in enumerate(zip(cols, heads, formats, columns, strict=True), start=1):
        head_w = max(display_width(zh), display_width(col) * 0.8)
        width = min(_MAX_WIDTH, max(_MIN_WIDTH, head_w, _data_width(values, fmt)) + 2)
        ws.column_dimensions[get_column_letter(j)].width = width
    row = 0
    if sheet.title:
        ws.append([styled(sheet.title, font=Font(bold=True, size=13))])
        row += 1
    for line in sheet.lines:
        warn = "估算" in line or "样例" in line
        ws.append([styled(line, font=Font(color="A15C00" if warn else "444444"))])
        row += 1
    ws.append([])  # one empty row between the header block and the table
    id_row = row + 3  # the Chinese headers are row + 2
    n = len(sheet.frame)
    if cols:
        ws.freeze_panes = f"{get_column_letter(2 if len(cols) > 1 else 1)}{id_row + 1}"
        ws.auto_filter.ref = f"A{id_row}:{get_column_letter(len(cols))}{id_row + n}"
    fill, bold = PatternFill("solid", fgColor="DDE6F0"), Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.append([styled(zh, font=bold, fill=fill, alignment=wrap) for zh in heads])
    grey = Font(color="808080", italic=True, size=9)
    ws.append([styled(c, font=grey) for c in cols])
    per_row = [sheet.cell_formats.get(c) for c in cols]
    for i in range(n):
        record = []
        for values, col_fmt, rows in zip(columns, formats, per_row, strict=True):
            v = values[i]
            fmt = (rows[i] or col_fmt) if rows is not None else col_fmt
            if fmt is None or v is None or isinstance(v, str):
                record.append(v)  # plain values need no cell object of ours
            else:
                cell = WriteOnlyCell(ws, value=v)  # type: ignore[arg-type]  # numpy scalars, dates: written by openpyxl
                cell.number_format = fmt
                record.append(cell)
        ws.append(record)


def write_workbook(
    path: str | os.PathLike[str], sheets: Sequence[Sheet], *, inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Write ``sheets`` to the XLSX ``path`` atomically, in the layout of this module.

    Parameters
    ----------
    path
        Destination ``.xlsx``.
    sheets
        The sheets, in order.
    inputs
        Input files of the run (never overwritten).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from openpyxl import Workbook

    if not sheets:
        raise ValueError("write_workbook needs at least one sheet")
    wb = Workbook(write_only=True)  # rows streamed to disk: a 50k-row sheet in a few seconds
    seen: set[str] = set()
    for sheet in sheets:
        name = sheet.name[:31]
        if name in seen:
            raise ValueError(f"two sheets named {name!r} (names are cut to 31 characters)")
        seen.add(name)
        _write_sheet(wb.create_sheet(name), sheet)
    with atomic_path(path, inputs=tuple(inputs)) as tmp:
        wb.save(tmp)
    return Path(path)


def read_sheet(path: str | os.PathLike[str], sheet: str | int = 0, *, chinese: bool = False) -> pd.DataFrame:
    """Read a sheet written by :func:`write_workbook` back as a table with the English ids as columns.

    Parameters
    ----------
    path
        The ``.xlsx``.
    sheet
        Sheet name or position.
    chinese
        Name the columns by their Chinese headers instead of the English ids.

    Returns
    -------
    pandas.DataFrame
        The data rows (percent cells as shares 0..1, 是/否 as written).

    Raises
    ------
    ValueError
        When the sheet does not have the layout of this module.
    """
    raw = pd.read_excel(path, sheet_name=sheet, header=None)
    empty = raw.index[raw.isna().all(axis=1)]
    if not len(empty) or int(empty[0]) + 2 >= len(raw) + 1:
        raise ValueError(
            f"{Path(path).name}, sheet {sheet!r}: no header block followed by an empty row; expected the "
            "layout of weihai_gis.io.workbook (title, notes, empty row, Chinese headers, English ids)"
        )
    at = int(empty[0]) + 2  # the English-id row
    ids = [str(v) for v in raw.iloc[at - 1 if chinese else at]]
    body = raw.iloc[at + 1 :].reset_index(drop=True)
    body.columns = ids
    return body.infer_objects()
