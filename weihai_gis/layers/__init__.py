"""Planning layers of Weihai: declared schemas, reading/writing, validation and the embedded dataset.

>>> from weihai_gis.layers import load_layers
>>> layers = load_layers()              # weihai_gis/data/weihai.gpkg, validated
>>> layers.towns.kind.value_counts()    # 48 town, 24 street

Names are imported on first use, so the schemas (:mod:`weihai_gis.layers.schema`) and the quick GeoPackage
reader behind ``weihai-gis layers list|show`` load without geopandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weihai_gis.lazy_exports import lazy_exports

if TYPE_CHECKING:  # the same names as _WHERE, for type checkers and editors
    from weihai_gis.layers.dataset import DEFAULT_GPKG, Layers, Override, load_layers, validate_layers
    from weihai_gis.layers.io import read_layer, read_vector, write_layers
    from weihai_gis.layers.issues import Issue, ValidationReport
    from weihai_gis.layers.schema import SCHEMAS, FieldSpec, LayerSchema, PlanCount

_WHERE: dict[str, str] = {
    "DEFAULT_GPKG": "weihai_gis.layers.dataset",
    "Layers": "weihai_gis.layers.dataset",
    "Override": "weihai_gis.layers.dataset",
    "load_layers": "weihai_gis.layers.dataset",
    "validate_layers": "weihai_gis.layers.dataset",
    "read_layer": "weihai_gis.layers.io",
    "read_vector": "weihai_gis.layers.io",
    "write_layers": "weihai_gis.layers.io",
    "Issue": "weihai_gis.layers.issues",
    "ValidationReport": "weihai_gis.layers.issues",
    "SCHEMAS": "weihai_gis.layers.schema",
    "FieldSpec": "weihai_gis.layers.schema",
    "LayerSchema": "weihai_gis.layers.schema",
    "PlanCount": "weihai_gis.layers.schema",
}

__all__ = [
    "DEFAULT_GPKG",
    "SCHEMAS",
    "FieldSpec",
    "Issue",
    "LayerSchema",
    "Layers",
    "Override",
    "PlanCount",
    "ValidationReport",
    "load_layers",
    "read_layer",
    "read_vector",
    "validate_layers",
    "write_layers",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
