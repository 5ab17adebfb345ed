"""Jobs: end-to-end runs that load, validate, analyse, write and render (the main job is ``weihai-gis demo``)."""

from weihai_gis.jobs.main_job import MainJobOutputs, run_main_job

__all__ = ["MainJobOutputs", "run_main_job"]
