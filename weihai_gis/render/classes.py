"""The one classification of coverage rates, used by the maps and by the report.

Five equal 20 % classes from red (poor) to green (good), grey for no value, and the share below which a unit
is a planning gap (短板). A rate of exactly 1.0 falls into the top class.

When every rate of a map lies low (the highest below 80 %), the fixed classes paint almost everything one red;
:func:`rate_classes` then spreads five equal classes over 0 .. a rounded-up maximum in a sequential blue
scale (blue says "more", not "good") and its legend says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GAP_THRESHOLD",
    "NO_DATA_COLOR",
    "RANGE_COLORS",
    "RATE_BREAKS",
    "RATE_COLORS",
    "RateClasses",
    "class_labels",
    "rate_class",
    "rate_classes",
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


#: Sequential colours of a data-range scale, light (low) to dark (high) (ColorBrewer Blues, 5 classes).
RANGE_COLORS: tuple[str, ...] = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
#: Below this highest rate a map's classes follow the data range instead of the fixed 20 % classes.
RANGE_SCALE_BELOW = 0.8
_NICE_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2)


def _pct(share: float) -> str:
    v = 100 * share
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


@dataclass(frozen=True)
class RateClasses:
    """A classification of shares 0..1: class breaks, one colour per class and the legend wording.

    Attributes
    ----------
    breaks
        Ascending class breaks (len(colors) + 1 values); the last class includes its upper break.
    colors
        One colour per class.
    note
        Legend remark on the scale (Chinese / English); empty for the fixed 20 % classes.
    """

    breaks: tuple[float, ...] = RATE_BREAKS
    colors: tuple[str, ...] = RATE_COLORS
    note: str = ""

    def index(self, rate: float | None) -> int | None:
        """Return the class of ``rate`` (``None`` when missing; values beyond the ends go to the end classes)."""
        if rate is None or (isinstance(rate, float | np.floating) and math.isnan(rate)):
            return None
        idx = int(np.searchsorted(self.breaks[1:-1], float(rate), side="right"))
        return min(idx, len(self.colors) - 1)

    def color(self, rate: float | None) -> str:
        """Return the colour of ``rate``'s class (:data:`NO_DATA_COLOR` when missing)."""
        k = self.index(rate)
        return NO_DATA_COLOR if k is None else self.colors[k]

    def labels(self) -> list[str]:
        """Return the legend label of each class, e.g. ``"0–5%"`` (one decimal when needed)."""
        return [f"{_pct(self.breaks[i])}–{_pct(self.breaks[i + 1])}%" for i in range(len(self.colors))]


def rate_classes(rates: Iterable[float]) -> RateClasses:
    """Return the classes a map of ``rates`` uses: fixed 20 % classes, or five over the data range when low.

    Parameters
    ----------
    rates
        The shares 0..1 drawn (NaN ignored).

    Returns
    -------
    RateClasses
        The fixed red-to-green classes when the highest rate is >= 80 %, 0 (said in the note) or there is
        none; otherwise five
        equal blue classes from 0 to the highest rate rounded up to five steps of 0.1, 0.2, 0.5, 1, 2, 5, 10, 15 or 20 %.
    """
    values = np.asarray([float(r) for r in rates], dtype=float)
    values = values[~np.isnan(values)]
    top = float(values.max()) if len(values) else 1.0
    if top >= RANGE_SCALE_BELOW:
        return RateClasses()
    if top <= 0:
        return RateClasses(note="所有单元均为 0% / every unit is at 0 %")
    step = next(s for s in _NICE_STEPS if 5 * s >= top - 1e-12)
    upper = 5 * step
    breaks = tuple(round(i * step, 6) for i in range(6))
    note = (
        f"按数据范围分级（最高 {100 * top:.1f}%，上限 {_pct(upper)}%）/ classes over the data range "
        f"(highest {100 * top:.1f} %)"
    )
    return RateClasses(breaks=breaks, colors=RANGE_COLORS, note=note)
