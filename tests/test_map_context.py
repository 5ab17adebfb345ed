"""Map context and scale: land/sea fill, place-name labels by zoom, the data-range colour scale, Chinese legends."""

from __future__ import annotations

import dataclasses
import html
import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from maps_data import make_layers, make_results

from weihai_gis import maps
from weihai_gis.maps.context import LABEL_MIN_ZOOM, LAND_COLOR, SEA_COLOR
from weihai_gis.render.classes import RANGE_COLORS, RATE_COLORS, rate_classes


def _has(page: str, text: str) -> bool:
    """Text appears raw, HTML-escaped or JSON-escaped (folium writes legends and icons through tojson)."""
    forms = {text, html.escape(text), json.dumps(text)[1:-1], json.dumps(text)[1:-1].replace("&", "\\u0026")}
    return any(f in page for f in forms)


def _labels(page: str) -> list[str]:
    icons = [json.loads(f'"{raw}"') for raw in re.findall(r'"html": "((?:[^"\\]|\\.)*)"', page)]
    return [m for icon in icons for m in re.findall(r'class="wg-label[^"]*"[^>]*>([^<]+)<', icon)]


@pytest.fixture(scope="module")
def layers():
    return make_layers()


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=50))
def test_rate_classes_hold_every_value_in_the_class_of_its_range(rates):
    classes = rate_classes(rates)
    top = max(rates)
    assert len(classes.breaks) == len(classes.colors) + 1 == 6
    assert classes.breaks[0] == 0.0 and classes.breaks[-1] >= top - 1e-12
    for r in rates:
        k = classes.index(r)
        assert classes.breaks[k] <= r + 1e-12
        assert r < classes.breaks[k + 1] or k == len(classes.colors) - 1
    if top >= 0.8 or top == 0:
        assert classes.colors == RATE_COLORS
    else:  # the highest value lands in the upper classes: the scale spans the data, not 0..100 %
        assert classes.colors == RANGE_COLORS
        assert classes.index(top) >= 2 or top < 0.005  # (below the smallest range, 0–0.5 %)
        assert f"{100 * top:.1f}%" in classes.note


def test_rate_classes_ignore_missing_values():
    classes = rate_classes([0.1, float("nan")])
    assert classes.breaks[-1] == pytest.approx(0.1) and classes.color(float("nan")) == "#cccccc"


def test_low_rates_are_spread_over_the_data_range_and_the_legend_says_so(layers):
    res = make_results(layers)
    low = res.hexagons.assign(rate_all_basic=res.hexagons["rate_all_basic"] * 0.2)
    page = maps.map_html(maps.coverage_map(dataclasses.replace(res, hexagons=low, units={}), layers))
    top = float(np.nanmax(low["rate_all_basic"]))
    assert _has(page, "按数据范围分级") and _has(page, f"最高 {100 * top:.1f}%")
    fills = set(re.findall(r'"_color": "(#[0-9a-f]{6})"', page))
    assert len(fills & set(RANGE_COLORS)) >= 4  # low rates no longer one red


def test_coverage_legend_and_layers_name_the_rate_and_categories_in_chinese(layers):
    page = maps.map_html(maps.coverage_map(make_results(layers), layers, rate_column="rate_primary_school"))
    assert _has(page, "覆盖率(六边形) 小学覆盖率")
    assert not _has(page, "rate_primary_school / coverage") and not _has(page, "rate_primary_school <")
    assert _has(page, "小学 / primary_school")  # facility legend: Chinese name first


def test_offline_maps_fill_land_and_sea_under_the_layers(layers):
    page = maps.map_html(maps.planning_map(layers))
    assert f"background:{SEA_COLOR}" in page and LAND_COLOR in page and "wg-land" in page
    assert _has(page, "市域陆地 / city land")
    tiles = maps.map_html(maps.planning_map(layers, basemap="osm"))
    assert LAND_COLOR not in tiles  # tiles show the land themselves


def test_planning_map_labels_counties_towns_and_districts_from_their_zoom(layers):
    page = maps.map_html(maps.planning_map(layers))
    labels = _labels(page)
    for name in ("counties", "town_areas", "renewal_districts"):
        for text in layers[name]["name_zh"]:
            assert text in labels, (name, text)
    for zoom in LABEL_MIN_ZOOM.values():
        assert f"map.getZoom() >= {zoom}" in page


def _label_positions(page: str) -> dict[str, tuple[float, float]]:
    """Label text → [lat, lon] of its marker (folium writes L.marker([lat, lon], ...) then the icon)."""
    out = {}
    for m in re.finditer(r"L\.marker\(\s*\[([-\d.]+),\s*([-\d.]+)\]", page):
        icon = re.search(r'"html": "((?:[^"\\]|\\.)*)"', page[m.end() :])
        text = re.findall(r'class="wg-label[^"]*"[^>]*>([^<]+)<', json.loads(f'"{icon.group(1)}"'))
        if text:
            out.setdefault(text[0], (float(m.group(1)), float(m.group(2))))
    return out


def test_town_labels_sit_at_the_town_seats_and_fall_back_to_the_area_without_one(layers):
    import shapely

    towns = layers["towns"].copy()
    lost = towns.index[1]
    towns.loc[lost, "geometry"] = None  # a seat not located (as 鲸园街道 in the embedded data)
    page = maps.map_html(maps.planning_map({**layers, "towns": towns}))
    where = _label_positions(page)
    seats = towns.set_index("id").geometry
    areas = layers["town_areas"]
    assert lost in seats.index.get_indexer(areas["id"])  # the test covers an area without its seat
    for _, area in areas.iterrows():
        lat, lon = where[area["name_zh"]]
        seat = seats[area["id"]]
        if seat is None:
            assert area.geometry.contains(shapely.Point(lon, lat))
        else:
            assert (lon, lat) == pytest.approx((seat.x, seat.y), abs=1e-6)
    icons = [json.loads(f'"{raw}"') for raw in re.findall(r'"html": "((?:[^"\\]|\\.)*)"', page)]
    seat_labels = [i for i in icons if "wg-seat" in i]
    assert len(seat_labels) == len(areas) - 1  # drawn above the seat's marker, not across it
