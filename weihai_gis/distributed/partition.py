"""Spatial partitions of the origins, each with the sub-network that gives its exact distances.

Why a partition's distances are exact
-------------------------------------
Origins join the network at their projection point ``p`` (snapped on the *whole* network, so the edge, the
connector and the component test are those of a single-machine run). A walk of length ``L`` from ``p`` along
the network never leaves the disc of radius ``L`` around ``p``: every point of the path is at most its
along-path distance from ``p`` (straight line ≤ network distance). A nearest-facility distance is reported
only when it is ≤ the category's cutoff (NaN beyond, in the single run as here), so every edge that such a
path touches — walked whole, or partly, like the facility's own edge up to its projection — intersects the
disc of radius ``cutoff`` around ``p``. The sub-network of all edges meeting the partition's bounding box
grown by ``radius_m`` (≥ the largest cutoff) therefore contains every path the engine can report, with the
same edge lengths, and nothing shorter (it is a subgraph), so each reported distance is the same and each NaN
stays NaN. Facilities across the partition border are in it exactly when their snapped edge is (a facility
whose edge is outside cannot be within a cutoff of any of the partition's origins). Because snapping happens
once on the whole network, the snap limit needs no extra margin; the sub-network still carries the whole
network's component sizes so that anything asking it about islands gets the whole network's answer.

Walker groups (minutes): the halo in time
-----------------------------------------
For a walker group's directed edge times (:class:`~weihai_gis.network.costs.EdgeTimes`, hills included) the
halo is the set of edges with an end node the group reaches within the largest time budget from the ends of
the partition's origins' edges (one multi-source Dijkstra on the whole network's forward time graph, started
at 0 s at every such end, :func:`time_halo`). Starting at 0 instead of the time from the join point to the
end only enlarges the set; every node of a route the engine reports within the budget is reached within it
(times grow along a route), so every edge the route walks — whole, or partly like the facility's own edge from
its reached end — has a reached end and is in the sub-network, with the same times. It follows the streets
(and the hills) instead of a disc, so it is smaller than the metres box of the same budget.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from weihai_gis.network import Components, Snapped, WalkNetwork
from weihai_gis.network.costs import EdgeTimes
from weihai_gis.network.polylines import offsets_from_counts

__all__ = [
    "PARTITION_METHODS",
    "Partition",
    "grid_partitions",
    "hilbert_partitions",
    "join_points",
    "plan_partitions",
    "remap_snapped",
    "subnetwork",
    "time_halo",
]

log = logging.getLogger(__name__)

#: How origins are grouped: along a Hilbert curve in equal-count runs (as dask-geopandas' ``spatial_shuffle``
#: does) or by square grid cells.
PARTITION_METHODS = ("hilbert", "grid")

#: Hilbert curve level (cells per side 2**level) used to order origins.
HILBERT_LEVEL = 16


@dataclass(frozen=True)
class Partition:
    """One unit of distributed work: some origins and the edges and facilities they can reach.

    Attributes
    ----------
    id
        Partition number (0..n-1).
    origins
        Sorted positions of the partition's origins in the run's origin arrays.
    edges
        Sorted positions (into the whole network's edge arrays) of the sub-network's edges.
    facilities
        Sorted positions of the reachable facilities whose snapped edge is in ``edges``.
    """

    id: int
    origins: npt.NDArray[np.int64]
    edges: npt.NDArray[np.int64]
    facilities: npt.NDArray[np.int64]


def join_points(net: WalkNetwork, snapped: Snapped) -> npt.NDArray[np.float64]:
    """Return the (x, y) where each point joins the network (its projection on its edge); NaN when unreachable."""
    xy = np.full((len(snapped.edge), 2), np.nan)
    ok = np.flatnonzero(snapped.reachable & (snapped.edge >= 0))
    if len(ok):
        pts = shapely.line_interpolate_point(net.edge_geometry[snapped.edge[ok]], snapped.pos_m[ok])
        xy[ok] = shapely.get_coordinates(pts)
    return xy


def hilbert_partitions(xy: npt.NDArray[np.float64], n_partitions: int) -> list[npt.NDArray[np.int64]]:
    """Split points into ``n_partitions`` runs of (nearly) equal count along a Hilbert curve.

    Uses dask-geopandas' Hilbert distance (level :data:`HILBERT_LEVEL` over the points' bounds).

    Parameters
    ----------
    xy
        Point coordinates, shape (n, 2), all finite.
    n_partitions
        Number of partitions wanted (fewer when there are fewer points).

    Returns
    -------
    list of numpy.ndarray
        Sorted row positions into ``xy``, one array per non-empty partition.
    """
    from dask_geopandas.hilbert_distance import _hilbert_distance

    if len(xy) == 0:
        return []
    pts = gpd.GeoSeries(shapely.points(xy))
    bounds = tuple(pts.total_bounds)
    dist = np.asarray(_hilbert_distance(pts, total_bounds=bounds, level=HILBERT_LEVEL))
    order = np.argsort(dist, kind="stable")
    return [np.sort(chunk) for chunk in np.array_split(order, min(n_partitions, len(xy))) if len(chunk)]


def grid_partitions(xy: npt.NDArray[np.float64], cell_m: float) -> list[npt.NDArray[np.int64]]:
    """Group points by square grid cells of side ``cell_m`` metres (empty cells give no partition).

    Returns
    -------
    list of numpy.ndarray
        Sorted row positions into ``xy``, one array per occupied cell.
    """
    if len(xy) == 0:
        return []
    cell = np.floor((xy - xy.min(axis=0)) / float(cell_m)).astype(np.int64)
    key = cell[:, 0] * (int(cell[:, 1].max()) + 1) + cell[:, 1]
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    return [np.sort(chunk) for chunk in np.split(order, cuts)]


#: Relative and absolute slack (s) on the time budget of :func:`time_halo`: floating-point rounding only.
HALO_SLACK = (1e-9, 1e-6)


def forward_time_graph(net: WalkNetwork, times: EdgeTimes) -> csr_matrix:
    """Return the directed time graph (entry ``(a, b)``: the walk ``a → b`` in seconds), quickest of parallels.

    Zero times become the smallest positive float, so that no sparse routine can take them for missing edges.
    """
    key, cols, time_s, _ = times.transposed_graph
    n = net.n_nodes
    return csr_matrix((np.maximum(time_s, np.finfo(float).tiny), (cols, key // (n + 1))), shape=(n, n))


def time_halo(
    net: WalkNetwork, graph: csr_matrix, origins: Snapped, rows: npt.NDArray[np.int64], budget_s: float
) -> npt.NDArray[np.int64]:
    """Return the sorted edges with an end the group reaches within ``budget_s`` from the origins ``rows``.

    Parameters
    ----------
    net
        The whole network.
    graph
        Its forward time graph (:func:`forward_time_graph`) for the walker group.
    origins, rows
        The run's origin snaps and the positions of the partition's origins (reachable ones).
    budget_s
        The largest time budget of the run, seconds.
    """
    edge = origins.edge[rows]
    seeds = np.unique(np.concatenate([net.edge_u[edge], net.edge_v[edge]]))
    limit = budget_s * (1 + HALO_SLACK[0]) + HALO_SLACK[1]
    reach = np.isfinite(dijkstra(graph, directed=True, indices=seeds, limit=limit, min_only=True))
    return np.flatnonzero(reach[net.edge_u] | reach[net.edge_v]).astype(np.int64)


def plan_partitions(
    net: WalkNetwork,
    origins: Snapped,
    facilities: Snapped,
    radius_m: float,
    *,
    n_partitions: int | None = None,
    method: str = "hilbert",
    cell_m: float | None = None,
    times: EdgeTimes | None = None,
    budget_s: float | None = None,
) -> list[Partition]:
    """Partition the reachable origins and give each partition its exact sub-network and facilities.

    Parameters
    ----------
    net
        The whole walking network (its edge index answers the box queries).
    origins, facilities
        Snapping results on ``net``; unreachable origins are in no partition (their distances are NaN).
    radius_m
        How far around the partition's origins the sub-network reaches: at least the largest cutoff
        (with ``times``: only the default grid cell size).
    n_partitions
        Hilbert partitions wanted (default: one per ~2 000 reachable origins, at least 1).
    method
        ``"hilbert"`` or ``"grid"``.
    cell_m
        Grid cell side in metres (``method="grid"``; default ``2 * radius_m``).
    times, budget_s
        A walker group's edge times and the largest time budget (s): the sub-network is the halo in time
        (:func:`time_halo`) instead of the box of ``radius_m``.

    Returns
    -------
    list of Partition
        Every reachable origin is in exactly one partition.
    """
    if method not in PARTITION_METHODS:
        raise ValueError(f"method must be one of {PARTITION_METHODS}, got {method!r}.")
    reach = np.flatnonzero(origins.reachable & (origins.edge >= 0))
    xy = join_points(net, origins)[reach]
    if method == "hilbert":
        n = n_partitions or max(1, math.ceil(len(reach) / 2000))
        groups = hilbert_partitions(xy, n)
    else:
        groups = grid_partitions(xy, float(cell_m or 2 * radius_m))
    sindex = net.edge_series().sindex
    f_ok = np.flatnonzero(facilities.reachable & (facilities.edge >= 0))
    f_edge = facilities.edge[f_ok]
    graph = forward_time_graph(net, times) if times is not None else None
    parts = []
    for k, group in enumerate(groups):
        if graph is not None:
            assert budget_s is not None, "a time halo needs the time budget"
            edges = time_halo(net, graph, origins, reach[group], budget_s)
        else:
            lo, hi = xy[group].min(axis=0) - radius_m, xy[group].max(axis=0) + radius_m
            edges = np.unique(sindex.query(shapely.box(lo[0], lo[1], hi[0], hi[1]), predicate="intersects"))
        inside = np.isin(f_edge, edges)
        parts.append(
            Partition(id=k, origins=reach[group], edges=edges.astype(np.int64), facilities=f_ok[inside])
        )
    if parts:
        sizes = [len(p.edges) for p in parts]
        halo = f"{budget_s:.0f} s of {times.walker}" if times is not None else f"{radius_m:.0f} m"
        log.info(
            "%d partitions (%s) of %d reachable origins; sub-networks %d-%d of %d edges (halo %s)",
            len(parts), method, len(reach), min(sizes), max(sizes), net.n_edges, halo,
        )  # fmt: skip
    return parts


def subnetwork(net: WalkNetwork, edges: npt.NDArray[np.int64]) -> WalkNetwork:
    """Return the network made of the edges at positions ``edges`` (sorted), with its nodes renumbered.

    The sub-network keeps the whole network's component sizes (``components()``), so island decisions
    (``min_component_nodes``) asked of it are those of the whole network.
    """
    nodes = np.unique(np.concatenate([net.edge_u[edges], net.edge_v[edges]]))
    whole = net.components()
    comp = Components(
        labels=whole.labels[nodes],
        sizes=whole.sizes,
        count=whole.count,
        largest_nodes=whole.largest_nodes,
        largest_length_share=whole.largest_length_share,
    )
    coords, counts = net.edge_vertices(edges)
    return WalkNetwork(
        node_ids=net.node_ids[nodes],
        node_xy=net.node_xy[nodes],
        edge_u=np.searchsorted(nodes, net.edge_u[edges]).astype(np.int64),
        edge_v=np.searchsorted(nodes, net.edge_v[edges]).astype(np.int64),
        edge_length_m=net.edge_length_m[edges],
        edge_coords=coords,
        edge_offsets=offsets_from_counts(counts),
        highway=net.highway[edges],
        crs=net.crs,
        source=net.source,
        _components=comp,
    )


def remap_snapped(snapped: Snapped, rows: npt.NDArray[np.int64], edges: npt.NDArray[np.int64]) -> Snapped:
    """Return the snaps of ``rows`` with their edges renumbered into the sub-network of ``edges`` (sorted).

    Every row's edge must be in ``edges`` (``plan_partitions`` guarantees it for the rows it hands out).
    """
    sub = snapped.take(rows)
    pos = np.searchsorted(edges, sub.edge)
    if len(pos) and not np.array_equal(edges[np.minimum(pos, len(edges) - 1)], sub.edge):
        raise ValueError("remap_snapped: some points snap to edges outside the sub-network.")
    fields = {name: getattr(sub, name) for name in sub.__dataclass_fields__}
    fields["edge"] = pos.astype(np.int64)
    return Snapped(**fields)
