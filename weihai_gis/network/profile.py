"""Edges cut into sub-segments about one DEM cell long, with the elevation change of each (walker-independent).

An edge is cut at ``hills.sample_spacing_cells`` × the DEM's cell size (``standards/coverage-config.yaml``);
the elevation at each cut is sampled bilinearly (:class:`weihai_gis.io.raster.DEMReader`: only the window
around the network read). The profile is cached on the
network per DEM file, and on disk with :mod:`weihai_gis.network.profile_cache`; walking times per walker
group come from it in :func:`weihai_gis.network.costs.edge_times`.

The cut points are placed from the network's vertex arrays: a straight edge (two vertices) on its one
segment, a bent edge by one search over every edge's vertices laid end to end. Only the vertices are
reprojected into the DEM's CRS; a cut point takes the linear interpolation of its span's ends in the DEM's
cell coordinates (a span longer than :data:`EXACT_SPAN_M` has its cut points reprojected on their own).
A point equal to a node is sampled once for all edges meeting there.
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

__all__ = ["EXACT_SPAN_M", "EdgeProfile", "edge_profile"]

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
    The DEM is opened once and only the window around the network is read; the vertices are
    transformed into the DEM's CRS, the cut points interpolated between them (within 0.2 mm of
    transforming each on its own, see :data:`EXACT_SPAN_M`) and sampled in one vectorised pass, a point
    shared by several edges (a node, where an edge starts or ends exactly on it) once.
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
        z_start, z_end = _elevations(reader, net, n_pieces)
    if not (np.isfinite(z_start).all() and np.isfinite(z_end).all()):
        missing = ~np.isfinite(np.concatenate([z_start, z_end]))
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


#: Longest straight span (metres between two vertices of an edge) along which cut points are placed by linear
#: interpolation in the DEM's cell coordinates; cut points on a longer span are transformed on their own. The
#: map from a metric CRS to the DEM's bends straight lines a little: in Weihai (EPSG:4550, 2° east of its
#: central meridian, into EPSG:4326) the interpolated point lies <= 0.2 mm from the transformed one on a 100 m
#: span (growing with the span squared), far below a DEM cell (tests/test_hills_fast_paths.py checks it).
EXACT_SPAN_M = 100.0


def _elevations(
    reader: DEMReader, net: WalkNetwork, n_pieces: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Elevation at each edge's start and at each sub-segment's end (``n_pieces`` sub-segments per edge).

    Only the nodes and the vertices that are not a node are transformed into the DEM's CRS (pyproj is the
    dearest step); a cut point between two vertices takes the linear interpolation of their cell
    coordinates (:func:`~weihai_gis.io.raster.cell_coords`), unless the span is longer than
    :data:`EXACT_SPAN_M`. A point equal to a node (an edge's start or end) is sampled once for every edge
    meeting there.
    """
    from weihai_gis.io.raster import bilinear_cells, cell_coords

    m = net.n_edges
    coords, count = net.edge_vertices()
    count = count.astype(np.int64)
    first = net.edge_offsets[:-1]
    last = first + count - 1
    u, v = net.edge_u, net.edge_v
    node_x, node_y = net.node_xy[:, 0], net.node_xy[:, 1]
    at_u = (coords[first, 0] == node_x[u]) & (coords[first, 1] == node_y[u])
    at_v = (coords[last, 0] == node_x[v]) & (coords[last, 1] == node_y[v])
    simple = (count == 2) & at_u & at_v  # a straight edge from node to node
    every_simple = bool(simple.all())
    # the vertex columns (contiguous copies) only for the edges that are not
    cx, cy = (coords[:0, 0], coords[:0, 1]) if every_simple else (coords[:, 0].copy(), coords[:, 1].copy())
    # the cut points inside each edge (its last one is the edge's end): shares j / n, j = 1 .. n - 1
    n_inner = n_pieces - 1
    inner_start = np.cumsum(n_inner) - n_inner
    j = np.arange(1, int(n_inner.sum()) + 1) - np.repeat(inner_start, n_inner)
    frac = j / np.repeat(n_pieces, n_inner)
    k, t, bent = _cut_spans(cx, cy, first, last, count, n_inner, frac)
    long_edge = (net.edge_length_m > EXACT_SPAN_M) & (count == 2)
    exact_at = np.flatnonzero(np.repeat(long_edge, n_inner)) if long_edge.any() else first[:0]
    if len(bent):
        kb = k[bent]
        exact = np.zeros(len(k), dtype=bool)
        exact[exact_at] = True
        exact[bent] = np.hypot(cx[kb + 1] - cx[kb], cy[kb + 1] - cy[kb]) > EXACT_SPAN_M
        exact_at = np.flatnonzero(exact)
    # points transformed on their own: the nodes met, the vertices that are not a node, long spans' cuts
    used = np.zeros(net.n_nodes, dtype=bool)
    used[u[at_u]] = True
    used[v[at_v]] = True
    nodes = np.flatnonzero(used)
    own_v = first[:0]
    if not every_simple:
        own = np.ones(len(cx), dtype=bool)
        own[first[at_u]] = False
        own[last[at_v]] = False
        own_v = np.flatnonzero(own)
    ek, et = k[exact_at], t[exact_at]
    ex = coords[ek, 0] + (coords[ek + 1, 0] - coords[ek, 0]) * et
    ey = coords[ek, 1] + (coords[ek + 1, 1] - coords[ek, 1]) * et
    dx, dy = reader.to_dem_crs(
        np.concatenate([node_x[nodes], cx[own_v], ex]),
        np.concatenate([node_y[nodes], cy[own_v], ey]),
        net.crs,
    )
    grid, transform = reader.window(dx, dy)
    col, row = cell_coords(transform, dx, dy)
    n_nodes, n_own = len(nodes), len(own_v)
    node_c, node_r = np.zeros(net.n_nodes), np.zeros(net.n_nodes)
    node_c[nodes], node_r[nodes] = col[:n_nodes], row[:n_nodes]
    # a straight edge from node to node: its cuts between the nodes' cells (the others' rows redone below)
    pc = _between(node_c[u], node_c[v], n_inner, frac)
    pr = _between(node_r[u], node_r[v], n_inner, frac)
    starts, lasts = first[~at_u], last[~at_v]
    end_c, end_r = node_c[:0], node_r[:0]
    if not every_simple:  # every vertex's cell coordinates: a node's, or its own
        vc, vr = np.empty(len(cx)), np.empty(len(cx))
        vc[first[at_u]], vr[first[at_u]] = node_c[u[at_u]], node_r[u[at_u]]
        vc[last[at_v]], vr[last[at_v]] = node_c[v[at_v]], node_r[v[at_v]]
        vc[own_v], vr[own_v] = col[n_nodes : n_nodes + n_own], row[n_nodes : n_nodes + n_own]
        other = np.flatnonzero(np.repeat(~simple, n_inner))
        ko, to = k[other], t[other]
        pc[other] = vc[ko] + (vc[ko + 1] - vc[ko]) * to
        pr[other] = vr[ko] + (vr[ko + 1] - vr[ko]) * to
        ends = np.concatenate([starts, lasts])
        end_c, end_r = vc[ends], vr[ends]
    pc[exact_at], pr[exact_at] = col[n_nodes + n_own :], row[n_nodes + n_own :]
    # sampled: the nodes, the edges' starts and ends that are not a node, the inner cut points
    z_pts = bilinear_cells(
        grid, np.concatenate([col[:n_nodes], end_c]), np.concatenate([row[:n_nodes], end_r])
    )
    z_inner = bilinear_cells(grid, pc, pr)
    z_node = np.full(net.n_nodes, np.nan)
    z_node[nodes] = z_pts[:n_nodes]
    n_first = len(starts)
    z_start = np.empty(m)
    z_start[at_u] = z_node[u[at_u]]
    z_start[~at_u] = z_pts[n_nodes : n_nodes + n_first]
    z_last = np.empty(m)
    z_last[at_v] = z_node[v[at_v]]
    z_last[~at_v] = z_pts[n_nodes + n_first :]
    z_end = np.empty(int(n_pieces.sum()))
    z_end[np.cumsum(n_pieces) - 1] = z_last
    inner_pos = np.arange(len(z_inner)) + np.repeat(np.arange(m), n_inner)  # each earlier edge ends once
    z_end[inner_pos] = z_inner
    return z_start, z_end


def _between(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    n: npt.NDArray[np.int64],
    t: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Return ``a + (b − a) · t`` for ``a``, ``b`` given per edge and ``t`` per inner cut (``n`` per edge)."""
    out = np.repeat(b - a, n)
    out *= t
    out += np.repeat(a, n)
    return out


def _cut_spans(
    cx: npt.NDArray[np.float64],
    cy: npt.NDArray[np.float64],
    first: npt.NDArray[np.int64],
    last: npt.NDArray[np.int64],
    count: npt.NDArray[np.int64],
    n_inner: npt.NDArray[np.int64],
    frac: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Return the span holding each inner cut point: its first vertex ``k``, the share ``t`` along it, and ``bent``.

    The point is ``vertex[k] + (vertex[k + 1] − vertex[k]) · t``. A straight edge (two vertices) has its cuts
    at the shares ``frac`` of its one span; the cut points of edges with more vertices (positions ``bent``)
    are placed by one search over every edge's vertices laid end to end with their cumulative length.
    """
    k = np.repeat(first, n_inner)
    bent_edge = count > 2
    if not bent_edge[n_inner > 0].any():
        return k, frac, np.zeros(0, dtype=np.int64)
    bent = np.flatnonzero(np.repeat(bent_edge, n_inner))
    seg = np.hypot(cx[1:] - cx[:-1], cy[1:] - cy[:-1])
    seg[last[last < len(seg)]] = 0.0  # no length between one edge's end and the next edge's start
    cum = np.zeros(len(seg) + 1)
    np.cumsum(seg, out=cum[1:])
    edge = np.repeat(np.arange(len(count)), n_inner)[bent]
    start = cum[first[edge]]
    target = start + frac[bent] * (cum[last[edge]] - start)
    kb = np.clip(np.searchsorted(cum, target, side="right") - 1, first[edge], last[edge] - 1)
    span = cum[kb + 1] - cum[kb]
    rel = target - cum[kb]
    t = frac.copy()
    t[bent] = np.clip(np.divide(rel, span, out=np.zeros_like(rel), where=span > 0), 0.0, 1.0)
    k[bent] = kb
    return k, t, bent
