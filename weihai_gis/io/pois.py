"""POI tables as Amap (高德) and Baidu exports really are.

Chinese encodings, a title row above the header, longitude/latitude columns or Amap's one ``location``
column (``"lng,lat"``).

:func:`read_poi_table` returns the rows as read (text columns) with point geometries in the lon/lat the file
holds; the datum (WGS84, GCJ-02, BD-09) is handled by :func:`weihai_gis.facilities.read_facilities`.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from weihai_gis.errors import InputFileError, LayerError

__all__ = ["ENCODINGS", "HEADER_SCAN_ROWS", "LAT_FIELDS", "LON_FIELDS", "read_poi_table"]

log = logging.getLogger(__name__)

#: Encodings tried in order when none is given: UTF-8 (with or without BOM), then GB18030 (a superset of
#: GBK and GB2312, the usual encoding of Chinese Excel/WPS CSV exports).
ENCODINGS = ("utf-8-sig", "gb18030")

#: Rows searched for the header (titles such as "高德POI导出 2024-05" sit above it).
HEADER_SCAN_ROWS = 10

LON_FIELDS = (
    "lon",
    "lng",
    "longitude",
    "x",
    "经度",
    "wgs84_lon",
    "gcj02_lon",
    "gcj_lng",
    "bd09_lng",
    "bd_lng",
)
LAT_FIELDS = ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj02_lat", "gcj_lat", "bd09_lat", "bd_lat")
_LOCATION = ("location", "坐标", "经纬度")


def _decode(path: Path, encoding: str | None, where: str) -> str:
    data = path.read_bytes()
    tried = (encoding,) if encoding else ENCODINGS
    for enc in tried:
        try:
            text = data.decode(enc)
        except LookupError as exc:
            raise InputFileError(
                f"{where}: unknown encoding {enc!r} (--encoding); e.g. utf-8, gb18030."
            ) from exc
        except UnicodeDecodeError:
            continue
        if enc != "utf-8-sig":
            log.info("%s: read as %s", where, enc)
        return text.lstrip("\ufeff")
    raise InputFileError(
        f"{where}: cannot decode the file as {' or '.join(tried)}; save it as UTF-8 or name its encoding with "
        "--encoding (e.g. --encoding big5)."
    )


def _is_header(cells: list[str], lon_field: str | None, lat_field: str | None) -> bool:
    names = {str(c).strip().lower() for c in cells}
    if lon_field or lat_field:
        return {n.lower() for n in (lon_field, lat_field) if n} <= names
    has_lon = any(c in names for c in LON_FIELDS)
    has_lat = any(c in names for c in LAT_FIELDS)
    return (has_lon and has_lat) or any(c in names for c in _LOCATION)


def _header_row(rows: list[list[str]], skip_rows: int | None, lon_field, lat_field, where: str) -> int:
    if skip_rows is not None:
        if skip_rows >= len(rows):
            raise LayerError(f"{where}: --skip-rows {skip_rows} skips every row ({len(rows)} rows).")
        return skip_rows
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        if _is_header(cells, lon_field, lat_field):
            if i:
                log.warning("%s: header found on row %d (rows above it skipped: %s)", where, i + 1, rows[:i])
            return i
    first = [c for c in (rows[0] if rows else []) if str(c).strip()]
    wanted = f"fields {lon_field!r}/{lat_field!r}" if lon_field or lat_field else "longitude/latitude fields"
    raise LayerError(
        f"{where}: no {wanted} in the first {min(len(rows), HEADER_SCAN_ROWS)} rows (first row: {first[:12]}); "
        "name them with --lon-field and --lat-field (lon_field=/lat_field=), and if a title sits above the "
        "header, --skip-rows N."
    )


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    return next((lower[c] for c in candidates if c in lower), None)


def read_poi_table(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    skip_rows: int | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    what: str = "facilities",
) -> gpd.GeoDataFrame:
    """Read a CSV/TXT/XLSX POI table into points (EPSG:4326 axis order: lon, lat; datum as in the file).

    Parameters
    ----------
    path
        ``.csv``/``.txt`` or ``.xlsx``/``.xls``.
    sheet
        Sheet name or number of a workbook (default: the first).
    encoding
        Text encoding of a CSV; default: :data:`ENCODINGS` tried in order.
    skip_rows
        Rows above the header (a title); default: the header is the first of the first
        :data:`HEADER_SCAN_ROWS` rows naming a longitude and a latitude field (or ``location``).
    lon_field, lat_field
        Coordinate fields when their names are not among :data:`LON_FIELDS` / :data:`LAT_FIELDS`.
    what
        What the table is, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        Every column as text, point geometry, CRS EPSG:4326.

    Raises
    ------
    InputFileError
        An undecodable file or unknown encoding.
    LayerError
        No header with coordinate fields; coordinates that are not lon/lat degrees (swapped columns are
        named as such).
    """
    p = Path(path)
    where = f"{what} {str(p)!r}" + (f", sheet {sheet!r}" if sheet is not None else "")
    if p.suffix.lower() in (".xlsx", ".xls"):
        raw = pd.read_excel(p, sheet_name=sheet or 0, header=None, dtype=str).fillna("")
        rows = raw.head(HEADER_SCAN_ROWS if skip_rows is None else skip_rows + 1).to_numpy().tolist()
        head = _header_row(rows, skip_rows, lon_field, lat_field, where)
        table = raw.iloc[head + 1 :].reset_index(drop=True)
        table.columns = [str(c).strip() for c in raw.iloc[head]]
        table = table.loc[:, [bool(c) for c in table.columns]]
    else:
        text = _decode(p, encoding, where)
        n_head = HEADER_SCAN_ROWS + (skip_rows or 0)  # only these lines are parsed to find the header
        first = list(csv.reader(io.StringIO("\n".join(text.split("\n", n_head)[:n_head]))))
        head = _header_row(first, skip_rows, lon_field, lat_field, where)
        table = pd.read_csv(io.StringIO(text), skiprows=head, dtype=str, keep_default_na=False)
        table.columns = [str(c).strip() for c in table.columns]
    cols = list(table.columns)
    lon = lon_field or _find(cols, LON_FIELDS)
    lat = lat_field or _find(cols, LAT_FIELDS)
    line0 = head + 2  # file line of the first data row
    if (lon is None or lat is None) and (loc := _find(cols, _LOCATION)) is not None:  # Amap "lng,lat"
        parts = table[loc].astype(str).str.split(",", n=1, expand=True).reindex(columns=[0, 1])
        table["_lon"], table["_lat"], lon, lat = parts[0], parts[1], "_lon", "_lat"
    if lon not in table.columns or lat not in table.columns:
        raise LayerError(
            f"{where}: fields {lon!r}/{lat!r} not found among {cols}; name them with --lon-field/--lat-field."
        )
    x = pd.to_numeric(table[lon].astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(table[lat].astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x) | ~np.isfinite(y) | (np.abs(x) > 180) | (np.abs(y) > 90)
    if bad.any():
        lines = [int(i) + line0 for i in np.flatnonzero(bad)[:5]]
        swapped = np.isfinite(x) & np.isfinite(y) & (np.abs(y) > 90) & (np.abs(y) <= 180) & (np.abs(x) <= 90)
        if swapped[bad].all():
            raise LayerError(
                f"{where}: fields {lon!r}/{lat!r} look swapped: {int(bad.sum())} latitudes above 90° (lines "
                f"{lines}); pass --lon-field {lat} --lat-field {lon}."
            )
        raise LayerError(
            f"{where}: fields {lon!r}/{lat!r}: {int(bad.sum())} rows are not lon/lat degrees (lines {lines})."
        )
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")
