"""Coordinate reference systems for Weihai, and the Chinese GCJ-02 / BD-09 datums.

Storage is CGCS2000 geographic (EPSG:4490, equal to WGS84 within centimetres for mapping purposes); metric
analysis is CGCS2000 3-degree Gauss-Krüger zone 41, central meridian 123°E (EPSG:4550). Weihai spans
about 121.17°E-122.71°E (western Rushan lies outside the nominal zone); the scale error there is about
0.3 m per km, which is acceptable for walking distances and sightlines. A different metric CRS can be
passed wherever ``analysis_crs`` is accepted.

GCJ-02 ("Mars coordinates", used by Amap/Tencent) and BD-09 (Baidu) are obfuscated datums: points are moved
by a smooth, location-dependent offset of about 300-500 m in Weihai. The forward transforms are the published
algorithm; the inverses are iterative and converge to far better than 1 cm.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weihai_gis.errors import CRSError

if TYPE_CHECKING:  # pyproj loads where a transform runs (~0.1 s of start-up the viewshed command never needs)
    import pyproj

__all__ = [
    "ANALYSIS_CRS",
    "STORAGE_CRS",
    "WEB_CRS",
    "WEIHAI_BOUNDS",
    "OffsetDiagnosis",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "diagnose_offset",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "inside_china",
    "near_street_choice",
    "near_street_shares",
    "require_crs",
    "to_wgs84",
    "transformer",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

STORAGE_CRS = "EPSG:4490"
"""CGCS2000 geographic coordinates: the CRS layers are stored in."""

ANALYSIS_CRS = "EPSG:4550"
"""CGCS2000 / 3-degree Gauss-Krüger CM 123E: metres, for distances, buffers and rasters."""

WEB_CRS = "EPSG:4326"
"""WGS84 longitude/latitude as used by web maps (Leaflet draws it in Web Mercator)."""

WEIHAI_BOUNDS = (121.10, 36.65, 122.75, 37.60)
"""Generous lon/lat bounding box of Weihai's land and near-shore sea (west, south, east, north)."""

MIN_OFFSET_GAIN_M = 20.0
"""How much closer (metres, median) a shifted-datum hypothesis must bring points to the reference to be
believed; with city blocks of 200-400 m, true positions sit within ~10-30 m of a street and shifted ones
40-150 m away."""

NEAR_STREET_M = 8.0
"""Second test, for dense street grids where nearest-street medians cannot separate the datums (on the real
山大哈工大 OSM extract, blocks of 50-150 m: POIs sit a median 24 m from a street when true and 30 m when
shifted 460 m): the share of points within this distance of the reference. True positions of bus stops and
street-front POIs put many points there; shifted ones only as many as random points would
(:data:`NEAR_STREET_Z` decides)."""

NEAR_STREET_Z = 2.0
"""Binomial z-score by which the near-street share of a shifted-datum hypothesis must exceed the share of
the same points displaced at random (12 directions, the GCJ-02 shift's length), while WGS84's share does not,
for the second test to call the input shifted."""

NEAR_STREET_RATIO = 1.75
"""... and by which it must be at least this many times the declared hypothesis's share."""

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 algorithm
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

FloatArray = npt.NDArray[np.float64]


def inside_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Return True where a point lies in the rectangle where GCJ-02 applies an offset.

    The published algorithm leaves points outside lon 72.004-137.8347, lat 0.8293-55.8271 unshifted.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset (degrees) at WGS84 ``lon``, ``lat``."""
    x = lon - 105.0
    y = lat - 35.0
    sq = np.sqrt(np.abs(x))
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sq
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sq
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = inside_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    if lon_a.shape != lat_a.shape:
        raise ValueError(f"`lon` and `lat` must have the same shape, got {lon_a.shape} and {lat_a.shape}.")
    return lon_a, lat_a


def _converged(elon: FloatArray, elat: FloatArray, tol_deg: float) -> bool:
    """Tell whether every residual of an inverse iteration is below ``tol_deg`` (NaN inputs are ignored)."""
    resid = np.abs(np.concatenate([np.atleast_1d(elon), np.atleast_1d(elat)]))
    return bool(np.nanmax(resid, initial=0.0) < tol_deg)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 longitude/latitude (degrees) to GCJ-02 (the published forward algorithm)."""
    lon_a, lat_a = _arrays(lon, lat)
    dlon, dlat = _delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 to WGS84 by fixed-point iteration of the forward transform.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees (scalars or arrays of one shape).
    tol_deg
        Stop when every point moves less than this many degrees in an iteration (1e-10° ≈ 0.01 mm).
    max_iter
        Upper bound on iterations; convergence normally takes 3-5.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude; ``wgs84_to_gcj02`` of the result reproduces the input to ``tol_deg``.
    """
    glon, glat = _arrays(lon, lat)
    shape = glon.shape
    glon, glat = glon.ravel(), glat.ravel()
    wlon, wlat = glon.copy(), glat.copy()
    active = np.flatnonzero(np.isfinite(glon) & np.isfinite(glat))  # only rows still moving are iterated
    for _ in range(max_iter):
        if not len(active):
            break
        alon, alat = wlon[active], wlat[active]
        dlon, dlat = _delta(alon, alat)
        elon = alon + dlon - glon[active]
        elat = alat + dlat - glat[active]
        wlon[active] = alon - elon
        wlat[active] = alat - elat
        active = active[(np.abs(elon) >= tol_deg) | (np.abs(elat) >= tol_deg)]
    return wlon.reshape(shape), wlat.reshape(shape)


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 to Baidu BD-09 (the published forward algorithm)."""
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 to GCJ-02: the usual closed-form inverse refined by iteration of the forward transform."""
    blon, blat = _arrays(lon, lat)
    x, y = blon - 0.0065, blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon, elat = flon - blon, flat - blat
        glon, glat = glon - elon, glat - elat
        if _converged(elon, elat, tol_deg):
            break
    return glon, glat


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 to BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 to WGS84 (via GCJ-02, both inverses iterative)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84 = {
    "wgs84": lambda lon, lat: (np.asarray(lon, float), np.asarray(lat, float)),
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, datum: str) -> tuple[FloatArray, FloatArray]:
    """Convert lon/lat in ``datum`` (``"wgs84"``, ``"gcj02"`` or ``"bd09"``) to WGS84.

    Raises
    ------
    CRSError
        For an unknown datum name.
    """
    key = datum.lower().replace("-", "").replace("_", "")
    if key in ("cgcs2000", "epsg4490", "epsg4326"):
        key = "wgs84"
    if key not in _TO_WGS84:
        raise CRSError(f"unknown coordinate datum {datum!r}; expected one of wgs84, gcj02, bd09.")
    return _TO_WGS84[key](lon, lat)


@functools.lru_cache(maxsize=64)
def transformer(src: Any, dst: Any) -> pyproj.Transformer:
    """Return the ``always_xy`` Transformer from ``src`` to ``dst`` (anything pyproj accepts), one per process.

    Making a Transformer costs about 1 ms between CRSs on one datum but 0.1 s where PROJ searches its
    database for a datum change (WGS84 <-> CGCS2000, which it answers with a null "ballpark" offset), so
    every transform of a run goes through this cache. Lon/lat whose datum does not matter at metres
    (bounding boxes, the offset check) use ``STORAGE_CRS``: from CGCS2000 lon/lat to its Gauss-Krüger
    zones PROJ needs no datum change and gives the same numbers as from WGS84 (the null offset).

    Shared by threads: since pyproj 3.1 a Transformer makes its own PROJ object in each thread that uses it
    (thread-local), so a cached one is safe to call from a thread pool.
    """
    import pyproj

    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def require_crs(gdf: object, *, where: str) -> pyproj.CRS:
    """Return the CRS of a GeoDataFrame or raise a :class:`CRSError` that names ``where``.

    Parameters
    ----------
    gdf
        A GeoDataFrame (anything with a ``.crs`` attribute).
    where
        Description of the input for the message, e.g. ``"facilities.gpkg, layer 'pois'"``.
    """
    crs = getattr(gdf, "crs", None)
    if crs is None:
        raise CRSError(
            f"{where}: no CRS is declared. Set it with GeoDataFrame.set_crs(...) (e.g. 'EPSG:4490' for "
            "CGCS2000 lon/lat) or fix the file's .prj / metadata."
        )
    import pyproj

    return pyproj.CRS.from_user_input(crs)


@dataclass(frozen=True)
class OffsetDiagnosis:
    """Result of :func:`diagnose_offset`.

    Attributes
    ----------
    best
        The datum hypothesis that brings the points closest to the reference: ``"wgs84"``, ``"gcj02"`` or
        ``"bd09"``.
    median_m
        Median distance in metres from the points to the reference under each hypothesis.
    shifted
        True when ``best`` is not WGS84 and it is clearly better (median at most half of WGS84's and at
        least :data:`MIN_OFFSET_GAIN_M` closer; or, on dense grids, the near-street test of
        :data:`NEAR_STREET_M`): the input is very likely GCJ-02/BD-09 data labelled as WGS84.
    near_share
        Share of points within :data:`NEAR_STREET_M` of the reference per hypothesis, plus ``"random"``
        (the same points displaced at random by the GCJ-02 shift's length); empty when the median test
        decided.
    """

    best: str
    median_m: dict[str, float]
    shifted: bool
    near_share: dict[str, float] = field(default_factory=dict)

    def message(self, where: str) -> str:
        """Return a planner-readable explanation naming the input ``where``."""
        parts = ", ".join(f"{k} {v:,.0f} m" for k, v in self.median_m.items())
        if self.near_share:
            near = ", ".join(f"{k} {v:.0%}" for k, v in self.near_share.items())
            parts += f"; share within {NEAR_STREET_M:g} m of a street: {near}"
        if not self.shifted:
            return (
                f"{where}: coordinates agree with the reference as WGS84/CGCS2000 (median distance: {parts})."
            )
        return (
            f"{where}: coordinates look {self.best.upper()}-shifted (median distance to the reference: {parts}). "
            f"Amap/Tencent exports are GCJ-02 and Baidu exports BD-09; convert them first, e.g. "
            f"read_facilities(..., datum='{self.best}') or --datum {self.best}."
        )


def diagnose_offset(lon: npt.ArrayLike, lat: npt.ArrayLike, reference: object) -> OffsetDiagnosis:
    """Decide whether lon/lat points labelled WGS84 are really GCJ-02 or BD-09.

    Each hypothesis is tried by converting the points to WGS84 as if they were in that datum and measuring
    the median distance (in ``ANALYSIS_CRS`` metres) to a trusted WGS84/CGCS2000 reference: a street network,
    a coastline or a boundary. The offset in Weihai is 300-500 m, so facilities snapped to streets, or a
    boundary against a trusted boundary, separate the hypotheses clearly.

    Parameters
    ----------
    lon, lat
        Point coordinates in degrees as found in the input.
    reference
        GeoDataFrame or GeoSeries (any CRS) of trusted geometries, e.g. the walking network's edges.

    Returns
    -------
    OffsetDiagnosis
    """
    import geopandas as gpd  # local: keep `import weihai_gis.crs` light for the CLI

    ref: Any = reference.geometry if isinstance(reference, gpd.GeoDataFrame) else reference
    if ref.crs is None:
        raise CRSError("diagnose_offset: the reference has no CRS.")
    # a reference already in metres keeps its cached spatial index across calls
    ref_m = ref if ref.crs.equals(ANALYSIS_CRS) else ref.to_crs(ANALYSIS_CRS)
    lon_a, lat_a = _arrays(lon, lat)
    n = len(lon_a)
    lonlat = [fn(lon_a, lat_a) for fn in _TO_WGS84.values()]
    to_m = transformer(STORAGE_CRS, ANALYSIS_CRS)  # WGS84 lon/lat: the same numbers, see transformer()
    mx, my = to_m.transform(np.concatenate([x for x, _ in lonlat]), np.concatenate([y for _, y in lonlat]))
    d = _distance_to(ref_m, mx, my)  # one query for all hypotheses
    medians = {datum: float(np.median(d[i * n : (i + 1) * n])) for i, datum in enumerate(_TO_WGS84)}
    best = min(medians, key=medians.__getitem__)
    shifted = (
        best != "wgs84"
        and medians[best] <= 0.5 * medians["wgs84"]
        and medians["wgs84"] - medians[best] >= MIN_OFFSET_GAIN_M
    )
    if shifted or len(lon_a) < 20:
        return OffsetDiagnosis(best=best if shifted else "wgs84", median_m=medians, shifted=shifted)
    near_best, near = _near_street_test(lon_a, lat_a, ref_m)
    return OffsetDiagnosis(
        best=near_best or "wgs84", median_m=medians, shifted=near_best is not None, near_share=near
    )


def near_street_shares(lon: npt.ArrayLike, lat: npt.ArrayLike, reference: object) -> dict[str, float]:
    """Share of points within :data:`NEAR_STREET_M` of the reference under each datum hypothesis.

    Parameters
    ----------
    lon, lat
        Point coordinates in degrees as found in the input.
    reference
        GeoSeries of trusted geometries in ``ANALYSIS_CRS`` (its spatial index is reused).

    Returns
    -------
    dict
        ``"wgs84"``, ``"gcj02"``, ``"bd09"`` (the points converted to WGS84 as if in that datum) and
        ``"random"``: the same points displaced by the GCJ-02 shift's length in 12 directions, the share
        that chance alone puts near a street on this network.
    """
    lon_a, lat_a = _arrays(lon, lat)
    n = len(lon_a)
    xs, ys = [], []
    for fn in _TO_WGS84.values():
        x, y = fn(lon_a, lat_a)
        xs.append(x)
        ys.append(y)
    gx, gy = gcj02_to_wgs84(lon_a, lat_a)
    xs += [lon_a, gx]
    ys += [lat_a, gy]
    to_m = transformer(STORAGE_CRS, ANALYSIS_CRS)  # WGS84 lon/lat: the same numbers, see transformer()
    mx, my = to_m.transform(np.concatenate(xs), np.concatenate(ys))
    k = len(_TO_WGS84)
    bx, by = mx[k * n : (k + 1) * n], my[k * n : (k + 1) * n]
    length = float(np.median(np.hypot(mx[(k + 1) * n :] - bx, my[(k + 1) * n :] - by)))
    angles = np.deg2rad(np.arange(12) * 30.0 + 15.0)
    qx = np.concatenate([mx[: k * n], *(bx + length * np.cos(a) for a in angles)])
    qy = np.concatenate([my[: k * n], *(by + length * np.sin(a) for a in angles)])
    # one query for every hypothesis and every random direction
    near_any = _near(reference, qx, qy, NEAR_STREET_M)
    per = near_any.reshape(-1, n).mean(axis=1)
    shares = {datum: float(per[i]) for i, datum in enumerate(_TO_WGS84)}
    shares["random"] = float(per[k:].mean())
    return shares


def near_street_choice(
    shares: Mapping[str, float],
    n: int,
    *,
    declared: str = "wgs84",
    z: float = NEAR_STREET_Z,
    ratio: float = NEAR_STREET_RATIO,
) -> str | None:
    """Return the datum whose near-street share clearly beats the ``declared`` one, else None.

    The best other hypothesis must exceed the random share by ``z`` binomial standard errors while the
    declared one does not, be at least ``ratio`` times the declared share and put at least 5 points near
    a street. Points that avoid streets under the declared datum (its share ``z`` standard errors below
    chance, as building centroids do) are never decided by this test.

    Parameters
    ----------
    shares
        From :func:`near_street_shares`.
    n
        Number of points the shares were measured on.
    declared
        The datum the points are taken to be in (``"wgs84"`` for data labelled WGS84; ``"gcj02"`` for data
        read with ``--datum gcj02``, ...).
    z, ratio
        The thresholds (defaults :data:`NEAR_STREET_Z`, :data:`NEAR_STREET_RATIO`).
    """
    rand = shares["random"]
    margin = z * float(np.sqrt(max(rand * (1 - rand), 1e-6) / max(n, 1)))
    others = [d for d in _TO_WGS84 if d != declared]
    alt = max(others, key=lambda d: shares[d])
    if shares[declared] <= rand - margin:
        return None  # the points avoid streets (building centroids): nearness cannot tell the datums apart
    found = (
        shares[alt] - rand >= margin
        and shares[declared] - rand < margin
        and shares[alt] >= ratio * shares[declared]
        and shares[alt] * n >= 5
    )
    return alt if found else None


def _distance_to(ref_m: Any, x: FloatArray, y: FloatArray) -> FloatArray:
    """Distance in metres from each point (``ANALYSIS_CRS``) to the nearest geometry of the reference.

    A reference with a ``distance_to(x, y)`` method (a walking network's edges,
    :class:`weihai_gis.network.snap.EdgeReference`) answers from its own index; a GeoSeries from its STRtree.
    """
    if hasattr(ref_m, "distance_to"):
        return np.asarray(ref_m.distance_to(x, y), dtype=float)
    import geopandas as gpd

    pts = gpd.points_from_xy(x, y, crs=ANALYSIS_CRS)
    idx = ref_m.sindex.nearest(pts, return_all=False)
    d = np.empty(len(pts))
    d[idx[0]] = pts[idx[0]].distance(ref_m.values[idx[1]])
    return d


def _near(ref_m: Any, x: FloatArray, y: FloatArray, metres: float) -> npt.NDArray[np.bool_]:
    """Per point (``ANALYSIS_CRS``) True when a geometry of the reference is within ``metres``."""
    if hasattr(ref_m, "near"):
        return np.asarray(ref_m.near(x, y, metres), dtype=bool)
    import geopandas as gpd

    # "is any street this near" is a within-distance query: 3x cheaper than a bounded nearest search
    hit = ref_m.sindex.query(gpd.points_from_xy(x, y, crs=ANALYSIS_CRS), predicate="dwithin", distance=metres)
    out = np.zeros(len(x), dtype=bool)
    out[hit[0]] = True
    return out


def _near_street_test(lon: FloatArray, lat: FloatArray, ref_m: object) -> tuple[str | None, dict[str, float]]:
    """Return the shifted datum the dense-grid test finds (None: none) and the near-street shares."""
    near = near_street_shares(lon, lat, ref_m)
    return near_street_choice(near, len(lon)), near
