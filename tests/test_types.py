"""The package type-checks: ``mypy weihai_gis`` (configuration: ``[tool.mypy]`` in pyproject.toml) exits 0."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest


@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is not installed: pip install -e '.[test]' (the test extra has mypy and the stubs)",
)
def test_mypy_reports_no_error(repo_root):
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "weihai_gis"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, f"mypy weihai_gis failed:\n{run.stdout}\n{run.stderr}"
