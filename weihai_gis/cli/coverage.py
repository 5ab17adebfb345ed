"""``weihai-gis coverage``: life-circle coverage from network, facility and origin files (thin wrapper)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from weihai_gis.cli.options import (
    cache_dir_option,
    coverage_input_options,
    facility_table,
    input_file,
    layer_of,
    output_file,
    sample_option,
    scheduler_option,
    street_options,
    walker_options,
)
from weihai_gis.errors import InputFileError
from weihai_gis.options import CoverageOptions

if TYPE_CHECKING:  # the engine, geopandas and the writers load when the command runs (fast --help)
    from weihai_gis.lifecircle import CoverageResult

__all__ = ["COMMANDS", "coverage"]

log = logging.getLogger(__name__)


@click.command("coverage")
@input_file("--network", "Walking network: .osm.pbf, .osm(.bz2), .graphml or road lines.")
@click.option("--network-layer", default=None, help="Layer of a multi-layer road-lines file.")
@input_file("--facilities", "Facilities: CSV/XLSX/vector file.")
@input_file("--origins", "Origins (points or polygons) with a population field.")
@coverage_input_options
@input_file("--units", "Polygons to summarise by (id, name_zh).")
@click.option(
    "--hex-size-m",
    type=click.FloatRange(min=1, min_open=False),
    default=None,
    help="Hexagon side in metres [default: about 100 hexagons over the origins, 100-500 m].",
)
@cache_dir_option
@sample_option("helsinki")
@walker_options
@scheduler_option
@street_options
@output_file("Output GeoPackage.")
@click.pass_context
def coverage(
    ctx: click.Context,
    network_path: Path | None,
    network_layer: str | None,
    facilities_path: Path | None,
    origins_path: Path | None,
    category_field: str | None,
    mapping: str,
    profile: str,
    datum: str,
    population_field: str,
    units_path: Path | None,
    hex_size_m: float | None,
    cache_dir: str | None,
    sample: str | None,
    walker: str | None,
    dem_costs_path: Path | None,
    compare_walkers: str | None,
    scheduler: str | None,
    barriers_path: Path | None,
    crossings_path: Path | None,
    service_areas: str | None,
    service_area_buffer: float | None,
    out_path: Path,
) -> None:
    """Compute 15-minute life-circle coverage (覆盖率, 全要素达标率) and write a GeoPackage + CSV/XLSX.

    Runs the same coverage pipeline as ``weihai-gis demo``; ``weihai-gis report --results`` and
    ``weihai-gis map --results`` render the GeoPackage it writes.

    \b
    $ weihai-gis coverage --sample helsinki --out results.gpkg
    $ weihai-gis coverage --sample helsinki --scheduler local:2 --out results.gpkg   # on Dask
    $ weihai-gis coverage --sample helsinki --walker elderly --out elderly.gpkg      # minutes, 老年人
    $ weihai-gis coverage --network x.osm.pbf --facilities x.osm.pbf --origins b.gpkg \\
        --barriers closures.gpkg:工地 --service-areas --out results.gpkg   # cut network, 服务范围
    $ weihai-gis coverage --network weihai.osm.pbf --facilities amap.csv --mapping amap --datum gcj02 \\
        --origins buildings.gpkg --units towns.gpkg --out results.gpkg
    """
    from weihai_gis.io.results import write_results
    from weihai_gis.io.tables import write_summary_tables
    from weihai_gis.jobs.coverage_job import read_street_inputs, run_coverage_job
    from weihai_gis.layers.io import read_vector
    from weihai_gis.samples import sample_inputs, supplied_inputs

    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    if out_path.suffix.lower() != ".gpkg":
        raise InputFileError(f"--out {str(out_path)!r}: expected a .gpkg file name.")
    if sample:
        inputs = sample_inputs()
        files: tuple[Path, ...] = ()
    else:
        given = {"--network": network_path, "--facilities": facilities_path, "--origins": origins_path}
        if missing := [name for name, value in given.items() if not value]:
            raise click.UsageError(f"missing {', '.join(missing)} (or use --sample helsinki)")
        assert network_path and facilities_path and origins_path
        inputs = supplied_inputs(
            network_path,
            facilities_path,
            origins_path,
            datum=datum,
            mapping=mapping,
            category_field=category_field,
            population_field=population_field,
            table=facility_table(),
        )
        files = (network_path, facilities_path, origins_path) + ((units_path,) if units_path else ())
    if dem_costs_path:
        files = (*files, dem_costs_path)
    click.echo(inputs.label_zh)
    units = {}
    if units_path:
        units[units_path.stem.replace("-", "_")] = read_vector(units_path, what="units")
    options = CoverageOptions(profile=profile, hex_size_m=hex_size_m, walker=walker, dem_costs=dem_costs_path)
    roles = {"network": network_path, "facilities": facilities_path, "origins": origins_path}
    barriers, crossings = read_street_inputs(
        barriers_path, crossings_path, barriers_layer=layer_of("barriers_path")
    )
    files += tuple(p for p in (barriers_path, crossings_path) if p)
    _net, result = run_coverage_job(
        inputs,
        options,
        units=units,
        files=roles,
        network_layer=network_layer,
        cache_dir=cache_dir,
        progress=not quiet,
        scheduler=scheduler,
        compare_walker=compare_walkers,
        barriers=barriers,
        crossings=crossings,
        service_areas=service_areas,
        service_area_buffer_m=service_area_buffer,
    )
    write_results(result, out_path, inputs=files)
    csv, xlsx = write_summary_tables(
        result, out_path.with_suffix(".csv"), out_path.with_suffix(".xlsx"), inputs=files
    )
    _echo_summary(result)
    click.echo(f"输出 / written: {out_path}, {csv}, {xlsx}")


def _echo_summary(result: CoverageResult) -> None:
    """Print the run's headline figures from the result (nothing recomputed)."""
    from weihai_gis.lifecircle import ALL_BASIC

    table = result.overall()
    net = result.network_summary
    o = result.origins
    unreach = o.loc[~o["reachable"], "population"].sum()
    click.echo(f"生活圈覆盖 / coverage — 标准 profile: {result.profile_name}")
    click.echo(
        f"路网 network: {net.get('nodes')} 节点 nodes, {float(net.get('length_km', 0)):.1f} km, "
        f"{net.get('components')} 连通分量 components"
    )
    click.echo(
        f"起点 origins: {len(o)}，人口 population {result.population:,.0f}；不可达 unreachable "
        f"{int((~o['reachable']).sum())} ({unreach:,.0f} 人)；六边形 hexagons {result.hex_size_m:g} m"
    )
    for _, row in table.iterrows():
        rate = (
            "无设施 no facilities"
            if not row["assessed"] and row["id"] != ALL_BASIC
            else (f"{row['rate_network']:.1%}（直线 buffer {row['rate_buffer']:.1%}）")
        )
        click.echo(f"  {row['name_zh']} {row['id']}: {rate}")
    all_basic = table.loc[table["id"] == ALL_BASIC].iloc[0]
    click.echo(f"全要素达标率 / all basic met: {all_basic['rate_network']:.1%}")
    for w in result.warnings:
        click.echo(f"注意 / warning: {w}")


COMMANDS = [coverage]
