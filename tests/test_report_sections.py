"""Report content from the results object: interior rates, the 问题清单, 估算 population, plan-target progress."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from maps_data import make_layers, make_results

from weihai_gis import maps
from weihai_gis.report import build_report
from weihai_gis.tijian.targets import load_targets, progress_table


@pytest.fixture(scope="module")
def layers():
    return make_layers()


@pytest.fixture(scope="module")
def results(layers):
    """The fixture result with data-edge flags: origins in the western third are edge-affected."""
    res = make_results(layers)
    origins = res.origins.copy()
    x = origins.geometry.x
    edge = (x < x.quantile(1 / 3)).to_numpy()
    for cid in [*res.category_ids, "all_basic"]:
        origins[f"edge_affected_{cid}"] = edge
    origins["edge_m"] = np.where(edge, 100.0, 5000.0)
    from weihai_gis.lifecircle.summaries import overall_table

    problems = pd.DataFrame(
        {
            "origin_id": ["O1", "O2", "O3"],
            "name": ["一号楼", "", "三号楼"],
            "population": [120.0, 300.0, 80.0],
            "category": ["clinic", "primary_school", "clinic"],
            "max_walk_m": [1000.0, 500.0, 1000.0],
            "dist_network_m": [1500.0, np.nan, 1200.0],
            "dist_straight_m": [900.0, 450.0, 800.0],
            "edge_affected": [True, False, False],
        }
    )
    missing = pd.DataFrame(
        {
            "category": ["clinic", "primary_school"],
            "population_left_out": [200.0, 300.0],
            "share_left_out": [0.2, 0.3],
            "population_left_out_interior": [80.0, 300.0],
        }
    )
    return dataclasses.replace(
        res,
        origins=origins,
        overall_table=overall_table(origins, res.categories),
        problem_table=problems,
        missing_by_category=missing,
    )


@pytest.fixture(scope="module")
def page(layers, results):
    return build_report(
        layers=layers, coverage=results, targets=progress_table(load_targets()), include_maps=False
    )


def _table(page: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    return [
        re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_category_table_shows_interior_rates_beside_the_raw_ones(page, results):
    rows = _table(page, "category-table")
    assert "不含数据边缘" in rows[0][-1]
    table = results.overall().set_index("id")
    by_label = {r[0]: r for r in rows[1:]}
    row = next(r for label, r in by_label.items() if label.startswith("诊所"))
    assert row[1] == f"{100 * table.loc['clinic', 'rate_network']:.1f}%"
    assert row[4] == f"{100 * table.loc['clinic', 'rate_network_interior']:.1f}%"
    assert table.loc["clinic", "rate_network_interior"] != pytest.approx(table.loc["clinic", "rate_network"])
    assert 'id="interior-note"' in page


def test_problem_list_is_a_table_sorted_by_residents_with_edge_flags(page):
    rows = _table(page, "problem-table")
    assert rows[0][0].startswith("建筑") and "估算" in rows[0][1]
    names = [r[0] for r in rows[1:]]
    assert names == ["O2", "一号楼", "三号楼"]  # most residents first; no name -> the building id
    assert rows[1][4] == "超过 2 倍服务半径 / beyond 2× the limit"  # NaN: nothing within twice the limit
    assert rows[2][6].startswith("是") and rows[3][6] == "否"
    by_cat = _table(page, "missing-by-category")
    assert by_cat[1][:3] == ["小学 / primary_school", "300", "30.0%"] and by_cat[2][3] == "80"


def test_unit_tables_label_estimated_population(page, results):
    assert "人口（估算）/ population (estimated)" in page
    real = dataclasses.replace(
        results,
        meta=results.meta.replace(
            inputs=tuple(dataclasses.replace(i, status="real") for i in results.meta.inputs)
        ),
    )
    assert (
        "估算"
        not in build_report(coverage=real, include_maps=False)
        .split('id="coverage"')[1]
        .split("</section>")[0]
    )


def test_plan_target_section_lists_every_target_with_its_status(page):
    targets = load_targets()
    rows = _table(page, "targets-table")
    assert len(rows) == len(targets) + 1
    assert [r[0] for r in rows[1:]] == list(targets["id"])
    assert {r[7] for r in rows[1:]} == {"无数据"}  # no progress file given
    assert "--progress" in page and 'href="#targets"' in page


def test_plan_target_rows_show_the_progress_they_were_given(layers, results):
    targets = load_targets()
    progress = pd.DataFrame(
        {"target_id": ["shantytown"], "date": [pd.Timestamp("2026-06-30")], "achieved": [2249.0]}
    )
    table = progress_table(targets, progress, today="2026-07-01")
    page = build_report(coverage=results, targets=table, include_maps=False)
    row = next(r for r in _table(page, "targets-table") if r[0] == "shantytown")
    assert row[5] == "2,249 套" and row[7] == "已完成"


def test_coverage_map_marks_the_edge_affected_origins(layers, results):
    html = maps.map_html(maps.coverage_map(results, layers))
    n = int(results.origins["edge_affected_all_basic"].sum())
    assert "数据边缘起点" in html or "\\u6570\\u636e\\u8fb9\\u7f18\\u8d77\\u70b9" in html
    assert f"{n}/{len(results.origins)}" in html
