"""Raster results (viewsheds, height-control surfaces) as an image overlay embedded in the map.

The GeoTIFF is reprojected to Web Mercator (the map's projection, so the image lines up without stretching),
reduced to at most ``max_size_px`` on its longer side, coloured and embedded as a PNG data URI — no tile
server and no extra file.
"""

from __future__ import annotations

import base64
import os
import struct
import zlib

import folium
import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.warp import Resampling, calculate_default_transform, reproject

from weihai_gis.errors import DEMError
from weihai_gis.files import require_input_file
from weihai_gis.maps.legend import LegendItem, LegendSection

__all__ = ["RASTER_COLORS", "add_raster", "png_rgba"]

_MERCATOR = "EPSG:3857"
#: Colours of the 5 quantile classes of a continuous raster (low -> high) and of visible cells of a viewshed.
RASTER_COLORS = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
_VISIBLE = (255, 200, 0)


def png_rgba(rgba: np.ndarray) -> bytes:
    """Encode an ``(rows, cols, 4)`` uint8 array as a PNG file (no third-party imaging library).

    Parameters
    ----------
    rgba
        Red, green, blue, alpha per pixel.

    Returns
    -------
    bytes
        PNG file content.
    """
    rows, cols, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[r].astype(np.uint8).tobytes() for r in range(rows))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", cols, rows, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _read_mercator(path: str | os.PathLike[str], max_size_px: int) -> tuple[np.ndarray, list[list[float]]]:
    """Return band 1 in Web Mercator (nodata -> NaN) and its Leaflet bounds [[s, w], [n, e]]."""
    src_path = require_input_file(path, what="raster")
    with rasterio.open(src_path) as src:
        if src.crs is None:
            raise DEMError(f"raster {src_path}: no CRS; cannot place it on the map.")
        transform, width, height = calculate_default_transform(
            src.crs, _MERCATOR, src.width, src.height, *src.bounds
        )
        scale = max(width, height) / max_size_px
        if scale > 1:
            width, height = max(1, int(width / scale)), max(1, int(height / scale))
            transform = transform @ Affine.scale(scale, scale)
        data = np.full((height, width), np.nan, dtype=np.float64)
        band = src.read(1).astype(np.float64)
        if src.nodata is not None:
            band[band == src.nodata] = np.nan
        reproject(band, data, src_transform=src.transform, src_crs=src.crs, dst_transform=transform,
                  dst_crs=_MERCATOR, src_nodata=np.nan, dst_nodata=np.nan, resampling=Resampling.nearest)  # fmt: skip
    west, north = transform @ (0, 0)
    east, south = transform @ (width, height)
    to_ll = Transformer.from_crs(_MERCATOR, "EPSG:4326", always_xy=True)
    (w, e), (s, n) = to_ll.transform([west, east], [south, north])
    return data, [[float(s), float(w)], [float(n), float(e)]]


def add_raster(
    m: folium.Map,
    path: str | os.PathLike[str],
    *,
    name: str,
    kind: str = "continuous",
    unit: str = "米 / m",
    max_size_px: int = 1024,
    opacity: float = 0.6,
) -> LegendSection:
    """Overlay band 1 of a GeoTIFF: a viewshed (``kind="binary"``) or a surface such as height limits.

    Parameters
    ----------
    m
        The map.
    path
        GeoTIFF with a CRS (nodata cells are transparent).
    name
        Layer-control title (Chinese first).
    kind
        ``"binary"``: cells > 0 drawn as visible (yellow); ``"continuous"``: 5 quantile classes (equal
        intervals when quantiles coincide).
    unit
        Unit of the values for the legend (continuous only).
    max_size_px
        Longest side of the embedded image in pixels (larger rasters are resampled, nearest neighbour).
    opacity
        Overlay opacity 0..1.

    Returns
    -------
    LegendSection
        Legend entry (class limits for continuous rasters).

    Raises
    ------
    InputFileError
        If the file is missing.
    DEMError
        If the raster has no CRS or only nodata.
    """
    data, bounds = _read_mercator(path, max_size_px)
    valid = np.isfinite(data)
    if not valid.any():
        raise DEMError(f"raster {path}: only nodata cells; nothing to draw.")
    rgba = np.zeros((*data.shape, 4), dtype=np.uint8)
    if kind == "binary":
        on = valid & (data > 0)
        rgba[on, :3] = _VISIBLE
        rgba[on, 3] = 255
        items = [LegendItem("可见 / visible", "#ffc800")]
    elif kind == "continuous":
        edges = np.nanquantile(data[valid], np.linspace(0, 1, len(RASTER_COLORS) + 1))
        if len(np.unique(edges)) < len(edges):  # many equal values (e.g. sea at 0 m): equal intervals instead
            edges = np.linspace(edges[0], edges[-1], len(RASTER_COLORS) + 1)
        cls = np.clip(np.searchsorted(edges[1:-1], data, side="right"), 0, len(RASTER_COLORS) - 1)
        palette = np.array([_hex_rgb(c) for c in RASTER_COLORS], dtype=np.uint8)
        rgba[..., :3] = palette[cls]
        rgba[..., 3] = np.where(valid, 255, 0)
        items = [
            LegendItem(f"{edges[i]:.0f}–{edges[i + 1]:.0f} {unit}", c) for i, c in enumerate(RASTER_COLORS)
        ]
    else:
        raise ValueError(f"`kind` must be 'binary' or 'continuous', got {kind!r}.")
    uri = "data:image/png;base64," + base64.b64encode(png_rgba(rgba)).decode("ascii")
    group = folium.FeatureGroup(name=name)
    folium.raster_layers.ImageOverlay(image=uri, bounds=bounds, opacity=opacity, interactive=False).add_to(
        group
    )
    group.add_to(m)
    return LegendSection(title=name, items=tuple(items), note="栅格叠加 / raster overlay")
