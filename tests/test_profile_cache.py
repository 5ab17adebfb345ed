"""The on-disk edge profile cache: a later process loads the DEM samples instead of reading the DEM.

Oracle: the profile and the times sampled without any cache, bit for bit; the DEM reader is made to fail
to show that a hit never opens the DEM, and a miss (another DEM, another network, a damaged entry) samples.
"""

from __future__ import annotations

import logging

import numpy as np
from pyproj import Transformer

import weihai_gis.io.raster as raster
from weihai_gis.network import profile_cache
from weihai_gis.network.costs import edge_profile, edge_times
from weihai_gis.synthetic import ARC_SECOND_DEG, CRS, random_hills, street_grid, write_hill_dem


def _net():
    x0, y0 = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(122.05, 37.45)
    return street_grid(8, 60.0, origin_xy=(x0, y0), crs=CRS, source="grid 8x8")


def _dem(path, seed):
    return write_hill_dem(
        path,
        random_hills(122.045, 37.445, 0.02, 0.02, n=4, seed=seed),
        west=122.045,
        south=37.445,
        cols=int(0.02 / ARC_SECOND_DEG) + 1,
        rows=int(0.02 / ARC_SECOND_DEG) + 1,
    )


def _no_dem_reads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the DEM was opened although its profile is cached")

    monkeypatch.setattr(raster, "DEMReader", refuse)


def _same(a, b):
    for name in ("piece_offset", "piece_end_m", "piece_rise_m"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.dem_source, a.cell_size_m) == (b.dem_source, b.cell_size_m)


def test_a_second_process_loads_the_profile_and_gets_the_same_times_bit_for_bit(tmp_path, monkeypatch):
    dem = _dem(tmp_path / "hill.tif", seed=3)
    cache = tmp_path / "cache"
    plain = edge_times(_net(), dem=dem, walker="elderly")  # no disk cache
    edge_times(_net(), dem=dem, walker="elderly", cache_dir=cache)  # first process: samples and writes
    assert len(list(cache.glob("profile-*.npz"))) == 1
    _no_dem_reads(monkeypatch)
    again = edge_times(_net(), dem=dem, walker="elderly", cache_dir=cache)  # a fresh network object
    _same(again.profile, plain.profile)
    np.testing.assert_array_equal(again.forward_s, plain.forward_s)
    np.testing.assert_array_equal(again.backward_s, plain.backward_s)
    np.testing.assert_array_equal(again.cum_forward_s, plain.cum_forward_s)


def test_another_dem_or_another_network_is_a_miss(tmp_path):
    cache = tmp_path / "cache"
    a, b = _dem(tmp_path / "a.tif", seed=1), _dem(tmp_path / "b.tif", seed=2)
    net = _net()
    key_a = profile_cache.profile_key(net, a, 1.0)
    assert key_a != profile_cache.profile_key(net, b, 1.0)
    assert key_a != profile_cache.profile_key(net, a, 0.5)
    moved = _net()
    geoms = moved.edge_geometry.copy()
    geoms[0] = geoms[1]  # one edge's vertices differ
    moved.edge_geometry = geoms
    assert key_a != profile_cache.profile_key(moved, a, 1.0)
    edge_profile(net, a, cache_dir=cache)
    got = edge_profile(_net(), b, cache_dir=cache)  # not a's samples
    _same(got, edge_profile(_net(), b))
    assert len(list(cache.glob("profile-*.npz"))) == 2


def test_a_damaged_entry_is_a_logged_miss_and_is_replaced(tmp_path, caplog):
    dem = _dem(tmp_path / "hill.tif", seed=5)
    cache = tmp_path / "cache"
    want = edge_profile(_net(), dem, cache_dir=cache)
    (entry,) = cache.glob("profile-*.npz")
    entry.write_bytes(b"\x00garbage" * 50)
    with caplog.at_level(logging.WARNING, logger="weihai_gis.network.profile_cache"):
        got = edge_profile(_net(), dem, cache_dir=cache)
    assert "unreadable" in caplog.text
    _same(got, want)
    assert profile_cache.load_profile(cache, entry.name[len("profile-") : -len(".npz")]) is not None


def test_a_cache_that_cannot_be_written_is_logged_not_raised(tmp_path, caplog):
    dem = _dem(tmp_path / "hill.tif", seed=6)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with caplog.at_level(logging.WARNING, logger="weihai_gis.network.profile_cache"):
        got = edge_profile(_net(), dem, cache_dir=blocker)
    assert "not written" in caplog.text
    _same(got, edge_profile(_net(), dem))


def _helsinki_hill(path):
    """A 40 m hill (1 arc-second EPSG:4326 GeoTIFF) over the Helsinki sample's streets."""
    import geopandas as gpd

    from weihai_gis.network import build_network
    from weihai_gis.samples import sample_inputs
    from weihai_gis.synthetic import Hill

    net = build_network(sample_inputs().network)
    west, south, east, north = gpd.GeoSeries(net.edge_geometry, crs=net.crs).to_crs(4326).total_bounds
    cols, rows = int((east - west) * 3600) + 8, int((north - south) * 3600) + 8
    hill = Hill((west + east) / 2, (south + north) / 2, 40.0, (east - west) / 4)
    return write_hill_dem(path, [hill], west=west - 4 / 3600, south=south - 4 / 3600, cols=cols, rows=rows)


def test_the_cli_caches_the_profile_beside_the_network_and_a_second_run_reads_it(tmp_path, monkeypatch):
    """`coverage --dem-costs --cache-dir`: the first run writes the profile, the second loads it (no DEM read)."""
    import geopandas as gpd
    import pandas as pd
    from click.testing import CliRunner

    from weihai_gis.cli import main

    dem = _helsinki_hill(tmp_path / "hill.tif")
    cache = tmp_path / "cache"
    args = ["-q", "coverage", "--sample", "helsinki", "--walker", "elderly", "--dem-costs", str(dem)]
    args += ["--cache-dir", str(cache)]
    first = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "first.gpkg")])
    assert first.exit_code == 0, first.output
    assert len(list(cache.glob("profile-*.npz"))) == 1 and list(cache.glob("network-*"))
    _no_dem_reads(monkeypatch)
    second = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "second.gpkg")])
    assert second.exit_code == 0, second.output
    a, b = (gpd.read_file(tmp_path / f"{n}.gpkg", layer="origins") for n in ("first", "second"))
    assert a.filter(like="time_").notna().any().any()  # minutes on the hill were computed
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    meta = gpd.read_file(tmp_path / "second.gpkg", layer="run_metadata")
    assert str(cache) not in meta.to_string()  # the machine's cache folder is not recorded


def test_without_cache_dir_the_profile_goes_to_the_network_cache_folder(tmp_path, monkeypatch):
    from weihai_gis.jobs.coverage_job import run_coverage_job
    from weihai_gis.options import CoverageOptions
    from weihai_gis.samples import sample_inputs

    monkeypatch.setenv("WEIHAI_GIS_CACHE_DIR", str(tmp_path / "user-cache"))
    dem = _helsinki_hill(tmp_path / "hill.tif")
    run_coverage_job(sample_inputs(), CoverageOptions(walker="elderly", dem_costs=dem))
    assert len(list((tmp_path / "user-cache").glob("profile-*.npz"))) == 1
