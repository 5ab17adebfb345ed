"""Small contract-shaped layers around Weihai for the map/report tests (not a test module).

Geometry is built in ANALYSIS_CRS metres around 威海 city centre and stored in EPSG:4490 like the embedded data.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point, box

from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS

CENTRE = gpd.GeoSeries([Point(122.12, 37.50)], crs="EPSG:4326").to_crs(ANALYSIS_CRS).iloc[0]
X0, Y0 = CENTRE.x, CENTRE.y


def _gdf(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=ANALYSIS_CRS).to_crs(STORAGE_CRS)


def _base(i: int, prefix: str, name: str, status: str = "approximate") -> dict:
    return {
        "id": f"{prefix}{i:02d}",
        "name_zh": f"{name}{i}",
        "name_en": f"{prefix}{i}",
        "status": status,
        "basis": "test fixture",
    }


def make_layers() -> dict[str, gpd.GeoDataFrame]:
    """Return a dict of every contract layer with a few features each (all in EPSG:4490)."""
    km = 1000.0
    counties = _gdf(
        [dict(_base(i, "C", "区", "official"), id=f"37100{i}") for i in (2, 3)],
        [
            box(X0 - 20 * km, Y0 - 20 * km, X0, Y0 + 10 * km),
            box(X0, Y0 - 20 * km, X0 + 20 * km, Y0 + 10 * km),
        ],
    )
    city = _gdf(
        [_base(1, "CITY", "威海市", "official")],
        [box(X0 - 20 * km, Y0 - 20 * km, X0 + 20 * km, Y0 + 10 * km)],
    )
    groups = ["一带", "五心", "两镇"]
    axes = ["都市山海漫游带", "中央都市服务轴", "精致新城"]
    renewal = _gdf(
        [
            dict(_base(i, "RD", "更新片区"), group=groups[i % 3], axis=axes[i % 3], admin_zh="环翠区")
            for i in range(1, 5)
        ],
        [box(X0 + (i - 3) * 4 * km, Y0, X0 + (i - 3) * 4 * km + 3 * km, Y0 + 3 * km) for i in range(1, 5)],
    )
    streets = _gdf(
        [_base(i, "FS", "特色街区") for i in (1, 2)],
        [LineString([(X0 + i * km, Y0 - km), (X0 + i * km + 800, Y0 - 1500)]) for i in (1, 2)],
    )
    bays = _gdf(
        [dict(_base(i, "BAY", "海湾"), works_zh="岸线整治") for i in (1, 2)],
        [Point(X0 + 6 * km, Y0 + 5 * km), box(X0 + 8 * km, Y0 + 4 * km, X0 + 10 * km, Y0 + 6 * km)],
    )
    types = ["城郊融合型", "区域支撑型", "工业引领型", "文旅康养型", "生态农业型", "unassigned"]
    town_rows, town_geoms = [], []
    for i in range(8):
        kind = "street" if i >= 6 else "town"
        town_rows.append(
            dict(
                _base(i, "3710020010", "镇"),
                id=f"3710020{i:05d}",
                kind=kind,
                admin_code="371002",
                admin_zh="环翠区",
                town_type="n/a" if kind == "street" else types[i],
                provincial_pilot=i == 1,
                urban_integration=i == 0,
                location_status="missing" if i == 7 else "geonames",
            )
        )
        town_geoms.append(None if i == 7 else Point(X0 - 15 * km + i * 4 * km, Y0 - 10 * km))
    towns = _gdf(town_rows, town_geoms)
    areas = _gdf(
        [
            {
                "id": r["id"],
                "name_zh": r["name_zh"],
                "kind": r["kind"],
                "status": "approximate",
                "basis": "voronoi",
            }
            for r in town_rows[:4]
        ],
        [
            box(X0 - 20 * km + i * 5 * km, Y0 - 20 * km, X0 - 15 * km + i * 5 * km, Y0 - 5 * km)
            for i in range(4)
        ],
    )
    zones = _gdf(
        [
            dict(
                _base(i, "CZ", "海岸带", "parameter"), zone=z, inner_m=a, outer_m=b, rule_ref="controls.yaml"
            )
            for i, (z, a, b) in enumerate(
                [("core_setback", 0, 100), ("general_control", 100, 500), ("seaward", 0, 200)]
            )
        ],
        [
            box(X0 - 5 * km, Y0 + 8 * km, X0 + 5 * km, Y0 + 8.1 * km),
            box(X0 - 5 * km, Y0 + 7.6 * km, X0 + 5 * km, Y0 + 8 * km),
            box(X0 - 5 * km, Y0 + 8.1 * km, X0 + 5 * km, Y0 + 8.3 * km),
        ],
    )
    coast = _gdf(
        [_base(1, "CL", "海岸线")], [LineString([(X0 - 5 * km, Y0 + 8.1 * km), (X0 + 5 * km, Y0 + 8.1 * km)])]
    )
    ridges = _gdf(
        [_base(1, "RG", "山脊线")], [LineString([(X0 - 10 * km, Y0 - 3 * km), (X0 - 2 * km, Y0 - 4 * km)])]
    )
    hsr = _gdf(
        [_base(1, "HSR", "高铁")], [LineString([(X0 - 20 * km, Y0 - 6 * km), (X0 + 20 * km, Y0 - 7 * km)])]
    )
    corridors = _gdf(
        [dict(_base(1, "VC", "视线通廊"), from_zh="环翠楼", to_zh="刘公岛", width_m=60.0)],
        [LineString([(X0, Y0 + 2 * km), (X0 + 3 * km, Y0 + 9 * km)])],
    )
    viewpoints = _gdf([dict(_base(1, "VP", "观景点"), observer_height_m=1.6)], [Point(X0, Y0 + 2 * km)])
    return {
        "city_boundary": city,
        "counties": counties,
        "towns": towns,
        "town_areas": areas,
        "renewal_districts": renewal,
        "feature_streets": streets,
        "bays": bays,
        "coastline": coast,
        "coastal_zones": zones,
        "ridgelines": ridges,
        "hsr_corridor": hsr,
        "view_corridors": corridors,
        "viewpoints": viewpoints,
    }


def make_summary(units: gpd.GeoDataFrame, seed: int = 0) -> gpd.GeoDataFrame:
    """Return a coverage-summary-shaped frame over ``units`` (rates spread over all 5 classes)."""
    rng = np.random.default_rng(seed)
    n = len(units)
    out = units[["id", "name_zh", "geometry"]].copy()
    out["population"] = rng.integers(100, 5000, n).astype(float)
    out["n_origins"] = rng.integers(1, 50, n)
    for cat in ("clinic", "primary_school", "market"):
        out[f"rate_{cat}"] = np.linspace(0.05, 0.95, n)[rng.permutation(n)]
    out["rate_all_basic"] = np.linspace(0.1, 0.9, n)
    out["rate_all_basic_buffer"] = np.minimum(out["rate_all_basic"] + 0.1, 1.0)
    out["gap_all_basic"] = out["rate_all_basic_buffer"] - out["rate_all_basic"]
    return out


def make_results(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Return a results mapping like ``weihai-gis coverage --out`` writes (summary_hex, summary_<units>, ...)."""
    city = layers["city_boundary"].to_crs(ANALYSIS_CRS)
    x0, y0, x1, y1 = city.total_bounds
    cells = [box(x, y, x + 2000, y + 2000) for x in np.arange(x0, x1, 2000) for y in np.arange(y0, y1, 2000)]
    hexes = gpd.GeoDataFrame(
        {"id": [f"H{i}" for i in range(len(cells))], "name_zh": ""}, geometry=cells, crs=ANALYSIS_CRS
    )
    fac_pts = [
        Point(x0 + 1500 + 3100 * i % (x1 - x0 - 2000), y0 + 1000 + 1700 * i % (y1 - y0 - 2000))
        for i in range(60)
    ]
    facilities = gpd.GeoDataFrame(
        {
            "id": [f"F{i}" for i in range(60)],
            "name_zh": [f"设施{i}" for i in range(60)],
            "category": [("clinic", "market", "primary_school")[i % 3] for i in range(60)],
        },
        geometry=fac_pts,
        crs=ANALYSIS_CRS,
    )
    origins = gpd.GeoDataFrame(
        {"origin_id": [1, 2], "population": [10.0, 20.0]},
        geometry=[Point(X0, Y0), Point(X0 + 10, Y0)],
        crs=ANALYSIS_CRS,
    )
    return {
        "origins": origins,
        "facilities": facilities,
        "summary_hex": make_summary(hexes, 1),
        "summary_renewal_districts": make_summary(layers["renewal_districts"].to_crs(ANALYSIS_CRS), 2),
        "summary_counties": make_summary(layers["counties"].to_crs(ANALYSIS_CRS), 3),
    }


def make_violations(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Return a violations-shaped frame of three building footprints."""
    rows = [
        {
            "building_id": f"B{i}",
            "rule": "coastal_core",
            "rule_zh": "海岸带核心区限高",
            "limit_m": 24.0,
            "height_m": 24.0 + e,
            "excess_m": e,
            "zone": "core_setback",
        }
        for i, e in enumerate([5.0, 20.0, 45.0])
    ]
    geoms = [box(X0 + i * 300, Y0 + 7.7 * 1000, X0 + i * 300 + 40, Y0 + 7.7 * 1000 + 40) for i in range(3)]
    return _gdf(rows, geoms)
