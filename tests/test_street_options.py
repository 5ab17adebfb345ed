"""Barriers and service areas through the results GeoPackage, the coverage map and the CLI (`coverage`, `demo`)."""

from __future__ import annotations

import dataclasses
import functools
import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from weihai_gis.cli import main
from weihai_gis.data import __file__ as data_init
from weihai_gis.io.results import read_results, write_results
from weihai_gis.jobs.coverage_job import run_coverage_job
from weihai_gis.lifecircle.service_areas import result_service_areas
from weihai_gis.maps import coverage_map
from weihai_gis.network import barrier_cut, read_osm_crossings, snap_points
from weihai_gis.options import CoverageOptions
from weihai_gis.planning.closures import barrier_scenario, barrier_whatif
from weihai_gis.planning.compare import CHANGE_GAINED, CHANGE_LOST
from weihai_gis.samples import hitwh_inputs
from weihai_gis.standards import load_profile

PBF = str(__import__("pathlib").Path(data_init).parent / "weihai-hitwh.osm.pbf")


@functools.cache
def _runs():
    """The shipped extract without and with a closure square in its middle (crossings from OSM)."""
    inputs = hitwh_inputs()
    opts = CoverageOptions(hex_size_m=250)
    net, plain = run_coverage_job(inputs, opts)
    centre = shapely.centroid(shapely.union_all(net.edge_geometry))
    bars = gpd.GeoDataFrame(
        {"name": ["工地"]}, geometry=[shapely.buffer(centre, 150, cap_style="square")], crs=net.crs
    )
    cut_net, cut = run_coverage_job(inputs, opts, barriers=bars.to_crs("EPSG:4326"), service_areas="category")
    return net, plain, cut_net, cut, bars


def _moved(net, cut_net, points, removed):
    """Per point: True when its street was cut or it joins the cut network elsewhere (across the fence)."""
    before, after = snap_points(net, points), snap_points(cut_net, points)
    return removed[before.edge] | ~np.isclose(before.connector_m, after.connector_m, rtol=0, atol=1e-6)


def test_a_closure_only_lengthens_walks_of_everyone_still_on_the_same_street_and_the_run_says_what_it_cut():
    net, plain, cut_net, cut, bars = _runs()
    assert any(w.startswith("障碍/封闭：1 处，切断路段") for w in cut.warnings)
    barrier = barrier_cut(net, bars, read_osm_crossings(PBF))
    removed = barrier.cut
    assert removed.any() and cut_net.n_edges == barrier.apply(net).n_edges > net.n_edges  # parts kept
    # points whose street was cut, or whose nearest street lies across the fence, join another street (a
    # model choice: it may be nearer a facility); everyone else, walking to facilities that kept their
    # streets, only walks farther
    same = ~_moved(net, cut_net, plain.origins, removed)
    compared = longer = 0
    for cid in plain.categories.loc[plain.categories["assessed"], "id"]:
        fac = plain.facilities[plain.facilities["category"].isin(_serving(plain, cid))]
        if _moved(net, cut_net, fac, removed).any():
            continue
        before = plain.origins[f"dist_{cid}"].to_numpy()[same]
        after = cut.origins[f"dist_{cid}"].to_numpy()[same]
        both = np.isfinite(before) & np.isfinite(after)
        assert (after[both] >= before[both] - 1e-9).all(), cid
        assert not (np.isnan(before) & np.isfinite(after)).any(), cid  # nobody gains a facility
        compared += int(both.sum())
        longer += int((after[both] > before[both] + 1).sum())
    assert compared > 500 and longer > 10


def _serving(result, cid):
    cat = load_profile(result.profile_name).categories.set_index("id").loc[cid]
    return [*cat["kinds"], cid]


def test_service_areas_avoid_the_closed_square_and_round_trip_through_the_results_gpkg(tmp_path):
    _, _, _cut_net, cut, bars = _runs()
    areas = cut.service_areas
    assert areas is not None and len(areas) == int(cut.categories["assessed"].sum())
    assert set(areas["mode"]) == {"category"} and (areas["buffer_m"] == 50).all()
    site = bars.geometry.iloc[0]
    inner = shapely.buffer(site, -60)  # farther than the buffer from every street left outside the square
    assert not shapely.intersects(areas.geometry.to_numpy(), inner).any()
    path = write_results(cut, tmp_path / "cut.gpkg")
    assert "service_areas" in {name for name, _ in pyogrio.list_layers(path)}
    back = read_results(path)
    assert back.service_areas is not None
    assert back.service_areas["category"].tolist() == areas["category"].tolist()
    np.testing.assert_allclose(back.service_areas["network_m"], areas["network_m"])
    assert shapely.equals_exact(back.service_areas.geometry.to_numpy(), areas.geometry.to_numpy(), 1e-6).all()
    # a results file without the layer reads back without it
    plain = dataclasses.replace(cut, service_areas=None)
    assert read_results(write_results(plain, tmp_path / "plain.gpkg")).service_areas is None


def test_the_coverage_map_draws_service_areas_only_when_the_result_holds_them():
    _, _, _, cut, _ = _runs()
    with_areas = coverage_map(cut).get_root().render()
    assert _shown("服务范围 / service areas", with_areas) and _shown("步行 300 m", with_areas)
    without = coverage_map(dataclasses.replace(cut, service_areas=None)).get_root().render()
    assert not _shown("服务范围", without)


def _shown(text: str, page: str) -> bool:
    """Whether ``text`` is on the page, as written or as the JSON escapes folium writes."""
    return text in page or json.dumps(text)[1:-1] in page


def test_result_service_areas_use_each_categorys_limit_and_refuse_unknown_categories():
    _, _, cut_net, cut, _ = _runs()
    frame = result_service_areas(cut_net, cut, categories=["bus_stop"], mode="facility", buffer_m=25)
    n_bus = int(cut.facilities["category"].eq("bus_stop").sum())
    assert 0 < len(frame) <= n_bus and (frame["cutoff_m"] == 500).all() and (frame["buffer_m"] == 25).all()
    with pytest.raises(ValueError, match="not in profile"):
        result_service_areas(cut_net, cut, categories=["casino"])


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("street")
    inputs = hitwh_inputs()
    origins = folder / "origins.gpkg"
    inputs.origins.to_file(origins, driver="GPKG")
    net, _, _, _, bars = _runs()
    closures = folder / "closures.gpkg"
    bars.to_file(closures, layer="工地", driver="GPKG")
    bad = gpd.GeoDataFrame(geometry=[shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])], crs=net.crs)
    bad.to_file(closures, layer="坏", driver="GPKG")
    return folder, origins, closures


def _coverage_args(folder, origins, *extra):
    return ["-q", "coverage", "--network", PBF, "--facilities", PBF, "--origins", str(origins), *extra]


def test_cli_coverage_cuts_at_a_named_layer_and_writes_service_areas(cli_files):
    folder, origins, closures = cli_files
    out = folder / "res.gpkg"
    args = [
        "--barriers",
        f"{closures}:工地",
        "--service-areas",
        "--service-area-buffer",
        "30",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, _coverage_args(folder, origins, *args))
    assert result.exit_code == 0, result.output
    assert "障碍/封闭：1 处" in result.output
    areas = pyogrio.read_dataframe(out, layer="service_areas")
    assert len(areas) > 3 and (areas["buffer_m"] == 30).all() and set(areas["mode"]) == {"category"}


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--barriers", "{closures}:坏"], "invalid"),
        (["--barriers", "{folder}/missing.gpkg"], "missing.gpkg"),
        (["--crossings", "{closures}"], "give --barriers too"),
        (["--service-areas", "hull"], "hull"),
    ],
)
def test_cli_bad_street_inputs_exit_2_with_the_reason_and_no_traceback(cli_files, extra, needle):
    folder, origins, closures = cli_files
    extra = [e.format(closures=closures, folder=folder) for e in extra]
    out = folder / "bad.gpkg"
    result = CliRunner().invoke(main, _coverage_args(folder, origins, *extra, "--out", str(out)))
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_demo_accepts_the_same_street_options():
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert result.exit_code == 0
    for flag in ("--barriers", "--crossings", "--service-areas", "--service-area-buffer"):
        assert flag in result.output


def test_a_barrier_what_if_equals_the_cut_run_and_removing_it_gives_the_plain_run_back():
    net, plain, cut_net, cut, bars = _runs()
    added = barrier_whatif(net, plain, barrier_scenario(net, bars, read_osm_crossings(PBF), name="工地"))
    assert added.scenario.network.n_edges == cut_net.n_edges
    for cid in plain.categories.loc[plain.categories["assessed"], "id"]:
        np.testing.assert_allclose(
            added.result.origins[f"dist_{cid}"], cut.origins[f"dist_{cid}"], rtol=0, atol=1e-9, err_msg=cid
        )
    # a closure adds coverage only to origins snapped again because their own street was cut (or to
    # categories whose facilities were): nearest-edge snapping had sent them the long way before
    removed = barrier_cut(net, bars, read_osm_crossings(PBF)).cut
    o_edge = dict(zip(plain.origins["origin_id"], _moved(net, cut_net, plain.origins, removed), strict=True))
    moved = {
        cid
        for cid in plain.categories["id"]
        if _moved(
            net, cut_net, plain.facilities[plain.facilities["category"].isin(_serving(plain, cid))], removed
        ).any()
    }
    gained = added.origins[added.origins["change_zh"] == CHANGE_GAINED]
    assert all(o_edge[o] or c in moved for o, c in zip(gained["origin_id"], gained["category"], strict=True))
    assert (added.origins["change_zh"] == CHANGE_LOST).sum() > len(gained)
    removed = barrier_whatif(cut_net, cut, barrier_scenario(net, None, name="拆除"))
    pd_plain = plain.overall().set_index("id")["rate_network"]
    pd_back = removed.result.overall().set_index("id")["rate_network"]
    np.testing.assert_allclose(pd_back.to_numpy(), pd_plain.loc[pd_back.index].to_numpy(), equal_nan=True)


def test_plan_commands_walk_the_cut_network_too(cli_files):
    folder, origins, closures = cli_files
    out = folder / "gaps.gpkg"
    args = ["-q", "plan", "gaps", "--network", PBF, "--facilities", PBF, "--origins", str(origins)]
    args += ["--category", "bus_stop", "--barriers", f"{closures}:工地", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "障碍/封闭：1 处" in result.output and out.exists()
    for command in ("site", "access", "whatif"):
        assert "--barriers" in CliRunner().invoke(main, ["plan", command, "--help"]).output
