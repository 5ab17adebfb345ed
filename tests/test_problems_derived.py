"""The 问题清单 derived from the origins of one search per category equals the old two-search list.

Oracles: :func:`~weihai_gis.lifecircle.problems.problem_list` (the second search per category, to twice the
limit, of the earlier versions, kept for walker-group runs), networkx distances, a pandas melt of the origin columns, and
GDAL (pyogrio) reading the GeoPackage view.
"""

from __future__ import annotations

import dataclasses
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from grid_network import CRS, X0, Y0, grid_network
from hypothesis import given, settings
from hypothesis import strategies as st
from network_oracle import oracle_distances

from weihai_gis.io.results import read_results, write_results
from weihai_gis.lifecircle.compute import coverage
from weihai_gis.lifecircle.edge import edge_flags
from weihai_gis.lifecircle.engine import SEARCH_FACTOR
from weihai_gis.lifecircle.problems import (
    PROBLEM_COLUMNS,
    missing_by_category,
    missing_from_origins,
    problem_list,
    problems_from_origins,
    problems_head,
)
from weihai_gis.network import snap_points
from weihai_gis.standards import load_profile

PROFILE = "gb50180-2018"
KINDS = ["kindergarten", "primary_school", "health_station", "bus_stop", "market", "police"]


def _run(seed: int, n_origins: int = 200, n_fac: int = 8, grid: int = 12, spacing: float = 100.0):
    """A coverage run on a grid (some origins off the network), with names and data-edge flags."""
    net = grid_network(grid, spacing)
    rng = np.random.default_rng(seed)
    span = (grid - 1) * spacing
    xy = rng.uniform(-150, span + 150, (n_origins, 2)) + np.array([X0, Y0])
    xy[:3] += 3000.0  # off the network: unreachable, listed with a reason and no network distance
    origins = gpd.GeoDataFrame(
        {"origin_id": [f"b{i}" for i in range(n_origins)], "population": rng.integers(1, 40, n_origins)},
        geometry=shapely.points(xy),
        crs=CRS,
    )
    facilities = gpd.GeoDataFrame(
        {"category": rng.choice(KINDS, n_fac)},
        geometry=shapely.points(rng.uniform(0, span, (n_fac, 2)) + np.array([X0, Y0])),
        crs=CRS,
    )
    res = coverage(net, origins, facilities, profile=PROFILE, offset_check="off")
    box = shapely.box(X0 - 100, Y0 - 100, X0 + span + 100, Y0 + span + 100)
    flagged = edge_flags(res.origins, res.categories, box, boundary_crs=CRS)
    named = flagged.assign(name=[f"楼{i}" if i % 3 else "" for i in range(n_origins)])
    return net, dataclasses.replace(res, origins=named, lists_problems=True)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as plain strings (NULL reason as ""), no geometry: the comparable part of a list."""
    out = pd.DataFrame(frame).drop(columns="geometry").reset_index(drop=True)
    for col in ("origin_id", "name", "category", "category_zh", "unreachable_reason"):
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    out["edge_affected"] = out["edge_affected"].astype(bool)
    return out


def test_one_search_per_category_gives_the_two_search_list_row_for_row():
    net, res = _run(3)
    derived = res.problems
    old = problem_list(net, res.origins, res.categories, res.facilities, profile=PROFILE)
    assert list(derived.columns) == list(PROBLEM_COLUMNS) == list(old.columns)
    assert len(derived) > 300 and derived["dist_network_m"].notna().any()
    assert derived["dist_network_m"].isna().any()  # the unreachable origins
    pd.testing.assert_frame_equal(pd.DataFrame(derived), pd.DataFrame(old), check_exact=False, atol=1e-9)
    assert shapely.equals(derived.geometry.to_numpy(), old.geometry.to_numpy()).all()
    assert isinstance(derived["origin_id"].dtype, pd.CategoricalDtype)  # codes, not a string per row
    assert derived["edge_affected"].any() and not derived["edge_affected"].all()
    assert (derived["name"].astype(str) != "").any()


def test_derived_distances_equal_networkx_up_to_the_search_radius():
    net, res = _run(11, grid=24, spacing=100.0, n_fac=6)  # 2.3 km across: some nearest beyond the reach
    p, o = res.problems, res.origins.set_index("origin_id")
    beyond = 0
    for cid, rows in p.groupby("category", observed=True):
        kinds = {cid, *load_profile(PROFILE).categories.set_index("id").at[cid, "kinds"]}
        fac = res.facilities[res.facilities["category"].isin(kinds)]
        ids = rows["origin_id"].astype(str).to_numpy()
        want = oracle_distances(net, snap_points(net, o.loc[ids].geometry), snap_points(net, fac.geometry))
        limit = float(rows["max_walk_m"].iloc[0])
        assert (want > limit).all(), cid  # listed = out of reach
        reach = SEARCH_FACTOR * limit
        np.testing.assert_allclose(
            rows["dist_network_m"].to_numpy(float),
            np.where(want <= reach, want, np.nan),
            atol=1e-6,
            rtol=0,
        )
        beyond += int((np.isfinite(want) & (want > reach)).sum())
    assert beyond > 0  # the NaN beyond the search radius is exercised


def test_an_origin_at_1_5_times_the_limit_gets_its_distance_and_one_at_2_5_times_gets_nan():
    net = grid_network(12, 100.0)
    limit = float(load_profile(PROFILE).categories.set_index("id").at["kindergarten", "max_walk_m"])
    # along the grid's bottom street (y = Y0) from a kindergarten at its west end: network = straight line
    xs = np.array([0.5, 1.5, 2.5]) * limit
    origins = gpd.GeoDataFrame(
        {"origin_id": ["in", "near", "far"], "population": [1, 1, 1]},
        geometry=shapely.points(X0 + xs, np.full(3, Y0)),
        crs=CRS,
    )
    facilities = gpd.GeoDataFrame({"category": ["kindergarten"]}, geometry=[shapely.Point(X0, Y0)], crs=CRS)
    res = coverage(net, origins, facilities, profile=PROFILE, offset_check="off")
    np.testing.assert_allclose(res.origins["dist_kindergarten"], [xs[0], xs[1], np.nan], atol=1e-9)
    assert res.origins["met_kindergarten"].tolist() == [True, False, False]
    assert res.meta.options["search_factor"] == SEARCH_FACTOR == 2.0
    assert (
        res.search_reach_m["kindergarten"] == res.meta.options["search_reach_m"]["kindergarten"] == 2 * limit
    )
    listed = problems_from_origins(res.origins, res.categories).set_index("origin_id").loc[["near", "far"]]
    listed = listed[listed["category"] == "kindergarten"]
    np.testing.assert_allclose(listed["dist_network_m"], [xs[1], np.nan], atol=1e-9)
    # limit-only mode: both beyond the limit are NaN; a factor below 1 would not even give the coverage
    only = coverage(net, origins, facilities, profile=PROFILE, offset_check="off", search_factor=1)
    np.testing.assert_allclose(only.origins["dist_kindergarten"], [xs[0], np.nan, np.nan], atol=1e-9)
    assert only.search_reach_m["kindergarten"] == limit
    with pytest.raises(ValueError, match="search factor"):
        coverage(net, origins, facilities, profile=PROFILE, offset_check="off", search_factor=0.5)


def _melt(origins: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """The slow obvious list: one frame per assessed basic category of the origins not meeting it."""
    cats = categories[(categories["type"] == "基础保障") & categories["assessed"]]
    frames = []
    for _, cat in cats.iterrows():
        cid = cat["id"]
        left = origins[~origins[f"met_{cid}"].astype(bool)]
        edge = f"edge_affected_{cid}"
        frames.append(
            pd.DataFrame(
                {
                    "origin_id": left["origin_id"].astype(str),
                    "name": left["name"].fillna("").astype(str) if "name" in left else "",
                    "population": left["population"].astype(float),
                    "category": cid,
                    "category_zh": cat["name_zh"],
                    "max_walk_m": float(cat["max_walk_m"]),
                    "dist_network_m": left[f"dist_{cid}"].astype(float),
                    "dist_straight_m": left[f"straight_{cid}"].astype(float),
                    "edge_affected": left[edge].astype(bool) if edge in left else False,
                    "unreachable_reason": left["unreachable_reason"].fillna("").astype(str),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 14))
def test_problem_rows_are_the_origins_not_met_times_the_basic_categories(seed, n_fac):
    _, res = _run(seed, n_origins=60, n_fac=n_fac, grid=8)
    p = res.problems
    basic = res.categories.loc[(res.categories["type"] == "基础保障") & res.categories["assessed"], "id"]
    pairs = {(o, c) for c in basic for o in res.origins.loc[~res.origins[f"met_{c}"], "origin_id"]}
    got = list(zip(p["origin_id"].astype(str), p["category"].astype(str), strict=True))
    assert len(got) == len(set(got)) and set(got) == pairs
    pd.testing.assert_frame_equal(_plain(p), _melt(res.origins, res.categories), check_exact=False, atol=0)
    # the residents left out, summed per category from the flags, equal the list's group sums
    grouped = missing_by_category(p, res.population)
    grouped[["category", "category_zh"]] = grouped[["category", "category_zh"]].astype(str)
    pd.testing.assert_frame_equal(
        missing_from_origins(res.origins, res.categories), grouped, check_exact=False, rtol=1e-12
    )


def test_the_geopackage_layer_is_a_view_over_the_origins_with_the_list_rows(tmp_path):
    _, res = _run(5)
    path = write_results(res, tmp_path / "r.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers["problems"] == "Point" and "problems_rows" not in layers
    with sqlite3.connect(path) as con:
        kind = con.execute("SELECT type FROM sqlite_master WHERE name = 'problems'").fetchone()[0]
        registered = con.execute(
            "SELECT c.data_type, g.geometry_type_name FROM gpkg_contents AS c JOIN gpkg_geometry_columns AS g "
            "USING (table_name) WHERE table_name = 'problems'"
        ).fetchone()
    assert kind == "view" and registered == ("features", "POINT")
    view = pyogrio.read_dataframe(path, layer="problems", fid_as_index=True)
    assert view.index.is_unique  # fid = origin fid × K + k
    assert view.crs == res.origins.crs
    pd.testing.assert_frame_equal(_plain(view), _plain(res.problems), check_exact=False, atol=1e-9)
    assert pd.api.types.is_float_dtype(view["max_walk_m"]) and view["edge_affected"].dtype == bool
    assert shapely.equals(view.geometry.to_numpy(), res.problems.geometry.to_numpy()).all()
    back = read_results(path)
    assert back.lists_problems and back.problem_table is None
    pd.testing.assert_frame_equal(_plain(back.problems), _plain(res.problems))


def test_a_walker_run_keeps_its_own_metres_search_and_refuses_derivation():
    net, res = _run(7, n_origins=80)
    timed = coverage(
        net,
        res.origins[["origin_id", "population", "geometry"]],
        res.facilities,
        profile=PROFILE,
        walker="elderly",
        offset_check="off",
    )
    # the time budget bounds dist_<c>; the factor still bounds straight_<c> and the list's metres search
    assert timed.meta.options["search_reach_m"] is None and timed.meta.options["search_factor"] == 2.0
    assert timed.straight_reach_m["kindergarten"] == 2 * timed.cutoffs_m["kindergarten"]
    with pytest.raises(ValueError, match="walker-group run"):
        problems_from_origins(timed.origins, timed.categories)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 900), top=st.integers(1, 6))
def test_the_sheet_head_equals_sorting_the_whole_list(seed, n, top):
    """The XLSX head, derived from the origins whose population can reach it, is the whole list sorted and cut.

    Populations drawn from 1..top make many ties at the head's boundary (the stable order decides them).
    """
    _, res = _run(seed, n_fac=5)
    pops = np.random.default_rng(seed).integers(1, top + 1, len(res.origins)).astype(float)
    res = dataclasses.replace(res, origins=res.origins.assign(population=pops))
    whole = res.problems
    order = np.argsort(-whole["population"].to_numpy(dtype=float), kind="stable")
    want = whole.iloc[order[:n]] if len(whole) > n else whole  # a short list keeps its own order
    head, total = problems_head(res.origins, res.categories, n)
    assert total == len(whole)
    pd.testing.assert_frame_equal(_plain(head), _plain(want))
    assert shapely.equals(head.geometry.to_numpy(), want.geometry.to_numpy()).all()
    fresh = dataclasses.replace(res)  # nothing built yet: the head path, not the whole list
    got, n_rows = fresh.problems_head(n)
    assert "problems" not in fresh.__dict__ and n_rows == total
    pd.testing.assert_frame_equal(_plain(got), _plain(want))
