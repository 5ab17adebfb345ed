"""From coverage to decisions: gap areas, facility siting and capacity-aware access on our own network.

* :mod:`~weihai_gis.planning.matrix` — sparse origin × site walking distances (multi-source Dijkstra with a
  cutoff on the network CSR), the cost matrix every other module uses;
* :mod:`~weihai_gis.planning.siting` — set covering, maximal covering and their capacitated versions with
  existing facilities fixed (HiGHS MILP), :mod:`~weihai_gis.planning.greedy` for large instances;
* :mod:`~weihai_gis.planning.access` — 2SFCA / E2SFCA supply-to-demand ratios and shortfalls;
* :mod:`~weihai_gis.planning.gaps` — residents out of reach grouped into connected gap areas.
"""

from __future__ import annotations

from weihai_gis.planning.access import AccessResult, step_decay, supply_standard, two_step_fca
from weihai_gis.planning.gaps import GAP_COLUMNS, gap_areas, gap_clusters
from weihai_gis.planning.matrix import CostMatrix, cost_matrix, node_sites
from weihai_gis.planning.siting import (
    SitingError,
    SitingProblem,
    SitingResult,
    coverage_curve,
    evaluate,
    maximal_covering,
    set_covering,
)

__all__ = [
    "GAP_COLUMNS",
    "AccessResult",
    "CostMatrix",
    "SitingError",
    "SitingProblem",
    "SitingResult",
    "cost_matrix",
    "coverage_curve",
    "evaluate",
    "gap_areas",
    "gap_clusters",
    "maximal_covering",
    "node_sites",
    "set_covering",
    "step_decay",
    "supply_standard",
    "two_step_fca",
]
