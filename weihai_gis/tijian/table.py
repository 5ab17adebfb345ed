"""The 体检 indicator table in the ministry's order, the 问题清单 per unit, last year's values and targets."""

from __future__ import annotations

import contextlib
import logging
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from weihai_gis.errors import LayerError
from weihai_gis.io.workbook import read_sheet
from weihai_gis.tijian.indicators import (
    VARIANTS,
    facility_points,
    network_share,
    straight_line_share,
    unit_assessment,
)
from weihai_gis.tijian.land import metric_frame

__all__ = [
    "HEADERS_ZH",
    "attach_targets",
    "compare_previous",
    "indicator_table",
    "problem_list",
    "read_table",
]

log = logging.getLogger(__name__)

OFFICIAL_ZH = {"straight_line": "直线半径（住建部口径）", "network": "步行路网（TD/T 1063 口径）"}
#: Chinese column headers of the XLSX / report table.
HEADERS_ZH = {
    "system": "指标体系",
    "level": "层级",
    "name_zh": "指标",
    "unit": "单位",
    "threshold_text": "阈值",
    "official_zh": "官方口径",
    "value_official": "本年值（官方口径）",
    "value_straight_line": VARIANTS["straight_line"],
    "value_network_area": VARIANTS["network_area"],
    "value_network_population": VARIANTS["network_population"],
    "covered_km2": "覆盖居住用地 km²（直线）",
    "land_km2": "居住用地 km²",
    "previous_value": "上年值",
    "change": "变化",
    "verified": "阈值已核实",
    "remark": "说明",
}


def indicator_table(
    catalogue: pd.DataFrame,
    land: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    land_distances: pd.DataFrame | None = None,
    population_distances: pd.DataFrame | None = None,
    units: dict[str, gpd.GeoDataFrame] | None = None,
    pass_share: float = 0.5,
    category_field: str = "category",
    land_approximate: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute every catalogue indicator in the three variants, in the catalogue's (ministry's) order.

    Parameters
    ----------
    catalogue
        From :func:`~weihai_gis.tijian.catalogue.load_catalogue`.
    land
        Residential land polygons (metric CRS). Its ``approximate`` column (or ``land_approximate``) marks
        an OSM approximation in the remarks.
    facilities
        Facilities with ``category_field`` holding facility kinds.
    land_distances, population_distances
        :func:`~weihai_gis.tijian.indicators.network_distances` of the land-sample and population runs.
    units
        ``{"小区": polygons, "街区": polygons}`` (fields ``id``, ``name_zh``) for the count indicators.
    pass_share
        See :func:`~weihai_gis.tijian.indicators.unit_assessment`.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The table (one row per indicator: id, system, level, name_zh, unit, threshold_text, official,
        official_zh, value_straight_line, value_network_area, value_network_population (percent 0..100 for
        shares, counts of failing units for count items; NaN where not computable), value_official,
        covered_km2, land_km2, verified, remark) and the per-unit assessment (see ``unit_assessment``)
        of every unit level given.
    """
    land = metric_frame(land, None, "residential land")
    approx = (
        bool(land["approximate"].any())
        if land_approximate is None and "approximate" in land.columns
        else bool(land_approximate)
    )
    units = units or {}
    rows, assessments = [], []
    for level, frame in units.items():
        sel = catalogue[(catalogue["mode"] == "walk") & catalogue["threshold_m"].notna()]
        if level == "小区":
            sel = sel[sel["level"].isin(["小区", "街区"])]
        a = unit_assessment(
            frame,
            sel,
            land,
            facilities,
            land_distances=land_distances,
            population_distances=population_distances,
            pass_share=pass_share,
            category_field=category_field,
        )
        assessments.append(a.assign(unit_level=level))
    assessment = pd.concat(assessments, ignore_index=True) if assessments else pd.DataFrame()
    for _, ind in catalogue.iterrows():
        thr = float(ind["threshold_m"])
        remark = [ind["note"]] if ind["note"] else []
        vals = {v: math.nan for v in VARIANTS}
        covered_km2 = land_km2 = math.nan
        if ind["denominator"] == "residential_land_area":
            pts = facility_points(facilities, ind["kinds"], category_field=category_field, crs=land.crs)
            if math.isfinite(thr):
                cov, tot = straight_line_share(land, pts, thr)
                covered_km2, land_km2 = cov / 1e6, tot / 1e6
                vals["straight_line"] = 100 * cov / tot if tot > 0 else math.nan
            for v, dist in (("network_area", land_distances), ("network_population", population_distances)):
                if dist is not None and f"dist_{ind['id']}" in dist.columns:
                    cov, tot = network_share(dist, ind["id"], float(ind["limit"]))
                    vals[v] = 100 * cov / tot if tot > 0 else math.nan
            if ind["mode"] == "drive":
                has = land_distances is not None and f"dist_{ind['id']}" in land_distances.columns
                remark.append("机动车路网（单行道按方向）" if has else "路网口径需机动车路网（未提供）")
            if not len(pts):
                vals = {v: math.nan for v in VARIANTS}
                covered_km2 = math.nan
                remark.append("未评估：输入中无此类设施")
        else:
            level = ind["level"]
            none = not len(
                facility_points(facilities, ind["kinds"], category_field=category_field, crs=land.crs)
            )
            a = (
                assessment[
                    (assessment.get("unit_level") == level) & (assessment.get("indicator_id") == ind["id"])
                ]
                if len(assessment)
                else assessment
            )
            if none:
                remark.append("未评估：输入中无此类设施")
            elif len(a):
                for v in VARIANTS:
                    known = a[f"share_{v}"].notna()
                    vals[v] = float(a.loc[known, f"fails_{v}"].sum()) if known.any() else math.nan
                remark.append(f"{level}单元 {len(a)} 个" + ("（近似边界）" if level != "小区" else ""))
            else:
                remark.append(f"未提供{level}单元")
        if approx:
            remark.append("居住用地为 OSM 近似")
        official = vals["network_area"] if ind["official"] == "network" else vals["straight_line"]
        rows.append(
            {
                "id": ind["id"],
                "system": ind["system"],
                "level": ind["level"],
                "name_zh": ind["name_zh"],
                "unit": ind["unit"],
                "threshold_text": ind["threshold_text"],
                "official": ind["official"],
                "official_zh": OFFICIAL_ZH[ind["official"]],
                **{f"value_{v}": vals[v] for v in VARIANTS},
                "value_official": official,
                "covered_km2": covered_km2,
                "land_km2": land_km2,
                "verified": bool(ind["threshold_verified"]),
                "remark": "；".join(remark),
            }
        )
    return pd.DataFrame(rows), assessment


def read_table(path: str | os.PathLike[str], *, what: str = "previous-year table") -> pd.DataFrame:
    """Read a CSV/XLSX table with an ``id`` column (a previous run's 体检 table, or a target file)."""
    p = Path(path)
    if not p.is_file():
        raise LayerError(f"{what} {str(p)!r} does not exist.")
    if p.suffix.lower() in (".xlsx", ".xls"):
        frame = pd.read_excel(p)
        if "id" not in frame.columns:  # a table written by `weihai-gis tijian run`: header block first
            with contextlib.suppress(ValueError):  # not that layout: the error below names the columns
                frame = read_sheet(p, 0)
    else:
        frame = pd.read_csv(p, encoding="utf-8-sig")
    if "id" not in frame.columns:
        raise LayerError(
            f"{what} {p.name!r}: column 'id' (indicator id) is missing; columns are {list(frame.columns)}."
        )
    frame["id"] = frame["id"].astype(str)
    return frame


def compare_previous(table: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Add last year's official value and the change (this year − last year) by indicator id.

    ``previous`` is a previous run's table (``value_official`` column, or the Chinese header
    ``本年值（官方口径）`` of the XLSX). Indicators missing from it get NaN.
    """
    col = next((c for c in ("value_official", HEADERS_ZH["value_official"]) if c in previous.columns), None)
    if col is None:
        raise LayerError(
            f"previous-year table: no 'value_official' column; columns are {list(previous.columns)}. "
            "Give last year's table written by `weihai-gis tijian run`."
        )
    prev = pd.to_numeric(previous.set_index("id")[col], errors="coerce")
    prev = prev[~prev.index.duplicated(keep="last")]
    out = table.copy()
    out["previous_value"] = out["id"].map(prev)
    out["change"] = out["value_official"] - out["previous_value"]
    return out


def attach_targets(table: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Add ``target_<year>`` columns from a target file (columns id, year, target)."""
    for c in ("year", "target"):
        if c not in targets.columns:
            raise LayerError(
                f"indicator target file: column {c!r} is missing; columns are {list(targets.columns)}."
            )
    out = table.copy()
    for year, rows in targets.groupby("year"):
        vals = pd.to_numeric(rows.set_index("id")["target"], errors="coerce")
        col = f"target_{int(year)}"  # type: ignore[arg-type]  # groupby keys are the year numbers
        out[col] = out["id"].map(vals[~vals.index.duplicated(keep="last")])
    return out


def problem_list(assessment: pd.DataFrame, *, level: str = "小区") -> pd.DataFrame:
    """Rank the units of ``level`` that fail indicators (by the official variant).

    Returns
    -------
    pandas.DataFrame
        One row per failing unit, worst first (most failed indicators, then largest total shortfall):
        rank, unit_id, unit_name, n_failed, failed (Chinese list with the shortfall in metres),
        total_shortfall_m (finite shortfalls only), no_facility_in_reach (indicators with no facility
        within the search radius).
    """
    if assessment.empty:
        return pd.DataFrame(
            columns=["rank", "unit_id", "unit_name", "n_failed", "failed", "total_shortfall_m"]
        )
    a = (
        assessment[(assessment["unit_level"] == level) & assessment["fails"]]
        if "unit_level" in assessment
        else assessment[assessment["fails"]]
    )
    rows = []
    for (uid, name), g in a.groupby(["unit_id", "unit_name"], sort=False):
        short = g["shortfall_m"].to_numpy(dtype=float)
        parts = [
            f"{n}（差 {s:.0f} 米）" if np.isfinite(s) else f"{n}（搜索范围内无设施）"
            for n, s in zip(g["name_zh"], short, strict=True)
        ]
        rows.append(
            {
                "unit_id": uid,
                "unit_name": name,
                "n_failed": len(g),
                "failed": "；".join(parts),
                "total_shortfall_m": float(short[np.isfinite(short)].sum()),
                "no_facility_in_reach": int((~np.isfinite(short)).sum()),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(
            columns=["rank", "unit_id", "unit_name", "n_failed", "failed", "total_shortfall_m"]
        )
    out = out.sort_values(
        ["n_failed", "no_facility_in_reach", "total_shortfall_m"], ascending=False, kind="stable"
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)
