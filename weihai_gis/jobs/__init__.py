"""Jobs: end-to-end runs that read files, analyse, write and render.

``main_job.run_main_job`` is the main job (``weihai-gis demo``); ``coverage_job.run_coverage_job`` is the one
coverage pipeline both ``weihai-gis coverage`` and the main job run. Loaded lazily (the main job imports the
maps and the report).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["MainJobOutputs", "run_coverage_job", "run_main_job"]

_WHERE = {
    "MainJobOutputs": "weihai_gis.jobs.main_job",
    "run_main_job": "weihai_gis.jobs.main_job",
    "run_coverage_job": "weihai_gis.jobs.coverage_job",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
