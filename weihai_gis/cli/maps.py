"""``weihai-gis map`` and ``weihai-gis report``: offline HTML maps and the HTML report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from weihai_gis.cli.options import FILE, input_file, layers_options, output_file
from weihai_gis.files import require_input_file

if TYPE_CHECKING:  # geopandas, folium and the readers load when a command runs (fast --help)
    import geopandas as gpd

__all__ = ["COMMANDS", "map_command", "report_command"]

_BASEMAPS = click.Choice(["none", "osm", "tianditu", "tianditu-img", "amap"])


def _layers(path: Path | None, validate: bool) -> Mapping[str, gpd.GeoDataFrame]:
    from weihai_gis.layers import load_layers

    return load_layers(path, validate=validate)


def _violations(path: Path | None) -> gpd.GeoDataFrame | None:
    if path is None:
        return None
    from weihai_gis.layers.io import list_file_layers, read_vector

    names = list_file_layers(require_input_file(path, what="violations"))
    return read_vector(path, layer="violations" if "violations" in names else names[0], what="violations")


@click.command("map")
@layers_options
@input_file("--results", "Coverage results GeoPackage (`weihai-gis coverage --out`): draw the coverage map.")
@input_file("--violations", "Sightline violations GeoPackage: draw the sightlines map.")
@input_file("--viewshed", "Viewshed GeoTIFF overlay.")
@input_file("--surface", "Height-limit surface GeoTIFF.")
@click.option(
    "--rate",
    "rate_column",
    default="rate_all_basic",
    show_default=True,
    help="Coverage rate column to map, e.g. rate_primary_school.",
)
@click.option(
    "--basemap", type=_BASEMAPS, default="none", show_default=True, help="Basemap tiles (none = offline)."
)
@click.option("--tianditu-key", envvar="TIANDITU_TOKEN", help="天地图 key (default $TIANDITU_TOKEN).")
@click.option(
    "--embed-token", is_flag=True, help="Write the Tianditu key into the HTML (else read from ?tk=)."
)
@click.option(
    "--offline/--online", default=True, show_default=True, help="Inline all scripts/styles (no CDN)."
)
@click.option(
    "--png",
    "png_path",
    type=FILE,
    help="Also save the map as a PNG for documents (headless Chromium screenshot of the offline page).",
)
@click.option(
    "--png-size",
    default=(1200, 900),
    type=(click.IntRange(300, 8000), click.IntRange(300, 8000)),
    show_default=True,
    help="PNG view in CSS pixels (width height).",
)
@click.option(
    "--dpi",
    default=192,
    type=click.IntRange(48, 600),
    show_default=True,
    help="PNG resolution: 96 dpi per CSS pixel scale (192 = 2 device pixels per CSS pixel).",
)
@output_file("Output .html file.")
def map_command(
    layers_path: Path | None,
    validate: bool,
    results_path: Path | None,
    violations_path: Path | None,
    viewshed_path: Path | None,
    surface_path: Path | None,
    rate_column: str,
    basemap: str,
    tianditu_key: str | None,
    embed_token: bool,
    offline: bool,
    png_path: Path | None,
    png_size: tuple[int, int],
    dpi: int,
    out_path: Path,
) -> None:
    """Write an interactive map as one HTML file (planning layers by default), and a PNG with --png.

    \b
    $ weihai-gis map --out planning.html
    $ weihai-gis map --results results.gpkg --out coverage.html --png coverage.png --dpi 192
    $ weihai-gis map --results results.gpkg --rate rate_all_basic --out coverage.html
    $ weihai-gis map --basemap tianditu --out planning_tdt.html   # open as planning_tdt.html?tk=KEY
    """
    from weihai_gis import maps

    layers = _layers(layers_path, validate)
    opts: dict[str, Any] = {"basemap": basemap, "tianditu_key": tianditu_key, "embed_token": embed_token}
    if results_path is not None:
        from weihai_gis.io.results import read_results

        res = read_results(results_path)
        m = maps.coverage_map(res, layers if res.meta.in_weihai else None, rate_column=rate_column, **opts)
        kind = "覆盖率 / coverage"
    elif violations_path is not None or viewshed_path is not None or surface_path is not None:
        m = maps.sightlines_map(
            _violations(violations_path), layers, viewshed=viewshed_path, surface=surface_path, **opts
        )
        kind = "三线管控 / sightlines"
    else:
        m = maps.planning_map(layers, **opts)
        kind = "规划图层 / planning"
    dest = maps.save_map(m, out_path, offline=offline)
    for msg in getattr(m, "weihai_warnings", []):
        click.echo(f"警告 / warning: {msg}", err=True)
    size_kb = dest.stat().st_size / 1024
    click.echo(
        f"地图 / map ({kind}, {'离线 offline' if offline else '在线 online'}): {dest} ({size_kb:.0f} KB)"
    )
    if png_path is not None:
        from weihai_gis.render.chromium import CSS_DPI, screenshot_png

        width, height = png_size
        png = screenshot_png(dest, png_path, width_px=width, height_px=height, scale=dpi / CSS_DPI)
        click.echo(f"图片 / PNG: {png} ({width * dpi // CSS_DPI} × {height * dpi // CSS_DPI} px, {dpi} dpi)")


@click.command("report")
@layers_options
@input_file("--results", "Coverage results GeoPackage.")
@input_file("--violations", "Violations GeoPackage.")
@click.option("--title", default="威海精致城市建设分析报告", show_default=True, help="Report title.")
@click.option("--no-maps", is_flag=True, help="Leave the embedded maps out (smaller file).")
@click.option(
    "--pdf", "pdf_path", type=FILE, help="Also print the report to this A4 PDF (headless Chromium)."
)
@output_file("Output .html file.")
def report_command(
    layers_path: Path | None,
    validate: bool,
    results_path: Path | None,
    violations_path: Path | None,
    title: str,
    no_maps: bool,
    pdf_path: Path | None,
    out_path: Path,
) -> None:
    """Write the offline HTML report (Chinese) with tables, charts, maps, method and provenance.

    \b
    $ weihai-gis report --out report.html
    $ weihai-gis report --results results.gpkg --out report.html --pdf report.pdf
    """
    from weihai_gis.report import build_report, write_report

    layers = _layers(layers_path, validate)
    from weihai_gis.io.results import read_results

    coverage = read_results(results_path) if results_path is not None else None
    page = build_report(
        layers=layers,
        coverage=coverage,
        sightlines=_violations(violations_path),
        title=title,
        include_maps=not no_maps,
    )
    dest = write_report(page, out_path)
    click.echo(f"报告 / report: {dest} ({dest.stat().st_size / 1024:.0f} KB)")
    if pdf_path is not None:
        from weihai_gis.render.chromium import print_pdf

        click.echo(f"打印版 / PDF (A4): {print_pdf(dest, pdf_path)}")


COMMANDS = [map_command, report_command]
