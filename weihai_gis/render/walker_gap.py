"""The report's 老人与成人覆盖率差 tables, laid out from ``CoverageResult.walker_comparison`` (nothing computed).

One table per summary layer (全部, 镇街/街道, 重点片区, 区市): a row per unit, a column per category holding
"adult → group (gap in percentage points)", all_basic first. The figures are the result's, formatted only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["walker_gap_tables"]

#: Categories shown per table (all_basic and the first assessed basic categories), so a table fits A4.
MAX_CATEGORIES = 6


def _cell(adult: float, other: float, gap: float) -> str:
    if pd.isna(adult) or pd.isna(other):
        return "—"
    return f"{adult:.1%} → {other:.1%}（{gap * 100:+.1f}）"


def walker_gap_tables(frame: pd.DataFrame | None, unit_titles: dict[str, str]) -> list[dict[str, Any]]:
    """Return the tables of ``frame`` (:func:`~weihai_gis.lifecircle.walkers.walker_gap`) for the template.

    Parameters
    ----------
    frame
        The result's ``walker_comparison`` (None or empty: no tables).
    unit_titles
        Summary-layer name → Chinese title.

    Returns
    -------
    list of dict
        ``{"title", "header", "rows"}`` per summary layer, the whole study area first.
    """
    if frame is None or frame.empty:
        return []
    group_zh = str(frame["walker_zh"].iloc[0])
    cats = list(dict.fromkeys(frame["category"]))[:MAX_CATEGORIES]
    cat_zh = dict(zip(frame["category"], frame["category_zh"], strict=False))
    tables = []
    for unit, part in frame.groupby("unit", sort=False):
        title = "全部 / study area" if unit == "overall" else unit_titles.get(str(unit), str(unit))
        header = ["名称 / name", "人口 / population"] + [
            f"{cat_zh[c]}：成人 → {group_zh}（百分点）" for c in cats
        ]
        rows = []
        for (_, name), unit_rows in part.groupby(["unit_id", "unit_name_zh"], sort=False):
            by_cat = unit_rows.set_index("category")
            pop = float(unit_rows["population"].iloc[0])
            rows.append(
                [str(name), f"{pop:,.0f}"]
                + [
                    _cell(by_cat.at[c, "rate_adult"], by_cat.at[c, "rate_walker"], by_cat.at[c, "gap"])  # type: ignore[arg-type]
                    if c in by_cat.index
                    else "—"
                    for c in cats
                ]
            )
        tables.append(
            {
                "title": f"老人与成人覆盖率差 — {title}"
                if group_zh == "老年人"
                else f"{group_zh}与成人覆盖率差 — {title}",
                "header": header,
                "rows": rows,
            }
        )
    return tables
