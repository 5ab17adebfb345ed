"""The ``weihai-gis`` command line: a click group whose commands are thin wrappers over the library.

Exit codes: 0 success, 1 analysis failed, 2 bad input (a :class:`~weihai_gis.errors.WeihaiGISError` or a
usage error). A bad file never produces a traceback unless ``-v`` is given twice.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from weihai_gis.errors import WeihaiGISError

__all__ = ["main"]

log = logging.getLogger("weihai_gis")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class _Group(click.Group):
    """Click group that maps library errors to exit codes and clear one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except WeihaiGISError as exc:
            if ctx.obj and ctx.obj.get("verbose", 0) >= 2:
                raise
            click.echo(f"错误 / error: {exc}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("verbose", 0) >= 2:
                raise
            click.echo(f"失败 / failed: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(EXIT_FAILED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-vv also shows tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
@click.version_option(package_name="weihai-gis")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """weihai-gis: 威海精致城市建设 planning layers, life-circle coverage, sightlines, maps and reports."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("weihai_gis").setLevel(level)
    for noisy in ("pyogrio", "fiona", "rasterio"):  # per-write INFO lines drown the summaries
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _register() -> None:
    """Attach the sub-command modules (one per library module)."""
    from importlib import import_module

    from weihai_gis.cli.paths import guard_paths

    for name in ("layers", "coverage", "fetch", "sightlines", "maps", "main_job", "tijian", "plan"):
        module = import_module(f"weihai_gis.cli.{name}")
        for command in module.COMMANDS:
            main.add_command(guard_paths(command))


_register()
