"""Coverage on a Dask cluster: the engine runs per spatial partition, everything else once, as on one machine.

:func:`weihai_gis.coverage` validates the inputs, snaps origins and facilities on the whole network (so
components/islands are decided there), then asks a distance backend for the per-category distances and
builds the summaries from all per-origin rows. :class:`DaskDistances` is that backend on a cluster: the whole
network and both snapping results are scattered to the workers once; each task cuts its partition's
sub-network (see :mod:`weihai_gis.distributed.partition` for why its distances are exact) and runs the same
single-machine backend (:func:`weihai_gis.lifecircle.compute.category_distances`) on it. Rows come back keyed
by origin position; a task that is retried (its worker died) returns the same rows again, and every origin
is checked to be filled exactly once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from tqdm.auto import tqdm

from weihai_gis.distributed.cluster import SchedulerSpec, connect
from weihai_gis.distributed.partition import Partition, plan_partitions, remap_snapped, subnetwork
from weihai_gis.lifecircle.compute import DistanceRequest, category_distances, coverage
from weihai_gis.lifecircle.results import CoverageResult
from weihai_gis.network import Snapped, WalkNetwork
from weihai_gis.options import CoverageOptions

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["DaskDistances", "ShippedNetwork", "distributed_coverage", "shippable"]

log = logging.getLogger(__name__)

#: Added to the largest cutoff for the sub-network radius (metres): floating-point slack only.
RADIUS_SLACK_M = 1.0

PartitionRows = tuple[int, npt.NDArray[np.int64], dict[str, npt.NDArray[np.float64]]]


class ShippedNetwork:
    """A walking network packed for the workers: edge geometries as WKB, no per-process caches.

    Pickling shapely geometries one by one (and dask's hashing of object arrays) costs seconds per 100k
    edges; WKB is one vectorised call each way. The network is unpacked once where it lands (a scattered
    object is deserialised once per worker) and tasks use :attr:`net`.

    Parameters
    ----------
    net
        The network (its components are computed here and sent along: sub-networks need them).
    """

    def __init__(self, net: WalkNetwork) -> None:
        net.components()
        self.net = net

    def __getstate__(self) -> dict[str, Any]:
        skip = ("edge_geometry", "_cache")
        fields = {
            f.name: getattr(self.net, f.name) for f in dataclasses.fields(self.net) if f.name not in skip
        }
        return {"fields": fields, "wkb": shapely.to_wkb(self.net.edge_geometry)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.net = WalkNetwork(**state["fields"], edge_geometry=shapely.from_wkb(state["wkb"]))


def shippable(net: WalkNetwork) -> ShippedNetwork:
    """Return ``net`` packed for ``client.scatter`` (see :class:`ShippedNetwork`)."""
    return ShippedNetwork(net)


def _partition_rows(
    shipped: ShippedNetwork,
    origins: Snapped,
    facilities: Snapped,
    part: Partition,
    requests: Sequence[DistanceRequest],
    options: CoverageOptions,
) -> PartitionRows:
    """Worker task: distances for one partition's origins on its sub-network."""
    sub = subnetwork(shipped.net, part.edges)
    o_sub = remap_snapped(origins, part.origins, part.edges)
    f_sub = remap_snapped(facilities, part.facilities, part.edges)
    local = [(cid, np.flatnonzero(np.isin(part.facilities, rows)), cutoff) for cid, rows, cutoff in requests]
    return part.id, part.origins, category_distances(sub, o_sub, f_sub, local, options)


class DaskDistances:
    """A :data:`~weihai_gis.lifecircle.compute.DistanceBackend` running the engine per partition on Dask.

    Parameters
    ----------
    client
        A connected ``distributed.Client``.
    n_partitions, method, cell_m
        How origins are partitioned (:func:`~weihai_gis.distributed.partition.plan_partitions`); default one
        Hilbert partition per ~2 000 origins and at least two per worker.
    progress
        Show a tqdm bar over finished partitions.
    """

    def __init__(
        self,
        client: Client,
        *,
        n_partitions: int | None = None,
        method: str = "hilbert",
        cell_m: float | None = None,
        progress: bool = False,
    ) -> None:
        self.client = client
        self.n_partitions = n_partitions
        self.method = method
        self.cell_m = cell_m
        self.progress = progress
        self.partitions: list[Partition] = []

    def submit(
        self,
        net: WalkNetwork,
        origins: Snapped,
        facilities: Snapped,
        requests: Sequence[DistanceRequest],
        options: CoverageOptions,
    ) -> list[Future]:
        """Plan the partitions, scatter the network and snaps once, and submit one task per partition."""
        radius = max(cutoff for _, _, cutoff in requests) + RADIUS_SLACK_M
        n = self.n_partitions
        if n is None and self.method == "hilbert":
            workers = max(1, len(self.client.scheduler_info().get("workers", {})))
            n = max(2 * workers, -(-int(origins.reachable.sum()) // 2000))
        self.partitions = plan_partitions(
            net, origins, facilities, radius, n_partitions=n, method=self.method, cell_m=self.cell_m
        )
        # sent once per worker, not per task; hash=False: tokenising object arrays costs more than sending
        shared = self.client.scatter([shippable(net), origins, facilities], broadcast=True, hash=False)
        return [
            self.client.submit(_partition_rows, *shared, part, list(requests), options, pure=False)
            for part in self.partitions
        ]

    def gather(
        self, futures: Sequence[Future], n_origins: int, categories: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Collect the partitions' rows into one array per category; check each origin is filled once."""
        from distributed import as_completed

        out = {cid: np.full(n_origins, np.nan) for cid in categories}
        filled = np.zeros(n_origins, dtype=np.int64)
        seen: set[int] = set()
        done = tqdm(total=len(futures), desc="partitions", disable=not self.progress)
        for future in as_completed(futures):
            pid, rows, dists = future.result()
            done.update()
            if pid in seen:  # a partition's result arrives once per future; guard anyway
                continue
            seen.add(pid)
            filled[rows] += 1
            for cid in categories:
                out[cid][rows] = dists[cid]
        done.close()
        expected = np.zeros(n_origins, dtype=np.int64)
        for part in self.partitions:
            expected[part.origins] = 1
        if not np.array_equal(filled, expected):
            raise RuntimeError(
                f"distributed coverage: {int((filled < expected).sum())} origins missing and "
                f"{int((filled > 1).sum())} filled twice after gathering {len(seen)} partitions."
            )
        return out

    def __call__(
        self,
        net: WalkNetwork,
        origins: Snapped,
        facilities: Snapped,
        requests: Sequence[DistanceRequest],
        options: CoverageOptions,
    ) -> dict[str, np.ndarray]:
        """Return ``{category id: distance per origin}``, equal to the single-machine backend's."""
        futures = self.submit(net, origins, facilities, requests, options)
        return self.gather(futures, len(origins.edge), [cid for cid, _, _ in requests])


def distributed_coverage(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    options: CoverageOptions | None = None,
    *,
    scheduler: str | SchedulerSpec | Client = "local",
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
    n_partitions: int | None = None,
    method: str = "hilbert",
    progress: bool = False,
    **kwargs: Any,
) -> CoverageResult:
    """Compute :func:`weihai_gis.coverage` with the engine partitioned over a Dask cluster.

    Parameters
    ----------
    net, origins, facilities, options, units
        As for :func:`weihai_gis.coverage`.
    scheduler
        ``"local"``, ``"local:N"``, a scheduler address, or a connected ``Client``.
    n_partitions, method
        Origin partitions (see :class:`DaskDistances`).
    progress
        Show progress bars.
    **kwargs
        Further :func:`weihai_gis.coverage` arguments (``inputs``, ``source_label``, option overrides).

    Returns
    -------
    CoverageResult
        The same result as ``coverage(net, origins, facilities, options, ...)``: identical per-origin
        columns, equal summaries.
    """
    with connect(scheduler) as client:
        backend = DaskDistances(client, n_partitions=n_partitions, method=method, progress=progress)
        return coverage(
            net, origins, facilities, options, units=units, progress=progress, distances=backend, **kwargs
        )
