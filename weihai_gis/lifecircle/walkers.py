"""The coverage gap between walker groups (老人与成人覆盖率差): same facilities, same network, two groups.

:func:`compare_walkers` runs :func:`~weihai_gis.coverage` once per group (adult and, e.g., elderly) with the
same inputs and options, and :func:`walker_gap` turns the two results into one table per summary unit
(街道 / 镇街, 重点片区, 区市, and the whole study area): each assessed category's population-weighted rate for
the adult and for the other group, and their difference. The result object carries that table
(``CoverageResult.walker_comparison``) and the report shows it as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from weihai_gis.lifecircle.assessment import basic_assessment
from weihai_gis.lifecircle.columns import ALL_BASIC, column
from weihai_gis.lifecircle.results import CoverageResult
from weihai_gis.network import WalkNetwork
from weihai_gis.options import CoverageOptions
from weihai_gis.standards import walker_groups

__all__ = ["OVERALL_UNIT", "WALKER_GAP_COLUMNS", "compare_walkers", "walker_gap"]

log = logging.getLogger(__name__)

#: ``unit`` value of the rows for the whole study area.
OVERALL_UNIT = "overall"

#: Columns of :func:`walker_gap`, in order.
WALKER_GAP_COLUMNS = (
    "unit",
    "unit_id",
    "unit_name_zh",
    "population",
    "category",
    "category_zh",
    "walker",
    "walker_zh",
    "rate_adult",
    "rate_walker",
    "gap",
)


def walker_gap(adult: CoverageResult, other: CoverageResult) -> pd.DataFrame:
    """Return, per summary unit and assessed category, the adult rate, the other group's rate and the gap.

    Parameters
    ----------
    adult, other
        Minutes runs (``CoverageOptions(walker=...)``) of the adult and of another group on the same
        origins, facilities and network.

    Returns
    -------
    pandas.DataFrame
        :data:`WALKER_GAP_COLUMNS`: ``unit`` (summary layer name, or :data:`OVERALL_UNIT`), ``unit_id``,
        ``unit_name_zh``, ``population``, ``category`` (``all_basic`` first, then the assessed 基础保障
        categories), ``category_zh``, ``walker``, ``walker_zh``, ``rate_adult``, ``rate_walker`` (0..1) and
        ``gap`` = ``rate_walker - rate_adult`` (≤ 0 when the group walks slower).

    Raises
    ------
    ValueError
        The two results are not comparable (different origins, facilities, profile or network), or the
        first is not an adult run.
    """
    a_opts, o_opts = adult.meta.options, other.meta.options
    if a_opts.get("walker") != "adult":
        raise ValueError(
            f"walker_gap: the first result must be an adult run, got walker={a_opts.get('walker')!r}."
        )
    walker = str(o_opts.get("walker"))
    same = {k: v for k, v in a_opts.items() if k != "walker"} == {
        k: v for k, v in o_opts.items() if k != "walker"
    }
    if (
        not same
        or adult.profile_name != other.profile_name
        or not np.array_equal(adult.origins["origin_id"].to_numpy(), other.origins["origin_id"].to_numpy())
        or len(adult.facilities) != len(other.facilities)
        or adult.network_summary != other.network_summary
    ):
        raise ValueError(
            "walker_gap: the two results differ in more than the walker group (origins, facilities, profile, "
            "options or network); run both with compare_walkers()."
        )
    names = dict(
        zip(adult.categories["id"].astype(str), adult.categories["name_zh"].astype(str), strict=True)
    )
    basic, _ = basic_assessment(adult.categories)
    cats = [ALL_BASIC, *basic] if basic else []
    table = adult.overall().set_index("id")
    names[ALL_BASIC] = str(table.loc[ALL_BASIC, "name_zh"]) if ALL_BASIC in table.index else "全要素达标率"
    group_zh = walker_groups().get(walker, {}).get("name_zh", walker)
    rows: list[dict[str, Any]] = []
    frames: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {
        OVERALL_UNIT: (_overall_frame(adult, cats), _overall_frame(other, cats))
    }
    for unit, summary in adult.populated_units().items():
        frames[unit] = (summary, other.units[unit].loc[summary.index])
    for unit, (a, o) in frames.items():
        for i in a.index:
            for cid in cats:
                col = column("rate", cid)
                ra, ro = float(a.at[i, col]), float(o.at[i, col])  # type: ignore[arg-type]
                rows.append(
                    {
                        "unit": unit,
                        "unit_id": str(a.at[i, "id"]),
                        "unit_name_zh": str(a.at[i, "name_zh"]),
                        "population": float(a.at[i, "population"]),  # type: ignore[arg-type]
                        "category": cid,
                        "category_zh": names.get(cid, cid),
                        "walker": walker,
                        "walker_zh": group_zh,
                        "rate_adult": ra,
                        "rate_walker": ro,
                        "gap": ro - ra,
                    }
                )
    return pd.DataFrame(rows, columns=list(WALKER_GAP_COLUMNS))


def _overall_frame(res: CoverageResult, cats: list[str]) -> pd.DataFrame:
    """Return the whole study area as one unit row with ``rate_<c>`` columns (from the overall table)."""
    table = res.overall().set_index("id")
    row: dict[str, Any] = {"id": OVERALL_UNIT, "name_zh": "全部 / all", "population": res.population}
    for cid in cats:
        row[column("rate", cid)] = float(table.loc[cid, "rate_network"])  # type: ignore[arg-type]
    return pd.DataFrame([row])


def compare_walkers(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    options: CoverageOptions,
    walker: str = "elderly",
    *,
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
    **kwargs: Any,
) -> tuple[CoverageResult, CoverageResult, pd.DataFrame]:
    """Run coverage for the adult and for ``walker`` on the same inputs and return both and their gap table.

    Parameters
    ----------
    net, origins, facilities, units
        As :func:`~weihai_gis.coverage`.
    options
        The run's options; its ``dem_costs`` (hills) applies to both groups, its ``walker`` is replaced.
    walker
        The group compared with the adult (default ``"elderly"``).
    **kwargs
        Passed to :func:`~weihai_gis.coverage` (``inputs``, ``source_label``, ``progress``).

    Returns
    -------
    adult, other, gap
        The two results and :func:`walker_gap` of them.
    """
    from weihai_gis.lifecircle.compute import coverage

    adult = coverage(net, origins, facilities, options.replace(walker="adult"), units=units, **kwargs)
    other = coverage(net, origins, facilities, options.replace(walker=walker), units=units, **kwargs)
    return adult, other, walker_gap(adult, other)
