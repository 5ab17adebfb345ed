"""Gap areas: residents out of reach of a category, grouped into connected clusters on a hexagon grid.

Every origin without a facility of the category within its walking limit (off-network origins included,
counted apart) falls in a pointy-top hexagon of side ``hex_size_m``. Hexagons holding such origins that
share an edge, inside the same unit (镇/街道, 区), form one gap area; areas are ranked by the population
they hold, over the whole input and within each unit.
"""

from __future__ import annotations

import itertools
import logging

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from weihai_gis.lifecircle import CoverageResult, hex_ids
from weihai_gis.planning.from_coverage import CategoryReach, category_reach, origin_labels

__all__ = ["GAP_COLUMNS", "gap_areas", "gap_clusters"]

log = logging.getLogger(__name__)

#: Columns of the gap-area layer, in order (geometry last).
GAP_COLUMNS = [
    "category",
    "name_zh",
    "gap_id",
    "label_zh",
    "unit_id",
    "unit_name_zh",
    "population",
    "population_off_network",
    "n_origins",
    "n_hexagons",
    "area_km2",
    "rank",
    "rank_in_unit",
]

_NEIGHBOURS = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)], dtype=np.int64)
_SQRT3 = np.sqrt(3.0)


def _hexagon(q: npt.NDArray[np.int64], r: npt.NDArray[np.int64], size_m: float) -> npt.NDArray[np.object_]:
    """Pointy-top hexagons of side ``size_m`` with axial ids (q, r) (the grid of ``CoverageResult.hex_summary``)."""
    cx = size_m * _SQRT3 * (q + r / 2)
    cy = size_m * 1.5 * r
    angles = np.deg2rad(30 + 60 * np.arange(6))
    rings = np.stack(
        [cx[:, None] + size_m * np.cos(angles)[None, :], cy[:, None] + size_m * np.sin(angles)[None, :]],
        axis=-1,
    )
    return shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1))


def gap_clusters(
    xy: npt.NDArray[np.float64], labels: npt.ArrayLike, hex_size_m: float
) -> tuple[npt.NDArray[np.int64], pd.DataFrame]:
    """Cluster points into connected hexagon groups that do not cross unit labels.

    Parameters
    ----------
    xy
        Point coordinates in metres, shape (n, 2).
    labels
        Unit label per point (points in different units never share a cluster).
    hex_size_m
        Hexagon side in metres.

    Returns
    -------
    tuple
        ``(cluster per point, cells)`` where ``cells`` has one row per occupied hexagon: label, q, r,
        cluster.
    """
    q, r = hex_ids(xy[:, 0], xy[:, 1], hex_size_m)
    lab_codes, _ = pd.factorize(pd.Series(np.asarray(labels, dtype=object)), use_na_sentinel=False)
    uniq, cell_of = np.unique(np.stack([lab_codes, q, r], axis=1), axis=0, return_inverse=True)
    cell_of = cell_of.ravel()
    table = pd.DataFrame(uniq, columns=["lab", "q", "r"])
    # one integer key per (label, q, r); neighbours are found by binary search in the sorted keys
    span = int(max(np.ptp(uniq[:, 1]), np.ptp(uniq[:, 2]))) + 3
    base = uniq[:, 1:].min(axis=0) - 1

    def key(lab, qq, rr):
        return (lab * span + (qq - base[0])) * span + (rr - base[1])

    keys = key(uniq[:, 0], uniq[:, 1], uniq[:, 2])  # sorted, as np.unique sorts rows lexicographically
    edges = []
    for dq, dr in _NEIGHBOURS:
        want = key(uniq[:, 0], uniq[:, 1] + dq, uniq[:, 2] + dr)
        pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
        hit = keys[pos] == want
        edges.append(np.stack([np.flatnonzero(hit), pos[hit]], axis=1))
    pairs = np.concatenate(edges)
    n = len(table)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    table["cluster"] = comp
    return comp[cell_of], table


def _category_gaps(
    reach: CategoryReach, labels: npt.NDArray[np.object_], names: dict[object, str], hex_size_m: float
) -> gpd.GeoDataFrame:
    unmet = ~reach.met & (reach.population > 0) & pd.notna(pd.Series(labels)).to_numpy()
    idx = np.flatnonzero(unmet)
    if len(idx) == 0:
        return gpd.GeoDataFrame({c: [] for c in GAP_COLUMNS}, geometry=[], crs=reach.crs)
    cluster, cells = gap_clusters(reach.xy[idx], labels[idx], hex_size_m)
    pop = reach.population[idx]
    off = np.where(reach.reachable[idx], 0.0, pop)
    frame = pd.DataFrame({"cluster": cluster, "pop": pop, "off": off, "unit": labels[idx]})
    agg = frame.groupby("cluster").agg(
        population=("pop", "sum"),
        population_off_network=("off", "sum"),
        n_origins=("pop", "size"),
        unit_id=("unit", "first"),
    )
    polys = _hexagon(cells["q"].to_numpy(), cells["r"].to_numpy(), hex_size_m)
    # a centimetre grid makes neighbours' shared edges coincide, so an area is one polygon
    order = np.argsort(cells["cluster"].to_numpy(), kind="stable")
    bounds = np.searchsorted(cells["cluster"].to_numpy()[order], np.arange(len(agg) + 1))
    geom = pd.Series(
        [shapely.union_all(polys[order[a:b]], grid_size=0.01) for a, b in itertools.pairwise(bounds)],
        index=np.arange(len(agg)),
    )
    agg["n_hexagons"] = cells.groupby("cluster").size()
    agg = agg.sort_values(["population", "n_origins"], ascending=False, kind="stable")
    agg["n_origins"] = agg["n_origins"].astype(np.int64)
    agg["n_hexagons"] = agg["n_hexagons"].astype(np.int64)
    agg["rank"] = np.arange(1, len(agg) + 1)
    agg["rank_in_unit"] = agg.groupby("unit_id", sort=False).cumcount() + 1
    agg["category"] = reach.id
    agg["name_zh"] = reach.name_zh
    agg["gap_id"] = [f"{reach.id}-{k}" for k in agg["rank"]]
    agg["unit_name_zh"] = [names.get(u, str(u)) for u in agg["unit_id"]]
    agg["label_zh"] = [
        f"{reach.name_zh}缺口片区 {k}（{u}，{p:,.0f} 人）"
        for k, u, p in zip(agg["rank"], agg["unit_name_zh"], agg["population"], strict=True)
    ]
    geometry = geom.reindex(agg.index).to_numpy()
    agg["area_km2"] = shapely.area(geometry) / 1e6
    return gpd.GeoDataFrame(agg[GAP_COLUMNS].reset_index(drop=True), geometry=geometry, crs=reach.crs)


def gap_areas(
    result: CoverageResult,
    *,
    categories: list[str] | None = None,
    units: gpd.GeoDataFrame | None = None,
    id_field: str = "id",
    name_field: str = "name_zh",
    hex_size_m: float = 250,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the gap areas of each assessed category and a table per category and unit.

    Parameters
    ----------
    result
        A coverage result (:func:`weihai_gis.coverage`).
    categories
        Category ids (default every assessed category).
    units
        Polygons (镇/街道, 区 ...) with ``id_field`` and ``name_field``; gap areas never cross a unit border
        and origins outside every unit are left out. Default: one unit ``all`` (全域).
    hex_size_m
        Hexagon side in metres (default 250: a hexagon is about 0.16 km²).

    Returns
    -------
    tuple
        ``(areas, table)``. ``areas``: GeoDataFrame in the network CRS with :data:`GAP_COLUMNS` (population
        out of reach, of which off the network; rank over the category, rank_in_unit) and the union of the
        area's hexagons. ``table``: one row per category and unit: category, name_zh, unit_id, unit_name_zh,
        population, population_unmet, share_unmet (0..1), n_gap_areas, largest_gap_population.
    """
    if hex_size_m <= 0:
        raise ValueError(f"hex_size_m: expected a positive size in metres, got {hex_size_m}.")
    labels, names = origin_labels(result, units, id_field, name_field)
    layers, rows = [], []
    for reach in category_reach(result, categories):
        areas = _category_gaps(reach, labels, names, hex_size_m)
        layers.append(areas)
        inside = pd.notna(pd.Series(labels)).to_numpy()
        per_unit = (
            pd.DataFrame(
                {
                    "unit": labels[inside],
                    "pop": reach.population[inside],
                    "unmet": np.where(reach.met, 0.0, reach.population)[inside],
                }
            )
            .groupby("unit", sort=False)[["pop", "unmet"]]
            .sum()
        )
        for unit, row in per_unit.iterrows():
            mine = areas[areas["unit_id"] == unit]
            rows.append(
                {
                    "category": reach.id,
                    "name_zh": reach.name_zh,
                    "unit_id": unit,
                    "unit_name_zh": names.get(unit, str(unit)),
                    "population": row["pop"],
                    "population_unmet": row["unmet"],
                    "share_unmet": row["unmet"] / row["pop"] if row["pop"] > 0 else np.nan,
                    "n_gap_areas": len(mine),
                    "largest_gap_population": float(mine["population"].max()) if len(mine) else 0.0,
                }
            )
    crs = result.origins.crs
    areas = (
        gpd.GeoDataFrame(pd.concat(layers, ignore_index=True), crs=crs)
        if layers
        else gpd.GeoDataFrame({c: [] for c in GAP_COLUMNS}, geometry=[], crs=crs)
    )
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values(["category", "population_unmet"], ascending=[True, False], kind="stable")
    log.info("gap areas: %d over %d categories", len(areas), len(layers))
    return areas, table.reset_index(drop=True)
