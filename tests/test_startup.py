"""Start-up: the package and the command line load heavy libraries only where they are used (issue 15).

Not a timing test (scripts/bench_startup.py measures the CPU time): each check runs in a fresh interpreter and
asserts which modules a command left in ``sys.modules``.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

import weihai_gis
import weihai_gis.layers
from weihai_gis.cli import SHORT_HELP, SUBCOMMANDS

HEAVY = (
    "folium",
    "jinja2",
    "matplotlib",
    "rasterio",
    "scipy",
    "geopandas",
    "pandas",
    "pyogrio",
    "pyproj",
    "shapely",
    "tqdm",
    "yaml",
    "weihai_gis.lifecircle.engine",
    "weihai_gis.lifecircle.time_engine",
)
CLI_MODULES = tuple(f"weihai_gis.cli.{m}" for m in sorted({m for m, _ in SUBCOMMANDS.values()}))
FIX = (
    "import the library inside the command (or under TYPE_CHECKING for annotations); "
    "see weihai_gis/cli/coverage.py"
)


def _loaded_after(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    """Run ``code`` in a fresh interpreter; return which of ``modules`` (default HEAVY) it left loaded."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cli(args: list[str]) -> str:
    return (
        "import contextlib, io, weihai_gis.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        weihai_gis.cli.main({args!r})\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
    )


def test_importing_the_package_and_the_cli_loads_no_heavy_library():
    assert _loaded_after("import weihai_gis") == []
    assert _loaded_after("import weihai_gis.cli") == [], FIX


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["layers", "list"],
        ["layers", "show", "counties"],
        ["sightlines", "--help"],
        ["sightlines", "viewshed", "--help"],
    ],
)
def test_help_list_and_show_start_without_folium_rasterio_geopandas_or_the_engine(args):
    assert _loaded_after(_cli(args)) == [], FIX


@pytest.mark.parametrize(
    "args", [["coverage", "--help"], ["plan", "--help"], ["map", "--help"], ["demo", "--help"]]
)
def test_the_help_of_the_heavy_commands_loads_no_geopandas_folium_or_matplotlib(args):
    assert (
        _loaded_after(_cli(args), ("geopandas", "pandas", "folium", "jinja2", "matplotlib", "rasterio")) == []
    )


def test_the_command_list_imports_no_command_module_and_a_command_only_its_own():
    assert _loaded_after(_cli(["--help"]), CLI_MODULES) == []
    assert _loaded_after(_cli(["sightlines", "--help"]), CLI_MODULES) == ["weihai_gis.cli.sightlines"]


def test_the_lazy_command_table_lists_every_command_with_its_own_short_help():
    from importlib import import_module

    import weihai_gis.cli
    from weihai_gis.cli import main

    found = {}
    for path in sorted(Path(weihai_gis.cli.__file__).parent.glob("*.py")):
        module = import_module(f"weihai_gis.cli.{path.stem}")
        for command in getattr(module, "COMMANDS", ()):
            found[command.name] = (path.stem, command)
    assert set(found) == set(SUBCOMMANDS) == set(SHORT_HELP), (
        "register a new command in weihai_gis/cli/__init__.py"
    )
    for name, (module_name, command) in found.items():
        module, attr = SUBCOMMANDS[name]
        assert module == module_name and getattr(import_module(f"weihai_gis.cli.{module}"), attr) is command
        assert main.get_command(click.Context(main), name) is command
        assert SHORT_HELP[name] == command.get_short_help_str(limit=10_000), name


def test_a_real_command_still_loads_what_it_needs():
    # the probe can fail: layers validate reads through geopandas
    assert "geopandas" in _loaded_after(_cli(["layers", "validate"]))


def test_lazy_package_names_resolve_to_the_library_objects():
    from weihai_gis.lifecircle.compute import coverage
    from weihai_gis.network.graph import WalkNetwork

    assert weihai_gis.coverage is coverage
    assert weihai_gis.WalkNetwork is WalkNetwork
    assert weihai_gis.maps.__name__ == "weihai_gis.maps"
    for name in weihai_gis.__all__:
        assert getattr(weihai_gis, name) is not None, name
    assert set(weihai_gis.__all__) <= set(dir(weihai_gis))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = weihai_gis.no_such_name


LAZY_PACKAGES = [
    "weihai_gis",
    "weihai_gis.layers",
    "weihai_gis.io",
    "weihai_gis.sightlines",
    "weihai_gis.jobs",
]


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_a_lazy_package_imports_a_name_on_first_use_keeps_it_and_lists_it(name):
    package = importlib.import_module(name)
    public = sorted(set(package.__all__) & set(package._WHERE))
    first = public[0]
    package.__dict__.pop(first, None)  # as before its first use
    value = getattr(package, first)
    assert package.__dict__[first] is value  # kept: the hook runs once per name
    assert value is getattr(importlib.import_module(package._WHERE[first]), first)
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match=f"module '{name}' has no attribute 'no_such_name'"):
        _ = package.no_such_name


@pytest.mark.parametrize("package", [weihai_gis, weihai_gis.layers])
def test_all_the_lazy_table_and_the_type_checking_imports_name_the_same_things(package):
    tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
    typed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom)
                typed |= {alias.name for alias in imp.names}
    lazy = set(package._WHERE) | set(getattr(package, "_SUBMODULES", ()))
    exported = set(package.__all__) - {"__version__"}
    assert typed == lazy == exported, (typed ^ lazy) | (lazy ^ exported)


def test_the_curvature_default_shown_in_help_is_the_viewshed_default():
    from weihai_gis.cli.sightlines import CURVATURE_COEFF_SHOWN, _default_curvature_coeff
    from weihai_gis.sightlines.viewshed import DEFAULT_CURVATURE_COEFF

    assert float(CURVATURE_COEFF_SHOWN) == DEFAULT_CURVATURE_COEFF == _default_curvature_coeff()


def test_a_viewshed_from_the_cli_on_a_baseline_geotiff_loads_no_rasterio_geopandas_pandas_or_scipy(tmp_path):
    import numpy as np
    from affine import Affine

    from weihai_gis.sightlines import DEM, write_raster

    dem = DEM(
        np.random.default_rng(0).uniform(0, 50, (30, 40)), Affine(30, 0, 450000, 0, -30, 4100000), "EPSG:4550"
    )
    path = write_raster(tmp_path / "dem.tif", dem.elevation, dem, nodata=-9999)
    x, y = dem.transform @ (20.5, 15.5)
    args = ["-q", "sightlines", "viewshed", "--dem", str(path), "--observer", str(x), str(y)]
    loaded = _loaded_after(_cli([*args, "--out", str(tmp_path / "vs.tif")]))
    assert (tmp_path / "vs.tif").exists()
    # weihai_gis.io.geotiff reads and writes it: no pyproj, tqdm, yaml or shapely either
    assert loaded == [], FIX
    # and the grid's transform stays six coefficients: no affine or attrs
    assert _loaded_after(_cli([*args, "--out", str(tmp_path / "vs1.tif")]), ("affine", "attr")) == []
    # an LZW file is read by rasterio, still without the others
    import rasterio

    with rasterio.open(path) as src:
        profile = src.profile | {"compress": "lzw"}
        data = src.read(1)
    with rasterio.open(tmp_path / "lzw.tif", "w", **profile) as dst:
        dst.write(data, 1)
    args[args.index(str(path))] = str(tmp_path / "lzw.tif")
    assert _loaded_after(_cli([*args, "--out", str(tmp_path / "vs2.tif")])) == ["rasterio"], FIX


def test_a_coverage_run_on_vector_files_loads_no_networkx_rasterio_or_map_libraries(tmp_path, monkeypatch):
    import geopandas as gpd
    import numpy as np
    import shapely

    # a 15 x 15 street grid of 80 m blocks in Weihai's plane, origins and one facility per category
    xs = 420_000.0 + 80.0 * np.arange(15)
    ys = 4_130_000.0 + 80.0 * np.arange(15)
    gx, gy = np.meshgrid(xs, ys)
    lines = [*shapely.linestrings(np.stack([gx, gy], -1)), *shapely.linestrings(np.stack([gx.T, gy.T], -1))]
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs="EPSG:4550")
    roads.to_file(tmp_path / "roads.gpkg", layer="roads")
    rng = np.random.default_rng(0)
    corner = np.array([420_000.0, 4_130_000.0])
    pts = shapely.points(corner + rng.uniform(0, 1100, (30, 2)))
    gpd.GeoDataFrame({"origin_id": range(30), "population": 10}, geometry=pts, crs="EPSG:4550").to_file(
        tmp_path / "origins.gpkg"
    )
    fac = gpd.GeoDataFrame(
        {"category": ["primary_school", "bus_stop", "market"]},
        geometry=shapely.points(corner + rng.uniform(0, 1100, (3, 2))),
        crs="EPSG:4550",
    )
    fac.to_file(tmp_path / "facilities.gpkg")
    monkeypatch.setenv("WEIHAI_GIS_CACHE_DIR", str(tmp_path / "cache"))
    args = ["-q", "coverage", "--network", str(tmp_path / "roads.gpkg"), "--network-layer", "roads"]
    args += ["--facilities", str(tmp_path / "facilities.gpkg"), "--category-field", "category"]
    args += ["--origins", str(tmp_path / "origins.gpkg"), "--out", str(tmp_path / "res.gpkg")]
    unneeded = ("networkx", "rasterio", "folium", "jinja2", "matplotlib", "weihai_gis.maps", "scipy.spatial")
    assert _loaded_after(_cli(args), (*unneeded, "geopandas")) == ["geopandas"]  # the probe can fail
    assert (tmp_path / "res.gpkg").exists()


_REPORT_AT_EXIT = """
import atexit, json, os, sys


def _report():
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    env = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    with open(os.environ["WG_REPORT"], "w") as f:
        json.dump({"env": env, "numpy": "numpy" in sys.modules, "threads": threads}, f)


atexit.register(_report)
"""
"""A sitecustomize for the children below: at exit, what the process's environment and thread count were."""


def _clean_env(**extra: str) -> dict[str, str]:
    from weihai_gis.cli import THREAD_VARIABLES

    return {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES} | extra


def _viewshed_args(tmp_path: Path) -> list[str]:
    import numpy as np
    from affine import Affine

    from weihai_gis.sightlines import DEM, write_raster

    dem = DEM(
        np.random.default_rng(1).uniform(0, 50, (20, 30)), Affine(30, 0, 450000, 0, -30, 4100000), "EPSG:4550"
    )
    path = write_raster(tmp_path / "dem.tif", dem.elevation, dem, nodata=-9999)
    x, y = dem.transform @ (10.5, 8.5)
    return ["-q", "sightlines", "viewshed", "--dem", str(path), "--observer", str(x), str(y)]


def _run_reporting(cmd: list[str], tmp_path: Path, env: dict[str, str]) -> dict:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(_REPORT_AT_EXIT, encoding="utf-8")
    report = tmp_path / "report.json"
    pythonpath = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH")) if p)
    subprocess.run(
        cmd, env=env | {"PYTHONPATH": pythonpath, "WG_REPORT": str(report)}, check=True, capture_output=True
    )
    return json.loads(report.read_text(encoding="utf-8"))


@pytest.mark.parametrize("how", ["console script", "python -m weihai_gis"])
def test_the_command_line_runs_numpy_with_one_blas_thread(tmp_path, how):
    script = Path(sys.executable).parent / "weihai-gis"
    if how == "console script" and not script.exists():
        pytest.skip("the weihai-gis console script is not installed next to this interpreter")
    launcher = [str(script)] if how == "console script" else [sys.executable, "-m", "weihai_gis"]
    args = [*_viewshed_args(tmp_path), "--out", str(tmp_path / "vs.tif")]
    got = _run_reporting([*launcher, *args], tmp_path, _clean_env())
    assert (tmp_path / "vs.tif").exists() and got["numpy"]
    assert got["env"] == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if got["threads"] is not None:  # Linux: OpenBLAS started no pool (without the variable: one per core)
        assert got["threads"] == 1


def test_a_thread_count_the_user_set_wins_and_the_others_stay_unset(tmp_path):
    args = [*_viewshed_args(tmp_path), "--out", str(tmp_path / "vs.tif")]
    got = _run_reporting(
        [sys.executable, "-m", "weihai_gis", *args], tmp_path, _clean_env(OMP_NUM_THREADS="2")
    )
    assert got["env"] == {"OPENBLAS_NUM_THREADS": None, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": None}


def test_library_users_keep_their_environment(tmp_path):
    code = (
        "import weihai_gis, weihai_gis.sightlines\n"  # the library: numpy loads, nothing is set
        "assert weihai_gis.sightlines.DEFAULT_CURVATURE_COEFF > 0\n"
        "import contextlib, io, weihai_gis.cli\n"  # main() called where numpy is loaded: still nothing
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        weihai_gis.cli.main(['--version'])\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    got = _run_reporting([sys.executable, "-c", code], tmp_path, _clean_env())
    assert got["numpy"] and got["env"] == dict.fromkeys(
        ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    )


def test_single_threaded_math_sets_the_variables_only_when_none_is_set_and_numpy_is_not_loaded(monkeypatch):
    from weihai_gis.cli import single_threaded_math

    assert "numpy" in sys.modules  # this test process: the library's user
    assert single_threaded_math({}) is False
    monkeypatch.delitem(sys.modules, "numpy")
    env: dict[str, str] = {}
    assert single_threaded_math(env) is True
    assert env == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env = {name: "3"}
        assert single_threaded_math(env) is False and env == {name: "3"}
