"""Walking times from every origin to the quickest facility of a category: one search per category on a directed graph.

Walker-group runs measure minutes instead of metres (:class:`TimeIndex`, :func:`nearest_time_s`): the edge
times of :func:`weihai_gis.network.costs.edge_times` differ by direction on hills, so the graph is directed and
the search from the facilities runs on its transpose (residents walk *to* the facility). Facilities join a
virtual source as in the metres engine (:mod:`weihai_gis.lifecircle.engine`); beside each time the search tree
gives the metres of the quickest route (:func:`tree_sums`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from weihai_gis.network import Snapped, WalkNetwork
from weihai_gis.network.costs import EdgeTimes

__all__ = [
    "OriginSide",
    "TimeIndex",
    "nearest_time_s",
    "node_time_s",
    "origin_time_s",
    "time_entries",
    "tree_sums",
]


@dataclass(frozen=True)
class OriginSide:
    """What :func:`origin_time_s` needs of the origins whatever the facilities: computed once per origin set.

    Attributes
    ----------
    keep
        Positions (into the rows asked for) of the reachable origins; the other arrays follow them.
    ok
        The origins' positions in the snapping result.
    edge, pos_m
        Each origin's edge and its position along it (metres from ``u``).
    u, v
        The edge's end nodes.
    fwd_s, bwd_s
        :meth:`EdgeTimes.partial_s`: the walk ``u → origin`` and ``origin → u``.
    to_v_s
        The walk ``origin → v`` in seconds (infinite where the group cannot use the edge).
    length_m
        The edge's length in metres.
    connector_m, connector_s
        The origin's connector in metres, and walked on level ground at the group's speed.
    edge_order
        The positions sorted by edge (stable), so a category finds the origins on its facilities' edges
        with a search per facility instead of one per origin.
    """

    keep: npt.NDArray[np.int64]
    ok: npt.NDArray[np.int64]
    edge: npt.NDArray[np.int64]
    pos_m: npt.NDArray[np.float64]
    u: npt.NDArray[np.int64]
    v: npt.NDArray[np.int64]
    fwd_s: npt.NDArray[np.float64]
    bwd_s: npt.NDArray[np.float64]
    to_v_s: npt.NDArray[np.float64]
    length_m: npt.NDArray[np.float64]
    connector_m: npt.NDArray[np.float64]
    connector_s: npt.NDArray[np.float64]
    edge_order: npt.NDArray[np.int64]

    @classmethod
    def of(cls, index: TimeIndex, origins: Snapped, rows: npt.NDArray[np.int64] | None) -> OriginSide:
        """Compute the terms for all origins (``rows`` None) or the positions ``rows``."""
        net, times = index.net, index.times
        if rows is None:
            keep = np.flatnonzero(origins.reachable)
            ok = keep
        else:
            rows = np.asarray(rows, dtype=np.int64)
            keep = np.flatnonzero(origins.reachable[rows])
            ok = rows[keep]
        edge, pos = origins.edge[ok], origins.pos_m[ok]
        fwd, bwd = times.partial_s(edge, pos)
        conn = origins.connector_m[ok]
        return cls(
            keep=keep,
            ok=ok,
            edge=edge,
            pos_m=pos,
            u=net.edge_u[edge],
            v=net.edge_v[edge],
            fwd_s=fwd,
            bwd_s=bwd,
            to_v_s=_rest(times.forward_s[edge], fwd),
            length_m=net.edge_length_m[edge],
            connector_m=conn,
            connector_s=conn / times.speed_m_per_s,
            edge_order=np.argsort(edge, kind="stable"),
        )

    def same_edge_pairs(
        self, f_edge: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Every (origin, facility) pair on the same edge, as :func:`~weihai_gis.lifecircle.engine.same_edge_pairs`.

        Positions into these origins and into ``f_edge``, in the same order (by origin, then by facility
        edge, stable); found by one search per facility in the origins sorted by edge.
        """
        o_sorted = self.edge[self.edge_order]
        f_order = np.argsort(f_edge, kind="stable")
        fe = f_edge[f_order]
        lo = np.searchsorted(o_sorted, fe, side="left")
        count = np.searchsorted(o_sorted, fe, side="right") - lo
        total = int(count.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        rank = np.repeat(np.arange(len(fe)), count)
        at = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(total)
        which = self.edge_order[at]
        order = np.lexsort((rank, which))
        return which[order], f_order[rank[order]]


class TimeIndex:
    """The directed walking-time graph of one walker group, transposed, with a reserved virtual-source row.

    Residents walk from their home to the facility, so the time that matters is origin → facility. One
    multi-source search *from* the facilities answers it for every origin when it runs on the transposed
    graph: an entry ``(b, a)`` holds the time of walking ``a → b``. Parallel edges keep the quickest; edges
    the group cannot use (infinite time) are left out. Beside each time the index keeps the edge's length
    in metres, so the metres of the quickest route can be summed along the search tree.

    Parameters
    ----------
    net
        The walking network.
    times
        :func:`weihai_gis.network.costs.edge_times` of ``net``.
    """

    def __init__(self, net: WalkNetwork, times: EdgeTimes) -> None:
        self.net = net
        self.times = times
        self.n = n = net.n_nodes
        key, cols, time, metres = times.transposed_graph
        self._key = key
        rows = key // (n + 1)
        self._nnz = nnz = len(rows)
        self._indptr = np.zeros(n + 2, dtype=np.int32)
        self._indptr[1 : n + 1] = np.cumsum(np.bincount(rows, minlength=n))
        self._indptr[n + 1] = nnz
        self._indices = np.empty(nnz + n, dtype=np.int32)
        self._indices[:nnz] = cols
        self._data = np.empty(nnz + n, dtype=np.float64)
        self._data[:nnz] = time
        self._metres = np.empty(nnz + n, dtype=np.float64)
        self._metres[:nnz] = metres
        self._max_degree = int(np.diff(self._indptr[: n + 1]).max()) if n else 0
        self._source_key = np.empty(0, dtype=np.int64)
        self._origins: tuple[Snapped, OriginSide] | None = None

    def with_source(
        self, nodes: npt.NDArray[np.int64], time_s: npt.NDArray[np.float64], metres: npt.NDArray[np.float64]
    ) -> csr_matrix:
        """Return the transposed time graph with the virtual source (last row) joined to ``nodes``.

        Duplicate targets keep their quickest join (and its metres); infinite joins are left out. The
        matrix shares its arrays with the index: valid until the next call.
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        time_s = np.asarray(time_s, dtype=float)
        ok = np.isfinite(time_s)
        nodes, time_s, metres = nodes[ok], time_s[ok], np.asarray(metres, dtype=float)[ok]
        order = np.lexsort((time_s, nodes))
        nodes, time_s, metres = nodes[order], time_s[order], metres[order]
        first = np.r_[True, nodes[1:] != nodes[:-1]] if len(nodes) else np.zeros(0, dtype=bool)
        targets, weights, join_m = nodes[first], time_s[first], metres[first]
        end = self._nnz + len(targets)
        self._indices[self._nnz : end] = targets
        self._data[self._nnz : end] = weights
        self._metres[self._nnz : end] = join_m
        self._indptr[-1] = end
        self._source_key = self.n * np.int64(self.n + 1) + targets
        size = self.n + 1
        return csr_matrix(
            (self._data[:end], self._indices[:end], self._indptr), shape=(size, size), copy=False
        )

    def origin_side(self, origins: Snapped, rows: npt.NDArray[np.int64] | None = None) -> OriginSide:
        """Return the per-origin terms of :func:`origin_time_s` (all origins: kept for the next category)."""
        if rows is not None:
            return OriginSide.of(self, origins, rows)
        cached = self._origins
        if cached is not None and cached[0] is origins:
            return cached[1]
        side = OriginSide.of(self, origins, None)
        self._origins = (origins, side)
        return side

    def tree_hops(
        self, pred: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Return the search tree ``pred`` (from the last ``with_source``) as (parent, hop metres, reached).

        Arrays of ``n + 1`` entries, the last one the virtual source: ``parent`` is the next node towards the
        facility (the source for a node joined to a facility and for unreached nodes), ``hop`` the metres of
        that step (the edge, or the facility's join), ``reached`` whether the search reached the node.
        """
        source = self.n
        node = np.arange(self.n + 1)
        has = pred >= 0
        step = np.zeros(self.n + 1)
        from_source = has & (pred == source)
        inner = has & ~from_source
        step[inner] = self._metres[self._entry(pred[inner], node[inner])]
        pos = np.searchsorted(self._source_key, source * np.int64(self.n + 1) + node[from_source])
        step[from_source] = self._metres[self._nnz + pos]
        parent = np.where(has, pred, source).astype(np.int64)
        parent[source] = source
        return parent, step, has

    def _entry(
        self, rows: npt.NDArray[np.int32] | npt.NDArray[np.int64], cols: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Positions of the transposed entries ``(rows, cols)``, which must exist.

        A row holds a node's few neighbours, sorted: scanning each row from its start finds the column in
        as many vectorised steps as the largest degree met, cheaper than a search over every entry.
        """
        pos = self._indptr[rows].astype(np.int64)
        todo = np.arange(len(pos))
        for _ in range(self._max_degree + 1):
            if len(todo) == 0:
                return pos
            todo = todo[self._indices[pos[todo]] != cols[todo]]
            pos[todo] += 1
        raise ValueError(f"{len(todo)} of the asked entries are not in the time graph")

    def edge_metres(
        self, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Return the metres of the transposed entries ``(rows, cols)`` (the walk ``cols → rows``), which must exist."""
        pos = np.searchsorted(self._key, np.asarray(rows, dtype=np.int64) * (self.n + 1) + cols)
        return self._metres[pos]

    def route_metres(self, pred: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        """Return per node the metres of its route in the search tree ``pred`` (from the last ``with_source``).

        ``tree_sums(*tree_hops(pred))`` bit for bit (NaN for nodes the search did not reach), with the
        pointer jumping run on the reached nodes only: a node outside the tree is never on a reached
        node's chain, and a node hanging from the source gains the source's 0 on every pass either way.
        """
        n = self.n
        node = np.flatnonzero(pred[:n] >= 0)
        up = pred[node].astype(np.int64)
        root = len(node)
        step = np.zeros(root + 1)
        from_source = up == n
        inner = np.flatnonzero(~from_source)
        step[inner] = self._metres[self._entry(up[inner], node[inner])]
        joined = np.flatnonzero(from_source)
        pos = np.searchsorted(self._source_key, n * np.int64(n + 1) + node[joined])
        step[joined] = self._metres[self._nnz + pos]
        where = np.full(n + 1, root, dtype=np.int64)
        where[node] = np.arange(root)
        parent = np.append(where[up], root)
        while (parent != root).any():
            step = step + step[parent]
            parent = parent[parent]
        out = np.full(n, np.nan)
        out[node] = step[:root]
        return out


def tree_sums(
    parent: npt.NDArray[np.int64], step: npt.NDArray[np.float64], reached: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Return per node the sum of ``step`` along its chain of ``parent`` up to the root (the last entry).

    Pointer jumping (about log2(depth) vectorised passes); the sums depend only on the tree and the steps, so
    the same tree gives the same sums bit for bit however it was found. NaN where not ``reached``.
    """
    source = len(parent) - 1
    while (parent != source).any():
        step = step + step[parent]
        parent = parent[parent]
    step = step.copy()
    step[~reached] = np.nan
    step[source] = 0.0
    return step[:source]


def _rest(total: npt.NDArray[np.float64], part: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return ``total - part``, infinite where ``total`` is (an edge the walker group cannot use)."""
    finite = np.isfinite(total)
    return np.where(finite, total - np.where(finite, part, 0.0), np.inf)


def time_entries(
    index: TimeIndex, facilities: Snapped
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return the virtual-source joins of the reachable ``facilities``: (end node, seconds, metres) node → facility.

    The facility's connector is walked on level ground at the group's speed; the part of its edge between the
    node and the facility takes its exact share of the edge's sub-segment times, in the direction walked.
    """
    net, times = index.net, index.times
    fac = np.flatnonzero(facilities.reachable)
    f_edge, f_pos = facilities.edge[fac], facilities.pos_m[fac]
    f_conn = facilities.connector_m[fac]
    speed = times.speed_m_per_s
    f_fwd, f_bwd = times.partial_s(f_edge, f_pos)  # u -> facility, facility -> u
    nodes = np.concatenate([net.edge_u[f_edge], net.edge_v[f_edge]])
    join_s = np.concatenate([f_conn / speed + f_fwd, f_conn / speed + _rest(times.backward_s[f_edge], f_bwd)])
    join_m = np.concatenate([f_conn + f_pos, f_conn + net.edge_length_m[f_edge] - f_pos])
    return nodes, join_s, join_m


def node_time_s(
    index: TimeIndex, facilities: Snapped, *, max_time_s: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
    """Return per node the walking time to the quickest reachable facility (inf beyond ``max_time_s``) and the tree.

    One multi-source search on the transposed time graph from the facilities' joins (:func:`time_entries`);
    the predecessors ``pred`` (``n + 1`` entries) give the route metres with :meth:`TimeIndex.route_metres`
    or :meth:`TimeIndex.tree_hops` as long as no other ``with_source`` call came between.
    """
    if not facilities.reachable.any():
        return np.full(index.n, np.inf), np.full(index.n + 1, -9999, dtype=np.int32)
    graph = index.with_source(*time_entries(index, facilities))
    dist, pred = dijkstra(graph, directed=True, indices=index.n, limit=max_time_s, return_predecessors=True)
    return dist[: index.n], pred


def origin_time_s(
    index: TimeIndex,
    node_s: npt.NDArray[np.float64],
    route_m: npt.NDArray[np.float64],
    origins: Snapped,
    facilities: Snapped,
    *,
    max_time_s: float,
    rows: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return the time and route metres of origins (all, or the positions ``rows``) from the node values.

    An origin walks to either end node of its edge (its exact share of the edge's times in that direction)
    and on from there (``node_s``, ``route_m``), or straight along its edge to a facility on it, plus its
    connector; NaN beyond ``max_time_s`` and for unreachable origins.
    """
    times = index.times
    speed = times.speed_m_per_s
    n_rows = len(origins.edge) if rows is None else len(rows)
    fac = np.flatnonzero(facilities.reachable)
    if len(fac) == 0:
        return np.full(n_rows, np.nan), np.full(n_rows, np.nan)
    side = index.origin_side(origins, rows)
    f_edge, f_pos = facilities.edge[fac], facilities.pos_m[fac]
    f_conn = facilities.connector_m[fac]
    o_pos = side.pos_m
    via_u = node_s[side.u] + side.bwd_s
    via_v = node_s[side.v] + side.to_v_s
    best = np.minimum(via_u, via_v)
    metres = np.where(via_u <= via_v, route_m[side.u] + o_pos, route_m[side.v] + side.length_m - o_pos)
    # same edge: straight along it, forward when the facility lies beyond the origin
    which, start = side.same_edge_pairs(f_edge)
    if len(which):
        f_fwd, f_bwd = times.partial_s(f_edge[start], f_pos[start])
        q_f, q_b = side.fwd_s[which], side.bwd_s[which]
        ahead = f_pos[start] >= o_pos[which]
        usable = np.isfinite(q_f) & np.isfinite(f_fwd)  # a way the group cannot use is infinite throughout
        direct = np.where(usable, np.where(ahead, _rest(f_fwd, q_f), _rest(q_b, f_bwd)), np.inf)
        direct = direct + f_conn[start] / speed
        direct_m = np.abs(f_pos[start] - o_pos[which]) + f_conn[start]
        order = np.lexsort((direct, which))
        which, direct, direct_m = which[order], direct[order], direct_m[order]
        first = np.r_[True, which[1:] != which[:-1]]
        which, direct, direct_m = which[first], direct[first], direct_m[first]
        better = direct < best[which]
        best[which[better]] = direct[better]
        metres[which[better]] = direct_m[better]
    best += side.connector_s
    metres += side.connector_m
    far = ~(best <= max_time_s)
    np.copyto(best, np.nan, where=far)
    np.copyto(metres, np.nan, where=far)
    if len(side.keep) == n_rows:  # every origin reachable: the rows are the kept ones
        return best, metres
    out_t, out_m = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
    out_t[side.keep], out_m[side.keep] = best, metres
    return out_t, out_m


def nearest_time_s(
    index: TimeIndex, origins: Snapped, facilities: Snapped, *, max_time_s: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return the walking time from each origin to its quickest facility and the metres of that route.

    Connectors (point to its edge) are walked on level ground at the group's speed; the part of an edge
    between a point and a node takes its exact share of the edge's sub-segment times, in the direction
    walked (:func:`node_time_s`, then :func:`origin_time_s`).

    Parameters
    ----------
    index
        :class:`TimeIndex` of the network both point sets were snapped to.
    origins, facilities
        Snapping results; only reachable facilities are used, unreachable origins get NaN.
    max_time_s
        Time budget in seconds; farther facilities count as not in reach.

    Returns
    -------
    time_s, dist_m
        Seconds and metres per origin (the metres of the quickest route, not the shortest distance), NaN
        beyond ``max_time_s`` or for unreachable origins.
    """
    if not facilities.reachable.any():
        n_orig = len(origins.edge)
        return np.full(n_orig, np.nan), np.full(n_orig, np.nan)
    node_s, pred = node_time_s(index, facilities, max_time_s=max_time_s)
    route_m = index.route_metres(pred)
    return origin_time_s(index, node_s, route_m, origins, facilities, max_time_s=max_time_s)
