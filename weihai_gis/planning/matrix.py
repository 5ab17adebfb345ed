"""Sparse origin × site walking distances on our own network engine (no external travel matrix).

Each site (an existing facility or a candidate) is a point snapped to an edge, exactly as
:func:`weihai_gis.lifecircle.coverage` snaps facilities. Shortest paths run from the sites' edge end nodes
with ``scipy.sparse.csgraph.dijkstra(limit=cutoff)`` on the network's CSR adjacency, a chunk of sources at a
time, and only pairs within the cutoff are kept. The distance of a pair is the one the coverage engine
uses (connectors + along-edge offsets + network path, or the direct path when both lie on one edge), so the
row minimum over a set of sites equals :func:`weihai_gis.lifecircle.nearest_distance_m` for that set.

With a walker group's edge times (``times=``, :func:`weihai_gis.network.costs.edge_times`, hills included) the
matrix holds walking times from the resident TO the site on the directed time graph, exactly as a minutes
coverage run measures them (the searches run on the transposed graph from each site's edge ends; a point's
share of its edge is walked at its exact sub-segment times, connectors on level ground). The time is stored
as the metres an adult walks in it at the reference speed (``walking_speed_m_per_min.adult``: 15 min ↔
1000 m), the unit of the profile's limits, so covering, siting and the E2SFCA zones read both matrices alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from tqdm.auto import tqdm

from weihai_gis.network import Snapped, WalkNetwork
from weihai_gis.network.costs import EdgeTimes
from weihai_gis.standards import walker_groups

__all__ = ["CostMatrix", "cost_matrix", "node_sites"]

log = logging.getLogger(__name__)

#: Dense Dijkstra output cells per chunk (sources × nodes); bounds the memory of one chunk to ~160 MB.
CHUNK_CELLS = 20_000_000


@dataclass(frozen=True)
class CostMatrix:
    """Walking distances (metres) from origins to sites, only pairs within ``cutoff_m``.

    Attributes
    ----------
    origin, site
        Row positions of the origin and the site of each stored pair.
    dist_m
        Network distance of each pair in metres (0 is a real distance, not a missing one); for a walker
        group (``walker`` set) the walking time origin → site as the metres an adult walks in it at the
        reference speed (:attr:`minutes` gives the time).
    n_origins, n_sites
        Shape of the full matrix.
    cutoff_m
        Pairs farther than this were dropped.
    walker
        The walker group of a minutes matrix (``None``: metres).
    """

    origin: npt.NDArray[np.int64]
    site: npt.NDArray[np.int64]
    dist_m: npt.NDArray[np.float64]
    n_origins: int
    n_sites: int
    cutoff_m: float
    walker: str | None = None

    @property
    def minutes(self) -> npt.NDArray[np.float64]:
        """Walking minutes of each pair (a minutes matrix), or metres at the adult reference speed."""
        return self.dist_m / _adult_m_per_min()

    def covers(self, max_m: float | None = None) -> csr_matrix:
        """Return the boolean origin × site matrix of pairs within ``max_m`` (default the cutoff)."""
        limit = self.cutoff_m if max_m is None else float(max_m)
        keep = self.dist_m <= limit
        return csr_matrix(
            (np.ones(int(keep.sum()), dtype=bool), (self.origin[keep], self.site[keep])),
            shape=(self.n_origins, self.n_sites),
        )

    def nearest_m(self, sites: npt.ArrayLike | None = None) -> npt.NDArray[np.float64]:
        """Return per origin the distance to the nearest of ``sites`` (all when None), NaN beyond the cutoff."""
        keep = np.ones(len(self.site), dtype=bool) if sites is None else np.isin(self.site, sites)
        out = np.full(self.n_origins, np.inf)
        np.minimum.at(out, self.origin[keep], self.dist_m[keep])
        out[~np.isfinite(out)] = np.nan
        return out

    def to_dense(self) -> npt.NDArray[np.float64]:
        """Return the full matrix with ``inf`` for pairs beyond the cutoff (small instances only)."""
        out = np.full((self.n_origins, self.n_sites), np.inf)
        out[self.origin, self.site] = self.dist_m
        return out

    def take_sites(self, sites: npt.ArrayLike) -> CostMatrix:
        """Return the matrix restricted to the columns ``sites``, renumbered 0..len(sites)-1 in that order."""
        idx = np.asarray(sites, dtype=np.int64)
        remap = np.full(self.n_sites, -1, dtype=np.int64)
        remap[idx] = np.arange(len(idx))
        keep = remap[self.site] >= 0
        return CostMatrix(
            self.origin[keep],
            remap[self.site[keep]],
            self.dist_m[keep],
            self.n_origins,
            len(idx),
            self.cutoff_m,
            self.walker,
        )


def _adult_m_per_min() -> float:
    return float(walker_groups()["adult"]["speed_m_per_min"])


def node_sites(net: WalkNetwork, nodes: npt.ArrayLike) -> Snapped:
    """Return sites placed exactly on network ``nodes`` (node positions), as a :class:`Snapped`.

    Each node is put at the start or end of one incident edge (connector 0), so a candidate "every node" or
    "nodes inside a 重点片区" costs no snapping. Nodes without an edge are unreachable.
    """
    idx = np.asarray(nodes, dtype=np.int64)
    edge_of = np.full(net.n_nodes, -1, dtype=np.int64)
    at_end = np.zeros(net.n_nodes, dtype=bool)
    edge_of[net.edge_v] = np.arange(net.n_edges)
    at_end[net.edge_v] = True
    edge_of[net.edge_u] = np.arange(net.n_edges)  # an edge's start wins: pos 0
    at_end[net.edge_u] = False
    edge = edge_of[idx]
    has = edge >= 0
    length = np.where(has, net.edge_length_m[np.maximum(edge, 0)], np.nan)
    pos = np.where(at_end[idx], length, 0.0)
    pos[~has] = np.nan
    reason = np.full(len(idx), None, dtype=object)
    reason[~has] = "node has no edge"
    return Snapped(
        edge=edge,
        pos_m=pos,
        to_u_m=pos,
        to_v_m=length - pos,
        connector_m=np.zeros(len(idx)),
        reachable=has,
        reason=reason,
    )


def _rest(total: npt.NDArray[np.float64], part: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    finite = np.isfinite(total)
    return np.where(finite, total - np.where(finite, part, 0.0), np.inf)


@dataclass(frozen=True)
class _Costs:
    """The costs of one matrix in its unit: metres, or seconds of a walker group.

    ``graph`` is searched from the sites' edge ends (for a walker the transposed time graph: it reaches the
    nodes *from which* a site is walked to); ``site_u + site_conn`` / ``site_v + site_conn`` cost node → site,
    ``origin_u`` / ``origin_v`` origin → node (connector included).
    """

    graph: csr_matrix
    cutoff: float
    site_u: npt.NDArray[np.float64]
    site_v: npt.NDArray[np.float64]
    site_conn: npt.NDArray[np.float64]
    origin_u: npt.NDArray[np.float64]
    origin_v: npt.NDArray[np.float64]
    origin_conn: npt.NDArray[np.float64]
    times: EdgeTimes | None = None
    site_partial: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None
    origin_partial: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None

    def direct(
        self,
        s: npt.NDArray[np.int64],
        o: npt.NDArray[np.int64],
        s_pos: npt.NDArray[np.float64],
        o_pos: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64]:
        """Cost origin → site straight along their shared edge (``s`` site rows, ``o`` origin positions)."""
        if self.site_partial is None or self.origin_partial is None:
            return np.abs(o_pos - s_pos) + self.site_conn[s] + self.origin_conn[o]
        (p_f, p_b), (q_f, q_b) = self.site_partial, self.origin_partial
        p_f, p_b, q_f, q_b = p_f[s], p_b[s], q_f[o], q_b[o]
        usable = np.isfinite(q_f) & np.isfinite(p_f)  # a way the group cannot use is infinite throughout
        along = np.where(usable, np.where(s_pos >= o_pos, _rest(p_f, q_f), _rest(q_b, p_b)), np.inf)
        return along + self.site_conn[s] + self.origin_conn[o]


def _metre_costs(
    net: WalkNetwork, origins: Snapped, sites: Snapped, o_ok: npt.NDArray[np.int64], cutoff_m: float
) -> _Costs:
    conn = origins.connector_m[o_ok]
    return _Costs(
        net.to_csr(),
        cutoff_m,
        sites.to_u_m,
        sites.to_v_m,
        sites.connector_m,
        origins.to_u_m[o_ok] + conn,
        origins.to_v_m[o_ok] + conn,
        conn,
    )


def _time_costs(
    net: WalkNetwork,
    origins: Snapped,
    sites: Snapped,
    o_ok: npt.NDArray[np.int64],
    cutoff_m: float,
    times: EdgeTimes,
) -> _Costs:
    n = net.n_nodes
    key, cols, time, _ = times.transposed_graph  # entry (b, a): the walk a -> b
    indptr = np.r_[0, np.cumsum(np.bincount(key // (n + 1), minlength=n))].astype(np.int64)
    speed = times.speed_m_per_s
    s_edge = np.where(sites.reachable, sites.edge, 0)
    s_fwd, s_bwd = times.partial_s(s_edge, np.where(sites.reachable, sites.pos_m, 0.0))
    o_edge = origins.edge[o_ok]
    o_fwd, o_bwd = times.partial_s(o_edge, origins.pos_m[o_ok])
    o_conn = origins.connector_m[o_ok] / speed
    return _Costs(
        csr_matrix((time, cols, indptr), shape=(n, n)),
        cutoff_m / (_adult_m_per_min() / 60),  # the limit walked at the adult reference speed, as coverage()
        s_fwd,  # u -> site
        _rest(times.backward_s[s_edge], s_bwd),  # v -> site
        sites.connector_m / speed,
        o_bwd + o_conn,  # origin -> u
        _rest(times.forward_s[o_edge], o_fwd) + o_conn,  # origin -> v
        o_conn,
        times,
        (s_fwd, s_bwd),
        (o_fwd, o_bwd),
    )


def cost_matrix(
    net: WalkNetwork,
    origins: Snapped,
    sites: Snapped,
    *,
    cutoff_m: float,
    progress: bool = False,
    times: EdgeTimes | None = None,
) -> CostMatrix:
    """Return the sparse walking distances from every origin to every site within ``cutoff_m`` metres.

    Parameters
    ----------
    net
        The walking network both point sets were snapped to.
    origins, sites
        Snapping results (:func:`weihai_gis.network.snap_points` or :func:`node_sites`); unreachable points
        get no pair.
    cutoff_m
        Largest distance kept, metres (connectors included); for a walker group the time budget is this
        distance at the adult reference speed, as in a minutes coverage run.
    progress
        Show a tqdm bar over source chunks.
    times
        Edge times of a walker group on ``net`` (:func:`weihai_gis.network.costs.edge_times`, with the hills
        of a DEM): the matrix holds walking times from the origin to the site (see the module docstring).

    Returns
    -------
    CostMatrix
        Pairs sorted by site then origin.
    """
    n = net.n_nodes
    s_ok = np.flatnonzero(sites.reachable)
    o_ok = np.flatnonzero(origins.reachable)
    o_edge = origins.edge[o_ok]
    costs = (
        _metre_costs(net, origins, sites, o_ok, cutoff_m)
        if times is None
        else _time_costs(net, origins, sites, o_ok, cutoff_m, times)
    )
    limit = costs.cutoff
    # origins listed by each end node of their edge, for joining reached nodes to origins
    sides = []
    for ends, offset in ((net.edge_u[o_edge], costs.origin_u), (net.edge_v[o_edge], costs.origin_v)):
        by = np.argsort(ends, kind="stable")
        sides.append((ends[by], by, offset[by]))
    o_by_edge = pd.DataFrame({"edge": o_edge, "o": np.arange(len(o_ok)), "pos": origins.pos_m[o_ok]})
    group_size = max(1, CHUNK_CELLS // max(2 * n, 1))
    order = s_ok[np.argsort(sites.edge[s_ok], kind="stable")]  # neighbouring sites share source nodes
    parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
    for start in tqdm(range(0, len(order), group_size), desc="cost matrix", disable=not progress):
        g = order[start : start + group_size]
        g_edge = sites.edge[g]
        gu, gv = net.edge_u[g_edge], net.edge_v[g_edge]
        g_nodes, inverse = np.unique(np.concatenate([gu, gv]), return_inverse=True)
        dist = dijkstra(costs.graph, directed=times is not None, indices=g_nodes, limit=limit)
        rows = np.minimum(
            dist[inverse[: len(g)]] + costs.site_u[g][:, None],
            dist[inverse[len(g) :]] + costs.site_v[g][:, None],
        )
        rows += costs.site_conn[g][:, None]
        si, node = np.nonzero(rows <= limit)
        d_node = rows[si, node]
        for ends, by, offset in sides:
            lo = np.searchsorted(ends, node, side="left")
            hi = np.searchsorted(ends, node, side="right")
            pair, k = _expand(lo, hi)
            o_local = by[k]
            parts.append((g[si[pair]], o_local, d_node[pair] + offset[k]))
        # both on one edge: the direct path along it
        same = pd.DataFrame({"s": g, "edge": g_edge, "spos": sites.pos_m[g]}).merge(o_by_edge, on="edge")
        if len(same):
            s_rows, o_rows = same["s"].to_numpy(np.int64), same["o"].to_numpy(np.int64)
            direct = costs.direct(s_rows, o_rows, same["spos"].to_numpy(float), same["pos"].to_numpy(float))
            parts.append((s_rows, o_rows, direct))
    if parts:
        s_all, o_all, d_all = (np.concatenate(a) for a in zip(*parts, strict=True))
        keep = d_all <= limit
        s_all, o_all, d_all = s_all[keep], o_all[keep], d_all[keep]
        # the shortest of the candidate paths per (site, origin) pair: sort by pair then distance, keep the first
        pair_key = s_all * len(o_ok) + o_all
        order = np.lexsort((d_all, pair_key))
        pair_key = pair_key[order]
        first = np.r_[True, pair_key[1:] != pair_key[:-1]] if len(pair_key) else np.zeros(0, dtype=bool)
        pick = order[first]
        site = s_all[pick].astype(np.int64)
        origin = o_ok[o_all[pick]]
        dist_m = d_all[pick].astype(np.float64)
        if times is not None:  # seconds -> metres at the adult reference speed, never past the limit
            dist_m = np.minimum(dist_m * (_adult_m_per_min() / 60), float(cutoff_m))
    else:
        origin = site = np.empty(0, dtype=np.int64)
        dist_m = np.empty(0)
    log.info(
        "cost matrix: %d origins × %d sites, %d pairs within %.0f m%s",
        len(origins.edge),
        len(sites.edge),
        len(dist_m),
        cutoff_m,
        "" if times is None else f" (walking time of {times.walker}, adult reference speed)",
    )
    return CostMatrix(
        origin=origin,
        site=site,
        dist_m=dist_m,
        n_origins=len(origins.edge),
        n_sites=len(sites.edge),
        cutoff_m=float(cutoff_m),
        walker=None if times is None else times.walker,
    )


def _expand(lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
    """Return (pair index, position) for every position in each range ``lo[i]:hi[i]``."""
    counts = hi - lo
    pair = np.repeat(np.arange(len(lo)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return pair, np.repeat(lo, counts) + (np.arange(len(pair)) - first)
