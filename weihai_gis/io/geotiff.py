"""Baseline single-band GeoTIFF in numpy: read a DEM and write a result on its grid without rasterio.

Importing rasterio (GDAL, its drivers, attrs, affine) costs about 0.1-0.15 s of CPU, as much as the whole
``gdal_viewshed`` run the ``weihai-gis sightlines viewshed`` command is measured against (issue 11). This module
reads the GeoTIFFs such a command is usually given and writes its output, with ``struct``, ``zlib`` and numpy:

* reading: little-endian classic TIFF (not BigTIFF), one image (no overviews, masks or further pages), one
  sample per pixel of uint8, uint16, int16, uint32, int32, float32 or float64, in strips or tiles, uncompressed
  or deflate, predictor 1, 2 or 3, georeferenced by a pixel scale and one tie point or a model transformation
  with a GeoKey directory (pixel-is-area), nodata in the GDAL_NODATA tag, and no ``.aux.xml`` / ``.msk``
  sidecar that GDAL would also read;
* writing: the same kind of file (strips, deflate, no predictor) on a given grid, the CRS's GeoKeys copied from
  the file read, nodata and dataset tags as GDAL writes them.

Anything else (LZW, JPEG, multiband, overviews, BigTIFF, masks, big-endian ...) makes :func:`open_geotiff`
return None and the caller reads with rasterio (:func:`weihai_gis.sightlines.read_dem` does). tests/test_geotiff.py
checks reads and writes against rasterio on files rasterio writes.
"""

from __future__ import annotations

import logging
import math
import mmap
import os
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from weihai_gis import geotransform
from weihai_gis.io.epsg import semi_major_axis_m

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["GeoTIFF", "GeoTIFFCRS", "open_geotiff", "window_from_bounds", "write_geotiff"]

log = logging.getLogger(__name__)

# TIFF tags (TIFF 6.0, GeoTIFF 1.1, GDAL)
_WIDTH, _HEIGHT, _BITS, _COMPRESSION, _PHOTOMETRIC = 256, 257, 258, 259, 262
_STRIP_OFFSETS, _SAMPLES, _ROWS_PER_STRIP, _STRIP_COUNTS, _PLANAR = 273, 277, 278, 279, 284
_SUBFILE, _FILL_ORDER, _PREDICTOR, _EXTRA_SAMPLES, _SAMPLE_FORMAT = 254, 266, 317, 338, 339
_TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_COUNTS, _SUB_IFDS = 322, 323, 324, 325, 330
_PIXEL_SCALE, _TIEPOINT, _MODEL_TRANSFORM = 33550, 33922, 34264
_GEOKEYS, _GEO_DOUBLES, _GEO_ASCII = 34735, 34736, 34737
_GDAL_METADATA, _GDAL_NODATA = 42112, 42113
_DEFLATE = (8, 32946)

_TYPES = {1: "B", 2: "s", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i", 10: "ii", 11: "f", 12: "d"}
_DTYPES = {
    (1, 8): "u1",
    (1, 16): "u2",
    (2, 16): "i2",
    (1, 32): "u4",
    (2, 32): "i4",
    (3, 32): "f4",
    (3, 64): "f8",
}
"""(SampleFormat, BitsPerSample) -> numpy dtype of the data types read and written here."""

_GT_MODEL_TYPE, _GT_RASTER_TYPE, _PIXEL_IS_POINT = 1024, 1025, 2
_PROJECTED_CODE, _GEOGRAPHIC_CODE, _DATUM_CODE, _ELLIPSOID_CODE = 3072, 2048, 2050, 2056
_GEOG_LINEAR_UNITS, _SEMI_MAJOR, _METRE = 2052, 2057, 9001
_CODED = range(1, 32767)
"""Key values that are EPSG codes (0 means undefined, 32767 user-defined)."""


class _UnsupportedError(ValueError):
    """The file is not the baseline GeoTIFF read here (the reason goes to the debug log)."""


@dataclass(frozen=True, eq=False)
class GeoTIFFCRS:
    """The CRS of a GeoTIFF as its GeoKeys say it, without parsing it (no pyproj, no GDAL).

    It answers what a viewshed asks (geographic or not, the ellipsoid's semi-major axis) and carries the
    GeoKey tags, so a result written on the same grid has the same CRS. :meth:`to_wkt` (any other use of
    the CRS) asks rasterio to read the file's CRS.

    Attributes
    ----------
    path
        The GeoTIFF the keys come from.
    keys
        GeoKey id -> value (an int, a float or a str).
    tags
        The raw GeoKeyDirectory, GeoDoubleParams and GeoAsciiParams tags: tag -> (TIFF type, values).
    """

    path: Path
    keys: Mapping[int, Any]
    tags: Mapping[int, tuple[int, tuple[Any, ...] | bytes]]

    @property
    def is_geographic(self) -> bool:
        """True for a latitude/longitude CRS (GTModelTypeGeoKey 2)."""
        return self.keys.get(_GT_MODEL_TYPE) == 2

    @property
    def epsg(self) -> int | None:
        """The EPSG code of the projected (or, without one, geographic) CRS, if the keys give one."""
        for key in (_PROJECTED_CODE, _GEOGRAPHIC_CODE):
            if self.keys.get(key) in _CODED:
                return int(self.keys[key])
        return None

    @cached_property
    def semi_major_m(self) -> float | None:
        """Semi-major axis of the CRS's ellipsoid in metres (PROJ's database), None when not known here."""
        keys = self.keys
        if keys.get(_PROJECTED_CODE) in _CODED:
            return semi_major_axis_m("projected_crs", keys[_PROJECTED_CODE])
        for key, table in (  # a user-defined projection or a geographic CRS: its datum, as GDAL reads it
            (_GEOGRAPHIC_CODE, "geodetic_crs"),
            (_DATUM_CODE, "geodetic_datum"),
            (_ELLIPSOID_CODE, "ellipsoid"),
        ):
            if keys.get(key) in _CODED:
                return semi_major_axis_m(table, keys[key])
        if isinstance(keys.get(_SEMI_MAJOR), float) and keys.get(_GEOG_LINEAR_UNITS, _METRE) == _METRE:
            return float(keys[_SEMI_MAJOR])
        return None

    def to_wkt(self) -> str:
        """Return the CRS as WKT, as GDAL reads it from the file (imports rasterio)."""
        import rasterio

        with rasterio.open(self.path) as src:
            return str(src.crs.to_wkt())

    def to_string(self) -> str:
        """``EPSG:code`` when the keys give one, else the WKT."""
        return f"EPSG:{self.epsg}" if self.epsg is not None else self.to_wkt()


def _entries(buf: Any, offset: int) -> tuple[dict[int, tuple[int, Any]], int]:
    """Parse the IFD at ``offset``: tag -> (type, values), and the next IFD's offset."""
    (n,) = struct.unpack_from("<H", buf, offset)
    tags: dict[int, tuple[int, Any]] = {}
    for i in range(n):
        tag, typ, count, inline = struct.unpack_from("<HHI4s", buf, offset + 2 + 12 * i)
        if typ not in _TYPES:
            raise _UnsupportedError(f"tag {tag} has TIFF type {typ}")
        fmt = _TYPES[typ]
        size = struct.calcsize("<" + fmt) * count
        data = inline[:size] if size <= 4 else buf[struct.unpack("<I", inline)[0] :][:size]
        if len(data) < size:
            raise _UnsupportedError(f"tag {tag} runs past the end of the file")
        if typ == 2:
            tags[tag] = (typ, bytes(data))
        elif tag in (_STRIP_OFFSETS, _STRIP_COUNTS, _TILE_OFFSETS, _TILE_COUNTS) and typ in (3, 4):
            tags[tag] = (typ, np.frombuffer(data, dtype="<u2" if typ == 3 else "<u4").astype(np.int64))
        else:
            tags[tag] = (typ, struct.unpack("<" + fmt * count, data))
    (nxt,) = struct.unpack_from("<I", buf, offset + 2 + 12 * n)
    return tags, nxt


def _one(tags: dict[int, tuple[int, Any]], tag: int, default: int | None = None) -> int:
    if tag not in tags:
        if default is None:
            raise _UnsupportedError(f"tag {tag} is missing")
        return default
    values = tags[tag][1]
    if len(values) != 1 and tag not in (_BITS, _SAMPLE_FORMAT):
        raise _UnsupportedError(f"tag {tag} has {len(values)} values")
    return int(values[0])


def _geokeys(tags: dict[int, tuple[int, Any]]) -> dict[int, Any]:
    """GeoKey id -> value from the GeoKeyDirectory (shorts inline, doubles and ASCII from their tags)."""
    directory = tags[_GEOKEYS][1]
    doubles = tags.get(_GEO_DOUBLES, (12, ()))[1]
    ascii_ = tags.get(_GEO_ASCII, (2, b""))[1]
    keys: dict[int, Any] = {}
    for i in range(1, int(directory[3]) + 1):
        key, where, count, value = directory[4 * i : 4 * i + 4]
        if where == 0:
            keys[key] = int(value)
        elif where == _GEO_DOUBLES:
            keys[key] = float(doubles[value]) if count == 1 else tuple(doubles[value : value + count])
        elif where == _GEO_ASCII:
            keys[key] = ascii_[value : value + count].decode("latin-1").rstrip("|\0")
        else:
            raise _UnsupportedError(f"GeoKey {key} is stored in tag {where}")
    return keys


def _transform(tags: dict[int, tuple[int, Any]]) -> geotransform.Coefficients:
    if _MODEL_TRANSFORM in tags:
        m = tags[_MODEL_TRANSFORM][1]
        if len(m) != 16:
            raise _UnsupportedError("ModelTransformationTag without 16 values")
        return geotransform.coefficients((m[0], m[1], m[3], m[4], m[5], m[7]))
    if _PIXEL_SCALE not in tags or _TIEPOINT not in tags or len(tags[_TIEPOINT][1]) != 6:
        raise _UnsupportedError("no pixel scale with one tie point (ground control points or a world file)")
    sx, sy = tags[_PIXEL_SCALE][1][:2]
    i, j, _, x, y, _ = tags[_TIEPOINT][1]
    return geotransform.coefficients((sx, 0.0, x - i * sx, 0.0, -sy, y + j * sy))


class GeoTIFF:
    """A baseline single-band GeoTIFF opened for reading (see the module's docstring); a context manager.

    Attributes
    ----------
    path, width, height, dtype, nodata, coefficients, crs
        The file, its size in pixels, numpy data type, nodata value (None when the file has none), the six
        coefficients of its affine transform (cell corners; :attr:`transform` is the ``Affine``) and
        :class:`GeoTIFFCRS`.
    """

    def __init__(self, path: Path, buf: mmap.mmap) -> None:
        self.path = path
        self._buf = buf
        if buf[:4] != b"II*\0":
            raise _UnsupportedError("not a little-endian classic TIFF (big-endian, BigTIFF or no TIFF)")
        tags, nxt = _entries(buf, struct.unpack_from("<I", buf, 4)[0])
        if nxt != 0 or _SUB_IFDS in tags:
            raise _UnsupportedError("more than one image (overviews, a mask or pages)")
        if _one(tags, _SUBFILE, 0) != 0 or _one(tags, _SAMPLES, 1) != 1 or _EXTRA_SAMPLES in tags:
            raise _UnsupportedError("not one full-resolution band")
        if _one(tags, _FILL_ORDER, 1) != 1:
            raise _UnsupportedError("FillOrder 2")
        key = (_one(tags, _SAMPLE_FORMAT, 1), _one(tags, _BITS, 1))
        if key not in _DTYPES:
            raise _UnsupportedError(f"SampleFormat/BitsPerSample {key}")
        self.dtype = np.dtype("<" + _DTYPES[key])
        self.compression = _one(tags, _COMPRESSION, 1)
        self.predictor = _one(tags, _PREDICTOR, 1)
        if self.compression not in (1, *_DEFLATE):
            raise _UnsupportedError(f"compression {self.compression}")
        if self.predictor not in (1, 2, 3) or (self.predictor == 3 and self.dtype.kind != "f"):
            raise _UnsupportedError(f"predictor {self.predictor} on {self.dtype}")
        self.width, self.height = _one(tags, _WIDTH), _one(tags, _HEIGHT)
        self.tiled = _TILE_OFFSETS in tags
        if self.tiled:
            self.block = (_one(tags, _TILE_LENGTH), _one(tags, _TILE_WIDTH))
            offsets, counts = tags[_TILE_OFFSETS][1], tags[_TILE_COUNTS][1]
        else:
            self.block = (min(_one(tags, _ROWS_PER_STRIP, 2**32 - 1), self.height), self.width)
            offsets, counts = tags[_STRIP_OFFSETS][1], tags[_STRIP_COUNTS][1]
        self._across = -(-self.width // self.block[1])
        if len(offsets) != len(counts) or len(offsets) != self._across * -(-self.height // self.block[0]):
            raise _UnsupportedError("block offsets and counts disagree with the image size")
        if not counts.all():
            raise _UnsupportedError("sparse blocks (GDAL's SPARSE_OK)")
        self._offsets, self._counts = offsets, counts
        if _GEOKEYS not in tags:
            raise _UnsupportedError("no GeoKey directory (no CRS)")
        keys = _geokeys(tags)
        if keys.get(_GT_RASTER_TYPE) == _PIXEL_IS_POINT:
            raise _UnsupportedError("pixel-is-point")
        geo = {t: tags[t] for t in (_GEOKEYS, _GEO_DOUBLES, _GEO_ASCII) if t in tags}
        self.crs = GeoTIFFCRS(path, keys, geo)
        self.coefficients = _transform(tags)
        self.nodata: float | None = None
        if _GDAL_NODATA in tags:
            self.nodata = float(tags[_GDAL_NODATA][1].rstrip(b"\0").decode("ascii").strip())

    @property
    def transform(self) -> Affine:
        """The affine transform (imports ``affine``; :attr:`coefficients` does not)."""
        return geotransform.to_affine(self.coefficients)

    def __enter__(self) -> GeoTIFF:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file."""
        self._buf.close()

    def _bytes(self, index: int, rows: int, cols: int) -> bytes:
        """Return the decompressed bytes of block ``index`` (a strip or a tile of ``rows`` x ``cols``)."""
        offset, count = int(self._offsets[index]), int(self._counts[index])
        n = rows * cols * self.dtype.itemsize
        raw = self._buf[offset : offset + count]
        data = zlib.decompress(raw) if self.compression != 1 else raw
        if len(data) < n:
            raise _UnsupportedError(f"block {index} holds {len(data)} bytes, {n} expected")
        return data[:n] if len(data) > n else data

    def _decode(self, data: bytes, rows: int, cols: int) -> npt.NDArray[Any]:
        """Undo the predictor on ``rows`` rows of ``cols`` values (rows of a strip, a tile or several strips)."""
        n = rows * cols * self.dtype.itemsize
        if self.predictor == 3:  # byte planes (most significant first), each differenced along the row
            diffs = np.frombuffer(data, dtype=np.uint8, count=n).reshape(rows, n // rows)
            planes = np.cumsum(diffs, axis=1, dtype=np.uint8).reshape(rows, self.dtype.itemsize, cols)
            values = np.ascontiguousarray(planes.transpose(0, 2, 1))  # (rows, cols, bytes), big-endian
            return values.view(self.dtype.newbyteorder(">"))[..., 0]
        a = np.frombuffer(data, dtype=self.dtype, count=rows * cols).reshape(rows, cols)
        if self.predictor == 2:  # horizontal differencing of the values' bit patterns, modulo 2**bits
            bits = np.dtype(f"<u{self.dtype.itemsize}")
            a = np.cumsum(a.view(bits), axis=1, dtype=bits).view(self.dtype)
        return a

    def _block(self, index: int, rows: int, cols: int) -> npt.NDArray[Any]:
        return self._decode(self._bytes(index, rows, cols), rows, cols)

    def read(
        self, window: tuple[int, int, int, int] | None = None, dtype: npt.DTypeLike | None = None
    ) -> npt.NDArray[Any]:
        """Return the band (or the window ``(row_off, col_off, height, width)``) as a new array.

        Parameters
        ----------
        window
            ``(row_off, col_off, height, width)`` in pixels, inside the image; None for the whole band.
        dtype
            Data type of the result (one conversion, e.g. float64 for a DEM); default the file's.
        """
        out_dtype = self.dtype.newbyteorder("=") if dtype is None else np.dtype(dtype)
        r0, c0, h, w = (0, 0, self.height, self.width) if window is None else window
        bh, bw = self.block
        if not self.tiled:  # the strips' bytes joined, decoded at once (per-strip numpy calls cost more)
            first, last = r0 // bh, -(-(r0 + h) // bh)
            rows = [min(bh, self.height - i * bh) for i in range(first, last)]
            data = b"".join(
                self._bytes(i, n, self.width) for i, n in zip(range(first, last), rows, strict=True)
            )
            a = self._decode(data, sum(rows), self.width)[r0 - first * bh :][:h, c0 : c0 + w]
            return a.astype(out_dtype)  # a copy: writeable, native byte order
        out = np.empty((h, w), dtype=out_dtype)
        for br in range(r0 // bh, -(-(r0 + h) // bh)):
            for bc in range(c0 // bw, -(-(c0 + w) // bw)):
                block = self._block(br * self._across + bc, bh, bw)
                top, left = br * bh, bc * bw
                y0, y1 = max(r0, top), min(r0 + h, top + block.shape[0])
                x0, x1 = max(c0, left), min(c0 + w, left + bw)
                out[y0 - r0 : y1 - r0, x0 - c0 : x1 - c0] = block[y0 - top : y1 - top, x0 - left : x1 - left]
        return out


def _sidecars(path: Path) -> list[Path]:
    """Files beside ``path`` that GDAL would read with it (statistics, nodata or CRS overrides, a mask)."""
    return [p for p in (Path(f"{path}.aux.xml"), Path(f"{path}.msk")) if p.exists()]


def open_geotiff(path: str | os.PathLike[str]) -> GeoTIFF | None:
    """Open ``path`` as a baseline GeoTIFF, or return None when rasterio must read it (the reason is logged).

    Raises
    ------
    OSError
        The file cannot be opened.
    """
    p = Path(path)
    if p.suffix.lower() not in (".tif", ".tiff") or _sidecars(p):
        log.debug("%s: read with rasterio (not a .tif, or GDAL sidecar files)", p)
        return None
    with p.open("rb") as f:
        try:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file
            return None
    try:
        return GeoTIFF(p, buf)
    except (_UnsupportedError, struct.error, zlib.error, ValueError, IndexError, KeyError) as exc:
        buf.close()
        log.debug("%s: read with rasterio (%s)", p, exc)
        return None


def window_from_bounds(
    transform: Iterable[float], bounds: tuple[float, float, float, float], width: int, height: int
) -> tuple[int, int, int, int] | None:
    """Return the pixel window ``(row_off, col_off, height, width)`` of ``bounds`` in the image, or None.

    The same window as rasterio's ``from_bounds(...).round_offsets().round_lengths().intersection(...)``
    (tests/test_geotiff.py checks it): offsets floored after adding 0.1, lengths rounded half up.
    ``transform`` is an ``Affine`` or its six coefficients.
    """
    left, bottom, right, top = bounds
    inverse = geotransform.invert(geotransform.coefficients(transform))
    inv = np.array([*inverse, 0.0, 0.0, 1.0], dtype=np.float64).reshape(3, 3)
    corners = np.array([[left, right, right, left], [top, top, bottom, bottom], [1.0, 1.0, 1.0, 1.0]])
    cols, rows = inv.dot(corners)[:2]
    row_off, col_off = float(rows.min()), float(cols.min())
    h, w = max(float(rows.max()) - row_off, 0.0), max(float(cols.max()) - col_off, 0.0)
    r0, c0 = math.floor(row_off + 0.1), math.floor(col_off + 0.1)
    r1, c1 = r0 + math.floor(h + 0.5), c0 + math.floor(w + 0.5)
    r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, height), min(c1, width)
    if r1 <= r0 or c1 <= c0:
        return None
    return r0, c0, r1 - r0, c1 - c0


def _escape(text: str) -> str:
    """XML-escape text (xml.sax.saxutils would import urllib and http: ~30 ms of start-up)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _metadata_xml(tags: Mapping[str, str]) -> bytes:
    # as GDAL writes them: a value is XML-escaped, then escaped again as the element's text
    items = "".join(f'  <Item name="{_escape(k)}">{_escape(_escape(v))}</Item>\n' for k, v in tags.items())
    return f"<GDALMetadata>\n{items}</GDALMetadata>\n".encode()


def write_geotiff(
    path: str | os.PathLike[str],
    array: npt.NDArray[Any],
    *,
    transform: Iterable[float],
    crs: GeoTIFFCRS,
    nodata: float | None,
    tags: Mapping[str, str] | None = None,
    zlevel: int = 6,
) -> Path:
    """Write a single-band deflate GeoTIFF (strips) that GDAL reads as rasterio would have written it.

    Parameters
    ----------
    path
        The file to create (the caller makes the write atomic).
    array
        2-D array of one of the data types read here.
    transform
        Affine transform of the grid (cell corners): an ``Affine`` or its six coefficients.
    crs
        The CRS, as read from a GeoTIFF: its GeoKey tags are written unchanged.
    nodata
        Nodata value (GDAL_NODATA tag), None for none.
    tags
        Dataset metadata (GDAL_METADATA tag), e.g. what the values mean.
    zlevel
        Deflate level, 1-9.
    """
    arr = np.ascontiguousarray(array, dtype=np.asarray(array).dtype.newbyteorder("<"))
    code = {v: k for k, v in _DTYPES.items()}.get(arr.dtype.str[1:])
    if arr.ndim != 2 or code is None:
        raise ValueError(
            f"write_geotiff: a 2-D array of {sorted(_DTYPES.values())} is needed, not {arr.dtype}"
        )
    height, width = arr.shape
    rows_per_strip = max(1, min(height, (1 << 16) // max(width * arr.dtype.itemsize, 1)))
    strips = [
        zlib.compress(arr[r : r + rows_per_strip].tobytes(), zlevel) for r in range(0, height, rows_per_strip)
    ]
    entries: dict[int, tuple[int, tuple[Any, ...] | bytes]] = {
        _WIDTH: (4, (width,)),
        _HEIGHT: (4, (height,)),
        _BITS: (3, (code[1],)),
        _COMPRESSION: (3, (8,)),
        _PHOTOMETRIC: (3, (1,)),
        _STRIP_OFFSETS: (4, (0,) * len(strips)),  # filled in below
        _SAMPLES: (3, (1,)),
        _ROWS_PER_STRIP: (4, (rows_per_strip,)),
        _STRIP_COUNTS: (4, tuple(len(s) for s in strips)),
        _PLANAR: (3, (1,)),
        _SAMPLE_FORMAT: (3, (code[0],)),
    }
    a, b, c, d, e, f = geotransform.coefficients(transform)
    if b == 0 and d == 0:
        entries[_PIXEL_SCALE] = (12, (a, -e, 0.0))
        entries[_TIEPOINT] = (12, (0.0, 0.0, 0.0, c, f, 0.0))
    else:
        entries[_MODEL_TRANSFORM] = (12, (a, b, 0.0, c, d, e, 0.0, f, 0, 0, 0, 0, 0, 0, 0, 1.0))
    entries.update(crs.tags)
    if tags:
        entries[_GDAL_METADATA] = (2, _metadata_xml(tags) + b"\0")
    if nodata is not None:
        text = "nan" if math.isnan(nodata) else repr(float(nodata)).removesuffix(".0")
        entries[_GDAL_NODATA] = (2, text.encode("ascii") + b"\0")
    data_offset = 8
    offsets, pos = [], data_offset
    for s in strips:
        offsets.append(pos)
        pos += len(s) + (len(s) & 1)  # word-aligned, as TIFF recommends
    entries[_STRIP_OFFSETS] = (4, tuple(offsets))
    ifd_offset = pos
    extra_offset = ifd_offset + 2 + 12 * len(entries) + 4
    ifd, extra = [struct.pack("<H", len(entries))], []
    for tag in sorted(entries):
        typ, values = entries[tag]
        payload = (
            values if isinstance(values, bytes) else struct.pack(f"<{len(values)}{_TYPES[typ]}", *values)
        )
        count = len(values)
        if len(payload) <= 4:
            ifd.append(struct.pack("<HHI", tag, typ, count) + payload.ljust(4, b"\0"))
        else:
            ifd.append(struct.pack("<HHII", tag, typ, count, extra_offset))
            extra.append(payload + b"\0" * (len(payload) & 1))
            extra_offset += len(extra[-1])
    ifd.append(struct.pack("<I", 0))
    with Path(path).open("wb") as out:
        out.write(b"II*\0" + struct.pack("<I", ifd_offset))
        for s in strips:
            out.write(s + b"\0" * (len(s) & 1))
        out.write(b"".join(ifd) + b"".join(extra))
    return Path(path)
