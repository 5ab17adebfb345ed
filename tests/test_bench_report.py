"""scripts/bench_report.py: benchmark JSON -> the README's generated performance tables."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _load("bench_report")
runs = _load("bench_runs")

PEERS = {
    "bench": "peers",
    "date": "2026-12-01",
    "load_avg": 6.5,
    "repeat": 3,
    "cutoff_m": 1000.0,
    "command": "python scripts/bench_peers.py --json peers.json",
    "target": "engine <= 2x bare scipy Dijkstra on Helsinki: 1.51x (met)",
    "rows": [
        {
            "label": "Helsinki",
            "peer": "weihai_gis",
            "cpu_s": 2.184,
            "wall_s": 5.16,
            "rss_mib": 223.4,
            "query_cpu_s": 0.0234,
            "query_ratio_vs_scipy": 1.514,
            "check": "= scipy within 1e-06 m on 6,318 pairs",
            "status": "ok",
        },
        {"label": "grid 200k", "peer": "pandana", "status": "did not finish in 300 s"},
    ],
}


def _group(task: str, cpu: float | None, load: float = 3.6, commit: str = "dd52c97") -> dict:
    return {
        "date": "2026-12-01 20:07 UTC",
        "commit": commit,
        "load_avg": load,
        "repeat": 2,
        "command": f"python scripts/bench_runs.py --tasks {task} --repeat 2 --json runs.json",
        "rows": [
            {
                "task": f"{task} row",
                "cpu_s": cpu,
                "wall_s": None,
                "rss_mib": 431.0,
                "verdict": "<= 3x: 19.65x",
            }
        ],
    }


RUNS = {"bench": "runs", "groups": {"viewshed": _group("viewshed", 3.41)}}


def test_peers_block_carries_each_figure_the_ratio_and_the_timeout():
    block = report.render(PEERS)
    assert block.splitlines()[0] == "<!-- bench:peers -->"
    assert "| Helsinki | weihai_gis | 2.18 | 5.16 | 223 | 0.023 | 1.51x | = scipy within 1e-06 m" in block
    assert "| grid 200k | pandana | | | | | | did not finish in 300 s |" in block
    assert "Target: engine <= 2x bare scipy Dijkstra on Helsinki: 1.51x (met)." in block
    summary = "Solve CPU as a multiple of bare scipy's, over the datasets: weihai_gis 1.51x, pandana (grid 200k: did"
    assert summary + " not finish in 300 s)." in block
    assert "load average 6.5" in block and "`python scripts/bench_peers.py --json peers.json`" in block


def test_peers_summary_gives_each_peers_range_over_the_datasets():
    rows = [
        {"label": "a", "peer": "scipy", "cpu_s": 1.0, "query_ratio_vs_scipy": 1.0},
        {"label": "a", "peer": "networkx", "cpu_s": 1.0, "query_ratio_vs_scipy": 15.7},
        {"label": "b", "peer": "networkx", "cpu_s": 1.0, "query_ratio_vs_scipy": 10.4},
        {"label": "c", "peer": "networkx", "status": "not run"},
    ]
    assert report.peers_summary(rows) == (
        "Solve CPU as a multiple of bare scipy's, over the datasets: networkx 10.40-15.70x (c: not run)."
    )


def test_runs_block_stamps_each_row_and_lists_the_command_of_each_group():
    doc = {"bench": "runs", "groups": {"city:200000": _group("city", None, load=8.04), **RUNS["groups"]}}
    block = report.render(doc)
    assert "| city row | | | | | | 2026-12-01 20:07 UTC, dd52c97, load 8.0, 2 runs |" in block
    assert (
        "| viewshed row | 3.41 | – | 431 |  | <= 3x: 19.65x | 2026-12-01 20:07 UTC, dd52c97, load 3.6, 2 runs |"
        in block
    )
    commands = [line for line in block.splitlines() if line.startswith("- `python scripts/bench_runs.py")]
    assert commands == [
        "- `python scripts/bench_runs.py --tasks city --repeat 2 --json runs.json`",
        "- `python scripts/bench_runs.py --tasks viewshed --repeat 2 --json runs.json`",
    ]


def test_runs_json_merge_replaces_the_measured_group_and_keeps_the_others(tmp_path):
    path = tmp_path / "runs.json"
    runs.merge_json(path, {"viewshed": _group("viewshed", 3.41), "city:200000": _group("city", 28.0)})
    runs.merge_json(
        path, {"province:3200000": _group("province", 345.0), "province:800000": _group("p", 90.0)}
    )
    runs.merge_json(path, {"viewshed": _group("viewshed", 1.01, commit="abc1234")})
    doc = json.loads(path.read_text(encoding="utf-8"))
    # task order, then size; the re-measured viewshed group replaced, not appended
    assert list(doc["groups"]) == ["city:200000", "province:800000", "province:3200000", "viewshed"]
    assert doc["groups"]["viewshed"]["commit"] == "abc1234"
    assert doc["groups"]["viewshed"]["rows"][0]["cpu_s"] == 1.01
    assert doc["groups"]["city:200000"]["rows"][0]["cpu_s"] == 28.0
    assert not list(tmp_path.glob("*.tmp"))


def test_runs_json_merge_refuses_another_benchmarks_json(tmp_path):
    path = tmp_path / "peers.json"
    path.write_text(json.dumps(PEERS), encoding="utf-8")
    with pytest.raises(SystemExit, match=r"not a bench_runs\.py JSON"):
        runs.merge_json(path, {"engine": _group("engine", 0.02)})
    assert json.loads(path.read_text(encoding="utf-8")) == PEERS


def test_runs_stamp_names_the_command_that_re_measures_only_that_group():
    args = runs.argparse.Namespace(nodes=200_000, repeat=3, sizes="800000,3200000", json=REPO / "x.json")
    assert [k for k, _ in runs.task_groups("province", args)] == ["province:800000", "province:3200000"]
    stamp = runs.run_stamp("province:3200000", args)
    assert stamp["command"] == "python scripts/bench_runs.py --tasks province --sizes 3200000 --json x.json"
    assert stamp["repeat"] == 1 and isinstance(stamp["load_avg"], float) and stamp["commit"]
    city = runs.run_stamp("city:200000", args)["command"]
    assert city == "python scripts/bench_runs.py --tasks city --nodes 200000 --repeat 3 --json x.json"


def test_unknown_benchmark_is_refused_with_the_expected_names():
    with pytest.raises(ValueError, match="peers, runs"):
        report.render({"bench": "other", "rows": []})


README = """# title
intro text stays
<!-- bench:start -->
<!-- bench:runs -->
old runs table
| a | b |

<!-- bench:peers -->
old peers table
<!-- bench:end -->
after text stays
"""


def test_section_replaces_only_the_given_block_and_is_idempotent():
    new = report.replace_section(README, {"peers": report.render(PEERS)})
    assert new.startswith("# title\nintro text stays\n<!-- bench:start -->\n")
    assert new.endswith("<!-- bench:end -->\nafter text stays\n")
    assert "old runs table\n| a | b |" in new  # no JSON for runs: its block is kept
    assert "old peers table" not in new and "| Helsinki | weihai_gis |" in new
    assert report.replace_section(new, {"peers": report.render(PEERS)}) == new


def test_section_appends_a_new_block_after_the_others():
    text = README.replace("<!-- bench:peers -->\nold peers table\n", "")
    new = report.replace_section(text, {"peers": report.render(PEERS)})
    assert new.index("old runs table") < new.index("<!-- bench:peers -->") < new.index("<!-- bench:end -->")


@pytest.mark.parametrize(
    "text", ["no markers", "<!-- bench:end -->\n<!-- bench:start -->", README + "<!-- bench:start -->"]
)
def test_missing_or_repeated_markers_are_an_error_naming_them(text):
    with pytest.raises(ValueError, match="bench:start"):
        report.replace_section(text, {"peers": "x"})


def test_cli_rewrites_the_readme_from_the_json(tmp_path):
    readme, data = tmp_path / "README.md", tmp_path / "peers.json"
    readme.write_text(README, encoding="utf-8")
    data.write_text(json.dumps(PEERS), encoding="utf-8")
    cmd = [sys.executable, str(REPO / "scripts" / "bench_report.py"), str(data), "--readme", str(readme)]
    subprocess.run(cmd, check=True, capture_output=True)
    assert readme.read_text(encoding="utf-8") == report.replace_section(
        README, {"peers": report.render(PEERS)}
    )


def _readme_blocks() -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.count(report.START) == 1 and text.count(report.END) == 1
    assert text.index(report.START) < text.index(report.END)
    inner = text.split(report.START, 1)[1].split(report.END, 1)[0]
    return report.split_blocks(inner)[1]


@pytest.mark.parametrize("name", ["peers", "runs", "sightlines", "walking", "startup", "workbook"])
def test_readme_block_is_what_the_committed_json_renders_to(name):
    """A block edited by hand, or a JSON re-measured without running bench_report.py, fails here."""
    committed = json.loads((REPO / "scripts" / "bench_results" / f"{name}.json").read_text(encoding="utf-8"))
    assert _readme_blocks()[name] == report.render(committed), (
        f"README's bench:{name} block is stale: run "
        "`python scripts/bench_report.py scripts/bench_results/*.json --readme README.md`"
    )


def test_sightlines_block_names_the_terrain_the_older_revision_and_both_verdicts():
    doc = {
        "bench": "sightlines",
        "date": "2026-12-01",
        "repeat": 3,
        "terrain": "real ASTER GDEM tile",
        "command": "python scripts/bench_sightlines.py --json s.json",
        "rows": [
            {
                "task": "height surface, 20 viewpoints",
                "cpu_s": 4.2,
                "wall_s": 9.9,
                "rss_mib": None,
                "peer": "d75603d 8.40 s CPU: 2.00x less CPU now",
                "verdict": "CPU <= 5 s: 4.20 s (met)",
            },
            {"task": "viewshed: gdal_viewshed not installed", "cpu_s": None},
        ],
    }
    lines = report.render(doc).splitlines()
    assert lines[0] == "<!-- bench:sightlines -->" and "real ASTER GDEM tile" in lines[1]
    assert "| height surface, 20 viewpoints | 4.20 | 9.90 | – | d75603d 8.40 s CPU" in lines[5]
    assert lines[5].endswith("| CPU <= 5 s: 4.20 s (met) |")
    assert lines[6] == "| viewshed: gdal_viewshed not installed | | | | | |"


WALKING = {
    "bench": "walking",
    "date": "2026-12-01 20:19 UTC",
    "commit": "ceb7a03",
    "load_avg": 6.3,
    "repeat": 3,
    "command": "python scripts/bench_walking.py --grid-side 300 --repeats 3 --json walking.json",
    "target": 2.0,
    "rows": [
        {
            "dataset": "grid 300x300",
            "flat metres": 0.4,
            "adult + hills (cold DEM)": 1.0,
            "adult + hills (warm)": 0.6,
            "DEM sampling alone": 0.66,
        }
    ],
}


def test_walking_block_gives_each_run_its_ratio_to_flat_and_the_hills_runs_the_target():
    lines = report.render(WALKING).splitlines()
    assert lines[0] == "<!-- bench:walking -->"
    assert "2026-12-01 20:19 UTC, ceb7a03, load 6.3, 3 runs" in lines[1]
    assert "`python scripts/bench_walking.py --grid-side 300 --repeats 3 --json walking.json`" in lines[1]
    assert lines[5] == "| grid 300x300 | flat metres | 0.400 | 1.00x |  |"
    assert (
        lines[6] == "| grid 300x300 | adult + hills (cold DEM) | 1.000 | 2.50x | < 2x flat: 2.50x (NOT met) |"
    )
    assert lines[7] == "| grid 300x300 | adult + hills (warm) | 0.600 | 1.50x | < 2x flat: 1.50x (met) |"
    assert lines[8] == "| grid 300x300 | DEM sampling alone | 0.660 | 1.65x |  |"


def test_startup_block_gives_cpu_above_the_interpreter_and_the_viewshed_against_gdal():
    doc = {
        "bench": "startup",
        "date": "2026-12-01 21:05 UTC",
        "commit": "a625a44",
        "load_avg": 10.0,
        "repeat": 7,
        "command": "python scripts/bench_startup.py --repeats 7 --json startup.json",
        "dem": "real",
        "agreement": 1.0,
        "previous": None,
        "python -c pass": {"cpu_s": 0.02, "wall_s": 0.05, "rss_mib": 9.0},
        "python -c 'import numpy, rasterio'": {"cpu_s": 0.46, "wall_s": 1.0, "rss_mib": 80.0},
        "weihai-gis --help": {"cpu_s": 0.12, "wall_s": 0.3, "rss_mib": 30.0},
        "weihai-gis sightlines viewshed": {"cpu_s": 0.70, "wall_s": 2.0, "rss_mib": 134.0},
        "gdal_viewshed (peer)": {"cpu_s": 0.175, "wall_s": 0.5, "rss_mib": 60.0},
    }
    lines = report.render(doc).splitlines()
    assert (
        lines[0] == "<!-- bench:startup -->"
        and "2026-12-01 21:05 UTC, a625a44, load 10.0, 7 runs" in lines[1]
    )
    assert "| weihai-gis --help | 0.120 | 0.300 | 30 | 0.100 |" in lines
    assert lines[-1] == (
        "CPU as a multiple of gdal_viewshed's in the same rounds: python -c 'import numpy, rasterio' 2.63x, "
        "weihai-gis sightlines viewshed 4.00x (outputs equal on 100.00% of cells). "
        "The target's verdict is the runs table's viewshed row."
    )


def test_runs_and_sightlines_tables_render_a_task_with_the_same_row_renderer():
    row = {
        "task": "one viewshed",
        "cpu_s": 0.05,
        "wall_s": 0.2,
        "rss_mib": 80.0,
        "peer": "gdal",
        "verdict": "ok",
    }
    sightlines = report.render({"bench": "sightlines", "rows": [row, {"task": "skipped"}]}).splitlines()
    group = _group("viewshed", None) | {"rows": [row, {"task": "skipped"}]}
    runs_lines = report.render({"bench": "runs", "groups": {"viewshed": group}}).splitlines()
    stamp = "2026-12-01 20:07 UTC, dd52c97, load 3.6, 2 runs"
    assert sightlines[5] == "| one viewshed | 0.0500 | 0.20 | 80 | gdal | ok |" == report.task_row(row)
    assert runs_lines[5] == f"| one viewshed | 0.0500 | 0.20 | 80 | gdal | ok | {stamp} |"
    assert sightlines[6] == "| skipped | | | | | |" and runs_lines[6] == f"| skipped | | | | | | {stamp} |"


WORKBOOK = {
    "bench": "workbook",
    "date": "2026-12-01 23:20 UTC",
    "commit": "3b03092",
    "load_avg": 2.8,
    "repeat": 3,
    "command": "python scripts/bench_workbook.py --rows 50000 --repeats 3 --peer-rev ea472c6 --json workbook.json",
    "n_rows": 50000,
    "n_columns": 8,
    "rows": [
        {"writer": "write_workbook", "cpu_s": 1.25, "wall_s": 2.0, "mb": 3.21, "checked": False},
        {"writer": "write_workbook openpyxl", "cpu_s": 12.5, "wall_s": 20.0, "mb": 3.5, "checked": True},
        {"writer": "pandas to_excel", "cpu_s": 5.0, "wall_s": 8.0, "mb": None, "checked": False},
    ],
}


def test_workbook_block_gives_each_writer_its_rate_and_its_multiple_of_ours():
    lines = report.render(WORKBOOK).splitlines()
    assert lines[0] == "<!-- bench:workbook -->"
    assert "50,000 × 8" in lines[1] and "2026-12-01 23:20 UTC, 3b03092, load 2.8, 3 runs" in lines[1]
    assert f"`{WORKBOOK['command']}`" in lines[1]
    assert lines[5] == "| write_workbook | 1.25 | 2.00 | 40,000 | 1.0x | 3.2 | ours |"
    assert lines[6] == "| write_workbook openpyxl | 12.50 | 20.00 | 4,000 | 10.0x | 3.5 | equal |"
    assert lines[7] == "| pandas to_excel | 5.00 | 8.00 | 10,000 | 4.0x | – | not compared |"
