"""CLI: `weihai-gis coverage --sample helsinki` end to end; `fetch osm` fails clearly offline."""

from __future__ import annotations

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.io.workbook import read_sheet


def test_coverage_sample_writes_gpkg_csv_xlsx_matching_the_library(tmp_path):
    out = tmp_path / "res.gpkg"
    result = CliRunner().invoke(main, ["-q", "coverage", "--sample", "helsinki", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "SAMPLE" in result.output and "全要素达标率" in result.output
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"origins", "facilities", "summary_hex", "categories"} <= layers
    origins = pyogrio.read_dataframe(out, layer="origins")
    assert {"dist_bus_stop", "met_bus_stop", "met_all_basic", "met_buffer_all_basic"} <= set(origins.columns)
    table = pd.read_csv(out.with_suffix(".csv"))
    xlsx = read_sheet(out.with_suffix(".xlsx"), "总体")
    assert table["id"].tolist() == xlsx["id"].tolist()
    pop = origins["population"]
    want = (pop * origins["met_bus_stop"]).sum() / pop.sum()
    assert table.set_index("id").loc["bus_stop", "rate_network"] == pytest.approx(want)


def test_coverage_gpkg_categories_say_which_categories_were_assessed_and_all_basic_uses_only_those(tmp_path):
    out = tmp_path / "res.gpkg"
    result = CliRunner().invoke(main, ["-q", "coverage", "--sample", "helsinki", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cats = pyogrio.read_dataframe(out, layer="categories")
    origins = pyogrio.read_dataframe(out, layer="origins")
    assert cats["assessed"].dtype == bool
    assert (cats["assessed"] == (cats["n_facilities"] > 0)).all() and (~cats["assessed"]).any()
    basic = cats.loc[(cats["type"] == "基础保障") & cats["assessed"], "id"]
    want = origins[[f"met_{c}" for c in basic]].all(axis=1)
    assert (origins["met_all_basic"] == want).all()
    table = pd.read_csv(out.with_suffix(".csv")).set_index("id")
    assert table["assessed"].drop("all_basic").tolist() == cats["assessed"].tolist()
    assert table.loc[cats.loc[~cats["assessed"], "id"], "rate_network"].isna().all()
    n_basic = int((cats["type"] == "基础保障").sum())
    assert f"已评估 {len(basic)}/{n_basic} 类" in table.loc["all_basic", "name_zh"]
    assert "未评估" in result.output


def test_coverage_without_inputs_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["coverage", "--out", str(tmp_path / "x.gpkg")])
    assert result.exit_code == 2 and "--network" in result.output


def test_fetch_osm_offline_prints_one_line_and_exits_1(tmp_path, monkeypatch):
    osmnx = pytest.importorskip("osmnx")
    import requests

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("no route to host")

    monkeypatch.setattr(osmnx, "graph_from_place", offline)
    result = CliRunner().invoke(main, ["fetch", "osm", "--place", "威海市", "--cache", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert "offline" in result.output
    assert not list((tmp_path / "c").glob("*"))
