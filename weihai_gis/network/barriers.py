"""Barriers and closures: lines or polygons that cut the walking network, crossings that reopen it.

A barrier is a construction site, a closed 小区 gate, a fenced campus or a trunk road without crossings,
given as lines or polygons in any CRS. :func:`barrier_cut` decides which edges it blocks,
:func:`cut_network` returns the network without them (the input is never changed) and
:func:`disconnected_origins` counts who loses access. The rules, all with shapely predicates on the edge
geometry:

- **Lines**: an edge is blocked by a barrier line it meets anywhere, its end nodes included (a barrier drawn
  through a junction closes it; no path leaks past a barrier's end node), unless the edge runs *along* the
  line (every vertex within ``along_tolerance_m``): a road drawn as its own barrier stays walkable
  lengthwise but cannot be crossed.
- **Polygons**: an edge is blocked when it enters the polygon's interior; an edge that only touches the
  outline from outside (or runs along it) is kept.
- **Crossings**: a blocked (edge, barrier *line*) pair is reopened when a crossing point lies within
  ``crossing_tolerance_m`` of where the edge meets the line (the intersection geometry): a tagged
  pedestrian crossing of a trunk road, a gate left open in a fence. A polygon is a closed area and stays
  closed (model a fenced campus with open gates as its fence line plus the gates as crossings).
  :func:`weihai_gis.network.osm.read_osm_crossings` reads OSM ``highway=crossing`` nodes.
- An edge is removed when any of its (edge, barrier) pairs stays blocked.

Nodes are kept (so node positions are the same in both networks and the two can be compared node by node);
a node left without edges is a component of one node, which snapping ignores.

Edges are removed whole, and points (origins, facilities) are snapped again on the cut network: one whose
own street was cut walks from the nearest street left, and its connector may cross the barrier (the
barrier describes streets, not buildings). Because snapping picks the *nearest* street, such a point can
even end up with a shorter walk than before; everyone else only walks farther. Splitting edges at the
barrier (keeping the part of a cut street outside a polygon) would remove that artefact; not done yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

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
    """Which edges of a network a set of barriers blocks.

    Attributes
    ----------
    removed
        Per edge of the input network: True when a barrier blocks it.
    reopened
        Per edge: True when the edge meets a barrier but every such meeting has a crossing (kept).
    n_barriers
        Number of barrier features.
    n_crossings
        Number of crossing points given (0 without a crossings layer).
    """

    removed: npt.NDArray[np.bool_]
    reopened: npt.NDArray[np.bool_]
    n_barriers: int
    n_crossings: int

    @property
    def n_removed(self) -> int:
        """Number of edges removed."""
        return int(self.removed.sum())

    @property
    def n_reopened(self) -> int:
        """Number of edges kept because of a crossing."""
        return int(self.reopened.sum())

    def apply(self, net: WalkNetwork) -> WalkNetwork:
        """Return a new network without the removed edges (same nodes; ``net`` is not changed)."""
        keep = ~self.removed
        if len(keep) != net.n_edges:
            raise ValueError(
                f"the cut has {len(keep)} edges, the network {net.n_edges}: not the same network."
            )
        return WalkNetwork(
            node_ids=net.node_ids.copy(),
            node_xy=net.node_xy.copy(),
            edge_u=net.edge_u[keep],
            edge_v=net.edge_v[keep],
            edge_length_m=net.edge_length_m[keep],
            edge_geometry=net.edge_geometry[keep],
            highway=net.highway[keep],
            crs=net.crs,
            source=net.source,
        )

    def summary_zh(self) -> str:
        """Return a one-line planner-facing description (Chinese first)."""
        return (
            f"障碍/封闭：{self.n_barriers} 处，切断路段 {self.n_removed} 条，因过街设施保留 {self.n_reopened} 条 / "
            f"barriers: {self.n_barriers}, {self.n_removed} edges cut, {self.n_reopened} kept by crossings"
        )


def barrier_cut(
    net: WalkNetwork,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries,
    crossings: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    crossing_tolerance_m: float | None = None,
    along_tolerance_m: float | None = None,
) -> BarrierCut:
    """Return which edges of ``net`` the barriers block (rules in the module docstring).

    Parameters
    ----------
    net
        The walking network (metric CRS).
    barriers
        Barrier lines and/or polygons, any CRS (reprojected; checked by :func:`barrier_geometries`).
    crossings
        Optional crossing points (any CRS) that reopen the edge they sit on where it meets a barrier.
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
    if polygon.any():  # polygons block only edges entering their interior
        blocked[polygon] = ~shapely.touches(e_geom[polygon], b_geom[polygon])
    line = np.flatnonzero(~polygon)
    if len(line):  # lines block edges meeting them, except those running along them
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
    still = blocked & ~crossed
    removed = np.zeros(m, dtype=bool)
    removed[e_idx[still]] = True
    reopened = np.zeros(m, dtype=bool)
    reopened[e_idx[crossed]] = True
    reopened &= ~removed
    cut = BarrierCut(removed=removed, reopened=reopened, n_barriers=len(geoms), n_crossings=n_cross)
    log.info("%s", cut.summary_zh())
    return cut


def cut_network(
    net: WalkNetwork,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries,
    crossings: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    crossing_tolerance_m: float | None = None,
    along_tolerance_m: float | None = None,
) -> WalkNetwork:
    """Return ``net`` without the edges the barriers block (``net`` itself is not changed).

    Parameters
    ----------
    net, barriers, crossings, crossing_tolerance_m, along_tolerance_m
        As for :func:`barrier_cut`.

    Returns
    -------
    WalkNetwork
        Same nodes, fewer edges. ``barrier_cut(...).n_removed`` tells how many edges were cut.
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
