"""Origins (where residents live) with a population: from a raster, building footprints or a points table."""

from __future__ import annotations

import logging
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from weihai_gis.errors import CRSError, LayerError
from weihai_gis.files import require_input_file
from weihai_gis.layers.io import read_vector
from weihai_gis.standards import building_population, coverage_config

__all__ = [
    "origins_from_buildings",
    "origins_from_osm_buildings",
    "origins_from_points",
    "origins_from_raster",
    "population_values",
    "refuse_duplicate_ids",
]

log = logging.getLogger(__name__)


def origins_from_raster(path: str | os.PathLike[str], *, band: int = 1) -> gpd.GeoDataFrame:
    """One origin per raster cell with population > 0 (WorldPop / GHS-POP style GeoTIFF).

    Parameters
    ----------
    path
        Population raster (persons per cell) with a CRS.
    band
        Band number (1-based).

    Returns
    -------
    geopandas.GeoDataFrame
        origin_id (``"r<row>c<col>"``), population (the cell value), point geometry at the cell centre, in
        the raster's CRS.
    """
    import rasterio  # here: ~0.1 s of start-up that vector origins never need

    src_path = require_input_file(path, what="population raster")
    with rasterio.open(src_path) as src:
        if src.crs is None:
            raise CRSError(f"population raster {str(src_path)!r} has no CRS.")
        data = src.read(band, masked=True).astype(float).filled(np.nan)
        transform, crs = src.transform, src.crs
    rows, cols = np.nonzero(np.nan_to_num(data) > 0)
    if len(rows) == 0:
        raise LayerError(f"population raster {str(src_path)!r}: no cell has a population above 0.")
    xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
    return gpd.GeoDataFrame(
        {"origin_id": [f"r{r}c{c}" for r, c in zip(rows, cols, strict=True)], "population": data[rows, cols]},
        geometry=gpd.points_from_xy(xs, ys),
        crs=crs,
    )


def origins_from_buildings(
    buildings: gpd.GeoDataFrame,
    *,
    floors_field: str = "building:levels",
    default_floors: float | None = None,
    dwelling_area_m2: float | None = None,
    household_size: float | None = None,
    metric_crs: str | None = None,
    residential_values: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Estimate residents per building: footprint area × floors / dwelling area × household size.

    Parameters
    ----------
    buildings
        Building footprints (polygons) with a CRS.
    floors_field
        Field with the number of floors (OSM ``building:levels``); missing or invalid values use
        ``default_floors``.
    default_floors, dwelling_area_m2, household_size
        Floors when unknown, gross floor area per household (m²) and persons per household; defaults from
        ``coverage-config.yaml`` (modelling values, verified: false).
    metric_crs
        CRS for footprint areas (default: the frame's UTM zone).
    residential_values
        When given, keep only buildings whose ``building`` field is in this list.

    Returns
    -------
    geopandas.GeoDataFrame
        origin_id, population, floors, floors_source (``field`` / ``default``), footprint polygons.
    """
    cfg = coverage_config()["population"]
    default_floors = float(cfg["default_floors"] if default_floors is None else default_floors)
    dwelling = float(cfg["dwelling_area_m2"] if dwelling_area_m2 is None else dwelling_area_m2)
    hh = float(cfg["household_size"] if household_size is None else household_size)
    if buildings.crs is None:
        raise CRSError("buildings have no CRS.")
    b = buildings[buildings.geometry.notna() & buildings.geom_type.isin(["Polygon", "MultiPolygon"])]
    if residential_values is not None and "building" in b.columns:
        b = b[b["building"].isin(residential_values)]
    if b.empty:
        raise LayerError("buildings: no polygon footprints (after filtering) to place residents in.")
    area = b.to_crs(metric_crs or b.estimate_utm_crs()).area.to_numpy()
    floors = (
        pd.to_numeric(b[floors_field], errors="coerce")
        if floors_field in b.columns
        else pd.Series(np.nan, index=b.index)
    )
    known = floors.notna() & (floors > 0)
    floors = floors.where(known, default_floors).to_numpy(dtype=float)
    ids = b["id"].astype(str).to_numpy() if "id" in b.columns else b.index.astype(str).to_numpy()
    log.info(
        "buildings: %d of %d have %r; others use %g floors",
        int(known.sum()),
        len(b),
        floors_field,
        default_floors,
    )
    return gpd.GeoDataFrame(
        {
            "origin_id": ids,
            "population": area * floors / dwelling * hh,
            "floors": floors,
            "floors_source": np.where(known, "field", "default"),
        },
        geometry=b.geometry.to_numpy(),
        crs=b.crs,
    )


def origins_from_osm_buildings(
    buildings: gpd.GeoDataFrame, *, floors_field: str = "building:levels", metric_crs: str | None = None
) -> gpd.GeoDataFrame:
    """Estimate residents of OSM residential buildings: footprint area × floors ÷ floor area per person.

    The constants are in ``standards/building-population.yaml`` (each cited, with ``verified``): floor area
    per person (m²), which ``building`` values hold residents, and the floors of each type when
    ``building:levels`` is not tagged. The result is an estimate (``population_status = "estimated"``),
    never a count; label it 估算 wherever it is shown.

    Parameters
    ----------
    buildings
        OSM building footprints (e.g. pyrosm ``get_buildings()``) with ``building`` and optionally
        ``building:levels``, ``id``, ``osm_type``, ``name``; any CRS.
    floors_field
        Field with the number of floors.
    metric_crs
        CRS for footprint areas (default: the frame's UTM zone).

    Returns
    -------
    geopandas.GeoDataFrame
        origin_id (``"way/<id>"``), building, name, footprint_m2, floors, floors_source (``"tagged"`` or
        ``"default <type>"``), floor_area_m2, population (persons, estimated), population_status, polygons in
        the input CRS.

    Raises
    ------
    CRSError, LayerError
        No CRS, no ``building`` field or no residential footprint.
    """
    cfg = building_population()
    if buildings.crs is None:
        raise CRSError("OSM buildings have no CRS.")
    if "building" not in buildings.columns:
        raise LayerError(f"OSM buildings: field 'building' is missing; fields are {list(buildings.columns)}.")
    polys = buildings.geometry.notna() & buildings.geom_type.isin(["Polygon", "MultiPolygon"])
    b = buildings[polys & buildings["building"].isin(cfg["residential_types"])]
    if b.empty:
        raise LayerError(
            f"OSM buildings: no polygon with building in {list(cfg['residential_types'])} "
            "(standards/building-population.yaml, residential_types) to place residents in."
        )
    footprint = b.to_crs(metric_crs or b.estimate_utm_crs()).area.to_numpy()
    tagged = pd.to_numeric(b[floors_field], errors="coerce") if floors_field in b.columns else None
    default = b["building"].map(cfg["default_floors"]).astype(float)
    known = tagged.notna() & (tagged >= 1) if tagged is not None else pd.Series(False, index=b.index)
    floors = (tagged.where(known, default) if tagged is not None else default).to_numpy(dtype=float)
    ids = b["id"].astype(str) if "id" in b.columns else pd.Series(b.index.astype(str), index=b.index)
    if "osm_type" in b.columns:
        ids = b["osm_type"].astype(str) + "/" + ids
    floor_area = footprint * floors
    log.info(
        "OSM buildings: %d residential of %d; %d with %r, others the default floors of their type",
        len(b),
        len(buildings),
        int(known.sum()),
        floors_field,
    )
    return gpd.GeoDataFrame(
        {
            "origin_id": ids.to_numpy(),
            "building": b["building"].astype(str).to_numpy(),
            "name": b["name"].fillna("").astype(str).to_numpy() if "name" in b.columns else "",
            "footprint_m2": footprint,
            "floors": floors,
            "floors_source": np.where(known, "tagged", "default " + b["building"].astype(str)),
            "floor_area_m2": floor_area,
            "population": floor_area / cfg["floor_area_per_person_m2"],
            "population_status": "estimated",
        },
        geometry=b.geometry.to_numpy(),
        crs=b.crs,
    )


def population_values(values: pd.Series, *, where: str = "origins") -> pd.Series:
    """Return a population column as floats after checking every value is a non-negative number.

    Parameters
    ----------
    values
        The column (numbers or numeric text), named after its field.
    where
        What the column belongs to, e.g. ``"origins 'o.gpkg'"``; messages start with it and the field.

    Returns
    -------
    pandas.Series
        Population per row (persons), float, same index.

    Raises
    ------
    LayerError
        Rows with a missing, non-numeric or negative value (the count and the first rows are named).
    """
    pop = pd.to_numeric(values, errors="coerce")
    bad = pop.isna() | (pop < 0)
    if bad.any():
        raise LayerError(
            f"{where}, field {values.name!r}: {int(bad.sum())} rows are not non-negative numbers "
            f"(first rows {list(values.index[bad][:5])})."
        )
    return pop.astype(float)


def origins_from_points(
    path: str | os.PathLike[str], *, population_field: str = "population", layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read origins from a vector file of points (or polygons) with a population field.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer with ``population`` as float (renamed from ``population_field``) and its CRS. Invalid
        polygons are repaired with ``make_valid`` and reported (count, first rows and the reason).

    Raises
    ------
    LayerError
        An empty layer, a missing or bad population field, or duplicate ids in ``origin_id`` / ``id``
        (results could not be joined back to the input).
    """
    frame = read_vector(path, layer=layer, what="origins")
    where = str(
        frame.attrs.get("source") or f"origins {str(path)!r}" + (f", layer {layer!r}" if layer else "")
    )
    if frame.empty:
        raise LayerError(f"{where}: the layer has no rows.")
    if population_field not in frame.columns:
        raise LayerError(f"{where}: field {population_field!r} is missing; fields are {list(frame.columns)}.")
    frame["population"] = population_values(frame[population_field], where=where)
    refuse_duplicate_ids(frame, where)
    geoms = frame.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if invalid.any():
        rows = np.flatnonzero(invalid)[:5]
        reasons = "; ".join(f"row {i}: {shapely.is_valid_reason(geoms[i])}" for i in rows)
        log.warning(
            "%s: %d invalid polygons repaired with make_valid before taking a point on their surface (%s)",
            where,
            int(invalid.sum()),
            reasons,
        )
        frame.attrs["invalid_geometries"] = int(invalid.sum())
        frame.geometry = shapely.make_valid(geoms)
    return frame


def refuse_duplicate_ids(frame: gpd.GeoDataFrame, where: str, field: str | None = None) -> None:
    """Raise when the origins' id field repeats a value: per-origin results must join back one to one.

    Parameters
    ----------
    frame
        The origins.
    where
        How messages name the layer (file and layer when known).
    field
        The id field; default the first of ``origin_id``, ``id`` present (none present: nothing to check).

    Raises
    ------
    LayerError
        Naming the field, the number of repeated ids and the first five with their counts.
    """
    field = field or next((c for c in ("origin_id", "id") if c in frame.columns), None)
    if field is None:
        return
    ids = frame[field].astype(str)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        counts = dup.value_counts()
        listed = ", ".join(f"{k!r} ×{v}" for k, v in counts.head(5).items())
        raise LayerError(
            f"{where}, field {field!r}: {len(counts)} ids occur more than once ({listed}); results are joined "
            f"back by this field, so make the ids unique (or drop or rename the field to number the origins)."
        )
