"""Life-circle standards as data: profiles, facility kinds, walkable-way rules and engine settings.

Every value planners may change lives in a YAML file next to this module, with a citation and a
``verified`` flag (true only where a public text quoting the value was seen; the citation names that
text). This module only reads and validates those files. The configuration functions read each file
once and return a fresh copy on every call, so a caller that changes what it got cannot change later runs.

Files
-----
``profile-<name>.yaml``
    One life-circle profile (GB 50180-2018, TD/T 1062-2021 urban/rural, 完整社区, 商务部一刻钟便民生活圈).
``facility-kinds.yaml``
    The facility-kind vocabulary and its OSM-tag and Amap-typecode mappings.
``walkable.yaml``
    Which OSM ways are walkable and which are barriers.
``coverage-config.yaml``
    Snapping limits, walking speeds (m/min) and the town-type → profile table.
``building-population.yaml``
    Residents per OSM building: floor area per person, residential building types, default floors per type.
``planning.yaml``
    Supply standards per 1000 residents, default site capacities and E2SFCA decay zones (planning).
"""

from __future__ import annotations

import copy
import functools
import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from weihai_gis.errors import StandardsError
from weihai_gis.standards.records import (
    citation_text,
    iter_records,
    require_bool,
    require_choice,
    require_kinds,
)

if TYPE_CHECKING:  # pandas is imported where a profile is built, so the CLI starts without it
    import pandas as pd

__all__ = [
    "CATEGORY_TYPES",
    "YAML_LOADER",
    "Profile",
    "building_population",
    "coverage_config",
    "coverage_setting",
    "facility_kinds",
    "list_profiles",
    "load_profile",
    "planning_config",
    "profile_for_town_type",
    "walkable_rules",
    "walker_groups",
    "walking_costs",
]

log = logging.getLogger(__name__)

CATEGORY_TYPES = ("基础保障", "品质提升")

#: libyaml's C loader when PyYAML was built with it (about 10x faster than the pure-Python SafeLoader).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REQUIRED = ("id", "name_zh", "name_en", "tier", "type", "kinds", "citation", "verified")


def _cached_copy(read: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Read and validate once; hand every caller its own deep copy (the cache cannot be mutated)."""
    cached = functools.cache(read)

    @functools.wraps(read)
    def fresh() -> dict[str, Any]:
        return copy.deepcopy(cached())

    fresh.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return fresh


def _read_yaml(filename: str) -> dict[str, Any]:
    """Read one packaged YAML file, raising StandardsError naming it when malformed."""
    path = resources.files(__name__).joinpath(filename)
    if not path.is_file():
        raise StandardsError(f"standards file {filename!r} is missing from weihai_gis/standards/.")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        raise StandardsError(f"standards file {filename!r} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise StandardsError(f"standards file {filename!r}: expected a mapping at the top level.")
    return data


@_cached_copy
def coverage_config() -> dict[str, Any]:
    """Return ``coverage-config.yaml`` (snapping limits in metres, walking speeds in m/min, town types)."""
    cfg = _read_yaml("coverage-config.yaml")
    snap = cfg.get("snapping", {})
    for key in ("max_snap_m", "min_component_nodes"):
        value = snap.get(key)
        if not isinstance(value, int | float) or value < 0:
            raise StandardsError(
                f"coverage-config.yaml, snapping, field {key!r}: expected a non-negative number, got {value!r}."
            )
    speeds = cfg.get("walking_speed_m_per_min", {})
    for walker in ("adult", "elderly", "child"):
        value = speeds.get(walker)
        if not isinstance(value, int | float) or value <= 0:
            raise StandardsError(
                f"coverage-config.yaml, walking_speed_m_per_min, field {walker!r}: expected a positive "
                f"number of metres per minute, got {value!r}."
            )
    return cfg


@_cached_copy
def walker_groups() -> dict[str, dict[str, Any]]:
    """Return the walker groups of ``coverage-config.yaml``: speed, Chinese name, excluded ways, source.

    Returns
    -------
    dict
        ``{group: {"speed_m_per_min", "max_slope", "ramp_max_run", "name_zh", "excluded_highway" (tuple),
        "citation", "verified"}}`` for every group of ``walker_groups`` (adult first); ``max_slope`` (rise/run)
        is None for groups that climb any slope; ``ramp_max_run`` is ``(slopes, runs_m)`` (increasing slopes,
        the longest run without a landing at each) or None for groups without ramp length limits.

    Raises
    ------
    StandardsError
        A group without a positive speed in ``walking_speed_m_per_min``, a citation or ``verified``.
    """
    cfg = coverage_config()
    speeds = cfg.get("walking_speed_m_per_min", {})
    groups = cfg.get("walker_groups")
    where = "coverage-config.yaml, walker_groups"
    if not isinstance(groups, dict) or "adult" not in groups:
        raise StandardsError(f"{where}: expected a mapping of walker groups including 'adult'.")
    out = {}
    for name, entry in groups.items():
        speed = speeds.get(name)
        if not isinstance(speed, int | float) or speed <= 0:
            raise StandardsError(
                f"coverage-config.yaml, walking_speed_m_per_min, field {name!r}: expected a positive number "
                f"of metres per minute for walker group {name!r}, got {speed!r}."
            )
        if (
            not isinstance(entry, dict)
            or not entry.get("citation")
            or not isinstance(entry.get("verified"), bool)
        ):
            raise StandardsError(
                f"{where}, group {name!r}: needs name_zh, a citation and verified: true/false."
            )
        max_slope = None
        if entry.get("max_slope") is not None:
            max_slope = _cited_value(entry, "max_slope", f"{where}, group {name!r}")
            if not isinstance(max_slope, int | float) or max_slope <= 0:
                raise StandardsError(
                    f"{where}, group {name!r}, field 'max_slope': expected a positive rise/run (e.g. 0.0833 for "
                    f"1:12), got {max_slope!r}."
                )
            max_slope = float(max_slope)
        out[str(name)] = {
            "speed_m_per_min": float(speed),
            "max_slope": max_slope,
            "ramp_max_run": _ramp_max_run(entry, f"{where}, group {name!r}"),
            "name_zh": str(entry.get("name_zh", name)),
            "excluded_highway": tuple(str(h) for h in entry.get("excluded_highway") or ()),
            "citation": str(entry["citation"]).strip(),
            "verified": bool(entry["verified"]),
        }
    return out


@_cached_copy
def walking_costs() -> dict[str, float]:
    """Return the hill and steps settings of ``coverage-config.yaml`` as plain numbers.

    Returns
    -------
    dict
        ``tobler_decay``, ``tobler_offset_slope`` (Tobler 1993), ``sample_spacing_cells`` (elevation samples per
        DEM cell along an edge), ``steps_ascent_factor`` and ``steps_descent_factor`` (share of the flat speed).
    """
    cfg = coverage_config()
    hills, steps = cfg.get("hills", {}), cfg.get("steps", {})
    tobler = hills.get("tobler", {})
    values = {
        "tobler_decay": tobler.get("decay"),
        "tobler_offset_slope": tobler.get("offset_slope"),
        "sample_spacing_cells": hills.get("sample_spacing_cells"),
        "steps_ascent_factor": steps.get("ascent_speed_factor"),
        "steps_descent_factor": steps.get("descent_speed_factor"),
    }
    for key, value in values.items():
        if not isinstance(value, int | float) or value <= 0:
            raise StandardsError(
                f"coverage-config.yaml, hills/steps, field {key!r}: expected a positive number, got {value!r}."
            )
    for section, name in ((tobler, "hills.tobler"), (steps, "steps")):
        if not section.get("citation") or not isinstance(section.get("verified"), bool):
            raise StandardsError(f"coverage-config.yaml, {name}: needs a citation and verified: true/false.")
    return {k: float(v) for k, v in values.items()}


def _ramp_max_run(entry: dict[str, Any], where: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Return a group's ``ramp_max_run`` table as (slopes, runs in metres), None when it has none."""
    table = entry.get("ramp_max_run")
    if table is None:
        return None
    where = f"{where}, field 'ramp_max_run'"
    if (
        not isinstance(table, dict)
        or not table.get("citation")
        or not isinstance(table.get("verified"), bool)
    ):
        raise StandardsError(f"{where}: expected slope, max_run_m, a citation and verified: true/false.")
    slope, run = table.get("slope"), table.get("max_run_m")
    if (
        not (isinstance(slope, list) and isinstance(run, list) and len(slope) == len(run) >= 1)
        or not all(isinstance(v, int | float) and v > 0 for v in [*slope, *run])
        or any(b <= a for a, b in itertools.pairwise(slope))
    ):
        raise StandardsError(
            f"{where}: expected equally long lists 'slope' (increasing rise/run, e.g. 0.05 for 1:20) and "
            f"'max_run_m' (positive metres), got {slope!r} and {run!r}."
        )
    return tuple(float(v) for v in slope), tuple(float(v) for v in run)


def _cited_value(cfg: dict[str, Any], key: str, where: str) -> Any:
    """Return the ``value`` of a ``{value, citation, verified}`` entry (StandardsError when incomplete)."""
    entry = cfg.get(key)
    if not isinstance(entry, dict) or "value" not in entry:
        raise StandardsError(f"{where}, field {key!r}: expected a mapping with value, citation and verified.")
    if not entry.get("citation") or not isinstance(entry.get("verified"), bool):
        raise StandardsError(f"{where}, field {key!r}: needs a citation and verified: true/false.")
    return entry["value"]


def coverage_setting(section: str, key: str) -> Any:
    """Return the cited value ``coverage-config.yaml`` holds at ``section.key`` (a ``{value, citation, verified}``).

    Raises
    ------
    StandardsError
        When the entry is missing or lacks its citation or ``verified`` flag.
    """
    return _cited_value(coverage_config().get(section, {}), key, f"coverage-config.yaml, {section}")


@_cached_copy
def building_population() -> dict[str, Any]:
    """Return ``building-population.yaml`` as plain values (each checked for a citation and ``verified``).

    Returns
    -------
    dict
        ``floor_area_per_person_m2`` (float, m² per resident), ``residential_types`` (tuple of OSM
        ``building`` values holding residents), ``default_floors`` (``{building type: floors}``).
    """
    where = "building-population.yaml"
    cfg = _read_yaml(where)
    area = _cited_value(cfg, "floor_area_per_person_m2", where)
    if not isinstance(area, int | float) or area <= 0:
        raise StandardsError(f"{where}, floor_area_per_person_m2: expected a positive number, got {area!r}.")
    types = _cited_value(cfg, "residential_types", where)
    if not isinstance(types, list) or not types:
        raise StandardsError(f"{where}, residential_types: expected a list of OSM building values.")
    floors = {}
    for kind in types:
        value = _cited_value(cfg.get("default_floors", {}), kind, f"{where}, default_floors")
        if not isinstance(value, int | float) or value < 1:
            raise StandardsError(f"{where}, default_floors, {kind!r}: expected floors >= 1, got {value!r}.")
        floors[str(kind)] = float(value)
    return {
        "floor_area_per_person_m2": float(area),
        "residential_types": tuple(str(t) for t in types),
        "default_floors": floors,
    }


@_cached_copy
def planning_config() -> dict[str, Any]:
    """Return ``planning.yaml``: supply standards per 1000 residents, default capacities, E2SFCA decay zones."""
    cfg = _read_yaml("planning.yaml")
    zones = cfg.get("access", {}).get("decay", {}).get("zones")
    if not isinstance(zones, list) or not zones:
        raise StandardsError(
            "planning.yaml, access.decay, field 'zones': expected a list of {upto_share, weight}."
        )
    for cid, entry in cfg.get("supply", {}).items():
        for key in ("per_1000", "default_capacity"):
            value = entry.get(key)
            if not isinstance(value, int | float) or value <= 0:
                raise StandardsError(
                    f"planning.yaml, supply.{cid}, field {key!r}: expected a positive number, got {value!r}."
                )
        if "citation" not in entry or "verified" not in entry:
            raise StandardsError(
                f"planning.yaml, supply.{cid}: every value needs a citation and verified flag."
            )
    return cfg


@_cached_copy
def walkable_rules() -> dict[str, Any]:
    """Return ``walkable.yaml``: lists of walkable and barrier ``highway`` values and access rules."""
    rules = _read_yaml("walkable.yaml")
    for key in (
        "walkable_highway",
        "barrier_highway",
        "foot_forbidden",
        "foot_allowed",
        "access_forbidden",
        "area_excluded",
    ):
        value = rules.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise StandardsError(f"walkable.yaml, field {key!r}: expected a list of strings, got {value!r}.")
    overlap = set(rules["walkable_highway"]) & set(rules["barrier_highway"])
    if overlap:
        raise StandardsError(f"walkable.yaml: highway values both walkable and barrier: {sorted(overlap)}.")
    return rules


@_cached_copy
def facility_kinds() -> dict[str, Any]:
    """Return ``facility-kinds.yaml``: ``kinds`` (vocabulary), ``osm_rules`` and ``amap`` mappings."""
    data = _read_yaml("facility-kinds.yaml")
    kinds = data.get("kinds")
    if not isinstance(kinds, dict) or not kinds:
        raise StandardsError("facility-kinds.yaml, field 'kinds': expected a non-empty mapping.")
    for i, rule in enumerate(data.get("osm_rules", [])):
        if rule.get("kind") not in kinds:
            raise StandardsError(
                f"facility-kinds.yaml, osm_rules[{i}], field 'kind': {rule.get('kind')!r} is not a known kind."
            )
        if not isinstance(rule.get("tags"), dict) or not rule["tags"]:
            raise StandardsError(f"facility-kinds.yaml, osm_rules[{i}], field 'tags': expected a mapping.")
    for kind, entry in data.get("amap", {}).items():
        if kind not in kinds:
            raise StandardsError(f"facility-kinds.yaml, amap, kind {kind!r} is not a known kind.")
        for key in ("seen", "uncertain"):
            for code in entry.get(key, []):
                if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
                    raise StandardsError(
                        f"facility-kinds.yaml, amap.{kind}.{key}: typecode {code!r} is not a 6-digit string."
                    )
    return data


@dataclass(frozen=True)
class Profile:
    """A life-circle profile.

    Attributes
    ----------
    name
        Profile id, e.g. ``"gb50180-2018"``.
    name_zh
        Chinese title.
    document
        The standard or guideline the profile encodes.
    walker
        Which walking speed converted minute limits (``adult``, ``elderly`` or ``child``).
    speed_m_per_min
        That walking speed in metres per minute.
    categories
        One row per category: id, name_zh, name_en, max_walk_m, max_walk_min, tier, type
        (基础保障 / 品质提升), kinds (tuple of facility kinds that serve it), citation (str), verified, note.
    """

    name: str
    name_zh: str
    document: str
    walker: str
    speed_m_per_min: float
    categories: pd.DataFrame

    @property
    def basic_ids(self) -> list[str]:
        """Ids of the 基础保障 categories (all must be met for 全要素达标)."""
        return self.categories.loc[self.categories["type"] == "基础保障", "id"].tolist()

    @property
    def known_kinds(self) -> set[str]:
        """Facility kinds used by at least one category of this profile."""
        return {k for kinds in self.categories["kinds"] for k in kinds}


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows)


def list_profiles() -> list[str]:
    """Return the names of the packaged profiles (``profile-<name>.yaml``), sorted."""
    root = resources.files(__name__)
    return sorted(
        p.name[len("profile-") : -len(".yaml")]
        for p in root.iterdir()
        if p.name.startswith("profile-") and p.name.endswith(".yaml")
    )


def load_profile(name: str, *, walker: str = "adult") -> Profile:
    """Load and validate a life-circle profile.

    Parameters
    ----------
    name
        Profile name, one of :func:`list_profiles` (e.g. ``"gb50180-2018"``).
    walker
        ``"adult"``, ``"elderly"`` or ``"child"``: the walking speed (metres per minute, from
        ``coverage-config.yaml``) used to convert minute limits to metres and to report minutes.

    Returns
    -------
    Profile

    Raises
    ------
    StandardsError
        Unknown profile or walker, or a category with a missing/invalid field (the message names the file,
        the category and the field).
    """
    available = list_profiles()
    if name not in available:
        raise StandardsError(f"unknown life-circle profile {name!r}; available: {', '.join(available)}.")
    speeds = coverage_config()["walking_speed_m_per_min"]
    if walker not in ("adult", "elderly", "child"):
        raise StandardsError(f"unknown walker {walker!r}; expected one of adult, elderly, child.")
    speed = float(speeds[walker])
    filename = f"profile-{name}.yaml"
    data = _read_yaml(filename)
    kinds_vocab = set(facility_kinds()["kinds"])
    rows = []
    for cid, cat, where in iter_records(data, "categories", filename, "category", _REQUIRED):
        require_choice(cat, "type", CATEGORY_TYPES, where)
        require_bool(cat, "verified", where)
        kinds = require_kinds(cat, kinds_vocab, where)
        metres, minutes = cat.get("max_walk_m"), cat.get("max_walk_min")
        if (metres is None) == (minutes is None):
            raise StandardsError(f"{where}: give exactly one of 'max_walk_m' or 'max_walk_min'.")
        value = metres if metres is not None else minutes
        if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            field = "max_walk_m" if metres is not None else "max_walk_min"
            raise StandardsError(f"{where}, field {field!r}: expected a positive number, got {value!r}.")
        max_m = float(value) if metres is not None else float(value) * speed
        rows.append(
            {
                "id": cid,
                "name_zh": str(cat["name_zh"]),
                "name_en": str(cat["name_en"]),
                "max_walk_m": round(max_m, 1),
                "max_walk_min": round(max_m / speed, 1) if minutes is None else float(minutes),
                "limit_unit": "m" if metres is not None else "min",
                "tier": str(cat["tier"]),
                "type": cat["type"],
                "kinds": tuple(kinds),
                "citation": citation_text(cat["citation"], where),
                "verified": cat["verified"],
                "note": str(cat.get("note", "")),
            }
        )
    return Profile(
        name=name,
        name_zh=str(data.get("name_zh", name)),
        document=str(data.get("document", "")),
        walker=walker,
        speed_m_per_min=speed,
        categories=_frame(rows),
    )


def profile_for_town_type(town_type: str) -> str:
    """Return the profile name used for a town type (城郊融合型 → urban, 生态农业型 → rural, ...).

    Raises
    ------
    StandardsError
        If the town type is not in ``coverage-config.yaml``'s ``town_type_profile`` table.
    """
    table = coverage_config()["town_type_profile"]
    if town_type not in table:
        raise StandardsError(
            f"coverage-config.yaml, town_type_profile: unknown town type {town_type!r}; "
            f"expected one of {', '.join(table)}."
        )
    return str(table[town_type])
