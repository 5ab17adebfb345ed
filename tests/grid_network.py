"""The square street grid of :mod:`weihai_gis.synthetic` and its networkx twin, for the barrier and service-area tests."""

from __future__ import annotations

import networkx as nx
import numpy as np

from weihai_gis.network import WalkNetwork
from weihai_gis.synthetic import CRS, X0, Y0, street_grid

__all__ = ["CRS", "X0", "Y0", "grid_network", "node_index", "nx_graph"]


def grid_network(n: int = 5, spacing_m: float = 100.0) -> WalkNetwork:
    """Return an ``n`` × ``n`` grid of straight edges ``spacing_m`` long (:func:`weihai_gis.synthetic.street_grid`).

    Node ``(i, j)`` has id ``i * n + j`` and lies at ``(X0 + j * spacing_m, Y0 + i * spacing_m)``.
    """
    return street_grid(n, spacing_m, source="grid")


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
