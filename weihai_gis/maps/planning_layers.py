"""Builders for the plan layers of the embedded dataset (one function per layer kind).

Each ``add_<layer>(m, gdf, ...)`` draws one layer of the data contract as a toggleable layer and returns its
:class:`~weihai_gis.maps.legend.LegendSection` (``None`` when the layer has nothing to draw). They all go
through :func:`add_plan_layer`, which reads the layer's drawing rules (tooltip fields, style, legend) from
one table here and its title from :data:`weihai_gis.layers.schema.SCHEMAS`. Colours are fixed per category
so two maps of the same data look the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd

from weihai_gis.layers.schema import SCHEMAS
from weihai_gis.maps.draw import Style, geojson_layer, legend_for
from weihai_gis.maps.legend import LegendItem, LegendSection

__all__ = [
    "COASTAL_ZONE_COLORS",
    "LAYER_TITLES",
    "RENEWAL_GROUP_COLORS",
    "TOWN_TYPE_COLORS",
    "add_bays",
    "add_boundaries",
    "add_coastal_zones",
    "add_feature_streets",
    "add_line_layer",
    "add_plan_layer",
    "add_renewal_districts",
    "add_town_areas",
    "add_towns",
    "add_viewpoints",
]

log = logging.getLogger(__name__)

#: Layer-control title of each contract layer (Chinese / English), from the layer schemas.
LAYER_TITLES = {name: schema.map_title for name, schema in SCHEMAS.items()}

RENEWAL_GROUP_COLORS = {"一带": "#1f78b4", "五心": "#e31a1c", "两镇": "#33a02c"}
TOWN_TYPE_COLORS = {
    "城郊融合型": "#e6550d",
    "区域支撑型": "#3182bd",
    "工业引领型": "#756bb1",
    "文旅康养型": "#31a354",
    "生态农业型": "#a1d99b",
    "unassigned": "#bdbdbd",
    "n/a": "#636363",
}
COASTAL_ZONE_COLORS = {"core_setback": "#d73027", "general_control": "#fc8d59", "seaward": "#4575b4"}
_ZONE_ZH = {
    "core_setback": "核心退让区 / core setback",
    "general_control": "一般控制区 / general control",
    "seaward": "向海管控区 / seaward",
}
_GROUP_EN = {"一带": "belt", "五心": "five centres", "两镇": "two towns"}
_LINE_STYLES: dict[str, tuple[str, str | None, int]] = {
    # layer -> (colour, dash pattern, weight px)
    "coastline": ("#0570b0", None, 2),
    "ridgelines": ("#8c510a", "6 4", 2),
    "hsr_corridor": ("#252525", "10 6", 3),
    "view_corridors": ("#6a3d9a", "4 4", 3),
    "feature_streets": ("#ff7f00", None, 5),
}
_BOUNDARY_COLOR = "#444444"
_FLAGS = ("provincial_pilot", "urban_integration")

StyleFunction = Callable[[dict[str, Any]], Style]


@dataclass(frozen=True)
class _Drawing:
    """How one contract layer is drawn: tooltip fields, feature style, legend swatches and options."""

    fields: tuple[str, ...]
    style: StyleFunction
    items: tuple[LegendItem, ...]
    simplify_m: float = 0.0
    show: bool = True
    note: str = ""  # replaces the status note of the legend section when set
    prepare: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None  # display copy of the rows


def _fixed(color: str, *, fill: float = 0.35, weight: int = 2, dash: str | None = None) -> StyleFunction:
    def style(_feature: dict[str, Any]) -> Style:
        return {"color": color, "fillColor": color, "fillOpacity": fill, "weight": weight, "dashArray": dash}

    return style


def _by_category(column: str, colors: dict[str, str], *, fill: float, weight: int) -> StyleFunction:
    def style(f: dict[str, Any]) -> Style:
        c = colors.get(f["properties"].get(column), "#999999")
        return {"color": c, "fillColor": c, "fillOpacity": fill, "weight": weight}

    return style


def _town_style(f: dict[str, Any]) -> Style:
    """Fill by town type; black ring = provincial pilot, purple ring = urban integration; streets small."""
    p = f["properties"]
    c = TOWN_TYPE_COLORS.get(p.get("town_type"), "#636363")
    ring, weight = "#ffffff", 1
    if str(p.get("urban_integration", "")).startswith("是"):
        ring, weight = "#6a3d9a", 3
    if str(p.get("provincial_pilot", "")).startswith("是"):
        ring, weight = "#000000", 3
    radius = 4 if p.get("kind") == "street" else 7
    return {"color": ring, "weight": weight, "fillColor": c, "fillOpacity": 0.95, "radius": radius}


def _flags_in_words(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Copy of ``gdf`` with the plan flags as ``是 / yes`` / ``否 / no`` for the tooltip."""
    data = gdf.copy()
    for flag in _FLAGS:
        if flag in data.columns:
            data[flag] = data[flag].map(lambda v: "是 / yes" if bool(v) else "否 / no")
    return data


def _short(layer: str) -> str:
    """Return the Chinese part of a layer's title."""
    return LAYER_TITLES[layer].split(" / ")[0]


def _outline(layer: str, weight: int) -> _Drawing:
    return _Drawing(
        fields=("name_zh", "name_en", "id"),
        style=_fixed(_BOUNDARY_COLOR, fill=0.0, weight=weight),
        items=(LegendItem(_short(layer), _BOUNDARY_COLOR, "line"),),
        simplify_m=30.0,
    )


def _line(layer: str) -> _Drawing:
    color, dash, weight = _LINE_STYLES[layer]
    return _Drawing(
        fields=("name_zh", "name_en", "id", "from_zh", "to_zh", "width_m"),
        style=_fixed(color, fill=0.3, weight=weight, dash=dash),
        items=(LegendItem(_short(layer), color, "line"),),
        simplify_m=10.0,
    )


_DRAWINGS: dict[str, _Drawing] = {
    "city_boundary": _outline("city_boundary", 3),
    "counties": _outline("counties", 1),
    **{layer: _line(layer) for layer in _LINE_STYLES},
    "renewal_districts": _Drawing(
        fields=("name_zh", "name_en", "id", "group", "axis", "admin_zh"),
        style=_by_category("group", RENEWAL_GROUP_COLORS, fill=0.35, weight=2),
        items=tuple(LegendItem(f"{g} / {_GROUP_EN[g]}", c) for g, c in RENEWAL_GROUP_COLORS.items()),
        simplify_m=5.0,
    ),
    "bays": _Drawing(
        fields=("name_zh", "name_en", "id", "works_zh"),
        style=_fixed("#00897b", fill=0.3, weight=3),
        items=(LegendItem("海湾 / bay", "#00897b"),),
        simplify_m=5.0,
    ),
    "towns": _Drawing(
        fields=("name_zh", "name_en", "id", "kind", "admin_zh", "town_type", *_FLAGS),
        style=_town_style,
        items=(
            *(
                LegendItem(t, c, "point")
                for t, c in TOWN_TYPE_COLORS.items()
                if t not in ("unassigned", "n/a")
            ),
            LegendItem("未分类 / unassigned", TOWN_TYPE_COLORS["unassigned"], "point"),
            LegendItem("街道 / street", TOWN_TYPE_COLORS["n/a"], "point"),
            LegendItem("黑圈：省级试点 / black ring: provincial pilot", "#000000", "dashed"),
            LegendItem("紫圈：城乡融合 / purple ring: urban integration", "#6a3d9a", "dashed"),
        ),
        prepare=_flags_in_words,
    ),
    "town_areas": _Drawing(
        fields=("name_zh", "id", "kind"),
        style=_fixed("#555555", fill=0.02, weight=1, dash="5 5"),
        items=(LegendItem("镇街范围(泰森多边形) / Voronoi area", "#555555", "dashed"),),
        simplify_m=30.0,
        show=False,
        note="近似范围，非行政边界 / approximate, not legal boundaries",
    ),
    "coastal_zones": _Drawing(
        fields=("name_zh", "zone", "inner_m", "outer_m", "rule_ref"),
        style=_by_category("zone", COASTAL_ZONE_COLORS, fill=0.25, weight=1),
        items=tuple(LegendItem(_ZONE_ZH[z], c) for z, c in COASTAL_ZONE_COLORS.items()),
        simplify_m=10.0,
    ),
    "viewpoints": _Drawing(
        fields=("name_zh", "id", "observer_height_m"),
        style=_fixed("#6a3d9a", fill=0.9, weight=2),
        items=(LegendItem("观景点 / viewpoint", "#6a3d9a", "point"),),
    ),
}


def add_plan_layer(
    m: folium.Map, gdf: gpd.GeoDataFrame, layer: str, *, datum: str = "wgs84"
) -> LegendSection | None:
    """Draw one contract layer with its fixed style, bilingual tooltip and legend section.

    Parameters
    ----------
    m
        The map.
    gdf
        The layer (columns of the data contract; any CRS).
    layer
        Its contract name, e.g. ``"bays"`` (selects title, tooltip fields, style and legend).
    datum
        Basemap datum (``"gcj02"`` shifts the display).

    Returns
    -------
    LegendSection or None
        Legend entry, noting non-official statuses and rows without location; ``None`` if the layer has
        nothing to draw.
    """
    drawing = _DRAWINGS[layer]
    name = LAYER_TITLES[layer]
    added = geojson_layer(
        m,
        gdf if drawing.prepare is None else drawing.prepare(gdf),
        name=name,
        style=drawing.style,
        datum=datum,
        simplify_m=drawing.simplify_m,
        fields=list(drawing.fields),
        show=drawing.show,
    )
    if added is None:
        return None
    section = legend_for(name, gdf, list(drawing.items), added[1])
    if drawing.note:
        return LegendSection(section.title, section.items, drawing.note)
    return section


def add_boundaries(
    m: folium.Map, gdf: gpd.GeoDataFrame, *, layer: str = "counties", datum: str = "wgs84"
) -> LegendSection | None:
    """Draw ``city_boundary`` or ``counties`` (the ``layer``) as grey outlines without fill, simplified to 30 m.

    Other parameters and the return value as in :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, layer, datum=datum)


def add_renewal_districts(
    m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84"
) -> LegendSection | None:
    """Draw the 10 城市更新片区 coloured by plan group (一带 / 五心 / 两镇), axis in the tooltip.

    Parameters and return value as in :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, "renewal_districts", datum=datum)


def add_feature_streets(
    m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84"
) -> LegendSection | None:
    """Draw 特色街区 (lines or polygons) in orange.

    Parameters and return value as in :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, "feature_streets", datum=datum)


def add_bays(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw 海湾 (polygons, lines or points) in teal, with the named works (``works_zh``) in the tooltip.

    Parameters and return value as in :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, "bays", datum=datum)


def add_towns(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw town/street seats coloured by ``town_type``; plan flags shown by the marker outline.

    A provincial pilot town (省级试点) gets a thick black ring, an urban-integration town (城乡融合) a purple
    ring; streets (街道) are small grey dots. Towns without a location (null geometry where
    ``location_status == "missing"``) are counted in the legend note. Parameters and return value as in
    :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, "towns", datum=datum)


def add_town_areas(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw approximate town areas (Voronoi cells of seats) as dashed outlines, off by default.

    The legend note says the areas are approximate. Parameters and return value as in :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, "town_areas", datum=datum)


def add_coastal_zones(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw 海岸带管控分区 coloured by ``zone`` (core setback / general control / seaward).

    Parameters and return value as in :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, "coastal_zones", datum=datum)


def add_line_layer(
    m: folium.Map, gdf: gpd.GeoDataFrame, *, layer: str, datum: str = "wgs84"
) -> LegendSection | None:
    """Draw a line layer: ``coastline``, ``ridgelines``, ``hsr_corridor``, ``view_corridors``, ``feature_streets``.

    Each has its own colour, dash pattern and weight. Parameters and return value as in
    :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, layer, datum=datum)


def add_viewpoints(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw 观景点 as purple circle markers with the observer height in the tooltip.

    Parameters and return value as in :func:`add_plan_layer`.
    """
    return add_plan_layer(m, gdf, "viewpoints", datum=datum)
