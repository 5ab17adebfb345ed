"""Exact incremental walking times for a walker group: add or remove facilities on the directed time graph.

The minutes counterpart of :class:`~weihai_gis.planning.incremental.NearestState`. A walker-group run
(``CoverageOptions(walker=..., dem_costs=...)``) measures the time from a resident's home TO the quickest
facility; on hills the two directions of an edge differ, so the search from the facilities runs on the
transposed time graph (:class:`~weihai_gis.lifecircle.time_engine.TimeIndex`, an entry ``(b, a)`` is the walk
``a → b``). :class:`TimeState` keeps per node the time to the quickest facility and the search tree (the next
node towards it and the metres of that step), so the route metres of every node follow from the tree:

* **adding** facilities runs one bounded search from the new ones only; a node takes the new time (and tree
  step) where it is strictly quicker;
* **removing** facilities runs a bounded search from the removed ones to find the nodes whose quickest time
  they attain (the *affected* region), then a search on that region only, seeded by the kept facilities joined
  to it and, for every walk ``a → b`` out of an affected node ``a`` to an unaffected ``b``, by ``b``'s own time
  plus the walk — the direction matters: the seed of ``a`` is what lies *ahead* of it towards a facility;
* origins are recomputed only on edges with a changed end node or a changed facility.

Times equal a full recompute bit for bit (the argument of the metres state: every value is a left-to-right
sum along one path, and the minimum over a union of sources is the minimum of the minima). Route metres are
summed over the tree with :func:`~weihai_gis.lifecircle.time_engine.tree_sums`, as the full run sums them, so they
are equal too wherever the quickest route is unique (two equally quick routes may differ in metres).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from weihai_gis.lifecircle.time_engine import TimeIndex, node_time_s, origin_time_s, time_entries, tree_sums
from weihai_gis.network import Snapped
from weihai_gis.planning.incremental import ChangeStats, concat_snapped, split_change

__all__ = ["TimeState", "Walks"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Walks:
    """The directed time graph in walking order (row ``a``, column ``b``: the walk ``a → b``), built once.

    Attributes
    ----------
    graph
        CSR of the walks' seconds (quickest of parallel edges; edges the group cannot use left out).
    metres
        The metres of each stored walk, aligned with ``graph.data``.
    """

    graph: csr_matrix
    metres: npt.NDArray[np.float64]

    @classmethod
    def of(cls, index: TimeIndex) -> Walks:
        """Return the walks of ``index`` (the transpose of its search graph)."""
        n = index.n
        key, cols, time, metres = index.times.transposed_graph
        rows = key // (n + 1)  # the walk cols -> rows
        order = np.lexsort((rows, cols))
        a, b = cols[order], rows[order]
        indptr = np.r_[0, np.cumsum(np.bincount(a, minlength=n))].astype(np.int64)
        graph = csr_matrix((time[order], b, indptr), shape=(n, n))
        return cls(graph, metres[order])


@dataclass(frozen=True)
class TimeState:
    """Quickest walking times of one category for one walker group, ready for exact incremental changes.

    Attributes
    ----------
    index
        The group's :class:`~weihai_gis.lifecircle.time_engine.TimeIndex`.
    walks
        :class:`Walks` of the same index (shared by every state of the index).
    origins, facilities
        Snapping results (unreachable facilities are kept and ignored).
    max_time_s
        Time budget in seconds.
    node_s
        Per node, the time to the quickest facility (inf beyond the budget).
    parent, hop_m, reached
        The search tree, ``n + 1`` entries (the last the virtual source): next node towards the facility,
        metres of that step, whether the node is reached.
    node_m
        Per node, the metres of its quickest route (:func:`~weihai_gis.lifecircle.time_engine.tree_sums` of the
        tree; NaN where not reached).
    origin_s, origin_m
        Per origin, the time and the route metres (NaN beyond the budget or unreachable); equal to
        :func:`~weihai_gis.lifecircle.time_engine.nearest_time_s` for the same facilities.
    """

    index: TimeIndex
    walks: Walks
    origins: Snapped
    facilities: Snapped
    max_time_s: float
    node_s: npt.NDArray[np.float64]
    parent: npt.NDArray[np.int64]
    hop_m: npt.NDArray[np.float64]
    reached: npt.NDArray[np.bool_]
    node_m: npt.NDArray[np.float64]
    origin_s: npt.NDArray[np.float64]
    origin_m: npt.NDArray[np.float64]

    @classmethod
    def build(
        cls,
        index: TimeIndex,
        origins: Snapped,
        facilities: Snapped,
        *,
        max_time_s: float,
        walks: Walks | None = None,
    ) -> TimeState:
        """Compute the state from scratch (one bounded multi-source search, as the coverage run does)."""
        node_s, pred = node_time_s(index, facilities, max_time_s=max_time_s)
        parent, hop, reached = index.tree_hops(pred)
        node_m = tree_sums(parent, hop, reached)
        t, m = origin_time_s(index, node_s, node_m, origins, facilities, max_time_s=max_time_s)
        return cls(
            index,
            walks or Walks.of(index),
            origins,
            facilities,
            float(max_time_s),
            np.array(node_s),
            parent,
            hop,
            reached,
            node_m,
            t,
            m,
        )

    def change(
        self, *, add: Snapped | None = None, remove: npt.ArrayLike = ()
    ) -> tuple[TimeState, ChangeStats]:
        """Return the state after removing the facilities at positions ``remove`` and adding ``add``.

        Parameters
        ----------
        add
            Snapping of the new facilities (appended after the kept ones).
        remove
            Positions into :attr:`facilities` of the facilities to remove (a move is a removal plus an
            addition).

        Returns
        -------
        tuple
            ``(state, stats)``; the new state's facilities are the kept ones in their order, then ``add``.
        """
        net = self.index.net
        removed, kept, added = split_change(self.facilities, add, remove)
        node_s = self.node_s.copy()
        parent, hop, reached = self.parent.copy(), self.hop_m.copy(), self.reached.copy()
        n_affected = 0
        if removed.reachable.any():
            n_affected = self._remove(node_s, parent, hop, reached, removed, kept)
        if added.reachable.any():
            new_s, pred = node_time_s(self.index, added, max_time_s=self.max_time_s)
            p2, h2, r2 = self.index.tree_hops(pred)
            better = np.flatnonzero(new_s < node_s)
            node_s[better] = new_s[better]
            parent[better], hop[better], reached[better] = p2[better], h2[better], r2[better]
        facilities = concat_snapped(kept, added)
        old_m, node_m = self.node_m, tree_sums(parent, hop, reached)  # one pass over the tree, as a full run
        changed = (node_s != self.node_s) | ~((node_m == old_m) | (np.isnan(node_m) & np.isnan(old_m)))
        touched = np.zeros(net.n_edges, dtype=bool)
        touched[removed.edge] = True
        touched[added.edge[added.reachable]] = True
        o_edge, valid = self.origins.edge, self.origins.reachable
        on_changed = np.zeros(len(o_edge), dtype=bool)
        e = o_edge[valid]
        on_changed[valid] = changed[net.edge_u[e]] | changed[net.edge_v[e]] | touched[e]
        rows = np.flatnonzero(on_changed)
        origin_s, origin_m = self.origin_s.copy(), self.origin_m.copy()
        origin_s[rows], origin_m[rows] = origin_time_s(
            self.index, node_s, node_m, self.origins, facilities, max_time_s=self.max_time_s, rows=rows
        )
        stats = ChangeStats(
            n_added=int(added.reachable.sum()),
            n_removed=int(removed.reachable.sum()),
            n_nodes_affected=n_affected,
            n_nodes_changed=int(changed.sum()),
            n_origins_recomputed=len(rows),
        )
        log.debug("incremental change (%s): %s", self.index.times.walker, stats)
        state = TimeState(
            self.index,
            self.walks,
            self.origins,
            facilities,
            self.max_time_s,
            node_s,
            parent,
            hop,
            reached,
            node_m,
            origin_s,
            origin_m,
        )
        return state, stats

    def _remove(
        self,
        node_s: npt.NDArray[np.float64],
        parent: npt.NDArray[np.int64],
        hop: npt.NDArray[np.float64],
        reached: npt.NDArray[np.bool_],
        removed: Snapped,
        kept: Snapped,
    ) -> int:
        """Recompute in place the nodes whose quickest facility was one of ``removed``; return their count."""
        index, budget, n = self.index, self.max_time_s, self.index.n
        by_removed, _ = node_time_s(index, removed, max_time_s=budget)
        affected = np.isfinite(node_s) & (by_removed <= node_s)
        a_nodes = np.flatnonzero(affected)
        k = len(a_nodes)
        if k == 0:
            return 0
        local = np.full(n, -1, dtype=np.int64)
        local[a_nodes] = np.arange(k)
        walks = self.walks.graph
        start, stop = walks.indptr[a_nodes], walks.indptr[a_nodes + 1]
        counts = (stop - start).astype(np.int64)
        row = np.repeat(np.arange(k), counts)  # the walk a_nodes[row] -> nbr
        pos = np.repeat(start.astype(np.int64) - np.cumsum(counts) + counts, counts) + np.arange(
            int(counts.sum())
        )
        nbr = walks.indices[pos].astype(np.int64)
        w, w_m = walks.data[pos], self.walks.metres[pos]
        inside = affected[nbr]
        # seeds: a kept facility joined to an affected node, or the time ahead of an unaffected next node
        s_nodes, s_time, s_metres = (
            time_entries(index, kept)
            if kept.reachable.any()
            else (np.empty(0, np.int64), np.empty(0), np.empty(0))
        )
        at = affected[s_nodes] & np.isfinite(s_time)
        outside = ~inside & np.isfinite(node_s[nbr])
        seed_key = np.concatenate([local[s_nodes[at]], row[outside]])
        seed_val = np.concatenate([s_time[at], node_s[nbr[outside]] + w[outside]])
        seed_parent = np.concatenate([np.full(int(at.sum()), n, dtype=np.int64), nbr[outside]])
        seed_hop = np.concatenate([s_metres[at], w_m[outside]])
        order = np.lexsort((seed_val, seed_key))
        first = order[np.r_[True, seed_key[order][1:] != seed_key[order][:-1]]] if len(order) else order
        seed_key, seed_val, seed_parent, seed_hop = (
            seed_key[first],
            seed_val[first],
            seed_parent[first],
            seed_hop[first],
        )
        # the search runs against the walks: from b back to a for the walk a -> b
        graph = csr_matrix(
            (
                np.concatenate([w[inside], seed_val]),
                (
                    np.concatenate([local[nbr[inside]], np.full(len(seed_key), k)]),
                    np.concatenate([row[inside], seed_key]),
                ),
            ),
            shape=(k + 1, k + 1),
        )
        dist, pred = dijkstra(graph, directed=True, indices=k, limit=budget, return_predecessors=True)
        node_s[a_nodes] = dist[:k]
        lp = pred[:k].astype(np.int64)
        got = lp >= 0
        from_seed = got & (lp == k)
        inner = got & ~from_seed
        new_parent = np.full(k, n, dtype=np.int64)
        new_hop = np.zeros(k)
        seed_pos = np.searchsorted(seed_key, np.flatnonzero(from_seed))
        new_parent[from_seed] = seed_parent[seed_pos]
        new_hop[from_seed] = seed_hop[seed_pos]
        # an inner step: the walk a -> a_nodes[lp]; its metres from the walks inside the region
        in_key = row[inside] * np.int64(k + 1) + local[nbr[inside]]
        key_order = np.argsort(in_key, kind="stable")
        wanted = np.flatnonzero(inner) * np.int64(k + 1) + lp[inner]
        hit = key_order[np.searchsorted(in_key[key_order], wanted)]
        new_parent[inner] = a_nodes[lp[inner]]
        new_hop[inner] = w_m[inside][hit]
        parent[a_nodes], hop[a_nodes], reached[a_nodes] = new_parent, new_hop, got
        return k
