"""Exact nearest-segment queries on a network's straight segments, in numpy (no shapely geometry per query).

Every edge's polyline is split into its straight segments ``(x0, y0) -> (x1, y1)``; the segments are
registered in a uniform grid of square cells (a long segment in every cell its pieces of at most one cell
touch); segment ``j`` joins vertex ``j`` and ``j + 1`` of the network's own vertex array (no copy). A query
looks at the cells within half a cell of each point, computes the exact point-to-segment distance of every
candidate with GEOS's formulas (``Distance::pointToSegment``, ``LineSegment::projectionFactor``), and
accepts the nearest when it lies within that reach; points whose nearest segment is farther are searched
again in the block of cells around them, then in wider blocks (accepted when the nearest lies inside the
block), and the few left after that among all segments whose piece midpoints lie within reach (a k-d tree
of the midpoints, built on first need).

The results equal shapely's: the distance of a point to an edge is the smallest over its segments, the
position along the edge (``line_locate_point``) is measured on the first segment reaching that distance,
and the point at a position (``line_interpolate_point``) lies on the first segment ending beyond it.
Ties between edges at exactly the same distance (a point nearest a street crossing is as near every edge
meeting there) go to the lowest edge position; all of them give the same snapped point and distances.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weihai_gis.network.polylines import offsets_from_counts
from weihai_gis.network.segment_grid import EPS, SegmentGrid

if TYPE_CHECKING:  # scipy.spatial loads where the k-d tree fallback is built (0.1-0.3 s of start-up)
    from scipy.spatial import cKDTree

__all__ = ["SegmentIndex"]

#: Points per vectorised batch of a query (bounds the candidate arrays to a few tens of MiB).
BATCH = 4096

#: Reach (in cells) of the first, smallest candidate box of a nearest-segment query.
_FIRST_REACH = 0.5

#: Block half-widths in cells tried before the k-d tree fallback.
_RINGS = (1, 2, 4)

#: Wider blocks tried next while the points left times the block's cells stay within :data:`_WIDE_CELLS`: a
#: few points beyond the network's edge (the shifted hypotheses of the offset check) then need no k-d tree
#: (building it for 400k segments costs 0.3 s).
_WIDE_RINGS = (8, 16, 32)
_WIDE_CELLS = 2_000_000


class SegmentIndex:
    """The straight segments of some edges of a network in a grid of cells.

    A segment is named by its first vertex: segment ``j`` joins vertex ``j`` and ``j + 1`` of ``coords``
    (the slot of a polyline's last vertex is no segment and is in no cell). The segment ends are views of
    ``coords``: an index of every edge copies no coordinate of the network (a province's 6.4M segments
    would otherwise hold 200 MiB of their own).

    Parameters
    ----------
    coords
        Vertex coordinates of the edges, edge after edge, shape (k, 2).
    vertex_count
        Number of vertices of each edge (>= 2), in the order of ``edges``.
    edges
        Edge position (into the network's edge arrays) of each polyline, ascending.
    n_edges
        Number of edges of the network (for the edge-to-polyline map).
    offsets
        The ``len(edges) + 1`` vertex offsets of the polylines when known (the network's own array, not
        copied); default: from ``vertex_count``.
    grid
        The cells of an index of the same polylines as ``SegmentGrid.arrays`` gave them (a network
        cache): they are checked and taken instead of computed.
    """

    def __init__(
        self,
        coords: npt.NDArray[np.float64],
        vertex_count: npt.NDArray[np.int64],
        edges: npt.NDArray[np.int64],
        n_edges: int,
        *,
        offsets: npt.NDArray[np.int64] | None = None,
        grid: Mapping[str, npt.NDArray[Any]] | None = None,
    ) -> None:
        self.coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        counts = np.asarray(vertex_count, dtype=np.int64)
        edges = np.asarray(edges, dtype=np.int64)
        self._n_edges = int(n_edges)
        #: first vertex (= first segment) of each polyline, and the end
        self.first = offsets_from_counts(counts) if offsets is None else np.asarray(offsets, dtype=np.int64)
        slots = max(len(self.coords) - 1, 0)
        self.x0, self.y0 = self.coords[:slots, 0], self.coords[:slots, 1]
        self.x1, self.y1 = self.coords[1 : slots + 1, 0], self.coords[1 : slots + 1, 1]
        self._edges = None if len(edges) == n_edges else edges
        #: polyline of each network edge (-1 for edges not indexed); None when every edge is indexed
        self.line_of_edge: npt.NDArray[np.int64] | None = None
        if self._edges is not None:
            self.line_of_edge = np.full(n_edges, -1, dtype=np.int64)
            self.line_of_edge[edges] = np.arange(len(edges))
        ids = self._segments()
        self._n_segments = len(ids)
        #: along-polyline metres at each segment's start (a read-only zero view when every polyline is straight)
        self.start: npt.NDArray[np.float64] = np.broadcast_to(np.float64(0.0), (slots,))
        curved = bool(len(counts) and int(counts.max()) > 2)
        length = self._lengths(ids) if curved or grid is None else None
        if curved:
            assert length is not None
            self.start = np.zeros(slots)
            seg_first = offsets_from_counts(np.maximum(counts - 1, 0))
            self.start[ids] = _running_starts(length, seg_first)
        #: the cells of the segments (built, or taken from a network cache after checking they fit)
        self.grid: SegmentGrid
        if grid is None:
            assert length is not None
            self.grid = SegmentGrid.build(self.x0, self.y0, self.x1, self.y1, ids, length)
        else:
            self.grid = SegmentGrid.from_arrays(grid, n_slots=len(self.x0), has_segments=len(ids) > 0)
        self._midpoints: cKDTree | None = None

    @property
    def edges(self) -> npt.NDArray[np.int64]:
        """Edge position (into the network's edge arrays) of each polyline."""
        return np.arange(self._n_edges) if self._edges is None else self._edges

    @property
    def n_segments(self) -> int:
        """Number of straight segments."""
        return self._n_segments

    def _segments(self) -> npt.NDArray[np.int64]:
        """Return the segments (slots joining two vertices of one polyline), ascending."""
        real = np.ones(len(self.x0), dtype=bool)
        last = self.first[1:-1] - 1  # a polyline's last vertex joins the next polyline's first
        real[last[last >= 0]] = False
        return np.flatnonzero(real)

    def _line(self, seg: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Polyline (position into ``edges``) of each segment (a bisection of the offsets, in sorted order)."""
        seg = np.asarray(seg)
        order = np.argsort(seg, kind="stable")  # sorted needles: numpy's bisection starts from the last one
        line = np.empty(len(seg), dtype=np.int64)
        line[order] = np.searchsorted(self.first, seg[order], side="right") - 1
        return line

    def _edge_of(self, line: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Network edge position of each polyline."""
        return line.astype(np.int64) if self._edges is None else self._edges[line]

    def _lengths(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Return the length of the segments ``ids`` (``Coordinate::distance``)."""
        dx = self.x1[ids] - self.x0[ids]
        dy = self.y1[ids] - self.y0[ids]
        dx *= dx
        dy *= dy
        dx += dy
        return np.sqrt(dx, out=dx)

    # ------------------------------------------------------------------ distances

    def _measure(
        self, seg: npt.NDArray[np.int64], px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Exact distance from each point to its segment and the along-edge position of its projection.

        GEOS's ``Distance::pointToSegment`` and ``LengthIndexOfPoint::segmentNearestMeasure``, term by term.
        """
        ax, ay, bx, by = self.x0[seg], self.y0[seg], self.x1[seg], self.y1[seg]
        dx, dy = bx - ax, by - ay
        len2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            r = ((px - ax) * dx + (py - ay) * dy) / len2
            s = ((ay - py) * dx - (ax - px) * dy) / len2
        ex, ey = px - ax, py - ay
        to_a = np.sqrt(ex * ex + ey * ey)
        ex, ey = px - bx, py - by
        to_b = np.sqrt(ex * ex + ey * ey)
        seg_len = np.sqrt(len2)
        point_a = (len2 <= 0) | (r <= 0)
        dist = np.where(point_a, to_a, np.where(r >= 1, to_b, np.abs(s) * seg_len))
        start = self.start[seg]
        at = np.where(point_a, start, np.where(r >= 1, start + seg_len, start + r * seg_len))
        return dist, at

    def _block(
        self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64], k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Candidate (point, segment) pairs of the (2k+1)^2 cells around each point, grouped by point."""
        ix = np.floor((px - self.grid.ox) / self.grid.cell)
        iy = np.floor((py - self.grid.oy) / self.grid.cell)
        # far outside the grid: no cell of the block is inside (and no integer overflow)
        ix = np.clip(ix, -k - 1, self.grid.nx + k).astype(np.int64)
        iy = np.clip(iy, -k - 1, self.grid.ny + k).astype(np.int64)
        off = np.arange(-k, k + 1)
        cx = (ix[:, None, None] + off[None, :, None]).repeat(len(off), axis=2)
        cy = (iy[:, None, None] + off[None, None, :]).repeat(len(off), axis=1)
        inside = ((cx >= 0) & (cx < self.grid.nx) & (cy >= 0) & (cy < self.grid.ny)).reshape(len(px), -1)
        cell = np.where(inside, (cx * self.grid.ny + cy).reshape(len(px), -1), 0)
        lo = self.grid.ptr[cell]
        cnt = np.where(inside, self.grid.ptr[cell + 1] - lo, 0).ravel()
        lo = lo.ravel()
        total = int(cnt.sum())
        pt = np.repeat(np.repeat(np.arange(len(px)), cell.shape[1]), cnt)
        pos = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
        return pt, self.grid.seg[pos].astype(np.int64)

    def _box(
        self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64], radius: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Candidate (point, segment) pairs of the cells meeting the square ``radius`` around each point.

        Every segment within ``radius`` of a point is among them: its nearest point lies in that square and
        in a cell the segment is registered in. An 8 m square meets 1-4 cells of a street grid, where the
        block of :meth:`_block` has 9.
        """
        reach = radius + EPS
        # clipped as floats: no integer overflow far outside
        lim_x, lim_y = float(self.grid.nx), float(self.grid.ny)
        x0 = np.clip(np.floor((px - reach - self.grid.ox) / self.grid.cell), -1, lim_x).astype(np.int64)
        x1 = np.clip(np.floor((px + reach - self.grid.ox) / self.grid.cell), -1, lim_x).astype(np.int64)
        y0 = np.clip(np.floor((py - reach - self.grid.oy) / self.grid.cell), -1, lim_y).astype(np.int64)
        y1 = np.clip(np.floor((py + reach - self.grid.oy) / self.grid.cell), -1, lim_y).astype(np.int64)
        x0, y0 = np.maximum(x0, 0), np.maximum(y0, 0)
        x1, y1 = np.minimum(x1, self.grid.nx - 1), np.minimum(y1, self.grid.ny - 1)
        wide = int(max((x1 - x0).max(initial=0), 0)) + 1
        high = int(max((y1 - y0).max(initial=0), 0)) + 1
        cx = x0[:, None, None] + np.arange(wide)[None, :, None]
        cy = y0[:, None, None] + np.arange(high)[None, None, :]
        inside = ((cx <= x1[:, None, None]) & (cy <= y1[:, None, None])).reshape(len(px), -1)
        cell = np.where(inside, (cx * self.grid.ny + cy).reshape(len(px), -1), 0)
        lo = self.grid.ptr[cell]
        cnt = np.where(inside, self.grid.ptr[cell + 1] - lo, 0).ravel()
        lo = lo.ravel()
        pt = np.repeat(np.repeat(np.arange(len(px)), cell.shape[1]), cnt)
        pos = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        return pt, self.grid.seg[pos].astype(np.int64)

    def _rough(
        self, seg: npt.NDArray[np.int64], px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Squared point-to-segment distance in few operations (to 1e-12 relative; ranks the candidates)."""
        ax, ay = self.x0[seg], self.y0[seg]
        dx, dy = self.x1[seg] - ax, self.y1[seg] - ay
        ex, ey = px - ax, py - ay
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (ex * dx + ey * dy) / (dx * dx + dy * dy)
        np.clip(t, 0.0, 1.0, out=t)
        t[np.isnan(t)] = 0.0
        ex -= t * dx
        ey -= t * dy
        return ex * ex + ey * ey

    def _exact_best(
        self,
        pt: npt.NDArray[np.int64],
        seg: npt.NDArray[np.int64],
        d2: npt.NDArray[np.float64],
        px: npt.NDArray[np.float64],
        py: npt.NDArray[np.float64],
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Per point (pairs grouped by point) the exact smallest distance and the lowest segment reaching it.

        The rough squared distances ``d2`` pick the pairs within a micrometre of each point's nearest; those
        few are measured exactly. -1 and inf for points without candidates.
        """
        n = len(px)
        best = np.full(n, np.inf)
        out = np.full(n, -1, dtype=np.int64)
        if not len(pt):
            return out, best
        starts = np.flatnonzero(np.r_[True, pt[1:] != pt[:-1]])
        near = np.full(n, np.inf)
        near[pt[starts]] = np.minimum.reduceat(d2, starts)
        reach = np.sqrt(near) + EPS
        keep = np.flatnonzero(d2 <= (reach * reach)[pt])
        pt, seg = pt[keep], seg[keep]
        dist, _ = self._measure(seg, px[pt], py[pt])
        return _lowest_at_min(pt, seg, dist, n)

    def nearest(
        self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Nearest edge of each point, its distance and the position of the projection along that edge.

        Returns
        -------
        edge, distance, position
            Edge position into the network's arrays (-1 when there is no segment), the exact distance in
            metres (inf when none) and the along-edge metres of the projection (NaN when none), as shapely's
            ``distance`` and ``line_locate_point`` give them.
        """
        px, py = np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)
        n = len(px)
        seg = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        finite = np.flatnonzero(np.isfinite(px) & np.isfinite(py))  # empty geometries have no nearest
        if self.n_segments:
            for lo in range(0, len(finite), BATCH):
                todo = finite[lo : lo + BATCH]
                # first the 1-4 cells within half a cell of each point: exact for the points whose nearest
                # segment is that near (every segment within the radius is a candidate), most of them
                qx, qy = px[todo], py[todo]
                pt, cand = self._box(qx, qy, _FIRST_REACH * self.grid.cell)
                s, b = self._exact_best(pt, cand, self._rough(cand, qx[pt], qy[pt]), qx, qy)
                done = b <= _FIRST_REACH * self.grid.cell
                seg[todo[done]], dist[todo[done]] = s[done], b[done]
                todo = todo[~done]
                for k in _RINGS + _WIDE_RINGS:
                    if not len(todo):
                        break
                    if k in _WIDE_RINGS and len(todo) * (2 * k + 1) ** 2 > _WIDE_CELLS:
                        break
                    qx, qy = px[todo], py[todo]
                    pt, cand = self._block(qx, qy, k)
                    s, b = self._exact_best(pt, cand, self._rough(cand, qx[pt], qy[pt]), qx, qy)
                    # exact when the nearest lies inside the block (every nearer segment is in it)
                    done = b < k * self.grid.cell - EPS
                    seg[todo[done]], dist[todo[done]] = s[done], b[done]
                    todo = todo[~done]
                    if not len(todo):
                        break
                if len(todo):
                    seg[todo], dist[todo] = self._nearest_far(px[todo], py[todo])
        has = np.flatnonzero(seg >= 0)
        at = np.full(n, np.nan)
        at[has] = self._measure(seg[has], px[has], py[has])[1]
        edge = np.full(n, -1, dtype=np.int64)
        edge[has] = self._edge_of(self._line(seg[has]))
        return edge, dist, at

    def _nearest_far(
        self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Nearest segment of points far from every segment: candidates from a k-d tree of piece midpoints.

        Pieces are at most one cell long, so the nearest segment has a piece whose midpoint is within the
        distance to the nearest midpoint plus half a cell: every such piece is a candidate.
        """
        if self._midpoints is None:
            from scipy.spatial import cKDTree

            ids = self._segments()
            length = np.hypot(self.x1[ids] - self.x0[ids], self.y1[ids] - self.y0[ids])
            pieces = np.maximum(np.ceil(length / self.grid.cell), 1).astype(np.int64)
            which = np.repeat(np.arange(len(ids)), pieces)
            seg = ids[which]
            k = np.arange(len(seg)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
            t = (k + 0.5) / pieces[which]
            mid = np.column_stack(
                [self.x0[seg] + t * (self.x1 - self.x0)[seg], self.y0[seg] + t * (self.y1 - self.y0)[seg]]
            )
            self._midpoints = cKDTree(mid)
            self._mid_seg = seg
        xy = np.column_stack([px, py])
        near, _ = self._midpoints.query(xy, k=1)
        found = self._midpoints.query_ball_point(xy, near + 0.5 * self.grid.cell + EPS, return_sorted=False)
        counts = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
        pt = np.repeat(np.arange(len(px)), counts)
        cand = self._mid_seg[
            np.fromiter((i for f in found for i in f), dtype=np.int64, count=int(counts.sum()))
        ]
        return self._exact_best(pt, cand, self._rough(cand, px[pt], py[pt]), px, py)

    def within(
        self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64], radius: float
    ) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]
    ]:
        """Every (point, edge) pair within ``radius`` metres: the edge's distance and projection position.

        Returns
        -------
        point, edge, distance, position
            Sorted by point, then distance, then edge position; ``position`` is measured on the edge's first
            segment at that distance (shapely's ``line_locate_point``).
        """
        px, py = np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)
        empty = np.zeros(0, dtype=np.int64)
        if not self.n_segments or not len(px):
            return empty, empty, np.zeros(0), np.zeros(0)
        pt, seg = self._box(px, py, radius)
        d, at = self._measure(seg, px[pt], py[pt])
        keep = d <= radius
        pt, seg, d, at = pt[keep], seg[keep], d[keep], at[keep]
        line = self._line(seg)
        # per (point, edge): the smallest distance, on its first segment
        order = np.lexsort((seg, d, line, pt))
        pt, line, d, at = pt[order], line[order], d[order], at[order]
        first = np.r_[True, (pt[1:] != pt[:-1]) | (line[1:] != line[:-1])] if len(pt) else np.zeros(0, bool)
        pt, line, d, at = pt[first], line[first], d[first], at[first]
        edge = self._edge_of(line)
        order = np.lexsort((edge, d, pt))
        return pt[order], edge[order], d[order], at[order]

    def any_within(
        self, px: npt.NDArray[np.float64], py: npt.NDArray[np.float64], radius: float
    ) -> npt.NDArray[np.bool_]:
        """Per point True when some segment lies within ``radius`` metres (the distances of :meth:`within`).

        Decided on the rough squared distances where they are more than a micrometre from ``radius``
        (they agree with the exact ones to ~1e-9 m); the pairs at the boundary are measured exactly.
        """
        px, py = np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)
        out = np.zeros(len(px), dtype=bool)
        if not self.n_segments or not len(px):
            return out
        for lo in range(0, len(px), BATCH):
            qx, qy = px[lo : lo + BATCH], py[lo : lo + BATCH]
            pt, seg = self._box(qx, qy, radius)
            d = np.sqrt(self._rough(seg, qx[pt], qy[pt]))
            hit = out[lo : lo + BATCH]
            hit[pt[d < radius - EPS]] = True
            edge = np.flatnonzero(np.abs(d - radius) <= EPS)
            edge = edge[~hit[pt[edge]]]
            if len(edge):
                exact, _ = self._measure(seg[edge], qx[pt[edge]], qy[pt[edge]])
                hit[pt[edge[exact <= radius]]] = True
        return out

    def point_at(self, edge: npt.NDArray[np.int64], pos: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Coordinates (k, 2) of the points ``pos`` metres along ``edge`` (shapely's ``line_interpolate_point``).

        The point lies on the first segment ending beyond ``pos`` (GEOS ``LengthLocationMap``), at the
        fraction of that segment left; positions at or past the end give the last vertex.
        """
        edge = np.asarray(edge, dtype=np.int64)
        line = edge if self.line_of_edge is None else self.line_of_edge[edge]
        pos = np.asarray(pos, dtype=np.float64)
        lo, hi = (
            self.first[line],
            self.first[line + 1] - 1,
        )  # the polyline's segments: its vertices but the last
        # bisection for the first segment s in [lo, hi) with start[s] + length[s] > pos (hi when none)
        a, b = lo.copy(), hi.copy()
        while (open_ := a < b).any():
            mid = (a + b) // 2
            m = np.where(open_, mid, 0)
            ends = self.start[m] + np.hypot(self.x1[m] - self.x0[m], self.y1[m] - self.y0[m])
            beyond = open_ & (ends > pos)
            b = np.where(beyond, mid, b)
            a = np.where(open_ & ~beyond, mid + 1, a)
        last = a >= hi
        s = np.where(last, hi - 1, a)
        x0, y0, x1, y1 = self.x0[s], self.y0[s], self.x1[s], self.y1[s]
        dx, dy = x1 - x0, y1 - y0
        seg_len = np.sqrt(dx * dx + dy * dy)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (pos - self.start[s]) / seg_len
            x = np.where(frac <= 0, x0, np.where(frac >= 1, x1, dx * frac + x0))
            y = np.where(frac <= 0, y0, np.where(frac >= 1, y1, dy * frac + y0))
        x = np.where(last, x1, np.where(pos <= 0, self.x0[lo], x))
        y = np.where(last, y1, np.where(pos <= 0, self.y0[lo], y))
        return np.column_stack([x, y])


def _lowest_at_min(
    pt: npt.NDArray[np.int64], seg: npt.NDArray[np.int64], dist: npt.NDArray[np.float64], n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Per point (pairs grouped by point) the smallest distance and the lowest segment at exactly it."""
    best = np.full(n, np.inf)
    out = np.full(n, -1, dtype=np.int64)
    if not len(pt):
        return out, best
    starts = np.flatnonzero(np.r_[True, pt[1:] != pt[:-1]])
    best[pt[starts]] = np.minimum.reduceat(dist, starts)
    hit = np.flatnonzero(dist == best[pt])
    hp = pt[hit]
    first = np.flatnonzero(np.r_[True, hp[1:] != hp[:-1]])
    out[hp[first]] = np.minimum.reduceat(seg[hit], first)
    return out, best


def _running_starts(length: npt.NDArray[np.float64], first: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Along-polyline metres at each segment's start, summed segment after segment as GEOS does."""
    start = np.zeros(len(length))
    count = np.diff(first)
    if not len(length) or int(count.max()) <= 1:  # straight polylines: every segment starts at 0
        return start
    rank = np.arange(len(length)) - np.repeat(first[:-1], count)
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(int(count.max()) + 1))
    for r in range(1, int(count.max())):
        at = order[bounds[r] : bounds[r + 1]]
        start[at] = start[at - 1] + length[at - 1]
    return start
