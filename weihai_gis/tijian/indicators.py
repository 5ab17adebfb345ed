"""The three variants of each 体检 coverage indicator, city-wide and per unit (小区 / 街区).

(a) ``straight_line``: the share of residential land area inside the union of straight-line radii around the
facilities (exact polygon overlay) — the 住建部 convention. (b) ``network_area``: the share of residential land
area whose grid samples are within the threshold over the walking network — the TD/T 1063-2021 walking-minute
convention. (c) ``network_population``: the share of residents within the threshold over the network.

Network distances come from a coverage run (:func:`weihai_gis.coverage` with
:func:`~weihai_gis.tijian.catalogue.catalogue_profile`); :func:`network_distances` is the one place that reads
the coverage results object.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from weihai_gis.errors import LayerError
from weihai_gis.straight_distance import straight_distance_m
from weihai_gis.tijian.land import metric_frame

__all__ = [
    "VARIANTS",
    "facility_points",
    "network_distances",
    "network_share",
    "straight_line_distances",
    "straight_line_share",
    "unit_assessment",
]

log = logging.getLogger(__name__)

#: Variant column suffixes, in table order, and their Chinese labels.
VARIANTS = {
    "straight_line": "直线半径·居住用地面积占比",
    "network_area": "路网距离·居住用地面积占比",
    "network_population": "路网距离·人口占比",
}
#: Buffer resolution: segments per quarter circle (64 → area error < 0.01 %).
QUAD_SEGS = 64


def network_distances(result) -> pd.DataFrame:
    """Adapter: per-origin weight and network distance per indicator from a coverage results object.

    Parameters
    ----------
    result
        The object :func:`weihai_gis.coverage` returns for a :func:`catalogue_profile` run: its ``origins``
        frame with ``population`` (weights; area for land samples), ``reachable`` and ``dist_<indicator id>``
        (metres, NaN beyond the search radius or unreachable).

    Returns
    -------
    pandas.DataFrame
        Index of ``result.origins``: ``weight``, ``reachable``, ``dist_<id>`` columns, ``geometry`` (points).
    """
    o = result.origins
    cols = {"weight": o["population"].to_numpy(dtype=float), "reachable": o["reachable"].to_numpy(dtype=bool)}
    for c in o.columns:
        if str(c).startswith("dist_"):
            cols[c] = o[c].to_numpy(dtype=float)
    return gpd.GeoDataFrame(cols, geometry=o.geometry.to_numpy(), crs=o.crs, index=o.index)


def facility_points(
    facilities: gpd.GeoDataFrame, kinds: tuple[str, ...], *, category_field: str = "category", crs=None
) -> np.ndarray:
    """Return the (n, 2) coordinates of the facilities whose category is one of ``kinds`` (metric CRS)."""
    if category_field not in facilities.columns:
        raise LayerError(
            f"facilities: category field {category_field!r} is missing; fields are {list(facilities.columns)}."
        )
    fac = metric_frame(facilities, crs, "facilities")
    sel = fac[fac[category_field].astype(str).isin(kinds)]
    geoms = sel.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    return shapely.get_coordinates(shapely.point_on_surface(geoms)).reshape(-1, 2)


def straight_line_share(
    land: gpd.GeoDataFrame, points_xy: np.ndarray, radius_m: float
) -> tuple[float, float]:
    """Return (covered m², total m²) of residential land inside ``radius_m`` of any point (exact overlay).

    Parameters
    ----------
    land
        Residential polygons in a metric CRS (overlaps count once).
    points_xy
        Facility coordinates (same CRS).
    radius_m
        Straight-line service radius in metres.
    """
    merged = shapely.union_all(shapely.make_valid(land.geometry.to_numpy()))
    total = float(shapely.area(merged))
    if not len(points_xy) or not math.isfinite(radius_m):
        return 0.0, total
    disks = shapely.buffer(shapely.points(points_xy), radius_m, quad_segs=QUAD_SEGS)
    tree = shapely.STRtree(disks)
    near = tree.query(merged, predicate="intersects")
    if not len(near):
        return 0.0, total
    covered = shapely.intersection(merged, shapely.union_all(disks[near]))
    return float(shapely.area(covered)), total


def straight_line_distances(samples_xy: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """Straight-line distance (m) from each sample to its nearest facility point (inf when there is none)."""
    if not len(points_xy):
        return np.full(len(samples_xy), np.inf)
    return straight_distance_m(samples_xy, points_xy)


def network_share(distances: pd.DataFrame, indicator_id: str, threshold_m: float) -> tuple[float, float]:
    """Return (covered weight, total weight): samples/residents within ``threshold_m`` over the network.

    Unreachable origins (off the network or on an island) count in the total and never as covered.
    """
    col = f"dist_{indicator_id}"
    w = distances["weight"].to_numpy(dtype=float)
    if col not in distances.columns:
        raise LayerError(
            f"network distances: no column {col!r}; run coverage with catalogue_profile(catalogue)."
        )
    d = distances[col].to_numpy(dtype=float)
    ok = distances["reachable"].to_numpy(dtype=bool) & np.isfinite(d) & (d <= threshold_m + 1e-9)
    return float(w[ok].sum()), float(w.sum())


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Smallest value v with weight share of values ≤ v at least q (inf values allowed)."""
    if not len(values) or weights.sum() <= 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cum, q - 1e-12)])


def _unit_rows(units: gpd.GeoDataFrame, frame: gpd.GeoDataFrame) -> np.ndarray:
    """Row position of the unit containing each point of ``frame`` (-1 outside every unit; first on overlap)."""
    joined = gpd.sjoin(
        frame[["geometry"]], units[["geometry"]].reset_index(drop=True), how="left", predicate="within"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["index_right"].reindex(frame.index).fillna(-1).astype(np.int64).to_numpy()


def unit_assessment(
    units: gpd.GeoDataFrame,
    indicators: pd.DataFrame,
    land: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    land_distances: pd.DataFrame | None = None,
    population_distances: pd.DataFrame | None = None,
    pass_share: float = 0.5,
    category_field: str = "category",
    id_field: str = "id",
    name_field: str = "name_zh",
) -> pd.DataFrame:
    """Assess each unit (小区 or 街区) against each indicator in the three variants.

    A unit passes a variant when at least ``pass_share`` of its residential land (or residents) is within
    the threshold. The shortfall is the ``pass_share`` quantile of the distances to the nearest facility
    over the unit's land samples minus the threshold (so a unit fails exactly when its shortfall is > 0, up
    to the sampling grid).

    Parameters
    ----------
    units
        小区 or 街区 polygons with ``id_field`` and ``name_field``.
    indicators
        Catalogue rows to assess (from :func:`~weihai_gis.tijian.catalogue.load_catalogue`).
    land
        Residential land polygons (metric CRS; the units are projected to it).
    facilities
        Facilities with a category field holding facility kinds.
    land_distances, population_distances
        From :func:`network_distances` on the land-sample and the population coverage runs (None: the
        network variants are NaN).
    pass_share
        Share of land/residents that must be within the threshold for the unit to pass (0..1].

    Returns
    -------
    pandas.DataFrame
        One row per (unit, indicator): unit_id, unit_name, indicator_id, name_zh, threshold_m, official,
        land_m2, share_straight_line, share_network_area, share_network_population (0..1; NaN where the unit
        has no land / residents / network run, or the input holds no facility of the kind), fails_<variant> (bool; False where the share is NaN),
        fails (by the indicator's official variant), nearest_straight_m, nearest_network_m (pass_share
        quantile; inf when no facility within the search radius), shortfall_m (by the official variant).
    """
    if not 0 < pass_share <= 1:
        raise ValueError(f"`pass_share` must be in (0, 1], got {pass_share!r}.")
    for f in (id_field, name_field):
        if f not in units.columns:
            raise LayerError(f"units: field {f!r} is missing; fields are {list(units.columns)}.")
    land = metric_frame(land, None, "residential land")
    crs = land.crs
    units_m = metric_frame(units, crs, "units").reset_index(drop=True)
    merged = shapely.union_all(shapely.make_valid(land.geometry.to_numpy()))
    unit_land = shapely.intersection(shapely.make_valid(units_m.geometry.to_numpy()), merged)
    land_m2 = shapely.area(unit_land)
    samples: Any = land_distances  # a GeoDataFrame (pandas-stubs reads .to_crs as a column)
    s_unit = _unit_rows(units_m, samples.to_crs(crs)) if samples is not None else None
    s_xy = shapely.get_coordinates(samples.to_crs(crs).geometry.to_numpy()) if samples is not None else None
    p_unit = (
        _unit_rows(units_m, population_distances.to_crs(crs))  # type: ignore[operator]
        if population_distances is not None
        else None
    )
    rows = []
    for _, ind in indicators.iterrows():
        iid, thr = ind["id"], float(ind["threshold_m"])
        pts = facility_points(facilities, ind["kinds"], category_field=category_field, crs=crs)
        disks = (
            shapely.buffer(shapely.points(pts), thr, quad_segs=QUAD_SEGS)
            if len(pts) and math.isfinite(thr)
            else None
        )
        cover = shapely.union_all(disks) if disks is not None else None
        straight = (
            shapely.area(shapely.intersection(unit_land, cover))
            if cover is not None
            else np.zeros(len(units_m))
        )
        sl_d = straight_line_distances(s_xy, pts) if s_xy is not None else None
        col = f"dist_{iid}"
        assessed = len(pts) > 0  # no facility of the kind in the input: not assessed (NaN), never "fails"
        for u in range(len(units_m)):
            share_sl = straight[u] / land_m2[u] if land_m2[u] > 0 and assessed else math.nan
            share_na = share_np = math.nan
            near_sl = near_na = math.nan
            if assessed and samples is not None and col in samples.columns:
                m = s_unit == u
                w = samples["weight"].to_numpy()[m]
                d = np.where(samples["reachable"].to_numpy()[m], samples[col].to_numpy()[m], np.nan)
                if w.sum() > 0:
                    share_na = float(w[np.isfinite(d) & (d <= thr + 1e-9)].sum() / w.sum())
                    near_na = _weighted_quantile(np.nan_to_num(d, nan=np.inf), w, pass_share)
                    near_sl = _weighted_quantile(sl_d[m], w, pass_share)  # type: ignore[index]
            if assessed and population_distances is not None and col in population_distances.columns:
                m = p_unit == u
                w = population_distances["weight"].to_numpy()[m]
                d = population_distances[col].to_numpy()[m]
                ok = population_distances["reachable"].to_numpy()[m] & np.isfinite(d) & (d <= thr + 1e-9)
                if w.sum() > 0:
                    share_np = float(w[ok].sum() / w.sum())
            rows.append(
                {
                    "unit_id": units_m.at[u, id_field],
                    "unit_name": units_m.at[u, name_field],
                    "indicator_id": iid,
                    "name_zh": ind["name_zh"],
                    "threshold_m": thr,
                    "official": ind["official"],
                    "land_m2": float(land_m2[u]),
                    "share_straight_line": share_sl,
                    "share_network_area": share_na,
                    "share_network_population": share_np,
                    "nearest_straight_m": near_sl,
                    "nearest_network_m": near_na,
                }
            )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    for v in VARIANTS:
        s = out[f"share_{v}"]
        out[f"fails_{v}"] = s.notna() & (s < pass_share - 1e-12)
    net = out["official"] == "network"
    out["fails"] = np.where(net, out["fails_network_area"], out["fails_straight_line"])
    out["shortfall_m"] = (
        np.where(net, out["nearest_network_m"], out["nearest_straight_m"]) - out["threshold_m"]
    )
    return out
