"""Edge polylines as arrays: every edge's vertices laid end to end with per-edge offsets.

A network keeps its edge geometry in this form (one float64 ``(k, 2)`` array and ``m + 1`` offsets: about
40 bytes a vertex, where a shapely LineString costs ~250 bytes an edge) and builds shapely LineStrings
only for the edges someone asks for. Lengths are computed here exactly as GEOS computes them
(``algorithm::Length::ofLine``: a running sum of ``sqrt(dx * dx + dy * dy)`` from the first segment on),
so a network built from arrays has the same edge lengths, to the last bit, as one measured with
``shapely.length``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["lines_from_vertices", "offsets_from_counts", "polyline_lengths", "vertices_of"]


def offsets_from_counts(counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Return the ``m + 1`` vertex offsets of polylines with ``counts`` vertices each."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def vertices_of(geoms: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Return the 2-D vertices of LineStrings (None or empty: no vertex) and the ``m + 1`` offsets."""
    geoms = np.asarray(geoms, dtype=object)
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    return np.ascontiguousarray(coords, dtype=np.float64), offsets_from_counts(
        np.bincount(which, minlength=len(geoms))
    )


def lines_from_vertices(
    coords: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.int64],
    edges: npt.ArrayLike | None = None,
) -> npt.NDArray[np.object_]:
    """Return the LineStrings of the polylines at positions ``edges`` (all when None), in that order.

    Polylines with fewer than two vertices come back as None.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    if edges is None:
        counts = np.diff(offsets)
        take = None
    else:
        idx = np.asarray(edges, dtype=np.int64).ravel()
        starts, counts = offsets[idx], offsets[idx + 1] - offsets[idx]
        # vertex positions of the asked edges, edge after edge
        take = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(int(counts.sum()))
    out = np.full(len(counts), None, dtype=object)
    ok = counts >= 2
    if not ok.any():
        return out
    if take is None:
        pts = coords if ok.all() else coords[np.repeat(ok, counts)]
    else:
        pts = coords[take if ok.all() else take[np.repeat(ok, counts)]]
    good = np.flatnonzero(ok)
    lines = shapely.linestrings(pts, indices=np.repeat(np.arange(len(good)), counts[good]))
    out[good] = lines
    return out


def polyline_lengths(
    coords: npt.NDArray[np.float64], offsets: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Return each polyline's length as GEOS computes it (bit for bit equal to ``shapely.length``).

    The per-edge sums run segment after segment in GEOS's order: one vectorised step per segment rank,
    over the edges that have that many segments (edges sorted by their segment count, longest first).
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    m = len(offsets) - 1
    out = np.zeros(m, dtype=np.float64)
    if m <= 0 or len(coords) < 2:
        return out
    d = np.diff(coords, axis=0)
    seg = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
    del d
    n_seg = np.maximum(np.diff(offsets) - 1, 0)
    if n_seg.max(initial=0) <= 1:  # straight edges (street grids): one segment each
        one = np.flatnonzero(n_seg == 1)
        out[one] = seg[offsets[one]]
        return out
    order = np.argsort(-n_seg, kind="stable")
    ranked = n_seg[order]
    first = offsets[order]
    # edges with more than j segments are the first ``alive[j]`` of ``order``
    alive = len(ranked) - np.searchsorted(ranked[::-1], np.arange(int(ranked[0])), side="right")
    acc = np.zeros(m, dtype=np.float64)
    for j, k in enumerate(alive.tolist()):
        acc[:k] += seg[first[:k] + j]
    out[order] = acc
    return out
