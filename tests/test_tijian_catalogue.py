"""城市体检 catalogue and plan targets: every value cited, nothing verified without a seen source, every target."""

from __future__ import annotations

import os
from collections import Counter
from importlib import resources

import pandas as pd
import pytest
import yaml

from tests.conftest import SHARED_DATA
from weihai_gis.errors import LayerError, StandardsError
from weihai_gis.standards import coverage_config
from weihai_gis.tijian import catalogue_profile, load_catalogue, load_targets, progress_table, read_progress

PLAN_TEXT = SHARED_DATA.parent / "seed" / "000_6d468fd8179cf2eb.txt"

# Every numbered target of §二 and §三, typed by hand from the plan text: (number, unit), once per target
# (targets stated in both §二 and §三 appear once). The YAML must hold exactly these.
PLAN_NUMBERS = [
    (100, "%"),
    (10, "个"),
    (8, "条"),
    (2249, "套"),
    (300, "个"),
    (50, "%"),
    (5, "个"),
    (100, "个"),
    (700, "个"),
    (5, "星级"),
    (90, "%"),
    (1, "位"),
    (40, "%"),
    (100, "%"),
    (3, "项"),
    (100, "%"),
    (450, "个"),
    (1, "项"),
    (10, "条"),
    (20, "处"),
    (20, "个"),
    (1, "项"),
    (1, "项"),
    (1, "项"),
    (4, "个"),
    (20, "个"),
    (55, "%"),
    (1, "项"),
    (1, "项"),
    (80, "%"),
    (100, "%"),
    (2, "万立方米/日"),
    (2, "处"),
    (300, "万平方米/年"),
    (80, "%"),
    (132, "万千瓦"),
    (1100, "万平方米"),
    (37, "公里"),
    (2, "座"),
    (2, "处"),
    (6, "处"),
    (35, "%"),
    (60, "%"),
    (9000, "座"),
    (100, "%"),
    (12, "个"),
    (100, "%"),
    (80, "%"),
    (1, "项"),
    (80, "%"),
    (3, "处"),
    (15, "处"),
    (50, "人"),
]


def _shared_hidden() -> bool:
    return os.environ.get("WEIHAI_GIS_HIDE_SHARED") == "1"


def test_catalogue_has_both_systems_in_table_order_with_citations():
    cat = load_catalogue()
    assert cat["id"].is_unique
    assert list(dict.fromkeys(cat["system"])) == ["mohurd-2023", "tdt1063-2021"]
    for _, rows in cat.groupby("system"):
        assert rows["order"].is_monotonic_increasing
    assert (cat["citation"].str.len() > 10).all() and (cat["threshold_citation"].str.len() > 10).all()
    tdt = cat[cat["system"] == "tdt1063-2021"]
    assert set(tdt["name_zh"]) >= {
        "社区小学步行10分钟覆盖率",
        "社区养老设施步行5分钟覆盖率",
        "市区级医院2公里覆盖率",
    }
    assert "中学服务半径覆盖率" in set(cat["name_zh"])


def test_nothing_in_the_catalogue_is_presented_as_verified():
    # no text with any of these numbers was seen (issue 16 research notes, standards-evidence.md)
    cat = load_catalogue()
    assert not cat["verified"].any()
    assert not cat["threshold_verified"].any()


def test_walking_minutes_convert_with_the_configured_speed():
    cat = load_catalogue().set_index("id")
    speed = coverage_config()["walking_speed_m_per_min"]["adult"]
    assert cat.at["tdt_primary_10", "threshold_m"] == pytest.approx(round(10 * speed, 1))
    assert cat.at["tdt_primary_10", "official"] == "network"
    assert cat.at["mohurd_middle_school", "threshold_m"] == 1000
    assert cat.at["mohurd_middle_school", "official"] == "straight_line"
    assert pd.isna(cat.at["mohurd_fire_5min", "threshold_m"])  # driving minutes: no metre equivalent


def test_profile_searches_beyond_the_threshold_and_skips_driving_items():
    cat = load_catalogue()
    prof = catalogue_profile(cat, search_factor=2)
    got = prof.categories.set_index("id")["max_walk_m"]
    assert "mohurd_fire_5min" not in got.index and "mohurd_fire_station" not in got.index
    assert got["mohurd_middle_school"] == 2000


def test_planner_catalogue_errors_name_file_indicator_and_field(tmp_path):
    data = yaml.safe_load(
        (resources.files("weihai_gis.standards") / "tijian-indicators.yaml").read_text(encoding="utf-8")
    )
    data["indicators"][0]["kinds"] = ["nursing_home"]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(StandardsError, match=r"mine\.yaml, indicator 'mohurd_xq_elderly', field 'kinds'"):
        load_catalogue(path)
    data["indicators"][0]["kinds"] = ["elderly_care"]
    data["indicators"].append({**data["indicators"][0], "id": "weihai_extra", "system": "weihai"})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cat = load_catalogue(path)
    assert cat["id"].iloc[-1] == "weihai_extra"  # planner systems come after the two official ones


def test_plan_targets_are_every_numbered_target_of_the_plan():
    targets = load_targets()
    assert targets["id"].is_unique
    assert Counter(zip(targets["target"].astype(float), targets["unit"], strict=True)) == Counter(
        (float(n), u) for n, u in PLAN_NUMBERS
    )
    assert targets["verified"].all()  # numbers read in the consultation text
    named = targets.set_index("id")
    assert len(named.at["key_districts", "features"]) == 10
    assert named.at["waterlogging_points", "due"] == pd.Timestamp("2025-12-31")


def test_plan_target_clauses_are_quoted_verbatim_from_the_plan():
    if _shared_hidden() or not PLAN_TEXT.exists():
        pytest.skip("plan text not present")
    text = PLAN_TEXT.read_text(encoding="utf-8")
    for _, t in load_targets().iterrows():
        assert t["clause"] in text, t["id"]


def test_progress_against_a_linear_schedule(tmp_path):
    targets = load_targets()
    csv = tmp_path / "progress.csv"
    pd.DataFrame(
        {
            "target_id": [
                "shantytown",
                "shantytown",
                "designer_stations",
                "waterlogging_points",
                "waterlogging_points",
                "smart_community",
            ],
            "date": ["2025-06-30", "2026-06-30", "2026-06-30", "2025-12-01", "2025-12-01", "2026-06-30"],
            "achieved": [500, 900, 9, None, None, 95],
            "feature": [None, None, None, "文化路与福山路交叉口", "点2", None],
            "status": [None, None, None, "完成", "在建", None],
        }
    ).to_csv(csv, index=False)
    table = progress_table(targets, read_progress(csv), today="2026-07-01").set_index("id")
    # 2025-01-01 → 2027-12-31 is 1094 days; 2026-07-01 is day 546
    frac = 546 / 1094
    assert table.at["shantytown", "achieved"] == 900
    assert table.at["shantytown", "expected_by_today"] == pytest.approx(2249 * frac)
    assert table.at["shantytown", "status"] == "滞后"  # 900 < 1122
    assert table.at["designer_stations", "expected_by_today"] == pytest.approx(15 * frac)
    assert table.at["designer_stations", "status"] == "按计划"  # 9 ≥ 7.5
    assert table.at["waterlogging_points", "achieved"] == 1
    assert table.at["waterlogging_points", "status"] == "逾期未完成"  # due 2025-12-31
    assert table.at["smart_community", "status"] == "已完成"
    assert pd.isna(table.at["smart_community", "expected_by_today"])  # a share without baseline
    assert table.at["prefab_share", "status"] == "无数据"


def test_progress_file_errors_name_the_column_and_rows(tmp_path):
    csv = tmp_path / "p.csv"
    pd.DataFrame({"target_id": ["shantytown"], "date": ["soon"], "achieved": [1]}).to_csv(csv, index=False)
    with pytest.raises(LayerError, match=r"p\.csv.*'date'.*rows \[0\]"):
        read_progress(csv)
    pd.DataFrame({"target_id": ["nope"], "date": ["2025-01-02"], "achieved": [1]}).to_csv(csv, index=False)
    with pytest.raises(LayerError, match="nope"):
        progress_table(load_targets(), read_progress(csv))


def test_progress_map_colours_named_features_and_lists_those_not_in_the_layers(tmp_path):
    from click.testing import CliRunner

    from weihai_gis.cli import main
    from weihai_gis.layers import load_layers
    from weihai_gis.maps import remote_assets
    from weihai_gis.tijian.progress_map import STATUS_COLORS, target_features

    csv = tmp_path / "progress.csv"
    pd.DataFrame(
        {
            "target_id": ["key_districts", "key_districts", "key_districts"],
            "date": ["2025-06-01", "2026-01-10", "2026-01-10"],
            "feature": ["卫城—金线顶", "卫城—金线顶", "西苑—皇冠"],
            "status": ["在建", "完成", "未启动"],
        }
    ).to_csv(csv, index=False)
    layers = load_layers()
    feats, missing = target_features(load_targets(), read_progress(csv), layers)
    districts = feats[feats["target_id"] == "key_districts"].set_index("name_zh")
    assert districts.at["卫城—金线顶", "progress"] == "完成"  # the latest report wins
    assert districts.at["西苑—皇冠", "progress"] == "未启动"
    rd = layers["renewal_districts"]
    in_layer = set(rd.loc[rd.geometry.notna() & ~rd.geometry.is_empty, "name_zh"])  # located rows only
    assert set(districts.index) == in_layer & set(
        load_targets().set_index("id").at["key_districts", "features"]
    )
    assert "重点片区更新: 东山" in missing  # named in the plan, not (yet) located in the embedded layer
    out = tmp_path / "progress.html"
    res = CliRunner().invoke(main, ["tijian", "targets", "--progress", str(csv), "--map", str(out)])
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert remote_assets(page) == []
    # each colour once in the legend, and again (stroke and fill) for the features of that status
    assert page.count(STATUS_COLORS["完成"]) == 3 and page.count(STATUS_COLORS["未启动"]) == 3
    assert page.count(STATUS_COLORS["在建"]) == 1  # the earlier 在建 report was superseded
