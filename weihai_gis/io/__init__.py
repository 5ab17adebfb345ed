"""File formats the toolkit reads and writes (one module per format); analysis modules never touch files.

``results``: the coverage-results GeoPackage (:func:`read_results`, :func:`write_results`).
``tables``: the coverage summary as CSV and XLSX.
``geotiff``: baseline single-band GeoTIFF in numpy (the viewshed's reader and writer; rasterio for the rest).

The names load on first use (module ``__getattr__``), so ``weihai_gis.io.geotiff`` imports without geopandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weihai_gis.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from weihai_gis.io.results import read_results, write_results
    from weihai_gis.io.tables import write_summary_tables

_WHERE = {
    "read_results": "weihai_gis.io.results",
    "write_results": "weihai_gis.io.results",
    "write_summary_tables": "weihai_gis.io.tables",
}

__all__ = ["read_results", "write_results", "write_summary_tables"]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
