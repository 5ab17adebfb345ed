"""``tijian.xlsx``: the 体检 table, 问题清单, unit assessment and plan targets in the layout of io.workbook.

Every sheet carries the header block (run date, indicator catalogue, data sources and the 估算/近似/未核实
notices), Chinese headers over the English ids, ``0.0%`` shares, fitted widths
(:mod:`weihai_gis.io.workbook`). The indicator table's values are percent (0..100) for coverage items and
counts of failing units for count items; each cell is formatted by its row's unit (``45.3%`` or ``12``),
the stored value stays the number, so last year's file reads back with
:func:`~weihai_gis.tijian.table.read_table` (English ids, the ``id`` column) for ``--previous``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from weihai_gis.io.workbook import COUNT_FORMAT, Sheet, write_workbook

__all__ = ["HEADERS_ZH", "PROBLEM_ROWS", "header_lines", "tijian_sheets", "write_xlsx"]

log = logging.getLogger(__name__)

TITLE = "城市体检 / city health check (体检)"

#: 问题清单 rows per sheet at most (worst units first); the whole list stays in the run's result.
PROBLEM_ROWS = 20_000

#: Number format of a share written in percent (0..100): shows ``45.3%`` without scaling the value.
PERCENT_VALUE_FORMAT = '0.0"%"'

#: Chinese headers of every 体检 sheet (the indicator table, 问题清单, 单元评估 and 规划目标).
HEADERS_ZH: dict[str, str] = {
    "id": "编号",
    "system": "指标体系",
    "level": "层级",
    "name_zh": "指标",
    "unit": "单位",
    "threshold_text": "阈值",
    "official": "官方口径（编号）",
    "official_zh": "官方口径",
    "value_official": "本年值（官方口径）",
    "value_straight_line": "直线半径·居住用地面积占比",
    "value_network_area": "路网距离·居住用地面积占比",
    "value_network_population": "路网距离·人口占比",
    "covered_km2": "覆盖居住用地 km²（直线）",
    "land_km2": "居住用地 km²",
    "previous_value": "上年值",
    "change": "变化",
    "verified": "阈值已核实",
    "remark": "说明",
    "rank": "排名",
    "unit_id": "单元编号",
    "unit_name": "单元名称",
    "n_failed": "未达标指标数",
    "failed": "未达标指标（差距）",
    "total_shortfall_m": "合计差距（米）",
    "no_facility_in_reach": "搜索范围内无设施的指标数",
    "indicator_id": "指标编号",
    "threshold_m": "阈值（米）",
    "land_m2": "居住用地 m²",
    "share_straight_line": "直线半径覆盖比例",
    "share_network_area": "路网距离覆盖比例（面积）",
    "share_network_population": "路网距离覆盖比例（人口）",
    "nearest_straight_m": "最近设施直线距离（米）",
    "nearest_network_m": "最近设施路网距离（米）",
    "fails_straight_line": "未达标（直线）",
    "fails_network_area": "未达标（路网面积）",
    "fails_network_population": "未达标（路网人口）",
    "fails": "未达标（官方口径）",
    "shortfall_m": "差距（米）",
    "unit_level": "单元层级",
    "section": "章节",
    "clause": "条文",
    "target": "目标值",
    "due": "期限",
    "baseline": "基期值",
    "achieved": "已完成",
    "as_of": "截至",
    "n_features_reported": "已报要素数",
    "expected_by_today": "按进度应完成",
    "share_of_target": "完成比例",
    "status": "状态",
}
_VALUE_COLUMNS: tuple[str, ...] = (
    "value_official",
    "value_straight_line",
    "value_network_area",
    "value_network_population",
    "previous_value",
    "change",
)
_SHARES = frozenset(
    {"share_straight_line", "share_network_area", "share_network_population", "share_of_target"}
)
_COUNTS = frozenset(
    {"threshold_m", "land_m2", "nearest_straight_m", "nearest_network_m", "shortfall_m", "total_shortfall_m"}
)
_COUNTS |= {"n_failed", "no_facility_in_reach", "rank", "n_features_reported"}


def header_lines(
    *,
    sources: Iterable[str],
    land_approximate: bool,
    origins_estimated: bool,
    catalogue: pd.DataFrame | None = None,
    created: str | None = None,
) -> list[str]:
    """Return the header block of every sheet: date, catalogue, sources and the notices that apply.

    Parameters
    ----------
    sources
        One line per input (file names, never folders).
    land_approximate
        Residential land is the OSM approximation (not the bureau's 三调 polygons).
    origins_estimated
        Residents are estimated (e.g. from OSM buildings).
    catalogue
        The indicator catalogue (its ``threshold_verified`` flags give the unverified-threshold notice).
    created
        Run time (ISO 8601; default now, UTC).
    """
    from weihai_gis import __version__

    when = created or datetime.now(UTC).replace(microsecond=0).isoformat()
    lines = [f"计算时间 / computed: {when}（weihai_gis {__version__}）"]
    if catalogue is not None:
        lines.append(f"指标体系 / catalogue: tijian-indicators.yaml（{len(catalogue)} 项指标 / indicators）")
    lines.append("数据来源 / sources: " + "；".join(sources))
    if land_approximate:
        lines.append(
            "⚠ 估算数据 / ESTIMATED land：居住用地与小区为 OpenStreetMap 近似，非三调 / residential land and 小区 "
            "are an OSM approximation, not the 三调 polygons"
        )
    if origins_estimated:
        lines.append(
            "⚠ 估算数据 / ESTIMATED origins：人口由建筑估算（基底面积 × 层数 ÷ 人均住房面积）/ residents "
            "estimated from buildings"
        )
    if catalogue is not None and "threshold_verified" in catalogue.columns:
        unverified = int((~catalogue["threshold_verified"].fillna(False).astype(bool)).sum())
        if unverified:
            lines.append(
                f"⚠ {unverified}/{len(catalogue)} 项指标阈值未经官方文本核实 / {unverified} of "
                f"{len(catalogue)} thresholds are unverified"
            )
    return lines


def _value_formats(frame: pd.DataFrame) -> dict[str, list[str | None]]:
    """Per-row formats of the indicator table's value columns: percent or count by the row's unit."""
    if "unit" not in frame.columns:
        return {}
    per_row: list[str | None] = [
        PERCENT_VALUE_FORMAT if str(u).strip() == "%" else COUNT_FORMAT for u in frame["unit"]
    ]
    return {c: per_row for c in frame.columns if c in _VALUE_COLUMNS or str(c).startswith("target_")}


def _capped(name: str, frame: pd.DataFrame, lines: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Cut a 问题清单 to :data:`PROBLEM_ROWS` rows (it is ranked worst first) and say so in its header."""
    if "问题清单" not in name or len(frame) <= PROBLEM_ROWS:
        return frame, lines
    note = (
        f"仅列出最差的前 {PROBLEM_ROWS:,} 个单元（共 {len(frame):,} 个）/ first {PROBLEM_ROWS:,} of {len(frame):,} "
        "units, worst first"
    )
    log.info("%s sheet: %d of %d rows", name, PROBLEM_ROWS, len(frame))
    return frame.head(PROBLEM_ROWS), [note, *lines]


def tijian_sheets(sheets: Mapping[str, pd.DataFrame], lines: Iterable[str] = ()) -> list[Sheet]:
    """Return the :class:`~weihai_gis.io.workbook.Sheet` of each named frame (geometry left out)."""
    out = []
    for name, frame in sheets.items():
        frame = pd.DataFrame(frame).drop(columns="geometry", errors="ignore").reset_index(drop=True)
        frame, head = _capped(name, frame, list(lines))
        heads = dict(HEADERS_ZH)
        heads.update(
            {c: f"{c.removeprefix('target_')} 年目标" for c in frame.columns if c.startswith("target_")}
        )
        out.append(
            Sheet(
                name=name,
                frame=frame,
                headers_zh=heads,
                percent=frozenset(_SHARES & set(frame.columns)),
                counts=frozenset(_COUNTS & set(frame.columns)),
                title=f"{TITLE} — {name}",
                lines=tuple(head),
                cell_formats=_value_formats(frame),
            )
        )
    return out


def write_xlsx(
    path: str | os.PathLike[str],
    sheets: Mapping[str, pd.DataFrame],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    lines: Iterable[str] | None = None,
) -> Path:
    """Write the 体检 sheets to one XLSX atomically (layout of :mod:`weihai_gis.io.workbook`).

    Parameters
    ----------
    path
        Destination ``.xlsx``.
    sheets
        Sheet name → table (English column ids; the Chinese headers come from :data:`HEADERS_ZH`).
    inputs
        Input files of the run (never overwritten).
    lines
        Header block (:func:`header_lines`); default: the date and the input file names.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    inputs = tuple(inputs)
    if lines is None:
        names = [Path(p).name for p in inputs] or ["—"]
        lines = header_lines(sources=names, land_approximate=False, origins_estimated=False)
    write_workbook(path, tijian_sheets(sheets, lines), inputs=inputs)
    log.info("wrote %s (%s)", path, ", ".join(sheets))
    return Path(path)
