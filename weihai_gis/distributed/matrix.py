"""Origin × site cost matrices for siting and 2SFCA on a Dask cluster, equal to the single-machine matrix.

:func:`weihai_gis.planning.cost_matrix` searches from every site independently (one bounded Dijkstra per
site's edge ends), so the sites can be split into consecutive chunks, each chunk's matrix computed on a
worker, and the chunks joined in order with their site numbers shifted back: the pairs, their distances
(the same floating-point operations on the same inputs) and their order (by site, then origin) are those
of the single run. The network and the origins' snapping are scattered to every worker once; so are a walker
group's edge times (``times=``, hills included: computed once here, never per worker), for a minutes matrix on
the directed time graph.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from weihai_gis.distributed.cluster import SchedulerSpec, connect
from weihai_gis.distributed.coverage import ShippedNetwork, shippable
from weihai_gis.network import Snapped, WalkNetwork
from weihai_gis.network.costs import EdgeTimes
from weihai_gis.planning.matrix import CostMatrix, cost_matrix

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

__all__ = ["distributed_cost_matrix"]


def _chunk(
    shipped: ShippedNetwork, origins: Snapped, times: EdgeTimes | None, sites: Snapped, cutoff_m: float
) -> CostMatrix:
    """Worker task: the cost matrix of one consecutive chunk of sites (site numbers local to the chunk)."""
    return cost_matrix(shipped.net, origins, sites, cutoff_m=cutoff_m, times=times)


def distributed_cost_matrix(
    net: WalkNetwork,
    origins: Snapped,
    sites: Snapped,
    *,
    cutoff_m: float,
    scheduler: str | SchedulerSpec | Client = "local",
    chunks: int | None = None,
    progress: bool = False,
    times: EdgeTimes | None = None,
) -> CostMatrix:
    """Return :func:`weihai_gis.planning.cost_matrix` computed on a Dask cluster, sites split in chunks.

    Parameters
    ----------
    net, origins, sites, cutoff_m, times
        As for :func:`weihai_gis.planning.cost_matrix` (``times``: a walker group's minutes matrix).
    scheduler
        ``"local"``, ``"local:N"``, a scheduler address, or a connected ``Client``.
    chunks
        Number of site chunks (tasks); default four per worker.
    progress
        Show a tqdm bar over finished chunks.

    Returns
    -------
    CostMatrix
        Identical to the single-machine matrix (pairs, distances and order).
    """
    n_sites = len(sites.edge)
    with connect(scheduler) as client:
        from distributed import as_completed

        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        bounds = [b for b in np.array_split(np.arange(n_sites), chunks or 4 * n_workers) if len(b)]
        shared = client.scatter([shippable(net), origins, times], broadcast=True, hash=False)
        futures = [client.submit(_chunk, *shared, sites.take(b), float(cutoff_m), pure=False) for b in bounds]
        for _ in tqdm(as_completed(futures), total=len(futures), desc="cost matrix", disable=not progress):
            pass
        parts: list[CostMatrix] = client.gather(futures)  # in the order of the chunks
    starts = [int(b[0]) for b in bounds]
    empty_i: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
    origin = np.concatenate([empty_i, *(p.origin for p in parts)])
    site = np.concatenate([empty_i, *(p.site + s for p, s in zip(parts, starts, strict=True))])
    dist_m = np.concatenate([np.empty(0), *(p.dist_m for p in parts)])
    log.info("cost matrix on the cluster: %d site chunks, %d pairs", len(parts), len(dist_m))
    return CostMatrix(
        origin=origin.astype(np.int64),
        site=site.astype(np.int64),
        dist_m=dist_m.astype(np.float64),
        n_origins=len(origins.edge),
        n_sites=n_sites,
        cutoff_m=float(cutoff_m),
        walker=None if times is None else times.walker,
    )
