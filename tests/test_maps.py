"""Static checks of the maps package (no browser): offline HTML, layers, legend, tokens, geometry prep, CLI."""

from __future__ import annotations

import html
import io
import json
import logging
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
import xstatic.pkg.leaflet as xs_leaflet
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from maps_data import make_layers, make_results, make_violations
from shapely.geometry import LineString, Point

from weihai_gis import maps
from weihai_gis.cli import main
from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS, wgs84_to_gcj02
from weihai_gis.errors import CRSError, LayerError
from weihai_gis.io.results import write_results
from weihai_gis.maps.offline import OfflineAssetError
from weihai_gis.maps.planning_layers import LAYER_TITLES
from weihai_gis.maps.prepare import web_frame
from weihai_gis.render.classes import RATE_BREAKS, RATE_COLORS, rate_class, rate_color


@pytest.fixture(scope="module")
def layers():
    return make_layers()


@pytest.fixture(scope="module")
def planning_html(layers):
    return maps.map_html(maps.planning_map(layers), offline=True)


def _contains_text(page: str, text: str) -> bool:
    """Text appears raw, HTML-escaped or JSON-escaped (as jinja's tojson writes it inside a script)."""
    forms = {text, html.escape(text), json.dumps(text)[1:-1], json.dumps(text)[1:-1].replace("&", "\\u0026")}
    return any(f in page for f in forms)


# --- offline assets ---------------------------------------------------------------------------------------


def test_offline_planning_map_links_no_remote_script_or_stylesheet(planning_html):
    assert maps.remote_assets(planning_html) == []
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', planning_html)


def test_online_map_keeps_cdn_links_so_the_detector_sees_them(layers):
    online = maps.map_html(maps.planning_map(layers), offline=False)
    assert any("leaflet" in url for url in maps.remote_assets(online))


def test_offline_map_inlines_leaflet_from_installed_xstatic_package(planning_html):
    leaflet_js = (Path(xs_leaflet.BASE_DIR) / "leaflet.js").read_text(encoding="utf-8")
    assert leaflet_js[-2000:] in planning_html
    assert "url(images/" not in planning_html  # leaflet.css images became data URIs
    assert "data:image/png;base64," in planning_html


def test_inline_assets_raises_for_remote_script_without_installed_copy():
    page = '<html><head><script src="https://example.org/lib.js"></script></head><body></body></html>'
    with pytest.raises(OfflineAssetError, match=r"example\.org/lib\.js"):
        maps.inline_assets(page)


def test_inline_assets_refuses_to_drop_jquery_when_the_page_uses_it():
    page = (
        '<html><head><script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head>'
        "<body><script>$(document).ready(function () {});</script></body></html>"
    )
    with pytest.raises(OfflineAssetError, match="jquery"):
        maps.inline_assets(page)


def test_building_and_saving_maps_does_not_mutate_folium_class_link_lists(layers, tmp_path):
    js, css = list(folium.Map.default_js), list(folium.Map.default_css)
    maps.save_map(maps.coverage_map(make_results(layers), layers), tmp_path / "c.html")
    assert folium.Map.default_js == js and folium.Map.default_css == css


def test_map_without_tiles_sets_max_zoom_for_marker_cluster(layers):
    page = maps.map_html(maps.coverage_map(make_results(layers), layers))
    assert re.search(r'"maxZoom":\s*18', page)
    assert "markerClusterGroup" in page


def test_save_map_writes_atomically_and_leaves_no_temp_file(layers, tmp_path):
    dest = maps.save_map(maps.planning_map(layers), tmp_path / "out" / "p.html")
    assert dest.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in dest.parent.iterdir()] == ["p.html"]


# --- layers, legend, basemaps -----------------------------------------------------------------------------


def test_planning_map_names_every_non_empty_layer_and_has_a_legend(layers, planning_html):
    for name in layers:
        assert _contains_text(planning_html, LAYER_TITLES[name]), name
    assert "weihai-legend" in planning_html
    assert _contains_text(planning_html, "省级试点")


def test_empty_layer_is_listed_as_not_available_instead_of_drawn(layers):
    partial = dict(layers, ridgelines=layers["ridgelines"].iloc[0:0])
    page = maps.map_html(maps.planning_map(partial))
    assert _contains_text(page, "未提供的图层")
    assert (
        page.count(LAYER_TITLES["ridgelines"]) + page.count(json.dumps(LAYER_TITLES["ridgelines"])[1:-1]) == 1
    )


def test_tianditu_key_is_not_written_into_html_unless_embed_token(layers, monkeypatch):
    monkeypatch.setenv("TIANDITU_TOKEN", "ENVKEY987")
    hidden = maps.map_html(maps.planning_map(layers, basemap="tianditu", tianditu_key="ARGKEY123"))
    assert "ARGKEY123" not in hidden and "ENVKEY987" not in hidden
    assert "weihaiTiandituKey()" in hidden and "T=vec_w" in hidden and "T=cva_w" in hidden
    shown = maps.map_html(maps.planning_map(layers, basemap="tianditu-img", embed_token=True))
    assert "ENVKEY987" in shown and "T=img_w" in shown and "T=cia_w" in shown


def test_embed_token_without_any_key_is_refused(layers, monkeypatch):
    monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    with pytest.raises(ValueError, match="Tianditu key"):
        maps.planning_map(layers, basemap="tianditu", embed_token=True)


def test_gcj02_basemap_warns_and_shifts_overlays_by_the_gcj02_offset(layers, caplog):
    with caplog.at_level(logging.WARNING, logger="weihai_gis.maps"):
        m = maps.planning_map(layers, basemap="amap")
    assert m.weihai_warnings and "GCJ-02" in m.weihai_warnings[0]
    assert any("GCJ-02" in r.message for r in caplog.records)
    towns = layers["towns"].dropna(subset=["geometry"])
    shifted = web_frame(towns, where="towns", datum="gcj02").gdf
    lon, lat = wgs84_to_gcj02(towns.geometry.x.to_numpy(), towns.geometry.y.to_numpy())
    np.testing.assert_allclose(shifted.geometry.x, lon, atol=1e-6)
    np.testing.assert_allclose(shifted.geometry.y, lat, atol=1e-6)
    assert np.all(np.abs(shifted.geometry.x.to_numpy() - towns.geometry.x.to_numpy()) > 1e-4)


def test_unknown_basemap_is_rejected(layers):
    with pytest.raises(ValueError, match="unknown basemap"):
        maps.planning_map(layers, basemap="google")


def test_sightlines_map_draws_violations_and_control_layers(layers):
    page = maps.map_html(maps.sightlines_map(make_violations(layers), layers))
    for text in ("超高违规", LAYER_TITLES["coastal_zones"], LAYER_TITLES["view_corridors"], "B2"):
        assert _contains_text(page, text)


# --- geometry preparation ---------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(121.6, 122.7), st.floats(36.7, 37.5)), min_size=1, max_size=20))
def test_web_frame_rounds_coordinates_to_six_decimals(points):
    gdf = gpd.GeoDataFrame({"id": range(len(points))}, geometry=[Point(p) for p in points], crs=STORAGE_CRS)
    out = web_frame(gdf, where="t").gdf
    xy = shapely.get_coordinates(out.geometry.values)
    np.testing.assert_array_equal(xy, np.round(xy, 6))
    np.testing.assert_allclose(
        xy, shapely.get_coordinates(gdf.to_crs("EPSG:4326").geometry.values), atol=5e-7
    )


def test_web_frame_simplifies_within_tolerance_in_metres():
    rng = np.random.default_rng(4)
    x = np.linspace(0, 5000, 400)
    line = LineString(np.column_stack([x + 500_000, 4_150_000 + rng.normal(0, 3, x.size)]))
    gdf = gpd.GeoDataFrame({"id": ["a"]}, geometry=[line], crs=ANALYSIS_CRS)
    out = web_frame(gdf, where="t", simplify_m=10.0).gdf
    back = out.to_crs(ANALYSIS_CRS).geometry.iloc[0]
    assert len(back.coords) < len(line.coords) / 5
    assert back.hausdorff_distance(line) <= 10.0 + 0.2  # + rounding to 1e-6 degrees (~0.1 m)


def test_web_frame_counts_rows_without_geometry_and_refuses_too_many_features():
    gdf = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[Point(122, 37), None], crs=STORAGE_CRS)
    assert web_frame(gdf, where="t").n_missing == 1
    with pytest.raises(LayerError, match="limit 1"):
        web_frame(gdf.assign(geometry=[Point(122, 37), Point(122.1, 37)]), where="t", max_features=1)
    with pytest.raises(CRSError):
        web_frame(gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(122, 37)]), where="t")


@given(st.floats(0.0, 1.0))
def test_rate_class_puts_rate_in_its_20_percent_band(rate):
    k = rate_class(rate)
    assert RATE_BREAKS[k] <= rate
    assert rate < RATE_BREAKS[k + 1] or (k == 4 and rate == 1.0)
    assert rate_color(rate) == RATE_COLORS[k]


def test_rate_class_of_missing_rate_is_none():
    assert rate_class(float("nan")) is None and rate_class(None) is None


def test_report_bars_and_map_cells_of_one_rate_share_one_colour(layers):
    """One classification: the report's bar for a rate has the colour the map gives the same rate."""
    from weihai_gis.report import svg_bar_chart

    rates = [0.05, 0.25, 0.45, 0.65, 0.85, 1.0]
    svg = svg_bar_chart([str(r) for r in rates], rates, title="t")
    fills = re.findall(r'class="bar"[^>]*fill="(#[0-9a-f]{6})"', svg)
    assert fills == [rate_color(r) for r in rates]
    assert len(set(fills)) == 5  # five classes, as the map legend has


def test_coverage_map_rejects_unknown_rate_column(layers):
    with pytest.raises(LayerError, match="rate_clinic"):
        maps.coverage_map(make_results(layers), layers, rate_column="rate_nothing")


def test_coverage_map_leaves_out_units_without_origins_and_warns_for_results_outside_weihai(layers):
    far = layers["counties"].to_crs(ANALYSIS_CRS).assign(id=["far1", "far2"])
    far = far.set_geometry(far.geometry.translate(200_000, 0))  # 200 km east: no origin inside
    results = make_results(layers).with_units({"far_units": far})
    assert "far_units" in results.units and "far_units" not in results.populated_units()
    assert results.units["far_units"]["population"].sum() == 0
    assert results.meta.in_weihai
    helsinki = make_results(layers, where="helsinki")
    assert not helsinki.meta.in_weihai
    m = maps.coverage_map(helsinki)
    assert any("不在威海" in w for w in m.weihai_warnings)
    assert not any("不在威海" in w for w in maps.coverage_map(results, layers).weihai_warnings)


# --- CLI --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpkgs(tmp_path_factory, layers):
    folder = tmp_path_factory.mktemp("cli")
    lay, res = folder / "layers.gpkg", folder / "results.gpkg"
    for name, gdf in layers.items():
        gdf.to_file(lay, layer=name)
    write_results(make_results(layers), res)
    return lay, res


def test_cli_map_writes_offline_planning_map_by_default(gpkgs, tmp_path):
    out = tmp_path / "p.html"
    result = CliRunner().invoke(main, ["map", "--layers", str(gpkgs[0]), "--no-validate", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert maps.remote_assets(page) == [] and _contains_text(page, LAYER_TITLES["renewal_districts"])


def test_cli_map_with_results_draws_coverage_and_cli_report_writes_report(gpkgs, tmp_path):
    lay, res = gpkgs
    out = tmp_path / "c.html"
    args = ["map", "--layers", str(lay), "--no-validate", "--results", str(res), "--rate", "rate_clinic"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _contains_text(out.read_text(encoding="utf-8"), "诊所覆盖率")  # the rate named in Chinese
    rep = tmp_path / "r.html"
    result = CliRunner().invoke(
        main, ["report", "--layers", str(lay), "--no-validate", "--results", str(res), "--out", str(rep)]
    )
    assert result.exit_code == 0, result.output
    assert "生活圈覆盖率" in rep.read_text(encoding="utf-8")


def test_cli_map_with_missing_results_file_exits_2_naming_the_file(gpkgs, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "map",
            "--layers",
            str(gpkgs[0]),
            "--no-validate",
            "--results",
            str(tmp_path / "nope.gpkg"),
            "--out",
            str(tmp_path / "x.html"),
        ],
    )
    assert result.exit_code == 2
    assert "nope.gpkg" in result.output
    assert not (tmp_path / "x.html").exists()


def test_unit_summaries_match_a_spatial_join_oracle_and_partition_the_population(layers):
    results = make_results(layers, units=("renewal_districts", "town_areas", "counties"))
    o = results.origins
    counties = results.units["counties"]
    # the two counties tile the city box: every origin counts in exactly one of them
    assert counties["population"].sum() == pytest.approx(o["population"].sum())
    for name in ("renewal_districts", "town_areas"):
        polys = layers[name].to_crs(o.crs)
        for (_, unit), poly in zip(results.units[name].iterrows(), polys.geometry, strict=True):
            inside = o[o.within(poly)]
            want = (inside["population"] * inside["met_all_basic"]).sum() / inside["population"].sum()
            assert unit["population"] == pytest.approx(inside["population"].sum())
            assert unit["rate_all_basic"] == pytest.approx(want)


# --- raster overlays --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def viewshed_tif(tmp_path_factory):
    import rasterio
    from maps_data import X0, Y0
    from rasterio.transform import from_origin

    path = tmp_path_factory.mktemp("raster") / "viewshed.tif"
    data = np.zeros((200, 300), dtype="float32")
    data[:, :100] = 1.0  # the western third is visible
    data[:20, :] = -9999.0  # nodata strip in the north
    profile = {
        "driver": "GTiff",
        "height": 200,
        "width": 300,
        "count": 1,
        "dtype": "float32",
        "crs": ANALYSIS_CRS,
        "transform": from_origin(X0, Y0, 30.0, 30.0),
        "nodata": -9999.0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_png_rgba_round_trips_through_pillow():
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (7, 11, 4), dtype=np.uint8)
    from weihai_gis.maps.raster import png_rgba

    decoded = np.asarray(image.open(io.BytesIO(png_rgba(rgba))).convert("RGBA"))
    np.testing.assert_array_equal(decoded, rgba)


def test_raster_overlay_is_placed_at_the_raster_bounds_and_marks_visible_cells(viewshed_tif):
    import base64

    import rasterio

    pil_image = pytest.importorskip("PIL.Image")
    from pyproj import Transformer

    from weihai_gis.maps.raster import add_raster

    m = folium.Map(location=None, tiles=None)
    add_raster(m, viewshed_tif, name="可视域 / viewshed", kind="binary")
    page = maps.map_html(m)
    bounds = json.loads(re.search(r"L\.imageOverlay\(\s*\"[^\"]+\",\s*(\[\[.*?\]\])", page, re.S).group(1))
    with rasterio.open(viewshed_tif) as src:
        b = src.bounds
    lon, lat = Transformer.from_crs(ANALYSIS_CRS, "EPSG:4326", always_xy=True).transform(
        [b.left, b.right, b.left, b.right], [b.bottom, b.bottom, b.top, b.top]
    )
    assert bounds[0][0] == pytest.approx(min(lat), abs=1e-3) and bounds[1][0] == pytest.approx(
        max(lat), abs=1e-3
    )
    assert bounds[0][1] == pytest.approx(min(lon), abs=1e-3) and bounds[1][1] == pytest.approx(
        max(lon), abs=1e-3
    )
    uri = re.search(r"L\.imageOverlay\(\s*\"data:image/png;base64,([^\"]+)\"", page).group(1)
    alpha = np.asarray(pil_image.open(io.BytesIO(base64.b64decode(uri))).convert("RGBA"))[..., 3]
    # visible cells: western third of the 90 % of rows that hold data
    assert (alpha > 0).mean() == pytest.approx(0.9 / 3, abs=0.03)
    assert (alpha[: alpha.shape[0] // 20] == 0).all()  # nodata strip stays transparent


def test_continuous_raster_classes_are_quantiles_or_equal_intervals_when_values_repeat(
    viewshed_tif, tmp_path
):
    import rasterio

    from weihai_gis.maps.raster import add_raster

    with rasterio.open(viewshed_tif) as src:
        profile, band = src.profile, src.read(1)
    band = np.where(band == -9999.0, band, np.arange(band.size, dtype="float32").reshape(band.shape) % 100)
    ramp = tmp_path / "ramp.tif"
    with rasterio.open(ramp, "w", **profile) as dst:
        dst.write(band, 1)
    m = folium.Map(location=None, tiles=None)
    labels = [i.label for i in add_raster(m, ramp, name="r", kind="continuous").items]
    edges = [float(lab.split("–")[0]) for lab in labels] + [float(labels[-1].split("–")[1].split(" ")[0])]
    # quintiles of values uniform on 0..99 (resampling to Web Mercator shifts them by a value or so)
    np.testing.assert_allclose(edges, [0, 20, 40, 60, 80, 99], atol=2)
    flat = tmp_path / "flat.tif"
    with rasterio.open(flat, "w", **profile) as dst:
        dst.write(np.where(band == -9999.0, band, 0.0).astype("float32") + (band == 99) * 50, 1)
    labels = [i.label for i in add_raster(m, flat, name="f", kind="continuous").items]
    assert [lab.split(" ")[0] for lab in labels] == ["0–10", "10–20", "20–30", "30–40", "40–50"]


# --- categories not assessed ------------------------------------------------------------------------------


def _results_with_clinic_not_assessed(layers):
    """Results where the input held no clinic: its rates are NaN and the categories table says so."""
    return make_results(layers, not_assessed=("clinic",))


def test_coverage_map_labels_the_all_basic_scope_and_lists_categories_not_assessed(layers):
    m = maps.coverage_map(_results_with_clinic_not_assessed(layers), layers)
    page = maps.map_html(m)
    assert _contains_text(page, "全要素达标率（已评估 1/2 类基础保障）")
    assert _contains_text(page, "未评估 / not assessed") and _contains_text(page, "诊所 / clinic")
    assert any("诊所" in w and "未评估" in w for w in m.weihai_warnings)
    assert page.count('class="weihai-warning"') == len(m.weihai_warnings)


def test_coverage_map_of_an_unassessed_category_calls_its_empty_rates_not_assessed(layers):
    results = _results_with_clinic_not_assessed(layers)
    label = "未评估（输入中无此类设施）/ not assessed (no such facility in the input)"
    assessed = maps.map_html(maps.coverage_map(results, layers, rate_column="rate_market"))
    page = maps.map_html(maps.coverage_map(results, layers, rate_column="rate_clinic"))
    assert _contains_text(page, label) and not _contains_text(assessed, label)
    assert not _contains_text(
        page, "无人口 / no population"
    )  # empty because not assessed, not for lack of people
    assert not re.search(r"rate_label\W+0\.0%", page)  # never drawn as 0 %


def test_assessed_flags_fall_back_to_facility_counts_when_the_table_has_no_assessed_column(layers):
    from weihai_gis.lifecircle import assessed_flags

    results = _results_with_clinic_not_assessed(layers)
    assert results.not_assessed() == {"clinic": "诊所"}
    assert results.all_basic_scope_zh() == "已评估 1/2 类基础保障"
    assert any("诊所" in w for w in results.warnings)
    legacy = results.categories.drop(columns="assessed")
    assert assessed_flags(legacy).tolist() == [False, True, True]
    full = make_results(layers)
    assert full.not_assessed() == {} and full.warnings == []


def test_every_map_folds_its_layer_control_into_a_button():
    layers = make_layers()
    res = make_results(layers)
    for m in (
        maps.planning_map(layers),
        maps.coverage_map(res, layers),
        maps.sightlines_map(make_violations(layers), layers),
    ):
        page = m.get_root().render()
        controls = re.findall(r"L\.control\.layers\([^;]*?\{([^{}]*)\}\s*\)", page, re.S)
        assert len(controls) == 1 and re.search(r'"collapsed":\s*true', controls[0]), controls
