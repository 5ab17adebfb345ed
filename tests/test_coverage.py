"""Coverage engine: networkx oracle on real Helsinki OSM data, invariants, edge cases."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from network_oracle import oracle_distances

from weihai_gis.errors import StandardsError
from weihai_gis.facilities import facilities_from_osm
from weihai_gis.lifecircle import NetworkIndex, coverage, nearest_distance_m
from weihai_gis.network import build_network, sample_osm_path, snap_points
from weihai_gis.population import origins_from_buildings
from weihai_gis.standards import load_profile


@functools.cache
def _sample():
    from pyrosm import OSM

    path = sample_osm_path()
    net = build_network(path)
    origins = origins_from_buildings(OSM(str(path)).get_buildings()).to_crs(net.crs)
    origins = origins.set_geometry(origins.geometry.representative_point())
    facilities = facilities_from_osm(path).to_crs(net.crs)
    return net, origins, facilities


@pytest.mark.parametrize("kind", ["bus_stop", "convenience", "restaurant"])
def test_engine_equals_networkx_oracle_on_helsinki(kind):
    net, origins, facilities = _sample()
    rng = np.random.default_rng(7)
    sample = origins.iloc[np.sort(rng.choice(len(origins), 120, replace=False))]
    fac = facilities[facilities["category"] == kind]
    o_snap = snap_points(net, sample)
    f_snap = snap_points(net, fac)
    cutoff = 800.0
    got = nearest_distance_m(NetworkIndex(net), o_snap, f_snap, max_walk_m=cutoff)
    want = oracle_distances(net, o_snap, f_snap)
    want = np.where(want <= cutoff, want, np.nan)
    assert np.isfinite(want).sum() > 20
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_same_edge_direct_path_beats_detour_through_end_nodes(tmp_path):
    line = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(0, 0), (1000, 0)]), shapely.LineString([(1000, 0), (1000, 50)])],
        crs="EPSG:4550",
    )
    path = tmp_path / "l.gpkg"
    line.to_file(path)
    net = build_network(path, crs="EPSG:4550")
    o = snap_points(net, gpd.GeoSeries([shapely.Point(400, 5)], crs="EPSG:4550"), min_component_nodes=1)
    f = snap_points(net, gpd.GeoSeries([shapely.Point(450, -7)], crs="EPSG:4550"), min_component_nodes=1)
    got = nearest_distance_m(NetworkIndex(net), o, f, max_walk_m=2000)
    assert got[0] == pytest.approx(50 + 5 + 7, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 12), cutoff=st.floats(20, 400))
def test_engine_equals_networkx_oracle_with_many_points_per_edge(seed, n_fac, cutoff):
    """Few edges, many origins and facilities: same-edge direct paths and duplicate source targets."""
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 5, size=(7, 2)).astype(float) * 60.0
    u, v = rng.integers(0, 7, 12), rng.integers(0, 7, 12)
    keep = u != v
    u, v = u[keep], v[keep]
    if not len(u):
        return
    frame = gpd.GeoDataFrame(
        {"u": u, "v": v, "highway": "footway"},
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs="EPSG:4550",
    )
    from weihai_gis.network import WalkNetwork

    net = WalkNetwork.from_segments(frame, crs="EPSG:4550", source="random")
    pts = gpd.GeoSeries(shapely.points(rng.uniform(-20, 260, size=(40 + n_fac, 2))), crs="EPSG:4550")
    o_snap = snap_points(net, pts.iloc[:40], max_snap_m=1e6, min_component_nodes=1)
    f_snap = snap_points(net, pts.iloc[40:], max_snap_m=1e6, min_component_nodes=1)
    index = NetworkIndex(net)
    got = nearest_distance_m(index, o_snap, f_snap, max_walk_m=cutoff)
    want = oracle_distances(net, o_snap, f_snap)
    want = np.where(want <= cutoff, want, np.nan)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    # the index is reused: another category in between leaves no trace in the reserved source row
    nearest_distance_m(index, o_snap, f_snap.take([0]), max_walk_m=cutoff)
    again = nearest_distance_m(index, o_snap, f_snap.take(np.arange(n_fac)[::-1]), max_walk_m=cutoff)
    np.testing.assert_allclose(again, got, atol=1e-9, rtol=0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000), extra=st.integers(1, 5), cutoff=st.floats(100, 900), grow=st.floats(0, 500)
)
def test_coverage_never_drops_when_adding_facilities_or_growing_cutoff(seed, extra, cutoff, grow):
    net, origins, facilities = _sample()
    rng = np.random.default_rng(seed)
    base_rows = rng.choice(len(facilities), 5, replace=False)
    more_rows = np.concatenate([base_rows, rng.choice(len(facilities), extra, replace=False)])
    index = NetworkIndex(net)
    o = snap_points(net, origins)
    f_all = snap_points(net, facilities)

    def dist(rows, cut):
        return nearest_distance_m(index, o, f_all.take(rows), max_walk_m=cut)

    base = dist(base_rows, cutoff)
    more = dist(more_rows, cutoff)
    longer = dist(base_rows, cutoff + grow)
    assert (np.isfinite(more) >= np.isfinite(base)).all()
    assert (np.nan_to_num(more, nan=np.inf) <= np.nan_to_num(base, nan=np.inf) + 1e-9).all()
    assert (np.isfinite(longer) >= np.isfinite(base)).all()
    # network distance is never shorter than the straight line to the nearest facility
    fx = shapely.get_coordinates(facilities.geometry.to_numpy()[more_rows])
    ox_ = shapely.get_coordinates(origins.geometry.to_numpy())
    straight = np.sqrt(((ox_[:, None, :] - fx[None, :, :]) ** 2).sum(-1)).min(axis=1)
    ok = np.isfinite(more)
    assert (more[ok] >= straight[ok] - 1e-6).all()


def test_result_columns_rates_and_unreachable_counts():
    net, origins, facilities = _sample()
    far = origins.iloc[[0]].copy()  # a household 5 km off the network: unreachable, never a made-up distance
    far["geometry"] = far.geometry.to_crs(net.crs).translate(5000, 5000).to_crs(far.crs)
    far["origin_id"] = "far"  # its own id: results join back one to one
    origins = pd.concat([origins, far], ignore_index=True)
    res = coverage(net, origins, facilities, profile="gb50180-2018")
    o = res.origins
    assert str(o.crs) == net.crs
    for cid in res.category_ids:
        assert {f"dist_{cid}", f"met_{cid}", f"met_buffer_{cid}"} <= set(o.columns)
    assert (~o["reachable"]).any() and o.loc[~o["reachable"], "unreachable_reason"].notna().all()
    assert o.loc[~o["reachable"], [f"dist_{c}" for c in res.category_ids]].isna().all().all()
    # the buffer never reports less coverage than the network
    assert (o["met_buffer_all_basic"] | ~o["met_all_basic"]).all()
    hexes = res.hex_summary(300)
    assert hexes["population"].sum() == pytest.approx(o["population"].sum())
    assert hexes["n_unreachable"].sum() == (~o["reachable"]).sum()
    pop = o["population"]
    want = (pop * o["met_bus_stop"]).sum() / pop.sum()
    assert res.overall().set_index("id").loc["bus_stop", "rate_network"] == pytest.approx(want)
    units = gpd.GeoDataFrame(
        {"id": ["all"], "name_zh": ["全部"]}, geometry=[shapely.box(*o.total_bounds).buffer(10)], crs=o.crs
    )
    s = res.summary(units)
    assert s.loc[0, "rate_bus_stop"] == pytest.approx(want)
    assert s.loc[0, "gap_all_basic"] == pytest.approx(
        s.loc[0, "rate_buffer_all_basic"] - s.loc[0, "rate_all_basic"]
    )


def test_empty_category_gives_nan_and_a_warning():
    net, origins, facilities = _sample()
    res = coverage(net, origins, facilities, profile="gb50180-2018")
    assert res.origins["dist_police"].isna().all()
    assert any("police" in w for w in res.warnings)
    assert np.isnan(res.overall().set_index("id").loc["police", "rate_network"])


def test_unknown_facility_category_raises_standards_error_listing_values():
    net, origins, facilities = _sample()
    bad = facilities.head(3).assign(category=["bus_stop", "菜场", "菜场"])
    with pytest.raises(StandardsError, match="'菜场' \\(2 rows\\)"):
        coverage(net, origins, bad)


def test_off_network_origin_is_unreachable_with_reason_not_a_distance():
    net, origins, facilities = _sample()
    far = origins.head(12).copy()  # 2 of 12 moved off the network: a warning, not a refusal
    far.geometry = far.geometry.where(np.arange(12) >= 2, far.geometry.translate(0, 5000))
    res = coverage(net, far, facilities, profile="mofcom-15min")
    moved = res.origins.iloc[:2]
    assert not moved["reachable"].any()
    assert moved["unreachable_reason"].str.startswith("snap distance").all()
    assert moved["dist_convenience"].isna().all()
    assert any("2 of 12 points (17%) lie more than 2 km outside" in w for w in res.warnings)


def test_empty_facility_layer_gives_all_nan_and_one_warning_per_category():
    net, origins, facilities = _sample()
    res = coverage(net, origins, facilities.iloc[0:0], profile="complete-community")
    dist = res.origins[[f"dist_{c}" for c in res.category_ids]]
    assert dist.isna().all().all()
    assert sum("no facilities" in w for w in res.warnings) == len(res.category_ids)
    assert not res.origins["met_all_basic"].any()
    assert not res.categories["assessed"].any()
    all_basic = res.overall().set_index("id").loc["all_basic"]
    assert np.isnan(all_basic["rate_network"]) and np.isnan(all_basic["rate_buffer"])


# --- categories not assessed (no facility of the kind in the input) ----------------------------------------


def _assessed_oracle(facilities, profile="gb50180-2018"):
    """Category id -> True when the input holds a facility of a kind serving it (from the profile's kinds)."""
    cats = load_profile(profile).categories
    return {
        row["id"]: bool(facilities["category"].isin({*row["kinds"], row["id"]}).any())
        for _, row in cats.iterrows()
    }


def _basic_ids(profile="gb50180-2018"):
    cats = load_profile(profile).categories
    return cats.loc[cats["type"] == "基础保障", "id"].tolist()


def _without_parcel(facilities):
    """The sample without its post offices: 快递送达设施 (parcel) becomes unassessed, all-basic rises above 0."""
    return facilities[~facilities["category"].isin(["post", "parcel"])]


def _with(facilities, category, point):
    extra = gpd.GeoDataFrame({"category": [category]}, geometry=[point], crs=facilities.crs)
    return pd.concat([facilities, extra], ignore_index=True)


def _weighted(origins, flag):
    pop = origins["population"]
    return (pop * origins[flag]).sum() / pop.sum()


@pytest.mark.parametrize("drop_parcel", [False, True])
def test_all_basic_met_is_the_and_over_the_assessed_basic_categories(drop_parcel):
    net, origins, facilities = _sample()
    fac = _without_parcel(facilities) if drop_parcel else facilities
    res = coverage(net, origins, fac, profile="gb50180-2018")
    assessed = _assessed_oracle(fac)
    basic = [c for c in _basic_ids() if assessed[c]]
    assert 0 < len(basic) < len(_basic_ids())  # the sample lacks some basic kinds (kindergarten, police ...)
    o = res.origins
    want = o[[f"met_{c}" for c in basic]].all(axis=1) & o["reachable"]
    want_buffer = o[[f"met_buffer_{c}" for c in basic]].all(axis=1)
    assert (o["met_all_basic"] == want).all() and (o["met_buffer_all_basic"] == want_buffer).all()
    assert res.categories.set_index("id")["assessed"].to_dict() == assessed
    table = res.overall().set_index("id")
    assert table.loc["all_basic", "rate_network"] == pytest.approx(_weighted(o, "met_all_basic"))
    assert table.loc["all_basic", "rate_buffer"] == pytest.approx(_weighted(o, "met_buffer_all_basic"))
    assert (
        table.loc["all_basic", "name_zh"]
        == f"全要素达标率（已评估 {len(basic)}/{len(_basic_ids())} 类基础保障）"
    )
    if drop_parcel:  # the AND over fewer categories is not empty here: the rate is a real, positive share
        assert table.loc["all_basic", "rate_network"] > 0


def test_unassessed_categories_have_nan_rates_everywhere_and_are_named_in_the_warnings():
    net, origins, facilities = _sample()
    fac = _without_parcel(facilities)
    res = coverage(net, origins, fac, profile="gb50180-2018")
    missing = [c for c, ok in _assessed_oracle(fac).items() if not ok]
    assert "parcel" in missing and "police" in missing
    units = gpd.GeoDataFrame(
        {"id": ["all"], "name_zh": ["全部"]},
        geometry=[shapely.box(*res.origins.total_bounds).buffer(10)],
        crs=res.origins.crs,
    )
    table = res.overall().set_index("id")
    for frame in (res.summary(units), res.hex_summary(300)):
        for cid in missing:
            assert frame[f"rate_{cid}"].isna().all() and frame[f"rate_buffer_{cid}"].isna().all()
        assert frame["rate_bus_stop"].notna().any()
    for cid in missing:
        assert np.isnan(table.loc[cid, "rate_network"]) and not table.loc[cid, "assessed"]
        assert not res.origins[f"met_{cid}"].any() and res.origins[f"dist_{cid}"].isna().all()
    assert table.loc["bus_stop", "assessed"] and table.loc["all_basic", "assessed"]
    note = next(w for w in res.warnings if w.startswith("全要素达标率只计已评估"))
    names = load_profile("gb50180-2018").categories.set_index("id")["name_zh"]
    assert all(names[c] in note and c in note for c in missing)
    assert "bus_stop" not in note


def test_no_basic_category_assessed_gives_no_all_basic_met_a_nan_rate_and_a_warning():
    net, origins, facilities = _sample()
    banks = facilities[facilities["category"] == "bank"]  # serves only bank_post (品质提升)
    res = coverage(net, origins, banks, profile="gb50180-2018")
    assert not res.origins["met_all_basic"].any() and not res.origins["met_buffer_all_basic"].any()
    table = res.overall().set_index("id")
    assert np.isnan(table.loc["all_basic", "rate_network"]) and not table.loc["all_basic", "assessed"]
    assert table.loc["bank_post", "rate_network"] > 0
    assert table.loc["all_basic", "name_zh"] == f"全要素达标率（已评估 0/{len(_basic_ids())} 类基础保障）"
    assert any("全要素达标率无法评估" in w for w in res.warnings)


@functools.cache
def _base_without_parcel():
    net, origins, facilities = _sample()
    return coverage(net, origins, _without_parcel(facilities), profile="gb50180-2018")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pick=st.integers(0, 10_000), first=st.sampled_from(["parcel", "police"]))
def test_first_facility_of_a_category_makes_it_assessed_and_can_only_lower_all_basic(pick, first):
    net, origins, facilities = _sample()
    base = _base_without_parcel()
    assert not base.categories.set_index("id").loc[first, "assessed"]
    where = origins.geometry.iloc[pick % len(origins)]
    res = coverage(net, origins, _with(_without_parcel(facilities), first, where), profile="gb50180-2018")
    assert res.categories.set_index("id").loc[first, "assessed"]
    old, new = base.origins, res.origins
    # the new category joins the AND; nothing else changes
    assert (new["met_all_basic"] == (old["met_all_basic"] & new[f"met_{first}"])).all()
    assert (new["met_buffer_all_basic"] == (old["met_buffer_all_basic"] & new[f"met_buffer_{first}"])).all()
    assert (new["met_all_basic"] <= old["met_all_basic"]).all()
    assert new[f"met_{first}"].any()  # an origin sits on the new facility: the category is really covered


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pick=st.integers(0, 10_000), kind=st.sampled_from(["toilet", "park", "convenience", "community_service"])
)
def test_another_facility_of_an_assessed_category_never_lowers_any_rate(pick, kind):
    net, origins, facilities = _sample()
    base = _base_without_parcel()
    where = origins.geometry.iloc[pick % len(origins)]
    res = coverage(net, origins, _with(_without_parcel(facilities), kind, where), profile="gb50180-2018")
    assert (res.categories["assessed"] == base.categories["assessed"]).all()
    for flag in ["met_all_basic", "met_buffer_all_basic"] + [f"met_{c}" for c in base.category_ids]:
        assert (res.origins[flag] >= base.origins[flag]).all(), flag
    old, new = base.overall(), res.overall()
    same_nan = old["rate_network"].isna() == new["rate_network"].isna()
    assert same_nan.all()
    assert (new["rate_network"].fillna(0) >= old["rate_network"].fillna(0) - 1e-12).all()
    assert (new["rate_buffer"].fillna(0) >= old["rate_buffer"].fillna(0) - 1e-12).all()
