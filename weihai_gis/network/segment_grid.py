"""The uniform grid of square cells a :class:`~weihai_gis.network.segments.SegmentIndex` registers segments in.

A segment is registered in every cell one of its pieces (at most one cell long) touches, so a query that
looks at the cells around a point sees every segment passing near it. The cells are stored as CSR arrays:
the segments of cell ``c`` (``c = ix * ny + iy``) are ``seg[ptr[c]:ptr[c + 1]]``, ascending. A network cache
keeps them (:meth:`SegmentGrid.arrays`) and a cached run takes them back after checking they fit
(:meth:`SegmentGrid.from_arrays`) instead of registering the segments again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EPS", "SegmentGrid"]

#: Slack (metres) on cell boundaries and piece boxes against rounding.
EPS = 1e-6


@dataclass(frozen=True)
class SegmentGrid:
    """Cells of side ``cell`` from the origin ``(ox, oy)``, ``nx`` by ``ny``, with their segments (CSR).

    Attributes
    ----------
    cell, ox, oy
        Cell side and the grid's lower-left corner (metres).
    nx, ny
        Number of cells along x and y.
    ptr
        ``nx * ny + 1`` offsets into ``seg`` (int64).
    seg
        Segment (first-vertex slot) of each entry, cell after cell (int32 when the slots fit).
    """

    cell: float
    ox: float
    oy: float
    nx: int
    ny: int
    ptr: npt.NDArray[np.int64]
    seg: npt.NDArray[np.integer[Any]]

    @classmethod
    def build(
        cls,
        x0: npt.NDArray[np.float64],
        y0: npt.NDArray[np.float64],
        x1: npt.NDArray[np.float64],
        y1: npt.NDArray[np.float64],
        ids: npt.NDArray[np.int64],
        length: npt.NDArray[np.float64],
    ) -> SegmentGrid:
        """Register the segments ``ids`` (slots of the end arrays, of the given lengths) in new cells.

        The cell is about one segment long (the median segment, widened so the grid has at most ~2 cells a
        segment); the province's transients stay a few arrays.
        """
        n = len(ids)
        slots = max(len(x0), 1)
        if n == 0:
            return cls(1.0, 0.0, 0.0, 1, 1, np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int32))
        sx0, sy0, sx1, sy1 = x0[ids], y0[ids], x1[ids], y1[ids]
        xmin = float(min(sx0.min(), sx1.min()))
        ymin = float(min(sy0.min(), sy1.min()))
        xmax = float(max(sx0.max(), sx1.max()))
        ymax = float(max(sy0.max(), sy1.max()))
        cell = max(float(np.median(length)), np.sqrt((xmax - xmin) * (ymax - ymin) / (2.0 * n)), 1.0)
        ox, oy = xmin - cell, ymin - cell
        nx = int((xmax - ox) / cell) + 2
        ny = int((ymax - oy) / cell) + 2
        # pieces of at most one cell: each touches at most 2 x 2 cells
        split = bool((length > cell).any())  # np.ceil(length / cell) > 1 somewhere
        if not split:  # street grids: no segment longer than a cell
            seg = None
            ax, bx, ay, by = sx0, sx1, sy0, sy1
        else:
            pieces = np.maximum(np.ceil(length / cell), 1).astype(np.int64)
            seg = np.repeat(np.arange(n, dtype=np.int64), pieces)
            k = np.arange(len(seg)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
            t0, t1 = k / pieces[seg], (k + 1) / pieces[seg]
            dx, dy = (sx1 - sx0)[seg], (sy1 - sy0)[seg]
            ax, bx = sx0[seg] + t0 * dx, sx0[seg] + t1 * dx
            ay, by = sy0[seg] + t0 * dy, sy0[seg] + t1 * dy
            del dx, dy, t0, t1, k
        del sx0, sy0, sx1, sy1

        # cell indices in int32 (a grid has ~2 cells a segment), computed in one buffer per bound: the
        # province grid's transients stay a few arrays (the floats are those of floor((v - eps - o) / cell))
        def cell_of(v: npt.NDArray[np.float64], eps: float, origin: float) -> npt.NDArray[np.int32]:
            v += eps
            v -= origin
            v /= cell
            np.floor(v, out=v)  # np.floor_divide on floats is ~10x slower
            return v.astype(np.int32)

        ix0 = cell_of(np.minimum(ax, bx), -EPS, ox)
        ix1 = cell_of(np.maximum(ax, bx), EPS, ox)
        iy0 = cell_of(np.minimum(ay, by), -EPS, oy)
        iy1 = cell_of(np.maximum(ay, by), EPS, oy)
        del ax, bx, ay, by
        masks = [(ix0 + dx_ <= ix1) & (iy0 + dy_ <= iy1) for dx_ in (0, 1) for dy_ in (0, 1)]
        key = np.empty(sum(int(m.sum()) for m in masks), dtype=np.int64)
        at = 0
        for (dx_, dy_), ok in zip(((0, 0), (0, 1), (1, 0), (1, 1)), masks, strict=True):
            rows = np.flatnonzero(ok)
            part = key[at : at + len(rows)]
            np.add(ix0[rows], dx_, out=part)
            part *= ny
            part += iy0[rows]
            part += dy_
            part *= slots
            part += ids[rows] if seg is None else ids[seg[rows]]
            at += len(rows)
        del masks, ix0, ix1, iy0, iy1
        key.sort()
        if split:  # the pieces of one segment share cells
            key = key[np.r_[True, key[1:] != key[:-1]]]
        # the entries of cell c start at the first key >= c * slots (sorted needles: one pass)
        bounds = np.arange(nx * ny + 1, dtype=np.int64)
        bounds *= slots
        ptr = np.searchsorted(key, bounds).astype(np.int64)
        del bounds
        key %= slots  # the segment of each entry
        return cls(cell, ox, oy, nx, ny, ptr, key.astype(np.int32 if slots < 2**31 else np.int64))

    @classmethod
    def from_arrays(
        cls, grid: Mapping[str, npt.NDArray[Any]], *, n_slots: int, has_segments: bool
    ) -> SegmentGrid:
        """Take the cells :meth:`arrays` gave, after checking they fit ``n_slots`` segment slots.

        Raises
        ------
        ValueError
            The arrays do not describe a grid of these segments (a damaged or foreign cache).
        """
        cell, ox, oy = (float(v) for v in grid["segment_grid_cell"])
        nx, ny = (int(v) for v in grid["segment_grid_shape"])
        ptr = np.asarray(grid["segment_grid_ptr"], dtype=np.int64)
        seg = np.asarray(grid["segment_grid_seg"])
        if (
            not cell > 0
            or ptr.shape != (nx * ny + 1,)
            or ptr[0] != 0
            or ptr[-1] != len(seg)
            or (np.diff(ptr) < 0).any()
            or seg.dtype.kind != "i"
            or (len(seg) and (int(seg.min()) < 0 or int(seg.max()) >= n_slots))
            or has_segments != (len(seg) > 0)
        ):
            raise ValueError("the segment grid does not fit the polylines")
        return cls(cell, ox, oy, nx, ny, ptr, seg)

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Return the cells as plain arrays (what a network cache stores; :meth:`from_arrays` reads them)."""
        return {
            "segment_grid_cell": np.array([self.cell, self.ox, self.oy], dtype=np.float64),
            "segment_grid_shape": np.array([self.nx, self.ny], dtype=np.int64),
            "segment_grid_ptr": self.ptr,
            "segment_grid_seg": self.seg,
        }
