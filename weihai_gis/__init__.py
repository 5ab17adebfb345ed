"""weihai_gis: GIS toolkit for Weihai's 精致城市建设新三年行动方案 (2025-2027).

Data flows one way: load → validate → analyse → render. The public API is re-exported here.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from weihai_gis import crs, errors
from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS
from weihai_gis.errors import WeihaiGISError

try:
    __version__ = version("weihai-gis")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = [
    "ANALYSIS_CRS",
    "STORAGE_CRS",
    "WeihaiGISError",
    "__version__",
    "crs",
    "errors",
]
