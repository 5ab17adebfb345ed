"""Every command runs inside :func:`weihai_gis.files.run_paths` built from all of its path parameters.

:func:`guard_paths` wraps a click command (groups: each sub-command) so that, before the command body runs,
its input files are checked (exist, readable, non-empty), its outputs are compared with its inputs (symlinks
followed) and its output folders are probed for writing; inside the body every atomic write refuses to land
on an input. A new command is covered without doing anything: an option of file type is an input unless
it is the output (``--out``), a folder option named ``--out`` is the output folder. The embedded dataset
(``weihai_gis/data``) is an input of every command, since commands read it when no ``--layers`` is given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from weihai_gis import data
from weihai_gis.files import run_paths

__all__ = ["PLANNED_OUTPUTS", "guard_paths"]

_OUTPUT_NAMES = ("out", "out_path", "png_path", "pdf_path")
_OUTPUT_FOLDER_NAMES = ("out_dir",)
_EMBEDDED = ("weihai.gpkg", "weihai-hitwh.osm.pbf", "SOURCES.md")

#: Files a command writes besides its ``--out`` (command name → function of its parameters), so a clash with
#: an input is refused before any work. ``tests/test_run_paths.py`` checks the main job's list is complete.
PLANNED_OUTPUTS: dict[str, Callable[[dict[str, Any]], Iterable[Path]]] = {
    "coverage": lambda p: [
        *(Path(p["out_path"]).with_suffix(s) for s in (".csv", ".xlsx")),
        Path(p["out_path"]).with_suffix(".说明.txt"),
    ],
    "demo": lambda p: [
        Path(p["out_dir"]) / name
        for name in (
            "validation.txt",
            "coverage.gpkg",
            "coverage_summary.csv",
            "coverage_summary.xlsx",
            "coverage_summary.说明.txt",
            "coverage_by_town_type.csv",
            "tijian.xlsx",
            "scenario_comparison.csv",
            "scenario_map.html",
            "height_surface.tif",
            "violations.gpkg",
            "planning_map.html",
            "coverage_map.html",
            "sightlines_map.html",
            "planning_map.png",
            "coverage_map.png",
            "sightlines_map.png",
            "report.html",
        )
    ],
}


def _label(param: click.Parameter) -> str:
    return param.opts[0] if isinstance(param, click.Option) else (param.human_readable_name or "PATH")


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _classify(
    command: click.Command, params: dict[str, Any]
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]], list[tuple[str, Any]]]:
    inputs: list[tuple[str, Any]] = [
        ("the embedded dataset", path) for path in map(data.path, _EMBEDDED) if path.is_file()
    ]
    outputs: list[tuple[str, Any]] = []
    folders: list[tuple[str, Any]] = []
    for param in command.params:
        if not isinstance(param.type, click.Path) or param.name not in params:
            continue
        for value in _values(params[param.name]):
            if param.name in _OUTPUT_FOLDER_NAMES:
                folders.append((_label(param), value))
            elif param.name in _OUTPUT_NAMES:
                outputs.append((_label(param), value))
            elif not param.type.dir_okay:
                inputs.append((_label(param), value))
    planned = PLANNED_OUTPUTS.get(command.name or "")
    if planned is not None:
        outputs.extend(("output", path) for path in planned(params))
    return inputs, outputs, folders


def guard_paths(command: click.Command) -> click.Command:
    """Make ``command`` (and every sub-command of a group) run inside a checked :func:`run_paths`.

    Parameters
    ----------
    command
        A click command or group; changed in place.

    Returns
    -------
    click.Command
        The same command.
    """
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            guard_paths(sub)
        return command
    callback = command.callback
    if callback is None or getattr(callback, "_weihai_guarded", False):
        return command

    @functools.wraps(callback)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        inputs, outputs, folders = _classify(command, kwargs)
        with run_paths(inputs=inputs, outputs=outputs, folders=folders):
            return callback(*args, **kwargs)

    guarded._weihai_guarded = True  # type: ignore[attr-defined]
    command.callback = guarded
    return command
