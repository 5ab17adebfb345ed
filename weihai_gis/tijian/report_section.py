"""The 城市体检 section of the HTML report: the indicator table and the head of the 问题清单, as plain rows."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from weihai_gis.tijian.indicators import VARIANTS
from weihai_gis.tijian.run import TijianResult

__all__ = ["report_section"]

HEADER = [
    "指标体系",
    "层级",
    "指标",
    "单位",
    "阈值",
    "官方口径",
    *VARIANTS.values(),
    "本年值（官方口径）",
    "说明",
]


def _fmt(v: Any, unit: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "未评估"
    return f"{v:.1f}" if unit == "%" else f"{v:.0f}"


def report_section(result: TijianResult, *, n_problems: int = 15) -> dict[str, Any]:
    """Return the report context of the 体检 section (header, rows, 问题清单 rows, note).

    Parameters
    ----------
    result
        From :func:`~weihai_gis.tijian.run.assess`.
    n_problems
        How many 小区 of the 问题清单 (worst first) the report lists; the XLSX has them all.
    """
    t = result.table
    rows = [
        [
            r["system"],
            r["level"],
            r["name_zh"],
            r["unit"],
            r["threshold_text"],
            r["official_zh"],
            *[_fmt(r[f"value_{v}"], r["unit"]) for v in VARIANTS],
            _fmt(r["value_official"], r["unit"]),
            r["remark"],
        ]
        for _, r in t.iterrows()
    ]
    problems = result.problems.get("小区", pd.DataFrame())
    prob_rows = [
        [int(r["rank"]), r["unit_name"], int(r["n_failed"]), r["failed"]]
        for _, r in problems.head(n_problems).iterrows()
    ]
    note = (
        "三种口径并列：直线半径（住建部口径）、路网距离的居住用地面积占比（TD/T 1063 步行分钟口径）、路网距离的人口占比；"
        "“官方口径”列说明哪一种是该指标的官方算法。全部阈值均未核实（未见含数值的原文），见 tijian-indicators.yaml。"
        + ("居住用地为 OSM 近似，不是三调城镇住宅用地。" if result.land_approximate else "")
        + " / Three variants side by side; no threshold is verified."
    )
    return {
        "header": HEADER,
        "rows": rows,
        "problem_header": ["排名", "小区", "未达标项数", "未达标指标（差距）"],
        "problem_rows": prob_rows,
        "n_problems": len(problems),
        "note": note,
    }
