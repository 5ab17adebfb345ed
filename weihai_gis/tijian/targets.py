"""The action plan's numbered targets as data, and a progress table against a linear schedule.

``plan-targets-2025-2027.yaml`` lists every numbered target of 《威海市精致城市建设新三年行动方案(2025-2027年)》
with the clause it comes from. A progress file (CSV/XLSX) reports what was achieved: either a value per target
and date, or a status per named feature for the spatial targets (districts, streets, bays, 内涝点 ...).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from weihai_gis.errors import LayerError, StandardsError
from weihai_gis.standards.records import iter_records, read_records_file, require_bool, require_choice

__all__ = ["DONE_STATUSES", "load_targets", "progress_table", "read_progress"]

PACKAGED = "plan-targets-2025-2027.yaml"
COMPARATORS = (">=", "=", "<=")
#: Feature statuses that count as achieved (a feature row with any other status counts as not yet done).
DONE_STATUSES = ("完成", "已完成", "done", "completed")
_REQUIRED = ("id", "name_zh", "target", "unit", "comparator", "section", "spatial", "clause", "verified")


def load_targets(path: str | Path | None = None) -> pd.DataFrame:
    """Load the plan's targets.

    Parameters
    ----------
    path
        An edited copy of ``plan-targets-2025-2027.yaml`` (e.g. for the adopted plan); default the packaged file.

    Returns
    -------
    pandas.DataFrame
        One row per target in plan order: id, name_zh, target, unit, comparator, section, clause, spatial,
        features (tuple of named features), layer (embedded plan layer of the features, or ""), start, due (datetime64), baseline (NaN unless given), verified, note.

    Raises
    ------
    StandardsError
        Missing or malformed fields (the message names the file, the target and the field).
    """
    data, name = read_records_file(path, PACKAGED, "plan-target file")
    start = pd.Timestamp(str(data.get("start", "2025-01-01")))
    end = pd.Timestamp(str(data.get("end", "2027-12-31")))
    rows = []
    for tid, t, where in iter_records(data, "targets", name, "target", _REQUIRED, identifier=False):
        if not isinstance(t["target"], int | float) or not math.isfinite(t["target"]):
            raise StandardsError(f"{where}, field 'target': expected a number, got {t['target']!r}.")
        require_choice(t, "comparator", COMPARATORS, where)
        for field in ("spatial", "verified"):
            require_bool(t, field, where)
        try:
            due = pd.Timestamp(str(t.get("due", end.date())))
        except ValueError as exc:
            raise StandardsError(
                f"{where}, field 'due': expected a date YYYY-MM-DD, got {t.get('due')!r}."
            ) from exc
        baseline = t.get("baseline")
        rows.append(
            {
                "id": str(tid),
                "name_zh": str(t["name_zh"]),
                "target": float(t["target"]),
                "unit": str(t["unit"]),
                "comparator": t["comparator"],
                "section": str(t["section"]),
                "clause": str(t["clause"]),
                "spatial": t["spatial"],
                "features": tuple(str(f) for f in t.get("features", []) or []),
                "layer": str(t.get("layer") or ""),
                "start": start,
                "due": due,
                "baseline": float(baseline) if baseline is not None else math.nan,
                "verified": t["verified"],
                "note": str(t.get("note", "")),
            }
        )
    return pd.DataFrame(rows)


def read_progress(path: str | Path) -> pd.DataFrame:
    """Read a progress file (CSV or XLSX).

    Columns: ``target_id`` and ``date`` (required); then either ``achieved`` (a number: the value reached by
    that date) or ``feature`` + ``status`` (one row per named feature of a spatial target; statuses in
    :data:`DONE_STATUSES` count as done); ``baseline`` (optional, value at plan start).

    Raises
    ------
    LayerError
        Missing columns or unreadable dates/numbers (the message names the file, the column and the rows).
    """
    p = Path(path)
    if not p.is_file():
        raise LayerError(f"progress file {str(p)!r} does not exist.")
    frame = (
        pd.read_excel(p) if p.suffix.lower() in (".xlsx", ".xls") else pd.read_csv(p, encoding="utf-8-sig")
    )
    for col in ("target_id", "date"):
        if col not in frame.columns:
            raise LayerError(
                f"progress file {p.name!r}: column {col!r} is missing; columns are {list(frame.columns)}."
            )
    if "achieved" not in frame.columns and not {"feature", "status"} <= set(frame.columns):
        raise LayerError(
            f"progress file {p.name!r}: give an 'achieved' column, or 'feature' and 'status' columns for "
            f"per-feature progress; columns are {list(frame.columns)}."
        )
    dates = pd.to_datetime(frame["date"], errors="coerce")
    if bad := list(frame.index[dates.isna()][:5]):
        raise LayerError(
            f"progress file {p.name!r}, column 'date': unreadable dates in rows {bad}; expected YYYY-MM-DD."
        )
    out = frame.assign(date=dates, target_id=frame["target_id"].astype(str))
    for col in ("achieved", "baseline"):
        if col in out.columns:
            values = pd.to_numeric(out[col], errors="coerce")
            bad = list(out.index[values.isna() & out[col].notna()][:5])
            if bad:
                raise LayerError(f"progress file {p.name!r}, column {col!r}: not a number in rows {bad}.")
            out[col] = values
    return out


def _achieved(rows: pd.DataFrame, today: pd.Timestamp) -> tuple[float, pd.Timestamp | None, int]:
    """Value achieved by ``today`` from a target's progress rows: latest value, or count of done features."""
    rows = rows[rows["date"] <= today]
    if rows.empty:
        return math.nan, None, 0
    if "feature" in rows.columns and rows["feature"].notna().any():
        feats = rows[rows["feature"].notna()].sort_values("date").groupby("feature").last()
        done = feats["status"].astype(str).str.strip().str.lower().isin([s.lower() for s in DONE_STATUSES])
        return float(done.sum()), rows["date"].max(), len(feats)
    vals = rows.dropna(subset=["achieved"]).sort_values("date")
    if vals.empty:
        return math.nan, None, 0
    return float(vals["achieved"].iloc[-1]), vals["date"].iloc[-1], 0


def progress_table(
    targets: pd.DataFrame, progress: pd.DataFrame | None = None, *, today: dt.date | str | None = None
) -> pd.DataFrame:
    """Compare achieved values with the targets and with a linear schedule.

    The expected value by ``today`` rises linearly from the baseline (0 for counts and amounts; for shares
    ``%`` and ranks only when a baseline is given) at the plan start to the target at the due date.

    Parameters
    ----------
    targets
        From :func:`load_targets`.
    progress
        From :func:`read_progress` (rows for unknown target ids raise); None gives a table of targets only.
    today
        Reporting date (default: today).

    Returns
    -------
    pandas.DataFrame
        One row per target: id, name_zh, section, clause, unit, target, due, baseline, achieved, as_of,
        n_features_reported, expected_by_today, share_of_target (achieved / target; NaN for ranks), status
        (已完成 / 按计划 / 滞后 / 进行中 (no schedule: rank or share without baseline) / 逾期未完成 / 无数据).

    Raises
    ------
    LayerError
        Progress rows name a target id that the target file does not have.
    """
    day = pd.Timestamp(today) if today is not None else pd.Timestamp(dt.date.today())
    prog = progress if progress is not None else pd.DataFrame(columns=["target_id", "date", "achieved"])
    if unknown := sorted(set(prog["target_id"].astype(str)) - set(targets["id"])):
        raise LayerError(
            f"progress file: target ids {unknown[:10]} are not in the plan-target file; expected ids such as "
            f"{', '.join(targets['id'].head(5))}."
        )
    rows = []
    for _, t in targets.iterrows():
        mine = prog[prog["target_id"].astype(str) == t["id"]]
        achieved, as_of, n_feat = _achieved(mine, day)
        baseline = t["baseline"]
        if "baseline" in mine.columns and mine["baseline"].notna().any():
            baseline = float(mine["baseline"].dropna().iloc[-1])
        if math.isnan(baseline) and t["unit"] not in ("%", "位"):
            baseline = 0.0
        span = (t["due"] - t["start"]).days
        frac = float(np.clip((day - t["start"]).days / span, 0.0, 1.0)) if span > 0 else 1.0
        expected = baseline + (t["target"] - baseline) * frac if t["comparator"] != "<=" else math.nan
        rank = t["comparator"] == "<="
        reached = achieved <= t["target"] if rank else achieved >= t["target"] - 1e-9
        if math.isnan(achieved):
            status = "无数据"
        elif reached:
            status = "已完成"
        elif day > t["due"]:
            status = "逾期未完成"
        elif not math.isnan(expected) and achieved >= expected - 1e-9:
            status = "按计划"
        elif math.isnan(expected):
            status = "进行中"
        else:
            status = "滞后"
        rows.append(
            {
                "id": t["id"],
                "name_zh": t["name_zh"],
                "section": t["section"],
                "clause": t["clause"],
                "unit": t["unit"],
                "target": t["target"],
                "due": t["due"],
                "baseline": baseline,
                "achieved": achieved,
                "as_of": as_of,
                "n_features_reported": n_feat,
                "expected_by_today": expected,
                "share_of_target": achieved / t["target"] if t["comparator"] != "<=" else math.nan,
                "status": status,
            }
        )
    return pd.DataFrame(rows)
