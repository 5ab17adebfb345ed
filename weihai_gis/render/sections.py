"""Report sections as plain rows: the 问题清单 of a coverage run and the plan-target progress table.

Each function reads a table the analysis already produced (nothing is computed here) and returns the header,
the rows as display strings and a note, for ``templates/report.html.j2``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from weihai_gis.lifecircle.problems import BEYOND_REACH_ZH

if TYPE_CHECKING:
    from weihai_gis.lifecircle import CoverageResult

__all__ = ["problems_section", "targets_section"]


def _num(v: Any, fmt: str = "{:,.0f}") -> str:
    f = pd.to_numeric(v, errors="coerce")
    return "—" if pd.isna(f) else fmt.format(float(f))


def _pct(v: Any) -> str:
    return _num(v, "{:.1%}")


def _beyond(row: pd.Series) -> str:
    """Return what a NaN network distance of a 问题清单 row means: off the network, or none within the reach."""
    if str(row.get("unreachable_reason") or ""):
        return "未接入路网 / off the network"
    return BEYOND_REACH_ZH


def problems_section(res: CoverageResult, *, n_rows: int = 20) -> dict[str, Any] | None:
    """Return the 问题清单 part of the coverage section, or None when the run has no problem list.

    Parameters
    ----------
    res
        The coverage result with ``problems`` and ``missing_by_category``
        (:func:`weihai_gis.lifecircle.problems.problem_list`).
    n_rows
        How many rows of the problem list (most residents first) the report shows; the XLSX has them all.

    Returns
    -------
    dict or None
        ``by_category`` (header, rows: residents each basic category leaves out, all and interior only),
        ``header``/``rows`` (the head of the list), ``n`` (rows in all), ``estimated`` (population estimated).
    """
    if res.problems is None and res.missing_by_category is None:
        return None
    est = "（估算）" if res.origins_estimated() else ""
    out: dict[str, Any] = {"estimated": bool(est), "n": 0, "rows": [], "by_category": None}
    names = dict(zip(res.categories["id"].astype(str), res.categories["name_zh"].astype(str), strict=True))
    if (missing := res.missing_by_category) is not None and len(missing):
        interior = "population_left_out_interior" in missing.columns
        header = ["类别 / category", f"未覆盖人口{est} / residents left out", "占比 / share"]
        if interior:
            header.append(f"其中非数据边缘{est} / of which interior")
        rows = []
        for _, r in missing.sort_values("population_left_out", ascending=False).iterrows():
            cid = str(r["category"])
            row = [
                f"{names.get(cid, cid)} / {cid}",
                _num(r["population_left_out"]),
                _pct(r.get("share_left_out")),
            ]
            if interior:
                row.append(_num(r["population_left_out_interior"]))
            rows.append(row)
        out["by_category"] = {"header": header, "rows": rows}
    if (problems := res.problems) is not None and len(problems):
        frame = pd.DataFrame(problems).drop(columns="geometry", errors="ignore")
        frame = frame.sort_values(
            ["population", "dist_network_m"], ascending=[False, False], na_position="last"
        )
        out["n"] = len(frame)
        out["header"] = [
            "建筑 / building",
            f"人口{est} / residents",
            "缺失类别 / missing",
            "限值(米) / limit (m)",
            "路网距离(米) / network (m)",
            "直线距离(米) / straight (m)",
            "数据边缘 / edge",
        ]
        out["rows"] = [
            [
                str(r.get("name") or r["origin_id"]),
                _num(r["population"]),
                f"{names.get(str(r['category']), r['category'])}",
                _num(r["max_walk_m"]),
                _num(r["dist_network_m"]) if pd.notna(r["dist_network_m"]) else _beyond(r),
                _num(r["dist_straight_m"]),
                "是 ⚠" if bool(r.get("edge_affected", False)) else "否",
            ]
            for _, r in frame.head(n_rows).iterrows()
        ]
    return out


_TARGET_HEADER = [
    "编号 / id",
    "目标 / target",
    "章节 / section",
    "目标值 / target",
    "期限 / due",
    "已完成 / achieved",
    "按进度应达 / expected by now",
    "状态 / status",
]


def targets_section(table: pd.DataFrame | None, *, progress_source: str = "") -> dict[str, Any] | None:
    """Return the plan-target progress section (:func:`weihai_gis.tijian.targets.progress_table` as rows).

    Parameters
    ----------
    table
        The progress table; None leaves the section out.
    progress_source
        File name of the progress file it was built from ("" when none was given: every status 无数据).

    Returns
    -------
    dict or None
        header, rows, counts per status, note.
    """
    if table is None or not len(table):
        return None

    def value(v: Any, unit: str) -> str:
        f = pd.to_numeric(v, errors="coerce")
        if pd.isna(f) or (isinstance(f, float) and math.isnan(f)):
            return "—"
        return f"{float(f):,.1f} {unit}" if float(f) % 1 else f"{float(f):,.0f} {unit}"

    rows = []
    for _, r in table.iterrows():
        due = pd.Timestamp(r["due"]).strftime("%Y-%m") if pd.notna(r["due"]) else "—"
        rows.append(
            [
                str(r["id"]),
                str(r["name_zh"]),
                str(r["section"]),
                value(r["target"], str(r["unit"])),
                due,
                value(r["achieved"], str(r["unit"])),
                value(r["expected_by_today"], str(r["unit"])),
                str(r["status"]),
            ]
        )
    counts = table["status"].value_counts()
    note = (
        f"进展数据 / progress: {progress_source}"
        if progress_source
        else "未提供进展文件：状态均为“无数据”。用 weihai-gis tijian targets --progress 进展.xlsx 填报。"
        " / No progress file: every status is 无数据; supply one with `weihai-gis tijian targets --progress`."
    )
    return {
        "header": _TARGET_HEADER,
        "rows": rows,
        "counts": "；".join(f"{k} {v}" for k, v in counts.items()),
        "note": note,
    }
