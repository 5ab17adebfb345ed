"""2SFCA / E2SFCA: a hand computation on a small graph and PySAL access on the same Helsinki cost matrix."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from planning_data import helsinki

from weihai_gis.errors import StandardsError
from weihai_gis.network import WalkNetwork, snap_points
from weihai_gis.planning import cost_matrix, step_decay, supply_standard, two_step_fca

CRS = "EPSG:32651"


def _line_graph():
    """Four nodes 100 m apart on a line; residents at each node, sites at both ends."""
    xs = [0.0, 100.0, 200.0, 300.0]
    seg = gpd.GeoDataFrame(
        {"u": [0, 1, 2], "v": [1, 2, 3], "highway": "footway"},
        geometry=[shapely.LineString([(xs[i], 0), (xs[i + 1], 0)]) for i in range(3)],
        crs=CRS,
    )
    net = WalkNetwork.from_segments(seg, crs=CRS, source="line")
    origins = gpd.GeoSeries(shapely.points([(x, 0) for x in xs]), crs=CRS)
    sites = gpd.GeoSeries(shapely.points([(0, 0), (300, 0)]), crs=CRS)
    o = snap_points(net, origins, min_component_nodes=1)
    s = snap_points(net, sites, min_component_nodes=1)
    return cost_matrix(net, o, s, cutoff_m=250)


def test_2sfca_equals_a_hand_computation():
    cm = _line_graph()
    pop = np.array([100.0, 200, 300, 400])
    res = two_step_fca(cm, pop, [10.0, 20.0], target_per_1000=30)
    ra, rb = 10 / (100 + 200 + 300), 20 / (200 + 300 + 400)
    np.testing.assert_allclose(res.sites["ratio"], [ra, rb])
    np.testing.assert_allclose(res.origins["access"], [ra, ra + rb, ra + rb, rb])
    np.testing.assert_allclose(res.origins["access_per_1000"], 1000 * np.array([ra, ra + rb, ra + rb, rb]))
    expected_short = np.maximum(0, 30 - 1000 * np.array([ra, ra + rb, ra + rb, rb])) * pop / 1000
    np.testing.assert_allclose(res.origins["shortfall"], expected_short)
    # supply is conserved: every unit of supply is handed out to residents in reach
    assert (res.origins["access"] * pop).sum() == pytest.approx(30.0)
    unit = res.by_unit(["a", "a", "b", "b"])
    assert unit.loc["a", "population"] == 300
    assert unit.loc["a", "access_per_1000"] == pytest.approx((100 * ra + 200 * (ra + rb)) * 1000 / 300)
    assert unit.loc["b", "shortfall"] == pytest.approx(expected_short[2:].sum())


def test_e2sfca_equals_a_hand_computation_with_the_luo_qi_zones():
    cm = _line_graph()
    pop = np.array([100.0, 200, 300, 400])
    res = two_step_fca(cm, pop, [10.0, 20.0], decay="steps")
    # thirds of 250 m: d <= 83.3 -> 1, <= 166.7 -> 0.68, <= 250 -> 0.22
    ra = 10 / (100 * 1 + 200 * 0.68 + 300 * 0.22)
    rb = 20 / (200 * 0.22 + 300 * 0.68 + 400 * 1)
    np.testing.assert_allclose(
        res.origins["access"], [ra, ra * 0.68 + rb * 0.22, ra * 0.22 + rb * 0.68, rb], rtol=1e-12
    )
    assert res.method == "E2SFCA"


def test_step_decay_is_inclusive_at_the_zone_limits():
    w = step_decay(300)
    np.testing.assert_allclose(w(np.array([0, 100, 100.001, 200, 300, 300.5])), [1, 1, 0.68, 0.68, 0.22, 0])


@pytest.mark.parametrize("decay", [None, "steps"])
def test_matches_pysal_access_on_the_same_cost_matrix(decay):
    access = pytest.importorskip("access")
    net, origins, facilities, o_snap, f_snap = helsinki()
    rows = np.flatnonzero(facilities["category"].to_numpy() == "restaurant")[:60]
    cm = cost_matrix(net, o_snap, f_snap.take(rows), cutoff_m=500)
    pop = origins["population"].to_numpy(dtype=float)
    supply = np.arange(1, len(rows) + 1, dtype=float)
    ours = two_step_fca(cm, pop, supply, decay=decay)
    demand_df = pd.DataFrame({"geoid": np.arange(cm.n_origins), "pop": pop})
    supply_df = pd.DataFrame({"geoid": np.arange(cm.n_sites), "supply": supply})
    cost_df = pd.DataFrame({"origin": cm.origin, "dest": cm.site, "cost": cm.dist_m})
    model = access.Access(
        demand_df=demand_df,
        demand_index="geoid",
        demand_value="pop",
        supply_df=supply_df,
        supply_index="geoid",
        supply_value="supply",
        cost_df=cost_df,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    if decay is None:
        theirs = model.two_stage_fca(name="x", max_cost=500)
    else:
        fn = access.weights.step_fn({500 / 3: 1.0, 1000 / 3: 0.68, 500: 0.22})
        theirs = model.enhanced_two_stage_fca(name="x", max_cost=500, weight_fn=fn)
    theirs = theirs.iloc[:, 0].reindex(np.arange(cm.n_origins)).fillna(0).to_numpy()
    assert np.count_nonzero(theirs) > 100
    np.testing.assert_allclose(ours.origins["access"], theirs, rtol=1e-9, atol=1e-15)


def test_supply_standard_names_the_file_and_the_known_categories():
    assert supply_standard("nursery")["unit_zh"] == "托位"
    with pytest.raises(
        StandardsError, match=r"planning.yaml: category 'toilet' has no supply standard; known: .*nursery"
    ):
        supply_standard("toilet")
