"""The shared synthetic fixtures are what their docstrings say (oracles: Manhattan distance, the closed form)."""

from __future__ import annotations

import numpy as np
import rasterio
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra

from weihai_gis.synthetic import (
    ARC_SECOND_DEG,
    Hill,
    province_grid,
    province_tile,
    random_hills,
    street_grid,
    write_hill_dem,
)


def test_street_grid_walks_are_manhattan_distances_and_ids_follow_rows():
    net = street_grid(4, 50.0, origin_xy=(1000.0, 2000.0))
    assert net.n_nodes == 16 and net.n_edges == 24
    i, j = np.divmod(net.node_ids, 4)
    np.testing.assert_allclose(net.node_xy, np.c_[1000 + j * 50.0, 2000 + i * 50.0])
    got = dijkstra(net.to_csr(), directed=False)
    want = 50.0 * (np.abs(i[:, None] - i[None, :]) + np.abs(j[:, None] - j[None, :]))
    np.testing.assert_allclose(got, want)


def test_province_tiles_agree_on_the_nodes_they_share():
    ids_a, xy_a, _, _ = province_tile(0, 0, 10, 80.0)
    ids_b, xy_b, _, _ = province_tile(0, 1, 10, 80.0)
    shared, ia, ib = np.intersect1d(ids_a, ids_b, return_indices=True)
    assert len(shared) == 11  # the column between the two tiles
    np.testing.assert_array_equal(xy_a[ia], xy_b[ib])
    net = province_grid(range(2), 10, 80.0)
    assert 400 < net.n_nodes <= 21 * 21  # 20 x 20 own nodes and the ring their edges reach
    assert 0.86 < net.n_edges / (2 * 20 * 20) < 0.98  # two edges per own node, about 8 % missing


def test_hill_dem_holds_the_closed_form_at_cell_centres(tmp_path):
    hills = random_hills(122.0, 37.4, 0.05, 0.04, n=3, seed=5)
    assert hills == random_hills(122.0, 37.4, 0.05, 0.04, n=3, seed=5)
    hills.append(Hill(122.02, 37.42, 80.0, 0.005))
    path = write_hill_dem(tmp_path / "h.tif", hills, west=122.0, south=37.4, cols=180, rows=144)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4326 and src.res == (ARC_SECOND_DEG, ARC_SECOND_DEG)
        z = src.read(1)
        row, col = 40, 100
        lon, lat = src.xy(row, col)  # the cell centre
    want = 5.0 + sum(
        h.height_m * np.exp(-(((lon - h.lon) ** 2 + (lat - h.lat) ** 2) / h.radius_deg**2)) for h in hills
    )
    assert z[row, col] == np.float32(want)
    assert z.min() >= 5.0 and z.max() > 80.0
    x, _ = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True).transform(lon, lat)
    assert 300_000 < x < 700_000  # inside the CGCS2000 zone the networks use
