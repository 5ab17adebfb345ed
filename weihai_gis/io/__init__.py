"""File formats the toolkit reads and writes (one module per format); analysis modules never touch files.

``results``: the coverage-results GeoPackage (:func:`read_results`, :func:`write_results`).
``tables``: the coverage summary as CSV and XLSX.
"""

from weihai_gis.io.results import read_results, write_results
from weihai_gis.io.tables import write_summary_tables

__all__ = ["read_results", "write_results", "write_summary_tables"]
