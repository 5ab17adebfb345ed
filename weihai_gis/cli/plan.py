"""``weihai-gis plan gaps | whatif | site | access``: gap areas, what-if scenarios, siting and 2SFCA access.

Every command takes ``--walker GROUP`` and ``--dem-costs DEM``: the coverage, the cost matrix and the what-if
then measure that group's walking minutes on the hills (as ``weihai-gis coverage --walker``). Heavy modules
(geopandas, the engine, the solver) are imported inside the commands: ``weihai-gis --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from weihai_gis.cli.options import (
    barrier_options,
    cache_dir_option,
    coverage_input_options,
    input_file,
    layer_of,
    output_file,
    sample_option,
    scheduler_option,
    walker_group_options,
)
from weihai_gis.errors import InputFileError

__all__ = ["COMMANDS", "plan"]

log = logging.getLogger(__name__)


def _inputs_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the inputs of a run: network / facilities / origins (or ``--sample``), walker and DEM, barriers."""
    decorators: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        input_file("--network", "Walking network: .osm.pbf, .osm(.bz2), .graphml or road lines."),
        click.option("--network-layer", default=None, help="Layer of a multi-layer road-lines file."),
        input_file("--facilities", "Existing facilities: CSV/XLSX/vector file."),
        input_file("--origins", "Origins (points or polygons) with a population field."),
        coverage_input_options,
        sample_option("helsinki"),
        cache_dir_option,
        walker_group_options,
        barrier_options,
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def _walk(p: dict[str, Any]) -> dict[str, Any]:
    """Return the run's ``walker`` / ``dem_costs`` keywords (None for metres)."""
    return {"walker": p["walker"], "dem_costs": p["dem_costs_path"]}


def _load(p: dict[str, Any]) -> tuple[Any, Any]:
    """Return (coverage inputs, network) from the shared options."""
    from weihai_gis.network import build_network
    from weihai_gis.samples import sample_inputs, supplied_inputs

    if p["sample"]:
        inputs = sample_inputs()
    else:
        given = {
            "--network": p["network_path"],
            "--facilities": p["facilities_path"],
            "--origins": p["origins_path"],
        }
        if missing := [name for name, value in given.items() if not value]:
            raise click.UsageError(f"missing {', '.join(missing)} (or use --sample helsinki)")
        inputs = supplied_inputs(
            p["network_path"],
            p["facilities_path"],
            p["origins_path"],
            datum=p["datum"],
            mapping=p["mapping"],
            category_field=p["category_field"],
            population_field=p["population_field"],
        )
    click.echo(inputs.label_zh)
    net = build_network(inputs.network, layer=p["network_layer"], cache_dir=p["cache_dir"])
    if p.get("barriers_path") or p.get("crossings_path"):
        from weihai_gis.jobs.coverage_job import apply_barriers, read_street_inputs

        bars, cross = read_street_inputs(
            p["barriers_path"], p["crossings_path"], barriers_layer=layer_of("barriers_path")
        )
        assert bars is not None
        net, note = apply_barriers(net, bars, cross, inputs)
        click.echo(note)
    return inputs, net


def _check_out(out_path: Path) -> None:
    if out_path.suffix.lower() != ".gpkg":
        raise InputFileError(f"--out {str(out_path)!r}: expected a .gpkg file name.")


def _notice(inputs: Any, result: Any = None) -> list[str]:
    """Header block of the outputs: the coverage result's (sources, 样例/估算/未核实), else the inputs' label."""
    if result is not None:
        from weihai_gis.io.tables import header_lines

        return header_lines(result)
    if inputs.source == "supplied":  # its label names the files with their folders
        return ["数据来源 / sources: 规划人员提供的数据 / supplied inputs"]
    return [f"数据来源 / sources: {inputs.label_zh}"]


def _write(out_path: Path, layers: dict[str, Any], table: Any, lines: list[str]) -> None:
    """Write vector layers to ``out_path`` and ``table`` to the CSV beside it (+ its notice file), atomically.

    Every GeoPackage layer carries ``lines`` (the 样例/估算 notices) as its description (gpkg_contents).
    """
    from weihai_gis.files import atomic_path
    from weihai_gis.io.tables import write_csv_with_notice

    description = "\n".join(lines)
    with atomic_path(out_path) as tmp:
        for name, frame in layers.items():
            frame.to_file(tmp, layer=name, driver="GPKG", layer_metadata={"DESCRIPTION": description})
    csv = out_path.with_suffix(".csv")
    write_csv_with_notice(table, csv, title=f"weihai-gis plan — {out_path.name}", lines=lines, headers_zh={})
    click.echo(f"输出 / written: {out_path}, {csv}")


@click.group("plan")
def plan() -> None:
    """From coverage to decisions: 缺口片区 gaps, 设施选址 siting, 2SFCA 供需比 access."""


@plan.command("gaps")
@_inputs_options
@click.option("--category", "categories", multiple=True, help="Category id (repeat; default all assessed).")
@input_file("--units", "Polygons (id, name_zh) the gap areas must not cross (镇/街道).")
@click.option("--hex-size-m", type=float, default=250, show_default=True, help="Hexagon side, metres.")
@scheduler_option
@output_file("Output GeoPackage (layer gap_areas) + a CSV table beside it.")
@click.pass_context
def gaps(ctx: click.Context, **p: Any) -> None:
    """Residents out of reach per category, grouped into ranked gap areas (缺口片区).

    \b
    $ weihai-gis plan gaps --sample helsinki --category primary_school --out gaps.gpkg
    $ weihai-gis plan gaps ... --walker elderly --dem-costs dem.tif --out gaps.gpkg   # 老年人, hills
    """
    from weihai_gis.layers.io import read_vector
    from weihai_gis.lifecircle import coverage
    from weihai_gis.planning import gap_areas

    _check_out(p["out_path"])
    walk = _walk(p)
    inputs, net = _load(p)
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    run = functools.partial(
        coverage, net, inputs.origins, inputs.facilities, profile=p["profile"], progress=not quiet, **walk
    )
    if p["scheduler"] is None:
        result = run()
    else:
        from weihai_gis.distributed import DaskDistances, connect

        with connect(p["scheduler"]) as client:
            result = run(distances=DaskDistances(client, progress=not quiet))
    units = read_vector(p["units_path"], what="units") if p["units_path"] else None
    areas, table = gap_areas(
        result, categories=list(p["categories"]) or None, units=units, hex_size_m=p["hex_size_m"]
    )
    _write(p["out_path"], {"gap_areas": areas}, table, _notice(inputs, result))
    click.echo(f"缺口片区 / gap areas: {len(areas)}")
    for _, row in areas.sort_values("population", ascending=False).head(10).iterrows():
        click.echo(f"  {row['label_zh']}")


@plan.command("whatif")
@_inputs_options
@input_file("--scenario", "Named scenarios: a YAML file or a GeoPackage layer (see weihai_gis.io.scenarios).")
@input_file("--units", "Polygons (id, name_zh) to compare per unit (镇/街道).")
@output_file(
    "Output GeoPackage (whatif_origins, whatif_hexagons, whatif_facilities) + a CSV difference table."
)
@scheduler_option
@click.pass_context
def whatif(ctx: click.Context, **p: Any) -> None:
    """What-if: add / move / remove facilities, exact incremental recompute, before/after per unit (情景对比).

    \b
    The scenario file (YAML; x/y in lon/lat unless `crs:` says otherwise):
      scenarios:
        - name: 规划
          add: [{category: primary_school, name: 新建小学, x: 122.079, y: 37.530}]
          remove: [node/1563921007]
          move: [{id: node/1567485506, x: 122.0801, y: 37.5311}]
    $ weihai-gis plan whatif --sample helsinki --scenario scenarios.yaml --out whatif.gpkg
    $ weihai-gis plan whatif ... --walker elderly --dem-costs dem.tif --out whatif.gpkg   # in minutes
    """
    import geopandas as gpd
    import pandas as pd

    from weihai_gis.io.scenarios import read_scenarios
    from weihai_gis.layers.io import read_vector
    from weihai_gis.lifecircle import coverage
    from weihai_gis.planning.compare import side_by_side
    from weihai_gis.planning.whatif import WhatIf, run_scenarios

    _check_out(p["out_path"])
    walk = _walk(p)
    scenarios = read_scenarios(p["scenario_path"])
    inputs, net = _load(p)
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    units = {"units": read_vector(p["units_path"], what="units")} if p["units_path"] else None
    run = functools.partial(
        coverage,
        net,
        inputs.origins,
        inputs.facilities,
        profile=p["profile"],
        units=units,
        progress=not quiet,
        **walk,
    )
    if p["scheduler"] is None:
        base = run()
        outcomes = run_scenarios(WhatIf(net, base, dem_costs=walk["dem_costs"]), scenarios)
    else:  # the base run partitioned, then one task per scenario, on one cluster; same outcomes
        from weihai_gis.distributed import DaskDistances, connect, sweep

        with connect(p["scheduler"]) as client:
            base = run(distances=DaskDistances(client, progress=not quiet))
            outcomes = sweep(
                scenarios, net, base, scheduler=client, progress=not quiet, dem_costs=walk["dem_costs"]
            )
    crs = base.origins.crs
    layers = {
        "whatif_origins": gpd.GeoDataFrame(
            pd.concat([o.origins for o in outcomes], ignore_index=True), crs=crs
        ),
        "whatif_hexagons": gpd.GeoDataFrame(
            pd.concat([o.hexagons for o in outcomes], ignore_index=True), crs=crs
        ),
        "whatif_facilities": gpd.GeoDataFrame(
            pd.concat([o.new_facilities for o in outcomes], ignore_index=True), crs=crs
        ),
    }
    table = pd.concat([o.table for o in outcomes], ignore_index=True)
    _write(p["out_path"], layers, table, _notice(inputs, base))
    both = side_by_side({"现状": base, **{o.scenario.name: o.result for o in outcomes}})
    for o in outcomes:
        row = o.table[(o.table["units"] == "全域") & (o.table["category"] == "all_basic")].iloc[0]
        gained = o.table[(o.table["units"] == "全域") & (o.table["category"] != "all_basic")]
        click.echo(
            f"情景 {o.scenario.name}: 全要素达标率 {row['rate_before']:.1%} → {row['rate_after']:.1%}; "
            f"重算 {len(o.stats)} 类设施, {o.seconds:.2f} s"
        )
        for _, g in gained.iterrows():
            click.echo(
                f"  {g['name_zh']}: {g['rate_before']:.1%} → {g['rate_after']:.1%} "
                f"(新增覆盖 {g['population_newly_covered']:,.0f} 人, 失去覆盖 {g['population_newly_uncovered']:,.0f} 人)"
            )
    log.debug("side by side:\n%s", both)


@contextlib.contextmanager
def _matrix(scheduler: str | None, ctx: click.Context) -> Iterator[Callable[..., Any]]:
    """Yield the cost-matrix function: this process, or split by sites over the ``--scheduler`` cluster."""
    from weihai_gis.planning import cost_matrix

    if scheduler is None:
        yield cost_matrix
        return
    from weihai_gis.distributed import connect, distributed_cost_matrix

    with connect(scheduler) as client:
        quiet = bool(ctx.obj and ctx.obj.get("quiet"))
        yield functools.partial(distributed_cost_matrix, scheduler=client, progress=not quiet)


def _read_candidates(path: str, flag: str) -> Any:
    from weihai_gis.layers.io import read_vector

    file = Path(path)
    if not file.is_file():
        raise InputFileError(
            f"{flag} {path!r}: no such file; give a points/polygons file, 'nodes' or 'nodes-in:FILE'."
        )
    return read_vector(file, what="candidates")


_SITE_HELP = (
    "Candidate sites: a points/polygons file, 'nodes' (every network node), or 'nodes-in:FILE' (nodes inside "
    "the polygons of FILE, e.g. a 重点片区)."
)


@plan.command("site")
@_inputs_options
@click.option("--category", required=True, help="Category id to site (e.g. primary_school).")
@click.option("--candidates", "candidates_spec", required=True, help=_SITE_HELP)
@click.option("--k", type=int, default=None, help="Maximal covering: number of new sites.")
@click.option("--target", type=float, default=None, help="Set covering: target population share 0..1.")
@click.option(
    "--capacitated", is_flag=True, help="Use capacities (学位/托位/床位) and demand per planning.yaml."
)
@click.option("--capacity-field", default="capacity", show_default=True, help="Capacity field of the files.")
@click.option("--method", type=click.Choice(["auto", "exact", "greedy"]), default="auto", show_default=True)
@click.option("--time-limit-s", type=float, default=300, show_default=True, help="Exact solver time limit.")
@click.option("--curve", type=int, default=0, help="Also write the coverage-vs-k curve for k = 0..N.")
@scheduler_option
@output_file("Output GeoPackage (layer sites: existing and chosen) + a CSV (curve or summary).")
@click.pass_context
def site(ctx: click.Context, **p: Any) -> None:
    """Choose new facility sites with the existing ones fixed (set covering / maximal covering).

    \b
    $ weihai-gis plan site --sample helsinki --category convenience --candidates nodes --k 5 --out sites.gpkg
    $ weihai-gis plan site ... --category primary_school --candidates parcels.gpkg --target 0.95 --capacitated
    $ weihai-gis plan site ... --category elderly_care --candidates nodes --k 3 --walker elderly --dem-costs dem.tif
    """
    import pandas as pd

    from weihai_gis.planning import coverage_curve, maximal_covering, set_covering
    from weihai_gis.planning.problem import siting_problem

    _check_out(p["out_path"])
    walk = _walk(p)
    if (p["k"] is None) == (p["target"] is None):
        raise click.UsageError("give exactly one of --k (maximal covering) or --target (set covering)")
    spec = str(p["candidates_spec"])
    candidates = within = None
    if spec.startswith("nodes-in:"):
        within = _read_candidates(spec.removeprefix("nodes-in:"), "--candidates nodes-in:")
    elif spec != "nodes":
        candidates = _read_candidates(spec, "--candidates")
    inputs, net = _load(p)
    with _matrix(p["scheduler"], ctx) as matrix:
        prob, sites, info = siting_problem(
            net,
            inputs.origins,
            inputs.facilities,
            candidates,
            candidates_within=within,
            category=p["category"],
            profile=p["profile"],
            capacitated=p["capacitated"],
            capacity_field=p["capacity_field"],
            matrix=matrix,
            **walk,
        )
    solve = functools.partial(maximal_covering, prob, method=p["method"], time_limit_s=p["time_limit_s"])
    if p["k"] is not None:
        res = solve(p["k"])
    else:
        res = set_covering(prob, p["target"], method=p["method"], time_limit_s=p["time_limit_s"])
    sites["chosen"] = False
    sites.loc[res.chosen, "chosen"] = True
    sites["choice_order"] = pd.NA
    sites.loc[res.chosen, "choice_order"] = range(1, res.k + 1)
    if res.served is not None:
        sites["served"] = res.served
    layer = sites[sites["existing"] | sites["chosen"]]
    table = (
        coverage_curve(prob, range(p["curve"] + 1), method=p["method"])
        if p["curve"]
        else pd.DataFrame(
            [
                {
                    "k": res.k,
                    "covered": res.covered,
                    "share": res.share,
                    "bound": res.bound,
                    "gap": res.gap,
                    "method": res.method,
                    "problem": res.problem,
                }
            ]
        )
    )
    _write(p["out_path"], {"sites": layer}, table, _notice(inputs))
    what = "服务需求 served demand" if prob.capacitated else "覆盖人口 covered residents"
    click.echo(
        f"{info['name_zh']} 选址 / siting ({res.problem}, {res.method}): 新增 {res.k} 处 new sites; "
        f"{what} {res.covered:,.0f} / {res.total:,.0f} ({res.share:.1%}); 最优性差距 gap {res.gap:.2%}"
    )


@plan.command("access")
@_inputs_options
@click.option("--category", required=True, help="Category id with a supply standard in planning.yaml.")
@click.option(
    "--capacity-field", default="capacity", show_default=True, help="Supply field of the facilities."
)
@click.option(
    "--decay",
    type=click.Choice(["none", "steps"]),
    default="none",
    show_default=True,
    help="none = 2SFCA; steps = E2SFCA with the zones of planning.yaml.",
)
@input_file("--units", "Polygons (id, name_zh) to summarise per unit.")
@scheduler_option
@output_file("Output GeoPackage (layer access: origins) + a CSV per unit beside it.")
@click.pass_context
def access(ctx: click.Context, **p: Any) -> None:
    """Supply-to-demand ratio per origin and per unit (学位/千人, 托位/千人) and the shortfall (2SFCA/E2SFCA).

    \b
    $ weihai-gis plan access --sample helsinki --category primary_school --out access.gpkg
    $ weihai-gis plan access ... --category kindergarten --walker child --dem-costs dem.tif --out access.gpkg
    """
    import geopandas as gpd

    from weihai_gis.layers.io import read_vector
    from weihai_gis.planning import two_step_fca
    from weihai_gis.planning.problem import access_inputs

    _check_out(p["out_path"])
    walk = _walk(p)
    inputs, net = _load(p)
    with _matrix(p["scheduler"], ctx) as matrix:
        cm, origins, supply, standard = access_inputs(
            net,
            inputs.origins,
            inputs.facilities,
            category=p["category"],
            profile=p["profile"],
            capacity_field=p["capacity_field"],
            matrix=matrix,
            **walk,
        )
    res = two_step_fca(
        cm,
        origins["population"].to_numpy(dtype=float),
        supply,
        decay=None if p["decay"] == "none" else "steps",
        target_per_1000=float(standard["per_1000"]),
        unit_zh=str(standard["unit_zh"]),
    )
    layer = gpd.GeoDataFrame(res.origins, geometry=origins.geometry.to_numpy(), crs=origins.crs)
    if p["units_path"]:
        units = read_vector(p["units_path"], what="units").to_crs(origins.crs)
        joined = gpd.sjoin(layer[["geometry"]], units[["id", "geometry"]], how="left", predicate="within")
        labels = joined[~joined.index.duplicated()]["id"].reindex(layer.index)
    else:
        labels = ["全域"] * len(layer)
    table = res.by_unit(labels).reset_index()
    _write(p["out_path"], {"access": layer}, table, _notice(inputs))
    unit = standard["unit_zh"]
    overall = (layer["population"] * layer["access_per_1000"]).sum() / max(layer["population"].sum(), 1e-12)
    click.echo(
        f"{res.method} {p['category']}: {overall:.2f} {unit}/千人 (标准 standard {standard['per_1000']}); "
        f"缺口 shortfall {layer['shortfall'].sum():,.0f} {unit}"
    )


COMMANDS = [plan]
