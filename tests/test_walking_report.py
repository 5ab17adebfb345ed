"""老人与成人覆盖率差: the comparison table, its GeoPackage round trip, the report and the CLI options."""

from __future__ import annotations

import functools
import html
import logging
import re

import numpy as np
import pyogrio
import pytest
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.io.results import read_results, write_results
from weihai_gis.jobs.coverage_job import run_coverage_job
from weihai_gis.layers import load_layers
from weihai_gis.lifecircle import coverage
from weihai_gis.lifecircle.walkers import OVERALL_UNIT, WALKER_GAP_COLUMNS, walker_gap
from weihai_gis.options import CoverageOptions
from weihai_gis.report import build_report
from weihai_gis.samples import hitwh_inputs


@functools.cache
def _job():
    """The main job's coverage on the shipped extract: metres run plus the elderly-vs-adult comparison."""
    layers = load_layers()
    units = {n: layers[n] for n in ("renewal_districts", "town_areas", "counties")}
    logging.disable(logging.WARNING)
    try:
        net, res = run_coverage_job(hitwh_inputs(), CoverageOptions(), units=units, compare_walker="elderly")
    finally:
        logging.disable(logging.NOTSET)
    return net, res, units


def test_comparison_rates_are_each_groups_population_weighted_share_per_town():
    net, res, units = _job()
    gap = res.walker_comparison
    assert list(gap.columns) == list(WALKER_GAP_COLUMNS)
    assert res.walker is None  # the main run stays in metres; the comparison ran both groups in minutes
    assert set(gap["unit"]) == {OVERALL_UNIT, "renewal_districts", "town_areas", "counties"}
    assert (gap["gap"] <= 1e-12).all()  # elderly never covers more (same facilities, same network)
    assert (gap["gap"] < -0.05).any()
    np.testing.assert_allclose(gap["gap"], gap["rate_walker"] - gap["rate_adult"])
    # oracle: re-run both groups and weight their flags by population inside each 街道 (own sjoin)
    inputs = hitwh_inputs()
    logging.disable(logging.WARNING)
    try:
        runs = {w: coverage(net, inputs.origins, inputs.facilities, walker=w) for w in ("adult", "elderly")}
    finally:
        logging.disable(logging.NOTSET)
    towns = units["town_areas"].to_crs(net.crs)
    rows = gap[gap["unit"] == "town_areas"]
    checked = 0
    for _, r in rows.iterrows():
        poly = towns.loc[towns["id"].astype(str) == r["unit_id"]].geometry.union_all()
        want = {}
        for w, run in runs.items():
            o = run.origins
            inside = o.geometry.within(poly).to_numpy()  # point origins; a point on a border is in neither
            flag = o[f"met_{r['category']}"].to_numpy()[inside]
            want[w] = np.average(flag, weights=o["population"].to_numpy()[inside])
        assert r["rate_adult"] == pytest.approx(want["adult"], abs=1e-9)
        assert r["rate_walker"] == pytest.approx(want["elderly"], abs=1e-9)
        checked += 1
    assert checked >= 2 * 6


def test_comparison_survives_the_geopackage_and_shows_in_the_report(tmp_path):
    _net, res, _units = _job()
    path = write_results(res, tmp_path / "res.gpkg")
    back = read_results(path)
    assert "walker_comparison" in {n for n, _ in pyogrio.list_layers(path)}
    assert back.walker_comparison[list(WALKER_GAP_COLUMNS)].equals(
        res.walker_comparison[list(WALKER_GAP_COLUMNS)]
    )
    page = html.unescape(build_report(coverage=back, include_maps=False))
    assert page.count("老人与成人覆盖率差") == 4  # study area, 重点片区, 镇街, 区市
    town = res.walker_comparison.query("unit == 'town_areas' and category == 'health_center'")
    for _, r in town.iterrows():  # each 街道's figures as the result holds them
        cell = f"{r['rate_adult']:.1%} → {r['rate_walker']:.1%}（{r['gap'] * 100:+.1f}）"
        assert re.search(re.escape(r["unit_name_zh"]) + r".*?" + re.escape(cell), page, re.S)


def test_walker_gap_refuses_results_that_differ_in_more_than_the_walker():
    net, _res, _units = _job()
    inputs = hitwh_inputs()
    logging.disable(logging.WARNING)
    try:
        adult = coverage(net, inputs.origins, inputs.facilities, walker="adult")
        other = coverage(net, inputs.origins, inputs.facilities, walker="elderly", hex_size_m=400)
    finally:
        logging.disable(logging.NOTSET)
    with pytest.raises(ValueError, match="differ in more than the walker group"):
        walker_gap(adult, other)
    with pytest.raises(ValueError, match="must be an adult run"):
        walker_gap(other, adult)


def test_cli_coverage_walker_writes_minutes_and_records_the_group(tmp_path):
    out = tmp_path / "elderly.gpkg"
    result = CliRunner().invoke(
        main, ["-q", "coverage", "--sample", "helsinki", "--walker", "wheelchair", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    res = read_results(out)
    assert res.walker == "wheelchair"
    adult_speed = 66.7  # the budget is the distance limit at the adult reference speed
    compared = 0
    for cid, limit_m in res.cutoffs_m.items():
        minutes, met = res.origins[f"time_{cid}"], res.origins[f"met_{cid}"]
        assert (minutes.notna() == met).all(), cid
        assert (minutes.dropna() <= limit_m / adult_speed + 1e-9).all(), cid
        compared += int(met.sum())
    assert compared > 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--walker", "runner"], "Invalid value for '--walker'"),
        (["--dem-costs", "missing.tif"], "missing.tif"),
    ],
)
def test_cli_walker_options_refuse_bad_input_with_exit_2(tmp_path, args, message):
    result = CliRunner().invoke(
        main, ["coverage", "--sample", "helsinki", *args, "--out", str(tmp_path / "x.gpkg")]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_dem_outside_the_network_is_a_clear_error(tmp_path, shared_dem):
    # the ASTER tile (36-37 N) does not cover Helsinki: exit 2 naming the DEM and what to give instead
    result = CliRunner().invoke(
        main,
        [
            "coverage",
            "--sample",
            "helsinki",
            "--dem-costs",
            str(shared_dem),
            "--out",
            str(tmp_path / "x.gpkg"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "ASTGTMV003_N36E122_dem.tif" in result.output and "outside" in result.output
