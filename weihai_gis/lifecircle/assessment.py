"""Which categories a coverage run assessed, and the scope of 全要素达标率 (all-basic rate) they give."""

from __future__ import annotations

import pandas as pd

__all__ = ["BASIC_TYPE", "all_basic_note", "all_basic_title_zh", "assessed_flags", "basic_assessment"]

#: ``type`` of the categories that make up 全要素达标率 (all-basic rate).
BASIC_TYPE = "基础保障"


def assessed_flags(categories: pd.DataFrame) -> pd.Series:
    """Return per category whether the input held at least one facility of it (it was assessed).

    Parameters
    ----------
    categories
        Category table (``CoverageResult.categories`` or the ``categories`` table of a results GeoPackage).
        Uses the ``assessed`` column; tables written before it existed fall back to ``n_facilities > 0``,
        and tables with neither count every category as assessed.

    Returns
    -------
    pandas.Series
        Bool per row of ``categories`` (same index).
    """
    if "assessed" in categories.columns:
        return categories["assessed"].fillna(False).astype(bool)
    if "n_facilities" in categories.columns:
        return pd.to_numeric(categories["n_facilities"], errors="coerce").fillna(0) > 0
    return pd.Series(True, index=categories.index)


def basic_assessment(categories: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Return the ids of the 基础保障 categories that were assessed and of those that were not.

    Parameters
    ----------
    categories
        Category table with ``id`` and ``type`` (see :func:`assessed_flags`).

    Returns
    -------
    tuple of list of str
        ``(assessed, not_assessed)`` in table order.
    """
    basic = categories["type"] == BASIC_TYPE if "type" in categories.columns else categories["id"].notna()
    flags = assessed_flags(categories)
    ids = categories["id"].astype(str)
    return ids[basic & flags].tolist(), ids[basic & ~flags].tolist()


def all_basic_title_zh(categories: pd.DataFrame) -> str:
    """Return the Chinese title of the all-basic rate with its scope, e.g. ``全要素达标率（已评估 19/24 类基础保障）``."""
    done, missing = basic_assessment(categories)
    return f"全要素达标率（已评估 {len(done)}/{len(done) + len(missing)} 类基础保障）"


def all_basic_note(categories: pd.DataFrame) -> str | None:
    """Return the bilingual note on which 基础保障 categories the all-basic rate covers (None when all do).

    Parameters
    ----------
    categories
        Category table with ``id``, ``name_zh``, ``type`` (see :func:`assessed_flags`).

    Returns
    -------
    str or None
        Chinese / English sentence naming the categories not assessed (no facility of the kind in the
        input), or ``None`` when every basic category was assessed.
    """
    done, missing = basic_assessment(categories)
    if not missing:
        return None
    names = categories.set_index(categories["id"].astype(str))
    zh = ", ".join(str(names.at[c, "name_zh"]) if "name_zh" in names.columns else c for c in missing)
    n = len(done) + len(missing)
    if not done:
        return (
            f"全要素达标率无法评估：输入中没有任何基础保障类设施（{n} 类均未评估）/ all-basic rate not "
            f"assessable: the input holds no facility of any of the {n} basic categories (rate is NaN)"
        )
    return (
        f"全要素达标率只计已评估的 {len(done)}/{n} 类基础保障要素；未评估（输入中无此类设施）: {zh} / "
        f"all-basic rate covers the {len(done)} of {n} basic categories present in the input; "
        f"not assessed: {', '.join(missing)}"
    )
