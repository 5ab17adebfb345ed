"""Coverage on the shipped 山大哈工大 OSM extract: networkx oracle and the GCJ-02 offset detector on real streets.

These use the pbf shipped in the package (weihai_gis/data), so they run when ../shared is hidden.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from network_oracle import oracle_distances

from weihai_gis.crs import WEB_CRS, diagnose_offset, wgs84_to_bd09, wgs84_to_gcj02
from weihai_gis.errors import CoordinateOffsetError
from weihai_gis.facilities import read_facilities
from weihai_gis.lifecircle import coverage
from weihai_gis.lifecircle.engine import SEARCH_FACTOR
from weihai_gis.network import build_network, snap_points
from weihai_gis.samples import hitwh_inputs
from weihai_gis.standards import load_profile


@functools.cache
def _hitwh():
    inputs = hitwh_inputs()
    net = build_network(inputs.network)
    origins = inputs.origins.to_crs(net.crs)
    origins = origins.set_geometry(shapely.point_on_surface(origins.geometry.to_numpy()))
    return net, origins, inputs.facilities.to_crs(net.crs)


def test_engine_equals_networkx_oracle_for_every_building_and_category_on_hitwh():
    net, origins, facilities = _hitwh()
    res = coverage(net, origins, facilities, profile="gb50180-2018")
    prof = load_profile("gb50180-2018")
    o_snap = snap_points(net, origins)
    compared = 0
    for _, cat in prof.categories.iterrows():
        rows = facilities["category"].isin([*cat["kinds"], cat["id"]]).to_numpy()
        if not rows.any():
            assert res.origins[f"dist_{cat['id']}"].isna().all()  # not assessed
            continue
        f_snap = snap_points(net, facilities[rows])
        cutoff = float(cat["max_walk_m"])
        want = oracle_distances(net, o_snap, f_snap)
        met = res.origins[f"met_{cat['id']}"].to_numpy(dtype=bool)
        assert (met == (want <= cutoff)).all(), cat["id"]  # met: within the limit
        want = np.where(want <= SEARCH_FACTOR * cutoff, want, np.nan)  # dist: searched to twice the limit
        got = res.origins[f"dist_{cat['id']}"].to_numpy()
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0, err_msg=cat["id"])
        compared += int(np.isfinite(want).sum())
    assert len(origins) == 354 and compared > 1000  # every building, real distances, not just NaNs


def _pois_lonlat(facilities: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(facilities.to_crs(WEB_CRS).geometry.to_numpy())


def test_the_extracts_own_pois_and_buildings_pass_as_wgs84_on_its_streets():
    net, origins, facilities = _hitwh()
    for frame in (facilities, origins):
        xy = _pois_lonlat(frame)
        diag = diagnose_offset(xy[:, 0], xy[:, 1], net.edges_gdf())
        assert not diag.shifted and diag.best == "wgs84"


def test_the_same_pois_shifted_to_gcj02_are_refused_by_coverage():
    net, origins, facilities = _hitwh()
    xy = _pois_lonlat(facilities)
    lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    shifted = facilities.to_crs(WEB_CRS).set_geometry(gpd.points_from_xy(lon, lat, crs=WEB_CRS))
    diag = diagnose_offset(lon, lat, net.edges_gdf())
    # the dense campus grid defeats the median test (24 m true vs 30 m shifted); the near-street test decides
    assert diag.shifted and diag.best == "gcj02" and diag.near_share["gcj02"] > diag.near_share["wgs84"]
    with pytest.raises(CoordinateOffsetError, match="GCJ-02"):
        coverage(net, origins, shifted, profile="gb50180-2018")


def test_a_50k_point_layer_is_decided_on_its_sample_shifted_caught_and_true_passed():
    """A city's worth of origins near the extract's streets: the sample of OFFSET_SAMPLE decides both ways."""
    from weihai_gis.lifecircle.compute import OFFSET_SAMPLE, _check_offset
    from weihai_gis.network.snap import EdgeReference

    net, _, _ = _hitwh()
    rng = np.random.default_rng(11)
    lines = net.edge_series().to_numpy()
    n = 50_000
    at = shapely.line_interpolate_point(
        lines[rng.integers(0, len(lines), n)], rng.uniform(0, 1, n), normalized=True
    )
    xy = shapely.get_coordinates(at) + rng.normal(0, 10.0, (n, 2))  # front doors ~10 m off the street line
    true = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=net.crs).to_crs(WEB_CRS)
    lonlat = shapely.get_coordinates(true.geometry.to_numpy())
    lon, lat = wgs84_to_gcj02(lonlat[:, 0], lonlat[:, 1])
    shifted = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=WEB_CRS)
    assert n > 20 * OFFSET_SAMPLE
    edges = EdgeReference(net)
    assert _check_offset(true.to_crs(net.crs), net, edges, "origins", "error") == []
    with pytest.raises(CoordinateOffsetError, match="GCJ-02"):
        _check_offset(shifted.to_crs(net.crs), net, edges, "origins", "error")


def _export(facilities: gpd.GeoDataFrame, forward, path):
    """Write the extract's POIs as a lng/lat CSV in the datum ``forward`` converts WGS84 to."""
    xy = _pois_lonlat(facilities)
    lon, lat = forward(xy[:, 0], xy[:, 1])
    pd.DataFrame({"id": facilities["id"], "category": facilities["category"], "lng": lon, "lat": lat}).to_csv(
        path, index=False
    )
    return path


def test_real_pois_exported_as_bd09_read_as_gcj02_are_refused_naming_bd09(tmp_path):
    true, declared = "bd09", "gcj02"
    net, origins, facilities = _hitwh()
    forward = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
    csv = _export(facilities, forward[true], tmp_path / f"{true}.csv")
    wrong = read_facilities(csv, datum=declared, category_field="category")
    # the campus grid defeats the median test (BD-09 read as GCJ-02: 41 m vs 24 m); street nearness decides
    with pytest.raises(CoordinateOffsetError) as info:
        coverage(net, origins, wrong, profile="gb50180-2018")
    message = str(info.value)
    assert (
        f"{true}.csv" in message
        and f"--datum {true}" in message
        and f"with --datum {declared}" not in message
    )
    right = read_facilities(csv, datum=true, category_field="category")
    res = coverage(net, origins, right, profile="gb50180-2018")
    assert not any("datum" in w for w in res.warnings)


def test_buildings_read_in_their_own_datum_are_not_called_another_datum():
    # building centroids never sit on a street: the near-street test must not decide for them
    from weihai_gis.lifecircle.placement import declared_datum_mismatch

    net, origins, _ = _hitwh()
    xy = _pois_lonlat(origins)
    for datum in ("gcj02", "bd09"):
        # read in their own datum and converted to WGS84: the check gets the true positions back
        assert declared_datum_mismatch(xy, net.edges_gdf().geometry, datum) is None, datum


@functools.cache
def _job():
    from weihai_gis.jobs.coverage_job import run_coverage_job

    inputs = hitwh_inputs()
    net, res = run_coverage_job(inputs)
    return inputs, net, res


def test_edge_flags_mark_origins_within_each_cutoff_of_the_download_bounds():
    inputs, _, res = _job()
    o = res.origins
    box = gpd.GeoSeries([inputs.boundary], crs="EPSG:4326").to_crs(o.crs).iloc[0]
    # independent: shapely per point; a building whose point lies outside the bounds is at the edge (0 m)
    want = np.array([box.exterior.distance(p) if box.contains(p) else 0.0 for p in o.geometry])
    assert (want == 0).sum() >= 1
    np.testing.assert_allclose(o["edge_m"], want, atol=1e-6)
    for cid, limit in res.cutoffs_m.items():
        assert (o[f"edge_affected_{cid}"] == (want < limit)).all(), cid
    # the extract is ~2.4 × 2.1 km: every building is within 1000 m of its edge, but not within 300 m
    assert o["edge_affected_middle_school"].all() and not o["edge_affected_kindergarten"].all()


def test_interior_rates_are_population_weighted_over_origins_away_from_the_edge():
    _, _, res = _job()
    o, table = res.origins, res.overall().set_index("id")
    for cid in ("kindergarten", "bus_stop", "primary_school"):
        inside = ~o[f"edge_affected_{cid}"]
        pop = o.loc[inside, "population"]
        want = (pop * o.loc[inside, f"met_{cid}"]).sum() / pop.sum()
        assert table.loc[cid, "rate_network_interior"] == pytest.approx(want)
        assert table.loc[cid, "n_origins_interior"] == int(inside.sum())
    assert np.isnan(table.loc["middle_school", "rate_network_interior"])  # no interior origin at 1000 m
    assert np.isnan(table.loc["elderly_care", "rate_network_interior"])  # not assessed stays NaN


def test_interior_rates_per_unit_equal_a_per_origin_shapely_count():
    _, _, res = _job()
    o = res.origins
    x0, y0, x1, y1 = o.total_bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = [shapely.box(x0 - 1, y0 - 1, xm, ym), shapely.box(xm, y0 - 1, x1 + 1, ym)]
    boxes += [shapely.box(x0 - 1, ym, x1 + 1, y1 + 1), shapely.box(x1 + 10, y1 + 10, x1 + 20, y1 + 20)]
    units = gpd.GeoDataFrame({"id": list("ABCD"), "name_zh": list("甲乙丙丁")}, geometry=boxes, crs=o.crs)
    summary = res.with_units({"quads": units}).units["quads"].set_index("id")
    for uid, box in zip(units["id"], boxes, strict=True):
        within = np.array([box.contains(p) for p in o.geometry])  # a point on a shared side: in neither
        for cid in ("kindergarten", "bus_stop", "primary_school", "all_basic"):
            inside = within & ~o[f"edge_affected_{cid}"].to_numpy()
            pop = o["population"].to_numpy()[inside]
            got = summary.loc[uid, f"rate_interior_{cid}"]
            if pop.sum() > 0:
                assert got == pytest.approx((pop * o[f"met_{cid}"].to_numpy()[inside]).sum() / pop.sum())
            else:
                assert np.isnan(got), (uid, cid)
        assert summary.loc[uid, "n_origins_interior"] == int((within & ~o["edge_affected_all_basic"]).sum())
    assert summary.loc["D", "n_origins"] == 0 and summary.loc["D", "n_origins_interior"] == 0
    assert summary["rate_interior_elderly_care"].isna().all()  # not assessed stays NaN
    assert summary.loc[["A", "B", "C"], "rate_interior_kindergarten"].notna().any()


def test_problem_list_has_every_unmet_basic_category_with_network_beyond_the_limit_and_straight_below():
    _, net, res = _job()
    p, o = res.problems, res.origins
    basic = res.categories.loc[(res.categories["type"] == "基础保障") & res.categories["assessed"], "id"]
    want = sum(int((~o[f"met_{c}"]).sum()) for c in basic)
    assert len(p) == want > 0
    assert set(p["category"]) <= set(basic) and not set(p["category"]) & set(res.not_assessed())
    finite = p["dist_network_m"].notna()
    assert (p.loc[finite, "dist_network_m"] > p.loc[finite, "max_walk_m"]).all()  # out of reach
    # a walk is never shorter than the straight line between the same two points
    assert (p.loc[finite, "dist_straight_m"] <= p.loc[finite, "dist_network_m"] + 1e-6).all()
    assert (p["name"] != "").any()  # building names from OSM (e.g. 五公寓)
    # network distances beyond the limit agree with the networkx oracle for one category
    fac = res.facilities[res.facilities["category"] == "bus_stop"]
    rows = p[p["category"] == "bus_stop"]
    sub = o.set_index("origin_id").loc[rows["origin_id"]]
    got = rows["dist_network_m"].to_numpy()
    want = oracle_distances(net, snap_points(net, sub.geometry), snap_points(net, fac.geometry))
    want = np.where(want <= SEARCH_FACTOR * res.cutoffs_m["bus_stop"], want, np.nan)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_residents_left_out_per_category_sum_the_problem_list():
    _, _, res = _job()
    table = res.missing_by_category.set_index("category")
    for cid, rows in res.problems.groupby("category"):
        assert table.loc[cid, "population_left_out"] == pytest.approx(rows["population"].sum())
        inner = rows.loc[~rows["edge_affected"].astype(bool), "population"].sum()
        assert table.loc[cid, "population_left_out_interior"] == pytest.approx(inner)
    assert (table["share_left_out"] <= 1 + 1e-9).all()


def test_the_jobs_problem_list_from_one_search_equals_the_second_search_list():
    """Shipped extract: the list derived from the origins (one search per category) is the old two-search one."""
    from weihai_gis.lifecircle.problems import problem_list

    _, net, res = _job()
    assert res.lists_problems and res.problem_table is None
    old = problem_list(net, res.origins, res.categories, res.facilities, profile=res.profile_name)
    assert len(old) > 0 and (old["name"].astype(str) != "").any()
    pd.testing.assert_frame_equal(pd.DataFrame(res.problems), pd.DataFrame(old), check_exact=False, atol=1e-9)
