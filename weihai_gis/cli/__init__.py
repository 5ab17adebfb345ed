"""The ``weihai-gis`` command line: a click group whose commands are thin wrappers over the library.

Exit codes: 0 success, 1 analysis failed, 2 bad input (a :class:`~weihai_gis.errors.WeihaiGISError` or a
usage error). A bad file never produces a traceback unless ``-v`` is given twice.

Sub-commands are imported when they are looked up (:data:`SUBCOMMANDS`), so ``weihai-gis sightlines viewshed``
loads the sightlines module only, and ``weihai-gis --help`` lists every command from :data:`SHORT_HELP`
without importing any (tests/test_startup.py checks the table against the commands' own help).

Before a command runs, :func:`single_threaded_math` asks numpy's BLAS (OpenBLAS, MKL, OpenMP) for one
thread: no command needs multithreaded linear algebra, and OpenBLAS starting its thread pool at import
doubles the CPU cost of importing numpy on a 2-core machine.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import click

from weihai_gis.errors import WeihaiGISError

__all__ = ["THREAD_VARIABLES", "main", "single_threaded_math"]

log = logging.getLogger("weihai_gis")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


#: Top-level command name → (module under ``weihai_gis.cli``, attribute holding the click command).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "layers": ("layers", "layers"),
    "coverage": ("coverage", "coverage"),
    "fetch": ("fetch", "fetch"),
    "sightlines": ("sightlines", "sightlines"),
    "map": ("maps", "map_command"),
    "report": ("maps", "report_command"),
    "demo": ("main_job", "demo"),
    "tijian": ("tijian", "tijian"),
    "plan": ("plan", "plan"),
}

#: What ``weihai-gis --help`` lists beside each command: the command's own short help
#: (``command.get_short_help_str(limit=10_000)``), kept here so the listing imports no command module.
SHORT_HELP: dict[str, str] = {
    "layers": "规划图层 / planning layers: list, show, validate.",
    "coverage": "Compute 15-minute life-circle coverage (覆盖率, 全要素达标率) and write a GeoPackage + CSV/XLSX.",
    "fetch": "Download source data into a local cache (needs internet).",
    "sightlines": "三线管控 / sightline and coastal controls: zones, viewshed, surface, check.",
    "map": "Write an interactive map as one HTML file (planning layers by default), and a PNG with --png.",
    "report": "Write the offline HTML report (Chinese) with tables, charts, maps, method and provenance.",
    "demo": "Run the whole pipeline: validate layers, coverage, maps and the report, all into --out.",
    "tijian": "城市体检: coverage indicators (住建部 / TD/T 1063-2021) in three variants, 问题清单, plan targets.",
    "plan": "From coverage to decisions: 缺口片区 gaps, 设施选址 siting, 2SFCA 供需比 access.",
}


#: The variables that set the thread count of numpy's linear algebra: OpenBLAS (pthreads builds read
#: ``OPENBLAS_NUM_THREADS``, then ``GOTO_NUM_THREADS``, then ``OMP_NUM_THREADS``; OpenMP builds only
#: ``OMP_NUM_THREADS``), MKL (``MKL_NUM_THREADS``, then ``OMP_NUM_THREADS``).
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

_SET_TO_ONE = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded_math(environ: MutableMapping[str, str] | None = None) -> bool:
    """Ask numpy's BLAS for one thread, when the command line starts and numpy is not loaded yet.

    Sets ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` to ``"1"``
    (``os.environ.setdefault``) unless the user set any of :data:`THREAD_VARIABLES` (then the user's
    choice stands and none is touched) or numpy is already imported (a notebook or a test calling
    :func:`main`: the library's callers are left alone, the variables would only reach child processes).

    Parameters
    ----------
    environ
        The environment to change (default ``os.environ``).

    Returns
    -------
    bool
        True if the variables were set.
    """
    env = os.environ if environ is None else environ
    if "numpy" in sys.modules or any(name in env for name in THREAD_VARIABLES):
        return False
    for name in _SET_TO_ONE:
        env.setdefault(name, "1")
    return True


class _Group(click.Group):
    """Click group that maps library errors to exit codes and clear one-line messages, with lazy commands."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line (the console script, ``python -m weihai_gis``) with single-threaded BLAS."""
        single_threaded_math()
        return super().main(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(SUBCOMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in SUBCOMMANDS:
            from importlib import import_module

            from weihai_gis.cli.paths import guard_paths

            module, attr = SUBCOMMANDS[cmd_name]
            self.add_command(guard_paths(getattr(import_module(f"weihai_gis.cli.{module}"), attr)), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from :data:`SHORT_HELP` (no import); commands added later show their own help."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(map(len, names))
        rows = []
        for name in names:
            if name in self.commands:
                if self.commands[name].hidden:
                    continue
                text = self.commands[name].get_short_help_str(limit)
            else:
                text = click.Command(name, help=SHORT_HELP[name]).get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
