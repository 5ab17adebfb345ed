"""Coverage results as the tables maps and reports draw: from a ``CoverageResult`` or a results GeoPackage.

``weihai-gis coverage --out results.gpkg`` writes the layers ``origins``, ``facilities``, ``summary_hex`` and
``summary_<units>``; a ``CoverageResult`` in a notebook offers ``hex_summary()`` and ``summary(units)``. Both
become one :class:`CoverageTables`, so the renderers never compute coverage themselves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from weihai_gis.crs import WEB_CRS, WEIHAI_BOUNDS
from weihai_gis.errors import LayerError
from weihai_gis.files import require_input_file
from weihai_gis.lifecircle.results import all_basic_note, assessed_flags, basic_assessment

__all__ = ["SUMMARY_UNIT_LAYERS", "CoverageTables", "coverage_tables", "read_results_gpkg"]

log = logging.getLogger(__name__)

#: Polygon layers of the embedded dataset a CoverageResult is summarised by, in report order.
SUMMARY_UNIT_LAYERS = ("renewal_districts", "town_areas", "counties")


@dataclass
class CoverageTables:
    """Coverage results ready to render.

    Attributes
    ----------
    hex
        Per-hexagon summary (``rate_<category>`` shares 0..1), or ``None``.
    units
        Unit-layer name (e.g. ``"renewal_districts"``) -> per-unit summary, only units that hold origins.
    facilities
        Facility points, or ``None``.
    categories
        Category table (id, name_zh, max_walk_m, type, citation, verified, assessed), or ``None`` if unknown.
        A category not assessed (no facility of it in the input) has NaN rates and is left out of
        全要素达标率; see :meth:`not_assessed` and :meth:`all_basic_scope_zh`.
    profile_name
        Standards profile name, or ``None``.
    n_origins, population
        Number of origins and their total population (``None`` if unknown).
    in_weihai
        False when the results lie outside Weihai (e.g. the Helsinki sample network).
    network_summary
        Facts about the walking network (nodes, edges, length ...) when the result carries them.
    warnings
        Warnings of the analysis (e.g. categories without facilities; for a results GeoPackage, the note on
        the categories left out of 全要素达标率 is rebuilt from its ``categories`` table).
    """

    hex: gpd.GeoDataFrame | None = None
    units: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    facilities: gpd.GeoDataFrame | None = None
    categories: pd.DataFrame | None = None
    profile_name: str | None = None
    n_origins: int | None = None
    population: float | None = None
    in_weihai: bool = True
    network_summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def rate_columns(self) -> list[str]:
        """Return the ``rate_*`` columns of the first available summary (hex first)."""
        frames = [f for f in [self.hex, *self.units.values()] if f is not None]
        return [c for c in frames[0].columns if c.startswith("rate_")] if frames else []

    def not_assessed(self) -> dict[str, str]:
        """Return id -> name_zh of the categories not assessed (no facility of the kind in the input).

        Empty when the category table is unknown.
        """
        cats = self.categories
        if cats is None or "id" not in cats.columns:
            return {}
        rows = cats.loc[~assessed_flags(cats)]
        names = rows["name_zh"] if "name_zh" in rows.columns else rows["id"]
        return dict(zip(rows["id"].astype(str), names.astype(str), strict=True))

    def all_basic_scope_zh(self) -> str | None:
        """Return the scope of 全要素达标率, e.g. ``"已评估 19/24 类基础保障"``; ``None`` if the table is unknown."""
        cats = self.categories
        if cats is None or "id" not in cats.columns:
            return None
        done, missing = basic_assessment(cats)
        return f"已评估 {len(done)}/{len(done) + len(missing)} 类基础保障"


def _in_weihai(frames: list[gpd.GeoDataFrame | None]) -> bool:
    west, south, east, north = WEIHAI_BOUNDS
    for f in frames:
        if f is None or f.empty or f.crs is None:
            continue
        x0, y0, x1, y1 = f.to_crs(WEB_CRS).total_bounds
        return bool(x1 >= west and x0 <= east and y1 >= south and y0 <= north)
    return True


def read_results_gpkg(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a coverage results GeoPackage into a dict of layer name -> (Geo)DataFrame.

    Parameters
    ----------
    path
        File written by ``weihai-gis coverage --out``.

    Returns
    -------
    dict
        Every layer of the file (``origins``, ``facilities``, ``summary_hex``, ``summary_<units>``, ...).

    Raises
    ------
    InputFileError
        If the file does not exist.
    LayerError
        If the file holds no ``summary_*`` layer.
    """
    p = require_input_file(path, what="coverage results")
    names = [str(row[0]) for row in pyogrio.list_layers(p)]
    if not any(n.startswith("summary_") for n in names):
        raise LayerError(
            f"{p}: no summary_* layer (found {', '.join(names) or 'none'}); "
            "expected the output of `weihai-gis coverage --out results.gpkg`."
        )
    return {n: gpd.read_file(p, layer=n) for n in names}


def _from_mapping(results: Mapping[str, Any]) -> CoverageTables:
    units = {
        k.removeprefix("summary_"): v
        for k, v in results.items()
        if k.startswith("summary_") and k != "summary_hex"
    }
    origins = results.get("origins")
    tables = CoverageTables(
        hex=results.get("summary_hex"),
        units=units,
        facilities=results.get("facilities"),
        categories=results.get("categories"),
    )
    if origins is not None and len(origins):
        tables.n_origins = len(origins)
        if "population" in origins.columns:
            tables.population = float(pd.to_numeric(origins["population"], errors="coerce").sum())
    cats = tables.categories
    if "profile_name" in results:
        tables.profile_name = str(results["profile_name"])
    elif cats is not None and "profile" in cats.columns and len(cats):
        tables.profile_name = str(cats["profile"].iloc[0])
    return tables


def coverage_tables(
    source: Any,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    hex_size_m: float = 500.0,
) -> CoverageTables:
    """Collect the tables to render from a ``CoverageResult``, a results mapping or a results GeoPackage path.

    Parameters
    ----------
    source
        A ``CoverageResult`` (has ``hex_summary`` and ``summary``), a mapping as returned by
        :func:`read_results_gpkg`, or the path of such a GeoPackage.
    layers
        Embedded layers; with a ``CoverageResult`` the summaries per renewal district, town area and county
        are computed by ``result.summary(units)`` (units holding no origin are left out).
    hex_size_m
        Hexagon size in metres for ``result.hex_summary``.

    Returns
    -------
    CoverageTables
        Tables, with ``in_weihai=False`` when the results lie outside Weihai.
    """
    if isinstance(source, str | os.PathLike):
        source = read_results_gpkg(source)
    if isinstance(source, Mapping):
        tables = _from_mapping(source)
    else:
        tables = CoverageTables(
            hex=source.hex_summary(size_m=hex_size_m),
            facilities=getattr(source, "facilities", None),
            categories=getattr(source, "categories", None),
            profile_name=getattr(source, "profile_name", None),
            network_summary=dict(getattr(source, "network_summary", None) or {}),
            warnings=[str(w) for w in getattr(source, "warnings", None) or []],
        )
        origins = source.origins
        tables.n_origins = len(origins)
        tables.population = float(origins["population"].sum()) if "population" in origins.columns else None
        for name in SUMMARY_UNIT_LAYERS if layers is not None else ():
            if name in layers and len(layers[name]):
                summary = source.summary(layers[name])
                tables.units[name] = summary
    for name in list(tables.units):
        summary = tables.units[name]
        if "n_origins" in summary.columns:
            held = pd.to_numeric(summary["n_origins"], errors="coerce").fillna(0) > 0
            if not held.any():
                log.info("summary by %s: no unit holds an origin; left out", name)
                del tables.units[name]
            else:
                tables.units[name] = summary.loc[held]
    tables.in_weihai = _in_weihai([tables.hex, *tables.units.values()])
    cats = tables.categories
    note = all_basic_note(cats) if cats is not None and {"id", "type"} <= set(cats.columns) else None
    if note and note not in tables.warnings:
        tables.warnings.append(note)
    return tables
