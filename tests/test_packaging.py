"""The project's own packaging: environment.yml mirrors pyproject.toml; the public API resolves."""

from __future__ import annotations

import re
import tomllib

import yaml

import weihai_gis

# conda-forge names that differ from the PyPI distribution name
CONDA_TO_PYPI = {"pyosmium": "osmium"}


def _spec(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*((?:>=|==)\s*[0-9][^,;\s]*)?", req)
    assert m, req
    name = m.group(1).lower().replace("_", "-")
    return CONDA_TO_PYPI.get(name, name), (m.group(2) or "").replace(" ", "")


def test_environment_yml_has_the_same_packages_and_minimum_versions_as_pyproject(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    wanted = dict(_spec(r) for r in project["dependencies"])
    for reqs in project["optional-dependencies"].values():
        wanted.update(_spec(r) for r in reqs if not r.startswith(project["name"]))
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    have: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            have.update(_spec(r) for r in dep["pip"])
        elif _spec(dep)[0] not in ("python", "pip"):
            have.update([_spec(dep)])
    missing = {k: v for k, v in wanted.items() if k not in have}
    differ = {k: (v, have[k]) for k, v in wanted.items() if k in have and have[k] != v}
    assert not missing, f"environment.yml lacks {missing}"
    assert not differ, f"minimum versions differ (pyproject, environment.yml): {differ}"


def test_every_name_in_dunder_all_resolves():
    for name in weihai_gis.__all__:
        assert hasattr(weihai_gis, name), name
