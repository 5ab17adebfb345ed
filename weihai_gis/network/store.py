"""The network cache file: a :class:`~weihai_gis.network.WalkNetwork` as one ``.npz`` of plain arrays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from weihai_gis.errors import InputFileError
from weihai_gis.files import atomic_path
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.network.polylines import offsets_from_counts

__all__ = ["load_network", "save_network"]

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


def save_network(net: WalkNetwork, path: str | Path) -> None:
    """Write the network to ``<path>.npz`` atomically: arrays, edge vertices and ``highway`` codes.

    Geometries are stored as the network holds them, one coordinate array with per-edge vertex counts
    (no WKB): loading reads arrays only, LineStrings are built when first asked for.
    """
    base = Path(path)
    meta = json.dumps({"crs": net.crs, "source": net.source, "barriers": net.barriers is not None})
    coords, counts = net.edge_vertices()
    codes, names = pd.factorize(pd.Series(net.highway, dtype=object).fillna("").astype(str))
    with atomic_path(base.with_suffix(".npz")) as tmp, tmp.open("wb") as fh:
        np.savez(
            fh,
            node_ids=net.node_ids,
            node_xy=net.node_xy,
            edge_u=net.edge_u,
            edge_v=net.edge_v,
            edge_length_m=net.edge_length_m,
            edge_coords=coords,
            edge_vertex_count=counts.astype(np.int32),
            highway_code=codes.astype(np.int32),
            highway_names=np.asarray(names, dtype=str),
            meta=np.array(meta),
            **_barrier_arrays(net.barriers),
        )


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
