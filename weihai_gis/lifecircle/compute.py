"""Run a life-circle profile over origins and facilities: snapping, per-category distances, buffers, flags."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from tqdm.auto import tqdm

from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS, diagnose_offset, inside_china, transformer
from weihai_gis.errors import CoordinateOffsetError, CRSError, LayerError, StandardsError
from weihai_gis.lifecircle.assessment import basic_assessment
from weihai_gis.lifecircle.columns import ALL_BASIC, column
from weihai_gis.lifecircle.engine import SEARCH_FACTOR, NetworkIndex, nearest_distance_m, search_reach_m
from weihai_gis.lifecircle.placement import (
    check_coordinates,
    check_extent,
    check_snapped,
    declared_datum_mismatch,
    layer_label,
)
from weihai_gis.lifecircle.results import CoverageResult, InputRecord, RunMetadata, source_name
from weihai_gis.lifecircle.summaries import auto_hex_size_m
from weihai_gis.lifecircle.time_engine import TimeIndex, nearest_time_s
from weihai_gis.network import Snapped, WalkNetwork, snap_points
from weihai_gis.network.costs import EdgeTimes, edge_times
from weihai_gis.network.snap import EdgeReference
from weihai_gis.options import CoverageOptions
from weihai_gis.population import population_values, refuse_duplicate_ids
from weihai_gis.standards import Profile, facility_kinds, load_profile, walker_groups
from weihai_gis.straight_distance import straight_distance_m

__all__ = ["DistanceBackend", "category_distances", "category_times", "coverage"]

log = logging.getLogger(__name__)

#: One category's request to a distance backend: (category id, facility rows serving it, cutoff in metres).
DistanceRequest = tuple[str, np.ndarray, float]

#: ``(net, origin snaps, facility snaps, requests, options) -> {category id: distance per origin}``: how
#: :func:`coverage` gets its network distances. :func:`category_distances` runs them on this machine;
#: :class:`weihai_gis.distributed.DaskDistances` on a Dask cluster, partitioned by origin.
DistanceBackend = Callable[
    [WalkNetwork, Snapped, Snapped, Sequence[DistanceRequest], CoverageOptions], dict[str, np.ndarray]
]


def category_distances(
    net: WalkNetwork,
    origins: Snapped,
    facilities: Snapped,
    requests: Sequence[DistanceRequest],
    options: CoverageOptions | None = None,
    *,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Return the network distance from each origin to the nearest facility of each requested category.

    The single-machine distance backend of :func:`coverage`: one :class:`NetworkIndex`, then one
    multi-source search per category (NaN beyond the category's cutoff or for unreachable origins).

    Parameters
    ----------
    net
        The walking network both point sets were snapped to.
    origins, facilities
        Snapping results on ``net``.
    requests
        ``(category id, facility rows, cutoff m)`` per category with at least one facility.
    options
        The run's options (unused by the flat-metres engine; part of the backend signature).
    progress
        Show a tqdm bar over the categories.

    Returns
    -------
    dict
        ``{category id: distances in metres, one per origin}``.
    """
    index = NetworkIndex(net)
    return {
        cid: nearest_distance_m(index, origins, facilities.take(rows), max_walk_m=cutoff)
        for cid, rows, cutoff in tqdm(requests, desc="categories", disable=not progress)
    }


def category_times(
    net: WalkNetwork,
    origins: Snapped,
    facilities: Snapped,
    requests: Sequence[DistanceRequest],
    options: CoverageOptions,
    *,
    progress: bool = False,
    times: EdgeTimes | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return the walking time (s) and its route's metres to the quickest facility of each category, for a walker.

    The walker-group counterpart of :func:`category_distances`: edge times of ``options.walker_group`` (with
    the hills of ``options.dem_costs``), one :class:`~weihai_gis.lifecircle.time_engine.TimeIndex`, then one search
    per category on the transposed directed graph. Each category's cutoff in metres is a time budget at the
    ADULT reference speed (``walking_speed_m_per_min.adult``: 1000 m ↔ 15 min).

    ``times``: the edge times of ``net`` when already known (a Dask partition gets the whole network's,
    cut to its edges, so that its DEM sampling is the whole run's).

    Returns
    -------
    dict
        ``{category id: (seconds, metres)}``, one value per origin, NaN beyond the budget.
    """
    walker = options.walker_group or "adult"
    index = TimeIndex(
        net,
        times
        if times is not None
        else edge_times(net, dem=options.dem_costs, walker=walker, cache_dir=options.profile_cache_dir),
    )
    adult_m_per_s = walker_groups()["adult"]["speed_m_per_min"] / 60
    return {
        cid: nearest_time_s(index, origins, facilities.take(rows), max_time_s=cutoff / adult_m_per_s)
        for cid, rows, cutoff in tqdm(requests, desc=f"categories ({walker})", disable=not progress)
    }


def _points(frame: gpd.GeoDataFrame, crs: str, what: str) -> gpd.GeoDataFrame:
    what = layer_label(frame, what)
    if frame.crs is None:
        raise CRSError(f"{what}: the layer has no CRS; set it before computing coverage.")
    check_coordinates(frame, what)
    out = frame.to_crs(crs) if not frame.crs.equals(crs) else frame.copy()
    bad = out.geometry.isna() | out.geometry.is_empty
    if bad.any():
        raise LayerError(
            f"{what}: {int(bad.sum())} rows have no geometry (first rows {list(out.index[bad][:5])})."
        )
    geoms = out.geometry.to_numpy()
    not_point = shapely.get_type_id(geoms) != 0
    if not_point.any():
        geoms = geoms.copy()
        geoms[not_point] = shapely.point_on_surface(geoms[not_point])
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=crs))
    return out


#: At most this many points are tested for a GCJ-02/BD-09 offset: a seeded random sample (``random_state=0``)
#: decides as surely as every point. The median test compares medians of ~10-50 m under the true datum with
#: the 300-500 m shift; the sample median's standard error is ~1.25 sigma / sqrt(2000) = 3 % of the spread.
#: The near-street test needs its share ``NEAR_STREET_Z`` binomial errors above chance: at 2000 points that
#: error is <= 1.1 points of share (0.5 / sqrt(2000)), against shares that differ by tens of points when
#: shifted. Testing all 50,000 origins of a city would cost ~25x the nearest-street queries for no change.
OFFSET_SAMPLE = 2000


def _check_offset(
    points: gpd.GeoDataFrame, net: WalkNetwork, edges: gpd.GeoSeries | EdgeReference, what: str, mode: str
) -> list[str]:
    """Test points against the network's ``edges`` for a GCJ-02/BD-09 shift; raise, warn or skip per ``mode``."""
    if mode == "off" or points.empty or not len(edges):
        return []
    sample = (
        points.sample(min(len(points), OFFSET_SAMPLE), random_state=0)
        if len(points) > OFFSET_SAMPLE
        else points
    )
    xy = shapely.get_coordinates(sample.geometry.to_numpy())
    lonlat = np.column_stack(transformer(sample.crs, STORAGE_CRS).transform(xy[:, 0], xy[:, 1]))
    if not inside_china(lonlat[:, 0], lonlat[:, 1]).mean() > 0.5:
        return []  # GCJ-02 shifts only points inside China
    declared = str(points.attrs.get("datum", "wgs84"))
    if declared != "wgs84":  # read as GCJ-02/BD-09 and converted: which datum do the raw values match?
        if (message := declared_datum_mismatch(lonlat, edges, declared)) is None:
            return []
        message = f"{what} vs the walking network {net.source!r}: {message}"
    else:
        diag = diagnose_offset(lonlat[:, 0], lonlat[:, 1], edges)
        if not diag.shifted:
            return []
        message = diag.message(f"{what} vs the walking network {net.source!r}")
    if mode == "error":
        raise CoordinateOffsetError(message)
    log.warning("%s", message)
    return [message]


def _duplicate_facility_ids(fac: gpd.GeoDataFrame, where: str) -> list[str]:
    """Warn (facilities are counted, not joined back one to one) when the ``id`` field repeats a value."""
    if fac.empty or "id" not in fac.columns:
        return []
    ids = fac["id"].astype(str)
    counts = ids[ids.duplicated(keep=False)].value_counts()
    if counts.empty:
        return []
    listed = ", ".join(f"{k!r} ×{v}" for k, v in counts.head(5).items())
    text = (
        f"{where}, field 'id': {len(counts)} ids occur more than once ({listed}); each row counts as a "
        "facility, so the same facility listed twice is counted twice in n_facilities"
    )
    log.warning("%s", text)
    return [text]


def _facility_sets(
    facilities: gpd.GeoDataFrame, category_field: str, prof: Profile
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Row positions of the facilities serving each category, and warnings."""
    if category_field not in facilities.columns:
        raise LayerError(
            f"facilities: category field {category_field!r} is missing; fields are {list(facilities.columns)}."
        )
    values = facilities[category_field].astype(str).to_numpy()
    vocab = set(facility_kinds()["kinds"])
    ids = set(prof.categories["id"])
    unknown = sorted(set(values) - vocab - ids)
    if unknown:
        counts = pd.Series(values).value_counts()
        listed = ", ".join(f"{u!r} ({counts[u]} rows)" for u in unknown[:20])
        raise StandardsError(
            f"facilities, field {category_field!r}: values unknown to profile {prof.name!r} and to "
            f"facility-kinds.yaml: {listed}. Map them to a facility kind or a category id of the profile."
        )
    warnings = []
    unused = sorted(set(values) - prof.known_kinds - ids)
    if unused:
        warnings.append(f"facility kinds not used by profile {prof.name}: {', '.join(unused)} (ignored)")
    sets = {}
    for _, cat in prof.categories.iterrows():
        serve = set(cat["kinds"]) | {cat["id"]}
        sets[cat["id"]] = np.flatnonzero(np.isin(values, list(serve)))
    return sets, warnings


def coverage(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    options: CoverageOptions | None = None,
    *,
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
    inputs: tuple[InputRecord, ...] = (),
    source_label: str = "",
    progress: bool = False,
    distances: DistanceBackend | None = None,
    search_factor: float = SEARCH_FACTOR,
    **overrides: Any,
) -> CoverageResult:
    """Compute life-circle coverage: network distance from every origin to the nearest facility per category.

    Parameters
    ----------
    net
        Walking network (metric CRS).
    origins
        Residences: points (polygons use a point on their surface) with a population field; any CRS.
    facilities
        Facilities with a category field holding facility kinds (``facility-kinds.yaml``) or category ids
        of the profile; any CRS.
    options
        :class:`~weihai_gis.options.CoverageOptions` (profile, fields, snapping limits, offset check,
        hexagon size); default ``CoverageOptions()``.
    units
        ``{name: polygons}`` to summarise by (e.g. ``{"town_areas": layers["town_areas"]}``); the result
        carries each summary in ``units``.
    inputs, source_label
        Provenance of the inputs and a planner-facing description of them, kept in the metadata.
    progress
        Show a tqdm bar over categories.
    distances
        Where the network distances are computed (a :data:`DistanceBackend`): default
        :func:`category_distances` on this machine; :class:`weihai_gis.distributed.DaskDistances`
        runs them on a Dask cluster with the same result (walker-group runs through its ``times`` method,
        the counterpart of :func:`category_times`). Validation, snapping (on the whole network) and the
        summaries happen here either way.
    search_factor
        Metres runs: how far each category's nearest facility is searched, as a multiple of the category's
        limit (default :data:`~weihai_gis.lifecircle.engine.SEARCH_FACTOR`, twice the limit; ``1``: to the
        limit only). One search per category then gives ``met_<c>`` (``dist_<c>`` <= limit) and the
        问题清单's network distance (:func:`~weihai_gis.lifecircle.problems.problems_from_origins`); the
        metadata options record ``search_factor`` and each category's reach (``search_reach_m``).
        Walker-group runs search to their time budget only (``search_reach_m`` None). ``straight_<c>`` is
        exact up to the same reach (or the straight-line buffer's radius if farther; ``straight_reach_m``
        of the options), NaN beyond: a gap that far is told by the network distance's NaN already.
    **overrides
        Fields of :class:`~weihai_gis.options.CoverageOptions` replacing those of ``options``, e.g.
        ``profile="mofcom-15min"``, ``max_snap_m=100``, ``offset_check="warn"``, ``hex_size_m=300``.
        ``offset_check``: for networks in China, ``"error"`` (default) raises
        :class:`CoordinateOffsetError` when the origins or facilities lie much closer to the streets as
        GCJ-02/BD-09 than as declared (an Amap/Baidu export read without its datum); ``"warn"`` only adds
        a warning; ``"off"`` skips the test. ``walker="elderly"`` (or ``adult``, ``child``,
        ``wheelchair``) measures walking minutes for that group: each category's distance limit is a time
        budget at the ADULT reference speed (the standards' 15 min ≈ 1000 m), walked at the group's own
        speed; ``dem_costs="dem.tif"`` adds the hills (Tobler 1993, uphill ≠ downhill, from the resident to
        the facility). Such runs add ``time_<category>`` (minutes) and keep ``dist_<category>`` in metres
        (those of the quickest route); the straight-line buffer becomes the distance the group walks in the
        budget on level ground. The metadata options record ``walker`` and the DEM's file name.

    Returns
    -------
    CoverageResult
        Per-origin flags, hexagon / unit / overall summaries and metadata. A category with no facility in
        the input is *not assessed* (``categories["assessed"]`` False): its distances are NaN, its flags
        False, its rates NaN, and it is left out of ``met_all_basic``, which requires every assessed
        基础保障 category (False for unreachable origins, and for everybody when no basic category is
        assessed). ``warnings`` names the categories left out.

    Raises
    ------
    StandardsError
        Unknown profile, or facility categories unknown to the profile and the kind vocabulary.
    LayerError, CRSError
        Missing fields or geometries, or a layer without CRS.
    CoordinateOffsetError
        Origins or facilities look GCJ-02/BD-09-shifted against the network (see ``offset_check``).
    """
    opts = (options or CoverageOptions()).replace(**overrides) if overrides else options or CoverageOptions()
    prof = opts.profile if isinstance(opts.profile, Profile) else load_profile(opts.profile)
    category_field, population_field = opts.category_field, opts.population_field
    if origins.empty:
        raise LayerError("origins: the layer is empty; nothing to compute coverage for.")
    orig = _points(origins, net.crs, "origins")
    fac = _points(facilities, net.crs, "facilities") if not facilities.empty else facilities
    warnings: list[str] = []
    # the offset check measures against every edge: from the network's segment index (the snapping's), or
    # the edges' STRtree when the network is not in the analysis CRS and has to be reprojected
    edges = EdgeReference(net) if pyproj.CRS(net.crs).equals(ANALYSIS_CRS) else net.edge_series()
    for what, frame in (("origins", orig), ("facilities", fac)):
        warnings.extend(check_extent(frame, net, layer_label(frame, what)))
        warnings.extend(_check_offset(frame, net, edges, layer_label(frame, what), opts.offset_check))
    if population_field in orig.columns:
        pop = population_values(orig[population_field])
    else:
        log.info("origins have no %r field; each origin counts as 1 person", population_field)
        warnings.append(f"origins have no {population_field!r} field: each origin counts as 1 person")
        pop = pd.Series(1.0, index=orig.index)
    id_col = opts.id_field or next((c for c in ("origin_id", "id") if c in orig.columns), None)
    if id_col:  # any frame, not only origins read from a file: results are joined back by this field
        if id_col not in orig.columns:
            raise LayerError(
                f"{layer_label(orig, 'origins')}: id field {id_col!r} is missing; fields are "
                f"{[c for c in orig.columns if c != orig.geometry.name]}."
            )
        refuse_duplicate_ids(orig, layer_label(orig, "origins"), id_col)
    origin_id = orig[id_col].astype(str).to_numpy() if id_col else np.arange(len(orig)).astype(str)
    warnings.extend(_duplicate_facility_ids(fac, layer_label(fac, "facilities")))
    sets, kind_warnings = _facility_sets(fac, category_field, prof) if not fac.empty else ({}, [])
    warnings.extend(kind_warnings)

    snap = {"max_snap_m": opts.max_snap_m, "min_component_nodes": opts.min_component_nodes}
    o_snap = snap_points(net, orig, **snap)  # type: ignore[arg-type]
    warnings.extend(check_snapped(o_snap, layer_label(orig, "origins"), opts.max_snap_m))
    f_snap = snap_points(net, fac, **snap) if not fac.empty else None  # type: ignore[arg-type]
    o_xy = shapely.get_coordinates(orig.geometry.to_numpy())
    f_xy = shapely.get_coordinates(fac.geometry.to_numpy()) if not fac.empty else np.empty((0, 2))
    out = {
        "origin_id": origin_id,
        "population": pop.to_numpy(dtype=float),
        "reachable": o_snap.reachable,
        "unreachable_reason": o_snap.reason,
        "snap_m": o_snap.connector_m,
    }
    cats = prof.categories.drop(columns=["kinds"]).copy()
    timed = opts.walker_group is not None
    # metres: ONE search per category, to search_factor x its limit; its distances give the coverage
    # (<= limit) and the 问题清单's distance of the origins left out. Minutes (a walker group) search to the
    # time budget only: the problem list's metres then come from problems.problem_list's own search.
    reach = {
        str(cid): float(cutoff) if timed else search_reach_m(cutoff, search_factor)
        for cid, cutoff in zip(prof.categories["id"], prof.categories["max_walk_m"], strict=True)
    }
    requests = [(cid, sets[cid], reach[cid]) for cid in reach if len(sets.get(cid, ())) > 0]
    buffer_scale = 1.0
    if timed:
        groups = walker_groups()
        buffer_scale = groups[str(opts.walker_group)]["speed_m_per_min"] / groups["adult"]["speed_m_per_min"]
    # straight_<c> as far as the list's metres search reaches (and the straight-line buffer, at least)
    straight_reach = {
        str(cid): max(search_reach_m(cutoff, search_factor), float(cutoff) * buffer_scale)
        for cid, cutoff in zip(prof.categories["id"], prof.categories["max_walk_m"], strict=True)
    }
    if requests:
        assert f_snap is not None
        if timed:
            if distances is None:
                times = category_times(net, o_snap, f_snap, requests, opts, progress=progress)
            elif callable(getattr(distances, "times", None)):  # a backend that also runs walker groups
                times = distances.times(net, o_snap, f_snap, requests, opts)  # type: ignore[attr-defined]
            else:
                raise ValueError(
                    f"walker={opts.walker_group!r}: this distance backend has no walker-group (minutes) runs; "
                    "use weihai_gis.distributed.DaskDistances or drop the walker."
                )
        elif distances is None:
            dists = category_distances(net, o_snap, f_snap, requests, opts, progress=progress)
        else:
            dists = distances(net, o_snap, f_snap, requests, opts)
    n_fac, n_fac_ok = [], []
    for _, cat in prof.categories.iterrows():
        cid, cutoff = cat["id"], float(cat["max_walk_m"])
        rows = sets.get(cid, np.empty(0, dtype=np.int64))
        n_fac.append(len(rows))
        minutes = np.full(len(orig), np.nan)
        if len(rows) == 0:
            warnings.append(
                f"category {cid} ({cat['name_zh']}): no facilities in the input; not assessed, results are NaN"
            )
            dist = np.full(len(orig), np.nan)
            straight = np.full(len(orig), np.nan)
            bmet = np.zeros(len(orig), dtype=bool)
            n_fac_ok.append(0)
        else:
            assert f_snap is not None
            sub = f_snap.take(rows)
            n_fac_ok.append(int(sub.reachable.sum()))
            if not sub.reachable.any():
                warnings.append(
                    f"category {cid} ({cat['name_zh']}): all {len(rows)} facilities are off the network or on "
                    f"islands (e.g. {sub.reason[0]}); network coverage is 0"
                )
            if timed:
                seconds, dist = times[cid]
                minutes = seconds / 60
            else:
                dist = dists[cid]
            radius = cutoff * buffer_scale  # a walker group: what it covers in the budget on level ground
            straight = straight_distance_m(o_xy, f_xy[rows], within_m=straight_reach[cid])
            bmet = straight <= radius
        out[column("dist", cid)] = dist
        if timed:
            out[column("time", cid)] = minutes
            out[column("met", cid)] = np.isfinite(dist)
        else:  # dist holds the nearest facility up to the reach: met within the limit only
            out[column("met", cid)] = np.isfinite(dist) & (dist <= cutoff)
        out[column("met", cid, buffer=True)] = bmet
        out[column("straight", cid)] = straight
    cats["n_facilities"] = n_fac
    cats["n_facilities_reachable"] = n_fac_ok
    cats["assessed"] = np.asarray(n_fac) > 0
    basic, _ = basic_assessment(cats)
    frame = pd.DataFrame(out)  # one consolidated copy of the columns: drop the per-column arrays
    del out
    # all-basic over the assessed basic categories only: a kind absent from the input is "not assessed",
    # not "nobody served" (met_<cat> of such a category stays False and is reported as NaN rates)
    for buffer in (False, True):
        flags = [column("met", c, buffer=buffer) for c in basic]
        frame[column("met", ALL_BASIC, buffer=buffer)] = frame[flags].all(axis=1) if basic else False
    # copy=False: the frame's columns become the result's (a province's origins hold ~100 columns)
    result_origins = gpd.GeoDataFrame(frame, geometry=orig.geometry.to_numpy(), crs=net.crs, copy=False)
    result_fac = _facilities_frame(fac, f_snap, category_field, net.crs)
    for w in warnings:
        log.warning(w)
    network = {**net.summary(), "source": source_name(net.source)}
    meta = RunMetadata(
        profile_name=prof.name,
        hex_size_m=opts.hex_size_m or auto_hex_size_m(result_origins),
        crs=str(net.crs),
        options={
            **opts.as_dict(),
            "search_factor": float(search_factor),
            "search_reach_m": None if timed else reach,
            "straight_reach_m": straight_reach,
        },
        network_summary=network,
        warnings=tuple(warnings),
        inputs=inputs,
        source_label=source_label,
    )
    return CoverageResult.build(result_origins, cats, result_fac, meta, units=units)


def _facilities_frame(
    fac: gpd.GeoDataFrame, snap: Snapped | None, category_field: str, crs: str
) -> gpd.GeoDataFrame:
    """Facilities with their snapping outcome, in the network CRS."""
    keep = [c for c in ("id", "name", "source_type") if c in fac.columns]
    frame = pd.DataFrame({c: fac[c].to_numpy() for c in keep})
    frame["category"] = fac[category_field].astype(str).to_numpy() if category_field in fac.columns else []
    if snap is not None:
        frame["reachable"] = snap.reachable
        frame["unreachable_reason"] = snap.reason
        frame["snap_m"] = snap.connector_m
    return gpd.GeoDataFrame(frame, geometry=fac.geometry.to_numpy(), crs=crs)
