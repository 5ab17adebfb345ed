"""The Weihai dataset as one object: load every layer (embedded or the bureau's files), validated.

A planner replaces any embedded layer with an official file through ``overrides``; the replacement goes
through the same reader and the same validation as the embedded data::

    layers = load_layers(overrides={"towns": "bureau_towns.shp",
                                    "counties": ("bureau.gpkg", "区县界")})
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import shapely

from weihai_gis import data as embedded_data
from weihai_gis.errors import LayerError
from weihai_gis.layers.io import check_input_file, list_file_layers, read_layer
from weihai_gis.layers.issues import Issue, LayerSummary, ValidationReport, detail_label, expected_label
from weihai_gis.layers.schema import SCHEMAS
from weihai_gis.layers.validate import check_cross_layer, check_layer

__all__ = ["DEFAULT_GPKG", "Layers", "Override", "load_layers", "validate_layers"]

log = logging.getLogger(__name__)

DEFAULT_GPKG = embedded_data.path("weihai.gpkg")
"""The embedded dataset ``weihai_gis/data/weihai.gpkg`` built by ``scripts/build_data.py`` (see ``SOURCES.md``)."""

Override = str | os.PathLike[str] | tuple[str | os.PathLike[str], str]
"""A replacement file for one layer: a path, or ``(path, layer inside the file)``."""


class Layers(Mapping[str, gpd.GeoDataFrame]):
    """Read-only mapping of layer name -> GeoDataFrame (STORAGE_CRS), also reachable as attributes.

    Attributes
    ----------
    sources
        Layer name -> ``"file, layer"`` it was read from.
    source_files
        The input files (so :func:`~weihai_gis.layers.write_layers` refuses to overwrite them).
    report
        The :class:`ValidationReport` of the load (None when loaded with ``validate=False``).
    """

    def __init__(
        self,
        frames: Mapping[str, gpd.GeoDataFrame],
        *,
        sources: Mapping[str, str] | None = None,
        source_files: tuple[Path, ...] = (),
        report: ValidationReport | None = None,
    ) -> None:
        self._frames = dict(frames)
        self.sources = dict(sources or {})
        self.source_files = source_files
        self.report = report

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __getattr__(self, name: str) -> gpd.GeoDataFrame:
        frames = self.__dict__.get("_frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(f"no layer {name!r}; layers: {', '.join(frames)}")

    def __repr__(self) -> str:
        return "Layers(" + ", ".join(f"{k}={len(v)}" for k, v in self._frames.items()) + ")"


def _read_all(
    path: str | os.PathLike[str] | None, overrides: Mapping[str, Override] | None
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, str], dict[str, str], list[Issue], tuple[Path, ...]]:
    """Read every schema layer from ``path`` or its override; missing layers become error issues."""
    base = check_input_file(path or DEFAULT_GPKG, what="dataset")
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(SCHEMAS))
    if unknown:
        raise LayerError(
            f"overrides name unknown layers {', '.join(unknown)}; known layers: {', '.join(SCHEMAS)}."
        )
    in_base = set(list_file_layers(base))
    frames: dict[str, gpd.GeoDataFrame] = {}
    sources: dict[str, str] = {}
    files: dict[str, str] = {}
    issues: list[Issue] = []
    used = {base}
    for name in SCHEMAS:
        if name in overrides:
            spec = overrides[name]
            file, layer = spec if isinstance(spec, tuple) else (spec, None)
            p = check_input_file(file, what=f"override for layer {name!r}")
            used.add(p)
            frames[name] = read_layer(p, name, layer=layer)
            files[name], sources[name] = p.name, f'{p.name}, layer "{layer or name}"'
        elif name in in_base:
            frames[name] = read_layer(base, name)
            files[name], sources[name] = base.name, f'{base.name}, layer "{name}"'
        else:
            msg = (
                f'{base.name}: layer "{name}" ({SCHEMAS[name].title_zh}) is missing; layers in the file: '
                f"{', '.join(sorted(in_base))}."
            )
            issues.append(Issue("error", base.name, name, None, (), (), msg, "file"))
    return frames, sources, files, issues, tuple(sorted(used))


def _reference(name: str, used_default: bool) -> gpd.GeoDataFrame | None:
    """Return the embedded layer ``name`` (polygons as outlines) to detect shifted coordinates in a replacement."""
    if used_default or not DEFAULT_GPKG.exists():
        return None
    try:
        ref = read_layer(DEFAULT_GPKG, name)
    except (LayerError, ValueError):
        return None
    arr = ref.geometry.to_numpy()
    ref = ref[~shapely.is_missing(arr) & ~shapely.is_empty(arr)]
    if ref.empty:
        return None
    if ref.geom_type.str.contains("Polygon").any():
        return gpd.GeoDataFrame(geometry=ref.geometry.boundary, crs=ref.crs)
    return ref


def _validate_frames(
    frames: Mapping[str, gpd.GeoDataFrame],
    files: Mapping[str, str],
    issues: list[Issue],
    *,
    embedded: set[str],
) -> tuple[ValidationReport, dict[str, gpd.GeoDataFrame]]:
    report = ValidationReport(issues=list(issues))
    stored: dict[str, gpd.GeoDataFrame] = {}
    for name, gdf in frames.items():
        found, converted = check_layer(
            gdf, name, file=files[name], reference=_reference(name, name in embedded)
        )
        report.issues.extend(found)
        stored[name] = converted if converted is not None else gdf
        schema = SCHEMAS[name]
        report.layers[name] = LayerSummary(
            name, schema.title_zh, files[name], len(gdf), expected_label(schema), detail_label(gdf, schema)
        )
    report.issues.extend(check_cross_layer(stored, files))
    return report, stored


def _embedded_names(files: Mapping[str, str], base_is_default: bool) -> set[str]:
    return {n for n, f in files.items() if base_is_default and f == DEFAULT_GPKG.name}


def load_layers(
    path: str | os.PathLike[str] | None = None,
    *,
    validate: bool = True,
    overrides: Mapping[str, Override] | None = None,
) -> Layers:
    """Load the dataset: every layer of :data:`~weihai_gis.layers.schema.SCHEMAS`, in EPSG:4490.

    Parameters
    ----------
    path
        A GeoPackage holding the layers; None for the embedded ``weihai_gis/data/weihai.gpkg``.
    validate
        Check every layer against its schema and raise on errors (gaps and warnings are kept in
        ``layers.report``). With False, layers are returned as read (reprojected when their CRS is usable).
    overrides
        Layer name -> replacement file (GeoPackage, GeoJSON, Shapefile or GeoParquet), or
        ``(file, layer in the file)``: the bureau's official data replacing an embedded layer.

    Returns
    -------
    Layers

    Raises
    ------
    InputFileError
        For a missing, truncated or non-GeoPackage file.
    LayerError, CRSError
        When ``validate`` and a layer breaks its schema (the message lists every error).
    """
    frames, sources, files, issues, used = _read_all(path, overrides)
    base_is_default = path is None or Path(path).resolve() == DEFAULT_GPKG
    report, stored = _validate_frames(frames, files, issues, embedded=_embedded_names(files, base_is_default))
    if validate:
        report.raise_for_errors()
        for issue in report.warnings:
            log.warning("%s", issue.message)
    return Layers(stored, sources=sources, source_files=used, report=report if validate else None)


def validate_layers(
    layers_or_path: Mapping[str, gpd.GeoDataFrame] | str | os.PathLike[str] | None = None,
    *,
    overrides: Mapping[str, Override] | None = None,
) -> ValidationReport:
    """Validate a dataset and return the report (never raises for schema problems).

    Parameters
    ----------
    layers_or_path
        A :class:`Layers` / mapping of GeoDataFrames, a GeoPackage path, or None for the embedded dataset.
    overrides
        As in :func:`load_layers` (only with a path).

    Returns
    -------
    ValidationReport

    Raises
    ------
    InputFileError
        For a missing, truncated or non-GeoPackage file (nothing can be validated then).
    """
    if isinstance(layers_or_path, Mapping):
        frames = {k: v for k, v in layers_or_path.items() if k in SCHEMAS}
        names = getattr(layers_or_path, "sources", {})
        files = {k: names.get(k, "(in memory)").split(",")[0] for k in frames}
        issues = [
            Issue("error", "(in memory)", n, None, (), (), f'(in memory): layer "{n}" is missing.', "file")
            for n in SCHEMAS
            if n not in frames
        ]
        embedded = {k for k, v in names.items() if v.startswith(f"{DEFAULT_GPKG.name},")}
        report, _ = _validate_frames(frames, files, issues, embedded=embedded)
        return report
    frames, _, files, issues, _ = _read_all(layers_or_path, overrides)
    p = layers_or_path
    base_is_default = p is None or Path(p).resolve() == DEFAULT_GPKG
    report, _ = _validate_frames(frames, files, issues, embedded=_embedded_names(files, base_is_default))
    return report
