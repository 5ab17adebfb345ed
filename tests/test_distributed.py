"""Coverage and scenario sweeps on Dask equal the single-machine result (LocalCluster; shipped extracts).

One in-process LocalCluster (2 workers × 1 thread, ``processes=False``) serves the equality tests; the
killed-worker test starts its own cluster of 2 worker processes.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("distributed")

from weihai_gis.distributed import (
    DaskDistances,
    connect,
    distributed_coverage,
    parse_scheduler,
    sweep,
)
from weihai_gis.distributed.partition import join_points, plan_partitions, subnetwork
from weihai_gis.errors import LayerError
from weihai_gis.lifecircle import coverage
from weihai_gis.network import build_network, snap_points
from weihai_gis.planning.whatif import Scenario, WhatIf, run_scenarios
from weihai_gis.samples import hitwh_inputs, sample_inputs
from weihai_gis.standards import load_profile


@functools.cache
def _inputs(which: str):
    inputs = hitwh_inputs() if which == "hitwh" else sample_inputs()
    return build_network(inputs.network), inputs.origins, inputs.facilities


@functools.cache
def _short_profile():
    """GB 50180-2018 with only its 5-minute (≤ 300 m) categories: sub-networks much smaller than the extract."""
    prof = load_profile("gb50180-2018")
    cats = prof.categories[prof.categories["max_walk_m"] <= 300].reset_index(drop=True)
    return dataclasses.replace(prof, categories=cats)


@pytest.fixture(scope="module")
def client():
    with connect("local:2", processes=False) as c:
        yield c


def _assert_same(single, dist):
    """Identical per-origin table (values, NaN positions, dtypes, order) and equal summaries."""
    pd.testing.assert_frame_equal(
        pd.DataFrame(single.origins.drop(columns="geometry")),
        pd.DataFrame(dist.origins.drop(columns="geometry")),
    )
    assert single.origins.geometry.equals(dist.origins.geometry)
    pd.testing.assert_frame_equal(single.overall(), dist.overall())
    pd.testing.assert_frame_equal(
        pd.DataFrame(single.hexagons.drop(columns="geometry")),
        pd.DataFrame(dist.hexagons.drop(columns="geometry")),
    )
    assert single.warnings == dist.warnings


@pytest.mark.parametrize("which", ["hitwh", "helsinki"])
def test_distributed_coverage_equals_single_machine_on_the_shipped_extracts(client, which):
    net, origins, facilities = _inputs(which)
    single = coverage(net, origins, facilities)
    # ~10 origins per partition: most origins sit near a partition border
    dist = distributed_coverage(
        net, origins, facilities, scheduler=client, n_partitions=max(2, len(origins) // 10)
    )
    _assert_same(single, dist)
    assert np.isfinite(dist.origins.filter(like="dist_").to_numpy()).any()


def test_grid_partitions_with_facilities_only_across_the_border_are_exact(client):
    net, origins, facilities = _inputs("hitwh")
    prof = _short_profile()
    # the default reach (twice the short limits): the partitions' halos are still real cuts of the extract
    single = coverage(net, origins, facilities, profile=prof)
    backend = DaskDistances(client, method="grid", cell_m=150, ship="parts")
    dist = coverage(net, origins, facilities, profile=prof, distances=backend)
    _assert_same(single, dist)
    parts = backend.partitions
    assert len(parts) >= 8
    # sub-networks are real cuts of the extract, not the whole network
    assert max(len(p.edges) for p in parts) < 0.8 * net.n_edges
    # origins served by a facility that lies outside their partition's cell (across the border)
    o_snap = snap_points(
        net,
        origins.to_crs(net.crs).set_geometry(
            shapely.point_on_surface(origins.to_crs(net.crs).geometry.to_numpy())
        ),
    )
    xy = join_points(net, o_snap)
    f_xy = shapely.get_coordinates(facilities.to_crs(net.crs).geometry.to_numpy())
    served_across = 0
    for cat in prof.categories.itertuples():
        kinds = [*cat.kinds, cat.id]
        f_in = np.flatnonzero(facilities["category"].isin(kinds).to_numpy())
        finite = np.isfinite(dist.origins[f"dist_{cat.id}"].to_numpy())
        for p in parts:
            lo, hi = xy[p.origins].min(axis=0), xy[p.origins].max(axis=0)
            inside = ((f_xy[f_in] >= lo) & (f_xy[f_in] <= hi)).all(axis=1)
            if not inside.any():
                served_across += int(finite[p.origins].sum())
    assert served_across > 0


def test_subnetwork_keeps_the_whole_networks_component_sizes():
    net, _, _ = _inputs("hitwh")
    edges = np.arange(0, net.n_edges, 7)
    sub = subnetwork(net, edges)
    whole = net.components().node_component_size()
    np.testing.assert_array_equal(
        sub.components().node_component_size(), whole[np.unique(np.r_[net.edge_u[edges], net.edge_v[edges]])]
    )
    np.testing.assert_array_equal(sub.edge_length_m, net.edge_length_m[edges])
    np.testing.assert_array_equal(sub.node_xy[sub.edge_u], net.node_xy[net.edge_u[edges]])


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n_partitions=st.integers(min_value=1, max_value=80),
    method=st.sampled_from(["hilbert", "grid"]),
    cell_m=st.floats(min_value=60, max_value=900),
    ship=st.sampled_from(["whole", "parts"]),
)
def test_any_partitioning_gives_the_single_machine_rows(client, n_partitions, method, cell_m, ship):
    net, origins, facilities = _inputs("hitwh")
    single = _single_short()
    backend = DaskDistances(client, n_partitions=n_partitions, method=method, cell_m=cell_m, ship=ship)
    dist = coverage(net, origins, facilities, profile=_short_profile(), distances=backend)
    _assert_same(single, dist)
    rows = np.concatenate([p.origins for p in backend.partitions])
    assert len(rows) == len(np.unique(rows)) == int(single.origins["reachable"].sum())


@functools.cache
def _single_short():
    net, origins, facilities = _inputs("hitwh")
    return coverage(net, origins, facilities, profile=_short_profile())


def _scenarios(facilities: gpd.GeoDataFrame, base) -> list[Scenario]:
    ids = facilities["id"].astype(str)
    stops = ids[(facilities["category"] == "bus_stop").to_numpy()].tolist()[5:]
    first = facilities.iloc[[0]]
    o = base.origins
    unserved = o[o["reachable"] & ~o["met_convenience"]].geometry.iloc[:2]  # new shops at their door
    added = gpd.GeoDataFrame(
        {"category": ["convenience", "kindergarten"], "name": ["新建便利店", "新建幼儿园"]},
        geometry=unserved.to_numpy(),
        crs=o.crs,
    )
    moved = gpd.GeoDataFrame(
        {"id": [ids.iloc[0]]}, geometry=first.geometry.translate(0.002, 0.002).to_numpy(), crs=facilities.crs
    )
    return [
        Scenario("公交站只留5处", remove=tuple(stops)),
        Scenario("新建便利店与幼儿园", add=added),
        Scenario("迁建一处设施", move=moved),
    ]


def test_sweep_outcomes_equal_answering_each_scenario_alone(client):
    net, origins, facilities = _inputs("hitwh")
    base = coverage(net, origins, facilities)
    scenarios = _scenarios(facilities, base)
    swept = sweep(scenarios, net, base, scheduler=client)
    assert [o.scenario.name for o in swept] == [s.name for s in scenarios]
    for s, got in zip(scenarios, swept, strict=True):
        alone = run_scenarios(WhatIf(net, base), [s])[0]
        _assert_same(alone.result, got.result)
        pd.testing.assert_frame_equal(alone.table, got.table)
        pd.testing.assert_frame_equal(pd.DataFrame(alone.origins), pd.DataFrame(got.origins))
    # the scenarios change the rates, so the comparison could fail
    rate = {o.scenario.name: o.result.overall().set_index("id")["rate_network"] for o in swept}
    before = base.overall().set_index("id")["rate_network"]
    assert rate["公交站只留5处"]["bus_stop"] < before["bus_stop"]
    assert rate["新建便利店与幼儿园"]["convenience"] > before["convenience"]


def test_sweep_refuses_repeated_names_before_sending_anything(client):
    net, origins, facilities = _inputs("hitwh")
    base = coverage(net, origins, facilities)
    with pytest.raises(LayerError, match="used twice"):
        sweep([Scenario("x"), Scenario("x")], net, base, scheduler=client)


def test_scheduler_values_parse_and_bad_ones_say_what_is_expected():
    assert parse_scheduler("local").address is None and parse_scheduler("local").n_workers is None
    spec = parse_scheduler("local:3:1GiB")
    assert (spec.n_workers, spec.memory_limit) == (3, "1GiB")
    assert parse_scheduler("10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    assert parse_scheduler("tls://h:1").address == "tls://h:1"
    with pytest.raises(ValueError, match="local:N"):
        parse_scheduler("local:zero")


def test_missing_dask_names_the_extra_to_install(monkeypatch):
    from weihai_gis.distributed.cluster import DaskMissingError, require_dask
    from weihai_gis.errors import WeihaiGISError

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DaskMissingError, match=r"weihai-gis\[dask\]") as info:
        require_dask()
    assert isinstance(info.value, WeihaiGISError)


class _KillOneWorker(DaskDistances):
    """Kill a worker process (SIGKILL) once it holds finished partitions and others are still running."""

    killed: int | None = None

    def __call__(self, net, origins, facilities, requests, options):
        futures = self.submit(net, origins, facilities, requests, options)
        pids = self.client.run(os.getpid)
        victim = sorted(pids)[0]
        deadline = time.monotonic() + 60
        while not any(victim in w for w in self.client.who_has(futures).values()):
            assert time.monotonic() < deadline, "the victim never finished a partition"
            time.sleep(0.005)
        assert not all(f.done() for f in futures), "every partition finished before the kill"
        os.kill(pids[victim], signal.SIGKILL)
        self.killed = pids[victim]
        return self.gather(futures, len(origins.edge), [cid for cid, _, _ in requests])


def test_a_worker_killed_mid_run_is_retried_without_lost_or_duplicated_rows():
    net, origins, facilities = _inputs("hitwh")
    single = coverage(net, origins, facilities)
    with connect("local:2", processes=True) as c:
        c.wait_for_workers(2)
        backend = _KillOneWorker(c, n_partitions=60)
        dist = coverage(net, origins, facilities, distances=backend)
        assert backend.killed is not None and backend.killed not in c.run(os.getpid).values()
    _assert_same(single, dist)
    assert dist.origins["origin_id"].is_unique
    assert set(dist.origins["origin_id"]) == set(single.origins["origin_id"])


def test_cli_coverage_with_a_scheduler_writes_the_single_machine_rows(client, tmp_path):
    from click.testing import CliRunner

    from weihai_gis.cli import main

    out = tmp_path / "res.gpkg"
    address = client.scheduler.address  # the in-process test cluster (CliRunner runs in this process)
    result = CliRunner().invoke(
        main, ["-q", "coverage", "--sample", "helsinki", "--scheduler", address, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = pyogrio.read_dataframe(out, layer="origins")
    net, origins, facilities = _inputs("helsinki")
    single = coverage(net, origins, facilities).origins
    dist = [c for c in single.columns if c.startswith("dist_")]
    np.testing.assert_array_equal(written[dist].to_numpy(float), single[dist].to_numpy(float))
    assert (written["met_all_basic"] == single["met_all_basic"]).all()


@pytest.mark.parametrize("command", [["coverage"], ["plan", "gaps"], ["plan", "whatif"], ["demo"]])
def test_cli_refuses_a_bad_scheduler_before_any_work(command, tmp_path):
    from click.testing import CliRunner

    from weihai_gis.cli import main

    out = ["--out", str(tmp_path / ("o.gpkg" if command != ["demo"] else "o"))]
    result = CliRunner().invoke(main, [*command, "--scheduler", "local:0", *out])
    assert result.exit_code == 2 and "local:N" in result.output
    assert not any(tmp_path.iterdir())


def test_main_job_coverage_step_with_a_scheduler_equals_the_plain_run(client):
    from weihai_gis.jobs.coverage_job import run_coverage_job

    inputs = hitwh_inputs()
    _, plain = run_coverage_job(inputs)
    _, dist = run_coverage_job(inputs, scheduler=client.scheduler.address)
    _assert_same(plain, dist)
    pd.testing.assert_frame_equal(plain.problems, dist.problems)


@pytest.mark.parametrize(
    ("walker", "ship", "halo"), [("elderly", "whole", "time"), ("wheelchair", "parts", "box")]
)
def test_walker_runs_on_a_hill_are_the_same_on_dask(client, tmp_path, walker, ship, halo):
    from weihai_gis.distributed.coverage import fastest_m_per_s
    from weihai_gis.network.costs import edge_times
    from weihai_gis.standards import walker_groups
    from weihai_gis.synthetic import write_hitwh_hill_dem

    net, origins, facilities = _inputs("hitwh")
    dem = write_hitwh_hill_dem(tmp_path / "hill.tif", height_m=60.0)
    kw = {"profile": _short_profile(), "walker": walker, "dem_costs": dem}
    single = coverage(net, origins, facilities, **kw)
    backend = DaskDistances(client, method="grid", cell_m=200, ship=ship, halo=halo)
    dist = coverage(net, origins, facilities, distances=backend, **kw)
    _assert_same(single, dist)
    assert np.isfinite(dist.origins.filter(like="time_").to_numpy()).any()
    # downhill on the hill is faster than level ground: the radius grows with it
    flat = walker_groups()[walker]["speed_m_per_min"] / 60
    assert fastest_m_per_s(edge_times(net, dem=dem, walker=walker)) > flat
    assert max(len(p.edges) for p in backend.partitions) < net.n_edges


@pytest.mark.parametrize("chunks", [None, 7])
def test_distributed_cost_matrix_equals_the_single_machine_matrix(client, chunks):
    from weihai_gis.distributed import distributed_cost_matrix
    from weihai_gis.planning import cost_matrix, node_sites

    net, origins, _ = _inputs("hitwh")
    o_snap = snap_points(net, origins.to_crs(net.crs))
    sites = node_sites(net, np.arange(0, net.n_nodes, 3))
    single = cost_matrix(net, o_snap, sites, cutoff_m=500)
    dist = distributed_cost_matrix(net, o_snap, sites, cutoff_m=500, scheduler=client, chunks=chunks)
    assert len(single.dist_m) > 1000  # a matrix with real pairs, not an empty one
    for field in ("origin", "site", "dist_m"):
        np.testing.assert_array_equal(getattr(single, field), getattr(dist, field))
    assert (single.n_origins, single.n_sites, single.cutoff_m) == (
        dist.n_origins,
        dist.n_sites,
        dist.cutoff_m,
    )


def test_plan_site_and_access_on_a_cluster_write_what_the_single_run_writes(client, tmp_path):
    from click.testing import CliRunner

    from weihai_gis.cli import main

    runner = CliRunner()
    for command, extra in (
        ("site", ["--category", "convenience", "--candidates", "nodes", "--k", "3"]),
        ("access", ["--category", "primary_school"]),
    ):
        tables = []
        # the module's in-process cluster, reached by its scheduler address as a real cluster would be
        for name, sched in (("single", []), ("dask", ["--scheduler", client.scheduler.address])):
            out = tmp_path / f"{command}-{name}.gpkg"
            args = ["-q", "plan", command, "--sample", "helsinki", *extra, *sched, "--out", str(out)]
            result = runner.invoke(main, args)
            assert result.exit_code == 0, result.output
            layer = pyogrio.list_layers(out)[0][0]
            tables.append(gpd.read_file(out, layer=layer))
        pd.testing.assert_frame_equal(tables[0], tables[1])
        assert len(tables[0]) > 0


# -- walker groups (minutes) on hills ------------------------------------------------------------------------


@functools.cache
def _hilly_grid(dem_dir: str):
    """A 30 × 30 grid of 80 m blocks under three Gaussian hills (1 arc-second DEM), origins and facilities."""
    from pyproj import Transformer

    from weihai_gis.synthetic import CRS, X0, Y0, Hill, street_grid, write_hill_dem

    net = street_grid(30, 80.0, source="hilly grid")
    to_lonlat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    west, south = to_lonlat.transform(X0 - 200, Y0 - 200)
    east, north = to_lonlat.transform(X0 + 29 * 80 + 200, Y0 + 29 * 80 + 200)
    cx, cy = (west + east) / 2, (south + north) / 2
    hills = [
        Hill(cx - 0.006, cy, 70.0, 0.006),
        Hill(cx + 0.008, cy + 0.006, 45.0, 0.004),
        Hill(cx, cy - 0.008, 30.0, 0.01),
    ]
    cols, rows = int((east - west) * 3600) + 2, int((north - south) * 3600) + 2
    dem = write_hill_dem(Path(dem_dir) / "hills.tif", hills, west=west, south=south, cols=cols, rows=rows)
    rng = np.random.default_rng(3)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    origins = gpd.GeoDataFrame(
        {"population": rng.integers(5, 60, 600).astype(float)},
        geometry=shapely.points(rng.uniform(lo, hi, size=(600, 2))),
        crs=CRS,
    )
    kinds = np.repeat(["kindergarten", "primary_school", "bus_stop", "convenience", "park_10"], 6)
    facilities = gpd.GeoDataFrame(
        {"category": kinds}, geometry=shapely.points(rng.uniform(lo, hi, size=(len(kinds), 2))), crs=CRS
    )
    return net, origins, facilities, dem


def _assert_same_minutes(single, dist):
    """Identical flags; times (s) and route metres equal to 1e-9; then the whole table as ``_assert_same``."""
    a, b = single.origins, dist.origins
    met = [c for c in a.columns if c.startswith("met_")]
    assert met and all((a[c].to_numpy() == b[c].to_numpy()).all() for c in met)
    for prefix, scale in (("time_", 60.0), ("dist_", 1.0)):  # minutes -> seconds
        cols = [c for c in a.columns if c.startswith(prefix)]
        assert cols
        np.testing.assert_allclose(
            b[cols].to_numpy(float) * scale, a[cols].to_numpy(float) * scale, rtol=0, atol=1e-9
        )
    _assert_same(single, dist)


@pytest.mark.parametrize("walker", ["adult", "elderly"])
def test_minutes_on_a_hilly_grid_are_the_local_runs_to_1e_9_s(client, tmp_path_factory, walker):
    from weihai_gis.distributed.coverage import fastest_m_per_s
    from weihai_gis.network.costs import edge_times, tobler_pace_factor
    from weihai_gis.standards import walker_groups

    net, origins, facilities, dem = _hilly_grid(str(tmp_path_factory.mktemp("hills")))
    prof = load_profile("gb50180-2018")
    given = prof.categories["id"].isin(facilities["category"])
    prof = dataclasses.replace(prof, categories=prof.categories[given].reset_index(drop=True))
    kw = {"profile": prof, "walker": walker, "dem_costs": dem, "offset_check": "off"}
    single = coverage(net, origins, facilities, **kw)
    backend = DaskDistances(client, method="grid", cell_m=600)
    dist = coverage(net, origins, facilities, distances=backend, **kw)
    _assert_same_minutes(single, dist)
    times = edge_times(net, dem=dem, walker=walker)
    assert (times.forward_s != times.backward_s).mean() > 0.5  # the hills make most edges directed
    level = walker_groups()[walker]["speed_m_per_min"] / 60
    assert level < fastest_m_per_s(times) <= level / tobler_pace_factor(-0.05) * (1 + 1e-12)  # the halo
    assert len(backend.partitions) >= 4 and max(len(p.edges) for p in backend.partitions) < net.n_edges
    reached = single.origins.filter(like="time_").to_numpy(float)
    assert 0.1 < np.isfinite(reached).mean() < 0.9  # the budgets bite: near and far origins both
    # the halo in time follows the streets and the hills: smaller than the metres box of the same budget
    o_snap, f_snap = snap_points(net, origins), snap_points(net, facilities)
    budget_s, fast = 500 / (walker_groups()["adult"]["speed_m_per_min"] / 60), fastest_m_per_s(times)
    plan = functools.partial(plan_partitions, net, o_snap, f_snap, budget_s * fast, method="grid", cell_m=600)
    in_time, in_box = plan(times=times, budget_s=budget_s), plan()
    assert [p.origins.tolist() for p in in_time] == [p.origins.tolist() for p in in_box]
    assert sum(len(p.edges) for p in in_time) < 0.9 * sum(len(p.edges) for p in in_box)
    assert [len(p.edges) for p in backend.partitions] == [len(p.edges) for p in in_time]


def test_minutes_cost_matrix_on_a_hilly_grid_equals_the_single_machine_matrix(client, tmp_path_factory):
    from weihai_gis.distributed import distributed_cost_matrix
    from weihai_gis.network.costs import edge_times
    from weihai_gis.planning import cost_matrix, node_sites

    net, origins, _, dem = _hilly_grid(str(tmp_path_factory.mktemp("hills")))
    o_snap = snap_points(net, origins)
    sites = node_sites(net, np.arange(0, net.n_nodes, 7))
    times = edge_times(net, dem=dem, walker="elderly")
    single = cost_matrix(net, o_snap, sites, cutoff_m=400, times=times)
    dist = distributed_cost_matrix(net, o_snap, sites, cutoff_m=400, scheduler=client, chunks=5, times=times)
    assert len(single.dist_m) > 1000 and dist.walker == single.walker == "elderly"
    for field in ("origin", "site", "dist_m"):
        np.testing.assert_array_equal(getattr(single, field), getattr(dist, field))
    flat = cost_matrix(net, o_snap, sites, cutoff_m=400)
    assert len(flat.dist_m) > len(
        single.dist_m
    )  # the elderly on the hills reach fewer sites: minutes, not metres


def test_sweep_of_an_elderly_base_on_the_hills_equals_answering_each_scenario_alone(client, tmp_path_factory):
    net, origins, facilities, dem = _hilly_grid(str(tmp_path_factory.mktemp("hills")))
    kw = {"walker": "elderly", "dem_costs": dem, "offset_check": "off"}
    base = coverage(net, origins, facilities, **kw)
    rng = np.random.default_rng(11)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    added = gpd.GeoDataFrame(
        {"category": ["bus_stop"] * 4 + ["kindergarten"] * 3},
        geometry=shapely.points(rng.uniform(lo, hi, size=(7, 2))),
        crs=net.crs,
    )
    bus = facilities.index[facilities["category"] == "bus_stop"].astype(str)
    scenarios = [Scenario("新增公交站与幼儿园", add=added), Scenario("撤销公交站", remove=tuple(bus[:4]))]
    with pytest.raises(LayerError, match=r"hills of DEM 'hills\.tif'"):
        sweep(scenarios, net, base, scheduler=client)  # the DEM is checked before anything is sent
    swept = sweep(scenarios, net, base, scheduler=client, dem_costs=dem)
    for s, got in zip(scenarios, swept, strict=True):
        alone = run_scenarios(WhatIf(net, base, dem_costs=dem), [s])[0]
        _assert_same_minutes(alone.result, got.result)
        pd.testing.assert_frame_equal(alone.table, got.table)
    rate = {o.scenario.name: o.result.overall().set_index("id")["rate_network"] for o in swept}
    before = base.overall().set_index("id")["rate_network"]
    assert rate["新增公交站与幼儿园"]["bus_stop"] > before["bus_stop"]
    assert rate["撤销公交站"]["bus_stop"] < before["bus_stop"]


def test_a_sweep_sends_the_edge_times_so_no_worker_reads_the_dem(client, tmp_path_factory, monkeypatch):
    """The workers get the base run's edge times with the network: equal outcomes, the DEM never opened there."""
    import threading

    import weihai_gis.io.raster as raster

    net, origins, facilities, dem = _hilly_grid(str(tmp_path_factory.mktemp("hills-times")))
    base = coverage(net, origins, facilities, walker="elderly", dem_costs=dem, offset_check="off")
    rng = np.random.default_rng(12)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    scenarios = [
        Scenario(
            f"新增{i}",
            add=gpd.GeoDataFrame(
                {"category": ["bus_stop", "kindergarten"]},
                geometry=shapely.points(rng.uniform(lo, hi, size=(2, 2))),
                crs=net.crs,
            ),
        )
        for i in range(4)
    ]
    alone = [run_scenarios(WhatIf(net, base, dem_costs=dem), [s])[0] for s in scenarios]
    opened = []
    reader = raster.DEMReader

    def counting(*args, **kwargs):
        opened.append(threading.current_thread().name)
        return reader(*args, **kwargs)

    monkeypatch.setattr(raster, "DEMReader", counting)
    # nothing cached on the network (an in-process cluster hands the workers this very object)
    for key in [k for k in net._cache if isinstance(k, tuple) and k[0] in ("edge_profile", "edge_times")]:
        del net._cache[key]
    swept = sweep(scenarios, net, base, scheduler=client, dem_costs=dem)
    main = threading.main_thread().name
    assert opened == [main]  # sampled once by the client; the workers (threads here) never opened it
    for want, got in zip(alone, swept, strict=True):
        _assert_same_minutes(want.result, got.result)
        pd.testing.assert_frame_equal(want.table, got.table)


def test_cli_coverage_of_the_extract_for_the_elderly_on_hills_with_a_scheduler_writes_the_single_run(
    client, tmp_path
):
    """`coverage --walker elderly --dem-costs --scheduler` on the 山大哈工大 extract: every layer as without Dask."""
    from click.testing import CliRunner

    from weihai_gis.cli import main
    from weihai_gis.synthetic import write_hitwh_hill_dem

    inputs = hitwh_inputs()
    inputs.facilities.to_file(tmp_path / "facilities.gpkg")
    inputs.origins.to_file(tmp_path / "origins.gpkg")
    dem = write_hitwh_hill_dem(tmp_path / "hill.tif", height_m=70)
    args = [
        "-q",
        "coverage",
        "--network",
        str(inputs.network),
        "--facilities",
        str(tmp_path / "facilities.gpkg"),
    ]
    args += ["--category-field", "category", "--origins", str(tmp_path / "origins.gpkg")]
    args += ["--walker", "elderly", "--dem-costs", str(dem)]
    written = []
    for run, sched in (("single", []), ("dask", ["--scheduler", client.scheduler.address])):
        out = tmp_path / f"{run}.gpkg"
        result = CliRunner().invoke(
            main, [*args, *sched, "--cache-dir", str(tmp_path / run), "--out", str(out)]
        )
        assert result.exit_code == 0, f"{run}: {result.output}"
        written.append({layer: gpd.read_file(out, layer=layer) for layer, _ in pyogrio.list_layers(out)})
    assert written[0].keys() == written[1].keys() and "origins" in written[0]
    assert written[0]["origins"].filter(like="time_").notna().any().any()  # minutes on the hill
    for layer in set(written[0]) - {"run_metadata"}:  # (its run time differs)
        pd.testing.assert_frame_equal(written[0][layer], written[1][layer], check_exact=True, obj=layer)


def test_minutes_on_the_real_aster_tile_are_the_local_runs(client, shared_dem):
    """A street grid laid over the real ASTER GDEM's hills (23-131 m) near 122.32 E, 36.98 N."""
    from pyproj import Transformer

    from weihai_gis.synthetic import CRS, street_grid

    cx, cy = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(122.318, 36.975)
    net = street_grid(22, 80.0, origin_xy=(cx - 840, cy - 840), source="aster grid")
    rng = np.random.default_rng(5)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    origins = gpd.GeoDataFrame(
        {"population": np.full(400, 20.0)}, geometry=shapely.points(rng.uniform(lo, hi, (400, 2))), crs=CRS
    )
    kinds = np.repeat(["kindergarten", "primary_school", "bus_stop"], 5)
    facilities = gpd.GeoDataFrame(
        {"category": kinds}, geometry=shapely.points(rng.uniform(lo, hi, (len(kinds), 2))), crs=CRS
    )
    prof = load_profile("gb50180-2018")
    prof = dataclasses.replace(
        prof, categories=prof.categories[prof.categories["id"].isin(kinds)].reset_index(drop=True)
    )
    kw = {"profile": prof, "walker": "elderly", "dem_costs": shared_dem, "offset_check": "off"}
    single = coverage(net, origins, facilities, **kw)
    backend = DaskDistances(client, method="grid", cell_m=500)
    _assert_same_minutes(single, coverage(net, origins, facilities, distances=backend, **kw))
    assert len(backend.partitions) >= 4
    assert single.origins.filter(like="met_").to_numpy(bool).any()


def _helsinki_hill(tmp_path):
    """A 40 m Gaussian hill (1 arc-second EPSG:4326 GeoTIFF) over the Helsinki sample's streets."""
    from weihai_gis.samples import sample_inputs
    from weihai_gis.synthetic import Hill, write_hill_dem

    net = build_network(sample_inputs().network)
    west, south, east, north = gpd.GeoSeries(net.edge_geometry, crs=net.crs).to_crs(4326).total_bounds
    cols, rows = int((east - west) * 3600) + 8, int((north - south) * 3600) + 8
    hill = Hill((west + east) / 2, (south + north) / 2, 40.0, (east - west) / 4)
    west, south = west - 4 / 3600, south - 4 / 3600
    return write_hill_dem(tmp_path / "hill.tif", [hill], west=west, south=south, cols=cols, rows=rows)


def test_cli_minutes_commands_on_a_cluster_write_what_the_single_run_writes(client, tmp_path):
    """coverage (with --compare-walkers), plan gaps / whatif / access: elderly on a hill, with and without Dask."""
    from click.testing import CliRunner

    from weihai_gis.cli import main
    from weihai_gis.io.results import read_results
    from weihai_gis.samples import sample_inputs

    walk = ["--sample", "helsinki", "--walker", "elderly", "--dem-costs", str(_helsinki_hill(tmp_path))]
    fac = sample_inputs().facilities
    lon, lat = shapely.get_coordinates(fac.to_crs(4326).geometry.to_numpy()[[0]])[0]
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"scenarios:\n  - name: 规划\n    add:\n      - {{category: primary_school, x: {lon}, y: {lat}}}\n",
        encoding="utf-8",
    )
    commands = {
        "coverage": ["coverage", *walk, "--compare-walkers", "elderly"],
        "gaps": ["plan", "gaps", *walk],
        "whatif": ["plan", "whatif", *walk, "--scenario", str(scenario)],
        "access": ["plan", "access", *walk, "--category", "primary_school"],
    }
    for name, args in commands.items():
        written = []
        # the module's in-process cluster, reached by its scheduler address as a real cluster would be
        for run, sched in (("single", []), ("dask", ["--scheduler", client.scheduler.address])):
            out = tmp_path / f"{name}-{run}.gpkg"
            result = CliRunner().invoke(main, ["-q", *args, *sched, "--out", str(out)])
            assert result.exit_code == 0, f"{name} {run}: {result.output}"
            layers = [layer for layer, _ in pyogrio.list_layers(out)]
            frames = {layer: gpd.read_file(out, layer=layer) for layer in layers}
            if out.with_suffix(".csv").exists():
                frames["csv"] = pd.read_csv(out.with_suffix(".csv"), comment="#")
            written.append(frames)
        assert written[0].keys() == written[1].keys()
        assert any(len(frame) for frame in written[0].values()), name  # something to compare
        for layer in set(written[0]) - {"run_metadata"}:  # (its run time differs)
            pd.testing.assert_frame_equal(written[0][layer], written[1][layer], check_exact=True, obj=layer)
        if name == "coverage":  # a minutes run on the hill, with the elderly-adult comparison
            res = read_results(tmp_path / "coverage-dask.gpkg")
            assert res.walker == "elderly" and res.walker_comparison is not None
            assert len(res.walker_comparison) > 0 and res.origins.filter(like="time_").notna().any().any()
