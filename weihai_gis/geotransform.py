"""Affine geotransforms as six floats ``(a, b, c, d, e, f)``, with the arithmetic of the ``affine`` package.

``x = a * col + b * row + c`` and ``y = d * col + e * row + f`` for the cell corner at (col, row), as in
:class:`affine.Affine` (rasterio's transforms). Importing ``affine`` (and the ``attrs`` it builds on) takes
~20 ms, a tenth of a whole ``gdal_viewshed`` run; the viewshed command reads, sweeps and writes with these
functions and builds an :class:`~affine.Affine` only when something asks for one (``DEM.transform``). Each
function evaluates the same expressions in the same order as ``affine`` 3, so the results are equal bit for bit
(tests/test_geotiff.py checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["Coefficients", "apply", "coefficients", "invert", "to_affine"]

Coefficients = tuple[float, float, float, float, float, float]


def coefficients(transform: Iterable[float]) -> Coefficients:
    """Return the first six members of an :class:`~affine.Affine` (or of any sequence of six or nine) as floats."""
    a, b, c, d, e, f = tuple(transform)[:6]
    return float(a), float(b), float(c), float(d), float(e), float(f)


def apply(t: Coefficients, x: float, y: float) -> tuple[float, float]:
    """Return ``Affine(*t) @ (x, y)``."""
    a, b, c, d, e, f = t
    return x * a + y * b + c, x * d + y * e + f


def invert(t: Coefficients) -> Coefficients:
    """Return the coefficients of ``~Affine(*t)``.

    Raises
    ------
    ZeroDivisionError
        The transform is degenerate (determinant 0).
    """
    a, b, c, d, e, f = t
    idet = 1.0 / (a * e - b * d)
    ra, rb, rd, re = e * idet, -b * idet, -d * idet, a * idet
    return ra, rb, -c * ra - f * rb, rd, re, -c * rd - f * re


def to_affine(t: Coefficients) -> Affine:
    """Return ``Affine(*t)`` (imports ``affine``)."""
    from affine import Affine

    return Affine(*t)
