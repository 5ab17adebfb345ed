"""The difference map of a what-if scenario: hexagons whose coverage rose or fell, residents newly covered.

Draws the frames :mod:`weihai_gis.planning.compare` made (``ScenarioOutcome.hexagons`` / ``.origins``) and
the facilities the scenario adds; computes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from weihai_gis.maps.draw import geojson_layer
from weihai_gis.maps.legend import LegendItem, LegendSection

__all__ = ["GAIN_COLOR", "LOSS_COLOR", "add_scenario_difference"]

log = logging.getLogger(__name__)

GAIN_COLOR, LOSS_COLOR, NEW_SITE_COLOR = "#1a9850", "#d73027", "#542788"


def add_scenario_difference(
    m: folium.Map,
    name: str,
    hexagons: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    new_facilities: gpd.GeoDataFrame | None = None,
    *,
    category: str = "all_basic",
    datum: str = "wgs84",
    show: bool = False,
) -> list[LegendSection]:
    """Add a scenario's difference layers: Δ coverage hexagons, changed residents and the new facilities.

    Parameters
    ----------
    m
        The map.
    name
        Scenario name (e.g. ``"规划"``), used in the layer titles.
    hexagons
        :func:`weihai_gis.planning.compare.difference_hexagons`; coloured by ``delta_<category>`` when the
        category changed, else by the first changed category.
    origins
        :func:`weihai_gis.planning.compare.difference_origins` (every changed category is drawn).
    new_facilities
        Facilities the scenario adds or moves (points), or None.
    category
        Category whose Δ colours the hexagons.
    datum, show
        Basemap datum; whether the layers are on when the page opens.

    Returns
    -------
    list of LegendSection
        One per layer drawn (none when the scenario changed nothing).
    """
    sections = []
    deltas = [c for c in hexagons.columns if c.startswith("delta_")]
    col = f"delta_{category}" if f"delta_{category}" in deltas else (deltas[0] if deltas else None)
    if col is not None and len(hexagons):
        frame = hexagons.copy()
        frame["delta_label"] = pd.to_numeric(frame[col]).map(lambda d: f"{100 * d:+.1f} 个百分点")

        def style(f: dict[str, Any]) -> dict[str, Any]:
            d = f["properties"].get(col) or 0.0
            return {
                "color": GAIN_COLOR if d > 0 else LOSS_COLOR,
                "weight": 1,
                "fillColor": GAIN_COLOR if d > 0 else LOSS_COLOR,
                "fillOpacity": min(0.15 + abs(d), 0.8),
            }

        title = f"情景 {name}：覆盖率变化(六边形) / Δ coverage"
        added = geojson_layer(
            m,
            frame,
            name=title,
            style=style,
            fields=["id", "population", "delta_label"],
            style_fields=(col,),
            datum=datum,
            show=show,
        )
        if added is not None:
            what = "全要素达标率" if col == "delta_all_basic" else col.removeprefix("delta_")
            items = (
                LegendItem("提高 / up", GAIN_COLOR, "fill"),
                LegendItem("降低 / down", LOSS_COLOR, "fill"),
            )
            sections.append(LegendSection(title, items, f"{what}，{len(frame)} 个六边形"))
    if len(origins):
        title = f"情景 {name}：新增/失去覆盖的居民点 / residents gained or lost"
        added = geojson_layer(
            m,
            origins,
            name=title,
            style=lambda f: {
                "color": GAIN_COLOR if f["properties"]["change_zh"] == "新增覆盖" else LOSS_COLOR,
                "fillOpacity": 0.8,
                "weight": 1,
            },
            fields=["name_zh", "change_zh", "population", "dist_after_m"],
            datum=datum,
            show=show,
            point_radius_px=4,
        )
        if added is not None:
            items = (LegendItem("新增覆盖", GAIN_COLOR, "point"), LegendItem("失去覆盖", LOSS_COLOR, "point"))
            sections.append(LegendSection(title, items, f"{len(origins)} 处（按类别）"))
    if new_facilities is not None and len(new_facilities):
        title = f"情景 {name}：新增/迁建设施 / new sites"
        added = geojson_layer(
            m,
            new_facilities,
            name=title,
            style=lambda _f: {
                "color": NEW_SITE_COLOR,
                "fillColor": NEW_SITE_COLOR,
                "fillOpacity": 1,
                "weight": 2,
            },
            fields=["name", "category", "id"],
            datum=datum,
            show=True,
            point_radius_px=8,
        )
        if added is not None:
            sections.append(
                LegendSection(
                    title, (LegendItem("新址", NEW_SITE_COLOR, "point"),), f"{len(new_facilities)} 处"
                )
            )
    return sections
