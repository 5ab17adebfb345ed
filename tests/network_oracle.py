"""An independent networkx computation of nearest-facility distances, shared by the engine's oracle tests."""

from __future__ import annotations

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
