"""Build siting and access inputs from layers: facilities of a category, candidate sites, capacities, demand.

Frames in, arrays out (no file IO): the CLI and notebooks read the files, this module snaps them to the
network and runs :func:`weihai_gis.planning.cost_matrix` with the category's walking limit from the profile.
With ``walker=`` (and ``dem_costs=``) the matrix holds a walker group's walking times to the sites on the
directed time graph, the limit being a time budget at the adult reference speed, as a minutes coverage run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from weihai_gis.errors import CRSError, LayerError
from weihai_gis.network import WalkNetwork, snap_points
from weihai_gis.planning.access import supply_standard
from weihai_gis.planning.matrix import CostMatrix, cost_matrix, node_sites
from weihai_gis.planning.siting import SitingProblem
from weihai_gis.population import population_values
from weihai_gis.standards import Profile, load_profile

#: A cost-matrix function with the signature of :func:`weihai_gis.planning.cost_matrix`.
MatrixFunction = Callable[..., CostMatrix]


def _time_kwargs(
    net: WalkNetwork, walker: str | None, dem_costs: str | os.PathLike[str] | None
) -> dict[str, Any]:
    """Return the ``times=`` of a walker group's matrix (``{}`` for metres); a DEM alone walks as an adult."""
    if walker is None and dem_costs is None:
        return {}
    from weihai_gis.network.costs import edge_times

    return {"times": edge_times(net, dem=dem_costs, walker=walker or "adult")}


__all__ = ["access_inputs", "category_info", "facilities_serving", "siting_problem"]

log = logging.getLogger(__name__)


def category_info(profile: str | Profile, category: str) -> dict[str, Any]:
    """Return the profile row of ``category`` (id, name_zh, max_walk_m, kinds ...).

    Raises
    ------
    LayerError
        When the profile has no such category (the message lists its categories).
    """
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    cats = prof.categories.set_index("id", drop=False)
    if category not in cats.index:
        raise LayerError(
            f"--category {category!r}: not a category of profile {prof.name!r}; "
            f"expected one of {', '.join(cats.index)}."
        )
    return dict(cats.loc[category])


def _in_crs(frame: gpd.GeoDataFrame, crs: str, what: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise CRSError(f"{what}: the layer has no CRS; set it first.")
    out = frame.to_crs(crs).reset_index(drop=True)
    geoms = out.geometry.to_numpy()
    not_point = shapely.get_type_id(geoms) != 0
    if not_point.any():
        geoms = geoms.copy()
        geoms[not_point] = shapely.point_on_surface(geoms[not_point])
        out = out.set_geometry(gpd.GeoSeries(geoms, crs=crs))
    return out


def facilities_serving(
    facilities: gpd.GeoDataFrame, info: dict[str, Any], category_field: str = "category"
) -> gpd.GeoDataFrame:
    """Return the facilities whose kind serves the category (its kinds, or the category id itself)."""
    if category_field not in facilities.columns:
        raise LayerError(
            f"facilities: category field {category_field!r} is missing; fields are {list(facilities.columns)}."
        )
    serve = {*info["kinds"], info["id"]}
    return facilities[facilities[category_field].astype(str).isin(serve)]


def _capacity(frame: gpd.GeoDataFrame, field: str, default: float, what: str) -> npt.NDArray[np.float64]:
    if field not in frame.columns:
        log.info("%s: no %r field; every site gets the default capacity %g", what, field, default)
        return np.full(len(frame), float(default))
    values = pd.to_numeric(frame[field], errors="coerce")
    bad = values.notna() & (values < 0)
    if bad.any():
        raise LayerError(
            f"{what}, field {field!r}: {int(bad.sum())} negative capacities (rows {list(frame.index[bad][:5])}); "
            "expected a number >= 0."
        )
    return values.fillna(float(default)).to_numpy(dtype=float)


def _origins(origins: gpd.GeoDataFrame, net: WalkNetwork, population_field: str) -> gpd.GeoDataFrame:
    orig = _in_crs(origins, net.crs, "origins")
    if population_field not in orig.columns:
        raise LayerError(
            f"origins: population field {population_field!r} is missing; fields are {list(orig.columns)}."
        )
    return orig.assign(population=population_values(orig[population_field]).to_numpy(dtype=float))


def siting_problem(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None = None,
    *,
    category: str,
    profile: str | Profile = "gb50180-2018",
    candidates_within: gpd.GeoDataFrame | None = None,
    capacitated: bool = False,
    capacity_field: str = "capacity",
    category_field: str = "category",
    population_field: str = "population",
    progress: bool = False,
    matrix: MatrixFunction = cost_matrix,
    walker: str | None = None,
    dem_costs: str | os.PathLike[str] | None = None,
) -> tuple[SitingProblem, gpd.GeoDataFrame, dict[str, Any]]:
    """Return the siting problem of one category: existing facilities fixed, candidate sites to open.

    Parameters
    ----------
    net
        Walking network.
    origins, facilities
        Residents (population field) and existing facilities (category field), any CRS.
    candidates
        Candidate sites (points, or polygons such as parcels: a point on the surface); None = network nodes
        (all, or those inside ``candidates_within``).
    category, profile
        The category to site and the profile giving its walking limit.
    capacitated
        Use capacities (``capacity_field`` of the files, else ``default_capacity`` of ``planning.yaml``) and
        demand = population × ``per_1000`` / 1000.
    matrix
        The cost-matrix function (``cost_matrix``, or e.g. ``functools.partial(distributed_cost_matrix,
        scheduler=client)`` to split it over a Dask cluster: same matrix, metres only).
    walker, dem_costs
        Site for a walker group's walking minutes (``coverage-config.yaml`` groups) on the hills of a DEM:
        the category's limit becomes a time budget at the adult reference speed, walked from home to the site
        on the directed time graph (as ``coverage(..., walker=, dem_costs=)``). Default: metres.

    Returns
    -------
    tuple
        ``(problem, sites, info)``: ``sites`` is a GeoDataFrame (network CRS) with one row per site of the
        problem, existing first (columns existing, capacity, name when given); ``info`` the category row.
    """
    info = category_info(profile, category)
    orig = _origins(origins, net, population_field)
    existing = _in_crs(facilities_serving(facilities, info, category_field), net.crs, "facilities")
    if candidates is not None:
        cand = _in_crs(candidates, net.crs, "candidates")
        c_snap = snap_points(net, cand)
        cand_geom = cand.geometry.to_numpy()
    else:
        nodes = np.arange(net.n_nodes)
        if candidates_within is not None:
            if candidates_within.crs is None:
                raise CRSError("candidate area: the layer has no CRS; set it first.")
            poly = candidates_within.to_crs(net.crs)
            inside = shapely.contains_xy(
                shapely.union_all(poly.geometry.to_numpy()), net.node_xy[:, 0], net.node_xy[:, 1]
            )
            nodes = np.flatnonzero(inside)
            if len(nodes) == 0:
                raise LayerError(
                    "candidate area: no network node lies inside its polygons; check the file and CRS."
                )
        big = net.components().node_component_size()[nodes] >= 2
        nodes = nodes[big]
        c_snap = node_sites(net, nodes)
        cand = gpd.GeoDataFrame(
            {"node_id": net.node_ids[nodes]}, geometry=shapely.points(net.node_xy[nodes]), crs=net.crs
        )
        cand_geom = cand.geometry.to_numpy()
    e_snap = snap_points(net, existing) if len(existing) else None
    o_snap = snap_points(net, orig)
    sites_snap = c_snap if e_snap is None else _concat(e_snap, c_snap)
    cm = matrix(
        net,
        o_snap,
        sites_snap,
        cutoff_m=float(info["max_walk_m"]),
        progress=progress,
        **_time_kwargs(net, walker, dem_costs),
    )
    is_existing = np.r_[np.ones(len(existing), dtype=bool), np.zeros(len(cand), dtype=bool)]
    sites = gpd.GeoDataFrame(
        {
            "existing": is_existing,
            "name": np.r_[
                existing["name"].astype(str).to_numpy() if "name" in existing else np.full(len(existing), ""),
                cand["name"].astype(str).to_numpy() if "name" in cand else np.full(len(cand), ""),
            ],
        },
        geometry=np.r_[existing.geometry.to_numpy(), cand_geom],
        crs=net.crs,
    )
    capacity = demand = None
    if capacitated:
        standard: dict[str, Any] = supply_standard(category)
        default = float(standard["default_capacity"])
        capacity = np.r_[
            _capacity(existing, capacity_field, default, "facilities"),
            _capacity(cand, capacity_field, default, "candidates"),
        ]
        demand = orig["population"].to_numpy(dtype=float) * float(standard["per_1000"]) / 1000
        sites["capacity"] = capacity
    prob = SitingProblem(cm.covers(), orig["population"].to_numpy(dtype=float), is_existing, capacity, demand)
    log.info(
        "siting %s: %d existing, %d candidates, %d origins", category, len(existing), len(cand), len(orig)
    )
    return prob, sites, info


def _concat(a: Any, b: Any) -> Any:
    from weihai_gis.network import Snapped

    return Snapped(**{f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in a.__dataclass_fields__})


def access_inputs(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    category: str,
    profile: str | Profile = "gb50180-2018",
    capacity_field: str = "capacity",
    category_field: str = "category",
    population_field: str = "population",
    matrix: MatrixFunction = cost_matrix,
    walker: str | None = None,
    dem_costs: str | os.PathLike[str] | None = None,
) -> tuple[CostMatrix, gpd.GeoDataFrame, npt.NDArray[np.float64], dict[str, Any]]:
    """Return (cost matrix, origins in the network CRS, supply per facility, supply standard) for 2SFCA.

    Supply is the facilities' ``capacity_field`` (else ``default_capacity`` of ``planning.yaml``); the walking
    limit is the category's ``max_walk_m``; ``matrix``, ``walker`` and ``dem_costs`` as in
    :func:`siting_problem` (for a walker group the catchment and the E2SFCA zones are shares of the time
    budget).
    """
    info = category_info(profile, category)
    standard: dict[str, Any] = supply_standard(category)
    orig = _origins(origins, net, population_field)
    fac = _in_crs(facilities_serving(facilities, info, category_field), net.crs, "facilities")
    if fac.empty:
        raise LayerError(
            f"facilities: none serves {category!r} ({info['name_zh']}); kinds expected: {info['kinds']}."
        )
    supply = _capacity(fac, capacity_field, float(standard["default_capacity"]), "facilities")
    cm = matrix(
        net,
        snap_points(net, orig),
        snap_points(net, fac),
        cutoff_m=float(info["max_walk_m"]),
        **_time_kwargs(net, walker, dem_costs),
    )
    return cm, orig, supply, standard
