"""Builders for analysis results: coverage choropleths, gaps, facilities (clustered), sightline violations."""

from __future__ import annotations

import html
import logging
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from folium.plugins import FastMarkerCluster

from weihai_gis.errors import LayerError
from weihai_gis.maps.draw import Style, geojson_layer, legend_for
from weihai_gis.maps.legend import LegendItem, LegendSection
from weihai_gis.maps.prepare import web_frame
from weihai_gis.render.classes import GAP_THRESHOLD, RateClasses

__all__ = [
    "add_coverage",
    "add_edge_origins",
    "add_facilities",
    "add_gaps",
    "add_service_areas",
    "add_violations",
]

log = logging.getLogger(__name__)

_CATEGORY_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def _rate_column(gdf: gpd.GeoDataFrame, rate_column: str, where: str) -> None:
    if rate_column not in gdf.columns:
        rates = [c for c in gdf.columns if c.startswith("rate_")]
        raise LayerError(
            f"{where}: no column {rate_column!r}; available rate columns: {', '.join(rates) or 'none'}."
        )


def add_coverage(
    m: folium.Map,
    summary: gpd.GeoDataFrame,
    *,
    rate_column: str = "rate_all_basic",
    title: str = "覆盖率",
    datum: str = "wgs84",
    show: bool = True,
    missing_label: str = "无人口 / no population",
    note: str = "",
    classes: RateClasses | None = None,
    label: str | None = None,
) -> LegendSection | None:
    """Draw a coverage summary (hexagons or units) as a 5-class choropleth of ``rate_column``.

    Parameters
    ----------
    m
        The map.
    summary
        ``CoverageResult.summary(...)`` / ``hex_summary(...)`` output (``rate_<category>`` shares 0..1).
    rate_column
        Column to map, e.g. ``rate_all_basic`` or ``rate_clinic``.
    title
        Chinese title prefix of the layer (the column name is appended).
    datum
        Basemap datum.
    show
        Whether the layer is on when the page opens.
    missing_label
        What a NaN rate means, shown in tooltips and the grey legend swatch: no population by default;
        ``"未评估 / not assessed"`` when the rate's category has no facility in the input.
    note
        Extra legend remark (e.g. the scope of 全要素达标率), put before "按人口加权".
    classes
        The classification (:func:`weihai_gis.render.classes.rate_classes` over every layer of the map);
        default the fixed 20 % classes.
    label
        Chinese name of the rate (e.g. ``"全要素达标率"``) for the layer title; default ``rate_column``.

    Returns
    -------
    LegendSection or None
        Classed legend (the classes' labels and scale note); ``None`` if the summary is empty.

    Raises
    ------
    LayerError
        If ``rate_column`` is missing.
    """
    name = f"{title} {label or rate_column}"
    _rate_column(summary, rate_column, f"coverage layer {name!r}")
    scale = classes or RateClasses()
    data = summary.copy()
    rates = pd.to_numeric(data[rate_column], errors="coerce")
    data["rate_label"] = rates.map(lambda r: missing_label if pd.isna(r) else f"{100 * r:.1f}%")
    data["_color"] = rates.map(lambda r: scale.color(None if pd.isna(r) else float(r)))

    def style(f: dict[str, Any]) -> Style:
        c = f["properties"].get("_color")
        return {"color": "#555555", "weight": 0.5, "fillColor": c, "fillOpacity": 0.7}

    added = geojson_layer(
        m,
        data,
        name=name,
        style=style,
        datum=datum,
        show=show,
        simplify_m=5.0,
        fields=["name_zh", "id", "population", "n_origins", "rate_label"],
        style_fields=("_color",),
    )
    if added is None:
        return None
    items = [LegendItem(t, c) for t, c in zip(scale.labels(), scale.colors, strict=True)]
    items.append(LegendItem(missing_label, scale.color(None)))
    remark = "；".join(t for t in (note, scale.note, "按人口加权 / population-weighted") if t)
    return LegendSection(title=name, items=tuple(items), note=remark)


def add_gaps(
    m: folium.Map,
    summary: gpd.GeoDataFrame,
    *,
    rate_column: str = "rate_all_basic",
    threshold: float = GAP_THRESHOLD,
    datum: str = "wgs84",
    label: str | None = None,
) -> LegendSection | None:
    """Outline the units whose coverage is below ``threshold`` (the planning gaps) in thick red.

    Parameters
    ----------
    m
        The map.
    summary
        Coverage summary with ``rate_column``.
    rate_column
        Rate column (share 0..1).
    threshold
        Units with a rate strictly below this share are gaps.
    datum
        Basemap datum.
    label
        Chinese name of the rate for the legend (default ``rate_column``).

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` if there is no gap.
    """
    _rate_column(summary, rate_column, "gap layer")
    rates = pd.to_numeric(summary[rate_column], errors="coerce")
    gaps = summary.loc[rates < threshold].copy()
    gaps["rate_label"] = pd.to_numeric(gaps[rate_column]).map(lambda r: f"{100 * r:.1f}%")
    name = f"短板单元 (<{100 * threshold:.0f}%) / gaps"
    added = geojson_layer(
        m,
        gaps,
        name=name,
        datum=datum,
        simplify_m=5.0,
        style=lambda _f: {"color": "#b2182b", "weight": 3, "fillOpacity": 0.0},
        fields=["name_zh", "id", "population", "rate_label"],
    )
    if added is None:
        return None
    item = LegendItem(f"{label or rate_column} < {100 * threshold:.0f}%", "#b2182b", "dashed")
    return LegendSection(title=name, items=(item,), note=f"{len(gaps)} 个单元 / units")


def add_service_areas(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    datum: str = "wgs84",
    show: bool = False,
) -> LegendSection | None:
    """Draw 服务范围 (network service areas): one toggleable layer per category, each in its colour.

    Parameters
    ----------
    m
        The map.
    areas
        ``CoverageResult.service_areas`` (:func:`~weihai_gis.lifecircle.service_areas.result_service_areas`):
        category, name_zh, mode, facility, cutoff_m, buffer_m, network_m, polygons.
    datum
        Basemap datum.
    show
        Whether the layers are on when the page opens (off by default: they cover the choropleths).

    Returns
    -------
    LegendSection or None
        One swatch per category; ``None`` if there is no area.
    """
    if areas is None or areas.empty:
        return None
    data = areas.copy()
    cats = list(dict.fromkeys(data["category"].astype(str)))
    colors = {c: _CATEGORY_PALETTE[i % len(_CATEGORY_PALETTE)] for i, c in enumerate(cats)}
    data["_color"] = data["category"].astype(str).map(colors)
    names = data["name_zh"].astype(str) if "name_zh" in data.columns else data["category"].astype(str)
    data["service_zh"] = [
        f"{n} 步行 {c:g} m + 两侧 {b:g} m；街道 {s / 1000:.1f} km"
        for n, c, b, s in zip(names, data["cutoff_m"], data["buffer_m"], data["network_m"], strict=True)
    ]

    def style(f: dict[str, Any]) -> Style:
        c = f["properties"].get("_color", "#666666")
        return {"color": c, "weight": 1, "fillColor": c, "fillOpacity": 0.15}

    labels = dict(zip(data["category"].astype(str), names, strict=True))
    drawn = []
    for cid in cats:  # one toggleable layer per category: they overlap, a planner looks at one at a time
        added = geojson_layer(
            m,
            data[data["category"].astype(str) == cid],
            name=f"服务范围 {labels[cid]} / service area {cid}",
            datum=datum,
            show=show,
            simplify_m=2.0,
            style=style,
            fields=["service_zh", "facility"],
            style_fields=("_color",),
        )
        if added is not None:
            drawn.append(cid)
    if not drawn:
        return None
    name = "服务范围 / service areas"
    buffers = sorted({float(b) for b in data["buffer_m"]})
    return LegendSection(
        title=name,
        items=tuple(LegendItem(f"{labels[c]} / {c}", colors[c]) for c in drawn),
        note=(
            f"沿路网步行可达的街道两侧各 {'、'.join(f'{b:g}' for b in buffers)} m，非凸包 / streets within the walking "
            "limit, buffered laterally; not a hull"
        ),
    )


def add_facilities(
    m: folium.Map,
    facilities: gpd.GeoDataFrame,
    *,
    category_column: str = "category",
    datum: str = "wgs84",
    category_names: dict[str, str] | None = None,
) -> LegendSection | None:
    """Draw facilities as clustered circle markers coloured by category (Leaflet.markercluster).

    Parameters
    ----------
    m
        The map.
    facilities
        Point layer with a CRS and a category column.
    category_column
        Column naming each facility's category (missing -> one colour).
    datum
        Basemap datum.
    category_names
        Category id → Chinese name for the legend and tooltips (``"小学 / primary_school"``).

    Returns
    -------
    LegendSection or None
        Legend entry with one colour per category; ``None`` if there is no facility.
    """
    frame = web_frame(facilities, where="facilities", datum=datum)
    data = frame.gdf
    data = data[data.geometry.geom_type == "Point"]
    if data.empty:
        return None
    cats = (
        data[category_column].astype(str)
        if category_column in data.columns
        else pd.Series("设施", index=data.index)
    )
    if category_names:
        cats = cats.map(lambda c: f"{category_names[c]} / {c}" if c in category_names else c)
    colors = {c: _CATEGORY_PALETTE[i % len(_CATEGORY_PALETTE)] for i, c in enumerate(sorted(cats.unique()))}
    label_col = next((c for c in ("name_zh", "name", "id") if c in data.columns), None)
    labels = data[label_col].astype(str) if label_col else cats
    rows = [
        [float(p.y), float(p.x), html.escape(f"{lab} · {cat}"), colors[cat]]
        for p, lab, cat in zip(data.geometry, labels, cats, strict=True)
    ]
    callback = """function (row) {
            var marker = L.circleMarker(new L.LatLng(row[0], row[1]),
                {radius: 5, color: "#333", weight: 1, fillColor: row[3], fillOpacity: 0.9});
            marker.bindTooltip(row[2]);
            return marker;
        }"""
    name = "设施 / facilities"
    FastMarkerCluster(rows, callback=callback, name=name, show=True).add_to(m)
    items = [LegendItem(c, col, "point") for c, col in colors.items()]
    return LegendSection(title=name, items=tuple(items), note=f"{len(rows)} 处，聚合显示 / clustered")


def add_violations(
    m: folium.Map, violations: gpd.GeoDataFrame, *, datum: str = "wgs84"
) -> LegendSection | None:
    """Draw sightline/height-control violations coloured by how much a building exceeds its limit.

    Parameters
    ----------
    m
        The map.
    violations
        ``violations`` layer (building_id, rule, rule_zh, limit_m, height_m, excess_m, zone, geometry).
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry (excess classes in metres); ``None`` if there is no violation.
    """
    bins = (
        (0.0, "#fdae61", "超高 0–10 米 / excess 0-10 m"),
        (10.0, "#f46d43", "10–30 米 / m"),
        (30.0, "#a50026", "> 30 米 / m"),
    )

    def style(f: dict[str, Any]) -> Style:
        excess = f["properties"].get("excess_m") or 0.0
        c = next(col for lo, col, _ in reversed(bins) if float(excess) >= lo)
        return {"color": "#67001f", "weight": 1, "fillColor": c, "fillOpacity": 0.85, "radius": 5}

    name = "超高违规 / violations"
    added = geojson_layer(
        m,
        violations,
        name=name,
        style=style,
        datum=datum,
        fields=["building_id", "rule_zh", "zone", "limit_m", "height_m", "excess_m"],
    )
    if added is None:
        return None
    return legend_for(name, violations, [LegendItem(lab, col) for _lo, col, lab in bins], added[1])


def add_edge_origins(
    m: folium.Map, origins: gpd.GeoDataFrame, *, flag: str = "edge_affected_all_basic", datum: str = "wgs84"
) -> LegendSection | None:
    """Mark the origins whose result may be an artefact of the data edge (``lifecircle/edge.py``).

    Parameters
    ----------
    m
        The map.
    origins
        Result origins with the ``flag`` column (True: closer to the data boundary than a walking limit, so
        the nearest facility may lie outside the extract).
    flag
        Edge column to show (default: any assessed basic category).
    datum
        Basemap datum.

    Returns
    -------
    LegendSection or None
        Legend entry; ``None`` when the origins carry no edge flags or none is flagged.
    """
    if flag not in origins.columns:
        return None
    edge = origins.loc[origins[flag].fillna(False).astype(bool)]
    if edge.empty:
        return None
    name = "数据边缘起点 / origins near the data edge"
    added = geojson_layer(
        m,
        edge.assign(edge_note="最近设施可能在数据范围外 / nearest facility may lie outside the data"),
        name=name,
        datum=datum,
        show=False,
        point_radius_px=3,
        style=lambda _f: {"color": "#6a3d9a", "weight": 1, "fillColor": "#ffffff", "fillOpacity": 0.6},
        fields=["origin_id", "population", "edge_m", "edge_note"],
    )
    if added is None:
        return None
    note = f"{len(edge)}/{len(origins)} 个起点：其“未覆盖”可能是数据边缘造成的 / their gaps may be edge artefacts"
    return LegendSection(
        title=name, items=(LegendItem("边缘起点 / edge origin", "#6a3d9a", "point"),), note=note
    )
