"""Check layers against their declared schemas and report every problem by file, layer, field and rows.

Severities: ``error`` (the layer cannot be used as is), ``warning`` (legal but suspicious, e.g. points that
look GCJ-02-shifted) and ``gap`` (the layer is honest but incomplete against the plan, e.g. the plan counts
8 特色街区 without naming them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from weihai_gis.crs import STORAGE_CRS, WEIHAI_BOUNDS, diagnose_offset
from weihai_gis.layers.issues import Issue
from weihai_gis.layers.schema import SCHEMAS, FieldSpec, LayerSchema

__all__ = ["check_cross_layer", "check_layer", "to_storage_crs"]

log = logging.getLogger(__name__)

_MAX_LISTED = 5
_BOUNDS_TOLERANCE_DEG = 0.02  # about 2 km: coastal buffers may poke just past the bounding box
_MAX_OFFSET_SAMPLE = 1500
_PIECE_VERTICES = 32


def _ids(gdf: gpd.GeoDataFrame, mask: np.ndarray) -> tuple[tuple[str, ...], tuple[int, ...]]:
    rows = tuple(int(r) for r in np.flatnonzero(mask))
    if "id" in gdf.columns:
        ids = tuple(str(v) for v in gdf["id"].iloc[list(rows)])
    else:
        ids = tuple(f"row {r}" for r in rows)
    return ids, rows


def _listing(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:_MAX_LISTED])
    more = f", … {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
    noun = "row" if len(ids) == 1 else "rows"
    return f"{len(ids)} {noun} (ids {shown}{more})"


class _Checker:
    """Collects the issues of one layer (keeps the file/layer prefix in one place)."""

    def __init__(self, gdf: gpd.GeoDataFrame, schema: LayerSchema, file: str) -> None:
        self.gdf = gdf
        self.schema = schema
        self.file = file
        self.issues: list[Issue] = []

    @property
    def where(self) -> str:
        return f'{self.file}, layer "{self.schema.name}"'

    def add(
        self, severity: str, kind: str, message: str, *, fld: str | None = None, mask=None, ids=()
    ) -> None:
        rows: tuple[int, ...] = ()
        if mask is not None:
            ids, rows = _ids(self.gdf, np.asarray(mask, dtype=bool))
        prefix = f'{self.where}: field "{fld}" ' if fld else f"{self.where}: "
        self.issues.append(
            Issue(severity, self.file, self.schema.name, fld, tuple(ids), rows, prefix + message, kind)
        )


def _type_ok(col: pd.Series, spec: FieldSpec) -> bool:
    values = col.dropna()
    if spec.dtype == "str":
        return pd.api.types.is_string_dtype(col) and all(isinstance(v, str) for v in values)
    if spec.dtype == "bool":
        return pd.api.types.is_bool_dtype(col) or (
            len(values) == 0 or all(isinstance(v, bool | np.bool_) for v in values)
        )
    if spec.dtype == "float":
        return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    return pd.api.types.is_integer_dtype(col)


def _check_fields(c: _Checker) -> None:
    gdf = c.gdf
    for spec in c.schema.fields:
        if spec.name not in gdf.columns:
            if spec.required:
                present = ", ".join(col for col in gdf.columns if col != gdf.geometry.name)
                c.add(
                    "error",
                    "field",
                    f"is missing; expected a {spec.dtype} column (fields present: {present}).",
                    fld=spec.name,
                )
            continue
        col = gdf[spec.name]
        if not _type_ok(col, spec):
            example = next((repr(v) for v in col.dropna() if not isinstance(v, str)), repr(col.dtype))
            c.add(
                "error",
                "field",
                f"has type {col.dtype} (e.g. {example}); expected {spec.dtype}.",
                fld=spec.name,
            )
            continue
        nulls = col.isna().to_numpy()
        if not spec.nullable and nulls.any():
            c.add(
                "error",
                "field",
                f"is empty in {_listing(_ids(gdf, nulls)[0])}; a value is required.",
                fld=spec.name,
                mask=nulls,
            )
        if spec.pattern is not None:
            bad = (~nulls) & ~col.astype(str).str.fullmatch(spec.pattern).fillna(False).to_numpy(dtype=bool)
            if bad.any():
                c.add(
                    "error",
                    "field",
                    f"has values not matching {spec.pattern!r} in {_listing(_ids(gdf, bad)[0])}.",
                    fld=spec.name,
                    mask=bad,
                )
        if spec.allowed is not None:
            bad = (~nulls) & ~col.isin(spec.allowed).to_numpy(dtype=bool)
            for value in pd.unique(col[bad]):
                vmask = bad & (col == value).to_numpy(dtype=bool)
                c.add(
                    "error",
                    "category",
                    f'has "{value}" in {_listing(_ids(gdf, vmask)[0])}; expected one of '
                    f"{', '.join(str(a) for a in spec.allowed)}.",
                    fld=spec.name,
                    mask=vmask,
                )
    if "id" in gdf.columns:
        dup = gdf["id"].duplicated(keep=False).to_numpy() & gdf["id"].notna().to_numpy()
        if dup.any():
            c.add(
                "error",
                "id",
                f"has duplicate values: {_listing(_ids(gdf, dup)[0])}; ids must be unique.",
                fld="id",
                mask=dup,
            )


def _check_geometry(c: _Checker) -> None:
    gdf, schema = c.gdf, c.schema
    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms)
    if schema.null_geometry_when is not None and schema.null_geometry_when[0] in gdf.columns:
        fld, value = schema.null_geometry_when
        flagged = (gdf[fld] == value).to_numpy(dtype=bool)
        bad = missing & ~flagged
        if bad.any():
            c.add(
                "error",
                "geometry",
                f"has no geometry in {_listing(_ids(gdf, bad)[0])}; only rows with {fld} = "
                f'"{value}" may lack one.',
                mask=bad,
            )
        located = ~missing & flagged
        if located.any():
            c.add(
                "error",
                "geometry",
                f'has a geometry although {fld} = "{value}" in '
                f"{_listing(_ids(gdf, located)[0])}; set {fld} to how it was located.",
                mask=located,
            )
    elif missing.any():
        c.add("error", "geometry", f"has no geometry in {_listing(_ids(gdf, missing)[0])}.", mask=missing)
    present = ~missing
    empty = present & shapely.is_empty(geoms)
    if empty.any():
        c.add("error", "geometry", f"has empty geometries in {_listing(_ids(gdf, empty)[0])}.", mask=empty)
    usable = present & ~empty
    types = np.array([g.geom_type if g is not None else "" for g in geoms])
    wrong = usable & ~np.isin(types, schema.geometry_types)
    if wrong.any():
        found = ", ".join(sorted(set(types[wrong])))
        c.add(
            "error",
            "geometry",
            f"has geometry type {found} in {_listing(_ids(gdf, wrong)[0])}; expected "
            f"{' or '.join(schema.geometry_types)}.",
            mask=wrong,
        )
    invalid = usable & ~shapely.is_valid(geoms)
    if invalid.any():
        reason = shapely.is_valid_reason(geoms[np.flatnonzero(invalid)[0]])
        c.add(
            "error",
            "geometry",
            f"has invalid geometries in {_listing(_ids(gdf, invalid)[0])} (first: {reason}); "
            "repair them (e.g. shapely.make_valid or QGIS 'Fix geometries').",
            mask=invalid,
        )


def to_storage_crs(gdf: gpd.GeoDataFrame, *, where: str) -> tuple[gpd.GeoDataFrame | None, str | None]:
    """Return ``gdf`` in STORAGE_CRS, or (None, message) when its CRS is missing or contradicts its numbers.

    A declared projected CRS whose coordinates are degree-sized (or a geographic CRS with metre-sized
    coordinates) is reported, not silently reprojected.
    """
    if gdf.crs is None:
        return None, (
            f"{where}: no CRS is declared. Set it (e.g. gdf.set_crs('EPSG:4490') for CGCS2000 lon/lat) "
            "or fix the file's .prj / metadata."
        )
    crs = pyproj.CRS.from_user_input(gdf.crs)
    arr = gdf.geometry.to_numpy()
    geoms = gdf.geometry[~shapely.is_missing(arr) & ~shapely.is_empty(arr)]
    if geoms.empty:
        return gdf.to_crs(STORAGE_CRS), None
    minx, miny, maxx, maxy = geoms.total_bounds
    degree_sized = minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90
    name = crs.to_string()
    if crs.is_geographic and not degree_sized:
        return None, (
            f"{where}: CRS {name} is geographic (degrees) but coordinates reach x {minx:,.0f}..{maxx:,.0f}, "
            f"y {miny:,.0f}..{maxy:,.0f}: they look like metres. Declare the projected CRS they are in "
            "(e.g. EPSG:4550), do not reproject."
        )
    if crs.is_projected and degree_sized:
        return None, (
            f"{where}: CRS {name} is projected (metres) but coordinates are x {minx:.3f}..{maxx:.3f}, "
            f"y {miny:.3f}..{maxy:.3f}: they look like longitude/latitude. Declare EPSG:4490 (CGCS2000) "
            "or EPSG:4326 instead of reprojecting."
        )
    try:
        return gdf.to_crs(STORAGE_CRS), None
    except pyproj.exceptions.ProjError as exc:
        return None, f"{where}: cannot transform from {name} to {STORAGE_CRS}: {exc}"


def _vertex_sample(gdf: gpd.GeoDataFrame) -> np.ndarray:
    coords = shapely.get_coordinates(gdf.geometry.to_numpy())
    step = max(1, len(coords) // _MAX_OFFSET_SAMPLE)
    return coords[::step]


def reference_pieces(
    reference: gpd.GeoDataFrame | gpd.GeoSeries, max_vertices: int = _PIECE_VERTICES
) -> gpd.GeoSeries:
    """Cut a reference layer into short lines (polygons by their rings) and points for nearest-distance queries.

    A vertex of a stored polygon lies on the reference's ring, so distances to the ring are what the offset test
    needs; and a spatial index over short pieces answers each nearest query after a few small distance
    computations, where one coastal-zone polygon of 60,000 vertices made every query walk all of them (minutes
    per layer). The pieces cover the same points as the rings and lines (each shares its end vertex with the
    next), so distances are unchanged.

    Parameters
    ----------
    reference
        Trusted geometries (any type, any CRS).
    max_vertices
        Vertices per piece (at least 2).

    Returns
    -------
    geopandas.GeoSeries
        LineStrings of at most ``max_vertices`` vertices and the reference's points, in its CRS.
    """
    geoms = reference.geometry.to_numpy() if isinstance(reference, gpd.GeoDataFrame) else reference.to_numpy()
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    parts = shapely.get_parts(np.concatenate([shapely.boundary(geoms[polygonal]), geoms[~polygonal]]))
    is_line = np.isin(shapely.get_type_id(parts), (1, 2))
    points, lines = parts[~is_line], parts[is_line]
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    if len(coords) == 0:
        return gpd.GeoSeries(points, crs=reference.crs)
    step = max(1, max_vertices - 1)
    sizes = np.bincount(line_of, minlength=len(lines))
    position = np.arange(len(coords)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    last = np.repeat(sizes - 1, sizes)  # position of each line's end vertex
    n_pieces = np.maximum(1, -(-last // step))
    piece = np.minimum(position // step, n_pieces - 1)
    # a vertex where one piece ends and the next starts belongs to both
    shared = (position % step == 0) & (position > 0) & (position < last)
    all_line = np.concatenate([line_of, line_of[shared]])
    all_piece = np.concatenate([piece, piece[shared] - 1])
    all_pos = np.concatenate([position, position[shared]])
    order = np.lexsort((all_pos, all_piece, all_line))
    sorted_line, sorted_piece = all_line[order], all_piece[order]
    starts = np.r_[True, (sorted_line[1:] != sorted_line[:-1]) | (sorted_piece[1:] != sorted_piece[:-1])]
    key = np.cumsum(starts) - 1
    pieces = shapely.linestrings(np.concatenate([coords, coords[shared]])[order], indices=key)
    return gpd.GeoSeries(np.concatenate([pieces, points]), crs=reference.crs)


def _check_location(c: _Checker, stored: gpd.GeoDataFrame, reference: gpd.GeoDataFrame | None) -> None:
    hint = ""
    present = ~shapely.is_missing(stored.geometry.to_numpy()) & ~shapely.is_empty(stored.geometry.to_numpy())
    if reference is not None and len(reference) and present.any():
        xy = _vertex_sample(stored)
        if len(xy) >= 3:
            diag = diagnose_offset(xy[:, 0], xy[:, 1], reference_pieces(reference))
            if diag.shifted:
                hint = diag.message(c.where)
                c.add(
                    "warning",
                    "offset",
                    hint.removeprefix(f"{c.where}: ") + " Compared with the embedded layer.",
                )
    west, south, east, north = WEIHAI_BOUNDS
    t = _BOUNDS_TOLERANCE_DEG
    b = stored.geometry.bounds
    outside = present & (
        (b.minx < west - t) | (b.maxx > east + t) | (b.miny < south - t) | (b.maxy > north + t)
    ).to_numpy(dtype=bool)
    if outside.any():
        ob = b[outside]
        c.add(
            "error",
            "location",
            f"has features outside Weihai in {_listing(_ids(stored, outside)[0])}: they reach lon "
            f"{ob.minx.min():.4f}..{ob.maxx.max():.4f}, lat {ob.miny.min():.4f}..{ob.maxy.max():.4f}; expected "
            f"lon {west}..{east}, lat {south}..{north} (check the CRS and the coordinate datum)."
            + (f" Hint: {hint}" if hint else ""),
            mask=outside,
        )


def _count_issue(c: _Checker, n: int, expected: int, label: str, note: str, *, official: bool) -> None:
    if n > expected:
        c.add("error", "count", f"has {n} {label}; the plan/official source has {expected} ({note}).")
    elif n < expected:
        severity = "error" if official else "gap"
        c.add(severity, "count", f"plan names {expected} {label}, {n} located here ({note}).")


def _check_counts(c: _Checker) -> None:
    gdf, schema = c.gdf, c.schema
    n = len(gdf)
    if schema.counts_by is not None and schema.counts_by[0] in gdf.columns:
        fld, per_value = schema.counts_by
        for value, expected in per_value.items():
            got = int((gdf[fld] == value).sum())
            _count_issue(c, got, expected, f'rows with {fld} = "{value}"', schema.count_note, official=True)
    elif schema.expected_count is not None:
        _count_issue(c, n, schema.expected_count, "rows", schema.count_note, official=not schema.authored)
    elif n == 0:
        c.add(
            "gap",
            "count",
            f"is empty: no honest source for it yet ({schema.count_note}); load the bureau's file.",
        )
    for pc in schema.plan_counts:
        if pc.field not in gdf.columns:
            continue
        hit = (gdf[pc.field] == pc.value).to_numpy(dtype=bool)
        got = int(hit.sum())
        names = ", ".join(gdf.loc[hit, "name_zh"].astype(str)) if "name_zh" in gdf.columns else ""
        if got > pc.expected:
            c.add(
                "error",
                "plan",
                f"has {got} rows with {pc.value}; the plan states {pc.expected} ({pc.note}).",
                fld=pc.field,
                mask=hit,
            )
        elif got < pc.expected:
            c.add(
                "gap",
                "plan",
                f"= {pc.value}: the plan states {pc.expected}, {got} set here"
                + (f" ({names})" if names else "")
                + f"; {pc.note}.",
                fld=pc.field,
            )
    if schema.plan_names and "name_zh" in gdf.columns:
        have = [str(v) for v in gdf["name_zh"].dropna()]
        absent = tuple(p for p in schema.plan_names if not any(p in h or h in p for h in have))
        if absent:
            c.add(
                "gap",
                "plan",
                f"plan names {len(schema.plan_names)}, not located here: {', '.join(absent)}.",
                ids=absent,
            )
    if schema.null_geometry_when is not None and schema.null_geometry_when[0] in gdf.columns:
        fld, value = schema.null_geometry_when
        hit = (gdf[fld] == value).to_numpy(dtype=bool)
        if hit.any():
            names = ", ".join(gdf.loc[hit, "name_zh"].astype(str)) if "name_zh" in gdf.columns else ""
            c.add(
                "gap",
                "plan",
                f'is "{value}" in {int(hit.sum())} of {n} rows (no source point; left '
                f"unlocated, not guessed): {names}.",
                fld=fld,
                mask=hit,
            )


def check_layer(
    gdf: gpd.GeoDataFrame,
    name: str,
    *,
    file: str,
    reference: gpd.GeoDataFrame | None = None,
) -> tuple[list[Issue], gpd.GeoDataFrame | None]:
    """Validate one layer against ``SCHEMAS[name]``.

    Parameters
    ----------
    gdf
        The layer as read (any CRS).
    name
        Dataset layer name.
    file
        File name for messages.
    reference
        Trusted geometries of the same layer (e.g. the embedded one) used to detect GCJ-02/BD-09-shifted
        coordinates; None skips that check.

    Returns
    -------
    issues, stored
        The issues found, and the layer in STORAGE_CRS (None when the CRS is unusable).
    """
    schema = SCHEMAS[name]
    c = _Checker(gdf, schema, file)
    _check_fields(c)
    _check_geometry(c)
    stored, crs_problem = to_storage_crs(gdf, where=c.where)
    if crs_problem:
        c.issues.append(Issue("error", file, name, None, (), (), crs_problem, "crs"))
    else:
        c.gdf = stored
        _check_location(c, stored, reference)
    _check_counts(c)
    return c.issues, stored


def check_cross_layer(layers: Mapping[str, gpd.GeoDataFrame], files: Mapping[str, str]) -> list[Issue]:
    """Check between layers: every town area belongs to a town."""
    issues: list[Issue] = []
    towns, areas = layers.get("towns"), layers.get("town_areas")
    if towns is not None and areas is not None and "id" in towns.columns and "id" in areas.columns:
        orphan = ~areas["id"].isin(towns["id"]).to_numpy(dtype=bool)
        if orphan.any():
            ids, rows = _ids(areas, orphan)
            issues.append(
                Issue(
                    "error",
                    files["town_areas"],
                    "town_areas",
                    "id",
                    ids,
                    rows,
                    f'{files["town_areas"]}, layer "town_areas": field "id" has codes not in towns in '
                    f"{_listing(ids)}; expected the code of a town or street.",
                    "id",
                )
            )
    return issues
