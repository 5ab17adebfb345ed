"""Network distances from every origin to the nearest facility of a category: one Dijkstra per category.

Facilities enter the graph through a virtual super-source node joined to both end nodes of each
facility's edge (weight = connector + along-edge distance to that node), so one multi-source shortest-path
pass (``scipy.sparse.csgraph.dijkstra`` with ``limit=`` the cutoff) gives every node's distance to the
nearest facility. An origin's distance is then the minimum over its edge's two end nodes (plus its own
connector and along-edge offset) and, when a facility sits on the same edge, the direct along-edge path.

The adjacency is built once per network as int32 CSR arrays with room at the end for the source row; a
category only writes its source edges into that reserved tail, so no per-category copy of the graph is made
and csgraph receives the int32 indices it uses internally (no conversion).

Walker-group runs measure minutes instead, on a directed graph: :mod:`weihai_gis.lifecircle.time_engine`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from weihai_gis.network import Snapped, WalkNetwork

#: How far a metres run searches each category's nearest facility, as a multiple of the category's limit
#: (network metres). One search per category to this reach gives both the coverage (distance <= limit) and
#: the 问题清单's distance of the origins it leaves out (:mod:`weihai_gis.lifecircle.problems`): that distance
#: tells a near miss (1.2 km for a 1 km limit: a footpath or a gate fixes it) from a real gap. Beyond twice
#: the limit the answer is always a new facility, so the distance is NaN there and the list says
#: "超过 2 倍服务半径 / beyond twice the limit". A fixed reach (it was 5000 m) would search a whole city per
#: category for limits of 300 m.
SEARCH_FACTOR = 2.0


__all__ = [
    "SEARCH_FACTOR",
    "NetworkIndex",
    "min_by_key",
    "nearest_distance_m",
    "node_distance_m",
    "origin_distance_m",
    "same_edge_pairs",
    "search_reach_m",
    "source_entries",
]


def search_reach_m(limit_m: float, factor: float = SEARCH_FACTOR) -> float:
    """Return how far (network metres) a metres run searches a category of limit ``limit_m``.

    Parameters
    ----------
    limit_m
        The category's walking limit (metres).
    factor
        The reach as a multiple of the limit, >= 1 (default :data:`SEARCH_FACTOR`; 1: to the limit only).

    Raises
    ------
    ValueError
        ``factor`` below 1 (the coverage itself needs the search to reach the limit) or not finite.
    """
    if not np.isfinite(factor) or factor < 1:
        raise ValueError(f"search factor {factor!r}: expected a number >= 1 (1: search to the limit only).")
    return float(limit_m) * float(factor)


def min_by_key(
    keys: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Return the sorted distinct ``keys`` and the smallest of ``values`` for each."""
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    first = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, dtype=bool)
    return keys[first], values[first]


class NetworkIndex:
    """The int32 CSR adjacency of a network with one reserved row for the virtual source, built once.

    Parameters
    ----------
    net
        The walking network.
    """

    def __init__(self, net: WalkNetwork) -> None:
        self.net = net
        base = net.to_csr()
        self.n = net.n_nodes
        self._nnz = int(base.nnz)
        self._indptr = np.empty(self.n + 2, dtype=np.int32)
        self._indptr[: self.n + 1] = base.indptr
        # the source row may join every node at most once: reserve that much room after the base entries
        self._indices = np.empty(self._nnz + self.n, dtype=np.int32)
        self._indices[: self._nnz] = base.indices
        self._data = np.empty(self._nnz + self.n, dtype=np.float64)
        self._data[: self._nnz] = base.data

    def with_source(self, nodes: npt.NDArray[np.int64], weights_m: npt.NDArray[np.float64]) -> csr_matrix:
        """Return the adjacency with the virtual source (last row) joined to ``nodes``.

        Duplicate target nodes keep their smallest weight (CSR construction would otherwise add them). The
        returned matrix shares its arrays with the index: it is valid until the next call.
        """
        targets, weights = min_by_key(np.asarray(nodes, dtype=np.int64), np.asarray(weights_m, dtype=float))
        end = self._nnz + len(targets)
        self._indices[self._nnz : end] = targets
        self._data[self._nnz : end] = weights
        self._indptr[-1] = end
        size = self.n + 1
        return csr_matrix(
            (self._data[:end], self._indices[:end], self._indptr), shape=(size, size), copy=False
        )


def same_edge_pairs(
    o_edge: npt.NDArray[np.int64], f_edge: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every (origin, facility) pair on the same edge: positions into the origin and facility arrays."""
    order = np.argsort(f_edge, kind="stable")
    fe = f_edge[order]
    lo = np.searchsorted(fe, o_edge, side="left")
    count = np.searchsorted(fe, o_edge, side="right") - lo
    has = np.flatnonzero(count)
    if len(has) == 0:
        return has, has
    reps = count[has]
    which = np.repeat(has, reps)
    # index of each pair into the sorted facility arrays, then back to the caller's order
    start = np.repeat(lo[has] - np.cumsum(reps) + reps, reps) + np.arange(int(reps.sum()))
    return which, order[start]


def _same_edge_direct(
    o_edge: npt.NDArray[np.int64],
    o_pos: npt.NDArray[np.float64],
    f_edge: npt.NDArray[np.int64],
    f_pos: npt.NDArray[np.float64],
    f_conn: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Positions into the origin arrays with a facility on their own edge, and the shortest such direct path.

    The path runs along the edge between the two projections plus the facility's connector (the origin's
    connector is added by the caller).
    """
    which, start = same_edge_pairs(o_edge, f_edge)
    if len(which) == 0:
        return which, np.empty(0)
    d = np.abs(o_pos[which] - f_pos[start]) + f_conn[start]
    return min_by_key(which, d)


def source_entries(
    net: WalkNetwork, facilities: Snapped
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Return the virtual-source edges of the reachable ``facilities``: (end node, connector + along-edge m)."""
    fac = np.flatnonzero(facilities.reachable)
    f_edge = facilities.edge[fac]
    f_conn = facilities.connector_m[fac]
    nodes = np.concatenate([net.edge_u[f_edge], net.edge_v[f_edge]])
    weights = np.concatenate([f_conn + facilities.to_u_m[fac], f_conn + facilities.to_v_m[fac]])
    return nodes, weights


def node_distance_m(
    index: NetworkIndex, facilities: Snapped, *, max_walk_m: float
) -> npt.NDArray[np.float64]:
    """Return per network node the distance in metres to the nearest reachable facility, inf beyond the cutoff.

    One multi-source Dijkstra from the virtual source (see the module docstring), bounded by ``max_walk_m``.
    """
    if not facilities.reachable.any():
        return np.full(index.n, np.inf)
    nodes, weights = source_entries(index.net, facilities)
    graph = index.with_source(nodes, weights)
    return dijkstra(graph, directed=True, indices=index.n, limit=max_walk_m)[: index.n]


def origin_distance_m(
    net: WalkNetwork,
    node_m: npt.NDArray[np.float64],
    origins: Snapped,
    facilities: Snapped,
    *,
    max_walk_m: float,
    rows: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.float64]:
    """Return the distance of origins (all, or the positions ``rows``) from the node distances ``node_m``.

    An origin's distance is the shorter way out of its edge (to either end node plus the node's distance),
    or the direct path along the edge to a facility on the same edge, plus its connector; NaN beyond
    ``max_walk_m`` and for unreachable origins.
    """
    rows = np.arange(len(origins.edge)) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.full(len(rows), np.nan)
    keep = np.flatnonzero(origins.reachable[rows])
    if len(keep) == 0 or not facilities.reachable.any():
        return out
    ok = rows[keep]
    o_edge = origins.edge[ok]
    best = np.minimum(
        node_m[net.edge_u[o_edge]] + origins.to_u_m[ok],
        node_m[net.edge_v[o_edge]] + origins.to_v_m[ok],
    )
    # same edge: the direct path along the edge between the two projections
    fac = np.flatnonzero(facilities.reachable)
    where, direct = _same_edge_direct(
        o_edge, origins.pos_m[ok], facilities.edge[fac], facilities.pos_m[fac], facilities.connector_m[fac]
    )
    best[where] = np.minimum(best[where], direct)
    best += origins.connector_m[ok]
    best[best > max_walk_m] = np.nan
    out[keep] = best
    return out


def nearest_distance_m(
    index: NetworkIndex, origins: Snapped, facilities: Snapped, *, max_walk_m: float
) -> npt.NDArray[np.float64]:
    """Return the network distance in metres from each origin to its nearest facility, NaN beyond the cutoff.

    Parameters
    ----------
    index
        :class:`NetworkIndex` of the network both point sets were snapped to.
    origins, facilities
        Snapping results; only reachable facilities are used, unreachable origins get NaN.
    max_walk_m
        Cutoff in metres (connectors included); farther facilities count as not in reach.

    Returns
    -------
    numpy.ndarray
        Distance per origin (metres), NaN when no facility is within ``max_walk_m`` or the origin is
        unreachable.
    """
    node_m = node_distance_m(index, facilities, max_walk_m=max_walk_m)
    return origin_distance_m(index.net, node_m, origins, facilities, max_walk_m=max_walk_m)
