"""Snap points to the nearest walkable edge (not node), with connector and along-edge offsets."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from weihai_gis.errors import CRSMismatchError
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.network.segments import SegmentIndex
from weihai_gis.standards import coverage_config

__all__ = ["EdgeReference", "Snapped", "crosses_barrier", "segment_index", "snap_points"]

log = logging.getLogger(__name__)

#: Snapping results a network keeps (the most recent point sets): a coverage run snaps its origins and
#: facilities once, and the problem list, service areas and what-if checks that follow reuse them.
SNAP_MEMO_SIZE = 4


@dataclass(frozen=True)
class Snapped:
    """Where points join the network.

    Attributes
    ----------
    edge
        Index of the nearest edge per point (-1 when the network is empty).
    pos_m
        Distance in metres along that edge from its start node ``edge_u`` to the projection.
    to_u_m, to_v_m
        Along-edge distance in metres from the projection to the edge's start and end node.
    connector_m
        Straight distance in metres from the point to its projection on the edge.
    reachable
        False when the point is farther than ``max_snap_m`` from every edge of the components with at
        least ``min_component_nodes`` nodes (points snap only to such edges).
    reason
        Why a point is unreachable (None when reachable), e.g. ``"snap distance 412 m > max_snap_m 250 m"``.
    """

    edge: npt.NDArray[np.int64]
    pos_m: npt.NDArray[np.float64]
    to_u_m: npt.NDArray[np.float64]
    to_v_m: npt.NDArray[np.float64]
    connector_m: npt.NDArray[np.float64]
    reachable: npt.NDArray[np.bool_]
    reason: npt.NDArray[np.object_]

    def take(self, rows: npt.ArrayLike) -> Snapped:
        """Return the snapping result of the points at positions ``rows`` only."""
        idx = np.asarray(rows, dtype=np.int64)
        return Snapped(**{name: getattr(self, name)[idx] for name in self.__dataclass_fields__})


#: Cache key of the segment index of every edge (:func:`segment_index` with no component threshold).
_EVERY_EDGE = ("segment_index", 0)


def segment_index(net: WalkNetwork, min_component_nodes: int) -> SegmentIndex:
    """Return the straight segments of the edges in components of at least ``min_component_nodes`` nodes.

    Built once per network and threshold, then cached: every snapping of the run (origins, facilities,
    other profiles, the far-point messages) queries the same arrays.
    """
    key = ("segment_index", int(min_component_nodes))
    index = net._cache.get(key)
    if index is None:
        size = net.components().node_component_size()
        edges = np.flatnonzero(size[net.edge_u] >= min_component_nodes)
        if len(edges) == net.n_edges:  # every edge qualifies (one component, or no threshold)
            index = net._cache.get(_EVERY_EDGE)
            if index is None:
                index = net._cache[_EVERY_EDGE] = _every_edge_index(net)
        else:
            coords, counts = net.edge_vertices(edges)
            index = SegmentIndex(coords, counts, edges, net.n_edges)
        net._cache[key] = index
    return index


def _every_edge_index(net: WalkNetwork, grid: Mapping[str, npt.NDArray[Any]] | None = None) -> SegmentIndex:
    """Return the segment index of every edge, on the network's own vertex array (no copy of a coordinate)."""
    coords, counts = net.edge_vertices()
    return SegmentIndex(
        coords, counts, np.arange(net.n_edges), net.n_edges, offsets=net.edge_offsets, grid=grid
    )


def adopt_segment_grid(net: WalkNetwork, grid: Mapping[str, npt.NDArray[Any]]) -> None:
    """Give ``net`` the index of every edge with the cells a network cache holds (``SegmentGrid.arrays``).

    Raises
    ------
    ValueError
        The cells do not fit the network's segments (checked by :meth:`SegmentGrid.from_arrays`).
    """
    net._cache[_EVERY_EDGE] = _every_edge_index(net, grid)


class EdgeReference:
    """Every edge of a network as the trusted reference of the coordinate-offset check (no STRtree).

    Offers what :func:`weihai_gis.crs.diagnose_offset` and :func:`weihai_gis.crs.near_street_shares` ask of
    a reference: ``crs``, ``len``, the distance to the nearest edge and "is an edge within so many metres",
    answered from the network's segment index (the same distances as shapely's).
    """

    def __init__(self, net: WalkNetwork) -> None:
        import pyproj

        self.net = net
        self.crs = pyproj.CRS.from_user_input(net.crs)

    def __len__(self) -> int:
        return self.net.n_edges

    def distance_to(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Distance in metres from each point (network CRS) to the nearest edge."""
        return segment_index(self.net, 0).nearest(x, y)[1]

    def near(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], metres: float
    ) -> npt.NDArray[np.bool_]:
        """Per point True when an edge lies within ``metres``."""
        return segment_index(self.net, 0).any_within(x, y, metres)


#: A connector is tested for barriers without its last millimetre at each end: a point on a fence, or a
#: street ending at it, does not cross it.
_END_M = 1e-3


def crosses_barrier(
    net: WalkNetwork, pts: npt.NDArray[np.object_], snap_pts: npt.NDArray[np.object_]
) -> npt.NDArray[np.bool_]:
    """Return per point True when the connector from ``pts`` to ``snap_pts`` crosses one of ``net.barriers``.

    A connector crosses a barrier line when it meets it (its last millimetre at each end left out), and a
    polygon when it meets the outline or leaves the interior (a point inside a fenced campus does not snap
    onto the street running along its fence outside).
    """
    out = np.zeros(len(pts), dtype=bool)
    bars = net.barriers
    if bars is None or not len(bars) or not len(pts):
        return out
    tree = net._cache.get("barrier_tree")
    if tree is None:
        tree = net._cache["barrier_tree"] = shapely.STRtree(bars)
    p, q = shapely.get_coordinates(pts), shapely.get_coordinates(snap_pts)
    d = q - p
    span = np.hypot(d[:, 0], d[:, 1])
    rows = np.flatnonzero(span > 2 * _END_M)
    if not len(rows):
        return out
    t = (_END_M / span[rows])[:, None]
    seg = shapely.linestrings(np.stack([p[rows] + d[rows] * t, q[rows] - d[rows] * t], axis=1))
    i, j = tree.query(seg, predicate="intersects")
    poly = np.isin(shapely.get_type_id(bars[j]), (3, 6))
    fence = np.where(poly, shapely.boundary(bars[j]), bars[j])
    conn = shapely.linestrings(np.stack([p[rows[i]], q[rows[i]]], axis=1))
    bad = _meets_inside(conn, fence, p[rows[i]], q[rows[i]])
    if poly.any():
        k = np.flatnonzero(poly)
        bad[k] |= shapely.contains_properly(bars[j[k]], pts[rows[i[k]]]) != shapely.contains_properly(
            bars[j[k]], snap_pts[rows[i[k]]]
        )
    out[rows[i[bad]]] = True
    return out


def _meets_inside(
    conn: npt.NDArray[np.object_],
    fence: npt.NDArray[np.object_],
    p: npt.NDArray[np.float64],
    q: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    """Per pair True when connector ``conn`` (from ``p`` to ``q``) meets ``fence`` farther than _END_M from both ends.

    Judged on the vertices of the intersection, so a connector running along a fence line (a point standing on
    the fence, walking along it to the street) does not cross it, while one passing over it does.
    """
    coords, idx = shapely.get_coordinates(shapely.intersection(conn, fence), return_index=True)
    far = (np.hypot(*(coords - p[idx]).T) > _END_M + 1e-9) & (np.hypot(*(coords - q[idx]).T) > _END_M + 1e-9)
    return np.bincount(idx[far], minlength=len(conn)) > 0


def _snap_on_own_side(
    net: WalkNetwork,
    pts: npt.NDArray[np.object_],
    xy: npt.NDArray[np.float64],
    edge: npt.NDArray[np.int64],
    pos: npt.NDArray[np.float64],
    connector: npt.NDArray[np.float64],
    index: SegmentIndex,
    max_snap_m: float,
) -> npt.NDArray[np.bool_]:
    """Move points whose nearest edge lies across a barrier to the nearest edge on their side (in place).

    Returns per point True when no edge within ``max_snap_m`` is on its side (connector set to inf).
    Edges at the same distance are taken in the order of their positions.
    """
    has = np.flatnonzero(edge >= 0)
    snap = shapely.points(index.point_at(edge[has], pos[has]))
    rows = has[crosses_barrier(net, pts[has], snap)]
    behind = np.zeros(len(pts), dtype=bool)
    if not len(rows):
        return behind
    ri, cand, dist, at = index.within(xy[rows, 0], xy[rows, 1], max_snap_m)
    p = pts[rows][ri]
    dist[crosses_barrier(net, p, shapely.points(index.point_at(cand, at)))] = np.inf
    order = np.lexsort((dist, ri))
    ri, cand, dist, at = ri[order], cand[order], dist[order], at[order]
    first = np.r_[True, ri[1:] != ri[:-1]] if len(ri) else np.zeros(0, dtype=bool)
    ri, cand, dist, at = ri[first], cand[first], dist[first], at[first]
    ok = np.isfinite(dist)
    moved = rows[ri[ok]]
    edge[moved], connector[moved] = cand[ok], dist[ok]
    pos[moved] = np.clip(at[ok], 0.0, net.edge_length_m[cand[ok]])
    lost = np.setdiff1d(rows, moved)
    connector[lost] = np.inf
    behind[lost] = True
    log.info(
        "%d points snapped past a barrier's far side to their own side, %d without a street on it",
        len(moved),
        len(lost),
    )
    return behind


def snap_points(
    net: WalkNetwork,
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    max_snap_m: float | None = None,
    min_component_nodes: int | None = None,
) -> Snapped:
    """Snap each point to its nearest edge using the network's cached segment index.

    Distances and positions are shapely's (``distance``, ``line_locate_point``) computed on coordinate
    arrays (:class:`~weihai_gis.network.segments.SegmentIndex`); of several edges at exactly the same
    distance (a point nearest a street crossing) the one with the lowest position is taken, which gives
    the same snapped point and network distances as any other.

    The network remembers the last :data:`SNAP_MEMO_SIZE` results, keyed by the points' coordinates and
    the two limits, so snapping the same points again (the problem list after the coverage run, service
    areas, ...) costs one digest. The returned arrays are read-only.

    Parameters
    ----------
    net
        The walking network.
    points
        Point geometries in ``net.crs`` (reproject first; a mismatch raises). Polygons are represented by
        a point on their surface.
    max_snap_m
        Farthest allowed connector, metres (default from ``standards/coverage-config.yaml``).
    min_component_nodes
        Smallest network component counted as connected (default from the config file).

    Returns
    -------
    Snapped

    Raises
    ------
    CRSMismatchError
        When ``points`` is not in ``net.crs``.
    """
    cfg = coverage_config()["snapping"]
    max_snap_m = float(cfg["max_snap_m"] if max_snap_m is None else max_snap_m)
    min_nodes = int(cfg["min_component_nodes"] if min_component_nodes is None else min_component_nodes)
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None or not geoms.crs.equals(net.crs):
        raise CRSMismatchError(
            f"points are in {geoms.crs}, the network in {net.crs}; reproject the points first."
        )
    pts = geoms.to_numpy()
    not_point = shapely.get_type_id(pts) != 0
    if not_point.any():
        pts = pts.copy()
        pts[not_point] = shapely.point_on_surface(pts[not_point])
    # the barriers are in the key: a point never snaps across one, so other barriers give other snaps
    key = ("snap", _points_key(pts), max_snap_m, min_nodes, net.barriers_key())
    memo: dict[tuple[object, ...], Snapped] = net._cache.setdefault("snap_memo", {})
    if (hit := memo.get(key)) is not None:
        return hit
    snapped = _snap(net, pts, max_snap_m, min_nodes)
    while len(memo) >= SNAP_MEMO_SIZE:
        memo.pop(next(iter(memo)))
    memo[key] = snapped
    return snapped


def _points_key(pts: npt.NDArray[np.object_]) -> str:
    """Digest of the points' coordinates: equal point sets (any frame, index or copy) share a key."""
    xy = shapely.get_coordinates(pts)
    digest = hashlib.blake2b(np.ascontiguousarray(xy).tobytes(), digest_size=16)
    digest.update(np.int64(len(pts)).tobytes())  # empty geometries have no coordinates
    return digest.hexdigest()


def _snap(net: WalkNetwork, pts: npt.NDArray[np.object_], max_snap_m: float, min_nodes: int) -> Snapped:
    """Snap the points ``pts`` (all points) to ``net``: the work of :func:`snap_points` without its memo."""
    n = len(pts)
    comp_size = net.components().node_component_size()
    # Snap to the nearest edge of a component large enough to matter: a building beside a stray courtyard
    # path that OSM leaves unconnected still reaches the street a few metres away. The index is built once
    # per network and reused by every later call (origins, facilities, other profiles).
    index = segment_index(net, min_nodes)
    xy = np.full((n, 2), np.nan)
    present = ~shapely.is_empty(pts) & ~shapely.is_missing(pts)
    xy[present] = shapely.get_coordinates(pts[present])
    edge, connector, pos = index.nearest(xy[:, 0], xy[:, 1])
    has = edge >= 0
    length = np.where(has, net.edge_length_m[np.maximum(edge, 0)], np.nan)
    pos = np.clip(pos, 0.0, length)
    behind = np.zeros(n, dtype=bool)
    if net.barriers is not None and len(net.barriers) and has.any():
        behind = _snap_on_own_side(net, pts, xy, edge, pos, connector, index, max_snap_m)
        length = np.where(edge >= 0, net.edge_length_m[np.maximum(edge, 0)], np.nan)
    far = connector > max_snap_m
    reason = np.full(n, None, dtype=object)
    far_rows = np.flatnonzero(far)
    if len(far_rows):
        # for the message only: is the nearest edge of all on an isolated component?
        if index.n_segments and len(index.edges) == net.n_edges:
            near_all, near_all_m = edge[far_rows], connector[far_rows]  # the same search
        else:
            near_all, near_all_m, _ = segment_index(net, 0).nearest(xy[far_rows, 0], xy[far_rows, 1])
        for k, i in enumerate(far_rows):
            j = near_all[k]
            if j < 0:
                reason[i] = "no geometry or empty network"
                continue
            size = int(comp_size[net.edge_u[j]])
            if size < min_nodes and near_all_m[k] <= max_snap_m:
                reason[i] = (
                    f"on an isolated component of {size} nodes (< min_component_nodes {min_nodes}); "
                    f"the connected network is {connector[i]:.0f} m away (> max_snap_m {max_snap_m:g} m)"
                )
            else:
                reason[i] = f"snap distance {near_all_m[k]:.0f} m > max_snap_m {max_snap_m:g} m"
    reason[behind] = f"every edge within max_snap_m {max_snap_m:g} m lies across a barrier"
    reachable = ~far
    if (~reachable).any():
        log.info("%d of %d points unreachable", int((~reachable).sum()), n)
    out = Snapped(
        edge=edge,
        pos_m=pos,
        to_u_m=pos,
        to_v_m=length - pos,
        connector_m=connector,
        reachable=reachable,
        reason=reason,
    )
    for name in out.__dataclass_fields__:
        getattr(out, name).flags.writeable = False  # the memo shares the arrays with every later caller
    return out
