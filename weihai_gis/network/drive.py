"""A directed driving network (OSM drivable ways, speeds per road class, one-way streets) and nearest-facility times.

The geometry lives in a :class:`~weihai_gis.network.graph.WalkNetwork` (so snapping and its spatial index are the
walking engine's); the direction of travel and the per-edge speed are kept alongside. Times are computed with
one multi-source Dijkstra over the directed CSR graph from a virtual source joined to the facilities, in the
direction of travel *from* the facility (a fire engine leaving its station), as in
:mod:`weihai_gis.lifecircle.engine` but with one-way edges respected.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from weihai_gis.errors import InputFileError, NetworkError, StandardsError
from weihai_gis.files import require_input_file
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.network.snap import Snapped, snap_points

__all__ = [
    "DriveNetwork",
    "build_drive_network",
    "drive_config",
    "drive_nearest",
    "drive_network_from_segments",
]

log = logging.getLogger(__name__)


def drive_config() -> dict:
    """Return ``standards/drive-speeds.yaml`` (speeds in km/h per highway class, one-way rules)."""
    from weihai_gis.standards import _read_yaml

    cfg = _read_yaml("drive-speeds.yaml")
    speeds = cfg.get("speed_kmh")
    if not isinstance(speeds, dict) or not speeds:
        raise StandardsError(
            "drive-speeds.yaml, field 'speed_kmh': expected a mapping of highway class to km/h."
        )
    for k, v in speeds.items():
        if not isinstance(v, int | float) or v <= 0:
            raise StandardsError(
                f"drive-speeds.yaml, speed_kmh, class {k!r}: expected a positive km/h, got {v!r}."
            )
    if not isinstance(cfg.get("access_speed_kmh"), int | float) or cfg["access_speed_kmh"] <= 0:
        raise StandardsError("drive-speeds.yaml, field 'access_speed_kmh': expected a positive km/h.")
    return cfg


@dataclass
class DriveNetwork:
    """A driving network: geometry (a WalkNetwork), direction flags and speeds per edge.

    Attributes
    ----------
    net
        Edge geometry, nodes and lengths (metres), reused for snapping.
    forward, backward
        Per edge: travel allowed from ``edge_u`` to ``edge_v`` / from ``edge_v`` to ``edge_u``.
    speed_kmh
        Per edge speed (km/h) from its highway class.
    access_speed_kmh
        Speed on the connector between a point and its street.
    """

    net: WalkNetwork
    forward: npt.NDArray[np.bool_]
    backward: npt.NDArray[np.bool_]
    speed_kmh: npt.NDArray[np.float64]
    access_speed_kmh: float

    @property
    def crs(self) -> str:
        """The metric CRS."""
        return self.net.crs

    def edge_minutes(self) -> npt.NDArray[np.float64]:
        """Driving time per edge in minutes."""
        return self.net.edge_length_m / (self.speed_kmh * 1000 / 60)

    def to_csr(self, weight: npt.NDArray[np.float64], *, extra_nodes: int = 0) -> csr_matrix:
        """Directed adjacency with ``weight`` per allowed direction; parallel arcs keep their minimum."""
        n = self.net.n_nodes + extra_nodes
        u, v = self.net.edge_u, self.net.edge_v
        src = np.concatenate([u[self.forward], v[self.backward]])
        dst = np.concatenate([v[self.forward], u[self.backward]])
        w = np.concatenate([weight[self.forward], weight[self.backward]])
        keep = src != dst
        src, dst, w = src[keep], dst[keep], w[keep]
        order = np.lexsort((w, dst, src))
        src, dst, w = src[order], dst[order], w[order]
        first = np.r_[True, (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])] if len(src) else np.zeros(0, bool)
        return csr_matrix((w[first], (src[first], dst[first])), shape=(n, n))


def _flags(frame: pd.DataFrame, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    oneway = (
        frame.get("oneway", pd.Series([None] * len(frame), index=frame.index))
        .astype(str)
        .str.strip()
        .str.lower()
    )
    hw = frame["highway"].astype(str)
    roundabout = np.zeros(len(frame), dtype=bool)
    if "junction" in frame.columns:
        roundabout |= frame["junction"].astype(str).eq("roundabout").to_numpy()
    if "tags" in frame.columns:
        roundabout |= (
            frame["tags"].astype(str).str.contains('"junction":"roundabout"', regex=False).to_numpy()
        )
    fwd_only = oneway.isin(cfg["oneway_forward"]).to_numpy() | roundabout
    rev_only = oneway.isin(cfg["oneway_reverse"]).to_numpy()
    implied = (
        hw.isin(cfg.get("implied_oneway", [])).to_numpy() & ~oneway.isin(["no", "false", "0"]).to_numpy()
    )
    fwd_only |= implied & ~rev_only
    forward = ~rev_only
    backward = ~fwd_only
    return forward, backward


def drive_network_from_segments(segments: gpd.GeoDataFrame, *, crs: str, source: str) -> DriveNetwork:
    """Build a driving network from split segments (``u``, ``v``, ``highway``, optional ``oneway``/``junction``).

    Segments whose class has no speed in ``drive-speeds.yaml`` are dropped (logged). Segments with the same end
    nodes and length (the two directions of one street stored twice) merge, their directions combined.

    Raises
    ------
    NetworkError
        No drivable segment remains.
    """
    cfg = drive_config()
    speeds = {str(k): float(v) for k, v in cfg["speed_kmh"].items()}
    seg = segments.to_crs(crs) if segments.crs is not None and not segments.crs.equals(crs) else segments
    seg = seg[seg["highway"].astype(str).isin(speeds)].reset_index(drop=True)
    dropped = len(segments) - len(seg)
    if dropped:
        log.info("%s: %d segments of classes without a driving speed dropped", source, dropped)
    length = seg.geometry.length.to_numpy()
    seg = seg[length > 0].reset_index(drop=True)
    if seg.empty:
        raise NetworkError(f"{source}: no drivable way with a speed in drive-speeds.yaml.")
    forward, backward = _flags(seg, cfg)
    u, v = seg["u"].to_numpy(np.int64), seg["v"].to_numpy(np.int64)
    mm = np.round(seg.geometry.length.to_numpy() * 1000).astype(np.int64)
    key = pd.DataFrame({"lo": np.minimum(u, v), "hi": np.maximum(u, v), "mm": mm})
    group = key.groupby(["lo", "hi", "mm"], sort=False).ngroup().to_numpy()
    first = ~key.duplicated().to_numpy()
    lead = np.full(group.max() + 1, -1)
    lead[group[first]] = np.flatnonzero(first)
    same = u == u[lead[group]]  # oriented like the kept segment
    f = np.where(same, forward, backward)
    b = np.where(same, backward, forward)
    fwd = pd.Series(f).groupby(group).any().to_numpy()
    bwd = pd.Series(b).groupby(group).any().to_numpy()
    kept = seg.loc[first].reset_index(drop=True)
    net = WalkNetwork.from_segments(kept[["u", "v", "highway", "geometry"]], crs=crs, source=source)
    if net.n_edges != len(kept):  # pragma: no cover - guarded by the pre-filtering above
        raise NetworkError(f"{source}: internal error aligning driving segments.")
    order = group[first]
    speed = kept["highway"].astype(str).map(speeds).to_numpy(dtype=float)
    log.info(
        "%s: driving network %d edges (%d one-way), %.1f km",
        source,
        net.n_edges,
        int((fwd[order] ^ bwd[order]).sum()),
        net.edge_length_m.sum() / 1000,
    )
    return DriveNetwork(net, fwd[order], bwd[order], speed, float(cfg["access_speed_kmh"]))


def build_drive_network(path: str | os.PathLike[str], *, crs: str | None = None) -> DriveNetwork:
    """Read drivable ways from an ``.osm.pbf`` (pyrosm ``driving`` filter) or a vector file of road lines.

    Parameters
    ----------
    path
        ``.osm.pbf``, or lines with ``highway`` (and optional ``oneway``) fields.
    crs
        Metric CRS (default the walking network's choice for the area, EPSG:4550 in Weihai).
    """
    from weihai_gis.network.build import analysis_crs_for
    from weihai_gis.network.osm import split_at_shared_vertices

    src = require_input_file(path, what="driving network")
    if src.name.lower().endswith(".pbf"):
        from pyrosm import OSM

        try:
            _, edges = OSM(str(src)).get_network(network_type="driving", nodes=True)
        except Exception as exc:
            raise InputFileError(f"driving network {str(src)!r}: cannot read as OSM PBF ({exc}).") from exc
        if edges is None or len(edges) == 0:
            raise NetworkError(f"driving network {str(src)!r}: the PBF holds no drivable way.")
        frame = gpd.GeoDataFrame(edges, geometry="geometry", crs="EPSG:4326").explode(index_parts=False)
        target = crs or analysis_crs_for(frame)
        return drive_network_from_segments(frame, crs=target, source=str(src))
    from weihai_gis.layers.io import read_vector

    lines = read_vector(src, what="driving network")
    if "highway" not in lines.columns:
        raise InputFileError(f"driving network {str(src)!r}: field 'highway' (road class) is missing.")
    target = crs or analysis_crs_for(lines)
    proj = lines.to_crs(target).explode(index_parts=False).reset_index(drop=True)
    u, v, parts, idx = split_at_shared_vertices(proj.geometry.to_numpy())
    attrs = proj.drop(columns="geometry").iloc[idx].reset_index(drop=True)
    seg = gpd.GeoDataFrame(attrs.assign(u=u, v=v), geometry=parts, crs=target)
    return drive_network_from_segments(seg, crs=target, source=str(Path(src)))


def drive_nearest(
    drive: DriveNetwork,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    weight: str = "minutes",
    limit: float = np.inf,
    max_snap_m: float | None = None,
    min_component_nodes: int | None = None,
) -> tuple[npt.NDArray[np.float64], Snapped]:
    """Return, per origin, the driving time (or distance) from the nearest facility, and the origins' snapping.

    Parameters
    ----------
    drive
        The driving network.
    origins, facilities
        Points in ``drive.crs``.
    weight
        ``"minutes"`` (driving time; connectors at the access speed) or ``"metres"`` (driving distance along
        allowed directions; connectors in metres).
    limit
        Search cutoff in the weight's unit; farther origins get NaN.

    Returns
    -------
    (numpy.ndarray, Snapped)
        Value per origin (NaN beyond ``limit``, unreachable origin, or no reachable facility).
    """
    if weight not in ("minutes", "metres"):
        raise ValueError(f"`weight` must be 'minutes' or 'metres', got {weight!r}.")
    net = drive.net
    w_edge = drive.edge_minutes() if weight == "minutes" else net.edge_length_m.astype(float)
    per_m_conn = 1 / (drive.access_speed_kmh * 1000 / 60) if weight == "minutes" else 1.0
    kw: dict[str, Any] = {"max_snap_m": max_snap_m, "min_component_nodes": min_component_nodes}
    o = snap_points(net, origins, **kw)
    f = snap_points(net, facilities, **kw)
    out = np.full(len(o.edge), np.nan)
    fi = np.flatnonzero(f.reachable)
    if not len(fi):
        return out, o
    n = net.n_nodes
    length = net.edge_length_m
    fe, fp = f.edge[fi], f.pos_m[fi]
    fconn = f.connector_m[fi] * per_m_conn
    frac_f = np.where(length[fe] > 0, fp / length[fe], 0.0)
    nodes, wts = [], []
    # a facility exactly on an end node reaches that node whatever the edge's direction
    fw = drive.forward[fe] | (frac_f >= 1)
    nodes.append(net.edge_v[fe][fw])
    wts.append((fconn + (1 - frac_f) * w_edge[fe])[fw])
    bw = drive.backward[fe] | (frac_f <= 0)
    nodes.append(net.edge_u[fe][bw])
    wts.append((fconn + frac_f * w_edge[fe])[bw])
    nodes_a, wts_a = np.concatenate(nodes), np.concatenate(wts)
    base = drive.to_csr(w_edge, extra_nodes=1).tocoo()
    src = np.concatenate([base.row, np.full(len(nodes_a), n)])
    dst = np.concatenate([base.col, nodes_a])
    w = np.concatenate([base.data, wts_a])
    order = np.lexsort((w, dst, src))
    src, dst, w = src[order], dst[order], w[order]
    first = np.r_[True, (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])]
    graph = csr_matrix((w[first], (src[first], dst[first])), shape=(n + 1, n + 1))
    t = dijkstra(graph, directed=True, indices=n, limit=limit)
    oi = np.flatnonzero(o.reachable)
    oe, op = o.edge[oi], o.pos_m[oi]
    frac_o = np.where(length[oe] > 0, op / length[oe], 0.0)
    oconn = o.connector_m[oi] * per_m_conn
    via_u = np.where(drive.forward[oe] | (frac_o <= 0), t[net.edge_u[oe]] + frac_o * w_edge[oe], np.inf)
    via_v = np.where(
        drive.backward[oe] | (frac_o >= 1), t[net.edge_v[oe]] + (1 - frac_o) * w_edge[oe], np.inf
    )
    best = np.minimum(via_u, via_v)
    # a facility on the origin's own edge: the direct along-edge run when the direction allows it
    by_edge = pd.DataFrame({"e": fe, "frac": frac_f, "c": fconn})
    same = pd.DataFrame({"row": np.arange(len(oi)), "e": oe, "frac_o": frac_o}).merge(by_edge, on="e")
    if len(same):
        e = same["e"].to_numpy()
        d = same["frac_o"].to_numpy() - same["frac"].to_numpy()
        ok = np.where(d >= 0, drive.forward[e], drive.backward[e])
        direct = np.where(ok, same["c"].to_numpy() + np.abs(d) * w_edge[e], np.inf)
        best_same = pd.Series(direct).groupby(same["row"].to_numpy()).min()
        rows = best_same.index.to_numpy()
        best[rows] = np.minimum(best[rows], best_same.to_numpy())
    total = best + oconn
    out[oi] = np.where(total <= limit, total, np.nan)
    return out, o
