"""scripts/bench_report.py: benchmark JSON -> the README's generated performance tables."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_report():
    spec = importlib.util.spec_from_file_location("bench_report", REPO / "scripts" / "bench_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _load_report()

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
RUNS = {
    "bench": "runs",
    "date": "2026-12-01",
    "repeat": 2,
    "rows": [
        {"task": "one viewshed", "cpu_s": 3.41, "wall_s": None, "rss_mib": 431.0, "verdict": "<= 3x: 19.65x"}
    ],
}


def test_peers_block_carries_each_figure_the_ratio_and_the_timeout():
    block = report.render(PEERS)
    assert block.splitlines()[0] == "<!-- bench:peers -->"
    assert "| Helsinki | weihai_gis | 2.18 | 5.16 | 223 | 0.023 | 1.51x | = scipy within 1e-06 m" in block
    assert "| grid 200k | pandana | | | | | | did not finish in 300 s |" in block
    assert "Target: engine <= 2x bare scipy Dijkstra on Helsinki: 1.51x (met)." in block
    assert "load average 6.5" in block and "`python scripts/bench_peers.py --json peers.json`" in block


def test_runs_block_shows_missing_values_as_a_dash():
    block = report.render(RUNS)
    assert "| one viewshed | 3.41 | – | 431 |  | <= 3x: 19.65x |" in block


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


def test_readme_has_the_generated_section_and_its_blocks_match_the_committed_json():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.count(report.START) == 1 and text.count(report.END) == 1
    assert text.index(report.START) < text.index(report.END)
    inner = text.split(report.START, 1)[1].split(report.END, 1)[0]
    _, blocks = report.split_blocks(inner)
    assert {"runs", "peers"} <= set(blocks)
    # the peers table in the README is exactly what the committed measurement renders to
    committed = json.loads((REPO / "scripts" / "bench_results" / "peers.json").read_text(encoding="utf-8"))
    assert blocks["peers"] == report.render(committed)


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
