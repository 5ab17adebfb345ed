"""The one classification of coverage rates, used by the maps and by the report.

Five equal 20 % classes from red (poor) to green (good), grey for no value, and the share below which a unit
is a planning gap (短板). A rate of exactly 1.0 falls into the top class.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "GAP_THRESHOLD",
    "NO_DATA_COLOR",
    "RATE_BREAKS",
    "RATE_COLORS",
    "class_labels",
    "rate_class",
    "rate_color",
]

#: Class breaks of coverage shares (0..1).
RATE_BREAKS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: One colour per class, red (poor) to green (good) (ColorBrewer RdYlGn, 5 classes).
RATE_COLORS: tuple[str, ...] = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
#: Colour of a missing rate (no population, or category not assessed).
NO_DATA_COLOR = "#cccccc"
#: Units whose rate is strictly below this share are outlined as gaps (短板单元).
GAP_THRESHOLD = 0.6


def rate_class(rate: float | None) -> int | None:
    """Return the class index 0..4 of a coverage share (0-20-40-60-80-100 %), ``None`` for a missing rate.

    Parameters
    ----------
    rate
        Population-weighted share in 0..1 (NaN/None = no value).

    Returns
    -------
    int or None
        Class index into :data:`RATE_COLORS`; shares outside 0..1 are clipped to the end classes.
    """
    if rate is None or (isinstance(rate, float | np.floating) and math.isnan(rate)):
        return None
    idx = int(np.searchsorted(RATE_BREAKS[1:-1], float(rate), side="right"))
    return min(idx, len(RATE_COLORS) - 1)


def rate_color(rate: float | None) -> str:
    """Return the colour of a coverage share's class (:data:`NO_DATA_COLOR` when missing)."""
    k = rate_class(rate)
    return NO_DATA_COLOR if k is None else RATE_COLORS[k]


def class_labels() -> list[str]:
    """Return the legend label of each class, e.g. ``"0–20%"``."""
    pct = [round(100 * b) for b in RATE_BREAKS]
    return [f"{pct[i]}–{pct[i + 1]}%" for i in range(len(RATE_COLORS))]
