"""POI tables as Amap (高德) and Baidu exports really are.

Chinese encodings, a title row above the header, longitude/latitude columns or Amap's one ``location``
column (``"lng,lat"``).

:func:`read_poi_table` returns the rows as read (text columns) with point geometries in the lon/lat the file
holds; the datum (WGS84, GCJ-02, BD-09) is handled by :func:`weihai_gis.facilities.read_facilities`.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from weihai_gis.errors import InputFileError, LayerError

__all__ = ["ENCODINGS", "HEADER_SCAN_ROWS", "LAT_FIELDS", "LON_FIELDS", "read_poi_rows", "read_poi_table"]

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
    table, x, y = read_poi_rows(
        path,
        sheet=sheet,
        encoding=encoding,
        skip_rows=skip_rows,
        lon_field=lon_field,
        lat_field=lat_field,
        what=what,
    )
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")


def read_poi_rows(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    skip_rows: int | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    what: str = "facilities",
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Read a POI table as :func:`read_poi_table` does, without building geometries.

    CSVs are parsed by pyarrow (every column as text; pandas' parser when pyarrow refuses the file) and
    coordinates converted with Arrow compute, so a caller that converts the datum builds each point once.

    Returns
    -------
    tuple
        The rows (every column as text), longitude and latitude (float64 degrees, as in the file).
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
        table, head = _read_csv(p, encoding, skip_rows, lon_field, lat_field, where)
    cols = list(table.columns)
    lon = lon_field or _find(cols, LON_FIELDS)
    lat = lat_field or _find(cols, LAT_FIELDS)
    line0 = head + 2  # file line of the first data row
    loc = _find(cols, _LOCATION) if lon is None or lat is None else None
    if loc is not None:  # Amap "lng,lat"
        x, y = _location_numbers(table[loc])
        lon, lat = f"{loc} (lng)", f"{loc} (lat)"
    elif lon not in table.columns or lat not in table.columns:
        raise LayerError(
            f"{where}: fields {lon!r}/{lat!r} not found among {cols}; name them with --lon-field/--lat-field."
        )
    else:
        x, y = _numbers(table[lon]), _numbers(table[lat])
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
    return table, x, y


def _read_csv(
    p: Path, encoding: str | None, skip_rows: int | None, lon_field, lat_field, where: str
) -> tuple[pd.DataFrame, int]:
    """Return the rows below the header (every column as text) and the header's row number."""
    data = p.read_bytes()
    enc, first_text = _decode_head(data, encoding, where)
    n_head = HEADER_SCAN_ROWS + (skip_rows or 0)  # only these lines are parsed to find the header
    first = list(csv.reader(io.StringIO("\n".join(first_text.split("\n", n_head)[:n_head]))))
    head = _header_row(first, skip_rows, lon_field, lat_field, where)
    tried = (enc,) if encoding else ENCODINGS[ENCODINGS.index(enc) :]
    for candidate in tried:
        try:
            return _arrow_csv(data, candidate, head, first[head]), head
        except UnicodeDecodeError:
            continue
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc) and candidate != tried[-1]:
                continue  # a UTF-8 head over GBK rows
            if "invalid UTF8" in str(exc):
                break
            log.debug("%s: pyarrow cannot parse the CSV (%s); using pandas' parser", where, exc)
            text = _decode(data, candidate, where)
            table = pd.read_csv(io.StringIO(text), skiprows=head, dtype=str, keep_default_na=False)
            table.columns = [str(c).strip() for c in table.columns]
            return table, head
    raise InputFileError(
        f"{where}: cannot decode the file as {' or '.join(tried)}; save it as UTF-8 or name its encoding with "
        "--encoding (e.g. --encoding big5)."
    )


def _decode_head(data: bytes, encoding: str | None, where: str) -> tuple[str, str]:
    """Return the encoding the first 256 KB decode in (the first of :data:`ENCODINGS` that works), and that text."""
    chunk = data[: 1 << 18]
    final = len(chunk) == len(data)
    for enc in (encoding,) if encoding else ENCODINGS:
        try:
            decoder = codecs.getincrementaldecoder(enc)()
        except LookupError as exc:
            raise InputFileError(
                f"{where}: unknown encoding {enc!r} (--encoding); e.g. utf-8, gb18030."
            ) from exc
        try:
            text = decoder.decode(chunk, final=final)
        except UnicodeDecodeError:
            continue
        return enc, text.lstrip("\ufeff")
    tried = (encoding,) if encoding else ENCODINGS
    raise InputFileError(
        f"{where}: cannot decode the file as {' or '.join(tried)}; save it as UTF-8 or name its encoding with "
        "--encoding (e.g. --encoding big5)."
    )


def _decode(data: bytes, encoding: str, where: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{where}: cannot decode the file as {encoding}; save it as UTF-8 or name its encoding with "
            "--encoding (e.g. --encoding big5)."
        ) from exc
    if encoding != "utf-8-sig":
        log.info("%s: read as %s", where, encoding)
    return text.lstrip("\ufeff")


def _arrow_csv(data: bytes, encoding: str, head: int, names: list[str]) -> pd.DataFrame:
    """Parse the rows below the header with pyarrow, every column as text (empty cells as "")."""
    arrow_enc = "utf8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding
    table = pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(skip_rows=head, encoding=arrow_enc, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=b'"' in data),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if arrow_enc != "utf8":
        log.info("read as %s", encoding)
    frame = table.to_pandas()
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in table.column_names]
    return frame


def _arrow_text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Return the column as Arrow text (zero-copy for pyarrow-backed strings)."""
    arr = pa.array(values, from_pandas=True) if not hasattr(values.array, "__arrow_array__") else None
    if arr is None:
        arr = values.array.__arrow_array__()
    return (
        arr
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
        else pc.cast(arr, pa.string())
    )


def _numbers(values: pd.Series | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Text to float64; NaN where a cell is not a number (as ``pd.to_numeric(errors="coerce")``)."""
    arr = _arrow_text(values) if isinstance(values, pd.Series) else values
    text = pc.utf8_trim_whitespace(arr)
    try:
        return np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raw = pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
        return pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)


def _location_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Amap's ``"lng,lat"`` text to two float64 arrays (NaN where a cell is not two numbers)."""
    parts = pc.extract_regex(_arrow_text(values), r"^(?P<lon>[^,]*),(?P<lat>.*)$")
    return _numbers(pc.struct_field(parts, "lon")), _numbers(pc.struct_field(parts, "lat"))
