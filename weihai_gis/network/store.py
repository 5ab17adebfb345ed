"""The network cache file: a :class:`~weihai_gis.network.WalkNetwork` as one ``.npz`` of plain arrays."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

from weihai_gis.errors import InputFileError
from weihai_gis.files import atomic_path
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.network.polylines import offsets_from_counts

__all__ = ["load_network", "save_network"]

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

#: Derived arrays a cache may hold (written since weihai_gis 0.x session six; a cache without them, or
#: with arrays that do not fit, computes them): the CSR adjacency (:meth:`WalkNetwork.to_csr`), the
#: component labels and the cells of the segment index of every edge (:func:`weihai_gis.network.snap.
#: segment_index`). A cached run then skips the sort of every edge pair, the component search and the
#: grid registration (about 9 s CPU at 3.2M nodes).
_DERIVED_ARRAYS = (
    "csr_indptr",
    "csr_indices",
    "csr_data",
    "component_labels",
    "segment_grid_cell",
    "segment_grid_shape",
    "segment_grid_ptr",
    "segment_grid_seg",
)


def save_network(net: WalkNetwork, path: str | Path) -> None:
    """Write the network to ``<path>.npz`` atomically: arrays, edge vertices, ``highway`` codes, derived arrays.

    The derived arrays (:data:`_DERIVED_ARRAYS`: CSR, component labels, segment grid) are computed here when
    the network has not yet; loading takes them instead of computing them again.

    Geometries are stored as the network holds them, one coordinate array with per-edge vertex counts
    (no WKB): loading reads arrays only, LineStrings are built when first asked for.
    """
    base = Path(path)
    meta = json.dumps({"crs": net.crs, "source": net.source, "barriers": net.barriers is not None})
    coords, counts = net.edge_vertices()
    codes, names = pd.factorize(pd.Series(net.highway, dtype=object).fillna("").astype(str))
    arrays: dict[str, Any] = {
        "node_ids": net.node_ids,
        "node_xy": net.node_xy,
        "edge_u": net.edge_u,
        "edge_v": net.edge_v,
        "edge_length_m": net.edge_length_m,
        "edge_coords": coords,
        "edge_vertex_count": counts.astype(np.int32),
        "highway_code": codes.astype(np.int32),
        "highway_names": np.asarray(names, dtype=str),
        "meta": np.array(meta),
        **_barrier_arrays(net.barriers),
        **_derived_arrays(net),
    }
    with atomic_path(base.with_suffix(".npz")) as tmp, tmp.open("wb") as fh:
        np.savez(fh, **arrays)


def load_network(path: str | Path, cls: type[WalkNetwork] = WalkNetwork) -> WalkNetwork:
    """Read a network written by :func:`save_network` (``path`` with or without suffix).

    Arrays are read with ``allow_pickle=False``: a cache never runs code.

    Raises
    ------
    InputFileError
        When the file is missing, truncated, not written by :func:`save_network` or inconsistent.
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
            derived = {k: data[k] for k in _DERIVED_ARRAYS if k in data.files}
        arrays.pop("meta")
        counts = arrays.pop("edge_vertex_count")
        coords = arrays.pop("edge_coords")
        if counts.sum() != len(coords) or (len(counts) and counts.min() < 2):
            raise ValueError("vertex counts do not match the coordinates")
        names = arrays.pop("highway_names").astype(object)
        codes = arrays.pop("highway_code")
        highway = names[codes] if len(names) else np.full(len(counts), "", dtype=object)
        net = cls(
            **arrays,
            edge_coords=coords,
            edge_offsets=offsets_from_counts(counts),
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
        == len(net.edge_offsets) - 1
        == len(net.highway)
        == n_edges
        or (n_edges and max(int(net.edge_u.max()), int(net.edge_v.max())) >= n_nodes)
    ):
        raise InputFileError(f"network cache {str(base)!r} is inconsistent (array sizes do not match).")
    if len(derived) == len(_DERIVED_ARRAYS):
        try:
            _take_derived(net, derived)
        except (ValueError, IndexError) as exc:  # computed again when asked for
            log.warning("network cache %s: derived arrays ignored (%s)", base, exc)
            net._cache.clear()
            net._components = None
    return net


def _derived_arrays(net: WalkNetwork) -> dict[str, npt.NDArray[Any]]:
    """Return the arrays of :data:`_DERIVED_ARRAYS` (computing what the network has not yet)."""
    from weihai_gis.network.snap import segment_index

    csr = net.to_csr()
    return {
        "csr_indptr": csr.indptr,
        "csr_indices": csr.indices,
        "csr_data": csr.data,
        "component_labels": net.components().labels,
        **segment_index(net, 0).grid.arrays(),
    }


def _take_derived(net: WalkNetwork, arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Give ``net`` the CSR, components and segment index of :func:`_derived_arrays` (checked to fit)."""
    from weihai_gis.network.snap import adopt_segment_grid

    n = net.n_nodes
    indptr, indices, data = arrays["csr_indptr"], arrays["csr_indices"], arrays["csr_data"]
    labels = arrays["component_labels"]
    if (
        indptr.shape != (n + 1,)
        or indptr[0] != 0
        or indptr[-1] != len(indices)
        or len(data) != len(indices)
        or (np.diff(indptr) < 0).any()
        or (len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= n))
        or labels.shape != (n,)
        or (n and int(labels.min()) < 0)
    ):
        raise ValueError("CSR or component labels do not fit the nodes")
    net._cache["csr"] = csr_matrix((data, indices, indptr), shape=(n, n))
    net._components = net.components_from_labels(labels, int(labels.max()) + 1 if n else 0)
    adopt_segment_grid(net, arrays)


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
