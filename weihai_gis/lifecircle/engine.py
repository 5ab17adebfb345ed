"""Network distances from every origin to the nearest facility of a category: one Dijkstra per category.

Facilities enter the graph through a virtual super-source node joined to both end nodes of each
facility's edge (weight = connector + along-edge distance to that node), so one multi-source shortest-path
pass (``scipy.sparse.csgraph.dijkstra`` with ``limit=`` the cutoff) gives every node's distance to the
nearest facility. An origin's distance is then the minimum over its edge's two end nodes (plus its own
connector and along-edge offset) and, when a facility sits on the same edge, the direct along-edge path.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from weihai_gis.network import Snapped, WalkNetwork

__all__ = ["NetworkIndex", "nearest_distance_m"]


class NetworkIndex:
    """The CSR adjacency of a network with one spare row for the virtual source, built once.

    Parameters
    ----------
    net
        The walking network.
    """

    def __init__(self, net: WalkNetwork) -> None:
        self.net = net
        base = net.to_csr(extra_nodes=1)
        self.n = net.n_nodes
        self._indptr = base.indptr.astype(np.int64)
        self._indices = base.indices.astype(np.int64)
        self._data = base.data

    def with_source(self, nodes: npt.NDArray[np.int64], weights_m: npt.NDArray[np.float64]) -> csr_matrix:
        """Return the adjacency with the virtual source (last row) joined to ``nodes``.

        Duplicate target nodes keep their smallest weight (CSR construction would otherwise add them).
        """
        frame = pd.DataFrame({"node": nodes, "w": weights_m}).groupby("node", sort=True)["w"].min()
        targets = frame.index.to_numpy(dtype=np.int64)
        indptr = self._indptr.copy()
        indptr[-1] += len(targets)
        indices = np.concatenate([self._indices, targets])
        data = np.concatenate([self._data, frame.to_numpy()])
        return csr_matrix((data, indices, indptr), shape=(self.n + 1, self.n + 1))


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
    net = index.net
    n_orig = len(origins.edge)
    out = np.full(n_orig, np.nan)
    fac = np.flatnonzero(facilities.reachable)
    if len(fac) == 0:
        return out
    f_edge = facilities.edge[fac]
    f_conn = facilities.connector_m[fac]
    nodes = np.concatenate([net.edge_u[f_edge], net.edge_v[f_edge]])
    weights = np.concatenate([f_conn + facilities.to_u_m[fac], f_conn + facilities.to_v_m[fac]])
    graph = index.with_source(nodes, weights)
    dist = dijkstra(graph, directed=True, indices=index.n, limit=max_walk_m)
    ok = np.flatnonzero(origins.reachable)
    o_edge = origins.edge[ok]
    best = (
        np.minimum(
            dist[net.edge_u[o_edge]] + origins.to_u_m[ok],
            dist[net.edge_v[o_edge]] + origins.to_v_m[ok],
        )
        + origins.connector_m[ok]
    )
    # same edge: the direct path along the edge between the two projections
    same = pd.DataFrame(
        {"o": ok, "edge": o_edge, "pos": origins.pos_m[ok], "conn": origins.connector_m[ok]}
    ).merge(pd.DataFrame({"edge": f_edge, "fpos": facilities.pos_m[fac], "fconn": f_conn}), on="edge")
    if len(same):
        same["d"] = (same["pos"] - same["fpos"]).abs() + same["conn"] + same["fconn"]
        direct = same.groupby("o")["d"].min()
        where = np.searchsorted(ok, direct.index.to_numpy())
        best[where] = np.minimum(best[where], direct.to_numpy())
    best[best > max_walk_m] = np.nan
    out[ok] = best
    return out
