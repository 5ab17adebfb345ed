"""The main job's planning step: site the worst-served basic category and compare that scenario with 现状.

The 基础保障 category leaving the most residents out of reach (network distance) gets
``planning.yaml: main_job.new_sites`` new sites on network nodes by maximal covering with the existing
facilities fixed; the chosen sites become the scenario 规划（选址）, answered by the exact incremental
what-if and compared with the base run (report section, map layers, a CSV). A run in walking minutes (a
walker group, hills) sites and answers in the same minutes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np

from weihai_gis.io.tables import header_lines, summary_headers_zh, write_csv_with_notice
from weihai_gis.lifecircle import BASIC_TYPE, CoverageResult, assessed_flags
from weihai_gis.network import WalkNetwork
from weihai_gis.planning import Scenario, ScenarioOutcome, WhatIf, maximal_covering, run_scenarios
from weihai_gis.planning.problem import siting_problem
from weihai_gis.samples import CoverageInputs
from weihai_gis.standards import planning_config

__all__ = ["SCENARIO_NAME", "siting_scenario", "worst_basic_category"]

log = logging.getLogger(__name__)

SCENARIO_NAME = "规划（选址）"

#: Chinese meaning of the columns of ``scenario_comparison.csv`` (its notice file lists them).
SCENARIO_HEADERS_ZH = {
    "scenario": "情景",
    "units": "汇总单元",
    "unit_id": "单元编号",
    "unit_name_zh": "单元名称",
    "category": "类别",
    "name_zh": "类别名称",
    "rate_before": "现状覆盖率",
    "rate_after": "情景覆盖率",
    "delta_rate": "覆盖率变化",
    "population_newly_covered": "新增覆盖人口",
    "population_newly_uncovered": "新增未覆盖人口",
}


def worst_basic_category(result: CoverageResult) -> str | None:
    """Return the assessed 基础保障 category leaving the most residents out of reach (None when none is)."""
    cats = result.categories
    basic = cats[(cats["type"] == BASIC_TYPE) & assessed_flags(cats)]
    if basic.empty:
        return None
    pop = result.origins["population"].to_numpy(dtype=float)
    unmet = {
        str(c): float(pop[~result.origins[f"met_{c}"].to_numpy(bool)].sum()) for c in basic["id"].astype(str)
    }
    return max(unmet, key=lambda c: unmet[c])  # ties: the first in profile order


def siting_scenario(
    net: WalkNetwork,
    inputs: CoverageInputs,
    result: CoverageResult,
    out: Path,
    *,
    dem_costs: str | os.PathLike[str] | None = None,
) -> tuple[ScenarioOutcome | None, str]:
    """Site new facilities of the worst-served basic category and answer that scenario.

    ``dem_costs``: the DEM file of a run with hills (the result records its name only); the run's walker
    group (``result.walker``) sites and answers in minutes.

    Returns
    -------
    tuple
        ``(outcome, note)``: the scenario outcome (None when nothing can be sited) and a note for the
        report. Writes ``out/scenario_comparison.csv`` (the difference table) when sited.
    """
    cfg = planning_config()["main_job"]
    cid = worst_basic_category(result)
    if cid is None:
        return None, "未选址：没有已评估的基础保障类设施 / no siting: no basic category assessed"
    prob, sites, info = siting_problem(
        net,
        inputs.origins,
        inputs.facilities,
        None,
        category=cid,
        profile=result.profile_name,
        walker=result.walker,
        dem_costs=dem_costs,
    )
    sol = maximal_covering(
        prob, int(cfg["new_sites"]), method="auto", time_limit_s=float(cfg["time_limit_s"])
    )
    if sol.k == 0:
        return None, f"未选址：{info['name_zh']} 无可增加覆盖的候选点 / no candidate adds coverage"
    chosen = sites.iloc[np.asarray(sol.chosen)]
    add = gpd.GeoDataFrame(
        {
            "id": [f"site-{cid}-{i + 1}" for i in range(sol.k)],
            "name": [f"{info['name_zh']}选址{i + 1}" for i in range(sol.k)],
            "category": cid,
        },
        geometry=chosen.geometry.to_numpy(),
        crs=sites.crs,
    )
    description = (
        f"{info['name_zh']}（覆盖缺口最大的基础保障类）新增 {sol.k} 处，路网节点为候选点，"
        f"最大覆盖模型（现有设施固定，{sol.method}，最优性差距 {sol.gap:.1%}）"
    )
    (outcome,) = run_scenarios(
        WhatIf(net, result, dem_costs=dem_costs), [Scenario(SCENARIO_NAME, add=add, description=description)]
    )
    heads = {**summary_headers_zh(result), **SCENARIO_HEADERS_ZH}
    write_csv_with_notice(
        outcome.table,
        out / "scenario_comparison.csv",
        title=f"情景比较 / scenario comparison：{SCENARIO_NAME}",
        lines=[description, *header_lines(result)],
        headers_zh=heads,
    )
    log.info("planning: %s, %d new sites, scenario answered in %.2f s", cid, sol.k, outcome.seconds)
    return outcome, f"情景 {SCENARIO_NAME}：{description}"
