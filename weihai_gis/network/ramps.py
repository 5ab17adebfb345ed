"""Wheelchair ramp length limits per slope (GB 50763-2012 3.4.4) on a DEM-aware network.

The standard's table gives, per ramp slope, the longest horizontal run between landings (1:20 at most 24 m,
1:16 14.4 m, 1:12 9 m, ...; ``walker_groups.wheelchair.ramp_max_run`` in ``coverage-config.yaml``). OSM does not
map landings, so the stated assumption is that a landing exists only where an edge ends (a network node); an
edge holding a longer climb is closed for the group (:func:`weihai_gis.network.costs.edge_times`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from weihai_gis.network.profile import EdgeProfile

__all__ = ["ramp_too_long"]


def ramp_too_long(
    profile: EdgeProfile, slopes: tuple[float, ...], max_run_m: tuple[float, ...]
) -> npt.NDArray[np.int64]:
    """Return the edges with a climb longer than the ramp run allowed at its slope (GB 50763-2012 3.4.4).

    A climb is a longest stretch of one edge's sub-segments that all rise, or all fall, at ``slopes[0]`` or
    steeper (landings only where the edge ends: ``ramp_max_run`` in ``coverage-config.yaml``). Its mean slope
    (rise / run) sets the run allowed, interpolated linearly between the rows of the table; steeper than the
    last row, none.

    Parameters
    ----------
    profile
        The edges' sub-segments and rises (from a DEM).
    slopes, max_run_m
        The table: increasing slopes (rise / run) and the longest horizontal run in metres at each.
    """
    dx, rise = profile.piece_length_m, profile.piece_rise_m
    slope = np.divide(rise, dx, out=np.zeros_like(rise), where=dx > 0)
    ramp = np.abs(slope) >= slopes[0]
    if not ramp.any():
        return np.empty(0, dtype=np.int64)
    up = slope > 0
    edge_start = np.zeros(len(dx), dtype=bool)
    edge_start[profile.piece_offset[:-1][np.diff(profile.piece_offset) > 0]] = True
    prev_ramp, prev_up = np.r_[False, ramp[:-1]], np.r_[False, up[:-1]]
    start = ramp & (edge_start | ~prev_ramp | (up != prev_up))
    climb = (np.cumsum(start) - 1)[ramp]
    run = np.bincount(climb, weights=dx[ramp])
    height = np.bincount(climb, weights=np.abs(rise[ramp]))
    mean = height / run
    allowed = np.where(mean > slopes[-1], 0.0, np.interp(mean, slopes, max_run_m))
    return np.unique(profile.piece_edge[start][run > allowed])
