"""Amap / Baidu exports as they really are, and facility rows that used to vanish without a word.

GBK/GB18030 CSVs with and without a BOM, a title row above the header (found, or --skip-rows), --lon-field
/--lat-field, Amap's ``location`` "lng,lat" column, swapped columns; MultiPoint facilities exploded and
empty categories counted as unmapped.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import shapely.affinity
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.errors import InputFileError, LayerError
from weihai_gis.facilities import read_facilities

ROWS = pd.DataFrame(
    {
        "名称": ["威海市实验小学", "华联超市", "公交站(海港大厦)"],
        "typecode": ["141203", "060200", "150700"],
        "经度": ["122.11812", "122.12103", "122.11577"],
        "纬度": ["37.50977", "37.50512", "37.50334"],
    }
)


def _csv(path, text: str, encoding: str, bom: bool = False):
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@pytest.mark.parametrize(
    ("encoding", "bom"), [("gbk", False), ("gb18030", False), ("utf-8", True), ("utf-8", False)]
)
def test_chinese_exports_are_read_in_their_encoding(tmp_path, encoding, bom):
    path = _csv(tmp_path / "amap.csv", ROWS.to_csv(index=False), encoding, bom)
    fac = read_facilities(path, mapping="amap")
    assert fac["name"].tolist() == ROWS["名称"].tolist()
    assert fac["category"].tolist() == ["primary_school", "convenience", "bus_stop"]
    xy = shapely.get_coordinates(fac.to_crs(4326).geometry.to_numpy())
    assert xy[:, 0].tolist() == pytest.approx(ROWS["经度"].astype(float).tolist())


def test_an_undecodable_file_names_the_file_the_encodings_tried_and_the_option(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes("经度,纬度\n".encode() + b"\x81\x30\xff\xfe,1\n")
    with pytest.raises(InputFileError, match=r"broken\.csv.*utf-8-sig or gb18030.*--encoding"):
        read_facilities(path, mapping="amap")
    big5 = _csv(tmp_path / "big5.csv", "name,lon,lat,category\n臺北車站,121.517,25.048,bus_stop\n", "big5")
    fac = read_facilities(big5, category_field="category", encoding="big5")
    assert fac["name"].tolist() == ["臺北車站"]


def test_a_title_row_above_the_header_is_skipped_in_csv_and_xlsx(tmp_path, caplog):
    titled = "高德地图POI导出 2024-05-01\n\n" + ROWS.to_csv(index=False)
    csv = _csv(tmp_path / "titled.csv", titled, "gb18030")
    with caplog.at_level(logging.WARNING, logger="weihai_gis"):
        assert len(read_facilities(csv, mapping="amap")) == 3
    assert any("header found on row 3" in r.getMessage() for r in caplog.records)
    xlsx = tmp_path / "titled.xlsx"
    with pd.ExcelWriter(xlsx) as writer:
        pd.DataFrame([["高德地图POI导出"]]).to_excel(writer, index=False, header=False, startrow=0)
        ROWS.to_excel(writer, index=False, startrow=1)
    assert read_facilities(xlsx, mapping="amap")["category"].tolist()[0] == "primary_school"


def test_unknown_coordinate_names_need_lon_field_lat_field_and_the_cli_offers_them(tmp_path):
    odd = ROWS.rename(columns={"经度": "东经", "纬度": "北纬"})
    path = _csv(tmp_path / "odd.csv", "导出\n" + odd.to_csv(index=False), "utf-8")
    with pytest.raises(LayerError, match=r"odd\.csv.*--lon-field and --lat-field.*--skip-rows"):
        read_facilities(path, mapping="amap")
    fac = read_facilities(path, mapping="amap", lon_field="东经", lat_field="北纬")
    assert len(fac) == 3
    assert len(read_facilities(path, mapping="amap", lon_field="东经", lat_field="北纬", skip_rows=1)) == 3
    help_text = CliRunner().invoke(main, ["coverage", "--help"]).output
    for option in ("--lon-field", "--lat-field", "--skip-rows", "--encoding"):
        assert option in help_text
        assert option in CliRunner().invoke(main, ["demo", "--help"]).output


def test_amap_location_column_is_read_as_lng_lat(tmp_path):
    table = ROWS.drop(columns=["经度", "纬度"]).assign(location=ROWS["经度"] + "," + ROWS["纬度"])
    path = _csv(tmp_path / "loc.csv", table.to_csv(index=False), "utf-8")
    fac = read_facilities(path, mapping="amap")
    xy = shapely.get_coordinates(fac.to_crs(4326).geometry.to_numpy())
    assert xy[:, 1].tolist() == pytest.approx(ROWS["纬度"].astype(float).tolist())


def test_swapped_coordinate_columns_are_named_with_the_fix(tmp_path):
    swapped = ROWS.rename(columns={"经度": "纬度", "纬度": "经度"})
    path = _csv(tmp_path / "swapped.csv", swapped.to_csv(index=False), "utf-8")
    with pytest.raises(LayerError, match=r"look swapped.*--lon-field 纬度 --lat-field 经度"):
        read_facilities(path, mapping="amap")


def test_multipoint_facilities_are_exploded_one_facility_per_point(tmp_path, caplog):
    frame = gpd.GeoDataFrame(
        {"id": ["a", "b"], "category": ["convenience", "bus_stop"]},
        geometry=[
            shapely.MultiPoint([(122.1, 37.5), (122.11, 37.5), (122.12, 37.5)]),
            shapely.Point(122.1, 37.51),
        ],
        crs=4326,
    )
    path = tmp_path / "multi.gpkg"
    frame.to_file(path, layer="f")
    with caplog.at_level(logging.WARNING, logger="weihai_gis"):
        fac = read_facilities(path, category_field="category")
    assert len(fac) == 4 and fac["id"].tolist() == ["a-1", "a-2", "a-3", "b"]
    assert fac.to_crs(4326).geometry.x.round(2).tolist() == [122.1, 122.11, 122.12, 122.1]
    assert fac.attrs["exploded"] == {"rows": 1, "points": 3}
    assert any("1 MultiPoint rows split into 3 facilities" in r.getMessage() for r in caplog.records)


def test_facilities_with_an_empty_category_are_counted_as_unmapped(tmp_path, caplog):
    table = pd.DataFrame(
        {
            "lon": [122.1, 122.11, 122.12, 122.13],
            "lat": [37.5] * 4,
            "category": ["convenience", "", " ", None],
        }
    )
    path = tmp_path / "cats.csv"
    table.to_csv(path, index=False)
    with caplog.at_level(logging.WARNING, logger="weihai_gis"):
        fac = read_facilities(path, category_field="category")
    assert len(fac) == 1 and fac.attrs["unmapped"] == {"(empty)": 3}
    assert any("3 rows" in r.getMessage() and "(empty)" in r.getMessage() for r in caplog.records)


def _origins(tmp_path, ids, geoms):
    path = tmp_path / "o.gpkg"
    gpd.GeoDataFrame({"origin_id": ids, "population": [10.0] * len(ids)}, geometry=geoms, crs=4550).to_file(
        path, layer="homes"
    )
    return path


def test_duplicate_origin_ids_are_refused_naming_field_and_values(tmp_path):
    from weihai_gis.population import origins_from_points

    pts = [shapely.Point(420_000 + i, 4_150_000) for i in range(4)]
    path = _origins(tmp_path, ["a", "b", "a", "c"], pts)
    with pytest.raises(LayerError, match=r"o\.gpkg', layer 'homes', field 'origin_id': 1 ids occur.*'a' ×2"):
        origins_from_points(path)
    assert len(origins_from_points(_origins(tmp_path, ["a", "b", "d", "c"], pts))) == 4


def test_invalid_origin_polygons_are_reported_with_the_reason(tmp_path, caplog):
    from weihai_gis.population import origins_from_points

    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # self-intersecting
    ok = shapely.box(20, 0, 30, 10)
    path = _origins(
        tmp_path, ["x", "y"], [shapely.affinity.translate(g, 420_000, 4_150_000) for g in (bowtie, ok)]
    )
    with caplog.at_level(logging.WARNING, logger="weihai_gis"):
        frame = origins_from_points(path)
    msg = " ".join(r.getMessage() for r in caplog.records)
    assert "1 invalid polygons repaired" in msg and "Self-intersection" in msg and "o.gpkg" in msg
    assert frame.geometry.is_valid.all() and frame.attrs["invalid_geometries"] == 1


def test_type_mapping_once_per_distinct_type_equals_the_row_by_row_mapping():
    import numpy as np

    from weihai_gis.facilities import _map_amap_unique, _source_type, map_amap_types

    rng = np.random.default_rng(11)
    codes = np.array(["141203", "060200", "150700|150701", "090100", "999999", None, "141200"], dtype=object)
    texts = np.array(
        ["科教文化服务;学校;小学", "购物服务;便民商店/便利店", None, "", "医疗保健服务;诊所"], dtype=object
    )
    code = pd.Series(codes[rng.integers(0, len(codes), 5000)])
    text = pd.Series(texts[rng.integers(0, len(texts), 5000)])
    for args in ((code, text), (code, None), (None, text)):
        assert map_amap_types(*args).tolist() == _map_amap_unique(*args).tolist()
    tags = pd.DataFrame(
        {
            "amenity": pd.Series(
                np.array(["school", None, "", "clinic"], dtype=object)[rng.integers(0, 4, 500)]
            ),
            "shop": pd.Series(np.array([None, "convenience", ""], dtype=object)[rng.integers(0, 3, 500)]),
        }
    )
    want = tags.apply(
        lambda r: ";".join(f"{k}={r[k]}" for k in ("amenity", "shop") if isinstance(r[k], str) and r[k]),
        axis=1,
    )
    assert _source_type(tags).tolist() == want.tolist()
