"""``weihai-gis layers list|show|validate``: inspect and check the planning layers."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from weihai_gis import data as embedded_data
from weihai_gis.cli.types import FILE
from weihai_gis.layers import gpkg_rows
from weihai_gis.layers.issues import expected_label
from weihai_gis.layers.schema import SCHEMAS

# list and show start without geopandas (< 0.5 s CPU: scripts/bench_startup.py): a GeoPackage is read with
# sqlite3 (weihai_gis.layers.gpkg_rows); other formats, and validate, go through the full loader.

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


def _dataset(path: Path | None) -> Path:
    return path or embedded_data.path("weihai.gpkg")


def _quick(path: Path) -> bool:
    """Whether the file may be read with sqlite3 (a GeoPackage); the full loader reports any problem."""
    return path.suffix.lower() == ".gpkg" and path.is_file()


def _row_counts(path: Path | None) -> dict[str, int]:
    counts = gpkg_rows.row_counts(_dataset(path)) if _quick(_dataset(path)) else None
    if counts is None:
        from weihai_gis.layers import load_layers

        data = load_layers(path, validate=False)
        counts = {name: len(data[name]) for name in SCHEMAS if name in data}
    return counts


def _width(text: str) -> int:
    """Terminal columns of ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return str(value)


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell (numbers right-aligned), one line per row."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in rows) for i in range(len(columns))
    ]
    widths = [max([_width(c), *(_width(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = [
            " " * (w - _width(v)) + v if right else v + " " * (w - _width(v))
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(list(columns)), *(line(r) for r in cells)])


def _attribute_table(path: Path | None, name: str, limit: int) -> gpkg_rows.AttributeTable:
    table = gpkg_rows.attribute_table(_dataset(path), name, limit=limit) if _quick(_dataset(path)) else None
    if table is None:
        from weihai_gis.layers import load_layers

        gdf = load_layers(path, validate=False)[name]
        frame = gdf.drop(columns=gdf.geometry.name).assign(
            geometry=gdf.geom_type.fillna(gpkg_rows.NO_GEOMETRY)
        )
        head = frame if limit == 0 else frame.head(limit)
        rows = tuple(
            tuple(None if v != v else v for v in r) for r in head.astype(object).itertuples(index=False)
        )
        table = gpkg_rows.AttributeTable(columns=tuple(frame.columns), rows=rows, n_rows=len(gdf))
    return table


@layers.command("list")
@click.argument("path", required=False, type=FILE)
def list_cmd(path: Path | None) -> None:
    """列出图层 / list layers with geometry, row count and the count the plan expects."""
    counts = _row_counts(path)
    click.echo(f"数据 dataset: {_dataset(path)}")
    click.echo(f"{'layer':<18} {'中文':<12} {'geometry':<36} {'rows':>5}  expected")
    for name, schema in SCHEMAS.items():
        n = counts.get(name, "—")
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
    table = _attribute_table(path, name, limit)
    keep = [i for i, c in enumerate(table.columns) if c != "basis"]
    columns = [table.columns[i] for i in keep]
    rows = [[row[i] for i in keep] for row in table.rows]
    click.echo(_text_table(columns, rows) if rows else f"{name}: 0 rows")
    click.echo(f"({table.n_rows} rows; column basis / 来源 omitted: see weihai_gis/data/SOURCES.md)")


@layers.command("validate")
@click.argument("path", required=False, type=FILE)
@_USE
def validate_cmd(path: Path | None, uses: tuple[str, ...]) -> None:
    """校验 / validate the dataset (default: embedded weihai_gis/data/weihai.gpkg); exit 2 on errors."""
    from weihai_gis.layers import validate_layers

    report = validate_layers(path, overrides=_parse_overrides(uses))
    click.echo(f"校验 validation: {_dataset(path)}")
    click.echo(report.text())
    if not report.ok:
        raise click.exceptions.Exit(2)


COMMANDS = [layers]
