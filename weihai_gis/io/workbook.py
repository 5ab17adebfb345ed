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

The workbook is written as SpreadsheetML text (:mod:`weihai_gis.io.sheet_xml`: a column's cells built in one
list comprehension, one shared-string table, rows streamed into the zip): the 20,000-row 问题清单 sheet of a
200k-node city took 0.3 s CPU against 7.2 s for the write-only openpyxl writer it replaced (still there as
``engine="openpyxl"``, the oracle of the tests; ``scripts/bench_workbook.py``). Same cells, number formats,
fonts, fills and widths; floats written exactly (openpyxl keeps 16 digits), the frozen header rows are
really frozen (openpyxl's write-only mode dropped ``freeze_panes`` set after the first row).

A table longer than Excel's :data:`MAX_ROWS` rows per sheet (1,048,576, header block included) continues on
``名称(2)``, ``名称(3)`` … with the same header block and a line saying which rows each sheet holds
(:func:`excel_parts`): a sheet never silently loses rows, and Excel never refuses the file. The 问题清单 of
the coverage tables is cut well before that, by choice (:data:`weihai_gis.io.tables.XLSX_PROBLEM_ROWS`).
"""

from __future__ import annotations

import dataclasses
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
from weihai_gis.io.sheet_xml import CellStyle, Column, SheetXML, Styles, column_letter, write_package

__all__ = ["MAX_ROWS", "Sheet", "display_width", "excel_parts", "read_sheet", "write_workbook"]

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
    if isinstance(series.dtype, pd.CategoricalDtype):  # the distinct values once, then their codes
        cats = _column_values(pd.Series(series.cat.categories))
        return [cats[c] if c >= 0 else None for c in series.cat.codes.to_numpy().tolist()]
    if pd.api.types.is_bool_dtype(series):
        return ["是" if v else "否" for v in series.to_numpy(dtype=bool)]
    if pd.api.types.is_float_dtype(series):
        arr = series.to_numpy(dtype=float)
        return [v if math.isfinite(v) else None for v in arr.tolist()]  # Excel holds no NaN or inf
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=np.int64).tolist()
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):  # text and missing only
        values = series.to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = None
        return values.tolist()
    return [_cell_value(v) for v in series.to_numpy(dtype=object)]


def _data_width(values: list[object], fmt: str | None) -> float:
    shown = [v for v in values if v is not None]
    if fmt == PERCENT_FORMAT:
        return 7
    if fmt is not None:
        nums = [float(v) for v in shown if isinstance(v, (int, float))]
        return max(len(f"{min(nums):,.1f}"), len(f"{max(nums):,.1f}")) if nums else 0
    return max((display_width(v) for v in shown[:500]), default=0)


@dataclass
class _Layout:
    """What both writers lay out: header block, the two header rows, cell values, formats, widths."""

    lead: list[tuple[str, str]]  # (text, kind): title, warn, note
    cols: list[str]
    heads: list[str]
    formats: list[str | None]
    columns: list[list[object]]
    per_row: list[Sequence[str | None] | None]
    widths: list[float]
    id_row: int
    n: int


def _layout(sheet: Sheet) -> _Layout:
    cols = [str(c) for c in sheet.frame.columns]
    formats = [_column_format(sheet, c) for c in cols]
    columns = [_column_values(sheet.frame[c]) for c in sheet.frame.columns]
    heads = [sheet.headers_zh.get(c, c) for c in cols]
    widths = []
    for col, zh, fmt, values in zip(cols, heads, formats, columns, strict=True):
        head_w = max(display_width(zh), display_width(col) * 0.8)
        widths.append(min(_MAX_WIDTH, max(_MIN_WIDTH, head_w, _data_width(values, fmt)) + 2))
    lead = [(sheet.title, "title")] if sheet.title else []
    lead += [(line, "warn" if "估算" in line or "样例" in line else "note") for line in sheet.lines]
    per_row = [sheet.cell_formats.get(c) for c in cols]
    # the Chinese headers follow the header block and one empty row; the English ids are the next row
    return _Layout(lead, cols, heads, formats, columns, per_row, widths, len(lead) + 3, len(sheet.frame))


def _freeze_and_filter(lay: _Layout) -> tuple[str | None, str | None]:
    if not lay.cols:
        return None, None
    freeze = f"{column_letter(2 if len(lay.cols) > 1 else 1)}{lay.id_row + 1}"
    return freeze, f"A{lay.id_row}:{column_letter(len(lay.cols))}{lay.id_row + lay.n}"


_FONTS: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "size": 13},
    "warn": {"color": "A15C00"},
    "note": {"color": "444444"},
    "head": {"bold": True},
    "id": {"color": "808080", "italic": True, "size": 9},
}


def _sheet_xml(sheet: Sheet, styles: Styles) -> SheetXML:
    """Return the :class:`~weihai_gis.io.sheet_xml.SheetXML` of ``sheet``, its styles registered in ``styles``."""
    lay = _layout(sheet)
    sid = styles.id

    lead: list[list[tuple[str, int]]] = [[(t, sid(CellStyle(**_FONTS[kind])))] for t, kind in lay.lead]
    lead.append([])
    lead.append([(zh, sid(CellStyle(**_FONTS["head"], fill="DDE6F0", wrap=True))) for zh in lay.heads])
    lead.append([(c, sid(CellStyle(**_FONTS["id"]))) for c in lay.cols])
    columns = []
    for values, fmt, rows in zip(lay.columns, lay.formats, lay.per_row, strict=True):
        if rows is None:
            style: int | list[int] = sid(CellStyle(number_format=fmt)) if fmt else 0
        else:
            ids = {f: sid(CellStyle(number_format=f)) if f else 0 for f in {*rows, fmt}}
            style = [ids[f or fmt] for f in rows]
        columns.append(Column(values, style))  # text cells keep General, as the openpyxl writer leaves them
    freeze, auto_filter = _freeze_and_filter(lay)
    return SheetXML(sheet.name[:31], lead, columns, lay.widths, freeze, auto_filter)


def _write_sheet(ws: Any, sheet: Sheet) -> None:
    """Lay ``sheet`` out on the write-only openpyxl worksheet ``ws`` (the earlier writer; engine="openpyxl")."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    def styled(value: object, **style: Any) -> Any:
        cell = WriteOnlyCell(ws, value=value)  # type: ignore[arg-type]  # openpyxl's stub lists fewer types than it writes
        for key, v in style.items():
            setattr(cell, key, v)
        return cell

    lay = _layout(sheet)
    for j, width in enumerate(lay.widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    for text, kind in lay.lead:
        ws.append([styled(text, font=Font(**_FONTS[kind]))])
    ws.append([])  # one empty row between the header block and the table
    freeze, auto_filter = _freeze_and_filter(lay)
    if freeze and auto_filter:
        ws.freeze_panes = freeze
        ws.auto_filter.ref = auto_filter
    fill, bold = PatternFill("solid", fgColor="DDE6F0"), Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.append([styled(zh, font=bold, fill=fill, alignment=wrap) for zh in lay.heads])
    ws.append([styled(c, font=Font(**_FONTS["id"])) for c in lay.cols])
    for i in range(lay.n):
        record = []
        for values, col_fmt, rows in zip(lay.columns, lay.formats, lay.per_row, strict=True):
            v = values[i]
            fmt = (rows[i] or col_fmt) if rows is not None else col_fmt
            if fmt is None or v is None or isinstance(v, str):
                record.append(v)  # plain values need no cell object of ours
            else:
                cell = WriteOnlyCell(ws, value=v)  # type: ignore[arg-type]  # numpy scalars, dates: written by openpyxl
                cell.number_format = fmt
                record.append(cell)
        ws.append(record)


#: Rows of an Excel worksheet (ECMA-376 / Excel specifications and limits), header block included.
MAX_ROWS = 1_048_576


def _header_rows(sheet: Sheet) -> int:
    return (1 if sheet.title else 0) + len(sheet.lines) + 3


def excel_parts(sheet: Sheet) -> list[Sheet]:
    """Split ``sheet`` into sheets Excel can hold (:data:`MAX_ROWS` rows each, header block included).

    A table longer than one sheet continues on ``名称(2)``, ``名称(3)`` …, each with the same title,
    header block and header rows, and a first line saying which rows it holds of how many; no row is
    left out. A table that fits comes back unchanged.
    """
    n = len(sheet.frame)
    room = MAX_ROWS - _header_rows(sheet) - 1  # one more line: the continuation notice
    if n + _header_rows(sheet) <= MAX_ROWS:
        return [sheet]
    if room < 1:
        raise ValueError(f"sheet {sheet.name!r}: its header block leaves no room for data in {MAX_ROWS} rows")
    k = -(-n // room)
    names = [sheet.name[:31]] + [f"{sheet.name[: 31 - len(f'({i})')]}({i})" for i in range(2, k + 1)]
    parts = []
    for i in range(k):
        a, b = i * room, min(n, (i + 1) * room)
        if i == 0:
            note = (
                f"本表共 {n:,} 行，超过 Excel 每张工作表 {MAX_ROWS:,} 行的上限，续于工作表 "
                f"{names[1]}{'…' + names[-1] if k > 2 else ''}（共 {k} 张）/ {n:,} rows: more than an Excel "
                f"sheet holds, continued on {k - 1} more sheet(s)"
            )
        else:
            note = (
                f"续表 {i + 1}/{k}：第 {a + 1:,}–{b:,} 行（共 {n:,} 行，接工作表 {names[i - 1]}）/ continued, "
                f"rows {a + 1:,}-{b:,} of {n:,}"
            )
        formats = {c: list(rows)[a:b] for c, rows in sheet.cell_formats.items()}
        frame = sheet.frame.iloc[a:b].reset_index(drop=True)
        parts.append(
            dataclasses.replace(
                sheet, name=names[i], frame=frame, lines=(note, *sheet.lines), cell_formats=formats
            )
        )
    log.info("sheet %s: %d rows over %d sheets (Excel's limit is %d rows)", sheet.name, n, k, MAX_ROWS)
    return parts


def write_workbook(
    path: str | os.PathLike[str],
    sheets: Sequence[Sheet],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    engine: str = "xml",
) -> Path:
    """Write ``sheets`` to the XLSX ``path`` atomically, in the layout of this module.

    Parameters
    ----------
    path
        Destination ``.xlsx``.
    sheets
        The sheets, in order; one longer than Excel holds continues on more sheets (:func:`excel_parts`).
    inputs
        Input files of the run (never overwritten).
    engine
        ``"xml"`` (default): the SpreadsheetML text written directly (:mod:`weihai_gis.io.sheet_xml`);
        ``"openpyxl"``: the earlier write-only openpyxl writer, same cells and formats, 10-16x the CPU.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if not sheets:
        raise ValueError("write_workbook needs at least one sheet")
    if engine not in ("xml", "openpyxl"):
        raise ValueError(f"engine {engine!r}: expected 'xml' or 'openpyxl'")
    seen: set[str] = set()
    parts = [part for sheet in sheets for part in excel_parts(sheet)]
    for sheet in parts:
        name = sheet.name[:31]
        if name in seen:
            raise ValueError(f"two sheets named {name!r} (names are cut to 31 characters)")
        if bad := set(name) & set("[]:*?/\\"):
            raise ValueError(f"sheet name {name!r}: Excel forbids the characters {''.join(sorted(bad))}")
        seen.add(name)
    if engine == "openpyxl":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)  # rows streamed to disk
        for sheet in parts:
            _write_sheet(wb.create_sheet(sheet.name[:31]), sheet)
        with atomic_path(path, inputs=tuple(inputs)) as tmp:
            wb.save(tmp)
        return Path(path)
    styles = Styles()
    xml_sheets = [_sheet_xml(sheet, styles) for sheet in parts]
    with atomic_path(path, inputs=tuple(inputs)) as tmp:
        write_package(tmp, xml_sheets, styles)
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
