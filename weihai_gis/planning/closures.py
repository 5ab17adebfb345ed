"""What if a barrier is added or removed: a thin seam between network barriers and the what-if scenarios.

A closure (a construction site, a gate locked, a trunk road fenced) changes the graph, so its scenario is a
:class:`~weihai_gis.planning.whatif.Scenario` carrying a cut network; :class:`~weihai_gis.planning.whatif.WhatIf`
answers it with a full coverage run on that network and :func:`~weihai_gis.planning.whatif.run_scenarios`
gives the differences per origin and per unit. To *remove* a barrier from a run already cut by barriers
``B``, answer against the cut base (``WhatIf(cut_net, base)``) with the scenario built on the uncut network
and the barriers that remain (``B`` without it; none: the uncut network itself).
"""

from __future__ import annotations

import os

import geopandas as gpd

from weihai_gis.lifecircle import CoverageResult
from weihai_gis.network import WalkNetwork, barrier_cut
from weihai_gis.planning.whatif import Scenario, ScenarioOutcome, WhatIf, run_scenarios

__all__ = ["barrier_scenario", "barrier_whatif"]


def barrier_scenario(
    net: WalkNetwork,
    barriers: gpd.GeoDataFrame | None,
    crossings: gpd.GeoDataFrame | None = None,
    *,
    name: str = "障碍",
    crossing_tolerance_m: float | None = None,
) -> Scenario:
    """Return the scenario "walk on ``net`` cut by ``barriers``" (None: ``net`` uncut, a barrier removed).

    Parameters
    ----------
    net
        The uncut walking network.
    barriers, crossings, crossing_tolerance_m
        As for :func:`weihai_gis.network.barrier_cut`.
    name
        Scenario name in tables and maps.
    """
    if barriers is None:
        return Scenario(name=name, network=net, description=f"{name}：不设障碍 / no barrier")
    cut = barrier_cut(net, barriers, crossings, crossing_tolerance_m=crossing_tolerance_m)
    return Scenario(name=name, network=cut.apply(net), description=cut.summary_zh())


def barrier_whatif(
    net: WalkNetwork,
    base: CoverageResult,
    scenario: Scenario,
    *,
    units: list[str] | None = None,
    dem_costs: str | os.PathLike[str] | None = None,
) -> ScenarioOutcome:
    """Answer one barrier scenario against ``base`` (computed on ``net``): its result and the differences.

    A base walked in minutes on hills (``walker``, ``dem_costs``) needs its DEM again (``dem_costs``): the
    cut network is walked by the same group on the same hills (see :class:`~weihai_gis.planning.whatif.WhatIf`).

    Returns
    -------
    ScenarioOutcome
        ``table`` (before/after/Δ per unit), ``origins`` (origins whose coverage changed, with distances
        before and after), ``hexagons``, and the scenario's full ``result``.
    """
    return run_scenarios(WhatIf(net, base, dem_costs=dem_costs), [scenario], units=units)[0]
