"""From coverage to decisions: gap areas, facility siting and capacity-aware access on our own network.

* :mod:`~weihai_gis.planning.matrix` — sparse origin × site walking distances (multi-source Dijkstra with a
  cutoff on the network CSR), the cost matrix every other module uses;
* :mod:`~weihai_gis.planning.siting` — set covering, maximal covering and their capacitated versions with
  existing facilities fixed (HiGHS MILP), :mod:`~weihai_gis.planning.greedy` for large instances;
* :mod:`~weihai_gis.planning.access` — 2SFCA / E2SFCA supply-to-demand ratios and shortfalls;
* :mod:`~weihai_gis.planning.gaps` — residents out of reach grouped into connected gap areas;
* :mod:`~weihai_gis.planning.whatif` — named scenarios (add / move / remove facilities, a cut network)
  answered exactly by :mod:`~weihai_gis.planning.incremental` recomputes, compared with the base run by
  :mod:`~weihai_gis.planning.compare` (difference tables, newly covered residents, difference layers).
"""

from __future__ import annotations

from weihai_gis.planning.access import AccessResult, step_decay, supply_standard, two_step_fca
from weihai_gis.planning.compare import (
    difference_hexagons,
    difference_origins,
    difference_table,
    side_by_side,
)
from weihai_gis.planning.gaps import GAP_COLUMNS, gap_areas, gap_clusters
from weihai_gis.planning.incremental import NearestState
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
from weihai_gis.planning.whatif import Scenario, ScenarioOutcome, WhatIf, run_scenarios

__all__ = [
    "GAP_COLUMNS",
    "AccessResult",
    "CostMatrix",
    "NearestState",
    "Scenario",
    "ScenarioOutcome",
    "SitingError",
    "SitingProblem",
    "SitingResult",
    "WhatIf",
    "cost_matrix",
    "coverage_curve",
    "difference_hexagons",
    "difference_origins",
    "difference_table",
    "evaluate",
    "gap_areas",
    "gap_clusters",
    "maximal_covering",
    "node_sites",
    "run_scenarios",
    "set_covering",
    "side_by_side",
    "step_decay",
    "supply_standard",
    "two_step_fca",
]
