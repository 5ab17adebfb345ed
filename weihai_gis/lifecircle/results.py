"""The coverage result: everything a renderer needs, computed once by :func:`~weihai_gis.coverage`.

A :class:`CoverageResult` carries the per-origin distances and flags, the per-unit and per-hexagon
summaries, the overall table (network, straight line and gap per category) and the run's
:class:`RunMetadata` (profile, hexagon size, cutoffs, walking-network facts, warnings, where each input came
from and whether it is real, estimated or a sample). Maps, tables and the report read it and never compute
coverage; :mod:`weihai_gis.io.results` writes it to one GeoPackage and reads it back unchanged.
Column names: :mod:`weihai_gis.lifecircle.columns`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from weihai_gis.crs import STORAGE_CRS, WEIHAI_BOUNDS, transformer
from weihai_gis.lifecircle.assessment import (
    BASIC_TYPE,
    all_basic_note,
    all_basic_title_zh,
    assessed_flags,
    basic_assessment,
)
from weihai_gis.lifecircle.summaries import hex_ids, hex_summary, overall_table, unit_summaries, unit_summary

__all__ = [
    "BASIC_TYPE",
    "INPUT_STATUS_ZH",
    "OSM_ATTRIBUTION",
    "CoverageResult",
    "InputRecord",
    "RunMetadata",
    "all_basic_note",
    "all_basic_title_zh",
    "assessed_flags",
    "basic_assessment",
    "hex_ids",
    "in_weihai",
    "source_name",
]

log = logging.getLogger(__name__)

#: The attribution ODbL requires wherever OpenStreetMap data is shown.
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"

#: How trustworthy an input is, in the words the outputs use.
INPUT_STATUS_ZH = {
    "real": "实际数据 / real",
    "estimated": "估算 / estimated",
    "sample": "样例（非威海）/ sample (not Weihai)",
}


_ROLE_ZH = {"network": "步行路网", "facilities": "设施点", "origins": "居住人口"}


@dataclass(frozen=True)
class InputRecord:
    """Where one input of a coverage run came from.

    Attributes
    ----------
    role
        ``"network"``, ``"facilities"`` or ``"origins"``.
    source
        File name (never a folder of the machine) or a short description.
    status
        ``"real"``, ``"estimated"`` (e.g. residents from footprint × floors) or ``"sample"`` (not Weihai).
    note
        Planner-facing remark (how it was derived).
    """

    role: str
    source: str
    status: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.status not in INPUT_STATUS_ZH:
            raise ValueError(f"input status must be one of {sorted(INPUT_STATUS_ZH)}, got {self.status!r}")


@dataclass(frozen=True)
class RunMetadata:
    """Facts about a coverage run that every output repeats.

    Attributes
    ----------
    profile_name
        Standards profile (e.g. ``"gb50180-2018"``); the cutoffs are ``CoverageResult.cutoffs_m``.
    hex_size_m
        Side of the summary hexagons in metres.
    crs
        CRS the distances were measured in (the walking network's metric CRS), e.g. ``"EPSG:4550"``.
    options
        The :class:`~weihai_gis.options.CoverageOptions` used, as a dict.
    network_summary
        Walking-network facts (nodes, edges, km, components ...; ``source`` is a file name).
    warnings
        Warnings of the analysis (categories not assessed, unused kinds, offsets ...).
    inputs
        Provenance of network, facilities and origins.
    source_label
        Planner-facing description of the inputs, Chinese first.
    in_weihai
        False when the origins lie outside Weihai (e.g. the Helsinki sample).
    created
        When the run finished (ISO 8601, local time with offset).
    version
        weihai_gis version that computed it.
    """

    profile_name: str
    hex_size_m: float
    crs: str
    options: dict[str, Any] = field(default_factory=dict)
    network_summary: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    inputs: tuple[InputRecord, ...] = ()
    source_label: str = ""
    in_weihai: bool = True
    created: str = ""
    version: str = ""

    def replace(self, **changes: Any) -> RunMetadata:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def in_weihai(frame: gpd.GeoDataFrame) -> bool:
    """Return whether the bounding box of ``frame`` overlaps Weihai's (True for an empty frame)."""
    if frame.empty or frame.crs is None:
        return True
    west, south, east, north = WEIHAI_BOUNDS
    xy = shapely.get_coordinates(frame.geometry.to_numpy())
    if not len(xy):
        return True
    lon, lat = transformer(frame.crs, STORAGE_CRS).transform(xy[:, 0], xy[:, 1])  # cached, see transformer()
    x0, y0, x1, y1 = np.nanmin(lon), np.nanmin(lat), np.nanmax(lon), np.nanmax(lat)
    return bool(x1 >= west and x0 <= east and y1 >= south and y0 <= north)


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("weihai-gis")
    except PackageNotFoundError:
        return "0.0.0"


@dataclass
class CoverageResult:
    """Life-circle coverage of origins by facility categories, with its summaries and metadata.

    Build one with :func:`weihai_gis.coverage` (or :meth:`build` from per-origin flags); read one back
    with :func:`weihai_gis.io.results.read_results`.

    Attributes
    ----------
    origins
        GeoDataFrame in the network's metric CRS: origin_id, population, reachable, unreachable_reason,
        snap_m, ``dist_<c>`` (network metres to the nearest facility, searched to twice the limit
        (``SEARCH_FACTOR``, :attr:`search_reach_m`) in a metres run, to the time budget in a walker-group
        run; NaN = none within that search, unreachable origin or category not assessed), ``straight_<c>``
        (straight-line metres to the nearest facility, NaN beyond :attr:`straight_reach_m`), ``met_<c>`` (``dist_<c>`` within
        the category's limit), ``met_buffer_<c>`` (straight line; both False for a category not assessed),
        ``met_all_basic`` (every *assessed* 基础保障 category met; False for unreachable origins and when
        no basic category is assessed), ``met_buffer_all_basic``.
    categories
        DataFrame: id, name_zh, name_en, max_walk_m, max_walk_min, tier, type, citation, verified, note,
        n_facilities, n_facilities_reachable, assessed (the input holds at least one facility of it).
    facilities
        GeoDataFrame of the facilities used (metric CRS) with category, reachable, unreachable_reason,
        snap_m.
    meta
        :class:`RunMetadata` of the run.
    hexagons
        Per-hexagon summary (see :func:`~weihai_gis.lifecircle.summaries.hex_summary`).
    units
        Summary-unit name (e.g. ``"town_areas"``) → per-unit summary, every unit of the layer.
    overall_table
        One row per category plus ``all_basic``: rate_network, rate_buffer, gap (see :meth:`overall`);
        with data-edge flags on the origins also the interior-only rates.
    problem_table
        A 问题清单 held as a table (a walker-group run's, which searches metres of its own, or one read from
        a file that stored it); None otherwise. Read the list through :attr:`problems`.
    lists_problems
        The result carries a 问题清单 derived from its origins (:attr:`problems`); set by the coverage job
        (:func:`~weihai_gis.jobs.coverage_job.with_problems`) for metres runs.
    missing_by_category
        Residents each basic category leaves out
        (:func:`~weihai_gis.lifecircle.problems.missing_by_category`); None when not computed.
    walker_comparison
        老人与成人覆盖率差: per summary unit and assessed basic category, the adult's and another walker
        group's rate and their gap, same facilities and network
        (:func:`~weihai_gis.lifecircle.walkers.walker_gap`); None when not asked for.
    service_areas
        服务范围: exact network service-area polygons per category or facility
        (:func:`~weihai_gis.lifecircle.service_areas.result_service_areas`); None when not computed.
    """

    origins: gpd.GeoDataFrame
    categories: pd.DataFrame
    facilities: gpd.GeoDataFrame
    meta: RunMetadata
    hexagons: gpd.GeoDataFrame
    units: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    overall_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    problem_table: gpd.GeoDataFrame | None = None
    lists_problems: bool = False
    missing_by_category: pd.DataFrame | None = None
    walker_comparison: pd.DataFrame | None = None
    service_areas: gpd.GeoDataFrame | None = None

    @classmethod
    def build(
        cls,
        origins: gpd.GeoDataFrame,
        categories: pd.DataFrame,
        facilities: gpd.GeoDataFrame,
        meta: RunMetadata,
        units: Mapping[str, gpd.GeoDataFrame] | None = None,
    ) -> CoverageResult:
        """Summarise per-origin flags into the hexagon, unit and overall tables, once.

        Parameters
        ----------
        origins, categories, facilities
            As the attributes of the same name.
        meta
            Run metadata; ``created``, ``version`` and ``in_weihai`` are filled in here when empty/True.
        units
            ``{name: polygons}`` to summarise by (empty layers are left out).
        """
        notes = list(meta.warnings)
        if (note := all_basic_note(categories)) and note not in notes:
            notes.append(note)
        meta = meta.replace(
            warnings=tuple(notes),
            created=meta.created or _now(),
            version=meta.version or _version(),
            in_weihai=meta.in_weihai and in_weihai(origins),
        )
        return cls(
            origins=origins,
            categories=categories,
            facilities=facilities,
            meta=meta,
            hexagons=hex_summary(origins, categories, meta.hex_size_m),
            units=unit_summaries(origins, categories, units or {}),
            overall_table=overall_table(origins, categories),
        )

    def __repr__(self) -> str:
        return (
            f"CoverageResult(profile={self.profile_name!r}, origins={len(self.origins)}, "
            f"categories={len(self.categories)}, hexagons={len(self.hexagons)} × {self.hex_size_m:g} m, "
            f"units={list(self.units)}, warnings={len(self.warnings)})"
        )

    @functools.cached_property
    def problems(self) -> gpd.GeoDataFrame | None:
        """问题清单: one row per origin and assessed basic category it does not meet (None when not listed).

        The network and straight-line distance to the nearest facility of each, data-edge flag and reason
        for unreachable origins: :attr:`problem_table` when held as a table, else derived once from the
        origin columns (:func:`~weihai_gis.lifecircle.problems.problems_from_origins`) when
        :attr:`lists_problems`.
        """
        if self.problem_table is not None:
            return self.problem_table
        if not self.lists_problems:
            return None
        from weihai_gis.lifecircle.problems import problems_from_origins

        return problems_from_origins(self.origins, self.categories)

    def problems_head(self, n: int) -> tuple[gpd.GeoDataFrame, int] | None:
        """Return the first ``n`` rows of :attr:`problems` (most residents first, stable) and the list's length.

        A list of at most ``n`` rows comes whole, in its own order. A derived list is not built whole for it
        (:func:`~weihai_gis.lifecircle.problems.problems_head`); None when the result lists no problems.
        """
        if self.problem_table is None and "problems" not in self.__dict__:  # not built: derive the head only
            if not self.lists_problems:
                return None
            from weihai_gis.lifecircle.problems import problems_head

            return problems_head(self.origins, self.categories, n)
        problems = self.problems
        if problems is None:
            return None
        if len(problems) <= n:
            return problems, len(problems)
        order = np.argsort(-problems["population"].to_numpy(dtype=float), kind="stable")
        return problems.iloc[order[:n]].reset_index(drop=True), len(problems)

    # --- metadata shortcuts -----------------------------------------------------------------------------

    @property
    def profile_name(self) -> str:
        """The profile used (e.g. ``"gb50180-2018"``)."""
        return self.meta.profile_name

    @property
    def walker(self) -> str | None:
        """The walker group of a minutes run (``"elderly"`` ...), ``None`` for a distance run in metres."""
        value = self.meta.options.get("walker")
        return None if value is None else str(value)

    @property
    def network_summary(self) -> dict[str, Any]:
        """Walking-network facts of the run."""
        return dict(self.meta.network_summary)

    @property
    def warnings(self) -> list[str]:
        """Warnings of the analysis, the all-basic scope note included."""
        return list(self.meta.warnings)

    @property
    def hex_size_m(self) -> float:
        """Side of the summary hexagons in metres."""
        return float(self.meta.hex_size_m)

    @property
    def category_ids(self) -> list[str]:
        """Category ids in profile order."""
        return [str(c) for c in self.categories["id"]]

    @property
    def cutoffs_m(self) -> dict[str, float]:
        """Category id → walking limit in metres."""
        return dict(zip(self.category_ids, self.categories["max_walk_m"].astype(float), strict=True))

    @property
    def search_reach_m(self) -> dict[str, float]:
        """Category id → how far (network metres) the run searched ``dist_<c>``; NaN beyond it.

        A metres run records it (``search_reach_m`` of the metadata options: ``search_factor`` × the limit);
        a file of an older version records one ``search_m`` for all (the farther of it and the limit); a
        walker-group run searched its time budget: the limit here.
        """
        options = self.meta.options
        recorded = options.get("search_reach_m") or {}
        old = float(options.get("search_m") or 0.0) if self.walker is None else 0.0
        return {c: float(recorded.get(c, max(m, old))) for c, m in self.cutoffs_m.items()}

    @property
    def straight_reach_m(self) -> dict[str, float]:
        """Category id → how far (metres) ``straight_<c>`` is exact; NaN beyond (inf: a file of an older version)."""
        recorded = self.meta.options.get("straight_reach_m") or {}
        return {c: float(recorded.get(c, math.inf)) for c in self.category_ids}

    @property
    def population(self) -> float:
        """Total population of the origins."""
        return float(self.origins["population"].sum())

    # --- tables -------------------------------------------------------------------------------------------

    def overall(self) -> pd.DataFrame:
        """Return the overall table (a copy): one row per category plus ``all_basic``.

        Columns: id, name_zh, type, max_walk_m, verified, n_facilities, assessed, rate_network,
        rate_buffer (population-weighted shares 0..1; NaN for a category not assessed), gap. The
        ``all_basic`` row is 全要素达标率 over the assessed 基础保障 categories; its name_zh says how many.
        """
        return self.overall_table.copy()

    def summary(
        self, units: gpd.GeoDataFrame, id_field: str = "id", name_field: str = "name_zh"
    ) -> gpd.GeoDataFrame:
        """Summarise by other polygon units (see :func:`~weihai_gis.lifecircle.summaries.unit_summary`)."""
        return unit_summary(self.origins, self.categories, units, id_field=id_field, name_field=name_field)

    def hex_summary(self, size_m: float | None = None) -> gpd.GeoDataFrame:
        """Return the hexagon summary: the stored one, or a new grid of side ``size_m`` metres."""
        if size_m is None or float(size_m) == self.hex_size_m:
            return self.hexagons
        return hex_summary(self.origins, self.categories, float(size_m))

    def populated_units(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the unit summaries restricted to units holding origins (layers holding none left out)."""
        out = {}
        for name, frame in self.units.items():
            held = pd.to_numeric(frame["n_origins"], errors="coerce").fillna(0) > 0
            if held.any():
                out[name] = frame.loc[held]
        return out

    def with_units(self, units: Mapping[str, gpd.GeoDataFrame]) -> CoverageResult:
        """Return a copy that also carries the summaries by ``units`` (``{name: polygons}``)."""
        return dataclasses.replace(
            self, units={**self.units, **unit_summaries(self.origins, self.categories, units)}
        )

    # --- assessment and data quality -------------------------------------------------------------------

    def not_assessed(self) -> dict[str, str]:
        """Return id → name_zh of the categories not assessed (no facility of the kind in the input)."""
        rows = self.categories.loc[~assessed_flags(self.categories)]
        return dict(zip(rows["id"].astype(str), rows["name_zh"].astype(str), strict=True))

    def all_basic_scope_zh(self) -> str:
        """Return the scope of 全要素达标率, e.g. ``"已评估 19/24 类基础保障"``."""
        done, missing = basic_assessment(self.categories)
        return f"已评估 {len(done)}/{len(done) + len(missing)} 类基础保障"

    def origins_estimated(self) -> bool:
        """Return whether the origins' population is estimated (outputs then label it 估算)."""
        return any(i.role == "origins" and i.status == "estimated" for i in self.meta.inputs)

    def unverified(self) -> dict[str, str]:
        """Return id → name_zh of the categories whose walking limit is not verified against the standard."""
        rows = self.categories.loc[~self.categories["verified"].fillna(False).astype(bool)]
        return dict(zip(rows["id"].astype(str), rows["name_zh"].astype(str), strict=True))

    def source_lines(self) -> list[str]:
        """Return the lines of the source box a map of this result shows (Chinese / English).

        One line per input (role, source, 实际数据 / 估算 / 样例), one on the categories not assessed, and the
        OpenStreetMap attribution when any input comes from OSM.
        """
        roles = {
            "network": "路网 / network",
            "facilities": "设施 / facilities",
            "origins": "人口 / population",
        }
        lines = [
            f"{roles.get(r.role, r.role)}：{r.source}（{INPUT_STATUS_ZH[r.status]}）"
            for r in self.meta.inputs
        ]
        if missing := self.not_assessed():
            lines.append(f"未评估（输入中无此类设施）/ not assessed: {'、'.join(missing.values())}")
        text = " ".join(
            [
                *(r.source for r in self.meta.inputs),
                self.meta.source_label,
                self.network_summary.get("source", ""),
            ]
        )
        if "OpenStreetMap" in text or ".osm" in text:
            lines.append(OSM_ATTRIBUTION)
        return lines

    def quality_notes(self) -> list[str]:
        """Return the data-quality notices (Chinese / English) every output of this result should show.

        One per fact that applies: sample data outside Weihai, estimated inputs, unverified standard
        distances. Empty when all inputs are real and every distance is verified.
        """
        notes = []
        if not self.meta.in_weihai or any(i.status == "sample" for i in self.meta.inputs):
            notes.append(
                "样例数据：结果不是威海现状，仅演示方法 / SAMPLE data: the results are not Weihai, they "
                "demonstrate the method"
            )
        for rec in self.meta.inputs:
            if rec.status == "estimated":
                what = _ROLE_ZH.get(rec.role, rec.role)
                notes.append(f"估算数据 / ESTIMATED {rec.role}：{what}（{rec.source}）{rec.note}")
        if unverified := self.unverified():
            notes.append(
                f"{len(unverified)}/{len(self.categories)} 类设施的步行距离未经官方文本核实（见标准表）/ "
                f"{len(unverified)} of {len(self.categories)} standard distances are unverified"
            )
        return notes


def source_name(path: str | Path | None) -> str:
    """Return the file name of ``path`` (outputs never show a folder of the machine)."""
    return "" if path is None else Path(str(path)).name
