"""Walking time per edge and direction for a walker group, on flat ground or from a DEM (Tobler 1993).

An edge ``u → v`` is cut into sub-segments about one DEM cell long (``hills.sample_spacing_cells`` of
``standards/coverage-config.yaml``); the elevation at each cut is sampled bilinearly
(:func:`weihai_gis.io.raster.sample_elevation`, the points reprojected into the DEM's CRS), and each
sub-segment of horizontal length ``dx`` and rise ``dh`` takes

    t = dx / v_group · exp(3.5 · (|dh/dx + 0.05| − 0.05))

seconds forward and the same with ``−dh`` backward: Tobler's hiking function ``6 · exp(−3.5 |S + 0.05|)`` km/h
scaled so that it equals the group's flat speed ``v_group`` on level ground (it peaks 19 % faster on a 5 %
descent). Uphill and downhill differ, so the time graph is directed. ``highway=steps`` does not follow
Tobler: it is walked at a cited share of the flat speed, ascending or descending by the DEM's rise along the
edge (the mean of both paces without a DEM), and groups that cannot use a way (wheelchairs on steps) get an
infinite time in both directions. A group with a ``max_slope`` (wheelchairs: 1:12, GB 50763-2012) cannot use an
edge with any sub-segment steeper than that, uphill or downhill, so on a DEM such an edge is infinite in both
directions too; nor, with a ``ramp_max_run`` table (GB 50763-2012 3.4.4), an edge holding a climb longer than
the ramp run allowed at its slope without a landing (:func:`weihai_gis.network.ramps.ramp_too_long`). Without a DEM every other edge
takes ``length / v_group`` both ways.

The sub-segment times are kept as cumulative sums per edge, so a point snapped part-way along an edge
(an origin or a facility) gets the exact time of the part it walks (:meth:`EdgeTimes.partial_s`).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weihai_gis.errors import DEMError, StandardsError
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.network.ramps import ramp_too_long
from weihai_gis.standards import walker_groups, walking_costs

if TYPE_CHECKING:
    from collections.abc import Iterator

    from weihai_gis.io.raster import DEMReader
    from weihai_gis.sightlines.dem import DEM

__all__ = ["EdgeProfile", "EdgeTimes", "edge_profile", "edge_times", "tobler_pace_factor"]

log = logging.getLogger(__name__)


def tobler_pace_factor(slope: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return Tobler's pace (time per horizontal metre) at ``slope`` relative to level ground.

    ``exp(a (|S + s0| − s0))`` with ``a`` = 3.5 and ``s0`` = 0.05 (Tobler 1993, ``coverage-config.yaml``):
    1 at ``S = 0``, ``exp(−0.175)`` ≈ 0.84 at the fastest descent ``S = −0.05``, ≈ 1.42 at ``S = +0.05``.
    """
    cfg = walking_costs()
    a, s0 = cfg["tobler_decay"], cfg["tobler_offset_slope"]
    return np.exp(a * (np.abs(np.asarray(slope, dtype=float) + s0) - s0))


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
        (x0, y0), (x1, y1) = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
        px = np.array([x0, x1, x0, x1, (x0 + x1) / 2])
        py = np.array([y0, y0, y1, y1, (y0 + y1) / 2])
        cell_size_m = reader.cell_size_m(*reader.to_dem_crs(px, py, net.crs))
        spacing = walking_costs()["sample_spacing_cells"] * cell_size_m
        m = net.n_edges
        length = net.edge_length_m
        n_pieces = np.maximum(np.ceil(length / spacing).astype(np.int64), 1)
        offset = np.r_[0, np.cumsum(n_pieces)].astype(np.int64)
        edge = np.repeat(np.arange(m), n_pieces)
        k = np.arange(offset[-1]) - offset[:-1][edge] + 1  # 1..n within each edge
        frac = k / n_pieces[edge]
        end_m = frac * length[edge]
        # elevation at the start of each edge and at the end of each sub-segment
        start_xy, end_xy = _points_along(net, edge, frac)
        z_start, z_end = _sample_shared(reader, net, start_xy, end_xy, offset)
    z = np.concatenate([z_start, z_end])
    missing = ~np.isfinite(z)
    if missing.any():
        cut_edge = np.concatenate([np.arange(m), edge])
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


def _sample_shared(
    reader: DEMReader,
    net: WalkNetwork,
    start_xy: npt.NDArray[np.float64],
    end_xy: npt.NDArray[np.float64],
    offset: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Elevation at each edge's start and each sub-segment's end, a point equal to a node sampled once.

    A start or last end that equals its node's coordinates bit for bit is sampled at the node; every other
    point on its own. The transform and the interpolation work point by point, so the values are those
    of sampling every point.
    """
    m = net.n_edges
    last = offset[1:] - 1
    at_u = (start_xy == net.node_xy[net.edge_u]).all(axis=1)
    at_v = (end_xy[last] == net.node_xy[net.edge_v]).all(axis=1)
    used = np.zeros(net.n_nodes, dtype=bool)
    used[net.edge_u[at_u]] = True
    used[net.edge_v[at_v]] = True
    nodes = np.flatnonzero(used)
    own_end = np.ones(len(end_xy), dtype=bool)
    own_end[last[at_v]] = False
    xy = np.concatenate([net.node_xy[nodes], start_xy[~at_u], end_xy[own_end]])
    z = reader.z_m(*reader.to_dem_crs(xy[:, 0], xy[:, 1], net.crs))
    z_node = np.full(net.n_nodes, np.nan)
    z_node[nodes] = z[: len(nodes)]
    z_start = np.empty(m)
    z_start[at_u] = z_node[net.edge_u[at_u]]
    z_start[~at_u] = z[len(nodes) : len(nodes) + int((~at_u).sum())]
    z_end = np.empty(len(end_xy))
    z_end[own_end] = z[len(nodes) + int((~at_u).sum()) :]
    z_end[last[at_v]] = z_node[net.edge_v[at_v]]
    return z_start, z_end


def _points_along(
    net: WalkNetwork, edge: npt.NDArray[np.int64], frac: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each edge's first vertex, and the coordinates at the share ``frac`` (0..1) of ``edge``'s length.

    ``shapely.line_interpolate_point`` walks every line once per point; here every edge's vertices are
    laid end to end with their cumulative length, so one ``searchsorted`` places all points.
    """
    coords, count = net.edge_vertices()
    first = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    last = first + count - 1
    seg = np.hypot(*np.diff(coords, axis=0).T)
    seg[last[(count > 0) & (last < len(seg))]] = (
        0.0  # no length between one edge's end and the next edge's start
    )
    cum = np.r_[0.0, np.cumsum(seg)]
    start, total = cum[first], cum[last] - cum[first]
    target = start[edge] + frac * total[edge]
    # a straight edge (two vertices) has one segment; only longer lines need the search
    k = first[edge]
    bent = np.flatnonzero(count[edge] > 2)
    if len(bent):
        eb = edge[bent]
        k[bent] = np.clip(np.searchsorted(cum, target[bent], side="right") - 1, first[eb], last[eb] - 1)
    span = cum[k + 1] - cum[k]
    t = np.clip(np.divide(target - cum[k], span, out=np.zeros_like(target), where=span > 0), 0.0, 1.0)
    return coords[first], coords[k] + (coords[k + 1] - coords[k]) * t[:, None]


@dataclass(frozen=True)
class EdgeTimes:
    """Walking time of every edge in both directions for one walker group.

    Unpacks as ``forward_s, backward_s = edge_times(net, ...)``.

    Attributes
    ----------
    forward_s, backward_s
        Seconds to walk each edge from ``u`` to ``v`` and from ``v`` to ``u`` (inf: not usable by the group).
    walker
        Walker group (``coverage-config.yaml``, ``walker_groups``).
    speed_m_per_s
        The group's speed on level ground.
    profile
        The sub-segments and rises the times come from.
    cum_forward_s, cum_backward_s
        Per sub-segment: time from the edge's ``u`` to the sub-segment's end, and from that end back to ``u``.
    """

    forward_s: npt.NDArray[np.float64]
    backward_s: npt.NDArray[np.float64]
    walker: str
    speed_m_per_s: float
    profile: EdgeProfile
    cum_forward_s: npt.NDArray[np.float64]
    cum_backward_s: npt.NDArray[np.float64]
    _edge_u: npt.NDArray[np.int64] = field(repr=False, default_factory=lambda: np.empty(0, dtype=np.int64))
    _edge_v: npt.NDArray[np.int64] = field(repr=False, default_factory=lambda: np.empty(0, dtype=np.int64))
    _n_nodes: int = field(repr=False, default=0)

    def __iter__(self) -> Iterator[npt.NDArray[np.float64]]:
        return iter((self.forward_s, self.backward_s))

    @property
    def hills(self) -> bool:
        """Whether the times come from a DEM."""
        return bool(self.profile.dem_source)

    def partial_s(
        self, edge: npt.ArrayLike, pos_m: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return the times between ``u`` and a point ``pos_m`` metres along ``edge``: (u → point, point → u).

        Exact for the piecewise-constant slopes of the profile (linear within a sub-segment). The times from
        the point to ``v`` and from ``v`` to the point are ``forward_s[e] − u→point`` and
        ``backward_s[e] − point→u``.
        """
        e = np.asarray(edge, dtype=np.int64)
        pos = np.asarray(pos_m, dtype=float)
        prof = self.profile
        lo, hi = prof.piece_offset[e], prof.piece_offset[e + 1]
        # the sub-segment holding pos: first end >= pos within the edge (pieces are sorted per edge)
        base, glob = self._laid_end_to_end
        j = np.clip(np.searchsorted(glob, base[e] + pos, side="left"), lo, hi - 1)
        start_m = np.where(j > lo, prof.piece_end_m[j - 1], 0.0)
        f0 = np.where(j > lo, self.cum_forward_s[j - 1], 0.0)
        b0 = np.where(j > lo, self.cum_backward_s[j - 1], 0.0)
        span = prof.piece_end_m[j] - start_m
        frac = np.clip(np.divide(pos - start_m, span, out=np.zeros_like(pos), where=span > 0), 0.0, 1.0)
        blocked = ~np.isfinite(self.forward_s[e])
        f0, b0 = np.where(blocked, 0.0, f0), np.where(blocked, 0.0, b0)
        f1 = np.where(blocked, 0.0, self.cum_forward_s[j])
        b1 = np.where(blocked, 0.0, self.cum_backward_s[j])
        fwd = f0 + frac * (f1 - f0)
        bwd = b0 + frac * (b1 - b0)
        return np.where(blocked, np.inf, fwd), np.where(blocked, np.inf, bwd)

    @functools.cached_property
    def transposed_graph(
        self,
    ) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]
    ]:
        """The directed time graph, transposed and without parallel or unusable edges, computed once.

        Returns ``(key, cols, time_s, metres)`` sorted by ``key = row * (n + 1) + col``, where an entry
        ``(row b, col a)`` is the walk ``a → b`` (used by :class:`~weihai_gis.lifecircle.time_engine.TimeIndex`).
        """
        u, v = self._edge_u, self._edge_v
        n = self._n_nodes
        keep = u != v
        rows = np.concatenate([v[keep], u[keep]])
        cols = np.concatenate([u[keep], v[keep]])
        time = np.concatenate([self.forward_s[keep], self.backward_s[keep]])
        length = self.profile.piece_end_m[self.profile.piece_offset[1:] - 1]
        metres = np.concatenate([length[keep], length[keep]])
        ok = np.isfinite(time)
        rows, cols, time, metres = rows[ok], cols[ok], time[ok], metres[ok]
        key = rows * np.int64(n + 1) + cols
        order = _by_key_then_time(key, time)
        key, cols, time, metres = key[order], cols[order], time[order], metres[order]
        first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
        return key[first], cols[first], time[first], metres[first]

    @functools.cached_property
    def _laid_end_to_end(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Each edge's start and every sub-segment's end on one axis of all edges laid end to end."""
        prof = self.profile
        length = prof.piece_end_m[prof.piece_offset[1:] - 1]
        base = np.r_[0.0, np.cumsum(length)][:-1]
        return base, prof.piece_end_m + base[prof.piece_edge]


def edge_times(
    net: WalkNetwork,
    dem: str | os.PathLike[str] | DEM | None = None,
    walker: str = "adult",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> EdgeTimes:
    """Return the walking time in seconds of every edge, forward (``u → v``) and backward, for ``walker``.

    Parameters
    ----------
    net
        Walking network (metric CRS).
    dem
        DEM (GeoTIFF in any CRS, or a loaded DEM) for hills; ``None``: level ground.
    walker
        Walker group of ``coverage-config.yaml`` (``adult``, ``elderly``, ``child``, ``wheelchair``).
    cache_dir
        On-disk cache of the DEM profile (see :func:`edge_profile`); None: sampled in this process.

    Returns
    -------
    EdgeTimes
        Unpacks to ``(forward_s, backward_s)``; inf where the group cannot use the edge.

    Raises
    ------
    StandardsError
        Unknown walker group.
    DEMError
        The DEM does not cover the network.
    """
    groups = walker_groups()
    if walker not in groups:
        raise StandardsError(f"unknown walker group {walker!r}; expected one of {', '.join(groups)}.")
    cacheable = dem is None or isinstance(dem, str | os.PathLike)  # a file or level ground, not an array
    key = ("edge_times", walker, _dem_key(dem))
    if cacheable and key in net._cache:
        return net._cache[key]
    group = groups[walker]
    speed = group["speed_m_per_min"] / 60.0
    cfg = walking_costs()
    prof = edge_profile(net, dem, cache_dir=cache_dir)
    edge = prof.piece_edge
    dx = prof.piece_length_m
    rise = prof.piece_rise_m
    slope = np.divide(rise, dx, out=np.zeros_like(rise), where=dx > 0)
    fwd = dx / speed * tobler_pace_factor(slope)
    bwd = dx / speed * tobler_pace_factor(-slope)
    steps = np.asarray(net.highway == "steps")[edge]
    if steps.any():
        up, down = 1.0 / cfg["steps_ascent_factor"], 1.0 / cfg["steps_descent_factor"]
        edge_rise = np.bincount(edge, weights=rise, minlength=net.n_edges)[edge]
        mean = (up + down) / 2
        f_pace = np.where(edge_rise > 0, up, np.where(edge_rise < 0, down, mean))
        b_pace = np.where(edge_rise > 0, down, np.where(edge_rise < 0, up, mean))
        fwd = np.where(steps, dx / speed * f_pace, fwd)
        bwd = np.where(steps, dx / speed * b_pace, bwd)
    excluded_edge = np.zeros(net.n_edges, dtype=bool)
    if group["excluded_highway"]:
        excluded_edge = np.isin(net.highway.astype(str), list(group["excluded_highway"]))
    if group["max_slope"] is not None and prof.dem_source:
        steep = np.abs(slope) > group["max_slope"]  # too steep to use, up or down
        excluded_edge |= np.bincount(edge, weights=steep, minlength=net.n_edges) > 0
    if group["ramp_max_run"] is not None and prof.dem_source:
        excluded_edge[ramp_too_long(prof, *group["ramp_max_run"])] = True
    excluded = excluded_edge[edge]
    fwd = np.where(excluded, np.inf, fwd)
    bwd = np.where(excluded, np.inf, bwd)
    cum_f, cum_b = _cumsum_per_edge(fwd, prof.piece_offset), _cumsum_per_edge(bwd, prof.piece_offset)
    last = prof.piece_offset[1:] - 1
    times = EdgeTimes(
        forward_s=cum_f[last],
        backward_s=cum_b[last],
        walker=walker,
        speed_m_per_s=speed,
        profile=prof,
        cum_forward_s=cum_f,
        cum_backward_s=cum_b,
        _edge_u=net.edge_u,
        _edge_v=net.edge_v,
        _n_nodes=net.n_nodes,
    )
    if cacheable:  # the same file (path and modification time) or level ground gives the same times
        net._cache[key] = times
    return times


def _by_key_then_time(key: npt.NDArray[np.int64], time: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """``np.lexsort((time, key))``: a stable sort by key, then the few equal keys (parallel edges) by time."""
    order = np.argsort(key, kind="stable")
    ks = key[order]
    same = ks[1:] == ks[:-1]
    if same.any():
        pos = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
        sub = order[pos]
        order[pos] = sub[np.lexsort((time[sub], key[sub]))]
    return order


def _cumsum_per_edge(
    values: npt.NDArray[np.float64], offset: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Cumulative sum of ``values`` restarting at each edge's first sub-segment (inf stays inf)."""
    usable = np.isfinite(values)
    all_usable = bool(usable.all())
    total = np.cumsum(values if all_usable else np.where(usable, values, 0.0))
    counts = np.diff(offset)
    out = total - np.repeat(np.r_[0.0, total][offset[:-1]], counts)
    if all_usable:
        return out
    blocked = np.repeat(np.add.reduceat(~usable, offset[:-1]) > 0, counts)
    return np.where(blocked, np.inf, out)
