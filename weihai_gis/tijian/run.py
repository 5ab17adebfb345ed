"""One 体检 run: land samples and residents through the coverage engine, then the table and the 问题清单."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from weihai_gis.tijian.catalogue import catalogue_profile, load_catalogue, tijian_settings
from weihai_gis.tijian.indicators import network_distances
from weihai_gis.tijian.land import land_samples
from weihai_gis.tijian.table import indicator_table, problem_list

__all__ = ["TijianResult", "assess"]

log = logging.getLogger(__name__)


@dataclass
class TijianResult:
    """The outcome of :func:`assess`.

    Attributes
    ----------
    table
        The indicator table (see :func:`~weihai_gis.tijian.table.indicator_table`), ministry order.
    assessment
        Per (unit, indicator) shares and shortfalls (see :func:`~weihai_gis.tijian.indicators.unit_assessment`).
    problems
        ``{"小区": ranked 问题清单, "街区": ...}`` for the unit levels given.
    samples
        The land samples with their network distances (GeoDataFrame, metric CRS).
    land_approximate
        True when residential land is the OSM approximation (the table's remarks say so).
    """

    table: pd.DataFrame
    assessment: pd.DataFrame
    problems: dict[str, pd.DataFrame]
    samples: gpd.GeoDataFrame
    land_approximate: bool


def assess(
    net,
    land: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame | None = None,
    *,
    catalogue: pd.DataFrame | None = None,
    units: dict[str, gpd.GeoDataFrame] | None = None,
    cell_m: float | None = None,
    pass_share: float | None = None,
    category_field: str = "category",
    offset_check: str = "error",
    min_component_nodes: int | None = None,
    drive=None,
    progress: bool = False,
) -> TijianResult:
    """Compute the 体检 coverage indicators in the three variants and the 问题清单.

    Parameters
    ----------
    net
        Walking network (:func:`weihai_gis.build_network`).
    land
        Residential land polygons (:func:`~weihai_gis.tijian.land.read_residential_land` or the OSM
        approximation), any CRS.
    facilities
        Facilities with ``category_field`` holding facility kinds.
    origins
        Residents (points with ``population``) for the population variant; None leaves it NaN.
    catalogue
        Indicator catalogue (default the packaged one).
    units
        ``{"小区": polygons, "街区": polygons}`` with ``id`` and ``name_zh``.
    cell_m, pass_share
        Defaults from the catalogue's ``settings``.
    offset_check, min_component_nodes
        Passed to :func:`weihai_gis.coverage`.
    drive
        A :class:`~weihai_gis.network.drive.DriveNetwork` for the driving items (消防); None leaves their
        network variants empty.

    Returns
    -------
    TijianResult
    """
    from weihai_gis.lifecircle import coverage

    settings = tijian_settings()
    cat = catalogue if catalogue is not None else load_catalogue()
    cell = float(cell_m if cell_m is not None else settings["cell_m"])
    share = float(pass_share if pass_share is not None else settings["pass_share"])
    prof = catalogue_profile(cat, search_factor=float(settings["search_factor"]))
    land_m = land.to_crs(net.crs)
    samples = land_samples(land_m, cell_m=cell)
    kw: dict[str, Any] = {
        "profile": prof,
        "search_factor": 1.0,  # the profile's radius is already search_factor x threshold
        "category_field": category_field,
        "offset_check": offset_check,
        "min_component_nodes": min_component_nodes,
        "progress": progress,
    }
    land_d = network_distances(coverage(net, samples, facilities, **kw))
    pop_d = (
        network_distances(coverage(net, origins, facilities, **kw))
        if origins is not None and len(origins)
        else None
    )
    if drive is not None:
        _add_drive(
            drive,
            cat,
            facilities,
            [land_d, pop_d],
            settings["search_factor"],
            category_field,
            min_component_nodes,
        )
    approx = bool(land["approximate"].any()) if "approximate" in land.columns else False
    table, assessment = indicator_table(
        cat,
        land_m,
        facilities,
        land_distances=land_d,
        population_distances=pop_d,
        units=units,
        pass_share=share,
        category_field=category_field,
        land_approximate=approx,
    )
    problems = {level: problem_list(assessment, level=level) for level in (units or {})}
    return TijianResult(table, assessment, problems, land_d, approx)


def _add_drive(drive, cat, facilities, frames, search_factor, category_field, min_component_nodes) -> None:
    """Add ``dist_<id>`` (driving minutes or metres) of every driving item to each distance frame, in place."""
    from weihai_gis.network.drive import drive_nearest
    from weihai_gis.tijian.land import metric_frame

    fac = metric_frame(facilities, drive.crs, "facilities")
    for _, ind in cat[cat["mode"] == "drive"].iterrows():
        sel = fac[fac[category_field].astype(str).isin(ind["kinds"])]
        weight = "minutes" if ind["limit_unit"] == "min" else "metres"
        for frame in frames:
            if frame is None:
                continue
            if sel.empty:
                frame[f"dist_{ind['id']}"] = float("nan")
                continue
            values, _ = drive_nearest(
                drive,
                frame.geometry.to_crs(drive.crs),
                sel.geometry,
                weight=weight,
                limit=float(ind["limit"]) * search_factor,
                min_component_nodes=min_component_nodes,
            )
            frame[f"dist_{ind['id']}"] = values
