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
from tqdm.auto import tqdm

from weihai_gis.distributed.cluster import SchedulerSpec, connect
from weihai_gis.distributed.partition import Partition, plan_partitions, remap_snapped, subnetwork
from weihai_gis.lifecircle.compute import DistanceRequest, category_distances, category_times, coverage
from weihai_gis.lifecircle.results import CoverageResult
from weihai_gis.network import Snapped, WalkNetwork
from weihai_gis.network.costs import EdgeTimes, edge_times
from weihai_gis.options import CoverageOptions
from weihai_gis.standards import walker_groups

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["DaskDistances", "ShippedNetwork", "distributed_coverage", "shippable"]

log = logging.getLogger(__name__)

#: Added to the largest cutoff for the sub-network radius (metres): floating-point slack only.
RADIUS_SLACK_M = 1.0

#: Up to this many edges the whole network is scattered to every worker (``ship="auto"``); above it each task
#: gets only its sub-network, so a worker's memory is bounded by a partition, not by the province.
WHOLE_NETWORK_MAX_EDGES = 500_000

PartitionRows = tuple[int, npt.NDArray[np.int64], dict[str, Any]]


class ShippedNetwork:
    """A walking network packed for the workers: its arrays (edge vertices included), no per-process caches.

    The network holds its edge geometry as vertex arrays (LineStrings are built where asked), so nothing
    is pickled object by object (which costs seconds per 100k edges). The network is unpacked once where it lands (a scattered
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
        fields = {
            f.name: getattr(self.net, f.name) for f in dataclasses.fields(self.net) if f.name != "_cache"
        }
        return {"fields": fields}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.net = WalkNetwork(**state["fields"])


def shippable(net: WalkNetwork) -> ShippedNetwork:
    """Return ``net`` packed for ``client.scatter`` (see :class:`ShippedNetwork`)."""
    return ShippedNetwork(net)


def _cut(
    net: WalkNetwork,
    origins: Snapped,
    facilities: Snapped,
    times: EdgeTimes | None,
    part: Partition,
    requests: Sequence[DistanceRequest],
) -> tuple[WalkNetwork, Snapped, Snapped, list[DistanceRequest], EdgeTimes | None]:
    """Return a partition's sub-network, its origins' and facilities' snaps on it, its requests and edge times."""
    sub = subnetwork(net, part.edges)
    o_sub = remap_snapped(origins, part.origins, part.edges)
    f_sub = remap_snapped(facilities, part.facilities, part.edges)
    local = [(cid, np.flatnonzero(np.isin(part.facilities, rows)), cutoff) for cid, rows, cutoff in requests]
    return sub, o_sub, f_sub, local, (take_edges(times, part.edges, sub) if times is not None else None)


def _solve(
    sub: WalkNetwork,
    o_sub: Snapped,
    f_sub: Snapped,
    local: Sequence[DistanceRequest],
    sub_times: EdgeTimes | None,
    options: CoverageOptions,
) -> dict[str, Any]:
    """Run the single-machine backend on one partition (metres, or walker times when ``sub_times``)."""
    if sub_times is None:
        return category_distances(sub, o_sub, f_sub, local, options)
    return category_times(sub, o_sub, f_sub, local, options, times=sub_times)


def _whole_task(
    shipped: ShippedNetwork,
    origins: Snapped,
    facilities: Snapped,
    times: EdgeTimes | None,
    part: Partition,
    requests: Sequence[DistanceRequest],
    options: CoverageOptions,
) -> PartitionRows:
    """Worker task (network scattered whole): cut the partition here, then solve it."""
    cut = _cut(shipped.net, origins, facilities, times, part, requests)
    return part.id, part.origins, _solve(*cut, options)


def _part_task(
    pid: int,
    rows: npt.NDArray[np.int64],
    shipped: ShippedNetwork,
    o_sub: Snapped,
    f_sub: Snapped,
    local: Sequence[DistanceRequest],
    sub_times: EdgeTimes | None,
    options: CoverageOptions,
) -> PartitionRows:
    """Worker task (only the partition's sub-network sent): solve it."""
    return pid, rows, _solve(shipped.net, o_sub, f_sub, local, sub_times, options)


def take_edges(times: EdgeTimes, edges: npt.NDArray[np.int64], sub: WalkNetwork) -> EdgeTimes:
    """Return the edge times of the edges at positions ``edges`` only (sub-segments and sums kept as they are).

    ``sub`` is the sub-network of those edges (:func:`subnetwork`): the times' graph is built on its nodes.
    """
    prof = times.profile
    start, count = prof.piece_offset[edges], np.diff(prof.piece_offset)[edges]
    pieces = np.repeat(start - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
    sub_prof = dataclasses.replace(
        prof,
        piece_offset=np.r_[0, np.cumsum(count)].astype(np.int64),
        piece_end_m=prof.piece_end_m[pieces],
        piece_rise_m=prof.piece_rise_m[pieces],
    )
    return dataclasses.replace(
        times,
        forward_s=times.forward_s[edges],
        backward_s=times.backward_s[edges],
        profile=sub_prof,
        cum_forward_s=times.cum_forward_s[pieces],
        cum_backward_s=times.cum_backward_s[pieces],
        _edge_u=sub.edge_u,
        _edge_v=sub.edge_v,
        _n_nodes=sub.n_nodes,
    )


class DaskDistances:
    """A :data:`~weihai_gis.lifecircle.compute.DistanceBackend` running the engine per partition on Dask.

    Parameters
    ----------
    client
        A connected ``distributed.Client``.
    n_partitions, method, cell_m
        How origins are partitioned (:func:`~weihai_gis.distributed.partition.plan_partitions`); default one
        Hilbert partition per ~2 000 origins and at least two per worker.
    ship
        ``"whole"``: scatter the whole network to every worker once (each worker holds all of it);
        ``"parts"``: send each task only its partition's sub-network (worker memory bounded by a partition,
        for province-size networks); ``"auto"``: whole up to :data:`WHOLE_NETWORK_MAX_EDGES` edges.
    progress
        Show a tqdm bar over finished partitions.
    halo
        Walker-group runs: ``"time"`` (default) cuts each partition's sub-network to the edges reached
        within the time budget; ``"box"`` to the box of the budget × the fastest speed (see :meth:`times`).
    """

    def __init__(
        self,
        client: Client,
        *,
        n_partitions: int | None = None,
        method: str = "hilbert",
        cell_m: float | None = None,
        ship: str = "auto",
        progress: bool = False,
        halo: str = "time",
    ) -> None:
        if ship not in ("auto", "whole", "parts"):
            raise ValueError(f"ship must be 'auto', 'whole' or 'parts', got {ship!r}.")
        if halo not in ("time", "box"):
            raise ValueError(f"halo must be 'time' or 'box', got {halo!r}.")
        self.halo = halo
        self.ship = ship
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
        *,
        radius_m: float | None = None,
        times: EdgeTimes | None = None,
        budget_s: float | None = None,
    ) -> list[Future]:
        """Plan the partitions, scatter the network and snaps once, and submit one task per partition.

        ``radius_m`` defaults to the largest cutoff (metres runs); with the whole network's edge ``times``
        the tasks run :func:`category_times` (walker groups), and with the largest time budget ``budget_s``
        too the sub-networks are the halo in time (:func:`~weihai_gis.distributed.partition.time_halo`).
        """
        radius = radius_m if radius_m is not None else max(cutoff for _, _, cutoff in requests)
        radius += RADIUS_SLACK_M
        n = self.n_partitions
        if n is None and self.method == "hilbert":
            workers = max(1, len(self.client.scheduler_info().get("workers", {})))
            n = max(2 * workers, -(-int(origins.reachable.sum()) // 2000))
        self.partitions = plan_partitions(
            net,
            origins,
            facilities,
            radius,
            n_partitions=n,
            method=self.method,
            cell_m=self.cell_m,
            times=times if budget_s is not None else None,
            budget_s=budget_s,
        )
        whole = self.ship == "whole" or (self.ship == "auto" and net.n_edges <= WHOLE_NETWORK_MAX_EDGES)
        if whole:  # sent once per worker, not per task; hash=False: tokenising object arrays costs more
            shared = self.client.scatter(
                [shippable(net), origins, facilities, times], broadcast=True, hash=False
            )
            return [
                self.client.submit(_whole_task, *shared, part, list(requests), options, pure=False)
                for part in self.partitions
            ]
        futures = []
        for part in self.partitions:  # each worker receives only the sub-networks of its partitions
            sub, o_sub, f_sub, local, sub_times = _cut(net, origins, facilities, times, part, requests)
            args = (part.id, part.origins, shippable(sub), o_sub, f_sub, local, sub_times, options)
            futures.append(self.client.submit(_part_task, *args, pure=False))
        return futures

    def gather(
        self, futures: Sequence[Future], n_origins: int, categories: Sequence[str], *, width: int = 1
    ) -> dict[str, Any]:
        """Collect the partitions' rows into full arrays per category; check each origin is filled once.

        ``width`` 1: the tasks return one array per category (metres runs); 2: a tuple (seconds, metres)
        of walker runs, returned as such.
        """
        from distributed import as_completed

        out = {cid: tuple(np.full(n_origins, np.nan) for _ in range(width)) for cid in categories}
        filled = np.zeros(n_origins, dtype=np.int64)
        seen: set[int] = set()
        done = tqdm(total=len(futures), desc="partitions", disable=not self.progress)
        for future in as_completed(futures):
            pid, rows, values = future.result()
            done.update()
            if pid in seen:  # a partition's result arrives once per future; guard anyway
                continue
            seen.add(pid)
            filled[rows] += 1
            for cid in categories:
                parts = values[cid] if width > 1 else (values[cid],)
                for target, part in zip(out[cid], parts, strict=True):
                    target[rows] = part
        done.close()
        expected = np.zeros(n_origins, dtype=np.int64)
        for part in self.partitions:
            expected[part.origins] = 1
        if not np.array_equal(filled, expected):
            raise RuntimeError(
                f"distributed coverage: {int((filled < expected).sum())} origins missing and "
                f"{int((filled > 1).sum())} filled twice after gathering {len(seen)} partitions."
            )
        return {cid: value if width > 1 else value[0] for cid, value in out.items()}

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

    def times(
        self,
        net: WalkNetwork,
        origins: Snapped,
        facilities: Snapped,
        requests: Sequence[DistanceRequest],
        options: CoverageOptions,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Return ``{category id: (seconds, metres)}`` of a walker-group run, equal to :func:`category_times`.

        The edge times (DEM sampling included) are computed once on the whole network here, scattered once
        to every worker with it, and each task cuts them to its sub-network, so they are the single run's.
        The partition's halo is in time (``halo="time"``, default): the edges the group reaches within
        the largest time budget on the directed graph (:func:`~weihai_gis.distributed.partition.time_halo`).
        ``halo="box"`` takes instead the box of the budget times the fastest speed anywhere
        (:func:`fastest_m_per_s`: any sub-segment in either direction, and the level-ground speed of the
        connectors), a route within the budget cannot get farther than that; by Tobler's function
        (:func:`weihai_gis.network.costs.tobler_pace_factor`) that speed is at most the group's level speed
        / exp(−0.175) ≈ 1.19 × (the fastest descent, slope −5 %). That speed also sizes the default grid
        cells.
        """
        times = edge_times(
            net,
            dem=options.dem_costs,
            walker=options.walker_group or "adult",
            cache_dir=options.profile_cache_dir,
        )
        adult_m_per_s = walker_groups()["adult"]["speed_m_per_min"] / 60
        budget_s = max(cutoff for _, _, cutoff in requests) / adult_m_per_s
        radius = budget_s * fastest_m_per_s(times)
        in_time = budget_s if self.halo == "time" else None
        futures = self.submit(
            net, origins, facilities, requests, options, radius_m=radius, times=times, budget_s=in_time
        )
        return self.gather(futures, len(origins.edge), [cid for cid, _, _ in requests], width=2)


def fastest_m_per_s(times: EdgeTimes) -> float:
    """Return the highest walking speed (m/s) on any sub-segment in either direction, or on level ground."""
    prof = times.profile
    length = prof.piece_length_m
    first = np.zeros(len(length), dtype=bool)
    first[prof.piece_offset[:-1][np.diff(prof.piece_offset) > 0]] = True
    speeds = [times.speed_m_per_s]
    for cum in (times.cum_forward_s, times.cum_backward_s):
        dt = cum - np.where(first, 0.0, np.r_[0.0, cum[:-1]])
        ok = np.isfinite(dt) & (dt > 0) & (length > 0)
        if ok.any():
            speeds.append(float(np.max(length[ok] / dt[ok])))
    return max(speeds)


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
