"""``weihai-gis tijian``: the 城市体检 indicator table, 问题清单 and the plan's targets (thin wrappers)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from weihai_gis.cli.options import input_file, input_reading_options, output_file
from weihai_gis.errors import InputFileError
from weihai_gis.files import atomic_path

if TYPE_CHECKING:  # pandas and the tijian modules load when a command runs (fast --help)
    import pandas as pd

__all__ = ["COMMANDS", "tijian"]

log = logging.getLogger(__name__)

HITWH = "weihai-hitwh.osm.pbf"


@click.group("tijian")
def tijian() -> None:
    """城市体检: coverage indicators (住建部 / TD/T 1063-2021) in three variants, 问题清单, plan targets."""


@tijian.command("indicators")
@input_file("--catalogue", "An edited copy of tijian-indicators.yaml (default: packaged).")
def indicators(catalogue_path: Path | None) -> None:
    """List the indicator catalogue: system, level, threshold, official variant, verified flag.

    \b
    $ weihai-gis tijian indicators
    """
    from weihai_gis.tijian import load_catalogue

    cat = load_catalogue(catalogue_path)
    for _, r in cat.iterrows():
        flag = "已核实" if r["threshold_verified"] else "未核实"
        click.echo(
            f"{r['system']:<13} {r['level']} {r['name_zh']}（{r['threshold_text']}，"
            f"{'直线' if r['official'] == 'straight_line' else '路网'}口径，{flag}）[{r['id']}]"
        )


@tijian.command("targets")
@input_file("--targets-file", "An edited copy of plan-targets-2025-2027.yaml (default: packaged).")
@input_file("--progress", "Progress CSV/XLSX: target_id, date, achieved | feature + status.")
@click.option("--today", default=None, help="Reporting date YYYY-MM-DD (default: today).")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the progress table to this .xlsx or .csv.",
)
@click.option(
    "--map",
    "map_path",
    type=str,  # an output: not a click.Path, so the run's input checks leave it alone
    default=None,
    help="Write an offline HTML map of the spatial targets' features coloured by status.",
)
def targets(
    targets_file_path: Path | None,
    progress_path: Path | None,
    today: str | None,
    out_path: Path | None,
    map_path: str | None,
) -> None:
    """List the plan's numbered targets with their clause, and progress against a linear schedule.

    \b
    $ weihai-gis tijian targets
    $ weihai-gis tijian targets --progress progress.xlsx --today 2026-06-30 --out progress.xlsx \\
        --map progress.html
    """
    import pandas as pd

    from weihai_gis.tijian import load_targets, progress_table, read_progress

    table = progress_table(
        load_targets(targets_file_path), read_progress(progress_path) if progress_path else None, today=today
    )
    for _, r in table.iterrows():
        done = "—" if pd.isna(r["achieved"]) else f"{r['achieved']:g}"
        click.echo(f"[{r['section']}] {r['name_zh']}: {done} / {r['target']:g} {r['unit']}（{r['status']}）")
    inputs = tuple(p for p in (progress_path, targets_file_path) if p)
    if out_path is not None:
        _write_table(out_path, {"规划目标进展": table}, inputs=inputs)
        click.echo(f"输出 / written: {out_path}")
    if map_path is not None:
        from weihai_gis.layers import load_layers
        from weihai_gis.maps import save_map
        from weihai_gis.tijian.progress_map import progress_map, target_features

        feats, missing = target_features(
            load_targets(targets_file_path),
            read_progress(progress_path) if progress_path else None,
            load_layers(),
        )
        save_map(progress_map(feats, missing), Path(map_path), offline=True)
        click.echo(f"进展地图 / map: {map_path}（{len(feats)} 个要素；{len(missing)} 个规划要素不在图层中）")


def _write_table(
    out_path: Path,
    sheets: dict[str, pd.DataFrame],
    *,
    inputs: tuple[Path, ...],
    lines: list[str] | None = None,
) -> None:
    from weihai_gis.tijian import write_xlsx

    if out_path.suffix.lower() == ".xlsx":
        write_xlsx(out_path, sheets, inputs=inputs, lines=lines)
    elif out_path.suffix.lower() == ".csv":
        with atomic_path(out_path, inputs=inputs) as tmp:
            next(iter(sheets.values())).to_csv(tmp, index=False, encoding="utf-8-sig")
    else:
        raise InputFileError(f"--out {str(out_path)!r}: expected a .xlsx or .csv file name.")


def _default_osm() -> Path | None:
    try:
        from weihai_gis import data
    except ImportError:  # pragma: no cover - older layout
        return None
    p = data.path(HITWH)
    return p if p.exists() else None


@tijian.command("run")
@input_file(
    "--osm",
    "OSM extract (.osm.pbf): network, facilities, and approximate land and 小区 (default: embedded 山大哈工大 extract).",
)
@input_file("--network", "Walking network (overrides the one from --osm).")
@input_file(
    "--drive-network", "Driving network: .osm.pbf or lines with highway/oneway (default: from --osm)."
)
@input_file(
    "--facilities", "Facilities: CSV/XLSX/vector with kinds or Amap/OSM types (overrides --osm POIs)."
)
@input_reading_options
@input_file("--origins", "Residents (points/polygons with a population field) for the population variant.")
@input_file("--land", "The bureau's land-use polygons (三调); residential land is selected by code.")
@click.option("--land-layer", default=None, help="Layer of --land.")
@click.option(
    "--land-code-field", default=None, help="Land-use code field of --land (default from settings: DLBM)."
)
@click.option(
    "--land-codes", default=None, help="Comma-separated residential codes (default from settings: 0701)."
)
@input_file(
    "--xiaoqu", "小区 polygons with id and name_zh (default: OSM residential compounds, approximate)."
)
@input_file("--jiequ", "街区/街道 polygons with id and name_zh (default: embedded town areas, approximate).")
@input_file("--catalogue", "An edited copy of tijian-indicators.yaml.")
@input_file("--previous", "Last year's table (XLSX/CSV written by this command) for the change column.")
@input_file("--indicator-targets", "Targets per indicator: CSV/XLSX with id, year, target.")
@click.option("--cell-m", type=float, default=None, help="Land sampling grid (m; default from settings: 20).")
@click.option(
    "--min-component-nodes",
    type=int,
    default=None,
    help="Network pieces smaller than this are islands (default: config).",
)
@output_file("Output .xlsx (体检指标表, 问题清单, 单元评估).")
@click.pass_context
def run(
    ctx: click.Context,
    osm_path,
    network_path,
    drive_network_path,
    facilities_path,
    category_field,
    mapping,
    datum,
    origins_path,
    population_field,
    land_path,
    land_layer,
    land_code_field,
    land_codes,
    xiaoqu_path,
    jiequ_path,
    catalogue_path,
    previous_path,
    indicator_targets_path,
    cell_m,
    min_component_nodes,
    out_path,
) -> None:
    """Compute the 体检 coverage table (three variants), the 问题清单 per 小区 and per 街区.

    \b
    $ weihai-gis tijian run --out tijian.xlsx                   # embedded 山大哈工大 extract, approximate land
    $ weihai-gis tijian run --network roads.gpkg --facilities amap.xlsx --mapping amap --datum gcj02 \\
        --land sandiao.gpkg --land-code-field DLBM --xiaoqu xiaoqu.gpkg --jiequ jiedao.gpkg \\
        --origins pop.gpkg --previous tijian-2025.xlsx --out tijian-2026.xlsx
    """
    from weihai_gis.facilities import facilities_from_osm, read_facilities
    from weihai_gis.layers.io import read_vector
    from weihai_gis.network import build_network
    from weihai_gis.network.drive import build_drive_network
    from weihai_gis.population import origins_from_osm_buildings, origins_from_points
    from weihai_gis.tijian import (
        assess,
        attach_targets,
        compare_previous,
        load_catalogue,
        osm_residential,
        read_residential_land,
        read_table,
        tijian_settings,
    )
    from weihai_gis.tijian.land import town_units

    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    if out_path.suffix.lower() != ".xlsx":
        raise InputFileError(f"--out {str(out_path)!r}: expected a .xlsx file name.")
    osm = osm_path or (
        _default_osm() if not (network_path and facilities_path and land_path and xiaoqu_path) else None
    )
    if network_path is None and osm is None:
        raise click.UsageError("give --network (or --osm; the embedded extract is not available)")
    if facilities_path is None and osm is None:
        raise click.UsageError("give --facilities (or --osm)")
    net = build_network(network_path or osm)  # type: ignore[arg-type]  # one of them is given (checked above)
    settings = tijian_settings(catalogue_path)
    fac = (
        read_facilities(facilities_path, datum=datum, category_field=category_field, mapping=mapping)
        if facilities_path
        else facilities_from_osm(osm)  # type: ignore[arg-type]
    )
    osm_land = osm_xq = None
    if osm is not None and (land_path is None or xiaoqu_path is None):
        osm_land, osm_xq = osm_residential(osm, net.crs)
    if land_path:
        codes = tuple(c.strip() for c in land_codes.split(",")) if land_codes else settings["land_codes"]
        land = read_residential_land(
            land_path,
            layer=land_layer,
            code_field=land_code_field or settings["land_code_field"],
            codes=codes,
        )
    else:
        land = osm_land
    if land is None:
        raise click.UsageError("give --land (the bureau's 三调 polygons) or --osm for the approximation")
    xiaoqu = read_vector(xiaoqu_path, what="小区") if xiaoqu_path else osm_xq
    if jiequ_path:
        jiequ = read_vector(jiequ_path, what="街区")
    else:
        from weihai_gis.layers import load_layers

        jiequ = town_units(load_layers().get("town_areas"), land)
    if origins_path:
        origins = origins_from_points(origins_path, population_field=population_field)
    elif osm is not None:
        from pyrosm import OSM

        origins = origins_from_osm_buildings(OSM(str(osm)).get_buildings())
    else:
        origins = None
    units = {k: v for k, v in (("小区", xiaoqu), ("街区", jiequ)) if v is not None and len(v)}
    result = assess(
        net,
        land,
        fac,
        origins,
        catalogue=load_catalogue(catalogue_path),
        units=units,
        cell_m=cell_m,
        min_component_nodes=min_component_nodes,
        drive=build_drive_network(drive_network_path or osm)  # type: ignore[arg-type]
        if (drive_network_path or osm)
        else None,
        progress=not quiet,
    )
    table = result.table
    inputs = tuple(
        p
        for p in (
            osm_path,
            network_path,
            facilities_path,
            origins_path,
            land_path,
            xiaoqu_path,
            jiequ_path,
            previous_path,
            indicator_targets_path,
        )
        if p
    )
    if previous_path:
        table = compare_previous(table, read_table(previous_path))
    if indicator_targets_path:
        table = attach_targets(table, read_table(indicator_targets_path, what="indicator target file"))
    sheets = {"体检指标表": table}
    for level, problems in result.problems.items():
        sheets[f"{level}问题清单"] = problems
    sheets["单元评估"] = result.assessment
    from weihai_gis.tijian.workbook import header_lines

    lines = header_lines(
        sources=[Path(p).name for p in inputs if p not in (previous_path, indicator_targets_path)],
        land_approximate=result.land_approximate,
        origins_estimated=origins_path is None and origins is not None,
        catalogue=load_catalogue(catalogue_path),
    )
    _write_table(out_path, sheets, inputs=inputs, lines=lines)
    click.echo(
        f"城市体检 / 体检指标表 — 居住用地 {'OSM 近似' if result.land_approximate else '三调'}，"
        f"{result.samples['weight'].sum() / 1e6:.3f} km²，{len(result.samples)} 个样点"
    )
    import pandas as pd

    for _, r in table.iterrows():
        vals = "  ".join(
            "—" if pd.isna(r[f"value_{v}"]) else f"{r[f'value_{v}']:.1f}"
            for v in ("straight_line", "network_area", "network_population")
        )
        click.echo(f"  {r['name_zh']}（{r['unit']}）: 直线/路网面积/路网人口 = {vals}")
    for level, problems in result.problems.items():
        click.echo(f"{level}问题清单: {len(problems)} 个{level}未达标")
    click.echo(f"输出 / written: {out_path}")


COMMANDS = [tijian]
