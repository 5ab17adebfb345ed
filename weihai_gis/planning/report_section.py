"""The 情景对比 (scenario comparison) section of the HTML report, as plain rows from what-if outcomes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from weihai_gis.lifecircle import ALL_BASIC, CoverageResult
from weihai_gis.planning.compare import side_by_side
from weihai_gis.planning.whatif import ScenarioOutcome

__all__ = ["scenario_section"]

NOTE_ZH = (
    "情景结果为增量精确重算：只重算变动设施服务范围（步行上限）内的路网节点与居民点，结果与全量重算逐位相同"
    "（hypothesis 随机测试）。覆盖率为路网步行距离口径、人口加权。"
)


def _pct(v: Any) -> str:
    return "未评估" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * float(v):.1f}%"


def _delta(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * float(v):+.1f}"


def _changes_zh(outcome: ScenarioOutcome) -> str:
    sc = outcome.scenario
    parts = []
    names = dict(
        zip(outcome.result.category_ids, outcome.result.categories["name_zh"].astype(str), strict=True)
    )
    if len(sc.add):
        kinds = "、".join(sorted({names.get(c, c) for c in sc.add["category"].astype(str)}))
        parts.append(f"新增 {len(sc.add)} 处（{kinds}）")
    if sc.remove:
        parts.append(f"撤除 {len(sc.remove)} 处")
    if len(sc.move):
        parts.append(f"迁建 {len(sc.move)} 处")
    if sc.network is not None:
        parts.append("路网断路（全量重算）")
    return "；".join(parts) or "无变动"


def scenario_section(
    base: CoverageResult,
    outcomes: Sequence[ScenarioOutcome],
    *,
    max_unit_rows: int = 20,
    map_file: str | None = None,
) -> dict[str, Any]:
    """Return the report context of the scenario comparison: side-by-side rates and per-unit changes.

    Parameters
    ----------
    base
        The base run (现状).
    outcomes
        :func:`weihai_gis.planning.run_scenarios` results.
    max_unit_rows
        Most per-unit rows listed per scenario (largest newly covered population first).
    map_file
        Name of the difference map written beside the report, mentioned in the section.
    """
    table = side_by_side({"现状": base, **{o.scenario.name: o.result for o in outcomes}})
    names = [o.scenario.name for o in outcomes]
    deltas = table[[f"Δ {n}" for n in names]].fillna(0).abs().sum(axis=1) > 0
    keep = table[deltas | (table["id"] == ALL_BASIC)]
    rows = [
        [r["name_zh"], _pct(r["现状"]), *[_pct(r[n]) for n in names], *[_delta(r[f"Δ {n}"]) for n in names]]
        for _, r in keep.iterrows()
    ]
    per = []
    for o in outcomes:
        t = o.table
        units = t[t["units"] != "全域"]
        units = (units if len(units) else t).sort_values("population_newly_covered", ascending=False)
        unit_rows = [
            [
                r["unit_name_zh"],
                r["name_zh"],
                _pct(r["rate_before"]),
                _pct(r["rate_after"]),
                _delta(r["delta_rate"]),
                f"{r['population_newly_covered']:,.0f}",
                f"{r['population_newly_uncovered']:,.0f}",
            ]
            for _, r in units.head(max_unit_rows).iterrows()
            if r["population_newly_covered"] > 0 or r["population_newly_uncovered"] > 0
        ]
        total = t[(t["units"] == "全域") & (t["category"] != ALL_BASIC)]
        per.append(
            {
                "name": o.scenario.name,
                "description": o.scenario.description,
                "changes": _changes_zh(o),
                "seconds": f"{o.seconds:.2f}",
                "n_categories": len(o.stats),
                "newly_covered": f"{total['population_newly_covered'].sum():,.0f}",
                "unit_rows": unit_rows,
            }
        )
    return {
        "header": ["类别", "现状", *names, *[f"Δ {n}（百分点）" for n in names]],
        "rows": rows,
        "scenarios": per,
        "unit_header": ["单元", "类别", "现状", "情景", "Δ（百分点）", "新增覆盖人口", "失去覆盖人口"],
        "note": NOTE_ZH,
        "map_file": map_file,
    }
