"""What-if scenarios: add, move or remove facilities and get every coverage indicator again, exactly and fast.

A :class:`Scenario` names its changes against a base :class:`~weihai_gis.lifecircle.CoverageResult` (现状):
facilities added (points with a category), removed or moved (by the base run's facility ``id``), and
optionally a cut network (edges closed, e.g. the barriers of a service-area study). :class:`WhatIf` answers
it with :class:`~weihai_gis.planning.incremental.NearestState` per category the change touches: a bounded
search from the changed facilities only, equal to a full recompute bit for bit. Categories the scenario does
not touch keep the base columns. The answer is a full :class:`CoverageResult` (覆盖率, 全要素达标率, hexagon
and unit summaries), so everything that reads a result (maps, report, tables) reads a scenario too;
:mod:`weihai_gis.planning.compare` turns two results into difference tables and layers.

A cut network changes the graph: that scenario is a full :func:`weihai_gis.lifecircle.coverage` run on it.

A base run in walking minutes (a walker group, hills from a DEM) is answered in minutes on the same directed
time graph (:class:`~weihai_gis.planning.incremental_time.TimeState`: times from the resident to the
facility, equal to a full run bit for bit), with ``time_<category>`` and the metres of the quickest route.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from weihai_gis.errors import LayerError
from weihai_gis.lifecircle import CoverageResult, NetworkIndex, column, coverage
from weihai_gis.lifecircle.assessment import basic_assessment
from weihai_gis.lifecircle.time_engine import TimeIndex
from weihai_gis.network import WalkNetwork, snap_points
from weihai_gis.network.costs import EdgeTimes, edge_times
from weihai_gis.planning.incremental import ChangeStats, NearestState, empty_snapped
from weihai_gis.planning.incremental_time import TimeState, Walks
from weihai_gis.standards import load_profile, walker_groups
from weihai_gis.straight_distance import straight_distance_m

__all__ = [
    "Scenario",
    "ScenarioOutcome",
    "WhatIf",
    "check_base_dem",
    "check_base_times",
    "facility_ids",
    "run_scenarios",
]

log = logging.getLogger(__name__)


def _no_points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [], "category": []}, geometry=[], crs="EPSG:4326")


@dataclass(frozen=True)
class Scenario:
    """A named set of changes to the facilities (and optionally the network) of a base run.

    Attributes
    ----------
    name
        Scenario name shown in tables and maps (e.g. ``"规划"``).
    add
        New facilities: points (any CRS) with ``category`` (a facility kind or a category id of the profile)
        and optionally ``id`` and ``name``.
    remove
        Ids (the base result's ``facilities["id"]``) of facilities closed.
    move
        Facilities moved: ``id`` of a base facility and its new point (any CRS).
    network
        A cut network (edges closed) to use instead of the base run's; None keeps it.
    description
        One line saying what the scenario is (Chinese first).
    """

    name: str
    add: gpd.GeoDataFrame = field(default_factory=_no_points)
    remove: tuple[str, ...] = ()
    move: gpd.GeoDataFrame = field(default_factory=_no_points)
    network: WalkNetwork | None = None
    description: str = ""


def facility_ids(facilities: pd.DataFrame) -> npt.NDArray[np.object_]:
    """Return the ids scenarios use for a result's facilities: ``id`` as text, else the row position."""
    if "id" in facilities.columns:
        return facilities["id"].astype(str).to_numpy(dtype=object)
    return np.arange(len(facilities)).astype(str).astype(object)


def check_base_dem(base: CoverageResult, dem_costs: str | os.PathLike[str] | None) -> None:
    """Raise :class:`LayerError` unless ``dem_costs`` is the DEM the base run walked (None: level ground).

    The result records only the DEM's file name, so the name is compared.
    """
    recorded = base.meta.options.get("dem_costs")
    if recorded is not None and dem_costs is None:
        raise LayerError(
            f"what-if: the base run walked the hills of DEM {recorded!r}; give that file "
            "(WhatIf(..., dem_costs=PATH), or --dem-costs) so scenarios are walked on the same hills."
        )
    if dem_costs is not None and recorded is None:
        raise LayerError(
            f"what-if: DEM {Path(dem_costs).name!r} given, but the base run walked level ground; rerun the "
            "base with --dem-costs (dem_costs=) or leave the DEM out."
        )
    if dem_costs is not None and Path(dem_costs).name != recorded:
        raise LayerError(
            f"what-if: DEM {Path(dem_costs).name!r} is not the base run's ({recorded!r}); scenarios must "
            "be walked on the base run's hills. Give its DEM, or rerun the base with this one."
        )


def check_base_times(base: CoverageResult, net: WalkNetwork, times: EdgeTimes) -> None:
    """Raise :class:`LayerError` unless ``times`` are ``net``'s edge times of the base run's walker and DEM.

    The walker group must be the base run's, and the times must come from the DEM the base run walked (its
    file name, as the result records it) or from level ground when it walked level ground.
    """
    walker = base.meta.options.get("walker")
    if walker is None:
        raise LayerError(
            "what-if: edge times given, but the base run measured metres; leave times= out or rerun the "
            "base for a walker group (walker=, --walker)."
        )
    if len(times.forward_s) != net.n_edges:
        raise LayerError(
            f"what-if: the edge times hold {len(times.forward_s)} edges, the network {net.n_edges}; give "
            "edge_times(net, ...) of the base run's network."
        )
    if times.walker != walker:
        raise LayerError(
            f"what-if: the edge times are the {times.walker!r} group's, the base run walked as {walker!r}; "
            f"give edge_times(net, dem, walker={walker!r})."
        )
    recorded = base.meta.options.get("dem_costs")
    source = times.profile.dem_source or None
    if source != recorded:
        raise LayerError(
            f"what-if: the edge times come from {f'DEM {source!r}' if source else 'level ground'}, the base "
            f"run walked {f'the hills of DEM {recorded!r}' if recorded else 'level ground'}; give the edge "
            "times of the base run's DEM."
        )


class WhatIf:
    """Answer scenarios against one base coverage result on its network, reusing the base distances.

    Parameters
    ----------
    net
        The walking network of the base run.
    base
        The base result (:func:`weihai_gis.coverage`); its origins and facilities are snapped again with the
        run's own options, which reproduces the run's snapping exactly. A minutes run (``walker``) is
        answered in minutes for the same group.
    dem_costs
        The DEM file of a base run with hills (the result records only its file name, ``dem_costs``).
    times
        The edge times of ``net`` for the base run's walker (and DEM), when already known
        (:func:`weihai_gis.network.costs.edge_times`): the DEM is then not read, which lets a Dask sweep
        send them to its workers. A scenario with a cut network is walked from ``dem_costs`` again (its
        edges are not the network's), so give both for such scenarios.

    Raises
    ------
    LayerError
        A base run with hills but neither ``dem_costs`` nor ``times`` given, a DEM of another file name, or
        ``times`` of another network, walker or DEM (:func:`check_base_times`).

    Notes
    -----
    The first scenario touching a category builds its :class:`NearestState` (one full Dijkstra); every
    later change of that category is incremental.
    """

    def __init__(
        self,
        net: WalkNetwork,
        base: CoverageResult,
        *,
        dem_costs: str | os.PathLike[str] | None = None,
        times: EdgeTimes | None = None,
    ) -> None:
        self.net = net
        self.base = base
        self.profile = load_profile(base.profile_name)
        opts = base.meta.options
        if times is None or dem_costs is not None:
            check_base_dem(base, dem_costs)
        if times is not None:
            check_base_times(base, net, times)
        self.walker: str | None = opts.get("walker")
        self.dem_costs = None if dem_costs is None else os.fspath(dem_costs)
        self._snap_opts = {k: opts.get(k) for k in ("max_snap_m", "min_component_nodes")}
        self.index = NetworkIndex(net)
        self._time: tuple[TimeIndex, Walks] | None = None
        self._buffer_scale = 1.0
        if self.walker is not None:
            groups = walker_groups()
            if times is None:
                times = edge_times(net, dem=self.dem_costs, walker=self.walker)
            tindex = TimeIndex(net, times)
            self._time = (tindex, Walks.of(tindex))
            self._adult_m_per_s = groups["adult"]["speed_m_per_min"] / 60
            self._buffer_scale = groups[self.walker]["speed_m_per_min"] / groups["adult"]["speed_m_per_min"]
        self.o_snap = snap_points(net, base.origins, **self._snap_opts)
        fac = base.facilities.reset_index(drop=True)
        self.facilities = fac
        self.f_snap = snap_points(net, fac, **self._snap_opts) if len(fac) else None
        self.ids = facility_ids(fac)
        self._serves = {
            str(cat["id"]): {*cat["kinds"], str(cat["id"])} for _, cat in self.profile.categories.iterrows()
        }
        self._states: dict[str, NearestState | TimeState] = {}
        self._xy = shapely.get_coordinates(base.origins.geometry.to_numpy())

    # --- the facilities of a scenario ---------------------------------------------------------------

    def _in_crs(self, frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
        if frame.empty:
            return gpd.GeoDataFrame(
                frame.drop(columns="geometry", errors="ignore"), geometry=[], crs=self.net.crs
            )
        if frame.crs is None:
            raise LayerError(f"scenario {what}: the points have no CRS; give lon/lat or a CRS.")
        return frame.to_crs(self.net.crs).reset_index(drop=True)

    def _check(self, scenario: Scenario) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, npt.NDArray[np.bool_]]:
        """Return (added, moved, gone) with moved rows carrying their base attributes; check the ids."""
        add = self._in_crs(scenario.add, "add")
        move = self._in_crs(scenario.move, "move")
        known = set(self.ids)
        wanted = [*scenario.remove, *move.get("id", pd.Series(dtype=str)).astype(str)]
        if unknown := sorted(set(wanted) - known):
            raise LayerError(
                f"scenario {scenario.name!r}: facility ids {unknown[:10]} are not in the base run "
                f"({len(known)} facilities, e.g. {sorted(known)[:3]}); use the ids of its facilities layer."
            )
        if "category" not in add.columns and len(add):
            raise LayerError(f"scenario {scenario.name!r}, add: field 'category' is missing.")
        vocab = set().union(*self._serves.values())
        if bad := sorted(set(add.get("category", pd.Series(dtype=str)).astype(str)) - vocab):
            raise LayerError(
                f"scenario {scenario.name!r}, add: categories {bad} are not served by profile "
                f"{self.profile.name!r}; expected a category id ({', '.join(self._serves)}) or one of its kinds."
            )
        gone = np.isin(self.ids, [*scenario.remove, *move.get("id", pd.Series(dtype=str)).astype(str)])
        moved = self.facilities[np.isin(self.ids, move.get("id", pd.Series(dtype=str)).astype(str))]
        if len(moved):
            where = dict(zip(move["id"].astype(str), move.geometry, strict=True))
            moved = moved.set_geometry([where[i] for i in facility_ids(moved)], crs=self.net.crs)
        return add, gpd.GeoDataFrame(moved, crs=self.net.crs), gone

    def _new_frame(
        self, add: gpd.GeoDataFrame, moved: gpd.GeoDataFrame, gone: npt.NDArray[np.bool_]
    ) -> gpd.GeoDataFrame:
        """Return the scenario's facilities: kept base rows, then moved rows, then added rows."""
        cols = list(self.facilities.columns.drop("geometry"))
        add = add.assign(**{c: add[c] if c in add.columns else "" for c in ("id", "name")})
        add["id"] = [i if str(i) else f"new-{k + 1}" for k, i in enumerate(add["id"].astype(str))]
        parts = [self.facilities[~gone], moved, add]
        frame = pd.concat(
            [p[[c for c in cols if c in p.columns] + ["geometry"]] for p in parts], ignore_index=True
        )
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=self.net.crs)

    def _state(self, cid: str, rows: npt.NDArray[np.int64]) -> NearestState | TimeState:
        if cid not in self._states:
            assert self.f_snap is not None or len(rows) == 0
            fac = self.f_snap.take(rows) if self.f_snap is not None else empty_snapped()
            cutoff = self.base.cutoffs_m[cid]
            if self._time is None:  # as far as the base run searched (dist_<c> up to twice the limit)
                reach = self.base.search_reach_m[cid]
                self._states[cid] = NearestState.build(self.index, self.o_snap, fac, max_walk_m=reach)
            else:  # the budget of a minutes run: the limit walked at the adult reference speed, as coverage()
                tindex, walks = self._time
                budget = cutoff / self._adult_m_per_s
                self._states[cid] = TimeState.build(tindex, self.o_snap, fac, max_time_s=budget, walks=walks)
        return self._states[cid]

    # --- answering ----------------------------------------------------------------------------------

    def run(self, scenario: Scenario) -> tuple[CoverageResult, dict[str, ChangeStats]]:
        """Return the coverage result of ``scenario`` and, per recomputed category, what the change touched.

        Raises
        ------
        LayerError
            Unknown facility ids, missing or unknown categories, points without a CRS.
        """
        add, moved, gone = self._check(scenario)
        new_fac = self._new_frame(add, moved, gone)
        if scenario.network is not None:
            return self._full(scenario, new_fac), {}
        base = self.base
        cat_of = self.facilities["category"].astype(str).to_numpy() if len(self.facilities) else np.empty(0)
        fresh = pd.concat([moved, add], ignore_index=True) if len(moved) or len(add) else add
        fresh_cat = fresh["category"].astype(str).to_numpy() if len(fresh) else np.empty(0, dtype=str)
        fresh_snap = (
            snap_points(
                self.net, gpd.GeoDataFrame(geometry=fresh.geometry, crs=self.net.crs), **self._snap_opts
            )
            if len(fresh)
            else None
        )
        new_cat = new_fac["category"].astype(str).to_numpy()
        new_xy = shapely.get_coordinates(new_fac.geometry.to_numpy())
        origins = base.origins.copy()
        cats = base.categories.copy().reset_index(drop=True)
        stats: dict[str, ChangeStats] = {}
        for pos, cid in enumerate(base.category_ids):
            serve = list(self._serves[cid])
            rows = np.flatnonzero(np.isin(cat_of, serve))
            f_rows = np.flatnonzero(np.isin(fresh_cat, serve))
            if not gone[rows].any() and len(f_rows) == 0:
                continue
            state = self._state(cid, rows)
            added = fresh_snap.take(f_rows) if fresh_snap is not None else None
            after, stats[cid] = state.change(add=added, remove=np.flatnonzero(gone[rows]))
            dist = after.origin_m
            if isinstance(after, TimeState):
                origins[column("time", cid)] = after.origin_s / 60
            mine = np.flatnonzero(np.isin(new_cat, serve))
            cutoff = base.cutoffs_m[cid] * self._buffer_scale  # a walker group: its level-ground reach
            straight = np.full(len(origins), np.nan)
            if len(mine):
                straight = straight_distance_m(self._xy, new_xy[mine], within_m=base.straight_reach_m[cid])
            origins[column("dist", cid)] = dist
            within = np.isfinite(dist)
            if not isinstance(after, TimeState):  # metres: searched past the limit
                within &= dist <= base.cutoffs_m[cid]
            origins[column("met", cid)] = within
            origins[column("met", cid, buffer=True)] = straight <= cutoff
            if column("straight", cid) in origins.columns:
                origins[column("straight", cid)] = straight
            cats.loc[pos, "n_facilities"] = len(mine)
            cats.loc[pos, "n_facilities_reachable"] = int(after.facilities.reachable.sum())
            cats.loc[pos, "assessed"] = len(mine) > 0
        basic, _ = basic_assessment(cats)
        for buffer in (False, True):
            flags = [column("met", c, buffer=buffer) for c in basic]
            origins[column("met", "all_basic", buffer=buffer)] = (
                origins[flags].all(axis=1) if basic else False
            )
        n_nodes = sum(s.n_nodes_changed for s in stats.values())
        log.info(
            "scenario %s: %d categories recomputed, %d node distances changed",
            scenario.name,
            len(stats),
            n_nodes,
        )
        now_assessed = tuple(
            f"category {c} (" for c in stats if cats.loc[base.category_ids.index(c), "assessed"]
        )
        meta = base.meta.replace(
            source_label=f"{base.meta.source_label}；情景 {scenario.name}".lstrip("；"),
            warnings=tuple(
                w for w in base.meta.warnings if not w.startswith(now_assessed) or not now_assessed
            ),
            created="",
        )
        new_fac = self._facility_flags(new_fac)
        return CoverageResult.build(origins, cats, new_fac, meta, units=self._units()), stats

    def _facility_flags(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        snap = snap_points(self.net, frame, **self._snap_opts) if len(frame) else None
        if snap is not None:
            frame = frame.assign(
                reachable=snap.reachable, unreachable_reason=snap.reason, snap_m=snap.connector_m
            )
        return frame

    def _units(self) -> dict[str, gpd.GeoDataFrame]:
        return {name: frame[["id", "name_zh", "geometry"]] for name, frame in self.base.units.items()}

    def _full(self, scenario: Scenario, facilities: gpd.GeoDataFrame) -> CoverageResult:
        """Recompute fully on the scenario's cut network (edges closed change every path)."""
        assert scenario.network is not None
        base = self.base
        if self.dem_costs is None and base.meta.options.get("dem_costs") is not None:
            raise LayerError(
                f"what-if: scenario {scenario.name!r} cuts the network, so its walks are sampled again on "
                f"the base run's DEM {base.meta.options['dem_costs']!r}; give the file (dem_costs=) besides "
                "the edge times."
            )
        keep = [c for c in base.origins.columns if not c.startswith(("dist_", "met_", "time_"))]
        opts = {k: v for k, v in base.meta.options.items() if k in ("max_snap_m", "min_component_nodes")}
        log.info("scenario %s: a cut network, full recompute", scenario.name)
        return coverage(
            scenario.network,
            base.origins[keep],
            facilities,
            profile=self.profile,
            category_field="category",
            population_field="population",
            id_field="origin_id",
            offset_check="off",
            hex_size_m=base.hex_size_m,
            walker=self.walker,
            dem_costs=self.dem_costs,
            units=self._units(),
            source_label=f"{base.meta.source_label}；情景 {scenario.name}（断路网络）".lstrip("；"),
            **opts,
        )


@dataclass(frozen=True)
class ScenarioOutcome:
    """A scenario's result and its differences from the base run.

    Attributes
    ----------
    scenario
        The scenario.
    result
        Its coverage result (every indicator of a run: rates, hexagons, unit summaries).
    stats
        Per recomputed category, what the incremental change touched (empty for a cut network).
    table
        :func:`~weihai_gis.planning.compare.difference_table` overall (``units`` = 全域) and per unit layer
        asked for, with ``scenario`` and ``units`` columns first.
    origins, hexagons
        The difference map's layers (:func:`~weihai_gis.planning.compare.difference_origins`,
        :func:`~weihai_gis.planning.compare.difference_hexagons`).
    new_facilities
        The facilities the scenario moves or adds, at their new places (network CRS).
    seconds
        Wall time of the scenario's recompute (the comparison excluded).
    """

    scenario: Scenario
    result: CoverageResult
    stats: dict[str, ChangeStats]
    table: pd.DataFrame
    origins: gpd.GeoDataFrame
    hexagons: gpd.GeoDataFrame
    new_facilities: gpd.GeoDataFrame
    seconds: float


def run_scenarios(
    whatif: WhatIf, scenarios: list[Scenario], *, units: list[str] | None = None
) -> list[ScenarioOutcome]:
    """Answer every scenario against the base run and compare each with it.

    Parameters
    ----------
    whatif
        The base run's :class:`WhatIf`.
    scenarios
        Named scenarios (:func:`weihai_gis.io.scenarios.read_scenarios`); names must be distinct.
    units
        Unit summaries of the base run to compare per unit (default all it carries).

    Raises
    ------
    LayerError
        Duplicate scenario names, or the errors of :meth:`WhatIf.run`.
    """
    from weihai_gis.planning.compare import difference_hexagons, difference_origins, difference_table

    names = [s.name for s in scenarios]
    if dup := sorted({n for n in names if names.count(n) > 1}):
        raise LayerError(f"scenarios: names {dup} are used twice; give every scenario its own name.")
    base = whatif.base
    layers = list(base.units) if units is None else list(units)
    out = []
    for scenario in scenarios:
        start = time.perf_counter()
        result, stats = whatif.run(scenario)
        seconds = time.perf_counter() - start
        n_kept = len(result.facilities) - len(scenario.add) - len(scenario.move)
        parts = [difference_table(base, result).assign(units="全域")]
        parts += [difference_table(base, result, units=u).assign(units=u) for u in layers]
        table = pd.concat(parts, ignore_index=True)
        table.insert(0, "scenario", scenario.name)
        table.insert(1, "units", table.pop("units"))
        out.append(
            ScenarioOutcome(
                scenario,
                result,
                stats,
                table,
                difference_origins(base, result).assign(scenario=scenario.name),
                difference_hexagons(base, result).assign(scenario=scenario.name),
                result.facilities.iloc[n_kept:].reset_index(drop=True).assign(scenario=scenario.name),
                seconds,
            )
        )
        log.info("scenario %s: answered in %.3f s", scenario.name, seconds)
    return out
