"""Edges cut into sub-segments about one DEM cell long, with the elevation change of each (walker-independent).

An edge is cut at ``hills.sample_spacing_cells`` × the DEM's cell size (``standards/coverage-config.yaml``);
the elevation at each cut is sampled bilinearly (:class:`weihai_gis.io.raster.DEMReader`: the points
reprojected into the DEM's CRS, only the window around the network read). The profile is cached on the
network per DEM file, and on disk with :mod:`weihai_gis.network.profile_cache`; walking times per walker
group come from it in :func:`weihai_gis.network.costs.edge_times`.

The cut points are placed from the network's vertex arrays: a straight edge (two vertices) on its one
segment, a bent edge by one search over every edge's vertices laid end to end; a point equal to a node is
sampled once for all edges meeting there.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weihai_gis.errors import DEMError
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.standards import walking_costs

if TYPE_CHECKING:
    from weihai_gis.io.raster import DEMReader
    from weihai_gis.sightlines.dem import DEM

__all__ = ["EdgeProfile", "edge_profile"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EdgeProfile:
    """Edges cut into sub-segments with the elevation at each cut (walker-independent, cached per DEM).

    Attributes
    ----------
    piece_offset
        Sub-segments of edge ``e`` are ``piece_offset[e]:piece_offset[e + 1]``, shape (m + 1,).
    piece_end_m
        Distance in metres along the edge (from ``u``) at the end of each sub-segment.
    piece_rise_m
        Elevation change in metres from the start to the end of each sub-segment (0 without a DEM).
    dem_source
        File name of the DEM, ``""`` for a flat profile.
    cell_size_m
        DEM cell size in ground metres (NaN without a DEM).
    """

    piece_offset: npt.NDArray[np.int64]
    piece_end_m: npt.NDArray[np.float64]
    piece_rise_m: npt.NDArray[np.float64]
    dem_source: str = ""
    cell_size_m: float = float("nan")

    @property
    def piece_edge(self) -> npt.NDArray[np.int64]:
        """Edge index of each sub-segment."""
        return np.repeat(np.arange(len(self.piece_offset) - 1), np.diff(self.piece_offset))

    @property
    def piece_length_m(self) -> npt.NDArray[np.float64]:
        """Horizontal length in metres of each sub-segment."""
        start = np.r_[0.0, self.piece_end_m[:-1]]
        start[self.piece_offset[:-1][np.diff(self.piece_offset) > 0]] = 0.0
        return self.piece_end_m - start


def _dem_key(dem: object) -> tuple[str, int] | None:
    """Cache key of a DEM file: its path and modification time (None for level ground or an in-memory DEM)."""
    if not isinstance(dem, str | os.PathLike):
        return None
    path = os.fspath(dem)
    try:
        return path, Path(path).stat().st_mtime_ns
    except OSError:
        return path, -1


def _flat_profile(net: WalkNetwork) -> EdgeProfile:
    m = net.n_edges
    return EdgeProfile(np.arange(m + 1, dtype=np.int64), net.edge_length_m.copy(), np.zeros(m))


def edge_profile(
    net: WalkNetwork,
    dem: str | os.PathLike[str] | DEM | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> EdgeProfile:
    """Return the network's edges cut at about one DEM cell, with the rise of every sub-segment.

    Parameters
    ----------
    net
        Walking network (metric CRS).
    dem
        DEM GeoTIFF in any CRS (or a loaded :class:`~weihai_gis.sightlines.DEM`); ``None``: one flat
        sub-segment per edge. The profile of a file is cached on the network.
    cache_dir
        Folder of an on-disk profile cache (:mod:`weihai_gis.network.profile_cache`) for a DEM file: a later
        process with the same network and DEM file loads the profile instead of sampling. None: no disk cache.

    Raises
    ------
    DEMError
        The DEM does not cover every edge (the message counts the edges without elevation).

    Notes
    -----
    The DEM is opened once and only the window around the network is read; every cut point is
    transformed into the DEM's CRS and sampled in one vectorised pass, a point shared by several edges
    (a node, where an edge starts or ends exactly on it) once.
    """
    if dem is None:
        return _flat_profile(net)
    from weihai_gis.io.raster import DEMReader  # rasterio only when hills are asked for

    file_key = _dem_key(dem)
    key = ("edge_profile", file_key) if file_key is not None else None
    if key is not None and key in net._cache:
        return net._cache[key]
    disk_key = None
    if cache_dir is not None and file_key is not None:
        from weihai_gis.network import profile_cache

        disk_key = profile_cache.profile_key(net, file_key[0], walking_costs()["sample_spacing_cells"])
        if (hit := profile_cache.load_profile(cache_dir, disk_key)) is not None:
            net._cache[key] = hit
            return hit
    with DEMReader(dem) as reader:
        # the cell size at the network's corners and centre sets the sample spacing
        nx, ny = net.node_xy[:, 0], net.node_xy[:, 1]  # (a reduction along axis 0 of (n, 2) is slow)
        x0, y0, x1, y1 = nx.min(), ny.min(), nx.max(), ny.max()
        px = np.array([x0, x1, x0, x1, (x0 + x1) / 2])
        py = np.array([y0, y0, y1, y1, (y0 + y1) / 2])
        cell_size_m = reader.cell_size_m(*reader.to_dem_crs(px, py, net.crs))
        spacing = walking_costs()["sample_spacing_cells"] * cell_size_m
        m = net.n_edges
        length = net.edge_length_m
        n_pieces = np.maximum(np.ceil(length / spacing).astype(np.int64), 1)
        offset = np.r_[0, np.cumsum(n_pieces)].astype(np.int64)
        # per-edge values laid out per sub-segment by np.repeat (sequential, cheaper than a gather)
        k = np.arange(1, offset[-1] + 1) - np.repeat(offset[:-1], n_pieces)  # 1..n within each edge
        frac = k / np.repeat(n_pieces, n_pieces)
        end_m = frac * np.repeat(length, n_pieces)
        # elevation at the start of each edge and at the end of each sub-segment
        start, end = _points_along(net, n_pieces, frac)
        z_start, z_end = _sample_shared(reader, net, start, end, offset)
    z = np.concatenate([z_start, z_end])
    missing = ~np.isfinite(z)
    if missing.any():
        cut_edge = np.concatenate([np.arange(m), np.repeat(np.arange(m), n_pieces)])
        bad = np.unique(cut_edge[missing])
        raise DEMError(
            f"DEM {reader.source}: {len(bad)} of {net.n_edges} edges of the walking network {net.source!r} "
            f"have points without elevation (outside the DEM or on nodata cells, e.g. edge {int(bad[0])}). "
            "Give a DEM covering the whole network, or fill its voids (gdal_fillnodata)."
        )
    prev = np.r_[0.0, z_end[:-1]]
    first = offset[:-1][n_pieces > 0]
    prev[first] = z_start
    profile = EdgeProfile(offset, end_m, z_end - prev, dem_source=reader.source, cell_size_m=cell_size_m)
    log.info(
        "%s: %d edges cut into %d sub-segments of <= %.1f m on DEM %s",
        net.source,
        net.n_edges,
        len(end_m),
        spacing,
        reader.source,
    )
    if key is not None:
        net._cache[key] = profile
    if cache_dir is not None and disk_key is not None:
        from weihai_gis.network import profile_cache

        profile_cache.save_profile(cache_dir, disk_key, profile)
    return profile


Points = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def _sample_shared(
    reader: DEMReader, net: WalkNetwork, start: Points, end: Points, offset: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Elevation at each edge's start and each sub-segment's end, a point equal to a node sampled once.

    ``start`` and ``end`` are (x, y) arrays. A start or last end that equals its node's coordinates bit for
    bit is sampled at the node; every other point on its own. The transform and the interpolation work
    point by point, so the values are those of sampling every point.
    """
    m = net.n_edges
    (sx, sy), (ex, ey) = start, end
    node_x, node_y = net.node_xy[:, 0], net.node_xy[:, 1]
    last = offset[1:] - 1
    u, v = net.edge_u, net.edge_v
    at_u = (sx == node_x[u]) & (sy == node_y[u])
    at_v = (ex[last] == node_x[v]) & (ey[last] == node_y[v])
    used = np.zeros(net.n_nodes, dtype=bool)
    used[u[at_u]] = True
    used[v[at_v]] = True
    nodes = np.flatnonzero(used)
    own_start = ~at_u
    own_end = np.ones(len(ex), dtype=bool)
    own_end[last[at_v]] = False
    x = np.concatenate([node_x[nodes], sx[own_start], ex[own_end]])
    y = np.concatenate([node_y[nodes], sy[own_start], ey[own_end]])
    z = reader.z_m(*reader.to_dem_crs(x, y, net.crs))
    n_nodes, n_start = len(nodes), int(own_start.sum())
    z_node = np.full(net.n_nodes, np.nan)
    z_node[nodes] = z[:n_nodes]
    z_start = np.empty(m)
    z_start[at_u] = z_node[u[at_u]]
    z_start[own_start] = z[n_nodes : n_nodes + n_start]
    z_end = np.empty(len(ex))
    z_end[own_end] = z[n_nodes + n_start :]
    z_end[last[at_v]] = z_node[v[at_v]]
    return z_start, z_end


def _points_along(
    net: WalkNetwork, n_pieces: npt.NDArray[np.int64], frac: npt.NDArray[np.float64]
) -> tuple[Points, Points]:
    """Each edge's first vertex, and the points at the shares ``frac`` (0..1) of the edges' lengths.

    ``frac`` holds ``n_pieces[e]`` shares per edge ``e``, edge after edge; both results are (x, y) arrays.
    ``shapely.line_interpolate_point`` walks every line once per point; here every edge's vertices are
    laid end to end with their cumulative length, so one ``searchsorted`` places the points of bent edges
    and a straight edge's (two vertices) are placed on its one segment without a search.
    """
    coords, count = net.edge_vertices()
    count = count.astype(np.int64)
    first = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    last = first + count - 1
    # the coordinates as contiguous columns: every step below is elementwise, as on the (k, 2) array
    cx, cy = np.ascontiguousarray(coords[:, 0]), np.ascontiguousarray(coords[:, 1])
    seg = np.hypot(cx[1:] - cx[:-1], cy[1:] - cy[:-1])
    seg[last[(count > 0) & (last < len(seg))]] = (
        0.0  # no length between one edge's end and the next edge's start
    )
    cum = np.zeros(len(seg) + 1)
    np.cumsum(seg, out=cum[1:])
    start = cum[first]
    total = cum[last] - start
    bx, by = cx[first], cy[first]
    # straight edges: the point's segment is the edge, cum[k] its start and the segment's span its total
    # (the in-place steps compute start + frac * total, minus start, over total, as for a bent edge)
    s_rep = np.repeat(start, n_pieces)
    t_rep = np.repeat(total, n_pieces)
    target = frac * t_rep
    target += s_rep
    if bool((total > 0).all()):
        t = target - s_rep
        t /= t_rep
    else:
        t = np.divide(target - s_rep, t_rep, out=np.zeros_like(target), where=t_rep > 0)
    np.clip(t, 0.0, 1.0, out=t)
    del s_rep, t_rep
    second = np.minimum(first + 1, max(len(cx) - 1, 0))
    px = np.repeat(cx[second] - bx, n_pieces) * t if len(cx) else np.zeros_like(t)
    px += np.repeat(bx, n_pieces)
    py = np.repeat(cy[second] - by, n_pieces) * t if len(cy) else np.zeros_like(t)
    py += np.repeat(by, n_pieces)
    odd = count != 2
    other = np.flatnonzero(np.repeat(odd, n_pieces)) if odd.any() else np.zeros(0, dtype=np.int64)
    if len(other):  # bent edges (and degenerate ones): the segment holding each point
        edge = np.repeat(np.arange(len(count)), n_pieces)[other]
        k = first[edge]
        bent = np.flatnonzero(count[edge] > 2)
        if len(bent):
            eb = edge[bent]
            k[bent] = np.clip(
                np.searchsorted(cum, target[other[bent]], side="right") - 1, first[eb], last[eb] - 1
            )
        span = cum[k + 1] - cum[k]
        rel = target[other] - cum[k]
        tk = np.clip(np.divide(rel, span, out=np.zeros_like(rel), where=span > 0), 0.0, 1.0)
        px[other] = cx[k] + (cx[k + 1] - cx[k]) * tk
        py[other] = cy[k] + (cy[k + 1] - cy[k]) * tk
    return (bx, by), (px, py)
