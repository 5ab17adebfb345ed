"""A hand-made square street grid in EPSG:4550 (near Weihai), shared by the barrier and service-area tests."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from weihai_gis.network import WalkNetwork

CRS = "EPSG:4550"
X0, Y0 = 420_000.0, 4_150_000.0


def grid_network(n: int = 5, spacing_m: float = 100.0) -> WalkNetwork:
    """Return an ``n`` × ``n`` grid of straight edges ``spacing_m`` long; node ``(i, j)`` has id ``i * n + j``.

    Node ``(i, j)`` lies at ``(X0 + j * spacing_m, Y0 + i * spacing_m)`` (row ``i``, column ``j``).
    """
    rows = []
    for i in range(n):
        for j in range(n):
            a = (X0 + j * spacing_m, Y0 + i * spacing_m)
            if j + 1 < n:
                rows.append((i * n + j, i * n + j + 1, shapely.LineString([a, (a[0] + spacing_m, a[1])])))
            if i + 1 < n:
                rows.append((i * n + j, (i + 1) * n + j, shapely.LineString([a, (a[0], a[1] + spacing_m)])))
    u, v, geoms = zip(*rows, strict=True)
    frame = gpd.GeoDataFrame(
        {"u": list(u), "v": list(v), "highway": "residential"}, geometry=list(geoms), crs=CRS
    )
    return WalkNetwork.from_segments(frame, crs=CRS, source="grid")


def node_index(net: WalkNetwork, node_id: int) -> int:
    """Position of the node with id ``node_id``."""
    return int(np.flatnonzero(net.node_ids == node_id)[0])


def nx_graph(net: WalkNetwork, keep: np.ndarray | None = None) -> nx.Graph:
    """networkx graph over node positions of the edges ``keep`` (all when None), weight = length in metres."""
    graph = nx.Graph()
    graph.add_nodes_from(range(net.n_nodes))
    for e in range(net.n_edges) if keep is None else np.flatnonzero(keep):
        u, v, w = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length_m[e])
        if u != v and (not graph.has_edge(u, v) or graph[u][v]["weight"] > w):
            graph.add_edge(u, v, weight=w)
    return graph
