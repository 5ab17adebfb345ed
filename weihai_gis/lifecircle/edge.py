"""The data edge: origins whose nearest facility may lie just outside an extract, and interior-only rates.

An OpenStreetMap download holds the facilities inside its bounds only. An origin closer to the bounds than a
category's walking limit may have its nearest facility just outside, so its ``met`` flag for that category
is not trustworthy; one farther away cannot (a network distance is never shorter than the straight line).
:func:`edge_flags` marks them; :func:`interior_rates` gives the rates over the origins that are not, to be
reported beside the all-origins rates so that nobody reads an edge artefact as a gap.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from weihai_gis.lifecircle.assessment import basic_assessment
from weihai_gis.lifecircle.columns import ALL_BASIC, column

__all__ = [
    "EDGE_DISTANCE",
    "edge_column",
    "edge_flags",
    "interior_column",
    "interior_rates",
    "interior_unit_rates",
]

log = logging.getLogger(__name__)

#: Column of origins: straight-line distance (m) to the data boundary (0 outside it).
EDGE_DISTANCE = "edge_m"


def edge_column(category: str) -> str:
    """Return the origins column flagging ``category`` as edge-affected, e.g. ``edge_affected_school``."""
    return f"edge_affected_{category}"


def edge_flags(
    origins: gpd.GeoDataFrame,
    categories: pd.DataFrame,
    boundary: shapely.Geometry,
    *,
    boundary_crs: str = "EPSG:4326",
) -> gpd.GeoDataFrame:
    """Return ``origins`` with ``edge_m`` and ``edge_affected_<category>`` for every category and all_basic.

    Parameters
    ----------
    origins
        Result origins (points, metric CRS).
    categories
        Category table with ``id``, ``max_walk_m``, ``type`` and ``assessed``.
    boundary
        Polygon of the data's extent (e.g. an OSM download's bounds).
    boundary_crs
        CRS of ``boundary``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy; ``edge_affected_<c>`` is True when the origin lies within the category's walking limit of
        the boundary (or outside it); ``edge_affected_all_basic`` when any assessed 基础保障 category is.
    """
    poly = gpd.GeoSeries([boundary], crs=boundary_crs).to_crs(origins.crs).iloc[0]
    pts = origins.geometry.to_numpy()
    dist = np.where(shapely.contains(poly, pts), shapely.distance(poly.boundary, pts), 0.0)
    out = origins.copy()
    out[EDGE_DISTANCE] = dist
    for cid, limit in zip(categories["id"].astype(str), categories["max_walk_m"].astype(float), strict=True):
        out[edge_column(cid)] = dist < limit
    basic, _ = basic_assessment(categories)
    cols = [edge_column(c) for c in basic]
    out[edge_column(ALL_BASIC)] = out[cols].any(axis=1) if cols else False
    log.info(
        "data edge: %d of %d origins within the shortest walking limit of the boundary",
        int((dist < categories["max_walk_m"].astype(float).min()).sum()),
        len(out),
    )
    return out


def interior_rates(origins: pd.DataFrame, category_ids: list[str]) -> pd.DataFrame:
    """Return per category (and all_basic) the rates over the origins not edge-affected for it.

    Returns
    -------
    pandas.DataFrame
        Index category id; columns population_interior, n_origins_interior, rate_network_interior,
        rate_buffer_interior (NaN when no origin is far enough from the boundary). Empty when the origins
        carry no edge flags.
    """
    rows = {}
    pop = origins["population"].to_numpy(dtype=float)
    for cid in [*category_ids, ALL_BASIC]:
        flag = edge_column(cid)
        if flag not in origins.columns:
            continue
        inside = ~origins[flag].to_numpy(dtype=bool)
        denom = pop[inside].sum()
        rates = {}
        for key, buffer in (("rate_network_interior", False), ("rate_buffer_interior", True)):
            met = origins[column("met", cid, buffer=buffer)].to_numpy(dtype=float)
            rates[key] = (pop[inside] * met[inside]).sum() / denom if denom > 0 else np.nan
        rows[cid] = {"population_interior": denom, "n_origins_interior": int(inside.sum()), **rates}
    return pd.DataFrame.from_dict(rows, orient="index")


def interior_column(category: str) -> str:
    """Return the unit-summary column of the interior-only network rate, e.g. ``rate_interior_clinic``."""
    return f"rate_interior_{category}"


def interior_unit_rates(origins: pd.DataFrame, category_ids: list[str], group: np.ndarray) -> pd.DataFrame:
    """Return per group label the network rates over the origins not edge-affected for each category.

    Parameters
    ----------
    origins
        Result origins with ``population``, ``met_<c>`` and the ``edge_affected_<c>`` flags.
    category_ids
        Category ids (``all_basic`` is added).
    group
        One label per origin (e.g. the unit position; -1 outside every unit).

    Returns
    -------
    pandas.DataFrame
        Index the group labels; ``n_origins_interior`` (origins not edge-affected for all_basic) and
        ``rate_interior_<c>`` (population-weighted share 0..1; NaN where no origin of the group is far enough
        from the boundary). Empty (no columns) when the origins carry no edge flags.
    """
    pop = origins["population"].to_numpy(dtype=float)
    cols: dict[str, np.ndarray] = {}
    for cid in [*category_ids, ALL_BASIC]:
        flag = edge_column(cid)
        if flag not in origins.columns:
            continue
        inside = ~origins[flag].to_numpy(dtype=bool)
        met = origins[column("met", cid)].to_numpy(dtype=float)
        cols[f"_den_{cid}"] = pop * inside
        cols[f"_num_{cid}"] = pop * inside * met
        if cid == ALL_BASIC:
            cols["n_origins_interior"] = inside.astype(float)
    if not cols:
        return pd.DataFrame(index=pd.Index(np.unique(group)))
    sums = pd.DataFrame(cols).groupby(group).sum()
    out = pd.DataFrame(index=sums.index)
    if "n_origins_interior" in sums:
        out["n_origins_interior"] = sums["n_origins_interior"].astype(np.int64)
    for cid in [*category_ids, ALL_BASIC]:
        if f"_den_{cid}" in sums:
            den = sums[f"_den_{cid}"]
            out[interior_column(cid)] = sums[f"_num_{cid}"] / den.where(den > 0)
    return out
