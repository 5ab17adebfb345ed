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
k + 4 ..   data; shares 0..1 formatted ``0.0%``, counts ``#,##0``, metres ``#,##0``
=========  ===========================================================================================
"""

from __future__ import annotations

import logging
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
    """

    name: str
    frame: pd.DataFrame
    headers_zh: Mapping[str, str] = field(default_factory=dict)
    percent: frozenset[str] = frozenset()
    counts: frozenset[str] = frozenset()
    title: str = ""
    lines: tuple[str, ...] = ()


def display_width(text: object) -> int:
    """Return the width of ``text`` in Excel character units: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _cell_value(v: object) -> object:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return "是" if bool(v) else "否"
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, (list, tuple, dict)):
        return str(v)
    return v


def _write_sheet(ws: Any, sheet: Sheet) -> None:
    """Lay ``sheet`` out on the openpyxl worksheet ``ws``."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    row = 1
    if sheet.title:
        ws.cell(row, 1, sheet.title).font = Font(bold=True, size=13)
        row += 1
    for line in sheet.lines:
        ws.cell(row, 1, line).font = Font(color="A15C00" if "估算" in line or "样例" in line else "444444")
        row += 1
    row += 1  # one empty row between the header block and the table
    head_row, id_row = row, row + 1
    cols = [str(c) for c in sheet.frame.columns]
    fill = PatternFill("solid", fgColor="DDE6F0")
    widths = []
    for j, col in enumerate(cols, start=1):
        zh = sheet.headers_zh.get(col, col)
        c = ws.cell(head_row, j, zh)
        c.font, c.fill = Font(bold=True), fill
        c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(id_row, j, col).font = Font(color="808080", italic=True, size=9)
        widths.append(max(display_width(zh), display_width(col) * 0.8))
    values = sheet.frame.to_numpy(dtype=object)
    for i, record in enumerate(values, start=id_row + 1):
        for j, v in enumerate(record, start=1):
            ws.cell(i, j, _cell_value(v))
    for j, col in enumerate(cols, start=1):
        fmt = PERCENT_FORMAT if col in sheet.percent else COUNT_FORMAT if col in sheet.counts else None
        series = sheet.frame[col]
        if fmt is None and pd.api.types.is_float_dtype(series):
            fmt = DECIMAL_FORMAT
        if fmt is not None:
            for i in range(id_row + 1, id_row + 1 + len(values)):
                ws.cell(i, j).number_format = fmt
        shown = series.map(_cell_value).dropna()
        if fmt == PERCENT_FORMAT:
            data_w = 7
        elif fmt is not None:
            data_w = max((len(f"{float(v):,.1f}") for v in shown if isinstance(v, (int, float))), default=0)
        else:
            data_w = max((display_width(v) for v in shown.head(500)), default=0)
        width = min(_MAX_WIDTH, max(_MIN_WIDTH, widths[j - 1], data_w) + 2)
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = ws.cell(id_row + 1, 2 if len(cols) > 1 else 1)
    if cols:
        last = get_column_letter(len(cols))
        ws.auto_filter.ref = f"A{id_row}:{last}{id_row + len(values)}"


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
    wb = Workbook()
    wb.remove(wb.worksheets[0])  # the default empty sheet
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
