"""Population-weighted coverage summaries of per-origin flags: per polygon unit, per hexagon, overall.

These are the only functions that turn ``met_*`` flags into ``rate_*`` shares (column names:
:mod:`weihai_gis.lifecircle.columns`). :func:`~weihai_gis.lifecircle.coverage` calls them once and stores
the tables in the :class:`~weihai_gis.lifecircle.CoverageResult`; renderers only read those tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from weihai_gis.crs import ANALYSIS_CRS
from weihai_gis.errors import LayerError
from weihai_gis.lifecircle.assessment import (
    BASIC_TYPE,
    all_basic_title_zh,
    assessed_flags,
    basic_assessment,
)
from weihai_gis.lifecircle.columns import ALL_BASIC, column
from weihai_gis.lifecircle.edge import interior_column, interior_rates, interior_unit_rates
from weihai_gis.options import HEX_SIZE_RANGE_M

__all__ = [
    "auto_hex_size_m",
    "hex_ids",
    "hex_summary",
    "hexagons",
    "overall_table",
    "unit_index",
    "unit_summaries",
    "unit_summary",
]

_SQRT3 = np.sqrt(3.0)
_COUNTS = ["population", "n_origins", "n_unreachable", "population_unreachable"]


def hex_ids(x: np.ndarray, y: np.ndarray, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the axial (q, r) ids of the pointy-top hexagons of side ``size_m`` metres containing (x, y)."""
    q = (_SQRT3 / 3 * x - y / 3) / size_m
    r = (2 / 3 * y) / size_m
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)


def hexagons(q: np.ndarray, r: np.ndarray, size_m: float) -> np.ndarray:
    """Return the polygons of the pointy-top hexagons (q, r) of side ``size_m`` metres."""
    cx = size_m * _SQRT3 * (q + r / 2)
    cy = size_m * 1.5 * r
    angles = np.deg2rad(30 + 60 * np.arange(6))
    xs = cx[:, None] + size_m * np.cos(angles)[None, :]
    ys = cy[:, None] + size_m * np.sin(angles)[None, :]
    rings = np.stack([xs, ys], axis=-1)
    return shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1))


def auto_hex_size_m(origins: gpd.GeoDataFrame, *, target_count: int = 100) -> float:
    """Return a hexagon size in metres giving about ``target_count`` hexagons over the origins' extent.

    The size is clipped to :data:`weihai_gis.options.HEX_SIZE_RANGE_M`, i.e. 500 m for a whole city and
    finer for a district or a small sample, and rounded to 10 m so reruns give the same grid.
    """
    metric = origins.to_crs(ANALYSIS_CRS) if origins.crs is None or origins.crs.is_geographic else origins
    x0, y0, x1, y1 = metric.total_bounds
    area_m2 = max((x1 - x0) * (y1 - y0), 1.0)
    side = math.sqrt(area_m2 / target_count / 2.598)  # a regular hexagon of side s has area 2.598 s²
    low, high = HEX_SIZE_RANGE_M
    return float(round(min(max(side, low), high), -1))


def _aggregate(origins: pd.DataFrame, categories: pd.DataFrame, group: np.ndarray) -> pd.DataFrame:
    """Population-weighted rates per group label (one row per label, sorted)."""
    pop = origins["population"].to_numpy(dtype=float)
    reachable = origins["reachable"].to_numpy(dtype=bool)
    ids = [str(c) for c in categories["id"]]
    met = [
        (column("met", c, buffer=b), column("rate", c, buffer=b))
        for c in [*ids, ALL_BASIC]
        for b in (False, True)
    ]
    names = [*_COUNTS, *(rate for _, rate in met)]
    # one float block filled column by column (no dict of columns copied into a frame: a province's
    # 800k origins x 54 columns are 345 MiB a copy)
    values = np.empty((len(origins), len(names)), order="F")
    values[:, 0] = pop
    values[:, 1] = 1.0
    values[:, 2] = ~reachable
    values[:, 3] = np.where(reachable, 0.0, pop)
    for j, (flag, _) in enumerate(met, start=len(_COUNTS)):
        np.multiply(pop, origins[flag].to_numpy(dtype=float), out=values[:, j])
    sums = pd.DataFrame(values, columns=names, copy=False).groupby(group).sum()
    del values
    # the rates and gaps as one block of numpy columns (a dict of Series, then a concatenation, aligned
    # every column on the index again): the same IEEE divisions and subtractions, bit for bit
    block = sums.to_numpy()
    pop_sum = block[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.where(pop_sum > 0, pop_sum, np.nan)
    at = {name: j for j, name in enumerate(names)}
    empty = set(categories.loc[~assessed_flags(categories), "id"].astype(str))
    if not basic_assessment(categories)[0]:
        empty.add(ALL_BASIC)
    ordered = [*ids, ALL_BASIC]
    rates: dict[str, np.ndarray] = {}
    for buffer in (False, True):
        for cid in ordered:
            name = column("rate", cid, buffer=buffer)
            rates[name] = np.full(len(sums), np.nan) if cid in empty else block[:, at[name]] / denom
    for cid in ordered:
        rates[column("gap", cid)] = rates[column("rate", cid, buffer=True)] - rates[column("rate", cid)]
    data: dict[str, np.ndarray] = {
        "population": pop_sum,
        "n_origins": block[:, 1].astype(np.int64),
        "n_unreachable": block[:, 2].astype(np.int64),
        "population_unreachable": block[:, 3],
        **rates,
    }
    return pd.DataFrame(data, index=sums.index, copy=False)


def unit_summary(
    origins: gpd.GeoDataFrame,
    categories: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    id_field: str = "id",
    name_field: str = "name_zh",
) -> gpd.GeoDataFrame:
    """Summarise coverage by polygon units (片区, 镇/街道, county ...).

    Parameters
    ----------
    origins, categories
        ``CoverageResult.origins`` and ``CoverageResult.categories``.
    units
        Polygons with a CRS; each origin counts in the unit containing it (the first when units overlap;
        origins outside every unit are left out).
    id_field, name_field
        Fields copied to the output as ``id`` and ``name_zh``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit (units without origins get population 0 and NaN rates), in the units' CRS: id,
        name_zh, population, n_origins, n_unreachable, population_unreachable, ``rate_<c>``,
        ``rate_buffer_<c>``, ``gap_<c>`` for every category and ``all_basic`` (shares 0..1; NaN for a
        category not assessed, and for all_basic when no basic category is), geometry. When the origins
        carry data-edge flags (:func:`~weihai_gis.lifecircle.edge.edge_flags`), also n_origins_interior and
        ``rate_interior_<c>``: the network rate over the unit's origins farther from the data boundary than
        the category's walking limit (:func:`~weihai_gis.lifecircle.edge.interior_unit_rates`).

    Raises
    ------
    LayerError
        When a field is missing or the units have no CRS.
    """
    label = unit_index(origins, units, id_field=id_field, name_field=name_field, what="summary units")
    agg = _aggregate(origins, categories, label)
    ids = [str(c) for c in categories["id"]]
    interior = interior_unit_rates(origins, ids, label)
    if len(interior.columns):  # data-edge flags: interior-only rates beside the all-origins ones
        empty = set(categories.loc[~assessed_flags(categories), "id"].astype(str))
        if not basic_assessment(categories)[0]:
            empty.add(ALL_BASIC)
        for cid in empty:
            if interior_column(cid) in interior:
                interior[interior_column(cid)] = np.nan
        agg = agg.join(interior)
    agg = agg.drop(index=-1, errors="ignore").reindex(range(len(units)))
    agg[_COUNTS] = agg[_COUNTS].fillna(0)
    if "n_origins_interior" in agg:
        agg["n_origins_interior"] = agg["n_origins_interior"].fillna(0).astype(np.int64)
    agg[["n_origins", "n_unreachable"]] = agg[["n_origins", "n_unreachable"]].astype(np.int64)
    head = pd.DataFrame({"id": units[id_field].to_numpy(), "name_zh": units[name_field].to_numpy()})
    return gpd.GeoDataFrame(
        pd.concat([head, agg.reset_index(drop=True)], axis=1),
        geometry=units.geometry.to_numpy(),
        crs=units.crs,
    )


def unit_index(
    origins: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    id_field: str = "id",
    name_field: str = "name_zh",
    what: str = "units",
) -> npt.NDArray[np.int64]:
    """Return per origin the position (0..n-1) of the unit containing it, -1 outside every unit.

    An origin inside overlapping units counts in the first. ``what`` names the units in error messages.

    Raises
    ------
    LayerError
        When ``id_field`` or ``name_field`` is missing or the units have no CRS.
    """
    for f in (id_field, name_field):
        if f not in units.columns:
            raise LayerError(f"{what}: field {f!r} is missing; fields are {list(units.columns)}.")
    if units.crs is None:
        raise LayerError(f"{what}: the layer has no CRS; set it (e.g. EPSG:4490) first.")
    poly = units.to_crs(origins.crs).reset_index(drop=True)
    joined = gpd.sjoin(origins[["geometry"]], poly[["geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["index_right"].reindex(origins.index).fillna(-1).astype(np.int64).to_numpy()


def unit_summaries(
    origins: gpd.GeoDataFrame, categories: pd.DataFrame, units: Mapping[str, gpd.GeoDataFrame]
) -> dict[str, gpd.GeoDataFrame]:
    """Return :func:`unit_summary` for every ``{name: polygons}`` of ``units`` (empty layers left out)."""
    return {
        str(name): unit_summary(origins, categories, frame) for name, frame in units.items() if len(frame)
    }


def hex_summary(origins: gpd.GeoDataFrame, categories: pd.DataFrame, size_m: float) -> gpd.GeoDataFrame:
    """Summarise coverage on a grid of pointy-top hexagons of side ``size_m`` metres (origins' CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per hexagon holding origins: id ``"q_r"``, name_zh, the integer axial keys hex_q and
        hex_r, the columns of :func:`unit_summary`, geometry.
    """
    if not size_m > 0:
        raise ValueError(f"hexagon size must be > 0 m, got {size_m!r}")
    xy = shapely.get_coordinates(origins.geometry.to_numpy())
    q, r = hex_ids(xy[:, 0], xy[:, 1], size_m)
    key = (q << 32) | (r & 0xFFFFFFFF)  # one int64 key per hexagon: integer groupby, no strings
    agg = _aggregate(origins, categories, key)
    keys = agg.index.to_numpy(dtype=np.int64)
    hq = keys >> 32
    hr = ((keys & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000  # back to signed 32-bit
    ids = [f"{a}_{b}" for a, b in zip(hq, hr, strict=True)]
    head = pd.DataFrame({"id": ids, "name_zh": [f"六边形 {k}" for k in ids], "hex_q": hq, "hex_r": hr})
    return gpd.GeoDataFrame(
        pd.concat([head, agg.reset_index(drop=True)], axis=1),
        geometry=hexagons(hq, hr, size_m),
        crs=origins.crs,
    )


def overall_table(origins: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """Return one row per category plus the all-basic row: network and straight-line rates and their gap.

    Returns
    -------
    pandas.DataFrame
        id, name_zh, type, max_walk_m, verified, n_facilities, assessed, rate_network, rate_buffer
        (population-weighted shares 0..1; NaN for a category not assessed), gap. The last row, id
        ``all_basic``, is 全要素达标率 over the assessed 基础保障 categories; its name_zh says how many
        (e.g. ``全要素达标率（已评估 19/24 类基础保障）``) and its ``assessed`` is True when at least one is.
        When the origins carry data-edge flags (:func:`~weihai_gis.lifecircle.edge.edge_flags`), also
        population_interior, n_origins_interior, rate_network_interior, rate_buffer_interior: the rates over
        the origins farther from the data boundary than the category's walking limit.
    """
    agg = _aggregate(origins, categories, np.zeros(len(origins), dtype=np.int64)).iloc[0]
    flags = assessed_flags(categories)
    rows = []
    for (_, cat), assessed in zip(categories.iterrows(), flags, strict=True):
        cid = str(cat["id"])
        rows.append(
            {
                "id": cid,
                "name_zh": cat["name_zh"],
                "type": cat["type"],
                "max_walk_m": cat["max_walk_m"],
                "verified": bool(cat["verified"]),
                "n_facilities": int(cat["n_facilities"]),
                "assessed": bool(assessed),
                "rate_network": agg[column("rate", cid)],
                "rate_buffer": agg[column("rate", cid, buffer=True)],
            }
        )
    rows.append(
        {
            "id": ALL_BASIC,
            "name_zh": all_basic_title_zh(categories),
            "type": BASIC_TYPE,
            "max_walk_m": np.nan,
            "verified": False,
            "n_facilities": int(categories["n_facilities"].sum()),
            "assessed": bool(basic_assessment(categories)[0]),
            "rate_network": agg[column("rate", ALL_BASIC)],
            "rate_buffer": agg[column("rate", ALL_BASIC, buffer=True)],
        }
    )
    out = pd.DataFrame(rows)
    out["gap"] = out["rate_buffer"] - out["rate_network"]
    interior = interior_rates(origins, [str(c) for c in categories["id"]])
    if len(interior):  # origins carry data-edge flags: interior-only rates beside the all-origins ones
        out = out.join(interior, on="id")
        for col in ("rate_network_interior", "rate_buffer_interior"):
            out.loc[~out["assessed"], col] = np.nan
    return out
