"""Ellipsoid axes of EPSG-coded CRSs from PROJ's database (``proj.db``, SQLite), without pyproj or GDAL.

The viewshed's earth curvature needs the semi-major axis of the DEM CRS's ellipsoid, as GDAL takes it from
the SRS; a GeoTIFF usually names its CRS by an EPSG code only. The code is looked up in the same ``proj.db``
rasterio and pyproj ship (``PROJ_DATA`` / ``PROJ_LIB`` first, as PROJ does): ~20 ms (SQLite parses the
database's schema on the first query) instead of importing pyproj (~0.1 s). Answers are remembered in a small
text file in the user cache folder (:func:`cache_file`), keyed by the database's path, size and time, so a
later run reads one line instead (``WEIHAI_GIS_NO_PROJ_CACHE=1`` turns that off).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from pathlib import Path

__all__ = ["proj_db", "semi_major_axis_m"]

log = logging.getLogger(__name__)

_TO_ELLIPSOID = {
    "projected_crs": ("geodetic_crs_auth_name", "geodetic_crs_code", "geodetic_crs"),
    "geodetic_crs": ("datum_auth_name", "datum_code", "geodetic_datum"),
    "geodetic_datum": ("ellipsoid_auth_name", "ellipsoid_code", "ellipsoid"),
}
"""Each table's link one step toward the ellipsoid: (authority column, code column, next table)."""


@functools.cache
def proj_db() -> Path | None:
    """PROJ's database: in ``PROJ_DATA`` or ``PROJ_LIB``, else the copy rasterio or pyproj ships; None if none."""
    folders = [
        Path(d) for var in ("PROJ_DATA", "PROJ_LIB") for d in os.environ.get(var, "").split(os.pathsep) if d
    ]
    for package, sub in (
        ("rasterio", "proj_data"),
        ("pyproj", "proj_dir/share/proj"),
        ("pyogrio", "proj_data"),
    ):
        spec = importlib.util.find_spec(package)  # finds the package without importing it
        if spec is not None and spec.submodule_search_locations:
            folders += [Path(loc) / sub for loc in spec.submodule_search_locations]
    return next((f / "proj.db" for f in folders if (f / "proj.db").is_file()), None)


def cache_file() -> Path:
    """Return the file remembered lookups go to: ``proj-ellipsoids.tsv`` in the user cache folder.

    ``$WEIHAI_GIS_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/weihai_gis`` (``~/.cache/weihai_gis``).
    """
    explicit = os.environ.get("WEIHAI_GIS_CACHE_DIR")
    root = (
        Path(explicit)
        if explicit
        else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "weihai_gis"
    )
    return root / "proj-ellipsoids.tsv"


def _db_key(db: Path) -> str:
    st = db.stat()
    return f"{db}|{st.st_size}|{st.st_mtime_ns}"


def _remembered(key: str) -> float | None:
    try:
        lines = cache_file().read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        k, _, value = line.rpartition("\t")
        if k == key:
            return float(value)
    return None


def _remember(key: str, value: float) -> None:
    """Add ``key -> value`` to the cache file (rewritten atomically; a cache that cannot be written is skipped)."""
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            old = [line for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
        except (OSError, UnicodeDecodeError):
            old = []
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text("\n".join([*old[-200:], f"{key}\t{value!r}"]) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.debug("proj lookup cache %s not written: %s", path, exc)


@functools.cache
def semi_major_axis_m(table: str, code: int) -> float | None:
    """Semi-major axis in metres of the ellipsoid of EPSG ``code`` in ``table``, or None when not found.

    Parameters
    ----------
    table
        ``"projected_crs"``, ``"geodetic_crs"``, ``"geodetic_datum"`` or ``"ellipsoid"``.
    code
        The EPSG code.
    """
    db = proj_db()
    if db is None:
        return None
    use_cache = not os.environ.get("WEIHAI_GIS_NO_PROJ_CACHE")
    key = f"{_db_key(db)}|{table}|{int(code)}"
    if use_cache and (value := _remembered(key)) is not None:
        return value
    value = _query(db, table, int(code))
    if value is not None and use_cache:
        _remember(key, value)
    return value


def _query(db: Path, table: str, code: int) -> float | None:
    import sqlite3

    try:
        con = sqlite3.connect(f"{db.as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None
    try:
        auth, key = "EPSG", str(code)
        while table != "ellipsoid":
            auth_col, code_col, nxt = _TO_ELLIPSOID[table]
            row = con.execute(
                f"SELECT {auth_col}, {code_col} FROM {table} WHERE auth_name=? AND code=?", (auth, key)
            ).fetchone()
            if row is None:
                return None
            (auth, key), table = row, nxt
        row = con.execute(
            "SELECT e.semi_major_axis * u.conv_factor FROM ellipsoid e JOIN unit_of_measure u "
            "ON u.auth_name = e.uom_auth_name AND u.code = e.uom_code WHERE e.auth_name=? AND e.code=?",
            (auth, key),
        ).fetchone()
        return None if row is None else float(row[0])
    except sqlite3.Error as exc:
        log.debug("proj.db %s: %s", db, exc)
        return None
    finally:
        con.close()
