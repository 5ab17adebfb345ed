"""DEM input and output: read GeoTIFF tiles of any CRS into a metric analysis grid, write result rasters.

The grid itself is a :class:`~weihai_gis.sightlines.grid.DEM` (re-exported here). A single baseline GeoTIFF
read on its own grid (``crs=None``) and results written on that grid go through :mod:`weihai_gis.io.geotiff`
(numpy, no rasterio: the viewshed command's start-up); everything else through rasterio, imported on use.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weihai_gis import geotransform
from weihai_gis.crs import ANALYSIS_CRS
from weihai_gis.errors import DEMError, InputFileError, LayerError
from weihai_gis.files import atomic_path, require_input_file
from weihai_gis.io.geotiff import GeoTIFFCRS, open_geotiff, window_from_bounds, write_geotiff
from weihai_gis.sightlines.grid import DEM

if TYPE_CHECKING:  # geopandas loads only when buildings are burnt in; pyproj when a CRS object is used
    import geopandas as gpd
    import rasterio
    import rasterio.windows
    from affine import Affine
    from pyproj import CRS

__all__ = ["DEM", "burn_buildings", "memory_bound_bytes", "read_dem", "write_raster"]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

_NODATA_ONLY = {"all_valid", "nodata"}
"""Mask flags of a band without a mask band or alpha: reading it unmasked and mapping nodata to nan is the same."""

_BASELINE_DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")
"""What :func:`weihai_gis.io.geotiff.write_geotiff` writes (on the grid of a DEM it read: the CRS's GeoKeys)."""


def _open_checked(path: PathLike, stack: ExitStack) -> rasterio.DatasetReader:
    import rasterio

    p = require_input_file(path, what="DEM")
    try:
        src = stack.enter_context(rasterio.open(p))
    except rasterio.errors.RasterioIOError as exc:
        raise DEMError(f"DEM {p}: cannot be read as a raster ({exc}).") from exc
    if src.crs is None:
        raise DEMError(f"DEM {p}: has no CRS; assign one first (gdal_edit -a_srs EPSG:...).")
    if src.transform.is_identity:
        raise DEMError(f"DEM {p}: has no georeferencing (identity transform).")
    return src


#: Bytes of memory a DEM read may need per cell: the source value and mask, the float64 grid, the sea mask
#: and a reprojected float64 copy (viewsheds and surfaces then work on the same grid).
DEM_BYTES_PER_CELL = 20


def memory_bound_bytes() -> int:
    """Return the most memory a DEM read may take: half of this machine's physical memory (4 GiB if unknown).

    ``WEIHAI_GIS_MAX_DEM_MB`` overrides it (megabytes).
    """
    if env := os.environ.get("WEIHAI_GIS_MAX_DEM_MB"):
        return int(float(env) * 1024 * 1024)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def _require_memory(cells: float, itemsize: int, source: str, max_bytes: int | None) -> None:
    """Refuse a read of ``cells`` cells that would need more than ``max_bytes`` (default: the bound)."""
    limit = memory_bound_bytes() if max_bytes is None else max_bytes
    need = cells * (DEM_BYTES_PER_CELL + itemsize)
    if need > limit:
        raise DEMError(
            f"DEM {source}: the area to read has {cells:,.0f} cells and needs about {need / 2**30:,.1f} GB of "
            f"memory, above the {limit / 2**30:,.1f} GB bound (half this machine's memory; "
            "WEIHAI_GIS_MAX_DEM_MB changes it). Read less: crop the DEM to the study area (e.g. gdal_translate "
            "-projwin), or for a viewshed pass --max-distance, which reads only the observer's window."
        )


def _cells_to_read(srcs: list[Any], window: Any, src_bounds: tuple[float, ...] | None) -> float:
    """Cells a read will load: the window, the bounds at the first tile's resolution, or everything."""
    if len(srcs) == 1:
        src = srcs[0]
        if window is not None:
            return float(window.width * window.height)
        return float(src.width * src.height)
    xres, yres = srcs[0].res
    if src_bounds is None:
        lefts, bottoms, rights, tops = zip(*(s.bounds for s in srcs), strict=True)
        src_bounds = (min(lefts), min(bottoms), max(rights), max(tops))
    west, south, east, north = src_bounds
    return abs((east - west) / xres) * abs((north - south) / yres)


def _read_baseline(
    path: PathLike, bounds: tuple[float, float, float, float] | None, source: str, max_bytes: int | None
) -> tuple[npt.NDArray[np.float64], geotransform.Coefficients, GeoTIFFCRS, float | None] | None:
    """Read a baseline GeoTIFF in numpy (:mod:`weihai_gis.io.geotiff`); None when rasterio must read it."""
    tif = open_geotiff(require_input_file(path, what="DEM"))
    if tif is None:
        return None
    with tif:
        window = (0, 0, tif.height, tif.width)
        t = tif.coefficients
        if bounds is not None:
            window = window_from_bounds(t, bounds, tif.width, tif.height)  # type: ignore[assignment]
        if window is None or all(abs(v - w) < 1e-5 for v, w in zip(t, (1, 0, 0, 0, 1, 0), strict=True)):
            return None  # outside the image, or no georeferencing (Affine.is_identity): rasterio explains
        _require_memory(float(window[2] * window[3]), tif.dtype.itemsize, source, max_bytes)
        try:
            elevation = tif.read(window, dtype=np.float64)
        except (ValueError, zlib.error) as exc:  # a damaged block
            raise DEMError(f"DEM {source}: reading failed ({exc}).") from exc
        # rasterio's window_transform: Affine.translation(x - c, y - f) @ transform, (x, y) the window's corner
        x, y = geotransform.apply(t, window[1], window[0])
        a, b, c, d, e, f = t
        return elevation, (a, b, c + (x - c), d, e, f + (y - f)), tif.crs, tif.nodata


def _read_rasterio(
    path_list: list[PathLike],
    source: str,
    bounds: tuple[float, float, float, float] | None,
    bounds_crs: str | CRS | None,
    window: rasterio.windows.Window | None,
    max_memory_bytes: int | None,
) -> tuple[npt.NDArray[np.float64], Affine, Any, float | None]:
    """Read one file or a mosaic with rasterio: (elevation with nodata still in it, transform, CRS, nodata)."""
    import rasterio
    import rasterio.merge
    import rasterio.warp
    import rasterio.windows

    with ExitStack() as stack:
        srcs = [_open_checked(p, stack) for p in path_list]
        src_crs = srcs[0].crs
        for p, s in zip(path_list, srcs, strict=True):
            if s.crs != src_crs:
                raise DEMError(f"DEM tiles disagree on CRS: {path_list[0]} is {src_crs}, {p} is {s.crs}.")
        nodata = srcs[0].nodata
        src_bounds = None
        if bounds is not None:
            src_bounds = (
                rasterio.warp.transform_bounds(bounds_crs, src_crs, *bounds, densify_pts=21)
                if bounds_crs is not None
                else tuple(bounds)
            )
        try:
            if len(srcs) == 1:
                src = srcs[0]
                if window is None and src_bounds is not None:
                    window = rasterio.windows.from_bounds(*src_bounds, transform=src.transform)
                    window = window.round_offsets().round_lengths()
                    window = window.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
            itemsize = np.dtype(srcs[0].dtypes[0]).itemsize
            _require_memory(_cells_to_read(srcs, window, src_bounds), itemsize, source, max_memory_bytes)
            if len(srcs) == 1:
                transform = src.window_transform(window) if window is not None else src.transform
                flags = {flag.name for flag in src.mask_flag_enums[0]}
                if flags <= _NODATA_ONLY:  # no mask band: the nodata value says it all
                    elevation = src.read(1, window=window, out_dtype="float64")
                else:
                    elevation = np.ma.filled(
                        src.read(1, window=window, masked=True).astype(np.float64), np.nan
                    )
            else:
                arr, transform = rasterio.merge.merge(srcs, bounds=src_bounds, masked=True)
                elevation = np.ma.filled(arr[0].astype(np.float64), np.nan)
        except (rasterio.errors.RasterioIOError, rasterio.errors.WindowError) as exc:
            raise DEMError(f"DEM {source}: reading failed ({exc}).") from exc
    return elevation, transform, src_crs, nodata


def read_dem(
    paths: PathLike | Sequence[PathLike],
    *,
    crs: str | CRS | None = ANALYSIS_CRS,
    resolution_m: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    bounds_crs: str | CRS | None = None,
    window: rasterio.windows.Window | None = None,
    sea_at_or_below_m: float | None = 0.0,
    sea_mask: npt.NDArray[np.bool_] | None = None,
    resampling: str = "bilinear",
    max_memory_bytes: int | None = None,
) -> DEM:
    """Read one GeoTIFF or a mosaic of tiles into a :class:`DEM`.

    Parameters
    ----------
    paths
        One raster file or several tiles (mosaicked with :func:`rasterio.merge.merge`, first tile wins).
    crs
        CRS of the returned grid; ``None`` keeps the source grid unchanged (no resampling). The default is
        the analysis CRS (EPSG:4550, metres). A geographic target is refused because distances need metres.
    resolution_m
        Cell size of the reprojected grid in metres; default: GDAL's estimate of the source resolution.
    bounds
        (west, south, east, north) window to read, in ``bounds_crs`` (default: the source CRS).
    bounds_crs
        CRS of ``bounds``.
    window
        A pixel window of a single source file (alternative to ``bounds``).
    sea_at_or_below_m
        Cells with elevation at or below this height (metres) are sea; ``None`` disables the rule.
    sea_mask
        Boolean array on the returned grid, True at sea; combined (OR) with ``sea_at_or_below_m``.
    resampling
        rasterio resampling name for reprojection (``"bilinear"``, ``"nearest"``, ``"cubic"`` ...).
    max_memory_bytes
        Refuse a read needing more memory than this (estimated before reading, from the cells to read);
        default :func:`memory_bound_bytes`.

    Returns
    -------
    DEM
        Elevation in metres with ``nan`` for nodata.

    Raises
    ------
    DEMError
        If a file is unreadable, has no CRS, holds only nodata, a metric grid would be built on degrees, or
        the area to read would not fit in memory (the message names the DEM and how to read less).
    """
    path_list = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not path_list:
        raise InputFileError("read_dem: no DEM file given.")
    source = ", ".join(str(Path(p)) for p in path_list)
    if window is not None and len(path_list) > 1:
        raise DEMError(f"DEM {source}: a pixel window applies to one file; use bounds for a mosaic.")
    fast: tuple[npt.NDArray[np.float64], Any, Any, float | None] | None = None
    if crs is None and window is None and bounds_crs is None and len(path_list) == 1:
        fast = _read_baseline(path_list[0], bounds, source, max_memory_bytes)
    if fast is None:
        fast = _read_rasterio(path_list, source, bounds, bounds_crs, window, max_memory_bytes)
    elevation, transform, src_crs, nodata = fast
    if nodata is not None and not np.isnan(nodata):
        elevation[elevation == nodata] = np.nan
    if not np.isfinite(elevation).any():
        raise DEMError(f"DEM {source}: every cell in the requested area is nodata.")
    out_crs: Any = src_crs  # the file's rasterio CRS; pyproj loads only to compare with a target CRS
    if crs is not None:
        from pyproj import CRS

        out_crs = CRS.from_user_input(src_crs)
        if CRS.from_user_input(crs) != out_crs:
            elevation, transform, out_crs = _reproject(
                elevation, transform, out_crs, CRS.from_user_input(crs), resolution_m, resampling, source
            )
    dem = DEM(elevation, transform, out_crs, source=source)
    if crs is not None or not out_crs.is_geographic:
        dem.require_metric()  # a projected grid is always checked for degree-sized cells
    sea = np.zeros(dem.shape, dtype=bool)
    if sea_at_or_below_m is not None:
        sea |= np.isfinite(elevation) & (elevation <= sea_at_or_below_m)
    if sea_mask is not None:
        if sea_mask.shape != dem.shape:
            raise DEMError(f"DEM {source}: sea mask shape {sea_mask.shape} differs from grid {dem.shape}.")
        sea |= sea_mask.astype(bool)
    dem.sea = sea
    log.debug("read DEM %s: %s cells of %.1f m in %s", source, dem.shape, dem.cell_size_m, out_crs)
    return dem


def _reproject(
    elevation: npt.NDArray[np.float64],
    transform: Affine,
    src_crs: CRS,
    dst_crs: CRS,
    resolution_m: float | None,
    resampling: str,
    source: str,
) -> tuple[npt.NDArray[np.float64], Affine, CRS]:
    import rasterio.enums
    import rasterio.warp

    if dst_crs.is_geographic:
        raise DEMError(f"DEM {source}: target CRS {dst_crs.to_string()} is geographic; give a metric CRS.")
    rows, cols = elevation.shape
    left, top = transform @ (0, 0)
    right, bottom = transform @ (cols, rows)
    kwargs = {"resolution": resolution_m} if resolution_m else {}
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        src_crs, dst_crs, cols, rows, left=left, bottom=bottom, right=right, top=top, **kwargs
    )
    out = np.full((height, width), np.nan, dtype=np.float64)
    rasterio.warp.reproject(
        elevation,
        out,
        src_transform=transform,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs=dst_crs,
        dst_nodata=np.nan,
        resampling=rasterio.enums.Resampling[resampling],
    )
    return out, dst_transform, dst_crs


def write_raster(
    path: PathLike,
    array: npt.ArrayLike,
    dem: DEM,
    *,
    nodata: float | None,
    dtype: str = "float32",
    inputs: tuple[PathLike, ...] = (),
    tags: dict[str, str] | None = None,
    zlevel: int = 6,
) -> Path:
    """Write ``array`` on the grid of ``dem`` as a compressed GeoTIFF, atomically.

    Parameters
    ----------
    path
        Output GeoTIFF.
    array
        Values of shape ``dem.shape``; ``nan`` is written as ``nodata``. An integer array already of type
        ``dtype`` is written without conversion (its nodata cells must hold ``nodata``).
    dem
        Grid (transform and CRS) of the output.
    nodata
        Nodata value stored in the file.
    dtype
        Output data type, e.g. ``"uint8"`` or ``"float32"``.
    inputs
        Input files of the run; writing onto one of them is refused.
    tags
        Metadata tags written into the file (e.g. what a value means).
    zlevel
        Deflate level, 1 (fastest) to 9 (smallest); a 0/1 mask is barely larger at 1 in half the time.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    arr = np.asarray(array)
    if arr.shape != dem.shape:
        raise ValueError(f"array shape {arr.shape} differs from the DEM grid {dem.shape}")
    if (
        arr.dtype != np.dtype(dtype) or arr.dtype.kind == "f"
    ):  # an integer array of the output type goes as is
        arr = np.asarray(arr, dtype=np.float64)
        if nodata is not None:
            arr = np.where(np.isnan(arr), nodata, arr)
        arr = arr.astype(dtype)
    if isinstance(dem._crs_light, GeoTIFFCRS) and arr.dtype.name in _BASELINE_DTYPES:
        with atomic_path(path, inputs=inputs) as tmp:  # the DEM came from a baseline GeoTIFF: no rasterio
            write_geotiff(
                tmp,
                arr,
                transform=dem.coefficients,
                crs=dem._crs_light,
                nodata=nodata,
                tags=tags,
                zlevel=zlevel,
            )
        return Path(path)
    import rasterio

    profile = {
        "driver": "GTiff",
        "height": dem.shape[0],
        "width": dem.shape[1],
        "count": 1,
        "dtype": dtype,
        "crs": dem._crs_light,
        "transform": dem.transform,
        "nodata": nodata,
        "compress": "deflate",
        "zlevel": zlevel,
    }
    with atomic_path(path, inputs=inputs) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(arr, 1)
        if tags:
            dst.update_tags(**tags)
    return Path(path)


def burn_buildings(dem: DEM, buildings: gpd.GeoDataFrame, *, height_field: str) -> DEM:
    """Return a surface model: the DEM with building heights (metres above ground) added under footprints.

    Parameters
    ----------
    dem
        Bare-earth DEM.
    buildings
        Footprint polygons in any CRS (reprojected to the DEM's CRS).
    height_field
        Column holding the building height above ground in metres.

    Returns
    -------
    DEM
        A copy whose elevation is ground plus the tallest building covering each cell centre.
    """
    if height_field not in buildings.columns:
        raise LayerError(f"buildings: field {height_field!r} missing; columns are {list(buildings.columns)}.")
    if buildings.crs is None:
        raise LayerError("buildings: layer has no CRS.")
    heights = buildings[height_field].astype(float)
    bad = buildings.index[~np.isfinite(heights) | (heights < 0)]
    if len(bad):
        raise LayerError(
            f"buildings: field {height_field!r} must be a height >= 0 m; bad in {len(bad)} rows "
            f"(index {list(bad[:5])})."
        )
    geoms = buildings.to_crs(dem.crs).geometry
    order = np.argsort(heights.to_numpy())  # taller last, so it wins where footprints overlap
    shapes = [(geoms.iloc[i], float(heights.iloc[i])) for i in order if geoms.iloc[i] is not None]
    added = np.zeros(dem.shape, dtype=np.float64)
    if shapes:
        import rasterio.features

        added = rasterio.features.rasterize(
            shapes, out_shape=dem.shape, transform=dem.transform, fill=0.0, dtype="float64"
        )
    return DEM(dem.elevation + added, dem.transform, dem.crs, sea=dem.sea & (added == 0), source=dem.source)
