"""The one coverage-results GeoPackage: written and read here, metadata included.

Layers of a results file (format ``weihai-gis-results``, version :data:`FORMAT_VERSION`):

=====================  ========  ===============================================================
layer                  kind      content
=====================  ========  ===============================================================
``origins``            points    per-origin distances and flags (:mod:`weihai_gis.lifecircle.columns`):
                                 ``dist_<c>`` network metres to the nearest facility, searched to twice
                                 the limit (``SEARCH_FACTOR``; NaN beyond), ``straight_<c>``
                                 straight-line metres, ``met_<c>`` within the limit; ``name`` when known
``facilities``         points    facilities used, with their snapping outcome
``summary_hex``        polygons  per-hexagon summary
``summary_<unit>``     polygons  per-unit summary (e.g. ``summary_town_areas``)
``categories``         table     the profile's categories with facility counts and ``assessed``
``overall``            table     one row per category + ``all_basic``: rate_network, rate_buffer, gap
``problems``           points    optional 问题清单: origin × basic category not met, network and straight-line
                                 distance to the nearest facility (:mod:`weihai_gis.lifecircle.problems`);
                                 a spatial view over ``origins`` (one ``SELECT`` per category, ``UNION ALL``)
``problem_categories`` table     the view's per-category values: category, category_zh, max_walk_m
``missing_by_category`` table    optional: residents each basic category leaves out
``walker_comparison``  table     optional 老人与成人覆盖率差 per unit and category (:mod:`weihai_gis.lifecircle.walkers`)
``service_areas``      polygons  optional 服务范围: network service areas per category (or facility / exclusive
                                 catchment): category, mode, facility, n_facilities, cutoff_m, buffer_m,
                                 network_m (:mod:`weihai_gis.lifecircle.service_areas`)
``run_metadata``       table     ``key``, ``value`` (JSON): profile, hexagon size, CRS, options, network
                                 facts, warnings, input provenance, data-quality notices, date, version
=====================  ========  ===============================================================

Every layer's ``gpkg_contents.description`` holds the data-quality notices (样例/估算/未核实, one a line;
empty when none applies), so a layer copied out of the file in QGIS still says what it is.

:func:`read_results` returns the same :class:`~weihai_gis.lifecircle.CoverageResult` that was written, so
``weihai-gis report --results`` and ``weihai-gis map --results`` render exactly what the main job renders.
Writes go through Arrow (``pyogrio`` ``use_arrow=True``) when pyarrow is installed.

The 问题清单 repeats each origin once per category it misses (998,221 rows for the 50k origins of a 200k-node
synthetic city), and a metres run already holds every value of it on its origins (``dist_<c>``,
``straight_<c>``, ``edge_affected_<c>``, ``name``): the layer ``problems`` is a GeoPackage spatial view
(GeoPackage 1.3 §2.1.6 lets ``gpkg_contents`` name a view) that unpivots those columns, so no row of the list
is stored and the list costs nothing to write; it opens in QGIS as a point layer (read-only, no spatial
index) and reads in GDAL/pyogrio/geopandas with the rows of
:func:`~weihai_gis.lifecircle.problems.problems_from_origins` (``unreachable_reason`` NULL where the in-memory
list has ""). :func:`read_results` derives the list from the origins again instead of reading the view.
A list held as a table (a walker-group run's, whose metres come from a search of its own) is written as rows
(``problems_rows`` with ``origin_fid``) and a view joining them to the origins' points, or with its own
points when they are not the origins'.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from weihai_gis.errors import LayerError
from weihai_gis.files import atomic_path, require_input_file
from weihai_gis.lifecircle.assessment import basic_assessment
from weihai_gis.lifecircle.columns import column
from weihai_gis.lifecircle.edge import edge_column
from weihai_gis.lifecircle.results import CoverageResult, InputRecord, RunMetadata

__all__ = ["FORMAT", "FORMAT_VERSION", "read_results", "write_results"]

log = logging.getLogger(__name__)

FORMAT = "weihai-gis-results"
FORMAT_VERSION = 1
_META_LAYER = "run_metadata"

try:  # Arrow IO is several times faster for wide frames; pyogrio falls back to its own path without it
    import pyarrow  # noqa: F401

    _ARROW = True
except ImportError:  # pragma: no cover - pyarrow is a dependency of the test environment
    _ARROW = False


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return value.name
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


#: Layers written without a GeoPackage R-tree: the problem list repeats each origin's point once per
#: category it misses (1M rows on a 200k-node synthetic city, where the R-tree cost 8 of the layer's 13 s
#: CPU); the origins layer holds the same points with an index, and QGIS builds one on request.
_UNINDEXED = frozenset({"problems"})


def _write(
    frame: pd.DataFrame, path: Path, layer: str, geometry_type: str | None = None, description: str = ""
) -> None:
    kwargs: dict[str, Any] = {"layer": layer, "driver": "GPKG", "use_arrow": _ARROW}
    if description:  # gpkg_contents.description: QGIS shows it in the layer's properties
        kwargs["layer_metadata"] = {"DESCRIPTION": description}
    if layer in _UNINDEXED:
        kwargs["layer_options"] = {"SPATIAL_INDEX": "NO"}
    if isinstance(frame, gpd.GeoDataFrame):
        if frame.empty:
            kwargs["geometry_type"] = geometry_type
        else:
            kwargs["promote_to_multi"] = False
    pyogrio.write_dataframe(frame, path, **kwargs)


#: GDAL configuration options for writing the temporary file of :func:`atomic_path`: no SQLite rollback journal
#: and no fsync per transaction. The file is renamed into place only when complete, so a crash leaves a
#: broken temporary file (removed) and the previous result untouched; both options only cost time here
#: (about 0.1 s CPU and 0.7 s wall for the layers of the 200k-node city run).
_TEMP_FILE_OPTIONS = {"OGR_SQLITE_JOURNAL": "OFF", "OGR_SQLITE_SYNCHRONOUS": "OFF"}


@contextlib.contextmanager
def _temp_file_options() -> Iterator[None]:
    """Set :data:`_TEMP_FILE_OPTIONS` while writing, then restore what was set before.

    GDAL configuration options are process-wide: another thread writing a GeoPackage meanwhile would
    write without journal too (weihai_gis writes its results from one thread).
    """
    before = {key: pyogrio.get_gdal_config_option(key) for key in _TEMP_FILE_OPTIONS}
    pyogrio.set_gdal_config_options(_TEMP_FILE_OPTIONS)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def _origin_rows(res: CoverageResult) -> np.ndarray | None:
    """Return the row in ``res.origins`` of each held problem row, or None when the points are not the origins'."""
    problems, origins = res.problem_table, res.origins
    if (
        problems is None
        or problems.empty
        or "origin_id" not in origins.columns
        or problems.crs != origins.crs
    ):
        return None
    ids = pd.Index(origins["origin_id"].astype(str))
    if not ids.is_unique:
        return None
    codes, names = pd.factorize(
        problems["origin_id"]
    )  # hash 1M ids once (a categorical's codes), look up 50k
    if (codes < 0).any():  # a row without an origin id
        return None
    at = ids.get_indexer(pd.Index(np.asarray(names, dtype=object)).astype(str))[codes]
    if (at < 0).any():
        return None
    points = shapely.get_coordinates(problems.geometry.to_numpy())
    if len(points) != len(at) or not np.array_equal(
        points, shapely.get_coordinates(origins.geometry.to_numpy())[at]
    ):
        return None
    return at


def _register_problems_view(con: sqlite3.Connection, description: str, srs: int) -> None:
    """Register the view ``problems`` (point column ``geom``) as a GeoPackage feature layer."""
    con.execute(
        "INSERT INTO gpkg_contents (table_name, identifier, data_type, description, srs_id) "
        "VALUES ('problems', 'problems', 'features', ?, ?)",
        (description, srs),
    )
    con.execute(
        "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) "
        "VALUES ('problems', 'geom', 'POINT', ?, 0, 0)",
        (srs,),
    )


def _write_problems_view(res: CoverageResult, path: Path, description: str) -> bool:
    """Write a held 问题清单 as ``problems_rows`` + the spatial view ``problems``; False when it must carry its points.

    The path of lists held as a table (a walker-group run's, which has distances the origins do not carry).
    Needs the ``origins`` layer already written (its fids are 1..n in row order, checked).
    """
    at = _origin_rows(res)
    if at is None:
        return False
    table = res.problem_table
    assert table is not None
    rows = pd.DataFrame(table.drop(columns="geometry"))
    rows.insert(0, "origin_fid", at + 1)
    _write(rows, path, "problems_rows", None, description)
    with closing(sqlite3.connect(path)) as con, con:
        geom, srs = con.execute(
            "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = 'origins'"
        ).fetchone()
        n, lo, hi = con.execute("SELECT count(*), min(fid), max(fid) FROM origins").fetchone()
        if (n, lo, hi) != (
            len(res.origins),
            1,
            len(res.origins),
        ):  # pragma: no cover - GDAL numbers rows 1..n
            raise LayerError(
                f"{path}: origins fids are not 1..{len(res.origins)}; cannot join the problem list"
            )
        cols = ", ".join(f'p."{c}"' for c in table.columns if c != "geometry")
        con.execute(
            f'CREATE VIEW problems AS SELECT p.fid AS OGC_FID, {cols}, o."{geom}" AS geom '
            "FROM problems_rows AS p JOIN origins AS o ON o.fid = p.origin_fid"
        )
        _register_problems_view(con, description, srs)
    return True


#: The per-category side of the derived 问题清单 view: one row per assessed basic category (fid = its branch).
_PROBLEM_CATEGORIES = "problem_categories"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_derived_problems(res: CoverageResult, path: Path, description: str) -> None:
    """Write the derived 问题清单 as the spatial view ``problems`` over ``origins``: no row of its own.

    One ``SELECT`` per assessed basic category over the origins not meeting it (``NOT met_<c>``), joined by
    ``UNION ALL`` in table order, so the view's rows and order are those of
    :func:`~weihai_gis.lifecircle.problems.problems_from_origins`; its fid is ``origin fid × K + k`` (K basic
    categories, k the branch). The category's id, Chinese name and limit come from the small table
    ``problem_categories`` rather than SQL literals: GDAL types a view's columns by their declared types,
    which a literal has not (it would read the limit as text). Needs ``origins`` written (fids 1..n).
    """
    basic, _ = basic_assessment(res.categories)
    if not basic:  # nothing to list: an empty point layer
        problems = res.problems
        assert problems is not None
        _write(problems, path, "problems", "Point", description)
        return
    cats = res.categories.set_index(res.categories["id"].astype(str))
    lookup = pd.DataFrame(
        {
            "category": basic,
            "category_zh": [str(cats.at[c, "name_zh"]) for c in basic],
            "max_walk_m": [float(cats.at[c, "max_walk_m"]) for c in basic],  # type: ignore[arg-type]
            "no_name": "",
            "no_edge": False,
        }
    )
    _write(lookup, path, _PROBLEM_CATEGORIES, None, description)
    origins = res.origins
    with closing(sqlite3.connect(path)) as con, con:
        geom, srs = con.execute(
            "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = 'origins'"
        ).fetchone()
        n, lo, hi = con.execute("SELECT count(*), min(fid), max(fid) FROM origins").fetchone()
        if (n, lo, hi) != (len(origins), 1, len(origins)):  # pragma: no cover - GDAL numbers rows 1..n
            raise LayerError(f"{path}: origins fids are not 1..{len(origins)}; cannot list the problems")
        name = 'o."name"' if "name" in origins.columns else 'c."no_name"'
        branches = []
        for k, cid in enumerate(basic):
            edge = edge_column(cid)
            flag = f"o.{_sql_name(edge)}" if edge in origins.columns else 'c."no_edge"'
            branches.append(
                f'SELECT o.fid * {len(basic)} + {k} AS OGC_FID, o."origin_id" AS origin_id, {name} AS name, '
                'o."population" AS population, c."category" AS category, c."category_zh" AS category_zh, '
                f'c."max_walk_m" AS max_walk_m, o.{_sql_name(column("dist", cid))} AS dist_network_m, '
                f"o.{_sql_name(column('straight', cid))} AS dist_straight_m, {flag} AS edge_affected, "
                f'o."unreachable_reason" AS unreachable_reason, o.{_sql_name(geom)} AS geom '
                f"FROM origins AS o, {_PROBLEM_CATEGORIES} AS c "
                f"WHERE c.fid = {k + 1} AND NOT o.{_sql_name(column('met', cid))}"
            )
        con.execute("CREATE VIEW problems AS " + " UNION ALL ".join(branches))
        _register_problems_view(con, description, srs)


def _write_problems(res: CoverageResult, path: Path, description: str) -> None:
    """Write the 问题清单: a view over the origins (derived list), or a held table (rows view or own points)."""
    if res.problem_table is None:
        _write_derived_problems(res, path, description)
    elif not _write_problems_view(res, path, description):
        _write(res.problem_table, path, "problems", "Point", description)


def _derived_view(path: Path) -> bool:
    """Whether the file's ``problems`` layer is the view over the origins (the list is derived on reading)."""
    with closing(sqlite3.connect(path)) as con:
        row = con.execute("SELECT type, sql FROM sqlite_master WHERE name = 'problems'").fetchone()
    return row is not None and row[0] == "view" and _PROBLEM_CATEGORIES in str(row[1])


def _metadata_rows(res: CoverageResult) -> pd.DataFrame:
    meta = dataclasses.asdict(res.meta)
    meta["inputs"] = [dataclasses.asdict(i) for i in res.meta.inputs]
    rows = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **meta,
        "units": list(res.units),
        "quality_notes": res.quality_notes(),
    }
    return pd.DataFrame(
        {
            "key": list(rows),
            "value": [json.dumps(v, ensure_ascii=False, default=_json_default) for v in rows.values()],
        }
    )


def write_results(
    res: CoverageResult,
    path: str | os.PathLike[str],
    *,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> Path:
    """Write a coverage result to one GeoPackage, atomically (replaced only when complete).

    Parameters
    ----------
    res
        The result of :func:`weihai_gis.coverage`.
    path
        Destination ``.gpkg``.
    inputs
        Input files of the run (the destination may not be one of them).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    dest = Path(path)
    note = "\n".join(res.quality_notes())  # on every layer, so no layer travels without its notice
    with atomic_path(dest, inputs=inputs) as tmp, _temp_file_options():
        _write(res.origins, tmp, "origins", "Point", note)
        _write(res.facilities, tmp, "facilities", "Point", note)
        _write(res.hexagons, tmp, "summary_hex", "Polygon", note)
        for name, frame in res.units.items():
            _write(frame, tmp, f"summary_{name}", "MultiPolygon", note)
        _write(res.categories, tmp, "categories", None, note)
        _write(res.overall_table, tmp, "overall", None, note)
        if res.missing_by_category is not None:
            _write(res.missing_by_category, tmp, "missing_by_category", None, note)
        if res.walker_comparison is not None:
            _write(res.walker_comparison, tmp, "walker_comparison", None, note)
        if res.service_areas is not None:
            _write(res.service_areas, tmp, "service_areas", "MultiPolygon", note)
        _write(_metadata_rows(res), tmp, _META_LAYER, None, note)
        # last: GDAL counts the rows of a view at every later open for update (0.7 s CPU per layer written
        # after it on the 1M-row list of the 200k-node city)
        if res.problem_table is not None or res.lists_problems:
            _write_problems(res, tmp, note)
    log.info(
        "wrote %s (%d origins, %d hexagons, units %s)",
        dest,
        len(res.origins),
        len(res.hexagons),
        list(res.units),
    )
    return dest


def _read(path: Path, layer: str) -> pd.DataFrame:
    return pyogrio.read_dataframe(path, layer=layer, use_arrow=_ARROW, fid_as_index=False)


def read_results(path: str | os.PathLike[str]) -> CoverageResult:
    """Read a results GeoPackage written by :func:`write_results` (``weihai-gis coverage`` / ``demo``).

    Parameters
    ----------
    path
        The ``.gpkg`` file.

    Returns
    -------
    CoverageResult
        The result as written: same tables, same metadata; nothing is recomputed.

    Raises
    ------
    InputFileError
        If the file does not exist.
    LayerError
        If the file is not a results GeoPackage of this format (names the missing layer and the fix).
    """
    p = require_input_file(path, what="coverage results")
    try:
        names = [str(row[0]) for row in pyogrio.list_layers(p)]
    except Exception as exc:
        raise LayerError(f"{p}: not a readable GeoPackage ({exc}); expected a results .gpkg.") from exc
    required = ["origins", "facilities", "summary_hex", "categories", "overall", _META_LAYER]
    if missing := [n for n in required if n not in names]:
        raise LayerError(
            f"{p}: layer(s) {', '.join(repr(m) for m in missing)} missing (found {', '.join(names) or 'none'}); "
            f"expected a results GeoPackage written by `weihai-gis coverage --out` or `weihai-gis demo` "
            f"(format {FORMAT} v{FORMAT_VERSION}); rerun it with this version of weihai_gis."
        )
    raw = _read(p, _META_LAYER)
    meta = {str(k): json.loads(v) for k, v in zip(raw["key"], raw["value"], strict=True)}
    if meta.get("format") != FORMAT or int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise LayerError(
            f"{p}, layer {_META_LAYER!r}: format {meta.get('format')!r} v{meta.get('format_version')}; "
            f"expected {FORMAT!r} v{FORMAT_VERSION} or older; update weihai_gis or rerun the coverage."
        )
    fields = {f.name for f in dataclasses.fields(RunMetadata)}
    kwargs = {k: v for k, v in meta.items() if k in fields}
    kwargs["warnings"] = tuple(kwargs.get("warnings", ()))
    kwargs["inputs"] = tuple(InputRecord(**i) for i in kwargs.get("inputs", ()))
    units = {}
    for name in meta.get("units", []):
        layer = f"summary_{name}"
        if layer not in names:
            raise LayerError(f"{p}: layer {layer!r} listed in {_META_LAYER!r} is missing; rewrite the file.")
        units[name] = _read(p, layer)
    derived = "problems" in names and _derived_view(p)  # derived again from the origins, not read row by row
    return CoverageResult(
        origins=_read(p, "origins"),
        categories=_read(p, "categories"),
        facilities=_read(p, "facilities"),
        meta=RunMetadata(**kwargs),
        hexagons=_read(p, "summary_hex"),
        units=units,
        overall_table=_read(p, "overall"),
        problem_table=_read(p, "problems") if "problems" in names and not derived else None,
        lists_problems=derived,
        missing_by_category=_read(p, "missing_by_category") if "missing_by_category" in names else None,
        walker_comparison=_read(p, "walker_comparison") if "walker_comparison" in names else None,
        service_areas=_read(p, "service_areas") if "service_areas" in names else None,
    )
