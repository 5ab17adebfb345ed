"""Compliance of buildings or proposals with coastal zones, railway bands and height-control surfaces.

Every rule has the form "height_m > limit_m is a violation" with a limit that does not depend on the
building's height, so lowering a building can never add a violation.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine

from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS
from weihai_gis.errors import LayerError
from weihai_gis.sightlines.dem import DEM
from weihai_gis.sightlines.zones import load_controls

__all__ = ["VIOLATION_COLUMNS", "check_buildings", "surface_limits_under"]

log = logging.getLogger(__name__)

VIOLATION_COLUMNS = ["building_id", "rule", "rule_zh", "limit_m", "height_m", "excess_m", "zone", "geometry"]
"""Columns of the ``violations`` layer (data contract)."""

_ZONE_RULES = {
    "core_setback": ("coastal", "core_setback", "max_height_m", "核心退缩区内不得新建、扩建建筑物"),
    "general_control": ("coastal", "general_control", "max_height_m", "一般控制区建筑限高"),
    "hsr_safety": ("railway", None, "safety_band_max_height_m", "铁路线路安全保护区内不得新建建筑物"),
    "hsr_landscape": ("railway", None, "landscape_band_max_height_m", "铁路沿线风貌控制带限高"),
}


def _zone_limit(controls: dict[str, Any], zone: str) -> tuple[float | None, str]:
    section, sub, key, rule_zh = _ZONE_RULES[zone]
    spec = controls[section][sub] if sub else controls[section]
    value = spec.get(key, {}).get("value")
    return (None if value is None else float(value)), rule_zh


def surface_limits_under(buildings: gpd.GeoDataFrame, surface: DEM) -> np.ndarray:
    """Minimum of a height-limit raster under each footprint (cell centres inside; else the centroid cell).

    Parameters
    ----------
    buildings
        Footprints (any CRS).
    surface
        Height limits in metres above ground on a grid (``elevation`` holds the limits; ``nan`` = none).

    Returns
    -------
    numpy.ndarray
        One limit per building (``inf`` when no limit applies or the footprint is off the grid).
    """
    geoms = buildings.to_crs(surface.crs).geometry.to_numpy()
    values = np.where(np.isfinite(surface.elevation), surface.elevation, np.inf)
    rows, cols = surface.shape
    inverse = ~surface.transform
    out = np.full(len(geoms), np.inf)
    # One small window per footprint, so overlapping footprints (podium and tower, a proposal over an
    # existing building) each see every cell they cover.
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        x0, y0, x1, y1 = geom.bounds
        c_a, r_a = inverse @ (x0, y1)
        c_b, r_b = inverse @ (x1, y0)
        r0, r1 = max(int(np.floor(min(r_a, r_b))), 0), min(int(np.ceil(max(r_a, r_b))), rows)
        c0, c1 = max(int(np.floor(min(c_a, c_b))), 0), min(int(np.ceil(max(c_a, c_b))), cols)
        if r0 < r1 and c0 < c1:
            window_transform = surface.transform @ Affine.translation(c0, r0)
            inside = rasterio.features.geometry_mask(
                [geom], (r1 - r0, c1 - c0), window_transform, invert=True
            )
            if inside.any():
                out[i] = values[r0:r1, c0:c1][inside].min()
                continue
        c = shapely.centroid(geom)  # footprints smaller than a cell: use the cell of the centroid
        row, col = surface.rowcol(c.x, c.y)
        if 0 <= row < rows and 0 <= col < cols:
            out[i] = values[row, col]
    return out


def check_buildings(
    buildings: gpd.GeoDataFrame,
    *,
    height_field: str,
    id_field: str | None = "id",
    zones: gpd.GeoDataFrame | None = None,
    surface: DEM | None = None,
    controls: dict[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """Check buildings against zones and a height-control surface; return one row per violation.

    Parameters
    ----------
    buildings
        Footprint polygons (any CRS) with a height field (metres above ground).
    height_field
        Column with the building height in metres.
    id_field
        Column identifying buildings; ``None`` uses the row index.
    zones
        Zones with a ``zone`` column (``core_setback``, ``general_control``, ``hsr_safety``,
        ``hsr_landscape``; other zones have no building rule and are ignored).
    surface
        Height-control surface (limits in metres above ground, e.g. from :func:`height_surface`,
        corridors included).
    controls
        Controls configuration (default: packaged ``controls.yaml``); gives each zone's height limit.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`VIOLATION_COLUMNS` in EPSG:4490 (``zone`` is ``"surface"`` for surface rules).
    """
    if buildings.crs is None:
        raise LayerError("buildings: layer has no CRS.")
    if height_field not in buildings.columns:
        raise LayerError(f"buildings: field {height_field!r} missing; columns are {list(buildings.columns)}.")
    if id_field is not None and id_field not in buildings.columns:
        raise LayerError(f"buildings: id field {id_field!r} missing; columns are {list(buildings.columns)}.")
    heights = pd.to_numeric(buildings[height_field], errors="coerce")
    bad = buildings.index[~np.isfinite(heights.to_numpy(dtype=float)) | (heights < 0).to_numpy()]
    if len(bad):
        raise LayerError(
            f"buildings: field {height_field!r} must hold heights >= 0 m; bad in {len(bad)} rows "
            f"(index {list(bad[:5])})."
        )
    controls = controls if controls is not None else load_controls()
    ids = (
        buildings[id_field].astype(str)
        if id_field
        else buildings.index.astype(str).to_series(index=buildings.index)
    )
    blds = gpd.GeoDataFrame(
        {"building_id": ids.to_numpy(), "height_m": heights.to_numpy(dtype=float)},
        geometry=buildings.geometry.to_numpy(),
        crs=buildings.crs,
    ).to_crs(ANALYSIS_CRS)
    found: list[dict[str, Any]] = []
    if zones is not None and len(zones):
        if "zone" not in zones.columns:
            raise LayerError(f"zones: field 'zone' missing; columns are {list(zones.columns)}.")
        zm = zones.to_crs(ANALYSIS_CRS)
        pairs = gpd.sjoin(blds, zm[["zone", "geometry"]], how="inner", predicate="intersects")
        for bidx, pair in pairs.iterrows():
            if pair["zone"] not in _ZONE_RULES:
                continue
            limit, rule_zh = _zone_limit(controls, pair["zone"])
            if limit is None or not pair["height_m"] > limit:
                continue
            overlap = blds.geometry.loc[bidx].intersection(zm.geometry.loc[pair["index_right"]])
            if overlap.area <= 0 and blds.geometry.loc[bidx].area > 0:
                continue  # only touching the zone edge
            found.append(
                _row(pair, f"zone_{pair['zone']}", rule_zh, limit, pair["zone"], blds.geometry.loc[bidx])
            )
    if surface is not None:
        limits = surface_limits_under(blds, surface)
        for i in np.nonzero(blds["height_m"].to_numpy() > limits)[0]:
            b = blds.iloc[i]
            found.append(
                _row(
                    b,
                    "height_surface",
                    "超过眺望控制限高(山际线/海际线/视廊)",
                    limits[i],
                    "surface",
                    b.geometry,
                )
            )
    out = gpd.GeoDataFrame(found, columns=VIOLATION_COLUMNS, geometry="geometry", crs=ANALYSIS_CRS)
    out = out.astype({"limit_m": float, "height_m": float, "excess_m": float})
    out = out.sort_values("excess_m", ascending=False).drop_duplicates(["building_id", "rule"])
    out = out.sort_values(["building_id", "rule"]).reset_index(drop=True)
    log.info("%d violations among %d buildings", len(out), len(blds))
    return out.to_crs(STORAGE_CRS)


def _row(b: pd.Series, rule: str, rule_zh: str, limit: float, zone: str, geom: Any) -> dict[str, Any]:
    return {
        "building_id": b["building_id"],
        "rule": rule,
        "rule_zh": rule_zh,
        "limit_m": float(limit),
        "height_m": float(b["height_m"]),
        "excess_m": float(b["height_m"] - limit),
        "zone": zone,
        "geometry": geom,
    }
