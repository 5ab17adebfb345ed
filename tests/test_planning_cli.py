"""CLI: `weihai-gis plan gaps | site | access` on the Helsinki sample agree with the library; bad input exits 2."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from weihai_gis.cli import main


def _run(*args):
    return CliRunner().invoke(main, ["-q", "plan", *args])


def test_plan_site_writes_existing_and_chosen_sites_and_the_curve(tmp_path):
    out = tmp_path / "sites.gpkg"
    res = _run(
        "site",
        "--sample",
        "helsinki",
        "--category",
        "convenience",
        "--candidates",
        "nodes",
        "--k",
        "2",
        "--curve",
        "2",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert "便利店 选址" in res.output and "新增 2 处" in res.output
    sites = gpd.read_file(out, layer="sites")
    assert sites["chosen"].sum() == 2 and sites["existing"].sum() > 0
    curve = pd.read_csv(out.with_suffix(".csv"))
    assert curve["k"].tolist() == [0, 1, 2] and curve["covered"].is_monotonic_increasing
    assert (curve["gap"] == 0).all()
    # k = 0 is today's coverage of the category by the coverage engine
    from weihai_gis.lifecircle import coverage
    from weihai_gis.network import build_network
    from weihai_gis.samples import sample_inputs

    inputs = sample_inputs()
    today = coverage(build_network(inputs.network), inputs.origins, inputs.facilities)
    o = today.origins
    assert curve.loc[0, "covered"] == pytest.approx(o.loc[o["met_convenience"], "population"].sum())


def test_plan_gaps_and_access_tables_agree_with_their_layers(tmp_path):
    out = tmp_path / "gaps.gpkg"
    res = _run("gaps", "--sample", "helsinki", "--category", "primary_school", "--out", str(out))
    assert res.exit_code == 0, res.output
    areas = gpd.read_file(out, layer="gap_areas")
    table = pd.read_csv(out.with_suffix(".csv"))
    assert areas["population"].sum() == pytest.approx(table["population_unmet"].sum())
    assert "小学缺口片区 1" in res.output
    _assert_sample_notice(out, "gap_areas")

    out = tmp_path / "access.gpkg"
    res = _run("access", "--sample", "helsinki", "--category", "primary_school", "--out", str(out))
    assert res.exit_code == 0, res.output
    layer = gpd.read_file(out, layer="access")
    table = pd.read_csv(out.with_suffix(".csv"))
    assert table["shortfall"].sum() == pytest.approx(layer["shortfall"].sum())
    want = np.maximum(0, 70 - layer["access_per_1000"]) * layer["population"] / 1000
    np.testing.assert_allclose(layer["shortfall"], want)
    assert "学位/千人" in res.output
    _assert_sample_notice(out, "access")


def _assert_sample_notice(gpkg, layer):
    """The Helsinki sample is labelled 样例 beside the CSV and in the GeoPackage layer's description."""
    import sqlite3

    from weihai_gis.io.tables import notice_path

    side = notice_path(gpkg.with_suffix(".csv")).read_text(encoding="utf-8-sig")
    assert "样例" in side and "SAMPLE" in side
    with sqlite3.connect(gpkg) as db:
        (description,) = db.execute(
            "SELECT description FROM gpkg_contents WHERE table_name = ?", (layer,)
        ).fetchone()
    assert "样例" in description


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["site", "--category", "convenience", "--candidates", "nodes", "--k", "2", "--target", "0.9"],
            "exactly one of --k",
        ),
        (["site", "--category", "school", "--candidates", "nodes", "--k", "2"], "not a category of profile"),
        (["site", "--category", "convenience", "--candidates", "nope.gpkg", "--k", "2"], "no such file"),
        (["access", "--category", "toilet"], "has no supply standard"),
    ],
)
def test_plan_bad_input_exits_2_with_a_clear_message(tmp_path, args, message):
    res = _run(*args, "--sample", "helsinki", "--out", str(tmp_path / "x.gpkg"))
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
