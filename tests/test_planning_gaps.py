"""Gap areas: population conserved, areas connected and apart, units respected, more facilities never worse."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planning_data import helsinki

from weihai_gis.errors import LayerError
from weihai_gis.lifecircle import coverage, hex_ids
from weihai_gis.planning import GAP_COLUMNS, gap_areas, gap_clusters

CATS = ["primary_school", "convenience", "market", "bus_stop"]


@functools.cache
def _result():
    net, origins, facilities, _, _ = helsinki()
    return coverage(net, origins, facilities, profile="gb50180-2018")


def _halves():
    o = _result().origins
    x0, y0, x1, y1 = o.total_bounds
    mid = (x0 + x1) / 2
    return gpd.GeoDataFrame(
        {"id": ["w", "e"], "name_zh": ["西区", "东区"]},
        geometry=[shapely.box(x0 - 10, y0 - 10, mid, y1 + 10), shapely.box(mid, y0 - 10, x1 + 10, y1 + 10)],
        crs=o.crs,
    )


def test_gap_population_equals_the_unmet_population_per_category():
    res = _result()
    areas, table = gap_areas(res, categories=CATS, hex_size_m=150)
    assert list(areas.columns) == [*GAP_COLUMNS, "geometry"]
    for cid in CATS:
        unmet = res.origins.loc[~res.origins[f"met_{cid}"], "population"].sum()
        assert areas.loc[areas["category"] == cid, "population"].sum() == pytest.approx(unmet)
        row = table[table["category"] == cid].iloc[0]
        assert row["population_unmet"] == pytest.approx(unmet)
        assert row["n_gap_areas"] == int((areas["category"] == cid).sum())
    mine = areas[areas["category"] == "primary_school"]
    assert mine["rank"].tolist() == list(range(1, len(mine) + 1))
    assert mine["population"].is_monotonic_decreasing
    assert mine["label_zh"].iloc[0].startswith("小学缺口片区 1（全域")


def test_gap_areas_are_connected_and_do_not_touch_each_other():
    areas, _ = gap_areas(_result(), categories=CATS, hex_size_m=100)
    assert (areas.geom_type == "Polygon").all()  # one connected piece each
    for cid in CATS:
        geoms = areas.loc[areas["category"] == cid].geometry.to_numpy()
        assert len(geoms) >= 2 or cid != "convenience"
        for i in range(len(geoms)):
            for j in range(i + 1, len(geoms)):
                assert shapely.distance(geoms[i], geoms[j]) > 1.0  # distinct areas are not neighbours
    # every unmet origin lies in the area that counts it
    o = _result().origins
    for cid in CATS:
        pts = o.loc[~o[f"met_{cid}"]].geometry
        mine = areas[areas["category"] == cid]
        hits = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), mine[["geometry"]], predicate="within")
        assert hits.index.nunique() == len(pts)


def test_gap_areas_never_cross_a_unit_border():
    res = _result()
    units = _halves()
    areas, table = gap_areas(res, categories=CATS, units=units, hex_size_m=150)
    whole, _ = gap_areas(res, categories=CATS, hex_size_m=150)
    assert set(areas["unit_name_zh"]) == {"西区", "东区"}
    for cid in CATS:
        assert (areas["category"] == cid).sum() >= (whole["category"] == cid).sum()
        assert table.loc[table["category"] == cid, "population_unmet"].sum() == pytest.approx(
            whole.loc[whole["category"] == cid, "population"].sum()
        )
        mine = areas[areas["category"] == cid]
        for unit in ("w", "e"):
            ranks = mine.loc[mine["unit_id"] == unit, "rank_in_unit"].tolist()
            assert ranks == list(range(1, len(ranks) + 1))


def test_gap_clusters_match_networkx_components_of_the_hexagon_grid():
    nx = pytest.importorskip("networkx")
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 3000, size=(400, 2))
    labels = np.where(xy[:, 0] < 1500, "a", "b")
    cluster, _ = gap_clusters(xy, labels, 120)
    q, r = hex_ids(xy[:, 0], xy[:, 1], 120)
    g = nx.Graph()
    nodes = {(lab, a, b) for lab, a, b in zip(labels, q, r, strict=True)}
    g.add_nodes_from(nodes)
    for lab, a, b in nodes:
        for dq, dr in [(1, 0), (0, 1), (1, -1)]:
            if (lab, a + dq, b + dr) in nodes:
                g.add_edge((lab, a, b), (lab, a + dq, b + dr))
    comp = {n: k for k, c in enumerate(nx.connected_components(g)) for n in c}
    theirs = np.array([comp[(lab, a, b)] for lab, a, b in zip(labels, q, r, strict=True)])
    # same partition of the points (labels may differ)
    pairs = set(zip(cluster.tolist(), theirs.tolist(), strict=True))
    assert len(pairs) == len(set(cluster.tolist())) == len(set(theirs.tolist()))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_more_facilities_never_raise_the_gap_population(data):
    net, origins, facilities, _, _ = helsinki()
    n = len(facilities)
    base = data.draw(st.lists(st.integers(0, n - 1), min_size=5, max_size=60, unique=True))
    more = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=40, unique=True))
    small = coverage(net, origins, facilities.iloc[sorted(base)], profile="gb50180-2018")
    big = coverage(net, origins, facilities.iloc[sorted(set(base) | set(more))], profile="gb50180-2018")
    a_small, _ = gap_areas(small, hex_size_m=200)
    a_big, _ = gap_areas(big, hex_size_m=200)
    assessed = set(a_small["category"]) | set(a_big["category"])
    for cid in assessed & set(small.categories.loc[small.categories["assessed"], "id"]):
        before = a_small.loc[a_small["category"] == cid, "population"].sum()
        after = a_big.loc[a_big["category"] == cid, "population"].sum()
        assert after <= before + 1e-6


def test_unknown_category_and_bad_units_are_named():
    with pytest.raises(LayerError, match=r"categories \['school'\] are not in it; known: middle_school"):
        gap_areas(_result(), categories=["school"])
    with pytest.raises(LayerError, match=r"units: field 'name_zh' is missing"):
        gap_areas(_result(), units=_halves().drop(columns="name_zh"))
