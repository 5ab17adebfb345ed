"""Capacity-aware access: 2SFCA and E2SFCA supply-to-demand ratios on our network distances.

Two-step floating catchment (Luo & Wang 2003), enhanced with distance decay (Luo & Qi 2009):

1. for each site *j*: :math:`R_j = S_j / \\sum_{i: d_{ij} \\le d_0} P_i W(d_{ij})`;
2. for each origin *i*: :math:`A_i = \\sum_{j: d_{ij} \\le d_0} R_j W(d_{ij})`,

with :math:`S_j` the supply of site *j* (学位, 托位, 床位), :math:`P_i` the residents of origin *i*, the
walking limit :math:`d_0` and the weight :math:`W = 1` (2SFCA) or the step zones of ``planning.yaml``
(E2SFCA). :math:`A_i` is supply per resident; ×1000 gives 学位/千人. The shortfall of an origin is what its
residents lack against the standard per 1000 residents, in supply units.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from weihai_gis.errors import StandardsError
from weihai_gis.planning.matrix import CostMatrix
from weihai_gis.standards import planning_config

__all__ = ["AccessResult", "step_decay", "supply_standard", "two_step_fca"]

log = logging.getLogger(__name__)

DecayFn = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]


def step_decay(max_m: float, zones: list[dict[str, float]] | None = None) -> DecayFn:
    """Return the E2SFCA step weight function for the walking limit ``max_m`` metres.

    Parameters
    ----------
    max_m
        The catchment limit in metres.
    zones
        ``[{upto_share, weight}, ...]``: weight of distances ``d <= upto_share × max_m`` (first match, in
        increasing order); default ``planning.yaml`` (Luo & Qi 2009: 1.00, 0.68, 0.22 over thirds).
    """
    zones = zones if zones is not None else planning_config()["access"]["decay"]["zones"]
    ordered = sorted(zones, key=lambda z: float(z["upto_share"]))
    # shares like 0.3333333333 stand for 1/3: a relative tolerance keeps the zone limit itself inside
    limits = np.array([float(z["upto_share"]) * max_m for z in ordered]) * (1 + 1e-9)
    weights = np.array([float(z["weight"]) for z in ordered] + [0.0])

    def weight(d: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return weights[np.searchsorted(limits, np.asarray(d, dtype=float), side="left")]

    return weight


def supply_standard(category: str) -> dict[str, object]:
    """Return the ``planning.yaml`` supply entry of a category (unit_zh, per_1000, default_capacity ...).

    Raises
    ------
    StandardsError
        When the category has no supply standard (the message lists those that have one).
    """
    supply = planning_config()["supply"]
    if category not in supply:
        raise StandardsError(
            f"planning.yaml: category {category!r} has no supply standard; known: {', '.join(sorted(supply))}. "
            "Add it under supply: with unit_zh, per_1000, default_capacity, citation, verified."
        )
    return dict(supply[category])


@dataclass
class AccessResult:
    """Supply-to-demand ratios per site and per origin.

    Attributes
    ----------
    origins
        One row per origin: population, access (supply per resident, 0 when no site in reach),
        access_per_1000, target_per_1000, shortfall (supply units missing against the target, ≥ 0),
        in_reach (True when some site is within the limit).
    sites
        One row per site: supply, demand_in_reach (Σ P_i W), ratio (R_j, supply per resident; NaN when no
        resident in reach).
    method
        ``"2SFCA"`` or ``"E2SFCA"``.
    unit_zh
        Supply unit (学位, 托位 ...).
    """

    origins: pd.DataFrame
    sites: pd.DataFrame
    method: str
    unit_zh: str = ""

    def by_unit(self, labels: npt.ArrayLike) -> pd.DataFrame:
        """Aggregate per unit label (one label per origin; NaN labels are left out).

        Returns
        -------
        pandas.DataFrame
            Indexed by label: population, access_per_1000 (population-weighted mean), target_per_1000,
            shortfall (sum, supply units), population_without_site (no site in reach).
        """
        o = self.origins.assign(_label=np.asarray(labels))
        o = o[o["_label"].notna()]
        o = o.assign(
            _w=o["population"] * o["access_per_1000"],
            _none=np.where(o["in_reach"], 0.0, o["population"]),
        )
        g = o.groupby("_label")
        out = pd.DataFrame(
            {
                "population": g["population"].sum(),
                "access_per_1000": g["_w"].sum() / g["population"].sum().where(lambda s: s > 0),
                "target_per_1000": g["target_per_1000"].first(),
                "shortfall": g["shortfall"].sum(),
                "population_without_site": g["_none"].sum(),
            }
        )
        out.index.name = "unit"
        return out


def two_step_fca(
    cm: CostMatrix,
    population: npt.ArrayLike,
    supply: npt.ArrayLike,
    *,
    max_m: float | None = None,
    decay: str | DecayFn | None = None,
    target_per_1000: float | None = None,
    unit_zh: str = "",
) -> AccessResult:
    """Compute 2SFCA (``decay=None``) or E2SFCA (``decay="steps"`` or a weight function) access.

    Parameters
    ----------
    cm
        Origin × site walking distances (:func:`weihai_gis.planning.cost_matrix`).
    population
        Residents per origin (length ``cm.n_origins``).
    supply
        Supply per site (学位, 托位 ...; length ``cm.n_sites``).
    max_m
        Catchment limit in metres (default the matrix cutoff; must not exceed it).
    decay
        None (2SFCA, weight 1 inside the limit), ``"steps"`` (the E2SFCA zones of ``planning.yaml``), or a
        function of distance in metres returning weights in 0..1.
    target_per_1000
        Standard supply per 1000 residents for the shortfall (e.g. :func:`supply_standard`); NaN when None.
    unit_zh
        Supply unit for tables.

    Returns
    -------
    AccessResult
    """
    pop = np.asarray(population, dtype=float)
    sup = np.asarray(supply, dtype=float)
    if len(pop) != cm.n_origins or len(sup) != cm.n_sites:
        raise ValueError(
            f"population has {len(pop)} values for {cm.n_origins} origins and supply {len(sup)} for "
            f"{cm.n_sites} sites; they must match the cost matrix."
        )
    limit = cm.cutoff_m if max_m is None else float(max_m)
    if limit > cm.cutoff_m + 1e-9:
        raise ValueError(f"max_m {limit:g} m exceeds the cost matrix cutoff {cm.cutoff_m:g} m; rebuild it.")
    keep = cm.dist_m <= limit
    o, s, d = cm.origin[keep], cm.site[keep], cm.dist_m[keep]
    if decay is None:
        w, method = np.ones(len(d)), "2SFCA"
    else:
        fn = step_decay(limit) if decay == "steps" else decay
        if not callable(fn):
            raise ValueError(f"decay: expected None, 'steps' or a function, got {decay!r}.")
        w, method = np.asarray(fn(d), dtype=float), "E2SFCA"
    demand = np.bincount(s, weights=pop[o] * w, minlength=cm.n_sites)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand > 0, sup / demand, np.nan)
    access = np.bincount(o, weights=np.nan_to_num(ratio[s]) * w, minlength=cm.n_origins)
    in_reach = np.bincount(o, weights=(w > 0).astype(float), minlength=cm.n_origins) > 0
    per_1000 = access * 1000
    target = np.nan if target_per_1000 is None else float(target_per_1000)
    shortfall = np.maximum(0.0, target - per_1000) * pop / 1000 if target_per_1000 is not None else np.nan
    origins = pd.DataFrame(
        {
            "population": pop,
            "access": access,
            "access_per_1000": per_1000,
            "target_per_1000": target,
            "shortfall": shortfall,
            "in_reach": in_reach,
        }
    )
    sites = pd.DataFrame({"supply": sup, "demand_in_reach": demand, "ratio": ratio})
    log.info(
        "%s: %d sites, %d origins, %.1f %s per 1000 residents overall",
        method,
        cm.n_sites,
        cm.n_origins,
        float((pop * per_1000).sum() / max(pop.sum(), 1e-12)),
        unit_zh,
    )
    return AccessResult(origins=origins, sites=sites, method=method, unit_zh=unit_zh)
