"""A damaged network cache (one .npz) is a logged miss: rebuilt, replaced, never unpickled, never numpy's advice."""

from __future__ import annotations

import logging
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely

from weihai_gis.errors import InputFileError
from weihai_gis.network import build_network
from weihai_gis.network.graph import WalkNetwork


@pytest.fixture
def roads(tmp_path):
    """A 6 × 6 street grid of 100 m blocks in Weihai, as road lines (lon/lat)."""
    lines = []
    for i in range(6):
        lines.append(shapely.LineString([(122.10 + i * 0.00113, 37.50), (122.10 + i * 0.00113, 37.5045)]))
        lines.append(shapely.LineString([(122.10, 37.50 + i * 0.0009), (122.1057, 37.50 + i * 0.0009)]))
    path = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=4326).to_file(
        path, layer="roads"
    )
    return path


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path):
    path.write_bytes(b"\x00garbage" * 100)


def _pickled(path):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["meta"] = np.array({"crs": "EPSG:4550", "source": "x"}, dtype=object)  # needs pickle to read
    np.savez(path, **arrays)


def _bad_vertex_counts(path):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["edge_vertex_count"] = arrays["edge_vertex_count"][::-1] + 1  # no longer matches the coordinates
    np.savez(path, **arrays)


def _missing_array(path):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "edge_coords"}
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    ("suffix", "damage"),
    [
        (".npz", _truncate),
        (".npz", _garbage),
        (".npz", _pickled),
        (".npz", _bad_vertex_counts),
        (".npz", _missing_array),
    ],
    ids=["npz-truncated", "npz-garbage", "npz-pickled", "npz-vertex-counts", "npz-missing-array"],
)
def test_a_damaged_cache_is_logged_rebuilt_and_replaced(roads, tmp_path, caplog, damage, suffix):
    cache = tmp_path / "cache"
    first = build_network(roads, cache_dir=cache)
    (entry,) = cache.glob(f"*{suffix}")
    damage(entry)
    with pytest.raises(InputFileError, match="network cache") as info:
        WalkNetwork.load(entry)
    assert "allow_pickle" not in str(info.value)
    with caplog.at_level(logging.WARNING, logger="weihai_gis"):
        second = build_network(roads, cache_dir=cache)
    warned = [r.getMessage() for r in caplog.records if "network cache" in r.getMessage()]
    assert warned and str(entry.with_suffix("")) in warned[0] and "rebuilding" in warned[0]
    assert not any("allow_pickle" in r.getMessage() for r in caplog.records)
    assert second.n_edges == first.n_edges and np.allclose(second.edge_length_m, first.edge_length_m)
    third = WalkNetwork.load(entry)  # the entry was replaced by a good one
    assert third.n_nodes == first.n_nodes


def test_the_cache_is_read_without_pickle(roads, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    build_network(roads, cache_dir=cache)
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    build_network(roads, cache_dir=cache)
    assert calls == [False]
    (npz,) = cache.glob("*.npz")
    assert zipfile.is_zipfile(npz)


def _fresh(net):
    """The same network without anything derived (CSR, components, segment index computed again)."""
    return WalkNetwork(
        net.node_ids, net.node_xy, net.edge_u, net.edge_v, net.edge_length_m,
        highway=net.highway, crs=net.crs, source=net.source,
        edge_coords=net.edge_coords, edge_offsets=net.edge_offsets,
    )  # fmt: skip


def _assert_same_derived(loaded, fresh):
    from weihai_gis.network.snap import segment_index

    assert (loaded.to_csr() != fresh.to_csr()).nnz == 0
    assert loaded.to_csr().indices.dtype == fresh.to_csr().indices.dtype
    a, b = loaded.components(), fresh.components()
    assert (a.labels == b.labels).all() and (a.sizes == b.sizes).all()
    assert (a.count, a.largest_nodes, a.largest_length_share) == (
        b.count,
        b.largest_nodes,
        b.largest_length_share,
    )
    xy = np.random.default_rng(3).uniform(fresh.node_xy.min(0) - 300, fresh.node_xy.max(0) + 300, (300, 2))
    for got, want in zip(
        segment_index(loaded, 0).nearest(xy[:, 0], xy[:, 1]),
        segment_index(fresh, 0).nearest(xy[:, 0], xy[:, 1]),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)


def test_a_cached_network_brings_its_csr_components_and_segment_grid(roads, tmp_path):
    net = build_network(roads, layer="roads", cache_dir=tmp_path / "cache")
    (npz,) = (tmp_path / "cache").glob("*.npz")
    loaded = WalkNetwork.load(npz)
    assert "csr" in loaded._cache and ("segment_index", 0) in loaded._cache and loaded._components is not None
    _assert_same_derived(loaded, _fresh(net))


@pytest.mark.parametrize(
    ("key", "damage"),
    [
        ("segment_grid_ptr", lambda a: a[:-1]),  # one cell short
        ("segment_grid_seg", lambda a: a + 10_000),  # beyond the segments
        ("csr_indices", lambda a: a + 1000),  # beyond the nodes
        ("component_labels", lambda a: a[1:]),
    ],
)
def test_derived_arrays_that_do_not_fit_are_computed_again(roads, tmp_path, caplog, key, damage):
    build_network(roads, layer="roads", cache_dir=tmp_path / "cache")
    (npz,) = (tmp_path / "cache").glob("*.npz")
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    arrays[key] = damage(arrays[key])
    np.savez(npz, **arrays)
    with caplog.at_level(logging.WARNING):
        loaded = WalkNetwork.load(npz)
    assert "derived arrays ignored" in caplog.text
    assert not loaded._cache and loaded._components is None
    _assert_same_derived(loaded, _fresh(loaded))
