"""The one naming pattern of coverage output columns, and the key-maker that spells it.

Every column a coverage run writes is ``<measure>[_buffer]_<category>``:

=================  ===========================  ======================================================
measure            frames                       meaning
=================  ===========================  ======================================================
``dist``           origins                      network distance in metres to the nearest facility of
                                                the category, searched to twice its limit
                                                (``SEARCH_FACTOR``; metres runs) so that it is also the
                                                问题清单's distance (NaN: none within that search,
                                                unreachable origin, or category not assessed)
``straight``       origins                      straight-line distance in metres to the nearest facility
                                                of the category up to the same reach (NaN beyond it,
                                                or category not assessed)
``time``           origins                      walking minutes to the quickest facility, for a walker
                                                group (``CoverageOptions(walker=...)``; then ``dist`` is
                                                the metres of that quickest route)
``met``            origins                      True when a facility lies within the category's limit
                                                (``dist <= max_walk_m``; minutes for a walker group)
``rate``           unit / hexagon summaries     population-weighted share 0..1 of ``met``
``gap``            unit / hexagon summaries     ``rate_buffer_<c> - rate_<c>``: what straight-line
                                                buffers overstate
=================  ===========================  ======================================================

``_buffer`` marks the straight-line (buffer) figure beside the network one (``met_buffer_clinic``,
``rate_buffer_clinic``); the network figure has no marker. ``all_basic`` is a category like the others:
全要素达标率, every *assessed* 基础保障 category met (``met_all_basic``, ``rate_buffer_all_basic`` ...).
The overall table (:meth:`~weihai_gis.lifecircle.CoverageResult.overall`) has one row per category with
``rate_network``, ``rate_buffer`` and ``gap``.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ALL_BASIC", "MEASURES", "column", "parse_column"]

#: Category id of 全要素达标率 (all assessed basic categories met).
ALL_BASIC = "all_basic"

Measure = Literal["dist", "straight", "time", "met", "rate", "gap"]
#: The measures of :func:`column`.
MEASURES: tuple[str, ...] = ("dist", "straight", "time", "met", "rate", "gap")


def column(measure: Measure, category: str, *, buffer: bool = False) -> str:
    """Return the column name of ``measure`` for ``category`` (network figure, or straight-line with ``buffer``).

    Parameters
    ----------
    measure
        ``"dist"``, ``"straight"``, ``"time"``, ``"met"``, ``"rate"`` or ``"gap"``.
    category
        Category id of the profile, or :data:`ALL_BASIC`.
    buffer
        The straight-line (buffer) figure instead of the network one (only for ``met`` and ``rate``).

    Returns
    -------
    str
        E.g. ``column("met", "clinic", buffer=True) == "met_buffer_clinic"``.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    if buffer and measure in ("dist", "straight", "time", "gap"):
        raise ValueError(f"{measure!r} has no straight-line variant")
    return f"{measure}_buffer_{category}" if buffer else f"{measure}_{category}"


def parse_column(name: str) -> tuple[str, str, bool] | None:
    """Return ``(measure, category, buffer)`` of a coverage column name, or ``None`` for other columns.

    The inverse of :func:`column`: ``parse_column("rate_buffer_clinic") == ("rate", "clinic", True)``.
    """
    measure, sep, rest = name.partition("_")
    if not sep or measure not in MEASURES or not rest:
        return None
    if rest.startswith("buffer_") and measure in ("met", "rate"):
        return measure, rest.removeprefix("buffer_"), True
    return measure, rest, False
