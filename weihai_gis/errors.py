"""Exception hierarchy of weihai_gis.

Every error the toolkit raises for bad input derives from :class:`WeihaiGISError`, so a notebook can catch
them all, and also from the matching standard exception (``ValueError``, ``FileNotFoundError`` ...), so
generic handlers keep working. Messages name the file, the layer, the field and what was expected.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "CRSMismatchError",
    "CoordinateOffsetError",
    "DEMError",
    "InputFileError",
    "LayerError",
    "NetworkError",
    "OutputError",
    "StandardsError",
    "WeihaiGISError",
]


class WeihaiGISError(Exception):
    """Base class of every error raised by weihai_gis for bad input or a failed analysis."""


class InputFileError(ValueError, WeihaiGISError):
    """A file is missing, unreadable, truncated or not of the expected format."""


class LayerError(ValueError, WeihaiGISError):
    """A layer breaks its schema: fields, types, categories, geometry, ids or counts."""


class CRSError(ValueError, WeihaiGISError):
    """A layer or raster has no CRS, or one that cannot be used for the operation."""


class CRSMismatchError(CRSError):
    """Two inputs that must share a CRS do not."""


class CoordinateOffsetError(CRSError):
    """Coordinates look shifted by a Chinese obfuscation datum (GCJ-02 or BD-09) but are declared WGS84."""


class NetworkError(ValueError, WeihaiGISError):
    """A walking network is empty, disconnected beyond use, or cannot be built from the input."""


class StandardsError(ValueError, WeihaiGISError):
    """A life-circle profile or rule file is malformed or names an unknown category."""


class DEMError(ValueError, WeihaiGISError):
    """A DEM raster is unusable: no CRS, all nodata, geographic degrees used as metres, ..."""


class OutputError(OSError, WeihaiGISError):
    """An output cannot be written: the disk is full or the folder is read-only or forbidden."""
