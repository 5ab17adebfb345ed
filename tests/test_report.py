"""The HTML report: content, numbers against independent computations, offline-ness, SVG charts."""

from __future__ import annotations

import dataclasses
import html
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from maps_data import make_layers, make_results, make_violations

from weihai_gis import maps
from weihai_gis.report import build_report, svg_bar_chart, write_report


@pytest.fixture(scope="module")
def layers():
    return make_layers()


@pytest.fixture(scope="module")
def results(layers):
    return make_results(layers)


@pytest.fixture(scope="module")
def report(layers, results):
    return build_report(
        layers=layers,
        coverage=results,
        sightlines=make_violations(layers),
        parameters={"snap_max_m": 200},
        notes="测试报告",
    )


def test_report_is_self_contained(report):
    assert maps.remote_assets(report) == []
    # the embedded maps are escaped inside srcdoc: check them unescaped too
    for srcdoc in re.findall(r'srcdoc="([^"]*)"', report):
        assert maps.remote_assets(html.unescape(srcdoc)) == []


def test_report_embeds_planning_coverage_and_sightline_maps(report):
    docs = [html.unescape(d) for d in re.findall(r'srcdoc="([^"]*)"', report)]
    assert len(docs) == 3
    assert all("L.map(" in d for d in docs)


def test_category_rates_are_population_weighted_means_of_the_hexagons(report, results):
    hexes = results.hexagons
    for col, name in (("rate_clinic", "诊所"), ("rate_all_basic", "全要素达标率")):
        expected = np.average(hexes[col], weights=hexes["population"])
        row = re.search(rf"<td>{name}[^<]*</td><td class=\"num\">([\d.]+)%</td>", report)
        assert row, name
        assert float(row.group(1)) == pytest.approx(100 * expected, abs=0.051)


def test_unit_tables_list_every_unit_with_its_all_basic_rate(report, results):
    for unit in ("renewal_districts", "counties"):
        for _, r in results.units[unit].iterrows():
            cells = re.search(rf"<tr><td>{r['name_zh']}</td>(.*?)</tr>", report)
            assert cells, r["name_zh"]
            assert f"{100 * r['rate_all_basic']:.1f}%" in cells.group(1)


def test_standards_table_shows_citations_and_verified_flags(report):
    table = re.search(r'<table id="standards-table">(.*?)</table>', report, re.S).group(1)
    assert table.count("已核实") == 1 and table.count("未核实") == 2
    assert "GB 50180-2018，附录B" in table


def test_provenance_marks_approximate_layers_and_counts_rows(report, layers):
    table = re.search(r'<table id="provenance-table">(.*?)</table>', report, re.S).group(1)
    rows = re.findall(r"<tr( class=\"approx\")?><td>([^<]+)</td><td class=\"num\">(\d+)</td>", table)
    by_name = {name: (bool(approx), int(n)) for approx, name, n in rows}
    assert by_name["区市 / counties"] == (False, len(layers["counties"]))  # all official
    assert by_name["城市更新片区 / renewal districts"] == (True, len(layers["renewal_districts"]))


def test_sample_warning_only_when_results_lie_outside_weihai(layers, results):
    assert 'id="sample-warning"' not in build_report(layers=layers, coverage=results, include_maps=False)
    helsinki = make_results(layers, where="helsinki")
    page = build_report(layers=layers, coverage=helsinki, include_maps=False)
    assert 'id="sample-warning"' in page and "赫尔辛基" in page
    notice = re.search(r'<div class="warn" id="data-quality">(.*?)</div>', page, re.S).group(1)
    assert "样例数据" in notice and page.index('id="data-quality"') < page.index('id="coverage"')


def test_report_escapes_user_text(layers):
    page = build_report(layers=layers, notes="<script>alert(1)</script>", include_maps=False)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_svg_bar_chart_draws_one_bar_per_value_with_width_proportional_to_share():
    svg = svg_bar_chart(["甲", "乙", "丙", "丁"], [0.25, 1.0, float("nan"), 0.5], title="t")
    root = ET.fromstring(svg)
    bars = [e for e in root.iter() if e.get("class") == "bar"]
    widths = [float(b.get("width")) for b in bars]
    assert len(bars) == 3
    assert widths[0] / widths[1] == pytest.approx(0.25) and widths[2] / widths[1] == pytest.approx(0.5)
    assert "无数据" in svg


def test_write_report_creates_the_file_atomically(tmp_path, layers):
    dest = write_report(build_report(layers=layers, include_maps=False), tmp_path / "r.html")
    assert dest.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


class _LayersWithReport(dict):
    """A Layers-like mapping carrying a validation report with gaps (as weihai_gis.layers.Layers does)."""

    class _Report:
        class _Issue:
            def __init__(self, message):
                self.message = message

        gaps = (_Issue('layer "feature_streets": plan names 8 rows, 0 located here'),)

    report = _Report()


def test_report_lists_data_gaps_of_the_layers_validation_report(layers):
    page = build_report(layers=_LayersWithReport(layers), include_maps=False)
    gaps = re.search(r'<ul id="data-gaps">(.*?)</ul>', page, re.S)
    assert gaps and "plan names 8 rows, 0 located here" in gaps.group(1)


def test_unit_chart_puts_lowest_coverage_first(report, results):
    svgs = re.findall(r"<svg.*?</svg>", report, re.S)
    chart = next(s for s in svgs if "城市更新片区" in s)
    widths = [float(b.get("width")) for b in ET.fromstring(chart).iter() if b.get("class") == "bar"]
    assert len(widths) == len(results.units["renewal_districts"])
    assert widths == sorted(widths)


def test_report_of_a_result_object_shows_network_facts_and_analysis_warnings(layers, results):
    meta = results.meta.replace(
        network_summary={"n_edges": 1234, "length_km": 56.7},
        warnings=("category kindergarten (幼儿园): no facilities in the input; results are NaN",),
    )
    page = build_report(layers=layers, coverage=dataclasses.replace(results, meta=meta), include_maps=False)
    network = re.search(r'<table id="network-table">(.*?)</table>', page, re.S).group(1)
    assert "<th>n_edges</th><td>1234</td>" in network and "56.7" in network
    assert "幼儿园): no facilities" in re.search(r'<ul id="analysis-warnings">(.*?)</ul>', page, re.S).group(
        1
    )
    assert "gb50180-2018" in page


def test_report_shows_network_straight_line_and_gap_side_by_side_per_category(report, results):
    table = re.search(r'<table id="category-table">(.*?)</table>', report, re.S).group(1)
    rows = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r) for r in re.findall(r"<tr>(.*?)</tr>", table)]
    assert len(rows[0]) == 4 and "直线" in rows[0][2] and "差值" in rows[0][3]
    overall = results.overall().set_index("id")
    by_label = {r[0]: r[1:] for r in rows[1:]}
    assert len(by_label) == len(overall)  # one row per category, no extra "rate_buffer_*" rows
    assert not any("rate_buffer" in label for label in by_label)
    net, line, gap = by_label["诊所 / clinic"]
    assert net == f"{100 * overall.loc['clinic', 'rate_network']:.1f}%"
    assert line == f"{100 * overall.loc['clinic', 'rate_buffer']:.1f}%"
    assert gap == f"{100 * overall.loc['clinic', 'gap']:+.1f} pt"


def test_report_states_the_crs_and_the_inputs_without_machine_paths(report, results):
    method = re.search(r'<section id="method">(.*?)</section>', report, re.S).group(1)
    assert results.meta.crs in method
    inputs = re.search(r'<table id="inputs-table">(.*?)</table>', report, re.S).group(1)
    assert "buildings.gpkg" in inputs and "估算" in inputs
    assert "/work/" not in report and "/home/" not in report and "/tmp/" not in report


def test_report_shows_unassessed_categories_as_not_assessed_and_labels_the_all_basic_scope(layers, results):
    res = make_results(layers, not_assessed=("clinic",))
    page = build_report(layers=layers, coverage=res)
    table = re.search(r'<table id="category-table">(.*?)</table>', page, re.S).group(1)
    assert re.search(r"<td>诊所 / clinic</td><td class=\"num\">未评估 / not assessed</td>", table)
    assert "<td>全要素达标率（已评估 1/2 类基础保障）/ all basic</td>" in table
    assert "诊所" in re.search(r'<div class="warn" id="assessment-note">(.*?)</div>', page, re.S).group(1)
    standards = re.search(r'<table id="standards-table">(.*?)</table>', page, re.S).group(1)
    assert standards.count("未评估") == 1 and standards.count("已评估 / assessed（20 处）") == 2
    for unit in re.findall(r'<table class="unit-table">(.*?)</table>', page, re.S):
        rows = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r) for r in re.findall(r"<tr>(.*?)</tr>", unit)]
        col = rows[0].index("诊所 / clinic")
        assert {r[col] for r in rows[1:]} == {"未评估 / not assessed"}
    chart = next(s for s in re.findall(r"<svg.*?</svg>", page, re.S) if "coverage by category" in s)
    assert "未评估 / not assessed" in chart
    maps_html = [html.unescape(d) for d in re.findall(r'srcdoc="([^"]*)"', page)]
    assert any("已评估 1/2 类基础保障" in d or "\\u5df2\\u8bc4\\u4f30 1/2" in d for d in maps_html)
    # with every category assessed nothing says 未评估
    assert "未评估 / not assessed" not in build_report(layers=layers, coverage=results, include_maps=False)


def test_summary_at_the_top_gives_the_headline_rates_and_the_lowest_categories(report, results):
    assert report.index('id="summary"') < report.index('id="coverage"')
    summary = re.search(r'<table id="summary-table">(.*?)</table>', report, re.S).group(1)
    overall = results.overall().set_index("id")
    assert f"{100 * overall.loc['all_basic', 'rate_network']:.1f}%" in summary
    assert f"{100 * overall.loc['all_basic', 'rate_buffer']:.1f}%" in summary
    cats = overall.drop(index="all_basic")["rate_network"].sort_values()
    gaps = re.search(r"最大短板 / biggest gaps</th><td>(.*?)</td>", summary, re.S).group(1)
    positions = [gaps.index(f"/ {cid} {100 * rate:.1f}%") for cid, rate in cats.items()]
    assert positions == sorted(positions)  # lowest first
    assert "roads.gpkg" in summary and "估算" in summary


def test_category_chart_draws_network_and_straight_line_bars_in_proportion(report, results):
    chart = next(s for s in re.findall(r"<svg.*?</svg>", report, re.S) if "coverage by category" in s)
    root = ET.fromstring(chart)
    net = [float(e.get("width")) for e in root.iter() if e.get("class") == "bar"]
    line = [float(e.get("width")) for e in root.iter() if e.get("class") == "bar-buffer"]
    overall = results.overall().set_index("id").drop(index="all_basic")
    assert len(net) == len(line) == len(overall)
    scale = net[0] / overall["rate_network"].iloc[0]
    np.testing.assert_allclose(net, scale * overall["rate_network"].to_numpy(), atol=0.1)
    np.testing.assert_allclose(line, scale * overall["rate_buffer"].to_numpy(), atol=0.1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet="养老院日间照料中心街道服务社区站/ abcWm_()", min_size=1, max_size=40), min_size=1
    )
)
def test_chart_labels_get_a_column_as_wide_as_the_longest_needs(labels):
    from weihai_gis.render.charts import label_width_px

    svg = svg_bar_chart(labels, [0.5] * len(labels), title="t")
    root = ET.fromstring(svg)
    texts = [e for e in root.iter() if e.get("class") == "label"]
    assert len(texts) == len(labels)
    for e, label in zip(texts, labels, strict=True):
        right = float(e.get("x"))  # text-anchor end: the label ends here and must start at x >= 0
        if label_width_px(label) <= 410:
            assert e.text == label and label_width_px(label) <= right
        else:  # beyond the widest column a label is shortened, never cut by the SVG edge
            assert e.text.endswith("…") and label_width_px(e.text) <= right


def test_long_chinese_category_names_are_not_clipped_in_the_report_chart():
    labels = ["养老院/日间照料中心 / elderly_care", "街道服务中心/社区服务站 / community_service"]
    svg = svg_bar_chart(labels, [0.3, 0.9], title="t")
    from weihai_gis.render.charts import label_width_px

    texts = [e for e in ET.fromstring(svg).iter() if e.get("class") == "label"]
    assert [e.text for e in texts] == labels
    assert all(label_width_px(t.text) <= float(t.get("x")) for t in texts)


def test_sources_are_rendered_as_tables_not_raw_markdown(report):
    sources = re.search(r'<div class="sources" id="sources">(.*?)</div>', report, re.S).group(1)
    assert '<table class="sources-table">' in sources and "<th>licence</th>" in sources
    assert "|---|" not in sources and "**" not in sources
