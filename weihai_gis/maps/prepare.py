"""Prepare GeoDataFrames for a web map: reproject to lon/lat, simplify in metres, round, cap the size.

A browser map stays responsive with a few thousand features and a few MB of GeoJSON. Everything a builder
draws goes through :func:`web_frame`, which

* checks the CRS (never guesses one),
* drops null/empty geometries (logged; the count is returned so the legend can say how many are missing),
* simplifies lines and polygons in metres (``ANALYSIS_CRS``), so the tolerance means the same everywhere,
* reprojects to WGS84 lon/lat (Leaflet's coordinates; CGCS2000 differs from WGS84 by centimetres),
* rounds coordinates to 6 decimals (about 0.1 m) and
* refuses to emit more than ``max_features`` raw features (aggregate first, e.g. a hexagon summary).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from weihai_gis.crs import ANALYSIS_CRS, WEB_CRS, WEIHAI_BOUNDS, require_crs, wgs84_to_gcj02
from weihai_gis.errors import LayerError

__all__ = ["MAX_FEATURES", "WebFrame", "bounds_latlon", "web_frame"]

log = logging.getLogger(__name__)

#: Most raw features one map layer may hold; more must be aggregated (e.g. ``hex_summary``) first.
MAX_FEATURES = 20_000
_DECIMALS = 6


@dataclass(frozen=True)
class WebFrame:
    """A GeoDataFrame ready for Leaflet plus what was left out.

    Attributes
    ----------
    gdf
        Rows with a geometry, in EPSG:4326, simplified and rounded; non-geometry columns JSON-friendly.
    n_missing
        Rows dropped because their geometry was null or empty (e.g. towns with ``location_status="missing"``).
    """

    gdf: gpd.GeoDataFrame
    n_missing: int


def _json_friendly(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with values GeoJSON can carry (bools kept, NaN -> None, other objects -> str)."""
    out = df.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.astype(object)
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype(object).where(s.notna(), None)
        else:
            out[col] = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
    return out


def web_frame(
    gdf: gpd.GeoDataFrame,
    *,
    where: str,
    simplify_m: float = 0.0,
    max_features: int = MAX_FEATURES,
    columns: list[str] | None = None,
    datum: str = "wgs84",
) -> WebFrame:
    """Return ``gdf`` prepared for a web map (EPSG:4326, simplified in metres, coordinates to 6 decimals).

    Parameters
    ----------
    gdf
        Layer in any projected or geographic CRS (must have one).
    where
        Layer name used in messages, e.g. ``'layer "towns"'``.
    simplify_m
        Douglas-Peucker tolerance in metres for lines and polygons (0 = keep every vertex). Topology is
        preserved, so a polygon never collapses.
    max_features
        Most features allowed; more raise :class:`~weihai_gis.errors.LayerError` (aggregate first).
    columns
        Attribute columns to keep (those absent are ignored); ``None`` keeps all.
    datum
        Datum of the basemap tiles: ``"wgs84"`` (no shift) or ``"gcj02"`` (coordinates shifted to GCJ-02 for
        display over Amap tiles; never use such output for measurement).

    Returns
    -------
    WebFrame
        The prepared frame and the number of rows dropped for a missing geometry.

    Raises
    ------
    LayerError
        If the layer has more than ``max_features`` rows with a geometry.
    CRSError
        If the layer has no CRS.
    """
    require_crs(gdf, where=where)
    geom = gdf.geometry
    keep = geom.notna() & ~geom.is_empty
    n_missing = int((~keep).sum())
    if n_missing:
        log.info("%s: %d rows without geometry are not drawn", where, n_missing)
    out = gdf.loc[keep]
    if len(out) > max_features:
        raise LayerError(
            f"{where}: {len(out)} features is more than a web map should draw (limit {max_features}); "
            "aggregate first, e.g. CoverageResult.hex_summary(size_m=500) or a summary per unit."
        )
    if columns is not None:
        out = out[[c for c in columns if c in out.columns] + [out.geometry.name]]
    if simplify_m > 0 and len(out):
        metric = out.to_crs(ANALYSIS_CRS)
        simplified = metric.geometry.simplify(simplify_m, preserve_topology=True)
        out = metric.set_geometry(simplified)
    out = out.to_crs(WEB_CRS)
    if datum not in ("wgs84", "gcj02"):
        raise ValueError(f"`datum` must be 'wgs84' or 'gcj02', got {datum!r}.")

    def _coords(xy: np.ndarray) -> np.ndarray:
        if datum == "gcj02" and len(xy):
            xy = np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
        return np.round(xy, _DECIMALS)

    rounded = shapely.transform(np.asarray(out.geometry.values), _coords)
    out = out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=WEB_CRS))
    return WebFrame(gdf=_json_friendly(out.reset_index(drop=True)), n_missing=n_missing)


def bounds_latlon(frames: list[gpd.GeoDataFrame]) -> list[list[float]]:
    """Return ``[[south, west], [north, east]]`` of the frames (EPSG:4326), or Weihai's bounds if all are empty.

    Parameters
    ----------
    frames
        Frames in EPSG:4326 (as returned in :attr:`WebFrame.gdf`).

    Returns
    -------
    list of list of float
        Leaflet bounds in degrees.
    """
    boxes = [f.total_bounds for f in frames if len(f)]
    if not boxes:
        west, south, east, north = WEIHAI_BOUNDS
    else:
        arr = np.array(boxes)
        west, south = arr[:, 0].min(), arr[:, 1].min()
        east, north = arr[:, 2].max(), arr[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]
