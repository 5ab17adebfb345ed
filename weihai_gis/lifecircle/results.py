"""The coverage result: per-origin distances and flags, and population-weighted summaries."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from weihai_gis.errors import LayerError
from weihai_gis.files import atomic_path

__all__ = [
    "BASIC_TYPE",
    "CoverageResult",
    "all_basic_note",
    "all_basic_title_zh",
    "assessed_flags",
    "basic_assessment",
    "hex_ids",
]

log = logging.getLogger(__name__)

_SQRT3 = np.sqrt(3.0)

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


def hex_ids(x: np.ndarray, y: np.ndarray, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the axial (q, r) ids of the pointy-top hexagons of side ``size_m`` metres containing (x, y)."""
    q = (_SQRT3 / 3 * x - y / 3) / size_m
    r = (2 / 3 * y) / size_m
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)


def _hexagons(q: np.ndarray, r: np.ndarray, size_m: float) -> np.ndarray:
    cx = size_m * _SQRT3 * (q + r / 2)
    cy = size_m * 1.5 * r
    angles = np.deg2rad(30 + 60 * np.arange(6))
    xs = cx[:, None] + size_m * np.cos(angles)[None, :]
    ys = cy[:, None] + size_m * np.sin(angles)[None, :]
    rings = np.stack([xs, ys], axis=-1)
    return shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1))


@dataclass
class CoverageResult:
    """Life-circle coverage of origins by facility categories.

    Attributes
    ----------
    origins
        GeoDataFrame in the network's metric CRS: origin_id, population, reachable, unreachable_reason,
        snap_m, ``dist_<category>`` (metres, NaN = none in reach, unreachable origin or category not
        assessed), ``met_<category>``, ``buffer_met_<category>`` (straight-line; both False for a category
        not assessed), all_basic_met (every *assessed* 基础保障 category met; False for unreachable origins
        and when no basic category is assessed), buffer_all_basic_met (the same with straight-line flags).
    categories
        DataFrame: id, name_zh, name_en, max_walk_m, max_walk_min, tier, type, citation, verified, note,
        n_facilities, n_facilities_reachable, assessed (True when the input holds at least one facility of
        the category, reachable or not). Categories not assessed have NaN rates everywhere and are left out
        of the all-basic flags and rates (``warnings`` names them).
    facilities
        GeoDataFrame of the facilities used (metric CRS) with reachable, unreachable_reason, snap_m.
    profile_name
        The profile used (e.g. ``"gb50180-2018"``).
    warnings
        Human-readable warnings (empty categories, kinds the profile does not use, ...).
    """

    origins: gpd.GeoDataFrame
    categories: pd.DataFrame
    facilities: gpd.GeoDataFrame
    profile_name: str
    network_summary: dict[str, float | int | str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def category_ids(self) -> list[str]:
        """Category ids in profile order."""
        return self.categories["id"].tolist()

    def _aggregate(self, group: pd.Series) -> pd.DataFrame:
        """Population-weighted rates per group label (origins with a NaN label are left out)."""
        o = self.origins
        pop = o["population"].to_numpy(dtype=float)
        cols: dict[str, np.ndarray] = {
            "population": pop,
            "n_origins": np.ones(len(o)),
            "n_unreachable": (~o["reachable"]).to_numpy(dtype=float),
            "population_unreachable": np.where(o["reachable"], 0.0, pop),
        }
        rate_cols = []
        for cid in self.category_ids:
            cols[f"_w_{cid}"] = pop * o[f"met_{cid}"].to_numpy(dtype=float)
            cols[f"_wb_{cid}"] = pop * o[f"buffer_met_{cid}"].to_numpy(dtype=float)
            rate_cols.append(cid)
        cols["_w_all"] = pop * o["all_basic_met"].to_numpy(dtype=float)
        cols["_wb_all"] = pop * o["buffer_all_basic_met"].to_numpy(dtype=float)
        sums = pd.DataFrame(cols, index=o.index).groupby(group.to_numpy()).sum()
        denom = sums["population"].where(sums["population"] > 0)
        out = sums[["population", "n_origins", "n_unreachable", "population_unreachable"]].copy()
        out[["n_origins", "n_unreachable"]] = out[["n_origins", "n_unreachable"]].astype(np.int64)
        empty = set(self.categories.loc[~assessed_flags(self.categories), "id"])
        for cid in rate_cols:
            out[f"rate_{cid}"] = np.nan if cid in empty else sums[f"_w_{cid}"] / denom
        for cid in rate_cols:
            out[f"rate_buffer_{cid}"] = np.nan if cid in empty else sums[f"_wb_{cid}"] / denom
        any_basic = bool(basic_assessment(self.categories)[0])
        out["rate_all_basic"] = sums["_w_all"] / denom if any_basic else np.nan
        out["rate_all_basic_buffer"] = sums["_wb_all"] / denom if any_basic else np.nan
        out["gap_all_basic"] = out["rate_all_basic_buffer"] - out["rate_all_basic"]
        return out

    def summary(
        self, units: gpd.GeoDataFrame, id_field: str = "id", name_field: str = "name_zh"
    ) -> gpd.GeoDataFrame:
        """Summarise by polygon units (片区, 镇/街道, county ...).

        Parameters
        ----------
        units
            Polygons with a CRS; each origin counts in the unit containing it (the first when units overlap;
            origins outside every unit are left out).
        id_field, name_field
            Fields copied to the output as ``id`` and ``name_zh``.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per unit (units without origins get population 0 and NaN rates): id, name_zh,
            population, n_origins, n_unreachable, population_unreachable, ``rate_<category>`` (0..1,
            population-weighted over all origins, unreachable ones counting as not met; NaN for a category
            not assessed), ``rate_buffer_<category>``, rate_all_basic (over the assessed 基础保障 categories;
            NaN when none is assessed), rate_all_basic_buffer, gap_all_basic, geometry.
        """
        for f in (id_field, name_field):
            if f not in units.columns:
                raise LayerError(f"summary units: field {f!r} is missing; fields are {list(units.columns)}.")
        if units.crs is None:
            raise LayerError("summary units have no CRS.")
        poly = units.to_crs(self.origins.crs).reset_index(drop=True)
        joined = gpd.sjoin(self.origins[["geometry"]], poly[["geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        label = joined["index_right"].reindex(self.origins.index)
        agg = self._aggregate(label.fillna(-1).astype(np.int64))
        agg = agg.drop(index=-1, errors="ignore").reindex(range(len(poly)))
        agg[["population", "n_origins", "n_unreachable", "population_unreachable"]] = agg[
            ["population", "n_origins", "n_unreachable", "population_unreachable"]
        ].fillna(0)
        head = pd.DataFrame({"id": units[id_field].to_numpy(), "name_zh": units[name_field].to_numpy()})
        return gpd.GeoDataFrame(
            pd.concat([head, agg.reset_index(drop=True)], axis=1),
            geometry=units.geometry.to_numpy(),
            crs=units.crs,
        )

    def hex_summary(self, size_m: float = 500) -> gpd.GeoDataFrame:
        """Summarise on a hexagon grid (pointy-top hexagons of side ``size_m`` metres, network CRS).

        Returns
        -------
        geopandas.GeoDataFrame
            One row per hexagon holding origins, with id ``"q_r"``, the columns of :meth:`summary`, geometry.
        """
        xy = shapely.get_coordinates(self.origins.geometry.to_numpy())
        q, r = hex_ids(xy[:, 0], xy[:, 1], size_m)
        key = pd.Series([f"{a}_{b}" for a, b in zip(q, r, strict=True)], index=self.origins.index)
        agg = self._aggregate(key)
        qr = np.array([k.split("_") for k in agg.index], dtype=np.int64).reshape(-1, 2)
        head = pd.DataFrame({"id": agg.index.to_numpy(), "name_zh": [f"六边形 {k}" for k in agg.index]})
        body = agg.reset_index(drop=True)
        return gpd.GeoDataFrame(
            pd.concat([head, body], axis=1),
            geometry=_hexagons(qr[:, 0], qr[:, 1], size_m),
            crs=self.origins.crs,
        )

    def overall(self) -> pd.DataFrame:
        """Return one row per category plus the all-basic row: network and straight-line rates and their gap.

        Returns
        -------
        pandas.DataFrame
            id, name_zh, type, max_walk_m, verified, n_facilities, assessed, rate_network, rate_buffer
            (population-weighted shares 0..1; NaN for a category not assessed), gap. The last row, id
            ``all_basic``, is 全要素达标率 over the assessed 基础保障 categories; its name_zh says how many
            (e.g. ``全要素达标率（已评估 19/24 类基础保障）``) and its ``assessed`` is True when at least one is.
        """
        agg = self._aggregate(pd.Series(0, index=self.origins.index)).iloc[0]
        flags = assessed_flags(self.categories)
        rows = []
        for (_, cat), assessed in zip(self.categories.iterrows(), flags, strict=True):
            rows.append(
                {
                    "id": cat["id"],
                    "name_zh": cat["name_zh"],
                    "type": cat["type"],
                    "max_walk_m": cat["max_walk_m"],
                    "verified": cat["verified"],
                    "n_facilities": cat["n_facilities"],
                    "assessed": bool(assessed),
                    "rate_network": agg[f"rate_{cat['id']}"],
                    "rate_buffer": agg[f"rate_buffer_{cat['id']}"],
                }
            )
        rows.append(
            {
                "id": "all_basic",
                "name_zh": all_basic_title_zh(self.categories),
                "type": BASIC_TYPE,
                "max_walk_m": np.nan,
                "verified": False,
                "n_facilities": int(self.categories["n_facilities"].sum()),
                "assessed": bool(basic_assessment(self.categories)[0]),
                "rate_network": agg["rate_all_basic"],
                "rate_buffer": agg["rate_all_basic_buffer"],
            }
        )
        out = pd.DataFrame(rows)
        out["gap"] = out["rate_buffer"] - out["rate_network"]
        return out

    def to_gpkg(
        self,
        path: str | os.PathLike[str],
        *,
        units: dict[str, gpd.GeoDataFrame] | None = None,
        hex_size_m: float = 500,
        inputs: tuple[str | os.PathLike[str], ...] = (),
    ) -> None:
        """Write the result to one GeoPackage, atomically.

        Layers: ``origins``, ``facilities``, ``summary_hex``, ``summary_<name>`` per unit layer, and the
        attribute table ``categories``.

        Parameters
        ----------
        path
            Destination ``.gpkg`` (replaced only when complete).
        units
            ``{name: polygons}`` to summarise by (each written as ``summary_<name>``).
        hex_size_m
            Hexagon side in metres for ``summary_hex``.
        inputs
            Input files of the run (never overwritten).
        """
        layers: dict[str, gpd.GeoDataFrame] = {
            "origins": self.origins,
            "facilities": self.facilities,
            "summary_hex": self.hex_summary(hex_size_m),
        }
        for name, frame in (units or {}).items():
            layers[f"summary_{name}"] = self.summary(frame)
        with atomic_path(path, inputs=inputs) as tmp:
            for name, frame in layers.items():
                frame.to_file(tmp, layer=name, driver="GPKG")
            cats = self.categories.drop(columns=["kinds"], errors="ignore").assign(profile=self.profile_name)
            pyogrio.write_dataframe(cats, tmp, layer="categories", driver="GPKG")
        log.info("wrote %s (%s)", path, ", ".join([*layers, "categories"]))
