"""The quick GeoPackage reader behind ``layers list|show`` agrees with GDAL (pyogrio) and shapely."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from weihai_gis.cli import main
from weihai_gis.layers import DEFAULT_GPKG, SCHEMAS
from weihai_gis.layers.gpkg_rows import NO_GEOMETRY, attribute_table, geometry_type, row_counts

EMBEDDED_LAYERS = [str(n) for n in pyogrio.list_layers(DEFAULT_GPKG)[:, 0]]


def test_row_counts_equal_gdal_for_every_embedded_layer():
    counts = row_counts(DEFAULT_GPKG)
    assert counts is not None and set(counts) == set(EMBEDDED_LAYERS)
    for name in EMBEDDED_LAYERS:
        assert counts[name] == pyogrio.read_info(DEFAULT_GPKG, layer=name)["features"], name


@pytest.mark.parametrize("name", EMBEDDED_LAYERS)
def test_attribute_rows_and_geometry_types_equal_geopandas(name):
    gdf = pyogrio.read_dataframe(DEFAULT_GPKG, layer=name)
    table = attribute_table(DEFAULT_GPKG, name)
    assert table is not None and table.n_rows == len(gdf)
    expected_cols = [c for c in gdf.columns if c != gdf.geometry.name]
    assert list(table.columns) == [*expected_cols, "geometry"]
    column = {c: [row[i] for row in table.rows] for i, c in enumerate(table.columns)}
    assert column["geometry"] == list(gdf.geom_type.fillna(NO_GEOMETRY))
    for col in expected_cols:
        want = [None if pd.isna(v) else v for v in gdf[col].astype(object)]
        have = column[col]
        if pd.api.types.is_datetime64_any_dtype(gdf[col]):
            have = [None if v is None else pd.Timestamp(v) for v in have]
            want = [None if v is None else pd.Timestamp(v).tz_localize(None) for v in want]
        assert have == want, (name, col)


def test_limit_keeps_the_file_order():
    full = attribute_table(DEFAULT_GPKG, "towns")
    head = attribute_table(DEFAULT_GPKG, "towns", limit=5)
    assert full is not None and head is not None
    assert head.rows == full.rows[:5] and head.n_rows == full.n_rows == 72


_GEOMS = st.sampled_from(
    [
        shapely.Point(1, 2),
        shapely.Point(1, 2, 3),
        shapely.LineString([(0, 0), (1, 1)]),
        shapely.Polygon([(0, 0), (1, 0), (1, 1)]),
        shapely.MultiPoint([(0, 0), (1, 1)]),
        shapely.MultiLineString(
            [
                [(0, 0), (1, 1)],
                [
                    (2, 2),
                    (
                        3,
                        3,
                    ),
                ],
            ]
        ),
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 2)]),
        None,
    ]
)


@settings(max_examples=15, deadline=None)
@given(st.lists(_GEOMS, min_size=1, max_size=6))
def test_geometry_type_of_gdal_written_blobs_matches_shapely(tmp_path_factory, geoms):
    path = tmp_path_factory.mktemp("g") / "mixed.gpkg"
    gdf = gpd.GeoDataFrame({"k": range(len(geoms))}, geometry=list(geoms), crs="EPSG:4490")
    # promote_to_multi=False: GDAL would otherwise store a Point beside a MultiPoint as a MultiPoint
    pyogrio.write_dataframe(gdf, path, layer="mixed", geometry_type="Unknown", promote_to_multi=False)
    table = attribute_table(path, "mixed")
    assert table is not None
    have = [r[-1] for r in table.rows]
    assert have == [NO_GEOMETRY if g is None else g.geom_type for g in geoms]
    assert have == list(pyogrio.read_dataframe(path, layer="mixed").geom_type.fillna(NO_GEOMETRY))


def test_files_it_cannot_read_return_none_for_the_full_reader(tmp_path):
    text = tmp_path / "fake.gpkg"
    text.write_text("not a database", encoding="utf-8")
    assert row_counts(text) is None and attribute_table(text, "towns") is None
    assert row_counts(tmp_path / "missing.gpkg") is None
    assert attribute_table(DEFAULT_GPKG, "no_such_layer") is None
    assert geometry_type(b"not a blob") == "(unknown)"
    assert text.read_text(encoding="utf-8") == "not a database"  # never modified


def test_cli_list_on_a_bad_file_reports_it_through_the_full_reader(tmp_path):
    text = tmp_path / "fake.gpkg"
    text.write_text("not a database", encoding="utf-8")
    result = CliRunner().invoke(main, ["layers", "list", str(text)])
    assert result.exit_code == 2 and "not a GeoPackage" in result.output and "Traceback" not in result.output


def test_cli_show_prints_every_row_and_the_schema_columns():
    result = CliRunner().invoke(main, ["layers", "show", "towns", "--limit", "0"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = lines[0].split()
    assert header[0] == "id" and "basis" not in header and header[-1] == "geometry"
    assert {f.name for f in SCHEMAS["towns"].fields} - {"basis"} <= set(header)
    assert len(lines) == 1 + 72 + 1 and "(72 rows" in lines[-1]
