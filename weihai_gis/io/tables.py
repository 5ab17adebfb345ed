"""The coverage summary as tables: CSV (machine ids) + its notice file, and an XLSX a planner can paste.

``coverage_summary.csv``
    The overall table with the English column ids of the GeoPackage, UTF-8 with BOM (Excel opens it with
    the Chinese names intact). Nothing but the table, so pandas/QGIS/R read it as is.
``coverage_summary.说明.txt``
    Beside the CSV: the header block (date, profile, CRS, data sources, the 样例/估算/未核实 notices) and
    the Chinese meaning of every column id.
``coverage_summary.xlsx``
    One sheet 总体 (overall) and one per summary unit (重点片区 / 镇街 / 区市 …), 问题清单 and 缺失类别人口
    when computed; each with the header block, Chinese headers over the English ids, ``0.0%`` rates and
    fitted column widths (layout: :mod:`weihai_gis.io.workbook`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from weihai_gis.files import atomic_path
from weihai_gis.io.workbook import Sheet, write_workbook
from weihai_gis.lifecircle.columns import ALL_BASIC, parse_column
from weihai_gis.lifecircle.problems import PROBLEM_HEADERS_ZH
from weihai_gis.lifecircle.results import CoverageResult

__all__ = [
    "header_lines",
    "notice_path",
    "summary_headers_zh",
    "summary_sheets",
    "table_sheet",
    "write_csv_with_notice",
    "write_summary_tables",
]

log = logging.getLogger(__name__)

TITLE = "生活圈覆盖率汇总 / life-circle coverage summary"

#: Sheet name of each summary unit (Chinese; the layer name stays in the header block).
UNIT_SHEETS = {
    "renewal_districts": "重点片区",
    "town_areas": "镇街",
    "counties": "区市",
    "hex": "六边形",
}

_OVERALL_ZH = {
    "id": "编号",
    "name_zh": "名称",
    "type": "类型",
    "max_walk_m": "最大步行距离（米）",
    "verified": "距离已核实",
    "n_facilities": "设施数",
    "assessed": "已评估",
    "rate_network": "路网覆盖率",
    "rate_buffer": "直线缓冲覆盖率",
    "gap": "差值（直线−路网）",
    "population_interior": "内部人口",
    "n_origins_interior": "内部起点数",
    "rate_network_interior": "路网覆盖率（不含数据边缘）",
    "rate_buffer_interior": "直线缓冲覆盖率（不含数据边缘）",
}
_UNIT_ZH = {
    "id": "编号",
    "name_zh": "名称",
    "population": "人口",
    "n_origins": "起点数",
    "n_unreachable": "未接入路网起点数",
    "population_unreachable": "未接入路网人口",
    "unit_status": "单元可信度",
}
_MEASURE_ZH = {"rate": "覆盖率", "gap": "差值（直线−路网）", "dist": "最近距离（米）", "met": "达标"}
_PERCENT = {"rate_network", "rate_buffer", "gap", "rate_network_interior", "rate_buffer_interior"}
_PERCENT |= {"share_left_out"}
_COUNTS = {"population", "n_origins", "n_unreachable", "population_unreachable", "n_facilities"}
_COUNTS |= {"population_interior", "n_origins_interior", "max_walk_m", "population_left_out"}
_COUNTS |= {"population_left_out_interior", "dist_network_m", "dist_straight_m"}


def summary_headers_zh(res: CoverageResult, *, problems: bool = False) -> dict[str, str]:
    """Return column id → Chinese header for the columns of the overall and unit tables (or the problem ones).

    Population columns say 估算 exactly when the origins are estimated; rate columns name their category.

    Parameters
    ----------
    res
        The coverage result.
    problems
        Headers of the 问题清单 and 缺失类别人口 tables instead.
    """
    names = dict(zip(res.categories["id"].astype(str), res.categories["name_zh"].astype(str), strict=True))
    names[ALL_BASIC] = "全要素"
    heads = {**_UNIT_ZH, **_OVERALL_ZH}
    for cid, zh in names.items():
        heads[f"rate_{cid}"] = "全要素达标率" if cid == ALL_BASIC else f"{zh}覆盖率"
        heads[f"rate_buffer_{cid}"] = f"{heads[f'rate_{cid}']}（直线缓冲）"
        heads[f"rate_interior_{cid}"] = f"{heads[f'rate_{cid}']}（不含数据边缘）"
        for measure in ("gap", "dist", "met"):
            heads[f"{measure}_{cid}"] = f"{zh}{_MEASURE_ZH[measure]}"
    if problems:
        heads.update(PROBLEM_HEADERS_ZH)
    estimated = res.origins_estimated()
    for col, zh in heads.items():
        plain = zh.replace("（估算，", "（").replace("（估算）", "")
        if estimated and col.startswith("population"):
            heads[col] = f"{plain}（估算）" if "（" not in plain else plain.replace("（", "（估算，", 1)
        else:
            heads[col] = plain
    return heads


def header_lines(res: CoverageResult) -> list[str]:
    """Return the header block every table of ``res`` carries: date, profile, CRS, sources and notices."""
    meta = res.meta
    lines = [
        f"计算时间 / computed: {meta.created}（weihai_gis {meta.version}）",
        f"标准 / profile: {meta.profile_name}；坐标系 / CRS: {meta.crs}；六边形 / hexagons: {meta.hex_size_m:g} 米",
        "数据来源 / sources: " + "；".join(res.source_lines()),
    ]
    lines += [f"⚠ {n}" for n in res.quality_notes()]
    return lines


def _percent_cols(frame: pd.DataFrame) -> frozenset[str]:
    out = set()
    for col in frame.columns:
        parsed = parse_column(str(col))
        if (parsed and parsed[0] in ("rate", "gap")) or col in _PERCENT:
            out.add(str(col))
    return frozenset(out)


def _count_cols(frame: pd.DataFrame) -> frozenset[str]:
    dist = {str(c) for c in frame.columns if (p := parse_column(str(c))) and p[0] == "dist"}
    return frozenset({str(c) for c in frame.columns if c in _COUNTS} | dist)


def table_sheet(name: str, frame: pd.DataFrame, heads: dict[str, str], lines: list[str], what: str) -> Sheet:
    """Return a sheet of ``frame`` (geometry left out) with the header block ``lines``; rates as %."""
    frame = pd.DataFrame(frame).drop(columns="geometry", errors="ignore")
    return Sheet(
        name=name,
        frame=frame.reset_index(drop=True),
        headers_zh=heads,
        percent=_percent_cols(frame),
        counts=_count_cols(frame),
        title=f"{TITLE} — {what}",
        lines=tuple(lines),
    )


def _side_by_side(frame: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    """Order a unit table: plain columns, then per category network, straight line, gap, interior together."""
    grouped = [
        col
        for cid in [ALL_BASIC, *categories]
        for col in (f"rate_{cid}", f"rate_buffer_{cid}", f"gap_{cid}", f"rate_interior_{cid}")
        if col in frame.columns
    ]
    plain = [c for c in frame.columns if c not in grouped and c != "geometry"]
    return frame[plain + grouped]


#: Rows of the 问题清单 sheet at most, the residents most left out first; the whole list stays in the results
#: GeoPackage (layer ``problems``), where QGIS filters and maps it. A planner reads the head of the list in
#: Excel; the whole list of a 200k-node city is ~1M rows (65 MB of XLSX, 14 s CPU to write even as plain
#: SpreadsheetML, tens of seconds for Excel to open) and a province's ~16M rows exceed Excel's 1,048,576
#: rows per sheet 15 times over. The head costs 0.3 s.
XLSX_PROBLEM_ROWS = 20_000


def _problem_head(res: CoverageResult, lines: list[str]) -> tuple[pd.DataFrame, list[str]] | None:
    """Return the rows of the 问题清单 sheet (at most :data:`XLSX_PROBLEM_ROWS`) and its header lines."""
    if (found := res.problems_head(XLSX_PROBLEM_ROWS)) is None:
        return None
    head, n = found
    if n <= XLSX_PROBLEM_ROWS:
        return head, lines
    note = (
        f"仅列出居民最多的前 {XLSX_PROBLEM_ROWS:,} 行（共 {n:,} 行）；完整清单见结果 GeoPackage 的 problems 图层"
        f"（QGIS 可直接打开、筛选，或用 ogr2ogr -f CSV 导出）/ first {XLSX_PROBLEM_ROWS:,} of {n:,} rows, most "
        "residents first; the full list is the GeoPackage layer problems"
    )
    log.info("问题清单 sheet: %d of %d rows (the full list is in the GeoPackage)", XLSX_PROBLEM_ROWS, n)
    return head, [note, *lines]


def summary_sheets(res: CoverageResult) -> list[Sheet]:
    """Return the sheets of ``coverage_summary.xlsx``: 总体, one per summary unit, 问题清单, 缺失类别人口."""
    heads = summary_headers_zh(res)
    pheads = summary_headers_zh(res, problems=True)
    lines = header_lines(res)
    sheets = [table_sheet("总体", res.overall(), heads, lines, "总体 / overall")]
    for unit, frame in res.units.items():
        zh = UNIT_SHEETS.get(unit, unit)
        frame = _side_by_side(frame, res.category_ids)
        sheets.append(table_sheet(zh, frame, heads, [f"汇总单元 / unit layer: {unit}", *lines], zh))
    if (found := _problem_head(res, lines)) is not None:
        problems, plines = found
        sheets.append(table_sheet("问题清单", problems, pheads, plines, "问题清单 / problem list"))
    if res.missing_by_category is not None:
        sheets.append(
            table_sheet(
                "缺失类别人口", res.missing_by_category, pheads, lines, "缺失类别人口 / residents left out"
            )
        )
    return sheets


def notice_path(csv_path: str | os.PathLike[str]) -> Path:
    """Return the notice file written beside a summary CSV (``coverage_summary.说明.txt``)."""
    p = Path(csv_path)
    return p.with_name(f"{p.stem}.说明.txt")


def _notice_text(
    title: str, lines: list[str], heads: dict[str, str], columns: list[str], csv_name: str
) -> str:
    body = [f"{title}（{csv_name} 的说明 / notes on {csv_name}）", "", *lines, "", "列 / columns:"]
    body += [f"  {c}: {heads.get(c, c)}" for c in columns]
    body += ["", "比率为 0..1 的人口加权比例 / rates are population-weighted shares 0..1."]
    return "\n".join(body) + "\n"


def write_csv_with_notice(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    title: str,
    lines: list[str],
    headers_zh: dict[str, str],
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> Path:
    """Write ``frame`` as a plain CSV (UTF-8 with BOM) and its notice file :func:`notice_path` beside it.

    The CSV holds nothing but the table (pandas/QGIS/R read it as is); the notice file holds ``title``,
    the header block ``lines`` (date, profile, sources, the 样例/估算/未核实 notices; see
    :func:`header_lines`) and the Chinese meaning of every column.
    """
    frame = pd.DataFrame(frame).drop(columns="geometry", errors="ignore")
    with atomic_path(path, inputs=inputs) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    text = _notice_text(title, lines, headers_zh, [str(c) for c in frame.columns], Path(path).name)
    with atomic_path(notice_path(path), inputs=inputs) as tmp:
        tmp.write_text(text, encoding="utf-8-sig")
    return Path(path)


def write_summary_tables(
    res: CoverageResult,
    csv_path: str | os.PathLike[str],
    xlsx_path: str | os.PathLike[str],
    *,
    inputs: tuple[str | os.PathLike[str], ...] = (),
    extra_sheets: tuple[Sheet, ...] = (),
) -> tuple[Path, Path]:
    """Write the overall table to ``csv_path`` (+ its notice file) and the formatted workbook to ``xlsx_path``.

    Parameters
    ----------
    res
        The coverage result.
    csv_path, xlsx_path
        Destinations; the notice file is :func:`notice_path` of ``csv_path``.
    inputs
        Input files of the run (never overwritten).
    extra_sheets
        Sheets appended to the workbook (e.g. the main job's 镇街（按镇街类型） table, see :func:`table_sheet`).

    Returns
    -------
    tuple of pathlib.Path
        The CSV and XLSX paths.
    """
    heads = summary_headers_zh(res)
    write_csv_with_notice(
        res.overall(), csv_path, title=TITLE, lines=header_lines(res), headers_zh=heads, inputs=inputs
    )
    write_workbook(xlsx_path, [*summary_sheets(res), *extra_sheets], inputs=inputs)
    log.info("wrote %s, %s", csv_path, xlsx_path)
    return Path(csv_path), Path(xlsx_path)
