"""Scenario sweeps: many what-if scenarios of one base run fanned out over the same Dask cluster.

A scenario is :class:`weihai_gis.planning.whatif.Scenario` (facilities added / removed / moved, optionally a
cut network). The network and the base :class:`~weihai_gis.lifecircle.CoverageResult` are scattered to every
worker once; each scenario is one task answered by
:func:`weihai_gis.planning.whatif.run_scenarios` on that worker, so its outcome (result, difference tables
and layers) is the one running it alone gives. Each worker thread keeps one
:class:`~weihai_gis.planning.whatif.WhatIf` per base run, so the full searches a category needs are done
once per worker and every later scenario of that category is incremental. A walker-group (minutes) base run
is answered on the workers as on one machine: its edge times (the base run's walker on its DEM) are computed
once here and scattered with the network, so no worker reads the DEM; only a scenario that cuts the network
samples the DEM (``dem_costs``, a path the workers can open — on a local cluster, always) for its new edges.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from weihai_gis.distributed.cluster import SchedulerSpec, connect
from weihai_gis.distributed.coverage import ShippedNetwork, shippable
from weihai_gis.errors import LayerError
from weihai_gis.lifecircle.results import CoverageResult
from weihai_gis.network import WalkNetwork
from weihai_gis.network.costs import EdgeTimes, edge_times

if TYPE_CHECKING:
    from distributed import Client

    from weihai_gis.planning.whatif import Scenario, ScenarioOutcome, WhatIf

__all__ = ["sweep"]

log = logging.getLogger(__name__)

_local = threading.local()


def _whatif(
    shipped: ShippedNetwork, base: CoverageResult, dem_costs: str | None, times: EdgeTimes | None
) -> WhatIf:
    """Return the worker thread's WhatIf for this (scattered) network and base run, built on first use."""
    from weihai_gis.planning.whatif import WhatIf

    key = (id(shipped), id(base), dem_costs, id(times))
    if getattr(_local, "key", None) != key:
        _local.key, _local.whatif = key, WhatIf(shipped.net, base, dem_costs=dem_costs, times=times)
    return _local.whatif


def _answer(
    shipped: ShippedNetwork,
    base: CoverageResult,
    times: EdgeTimes | None,
    scenario: Scenario,
    units: list[str] | None,
    dem_costs: str | None,
) -> ScenarioOutcome:
    """Worker task: one scenario, answered and compared with the base run as ``run_scenarios`` does."""
    from weihai_gis.planning.whatif import run_scenarios

    return run_scenarios(_whatif(shipped, base, dem_costs, times), [scenario], units=units)[0]


def sweep(
    scenarios: Sequence[Scenario],
    net: WalkNetwork,
    base: CoverageResult,
    *,
    scheduler: str | SchedulerSpec | Client = "local",
    units: list[str] | None = None,
    progress: bool = False,
    dem_costs: str | os.PathLike[str] | None = None,
) -> list[ScenarioOutcome]:
    """Answer every scenario against ``base`` on a Dask cluster; each outcome equals answering it alone.

    Parameters
    ----------
    scenarios
        What-if scenarios (distinct names), e.g. from :func:`weihai_gis.io.scenarios.read_scenarios`.
    net
        The base run's walking network.
    base
        The base run (:func:`weihai_gis.coverage`).
    scheduler
        ``"local"``, ``"local:N"``, a scheduler address, or a connected ``Client``.
    units
        Unit summaries of the base run to compare per unit (default all it carries).
    progress
        Show a tqdm bar over finished scenarios.
    dem_costs
        The DEM of a base run with hills, as for :class:`~weihai_gis.planning.whatif.WhatIf` (checked here
        against the base run before anything is sent). The edge times are sampled from it here and sent to
        the workers; they read the file only for a scenario that cuts the network.

    Returns
    -------
    list of ScenarioOutcome
        In the order of ``scenarios``, as :func:`weihai_gis.planning.whatif.run_scenarios` returns them.

    Raises
    ------
    LayerError
        When two scenarios share a name, or ``dem_costs`` does not match the base run (checked before
        anything is sent).
    """
    from weihai_gis.planning.whatif import check_base_dem

    names = [s.name for s in scenarios]
    if dup := sorted({n for n in names if names.count(n) > 1}):
        raise LayerError(f"scenarios: names {dup} are used twice; give every scenario its own name.")
    dem = None if dem_costs is None else str(Path(dem_costs).resolve())
    check_base_dem(base, dem)
    walker = base.meta.options.get("walker")
    times = None
    if walker is not None:  # once here, not on every worker; without the graph cached on it (rebuilt there)
        times = dataclasses.replace(edge_times(net, dem=dem, walker=walker))
    with connect(scheduler) as client:
        from distributed import as_completed

        shared = client.scatter([shippable(net), base], broadcast=True, hash=False)
        if times is not None:
            shared.append(client.scatter(times, broadcast=True, hash=False))
        else:
            shared.append(None)
        futures = [client.submit(_answer, *shared, s, units, dem, pure=False) for s in scenarios]
        done: dict[str, ScenarioOutcome] = {}
        for future in tqdm(as_completed(futures), total=len(futures), desc="scenarios", disable=not progress):
            outcome = future.result()
            done[outcome.scenario.name] = outcome
    log.info("sweep: %d scenarios answered on the cluster", len(done))
    return [done[n] for n in names]
