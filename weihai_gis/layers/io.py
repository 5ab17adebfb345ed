"""Read one layer from GeoPackage / GeoJSON / Shapefile / GeoParquet; write a dataset to a GeoPackage.

Inputs are opened read-only and checked before GDAL sees them, so a missing, truncated or mislabelled file
gives an :class:`~weihai_gis.errors.InputFileError` that says what is wrong instead of a driver traceback.
:func:`read_layer` reads a layer of the dataset; :func:`read_vector` reads any user vector file (roads,
facilities, origins ...) with the same checks and a CRS requirement. Outputs go through
:func:`weihai_gis.files.atomic_path`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from weihai_gis.errors import CRSError, InputFileError, LayerError
from weihai_gis.files import atomic_path, require_input_file
from weihai_gis.layers.schema import SCHEMAS

__all__ = [
    "READ_SUFFIXES",
    "check_input_file",
    "list_file_layers",
    "read_layer",
    "read_vector",
    "write_layers",
]

log = logging.getLogger(__name__)

READ_SUFFIXES = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "Shapefile",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
}
"""File suffixes :func:`read_layer` accepts and the format each means."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PARQUET_MAGIC = b"PAR1"


def _check_geopackage(path: Path) -> None:
    """Raise InputFileError unless ``path`` starts like a complete SQLite database."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(100)
    if not head.startswith(_SQLITE_MAGIC):
        raise InputFileError(
            f"{path.name}: not a GeoPackage (a GeoPackage is an SQLite database starting with "
            f"'SQLite format 3'; this file starts with {head[:24]!r}). Export the layer again as GeoPackage."
        )
    if len(head) < 100:
        raise InputFileError(f"{path.name}: truncated GeoPackage ({size} bytes, shorter than its header).")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    n_pages = int.from_bytes(head[28:32], "big")
    # the in-header page count is only trustworthy when "version-valid-for" equals the change counter
    if n_pages and head[92:96] == head[24:28] and size < page_size * n_pages:
        raise InputFileError(
            f"{path.name}: truncated GeoPackage: its header says {page_size * n_pages:,} bytes, the file has "
            f"{size:,}. Copy or download it again."
        )


def check_input_file(path: str | os.PathLike[str], *, what: str = "layer") -> Path:
    """Check that ``path`` exists, has a readable format and is not obviously truncated.

    Parameters
    ----------
    path
        The file to read.
    what
        What the file is for (used in messages).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputFileError
        For a missing or empty file, an unsupported suffix, or a file whose header does not match it.
    """
    p = require_input_file(path, what=what)
    suffix = p.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise InputFileError(
            f"{p.name}: unsupported format {suffix!r}; expected one of {', '.join(sorted(READ_SUFFIXES))}."
        )
    _check_header(p)
    return p


def _check_header(path: Path) -> None:
    """Raise InputFileError when a GeoPackage or GeoParquet file does not look complete (others pass)."""
    fmt = READ_SUFFIXES.get(path.suffix.lower())
    if fmt == "GeoPackage":
        _check_geopackage(path)
    elif fmt == "GeoParquet":
        with path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(max(path.stat().st_size - 4, 0))
            tail = fh.read(4)
        if head != _PARQUET_MAGIC or tail != _PARQUET_MAGIC:
            raise InputFileError(
                f"{path.name}: not a complete Parquet file (missing 'PAR1' magic at start or end)."
            )


def list_file_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in ``path`` (a single-layer format gives one name, the file stem)."""
    p = check_input_file(path)
    if READ_SUFFIXES[p.suffix.lower()] == "GeoParquet":
        return [p.stem]
    try:
        return [str(name) for name in pyogrio.list_layers(p)[:, 0]]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise InputFileError(
            f"{p.name}: cannot be opened as {READ_SUFFIXES[p.suffix.lower()]}: {exc}"
        ) from None


def _restore_shapefile_names(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Undo the Shapefile format's 10-character field names and its lack of a boolean type."""
    schema = SCHEMAS.get(name)
    if schema is None:
        return gdf
    renames = {}
    for spec in schema.fields:
        short = spec.name[:10]
        if spec.name not in gdf.columns and short in gdf.columns and short != spec.name:
            renames[short] = spec.name
    gdf = gdf.rename(columns=renames)
    for spec in schema.fields:
        if spec.dtype == "bool" and spec.name in gdf.columns:
            col = gdf[spec.name]
            if pd.api.types.is_integer_dtype(col) and set(col.dropna().unique()) <= {0, 1}:
                gdf[spec.name] = col.astype(bool)
    return gdf


def read_layer(path: str | os.PathLike[str], name: str, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer of the dataset from a file, without validating it.

    Parameters
    ----------
    path
        GeoPackage (``.gpkg``), GeoJSON (``.geojson``/``.json``), Shapefile (``.shp``) or GeoParquet
        (``.parquet``) file. It is only read, never modified.
    name
        Dataset layer name (e.g. ``"towns"``); also the GeoPackage layer read when ``layer`` is None.
    layer
        Layer inside a multi-layer file when it differs from ``name`` (e.g. the bureau's ``"乡镇"``).

    Returns
    -------
    geopandas.GeoDataFrame
        In the file's own CRS. Shapefile field names cut to 10 characters are restored from the schema.

    Raises
    ------
    InputFileError
        If the file is missing, truncated, of the wrong format, or cannot be parsed.
    LayerError
        If the GeoPackage has no such layer.
    """
    p = check_input_file(path, what=f"layer {name!r}")
    fmt = READ_SUFFIXES[p.suffix.lower()]
    if fmt == "GeoParquet":
        try:
            return gpd.read_parquet(p)
        except (ValueError, OSError) as exc:
            raise InputFileError(f"{p.name}: cannot be read as GeoParquet: {exc}") from None
    wanted = layer
    if fmt == "GeoPackage":
        wanted = layer or name
        available = list_file_layers(p)
        if wanted not in available:
            raise LayerError(
                f'{p.name}: no layer "{wanted}"; layers in the file: {", ".join(available) or "(none)"}. '
                f"Pass layer=... to name the one to use."
            )
    try:
        gdf = pyogrio.read_dataframe(p, layer=wanted)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise InputFileError(f"{p.name}: cannot be read as {fmt}: {exc}") from None
    if fmt == "Shapefile":
        gdf = _restore_shapefile_names(gdf, name)
    log.debug("read %s rows from %s (layer %s)", len(gdf), p, wanted)
    return gdf


def read_vector(
    path: str | os.PathLike[str], *, layer: str | None = None, what: str = "input"
) -> gpd.GeoDataFrame:
    """Read a user's vector file (any format GDAL reads) and require a declared CRS.

    GeoPackage and GeoParquet files get the header checks of :func:`check_input_file` first, so a truncated
    or mislabelled file is reported as such; other suffixes are left to GDAL.

    Parameters
    ----------
    path
        The file (GeoPackage, GeoJSON, Shapefile, GeoParquet, FlatGeobuf, ...). It is only read.
    layer
        Layer inside a multi-layer file; None reads the first one.
    what
        What the file is for, e.g. ``"walking network"``; messages start with it, the path and the layer.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in its own CRS.

    Raises
    ------
    InputFileError
        The file is missing, empty, truncated or cannot be read as a vector layer.
    CRSError
        The layer declares no CRS.
    """
    p = require_input_file(path, what=what)
    where = f"{what} {str(p)!r}" + (f", layer {layer!r}" if layer else "")
    _check_header(p)
    try:
        if READ_SUFFIXES.get(p.suffix.lower()) == "GeoParquet":
            frame = gpd.read_parquet(p)
        else:
            frame = gpd.read_file(p, layer=layer)
    except Exception as exc:  # any driver failure becomes one message naming the file and layer
        raise InputFileError(f"{where}: cannot read as a vector file ({exc}).") from exc
    if frame.crs is None:
        raise CRSError(f"{where}: the layer has no CRS; declare it (e.g. EPSG:4490 or EPSG:4326) first.")
    log.debug("read %s rows from %s", len(frame), where)
    if layer is None and p.suffix.lower() in (".gpkg", ".sqlite", ".gdb"):
        with contextlib.suppress(Exception):  # name the layer that was read first in later messages
            where += f", layer {str(pyogrio.list_layers(p)[0][0])!r}"
    frame.attrs["source"] = where  # later checks name the file and layer
    return frame


def _geometry_type(gdf: gpd.GeoDataFrame, name: str) -> str | None:
    """GeoPackage geometry type to declare (needed for empty layers, which have nothing to infer from)."""
    if len(gdf) and not shapely.is_missing(gdf.geometry.to_numpy()).all():
        return None
    schema = SCHEMAS.get(name)
    return schema.geometry_types[0] if schema else "Unknown"


def write_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    path: str | os.PathLike[str],
    *,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> Path:
    """Write every layer to one GeoPackage, atomically.

    Parameters
    ----------
    layers
        Layer name -> GeoDataFrame (a :class:`~weihai_gis.layers.Layers` works).
    path
        Destination ``.gpkg``; replaced only when every layer was written.
    inputs
        Files the layers were read from; writing onto one of them is refused. A ``Layers`` object adds its
        own sources automatically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    dest = Path(path)
    if dest.suffix.lower() != ".gpkg":
        raise InputFileError(f"{dest.name}: write_layers writes GeoPackage only; use a .gpkg file name.")
    sources = tuple(getattr(layers, "source_files", ())) + tuple(inputs)
    with atomic_path(dest, inputs=sources) as tmp:
        for name, gdf in layers.items():
            pyogrio.write_dataframe(
                gdf, tmp, layer=name, driver="GPKG", geometry_type=_geometry_type(gdf, name)
            )
    log.info("wrote %d layers to %s", len(layers), dest)
    return dest
