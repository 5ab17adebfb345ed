"""Jobs: end-to-end runs that read files, analyse, write and render.

``main_job.run_main_job`` is the main job (``weihai-gis demo``); ``coverage_job.run_coverage_job`` is the one
coverage pipeline both ``weihai-gis coverage`` and the main job run. Loaded lazily (the main job imports the
maps and the report).
"""

from __future__ import annotations

from weihai_gis.lazy_exports import lazy_exports

__all__ = ["MainJobOutputs", "run_coverage_job", "run_main_job"]

_WHERE = {
    "MainJobOutputs": "weihai_gis.jobs.main_job",
    "run_main_job": "weihai_gis.jobs.main_job",
    "run_coverage_job": "weihai_gis.jobs.coverage_job",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
