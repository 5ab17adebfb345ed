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


#: Categories of the fixture results: two basic (全要素达标率 needs both) and one quality category.
CATEGORIES = pd.DataFrame(
    {
        "id": ["clinic", "primary_school", "market"],
        "name_zh": ["诊所", "小学", "菜市场"],
        "name_en": ["clinic", "primary school", "market"],
        "max_walk_m": [1000.0, 500.0, 500.0],
        "type": ["基础保障", "基础保障", "品质提升"],
        "citation": ["GB 50180-2018，附录B", "TD/T 1062-2021", ""],
        "verified": [True, False, False],
    }
)


def make_results(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    not_assessed: tuple[str, ...] = (),
    where: str = "weihai",
    units: tuple[str, ...] = ("renewal_districts", "counties"),
    seed: int = 0,
):
    """Return a real ``CoverageResult`` of synthetic per-origin flags over the city (no network needed).

    Origins lie on a 700 m grid over the city box; the chance that an origin is served grows from west to
    east, so hexagon and unit rates span all five rate classes. Categories in ``not_assessed`` have no
    facility (NaN rates). ``where="helsinki"`` moves everything to Helsinki (EPSG:3067), outside Weihai.
    """
    from weihai_gis.lifecircle import CoverageResult, InputRecord, RunMetadata

    city = layers["city_boundary"].to_crs(ANALYSIS_CRS)
    x0, y0, x1, y1 = city.total_bounds
    xs, ys = np.meshgrid(np.arange(x0 + 350, x1, 700.0), np.arange(y0 + 350, y1, 700.0))
    xs, ys = xs.ravel(), ys.ravel()
    rng = np.random.default_rng(seed)
    t = (xs - x0) / (x1 - x0)  # 0 in the west .. 1 in the east
    cols: dict[str, object] = {
        "origin_id": [f"O{i}" for i in range(len(xs))],
        "population": rng.integers(5, 200, len(xs)).astype(float),
        "reachable": rng.random(len(xs)) > 0.02,
        "unreachable_reason": "",
        "snap_m": rng.uniform(0, 50, len(xs)),
    }
    cols["unreachable_reason"] = np.where(cols["reachable"], "", "beyond max_snap_m")
    chance = {"clinic": t, "primary_school": 0.3 + 0.7 * t, "market": t**0.5}
    for _, cat in CATEGORIES.iterrows():
        cid = cat["id"]
        met = (rng.random(len(xs)) < chance[cid]) & cols["reachable"] & (cid not in not_assessed)
        cols[f"dist_{cid}"] = np.where(met, rng.uniform(0, cat["max_walk_m"], len(xs)), np.nan)
        cols[f"met_{cid}"] = met
        cols[f"met_buffer_{cid}"] = met | ((rng.random(len(xs)) < 0.3) & (cid not in not_assessed))
    basic = [c for c in ("clinic", "primary_school") if c not in not_assessed]
    for flag in ("met", "met_buffer"):
        cols[f"{flag}_all_basic"] = (
            np.logical_and.reduce([cols[f"{flag}_{c}"] for c in basic]) if basic else np.zeros(len(xs), bool)
        )
    origins = gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xs, ys), crs=ANALYSIS_CRS)
    fac_pts = [
        Point(x0 + 1500 + 3100 * i % (x1 - x0 - 2000), y0 + 1000 + 1700 * i % (y1 - y0 - 2000))
        for i in range(60)
    ]
    facilities = gpd.GeoDataFrame(
        {
            "id": [f"F{i}" for i in range(60)],
            "name": [f"设施{i}" for i in range(60)],
            "category": [("clinic", "market", "primary_school")[i % 3] for i in range(60)],
            "reachable": True,
            "unreachable_reason": "",
            "snap_m": 5.0,
        },
        geometry=fac_pts,
        crs=ANALYSIS_CRS,
    )
    facilities = facilities[~facilities["category"].isin(not_assessed)].reset_index(drop=True)
    categories = CATEGORIES.copy()
    counts = facilities["category"].value_counts()
    categories["n_facilities"] = [int(counts.get(c, 0)) for c in categories["id"]]
    categories["n_facilities_reachable"] = categories["n_facilities"]
    categories["assessed"] = categories["n_facilities"] > 0
    summary_units = {name: layers[name] for name in units}
    crs = ANALYSIS_CRS
    if where == "helsinki":
        shift = (385_000 - x0, 6_672_000 - y0)
        origins = origins.set_geometry(origins.geometry.translate(*shift)).set_crs(
            "EPSG:3067", allow_override=True
        )
        facilities = facilities.set_geometry(facilities.geometry.translate(*shift)).set_crs(
            "EPSG:3067", allow_override=True
        )
        summary_units, crs = {}, "EPSG:3067"
    status = "sample" if where == "helsinki" else "real"
    meta = RunMetadata(
        profile_name="gb50180-2018",
        hex_size_m=2000.0,
        crs=crs,
        network_summary={"source": "roads.gpkg", "nodes": 1234, "length_km": 56.7},
        inputs=(
            InputRecord("network", "roads.gpkg", status),
            InputRecord("facilities", "pois.csv", status),
            InputRecord("origins", "buildings.gpkg", "estimated" if status == "real" else status, "建筑估算"),
        ),
        source_label="测试数据 / test fixture",
    )
    return CoverageResult.build(origins, categories, facilities, meta, units=summary_units)


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
