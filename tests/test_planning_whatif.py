"""What-if scenarios on the shipped 山大哈工大 extract: a scenario equals a full coverage run of its facilities
(every indicator), difference tables count the right residents, scenario files and the CLI."""

from __future__ import annotations

import dataclasses
import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.errors import InputFileError, LayerError
from weihai_gis.io.scenarios import read_scenarios
from weihai_gis.lifecircle import coverage
from weihai_gis.network import WalkNetwork, build_network
from weihai_gis.planning.compare import (
    CHANGE_GAINED,
    difference_hexagons,
    difference_origins,
    difference_table,
    side_by_side,
)
from weihai_gis.planning.whatif import Scenario, WhatIf, run_scenarios
from weihai_gis.samples import hitwh_inputs


def _halves(net: WalkNetwork) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = shapely.bounds(shapely.multipoints(net.node_xy))
    mid = (x0 + x1) / 2
    return gpd.GeoDataFrame(
        {"id": ["w", "e"], "name_zh": ["西片", "东片"]},
        geometry=[shapely.box(x0 - 1, y0 - 1, mid, y1 + 1), shapely.box(mid, y0 - 1, x1 + 1, y1 + 1)],
        crs=net.crs,
    )


@functools.cache
def _base():
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    base = coverage(
        net, inputs.origins, inputs.facilities, profile="gb50180-2018", units={"halves": _halves(net)}
    )
    return net, inputs, base, WhatIf(net, base)


def _scenario(net: WalkNetwork, base) -> Scenario:
    fac = base.facilities
    add = gpd.GeoDataFrame(
        {
            "category": ["primary_school", "kindergarten", "elderly_care"],
            "name": ["新建小学", "新建幼儿园", "新建养老"],
        },
        geometry=shapely.points(net.node_xy[[10, 200, 400]]),
        crs=net.crs,
    )
    hospital = fac.loc[fac["category"] == "hospital", "id"].iloc[0]
    park = fac.loc[fac["category"] == "park", "id"].iloc[0]
    move = gpd.GeoDataFrame({"id": [park]}, geometry=shapely.points(net.node_xy[[300]]), crs=net.crs)
    return Scenario("规划", add=add, remove=(str(hospital),), move=move)


def test_a_scenario_equals_a_full_coverage_run_of_its_facilities():
    net, inputs, base, whatif = _base()
    res, stats = whatif.run(_scenario(net, base))
    # the oracle: the coverage engine from scratch on the scenario's facilities (same points, network CRS)
    full = coverage(
        net, inputs.origins, res.facilities, profile="gb50180-2018", units={"halves": _halves(net)}
    )
    for cid in base.category_ids:
        for col in (f"dist_{cid}", f"met_{cid}", f"met_buffer_{cid}"):
            assert np.array_equal(
                res.origins[col].to_numpy(), full.origins[col].to_numpy(), equal_nan=True
            ), col
    pd.testing.assert_frame_equal(res.overall(), full.overall())
    pd.testing.assert_frame_equal(
        pd.DataFrame(res.units["halves"].drop(columns="geometry")),
        pd.DataFrame(full.units["halves"].drop(columns="geometry")),
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(res.hexagons.drop(columns="geometry")),
        pd.DataFrame(full.hexagons.drop(columns="geometry")),
    )
    # only the categories the change serves were recomputed; elderly_care is now assessed
    assert set(stats) >= {"primary_school", "kindergarten", "health_center", "park_15"}
    assert "sports_large" not in stats and "bus_stop" not in stats
    assert bool(res.categories.set_index("id").loc["elderly_care", "assessed"])
    assert not bool(base.categories.set_index("id").loc["elderly_care", "assessed"])


def test_difference_table_counts_the_residents_whose_coverage_changed():
    net, _, base, whatif = _base()
    res, _ = whatif.run(_scenario(net, base))
    table = difference_table(base, res, units="halves")
    pop = base.origins["population"].to_numpy()
    for cid in ("kindergarten", "health_center"):
        was, now = base.origins[f"met_{cid}"].to_numpy(bool), res.origins[f"met_{cid}"].to_numpy(bool)
        rows = table[table["category"] == cid]
        assert rows["population_newly_covered"].sum() == pytest.approx(pop[now & ~was].sum())
        assert rows["population_newly_uncovered"].sum() == pytest.approx(pop[was & ~now].sum())
        np.testing.assert_allclose(rows["delta_rate"], rows["rate_after"] - rows["rate_before"])
    overall = difference_table(base, res).set_index("category")
    assert overall.loc["kindergarten", "rate_after"] == pytest.approx(
        res.overall().set_index("id").loc["kindergarten", "rate_network"]
    )
    assert overall.loc["kindergarten", "population_newly_covered"] > 0  # the new kindergarten reaches someone
    assert "sports_large" not in overall.index  # unchanged categories are left out
    points = difference_origins(base, res)
    gained = points[(points["category"] == "kindergarten") & (points["change_zh"] == CHANGE_GAINED)]
    assert gained["population"].sum() == pytest.approx(
        overall.loc["kindergarten", "population_newly_covered"]
    )
    assert (gained["dist_after_m"] <= 300 + 1e-9).all() and (
        gained["dist_before_m"].fillna(np.inf) > 300
    ).all()
    hexes = difference_hexagons(base, res)
    assert len(hexes) and (hexes["delta_kindergarten"].fillna(0) >= 0).all()
    both = side_by_side({"现状": base, "规划": res}).set_index("id")
    assert both.loc["kindergarten", "Δ 规划"] == pytest.approx(overall.loc["kindergarten", "delta_rate"])


def test_adding_only_never_uncovers_anyone_and_an_empty_scenario_changes_nothing():
    net, _, base, whatif = _base()
    sc = _scenario(net, base)
    outcomes = run_scenarios(whatif, [Scenario("空"), Scenario("新增", add=sc.add)])
    empty, added = outcomes
    assert empty.stats == {} and (empty.table["delta_rate"].fillna(0) == 0).all() and empty.origins.empty
    assert (added.table["population_newly_uncovered"] == 0).all()
    assert set(added.table["units"]) == {"全域", "halves"}


def test_a_cut_network_scenario_is_a_full_run_on_that_network():
    net, inputs, base, whatif = _base()
    keep = np.ones(net.n_edges, dtype=bool)
    keep[::7] = False  # close every seventh street
    cut = WalkNetwork(
        net.node_ids,
        net.node_xy,
        net.edge_u[keep],
        net.edge_v[keep],
        net.edge_length_m[keep],
        net.edge_geometry[keep],
        net.highway[keep],
        net.crs,
        "cut",
    )
    res, stats = whatif.run(Scenario("断路", network=cut))
    full = coverage(cut, inputs.origins, base.facilities, profile="gb50180-2018")
    assert stats == {}
    pd.testing.assert_frame_equal(res.overall(), full.overall())
    assert (
        res.overall().set_index("id").loc["bus_stop", "rate_network"]
        <= base.overall().set_index("id").loc["bus_stop", "rate_network"]
    )


def test_scenarios_name_unknown_facilities_and_categories():
    net, _, base, whatif = _base()
    with pytest.raises(LayerError, match="not in the base run"):
        whatif.run(Scenario("x", remove=("node/0",)))
    bad = gpd.GeoDataFrame({"category": ["clinic"]}, geometry=[shapely.Point(net.node_xy[0])], crs=net.crs)
    with pytest.raises(LayerError, match=r"'clinic'.*not served"):
        whatif.run(Scenario("x", add=bad))
    with pytest.raises(LayerError, match="used twice"):
        run_scenarios(whatif, [Scenario("a"), Scenario("a")])
    hilly = dataclasses.replace(
        base, meta=base.meta.replace(options={**base.meta.options, "walker": "adult", "dem_costs": "x.tif"})
    )
    with pytest.raises(LayerError, match=r"DEM 'x\.tif'.*dem_costs"):
        WhatIf(net, hilly)  # minutes runs are answered in minutes (test_planning_walkers), on their DEM


def _yaml(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_scenarios_from_yaml_and_geopackage(tmp_path):
    path = _yaml(
        tmp_path,
        "version: 1\nscenarios:\n  - name: 规划\n    description: 新建小学\n"
        "    add:\n      - {category: primary_school, name: 新建小学, x: 122.079, y: 37.53}\n"
        "    remove: [node/1]\n    move:\n      - {id: node/2, x: 122.08, y: 37.531}\n  - name: 现状保持\n",
    )
    first, second = read_scenarios(path)
    assert first.name == "规划" and first.remove == ("node/1",) and first.add.crs.to_epsg() == 4326
    assert first.add["category"].tolist() == ["primary_school"] and first.move["id"].tolist() == ["node/2"]
    assert shapely.get_coordinates(first.add.geometry.to_numpy()).tolist() == [[122.079, 37.53]]
    assert second.add.empty and second.remove == ()
    gpkg = tmp_path / "s.gpkg"
    gpd.GeoDataFrame(
        {
            "scenario": ["A", "A", "B"],
            "action": ["add", "remove", "move"],
            "category": ["market", "", ""],
            "id": ["", "node/1", "node/2"],
        },
        geometry=[shapely.Point(122.07, 37.53)] * 3,
        crs="EPSG:4326",
    ).to_file(gpkg, layer="scenarios")
    a, b = read_scenarios(gpkg)
    assert (a.name, len(a.add), a.remove) == ("A", 1, ("node/1",)) and b.move["id"].tolist() == ["node/2"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("scenarios: []\n", "non-empty 'scenarios'"),
        ("scenarios:\n  - {description: x}\n", "needs a 'name'"),
        ("scenarios:\n  - {name: a, added: []}\n", r"unknown keys \['added'\]"),
        (
            "scenarios:\n  - {name: a, add: [{category: market, x: 1}]}\n",
            "entry 1: expected category, x and y",
        ),
        ("scenarios:\n  - {name: a, remove: node/1}\n", "remove: expected a list"),
    ],
)
def test_bad_scenario_files_name_the_scenario_and_the_field(tmp_path, text, match):
    with pytest.raises(InputFileError, match=match):
        read_scenarios(_yaml(tmp_path, text))


def test_plan_whatif_cli_writes_the_difference_layers_and_table(tmp_path):
    from weihai_gis.samples import sample_inputs

    fac = sample_inputs().facilities
    shop = fac.loc[fac["category"] == "convenience"].iloc[0]
    lon, lat = shapely.get_coordinates(fac.to_crs(4326).geometry.to_numpy()[[0]])[0]
    path = _yaml(
        tmp_path,
        f"scenarios:\n  - name: 规划\n    add:\n      - {{category: primary_school, x: {lon}, y: {lat}}}\n"
        f"    remove: [{shop['id']}]\n",
    )
    out = tmp_path / "w.gpkg"
    res = CliRunner().invoke(
        main, ["-q", "plan", "whatif", "--sample", "helsinki", "--scenario", str(path), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "情景 规划: 全要素达标率" in res.output and "小学:" in res.output
    table = pd.read_csv(out.with_suffix(".csv"))
    school = table[(table["category"] == "primary_school")].iloc[0]
    assert school["population_newly_covered"] > 0 and school["population_newly_uncovered"] == 0
    pts = gpd.read_file(out, layer="whatif_origins")
    assert pts.loc[pts["category"] == "primary_school", "population"].sum() == pytest.approx(
        school["population_newly_covered"]
    )
    assert len(gpd.read_file(out, layer="whatif_facilities")) == 1
    # a bad id exits 2 with the message, no traceback
    bad = _yaml(tmp_path, "scenarios:\n  - {name: x, remove: [nope]}\n")
    res = CliRunner().invoke(
        main, ["-q", "plan", "whatif", "--sample", "helsinki", "--scenario", str(bad), "--out", str(out)]
    )
    assert res.exit_code == 2 and "'nope'" in res.output and "Traceback" not in res.output


def test_the_report_section_and_the_difference_map_show_the_scenario():
    from weihai_gis.maps import coverage_map, map_html
    from weihai_gis.planning.report_section import scenario_section
    from weihai_gis.report import build_report

    net, _, base, whatif = _base()
    (outcome,) = run_scenarios(whatif, [_scenario(net, base)])
    section = scenario_section(base, [outcome])
    page = build_report(coverage=base, scenarios=section, include_maps=False)
    html = page[
        page.index('<section id="scenarios">') : page.index("</section>", page.index('id="scenarios"'))
    ]
    after = outcome.result.overall().set_index("id")
    assert "情景 规划" in html and "新增 3 处（养老院/日间照料中心、小学、幼儿园）" in html
    assert f"{100 * after.loc['kindergarten', 'rate_network']:.1f}%" in html  # the 幼儿园 row's scenario rate
    assert "sports_large" not in section["rows"] and not any(
        r[0] == "大型多功能运动场地" for r in section["rows"]
    )
    newly = outcome.table[
        (outcome.table["units"] == "halves") & (outcome.table["category"] == "kindergarten")
    ]
    assert f"{newly['population_newly_covered'].max():,.0f}" in html
    m = map_html(coverage_map(base, scenarios=[outcome]))
    assert "residents gained or lost" in m and "new sites" in m and "\\u0394 coverage" in m
    assert "residents gained" not in map_html(coverage_map(base))  # drawn only when asked


def test_siting_on_the_shipped_extract_equals_brute_force_over_every_pair_of_nodes():
    from weihai_gis.jobs.planning_job import worst_basic_category
    from weihai_gis.planning import maximal_covering
    from weihai_gis.planning.problem import siting_problem

    net, inputs, base, _ = _base()
    cid = worst_basic_category(base)
    prob, _, _ = siting_problem(
        net, inputs.origins, inputs.facilities, None, category=cid, profile="gb50180-2018"
    )
    a = prob.cover.toarray()
    w = prob.population
    done = a[:, prob.existing].any(axis=1)
    cand = np.flatnonzero(~prob.existing)
    ac = a[~done][:, cand].astype(float)
    wc = w[~done]
    single = wc @ ac  # people each candidate adds
    both = single[:, None] + single[None, :] - (ac * wc[:, None]).T @ ac  # every pair: |A ∪ B| weighted
    np.fill_diagonal(both, -1)
    fixed = w[done].sum()
    for k, best in ((1, single.max()), (2, both.max())):
        res = maximal_covering(prob, k, method="exact")
        assert res.covered == pytest.approx(fixed + best, rel=1e-12) and res.gap == 0
    assert len(cand) > 1000  # every network node of the extract was a candidate
