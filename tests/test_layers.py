"""The embedded dataset, the loader (formats, overrides, round trip, read-only) and the `layers` CLI."""

from __future__ import annotations

import hashlib
import shutil

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal

from weihai_gis.cli import main
from weihai_gis.crs import ANALYSIS_CRS
from weihai_gis.errors import InputFileError
from weihai_gis.layers import DEFAULT_GPKG, SCHEMAS, load_layers, read_layer, validate_layers, write_layers

pytestmark = pytest.mark.skipif(
    not DEFAULT_GPKG.exists(), reason="embedded weihai_gis/data/weihai.gpkg not built"
)


@pytest.fixture(scope="module")
def layers():
    return load_layers()


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_embedded_data_validates_with_the_official_counts(layers):
    assert layers.report.ok, layers.report.text()
    assert set(layers) == set(SCHEMAS)
    assert len(layers.city_boundary) == 1
    assert sorted(layers.counties["id"]) == ["371002", "371003", "371082", "371083"]
    assert layers.towns["kind"].value_counts().to_dict() == {"town": 48, "street": 24}
    assert all(gdf.crs.to_epsg() == 4490 for gdf in layers.values())


def test_embedded_gaps_are_reported_not_hidden(layers):
    gaps = "\n".join(g.message for g in layers.report.gaps)
    assert 'layer "feature_streets": plan names 8 rows, 0 located' in gaps
    assert "provincial_pilot" in gaps and "the plan states 5, 0 set" in gaps
    missing = layers.towns[layers.towns["location_status"] == "missing"]
    assert all(name in gaps for name in missing["name_zh"])


def test_town_codes_start_with_their_admin_code_and_types_follow_the_plan(layers):
    towns = layers.towns
    assert (towns["id"].str[:6] == towns["admin_code"]).all()
    assert (towns.loc[towns["kind"] == "street", "town_type"] == "n/a").all()
    named = towns[towns["town_type"] == "工业引领型"]["name_zh"]
    assert set(named) == {"苘山镇", "人和镇", "下初镇"}
    assert set(towns.loc[towns["urban_integration"], "name_zh"]) == {"张村镇", "羊亭镇", "初村镇", "草庙子镇"}
    assert "371003400000" not in set(towns["id"])  # 开发区办事处 is neither 镇 nor 街道


def test_located_seats_lie_in_the_city_and_in_their_own_voronoi_cell(layers):
    city = layers.city_boundary.to_crs(ANALYSIS_CRS).geometry.iloc[0].buffer(500)
    located = layers.towns[layers.towns["location_status"] == "geonames"].to_crs(ANALYSIS_CRS)
    assert shapely.contains(city, located.geometry.to_numpy()).all()
    areas = layers.town_areas.to_crs(ANALYSIS_CRS).set_index("id")
    for code, pt in zip(located["id"], located.geometry, strict=True):
        assert areas.loc[code, "geometry"].buffer(1).contains(pt), code
    overlap = shapely.intersection_all(areas.geometry.to_numpy()[:2]).area
    assert overlap < 1.0


def test_counties_tile_the_city_outline(layers):
    counties = layers.counties.to_crs(ANALYSIS_CRS)
    city = layers.city_boundary.to_crs(ANALYSIS_CRS).geometry.iloc[0]
    union = counties.union_all()
    assert abs(union.area - city.area) / city.area < 0.01
    assert counties.geometry.area.sum() == pytest.approx(union.area, rel=1e-4)  # no overlaps


def test_loading_never_modifies_the_input(tmp_path):
    copy = tmp_path / "weihai.gpkg"
    shutil.copy(DEFAULT_GPKG, copy)
    before = _sha(copy)
    load_layers(copy)
    validate_layers(copy)
    assert _sha(copy) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weihai.gpkg"]


def test_write_then_read_round_trip_preserves_everything(layers, tmp_path):
    out = write_layers(layers, tmp_path / "copy.gpkg")
    again = load_layers(out)
    for name in SCHEMAS:
        assert_geodataframe_equal(again[name], layers[name], check_like=True, check_dtype=False)
        assert list(again[name].dtypes.astype(str)) == list(layers[name].dtypes.astype(str)), name


def test_write_refuses_to_overwrite_the_file_it_was_loaded_from(tmp_path):
    copy = tmp_path / "weihai.gpkg"
    shutil.copy(DEFAULT_GPKG, copy)
    before = _sha(copy)
    with pytest.raises(InputFileError, match="refusing to write"):
        write_layers(load_layers(copy), copy)
    assert _sha(copy) == before


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
@pytest.mark.parametrize("suffix", [".geojson", ".parquet", ".shp"])
def test_other_formats_read_the_same_layer(layers, tmp_path, suffix):
    towns = layers.towns
    path = tmp_path / f"towns{suffix}"
    if suffix == ".parquet":
        towns.to_parquet(path)
    else:
        pyogrio.write_dataframe(towns, path)
    got = read_layer(path, "towns")
    loaded = load_layers(overrides={"towns": path}).towns
    compare = [
        c for c in towns.columns if not (suffix == ".shp" and c == "basis")
    ]  # dbf caps text at 254 bytes
    for frame in (got.to_crs(towns.crs), loaded):
        assert_geodataframe_equal(frame[compare], towns[compare], check_like=True, check_dtype=False)


def test_override_with_a_named_layer_inside_a_bureau_geopackage(layers, tmp_path):
    path = tmp_path / "bureau.gpkg"
    pyogrio.write_dataframe(layers.counties, path, layer="区县界")
    loaded = load_layers(overrides={"counties": (path, "区县界")})
    assert loaded.sources["counties"] == 'bureau.gpkg, layer "区县界"'
    assert_geodataframe_equal(loaded.counties, layers.counties)


def test_cli_list_and_show(layers):
    runner = CliRunner()
    result = runner.invoke(main, ["layers", "list"])
    assert result.exit_code == 0, result.output
    towns_line = next(line for line in result.output.splitlines() if line.startswith("towns "))
    assert " 72 " in towns_line and "48 town + 24 street" in towns_line
    shown = runner.invoke(main, ["layers", "show", "counties"])
    assert shown.exit_code == 0 and "荣成市" in shown.output and "371083" in shown.output


def test_cli_validate_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["layers", "validate"])
    assert ok.exit_code == 0, ok.output
    assert "错误 errors: 0" in ok.output and "feature_streets" in ok.output
    text = tmp_path / "fake.gpkg"
    text.write_text("not a database", encoding="utf-8")
    bad = runner.invoke(main, ["layers", "validate", str(text)])
    assert bad.exit_code == 2 and "not a GeoPackage" in bad.output and "Traceback" not in bad.output
    towns = read_layer(DEFAULT_GPKG, "towns")
    towns.loc[towns.index[:2], "kind"] = "village"
    path = tmp_path / "towns.gpkg"
    gpd.GeoDataFrame(towns).to_file(path, layer="towns")
    broken = runner.invoke(main, ["layers", "validate", "--use", f"towns={path}"])
    assert broken.exit_code == 2 and 'field "kind" has "village" in 2 rows' in broken.output


def test_map_titles_come_from_the_schemas_chinese_first():
    from weihai_gis.maps.planning_layers import LAYER_TITLES

    assert list(LAYER_TITLES) == list(SCHEMAS)
    for name, schema in SCHEMAS.items():
        zh, en = LAYER_TITLES[name].split(" / ")
        assert zh == (schema.map_title_zh or schema.title_zh) and en == schema.title_en, name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii() and en.strip() == en != "", name
