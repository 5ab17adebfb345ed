"""Drawing primitive shared by the layer builders: one GeoDataFrame -> one toggleable GeoJSON layer.

Points are drawn as SVG circle markers (no icon images, no icon fonts), lines and polygons as SVG paths, with
bilingual tooltips (``"名称 / name"``) built from the columns present.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd

from weihai_gis.maps.legend import LegendSection
from weihai_gis.maps.prepare import MAX_FEATURES, web_frame

__all__ = ["FIELD_ALIASES", "STATUS_ZH", "Style", "geojson_layer", "legend_for", "status_note"]

#: Style of one feature, as Leaflet path options (``color``, ``weight``, ``fillColor``, ...).
Style = dict[str, Any]

#: Chinese labels of the ``status`` values of the data contract.
STATUS_ZH = {
    "official": "官方 / official",
    "approximate": "近似 / approximate",
    "indicative": "示意 / indicative",
    "candidate": "候选 / candidate",
    "parameter": "参数化 / parameter",
}

#: Tooltip alias of each known column (Chinese first).
FIELD_ALIASES = {
    "name_zh": "名称 / name",
    "name_en": "英文名 / English",
    "id": "编号 / id",
    "kind": "类别 / kind",
    "group": "分组 / group",
    "axis": "轴带 / axis",
    "admin_zh": "所属 / admin",
    "town_type": "镇类型 / town type",
    "urban_integration": "城乡融合 / urban integration",
    "provincial_pilot": "省级试点 / provincial pilot",
    "works_zh": "工程 / works",
    "zone": "分区 / zone",
    "inner_m": "内距(米) / inner (m)",
    "outer_m": "外距(米) / outer (m)",
    "rule_ref": "规则 / rule",
    "from_zh": "起点 / from",
    "to_zh": "终点 / to",
    "width_m": "宽度(米) / width (m)",
    "observer_height_m": "视点高(米) / eye height (m)",
    "population": "人口 / population",
    "n_origins": "起点数 / origins",
    "rate_label": "覆盖率 / coverage",
    "origin_id": "起点 / origin",
    "edge_m": "距数据边界(米) / to the data edge (m)",
    "edge_note": "说明 / note",
    "service_zh": "服务范围 / service area",
    "facility": "设施 / facility",
    "building_id": "建筑 / building",
    "rule_zh": "管控规则 / rule",
    "limit_m": "限高(米) / limit (m)",
    "height_m": "高度(米) / height (m)",
    "excess_m": "超出(米) / excess (m)",
    "status_zh": "可信度 / status",
    "basis": "依据 / basis",
}


def status_note(gdf: gpd.GeoDataFrame) -> str:
    """Return a legend note naming non-official statuses in the layer (``""`` if all official/absent).

    Parameters
    ----------
    gdf
        Layer with an optional ``status`` column.

    Returns
    -------
    str
        E.g. ``"位置为近似 / approximate"``.
    """
    if "status" not in gdf.columns:
        return ""
    statuses = sorted({s for s in gdf["status"].dropna().astype(str) if s != "official"})
    if not statuses:
        return ""
    return "非官方位置：" + "、".join(STATUS_ZH.get(s, s) for s in statuses)


def geojson_layer(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    style: Callable[[dict[str, Any]], Style],
    fields: list[str],
    style_fields: tuple[str, ...] = (),
    simplify_m: float = 0.0,
    datum: str = "wgs84",
    show: bool = True,
    point_radius_px: float = 6.0,
    max_features: int = MAX_FEATURES,
) -> tuple[folium.FeatureGroup, int] | None:
    """Add ``gdf`` to the map as a toggleable layer named ``name``.

    Parameters
    ----------
    m
        The map.
    gdf
        Layer with a CRS (any); rows without geometry are skipped.
    name
        Layer-control title (Chinese first).
    style
        Function of the GeoJSON feature properties returning Leaflet path options.
    fields
        Columns shown in the tooltip, in order (absent ones are ignored); ``status`` is shown in Chinese.
    style_fields
        Further columns kept in the feature properties for ``style`` but not shown.
    simplify_m
        Simplification tolerance in metres for lines/polygons.
    datum
        ``"wgs84"`` or ``"gcj02"`` (display shift for GCJ-02 tiles).
    show
        Whether the layer is switched on when the page opens.
    point_radius_px
        Radius of point markers in screen pixels.
    max_features
        Most features drawn (more raise :class:`~weihai_gis.errors.LayerError`).

    Returns
    -------
    tuple of (folium.FeatureGroup, int) or None
        The layer group and the number of rows without geometry; ``None`` if nothing can be drawn.
    """
    frame = web_frame(
        gdf,
        where=f"layer {name!r}",
        simplify_m=simplify_m,
        datum=datum,
        max_features=max_features,
        columns=[*fields, *style_fields, "status", "basis"],
    )
    data = frame.gdf
    if data.empty:
        return None
    if "status" in data.columns:
        data = data.assign(status_zh=data["status"].map(lambda s: STATUS_ZH.get(s, s)))
    tip_fields = [f for f in [*fields, "status_zh", "basis"] if f in data.columns]
    kept = tip_fields + [f for f in style_fields if f in data.columns and f not in tip_fields]
    data = data[[*kept, data.geometry.name]]
    group = folium.FeatureGroup(name=name, show=show)
    folium.GeoJson(
        data.to_json(drop_id=True),
        name=name,
        style_function=style,
        marker=folium.CircleMarker(radius=point_radius_px, fill=True),
        tooltip=folium.GeoJsonTooltip(
            fields=tip_fields,
            aliases=[FIELD_ALIASES.get(f, f) for f in tip_fields],
            sticky=True,
        ),
        highlight_function=lambda _f: {"weight": 5, "fillOpacity": 0.6},
        smooth_factor=1.0,
    ).add_to(group)
    group.add_to(m)
    return group, frame.n_missing


def legend_for(name: str, gdf: gpd.GeoDataFrame, items: list[Any], n_missing: int = 0) -> LegendSection:
    """Return the legend section of a layer with its status note and missing-geometry count."""
    note = status_note(gdf)
    if n_missing:
        note = (note + "；" if note else "") + f"{n_missing} 个无位置未绘制 / {n_missing} without location"
    return LegendSection(title=name, items=tuple(items), note=note)
