"""Row counts and attribute rows of a GeoPackage read straight from SQLite, for ``weihai-gis layers list|show``.

A GeoPackage is an SQLite database (OGC 12-128r18): ``gpkg_contents`` names the tables, each feature table holds
its attributes as columns and its geometry as a GeoPackage binary blob (a small header, then ISO WKB). Reading
those with :mod:`sqlite3` needs neither GDAL nor geopandas nor pandas, so the two inspection commands start in a
fraction of a second. Anything unusual (not SQLite, no ``gpkg_contents``, a table missing) returns ``None`` and
the caller falls back to the full reader (:mod:`weihai_gis.layers.io`), which reports the problem properly.
Analysis never uses this module: it reads through :func:`weihai_gis.layers.load_layers`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AttributeTable", "attribute_table", "geometry_type", "row_counts"]

_WKB_TYPES = {
    1: "Point",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
NO_GEOMETRY = "(none)"
"""What :func:`geometry_type` returns for a row without geometry."""


@dataclass(frozen=True)
class AttributeTable:
    """The first rows of one layer: attribute columns (file order) plus ``geometry`` as its type name."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    n_rows: int


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection | None]:
    """Open ``path`` read-only (never modified, no journal written); None when it is not a GeoPackage."""
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        yield None
        return
    try:
        con.execute("SELECT table_name FROM gpkg_contents LIMIT 1")
    except sqlite3.Error:
        con.close()
        yield None
        return
    try:
        yield con
    finally:
        con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def row_counts(path: str | Path) -> dict[str, int] | None:
    """Return ``{layer: rows}`` for every table in ``gpkg_contents``, or None when ``path`` is not a GeoPackage.

    Parameters
    ----------
    path
        A ``.gpkg`` file (only read).

    Returns
    -------
    dict or None
        Row count per layer name; None for a file this reader cannot handle (use the full reader).
    """
    with _connect(Path(path)) as con:
        if con is None:
            return None
        try:
            names = [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents ORDER BY table_name")]
            return {n: int(con.execute(f"SELECT COUNT(*) FROM {_quote(n)}").fetchone()[0]) for n in names}
        except sqlite3.Error:
            return None


def geometry_type(blob: bytes | None) -> str:
    """Return the geometry type name (``"Polygon"``, ``"MultiPoint"``, …) of a GeoPackage geometry blob.

    Parameters
    ----------
    blob
        ``GP`` magic, version, flags, optional envelope, then WKB (ISO or extended Z/M codes); None for no
        geometry.

    Returns
    -------
    str
        The WKB type name, :data:`NO_GEOMETRY` for None, ``"(unknown)"`` for a blob that is not GeoPackage binary.
    """
    if blob is None:
        return NO_GEOMETRY
    blob = bytes(blob)
    if len(blob) < 8 or blob[:2] != b"GP":
        return "(unknown)"
    flags = blob[3]
    start = 8 + _ENVELOPE_BYTES.get((flags >> 1) & 0b111, 0)
    if len(blob) < start + 5:
        return "(unknown)"
    order = "<" if blob[start] == 1 else ">"
    (code,) = struct.unpack_from(f"{order}I", blob, start + 1)
    return _WKB_TYPES.get((code & 0x0FFFFFFF) % 1000, "(unknown)")


def _decode(value: Any, declared: str) -> Any:
    if value is not None and declared.upper() == "BOOLEAN":
        return bool(value)
    return value


def attribute_table(path: str | Path, layer: str, *, limit: int = 0) -> AttributeTable | None:
    """Return the attribute columns and geometry type of the first ``limit`` rows of ``layer``.

    Parameters
    ----------
    path
        A ``.gpkg`` file (only read).
    layer
        Table name in ``gpkg_contents``.
    limit
        Rows to return (0 = all), in the file's row order.

    Returns
    -------
    AttributeTable or None
        The integer primary key (GDAL's FID) is left out, as the full reader does; the geometry column becomes
        ``geometry`` holding the type name. None when the file or layer cannot be read this way.
    """
    with _connect(Path(path)) as con:
        if con is None:
            return None
        try:
            known = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
            if layer not in known:
                return None
            geom = con.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
            ).fetchone()
            info = con.execute(f"PRAGMA table_info({_quote(layer)})").fetchall()
            geom_col = geom[0] if geom else None
            cols = [(r[1], r[2] or "") for r in info if not r[5] and r[1] != geom_col]
            select = [_quote(c) for c, _ in cols] + ([_quote(geom_col)] if geom_col else [])
            order = next((_quote(r[1]) for r in info if r[5]), "rowid")
            sql = f"SELECT {', '.join(select)} FROM {_quote(layer)} ORDER BY {order}"
            fetched = con.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
            n_rows = int(con.execute(f"SELECT COUNT(*) FROM {_quote(layer)}").fetchone()[0])
        except sqlite3.Error:
            return None
    rows = []
    for r in fetched:
        values = [_decode(v, t) for v, (_, t) in zip(r, cols, strict=False)]
        rows.append((*values, geometry_type(r[-1]) if geom_col else NO_GEOMETRY))
    return AttributeTable(columns=(*(c for c, _ in cols), "geometry"), rows=tuple(rows), n_rows=n_rows)
