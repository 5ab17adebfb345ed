"""Compare two coverage results of the same origins (现状 vs a scenario): difference tables and layers.

Every function takes results and returns frames; the what-if module produces the results, renderers draw
these frames. Rates are population-weighted shares 0..1 of the network (walking) coverage.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from weihai_gis.errors import LayerError
from weihai_gis.lifecircle import ALL_BASIC, CoverageResult, assessed_flags, column
from weihai_gis.lifecircle.summaries import unit_index

__all__ = [
    "CHANGE_GAINED",
    "CHANGE_LOST",
    "DIFFERENCE_COLUMNS",
    "changed_categories",
    "difference_hexagons",
    "difference_origins",
    "difference_table",
    "side_by_side",
]

#: ``change_zh`` values of :func:`difference_origins`.
CHANGE_GAINED, CHANGE_LOST = "新增覆盖", "失去覆盖"

#: Columns of :func:`difference_table`, in order.
DIFFERENCE_COLUMNS = [
    "unit_id",
    "unit_name_zh",
    "category",
    "name_zh",
    "population",
    "rate_before",
    "rate_after",
    "delta_rate",
    "population_newly_covered",
    "population_newly_uncovered",
]


def _check(before: CoverageResult, after: CoverageResult) -> None:
    a, b = before.origins, after.origins
    if len(a) != len(b) or not np.array_equal(a["origin_id"].to_numpy(), b["origin_id"].to_numpy()):
        raise LayerError(
            "scenario comparison: the two results hold different origins; compare runs on the same origins."
        )


def _names(result: CoverageResult) -> dict[str, str]:
    names = dict(zip(result.category_ids, result.categories["name_zh"].astype(str), strict=True))
    return {**names, ALL_BASIC: "全要素达标率"}


def changed_categories(before: CoverageResult, after: CoverageResult) -> list[str]:
    """Return the category ids (``all_basic`` last, when it changed) whose network flag differs somewhere."""
    _check(before, after)
    out = []
    for cid in [*before.category_ids, ALL_BASIC]:
        col = column("met", cid)
        if not np.array_equal(before.origins[col].to_numpy(bool), after.origins[col].to_numpy(bool)):
            out.append(cid)
    return out


def _assessed(result: CoverageResult) -> set[str]:
    flags = assessed_flags(result.categories).to_numpy()
    return {c for c, f in zip(result.category_ids, flags, strict=True) if f} | {ALL_BASIC}


def difference_table(
    before: CoverageResult,
    after: CoverageResult,
    *,
    units: str | None = None,
    changed_only: bool = True,
) -> pd.DataFrame:
    """Return before/after/Δ network coverage per unit and category, with the residents newly (un)covered.

    Parameters
    ----------
    before, after
        Results on the same origins (e.g. the base run and :meth:`weihai_gis.planning.WhatIf.run`).
    units
        Name of a unit summary both results carry (e.g. ``"town_areas"``); None = one row set for 全域.
    changed_only
        Keep only the categories whose coverage changed somewhere (all_basic is always kept).

    Returns
    -------
    pandas.DataFrame
        :data:`DIFFERENCE_COLUMNS`; rates are shares 0..1 (NaN where the unit holds nobody or the category
        is assessed in neither run).
    """
    _check(before, after)
    o = before.origins
    if units is None:
        label = np.zeros(len(o), dtype=np.int64)
        heads = pd.DataFrame({"unit_id": ["all"], "unit_name_zh": ["全域"]})
    else:
        if units not in before.units:
            raise LayerError(f"scenario comparison: no unit summary {units!r}; known: {list(before.units)}.")
        frame = before.units[units]
        label = unit_index(o, frame, what=units)
        heads = pd.DataFrame(
            {"unit_id": frame["id"].to_numpy(), "unit_name_zh": frame["name_zh"].astype(str)}
        )
    inside = label >= 0
    pop = o["population"].to_numpy(dtype=float)
    group = label[inside]
    n_units = len(heads)
    people = np.bincount(group, weights=pop[inside], minlength=n_units)
    denom = np.where(people > 0, people, np.nan)
    changed = set(changed_categories(before, after))
    assessed = _assessed(before) | _assessed(after)
    names = _names(after)
    parts = []
    for cid in [*before.category_ids, ALL_BASIC]:
        if cid not in assessed or (changed_only and cid not in changed and cid != ALL_BASIC):
            continue
        was = before.origins[column("met", cid)].to_numpy(bool)[inside]
        now = after.origins[column("met", cid)].to_numpy(bool)[inside]
        w = pop[inside]
        sums = [
            np.bincount(group, weights=w * f, minlength=n_units) for f in (was, now, now & ~was, was & ~now)
        ]
        part = heads.copy()
        part["category"] = cid
        part["name_zh"] = names[cid]
        part["population"] = people
        part["rate_before"] = sums[0] / denom
        part["rate_after"] = sums[1] / denom
        part["delta_rate"] = part["rate_after"] - part["rate_before"]
        part["population_newly_covered"] = sums[2]
        part["population_newly_uncovered"] = sums[3]
        parts.append(part)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    return table[DIFFERENCE_COLUMNS]


def difference_origins(before: CoverageResult, after: CoverageResult) -> gpd.GeoDataFrame:
    """Return one row per origin and category whose network coverage changed (the difference map's points).

    Returns
    -------
    geopandas.GeoDataFrame
        origin_id, category, name_zh, change_zh (:data:`CHANGE_GAINED` / :data:`CHANGE_LOST`), population,
        dist_before_m, dist_after_m (NaN for all_basic and beyond the limit), geometry (network CRS).
    """
    names = _names(after)
    frames = []
    for cid in changed_categories(before, after):
        was = before.origins[column("met", cid)].to_numpy(bool)
        now = after.origins[column("met", cid)].to_numpy(bool)
        rows = np.flatnonzero(was != now)
        dist = column("dist", cid)
        has_dist = dist in before.origins.columns
        frames.append(
            gpd.GeoDataFrame(
                {
                    "origin_id": before.origins["origin_id"].to_numpy()[rows],
                    "category": cid,
                    "name_zh": names[cid],
                    "change_zh": np.where(now[rows], CHANGE_GAINED, CHANGE_LOST),
                    "population": before.origins["population"].to_numpy(dtype=float)[rows],
                    "dist_before_m": before.origins[dist].to_numpy()[rows] if has_dist else np.nan,
                    "dist_after_m": after.origins[dist].to_numpy()[rows] if has_dist else np.nan,
                },
                geometry=before.origins.geometry.to_numpy()[rows],
                crs=before.origins.crs,
            )
        )
    if not frames:
        cols = [
            "origin_id",
            "category",
            "name_zh",
            "change_zh",
            "population",
            "dist_before_m",
            "dist_after_m",
        ]
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=before.origins.crs)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=before.origins.crs)


def difference_hexagons(before: CoverageResult, after: CoverageResult) -> gpd.GeoDataFrame:
    """Return the hexagons whose coverage changed: before/after/Δ rate of every changed category.

    Returns
    -------
    geopandas.GeoDataFrame
        id, population, and per changed category ``c`` (all_basic included when it changed)
        ``rate_before_<c>``, ``rate_after_<c>``, ``delta_<c>``; only hexagons where some delta is not 0;
        geometry (network CRS).
    """
    cats = changed_categories(before, after)
    a = before.hexagons.set_index("id")
    b = after.hexagons.set_index("id").reindex(a.index)
    out = pd.DataFrame({"id": a.index.to_numpy(), "population": a["population"].to_numpy()})
    moved = np.zeros(len(a), dtype=bool)
    for cid in cats:
        col = column("rate", cid)
        out[f"rate_before_{cid}"] = a[col].to_numpy()
        out[f"rate_after_{cid}"] = b[col].to_numpy()
        delta = out[f"rate_after_{cid}"] - out[f"rate_before_{cid}"]
        out[f"delta_{cid}"] = delta
        moved |= delta.fillna(0).to_numpy() != 0
    return gpd.GeoDataFrame(
        out[moved].reset_index(drop=True), geometry=a.geometry.to_numpy()[moved], crs=before.hexagons.crs
    )


def side_by_side(results: dict[str, CoverageResult]) -> pd.DataFrame:
    """Return the overall network rate per category (rows) and scenario (columns), first scenario = base.

    Returns
    -------
    pandas.DataFrame
        id, name_zh, then one column per scenario name (shares 0..1), then ``Δ <name>`` for every scenario
        after the first (its rate minus the first's).
    """
    names = list(results)
    first = results[names[0]].overall()
    table = first[["id", "name_zh"]].copy()
    for name in names:
        rates = results[name].overall().set_index("id")["rate_network"]
        table[name] = table["id"].map(rates).to_numpy(dtype=float)
    for name in names[1:]:
        table[f"Δ {name}"] = table[name] - table[names[0]]
    return table
