"""Ready-made maps: the planning map, the coverage map and the sightlines map.

Each returns a :class:`folium.Map` with a layer control, one legend, a scale bar and the view fitted to the
data (or to Weihai). Warnings about the basemap (e.g. GCJ-02 tiles) are logged, shown on the map and kept in
the map attribute ``weihai_warnings`` (a list of str).
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import folium
import geopandas as gpd

from weihai_gis.crs import WEB_CRS
from weihai_gis.maps.basemaps import add_basemap
from weihai_gis.maps.legend import LegendSection, add_legend
from weihai_gis.maps.planning_layers import (
    LAYER_TITLES,
    add_bays,
    add_boundaries,
    add_coastal_zones,
    add_feature_streets,
    add_line_layer,
    add_renewal_districts,
    add_town_areas,
    add_towns,
    add_viewpoints,
)
from weihai_gis.maps.prepare import bounds_latlon
from weihai_gis.maps.raster import add_raster
from weihai_gis.maps.result_layers import add_coverage, add_facilities, add_gaps, add_violations
from weihai_gis.maps.results import coverage_tables

__all__ = ["PLANNING_ORDER", "coverage_map", "planning_map", "sightlines_map"]

log = logging.getLogger(__name__)

Builder = Callable[..., LegendSection | None]


def _line(layer: str) -> Builder:
    def build(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
        return add_line_layer(m, gdf, layer=layer, datum=datum)

    return build


def _outline(layer: str) -> Builder:
    def build(m: folium.Map, gdf: gpd.GeoDataFrame, *, datum: str = "wgs84") -> LegendSection | None:
        return add_boundaries(m, gdf, layer=layer)

    return build


#: Layers of the planning map, bottom to top, with their builders.
PLANNING_ORDER: dict[str, Builder] = {
    "city_boundary": _outline("city_boundary"),
    "counties": _outline("counties"),
    "town_areas": add_town_areas,
    "coastal_zones": add_coastal_zones,
    "renewal_districts": add_renewal_districts,
    "bays": add_bays,
    "feature_streets": add_feature_streets,
    "coastline": _line("coastline"),
    "ridgelines": _line("ridgelines"),
    "hsr_corridor": _line("hsr_corridor"),
    "view_corridors": _line("view_corridors"),
    "viewpoints": add_viewpoints,
    "towns": add_towns,
}
_SIGHTLINE_LAYERS = (
    "city_boundary",
    "coastal_zones",
    "coastline",
    "ridgelines",
    "hsr_corridor",
    "view_corridors",
    "viewpoints",
)


def _new_map(basemap: str, tianditu_key: str | None, embed_token: bool) -> tuple[folium.Map, str, list[str]]:
    # maxZoom in the L.map options: MarkerCluster needs it when there is no tile layer.
    m = folium.Map(location=None, tiles=None, control_scale=True, maxZoom=18, prefer_canvas=False)
    info = add_basemap(m, basemap, tianditu_key=tianditu_key, embed_token=embed_token)
    return m, info.datum, list(info.warnings)


def _finish(
    m: folium.Map,
    sections: list[LegendSection],
    frames: list[gpd.GeoDataFrame],
    warnings: list[str],
    skipped: list[str],
) -> folium.Map:
    if skipped:
        sections.append(LegendSection(title="未提供的图层 / empty layers", note="、".join(skipped)))
    folium.LayerControl(collapsed=False).add_to(m)
    add_legend(m, sections)
    web = [f.to_crs(WEB_CRS) for f in frames if len(f) and f.crs is not None and f.geometry.notna().any()]
    m.fit_bounds(bounds_latlon([w[w.geometry.notna() & ~w.geometry.is_empty] for w in web]))
    for msg in warnings:
        folium.Element(
            f'<div class="weihai-warning" style="position:absolute;top:10px;left:60px;z-index:1000;'
            f'background:#fff3cd;border:1px solid #c90;padding:4px;font:12px sans-serif">{html.escape(msg)}</div>'
        ).add_to(m.get_root().html)
    m.weihai_warnings = warnings  # type: ignore[attr-defined]
    return m


def _draw(
    m: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    names: tuple[str, ...] | list[str],
    datum: str,
    sections: list[LegendSection],
    frames: list[gpd.GeoDataFrame],
    skipped: list[str],
) -> None:
    for name in names:
        gdf = layers.get(name)
        if gdf is None or len(gdf) == 0:
            skipped.append(LAYER_TITLES[name])
            continue
        sec = PLANNING_ORDER[name](m, gdf, datum=datum)
        if sec is None:
            skipped.append(LAYER_TITLES[name])
        else:
            sections.append(sec)
            frames.append(gdf)


def planning_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    basemap: str = "none",
    tianditu_key: str | None = None,
    embed_token: bool = False,
) -> folium.Map:
    """Map every plan layer of the dataset (renewal districts, streets, bays, towns, zones, corridors ...).

    Parameters
    ----------
    layers
        Mapping of contract layer name -> GeoDataFrame, e.g. ``weihai_gis.layers.load_layers()``; layers
        missing or empty are listed in the legend as not available.
    basemap
        ``none`` (default; offline), ``osm``, ``tianditu``, ``tianditu-img`` or ``amap`` (GCJ-02).
    tianditu_key
        Tianditu key (else ``$TIANDITU_TOKEN``); written into the HTML only with ``embed_token=True``.
    embed_token
        Embed the Tianditu key in the page.

    Returns
    -------
    folium.Map
        The map; ``m.weihai_warnings`` lists basemap warnings.
    """
    m, datum, warnings = _new_map(basemap, tianditu_key, embed_token)
    sections: list[LegendSection] = []
    frames: list[gpd.GeoDataFrame] = []
    skipped: list[str] = []
    _draw(m, layers, list(PLANNING_ORDER), datum, sections, frames, skipped)
    return _finish(m, sections, frames, warnings, skipped)


def coverage_map(
    results: Any,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    rate_column: str = "rate_all_basic",
    gap_threshold: float = 0.6,
    hex_size_m: float = 500.0,
    basemap: str = "none",
    tianditu_key: str | None = None,
    embed_token: bool = False,
) -> folium.Map:
    """Map life-circle coverage: hexagon and unit choropleths of ``rate_column``, gaps and facilities.

    Parameters
    ----------
    results
        A ``CoverageResult``, a mapping of result layers (``summary_hex``, ``summary_<units>``,
        ``facilities``, ``origins``) or the path of a results GeoPackage.
    layers
        Embedded layers for context (boundaries) and, with a ``CoverageResult``, the summary units.
    rate_column
        Rate to map: ``rate_all_basic`` (全要素达标率) or ``rate_<category>``.
    gap_threshold
        Units (or hexagons when no unit summary exists) below this share are outlined as gaps.
    hex_size_m
        Hexagon size in metres when ``results`` is a ``CoverageResult``.
    basemap, tianditu_key, embed_token
        As in :func:`planning_map`.

    Returns
    -------
    folium.Map
        The map.
    """
    tables = coverage_tables(results, layers, hex_size_m=hex_size_m)
    m, datum, warnings = _new_map(basemap, tianditu_key, embed_token)
    if not tables.in_weihai:
        warnings.append(
            "覆盖率结果不在威海范围内（样例数据，如赫尔辛基）/ coverage results lie outside Weihai (sample data)"
        )
    sections: list[LegendSection] = []
    frames: list[gpd.GeoDataFrame] = []
    skipped: list[str] = []
    if layers is not None and tables.in_weihai:
        _draw(m, layers, ("city_boundary", "counties"), datum, sections, frames, [])
    if tables.hex is not None and len(tables.hex):
        sec = add_coverage(m, tables.hex, rate_column=rate_column, title="覆盖率(六边形)", datum=datum)
        if sec is not None:
            sections.append(sec)
            frames.append(tables.hex)
    for i, (unit, summary) in enumerate(tables.units.items()):
        title = f"覆盖率({LAYER_TITLES.get(unit, unit).split(' / ')[0]})"
        first = i == 0 and tables.hex is None
        sec = add_coverage(m, summary, rate_column=rate_column, title=title, datum=datum, show=first)
        if sec is not None:
            classed = any(s.title.startswith("覆盖率") for s in sections)
            sections.append(
                LegendSection(sec.title, (), "分级同上 / same classes as above") if classed else sec
            )
            frames.append(summary)
    gap_source = next(iter(tables.units.values()), tables.hex)
    if gap_source is not None and len(gap_source):
        sec = add_gaps(m, gap_source, rate_column=rate_column, threshold=gap_threshold, datum=datum)
        if sec is not None:
            sections.append(sec)
    if tables.facilities is not None and len(tables.facilities):
        sec = add_facilities(m, tables.facilities, datum=datum)
        if sec is not None:
            sections.append(sec)
    return _finish(m, sections, frames, warnings, skipped)


def sightlines_map(
    violations: gpd.GeoDataFrame | None = None,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    zones: gpd.GeoDataFrame | None = None,
    viewshed: str | os.PathLike[str] | None = None,
    surface: str | os.PathLike[str] | None = None,
    basemap: str = "none",
    tianditu_key: str | None = None,
    embed_token: bool = False,
) -> folium.Map:
    """Map the 三线 controls (coastal zones, ridgelines, HSR corridor, view corridors, viewpoints) and violations.

    Parameters
    ----------
    violations
        Violations from the sightlines checks (building_id, rule_zh, limit_m, height_m, excess_m, zone).
    layers
        Embedded layers supplying the control geometry.
    zones
        Coastal control zones overriding ``layers["coastal_zones"]`` (e.g. from ``sightlines.coastal_zones``).
    viewshed
        Viewshed GeoTIFF (cells > 0 visible) drawn as a yellow overlay.
    surface
        Height-control surface GeoTIFF (metres) drawn in 5 quantile classes.
    basemap, tianditu_key, embed_token
        As in :func:`planning_map`.

    Returns
    -------
    folium.Map
        The map.
    """
    m, datum, warnings = _new_map(basemap, tianditu_key, embed_token)
    source = dict(layers or {})
    if zones is not None:
        source["coastal_zones"] = zones
    sections: list[LegendSection] = []
    frames: list[gpd.GeoDataFrame] = []
    skipped: list[str] = []
    _draw(m, source, [n for n in _SIGHTLINE_LAYERS if n in source], datum, sections, frames, skipped)
    if datum != "wgs84" and (viewshed is not None or surface is not None):
        raise ValueError("raster overlays cannot be shifted to GCJ-02; use basemap none/osm/tianditu.")
    if surface is not None:
        sections.append(add_raster(m, surface, name="限高面 / height-control surface", kind="continuous"))
    if viewshed is not None:
        sections.append(add_raster(m, viewshed, name="可视域 / viewshed", kind="binary"))
    if violations is not None and len(violations):
        sec = add_violations(m, violations, datum=datum)
        if sec is not None:
            sections.append(sec)
            frames.append(violations)
    return _finish(m, sections, frames, warnings, skipped)
