"""城市体检: the ministry's coverage indicators in their official form, a 问题清单 per 小区, the plan's targets.

Two indicator systems are catalogued in ``standards/tijian-indicators.yaml``: the 住建部 城市体检 items
(official convention: the share of residential land inside a straight-line radius) and the TD/T 1063-2021
items (worded in walking minutes: the share of residential land within a walking time over the network).
Every indicator is computed in three variants side by side: (a) straight-line, share of residential land
area; (b) network distance, share of residential land area (land sampled on a grid); (c) network distance,
share of population. ``official`` in the catalogue says which variant the issuing text defines.

The plan's numbered targets (``standards/plan-targets-2025-2027.yaml``) and a progress table against a linear
schedule live in :mod:`weihai_gis.tijian.targets`.
"""

from __future__ import annotations

from weihai_gis.tijian.catalogue import catalogue_profile, load_catalogue, tijian_settings
from weihai_gis.tijian.indicators import (
    VARIANTS,
    network_distances,
    network_share,
    straight_line_share,
    unit_assessment,
)
from weihai_gis.tijian.land import (
    approximate_residential_land,
    approximate_xiaoqu,
    land_samples,
    osm_residential,
    read_residential_land,
)
from weihai_gis.tijian.run import TijianResult, assess
from weihai_gis.tijian.table import (
    attach_targets,
    compare_previous,
    indicator_table,
    problem_list,
    read_table,
)
from weihai_gis.tijian.targets import load_targets, progress_table, read_progress
from weihai_gis.tijian.workbook import write_xlsx

__all__ = [
    "VARIANTS",
    "TijianResult",
    "approximate_residential_land",
    "approximate_xiaoqu",
    "assess",
    "attach_targets",
    "catalogue_profile",
    "compare_previous",
    "indicator_table",
    "land_samples",
    "load_catalogue",
    "load_targets",
    "network_distances",
    "network_share",
    "osm_residential",
    "problem_list",
    "progress_table",
    "read_progress",
    "read_residential_land",
    "read_table",
    "straight_line_share",
    "tijian_settings",
    "unit_assessment",
    "write_xlsx",
]
