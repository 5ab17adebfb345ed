"""Facility layers: read OSM, Amap (高德) or Baidu POI exports and map their types to facility kinds.

Facility kinds and the OSM-tag / Amap-typecode mappings are data (``standards/facility-kinds.yaml``).
GCJ-02 and BD-09 coordinates are converted to WGS84 with :mod:`weihai_gis.crs`; output is in STORAGE_CRS.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from weihai_gis.crs import STORAGE_CRS, to_wgs84
from weihai_gis.errors import CRSError, LayerError
from weihai_gis.files import require_input_file
from weihai_gis.io.pois import read_poi_rows
from weihai_gis.layers.io import read_vector
from weihai_gis.standards import facility_kinds

__all__ = ["facilities_from_osm", "map_amap_types", "map_osm_tags", "read_facilities"]

log = logging.getLogger(__name__)

_OSM_KEYS = (
    "amenity",
    "shop",
    "leisure",
    "healthcare",
    "highway",
    "craft",
    "social_facility",
    "social_facility:for",
)


def _tag_frame(frame: pd.DataFrame, keys: set[str]) -> pd.DataFrame:
    """Columns for the needed OSM keys, filled from a JSON ``tags`` column where absent."""
    out = pd.DataFrame(index=frame.index)
    parsed = None
    for key in sorted(keys):
        if key in frame.columns:
            out[key] = frame[key].astype(object)
            continue
        if "tags" in frame.columns:
            if parsed is None:
                parsed = frame["tags"].map(
                    lambda t: json.loads(t) if isinstance(t, str) and t.startswith("{") else {}
                )
            out[key] = parsed.map(lambda d, k=key: d.get(k))
        else:
            out[key] = None
    return out


def _source_type(frame: pd.DataFrame) -> pd.Series:
    """``key=value`` of the OSM keys present in each row, joined with ``;``."""
    joined = pd.Series("", index=frame.index, dtype=object)
    for key in _OSM_KEYS:  # vectorised: a row-wise join takes minutes on millions of POIs
        if key in frame.columns:
            col = frame[key].astype(object)
            has = (
                col.map(lambda v: isinstance(v, str) and bool(v), na_action="ignore")
                .fillna(False)
                .astype(bool)
            )
            part = (key + "=" + col.where(has, "").astype(str)).where(has, "")
            joined = joined.where(~has, joined.where(joined.eq(""), joined + ";") + part)
    return joined.astype(str)


def map_osm_tags(frame: pd.DataFrame) -> pd.Series:
    """Map OSM-tagged rows to facility kinds with the ordered ``osm_rules`` (first match wins).

    Parameters
    ----------
    frame
        Rows with OSM tag columns (``amenity``, ``shop`` ...) and/or a JSON ``tags`` column, optional ``name``.

    Returns
    -------
    pandas.Series
        The kind per row, None when no rule matches.
    """
    rules = facility_kinds()["osm_rules"]
    keys = {k for r in rules for k in r["tags"]}
    tags = _tag_frame(frame, keys)
    names = (
        frame["name"].fillna("").astype(str) if "name" in frame.columns else pd.Series("", index=frame.index)
    )
    kind = pd.Series(None, index=frame.index, dtype=object)
    for rule in rules:
        mask = kind.isna()
        for key, value in rule["tags"].items():
            col = tags[key]
            mask &= col.notna() if value == "*" else col.astype(str).eq(str(value))
        if "name_regex" in rule:
            mask &= names.str.contains(rule["name_regex"], flags=re.IGNORECASE, regex=True)
        kind[mask] = rule["kind"]
    return kind.astype(object).where(kind.notna(), None)


def map_amap_types(typecode: pd.Series | None, type_text: pd.Series | None) -> pd.Series:
    """Map Amap POI ``typecode`` and/or ``type`` text to facility kinds (see :func:`_map_amap_unique`).

    The mapping runs once per distinct (code, text) pair, so millions of POIs cost about as much as their
    few hundred distinct types.
    """
    index = (typecode if typecode is not None else type_text).index  # type: ignore[union-attr]
    combined = np.zeros(len(index), dtype=np.int64)
    for series in (typecode, type_text):
        if series is not None:
            codes, uniques = pd.factorize(series, use_na_sentinel=False)
            combined = combined * (len(uniques) + 1) + codes
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    take = lambda s: None if s is None else s.iloc[first].reset_index(drop=True)  # noqa: E731
    kinds = _map_amap_unique(take(typecode), take(type_text)).to_numpy()
    return pd.Series(kinds[inverse.ravel()], index=index, dtype=object)


def _map_amap_unique(typecode: pd.Series | None, type_text: pd.Series | None) -> pd.Series:
    """Map Amap POI ``typecode`` (6 digits; ``"a|b"`` uses the first) and/or ``type`` text to facility kinds.

    Order: exact code; the code's 中类 (first 4 digits + ``"00"``); the last part of the ``type`` text
    (``"科教文化服务;学校;小学"`` → ``小学``); any part of it. Codes marked uncertain in
    ``facility-kinds.yaml`` are used but were recalled, not seen in a public table.
    """
    table = facility_kinds()["amap"]
    by_code: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for kind, entry in table.items():
        for code in [*entry.get("seen", []), *entry.get("uncertain", [])]:
            by_code.setdefault(code, kind)
        for name in entry.get("names", []):
            by_name.setdefault(name, kind)
    given = typecode if typecode is not None else type_text
    if given is None:
        raise ValueError("map_amap_types needs typecode or type_text")
    index = given.index
    kind = pd.Series(None, index=index, dtype=object)
    if typecode is not None:
        code = typecode.astype(str).str.split("|").str[0].str.strip().str.zfill(6)
        kind = code.map(by_code)
        kind = kind.where(kind.notna(), (code.str[:4] + "00").map(by_code))
    if type_text is not None:
        parts = type_text.fillna("").astype(str).str.split("|").str[0].str.split(";")
        last = parts.str[-1].map(by_name)
        anypart = parts.map(lambda ps: next((by_name[p] for p in reversed(ps) if p in by_name), None))
        kind = kind.where(kind.notna(), last).where(lambda s: s.notna(), anypart)
    return kind.astype(object).where(kind.notna(), None)


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[c] for c in candidates if c in lower), None)


_TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xls")


@functools.cache
def _to_storage() -> pyproj.Transformer:
    """WGS84 lon/lat → STORAGE_CRS (PROJ's ballpark offset: the same numbers, as GeoDataFrame.to_crs gives)."""
    return pyproj.Transformer.from_crs("EPSG:4326", STORAGE_CRS, always_xy=True)


def _explode_multipoints(frame: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """Make each part of a MultiPoint its own facility (ids get ``-1``, ``-2`` ...), and say so."""
    multi = (frame.geom_type == "MultiPoint").to_numpy()
    if not multi.any():
        return frame
    counts = np.where(multi, shapely.get_num_geometries(frame.geometry.to_numpy()), 1)
    parts = frame.explode(index_parts=False).reset_index(drop=True)
    split = np.repeat(counts > 1, counts)  # single-point MultiPoints (GeoPackage promotion) stay as they are
    if (counts > 1).any():
        log.warning(
            "%s: %d MultiPoint rows split into %d facilities (each point is a facility)",
            where,
            int((counts > 1).sum()),
            int(counts[counts > 1].sum()),
        )
        parts.attrs["exploded"] = {"rows": int((counts > 1).sum()), "points": int(counts[counts > 1].sum())}
        ids = _find(list(parts.columns), ("id", "poi_id", "osm_id"))
        if ids:
            part_no = np.concatenate([np.arange(1, c + 1) for c in counts])
            suffix = np.where(split, np.char.add("-", part_no.astype(str)), "")
            parts[ids] = parts[ids].astype(str).to_numpy() + suffix
    return parts


def read_facilities(
    path: str | os.PathLike[str],
    *,
    datum: str = "wgs84",
    category_field: str | None = None,
    mapping: str = "osm",
    lon_field: str | None = None,
    lat_field: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    skip_rows: int | None = None,
) -> gpd.GeoDataFrame:
    """Read a facility layer and give every row a facility kind.

    Parameters
    ----------
    path
        CSV/XLSX with longitude/latitude fields (auto-detected: lon/lng/longitude/经度 ..., or Amap's
        ``location`` "lon,lat"), or any vector file.
    datum
        ``"wgs84"`` (also CGCS2000), ``"gcj02"`` (Amap, Tencent) or ``"bd09"`` (Baidu): the datum of the
        lon/lat coordinates; shifted datums are converted to WGS84.
    category_field
        Field already holding facility kinds or profile category ids; when None the kind is derived with
        ``mapping``.
    mapping
        ``"osm"`` (tag fields amenity/shop/leisure/... or a JSON ``tags`` field) or ``"amap"`` (``typecode``
        and/or ``type`` fields).
    lon_field, lat_field
        Coordinate fields for tables when auto-detection fails.
    layer
        Layer (vector) or sheet (XLSX) name.
    encoding, skip_rows
        Encoding of a CSV (default: UTF-8, then GB18030) and rows above its header (default: found); see
        :func:`weihai_gis.io.pois.read_poi_table`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns id, name, category, source_type, geometry (points, STORAGE_CRS). Rows whose type maps to no
        kind, or whose category is empty (counted as ``"(empty)"``), are dropped; their types and counts are
        logged and kept in ``frame.attrs["unmapped"]``. Each point of a MultiPoint is a facility (logged;
        ``frame.attrs["exploded"]``).
    """
    src = require_input_file(path, what="facilities")
    where = f"facilities {str(src)!r}" + (f", layer {layer!r}" if layer else "")
    if datum not in ("wgs84", "gcj02", "bd09"):
        raise CRSError(f"{where}: datum {datum!r}; expected wgs84, gcj02 or bd09.")
    table: dict[str, Any] = {
        "encoding": encoding,
        "skip_rows": skip_rows,
        "lon_field": lon_field,
        "lat_field": lat_field,
    }
    if src.suffix.lower() in _TABLE_SUFFIXES:  # lon/lat columns: each point is built once, in STORAGE_CRS
        frame, lon, lat = read_poi_rows(src, sheet=layer, **table)
        if frame.empty:
            raise LayerError(f"{where}: the layer has no rows.")
        lon, lat = to_wgs84(lon, lat, datum) if datum != "wgs84" else (lon, lat)
        x, y = _to_storage().transform(lon, lat)
        geoms = shapely.points(np.column_stack([x, y]))
        crs = STORAGE_CRS
    else:
        frame = read_vector(src, layer=layer, what="facilities")
        if frame.empty:
            raise LayerError(f"{where}: the layer has no rows.")
        frame = _explode_multipoints(frame, where)
        geoms = frame.geometry.to_numpy()
        if (shapely.get_type_id(geoms) != 0).any():
            geoms = shapely.point_on_surface(geoms)
        crs = frame.crs
        if datum != "wgs84":
            if not frame.crs.is_geographic:
                raise CRSError(
                    f"{where}: datum {datum} needs lon/lat coordinates, but the layer is in {frame.crs}."
                )
            xy = shapely.get_coordinates(geoms)
            lon, lat = to_wgs84(xy[:, 0], xy[:, 1], datum)
            geoms = shapely.points(np.column_stack([lon, lat]))
            crs = "EPSG:4326"
    if category_field is not None:
        if category_field not in frame.columns:
            raise LayerError(
                f"{where}: field {category_field!r} is missing; fields are {list(frame.columns)}."
            )
        value = frame[category_field].astype(object)
        empty = value.isna() | value.astype(str).str.strip().eq("")
        kind = value.where(~empty, None)
        source_type = value.astype(str).where(~empty, "(empty)")
    elif mapping == "amap":
        code = _find(list(frame.columns), ("typecode", "type_code", "类型编码"))
        text = _find(list(frame.columns), ("type", "类型"))
        if code is None and text is None:
            raise LayerError(
                f"{where}: mapping 'amap' needs a 'typecode' or 'type' field; fields are {list(frame.columns)}."
            )
        kind = map_amap_types(frame[code] if code else None, frame[text] if text else None)
        source_type = (frame[code] if code else frame[text]).astype(str)
    elif mapping == "osm":
        kind = map_osm_tags(frame)
        source_type = _source_type(frame)
    else:
        raise LayerError(f"{where}: mapping {mapping!r}; expected 'osm' or 'amap'.")
    blank = source_type.isna() | source_type.astype(str).str.strip().isin(["", "nan", "None"])
    source_type = source_type.astype(str).where(~blank, "(empty)")  # counted as unmapped, not lost
    ids = _find(list(frame.columns), ("id", "poi_id", "osm_id"))
    names = _find(list(frame.columns), ("name", "名称"))
    out = gpd.GeoDataFrame(
        {
            # .array keeps pyarrow-backed text as it is (no Python string per row)
            "id": frame[ids].astype(str).array if ids else np.arange(len(frame)).astype(str),
            "name": frame[names].fillna("").astype(str).array if names else "",
            "category": kind.to_numpy(),
            "source_type": source_type.array,
        },
        geometry=geoms,
        crs=crs,
    )
    if not out.crs.equals(STORAGE_CRS):
        out = out.to_crs(STORAGE_CRS)
    unmapped = out.loc[out["category"].isna(), "source_type"].value_counts()
    out = out[out["category"].notna()].reset_index(drop=True)
    out.attrs["unmapped"] = {str(k): int(v) for k, v in unmapped.items()}
    out.attrs.update(
        source=where, datum=datum, exploded=frame.attrs.get("exploded", {})
    )  # coverage checks name the file and test the datum
    if len(unmapped):
        log.warning(
            "%s: %d rows of %d types map to no facility kind: %s",
            where,
            int(unmapped.sum()),
            len(unmapped),
            ", ".join(f"{k} ({v})" for k, v in list(unmapped.items())[:10]),
        )
    return out


def facilities_from_osm(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Extract facilities from an ``.osm.pbf`` with pyrosm and map them with the OSM rules.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_facilities` (points on the surface of mapped polygons; STORAGE_CRS).
    """
    from pyrosm import OSM

    src = require_input_file(path, what="OSM extract")
    custom = {
        "amenity": True,
        "shop": True,
        "leisure": True,
        "healthcare": True,
        "craft": True,
        "social_facility": True,
        "highway": ["bus_stop"],
    }
    pois = OSM(str(src)).get_pois(custom_filter=custom)
    if pois is None or len(pois) == 0:
        raise LayerError(f"OSM extract {str(src)!r}: no points of interest found.")
    pois = pois[pois.geometry.notna()].reset_index(drop=True)
    kind = map_osm_tags(pois)
    source_type = _source_type(pois)
    out = gpd.GeoDataFrame(
        {
            "id": (pois["osm_type"].astype(str) + "/" + pois["id"].astype(str)).to_numpy(),
            "name": pois["name"].fillna("").astype(str).to_numpy() if "name" in pois else "",
            "category": kind.to_numpy(),
            "source_type": source_type.to_numpy(),
        },
        geometry=shapely.point_on_surface(pois.geometry.to_numpy()),
        crs=pois.crs or "EPSG:4326",
    ).to_crs(STORAGE_CRS)
    unmapped = out.loc[out["category"].isna(), "source_type"].value_counts()
    out = out[out["category"].notna()].reset_index(drop=True)
    out.attrs["unmapped"] = {str(k): int(v) for k, v in unmapped.items()}
    log.info("%s: %d facilities mapped, %d POIs unmapped", src, len(out), int(unmapped.sum()))
    return out
