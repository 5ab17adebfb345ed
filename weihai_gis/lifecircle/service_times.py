"""Exact service areas in walking minutes: the streets from which a walker group reaches a facility in time.

The minutes counterpart of :func:`weihai_gis.lifecircle.service_areas.reached_parts`, on the directed time
graph of :func:`weihai_gis.network.costs.edge_times` (hills, steps, groups). As in a minutes coverage run the
walk goes from the resident TO the facility, so a point at ``t`` metres along an edge ``(u, v)`` is reached
when its quickest time to a facility

    T(t) = min(b(t) + T_u,  F − f(t) + T_v,  the walk along the edge to a facility on it)

is at most the budget, where ``f(t)`` is the time from ``u`` to the point, ``b(t)`` the time from the point
back to ``u`` (:meth:`~weihai_gis.network.costs.EdgeTimes.partial_s`, exact on the DEM's sub-segments),
``F`` the edge's forward time and ``T_u``/``T_v`` the end nodes' times (one bounded search on the transposed
graph, :func:`~weihai_gis.lifecircle.time_engine.node_time_s`). ``f`` and ``b`` are linear between the
sub-segment ends, so between consecutive breakpoints (sub-segment ends and facilities) every candidate is
linear: the pieces are cut at the exact remaining time by linear interpolation, and for exclusive
catchments split where two facilities' times are equal. Edges the group cannot use (steps for a wheelchair,
ramps steeper than its limit) are never reached.

Uphill and downhill differ, so the area of a facility on a hill reaches farther down the slope than up it
(residents below climb to it).
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from weihai_gis.lifecircle.time_engine import TimeIndex, node_time_s, time_entries
from weihai_gis.network import Snapped, WalkNetwork
from weihai_gis.network.costs import EdgeTimes

__all__ = ["reached_parts_time"]

log = logging.getLogger(__name__)

_EPS = 1e-9


def _labelled_node_time(
    index: TimeIndex, facilities: Snapped, fac: npt.NDArray[np.int64], budget_s: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per node the time to the quickest facility and which one (position into ``facilities``; -1 none)."""
    n, k = index.n, len(fac)
    key, cols, time, _ = index.times.transposed_graph
    rows = key // (n + 1)
    sub = facilities.take(fac)
    nodes, join_s, _ = time_entries(index, sub)
    label = np.tile(np.arange(k), 2)  # time_entries lists every facility's u join, then its v join
    ok = np.isfinite(join_s)
    graph = csr_matrix(
        (
            np.concatenate([time, np.maximum(join_s[ok], _EPS)]),  # a zero join would be dropped by csgraph
            (np.concatenate([rows, n + label[ok]]), np.concatenate([cols, nodes[ok]])),
        ),
        shape=(n + k, n + k),
    )
    _, _, src = dijkstra(
        graph,
        directed=True,
        indices=np.arange(n, n + k),
        limit=budget_s,
        min_only=True,
        return_predecessors=True,
    )
    # the 1e-9 s stand-in is taken back: the times are those of the plain search
    plain, _ = node_time_s(index, sub, max_time_s=budget_s)
    label_out = np.where(src >= n, fac[np.clip(src - n, 0, k - 1)], -1)[:n]
    label_out[~np.isfinite(plain)] = -1
    return plain, label_out


def _edge_pieces(
    times: EdgeTimes,
    e: int,
    length: float,
    ends: tuple[float, float],
    labels: tuple[int, int],
    on_edge: list[tuple[float, float, int]],
    budget: float,
) -> list[tuple[float, float, int]]:
    """Reached pieces ``(start, end, label)`` of edge ``e`` (exact between linear breakpoints)."""
    prof = times.profile
    lo, hi = int(prof.piece_offset[e]), int(prof.piece_offset[e + 1])
    ts = np.unique(np.r_[0.0, prof.piece_end_m[lo:hi], length, [p for p, _, _ in on_edge]])
    ts = ts[(ts >= 0) & (ts <= length)]
    f, b = times.partial_s(np.full(len(ts), e), ts)
    total_f = float(times.forward_s[e])
    t_u, t_v = ends
    funcs = [b + t_u, (total_f - f) + t_v]
    labs = [labels[0], labels[1]]
    for p, c, lab in on_edge:
        fp, bp = times.partial_s(np.array([e]), np.array([p]))
        funcs.append(np.where(ts <= p, (fp[0] - f) + c, (b - bp[0]) + c))
        labs.append(lab)
    values = np.vstack(funcs)  # functions x breakpoints, each linear between consecutive breakpoints
    values = np.where(np.isfinite(values), values, np.inf)
    with np.errstate(invalid="ignore"):  # inf - inf of a candidate never reached; masked by ``fin``
        return _envelope(ts, values, labs, budget)


def _envelope(
    ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64], labs: list[int], budget: float
) -> list[tuple[float, float, int]]:
    """Return the pieces where the lowest candidate (rows of ``values``, linear between ``ts``) fits the budget."""
    pieces: list[tuple[float, float, int]] = []
    for i in range(len(ts) - 1):
        a, z = float(ts[i]), float(ts[i + 1])
        if z - a <= _EPS:
            continue
        va, vz = values[:, i], values[:, i + 1]
        if not (np.minimum(va, vz) <= budget).any():
            continue
        cuts = {a, z}
        fin = np.isfinite(va) & np.isfinite(vz)
        slope = np.where(fin, (vz - va) / (z - a), 0.0)
        for j in np.flatnonzero(fin & (slope != 0)):  # where a candidate meets the budget
            cuts.add(a + (budget - va[j]) / slope[j])
        for j1, j2 in itertools.combinations(np.flatnonzero(fin), 2):  # where two candidates cross
            if slope[j1] != slope[j2]:
                cuts.add(a + (va[j2] - va[j1]) / (slope[j1] - slope[j2]))
        grid = np.array(sorted(c for c in cuts if a - _EPS <= c <= z + _EPS))
        grid = np.clip(grid, a, z)
        for s0, s1 in itertools.pairwise(grid):
            if s1 - s0 <= _EPS:
                continue
            w = (0.5 * (s0 + s1) - a) / (z - a)
            mid = np.where(fin, va + w * (vz - va), np.inf)
            best = int(np.argmin(mid))
            if not mid[best] <= budget:
                continue
            add_piece(pieces, s0, s1, labs[best])
    return pieces


def add_piece(pieces: list[tuple[float, float, int]], lo: float, hi: float, label: int) -> None:
    """Append the reached piece ``lo..hi`` of ``label`` to ``pieces`` (in place).

    The piece is joined to the last one when that has the same label and ends where this one starts.
    """
    if pieces and pieces[-1][2] == label and abs(pieces[-1][1] - lo) <= _EPS:
        pieces[-1] = (pieces[-1][0], float(hi), label)
    else:
        pieces.append((float(lo), float(hi), label))


def reached_parts_time(
    net: WalkNetwork,
    facilities: Snapped,
    budget_s: float,
    times: EdgeTimes,
    *,
    exclusive: bool = False,
    index: TimeIndex | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Return the pieces of the network from which a facility is reached within ``budget_s`` (exact).

    Parameters
    ----------
    net
        The walking network the facilities were snapped to.
    facilities
        Snapping result; unreachable facilities are left out; the connector is walked on level ground.
    budget_s
        Time budget in seconds.
    times
        The walker group's edge times on ``net``.
    exclusive
        Label each piece with its quickest facility, splitting edges where two are equally quick.
    index
        A :class:`~weihai_gis.lifecircle.time_engine.TimeIndex` of ``times`` to reuse.

    Returns
    -------
    edge, start_m, end_m, source
        The pieces (see :class:`~weihai_gis.lifecircle.service_areas.ReachedParts`).
    """
    speed = times.speed_m_per_s
    fac = np.flatnonzero(facilities.reachable & (facilities.connector_m / speed <= budget_s))
    empty = (np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64))
    if len(fac) == 0:
        return empty
    index = index if index is not None else TimeIndex(net, times)
    if exclusive:
        node_s, node_src = _labelled_node_time(index, facilities, fac, budget_s)
    else:
        node_s, _ = node_time_s(index, facilities.take(fac), max_time_s=budget_s)
        node_src = np.full(net.n_nodes, -1, dtype=np.int64)
    usable = np.isfinite(times.forward_s)
    length = net.edge_length_m
    tu, tv = node_s[net.edge_u], node_s[net.edge_v]
    su, sv = node_src[net.edge_u], node_src[net.edge_v]
    hosts = np.zeros(net.n_edges, dtype=bool)
    hosts[facilities.edge[fac]] = True
    # via u alone the edge is whole when walking its full length back to u fits: b(L) + T_u = B(ackward)
    whole_u = tu + times.backward_s <= budget_s
    whole_v = tv + times.forward_s <= budget_s
    # via both ends: the farthest point from u that u serves lies at or beyond the nearest one v serves
    reach_u, reach_v = usable & (tu <= budget_s), usable & (tv <= budget_s)
    touched = usable & (hosts | reach_u | reach_v)
    cand = np.flatnonzero(touched & ~hosts & reach_u & reach_v & (su == sv) & ~whole_u & ~whole_v)
    meet = np.zeros(net.n_edges, dtype=bool)
    if len(cand):
        meet[cand] = _u_reach_m(times, cand, budget_s - tu[cand]) >= _v_reach_m(
            times, cand, budget_s - tv[cand]
        )
    full = touched & ~hosts & (((whole_u | whole_v) & (su == sv)) | meet)
    partial = np.flatnonzero(touched & ~full)
    on_edge: dict[int, list[tuple[float, float, int]]] = {}
    for j in fac:
        c = float(facilities.connector_m[j]) / speed
        on_edge.setdefault(int(facilities.edge[j]), []).append(
            (float(facilities.pos_m[j]), c, int(j) if exclusive else -1)
        )
    edges, starts, stops, sources = [], [], [], []
    for e in partial:
        for lo, hi, label in _edge_pieces(
            times,
            int(e),
            float(length[e]),
            (float(tu[e]), float(tv[e])),
            (int(su[e]), int(sv[e])),
            on_edge.get(int(e), []),
            budget_s,
        ):
            edges.append(e)
            starts.append(lo)
            stops.append(hi)
            sources.append(label)
    whole = np.flatnonzero(full)
    label_whole = np.where(su[whole] >= 0, su[whole], sv[whole])
    log.debug("%d edges reached whole, %d cut (%s)", len(whole), len(partial), times.walker)
    return (
        np.concatenate([whole, np.asarray(edges, dtype=np.int64)]),
        np.concatenate([np.zeros(len(whole)), np.asarray(starts, dtype=float)]),
        np.concatenate([length[whole], np.asarray(stops, dtype=float)]),
        np.concatenate([label_whole, np.asarray(sources, dtype=np.int64)]),
    )


def _invert(
    times: EdgeTimes, edge: npt.NDArray[np.int64], value: npt.NDArray[np.float64], backward: bool
) -> npt.NDArray[np.float64]:
    """Position along ``edge`` where the time from ``u`` (or back to ``u``) equals ``value`` (clamped)."""
    prof = times.profile
    cum = times.cum_backward_s if backward else times.cum_forward_s
    out = np.empty(len(edge))
    for k, (e, r) in enumerate(zip(edge, value, strict=True)):
        lo, hi = int(prof.piece_offset[e]), int(prof.piece_offset[e + 1])
        c = cum[lo:hi]
        j = min(int(np.searchsorted(c, r, side="left")), hi - lo - 1)
        c0 = c[j - 1] if j > 0 else 0.0
        s0 = prof.piece_end_m[lo + j - 1] if j > 0 else 0.0
        s1 = prof.piece_end_m[lo + j]
        span = c[j] - c0
        frac = min(max((r - c0) / span, 0.0), 1.0) if span > 0 else 1.0
        out[k] = s0 + frac * (s1 - s0)
    return out


def _u_reach_m(
    times: EdgeTimes, edge: npt.NDArray[np.int64], rest_s: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Farthest position from ``u`` whose walk back to ``u`` takes at most ``rest_s``."""
    return _invert(times, edge, rest_s, backward=True)


def _v_reach_m(
    times: EdgeTimes, edge: npt.NDArray[np.int64], rest_s: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Nearest position to ``u`` whose walk on to ``v`` takes at most ``rest_s`` (``F − f(t) ≤ rest``)."""
    return _invert(times, edge, times.forward_s[edge] - rest_s, backward=False)
