"""The ``weihai-gis`` command line: a click group whose commands are thin wrappers over the library.

Exit codes: 0 success, 1 analysis failed, 2 bad input (a :class:`~weihai_gis.errors.WeihaiGISError` or a
usage error). A bad file never produces a traceback unless ``-v`` is given twice.

Sub-commands are imported when they are looked up (:data:`SUBCOMMANDS`), so ``weihai-gis sightlines viewshed``
loads the sightlines module only, and ``weihai-gis --help`` lists every command from :data:`SHORT_HELP`
without importing any (tests/test_startup.py checks the table against the commands' own help).
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


class _Group(click.Group):
    """Click group that maps library errors to exit codes and clear one-line messages, with lazy commands."""

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
