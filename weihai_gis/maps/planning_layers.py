"""Builders for the plan layers of the embedded dataset (one function per layer kind).

Each ``add_<layer>(m, gdf, ...)`` draws one layer of the data contract as a toggleable layer and returns its
:class:`~weihai_gis.maps.legend.LegendSection` (``None`` when the layer has nothing to draw). Colours are fixed
per category so two maps of the same data look the same.
"""

from __future__ import annotations

import logging
from typing import Any

import folium
import geopandas as gpd

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
    "add_renewal_districts",
    "add_town_areas",
    "add_towns",
    "add_viewpoints",
]

log = logging.getLogger(__name__)

#: Layer-control title of each contract layer (Chinese / English).
LAYER_TITLES = {
    "city_boundary": "市界 / city boundary",
    "counties": "区市 / counties",
    "town_areas": "镇街范围(近似) / town areas (approx.)",
    "coastal_zones": "海岸带管控分区 / coastal control zones",
    "renewal_districts": "城市更新片区 / renewal districts",
    "feature_streets": "特色街区 / feature streets",
    "bays": "海湾 / bays",
    "coastline": "海岸线 / coastline",
    "ridgelines": "山脊线 / ridgelines",
    "hsr_corridor": "高铁廊道 / HSR corridor",
    "view_corridors": "视线通廊 / view corridors",
    "viewpoints": "观景点 / viewpoints",
    "towns": "镇街驻地 / town & street seats",
}

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
_LINE_STYLES: dict[str, tuple[str, str | None, int]] = {
    # layer -> (colour, dash pattern, weight px)
    "coastline": ("#0570b0", None, 2),
    "ridgelines": ("#8c510a", "6 4", 2),
    "hsr_corridor": ("#252525", "10 6", 3),
    "view_corridors": ("#6a3d9a", "4 4", 3),
    "feature_streets": ("#ff7f00", None, 5),
}


def _fixed(color: str, *, fill: float = 0.35, weight: int = 2, dash: str | None = None) -> Any:
    def style(_feature: dict[str, Any]) -> Style:
        return {"color": color, "fillColor": color, "fillOpacity": fill, "weight": weight, "dashArray": dash}

    return style


def add_boundaries(m: folium.Map, gdf: gpd.GeoDataFrame, *, layer: str = "counties") -> LegendSection | None:
    """Draw ``city_boundary`` or ``counties`` as outlines (no fill), simplified to 30 m.

    Parameters
    ----------
    m
        The map.
    gdf
        The boundary layer.
    layer
        ``"city_boundary"`` or ``"counties"`` (selects title and style).

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if the layer is empty.
    """
    name = LAYER_TITLES[layer]
    weight = 3 if layer == "city_boundary" else 1
    added = geojson_layer(
        m,
        gdf,
        name=name,
        style=_fixed("#444444", fill=0.0, weight=weight),
        fields=["name_zh", "name_en", "id"],
        simplify_m=30.0,
    )
    if added is None:
        return None
    return legend_for(name, gdf, [LegendItem(name.split(" / ")[0], "#444444", "line")], added[1])


def add_renewal_districts(
    m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84"
) -> LegendSection | None:
    """Draw the 10 城市更新片区 coloured by plan group (一带 / 五心 / 两镇), axis in the tooltip.

    Parameters
    ----------
    m
        The map.
    gdf
        ``renewal_districts`` layer (columns of the data contract).
    datum
        Basemap datum (``"gcj02"`` shifts the display).

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if the layer is empty.
    """

    def style(f: dict[str, Any]) -> Style:
        c = RENEWAL_GROUP_COLORS.get(f["properties"].get("group"), "#999999")
        return {"color": c, "fillColor": c, "fillOpacity": 0.35, "weight": 2}

    name = LAYER_TITLES["renewal_districts"]
    added = geojson_layer(
        m,
        gdf,
        name=name,
        style=style,
        datum=datum,
        simplify_m=5.0,
        fields=["name_zh", "name_en", "id", "group", "axis", "admin_zh"],
    )
    if added is None:
        return None
    english = {"一带": "belt", "五心": "five centres", "两镇": "two towns"}
    items = [LegendItem(f"{g} / {english[g]}", c) for g, c in RENEWAL_GROUP_COLORS.items()]
    return legend_for(name, gdf, items, added[1])


def add_feature_streets(
    m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84"
) -> LegendSection | None:
    """Draw 特色街区 (lines or polygons) in orange.

    Parameters
    ----------
    m
        The map.
    gdf
        ``feature_streets`` layer.
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if the layer is empty.
    """
    return add_line_layer(m, gdf, layer="feature_streets", datum=datum)


def add_bays(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw 海湾 (polygons, lines or points) in teal, with the named works (``works_zh``) in the tooltip.

    Parameters
    ----------
    m
        The map.
    gdf
        ``bays`` layer.
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if the layer is empty.
    """
    name = LAYER_TITLES["bays"]
    added = geojson_layer(
        m,
        gdf,
        name=name,
        style=_fixed("#00897b", fill=0.3, weight=3),
        datum=datum,
        simplify_m=5.0,
        fields=["name_zh", "name_en", "id", "works_zh"],
    )
    if added is None:
        return None
    return legend_for(name, gdf, [LegendItem("海湾 / bay", "#00897b")], added[1])


def add_towns(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw town/street seats coloured by ``town_type``; plan flags shown by the marker outline.

    A provincial pilot town (省级试点) gets a thick black ring, an urban-integration town (城乡融合) a purple
    ring; streets (街道) are small grey dots. Towns without a location are counted in the legend note.

    Parameters
    ----------
    m
        The map.
    gdf
        ``towns`` layer (Point; null geometry where ``location_status == "missing"``).
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if no town has a location.
    """
    data = gdf.copy()
    for flag in ("provincial_pilot", "urban_integration"):
        if flag in data.columns:
            data[flag] = data[flag].map(lambda v: "是 / yes" if bool(v) else "否 / no")

    def style(f: dict[str, Any]) -> Style:
        p = f["properties"]
        c = TOWN_TYPE_COLORS.get(p.get("town_type"), "#636363")
        ring, weight = "#ffffff", 1
        if str(p.get("urban_integration", "")).startswith("是"):
            ring, weight = "#6a3d9a", 3
        if str(p.get("provincial_pilot", "")).startswith("是"):
            ring, weight = "#000000", 3
        radius = 4 if p.get("kind") == "street" else 7
        return {"color": ring, "weight": weight, "fillColor": c, "fillOpacity": 0.95, "radius": radius}

    name = LAYER_TITLES["towns"]
    fields = [
        "name_zh",
        "name_en",
        "id",
        "kind",
        "admin_zh",
        "town_type",
        "provincial_pilot",
        "urban_integration",
    ]
    added = geojson_layer(m, data, name=name, style=style, datum=datum, fields=fields)
    if added is None:
        return None
    items = [LegendItem(t, c, "point") for t, c in TOWN_TYPE_COLORS.items() if t not in ("unassigned", "n/a")]
    items += [
        LegendItem("未分类 / unassigned", TOWN_TYPE_COLORS["unassigned"], "point"),
        LegendItem("街道 / street", TOWN_TYPE_COLORS["n/a"], "point"),
        LegendItem("黑圈：省级试点 / black ring: provincial pilot", "#000000", "dashed"),
        LegendItem("紫圈：城乡融合 / purple ring: urban integration", "#6a3d9a", "dashed"),
    ]
    return legend_for(name, gdf, items, added[1])


def add_town_areas(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw approximate town areas (Voronoi cells of seats) as dashed outlines, off by default.

    Parameters
    ----------
    m
        The map.
    gdf
        ``town_areas`` layer.
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry (noting that the areas are approximate); ``None`` if empty.
    """
    name = LAYER_TITLES["town_areas"]
    added = geojson_layer(
        m,
        gdf,
        name=name,
        style=_fixed("#555555", fill=0.02, weight=1, dash="5 5"),
        datum=datum,
        simplify_m=30.0,
        fields=["name_zh", "id", "kind"],
        show=False,
    )
    if added is None:
        return None
    sec = legend_for(
        name, gdf, [LegendItem("镇街范围(泰森多边形) / Voronoi area", "#555555", "dashed")], added[1]
    )
    return LegendSection(sec.title, sec.items, "近似范围，非行政边界 / approximate, not legal boundaries")


def add_coastal_zones(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw 海岸带管控分区 coloured by ``zone`` (core setback / general control / seaward).

    Parameters
    ----------
    m
        The map.
    gdf
        ``coastal_zones`` layer.
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if empty.
    """

    def style(f: dict[str, Any]) -> Style:
        c = COASTAL_ZONE_COLORS.get(f["properties"].get("zone"), "#999999")
        return {"color": c, "fillColor": c, "fillOpacity": 0.25, "weight": 1}

    name = LAYER_TITLES["coastal_zones"]
    added = geojson_layer(
        m,
        gdf,
        name=name,
        style=style,
        datum=datum,
        simplify_m=10.0,
        fields=["name_zh", "zone", "inner_m", "outer_m", "rule_ref"],
    )
    if added is None:
        return None
    items = [LegendItem(_ZONE_ZH[z], c) for z, c in COASTAL_ZONE_COLORS.items()]
    return legend_for(name, gdf, items, added[1])


def add_line_layer(
    m: folium.Map, gdf: gpd.GeoDataFrame, *, layer: str, datum: str = "wgs84"
) -> LegendSection | None:
    """Draw a line layer: ``coastline``, ``ridgelines``, ``hsr_corridor``, ``view_corridors``, ``feature_streets``.

    Parameters
    ----------
    m
        The map.
    gdf
        The layer.
    layer
        Its contract name (selects title, colour, dash pattern and weight).
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if the layer is empty.
    """
    color, dash, weight = _LINE_STYLES[layer]
    name = LAYER_TITLES[layer]
    fields = ["name_zh", "name_en", "id", "from_zh", "to_zh", "width_m"]
    added = geojson_layer(
        m,
        gdf,
        name=name,
        style=_fixed(color, fill=0.3, weight=weight, dash=dash),
        datum=datum,
        simplify_m=10.0,
        fields=fields,
    )
    if added is None:
        return None
    return legend_for(name, gdf, [LegendItem(name.split(" / ")[0], color, "line")], added[1])


def add_viewpoints(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
    """Draw 观景点 as purple circle markers with the observer height in the tooltip.

    Parameters
    ----------
    m
        The map.
    gdf
        ``viewpoints`` layer.
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if empty.
    """
    name = LAYER_TITLES["viewpoints"]
    added = geojson_layer(
        m,
        gdf,
        name=name,
        style=_fixed("#6a3d9a", fill=0.9, weight=2),
        datum=datum,
        fields=["name_zh", "id", "observer_height_m"],
    )
    if added is None:
        return None
    return legend_for(name, gdf, [LegendItem("观景点 / viewpoint", "#6a3d9a", "point")], added[1])
