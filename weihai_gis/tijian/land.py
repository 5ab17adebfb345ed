"""Residential land (居住用地) for the 体检 denominators: the bureau's 三调 polygons, an OSM approximation, grid samples.

The official 覆盖率 items divide by the area of residential land (三调 城镇住宅用地 / 居住用地). With the bureau's
polygons, :func:`read_residential_land` selects them by land-use code; without them,
:func:`approximate_residential_land` derives an approximation from OSM ``landuse=residential`` areas and
residential building footprints, flagged ``approximate``. :func:`land_samples` cuts the land on a square grid
into pieces whose areas add up to the land area exactly; each piece's representative point is an origin for the
network distance variant.
"""

from __future__ import annotations

import logging
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from weihai_gis.errors import CRSError, LayerError

__all__ = [
    "RESIDENTIAL_BUILDING_TAGS",
    "approximate_residential_land",
    "approximate_xiaoqu",
    "land_samples",
    "metric_frame",
    "osm_residential",
    "read_residential_land",
    "town_units",
]

log = logging.getLogger(__name__)

#: OSM ``building`` values counted as residential footprints in the approximation.
RESIDENTIAL_BUILDING_TAGS = (
    "residential",
    "apartments",
    "house",
    "detached",
    "terrace",
    "dormitory",
    "semidetached_house",
)


def metric_frame(frame: gpd.GeoDataFrame, crs: str | None, what: str) -> gpd.GeoDataFrame:
    """Return ``frame`` in ``crs`` (or its own CRS when None), requiring a projected CRS in metres.

    Raises
    ------
    CRSError
        No CRS on the layer, or the target CRS is geographic (degrees cannot be used as metres).
    """
    if frame.crs is None:
        raise CRSError(f"{what}: the layer has no CRS; set it (e.g. EPSG:4490) before the 体检 computation.")
    out = frame.to_crs(crs) if crs is not None and not frame.crs.equals(crs) else frame
    if not out.crs.is_projected:
        raise CRSError(
            f"{what}: CRS {out.crs.to_string()} is geographic; project to metres first "
            "(e.g. EPSG:4550, CGCS2000 3-degree zone CM 123°E) or pass the network's CRS."
        )
    return out


def read_residential_land(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    code_field: str = "DLBM",
    codes: tuple[str, ...] = ("0701",),
) -> gpd.GeoDataFrame:
    """Read the bureau's land-use polygons and keep residential land by land-use code.

    Parameters
    ----------
    path, layer
        GeoPackage / Shapefile / any GDAL vector file and its layer (三调 图斑 or 国土变更调查).
    code_field
        Field holding the land-use code (三调 ``DLBM``; a planner's own field name otherwise).
    codes
        Codes counted as residential land; a code matches itself and its sub-codes (``07`` matches
        ``0701`` and ``0702``). Default ``0701`` 城镇住宅用地.

    Returns
    -------
    geopandas.GeoDataFrame
        The residential polygons with ``land_code`` and ``approximate`` (False).

    Raises
    ------
    LayerError
        The code field is missing or no polygon has one of the codes (the message lists the codes present).
    """
    from weihai_gis.layers.io import read_vector

    frame = read_vector(path, layer=layer, what="residential land")
    where = f"residential land {str(path)!r}" + (f", layer {layer!r}" if layer else "")
    if code_field not in frame.columns:
        raise LayerError(
            f"{where}: land-use code field {code_field!r} is missing; fields are {list(frame.columns)}. "
            "Pass the field with --land-code-field."
        )
    values = frame[code_field].astype(str).str.strip()
    keep = np.zeros(len(frame), dtype=bool)
    for code in codes:
        keep |= values.str.startswith(str(code)).to_numpy()
    if not keep.any():
        present = ", ".join(values.value_counts().index[:15])
        raise LayerError(
            f"{where}, field {code_field!r}: no polygon has a code in {list(codes)}; codes present: {present}. "
            "Pass the residential codes with --land-codes."
        )
    out = frame.loc[keep, ["geometry"]].copy()
    out["land_code"] = values[keep].to_numpy()
    out["approximate"] = False
    return out.reset_index(drop=True)


def approximate_residential_land(
    landuse: gpd.GeoDataFrame | None = None, buildings: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Approximate residential land from OSM: ``landuse=residential`` areas plus residential footprints.

    Parameters
    ----------
    landuse
        Polygons with a ``landuse`` column (rows ``residential`` are kept), or already-residential polygons
        without that column.
    buildings
        Building footprints with a ``building`` column; rows in :data:`RESIDENTIAL_BUILDING_TAGS` are added.

    Returns
    -------
    geopandas.GeoDataFrame
        Dissolved polygons (one row per part) with ``land_code`` ``"osm"`` and ``approximate`` True.

    Raises
    ------
    LayerError
        Neither input gives any residential polygon.
    """
    parts, crs = [], None
    if landuse is not None and not landuse.empty:
        sel = (
            landuse[landuse["landuse"].astype(str) == "residential"]
            if "landuse" in landuse.columns
            else landuse
        )
        parts.append(sel.geometry)
        crs = landuse.crs
    if buildings is not None and not buildings.empty and "building" in buildings.columns:
        sel = buildings[buildings["building"].astype(str).isin(RESIDENTIAL_BUILDING_TAGS)]
        geoms = sel.geometry.to_crs(crs) if crs is not None and sel.crs is not None else sel.geometry
        parts.append(geoms)
        crs = crs or buildings.crs
    geoms = pd.concat(parts) if parts else gpd.GeoSeries([])
    geoms = geoms[geoms.notna() & ~geoms.is_empty]
    geoms = geoms[shapely.get_type_id(geoms.to_numpy()) >= 3]  # polygons only
    if geoms.empty:
        raise LayerError(
            "residential land: no OSM landuse=residential polygon and no residential building footprint; "
            "supply the bureau's 三调 城镇住宅用地 polygons (--land)."
        )
    merged = shapely.union_all(shapely.make_valid(geoms.to_numpy()))
    pieces = shapely.get_parts(merged)
    pieces = pieces[shapely.get_type_id(pieces) == 3]
    n = len(pieces)
    return gpd.GeoDataFrame({"land_code": ["osm"] * n, "approximate": [True] * n}, geometry=pieces, crs=crs)


def land_samples(land: gpd.GeoDataFrame, cell_m: float = 20.0, *, crs: str | None = None) -> gpd.GeoDataFrame:
    """Cut residential land on a square grid; one sample point per piece, weighted by the piece's area.

    Parameters
    ----------
    land
        Residential polygons (overlaps are dissolved first, so no area counts twice).
    cell_m
        Grid cell side in metres (default 20 m: a fifth of a small 小区's width).
    crs
        Metric CRS to work in (default the land's own, which must be projected).

    Returns
    -------
    geopandas.GeoDataFrame
        Points (a representative point of each piece, always inside the land): sample_id, area_m2 (the
        piece's area; the sum equals the land area), population (= area_m2, so the coverage engine's
        population weighting gives area shares).
    """
    if not cell_m > 0:
        raise ValueError(f"`cell_m` must be positive, got {cell_m!r}.")
    land = metric_frame(land, crs, "residential land")
    geoms = land.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        raise LayerError("residential land: the layer has no polygon; nothing to sample.")
    merged = shapely.union_all(shapely.make_valid(geoms))
    x0, y0, x1, y1 = shapely.bounds(merged)
    xs = np.floor(x0 / cell_m) * cell_m + cell_m * np.arange(int(np.ceil((x1 - x0) / cell_m)) + 2)
    ys = np.floor(y0 / cell_m) * cell_m + cell_m * np.arange(int(np.ceil((y1 - y0) / cell_m)) + 2)
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell_m, gy.ravel() + cell_m)
    shapely.prepare(merged)
    cells = cells[shapely.intersects(merged, cells)]
    pieces = shapely.intersection(cells, merged)
    area = shapely.area(pieces)
    ok = area > 1e-9
    pieces, area = pieces[ok], area[ok]
    points = shapely.point_on_surface(pieces)
    log.info("residential land: %.3f km² cut into %d samples of ≤%g m", area.sum() / 1e6, len(points), cell_m)
    return gpd.GeoDataFrame(
        {"sample_id": np.arange(len(points)), "area_m2": area, "population": area},
        geometry=points,
        crs=land.crs,
    )


def approximate_xiaoqu(
    landuse: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame | None, *, gap_m: float = 15.0
) -> gpd.GeoDataFrame:
    """Approximate 小区 from OSM: named ``landuse=residential`` areas, plus compounds of residential footprints.

    Footprints outside those areas are grouped by closing (buffer ``gap_m`` out, union, buffer back), so
    apartment blocks less than ``2 × gap_m`` apart form one compound.

    Parameters
    ----------
    landuse, buildings
        As :func:`approximate_residential_land` (metric CRS, or they are projected to the land's UTM-like CRS
        by the caller).
    gap_m
        Half the largest gap (m) between footprints of one compound.

    Returns
    -------
    geopandas.GeoDataFrame
        id (``xq-<n>``), name_zh (the OSM name, or ``未命名小区 <n>``), approximate (True), geometry.
    """
    polys, names, crs = [], [], None
    if landuse is not None and not landuse.empty:
        res = (
            landuse[landuse["landuse"].astype(str) == "residential"]
            if "landuse" in landuse.columns
            else landuse
        )
        crs = landuse.crs
        for geom, name in zip(res.geometry, res.get("name", pd.Series([None] * len(res))), strict=True):
            if geom is not None and not geom.is_empty:
                polys.append(shapely.make_valid(geom))
                names.append(name if isinstance(name, str) and name.strip() else None)
    if buildings is not None and not buildings.empty and "building" in buildings.columns:
        b = buildings[buildings["building"].astype(str).isin(RESIDENTIAL_BUILDING_TAGS)]
        b = b.to_crs(crs) if crs is not None else b
        crs = crs or b.crs
        geoms = b.geometry.to_numpy()
        geoms = geoms[shapely.get_type_id(geoms) >= 3]
        if polys:
            cover = shapely.union_all(polys)
            geoms = geoms[~shapely.intersects(shapely.point_on_surface(geoms), cover)]
        if len(geoms):
            closed = shapely.buffer(shapely.union_all(shapely.buffer(geoms, gap_m)), -gap_m)
            for part in shapely.get_parts(closed):
                if shapely.get_type_id(part) == 3 and part.area > 0:
                    polys.append(part)
                    names.append(None)
    if not polys:
        raise LayerError(
            "小区: no OSM landuse=residential area and no residential footprint; supply --xiaoqu polygons."
        )
    n = np.arange(1, len(polys) + 1)
    return gpd.GeoDataFrame(
        {
            "id": [f"xq-{i}" for i in n],
            "name_zh": [nm or f"未命名小区 {i}" for nm, i in zip(names, n, strict=True)],
            "approximate": True,
        },
        geometry=polys,
        crs=crs,
    )


def osm_residential(path: str | os.PathLike[str], crs: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read an ``.osm.pbf`` and return (approximate residential land, approximate 小区), both in ``crs``."""
    from pyrosm import OSM

    from weihai_gis.files import require_input_file

    osm = OSM(str(require_input_file(path, what="OSM extract")))
    landuse = osm.get_landuse()
    buildings = osm.get_buildings()
    landuse = landuse.to_crs(crs) if landuse is not None and len(landuse) else None
    buildings = buildings.to_crs(crs) if buildings is not None and len(buildings) else None
    return approximate_residential_land(landuse, buildings), approximate_xiaoqu(landuse, buildings)


def town_units(towns: gpd.GeoDataFrame | None, land: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """Return the town/street areas overlapping the land as 街区 units, named ``…（近似边界）`` (approximate).

    Returns None when no area overlaps the land (e.g. land outside Weihai).
    """
    if towns is None or towns.empty:
        return None
    t = towns.to_crs(land.crs)
    hit = gpd.sjoin(t, land[["geometry"]], how="inner", predicate="intersects").index.unique()
    t = t.loc[hit]
    if t.empty:
        return None
    id_col = "id" if "id" in t.columns else t.columns[0]
    name_col = "name_zh" if "name_zh" in t.columns else id_col
    return gpd.GeoDataFrame(
        {
            "id": t[id_col].astype(str).to_numpy(),
            "name_zh": (t[name_col].astype(str) + "（近似边界）").to_numpy(),
        },
        geometry=t.geometry.to_numpy(),
        crs=t.crs,
    )
