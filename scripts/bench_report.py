"""Render benchmark JSON outputs as markdown and put them into the README's performance section.

The README's generated part lies between ``<!-- bench:start -->`` and ``<!-- bench:end -->``; inside it each
benchmark has a block that starts with ``<!-- bench:NAME -->`` (``NAME`` = the JSON's ``"bench"``: ``peers``
from ``bench_peers.py --json``, ``runs`` from ``bench_runs.py --json`` (merged per task group, each group
stamped with its date, commit, load and command), ``sightlines`` from ``bench_sightlines.py --json``,
``walking`` from ``bench_walking.py --json``, ``startup`` from ``bench_startup.py --json``, ``workbook`` from
``bench_workbook.py --json``). Rendering a JSON replaces its block; blocks whose JSON is not given stay as they
are; text outside the markers is never touched.

Usage:
    python scripts/bench_report.py scripts/bench_results/peers.json              # print the markdown
    python scripts/bench_report.py scripts/bench_results/*.json --readme README.md  # rewrite the section
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
BLOCK = re.compile(r"^<!-- bench:(?!start -->|end -->)([a-z0-9_-]+) -->$", re.MULTILINE)


def _num(value: float | None, digits: int) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def _caption(doc: dict, what: str) -> str:
    load = doc.get("load_avg")
    load_text = f", load average {load:.1f} on the shared 2-core machine" if load is not None else ""
    commit = f", code at {doc['commit']}" if doc.get("commit") else ""
    return (
        f"{what} ({doc.get('date', 'undated')}{commit}, median of {doc.get('repeat', '?')} alternated runs"
        f"{load_text}; regenerate: `{doc.get('command', 'see above')}`):"
    )


def render_peers(doc: dict) -> str:
    """Markdown for a ``bench_peers.py`` JSON: one row per dataset and peer, then the target."""
    lines = [
        _caption(doc, f"Peers, nearest facility within {doc.get('cutoff_m', 1000):g} m, node to node"),
        "",
        "| dataset | peer | CPU s | wall s | peak RSS MiB | solve CPU s | solve × scipy | agreement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        if r.get("cpu_s") is None:
            lines.append(f"| {r['label']} | {r['peer']} | | | | | | {r['status']} |")
            continue
        ratio = r.get("query_ratio_vs_scipy")
        status = "" if r.get("status", "ok") == "ok" else f" ({r['status']})"
        lines.append(
            f"| {r['label']} | {r['peer']} | {_num(r['cpu_s'], 2)} | {_num(r['wall_s'], 2)} | "
            f"{_num(r['rss_mib'], 0)} | {_num(r['query_cpu_s'], 3)} | "
            f"{'' if ratio is None else f'{ratio:.2f}x'} | {r.get('check', '')}{status} |"
        )
    summary = peers_summary(doc["rows"])
    if summary:
        lines += ["", summary]
    if doc.get("target"):
        lines += ["", f"Target: {doc['target']}."]
    return "\n".join(lines)


def peers_summary(rows: list[dict]) -> str:
    """One sentence: each peer's solve CPU as a multiple of bare scipy's, lowest to highest over the datasets,
    and where a peer did not run or finish."""
    parts = []
    for peer in dict.fromkeys(r["peer"] for r in rows if r["peer"] != "scipy"):
        mine = [r for r in rows if r["peer"] == peer]
        ratios = sorted(r["query_ratio_vs_scipy"] for r in mine if r.get("query_ratio_vs_scipy") is not None)
        text = peer
        if ratios:
            text += f" {ratios[0]:.2f}x" if len(ratios) == 1 else f" {ratios[0]:.2f}-{ratios[-1]:.2f}x"
        missing = [f"{r['label']}: {r['status']}" for r in mine if r.get("cpu_s") is None]
        parts.append(text + (f" ({'; '.join(missing)})" if missing else ""))
    return f"Solve CPU as a multiple of bare scipy's, over the datasets: {', '.join(parts)}." if parts else ""


def runs_groups(doc: dict) -> list[dict]:
    """The measured groups of a ``bench_runs.py`` JSON, in order (an older single-run JSON is one group)."""
    if "groups" in doc:
        return list(doc["groups"].values())
    return [
        {k: doc.get(k) for k in ("date", "commit", "load_avg", "repeat", "command")} | {"rows": doc["rows"]}
    ]


def _stamp(group: dict) -> str:
    load = group.get("load_avg")
    parts = [
        group.get("date") or "undated",
        group.get("commit") or "",
        "" if load is None else f"load {load:.1f}",
    ]
    runs = group.get("repeat")
    parts.append("" if runs is None else f"{runs} run{'s' if runs != 1 else ''}")
    return ", ".join(p for p in parts if p)


def task_row(r: dict, *extra: str) -> str:
    """One table row of a task (runs and sightlines tables): task, CPU s (4 decimals below 0.1 s), wall s,
    peak RSS, peer, verdict, then ``extra`` cells; a task that did not run keeps only its name and ``extra``."""
    tail = "".join(f" {cell} |" for cell in extra)
    cpu = r.get("cpu_s")
    if cpu is None:
        return f"| {r['task']} |{' |' * 5}{tail}"
    cells = [_num(cpu, 2 if cpu >= 0.1 else 4), _num(r.get("wall_s"), 2), _num(r.get("rss_mib"), 0)]
    cells += [r.get("peer", ""), r.get("verdict", "")]
    return f"| {r['task']} | {' | '.join(cells)} |{tail}"


def render_runs(doc: dict) -> str:
    """Markdown for a ``bench_runs.py`` JSON: one row per task, each with its target verdict and when, on which
    commit and at which load it was measured; then the command that re-measures each group."""
    groups = runs_groups(doc)
    lines = [
        "Whole-process runs (`scripts/bench_runs.py`; CPU = user + system of the whole process, medians of "
        "alternated runs; each group of rows is measured on its own, the load average is the shared 2-core "
        "machine's at the group's start):",
        "",
        "| task | CPU s | wall s | peak RSS MiB | peer (same run) | target | measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for group in groups:
        stamp = _stamp(group)
        lines += [task_row(r, stamp) for r in group["rows"]]
    commands = [g["command"] for g in groups if g.get("command")]
    if commands:
        lines += [
            "",
            "Re-measure a group (its rows are replaced, the others kept), then run `scripts/bench_report.py`:",
            "",
        ]
        lines += [f"- `{c}`" for c in commands]
    return "\n".join(lines)


def render_sightlines(doc: dict) -> str:
    """Markdown for a ``bench_sightlines.py`` JSON: the surface against an older revision, the CLI viewshed."""
    lines = [
        _caption(doc, f"Sightlines on the {doc.get('terrain', 'bench terrain')}"),
        "",
        "| task | CPU s | wall s | peak RSS MiB | peer (same run) | target |",
        "|---|---|---|---|---|---|",
    ]
    lines += [task_row(r) for r in doc["rows"]]
    return "\n".join(lines)


def render_walking(doc: dict) -> str:
    """Markdown for a ``bench_walking.py`` JSON: each run's CPU and its ratio to the flat metres run of the
    same alternated rounds; the runs on the DEM carry the target (issue 13: the added cost of hills)."""
    limit = doc.get("target", 2.0)
    lines = [
        f"The added cost of hills and walker groups over the flat metres run on the same network "
        f"({_stamp(doc)}; whole-process CPU, medians of alternated rounds; regenerate: `{doc.get('command', '')}`):",
        "",
        "| dataset | run | CPU s | × flat | target |",
        "|---|---|---|---|---|",
    ]
    for row in doc["rows"]:
        runs = {k: v for k, v in row.items() if k != "dataset"}
        base = runs.get("flat metres", next(iter(runs.values())))
        for name, cpu in runs.items():
            ratio = cpu / base
            target = ""
            if "hills" in name:
                target = f"< {limit:g}x flat: {ratio:.2f}x ({'met' if ratio < limit else 'NOT met'})"
            lines.append(f"| {row['dataset']} | {name} | {_num(cpu, 3)} | {ratio:.2f}x | {target} |")
    return "\n".join(lines)


STARTUP_META = ("bench", "date", "commit", "load_avg", "repeat", "command", "dem", "agreement", "previous")


def render_startup(doc: dict) -> str:
    """Markdown for a ``bench_startup.py`` JSON: each command's whole-process CPU, wall and peak RSS, its CPU
    above the bare interpreter, and the viewshed rows as multiples of ``gdal_viewshed``'s CPU."""
    rows = {k: v for k, v in doc.items() if k not in STARTUP_META and isinstance(v, dict)}
    base = rows.get("python -c pass", {}).get("cpu_s")
    lines = [
        f"Start-up and one viewshed as whole processes ({_stamp(doc)}; medians of alternated rounds; "
        f"regenerate: `{doc.get('command', '')}`):",
        "",
        "| command | CPU s | wall s | peak RSS MiB | CPU above `python -c pass` |",
        "|---|---|---|---|---|",
    ]
    for label, m in rows.items():
        above = "" if base is None else _num(m["cpu_s"] - base, 3)
        lines.append(
            f"| {label} | {_num(m['cpu_s'], 3)} | {_num(m['wall_s'], 3)} | {_num(m['rss_mib'], 0)} | {above} |"
        )
    gdal = rows.get("gdal_viewshed (peer)", {}).get("cpu_s")
    if gdal:
        parts = [
            f"{label} {rows[label]['cpu_s'] / gdal:.2f}x"
            for label in rows
            if ("viewshed" in label and "--help" not in label and "peer" not in label)
            or label.startswith("python -c 'import")
        ]
        agree = doc.get("agreement")
        lines += [
            "",
            f"CPU as a multiple of gdal_viewshed's in the same rounds: {', '.join(parts)}"
            + ("" if agree is None else f" (outputs equal on {agree:.2%} of cells)")
            + ". The target's verdict is the runs table's viewshed row.",
        ]
    return "\n".join(lines)


def render_workbook(doc: dict) -> str:
    """Markdown for a ``bench_workbook.py`` JSON: each XLSX writer's CPU and wall seconds on the same sheet, its
    rows per CPU second, its CPU as a multiple of ``write_workbook``'s and the file size."""
    rows = doc["rows"]
    ours = next((r["cpu_s"] for r in rows if r["writer"] == "write_workbook"), None)
    lines = [
        f"XLSX writers on one {doc.get('n_rows', 0):,} × {doc.get('n_columns', '?')} 问题清单-like sheet, "
        f"CPU of the writing process ({_stamp(doc)}; medians of alternated runs; the cells of every writer that "
        f"keeps the layout read back equal to ours; regenerate: `{doc.get('command', '')}`):",
        "",
        "| writer | CPU s | wall s | rows per CPU s | CPU × write_workbook | MB | cells |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cpu = r["cpu_s"]
        per_s = f"{doc['n_rows'] / cpu:,.0f}" if doc.get("n_rows") and cpu else "–"
        ratio = f"{cpu / ours:.1f}x" if ours else "–"
        cells = (
            "ours" if r["writer"] == "write_workbook" else ("equal" if r.get("checked") else "not compared")
        )
        lines.append(
            f"| {r['writer']} | {_num(cpu, 2)} | {_num(r.get('wall_s'), 2)} | {per_s} | {ratio} | "
            f"{_num(r.get('mb'), 1)} | {cells} |"
        )
    return "\n".join(lines)


RENDERERS = {
    "peers": render_peers,
    "runs": render_runs,
    "sightlines": render_sightlines,
    "walking": render_walking,
    "startup": render_startup,
    "workbook": render_workbook,
}


def render(doc: dict) -> str:
    """The README block of one benchmark JSON, its ``<!-- bench:NAME -->`` line first."""
    name = doc.get("bench")
    if name not in RENDERERS:
        raise ValueError(f'benchmark JSON: "bench" is {name!r}; expected one of {", ".join(RENDERERS)}')
    return f"<!-- bench:{name} -->\n{RENDERERS[name](doc)}"


def split_blocks(inner: str) -> tuple[str, dict[str, str]]:
    """The text before the first block and the blocks of a section's inside, by name (in order)."""
    marks = list(BLOCK.finditer(inner))
    head = inner[: marks[0].start()] if marks else inner
    blocks = {}
    for m, nxt in zip(marks, [*marks[1:], None], strict=True):
        blocks[m.group(1)] = inner[m.start() : nxt.start() if nxt else len(inner)].strip("\n")
    return head, blocks


def replace_section(text: str, new_blocks: dict[str, str]) -> str:
    """Return ``text`` with the named blocks of its bench section replaced (new names appended).

    Raises
    ------
    ValueError
        When the section markers are missing, repeated or out of order.
    """
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(
            f"README: expected one {START} line followed by one {END} line around the performance tables; "
            "add them where the generated tables belong"
        )
    before, rest = text.split(START, 1)
    inner, after = rest.split(END, 1)
    head, blocks = split_blocks(inner)
    blocks.update(new_blocks)
    body = "\n\n".join(blocks.values())
    return f"{before}{START}\n{head.strip(chr(10))}{chr(10) if head.strip() else ''}{body}\n{END}{after}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("json", type=Path, nargs="+", help="outputs of bench_*.py --json")
    parser.add_argument("--readme", type=Path, default=None, help="rewrite this file's bench section")
    args = parser.parse_args()
    blocks = {}
    for path in args.json:
        doc = json.loads(path.read_text(encoding="utf-8"))
        blocks[doc["bench"]] = render(doc)
    if args.readme is None:
        print("\n\n".join(blocks.values()))
        return
    text = args.readme.read_text(encoding="utf-8")
    new = replace_section(text, blocks)
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
    print(f"{args.readme}: {', '.join(blocks)} {'updated' if new != text else 'unchanged'}")


if __name__ == "__main__":
    main()
