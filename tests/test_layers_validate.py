"""Bad inputs: each corruption of a copy of the embedded layers gives a message naming file, layer, field, ids."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from weihai_gis.crs import wgs84_to_gcj02
from weihai_gis.errors import CRSError, InputFileError, LayerError
from weihai_gis.facilities import read_facilities
from weihai_gis.layers import DEFAULT_GPKG, load_layers, read_layer, validate_layers, write_layers
from weihai_gis.layers.io import read_vector
from weihai_gis.layers.validate import check_layer, reference_pieces
from weihai_gis.network import build_network
from weihai_gis.population import origins_from_points

pytestmark = pytest.mark.skipif(
    not DEFAULT_GPKG.exists(), reason="embedded weihai_gis/data/weihai.gpkg not built"
)


def _located(frame):
    """Rows with a geometry (renewal_districts keeps unlocated districts with a null one)."""
    return frame[frame.geometry.notna()].reset_index(drop=True)


def _override(tmp_path: Path, name: str, gdf) -> Path:
    path = tmp_path / f"{name}.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio warns when writing a layer without CRS
        pyogrio.write_dataframe(gdf, path, layer=name)
    return path


def _report(tmp_path: Path, name: str, gdf):
    return validate_layers(DEFAULT_GPKG, overrides={name: _override(tmp_path, name, gdf)})


def _only(report, severity: str, kind: str | None = None):
    found = [i for i in report.issues if i.severity == severity and (kind is None or i.kind == kind)]
    assert found, report.text()
    return found


def test_unknown_category_names_file_layer_field_value_and_ids(tmp_path):
    towns = read_layer(DEFAULT_GPKG, "towns")
    towns.loc[towns["name_zh"].isin(["张村镇", "羊亭镇"]), "town_type"] = "城郊型"
    issue = _only(_report(tmp_path, "towns", towns), "error", "category")[0]
    assert issue.message.startswith(
        'towns.gpkg, layer "towns": field "town_type" has "城郊型" in 2 rows (ids '
    )
    assert "371002100000" in issue.message and "371002101000" in issue.message
    assert "expected one of 城郊融合型, 区域支撑型" in issue.message
    assert set(issue.ids) == {"371002100000", "371002101000"}


def test_projected_crs_on_degree_coordinates_is_a_crs_error(tmp_path):
    counties = read_layer(DEFAULT_GPKG, "counties").set_crs("EPSG:4550", allow_override=True)
    report = _report(tmp_path, "counties", counties)
    msg = _only(report, "error", "crs")[0].message
    assert 'counties.gpkg, layer "counties"' in msg and "EPSG:4550" in msg and "longitude/latitude" in msg
    with pytest.raises(CRSError, match="projected"):
        load_layers(DEFAULT_GPKG, overrides={"counties": tmp_path / "counties.gpkg"})


def test_missing_crs_is_reported(tmp_path):
    counties = read_layer(DEFAULT_GPKG, "counties").set_crs(None, allow_override=True)
    msg = _only(_report(tmp_path, "counties", counties), "error", "crs")[0].message
    assert "no CRS is declared" in msg and "counties.gpkg" in msg


def test_gcj02_shifted_copy_is_flagged_with_the_datum(tmp_path):
    counties = read_layer(DEFAULT_GPKG, "counties")
    counties["geometry"] = shapely.transform(
        counties.geometry.to_numpy(), lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
    )
    report = _report(tmp_path, "counties", counties)
    msg = _only(report, "warning", "offset")[0].message
    assert "GCJ02-shifted" in msg and 'layer "counties"' in msg
    assert report.ok  # legal but suspicious: a warning, not an error


def test_features_outside_weihai_name_the_ids(tmp_path):
    towns = read_layer(DEFAULT_GPKG, "towns")
    moved = towns["name_zh"] == "张村镇"
    towns.loc[moved, "geometry"] = towns.loc[moved].geometry.translate(xoff=3.0)
    msg = _only(_report(tmp_path, "towns", towns), "error", "location")[0].message
    assert "features outside Weihai" in msg and "371002100000" in msg and "expected lon" in msg


def test_invalid_polygon_is_reported_with_reason(tmp_path):
    rd = _located(read_layer(DEFAULT_GPKG, "renewal_districts"))
    x, y = rd.geometry.iloc[0].centroid.coords[0]
    bowtie = Polygon([(x, y), (x + 0.01, y + 0.01), (x + 0.01, y), (x, y + 0.01)])
    rd.loc[rd.index[0], "geometry"] = shapely.MultiPolygon([bowtie])
    msg = _only(_report(tmp_path, "renewal_districts", rd), "error", "geometry")[0].message
    assert "invalid geometries" in msg and rd["id"].iloc[0] in msg and "Self-intersection" in msg


def test_empty_geometry_is_reported(tmp_path):
    rd = _located(read_layer(DEFAULT_GPKG, "renewal_districts"))
    rd.loc[rd.index[1], "geometry"] = shapely.MultiPolygon()
    msgs = [i.message for i in _only(_report(tmp_path, "renewal_districts", rd), "error", "geometry")]
    assert any("empty geometries" in m and rd["id"].iloc[1] in m for m in msgs)


def test_missing_field_lists_what_is_present(tmp_path):
    towns = read_layer(DEFAULT_GPKG, "towns").drop(columns="kind")
    msg = _only(_report(tmp_path, "towns", towns), "error", "field")[0].message
    assert 'field "kind" is missing' in msg and "name_zh" in msg


def test_mistyped_field_names_the_type(tmp_path):
    counties = read_layer(DEFAULT_GPKG, "counties")
    counties["id"] = counties["id"].astype(int)
    msg = _only(_report(tmp_path, "counties", counties), "error", "field")[0].message
    assert 'field "id" has type int' in msg and "expected str" in msg


def test_duplicate_id_lists_both_rows(tmp_path):
    counties = read_layer(DEFAULT_GPKG, "counties")
    counties.loc[counties.index[1], "id"] = counties["id"].iloc[0]
    issue = _only(_report(tmp_path, "counties", counties), "error", "id")[0]
    assert "duplicate" in issue.message and issue.rows == (0, 1)


def test_more_rows_than_the_plan_is_an_error(tmp_path):
    counties = read_layer(DEFAULT_GPKG, "counties")
    extra = counties.iloc[[0]].assign(id="371099")
    too_many = gpd.GeoDataFrame(pd.concat([counties, extra], ignore_index=True), crs=counties.crs)
    msg = _only(_report(tmp_path, "counties", too_many), "error", "count")[0].message
    assert "has 5 rows" in msg and "4" in msg


def test_fewer_authored_rows_is_a_gap_but_fewer_official_rows_is_an_error(tmp_path):
    rd = _located(read_layer(DEFAULT_GPKG, "renewal_districts")).iloc[:1]
    report = _report(tmp_path, "renewal_districts", rd)
    assert report.ok
    assert any("plan names 10 rows, 1 located" in g.message for g in report.gaps)
    towns = read_layer(DEFAULT_GPKG, "towns")
    fewer = towns[towns["id"] != "371002100000"]
    msg = _only(_report(tmp_path, "towns", fewer), "error", "count")[0].message
    assert 'kind = "town"' in msg and "48" in msg


def test_truncated_geopackage_is_an_input_error(tmp_path):
    bad = tmp_path / "weihai.gpkg"
    data = DEFAULT_GPKG.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="truncated"):
        load_layers(bad)


def test_text_file_named_gpkg_is_an_input_error(tmp_path):
    bad = tmp_path / "towns.gpkg"
    bad.write_text("id,name\n1,张村镇\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="not a GeoPackage"):
        validate_layers(bad)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        load_layers(tmp_path / "nope.gpkg")


def test_missing_layer_in_file_is_an_error(tmp_path):
    layers = load_layers()
    partial = tmp_path / "partial.gpkg"
    write_layers({k: v for k, v in layers.items() if k != "bays"}, partial)
    report = validate_layers(partial)
    msg = _only(report, "error", "file")[0].message
    assert 'layer "bays"' in msg and "missing" in msg
    with pytest.raises(LayerError, match='layer "bays"'):
        load_layers(partial)


def test_wrong_geometry_type_names_found_and_expected_types(tmp_path):
    counties = read_layer(DEFAULT_GPKG, "counties")
    counties["geometry"] = counties.geometry.representative_point()
    msg = _only(_report(tmp_path, "counties", counties), "error", "geometry")[0].message
    assert "geometry type Point in 4 rows" in msg and "expected Polygon or MultiPolygon" in msg


def test_geographic_crs_on_metre_coordinates_is_a_crs_error(tmp_path):
    counties = (
        read_layer(DEFAULT_GPKG, "counties").to_crs("EPSG:4550").set_crs("EPSG:4490", allow_override=True)
    )
    msg = _only(_report(tmp_path, "counties", counties), "error", "crs")[0].message
    assert "geographic" in msg and "look like metres" in msg


def test_a_correct_projected_layer_is_accepted_and_returned_in_storage_crs(tmp_path):
    counties = read_layer(DEFAULT_GPKG, "counties").to_crs("EPSG:4550")
    loaded = load_layers(overrides={"counties": _override(tmp_path, "counties", counties)})
    assert loaded.counties.crs.to_epsg() == 4490
    assert loaded.report.ok


def test_override_of_an_unknown_layer_is_refused(tmp_path):
    with pytest.raises(LayerError, match="unknown layers parks"):
        load_layers(overrides={"parks": DEFAULT_GPKG})


_TOWNS = read_layer(DEFAULT_GPKG, "towns") if DEFAULT_GPKG.exists() else None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.sets(st.integers(min_value=0, max_value=71), min_size=1, max_size=10))
def test_category_errors_name_exactly_the_corrupted_rows(rows):
    towns = _TOWNS.copy()
    towns.loc[towns.index[sorted(rows)], "kind"] = "village"
    issues, _ = check_layer(towns, "towns", file="towns.gpkg")
    category = [i for i in issues if i.kind == "category"]
    assert len(category) == 1
    assert set(category[0].rows) == rows
    assert set(category[0].ids) == set(towns["id"].iloc[sorted(rows)])


def _no_crs_lines(tmp_path: Path) -> Path:
    path = tmp_path / "nocrs.gpkg"
    lines = gpd.GeoDataFrame(
        {"population": [1.0], "amenity": ["school"]},
        geometry=[shapely.LineString([(0, 0), (100, 0)])],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio warns when writing a layer without CRS
        pyogrio.write_dataframe(lines, path, layer="roads")
    return path


@pytest.mark.parametrize(
    "read",
    [
        lambda p: read_vector(p, layer="roads", what="test"),
        lambda p: build_network(p, layer="roads"),
        lambda p: read_facilities(p, layer="roads"),
        lambda p: origins_from_points(p, layer="roads"),
    ],
    ids=["read_vector", "network", "facilities", "origins"],
)
def test_user_vector_file_without_crs_is_refused_naming_file_and_layer(tmp_path, read):
    with pytest.raises(CRSError, match=r"nocrs\.gpkg'?, layer 'roads': the layer has no CRS"):
        read(_no_crs_lines(tmp_path))


def test_user_vector_files_get_the_geopackage_header_checks(tmp_path):
    bad = tmp_path / "roads.gpkg"
    data = DEFAULT_GPKG.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match=r"roads\.gpkg: truncated"):
        build_network(bad)
    bad.write_text("id,name\n1,张村镇\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"roads\.gpkg: not a GeoPackage"):
        origins_from_points(bad)


def test_unreadable_vector_file_names_file_and_layer(tmp_path):
    bad = tmp_path / "pois.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"facilities '.*pois\.geojson': cannot read as a vector file"):
        read_facilities(bad)
    good = _no_crs_lines(tmp_path)
    with pytest.raises(InputFileError, match=r"layer 'nope': cannot read as a vector file"):
        read_vector(good, layer="nope")


def test_read_vector_returns_the_layer_as_gdal_reads_it(tmp_path):
    counties = load_layers(validate=False)["counties"]
    path = tmp_path / "c.geojson"
    counties.to_file(path)
    got = read_vector(path, what="counties")
    expected = pyogrio.read_dataframe(path)
    assert got.crs == expected.crs and list(got.columns) == list(expected.columns)
    assert shapely.equals(got.geometry.to_numpy(), expected.geometry.to_numpy()).all()


@settings(max_examples=30, deadline=None)
@given(
    n_vertices=st.integers(min_value=3, max_value=200),
    max_vertices=st.integers(min_value=2, max_value=40),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_reference_pieces_keep_every_distance_of_the_rings_lines_and_points(n_vertices, max_vertices, seed):
    # the offset check queries short pieces instead of whole rings: the distances must be the same (oracle: shapely)
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n_vertices))
    radius = rng.uniform(50, 100, n_vertices)
    ring = np.c_[radius * np.cos(angles), radius * np.sin(angles)]
    hole = shapely.Point(0, 0).buffer(10).exterior.coords
    polygon = shapely.Polygon(ring)
    if polygon.contains(shapely.Point(0, 0).buffer(11)):
        polygon = shapely.Polygon(ring, [hole])
    moved = shapely.MultiPolygon([shapely.affinity.translate(polygon, 300, 0)])
    line = shapely.LineString(rng.uniform(-150, 150, (n_vertices, 2)))
    point = shapely.Point(200, 200)
    reference = gpd.GeoSeries([polygon, moved, line, point, None], crs="EPSG:4550")
    pieces = reference_pieces(reference, max_vertices=max_vertices)
    assert shapely.get_num_coordinates(pieces.to_numpy()).max() <= max_vertices
    trusted = [polygon.boundary, moved.boundary, line, point]
    probes = shapely.points(rng.uniform(-250, 250, (40, 2)))
    want = np.min([shapely.distance(probes, g) for g in trusted], axis=0)
    have = np.min([shapely.distance(probes, g) for g in pieces.to_numpy()], axis=0)
    np.testing.assert_allclose(have, want, atol=1e-9)
