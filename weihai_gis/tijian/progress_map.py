"""Progress of the plan's spatial targets on a map: each named feature (片区, 海湾 …) coloured by its status."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import folium
import geopandas as gpd
import pandas as pd

from weihai_gis.crs import WEB_CRS
from weihai_gis.tijian.targets import DONE_STATUSES

__all__ = ["STATUS_COLORS", "progress_map", "target_features"]

log = logging.getLogger(__name__)

#: Colour per feature status (完成 green, 在建 amber, 未启动 red, no report grey).
STATUS_COLORS = {"完成": "#1a9850", "在建": "#fdae61", "未启动": "#d73027", "无数据": "#9e9e9e"}


def _status(value: str) -> str:
    v = str(value).strip()
    if v.lower() in {s.lower() for s in DONE_STATUSES}:
        return "完成"
    return v if v in STATUS_COLORS else ("在建" if v else "无数据")


def target_features(
    targets: pd.DataFrame, progress: pd.DataFrame | None, layers: Mapping[str, gpd.GeoDataFrame]
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Join the latest per-feature status of the spatial targets to the embedded plan layers.

    Parameters
    ----------
    targets
        From :func:`~weihai_gis.tijian.targets.load_targets` (its ``layer`` column names the plan layer).
    progress
        From :func:`~weihai_gis.tijian.targets.read_progress` (rows with ``feature`` and ``status``), or None.
    layers
        Plan layers by name (``weihai_gis.load_layers()``); features match by ``name_zh``.

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        Features (EPSG:4326): target_id, target_zh, name_zh, progress (完成 / 在建 / 未启动 / 无数据), as_of,
        geometry; and the named features of the targets that no layer holds (``"重点片区更新: 东山"``).
    """
    rows, missing = [], []
    latest = pd.DataFrame(columns=["target_id", "feature", "status", "date"])
    if progress is not None and {"feature", "status"} <= set(progress.columns):
        p = progress[progress["feature"].notna()].sort_values("date")
        latest = p.groupby(["target_id", "feature"], as_index=False).last()
    for _, t in targets[targets["layer"] != ""].iterrows():
        layer = layers.get(t["layer"])
        frame = layer.to_crs(WEB_CRS) if layer is not None and len(layer) else None
        mine = latest[latest["target_id"] == t["id"]].set_index("feature")
        # a row without geometry (a plan feature kept but not yet located) cannot be drawn: list it as missing
        located = frame[frame.geometry.notna() & ~frame.geometry.is_empty] if frame is not None else None
        names = set(located["name_zh"]) if located is not None else set()
        wanted = list(t["features"]) or sorted(names)
        for name in wanted:
            if name not in names:
                missing.append(f"{t['name_zh']}: {name}")
                continue
            geom = frame.loc[frame["name_zh"] == name].geometry.iloc[0]  # type: ignore[union-attr,index]  # names come from frame
            status = _status(mine.at[name, "status"]) if name in mine.index else "无数据"
            as_of = mine.at[name, "date"] if name in mine.index else pd.NaT
            rows.append(
                {
                    "target_id": t["id"],
                    "target_zh": t["name_zh"],
                    "name_zh": name,
                    "progress": status,
                    "as_of": as_of,
                    "geometry": geom,
                }
            )
    frame = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=WEB_CRS)
        if rows
        else gpd.GeoDataFrame(
            {"target_id": [], "target_zh": [], "name_zh": [], "progress": [], "as_of": []},
            geometry=[],
            crs=WEB_CRS,
        )
    )
    return frame, missing


def progress_map(
    features: gpd.GeoDataFrame, missing: list[str] | None = None, *, basemap: str = "none"
) -> folium.Map:
    """Draw the spatial targets' features coloured by status, with a legend listing features not on the map.

    Parameters
    ----------
    features, missing
        From :func:`target_features`.
    basemap
        As :func:`weihai_gis.maps.add_basemap` (default ``none``: works offline).

    Returns
    -------
    folium.Map
        Save with :func:`weihai_gis.maps.save_map` (``offline=True`` inlines every asset).
    """
    from weihai_gis.maps import LegendItem, LegendSection, add_basemap, add_legend
    from weihai_gis.maps.draw import geojson_layer
    from weihai_gis.maps.prepare import bounds_latlon

    m = folium.Map(location=None, tiles=None, control_scale=True, maxZoom=18)
    info = add_basemap(m, basemap)

    def style(feature):
        c = STATUS_COLORS.get(feature["properties"].get("progress"), STATUS_COLORS["无数据"])
        return {"color": c, "fillColor": c, "weight": 3, "fillOpacity": 0.45}

    show = features.drop(columns=["as_of"], errors="ignore")
    for tid, group in show.groupby("target_id", sort=False):
        geojson_layer(
            m,
            group,
            name=f"{group['target_zh'].iloc[0]} / {tid}",
            style=style,
            fields=["target_zh", "name_zh", "progress"],
            datum=info.datum,
        )
    items = tuple(LegendItem(label=k, color=v) for k, v in STATUS_COLORS.items())
    note = (
        ("图层中未定位的规划要素 / named in the plan, not located in the layers: " + "、".join(missing))
        if missing
        else ""
    )
    add_legend(m, [LegendSection(title="规划目标进展 / target progress", items=items, note=note)])
    folium.LayerControl(collapsed=True).add_to(m)  # a toggle button: the layer list opens on hover or tap
    if len(features):
        m.fit_bounds(bounds_latlon([features]))
    return m
