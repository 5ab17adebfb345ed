"""The results GeoPackage: written and read in one place, losslessly, with its metadata; clear errors."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal
from maps_data import make_layers, make_results

from weihai_gis.cli import main
from weihai_gis.errors import LayerError
from weihai_gis.io.results import read_results, write_results


@pytest.fixture(scope="module")
def layers():
    return make_layers()


@pytest.fixture(scope="module")
def written(tmp_path_factory, layers):
    res = make_results(
        layers, not_assessed=("market",), units=("renewal_districts", "town_areas", "counties")
    )
    path = write_results(res, tmp_path_factory.mktemp("io") / "r.gpkg")
    return res, path


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    if isinstance(a, gpd.GeoDataFrame):
        assert_geodataframe_equal(a, b, check_dtype=True, check_crs=True, check_less_precise=False)
    else:
        pd.testing.assert_frame_equal(a, b, check_dtype=True)


def test_read_results_gives_back_every_table_and_the_metadata_unchanged(written):
    res, path = written
    back = read_results(path)
    for name in ("origins", "facilities", "hexagons", "categories", "overall_table"):
        _same(getattr(res, name), getattr(back, name))
    assert list(back.units) == list(res.units)
    for name in res.units:
        _same(res.units[name], back.units[name])
    assert back.meta == res.meta
    assert back.quality_notes() == res.quality_notes() and back.warnings == res.warnings
    assert back.not_assessed() == {"market": "菜市场"}


def test_results_file_has_documented_layers_and_a_metadata_table(written):
    _, path = written
    names = {str(r[0]) for r in pyogrio.list_layers(path)}
    assert names == {
        "origins",
        "facilities",
        "summary_hex",
        "summary_renewal_districts",
        "summary_town_areas",
        "summary_counties",
        "categories",
        "overall",
        "run_metadata",
    }
    meta = pyogrio.read_dataframe(path, layer="run_metadata").set_index("key")["value"]
    assert {"profile_name", "hex_size_m", "crs", "network_summary", "warnings", "inputs"} <= set(meta.index)
    assert '"estimated"' in meta["inputs"] and "未经官方文本核实" in meta["quality_notes"]


def test_reading_a_file_without_the_metadata_table_names_the_layer_and_the_fix(written, tmp_path):
    res, _ = written
    old = tmp_path / "old.gpkg"
    for name, frame in (("origins", res.origins), ("summary_hex", res.hexagons)):
        frame.to_file(old, layer=name)
    with pytest.raises(LayerError, match=r"run_metadata.*rerun"):
        read_results(old)
    result = CliRunner().invoke(main, ["report", "--results", str(old), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "run_metadata" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def _normalise(page: str) -> str:
    """Drop what differs between two renderings of the same data: folium's random ids and the clock."""
    page = re.sub(r"[0-9a-f]{32}", "ID", page)
    return re.sub(r"生成时间 / generated: [^<·]*", "", page)


def test_cli_map_and_report_from_the_file_equal_those_from_the_result_in_memory(written, layers, tmp_path):
    from weihai_gis import maps
    from weihai_gis.layers import load_layers, write_layers
    from weihai_gis.report import build_report

    res, path = written
    lay = write_layers(layers, tmp_path / "layers.gpkg")
    layers = load_layers(lay, validate=False)  # the layers the CLI reads
    memory_map = maps.map_html(maps.coverage_map(res, layers))
    memory_report = build_report(layers=layers, coverage=res)
    out_map, out_report = tmp_path / "m.html", tmp_path / "r.html"
    base = ["--layers", str(lay), "--no-validate", "--results", str(path)]
    assert CliRunner().invoke(main, ["map", *base, "--out", str(out_map)]).exit_code == 0
    assert CliRunner().invoke(main, ["report", *base, "--out", str(out_report)]).exit_code == 0
    assert _normalise(out_map.read_text(encoding="utf-8")) == _normalise(memory_map)
    assert _normalise(out_report.read_text(encoding="utf-8")) == _normalise(memory_report)


def _with_problems(res, *, moved: bool = False):
    """``res`` with a 问题清单 of two categories per origin (points moved 1 m off the origins when ``moved``)."""
    import numpy as np
    import shapely

    origins = res.origins
    at = np.repeat(np.arange(len(origins)), 2)
    points = origins.geometry.to_numpy()[at]
    if moved:
        points = shapely.transform(points, lambda xy: xy + 1.0)
    problems = gpd.GeoDataFrame(
        {
            "origin_id": origins["origin_id"].astype(str).to_numpy()[at],
            "category": np.tile(["clinic", "market"], len(origins)),
            "dist_network_m": np.where(np.arange(len(at)) % 3 == 0, np.nan, np.arange(len(at)) * 10.5),
            "edge_affected": np.arange(len(at)) % 2 == 0,
        },
        geometry=points,
        crs=origins.crs,
    )
    return dataclasses.replace(res, problem_table=problems)


def _gpkg_kind(path, name):
    import sqlite3

    with sqlite3.connect(path) as con:
        kind = con.execute("SELECT type FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        description = con.execute(
            "SELECT description FROM gpkg_contents WHERE table_name = ?", (name,)
        ).fetchone()[0]
    return kind, description


def test_the_problem_list_is_a_point_view_on_the_origins_and_reads_back_unchanged(written, tmp_path):
    res = _with_problems(written[0])
    as_categories = res.problems.astype(
        {"origin_id": "category", "category": "category"}
    )  # as problem_list gives
    path = write_results(dataclasses.replace(res, problem_table=as_categories), tmp_path / "p.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers["problems"] == "Point" and layers["problems_rows"] is None  # QGIS sees a point layer
    kind, description = _gpkg_kind(path, "problems")
    assert kind == "view" and "未经官方文本核实" in description
    assert "未经官方文本核实" in _gpkg_kind(path, "problems_rows")[1]
    rows = pyogrio.read_dataframe(path, layer="problems_rows")
    assert rows["origin_fid"].tolist() == [i // 2 + 1 for i in range(len(rows))]
    _same(res.problems, read_results(path).problems)


@pytest.mark.parametrize("change", ["moved", "no id"])
def test_a_problem_list_whose_points_are_not_the_origins_keeps_its_own_points(written, tmp_path, change):
    res = _with_problems(written[0], moved=change == "moved")
    if change == "no id":
        res.problems.loc[3, "origin_id"] = None
    path = write_results(res, tmp_path / "p.gpkg")
    assert "problems_rows" not in dict(pyogrio.list_layers(path))
    assert _gpkg_kind(path, "problems")[0] == "table"
    _same(res.problems, read_results(path).problems)


def test_the_temporary_file_is_written_without_journal_and_the_options_are_restored(
    written, tmp_path, monkeypatch
):
    """SQLite journal and fsync are off for the temporary file only; the user's GDAL options come back."""
    res, _ = written
    seen = []
    real = pyogrio.write_dataframe

    def spy(frame, path, **kwargs):
        options = [
            pyogrio.get_gdal_config_option(k) for k in ("OGR_SQLITE_JOURNAL", "OGR_SQLITE_SYNCHRONOUS")
        ]
        seen.append((Path(path).name, options))
        return real(frame, path, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", spy)
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "NORMAL"})
    try:
        out = write_results(res, tmp_path / "r.gpkg")
        after = [pyogrio.get_gdal_config_option(k) for k in ("OGR_SQLITE_JOURNAL", "OGR_SQLITE_SYNCHRONOUS")]
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": None})
    assert after == [None, "NORMAL"]
    assert len(seen) >= 6 and all(
        options == [False, False] for _, options in seen
    )  # pyogrio reads OFF as False
    assert all(name.startswith(".r.") for name, _ in seen)  # the temporary file, renamed at the end
    assert [p.name for p in tmp_path.iterdir()] == ["r.gpkg"]  # no journal or temporary left
    back = read_results(out)
    for name in ("origins", "facilities", "hexagons", "categories", "overall_table"):
        _same(getattr(res, name), getattr(back, name))
