"""The 城市体检 indicator catalogue: read and validate ``tijian-indicators.yaml`` into one table.

The catalogue holds every coverage indicator of the 住建部 城市体检 system and of TD/T 1063-2021 with its
facility kinds, threshold (metres, or walking minutes converted with a cited walking speed), denominator and
the variant the issuing text defines as official. Values carry a citation and a ``verified`` flag.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from weihai_gis.errors import StandardsError
from weihai_gis.standards import Profile, coverage_config, facility_kinds
from weihai_gis.standards.records import (
    citation_text,
    iter_records,
    read_records_file,
    require_bool,
    require_choice,
    require_kinds,
)

__all__ = [
    "DENOMINATORS",
    "LEVELS",
    "OFFICIAL_VARIANTS",
    "SYSTEM_ORDER",
    "catalogue_profile",
    "load_catalogue",
    "tijian_settings",
]

PACKAGED = "tijian-indicators.yaml"
LEVELS = ("住房", "小区", "街区", "城区")
DENOMINATORS = ("residential_land_area", "unit_count")
OFFICIAL_VARIANTS = ("straight_line", "network")
MODES = ("walk", "drive")
#: Systems listed first in the table, in this order; planner-defined systems follow alphabetically.
SYSTEM_ORDER = ("mohurd-2023", "tdt1063-2021")
_REQUIRED = (
    "id",
    "order",
    "name_zh",
    "unit",
    "system",
    "level",
    "kinds",
    "threshold",
    "denominator",
    "official",
    "citation",
    "verified",
)


def _read(path: str | Path | None) -> tuple[dict[str, Any], str]:
    return read_records_file(path, PACKAGED, "indicator catalogue")


def _threshold(raw: Any, where: str, speeds: dict[str, float]) -> dict[str, Any]:
    where = f"{where}, field 'threshold'"
    if not isinstance(raw, dict):
        raise StandardsError(f"{where}: expected a mapping with 'm' or 'min'.")
    metres, minutes = raw.get("m"), raw.get("min")
    if (metres is None) == (minutes is None):
        raise StandardsError(f"{where}: give exactly one of 'm' (metres) or 'min' (minutes).")
    value = metres if metres is not None else minutes
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise StandardsError(f"{where}: expected a positive number, got {value!r}.")
    mode = raw.get("mode", "walk")
    if mode not in MODES:
        raise StandardsError(f"{where}, 'mode': {mode!r}; expected one of {MODES}.")
    walker = raw.get("walker", "adult")
    if walker not in speeds:
        raise StandardsError(f"{where}, 'walker': {walker!r}; expected one of {sorted(speeds)}.")
    require_bool(raw, "verified", where)
    speed = float(speeds[walker])
    if minutes is not None and mode == "drive":
        threshold_m = math.nan  # driving minutes have no metre equivalent without the driving network
    else:
        threshold_m = float(value) if metres is not None else float(value) * speed
    drive_minutes = minutes is not None and mode == "drive"
    return {
        # the value distances are compared with: minutes for driving-minute items, metres otherwise
        "limit": float(value) if drive_minutes else round(threshold_m, 1),
        "limit_unit": "min" if drive_minutes else "m",
        "threshold_m": round(threshold_m, 1) if math.isfinite(threshold_m) else math.nan,
        "threshold_min": float(minutes) if minutes is not None else math.nan,
        "threshold_text": f"{metres:g} 米"
        if metres is not None
        else f"{'驾车' if mode == 'drive' else '步行'} {minutes:g} 分钟",
        "mode": mode,
        "walker": walker,
        "speed_m_per_min": speed,
        "threshold_citation": citation_text(raw.get("citation"), where),
        "threshold_verified": raw["verified"],
    }


def load_catalogue(path: str | Path | None = None) -> pd.DataFrame:
    """Load and validate the 城市体检 indicator catalogue.

    Parameters
    ----------
    path
        A planner's edited copy of ``tijian-indicators.yaml``; default the packaged file.

    Returns
    -------
    pandas.DataFrame
        One row per indicator in table order (systems of :data:`SYSTEM_ORDER` first, then by ``order``):
        id, system, order, name_zh, unit, level, kinds (tuple), limit and limit_unit (the value network
        distances are compared with: driving minutes for driving-minute items, else metres), threshold_m (metres; minutes × the
        walker's speed for walking-minute items; NaN for driving-minute items), threshold_min (NaN for
        metre items), threshold_text, mode (walk/drive), walker, speed_m_per_min, denominator, official,
        citation, verified, threshold_citation, threshold_verified, note.

    Raises
    ------
    StandardsError
        The file is missing or malformed; the message names the file, the indicator and the field.
    """
    data, name = _read(path)
    speeds = {
        k: float(v)
        for k, v in coverage_config()["walking_speed_m_per_min"].items()
        if k in ("adult", "elderly", "child")
    }
    vocab = set(facility_kinds()["kinds"])
    rows = []
    for iid, ind, where in iter_records(data, "indicators", name, "indicator", _REQUIRED):
        for field, allowed in (
            ("level", LEVELS),
            ("denominator", DENOMINATORS),
            ("official", OFFICIAL_VARIANTS),
        ):
            require_choice(ind, field, allowed, where)
        if ind["denominator"] == "unit_count" and ind["level"] not in ("小区", "街区"):
            raise StandardsError(
                f"{where}: a unit_count indicator must have level 小区 or 街区, got {ind['level']!r}."
            )
        require_bool(ind, "verified", where)
        kinds = require_kinds(ind, vocab, where)
        if not isinstance(ind["order"], int):
            raise StandardsError(f"{where}, field 'order': expected an integer, got {ind['order']!r}.")
        rows.append(
            {
                "id": str(iid),
                "system": str(ind["system"]),
                "order": ind["order"],
                "name_zh": str(ind["name_zh"]),
                "unit": str(ind["unit"]),
                "level": ind["level"],
                "kinds": tuple(kinds),
                **_threshold(ind["threshold"], where, speeds),
                "denominator": ind["denominator"],
                "official": ind["official"],
                "citation": citation_text(ind["citation"], where),
                "verified": ind["verified"],
                "note": str(ind.get("note", "")),
            }
        )
    out = pd.DataFrame(rows)
    rank = {s: i for i, s in enumerate(SYSTEM_ORDER)}
    out["_sys"] = out["system"].map(lambda s: (rank.get(s, len(rank)), s))
    out = out.sort_values(["_sys", "order"], kind="stable").drop(columns="_sys").reset_index(drop=True)
    return out


def tijian_settings(path: str | Path | None = None) -> dict[str, Any]:
    """Return the ``settings`` of the catalogue: cell_m, pass_share, search_factor, land_code_field, land_codes.

    Raises
    ------
    StandardsError
        A value is missing or out of range (the message names the file and the field).
    """
    data, name = _read(path)
    raw = data.get("settings", {})
    checks = {
        "cell_m": lambda v: isinstance(v, int | float) and v > 0,
        "pass_share": lambda v: isinstance(v, int | float) and 0 < v <= 1,
        "search_factor": lambda v: isinstance(v, int | float) and v >= 1,
        "land_code_field": lambda v: isinstance(v, str) and v,
        "land_codes": lambda v: isinstance(v, list) and v and all(isinstance(c, str) for c in v),
    }
    out: dict[str, Any] = {}
    for key, ok in checks.items():
        if key not in raw or not ok(raw[key]):
            raise StandardsError(f"{name}, settings, field {key!r}: missing or invalid ({raw.get(key)!r}).")
        out[key] = raw[key]
    out["land_codes"] = tuple(out["land_codes"])
    return out


def catalogue_profile(catalogue: pd.DataFrame, *, search_factor: float = 2.0) -> Profile:
    """Return a coverage :class:`~weihai_gis.standards.Profile` with one category per walking indicator.

    The network search radius of each category is ``search_factor`` × the indicator's threshold, so network
    distances are known somewhat beyond the threshold (for the 问题清单 shortfalls); the 体检 functions
    compare the distances with the threshold themselves, so the profile's ``met_*`` flags are not used.

    Parameters
    ----------
    catalogue
        From :func:`load_catalogue`.
    search_factor
        Search radius as a multiple of the threshold (≥ 1).

    Returns
    -------
    Profile
        Named ``"tijian"``; driving-mode indicators are left out (no driving network yet).
    """
    if not search_factor >= 1:
        raise ValueError(f"`search_factor` must be at least 1, got {search_factor!r}.")
    walk = catalogue[(catalogue["mode"] == "walk") & catalogue["threshold_m"].notna()]
    speed = float(coverage_config()["walking_speed_m_per_min"]["adult"])
    cats = pd.DataFrame(
        {
            "id": walk["id"].to_numpy(),
            "name_zh": walk["name_zh"].to_numpy(),
            "name_en": walk["id"].to_numpy(),
            "max_walk_m": (walk["threshold_m"] * search_factor).to_numpy(),
            "max_walk_min": (walk["threshold_m"] * search_factor / speed).round(1).to_numpy(),
            "limit_unit": "m",
            "tier": walk["level"].to_numpy(),
            "type": "品质提升",  # keeps the engine's 全要素达标率 (not a 体检 item) out of the warnings
            "kinds": walk["kinds"].to_numpy(),
            "citation": walk["threshold_citation"].to_numpy(),
            "verified": walk["threshold_verified"].to_numpy(),
            "note": f"search radius = {search_factor:g} × threshold",
        }
    )
    return Profile(
        name="tijian",
        name_zh="城市体检 覆盖类指标",
        document="住建部城市体检 / TD/T 1063-2021",
        walker="adult",
        speed_m_per_min=speed,
        categories=cats,
    )
