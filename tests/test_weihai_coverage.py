"""Coverage on data located in Weihai, the way a planner supplies it: road lines, an Amap POI export in
GCJ-02, population points; summarised by the embedded renewal districts, town areas and counties.

The street grid, POIs and residents are generated (no Weihai streets or POIs exist offline); the planning
units are the shipped ones. Oracles: unit rates recomputed from the origins with a shapely/geopandas spatial
join; facility positions converted back from GCJ-02 against the positions they were generated at.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.crs import ANALYSIS_CRS, STORAGE_CRS, wgs84_to_gcj02
from weihai_gis.layers import load_layers

CENTRE = (122.113, 37.5002)  # the indicative 卫城—金线顶 district (RD04) in central Weihai
SPACING_M, N_LINES = 250.0, 13
AMAP_KINDS = {  # Amap typecode, type text, how many
    "primary_school": ("141203", "科教文化服务;学校;小学", 3),
    "middle_school": ("141202", "科教文化服务;学校;中学", 2),
    "convenience": ("060200", "购物服务;便民商店/便利店;便民商店/便利店", 8),
    "bus_stop": ("150700", "交通设施服务;公交车站;公交车站相关", 10),
}


@pytest.fixture(scope="module")
def weihai_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weihai")
    rng = np.random.default_rng(42)
    to_m = pyproj.Transformer.from_crs("EPSG:4326", ANALYSIS_CRS, always_xy=True)
    cx, cy = to_m.transform(*CENTRE)
    half = SPACING_M * (N_LINES - 1) / 2
    ticks = np.linspace(-half, half, N_LINES)
    lines = [shapely.LineString([(cx + t, cy + u) for u in ticks]) for t in ticks]  # a vertex at every
    lines += [shapely.LineString([(cx + u, cy + t) for u in ticks]) for t in ticks]  # crossing: one network
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=ANALYSIS_CRS)
    roads.to_crs(STORAGE_CRS).to_file(folder / "roads.gpkg", layer="roads")

    rows, true_xy = [], []
    for kind, (code, text, count) in AMAP_KINDS.items():
        for i in range(count):
            line = lines[rng.integers(len(lines))]
            p = line.interpolate(rng.uniform(0, line.length))
            p = shapely.Point(p.x + rng.uniform(-12, 12), p.y + rng.uniform(-12, 12))
            true_xy.append((p.x, p.y))
            rows.append({"id": f"{kind}-{i}", "name": f"{kind} {i}", "type": text, "typecode": code})
    true = gpd.GeoSeries(gpd.points_from_xy(*np.array(true_xy).T), crs=ANALYSIS_CRS).to_crs("EPSG:4326")
    glon, glat = wgs84_to_gcj02(true.x.to_numpy(), true.y.to_numpy())
    pois = pd.DataFrame(rows).assign(location=[f"{x:.6f},{y:.6f}" for x, y in zip(glon, glat, strict=True)])
    pois.to_csv(folder / "amap_pois.csv", index=False, encoding="utf-8-sig")

    xy = rng.uniform(-half, half, size=(400, 2)) + np.array([cx, cy])
    origins = gpd.GeoDataFrame(
        {"population": rng.integers(10, 200, 400).astype(float)},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=ANALYSIS_CRS,
    )
    origins.to_crs(STORAGE_CRS).to_file(folder / "residents.gpkg", layer="residents")
    return folder, true.set_axis(pois["id"])


@pytest.fixture(scope="module")
def demo_run(weihai_inputs):
    folder, _ = weihai_inputs
    out = folder / "out"
    args = [
        "-q", "demo", "--network", str(folder / "roads.gpkg"), "--facilities", str(folder / "amap_pois.csv"),
        "--mapping", "amap", "--datum", "gcj02", "--origins", str(folder / "residents.gpkg"), "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_weihai_run_is_summarised_by_the_embedded_planning_units(demo_run):
    out, output = demo_run
    assert "supplied inputs" in output and "SAMPLE" not in output
    layers = pyogrio.list_layers(out / "coverage.gpkg")[:, 0].tolist()
    assert {"summary_renewal_districts", "summary_town_areas", "summary_counties"} <= set(layers)


@pytest.mark.parametrize("unit", ["renewal_districts", "counties", "town_areas"])
def test_unit_rates_equal_a_spatial_join_of_the_origins(demo_run, unit):
    out, _ = demo_run
    origins = pyogrio.read_dataframe(out / "coverage.gpkg", layer="origins")
    summary = pyogrio.read_dataframe(out / "coverage.gpkg", layer=f"summary_{unit}").set_index("id")
    units = load_layers()[unit].to_crs(origins.crs)
    joined = gpd.sjoin(origins, units[["id", "geometry"]], predicate="within")
    assert len(joined), f"no generated resident falls in any {unit}"
    for uid, group in joined.groupby("id"):
        pop = group["population"]
        assert summary.loc[uid, "population"] == pytest.approx(pop.sum())
        for cat in ("primary_school", "bus_stop", "convenience"):
            want = (pop * group[f"met_{cat}"]).sum() / pop.sum()
            assert summary.loc[uid, f"rate_{cat}"] == pytest.approx(want), (unit, uid, cat)


def test_amap_gcj02_positions_come_back_within_half_a_metre(weihai_inputs, demo_run):
    _, true = weihai_inputs
    out, _ = demo_run
    fac = pyogrio.read_dataframe(out / "coverage.gpkg", layer="facilities").to_crs("EPSG:4326")
    fac = fac.set_index("id").loc[true.index]
    geod = pyproj.Geod(ellps="WGS84")
    _, _, err = geod.inv(
        true.x.to_numpy(), true.y.to_numpy(), fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()
    )
    assert err.max() < 0.5


def test_amap_export_read_without_its_datum_is_refused(weihai_inputs, tmp_path):
    folder, _ = weihai_inputs
    args = [
        "demo", "--network", str(folder / "roads.gpkg"), "--facilities", str(folder / "amap_pois.csv"),
        "--mapping", "amap", "--origins", str(folder / "residents.gpkg"), "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "GCJ02-shifted" in result.output and "--datum gcj02" in result.output
    assert not (tmp_path / "out" / "coverage.gpkg").exists()


def test_coverage_map_opens_on_the_populated_area_not_the_whole_city(demo_run):
    import re

    out, _ = demo_run
    page = (out / "coverage_map.html").read_text(encoding="utf-8")
    number = r"-?[0-9.]+"
    calls = re.findall(rf"\.fitBounds\(\s*(\[\[{number}, {number}\], \[{number}, {number}\]\])", page)
    (south, west), (north, east) = json.loads(calls[-1])  # folium's own call, after the Leaflet library
    origins = pyogrio.read_dataframe(out / "coverage.gpkg", layer="origins").to_crs("EPSG:4326")
    x0, y0, x1, y1 = origins.total_bounds
    assert west <= x0 and east >= x1 and south <= y0 and north >= y1  # every resident is in view
    assert (east - west) < 3 * (x1 - x0) and (north - south) < 3 * (y1 - y0)  # and the view is not the city


def test_each_resident_gets_the_profile_of_its_town_type():
    import yaml

    import weihai_gis
    from weihai_gis.lifecircle import assign_profiles

    layers = load_layers()
    city = layers.city_boundary.to_crs(ANALYSIS_CRS).geometry.iloc[0]
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = city.bounds
    pts = [shapely.Point(x, y) for x, y in rng.uniform((x0, y0), (x1, y1), size=(600, 2))]
    pts = [p for p in pts if city.contains(p)][:200]
    origins = gpd.GeoDataFrame(geometry=pts, crs=ANALYSIS_CRS)
    got = assign_profiles(origins, layers.town_areas, layers.towns)
    # oracle: a plain loop over the areas and the YAML table read directly
    config = yaml.safe_load(
        (Path(weihai_gis.__file__).parent / "standards" / "coverage-config.yaml").read_text()
    )
    table = config["town_type_profile"]
    areas = layers.town_areas.to_crs(ANALYSIS_CRS)
    towns = layers.towns.set_index("id")
    for i, p in enumerate(pts):
        hit = [tid for tid, geom in zip(areas["id"], areas.geometry, strict=True) if geom.contains(p)]
        if not hit:
            expected = table["unassigned"]
        else:
            town = towns.loc[hit[0]]
            expected = table["n/a"] if town["kind"] == "street" else table[town["town_type"]]
        assert got.iloc[i] == expected, (i, hit)
    assert got.nunique() == 2  # both urban and rural standards apply somewhere in Weihai


def test_coverage_by_town_type_partitions_the_residents(weihai_inputs):
    from weihai_gis.facilities import read_facilities
    from weihai_gis.lifecircle import assign_profiles, coverage_by_town_type
    from weihai_gis.network import build_network
    from weihai_gis.population import origins_from_points

    folder, _ = weihai_inputs
    layers = load_layers()
    net = build_network(folder / "roads.gpkg")
    fac = read_facilities(folder / "amap_pois.csv", mapping="amap", datum="gcj02")
    origins = origins_from_points(folder / "residents.gpkg")
    results = coverage_by_town_type(net, origins, fac, town_areas=layers.town_areas, towns=layers.towns)
    profiles = assign_profiles(origins, layers.town_areas, layers.towns)
    assert set(results) == set(profiles)
    assert sum(len(r.origins) for r in results.values()) == len(origins)
    for name, res in results.items():
        assert res.profile_name == name
        assert res.origins["population"].sum() == pytest.approx(
            origins.loc[profiles == name, "population"].sum()
        )


def test_main_job_reports_each_town_by_the_standard_of_its_type(demo_run):
    import yaml

    import weihai_gis

    out, _ = demo_run
    table = pd.read_csv(out / "coverage_by_town_type.csv", dtype={"id": str})
    config = yaml.safe_load(
        (Path(weihai_gis.__file__).parent / "standards" / "coverage-config.yaml").read_text()
    )
    layers = load_layers()
    towns = layers.towns.set_index("id")
    origins = pyogrio.read_dataframe(out / "coverage.gpkg", layer="origins")
    joined = gpd.sjoin(origins, layers.town_areas.to_crs(origins.crs)[["id", "geometry"]], predicate="within")
    assert len(table) == joined["id"].nunique() > 0
    for row in table.itertuples():
        town = towns.loc[row.id]
        kind_type = "n/a" if town["kind"] == "street" else town["town_type"]
        assert row.profile == config["town_type_profile"][kind_type]
        assert row.population == pytest.approx(joined.loc[joined["id"] == row.id, "population"].sum())
        assert row.unit_status == "approximate" and "已评估" in row.all_basic_scope
