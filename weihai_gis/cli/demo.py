"""``weihai-gis demo``: the main job on the embedded Weihai dataset (thin wrapper over weihai_gis.pipeline)."""

from __future__ import annotations

import click

from weihai_gis.pipeline import run_main_job
from weihai_gis.standards import list_profiles

__all__ = ["COMMANDS", "demo"]


@click.command("demo")
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--layers",
    "layers_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Planning layers GeoPackage (default: embedded).",
)
@click.option(
    "--network",
    default=None,
    type=click.Path(dir_okay=False),
    help="Walking network you supply (with --facilities and --origins).",
)
@click.option("--facilities", default=None, type=click.Path(dir_okay=False), help="Facilities you supply.")
@click.option(
    "--origins", default=None, type=click.Path(dir_okay=False), help="Origins with a population field."
)
@click.option(
    "--osm-cache",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder written by `weihai-gis fetch osm`.",
)
@click.option(
    "--buildings",
    default=None,
    type=click.Path(dir_okay=False),
    help="Buildings with heights to check against the coastal zones.",
)
@click.option("--height-field", default="height_m", show_default=True)
@click.option("--profile", type=click.Choice(list_profiles()), default="gb50180-2018", show_default=True)
@click.option(
    "--cache-dir", default=None, type=click.Path(file_okay=False), help="Cache for built walking networks."
)
@click.pass_context
def demo(ctx: click.Context, out_dir: str, **options: str | None) -> None:
    r"""Run the whole pipeline: validate layers, coverage, maps and the report, all into --out.

    \b
    $ weihai-gis demo --out out/
    $ weihai-gis demo --osm-cache data/cache --out out/        # after `weihai-gis fetch osm`
    """
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    result = run_main_job(out_dir, progress=not quiet, **options)  # type: ignore[arg-type]
    report = result.layers.report if result.layers is not None else None
    if report is not None:
        click.echo(
            f"图层校验 / layers: {len(report.errors)} errors, {len(report.gaps)} gaps (see validation.txt)"
        )
    for note in result.notes:
        click.echo(f"注意 / note: {note}")
    if result.coverage is not None:
        table = result.coverage.overall().set_index("id")
        click.echo(
            f"全要素达标率 / all basic met: {table.loc['all_basic', 'rate_network']:.1%} "
            f"(直线 buffer {table.loc['all_basic', 'rate_buffer']:.1%}), profile {result.coverage.profile_name}"
        )
        for warning in result.coverage.warnings:
            click.echo(f"注意 / warning: {warning}")
    for name, path in result.files.items():
        click.echo(f"  {name}: {path}")


COMMANDS = [demo]
