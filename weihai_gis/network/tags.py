"""Which OSM ways are walkable: applies the rules in ``weihai_gis/standards/walkable.yaml``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from weihai_gis.standards import walkable_rules

__all__ = ["walkable_mask"]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Return a lower-cased string column, or an all-empty one when the field is absent."""
    if name not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[name].astype(object).where(frame[name].notna(), "").astype(str).str.strip().str.lower()


def walkable_mask(tags: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Return True for each way a pedestrian may use.

    Parameters
    ----------
    tags
        One row per way with (some of) the OSM fields ``highway``, ``foot``, ``access``, ``area``. A
        missing field counts as untagged. A ``highway`` holding several values (osmnx writes lists such as
        ``"['footway', 'path']"``) is walkable when its first listed value is.

    Returns
    -------
    numpy.ndarray of bool
        Walkable: ``highway`` in the walkable list and not a barrier; not ``foot=no``-like; not
        ``access=private/no`` unless ``foot`` explicitly allows walking; not ``area=yes``.
    """
    rules = walkable_rules()
    highway = (
        _column(tags, "highway").str.strip("[]'\" ").str.split(r"['\"]?\s*,\s*['\"]?", regex=True).str[0]
    )
    foot = _column(tags, "foot")
    access = _column(tags, "access")
    area = _column(tags, "area")
    ok = highway.isin(rules["walkable_highway"]) & ~highway.isin(rules["barrier_highway"])
    ok &= ~foot.isin(rules["foot_forbidden"])
    ok &= ~(access.isin(rules["access_forbidden"]) & ~foot.isin(rules["foot_allowed"]))
    ok &= ~area.isin(rules["area_excluded"])
    return ok.to_numpy(dtype=bool)
