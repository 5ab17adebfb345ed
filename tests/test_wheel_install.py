"""The embedded data ships in the wheel: build it, install it outside the repository, run the CLI there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from weihai_gis import data as embedded_data
from weihai_gis.layers import DEFAULT_GPKG

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not DEFAULT_GPKG.exists(), reason="embedded weihai_gis/data/weihai.gpkg not built"
)


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {res.returncode}\n{res.stdout}\n{res.stderr}"
    )
    return res


def test_the_accessor_finds_the_embedded_files_inside_the_package():
    package = Path(embedded_data.__file__).parent
    assert embedded_data.path("weihai.gpkg") == DEFAULT_GPKG == (package / "weihai.gpkg").resolve()
    assert embedded_data.path("SOURCES.md").read_text(encoding="utf-8").startswith("#")
    with pytest.raises(Exception, match="plain file name"):
        embedded_data.path("../layers/schema.py")


def _build_tools_missing() -> str | None:
    """Why this environment cannot build a wheel offline (the test extra's setuptools>=69 and wheel), or None."""
    import importlib.metadata as md
    import importlib.util

    try:
        major = int(md.version("setuptools").split(".")[0])
    except md.PackageNotFoundError:
        major = 0
    if major < 69 or importlib.util.find_spec("wheel") is None:
        return "setuptools>=69 and wheel (test extra) not installed: pip install -e .[test]"
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    missing = _build_tools_missing()
    if missing:
        pytest.skip(missing)
    # Build from a copy holding only what the wheel is made of, so nothing outside the package can leak in
    # and the source tree gets no build/ or egg-info litter.
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(REPO / "weihai_gis", src / "weihai_gis", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            ".",
        ],
        cwd=src,
    )
    (whl,) = dist.glob("weihai_gis-*.whl")
    return whl


def test_the_wheel_holds_the_dataset_and_its_sources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "weihai_gis/data/weihai.gpkg",
        "weihai_gis/data/SOURCES.md",
        "weihai_gis/data/__init__.py",
    } <= names
    info = zipfile.ZipFile(wheel).getinfo("weihai_gis/data/weihai.gpkg")
    assert info.file_size == DEFAULT_GPKG.stat().st_size


@pytest.mark.slow
def test_a_wheel_installed_outside_the_repository_validates_and_runs_the_main_job(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    # The dependencies come from this test's environment (offline, fast): its site-packages go on the new
    # venv's path through a .pth line, which does not run this environment's editable-install hook.
    site = next((venv / "lib").glob("python*/site-packages"))
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "zz_deps.pth").write_text("\n".join(deps) + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        cwd=tmp_path,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    work = tmp_path / "elsewhere"
    work.mkdir()

    where = _run(
        [str(venv / "bin" / "python"), "-c", "import weihai_gis; print(weihai_gis.__file__)"], work, env
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout  # the installed copy, not the repo

    exe = str(venv / "bin" / "weihai-gis")
    validated = _run([exe, "layers", "validate"], work, env)
    assert str(site) in validated.stdout and "48 town, 24 street" in validated.stdout

    out = work / "out"
    _run([exe, "-q", "demo", "--out", str(out)], work, env)
    for name in ("coverage.gpkg", "coverage_map.html", "report.html", "validation.txt"):
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.html").read_text(encoding="utf-8")
    title = embedded_data.path("SOURCES.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    assert title in report  # the provenance came with the installed package
