"""``weihai-gis sightlines``: coastal zones, viewsheds, height-control surfaces and compliance checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from weihai_gis.cli.types import FILE
from weihai_gis.errors import InputFileError
from weihai_gis.files import atomic_path, require_input_file

if TYPE_CHECKING:  # geopandas, rasterio and the sightline modules load when a command runs (fast --help)
    import geopandas as gpd

__all__ = ["COMMANDS", "sightlines"]


def _read_layer(
    path: Path, what: str, layer: str | None = None, default_layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read one layer; a multi-layer file needs ``layer`` unless it holds ``default_layer``."""
    import pyogrio

    from weihai_gis.layers.io import read_vector

    require_input_file(path, what=what)
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputFileError(f"{what} file {str(path)!r} cannot be read as a vector layer ({exc}).") from exc
    if layer is None and len(names) > 1:
        if default_layer not in names:
            raise InputFileError(
                f"{what} file {str(path)!r} has {len(names)} layers ({', '.join(names)}); name one with "
                f"the --{what.replace(' ', '-')}-layer option."
            )
        layer = default_layer
    if layer is not None and layer not in names:
        raise InputFileError(f"{what} file {str(path)!r} has no layer {layer!r}; layers: {', '.join(names)}.")
    return read_vector(path, layer=layer, what=what)


def _write_gpkg(gdf: gpd.GeoDataFrame, out: Path, layer: str, inputs: tuple[Path, ...]) -> None:
    with atomic_path(out, inputs=inputs) as tmp:
        gdf.to_file(tmp, layer=layer, driver="GPKG")


CURVATURE_COEFF_SHOWN = "0.85714"
"""The help's default of --curvature-coeff; the value is ``sightlines.viewshed.DEFAULT_CURVATURE_COEFF``
(read when the command runs; tests/test_startup.py checks the two agree)."""


def _default_curvature_coeff() -> float:
    from weihai_gis.sightlines import DEFAULT_CURVATURE_COEFF

    return DEFAULT_CURVATURE_COEFF


@click.group("sightlines")
def sightlines() -> None:
    """三线管控 / sightline and coastal controls: zones, viewshed, surface, check."""


@sightlines.command("zones")
@click.option("--coastline", type=FILE, required=True, help="Coastline lines.")
@click.option("--land", type=FILE, required=True, help="Land (county) polygons.")
@click.option("--urban-boundary", type=FILE, help="城镇开发边界 polygons (optional).")
@click.option("--coastline-layer", help="Layer in a multi-layer coastline file (default: 'coastline').")
@click.option("--land-layer", help="Layer in a multi-layer land file (default: 'counties').")
@click.option("--out", type=FILE, required=True, help="Output GeoPackage.")
def zones_cmd(
    coastline: Path,
    land: Path,
    urban_boundary: Path | None,
    coastline_layer: str | None,
    land_layer: str | None,
    out: Path,
) -> None:
    """海岸建筑退缩区 / coastal setback zones (layer coastal_zones)."""
    from weihai_gis.sightlines import coastal_zones

    ucb = _read_layer(urban_boundary, "urban boundary") if urban_boundary else None
    coast = _read_layer(coastline, "coastline", coastline_layer, "coastline")
    zones = coastal_zones(coast, _read_layer(land, "land", land_layer, "counties"), urban_boundary=ucb)
    inputs = tuple(p for p in (coastline, land, urban_boundary) if p)
    _write_gpkg(zones, out, "coastal_zones", inputs)
    n_param = int((zones["status"] == "parameter").sum())
    click.echo(
        f"海岸带分区 {len(zones)} 个 (其中 {n_param} 个为规划参数, 非官方) / {len(zones)} zones -> {out}"
    )


@sightlines.command("viewshed")
@click.option("--dem", type=FILE, required=True, help="DEM GeoTIFF in a metric CRS.")
@click.option("--observer", type=float, nargs=2, required=True, metavar="X Y", help="In the DEM's CRS.")
@click.option("--observer-height", type=float, default=2.0, show_default=True, help="Eye height, m.")
@click.option("--target-height", type=float, default=0.0, show_default=True, help="Target height, m.")
@click.option(
    "--curvature-coeff",
    type=float,
    default=lambda: _default_curvature_coeff(),
    show_default=CURVATURE_COEFF_SHOWN,
    help="Refraction coefficient (GDAL's -cc).",
)
@click.option("--max-distance", type=float, default=None, help="Range limit in metres.")
@click.option("--out", type=FILE, required=True, help="Output GeoTIFF.")
def viewshed_cmd(
    dem: Path,
    observer: tuple[float, float],
    observer_height: float,
    target_height: float,
    curvature_coeff: float,
    max_distance: float | None,
    out: Path,
) -> None:
    """可视域 / viewshed on the DEM's grid: 1 visible, 0 not, 255 nodata (GDAL Edge algorithm).

    With --max-distance only the observer's window of the DEM is read (any DEM size).
    """
    import numpy as np

    from weihai_gis.sightlines import read_dem, viewshed, write_raster

    bounds = None
    if max_distance is not None:
        x, y = observer
        reach = max_distance * 1.01 + 100.0  # a few cells beyond the range: the window's edge is never seen
        bounds = (x - reach, y - reach, x + reach, y + reach)
    grid = read_dem(dem, crs=None, sea_at_or_below_m=None, bounds=bounds)
    res = viewshed(
        grid,
        observer,
        observer_height_m=observer_height,
        target_height_m=target_height,
        curvature_coeff=curvature_coeff,
        max_distance_m=max_distance,
    )
    values = res.visible.view(np.uint8).copy()  # 1 visible, 0 not: bools are bytes of 0 and 1
    np.copyto(values, 255, where=~res.in_range)
    tags = {"VALUES": "1=visible 0=not"}
    write_raster(out, values, grid, nodata=255, dtype="uint8", inputs=(dem,), tags=tags, zlevel=1)
    share = int(np.count_nonzero(res.visible)) / max(int(np.count_nonzero(res.in_range)), 1)
    click.echo(f"可见比例 {share:.1%} / visible share of cells -> {out}")


@sightlines.command("surface")
@click.option("--dem", type=FILE, required=True, help="DEM GeoTIFF (any CRS).")
@click.option("--viewpoints", type=FILE, required=True, help="Viewpoint points.")
@click.option("--ridgelines", type=FILE, help="Ridge lines (default: from the DEM).")
@click.option("--corridors", type=FILE, help="通山达海 corridor lines with width_m.")
@click.option("--resolution", type=float, default=None, help="Analysis cell size in metres.")
@click.option("--ridge-share", type=float, default=None, help="Share of the ridge kept exposed (0-1).")
@click.option("--no-sea", is_flag=True, help="Do not protect the sea horizon.")
@click.option("--out", type=FILE, required=True, help="Output GeoTIFF.")
@click.pass_context
def surface_cmd(
    ctx: click.Context,
    dem: Path,
    viewpoints: Path,
    ridgelines: Path | None,
    corridors: Path | None,
    resolution: float | None,
    ridge_share: float | None,
    no_sea: bool,
    out: Path,
) -> None:
    """限高面 / height-control surface (m above ground; 10000 = no limit)."""
    import numpy as np

    from weihai_gis.sightlines import UNLIMITED_M, read_dem, surface_from_layers, write_surface

    grid = read_dem(dem, resolution_m=resolution)
    vps = _read_layer(viewpoints, "viewpoints", default_layer="viewpoints")
    if vps.empty:
        raise InputFileError(f"viewpoints file {str(viewpoints)!r} has no points.")
    surf = surface_from_layers(
        grid,
        vps,
        ridgelines=_read_layer(ridgelines, "ridgelines", default_layer="ridgelines") if ridgelines else None,
        corridors=_read_layer(corridors, "corridors", default_layer="view_corridors") if corridors else None,
        ridge_exposed_share=ridge_share,
        protect_sea_horizon=not no_sea,
        quiet=bool(ctx.obj and ctx.obj.get("quiet")),
    )
    inputs = tuple(p for p in (dem, viewpoints, ridgelines, corridors) if p)
    write_surface(out, surf, grid, inputs=inputs)
    surf = np.where(np.isinf(surf), UNLIMITED_M, surf)
    limited = surf[np.isfinite(surf) & (surf < UNLIMITED_M)]
    med = float(np.median(limited)) if limited.size else float("nan")
    click.echo(f"限高面 {len(vps)} 个眺望点, 受控单元中位限高 {med:.1f} m / median limit -> {out}")


@sightlines.command("check")
@click.option("--buildings", type=FILE, required=True, help="Footprints layer.")
@click.option("--height-field", required=True, help="Field with the height above ground in metres.")
@click.option("--id-field", default="id", show_default=True, help="Field identifying buildings.")
@click.option("--zones", type=FILE, help="Zones layer with a 'zone' field.")
@click.option("--surface", type=FILE, help="Height-control surface GeoTIFF.")
@click.option("--out", type=FILE, required=True, help="Output GeoPackage.")
def check_cmd(
    buildings: Path, height_field: str, id_field: str, zones: Path | None, surface: Path | None, out: Path
) -> None:
    """合规检查 / check buildings against zones and the surface (layer violations)."""
    from weihai_gis.sightlines import check_buildings, read_dem

    blds = _read_layer(buildings, "buildings")
    grid = read_dem(surface, crs=None, sea_at_or_below_m=None) if surface else None
    zone_layer = _read_layer(zones, "zones", default_layer="coastal_zones") if zones else None
    viol = check_buildings(blds, height_field=height_field, id_field=id_field, zones=zone_layer, surface=grid)
    inputs = tuple(p for p in (buildings, zones, surface) if p)
    _write_gpkg(viol, out, "violations", inputs)
    n_b = viol["building_id"].nunique()
    click.echo(f"违规 {len(viol)} 条, 涉及建筑 {n_b} 栋 / {len(viol)} violations in {n_b} buildings -> {out}")


COMMANDS = [sightlines]
