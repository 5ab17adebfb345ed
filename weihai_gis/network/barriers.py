"""Barriers and closures: lines or polygons that cut the walking network, crossings that reopen it.

A barrier is a construction site, a closed 小区 gate, a fenced campus or a trunk road without crossings,
given as lines or polygons in any CRS. :func:`barrier_cut` finds where it cuts the edges,
:func:`cut_network` returns the network split there (the input is never changed) and
:func:`disconnected_origins` counts who loses access. The rules, all with shapely predicates on the edge
geometry:

- **Lines**: an edge meeting a barrier line anywhere (its end nodes included) is *cut* there: split at every
  point where it meets the line, each part kept, but the parts on the two sides no longer share a node. A
  barrier drawn through a junction detaches every edge meeting it from that junction (no path leaks past a
  barrier's end node); a dead end up to a fence still reaches the streets on its own side. An edge running
  *along* the line (every vertex within ``along_tolerance_m``) is kept whole: a road drawn as its own barrier
  stays walkable lengthwise but cannot be crossed.
- **Polygons**: an edge entering the polygon's interior is cut where it meets the outline; its parts inside
  and outside stay, so the streets of a fenced campus still join each other but not the city. An edge that
  only touches the outline from outside (or runs along it) is kept whole.
- **Crossings**: an (edge, barrier *line*) pair is not cut when a crossing point lies within
  ``crossing_tolerance_m`` of where the edge meets the line (the intersection geometry): a tagged
  pedestrian crossing of a trunk road, a gate left open in a fence. A polygon is a closed area and stays
  closed (model a fenced campus with open gates as its fence line plus the gates as crossings).
  :func:`weihai_gis.network.osm.read_osm_crossings` reads OSM ``highway=crossing`` nodes.

Nodes are kept (same positions and ids, first in the arrays, so the two networks can be compared node by
node); each cut adds new end nodes (negative ids) at the cut point, one per part. The cut network carries the
barriers (:attr:`WalkNetwork.barriers`), and :func:`~weihai_gis.network.snap_points` never joins a point to an
edge across one: a 小区 inside a fenced campus snaps to a street inside, a house beside a trunk road to the
street on its own side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from shapely.ops import substring

from weihai_gis.errors import CRSError, LayerError
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.network.snap import snap_points
from weihai_gis.standards import coverage_setting

__all__ = ["BarrierCut", "barrier_cut", "barrier_geometries", "cut_network", "disconnected_origins"]

log = logging.getLogger(__name__)


def _label(frame: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> str:
    """How messages name a layer: its file and layer when :func:`read_vector` recorded them, else ``what``."""
    return str(frame.attrs.get("source") or what)


_LINES = (1, 2, 5)  # LineString, LinearRing, MultiLineString
_POLYGONS = (3, 6)  # Polygon, MultiPolygon


def _layer_in_crs(frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: str, what: str) -> npt.NDArray[np.object_]:
    """Geometries of ``frame`` in ``crs`` after the checks every barrier/crossing layer passes."""
    label = _label(frame, what)
    if frame.crs is None:
        raise CRSError(f"{label}: the layer has no CRS; declare it (e.g. EPSG:4326 or EPSG:4490) first.")
    if len(frame) == 0:
        raise LayerError(f"{label}: the layer is empty; give at least one feature or leave the option out.")
    geoms = (frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame).to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        rows = list(np.flatnonzero(missing)[:5])
        raise LayerError(
            f"{label}: {int(missing.sum())} rows have no geometry (rows {rows}); drop or fix them."
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        first = int(np.flatnonzero(invalid)[0])
        raise LayerError(
            f"{label}: {int(invalid.sum())} invalid geometries (first row {first}: "
            f"{shapely.is_valid_reason(geoms[first])}); repair them (e.g. shapely.make_valid) first."
        )
    series = gpd.GeoSeries(geoms, crs=frame.crs)
    if not series.crs.equals(crs):
        series = series.to_crs(crs)
    return series.to_numpy()


def barrier_geometries(barriers: gpd.GeoDataFrame | gpd.GeoSeries, crs: str) -> npt.NDArray[np.object_]:
    """Return the barrier lines and polygons of a layer in ``crs``, checked.

    Parameters
    ----------
    barriers
        Lines and/or polygons in any declared CRS.
    crs
        The network's metric CRS.

    Raises
    ------
    CRSError
        The layer has no CRS.
    LayerError
        The layer is empty, has rows without geometry, invalid geometries, or points (crossings are a
        separate layer) or collections.
    """
    geoms = _layer_in_crs(barriers, crs, "barriers")
    kind = shapely.get_type_id(geoms)
    other = ~np.isin(kind, (*_LINES, *_POLYGONS))
    if other.any():
        label = _label(barriers, "barriers")
        names = ", ".join(sorted(set(gpd.GeoSeries(geoms[other]).geom_type)))
        raise LayerError(
            f"{label}: {int(other.sum())} rows are {names}; expected lines or polygons (crossing points go in "
            f"the crossings layer)."
        )
    return geoms


@dataclass(frozen=True)
class BarrierCut:
    """Where a set of barriers cuts the edges of a network.

    Attributes
    ----------
    cut
        Per edge of the input network: True when a barrier cuts it (the edge is replaced by its parts).
    reopened
        Per edge: True when the edge meets a barrier line but every such meeting has a crossing (kept whole).
    cut_offset, cut_pos_m
        The cut points of edge ``e``: ``cut_pos_m[cut_offset[e]:cut_offset[e + 1]]``, metres along the edge
        from its start node ``u``, sorted and distinct (0 or the edge's length: cut at an end node).
    barriers
        The barrier lines and polygons in the network's CRS (carried by the cut network for snapping).
    n_barriers
        Number of barrier features.
    n_crossings
        Number of crossing points given (0 without a crossings layer).
    """

    cut: npt.NDArray[np.bool_]
    reopened: npt.NDArray[np.bool_]
    cut_offset: npt.NDArray[np.int64]
    cut_pos_m: npt.NDArray[np.float64]
    barriers: npt.NDArray[np.object_]
    n_barriers: int
    n_crossings: int

    @property
    def removed(self) -> npt.NDArray[np.bool_]:
        """Per edge: True when the edge is not in the cut network whole (same as :attr:`cut`)."""
        return self.cut

    @property
    def n_cut(self) -> int:
        """Number of edges cut."""
        return int(self.cut.sum())

    @property
    def n_removed(self) -> int:
        """Number of edges cut (replaced by their parts); kept for callers of the first version."""
        return self.n_cut

    @property
    def n_reopened(self) -> int:
        """Number of edges kept whole because of a crossing."""
        return int(self.reopened.sum())

    def apply(self, net: WalkNetwork) -> WalkNetwork:
        """Return a new network with every cut edge split at its cut points (``net`` is not changed).

        Edges keep their order; a cut edge is replaced in place by its parts of positive length (from ``u``
        to ``v``). The input's nodes come first, unchanged; each part's end at a cut point is a new node of
        its own (ids below every input id), so parts on the two sides of a barrier never meet.
        """
        if len(self.cut) != net.n_edges:
            raise ValueError(
                f"the cut has {len(self.cut)} edges, the network {net.n_edges}: not the same network."
            )
        parent, geoms, start_new, end_new = _parts(net, self)
        n = net.n_nodes
        u = net.edge_u[parent].copy()
        v = net.edge_v[parent].copy()
        n_start, n_end = int(start_new.sum()), int(end_new.sum())
        u[start_new] = n + np.arange(n_start)
        v[end_new] = n + n_start + np.arange(n_end)
        new_xy = np.concatenate(
            [
                shapely.get_coordinates(shapely.get_point(geoms[start_new], 0)),
                shapely.get_coordinates(shapely.get_point(geoms[end_new], -1)),
            ]
        ).reshape(-1, 2)
        base = min(int(net.node_ids.min()) if n else 0, 0) - 1
        new_ids = base - np.arange(n_start + n_end, dtype=np.int64)
        kept = ~self.cut[parent]
        length = net.edge_length_m[parent].copy()
        length[~kept] = shapely.length(geoms[~kept])
        return WalkNetwork(
            node_ids=np.concatenate([net.node_ids, new_ids]),
            node_xy=np.concatenate([net.node_xy, new_xy]),
            edge_u=u,
            edge_v=v,
            edge_length_m=length,
            edge_geometry=geoms,
            highway=net.highway[parent],
            crs=net.crs,
            source=net.source,
            barriers=_merge_barriers(net.barriers, self.barriers),
        )

    def summary_zh(self) -> str:
        """Return a one-line planner-facing description (Chinese first)."""
        return (
            f"障碍/封闭：{self.n_barriers} 处，切断路段 {self.n_cut} 条（在障碍处断开，两侧各自保留），"
            f"因过街设施保留 {self.n_reopened} 条 / barriers: {self.n_barriers}, {self.n_cut} edges cut at "
            f"the barrier (both sides kept), {self.n_reopened} kept whole by crossings"
        )


def _merge_barriers(
    old: npt.NDArray[np.object_] | None, new: npt.NDArray[np.object_]
) -> npt.NDArray[np.object_]:
    """Barriers of a network cut again: the earlier ones and the new ones."""
    return new if old is None else np.concatenate([old, new])


def _parts(
    net: WalkNetwork, cut: BarrierCut
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Every edge of the cut network: its input edge, geometry, and whether its start / end is a new node."""
    m = net.n_edges
    counts = np.ones(m, dtype=np.int64)
    pieces: dict[int, list[tuple[object, bool, bool]]] = {}
    for e in np.flatnonzero(cut.cut):
        geom = net.edge_geometry[e]
        total = float(shapely.length(geom))
        pos = cut.cut_pos_m[cut.cut_offset[e] : cut.cut_offset[e + 1]]
        bounds = np.r_[0.0, pos, total]
        out = []
        for k in range(len(bounds) - 1):
            a, b = bounds[k], bounds[k + 1]
            if b - a <= _MIN_PART_M:
                continue
            out.append((substring(geom, a, b), k > 0, k < len(bounds) - 2))
        pieces[int(e)] = out
        counts[e] = len(out)
    parent = np.repeat(np.arange(m), counts)
    geoms = net.edge_geometry[parent].copy()
    start_new = np.zeros(len(parent), dtype=bool)
    end_new = np.zeros(len(parent), dtype=bool)
    first = np.r_[0, np.cumsum(counts)][:-1]
    for edge_no, parts in pieces.items():
        at = first[edge_no]
        for k, (geom, s, t) in enumerate(parts):
            geoms[at + k], start_new[at + k], end_new[at + k] = geom, s, t
    return parent, geoms, start_new, end_new


#: Parts of a cut edge this short (metres) or shorter are dropped; cut points closer than this are one.
_MIN_PART_M = 1e-6


def barrier_cut(
    net: WalkNetwork,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries,
    crossings: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    crossing_tolerance_m: float | None = None,
    along_tolerance_m: float | None = None,
) -> BarrierCut:
    """Return where the barriers cut the edges of ``net`` (rules in the module docstring).

    Parameters
    ----------
    net
        The walking network (metric CRS).
    barriers
        Barrier lines and/or polygons, any CRS (reprojected; checked by :func:`barrier_geometries`).
    crossings
        Optional crossing points (any CRS) that keep the edge they sit on whole where it meets a barrier.
    crossing_tolerance_m
        Distance in metres from where an edge meets a barrier within which a crossing reopens it (default
        ``barriers.crossing_tolerance_m`` in ``coverage-config.yaml``). OSM maps most crossings as a node on
        the road a few metres from the junction, with no footway through it: the tolerance lets such a
        node open the streets meeting the road beside it.
    along_tolerance_m
        An edge with every vertex within this distance (metres) of a barrier line runs along it and is kept
        (default ``barriers.along_tolerance_m``).

    Returns
    -------
    BarrierCut
    """
    tol = float(
        coverage_setting("barriers", "crossing_tolerance_m")
        if crossing_tolerance_m is None
        else crossing_tolerance_m
    )
    along_tol = float(
        coverage_setting("barriers", "along_tolerance_m") if along_tolerance_m is None else along_tolerance_m
    )
    if tol < 0 or along_tol < 0:
        raise ValueError(f"tolerances must be >= 0, got crossing {tol} m, along {along_tol} m.")
    geoms = barrier_geometries(barriers, net.crs)
    edges = net.edge_geometry
    m = net.n_edges
    e_idx, b_idx = shapely.STRtree(geoms).query(edges, predicate="intersects")
    e_geom, b_geom = edges[e_idx], geoms[b_idx]
    polygon = np.isin(shapely.get_type_id(b_geom), _POLYGONS)
    blocked = np.ones(len(e_idx), dtype=bool)
    if polygon.any():  # polygons cut only edges entering their interior
        blocked[polygon] = ~shapely.touches(e_geom[polygon], b_geom[polygon])
    line = np.flatnonzero(~polygon)
    if len(line):  # lines cut edges meeting them, except those running along them
        coords, which = shapely.get_coordinates(e_geom[line], return_index=True)
        far = shapely.distance(shapely.points(coords), b_geom[line][which]) > along_tol
        along = np.bincount(which, weights=far, minlength=len(line)) == 0
        blocked[line[along]] = False
    n_cross = 0
    crossed = np.zeros(len(e_idx), dtype=bool)
    if crossings is not None:
        pts = _layer_in_crs(crossings, net.crs, "crossings")
        if not (shapely.get_type_id(pts) == 0).all():
            raise LayerError(
                f"{_label(crossings, 'crossings')}: expected points (one per crossing); convert lines to their midpoints."
            )
        n_cross = len(pts)
        cand = np.flatnonzero(blocked & ~polygon)  # a closed area stays closed: crossings open lines only
        if len(cand):
            meet = shapely.intersection(e_geom[cand], b_geom[cand])
            pair, _ = shapely.STRtree(pts).query(meet, predicate="dwithin", distance=tol)
            crossed[cand[np.unique(pair)]] = True
    still = np.flatnonzero(blocked & ~crossed)
    # where each cutting pair meets: the line itself, or the polygon's outline
    outline = np.where(polygon[still], shapely.boundary(b_geom[still]), b_geom[still])
    meet = shapely.intersection(e_geom[still], outline)
    coords, which = shapely.get_coordinates(meet, return_index=True)
    pair_edge = e_idx[still][which]
    pos = shapely.line_locate_point(edges[pair_edge], shapely.points(coords)) if len(coords) else np.empty(0)
    offset, pos = _distinct_sorted(pair_edge, pos, m)
    cut_mask = np.diff(offset) > 0  # an edge wholly inside a polygon meets no outline: not cut
    reopened = np.zeros(m, dtype=bool)
    reopened[e_idx[crossed]] = True
    reopened &= ~cut_mask
    cut = BarrierCut(
        cut=cut_mask,
        reopened=reopened,
        cut_offset=offset,
        cut_pos_m=pos,
        barriers=geoms,
        n_barriers=len(geoms),
        n_crossings=n_cross,
    )
    log.info("%s", cut.summary_zh())
    return cut


def _distinct_sorted(
    edge: npt.NDArray[np.int64], pos: npt.NDArray[np.float64], m: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Group cut positions by edge, sorted, merging positions closer than :data:`_MIN_PART_M`."""
    order = np.lexsort((pos, edge))
    edge, pos = edge[order], pos[order]
    keep = np.ones(len(pos), dtype=bool)
    if len(pos) > 1:
        keep[1:] = (edge[1:] != edge[:-1]) | (np.diff(pos) > _MIN_PART_M)
    edge, pos = edge[keep], pos[keep]
    offset = np.r_[0, np.cumsum(np.bincount(edge, minlength=m))].astype(np.int64)
    return offset, pos


def cut_network(
    net: WalkNetwork,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries,
    crossings: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    crossing_tolerance_m: float | None = None,
    along_tolerance_m: float | None = None,
) -> WalkNetwork:
    """Return ``net`` split at the barriers (``net`` itself is not changed).

    Parameters
    ----------
    net, barriers, crossings, crossing_tolerance_m, along_tolerance_m
        As for :func:`barrier_cut`.

    Returns
    -------
    WalkNetwork
        The input's nodes first, then the new end nodes of the cut parts; carries the barriers, so points
        never snap across them. ``barrier_cut(...).n_cut`` tells how many edges were cut.
    """
    cut = barrier_cut(
        net,
        barriers,
        crossings,
        crossing_tolerance_m=crossing_tolerance_m,
        along_tolerance_m=along_tolerance_m,
    )
    return cut.apply(net)


def disconnected_origins(
    before: WalkNetwork,
    after: WalkNetwork,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_snap_m: float | None = None,
    min_component_nodes: int | None = None,
) -> npt.NDArray[np.bool_]:
    """Return per origin True when it reaches the routable network before the cut but not after.

    An origin is reachable when it lies within ``max_snap_m`` of an edge of a component of at least
    ``min_component_nodes`` nodes (the snapping rules of :func:`~weihai_gis.network.snap_points`). An
    origin whose own street was cut but which still lies near another routable edge is *not* counted (it
    walks from there); its longer walk shows in the distances.

    Parameters
    ----------
    before, after
        The network and its cut version.
    origins
        Points (or polygons) in the networks' CRS.
    max_snap_m, min_component_nodes
        Snapping limits (defaults from ``coverage-config.yaml``).
    """
    snap = {"max_snap_m": max_snap_m, "min_component_nodes": min_component_nodes}
    return snap_points(before, origins, **snap).reachable & ~snap_points(after, origins, **snap).reachable  # type: ignore[arg-type]
