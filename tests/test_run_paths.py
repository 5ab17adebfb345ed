"""Never overwrite an input, check every path before any work, sweep killed runs' temporaries, disk errors.

Every command runs inside ``weihai_gis.files.run_paths`` built from all of its path options (see
``weihai_gis.cli.paths``); these tests use real files, real symlinks and hard links, a process really killed
with SIGKILL in the middle of a write and, where the machine allows it (root), a real 64 KB tmpfs.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from weihai_gis import data
from weihai_gis.cli import main
from weihai_gis.cli.paths import PLANNED_OUTPUTS
from weihai_gis.errors import InputFileError, OutputError
from weihai_gis.files import atomic_path, run_paths, sweep_stale_temporaries
from weihai_gis.layers import DEFAULT_GPKG


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(*args: str):
    return CliRunner().invoke(main, ["-q", *map(str, args)])


@pytest.fixture
def layers_copy(tmp_path) -> Path:
    dest = tmp_path / "L.gpkg"
    shutil.copyfile(DEFAULT_GPKG, dest)
    return dest


def _refused(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output


def test_map_onto_its_layers_file_is_refused_and_the_layers_are_untouched(layers_copy):
    before = _digest(layers_copy)
    result = _run("map", "--layers", layers_copy, "--out", layers_copy)
    _refused(result, "--layers", "refusing to write")
    assert _digest(layers_copy) == before


@pytest.mark.parametrize("name", ["weihai.gpkg", "weihai-hitwh.osm.pbf"])
def test_outputs_onto_the_embedded_dataset_are_refused_when_no_layers_are_given(name, layers_copy, tmp_path):
    # map/report read the embedded dataset when --layers is omitted, so it is an input of every command
    target = data.path(name)
    link = tmp_path / "embedded-link"
    link.symlink_to(target)
    before = _digest(target)
    for args in (
        ("map", "--out", target),
        ("map", "--out", link),
        ("report", "--results", layers_copy, "--out", target),
    ):
        _refused(_run(*args), "embedded dataset", "refusing to write")
    assert _digest(target) == before


def test_report_onto_its_results_through_a_symlink_is_refused(layers_copy, tmp_path):
    link = tmp_path / "link.html"
    link.symlink_to(layers_copy)
    before = _digest(layers_copy)
    for out in (layers_copy, link):
        result = _run("report", "--results", layers_copy, "--out", out)
        _refused(result, "--results", "refusing to write")
    assert _digest(layers_copy) == before and link.is_symlink()


def test_output_that_is_a_hard_link_of_an_input_is_refused(layers_copy, tmp_path):
    twin = tmp_path / "twin.html"
    os.link(layers_copy, twin)
    _refused(_run("map", "--layers", layers_copy, "--out", twin), "--layers")
    assert _digest(twin) == _digest(layers_copy) == _digest(DEFAULT_GPKG)


def test_demo_with_origins_inside_its_out_folder_named_like_an_output_is_refused_before_any_work(
    layers_copy, tmp_path
):
    out = tmp_path / "OUT"
    out.mkdir()
    origins = out / "coverage.gpkg"
    shutil.copyfile(layers_copy, origins)
    result = _run(
        "demo", "--network", layers_copy, "--facilities", layers_copy, "--origins", origins, "--out", out
    )
    _refused(result, "--origins", "coverage.gpkg")
    assert sorted(p.name for p in out.iterdir()) == ["coverage.gpkg"]  # no validation.txt, nothing else
    assert _digest(origins) == _digest(layers_copy)


def test_demo_with_a_missing_dem_fails_before_writing_anything(tmp_path):
    out = tmp_path / "out"
    result = _run("demo", "--dem", tmp_path / "missing.tif", "--out", out)
    _refused(result, "--dem", "missing.tif", "does not exist")
    assert not out.exists()


def test_coverage_whose_csv_output_is_its_facilities_input_writes_no_gpkg(layers_copy, tmp_path):
    facilities = tmp_path / "res.csv"
    facilities.write_text("lon,lat,typecode\n122.1,37.5,141203\n", encoding="utf-8")
    before = _digest(facilities)
    out = tmp_path / "res.gpkg"
    result = _run(
        "coverage",
        "--network",
        layers_copy,
        "--facilities",
        facilities,
        "--origins",
        layers_copy,
        "--out",
        out,
    )
    _refused(result, "--facilities", "res.csv")
    assert not out.exists() and _digest(facilities) == before


def test_an_empty_or_unreadable_input_is_named_before_any_work(tmp_path):
    empty = tmp_path / "empty.gpkg"
    empty.touch()
    _refused(_run("map", "--layers", empty, "--out", tmp_path / "m.html"), "--layers", "empty (0 bytes)")
    assert not (tmp_path / "m.html").exists()


def test_atomic_path_inside_a_run_refuses_inputs_even_when_the_writer_does_not_pass_them(layers_copy):
    before = _digest(layers_copy)
    with (
        run_paths(inputs={"--layers": layers_copy}),
        pytest.raises(InputFileError, match="--layers"),
        atomic_path(layers_copy) as tmp,
    ):
        tmp.write_text("html")
    assert _digest(layers_copy) == before


_KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import geopandas as gpd, shapely
    from weihai_gis.files import atomic_path

    frame = gpd.GeoDataFrame({"v": range(50)}, geometry=[shapely.Point(i, i) for i in range(50)], crs=4326)
    with atomic_path(sys.argv[1]) as tmp:
        frame.to_file(tmp, layer="a", driver="GPKG")
        frame.to_file(tmp, layer="b", driver="GPKG")
        open(str(tmp) + "-journal", "wb").write(b"x" * 512)  # as SQLite leaves it mid-transaction
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_temporaries_of_a_run_killed_mid_write_are_swept_by_the_next_run_and_live_ones_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "coverage.gpkg").write_bytes(b"previous result")
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(out / "coverage.gpkg")], check=False)
    assert proc.returncode == -signal.SIGKILL
    left = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert len(left) == 2 and left[0].startswith(".coverage.wgtmp-") and left[1].endswith(".gpkg-journal")
    assert (out / "coverage.gpkg").read_bytes() == b"previous result"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        parallel = out / f".report.wgtmp-{live.pid}-0123abcd.html"
        parallel.write_text("a parallel run is writing this")
        with run_paths(folders={"--out": out}):
            pass
        assert sorted(p.name for p in out.iterdir()) == sorted(["coverage.gpkg", parallel.name])
    finally:
        live.kill()
        live.wait()
    assert sweep_stale_temporaries(out) == [parallel]


def _frame(n: int = 2000) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"设施{i}" * 20 for i in range(n)]},
        geometry=[shapely.Point(122 + i * 1e-5, 37.5) for i in range(n)],
        crs=4326,
    )


def test_disk_full_while_writing_names_the_users_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    dest = tmp_path / "res.gpkg"
    dest.write_bytes(b"previous")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[0]))

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", full)
    match = r"disk full \(\d+ KB free\) writing '.*res\.gpkg'"
    with pytest.raises(OutputError, match=match) as info, atomic_path(dest) as tmp:
        _frame().to_file(tmp, layer="origins", driver="GPKG")
    assert "wgtmp" not in str(info.value)
    assert dest.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["res.gpkg"]


@pytest.fixture
def tmpfs(tmp_path):
    """A real 64 KB tmpfs (needs root and mount rights; skips otherwise)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_geopackage_on_a_full_disk_is_a_clear_disk_full_error(tmpfs):
    dest = tmpfs / "coverage.gpkg"
    match = r"disk full \(\d+ KB free\) writing '.*coverage\.gpkg'"
    with pytest.raises(OutputError, match=match), atomic_path(dest) as tmp:
        _frame().to_file(tmp, layer="origins", driver="GPKG")
    assert list(tmpfs.iterdir()) == []


def test_map_onto_a_full_disk_exits_2_naming_the_output(tmpfs):
    out = tmpfs / "planning.html"
    result = _run("map", "--out", out)
    _refused(result, "disk full", str(out))
    assert "wgtmp" not in result.output and list(tmpfs.iterdir()) == []


def test_a_read_only_out_folder_is_refused_before_any_work_naming_the_folder(tmpfs):
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    result = _run("demo", "--out", tmpfs / "out")
    _refused(result, "cannot write to", str(tmpfs / "out"))
    with pytest.raises(OutputError, match="cannot write to"), run_paths(folders={"--out": tmpfs}):
        pass


def test_every_file_the_main_job_writes_is_declared_up_front():
    from weihai_gis.jobs import main_job

    source = Path(main_job.__file__).read_text(encoding="utf-8")
    declared = {p.name for p in PLANNED_OUTPUTS["demo"]({"out_dir": "x"})}
    import re

    written = set(re.findall(r'out / "([^"]+)"', source))
    assert written and written <= declared, written - declared


def test_temporaries_of_the_old_mkstemp_naming_are_swept_once_an_hour_old_and_user_files_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    old = [
        out / ".coverage.k3j_x9a2.gpkg",
        out / ".coverage.k3j_x9a2.gpkg-journal",
        out / ".report.a1b2c3d4.html",
    ]
    fresh = out / ".coverage.zz9_00aa.gpkg"  # could be an old version's run in progress
    user = [
        out / ".coverage.gpkg",
        out / ".settings.yaml",
        out / "coverage.k3j_x9a2.gpkg",
        out / ".notes.abc.txt",
    ]
    for path in [*old, fresh, *user]:
        path.write_bytes(b"x")
    hours_ago = time.time() - 2 * 3600
    for path in [*old, *user]:
        os.utime(path, (hours_ago, hours_ago))
    with run_paths(folders={"--out": out}):
        pass
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in [fresh, *user])


def test_a_killed_cache_write_is_swept_when_the_next_network_is_cached(tmp_path):
    from weihai_gis.network import build_network

    cache = tmp_path / "cache"
    cache.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    left = cache / f".abc.wgtmp-{int(dead.stdout)}-0123abcd.npz"
    left.write_bytes(b"half a cache entry")
    roads = tmp_path / "roads.gpkg"
    lines = [shapely.LineString([(420_000, 4_150_000), (420_500, 4_150_000), (420_500, 4_150_400)])]
    gpd.GeoDataFrame({"highway": ["residential"]}, geometry=lines, crs=4550).to_file(roads)
    build_network(roads, cache_dir=cache)
    assert not left.exists() and any(p.suffix == ".npz" for p in cache.iterdir())
