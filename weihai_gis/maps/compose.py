"""Ready-made maps: the planning map, the coverage map and the sightlines map.

Each returns a :class:`folium.Map` with a layer control, one legend, a scale bar and the view fitted to the
data (or to Weihai). Warnings about the basemap (e.g. GCJ-02 tiles) are logged, shown on the map and kept in
the map attribute ``weihai_warnings`` (a list of str).
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import pandas as pd

from weihai_gis.crs import WEB_CRS
from weihai_gis.maps.analysis_layers import (
    add_coverage,
    add_edge_origins,
    add_facilities,
    add_gaps,
    add_service_areas,
    add_violations,
)
from weihai_gis.maps.basemaps import add_basemap
from weihai_gis.maps.context import LAND_COLOR, SEA_COLOR, add_land_sea, add_unit_labels
from weihai_gis.maps.legend import LegendItem, LegendSection, add_legend, add_source_note
from weihai_gis.maps.planning_layers import LAYER_TITLES, add_plan_layer
from weihai_gis.maps.prepare import bounds_latlon
from weihai_gis.maps.raster import add_raster
from weihai_gis.maps.scenario_layers import add_scenario_difference
from weihai_gis.render.classes import GAP_THRESHOLD, rate_classes

if TYPE_CHECKING:
    from weihai_gis.lifecircle import CoverageResult

__all__ = ["PLANNING_ORDER", "coverage_map", "planning_map", "rate_label_zh", "sightlines_map"]

log = logging.getLogger(__name__)

#: Layers of the planning map, bottom to top (each drawn by :func:`add_plan_layer` with its own style).
PLANNING_ORDER: tuple[str, ...] = (
    "city_boundary",
    "counties",
    "town_areas",
    "coastal_zones",
    "renewal_districts",
    "bays",
    "feature_streets",
    "coastline",
    "ridgelines",
    "hsr_corridor",
    "view_corridors",
    "viewpoints",
    "towns",
)
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


#: Unit layers labelled with their names (each from its own zoom), largest first.
LABELLED_UNITS = ("counties", "town_areas", "renewal_districts")


def _context(
    m: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame] | None,
    basemap: str,
    datum: str,
    sections: list[LegendSection],
) -> None:
    """Without tiles: sea background and the city's land under everything, said in the legend."""
    if basemap != "none" or layers is None:
        return
    if add_land_sea(m, layers.get("city_boundary"), datum=datum):
        items = (
            LegendItem("市域陆地 / city land", LAND_COLOR),
            LegendItem("海域及市外 / sea, outside", SEA_COLOR),
        )
        sections.append(LegendSection(title="底色 / background", items=items))


def _finish(
    m: folium.Map,
    sections: list[LegendSection],
    frames: list[gpd.GeoDataFrame],
    warnings: list[str],
    skipped: list[str],
) -> folium.Map:
    if skipped:
        sections.append(LegendSection(title="未提供的图层 / empty layers", note="、".join(skipped)))
    folium.LayerControl(collapsed=True).add_to(m)  # a toggle button: the layer list opens on hover or tap
    add_legend(m, sections)
    web = [f.to_crs(WEB_CRS) for f in frames if len(f) and f.crs is not None and f.geometry.notna().any()]
    m.fit_bounds(bounds_latlon([w[w.geometry.notna() & ~w.geometry.is_empty] for w in web]))
    if warnings:  # one stacked box, so several warnings never overlap
        boxes = "".join(
            '<div class="weihai-warning" style="background:#fff3cd;border:1px solid #c90;padding:4px;'
            f'margin-bottom:4px">{html.escape(msg)}</div>'
            for msg in warnings
        )
        folium.Element(
            '<div class="weihai-warnings" style="position:absolute;top:10px;left:60px;max-width:60%;'
            f'z-index:1000;font:12px sans-serif">{boxes}</div>'
        ).add_to(m.get_root().html)  # type: ignore[attr-defined]  # the root is a branca Figure
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
        sec = add_plan_layer(m, gdf, name, datum=datum)
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
    _context(m, layers, basemap, datum, sections)
    _draw(m, layers, list(PLANNING_ORDER), datum, sections, frames, skipped)
    add_unit_labels(m, layers, LABELLED_UNITS, datum=datum)
    return _finish(m, sections, frames, warnings, skipped)


_NOT_ASSESSED = "未评估（输入中无此类设施）/ not assessed (no such facility in the input)"


def _assessment(results: CoverageResult, rate_column: str) -> tuple[str, str, LegendSection | None]:
    """Return the NaN label and legend note for ``rate_column``, and a legend section on categories not assessed.

    A category with no facility in the input is not assessed: its rates are NaN (drawn grey, labelled
    未评估, never 0 %) and 全要素达标率 covers only the assessed 基础保障 categories ("已评估 X/Y 类").
    """
    missing = results.not_assessed()
    scope = results.all_basic_scope_zh()
    missing_label, note = "无人口 / no population", ""
    cid = rate_column.removeprefix("rate_buffer_").removeprefix("rate_")
    if rate_column in ("rate_all_basic", "rate_buffer_all_basic") and scope:
        note = f"全要素达标率（{scope}）/ all-basic rate over the assessed basic categories"
        if scope.startswith("已评估 0/"):
            missing_label = _NOT_ASSESSED
    elif cid in missing:
        missing_label = _NOT_ASSESSED
        note = f"{missing[cid]} 未评估 / not assessed"
    section = None
    if missing:
        section = LegendSection(
            title="未评估 / not assessed",
            items=tuple(LegendItem(f"{name} / {i}", "#cccccc") for i, name in missing.items()),
            note="输入中无此类设施：不计入全要素达标率，覆盖率为空而非 0% / no facility of these kinds in the "
            "input: left out of the all-basic rate; their rates are empty, not 0 %",
        )
    return missing_label, note, section


def rate_label_zh(results: CoverageResult, rate_column: str) -> str:
    """Return the Chinese name of a rate column, e.g. ``"小学覆盖率"``, ``"全要素达标率（直线缓冲）"``."""
    straight = rate_column.startswith("rate_buffer_")
    cid = rate_column.removeprefix("rate_buffer_").removeprefix("rate_")
    names = dict(
        zip(results.categories["id"].astype(str), results.categories["name_zh"].astype(str), strict=True)
    )
    if cid == "all_basic":
        base = "全要素达标率"
    elif cid in names:
        base = f"{names[cid]}覆盖率"
    else:
        return rate_column
    return f"{base}（直线缓冲）" if straight else base


def coverage_map(
    results: CoverageResult,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    rate_column: str = "rate_all_basic",
    gap_threshold: float = GAP_THRESHOLD,
    basemap: str = "none",
    tianditu_key: str | None = None,
    embed_token: bool = False,
    scenarios: Sequence[Any] = (),
) -> folium.Map:
    """Map life-circle coverage: hexagon and unit choropleths of ``rate_column``, gaps and facilities.

    Parameters
    ----------
    results
        The coverage result (in memory from :func:`weihai_gis.coverage`, or read with
        :func:`weihai_gis.io.results.read_results`): its hexagon and unit summaries are drawn as they are.
    layers
        Embedded layers for context (city and county boundaries).
    rate_column
        Rate to map: ``rate_all_basic`` (全要素达标率, over the assessed 基础保障 categories; the legend
        says "已评估 X/Y 类") or ``rate_<category>``. Categories not assessed (no facility of the kind in
        the input) are listed in the legend and a map warning as 未评估 / not assessed and drawn grey.
    gap_threshold
        Units (or hexagons when no unit summary exists) below this share are outlined as gaps.
    basemap, tianditu_key, embed_token
        As in :func:`planning_map`.
    scenarios
        What-if outcomes (:func:`weihai_gis.planning.run_scenarios`) drawn as difference layers (Δ coverage
        hexagons, residents gained or lost, new sites), switched off except the new sites.

    Returns
    -------
    folium.Map
        The map.
    """
    m, datum, warnings = _new_map(basemap, tianditu_key, embed_token)
    in_weihai = results.meta.in_weihai
    hexes = results.hexagons
    units = results.populated_units()
    if not in_weihai:
        warnings.append(
            "覆盖率结果不在威海范围内（样例数据，如赫尔辛基）/ coverage results lie outside Weihai (sample data)"
        )
    missing_label, note, not_assessed = _assessment(results, rate_column)
    if not_assessed is not None:
        warnings.append(
            f"全要素达标率只计{results.all_basic_scope_zh()}；未评估（输入中无此类设施）: "
            f"{'、'.join(results.not_assessed().values())} / not assessed: no such facility in the input"
        )
    drawn = [f for f in (hexes, *units.values()) if len(f) and rate_column in f.columns]
    classes = rate_classes(
        v for f in drawn for v in pd.to_numeric(f[rate_column], errors="coerce").to_numpy()
    )
    style: dict[str, Any] = {
        "missing_label": missing_label,
        "note": note,
        "classes": classes,
        "label": rate_label_zh(results, rate_column),
    }
    sections: list[LegendSection] = []
    frames: list[gpd.GeoDataFrame] = []
    skipped: list[str] = []
    if layers is not None and in_weihai:
        _context(m, layers, basemap, datum, sections)
        _draw(m, layers, ("city_boundary", "counties"), datum, sections, frames, [])
        add_unit_labels(m, layers, ("counties",), datum=datum)
    if len(hexes):
        sec = add_coverage(m, hexes, rate_column=rate_column, title="覆盖率(六边形)", datum=datum, **style)
        if sec is not None:
            sections.append(sec)
            frames.append(hexes)
    for i, (unit, summary) in enumerate(units.items()):
        title = f"覆盖率({LAYER_TITLES.get(unit, unit).split(' / ')[0]})"
        first = i == 0 and not len(hexes)
        sec = add_coverage(m, summary, rate_column=rate_column, title=title, datum=datum, show=first, **style)
        if sec is not None:
            classed = any(s.title.startswith("覆盖率") for s in sections)
            sections.append(
                LegendSection(sec.title, (), "分级同上 / same classes as above") if classed else sec
            )
            frames.append(summary)
    gap_source = next(iter(units.values()), hexes)
    if len(gap_source):
        sec = add_gaps(
            m,
            gap_source,
            rate_column=rate_column,
            threshold=gap_threshold,
            datum=datum,
            label=style["label"],
        )
        if sec is not None:
            sections.append(sec)
    if results.service_areas is not None and len(results.service_areas):
        sec = add_service_areas(m, results.service_areas, datum=datum)
        if sec is not None:
            sections.append(sec)
    if len(results.facilities):
        names = dict(
            zip(results.categories["id"].astype(str), results.categories["name_zh"].astype(str), strict=True)
        )
        sec = add_facilities(m, results.facilities, datum=datum, category_names=names)
        if sec is not None:
            sections.append(sec)
    for outcome in scenarios:
        sections += add_scenario_difference(
            m,
            outcome.scenario.name,
            outcome.hexagons,
            outcome.origins,
            outcome.new_facilities,
            category=rate_column.removeprefix("rate_"),
            datum=datum,
        )
    if (sec := add_edge_origins(m, results.origins, datum=datum)) is not None:
        sections.append(sec)
    if not_assessed is not None:
        sections.append(not_assessed)
    add_unit_labels(
        m, {k: v for k, v in units.items() if k != "counties" or layers is None}, tuple(units), datum=datum
    )
    # open on where people live (the hexagons), not on the context boundaries of the whole city
    view = [hexes] if len(hexes) else frames
    add_source_note(m, results.source_lines())
    return _finish(m, sections, view, warnings, skipped)


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
    _context(m, source, basemap, datum, sections)
    _draw(m, source, [n for n in _SIGHTLINE_LAYERS if n in source], datum, sections, frames, skipped)
    add_unit_labels(m, source, ("counties",), datum=datum)
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
