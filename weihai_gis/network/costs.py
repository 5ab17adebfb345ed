"""Walking time per edge and direction for a walker group, on flat ground or from a DEM (Tobler 1993).

An edge ``u → v`` is cut into sub-segments about one DEM cell long (:func:`weihai_gis.network.profile.edge_profile`:
``hills.sample_spacing_cells`` of ``standards/coverage-config.yaml``, the elevation at each cut sampled
bilinearly with the points reprojected into the DEM's CRS), and each sub-segment of horizontal length ``dx`` and rise ``dh`` takes

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
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weihai_gis.errors import StandardsError
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.network.profile import EdgeProfile, _dem_key, edge_profile
from weihai_gis.network.ramps import ramp_too_long
from weihai_gis.standards import walker_groups, walking_costs

if TYPE_CHECKING:
    from collections.abc import Iterator

    from weihai_gis.sightlines.dem import DEM

__all__ = ["EdgeProfile", "EdgeTimes", "edge_profile", "edge_times", "tobler_pace_factor"]

log = logging.getLogger(__name__)


def tobler_pace_factor(slope: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return Tobler's pace (time per horizontal metre) at ``slope`` relative to level ground.

    ``exp(a (|S + s0| − s0))`` with ``a`` = 3.5 and ``s0`` = 0.05 (Tobler 1993, ``coverage-config.yaml``):
    1 at ``S = 0``, ``exp(−0.175)`` ≈ 0.84 at the fastest descent ``S = −0.05``, ≈ 1.42 at ``S = +0.05``.
    """
    a, s0 = _tobler_coefficients()
    shifted = np.array(slope, dtype=np.float64)  # a copy: the steps below work in place
    shifted += s0
    return _pace_of_shifted(shifted, a, s0)[()]  # [()]: a float for a float, as numpy gives


def _tobler_both_ways(
    slope: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return ``tobler_pace_factor(slope)`` and ``tobler_pace_factor(-slope)``, the same bits.

    ``|−S + s0|`` is ``|S − s0|`` exactly (IEEE subtraction is antisymmetric), so no negated copy is made.
    """
    a, s0 = _tobler_coefficients()
    return _pace_of_shifted(slope + s0, a, s0), _pace_of_shifted(slope - s0, a, s0)


def _tobler_coefficients() -> tuple[float, float]:
    """Tobler's decay ``a`` and offset slope ``s0`` from ``coverage-config.yaml``."""
    cfg = walking_costs()
    return cfg["tobler_decay"], cfg["tobler_offset_slope"]


def _pace_of_shifted(shifted: npt.NDArray[np.float64], a: float, s0: float) -> npt.NDArray[np.float64]:
    """Return ``exp(a (|shifted| − s0))`` computed in ``shifted`` (``shifted`` = ``S + s0``)."""
    np.abs(shifted, out=shifted)
    shifted -= s0
    shifted *= a
    return np.exp(shifted, out=shifted)


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
        if not ok.all():
            rows, cols, time, metres = rows[ok], cols[ok], time[ok], metres[ok]
        key = rows * np.int64(n + 1) + cols
        order = _by_key_then_time(key, time)
        key, cols, time, metres = key[order], cols[order], time[order], metres[order]
        first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
        if first.all():  # no parallel edges
            return key, cols, time, metres
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
    counts = np.diff(prof.piece_offset)
    dx = prof.piece_length_m
    rise = prof.piece_rise_m
    slope = np.divide(rise, dx, out=np.zeros_like(rise), where=dx > 0)
    walk = dx / speed
    pace_f, pace_b = _tobler_both_ways(slope)
    fwd, bwd = walk * pace_f, walk * pace_b
    steps_edge = np.asarray(net.highway == "steps")
    if steps_edge.any():
        edge = prof.piece_edge
        steps = np.repeat(steps_edge, counts)
        up, down = 1.0 / cfg["steps_ascent_factor"], 1.0 / cfg["steps_descent_factor"]
        edge_rise = np.bincount(edge, weights=rise, minlength=net.n_edges)[edge]
        mean = (up + down) / 2
        f_pace = np.where(edge_rise > 0, up, np.where(edge_rise < 0, down, mean))
        b_pace = np.where(edge_rise > 0, down, np.where(edge_rise < 0, up, mean))
        fwd = np.where(steps, walk * f_pace, fwd)
        bwd = np.where(steps, walk * b_pace, bwd)
    excluded_edge = np.zeros(net.n_edges, dtype=bool)
    if group["excluded_highway"]:
        excluded_edge = np.isin(net.highway.astype(str), list(group["excluded_highway"]))
    if group["max_slope"] is not None and prof.dem_source:
        steep = np.abs(slope) > group["max_slope"]  # too steep to use, up or down
        excluded_edge |= np.bincount(prof.piece_edge, weights=steep, minlength=net.n_edges) > 0
    if group["ramp_max_run"] is not None and prof.dem_source:
        excluded_edge[ramp_too_long(prof, *group["ramp_max_run"])] = True
    if excluded_edge.any():
        excluded = np.repeat(excluded_edge, counts)
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
    start = offset[:-1]
    before = total[np.maximum(start - 1, 0)]  # the sum before each edge's first sub-segment
    before[start == 0] = 0.0
    out = total - np.repeat(before, counts)
    if all_usable:
        return out
    blocked = np.repeat(np.add.reduceat(~usable, offset[:-1]) > 0, counts)
    return np.where(blocked, np.inf, out)
