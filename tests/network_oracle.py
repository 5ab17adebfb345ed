"""An independent networkx computation of nearest-facility distances, shared by the engine's oracle tests."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np


def oracle_distances(net, o_snap, f_snap):
    """Return per origin the networkx distance (m) to the nearest facility; inf when none is connected.

    Origins and facilities are inserted as real nodes splitting the edges they snapped to (at ``pos_m``),
    joined by their connector lengths; a single source "SRC" links every facility, so one Dijkstra gives
    every origin's nearest-facility distance. Unreachable points (``reachable`` False) are left out.
    """
    graph = nx.Graph()
    on_edge: dict[int, list[tuple[float, object]]] = {}
    for i in np.flatnonzero(o_snap.reachable):
        on_edge.setdefault(int(o_snap.edge[i]), []).append((o_snap.pos_m[i], ("o", i)))
    for j in np.flatnonzero(f_snap.reachable):
        on_edge.setdefault(int(f_snap.edge[j]), []).append((f_snap.pos_m[j], ("f", j)))

    def add(a, b, w):
        if a == b:
            return
        if not graph.has_edge(a, b) or graph[a][b]["weight"] > w:
            graph.add_edge(a, b, weight=w)

    for e in range(net.n_edges):
        u, v, length = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length_m[e])
        pts = sorted(on_edge.get(e, []), key=lambda p: p[0])
        prev, prev_pos = u, 0.0
        for k, (pos, _) in enumerate(pts):
            node = ("p", e, k)
            add(prev, node, pos - prev_pos)
            prev, prev_pos = node, pos
        add(prev, v, length - prev_pos)
        for k, (_, tag) in enumerate(pts):
            conn = o_snap.connector_m[tag[1]] if tag[0] == "o" else f_snap.connector_m[tag[1]]
            add(tag if tag[0] == "o" else "SRC", ("p", e, k), conn)
    lengths = nx.single_source_dijkstra_path_length(graph, "SRC") if "SRC" in graph else {}
    return np.array([lengths.get(("o", i), np.inf) for i in range(len(o_snap.edge))])


def oracle_times(net, times, o_snap, f_snap):
    """Return per origin the networkx walking time (s) origin → nearest facility on the directed costs, and its metres.

    Independent of the engine's CSR, partial-edge and predecessor code: every sub-segment of every edge (from
    ``times.profile``) becomes a pair of directed networkx edges whose times are the differences of the
    cumulative sub-segment times; origins and facilities split the sub-segment they lie on by its length
    share; connectors are level ground at the group's speed. A sink joins every facility and one Dijkstra on
    the reversed graph gives every origin's time. Returns (time_s, metres), inf where nothing is reached.
    """
    prof = times.profile
    speed = times.speed_m_per_s
    graph = nx.DiGraph()

    def add(a, b, t, m):
        if a == b or not np.isfinite(t):
            return
        if not graph.has_edge(a, b) or graph[a][b]["weight"] > t:
            graph.add_edge(a, b, weight=t, metres=m)

    on_edge: dict[int, list[tuple[float, object]]] = {}
    for i in np.flatnonzero(o_snap.reachable):
        on_edge.setdefault(int(o_snap.edge[i]), []).append((float(o_snap.pos_m[i]), ("o", i)))
    for j in np.flatnonzero(f_snap.reachable):
        on_edge.setdefault(int(f_snap.edge[j]), []).append((float(f_snap.pos_m[j]), ("f", j)))
    for e in range(net.n_edges):
        lo, hi = int(prof.piece_offset[e]), int(prof.piece_offset[e + 1])
        ends = prof.piece_end_m[lo:hi]
        cf = np.r_[0.0, times.cum_forward_s[lo:hi]]
        cb = np.r_[0.0, times.cum_backward_s[lo:hi]]
        starts = np.r_[0.0, ends[:-1]]
        # breakpoints: sub-segment ends (graph nodes) and the points on this edge
        marks = [(float(x), ("cut", e, k)) for k, x in enumerate(ends[:-1])]
        marks += [(pos, ("p", tag)) for pos, tag in on_edge.get(e, [])]
        marks.sort(key=lambda t: t[0])
        seq = [(0.0, int(net.edge_u[e])), *marks, (float(net.edge_length_m[e]), int(net.edge_v[e]))]
        for (pa, a), (pb, b) in itertools.pairwise(seq):
            k = min(int(np.searchsorted(ends, pa, side="right")), hi - lo - 1)  # sub-segment holding [pa, pb]
            span = ends[k] - starts[k]
            share = (pb - pa) / span if span > 0 else 0.0
            if np.isinf(cf[k + 1]):  # a way the group cannot use
                continue
            fwd = (cf[k + 1] - cf[k]) * share
            bwd = (cb[k + 1] - cb[k]) * share
            add(a, b, fwd, pb - pa)
            add(b, a, bwd, pb - pa)
    for pos_list in on_edge.values():
        for _, tag in pos_list:
            kind, i = tag
            conn = o_snap.connector_m[i] if kind == "o" else f_snap.connector_m[i]
            if kind == "o":
                add(tag, ("p", tag), conn / speed, conn)
            else:
                add(("p", tag), "SINK", conn / speed, conn)
    if "SINK" not in graph:
        n = len(o_snap.edge)
        return np.full(n, np.inf), np.full(n, np.inf)
    dist, paths = nx.single_source_dijkstra(graph.reverse(copy=False), "SINK")
    t_out, m_out = [], []
    for i in range(len(o_snap.edge)):
        node = ("o", i)
        if node not in dist:
            t_out.append(np.inf)
            m_out.append(np.inf)
            continue
        path = paths[node][::-1]  # origin ... SINK in walking order
        t_out.append(dist[node])
        m_out.append(sum(graph[a][b]["metres"] for a, b in itertools.pairwise(path)))
    return np.array(t_out), np.array(m_out)
