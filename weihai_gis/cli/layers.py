"""``weihai-gis layers list|show|validate``: inspect and check the planning layers."""

from __future__ import annotations

from pathlib import Path

import click

from weihai_gis.cli.options import FILE
from weihai_gis.layers import DEFAULT_GPKG, SCHEMAS, load_layers, validate_layers
from weihai_gis.layers.issues import expected_label

__all__ = ["COMMANDS", "layers"]


def _parse_overrides(items: tuple[str, ...]) -> dict[str, str | tuple[str, str]]:
    """``NAME=FILE`` or ``NAME=FILE:LAYER`` -> overrides mapping for load_layers."""
    out: dict[str, str | tuple[str, str]] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not spec:
            raise click.BadParameter(f"{item!r}: expected NAME=FILE or NAME=FILE:LAYER", param_hint="--use")
        file, colon, layer = spec.rpartition(":") if ":" in Path(spec).name else (spec, "", "")
        out[name] = (file, layer) if colon else spec
    return out


_USE = click.option(
    "--use",
    "uses",
    multiple=True,
    metavar="NAME=FILE[:LAYER]",
    help="Replace one layer with the bureau's file (repeatable), e.g. --use towns=bureau_towns.shp",
)


@click.group()
def layers() -> None:
    """规划图层 / planning layers: list, show, validate."""


@layers.command("list")
@click.argument("path", required=False, type=FILE)
def list_cmd(path: Path | None) -> None:
    """列出图层 / list layers with geometry, row count and the count the plan expects."""
    data = load_layers(path, validate=False)
    click.echo(f"数据 dataset: {path or DEFAULT_GPKG}")
    click.echo(f"{'layer':<18} {'中文':<12} {'geometry':<36} {'rows':>5}  expected")
    for name, schema in SCHEMAS.items():
        n = len(data[name]) if name in data else "—"
        click.echo(
            f"{name:<18} {schema.title_zh:<12} {schema.geometry_label:<36} {n!s:>5}  {expected_label(schema)}"
        )


@layers.command("show")
@click.argument("name")
@click.argument("path", required=False, type=FILE)
@click.option("--limit", default=100, show_default=True, help="Rows to print (0 = all).")
def show_cmd(name: str, path: Path | None, limit: int) -> None:
    """显示图层 / print the rows of layer NAME as a table (geometry as its type)."""
    if name not in SCHEMAS:
        raise click.BadParameter(
            f"unknown layer {name!r}; choose from {', '.join(SCHEMAS)}", param_hint="NAME"
        )
    gdf = load_layers(path, validate=False)[name]
    table = gdf.drop(columns=gdf.geometry.name).assign(geometry=gdf.geom_type.fillna("(none)"))
    if "basis" in table.columns:
        table = table.drop(columns="basis")
    rows = table if limit == 0 else table.head(limit)
    import pandas as pd

    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
        click.echo(rows.to_string(index=False) if len(rows) else f"{name}: 0 rows")
    click.echo(f"({len(gdf)} rows; column basis / 来源 omitted: see weihai_gis/data/SOURCES.md)")


@layers.command("validate")
@click.argument("path", required=False, type=FILE)
@_USE
def validate_cmd(path: Path | None, uses: tuple[str, ...]) -> None:
    """校验 / validate the dataset (default: embedded weihai_gis/data/weihai.gpkg); exit 2 on errors."""
    report = validate_layers(path, overrides=_parse_overrides(uses))
    click.echo(f"校验 validation: {path or DEFAULT_GPKG}")
    click.echo(report.text())
    if not report.ok:
        raise click.exceptions.Exit(2)


COMMANDS = [layers]
