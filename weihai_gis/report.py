"""One-file HTML report (Chinese): summaries, 覆盖率 tables, SVG charts, embedded offline maps, method, provenance.

The report is rendered from ``weihai_gis/templates/report.html.j2`` with jinja2. Charts are inline SVG bars
drawn here (no JavaScript chart library); maps are the offline map pages of :mod:`weihai_gis.maps` embedded as
``<iframe srcdoc>``, so the file opens without internet and makes no network request.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd

from weihai_gis.files import atomic_path
from weihai_gis.lifecircle.columns import ALL_BASIC, column
from weihai_gis.lifecircle.results import INPUT_STATUS_ZH
from weihai_gis.maps import coverage_map, map_html, planning_map, sightlines_map
from weihai_gis.maps.draw import STATUS_ZH
from weihai_gis.maps.planning_layers import LAYER_TITLES
from weihai_gis.render.charts import svg_bar_chart, svg_paired_bar_chart
from weihai_gis.render.classes import GAP_THRESHOLD
from weihai_gis.render.markdown import markdown_to_html
from weihai_gis.render.sections import problems_section, targets_section
from weihai_gis.render.walker_gap import walker_gap_tables

if TYPE_CHECKING:
    from weihai_gis.lifecircle import CoverageResult

__all__ = ["build_report", "svg_bar_chart", "write_report"]

log = logging.getLogger(__name__)

#: Titles of the summary units: the layer schemas' titles, plus the hexagon grid.
_UNIT_TITLES = {**LAYER_TITLES, "hex": "六边形网格 / hexagons"}
_APPROX = {"approximate", "indicative", "candidate", "parameter"}
_NOT_ASSESSED = "未评估 / not assessed"


def _pct(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return "—" if np.isnan(f) else f"{100 * f:.1f}%"


def _rate_text(value: Any, not_assessed: bool) -> str:
    return _NOT_ASSESSED if not_assessed else _pct(value)


def _gap_text(value: Any, not_assessed: bool) -> str:
    if not_assessed:
        return "—"
    f = pd.to_numeric(value, errors="coerce")
    return "—" if pd.isna(f) else f"{100 * float(f):+.1f} pt"


def _column_names(res: CoverageResult) -> dict[str, str]:
    """Header of each rate column of the unit tables, Chinese first."""
    names = {
        column("rate", ALL_BASIC): f"全要素达标率（{res.all_basic_scope_zh()}）/ all basic",
        column("rate", ALL_BASIC, buffer=True): "直线缓冲达标率 / all basic, straight line",
        "rate_interior_all_basic": "全要素达标率（不含数据边缘）/ all basic, interior origins",
    }
    for _, row in res.categories.iterrows():
        names[column("rate", str(row["id"]))] = f"{row['name_zh']} / {row['id']}"
    return names


def _citation(c: Any) -> str:
    if isinstance(c, Mapping):
        return "，".join(str(c[k]) for k in ("document", "clause", "url") if c.get(k))
    return "" if c is None or (isinstance(c, float) and np.isnan(c)) else str(c)


def _count(v: Any) -> str:
    f = pd.to_numeric(v, errors="coerce")
    return "—" if pd.isna(f) else f"{float(f):,.0f}"


def _unit_table(
    summary: gpd.GeoDataFrame,
    rate_cols: list[str],
    names: dict[str, str],
    not_assessed: set[str],
    estimated: bool = False,
) -> dict[str, Any]:
    pop = "人口（估算）/ population (estimated)" if estimated else "人口 / population"
    header = ["名称 / name", pop, "起点 / origins"] + [names.get(c, c) for c in rate_cols]
    rows = [
        [
            str(r.get("name_zh") or r.get("id", "")),
            _count(r.get("population")),
            _count(r.get("n_origins")),
            *[_rate_text(r[c], c in not_assessed) for c in rate_cols],
        ]
        for _, r in summary.iterrows()
    ]
    return {"header": header, "rows": rows}


def _unit_chart(summary: gpd.GeoDataFrame, title: str, missing: str | None, max_bars: int = 30) -> str:
    """Bar chart of rate_all_basic per unit, lowest first (the gaps), at most ``max_bars`` bars."""
    rates = pd.to_numeric(summary[column("rate", ALL_BASIC)], errors="coerce")
    order = rates.sort_values(na_position="last").index[:max_bars]
    names = summary["name_zh"].where(summary["name_zh"].notna(), summary["id"]).astype(str)
    if len(summary) > max_bars:
        title = f"{title}（最低 {max_bars} 个 / lowest {max_bars} of {len(summary)}）"
    return svg_bar_chart(
        [names[i] for i in order],
        [float(rates[i]) for i in order],
        title=title,
        missing_labels=[missing] * len(order),
    )


def _coverage_context(res: CoverageResult) -> dict[str, Any]:
    """Everything the coverage section shows, read from the result (nothing is recomputed here)."""
    table = res.overall().set_index("id")
    missing = res.not_assessed()
    no_basic = not bool(table.loc[ALL_BASIC, "assessed"])
    names = _column_names(res)
    # rate columns whose value means "not assessed" rather than a share
    gone = {column("rate", c, buffer=b) for c in missing for b in (False, True)}
    if no_basic:
        gone |= {column("rate", ALL_BASIC, buffer=b) for b in (False, True)} | {"rate_interior_all_basic"}
    cats = res.category_ids
    interior = "rate_network_interior" in table.columns  # origins carry data-edge flags
    category_rows = []
    for cid in [ALL_BASIC, *cats]:
        row = table.loc[cid]
        label = names[column("rate", ALL_BASIC)] if cid == ALL_BASIC else names[column("rate", cid)]
        off = (cid in missing) or (cid == ALL_BASIC and no_basic)
        cells = [
            label,
            _rate_text(row["rate_network"], off),
            _rate_text(row["rate_buffer"], off),
            _gap_text(row["gap"], off),
        ]
        if interior:
            none_inside = pd.to_numeric(row.get("n_origins_interior"), errors="coerce") == 0  # type: ignore[call-overload]
            cells.append(
                "—（全部近数据边缘 / all near the edge）"
                if none_inside and not off
                else _rate_text(row["rate_network_interior"], off)
            )
        category_rows.append(cells)
    # assessed categories first: a unit table of empty "not assessed" columns tells a planner nothing
    shown = [c for c in cats if c not in missing] + [c for c in cats if c in missing]
    main_cols = [column("rate", ALL_BASIC), column("rate", ALL_BASIC, buffer=True)]
    if interior:  # the unit summaries carry interior-only rates too (rate_interior_<c>)
        main_cols.append("rate_interior_all_basic")
    main_cols += [column("rate", c) for c in shown[:6]]
    unit_missing = _NOT_ASSESSED if no_basic else None
    unit_tables, charts = [], []
    for unit, summary in res.populated_units().items():
        title = _UNIT_TITLES.get(unit, unit)
        unit_tables.append(
            {
                "title": title,
                **_unit_table(
                    summary,
                    [c for c in main_cols if c in summary.columns],  # files of older runs: no interior
                    names,
                    gone,
                    res.origins_estimated(),
                ),
            }
        )
        charts.append(_unit_chart(summary, f"{names[column('rate', ALL_BASIC)]} — {title}", unit_missing))
    charts.insert(
        0,
        svg_paired_bar_chart(
            [names[column("rate", c)] for c in cats],
            [float(table.loc[c, "rate_network"]) for c in cats],  # type: ignore[arg-type]
            [float(table.loc[c, "rate_buffer"]) for c in cats],  # type: ignore[arg-type]
            title="各类设施覆盖率：路网与直线缓冲 / coverage by category: network and straight line",
            missing_labels=[_NOT_ASSESSED if c in missing else None for c in cats],
        ),
    )
    cat_table = [
        [
            str(r["id"]),
            str(r["name_zh"]),
            str(r["type"]),
            str(r["max_walk_m"]),
            _citation(r.get("citation")),
            "已核实 ✓" if bool(r.get("verified")) else "未核实 ✗",
            "未评估：输入中无此类设施 / not assessed"
            if str(r["id"]) in missing
            else f"已评估 / assessed{_facility_count(r.get('n_facilities'))}",
        ]
        for _, r in res.categories.iterrows()
    ]
    meta = res.meta
    return {
        "summary": _summary(res, table, missing, names),
        "all_basic_scope": res.all_basic_scope_zh(),
        "not_assessed": list(missing.values()),
        "category_rows": category_rows,
        "interior": interior,
        "problems": problems_section(res),
        "unit_tables": unit_tables,
        "charts": charts,
        "categories": cat_table,
        "profile": meta.profile_name,
        "n_origins": len(res.origins),
        "population": res.population,
        "in_weihai": meta.in_weihai,
        "crs": meta.crs,
        "hex_size_m": meta.hex_size_m,
        "source_label": meta.source_label,
        "inputs": [(i.role, i.source, INPUT_STATUS_ZH.get(i.status, i.status), i.note) for i in meta.inputs],
        "quality_notes": res.quality_notes(),
        "computed": meta.created,
        "walker": _walker_line(res),
        "walker_tables": walker_gap_tables(res.walker_comparison, _UNIT_TITLES),
        "network": [(str(k), str(v)) for k, v in meta.network_summary.items()],
        "warnings": list(meta.warnings),
    }


def _walker_line(res: CoverageResult) -> str | None:
    """Return who walks in a minutes run, at what speed, on which DEM (None for a distance run in metres)."""
    if res.walker is None:
        return None
    from weihai_gis.standards import walker_groups

    group = walker_groups().get(res.walker, {})
    dem = res.meta.options.get("dem_costs")
    hills = f"地形 / hills: {dem}（Tobler 1993，上坡慢于下坡）" if dem else "平地 / level ground（未用 DEM）"
    return (
        f"步行人群 / walker: {group.get('name_zh', res.walker)}（{res.walker}，"
        f"{group.get('speed_m_per_min', float('nan')):g} 米/分钟）；距离上限按成人速度折算为时间 / limits as "
        f"minutes at the adult speed；{hills}"
    )


def _summary(
    res: CoverageResult, table: pd.DataFrame, missing: dict[str, str], names: dict[str, str]
) -> dict[str, Any]:
    """Return the one-screen summary: what was measured, where, on what data, headline rates, biggest gaps."""
    meta = res.meta
    assessed = [c for c in res.category_ids if c not in missing]
    rates = table.loc[assessed, "rate_network"].astype(float).sort_values()
    good = int((rates >= GAP_THRESHOLD).sum())
    all_basic = table.loc[ALL_BASIC]
    no_basic = not bool(all_basic["assessed"])
    units = res.populated_units()
    unit_gaps: list[str] = []
    unit_title = ""
    if units:
        name, frame = next(iter(units.items()))
        low = frame.sort_values(column("rate", ALL_BASIC), na_position="last").head(3)
        unit_gaps = [
            f"{r['name_zh'] or r['id']} {_rate_text(r[column('rate', ALL_BASIC)], no_basic)}"
            for _, r in low.iterrows()
        ]
        unit_title = _UNIT_TITLES.get(name, name)
    return {
        "what": (
            f"{meta.profile_name} 生活圈：{len(res.categories)} 类设施的步行路网距离覆盖率（已评估 "
            f"{len(assessed)} 类），人口加权 / walking-network coverage by {meta.profile_name}"
        ),
        "where": (
            ("威海 / Weihai" if meta.in_weihai else "样例区域（非威海）/ sample area, not Weihai")
            + f"：{len(res.origins):,} 个起点，{res.population:,.0f} 人；汇总单元 / units: "
            + ("、".join(_UNIT_TITLES.get(u, u) for u in units) or "六边形 / hexagons only")
        ),
        "data": "；".join(
            f"{i.role}: {i.source} ({INPUT_STATUS_ZH.get(i.status, i.status)})" for i in meta.inputs
        ),
        "all_basic": _rate_text(all_basic["rate_network"], no_basic),
        "all_basic_buffer": _rate_text(all_basic["rate_buffer"], no_basic),
        "all_basic_label": names[column("rate", ALL_BASIC)],
        "categories_good": f"{good}/{len(assessed)}",
        "threshold": f"{100 * GAP_THRESHOLD:.0f}%",
        "lowest": [f"{names[column('rate', c)]} {_pct(rates[c])}" for c in rates.index[:3]],
        "unit_gaps": unit_gaps,
        "unit_title": unit_title,
    }


def _facility_count(n: Any) -> str:
    f = pd.to_numeric(n, errors="coerce")
    return "" if pd.isna(f) else f"（{float(f):,.0f} 处）"


def _provenance(layers: Mapping[str, gpd.GeoDataFrame]) -> list[dict[str, Any]]:
    rows = []
    for name, gdf in layers.items():
        status = gdf["status"].value_counts().to_dict() if "status" in gdf.columns else {}
        basis = sorted({str(b) for b in gdf["basis"].dropna()}) if "basis" in gdf.columns else []
        rows.append(
            {
                "name": LAYER_TITLES.get(name, name),
                "n": len(gdf),
                "status": "、".join(f"{STATUS_ZH.get(s, s)} {n}" for s, n in status.items()) or "—",
                "approx": bool(set(status) & _APPROX) or len(gdf) == 0,
                "basis": "；".join(basis[:3]) + (f" …(+{len(basis) - 3})" if len(basis) > 3 else ""),
            }
        )
    return rows


def _sightlines_context(violations: gpd.GeoDataFrame) -> dict[str, Any]:
    groups = violations.groupby(["rule_zh", "zone"], dropna=False)
    rows = [[str(k[0]), str(k[1]), str(len(g)), f"{g['excess_m'].max():.1f}"] for k, g in groups]
    return {"n": len(violations), "rows": rows}


def _srcdoc(page: str) -> str:
    return html.escape(page, quote=True)


def build_report(
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    coverage: CoverageResult | None = None,
    sightlines: gpd.GeoDataFrame | None = None,
    tijian: Mapping[str, Any] | None = None,
    scenarios: Mapping[str, Any] | None = None,
    targets: pd.DataFrame | None = None,
    title: str = "威海精致城市建设分析报告",
    notes: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    sources_md: str | os.PathLike[str] | None = None,
    include_maps: bool = True,
    map_images: Mapping[str, str | os.PathLike[str]] | None = None,
) -> str:
    """Build the offline HTML report.

    Parameters
    ----------
    layers
        Embedded layers (``weihai_gis.layers.load_layers()``): provenance table and planning map.
    coverage
        The coverage result (from :func:`weihai_gis.coverage`, or read back with
        :func:`weihai_gis.io.results.read_results`); the report shows its tables as they are.
    sightlines
        Violations GeoDataFrame of the sightline checks.
    tijian
        The 城市体检 section (:func:`weihai_gis.tijian.report_section.report_section`), or None.
    scenarios
        The 情景对比 section (:func:`weihai_gis.planning.report_section.scenario_section`), or None.
    targets
        The plan-target progress table (:func:`weihai_gis.tijian.targets.progress_table`), or None.
    title
        Report title.
    notes
        Free text shown under the title.
    parameters
        Run parameters shown in a table (e.g. walking speed, snapping distance in metres, profile).
    sources_md
        Path of a SOURCES.md (shown verbatim); ``None`` uses the embedded ``weihai_gis/data/SOURCES.md``.
    include_maps
        Embed the offline maps (each adds ~250 KB).
    map_images
        PNG of each map (``"planning"``, ``"coverage"``, ``"sightlines"`` → file, e.g. from
        :func:`weihai_gis.render.chromium.screenshot_png`): printed in place of the interactive map.

    Returns
    -------
    str
        HTML text (no remote script, stylesheet or image).
    """
    maps_html: list[dict[str, str]] = []
    if include_maps and layers is not None:
        maps_html.append(
            {
                "kind": "planning",
                "title": "规划图层 / planning layers",
                "srcdoc": _srcdoc(map_html(planning_map(layers))),
            }
        )
    if include_maps and coverage is not None:
        cov = coverage_map(coverage, layers if coverage.meta.in_weihai else None)
        maps_html.append(
            {"kind": "coverage", "title": "生活圈覆盖率 / coverage", "srcdoc": _srcdoc(map_html(cov))}
        )
    if include_maps and sightlines is not None:
        maps_html.append(
            {
                "kind": "sightlines",
                "title": "三线管控 / sightlines",
                "srcdoc": _srcdoc(map_html(sightlines_map(sightlines, layers))),
            }
        )
    for entry in maps_html:  # a static picture for print (data URI: the file stays one file)
        if map_images and (png := map_images.get(entry["kind"])) is not None:
            data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
            entry["image"] = f"data:image/png;base64,{data}"
    if sources_md is None:
        from weihai_gis import data as embedded_data

        candidate = embedded_data.path("SOURCES.md")
        sources_md = candidate if candidate.exists() else None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("weihai_gis", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    context = {
        "title": title,
        "notes": notes,
        "generated": dt.datetime.now(dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "coverage": _coverage_context(coverage) if coverage is not None else None,
        "sightlines": _sightlines_context(sightlines) if sightlines is not None and len(sightlines) else None,
        "tijian": tijian,
        "scenarios": scenarios,
        "targets": targets_section(targets),
        "maps": maps_html,
        "provenance": _provenance(layers) if layers is not None else [],
        "gaps": [str(i.message) for i in getattr(getattr(layers, "report", None), "gaps", None) or []],
        "sources_html": markdown_to_html(Path(sources_md).read_text(encoding="utf-8"))
        if sources_md
        else None,
        "parameters": [(str(k), str(v)) for k, v in (parameters or {}).items()],
    }
    return env.get_template("report.html.j2").render(**context)


def write_report(report_html: str, path: str | os.PathLike[str]) -> Path:
    """Write the report atomically and return its path.

    Parameters
    ----------
    report_html
        Output of :func:`build_report`.
    path
        Destination ``.html``.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    dest = Path(path)
    with atomic_path(dest) as tmp:
        tmp.write_text(report_html, encoding="utf-8")
    log.info("wrote report %s (%.0f KB)", dest, dest.stat().st_size / 1024)
    return dest
