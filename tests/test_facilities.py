"""Facility readers: Amap GCJ-02 conversion, typecode mapping, OSM tag mapping, unmapped types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from weihai_gis.crs import wgs84_to_bd09, wgs84_to_gcj02
from weihai_gis.errors import LayerError
from weihai_gis.facilities import facilities_from_osm, map_amap_types, map_osm_tags, read_facilities
from weihai_gis.network import sample_osm_path


@pytest.mark.parametrize(("datum", "forward"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_amap_csv_in_shifted_datum_converts_back_within_half_a_metre(tmp_path, datum, forward):
    rng = np.random.default_rng(3)
    lon = rng.uniform(121.6, 122.7, 200)
    lat = rng.uniform(36.7, 37.5, 200)
    glon, glat = forward(lon, lat)
    table = pd.DataFrame(
        {
            "id": [f"B{i:04d}" for i in range(200)],
            "name": "x",
            "lng": glon,
            "lat": glat,
            "typecode": "141203",
            "type": "科教文化服务;学校;小学",
        }
    )
    path = tmp_path / "amap.csv"
    table.to_csv(path, index=False)
    fac = read_facilities(path, datum=datum, mapping="amap")
    _, _, dist = Geod(ellps="WGS84").inv(lon, lat, fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy())
    assert np.abs(dist).max() < 0.5
    assert str(fac.crs) == "EPSG:4490"
    assert (fac["category"] == "primary_school").all()


def test_amap_type_text_is_used_when_the_code_is_unknown_and_unmapped_are_listed(tmp_path):
    table = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "location": ["122.1,37.5", "122.2,37.5", "122.3,37.5"],
            "typecode": ["999999", "999998", "999997"],
            "type": ["科教文化服务;学校;幼儿园", "购物服务;便民商店/便利店;便利店", "汽车服务;加油站;加油站"],
        }
    )
    path = tmp_path / "amap.csv"
    table.to_csv(path, index=False)
    fac = read_facilities(path, datum="gcj02", mapping="amap")
    assert fac["category"].tolist() == ["kindergarten", "convenience"]
    assert fac.attrs["unmapped"] == {"999997": 1}


def test_amap_mapping_uses_the_mid_class_prefix():
    kinds = map_amap_types(pd.Series(["141203", "090100|090101", "150799"]), None)
    assert kinds.tolist() == ["primary_school", "hospital", "bus_stop"]


def test_osm_rules_first_match_wins_and_name_decides_school_level():
    frame = pd.DataFrame(
        {
            "amenity": ["school", "school", "school", "bench"],
            "name": ["环翠区实验小学", "威海一中初中部", "School", None],
        }
    )
    assert map_osm_tags(frame).tolist() == ["primary_school", "middle_school", "school", None]


def test_csv_without_coordinates_names_the_fields(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"name": ["a"], "addr": ["x"]}).to_csv(path, index=False)
    with pytest.raises(LayerError, match="lon_field"):
        read_facilities(path)


def test_osm_pois_from_the_sample_are_mapped_with_unmapped_listed():
    fac = facilities_from_osm(sample_osm_path())
    assert {"bus_stop", "convenience", "park"} <= set(fac["category"])
    assert fac.attrs["unmapped"] and all(v > 0 for v in fac.attrs["unmapped"].values())
    assert fac["category"].notna().all()
