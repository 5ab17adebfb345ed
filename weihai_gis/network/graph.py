"""The walking network as arrays: nodes, undirected edges with metric lengths, CSR and components."""

from __future__ import annotations

import hashlib
import json
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

from weihai_gis.errors import InputFileError, NetworkError
from weihai_gis.files import atomic_path

__all__ = ["Components", "WalkNetwork"]

log = logging.getLogger(__name__)


#: Arrays a network cache (``.npz``) holds; anything else in the file is ignored.
_CACHE_ARRAYS = (
    "node_ids",
    "node_xy",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "edge_coords",
    "edge_vertex_count",
    "highway_code",
    "highway_names",
    "meta",
)


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


@dataclass
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
    edge_geometry
        Shapely LineStrings in ``crs``, shape (m,).
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
    edge_geometry: npt.NDArray[np.object_]
    highway: npt.NDArray[np.object_]
    crs: str
    source: str = ""
    barriers: npt.NDArray[np.object_] | None = field(default=None, repr=False, compare=False)
    _components: Components | None = field(default=None, repr=False, compare=False)
    _cache: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)

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
        geoms = seg.geometry.to_numpy()
        length = shapely.length(geoms)
        u = seg["u"].to_numpy(dtype=np.int64)
        v = seg["v"].to_numpy(dtype=np.int64)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        key = pd.DataFrame({"lo": lo, "hi": hi, "mm": np.round(length * 1000).astype(np.int64)})
        keep = ~key.duplicated().to_numpy() & (length > 0)
        if not keep.any():
            raise NetworkError(f"{source}: the walking network is empty (no edge with a positive length).")
        u, v, geoms, length = u[keep], v[keep], geoms[keep], length[keep]
        highway = (
            seg["highway"].to_numpy(dtype=object)[keep] if "highway" in seg else np.full(len(u), "", object)
        )
        start = shapely.get_coordinates(shapely.get_point(geoms, 0))
        end = shapely.get_coordinates(shapely.get_point(geoms, -1))
        keys = np.concatenate([u, v])
        node_ids, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        node_xy = np.concatenate([start, end])[first]
        m = len(u)
        log.info("%s: %d nodes, %d edges, %.1f km", source, len(node_ids), m, length.sum() / 1000)
        return cls(
            node_ids=node_ids,
            node_xy=node_xy,
            edge_u=inverse[:m].astype(np.int64),
            edge_v=inverse[m:].astype(np.int64),
            edge_length_m=length.astype(np.float64),
            edge_geometry=np.asarray(geoms, dtype=object),
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
            sizes = np.bincount(labels, minlength=count).astype(np.int64)
            length = np.bincount(labels[self.edge_u], weights=self.edge_length_m, minlength=count)
            big = int(np.argmax(sizes))
            self._components = Components(
                labels=labels.astype(np.int32),
                sizes=sizes,
                count=int(count),
                largest_nodes=int(sizes[big]),
                largest_length_share=float(length[big] / length.sum()),
            )
        return self._components

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
        """Write the network to ``<path>.npz`` atomically: arrays, edge vertices and ``highway`` codes.

        Geometries are stored as one coordinate array with per-edge offsets (no WKB), so loading rebuilds
        them with a single vectorised ``shapely.linestrings`` call.
        """
        base = Path(path)
        meta = json.dumps({"crs": self.crs, "source": self.source, "barriers": self.barriers is not None})
        coords, which = shapely.get_coordinates(self.edge_geometry, return_index=True)
        counts = np.bincount(which, minlength=self.n_edges)
        codes, names = pd.factorize(pd.Series(self.highway, dtype=object).fillna("").astype(str))
        with atomic_path(base.with_suffix(".npz")) as tmp, tmp.open("wb") as fh:
            np.savez(
                fh,
                node_ids=self.node_ids,
                node_xy=self.node_xy,
                edge_u=self.edge_u,
                edge_v=self.edge_v,
                edge_length_m=self.edge_length_m,
                edge_coords=coords,
                edge_vertex_count=counts.astype(np.int32),
                highway_code=codes.astype(np.int32),
                highway_names=np.asarray(names, dtype=str),
                meta=np.array(meta),
                **_barrier_arrays(self.barriers),
            )

    @classmethod
    def load(cls, path: str | Path) -> WalkNetwork:
        """Read a network written by :meth:`save` (``path`` with or without suffix).

        Arrays are read with ``allow_pickle=False``: a cache never runs code.

        Raises
        ------
        InputFileError
            When the file is missing, truncated, not written by :meth:`save` or inconsistent.
        """
        base = Path(path)
        npz = base.with_suffix(".npz")
        if not npz.exists():
            raise InputFileError(f"network cache {str(base)!r}: expected {npz.name}.")
        try:
            with np.load(npz, allow_pickle=False) as data:
                arrays = {k: data[k] for k in _CACHE_ARRAYS}
                meta = json.loads(str(arrays["meta"]))
                barriers = _barriers_from(data) if meta.get("barriers") else None
            arrays.pop("meta")
            counts = arrays.pop("edge_vertex_count")
            coords = arrays.pop("edge_coords")
            if counts.sum() != len(coords) or (len(counts) and counts.min() < 2):
                raise ValueError("vertex counts do not match the coordinates")
            geoms = shapely.linestrings(coords, indices=np.repeat(np.arange(len(counts)), counts))
            names = arrays.pop("highway_names").astype(object)
            codes = arrays.pop("highway_code")
            highway = names[codes] if len(names) else np.full(len(counts), "", dtype=object)
            net = cls(
                **arrays,
                edge_geometry=np.asarray(geoms, dtype=object),
                highway=highway,
                crs=meta["crs"],
                source=meta["source"],
                barriers=barriers,
            )
        except Exception as exc:  # any damage: zip, npy header, object arrays, JSON, keys, geometry
            reason = "it holds pickled objects" if "pickle" in str(exc) else f"{type(exc).__name__}"
            raise InputFileError(f"network cache {str(base)!r} is unreadable ({reason}).") from exc
        n_nodes, n_edges = len(net.node_ids), len(net.edge_u)
        if (
            net.node_xy.shape != (n_nodes, 2)
            or not len(net.edge_v)
            == len(net.edge_length_m)
            == len(net.edge_geometry)
            == len(net.highway)
            == n_edges
            or (n_edges and max(int(net.edge_u.max()), int(net.edge_v.max())) >= n_nodes)
        ):
            raise InputFileError(f"network cache {str(base)!r} is inconsistent (array sizes do not match).")
        return net


def _barrier_arrays(barriers: npt.NDArray[np.object_] | None) -> dict[str, Any]:
    """Return the barriers as arrays :func:`numpy.savez` writes without pickle: their WKB end to end."""
    if barriers is None:
        return {}
    wkb = [bytes(b) for b in shapely.to_wkb(np.asarray(barriers, dtype=object))]
    return {
        "barrier_wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8),
        "barrier_wkb_length": np.array([len(b) for b in wkb], dtype=np.int64),
    }


def _barriers_from(data: Any) -> npt.NDArray[np.object_]:
    """Return the barriers :func:`_barrier_arrays` wrote (WKB keeps every coordinate bit for bit)."""
    blob = data["barrier_wkb"].tobytes()
    ends = np.cumsum(data["barrier_wkb_length"])
    if len(ends) and ends[-1] != len(blob):
        raise ValueError("barrier WKB lengths do not match the bytes")
    starts = np.r_[0, ends[:-1]]
    pieces = np.empty(len(ends), dtype=object)
    pieces[:] = [blob[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    return np.asarray(shapely.from_wkb(pieces), dtype=object)
