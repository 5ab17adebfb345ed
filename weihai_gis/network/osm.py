"""Readers that turn a network file into walkable line segments.

Every reader returns a GeoDataFrame of LineStrings with a ``highway`` column (``""`` when unknown) and, when
the source has node identities (OSM), integer ``u``/``v`` node ids. Lines without node ids are split at
shared vertices later (:func:`split_at_shared_vertices`). Formats: ``.osm.pbf`` (pyrosm), ``.osm`` /
``.osm.bz2`` / ``.osm.gz`` (streaming XML), osmnx ``.graphml`` (networkx, no osmnx needed) and any vector
file of road lines readable by GeoPandas (GeoPackage, GeoJSON, Shapefile ...).
"""

from __future__ import annotations

import bz2
import gzip
import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import IO

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from weihai_gis.errors import CRSError, InputFileError, NetworkError
from weihai_gis.layers.io import read_vector
from weihai_gis.network.polylines import lines_from_vertices, offsets_from_counts
from weihai_gis.network.tags import walkable_mask

__all__ = [
    "read_graphml",
    "read_lines",
    "read_osm_crossings",
    "read_osm_pbf",
    "read_osm_xml",
    "split_at_shared_vertices",
    "split_vertices_at_shared",
]

log = logging.getLogger(__name__)

_TAGS = ("highway", "foot", "access", "area")


def _grid_keys(coords: npt.NDArray[np.float64], grid_m: float) -> npt.NDArray[np.int64]:
    """Return a key 0..k-1 per vertex: the rank of its ``coords`` rounded to ``grid_m`` among the distinct ones.

    The two rounded columns are packed into one int64 so that a 1-D sort replaces the much slower row-wise
    ``np.unique(axis=0)``; when the extent is too large to pack (> ~3e9 grid steps per axis) it falls back.
    """
    grid = np.round(coords[:, :2] / grid_m).astype(np.int64)
    grid -= grid.min(axis=0)
    span = grid.max(axis=0) + 1
    if float(span[0]) * float(span[1]) < 2.0**62:
        packed = grid[:, 0] * span[1] + grid[:, 1]
        _, keys = np.unique(packed, return_inverse=True)
    else:
        _, keys = np.unique(grid, axis=0, return_inverse=True)
    return keys.ravel().astype(np.int64)


def split_at_shared_vertices(
    lines: npt.NDArray[np.object_], vertex_keys: npt.NDArray[np.int64] | None = None, *, grid_m: float = 0.001
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Split lines at every vertex they share (with another line or themselves) and at their ends.

    As :func:`split_vertices_at_shared`, with the segments returned as LineStrings.

    Returns
    -------
    u, v, segments, source
        Start and end vertex keys, the segment LineStrings and, per segment, the index of its input line.
    """
    u, v, coords, offsets, source = split_vertices_at_shared(lines, vertex_keys, grid_m=grid_m)
    return u, v, lines_from_vertices(coords, offsets), source


def split_vertices_at_shared(
    lines: npt.NDArray[np.object_], vertex_keys: npt.NDArray[np.int64] | None = None, *, grid_m: float = 0.001
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    """Split lines at every vertex they share (with another line or themselves) and at their ends.

    No shapely geometry is made: the segments come back as vertex arrays (the form a
    :class:`~weihai_gis.network.WalkNetwork` holds).

    Parameters
    ----------
    lines
        Array of shapely LineStrings.
    vertex_keys
        One integer key per vertex in ``shapely.get_coordinates(lines)`` order (e.g. OSM node ids). When
        None, vertices are identified by their coordinates rounded to ``grid_m`` (CRS units; metres for a
        projected CRS).
    grid_m
        Rounding grid used when ``vertex_keys`` is None.

    Returns
    -------
    u, v, coords, offsets, source
        Start and end vertex keys, the segments' vertices (segment after segment, 2-D) with the ``m + 1``
        offsets into them and, per segment, the index of its input line.
    """
    coords, line_idx = shapely.get_coordinates(lines, return_index=True)
    if len(coords) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty((0, 2)), np.zeros(1, dtype=np.int64), empty
    if vertex_keys is None:
        keys = _grid_keys(coords, grid_m)
        counts = np.bincount(keys)[keys]
    else:
        keys = np.asarray(vertex_keys, dtype=np.int64)
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        counts = counts[inverse.ravel()]
    n = len(coords)
    first = np.r_[True, line_idx[1:] != line_idx[:-1]]
    last = np.r_[line_idx[1:] != line_idx[:-1], True]
    is_node = first | last | (counts > 1)
    node_pos = np.flatnonzero(is_node)
    # consecutive node positions on the same line delimit a segment
    start, end = node_pos[:-1], node_pos[1:]
    same_line = (line_idx[start] == line_idx[end]) & ~last[start]
    start, end = start[same_line], end[same_line]
    lengths = end - start + 1
    offsets = offsets_from_counts(lengths)
    take = np.repeat(start - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
    log.debug("split %d lines (%d vertices) into %d segments", len(lines), n, len(start))
    return keys[start], keys[end], coords[take], offsets, line_idx[start]


def _walkable(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    mask = walkable_mask(frame)
    if not mask.any():
        raise NetworkError(
            f"{where}: none of the {len(frame)} ways is walkable (see standards/walkable.yaml)."
        )
    log.info("%s: %d of %d ways walkable", where, int(mask.sum()), len(frame))
    return frame.loc[mask]


def read_osm_pbf(path: Path) -> gpd.GeoDataFrame:
    """Read walkable ways from an ``.osm.pbf`` file with pyrosm, already split at intersections.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``u``, ``v`` (OSM node ids), ``highway``, geometry (EPSG:4326 lon/lat).
    """
    from pyrosm import OSM

    try:
        result = OSM(str(path)).get_network(network_type="all", nodes=True, extra_attributes=list(_TAGS[1:]))
    except Exception as exc:
        raise InputFileError(f"walking network {str(path)!r}: cannot read as OSM PBF ({exc}).") from exc
    if result is None or result[1] is None or len(result[1]) == 0:
        raise NetworkError(f"walking network {str(path)!r}: the PBF holds no highway ways.")
    edges = _walkable(pd.DataFrame(result[1]), f"walking network {str(path)!r}")
    geoms = edges["geometry"].to_numpy()
    if shapely.get_type_id(geoms).max() > 1:  # MultiLineString parts: keep them as separate rows
        frame = gpd.GeoDataFrame(edges, geometry="geometry", crs="EPSG:4326").explode(index_parts=False)
        edges, geoms = frame, frame.geometry.to_numpy()
    return gpd.GeoDataFrame(
        {
            "u": edges["u"].to_numpy(dtype=np.int64),
            "v": edges["v"].to_numpy(dtype=np.int64),
            "highway": edges["highway"].fillna("").astype(str).to_numpy(),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def _open_xml(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile reads bytes
    return path.open("rb")


def read_osm_xml(path: Path) -> gpd.GeoDataFrame:
    """Read walkable ways from an OSM XML file (``.osm``, ``.osm.bz2``, ``.osm.gz``) with a streaming parser.

    Ways are split at every node shared by two walkable ways (and at their ends).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``u``, ``v`` (OSM node ids), ``highway``, geometry (EPSG:4326 lon/lat).
    """
    node_lon: dict[int, float] = {}
    node_lat: dict[int, float] = {}
    ways: list[tuple[list[int], dict[str, str]]] = []
    try:
        with _open_xml(path) as fh:
            for _, elem in ET.iterparse(fh, events=("end",)):
                if elem.tag == "node":
                    nid = int(elem.get("id"))
                    node_lon[nid] = float(elem.get("lon"))
                    node_lat[nid] = float(elem.get("lat"))
                    elem.clear()
                elif elem.tag == "way":
                    tags = {t.get("k"): t.get("v") for t in elem.iter("tag") if t.get("k") in _TAGS}
                    if "highway" in tags:
                        ways.append(([int(nd.get("ref")) for nd in elem.iter("nd")], tags))
                    elem.clear()
                elif elem.tag == "relation":
                    elem.clear()
    except (ET.ParseError, OSError, EOFError, ValueError, TypeError) as exc:
        raise InputFileError(f"walking network {str(path)!r}: cannot parse as OSM XML ({exc}).") from exc
    where = f"walking network {str(path)!r}"
    if not ways:
        raise NetworkError(f"{where}: the file holds no highway ways.")
    frame = pd.DataFrame([t for _, t in ways])
    keep = np.flatnonzero(walkable_mask(frame))
    if len(keep) == 0:
        raise NetworkError(
            f"{where}: none of the {len(ways)} highway ways is walkable (see standards/walkable.yaml)."
        )
    refs, highway = [], []
    for i in keep:
        nodes = [n for n in ways[i][0] if n in node_lon]  # extracts may cut ways at the boundary
        if len(nodes) >= 2:
            refs.append(nodes)
            highway.append(ways[i][1].get("highway", ""))
    if not refs:
        raise NetworkError(f"{where}: no walkable way has two nodes inside the extract.")
    keys = np.fromiter((n for r in refs for n in r), dtype=np.int64)
    xy = np.column_stack([[node_lon[k] for k in keys], [node_lat[k] for k in keys]])
    lines = shapely.linestrings(xy, indices=np.repeat(np.arange(len(refs)), [len(r) for r in refs]))
    u, v, segments, src = split_at_shared_vertices(np.asarray(lines), keys)
    return gpd.GeoDataFrame(
        {"u": u, "v": v, "highway": np.asarray(highway, dtype=object)[src]},
        geometry=segments,
        crs="EPSG:4326",
    )


def read_graphml(path: Path) -> gpd.GeoDataFrame:
    """Read an osmnx GraphML file (without needing osmnx).

    Node ``x``/``y`` and edge ``geometry`` (WKT, optional: a straight line otherwise) are read in the graph's
    ``crs`` attribute (EPSG:4326 when absent). Edges are filtered with the walkable rules when they carry a
    ``highway`` attribute.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``u``, ``v`` (node ids as integers), ``highway``, geometry.
    """
    import networkx as nx  # here: ~0.2 s of start-up that road-line and PBF networks never need

    where = f"walking network {str(path)!r}"
    try:
        graph = nx.read_graphml(path)
    except Exception as exc:
        raise InputFileError(f"{where}: cannot read as GraphML ({exc}).") from exc
    if graph.number_of_edges() == 0:
        raise NetworkError(f"{where}: the graph has no edges.")
    crs = graph.graph.get("crs", "EPSG:4326")
    try:
        xy = {n: (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)}
    except KeyError as exc:
        raise InputFileError(f"{where}: nodes lack the 'x'/'y' attributes osmnx writes.") from exc
    ids = {n: i for i, n in enumerate(graph.nodes)}
    try:
        node_key = {n: int(n) for n in graph.nodes}
    except ValueError:
        node_key = ids
    rows = []
    for a, b, data in graph.edges(data=True):
        geom = (
            shapely.from_wkt(data["geometry"]) if "geometry" in data else shapely.LineString([xy[a], xy[b]])
        )
        rows.append(
            (node_key[a], node_key[b], data.get("highway", ""), data.get("foot"), data.get("access"), geom)
        )
    frame = pd.DataFrame(rows, columns=["u", "v", "highway", "foot", "access", "geometry"])
    if frame["highway"].astype(str).str.len().gt(0).any():
        frame = _walkable(frame, where)
    frame["highway"] = frame["highway"].astype(str).str.strip("[]'\" ").str.split("'").str[0]
    return gpd.GeoDataFrame(frame[["u", "v", "highway"]], geometry=frame["geometry"].to_numpy(), crs=crs)


def read_lines(path: Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file of road centre lines (GeoPackage, GeoJSON, Shapefile ...).

    When the layer has a ``highway`` field the walkable rules are applied; otherwise every line is taken
    as walkable. Lines are split at shared vertices by the network builder.

    Raises
    ------
    InputFileError
        The file cannot be read as a vector layer.
    CRSError
        The layer has no CRS, or a geographic CRS with coordinates outside ±180°/±90° (metres declared as
        degrees).
    NetworkError
        The layer has no line geometries, or no walkable line.
    """
    where = f"walking network {str(path)!r}" + (f", layer {layer!r}" if layer else "")
    frame = read_vector(path, layer=layer, what="walking network")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame[frame.geom_type.isin(["LineString", "MultiLineString"])]
    if frame.empty:
        raise NetworkError(f"{where}: the layer has no LineString features.")
    if frame.crs.is_geographic:
        minx, miny, maxx, maxy = frame.total_bounds
        if min(minx, miny) < -180 or maxx > 180 or abs(miny) > 90 or abs(maxy) > 90:
            raise CRSError(
                f"{where}: the layer declares geographic {frame.crs.to_string()} but its coordinates "
                f"({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}) look like metres; fix the CRS."
            )
    if "highway" in frame.columns:
        frame = _walkable(frame, where)
    frame = frame.explode(index_parts=False)
    if "highway" in frame.columns:
        highway = frame["highway"].fillna("").astype(str).to_numpy(dtype=object)
    else:
        highway = np.full(len(frame), "", dtype=object)
    return gpd.GeoDataFrame({"highway": highway}, geometry=frame.geometry.to_numpy(), crs=frame.crs)


#: OSM node tags that mark a place where pedestrians may cross a road or railway.
CROSSING_TAGS = {"highway": ("crossing",), "railway": ("crossing",), "footway": ("crossing",)}


def read_osm_crossings(path: str | Path) -> gpd.GeoDataFrame:
    """Read pedestrian crossing nodes (``highway=crossing``, ``railway=crossing``, ``footway=crossing``).

    Nodes tagged ``crossing=no`` are left out. Works on ``.osm.pbf`` and OSM XML (pyosmium).

    Parameters
    ----------
    path
        The OSM file the walking network was built from.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_id`` and ``crossing`` (the ``crossing=*`` value, ``""`` when untagged), points in
        EPSG:4326; possibly empty.

    Raises
    ------
    InputFileError
        When the file cannot be read as OSM data.
    """
    import osmium

    rows: list[tuple[int, str, float, float]] = []

    class _Crossings(osmium.SimpleHandler):
        def node(self, n: osmium.osm.Node) -> None:
            tags = n.tags
            if tags.get("crossing") == "no" or not n.location.valid():
                return
            if any(tags.get(key) in values for key, values in CROSSING_TAGS.items()):
                rows.append((n.id, tags.get("crossing") or "", n.location.lon, n.location.lat))

    try:
        _Crossings().apply_file(str(path), locations=False)
    except RuntimeError as exc:
        raise InputFileError(f"crossings {str(path)!r}: not readable as OSM data ({exc}).") from exc
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    xy = np.array([(r[2], r[3]) for r in rows], dtype=float).reshape(-1, 2)
    log.info("%s: %d crossing nodes", path, len(rows))
    return gpd.GeoDataFrame(
        {"osm_id": ids, "crossing": [r[1] for r in rows]},
        geometry=shapely.points(xy) if len(xy) else [],
        crs="EPSG:4326",
    )
