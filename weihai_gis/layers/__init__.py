"""Planning layers of Weihai: declared schemas, reading/writing, validation and the embedded dataset.

>>> from weihai_gis.layers import load_layers
>>> layers = load_layers()              # weihai_gis/data/weihai.gpkg, validated
>>> layers.towns.kind.value_counts()    # 48 town, 24 street
"""

from weihai_gis.layers.dataset import DEFAULT_GPKG, Layers, Override, load_layers, validate_layers
from weihai_gis.layers.io import read_layer, read_vector, write_layers
from weihai_gis.layers.issues import Issue, ValidationReport
from weihai_gis.layers.schema import SCHEMAS, FieldSpec, LayerSchema, PlanCount

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
