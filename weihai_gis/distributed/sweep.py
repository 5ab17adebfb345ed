"""Scenario sweeps: many what-if variants of one coverage run fanned out over the same Dask cluster.

The network, origins and facilities are scattered to every worker once; each scenario is one task that runs
the single-machine :func:`weihai_gis.coverage` on its variant of the facilities (and options), so its result
is the one running it alone gives. A worker holds the network once and reuses its CSR and spatial index
across the scenarios it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from tqdm.auto import tqdm

from weihai_gis.distributed.cluster import SchedulerSpec, connect
from weihai_gis.distributed.coverage import shippable
from weihai_gis.errors import LayerError
from weihai_gis.lifecircle.compute import coverage
from weihai_gis.lifecircle.results import CoverageResult
from weihai_gis.network import WalkNetwork
from weihai_gis.options import CoverageOptions

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Scenario", "sweep"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scenario:
    """A what-if variant of the facilities (and optionally of the options).

    Attributes
    ----------
    name
        Scenario name (unique within a sweep), e.g. ``"新增2处社区卫生服务站"``.
    add
        Facilities added (same fields as the base facilities, any CRS), or None.
    remove
        Values of ``id_field`` of base facilities removed.
    id_field
        Facility field that ``remove`` refers to.
    options
        ``CoverageOptions`` field changes for this scenario (e.g. ``{"profile": "mofcom-15min"}``).
    """

    name: str
    add: gpd.GeoDataFrame | None = None
    remove: Sequence[str] = ()
    id_field: str = "id"
    options: Mapping[str, Any] = field(default_factory=dict)

    def facilities(self, base: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Return ``base`` with this scenario's removals and additions applied (``base`` is not changed).

        Raises
        ------
        LayerError
            When ``remove`` names ids that are not in ``base[id_field]``.
        """
        out = base
        if len(self.remove):
            if self.id_field not in base.columns:
                raise LayerError(
                    f"scenario {self.name!r}: facilities have no field {self.id_field!r} to remove by; "
                    f"fields are {list(base.columns)}."
                )
            ids = base[self.id_field].astype(str)
            missing = sorted(set(map(str, self.remove)) - set(ids))
            if missing:
                raise LayerError(
                    f"scenario {self.name!r}: facilities field {self.id_field!r} has no {missing[:10]}; "
                    "remove only ids present in the facilities."
                )
            out = base.loc[~ids.isin(list(map(str, self.remove))).to_numpy()]
        if self.add is not None and len(self.add):
            added = self.add.to_crs(base.crs) if base.crs is not None else self.add
            out = gpd.GeoDataFrame(pd.concat([out, added], ignore_index=True), crs=base.crs)
        return out


def _run_scenario(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    scenario: Scenario,
    options: CoverageOptions,
    units: Mapping[str, gpd.GeoDataFrame] | None,
    kwargs: Mapping[str, Any],
) -> tuple[str, CoverageResult]:
    """Worker task: one scenario's coverage, as a single-machine run."""
    opts = options.replace(**scenario.options) if scenario.options else options
    return scenario.name, coverage(net, origins, scenario.facilities(facilities), opts, units=units, **kwargs)


def sweep(
    scenarios: Sequence[Scenario],
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    options: CoverageOptions | None = None,
    *,
    scheduler: str | SchedulerSpec | Client = "local",
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
    progress: bool = False,
    **kwargs: Any,
) -> dict[str, CoverageResult]:
    """Run every scenario's coverage on a Dask cluster; each result equals running that scenario alone.

    Parameters
    ----------
    scenarios
        What-if variants (unique names).
    net, origins, facilities, options, units
        The base run, as for :func:`weihai_gis.coverage`.
    scheduler
        ``"local"``, ``"local:N"``, a scheduler address, or a connected ``Client``.
    progress
        Show a tqdm bar over finished scenarios.
    **kwargs
        Further :func:`weihai_gis.coverage` arguments (``inputs``, ``source_label``).

    Returns
    -------
    dict
        ``{scenario name: CoverageResult}`` in the order of ``scenarios``.

    Raises
    ------
    ValueError
        When two scenarios share a name.
    """
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"sweep: scenario names must be unique; repeated: {dup}.")
    for s in scenarios:  # bad ids fail here, before anything is sent
        s.facilities(facilities)
    opts = options or CoverageOptions()
    with connect(scheduler) as client:
        from distributed import as_completed

        shared = client.scatter([shippable(net), origins, facilities], broadcast=True)
        futures = [
            client.submit(_run_scenario, *shared, s, opts, units, dict(kwargs), pure=False) for s in scenarios
        ]
        results: dict[str, CoverageResult] = {}
        for future in tqdm(as_completed(futures), total=len(futures), desc="scenarios", disable=not progress):
            name, res = future.result()
            results[name] = res
    log.info("sweep: %d scenarios", len(results))
    return {n: results[n] for n in names}
