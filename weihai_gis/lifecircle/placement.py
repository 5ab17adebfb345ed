"""Where origins and facilities lie: the sanity checks the walking network gets, applied to the points.

Three checks, each refusing with the layer's name and the fix (values in ``coverage-config.yaml``,
``placement``):

1. :func:`check_coordinates` — coordinates are finite and inside the valid range of the declared CRS
   (metres declared as EPSG:4326 and swapped longitude/latitude are named as such).
2. :func:`check_extent` — the points lie inside the network's extent or within a stated margin of it.
3. :func:`check_snapped` — a usable share of the origins lies within snapping distance of the network.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from weihai_gis.crs import (
    ANALYSIS_CRS,
    MIN_OFFSET_GAIN_M,
    NEAR_STREET_M,
    NEAR_STREET_RATIO,
    NEAR_STREET_Z,
    STORAGE_CRS,
    diagnose_offset,
    near_street_choice,
    near_street_shares,
    transformer,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from weihai_gis.errors import CRSError, LayerError
from weihai_gis.network import Snapped, WalkNetwork
from weihai_gis.standards import coverage_config

__all__ = ["check_coordinates", "check_extent", "check_snapped", "declared_datum_mismatch", "layer_label"]

log = logging.getLogger(__name__)


def layer_label(frame: gpd.GeoDataFrame, what: str) -> str:
    """Return how messages name ``frame``: its file and layer when the reader recorded them, else ``what``."""
    source = frame.attrs.get("source") if hasattr(frame, "attrs") else None
    return str(source) if source else what


def _settings() -> dict[str, float]:
    cfg = coverage_config().get("placement", {})
    defaults = {
        "extent_margin_m": 2000.0,
        "max_outside_share": 0.5,
        "warn_outside_share": 0.05,
        "min_snapped_share": 0.1,
        "warn_snapped_share": 0.5,
    }
    return {key: float(cfg.get(key, value)) for key, value in defaults.items()}


def _range(values: np.ndarray) -> str:
    return f"{np.nanmin(values):,.6g} to {np.nanmax(values):,.6g}"


def check_coordinates(frame: gpd.GeoDataFrame, what: str) -> None:
    """Refuse coordinates that are not finite or outside the valid range of the layer's declared CRS.

    Parameters
    ----------
    frame
        Points or polygons with a CRS.
    what
        How messages name the layer (e.g. ``"origins 'o.gpkg', layer 'pop'"``).

    Raises
    ------
    CRSError
        Coordinates that are metres declared as degrees, swapped longitude/latitude, or beyond the CRS.
    """
    if frame.empty or frame.crs is None:
        return
    xy = shapely.get_coordinates(frame.geometry.to_numpy())
    if not len(xy):
        return
    crs = pyproj.CRS.from_user_input(frame.crs)
    x, y = xy[:, 0], xy[:, 1]
    if not np.isfinite(xy).all():
        raise CRSError(
            f"{what}: {int((~np.isfinite(xy)).any(axis=1).sum())} coordinates are NaN or infinite."
        )
    if crs.is_geographic:
        bad_x, bad_y = np.abs(x) > 180, np.abs(y) > 90
        if not (bad_x.any() or bad_y.any()):
            return
        if (np.abs(x) <= 90).all() and (np.abs(y) <= 180).all():
            raise CRSError(
                f"{what}: latitude and longitude look swapped (x {_range(x)}, y {_range(y)}: a latitude "
                f"cannot exceed 90°). Swap the two columns (or pass the longitude field as --lon-field and "
                f"the latitude field as --lat-field) and read the layer again."
            )
        raise CRSError(
            f"{what}: coordinates x {_range(x)}, y {_range(y)} are not degrees, but the layer declares "
            f"{crs.to_string()} (longitude/latitude). They look like metres: declare the CRS they are in "
            f"(e.g. EPSG:4550 for CGCS2000 Gauss-Krüger CM 123°E, or the UTM zone) in the file or with "
            f"GeoDataFrame.set_crs(..., allow_override=True)."
        )
    area = crs.area_of_use
    if area is None:
        return
    # CGCS2000 lon/lat: the WGS84 values to centimetres, without PROJ's 0.1 s datum search (see transformer())
    lon, lat = transformer(crs, STORAGE_CRS).transform(x, y)
    margin = 5.0  # degrees: a CRS's area of use is where it is accurate, not where it is defined
    outside = ~(
        np.isfinite(lon)
        & np.isfinite(lat)
        & (lon >= area.west - margin)
        & (lon <= area.east + margin)
        & (lat >= area.south - margin)
        & (lat <= area.north + margin)
    )
    if outside.mean() > 0.5:
        raise CRSError(
            f"{what}: {int(outside.sum())} of {len(outside)} coordinates (x {_range(x)}, y {_range(y)}) lie "
            f"outside the area where {crs.to_string()} ({crs.name}) is defined ({area.name}). Declare the "
            f"CRS the coordinates are really in (lon/lat: EPSG:4490 or EPSG:4326)."
        )


def _outside_m(xy: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Distance in metres from each point to the rectangle ``bounds`` (0 inside)."""
    x0, y0, x1, y1 = bounds
    dx = np.maximum(np.maximum(x0 - xy[:, 0], xy[:, 0] - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - xy[:, 1], xy[:, 1] - y1), 0.0)
    return np.hypot(dx, dy)


def check_extent(points: gpd.GeoDataFrame, net: WalkNetwork, what: str) -> list[str]:
    """Refuse (or warn about) points lying off the walking network's extent.

    Parameters
    ----------
    points
        Points in the network's CRS.
    net
        The walking network.
    what
        How messages name the layer.

    Returns
    -------
    list of str
        A warning when a small share lies off the extent (empty otherwise).

    Raises
    ------
    LayerError
        When more than ``placement.max_outside_share`` of the points lie farther than
        ``placement.extent_margin_m`` outside the network's bounding box.
    """
    if points.empty or not net.n_nodes:
        return []
    cfg = _settings()
    bounds = np.array([*net.node_xy.min(axis=0), *net.node_xy.max(axis=0)])
    dist = _outside_m(shapely.get_coordinates(points.geometry.to_numpy()), bounds)
    far = dist > cfg["extent_margin_m"]
    share = float(far.mean())
    if share <= cfg["warn_outside_share"]:
        return []
    where = (
        f"{what}: {int(far.sum())} of {len(far)} points ({share:.0%}) lie more than "
        f"{cfg['extent_margin_m'] / 1000:g} km outside the walking network {net.source!r} "
        f"(median {np.median(dist[far]) / 1000:,.1f} km away)"
    )
    if share > cfg["max_outside_share"]:
        raise LayerError(
            f"{where}. Check the layer's CRS (metres declared as degrees? swapped lon/lat?) or give a "
            "network that covers these points."
        )
    log.warning("%s; they are unreachable", where)
    return [f"{where}; they are unreachable"]


def check_snapped(snapped: Snapped, what: str, max_snap_m: float | None) -> list[str]:
    """Refuse origins of which too few snap to the network; warn below ``placement.warn_snapped_share``.

    Parameters
    ----------
    snapped
        Snapping result of the origins.
    what
        How messages name the layer.
    max_snap_m
        The snapping limit used (for the message; None: the configured default).

    Returns
    -------
    list of str
        A warning, or nothing.

    Raises
    ------
    LayerError
        When fewer than ``placement.min_snapped_share`` of the origins snap.
    """
    n = len(snapped.reachable)
    if not n:
        return []
    cfg = _settings()
    limit = max_snap_m if max_snap_m is not None else coverage_config()["snapping"]["max_snap_m"]
    share = float(np.mean(snapped.reachable))
    islands = sum(
        1 for r in snapped.reason if isinstance(r, str) and r.startswith("on an isolated component")
    )
    text = (
        f"{what}: only {int(snapped.reachable.sum())} of {n} origins ({share:.0%}) lie within "
        f"max_snap_m {limit:g} m of a routable street"
    )
    if islands:
        text += (
            f" ({islands} are next to network pieces smaller than min_component_nodes: lines that cross "
            "without a shared vertex are not joined, split them at crossings)"
        )
    if share < cfg["min_snapped_share"]:
        raise LayerError(
            f"{text}. Check that the network covers the origins (and is the walking network of the same "
            "place), or raise max_snap_m for sparse rural networks."
        )
    if share < cfg["warn_snapped_share"]:
        log.warning("%s", text)
        return [f"{text}; the others are unreachable"]
    return []


_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def declared_datum_mismatch(lonlat: np.ndarray, edges: Any, declared: str) -> str | None:
    """Name the datum that points read as ``declared`` really are in, when another one is clearly closer.

    Parameters
    ----------
    lonlat
        WGS84 lon/lat (n × 2) of points that were converted from ``declared`` (``"gcj02"`` or ``"bd09"``).
    edges
        Trusted reference geometries: the walking network's edges as a GeoSeries or an
        :class:`~weihai_gis.network.snap.EdgeReference`.
    declared
        The datum the points were read with.

    Returns
    -------
    str or None
        The explanation and the option to use (e.g. BD-09 data read with ``--datum gcj02`` names
        ``--datum bd09``), or None when the declared datum fits best.
    """
    if declared not in _FROM_WGS84:
        return None
    lon, lat = _FROM_WGS84[declared](lonlat[:, 0], lonlat[:, 1])  # back to the values as read
    ref_m = edges if edges.crs is not None and edges.crs.equals(ANALYSIS_CRS) else edges.to_crs(ANALYSIS_CRS)
    med = diagnose_offset(lon, lat, ref_m).median_m
    parts = ", ".join(f"{k} {v:,.0f} m" for k, v in med.items())
    best = min(med, key=med.__getitem__)
    if best == declared or med[best] > 0.5 * med[declared] or med[declared] - med[best] < MIN_OFFSET_GAIN_M:
        # dense street grids defeat the medians: which hypothesis puts points on the streets?
        cfg = coverage_config().get("datum_check", {})
        near = near_street_shares(lon, lat, ref_m)
        choice = near_street_choice(
            near,
            len(lon),
            declared=declared,
            z=float(cfg.get("near_street_z", NEAR_STREET_Z)),
            ratio=float(cfg.get("near_street_ratio", NEAR_STREET_RATIO)),
        )
        if choice is None:
            return None
        best = choice
        parts += f"; share within {NEAR_STREET_M:g} m of a street: " + ", ".join(
            f"{k} {v:.0%}" for k, v in near.items()
        )
    return (
        f"the coordinates were read as {declared.upper()} (--datum {declared}) but match {best.upper()} "
        f"(median distance to the streets: {parts}); read them with --datum {best} "
        f"(read_facilities(..., datum='{best}'))."
    )
