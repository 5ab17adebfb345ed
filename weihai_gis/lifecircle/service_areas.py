"""Exact network service areas: the streets within a walking limit of a facility, never a hull.

For a facility (or every facility of a category) and a cutoff ``C`` in metres, a point at ``t`` metres
along an edge ``(u, v)`` of length ``L`` is reached when its network distance

    d(t) = min(d_u + t, d_v + L - t, |t - p_f| + c_f for every facility f snapped onto that edge)

is at most ``C``, where ``d_u``/``d_v`` are the end nodes' distances (one bounded multi-source Dijkstra,
:func:`~weihai_gis.lifecircle.engine.node_distance_m`; a facility enters through both ends of its edge) and
``p_f``/``c_f`` are a facility's position on its edge and its connector. Edges with ``d_u + d_v + L ≤ 2C``
are reached whole; the others are cut at the exact remaining distance from each reached end (and around a
facility on the edge) with :func:`shapely.ops.substring`. The reached lines (the network only: a
facility's connector is walked, and counted, but is not a street) are buffered laterally by a stated
distance (``service_areas.buffer_m`` in ``coverage-config.yaml``) and unioned: land more than the buffer
away from a reached street is never inside, unlike a convex or concave hull.

*Exclusive catchments* give every reached piece of street to its nearest facility (a second labelled
Dijkstra: one virtual node per facility; an edge whose two ends have different nearest facilities is split
where the two distances are equal). The pieces partition the reached network exactly; their buffers may
overlap where two catchments' streets run closer than twice the buffer.

Distances are walking metres from the facility to the street; a resident's own connector to the street is
not included, so a building inside the polygon near its edge can still miss the limit by its connector.

A run in walking minutes (a walker group, hills) draws its service areas in minutes: ``times=`` (the group's
edge times) measures the walk from the street TO the facility on the directed time graph, the budget being the
limit at the adult reference speed (:mod:`weihai_gis.lifecircle.service_times`, exact in the same way).
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring
from tqdm.auto import tqdm

from weihai_gis.errors import LayerError
from weihai_gis.lifecircle.engine import NetworkIndex, node_distance_m
from weihai_gis.lifecircle.results import CoverageResult
from weihai_gis.lifecircle.service_times import add_piece, reached_parts_time
from weihai_gis.lifecircle.time_engine import TimeIndex
from weihai_gis.network import Snapped, WalkNetwork, snap_points
from weihai_gis.network.costs import EdgeTimes, edge_times
from weihai_gis.options import SERVICE_AREA_MODES
from weihai_gis.standards import coverage_setting, load_profile, walker_groups

__all__ = [
    "SERVICE_AREA_MODES",
    "ReachedParts",
    "reached_parts",
    "result_service_areas",
    "service_area_polygons",
]

log = logging.getLogger(__name__)


_EPS = 1e-9


@dataclass(frozen=True)
class ReachedParts:
    """Pieces of edges within the cutoff.

    Attributes
    ----------
    edge
        Edge position of each piece.
    start_m, end_m
        The piece runs from ``start_m`` to ``end_m`` metres along its edge (from ``edge_u``).
    source
        Position (into the snapped facilities) of the piece's nearest facility for exclusive catchments;
        -1 otherwise.
    """

    edge: npt.NDArray[np.int64]
    start_m: npt.NDArray[np.float64]
    end_m: npt.NDArray[np.float64]
    source: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.edge)

    def length_m(self) -> float:
        """Total length of the pieces in metres."""
        return float((self.end_m - self.start_m).sum())

    def lines(self, net: WalkNetwork) -> npt.NDArray[np.object_]:
        """Return the pieces as LineStrings (whole edges reuse the edge geometry)."""
        out = np.empty(len(self.edge), dtype=object)
        length = net.edge_length_m[self.edge]
        whole = (self.start_m <= _EPS) & (self.end_m >= length - _EPS)
        out[whole] = net.edge_lines(self.edge[whole])
        part = np.flatnonzero(~whole)
        for k, line in zip(part.tolist(), net.edge_lines(self.edge[part]), strict=True):
            out[k] = substring(line, self.start_m[k], self.end_m[k])
        return out


def _labelled_node_distance(
    net: WalkNetwork, facilities: Snapped, fac: npt.NDArray[np.int64], cutoff_m: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per node the distance to the nearest facility and which one (position into ``facilities``; -1 none)."""
    n, k = net.n_nodes, len(fac)
    base = net.to_csr(extra_nodes=k).tocoo()
    f_edge = facilities.edge[fac]
    conn = facilities.connector_m[fac]
    rows = np.repeat(np.arange(n, n + k), 2)
    cols = np.column_stack([net.edge_u[f_edge], net.edge_v[f_edge]]).ravel()
    # csgraph drops explicit zeros: a facility exactly on a node with no connector gets 1e-9 m
    w = np.maximum(
        np.column_stack([conn + facilities.to_u_m[fac], conn + facilities.to_v_m[fac]]).ravel(), _EPS
    )
    graph = csr_matrix(
        (
            np.concatenate([base.data, w]),
            (np.concatenate([base.row, rows]), np.concatenate([base.col, cols])),
        ),
        shape=(n + k, n + k),
    )
    dist, _, src = dijkstra(
        graph,
        directed=True,
        indices=np.arange(n, n + k),
        limit=cutoff_m,
        min_only=True,
        return_predecessors=True,
    )
    label = np.where(src >= n, fac[np.clip(src - n, 0, k - 1)], -1)[:n]
    return dist[:n], label


def _edge_envelope(
    length: float, funcs: list[tuple[float, float, int]], cutoff_m: float
) -> list[tuple[float, float, int]]:
    """Reached pieces of one edge as (start, end, label) from its distance functions, exactly.

    Each function is ``a + |t - p|`` (a V; ``p`` at an end of the edge gives a straight line) with a label.
    Between consecutive breakpoints (ends, apexes, pairwise crossings, cutoff crossings) the nearest
    function does not change and is linear, so one evaluation in the middle decides the whole interval.
    """
    points = {0.0, length}
    for a, p, _ in funcs:
        points.add(p)
        for t in (p - (cutoff_m - a), p + (cutoff_m - a)):
            points.add(t)
    for i, (a1, p1, _) in enumerate(funcs):
        for a2, p2, _ in funcs[i + 1 :]:
            # a1 + |t - p1| = a2 + |t - p2|: crossings of the four line pairs
            for s1 in (-1.0, 1.0):
                for s2 in (-1.0, 1.0):
                    if s1 != s2:
                        points.add((a2 - a1 + s1 * p1 - s2 * p2) / (s1 - s2))
    ts = np.array(sorted(points))
    ts = ts[(ts >= -_EPS) & (ts <= length + _EPS)]
    ts = np.unique(np.where(ts < _EPS, 0.0, np.where(ts > length - _EPS, length, ts)))
    pieces: list[tuple[float, float, int]] = []
    for lo, hi in itertools.pairwise(ts):
        if hi - lo <= _EPS:
            continue
        mid = 0.5 * (lo + hi)
        values = [a + abs(mid - p) for a, p, _ in funcs]
        best = int(np.argmin(values))
        if values[best] > cutoff_m:
            continue
        add_piece(pieces, lo, hi, funcs[best][2])
    return pieces


def reached_parts(
    net: WalkNetwork,
    facilities: Snapped,
    cutoff_m: float,
    *,
    exclusive: bool = False,
    index: NetworkIndex | None = None,
) -> ReachedParts:
    """Return the pieces of the network within ``cutoff_m`` of the reachable ``facilities`` (exact).

    Parameters
    ----------
    net
        The walking network the facilities were snapped to.
    facilities
        Snapping result; unreachable facilities are left out. The facility's connector counts against
        the cutoff.
    cutoff_m
        Walking limit in metres.
    exclusive
        Label each piece with its nearest facility (``source``), splitting edges where two facilities are
        equally far.
    index
        A :class:`NetworkIndex` of ``net`` to reuse (built when None; not used with ``exclusive``).

    Returns
    -------
    ReachedParts
    """
    fac = np.flatnonzero(facilities.reachable & (facilities.connector_m <= cutoff_m))
    empty = ReachedParts(np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64))
    if len(fac) == 0:
        return empty
    sub = facilities.take(fac)
    if exclusive:
        node_m, node_src = _labelled_node_distance(net, facilities, fac, cutoff_m)
    else:
        node_m = node_distance_m(index or NetworkIndex(net), sub, max_walk_m=cutoff_m)
        node_src = np.full(net.n_nodes, -1, dtype=np.int64)
    du, dv, length = node_m[net.edge_u], node_m[net.edge_v], net.edge_length_m
    su, sv = node_src[net.edge_u], node_src[net.edge_v]
    hosts = np.zeros(net.n_edges, dtype=bool)
    hosts[facilities.edge[fac]] = True
    full = ~hosts & np.isfinite(du) & np.isfinite(dv) & (du + dv + length <= 2 * cutoff_m) & (su == sv)
    touched = hosts | (du <= cutoff_m) | (dv <= cutoff_m)
    partial = np.flatnonzero(touched & ~full)
    on_edge: dict[int, list[int]] = {}
    for j in fac:
        on_edge.setdefault(int(facilities.edge[j]), []).append(int(j))
    edges, starts, ends, sources = [], [], [], []
    for e in partial:
        big = 2 * cutoff_m + float(length[e]) + 1.0  # stands in for "not reached" (an infinite distance)
        funcs = [
            (float(du[e]) if np.isfinite(du[e]) else big, 0.0, int(su[e])),
            (float(dv[e]) if np.isfinite(dv[e]) else big, float(length[e]), int(sv[e])),
        ]
        for fj in on_edge.get(int(e), []):
            funcs.append(
                (float(facilities.connector_m[fj]), float(facilities.pos_m[fj]), fj if exclusive else -1)
            )
        for lo, hi, label in _edge_envelope(float(length[e]), funcs, cutoff_m):
            edges.append(e)
            starts.append(lo)
            ends.append(hi)
            sources.append(label)
    whole = np.flatnonzero(full)
    return ReachedParts(
        edge=np.concatenate([whole, np.asarray(edges, dtype=np.int64)]),
        start_m=np.concatenate([np.zeros(len(whole)), np.asarray(starts, dtype=float)]),
        end_m=np.concatenate([length[whole], np.asarray(ends, dtype=float)]),
        source=np.concatenate([su[whole], np.asarray(sources, dtype=np.int64)]),
    )


def service_area_polygons(
    net: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    *,
    cutoff_m: float,
    mode: str = "category",
    buffer_m: float | None = None,
    max_snap_m: float | None = None,
    min_component_nodes: int | None = None,
    label: str = "",
    progress: bool = False,
    times: EdgeTimes | None = None,
) -> gpd.GeoDataFrame:
    """Return the service-area polygons of one set of facilities (e.g. one category) on ``net``.

    Parameters
    ----------
    net
        The walking network (metric CRS).
    facilities
        Facility points in ``net.crs`` (an ``id`` or ``name`` column names the facility when present).
    cutoff_m
        Walking limit in metres (the facility's connector counts).
    mode
        ``"category"`` (one polygon for all the facilities), ``"facility"`` (one per facility, overlapping)
        or ``"catchment"`` (one per facility, each street piece to its nearest facility).
    buffer_m
        Lateral buffer in metres around the reached lines (default ``service_areas.buffer_m`` in
        ``coverage-config.yaml``).
    max_snap_m, min_component_nodes
        Snapping limits (defaults from ``coverage-config.yaml``).
    label
        The category id written in the ``category`` column.
    progress
        Show a tqdm bar over facilities (``"facility"`` mode).
    times
        A walker group's edge times on ``net`` (:func:`weihai_gis.network.costs.edge_times`): the areas hold
        the streets from which the facility is walked to within ``cutoff_m`` at the adult reference speed
        (15 min for 1000 m), on the directed time graph. ``None``: metres.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``category``, ``mode``, ``facility`` (id/name; ``""`` for a category polygon),
        ``n_facilities``, ``cutoff_m``, ``buffer_m``, ``network_m`` (reached street length before the
        buffer), geometry (Polygon/MultiPolygon). Facilities off the network get no polygon.
    """
    if mode not in SERVICE_AREA_MODES:
        raise ValueError(f"mode must be one of {SERVICE_AREA_MODES}, got {mode!r}.")
    buffer = float(coverage_setting("service_areas", "buffer_m") if buffer_m is None else buffer_m)
    if not buffer > 0:
        raise ValueError(f"buffer_m must be > 0 metres, got {buffer!r}.")
    names = next(
        (facilities[c].astype(str).to_numpy() for c in ("id", "name") if c in facilities.columns), None
    )
    if names is None:
        names = np.arange(len(facilities)).astype(str)
    snap = snap_points(net, facilities, max_snap_m=max_snap_m, min_component_nodes=min_component_nodes)
    if times is None:
        ok = np.flatnonzero(snap.reachable & (snap.connector_m <= cutoff_m))
        index = NetworkIndex(net)

        def reach(points: Snapped, exclusive: bool = False) -> ReachedParts:
            return reached_parts(net, points, cutoff_m, exclusive=exclusive, index=index)
    else:
        budget_s = cutoff_m / (walker_groups()["adult"]["speed_m_per_min"] / 60)
        ok = np.flatnonzero(snap.reachable & (snap.connector_m / times.speed_m_per_s <= budget_s))
        t_index = TimeIndex(net, times)

        def reach(points: Snapped, exclusive: bool = False) -> ReachedParts:
            return ReachedParts(
                *reached_parts_time(net, points, budget_s, times, exclusive=exclusive, index=t_index)
            )

    rows = []

    def polygon(parts: ReachedParts, who: str, count: int) -> None:
        if not len(parts):
            return
        area = shapely.union_all(shapely.buffer(parts.lines(net), buffer))
        if shapely.get_type_id(area) == 3:  # one layer type in the GeoPackage: MultiPolygon
            area = shapely.MultiPolygon([area])
        rows.append((label, mode, who, count, cutoff_m, buffer, parts.length_m(), area))

    if mode == "category":
        polygon(reach(snap), "", len(ok))
    elif mode == "catchment":
        parts = reach(snap, exclusive=True)
        for j in ok:
            mine = parts.source == j
            polygon(
                ReachedParts(parts.edge[mine], parts.start_m[mine], parts.end_m[mine], parts.source[mine]),
                names[j],
                1,
            )
    else:
        for j in tqdm(ok, desc=f"service areas {label}", disable=not progress):
            polygon(reach(snap.take([j])), names[j], 1)
    columns = [
        "category",
        "mode",
        "facility",
        "n_facilities",
        "cutoff_m",
        "buffer_m",
        "network_m",
        "geometry",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    log.info(
        "%s: %d service areas (%s, %g m + %g m buffer)",
        label or "facilities",
        len(frame),
        mode,
        cutoff_m,
        buffer,
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=net.crs)


def result_service_areas(
    net: WalkNetwork,
    result: CoverageResult,
    *,
    mode: str = "category",
    buffer_m: float | None = None,
    categories: list[str] | None = None,
    progress: bool = False,
    dem_costs: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Return the service areas of a coverage result's facilities, one set per assessed category.

    Each category uses its own walking limit (``max_walk_m``) and the facilities serving it (the profile's
    kinds, as in :func:`weihai_gis.coverage`), snapped with the run's own options. A minutes run
    (``result.walker``) draws them in the group's walking minutes (``dem_costs``: the DEM file of a run with
    hills; the result records its name only).

    Parameters
    ----------
    net
        The walking network of the run (the cut network when barriers were applied).
    result
        The coverage result.
    mode
        ``"category"``, ``"facility"`` or ``"catchment"`` (see :func:`service_area_polygons`).
    buffer_m
        Lateral buffer in metres (default ``service_areas.buffer_m`` in ``coverage-config.yaml``).
    categories
        Category ids to draw (default every assessed category).
    progress
        Show a tqdm bar over categories.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`service_area_polygons` plus ``name_zh`` of the category; network CRS.
    """
    profile = load_profile(result.profile_name)
    kinds = {str(c["id"]): {*c["kinds"], str(c["id"])} for _, c in profile.categories.iterrows()}
    cats = result.categories.set_index("id")
    wanted = [c for c in cats.index if bool(cats.loc[c, "assessed"])] if categories is None else categories
    unknown = sorted(set(wanted) - set(cats.index))
    if unknown:
        raise ValueError(f"service areas: categories {unknown} are not in profile {result.profile_name!r}.")
    opts = result.meta.options
    times = None
    if result.walker is not None:
        recorded = opts.get("dem_costs")
        if (recorded is None) != (dem_costs is None) or (
            dem_costs is not None and Path(dem_costs).name != recorded
        ):
            raise LayerError(
                f"service areas: the run walked {'the hills of DEM ' + repr(recorded) if recorded else 'level ground'}"
                f", but DEM {Path(dem_costs).name if dem_costs else None!r} was given; give the run's own DEM "
                "(dem_costs=, --dem-costs) so the areas are walked as the run was."
            )
        times = edge_times(net, dem=dem_costs, walker=result.walker)
    max_snap = opts.get("max_snap_m")
    min_nodes = opts.get("min_component_nodes")
    limits = cats["max_walk_m"].astype(float)
    fac = result.facilities
    values = fac["category"].astype(str).to_numpy() if "category" in fac.columns else np.array([], dtype=str)
    frames = []
    for cid in tqdm(wanted, desc="service areas", disable=not progress):
        rows = np.isin(values, list(kinds.get(cid, {cid})))
        if not rows.any():
            continue
        frame = service_area_polygons(
            net,
            fac.loc[rows].to_crs(net.crs),
            cutoff_m=float(limits[cid]),
            mode=mode,
            buffer_m=buffer_m,
            max_snap_m=None if max_snap is None else float(max_snap),
            min_component_nodes=None if min_nodes is None else int(min_nodes),
            label=cid,
            times=times,
        )
        frames.append(frame.assign(name_zh=str(cats.loc[cid, "name_zh"])))
    columns = ["category", "name_zh", "mode", "facility", "n_facilities", "cutoff_m", "buffer_m", "network_m"]
    if not frames:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=net.crs)
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out[[*columns, "geometry"]], geometry="geometry", crs=net.crs)
