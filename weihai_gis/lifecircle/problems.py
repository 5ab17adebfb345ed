"""The planner's list (问题清单): per origin, the basic categories out of reach and how far the nearest one is.

For every origin and every assessed 基础保障 category it does not meet, the list gives the network distance
to the nearest facility of the category, searched to twice the category's limit (:data:`SEARCH_FACTOR`),
and the straight-line distance, so a planner tells a near miss (1.2 km for a 1 km limit: a footpath or a
gate fixes it) from a real gap. A NaN network distance of a reachable origin means none within twice the
limit ("超过 2 倍服务半径 / beyond twice the limit"): the answer there is a new facility.
:func:`missing_by_category` counts the residents each category leaves out.

A metres run searches each category once, to twice its limit (:func:`~weihai_gis.lifecircle.coverage`), and keeps ``dist_<c>``, ``straight_<c>`` on its origins, so the list
is derived from them (:func:`problems_from_origins`: ``CoverageResult.problems``, and in the results
GeoPackage a view over the origins). A walker-group run measures minutes; its list keeps a metres search
of its own (:func:`problem_list`).
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from weihai_gis.lifecircle.assessment import basic_assessment
from weihai_gis.lifecircle.columns import column
from weihai_gis.lifecircle.edge import edge_column
from weihai_gis.lifecircle.engine import SEARCH_FACTOR, NetworkIndex, nearest_distance_m, search_reach_m
from weihai_gis.network import WalkNetwork, snap_points
from weihai_gis.standards import load_profile
from weihai_gis.straight_distance import straight_distance_m

__all__ = [
    "BEYOND_REACH_ZH",
    "PROBLEM_COLUMNS",
    "PROBLEM_HEADERS_ZH",
    "SEARCH_FACTOR",
    "missing_by_category",
    "missing_from_origins",
    "problem_list",
    "problems_from_origins",
    "problems_head",
]

log = logging.getLogger(__name__)

#: Chinese headers of the problem list and the per-category table (XLSX sheets).
PROBLEM_HEADERS_ZH = {
    "origin_id": "建筑编号",
    "name": "建筑名称",
    "population": "人口（估算）",
    "category": "缺失类别",
    "category_zh": "类别名称",
    "max_walk_m": "步行距离限值（米）",
    "dist_network_m": f"最近设施网络距离（米；空 = 超过 {SEARCH_FACTOR:g} 倍服务半径）",
    "dist_straight_m": "最近设施直线距离（米）",
    "edge_affected": "受数据边界影响",
    "unreachable_reason": "未接入路网原因",
    "n_origins": "建筑数",
    "population_left_out": "未覆盖人口（估算）",
    "share_left_out": "未覆盖人口占比",
    "population_left_out_interior": "未覆盖人口（估算，不含边界影响）",
}


#: What a planner reads for a NaN network distance of a reachable origin in the list (report, XLSX header).
BEYOND_REACH_ZH = f"超过 {SEARCH_FACTOR:g} 倍服务半径 / beyond {SEARCH_FACTOR:g}× the limit"

#: Columns of the problem list, in order.
PROBLEM_COLUMNS = (
    "origin_id",
    "name",
    "population",
    "category",
    "category_zh",
    "max_walk_m",
    "dist_network_m",
    "dist_straight_m",
    "edge_affected",
    "unreachable_reason",
    "geometry",
)


def problems_from_origins(origins: gpd.GeoDataFrame, categories: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return the 问题清单 of a metres run from its origin columns: no search, no snapping.

    One row per assessed basic category (table order) and origin (row order) with ``met_<c>`` False:
    ``dist_network_m`` is ``dist_<c>`` (the run searched each category to twice its limit,
    :data:`SEARCH_FACTOR`, so it is the nearest facility up to that reach; NaN beyond it or off the network),
    ``dist_straight_m`` is ``straight_<c>``, ``edge_affected`` is ``edge_affected_<c>`` (False without
    data-edge flags) and ``name`` the origins' ``name`` column ("" without one). The same rows, columns and
    order as :func:`problem_list` on the same run; the GeoPackage view ``problems``
    (:mod:`weihai_gis.io.results`) unpivots the same columns in SQL.

    Parameters
    ----------
    origins
        Result origins of a metres run (``CoverageResult.origins``).
    categories
        Result category table (``id``, ``name_zh``, ``max_walk_m``, ``type``, ``assessed``).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`PROBLEM_COLUMNS`; text columns are categoricals.

    Raises
    ------
    KeyError
        When the origins lack ``straight_<c>`` (a result of an older version: read its stored list).
    """
    basic, _ = basic_assessment(categories)
    if timed := [c for c in basic if column("time", c) in origins.columns]:
        raise ValueError(
            f"problems_from_origins: the origins are a walker-group run's (time_{timed[0]}): their dist_<c> "
            "are the quickest routes' metres within the time budget; use problem_list for such a run."
        )
    found, taken, network_m, straight_m, flags = [], [], [], [], []
    for cid in basic:
        rows = np.flatnonzero(~origins[column("met", cid)].to_numpy(dtype=bool))
        if len(rows) == 0:
            continue
        edge = edge_column(cid)
        found.append(cid)
        taken.append(rows)
        network_m.append(origins[column("dist", cid)].to_numpy(dtype=float)[rows])
        straight_m.append(origins[column("straight", cid)].to_numpy(dtype=float)[rows])
        flags.append(
            origins[edge].to_numpy(dtype=bool)[rows] if edge in origins else np.zeros(len(rows), dtype=bool)
        )
    return _table(origins, categories, found, taken, network_m, straight_m, flags, None)


def problems_head(
    origins: gpd.GeoDataFrame, categories: pd.DataFrame, n: int
) -> tuple[gpd.GeoDataFrame, int]:
    """Return the first ``n`` rows of the 问题清单 with the most residents first, and the whole list's length.

    A list of at most ``n`` rows is returned whole, in its own order. Otherwise the rows of ``problems_from_origins(origins, categories)`` stably sorted by population (descending),
    cut to ``n``, without building the whole list: only the origins whose population reaches that of the
    ``n``-th row (ties included) are listed, then sorted. Each origin keeps its rows' relative order (category
    table order) and the subset keeps the origins' order, so the stable sort gives the same rows in the same
    order as sorting the whole list (a province's is ~16M rows for a head of 20,000).

    Parameters
    ----------
    origins
        Result origins of a metres run (``CoverageResult.origins``).
    categories
        Result category table.
    n
        Rows wanted.

    Returns
    -------
    tuple of geopandas.GeoDataFrame and int
        The head (at most ``n`` rows) and the number of rows of the whole list.
    """
    basic, _ = basic_assessment(categories)
    missing = np.zeros(len(origins), dtype=np.int64)
    for cid in basic:
        missing += ~origins[column("met", cid)].to_numpy(dtype=bool)
    total = int(missing.sum())
    if total <= n:  # the whole list, in its own order
        return problems_from_origins(origins, categories), total
    pop = origins["population"].to_numpy(dtype=float)
    order = np.argsort(-pop, kind="stable")
    last = int(np.searchsorted(np.cumsum(missing[order]), n))  # the origin holding the n-th row
    bound = pop[order[last]]
    # NaN populations sort last: with the n-th row among them every origin may be needed
    subset = origins if np.isnan(bound) else origins.iloc[np.flatnonzero(pop >= bound)]
    rows = problems_from_origins(subset, categories)
    order = np.argsort(-rows["population"].to_numpy(dtype=float), kind="stable")
    return rows.iloc[order[:n]].reset_index(drop=True), total


def problem_list(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    categories: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    profile: str,
    names: pd.Series | None = None,
    search_factor: float = SEARCH_FACTOR,
) -> gpd.GeoDataFrame:
    """Return one row per origin and assessed basic category it does not meet, by a search of its own (问题清单).

    The path of walker-group (minutes) runs, whose ``dist_<c>`` are the metres of the quickest route within
    the time budget: a second multi-source search per category in metres, to ``search_factor`` × its limit.
    A metres run searched that far already: :func:`problems_from_origins` gives the same table from its origin columns.

    Parameters
    ----------
    net
        The walking network of the run.
    origins
        Result origins (points, network CRS) with ``met_<c>``, population and optional edge flags.
    categories
        Result category table (``id``, ``name_zh``, ``max_walk_m``, ``type``, ``assessed``).
    facilities
        Result facilities (network CRS) with ``category`` holding facility kinds or category ids.
    profile
        Profile name: which facility kinds serve each category.
    names
        Optional origin name per ``origin_id`` (e.g. building names); default the origins' ``name`` column.
    search_factor
        Network search radius for the nearest facility as a multiple of each category's limit (default
        :data:`SEARCH_FACTOR`: twice the limit); farther ones give NaN.

    Returns
    -------
    geopandas.GeoDataFrame
        origin_id, name, population, category, category_zh, max_walk_m, dist_network_m (NaN beyond
        ``search_factor`` × the limit or off the network), dist_straight_m, edge_affected, unreachable_reason, point geometry.
    """
    kinds = {
        str(r["id"]): {*r["kinds"], str(r["id"])} for _, r in load_profile(profile).categories.iterrows()
    }
    basic, _ = basic_assessment(categories)
    limits = dict(zip(categories["id"].astype(str), categories["max_walk_m"].astype(float), strict=True))
    index = NetworkIndex(net)
    # the run's own snaps (snap_points remembers them per network): no second snapping of either set
    o_snap = snap_points(net, origins.geometry)
    all_f_snap = snap_points(net, facilities.geometry) if len(facilities) else None
    o_xy = shapely.get_coordinates(origins.geometry.to_numpy())
    f_cat = facilities["category"].astype(str).to_numpy()
    f_xy = shapely.get_coordinates(facilities.geometry.to_numpy())
    # per category only the origin positions and the distances; the columns are gathered once at the end
    # instead of a frame per category and their concatenation (same table, 6 % less CPU on 1M rows)
    taken: list[np.ndarray] = []
    found: list[str] = []
    network_m: list[np.ndarray] = []
    straight_m: list[np.ndarray] = []
    edge_flags: list[np.ndarray] = []
    for cid in basic:
        rows = np.flatnonzero(~origins[column("met", cid)].to_numpy(dtype=bool))
        serve = np.flatnonzero(np.isin(f_cat, list(kinds.get(cid, {cid}))))
        if len(rows) == 0 or len(serve) == 0:
            continue
        assert all_f_snap is not None
        f_snap = all_f_snap.take(serve)
        reach = search_reach_m(limits[cid], search_factor)
        network_m.append(nearest_distance_m(index, o_snap.take(rows), f_snap, max_walk_m=reach))
        straight_m.append(straight_distance_m(o_xy[rows], f_xy[serve], within_m=reach))
        edge = edge_column(cid)
        edge_flags.append(
            origins[edge].to_numpy(dtype=bool)[rows] if edge in origins else np.zeros(len(rows), dtype=bool)
        )
        taken.append(rows)
        found.append(cid)
    return _table(origins, categories, found, taken, network_m, straight_m, edge_flags, names)


def _table(
    origins: gpd.GeoDataFrame,
    categories: pd.DataFrame,
    found: list[str],
    taken: list[np.ndarray],
    network_m: list[np.ndarray],
    straight_m: list[np.ndarray],
    edge_flags: list[np.ndarray],
    names: pd.Series | None,
) -> gpd.GeoDataFrame:
    """Gather the problem list from per-category origin positions and distances, once."""
    if not taken:
        return gpd.GeoDataFrame(columns=list(PROBLEM_COLUMNS), geometry="geometry", crs=origins.crs)
    cats = categories.set_index(categories["id"].astype(str))
    # per-origin text columns as codes into their distinct values: the list repeats each origin once per
    # category it misses (4M rows on an 800k-node grid), so its text columns are categoricals, never a
    # Python string (or Arrow string) per row
    ids = origins["origin_id"].astype(str).to_numpy(dtype=object)
    id_codes, id_values = pd.factorize(ids)
    if names is not None and len(names):
        named = pd.Series(ids).map(names).fillna("").astype(str).to_numpy(dtype=object)
    elif "name" in origins.columns:
        named = origins["name"].fillna("").astype(str).to_numpy(dtype=object)
    else:
        named = np.full(len(ids), "", dtype=object)
    name_codes, name_values = pd.factorize(named)
    reasons = (
        origins["unreachable_reason"].fillna("").astype(str).to_numpy(dtype=object)
        if "unreachable_reason" in origins
        else np.full(len(ids), "", dtype=object)
    )
    reason_codes, reason_values = pd.factorize(reasons)
    at = np.concatenate(taken)
    which = np.repeat(np.arange(len(found)), [len(r) for r in taken])

    def text(codes: np.ndarray, values: Any) -> pd.Categorical:
        return pd.Categorical.from_codes(
            codes, categories=pd.Index(np.asarray(values, dtype=object), dtype=str)
        )

    zh_codes, zh_values = pd.factorize(np.asarray([str(cats.at[c, "name_zh"]) for c in found], dtype=object))
    limits = np.array([float(cats.at[c, "max_walk_m"]) for c in found])  # type: ignore[arg-type]
    data = {
        "origin_id": text(id_codes[at], id_values),
        "name": text(name_codes[at], name_values),
        "population": origins["population"].to_numpy(dtype=float)[at],
        "category": text(which, found),
        "category_zh": text(zh_codes[which], zh_values),
        "max_walk_m": limits[which],
        "dist_network_m": np.concatenate(network_m),
        "dist_straight_m": np.concatenate(straight_m),
        "edge_affected": np.concatenate(edge_flags),
        "unreachable_reason": text(reason_codes[at], reason_values),
    }
    log.info("problem list: %d origin × category gaps over %d basic categories", len(at), len(found))
    points = origins.geometry.to_numpy()[at]
    return gpd.GeoDataFrame(pd.DataFrame(data, copy=False), geometry=points, crs=origins.crs)


def missing_by_category(problems: pd.DataFrame, total_population: float) -> pd.DataFrame:
    """Return per category how many origins and residents the problem list leaves out.

    Returns
    -------
    pandas.DataFrame
        category, category_zh, n_origins, population_left_out, share_left_out (of ``total_population``),
        population_left_out_interior (the residents left out in origins not edge-affected for the category),
        sorted by residents left out.
    """
    if problems.empty:
        return pd.DataFrame(columns=["category", "category_zh", "n_origins", "population_left_out"])
    interior = problems["population"].where(~problems["edge_affected"].astype(bool), 0.0)
    grouped = problems.assign(interior=interior).groupby(
        ["category", "category_zh"], sort=False, observed=True
    )
    out = grouped.agg(
        n_origins=("origin_id", "size"),
        population_left_out=("population", "sum"),
        population_left_out_interior=("interior", "sum"),
    ).reset_index()
    return _with_shares(out, total_population)


def missing_from_origins(origins: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """Return :func:`missing_by_category` of the list :func:`problems_from_origins` derives, without building it.

    The same table (rows, order, values) from the ``met_<c>``, ``population`` and ``edge_affected_<c>``
    columns: a sum per category instead of a group-by over the origin × category rows.
    """
    basic, _ = basic_assessment(categories)
    zh = dict(zip(categories["id"].astype(str), categories["name_zh"].astype(str), strict=True))
    pop = origins["population"].to_numpy(dtype=float)
    rows = []
    for cid in basic:
        left = ~origins[column("met", cid)].to_numpy(dtype=bool)
        if not left.any():
            continue
        edge = edge_column(cid)
        inner = left & ~origins[edge].to_numpy(dtype=bool) if edge in origins else left
        rows.append((cid, zh[cid], int(left.sum()), float(pop[left].sum()), float(pop[inner].sum())))
    if not rows:
        return pd.DataFrame(columns=["category", "category_zh", "n_origins", "population_left_out"])
    out = pd.DataFrame(
        rows,
        columns=[
            "category",
            "category_zh",
            "n_origins",
            "population_left_out",
            "population_left_out_interior",
        ],
    )
    return _with_shares(out, float(pop.sum()))


def _with_shares(out: pd.DataFrame, total_population: float) -> pd.DataFrame:
    """Add ``share_left_out`` and order the residents-left-out table: columns fixed, most left out first."""
    out["share_left_out"] = out["population_left_out"] / total_population if total_population else np.nan
    cols = [
        "category",
        "category_zh",
        "n_origins",
        "population_left_out",
        "share_left_out",
        "population_left_out_interior",
    ]
    return out[cols].sort_values("population_left_out", ascending=False, ignore_index=True)
