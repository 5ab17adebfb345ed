"""The 问题清单 on a street grid: every unmet basic category, network distances equal networkx to 1e-6 m."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from grid_network import CRS, X0, Y0, grid_network
from network_oracle import oracle_distances

from weihai_gis.lifecircle.compute import coverage
from weihai_gis.lifecircle.problems import SEARCH_FACTOR, missing_by_category, problem_list
from weihai_gis.network import snap_points
from weihai_gis.standards import load_profile


def test_problem_list_rows_equal_networkx_and_the_unmet_flags():
    net = grid_network(12, 100.0)
    rng = np.random.default_rng(5)
    origins = gpd.GeoDataFrame(
        {"origin_id": [f"b{i}" for i in range(300)], "population": rng.integers(1, 40, 300)},
        geometry=shapely.points(rng.uniform(0, 1100, (300, 2)) + np.array([X0, Y0])),
        crs=CRS,
    )
    cats = ["kindergarten", "primary_school", "health_station", "bus_stop"]
    facilities = gpd.GeoDataFrame(
        {"category": np.repeat(cats, 2)},
        geometry=shapely.points(rng.uniform(0, 1100, (8, 2)) + np.array([X0, Y0])),
        crs=CRS,
    )
    res = coverage(net, origins, facilities, profile="gb50180-2018")
    names = pd.Series([f"楼{i}" for i in range(300)], index=[f"b{i}" for i in range(300)])
    p = problem_list(net, res.origins, res.categories, res.facilities, profile="gb50180-2018", names=names)
    o = res.origins.set_index("origin_id")
    kinds = load_profile("gb50180-2018").categories.set_index("id")["kinds"]
    assert len(p) > 100
    beyond = 0
    for cid in p["category"].unique():
        rows = p[p["category"] == cid]
        unmet = o.index[~o[f"met_{cid}"].to_numpy(dtype=bool)]
        assert rows["origin_id"].astype(str).tolist() == list(unmet)  # every unmet origin once, in order
        serve = {cid, *kinds.at[cid]}  # a category is served by its own id and the facility kinds it lists
        fac = res.facilities[res.facilities["category"].isin(serve)]
        assert len(fac)
        want = oracle_distances(net, snap_points(net, o.loc[unmet].geometry), snap_points(net, fac.geometry))
        reach = SEARCH_FACTOR * float(res.cutoffs_m[str(cid)])  # searched to twice the limit, NaN beyond
        beyond += int((np.isfinite(want) & (want > reach)).sum())
        np.testing.assert_allclose(
            rows["dist_network_m"].to_numpy(float),
            np.where(want <= reach, want, np.nan),
            atol=1e-6,
            rtol=0,
        )
        assert (rows["name"].astype(str) == "楼" + rows["origin_id"].astype(str).str[1:]).all()
    assert beyond > 0  # some nearest facilities lie beyond twice the limit: NaN is exercised
    # text columns hold codes into their distinct values, not a string per row
    assert isinstance(p["origin_id"].dtype, pd.CategoricalDtype)
    assert isinstance(p["category"].dtype, pd.CategoricalDtype)
    table = missing_by_category(p, float(res.origins["population"].sum())).set_index("category")
    assert set(table.index) == set(p["category"].unique())  # no empty category rows
    for cid, rows in p.groupby("category", observed=True):
        assert table.loc[cid, "n_origins"] == len(rows)
        assert table.loc[cid, "population_left_out"] == rows["population"].sum()
