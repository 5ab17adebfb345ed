"""Which OSM ways are walkable: applies the rules in ``weihai_gis/standards/walkable.yaml``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from weihai_gis.standards import walkable_rules

__all__ = ["walkable_mask"]


def _codes(frame: pd.DataFrame, name: str) -> tuple[npt.NDArray[np.intp], pd.Series]:
    """Return per-row codes into the distinct lower-cased, stripped values of a field ("" when absent).

    Rules are evaluated on the few distinct values, not on every way (a province has millions of ways but
    a few hundred distinct tag values).
    """
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=np.intp), pd.Series([""], dtype=object)
    column = frame[name]
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists): compare their text
        codes, uniques = pd.factorize(column.astype(object).where(column.notna(), "").astype(str))
    values = (
        pd.Series(np.append(uniques.astype(object), ""), dtype=object).astype(str).str.strip().str.lower()
    )
    codes = np.where(codes < 0, len(values) - 1, codes)  # missing -> ""
    return codes, values


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
    hw_codes, hw = _codes(tags, "highway")
    # osmnx lists: "['footway', 'path']" -> "footway"
    hw = hw.str.strip("[]'\" ").str.split(r"['\"]?\s*,\s*['\"]?", regex=True).str[0]
    highway_ok = (hw.isin(rules["walkable_highway"]) & ~hw.isin(rules["barrier_highway"])).to_numpy(bool)
    foot_codes, foot = _codes(tags, "foot")
    access_codes, access = _codes(tags, "access")
    area_codes, area = _codes(tags, "area")
    foot_forbidden = foot.isin(rules["foot_forbidden"]).to_numpy(bool)[foot_codes]
    foot_allowed = foot.isin(rules["foot_allowed"]).to_numpy(bool)[foot_codes]
    access_forbidden = access.isin(rules["access_forbidden"]).to_numpy(bool)[access_codes]
    area_excluded = area.isin(rules["area_excluded"]).to_numpy(bool)[area_codes]
    ok = highway_ok[hw_codes] & ~foot_forbidden
    ok &= ~(access_forbidden & ~foot_allowed)
    ok &= ~area_excluded
    return ok
