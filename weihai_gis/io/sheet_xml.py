"""An XLSX package written as SpreadsheetML text: shared strings, a few styles, rows built column at a time.

What :mod:`weihai_gis.io.workbook` needs and nothing more: cells holding numbers or text, per-cell styles
(font, fill, wrap, number format), column widths, frozen panes and an auto-filter. The cell XML of a column
is built in one list comprehension over its values (no cell objects), text goes through one shared-string
table (a 问题清单 repeats the same category names a million times), and each sheet is streamed into the
zip in blocks of rows, so memory grows with one block, not with the sheet.

Cell values are ``None`` (no cell), ``int``, ``float`` (finite) or ``str``; integers beyond ±2**53 are
written as text (Excel holds numbers as doubles and would round an id silently), text longer than
Excel's 32,767 characters per cell is cut there, and the characters XML 1.0 cannot carry (control
characters other than tab, line feed and carriage return) are dropped; each of the three is logged.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

__all__ = ["MAX_CELL_CHARS", "CellStyle", "Column", "SheetXML", "Styles", "column_letter", "write_package"]

log = logging.getLogger(__name__)

#: Characters one Excel cell holds at most.
MAX_CELL_CHARS = 32_767
#: Integers beyond this magnitude are written as text (doubles hold every integer up to 2**53 exactly).
_EXACT_INT = 2**53
#: Rows per block streamed into the zip.
_BLOCK_ROWS = 20_000
#: Deflate level: 1 compresses a 问题清单 sheet's XML 8-10x at a fraction of level 6's CPU.
COMPRESS_LEVEL = 1

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: Number formats Excel knows by id (ECMA-376 part 1, 18.8.30); others get ids from 164.
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}


def column_letter(index: int) -> str:
    """Return the Excel column name of the 1-based ``index`` (1 → ``A``, 27 → ``AA``)."""
    name = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


@dataclass(frozen=True)
class CellStyle:
    """The look of a cell: font, fill, wrap and number format (None: General)."""

    bold: bool = False
    italic: bool = False
    size: float = 11
    color: str | None = None  # RRGGBB
    fill: str | None = None  # RRGGBB, solid
    wrap: bool = False
    number_format: str | None = None


class Styles:
    """The workbook's style table: each distinct :class:`CellStyle` gets one ``cellXfs`` index."""

    def __init__(self) -> None:
        self._ids: dict[CellStyle, int] = {CellStyle(): 0}

    def id(self, style: CellStyle) -> int:
        """Return the ``s`` index of ``style`` (registered on first use)."""
        return self._ids.setdefault(style, len(self._ids))

    def xml(self) -> str:
        """Return ``xl/styles.xml``."""
        styles = list(self._ids)
        custom = sorted({s.number_format for s in styles if s.number_format} - set(_BUILTIN_FORMATS))
        fmt_id = {**_BUILTIN_FORMATS, **{f: 164 + i for i, f in enumerate(custom)}}
        fonts = sorted(
            {(s.bold, s.italic, s.size, s.color) for s in styles}, key=lambda f: f != (False, False, 11, None)
        )
        font_id = {f: i for i, f in enumerate(fonts)}
        fills = sorted({s.fill for s in styles if s.fill})
        fill_id = {f: i + 2 for i, f in enumerate(fills)}  # 0 none and 1 gray125 are reserved
        out = [_HEAD, f'<styleSheet xmlns="{_MAIN}">']
        if custom:
            out.append(f'<numFmts count="{len(custom)}">')
            out += [f'<numFmt numFmtId="{fmt_id[f]}" formatCode={quoteattr(f)}/>' for f in custom]
            out.append("</numFmts>")
        out.append(f'<fonts count="{len(fonts)}">')
        for bold, italic, size, color in fonts:
            rgb = f'<color rgb="FF{color}"/>' if color else ""
            out.append(
                f'<font>{"<b/>" if bold else ""}{"<i/>" if italic else ""}<sz val="{size:g}"/>{rgb}'
                '<name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
            )
        out.append(f'</fonts><fills count="{len(fills) + 2}"><fill><patternFill patternType="none"/></fill>')
        out.append('<fill><patternFill patternType="gray125"/></fill>')
        out += [
            f'<fill><patternFill patternType="solid"><fgColor rgb="FF{f}"/></patternFill></fill>'
            for f in fills
        ]
        out.append(
            '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        )
        out.append(
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        )
        out.append(f'<cellXfs count="{len(styles)}">')
        for s in styles:
            num = fmt_id[s.number_format] if s.number_format else 0
            font = font_id[(s.bold, s.italic, s.size, s.color)]
            fill = fill_id.get(s.fill, 0) if s.fill else 0
            attrs = f'numFmtId="{num}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"'
            attrs += ' applyNumberFormat="1"' if num else ""
            attrs += ' applyFont="1"' if font else ""
            attrs += ' applyFill="1"' if fill else ""
            if s.wrap:
                out.append(f'<xf {attrs} applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>')
            else:
                out.append(f"<xf {attrs}/>")
        out.append(
            '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        )
        out.append("</styleSheet>")
        return "".join(out)


class SharedStrings:
    """The shared-string table: text → index, in order of first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.count = 0  # cells referring to the table
        self.cut = 0
        self.dropped = 0

    def ids(self, texts: Sequence[str]) -> list[int]:
        """Return the table index of each text (adding the new ones)."""
        self.count += len(texts)
        index = self.index
        out = []
        for t in texts:
            i = index.get(t)
            if i is None:
                i = index[t] = len(index)
            out.append(i)
        return out

    def clean(self, text: str) -> str:
        """Return ``text`` as a cell can hold it: legal XML characters, at most :data:`MAX_CELL_CHARS`."""
        if _ILLEGAL.search(text):
            self.dropped += 1
            text = _ILLEGAL.sub("", text)
        if len(text) > MAX_CELL_CHARS:
            self.cut += 1
            text = text[:MAX_CELL_CHARS]
        return text

    def xml(self) -> Iterator[str]:
        """Yield ``xl/sharedStrings.xml`` in pieces."""
        yield f'{_HEAD}<sst xmlns="{_MAIN}" count="{self.count}" uniqueCount="{len(self.index)}">'
        for text in self.index:
            space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
            yield f"<si><t{space}>{escape(text)}</t></si>"
        yield "</sst>"


@dataclass
class Column:
    """One column of data cells: values (None or ``""``: no cell) and the style of its numbers.

    ``style`` is one ``cellXfs`` index for every number of the column or one per row; text cells are
    written with the default style (General), as openpyxl writes a plain ``str``.
    """

    values: Sequence[object]
    style: int | Sequence[int] = 0


@dataclass
class SheetXML:
    """A worksheet: leading rows of single styled cells, then a data table with header rows.

    Attributes
    ----------
    name
        Sheet name (at most 31 characters).
    lead
        Rows before the table: each a list of ``(text, style index)`` cells (an empty list: an empty row).
    columns
        The data columns (all the same length); rows follow the lead rows.
    widths
        Column widths in Excel character units.
    freeze
        Top-left cell of the scrolling pane (e.g. ``"B8"``), or None.
    auto_filter
        Range of the auto-filter (e.g. ``"A7:J100"``), or None.
    """

    name: str
    lead: list[list[tuple[str, int]]]
    columns: list[Column]
    widths: list[float] = field(default_factory=list)
    freeze: str | None = None
    auto_filter: str | None = None


def _number(v: object, sst: SharedStrings) -> tuple[str, str]:
    """Return the cell type attribute and the ``<v>`` text of a non-text value."""
    if isinstance(v, int) and not isinstance(v, bool):
        if -_EXACT_INT <= v <= _EXACT_INT:
            return "", str(v)
        return ' t="s"', str(sst.ids([str(v)])[0])
    if isinstance(v, float):
        return "", repr(v)
    return ' t="s"', str(sst.ids([sst.clean(str(v))])[0])


def _column_cells(letter: str, first_row: int, col: Column, sst: SharedStrings) -> list[str]:
    """Return the ``<c>`` XML of every cell of ``col`` ('' for an empty cell), rows from ``first_row``."""
    values = col.values
    n = len(values)
    rows = range(first_row, first_row + n)
    kinds = {type(v) for v in values}
    if kinds <= {str, type(None)}:  # text: one shared-string lookup per distinct value
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
        table = [f' t="s"><v>{i}</v></c>' for i in sst.ids([sst.clean(str(u)) for u in uniques])]
        sst.count += int((codes >= 0).sum()) - len(uniques)  # ids() counted each distinct text once
        if "" in uniques:
            table[list(uniques).index("")] = ""
        return [
            f'<c r="{letter}{r}"{table[c]}' if c >= 0 and table[c] else ""
            for r, c in zip(rows, codes.tolist(), strict=True)
        ]
    styles = [col.style] * n if isinstance(col.style, int) else col.style
    s_attr = {s: f' s="{s}"' if s else "" for s in set(styles)}
    if kinds <= {float, type(None)}:  # numbers only (NaN and inf were made None upstream)
        return [
            "" if v is None else f'<c r="{letter}{r}"{s_attr[s]}><v>{v!r}</v></c>'
            for r, v, s in zip(rows, values, styles, strict=True)
        ]
    out = []
    for r, v, s in zip(rows, values, styles, strict=True):
        if v is None or v == "":
            out.append("")
        elif isinstance(v, str):
            out.append(f'<c r="{letter}{r}" t="s"><v>{sst.ids([sst.clean(v)])[0]}</v></c>')
        else:
            t, text = _number(v, sst)
            out.append(f'<c r="{letter}{r}"{s_attr[s] if not t else ""}{t}><v>{text}</v></c>')
    return out


def _sheet_xml(sheet: SheetXML, sst: SharedStrings) -> Iterator[str]:
    """Yield the worksheet XML of ``sheet`` in blocks of rows."""
    n = max((len(c.values) for c in sheet.columns), default=0)
    last_row = len(sheet.lead) + n
    last_col = column_letter(max(len(sheet.columns), 1))
    yield f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="A1:{last_col}{max(last_row, 1)}"/>'
    yield '<sheetViews><sheetView workbookViewId="0">'
    if sheet.freeze:
        m = re.fullmatch(r"([A-Z]+)(\d+)", sheet.freeze)
        assert m is not None, sheet.freeze
        x = sum((ord(ch) - 64) * 26**k for k, ch in enumerate(reversed(m.group(1)))) - 1
        y = int(m.group(2)) - 1
        pane = "bottomRight" if x and y else "bottomLeft" if y else "topRight"
        split = (f' xSplit="{x}"' if x else "") + (f' ySplit="{y}"' if y else "")
        yield f'<pane{split} topLeftCell="{sheet.freeze}" activePane="{pane}" state="frozen"/>'
        yield f'<selection pane="{pane}" activeCell="{sheet.freeze}" sqref="{sheet.freeze}"/>'
    yield '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
    if sheet.widths:
        yield "<cols>"
        yield "".join(
            f'<col min="{j}" max="{j}" width="{w:.4g}" customWidth="1"/>'
            for j, w in enumerate(sheet.widths, 1)
        )
        yield "</cols>"
    yield "<sheetData>"
    for r, cells in enumerate(sheet.lead, start=1):
        body = "".join(
            _text_cell(f"{column_letter(j)}{r}", t, s, sst) for j, (t, s) in enumerate(cells, start=1)
        )
        yield f'<row r="{r}">{body}</row>' if body else f'<row r="{r}"/>'
    letters = [column_letter(j) for j in range(1, len(sheet.columns) + 1)]
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(n, start + _BLOCK_ROWS)
        first = len(sheet.lead) + 1 + start
        cols = [
            _column_cells(
                letter, first, Column(c.values[start:stop], _slice_style(c.style, start, stop)), sst
            )
            for letter, c in zip(letters, sheet.columns, strict=True)
        ]
        yield "".join(
            f'<row r="{r}">{"".join(cells)}</row>'
            for r, cells in enumerate(zip(*cols, strict=True), start=first)
        )
    yield "</sheetData>"
    if sheet.auto_filter:
        yield f'<autoFilter ref="{sheet.auto_filter}"/>'
    yield '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/></worksheet>'


def _text_cell(ref: str, text: str, style: int, sst: SharedStrings) -> str:
    if not text:
        return ""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="s"><v>{sst.ids([sst.clean(text)])[0]}</v></c>'


def _slice_style(style: int | Sequence[int], start: int, stop: int) -> int | Sequence[int]:
    return style if isinstance(style, int) else style[start:stop]


def _workbook_xml(sheets: Sequence[SheetXML]) -> str:
    entries = "".join(
        f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>' for i, s in enumerate(sheets, 1)
    )
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape(_quoted_name(s.name))}!{_absolute(s.auto_filter)}</definedName>"
        for i, s in enumerate(sheets)
        if s.auto_filter
    )
    defined = f"<definedNames>{names}</definedNames>" if names else ""
    return (
        f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><workbookPr/>'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{entries}</sheets>{defined}'
        '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )


def _quoted_name(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in ref.split(":"))


def _package_parts(n_sheets: int) -> dict[str, str]:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n_sheets + 1)
    )
    types = (
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f"{sheets}"
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'
    )
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    root_rels = (
        f'{_HEAD}<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{office}/officeDocument" Target="xl/workbook.xml"/>'
        f'<Relationship Id="rId2" Type="{office}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>"
    )
    wb_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{office}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, n_sheets + 1)
    )
    wb_rels = (
        f'{_HEAD}<Relationships xmlns="{_PKG_REL}">{wb_rels}'
        f'<Relationship Id="rId{n_sheets + 1}" Type="{office}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{n_sheets + 2}" Type="{office}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    app = (
        f'{_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>weihai_gis</Application></Properties>"
    )
    return {
        "[Content_Types].xml": types,
        "_rels/.rels": root_rels,
        "docProps/app.xml": app,
        "xl/_rels/workbook.xml.rels": wb_rels,
    }


def write_package(path: str | os.PathLike[str], sheets: Sequence[SheetXML], styles: Styles) -> None:
    """Write the XLSX package of ``sheets`` to ``path`` (not atomic: the caller gives a temporary path)."""
    sst = SharedStrings()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as zf:
        for name, text in _package_parts(len(sheets)).items():
            zf.writestr(name, text)
        zf.writestr("xl/workbook.xml", _workbook_xml(sheets))
        for i, sheet in enumerate(sheets, 1):
            with zf.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as fh:
                for piece in _sheet_xml(sheet, sst):
                    fh.write(piece.encode("utf-8"))
        zf.writestr("xl/styles.xml", styles.xml())
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            for piece in sst.xml():
                fh.write(piece.encode("utf-8"))
    if sst.dropped:
        log.warning(
            "%s: %d text cell(s) held control characters XML cannot carry; dropped", path, sst.dropped
        )
    if sst.cut:
        log.warning("%s: %d text cell(s) longer than %d characters; cut", path, sst.cut, MAX_CELL_CHARS)
