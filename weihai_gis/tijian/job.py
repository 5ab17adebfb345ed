"""The 体检 step of the main job: on an OSM extract, the indicator table, 问题清单 and plan targets into out/."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd

from weihai_gis.tijian.run import TijianResult, assess

__all__ = ["TIJIAN_FILE", "tijian_for_main_job"]

log = logging.getLogger(__name__)

#: File the main job writes into its output folder.
TIJIAN_FILE = "tijian.xlsx"


def tijian_for_main_job(
    net,
    network_source: Path,
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    out_dir: Path,
    *,
    progress: bool = False,
    sources: list[str] | None = None,
    origins_estimated: bool = True,
) -> tuple[TijianResult | None, Path | None, str]:
    """Run the 体检 on the main job's inputs when its network is an OSM extract; write ``tijian.xlsx``.

    Residential land and 小区 are the OSM approximation of the extract, 街区 the embedded town areas
    (approximate boundaries), the driving network the extract's drivable ways. ``sources`` (one line per
    input, default the extract's file name) and ``origins_estimated`` go into the workbook's header block.

    Returns
    -------
    (TijianResult or None, Path or None, str)
        The result and the written file (None when skipped) and a Chinese note for the report.
    """
    from weihai_gis.network.drive import build_drive_network
    from weihai_gis.tijian.catalogue import load_catalogue
    from weihai_gis.tijian.land import osm_residential, town_units
    from weihai_gis.tijian.targets import load_targets, progress_table
    from weihai_gis.tijian.workbook import header_lines, write_xlsx

    if not str(network_source).lower().endswith(".pbf"):
        note = (
            "城市体检未运行：需要 OSM 提取（.osm.pbf）或三调居住用地，请用 weihai-gis tijian run --land … / "
            "tijian skipped: the network is not an OSM extract; run `weihai-gis tijian run --land ...`"
        )
        return None, None, note
    land, xiaoqu = osm_residential(network_source, net.crs)
    units = {"小区": xiaoqu}
    jiequ = town_units(layers.get("town_areas"), land)
    if jiequ is not None:
        units["街区"] = jiequ
    result = assess(
        net,
        land,
        facilities,
        origins,
        units=units,
        drive=build_drive_network(network_source),
        progress=progress,
    )
    sheets = {"体检指标表": result.table}
    sheets.update({f"{level}问题清单": frame for level, frame in result.problems.items()})
    sheets["单元评估"] = result.assessment
    sheets["规划目标"] = progress_table(load_targets())
    path = Path(out_dir) / TIJIAN_FILE
    lines = header_lines(
        sources=sources or [Path(network_source).name],
        land_approximate=result.land_approximate,
        origins_estimated=origins_estimated,
        catalogue=load_catalogue(),
    )
    write_xlsx(path, sheets, inputs=(network_source,), lines=lines)
    note = (
        f"城市体检：居住用地与小区为 OSM 近似（{result.samples['weight'].sum() / 1e6:.2f} km²，{len(xiaoqu)} 个小区），"
        "街区为近似边界 / 体检 on OSM-approximate residential land and 小区"
    )
    return result, path, note
