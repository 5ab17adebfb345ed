"""The one adapter from a coverage result to the planning modules (the only place that reads its columns).

The planning code needs, per category, who is out of reach; this module turns a
:class:`weihai_gis.lifecircle.CoverageResult` into plain arrays so that a change in the result's layout is
fixed here only.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from weihai_gis.errors import LayerError
from weihai_gis.lifecircle import CoverageResult, assessed_flags, column
from weihai_gis.lifecircle.summaries import unit_index

__all__ = ["CategoryReach", "category_reach", "origin_labels"]


@dataclass(frozen=True)
class CategoryReach:
    """Who is in reach of one category.

    Attributes
    ----------
    id, name_zh
        Category id and Chinese name.
    max_walk_m
        The category's walking limit in metres.
    xy
        Origin coordinates (network CRS, metres), shape (n, 2).
    population
        Residents per origin.
    met
        True where a facility of the category is within the limit.
    reachable
        False for origins off the walking network.
    crs
        The CRS of ``xy``.
    """

    id: str
    name_zh: str
    max_walk_m: float
    xy: npt.NDArray[np.float64]
    population: npt.NDArray[np.float64]
    met: npt.NDArray[np.bool_]
    reachable: npt.NDArray[np.bool_]
    crs: str


def category_reach(result: CoverageResult, categories: list[str] | None = None) -> list[CategoryReach]:
    """Return per assessed category (all, or those in ``categories``) who is in reach.

    Raises
    ------
    LayerError
        When a requested category is not in the result (the message lists those that are).
    """
    cats = result.categories
    flags = assessed_flags(cats).to_numpy()
    known = cats["id"].astype(str).tolist()
    wanted = known if categories is None else list(categories)
    if missing := [c for c in wanted if c not in known]:
        raise LayerError(
            f"coverage result (profile {result.profile_name}): categories {missing} are not in it; "
            f"known: {', '.join(known)}."
        )
    o = result.origins
    xy = shapely.get_coordinates(o.geometry.to_numpy())
    pop = o["population"].to_numpy(dtype=float)
    reachable = o["reachable"].to_numpy(dtype=bool)
    out = []
    for (_, cat), assessed in zip(cats.iterrows(), flags, strict=True):
        if cat["id"] not in wanted or not assessed:
            continue
        out.append(
            CategoryReach(
                id=str(cat["id"]),
                name_zh=str(cat["name_zh"]),
                max_walk_m=float(cat["max_walk_m"]),
                xy=xy,
                population=pop,
                met=o[column("met", str(cat["id"]))].to_numpy(dtype=bool),
                reachable=reachable,
                crs=str(o.crs),
            )
        )
    return out


def origin_labels(
    result: CoverageResult, units: gpd.GeoDataFrame | None, id_field: str = "id", name_field: str = "name_zh"
) -> tuple[npt.NDArray[np.object_], dict[object, str]]:
    """Return per origin the id of the unit containing it (None outside every unit) and {id: name}.

    Without ``units`` every origin gets the label ``"all"`` (名称 全域).
    """
    o = result.origins
    if units is None:
        return np.full(len(o), "all", dtype=object), {"all": "全域"}
    pos = unit_index(o, units, id_field=id_field, name_field=name_field)
    ids = units[id_field].to_numpy(dtype=object)
    label = np.array([ids[p] if p >= 0 else None for p in pos], dtype=object)
    return label, dict(zip(ids, units[name_field].astype(str), strict=True))
