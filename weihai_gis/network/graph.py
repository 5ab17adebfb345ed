"""The walking network as arrays: nodes, undirected edges with metric lengths, CSR and components."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from weihai_gis.errors import NetworkError
from weihai_gis.network.polylines import (
    lines_from_vertices,
    polyline_lengths,
    vertices_of,
)

__all__ = ["Components", "WalkNetwork"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Components:
    """Connected components of a walking network.

    Attributes
    ----------
    labels
        Component label per node.
    sizes
        Number of nodes per component label.
    count
        Number of components.
    largest_nodes
        Nodes in the largest component.
    largest_length_share
        Share (0..1) of the total edge length that lies in the largest component.
    """

    labels: npt.NDArray[np.int32]
    sizes: npt.NDArray[np.int64]
    count: int
    largest_nodes: int
    largest_length_share: float

    def node_component_size(self) -> npt.NDArray[np.int64]:
        """Return, per node, the number of nodes in its component."""
        return self.sizes[self.labels]


@dataclass(init=False)
class WalkNetwork:
    """An undirected walking network in a metric CRS.

    Attributes
    ----------
    node_ids
        Original node identity (OSM node id, or a generated id for plain lines), shape (n,).
    node_xy
        Node coordinates in ``crs`` (metres), shape (n, 2).
    edge_u, edge_v
        Indices into the node arrays of each edge's start and end (the start is the first vertex of its
        geometry), shape (m,).
    edge_length_m
        Length in metres of each edge's projected geometry, shape (m,).
    edge_coords, edge_offsets
        The edges' vertices in ``crs``, edge after edge, shape (k, 2), and where each edge's begin,
        shape (m + 1,): edge ``e`` is ``edge_coords[edge_offsets[e]:edge_offsets[e + 1]]``. The network
        holds its geometry in this form; :attr:`edge_geometry` (shapely LineStrings, shape (m,)) is built
        from it on first use and :meth:`edge_lines` builds only the edges asked for. A network may be
        constructed from either (``edge_geometry=`` or ``edge_coords=`` with ``edge_offsets=``).
    highway
        OSM ``highway`` value per edge (``""`` when unknown).
    crs
        The metric CRS of coordinates and lengths (e.g. ``"EPSG:4550"``).
    source
        Where the network came from (file, layer), for messages and reports.
    barriers
        Barrier lines and polygons (in ``crs``) the network was cut at
        (:func:`~weihai_gis.network.cut_network`), None for an uncut network: points never snap to an edge
        across one. Saved and loaded with the network (:meth:`save`); part of :meth:`barriers_key`.
    """

    node_ids: npt.NDArray[np.int64]
    node_xy: npt.NDArray[np.float64]
    edge_u: npt.NDArray[np.int64]
    edge_v: npt.NDArray[np.int64]
    edge_length_m: npt.NDArray[np.float64]
    edge_coords: npt.NDArray[np.float64] = field(repr=False)
    edge_offsets: npt.NDArray[np.int64] = field(repr=False)
    highway: npt.NDArray[np.object_] = field(repr=False)
    crs: str = ""
    source: str = ""
    barriers: npt.NDArray[np.object_] | None = field(default=None, repr=False, compare=False)
    _components: Components | None = field(default=None, repr=False, compare=False)
    _cache: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)

    def __init__(
        self,
        node_ids: npt.NDArray[np.int64],
        node_xy: npt.NDArray[np.float64],
        edge_u: npt.NDArray[np.int64],
        edge_v: npt.NDArray[np.int64],
        edge_length_m: npt.NDArray[np.float64],
        edge_geometry: npt.ArrayLike | None = None,
        highway: npt.NDArray[np.object_] | None = None,
        crs: str | None = None,
        source: str = "",
        barriers: npt.NDArray[np.object_] | None = None,
        *,
        edge_coords: npt.NDArray[np.float64] | None = None,
        edge_offsets: npt.NDArray[np.int64] | None = None,
        _components: Components | None = None,
        _cache: dict[object, Any] | None = None,
    ) -> None:
        self.node_ids = node_ids
        self.node_xy = node_xy
        self.edge_u = edge_u
        self.edge_v = edge_v
        self.edge_length_m = edge_length_m
        if crs is None:
            raise TypeError("WalkNetwork: crs (the metric CRS of the coordinates) is required.")
        self.highway = np.full(len(edge_u), "", dtype=object) if highway is None else highway
        self.crs = crs
        self.source = source
        self.barriers = barriers
        self._components = _components
        self._cache = {}
        if edge_geometry is not None:
            if edge_coords is not None or edge_offsets is not None:
                raise TypeError("WalkNetwork: pass edge_geometry or edge_coords/edge_offsets, not both.")
            self.edge_geometry = edge_geometry  # the setter takes LineStrings
        elif edge_coords is None or edge_offsets is None:
            raise TypeError("WalkNetwork: edge_geometry, or edge_coords with edge_offsets, is required.")
        else:
            self.edge_coords = np.asarray(edge_coords, dtype=np.float64).reshape(-1, 2)
            self.edge_offsets = np.asarray(edge_offsets, dtype=np.int64)
            if len(self.edge_offsets) != len(edge_u) + 1 or self.edge_offsets[-1] != len(self.edge_coords):
                raise ValueError(
                    "WalkNetwork: edge_offsets must hold n_edges + 1 offsets ending at len(edge_coords)."
                )
        if _cache is not None:
            self._cache = _cache

    @property
    def edge_geometry(self) -> npt.NDArray[np.object_]:
        """Shapely LineStrings of every edge in ``crs``, shape (m,), built once on first use (read-only).

        At province scale these objects take about 1.5 GB: code that needs a few edges asks
        :meth:`edge_lines`, code that needs vertices asks :meth:`edge_vertices`.
        """
        geoms = self._cache.get("edge_geometry")
        if geoms is None:
            log.debug("building %d edge LineStrings", self.n_edges)
            geoms = lines_from_vertices(self.edge_coords, self.edge_offsets)
            geoms.flags.writeable = False  # the coordinates are the truth: assign a new array to change them
            self._cache["edge_geometry"] = geoms
        return geoms

    @edge_geometry.setter
    def edge_geometry(self, geoms: npt.ArrayLike) -> None:
        """Replace every edge's geometry (LineStrings in ``crs``); cached derived data is dropped."""
        self.edge_coords, self.edge_offsets = vertices_of(geoms)
        self._cache = {}

    def edge_lines(self, edges: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """Return LineStrings of the edges at positions ``edges`` only (those of :attr:`edge_geometry`)."""
        cached = self._cache.get("edge_geometry")
        if cached is not None:
            return cached[np.asarray(edges, dtype=np.int64)]
        return lines_from_vertices(self.edge_coords, self.edge_offsets, edges)

    def edge_vertices(
        self, edges: npt.ArrayLike | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Return the vertices of the edges at positions ``edges`` (all when None) and their vertex counts.

        The coordinates are laid edge after edge in the order asked, as ``shapely.get_coordinates`` of
        their LineStrings gives them (the whole network's array itself when ``edges`` is None: read-only).
        """
        counts = np.diff(self.edge_offsets)
        if edges is None:
            return self.edge_coords, counts
        idx = np.asarray(edges, dtype=np.int64).ravel()
        sub = counts[idx]
        take = np.repeat(self.edge_offsets[idx] - np.r_[0, np.cumsum(sub)[:-1]], sub) + np.arange(
            int(sub.sum())
        )
        return self.edge_coords[take], sub

    def __repr__(self) -> str:
        """Short summary (counts, length, CRS, source): never the arrays, which fill a notebook cell."""
        km = float(np.sum(self.edge_length_m)) / 1000
        return (
            f"WalkNetwork({len(self.node_ids)} nodes, {len(self.edge_u)} edges, {km:.1f} km, "
            f"crs={self.crs!r}, source={self.source!r})"
        )

    @classmethod
    def from_segments(cls, segments: gpd.GeoDataFrame, *, crs: str, source: str) -> WalkNetwork:
        """Build a network from split segments with integer ``u``/``v`` node keys.

        Parameters
        ----------
        segments
            LineStrings (any CRS; projected here to ``crs``) with columns ``u``, ``v``, ``highway``. Exact
            duplicates (same end nodes and same length to the millimetre, e.g. the two directions osmnx
            stores for a two-way street) are kept once. Zero-length segments are dropped.
        crs
            Metric CRS for coordinates and lengths.
        source
            Description of the input for messages.

        Raises
        ------
        NetworkError
            When no segment with a positive length remains.
        """
        seg = segments.to_crs(crs) if segments.crs is not None and segments.crs != crs else segments
        coords, offsets = vertices_of(seg.geometry.to_numpy())
        highway = seg["highway"].to_numpy(dtype=object) if "highway" in seg else None
        return cls.from_arrays(
            seg["u"].to_numpy(dtype=np.int64),
            seg["v"].to_numpy(dtype=np.int64),
            coords,
            offsets,
            highway,
            crs=crs,
            source=source,
        )

    @classmethod
    def from_arrays(
        cls,
        u: npt.NDArray[np.int64],
        v: npt.NDArray[np.int64],
        coords: npt.NDArray[np.float64],
        offsets: npt.NDArray[np.int64],
        highway: npt.NDArray[np.object_] | None,
        *,
        crs: str,
        source: str,
    ) -> WalkNetwork:
        """Build a network from split segments given as vertex arrays (see :meth:`from_segments`).

        Parameters
        ----------
        u, v
            Integer node keys of each segment's first and last vertex, shape (m,).
        coords, offsets
            The segments' vertices in ``crs``, segment after segment, and the ``m + 1`` offsets.
        highway
            OSM ``highway`` per segment (None: ``""``).
        crs, source
            As in :meth:`from_segments`.
        """
        length = polyline_lengths(coords, offsets)
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        m = len(u)
        keys = np.concatenate([u, v])
        node_ids, first, inverse = _unique_keys(keys)
        keep = _first_of_duplicates(inverse[:m], inverse[m:], length, len(node_ids)) & (length > 0)
        if not keep.any():
            raise NetworkError(f"{source}: the walking network is empty (no edge with a positive length).")
        counts = np.diff(offsets)
        if not keep.all():
            coords = coords[np.repeat(keep, counts)]
            counts = counts[keep]
            offsets = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            u, v, length = u[keep], v[keep], length[keep]
            keys = np.concatenate([u, v])
            node_ids, first, inverse = _unique_keys(keys)
        del keys
        highway = highway[keep] if highway is not None else np.full(len(u), "", object)
        m = len(u)
        starts = offsets[:-1]
        ends = offsets[1:] - 1
        at = np.concatenate([starts, ends])[first]  # each node's vertex: its first occurrence
        node_xy = coords[at]
        m = len(u)
        log.info("%s: %d nodes, %d edges, %.1f km", source, len(node_ids), m, length.sum() / 1000)
        inverse = inverse.ravel()
        return cls(
            node_ids=node_ids,
            node_xy=node_xy,
            edge_u=inverse[:m].astype(np.int64),
            edge_v=inverse[m:].astype(np.int64),
            edge_length_m=length.astype(np.float64),
            edge_coords=coords,
            edge_offsets=offsets,
            highway=highway,
            crs=str(crs),
            source=source,
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.edge_u)

    def to_csr(self, *, extra_nodes: int = 0) -> csr_matrix:
        """Return the symmetric adjacency matrix with edge lengths in metres (int32 indices).

        Parallel edges keep their minimum length; self-loops are dropped (they never shorten a path). The
        matrix without extra nodes is built once per network and then returned from a cache (treat it as
        read-only).

        Parameters
        ----------
        extra_nodes
            Empty rows/columns appended after the network's nodes (room for virtual source nodes).
        """
        base = self._cache.get("csr")
        if base is None:
            mask = self.edge_u != self.edge_v
            lo = np.minimum(self.edge_u, self.edge_v)[mask]
            hi = np.maximum(self.edge_u, self.edge_v)[mask]
            weight = self.edge_length_m[mask]
            # one sort on the undirected pair (an integer argsort, several times faster than a lexsort with
            # the weights): parallel edges keep their shortest length
            key = lo * np.int64(max(self.n_nodes, 1)) + hi
            order = np.argsort(key, kind="stable")
            key, lo, hi, weight = key[order], lo[order], hi[order], weight[order]
            first = (
                np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
            )
            weight = np.minimum.reduceat(weight, first) if len(first) < len(key) else weight[first]
            lo, hi = lo[first].astype(np.int32), hi[first].astype(np.int32)
            n = self.n_nodes
            base = csr_matrix(
                (np.concatenate([weight, weight]), (np.concatenate([lo, hi]), np.concatenate([hi, lo]))),
                shape=(n, n),
            )
            self._cache["csr"] = base
        if extra_nodes == 0:
            return base
        n = self.n_nodes + extra_nodes
        indptr = np.concatenate([base.indptr, np.full(extra_nodes, base.indptr[-1], dtype=base.indptr.dtype)])
        return csr_matrix((base.data, base.indices, indptr), shape=(n, n))

    def edge_series(self) -> gpd.GeoSeries:
        """Return the edge geometries as a GeoSeries, built once; its ``sindex`` is the network's edge index.

        The coordinate-offset check queries this series' STRtree; snapping uses the network's segment
        arrays instead (:func:`weihai_gis.network.snap.segment_index`).
        """
        series = self._cache.get("edge_series")
        if series is None:
            series = gpd.GeoSeries(self.edge_geometry, crs=self.crs)
            self._cache["edge_series"] = series
        return series

    def components(self) -> Components:
        """Return the connected components (computed once, then cached)."""
        if self._components is None:
            count, labels = connected_components(self.to_csr(), directed=False)
            self._components = self.components_from_labels(labels, int(count))
        return self._components

    def components_from_labels(self, labels: npt.NDArray[np.integer[Any]], count: int) -> Components:
        """Return the :class:`Components` of component ``labels`` 0..count-1 per node (those of a cache)."""
        sizes = np.bincount(labels, minlength=count).astype(np.int64)
        length = np.bincount(labels[self.edge_u], weights=self.edge_length_m, minlength=count)
        big = int(np.argmax(sizes))
        return Components(
            labels=np.asarray(labels, dtype=np.int32),
            sizes=sizes,
            count=count,
            largest_nodes=int(sizes[big]),
            largest_length_share=float(length[big] / length.sum()),
        )

    def summary(self) -> dict[str, float | int | str]:
        """Return a small report: nodes, edges, total km, components, largest component share."""
        comp = self.components()
        return {
            "source": self.source,
            "crs": self.crs,
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "length_km": float(self.edge_length_m.sum() / 1000),
            "components": comp.count,
            "largest_component_nodes": comp.largest_nodes,
            "largest_component_length_share": comp.largest_length_share,
        }

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Return edges as a GeoDataFrame (u, v as original node ids, length_m, highway, component)."""
        comp = self.components()
        return gpd.GeoDataFrame(
            {
                "u": self.node_ids[self.edge_u],
                "v": self.node_ids[self.edge_v],
                "length_m": self.edge_length_m,
                "highway": self.highway,
                "component": comp.labels[self.edge_u],
            },
            geometry=self.edge_geometry,
            crs=self.crs,
        )

    def nodes_gdf(self) -> gpd.GeoDataFrame:
        """Return nodes as a GeoDataFrame (node_id, component, component_size)."""
        comp = self.components()
        return gpd.GeoDataFrame(
            {
                "node_id": self.node_ids,
                "component": comp.labels,
                "component_size": comp.node_component_size(),
            },
            geometry=shapely.points(self.node_xy),
            crs=self.crs,
        )

    def barriers_key(self) -> str:
        """Digest of :attr:`barriers` (``""`` for an uncut network): caches of what barriers change use it."""
        if self.barriers is None:
            return ""
        cached = self._cache.get("barriers_key")
        if cached is not None and cached[0] is self.barriers:
            return cached[1]
        digest = hashlib.blake2b(digest_size=16)
        for wkb in shapely.to_wkb(self.barriers):
            digest.update(np.int64(len(wkb)).tobytes())
            digest.update(wkb)
        key = f"barriers-{len(self.barriers)}-{digest.hexdigest()}"
        self._cache["barriers_key"] = (self.barriers, key)
        return key

    def save(self, path: str | Path) -> None:
        """Write the network to ``<path>.npz`` atomically (:func:`weihai_gis.network.store.save_network`)."""
        from weihai_gis.network.store import save_network

        save_network(self, path)

    @classmethod
    def load(cls, path: str | Path) -> WalkNetwork:
        """Read a network written by :meth:`save` (:func:`weihai_gis.network.store.load_network`).

        Raises
        ------
        InputFileError
            When the file is missing, truncated, not written by :meth:`save` or inconsistent.
        """
        from weihai_gis.network.store import load_network

        return load_network(path, cls)


def _unique_keys(
    keys: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return ``np.unique(keys, return_index=True, return_inverse=True)``, without a sort for dense keys.

    Keys split from road lines are ranks 0..k-1 (:func:`weihai_gis.network.osm.split_vertices_at_shared`):
    a presence table and its running count give the same sorted keys, first positions and inverse (4x less
    CPU than the sort of 12.8M keys of a 3.2M-node grid); other keys (OSM node ids) are sorted.
    """
    if not len(keys) or int(keys.min()) < 0 or int(keys.max()) >= 4 * len(keys):
        node_ids, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return node_ids, first, inverse.ravel()
    present = np.zeros(int(keys.max()) + 1, dtype=bool)
    present[keys] = True
    node_ids = np.flatnonzero(present)
    rank = np.cumsum(present, dtype=np.int64)
    rank -= 1
    inverse = rank[keys]
    del rank, present
    first = np.full(len(node_ids), len(keys), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(keys), dtype=np.int64))
    return node_ids.astype(keys.dtype, copy=False), first, inverse


def _first_of_duplicates(
    lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64], length: npt.NDArray[np.float64], n_nodes: int
) -> npt.NDArray[np.bool_]:
    """Per segment False for a repeat of an earlier one (same end nodes either way, same length to the mm).

    E.g. the two directions osmnx stores for a two-way street. One integer argsort of the node pairs; only
    segments sharing their pair with another compare lengths.
    """
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    pair = lo.astype(np.int64) * np.int64(max(n_nodes, 1)) + hi
    del lo, hi
    order = np.argsort(pair, kind="stable")
    sorted_pair = pair[order]
    repeat = np.flatnonzero(sorted_pair[1:] == sorted_pair[:-1])
    keep = np.ones(len(pair), dtype=bool)
    if not len(repeat):
        return keep
    rows = np.unique(np.concatenate([order[repeat], order[repeat + 1]]))  # segments whose pair repeats
    frame = pd.DataFrame({"pair": pair[rows], "mm": np.round(length[rows] * 1000).astype(np.int64)})
    keep[rows[frame.duplicated().to_numpy()]] = False
    return keep
