"""Benchmark the command line's start-up: CPU time of ``weihai-gis --help``, ``layers list`` and ``layers show``
against rasterio's ``rio --help`` (the peer, in the same run).

Each command runs ``--repeats`` times as a child process (output discarded); its CPU time (user + system) is
read with ``resource.getrusage(RUSAGE_CHILDREN)`` around the run, so the figure does not depend on how busy the
machine is as much as wall time does. The target (issue 15) is < 0.5 s of CPU for each weihai-gis command.

Usage: python scripts/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGET_S = 0.5

COMMANDS = {
    "weihai-gis --help": [str(BIN / "weihai-gis"), "--help"],
    "weihai-gis layers list": [str(BIN / "weihai-gis"), "layers", "list"],
    "weihai-gis layers show towns": [str(BIN / "weihai-gis"), "layers", "show", "towns"],
    "python -c pass": [sys.executable, "-c", "pass"],
    "rio --help (peer)": [str(BIN / "rio"), "--help"],
}


def _child_cpu_s(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` once; return (CPU seconds of the child, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="Runs per command (median reported).")
    args = parser.parse_args()
    for cmd in COMMANDS.values():  # warm the file cache once, so the first command is not penalised
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    medians: dict[str, tuple[float, float]] = {}
    for label, cmd in COMMANDS.items():
        runs = [_child_cpu_s(cmd) for _ in range(args.repeats)]
        medians[label] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
    peer_cpu = medians["rio --help (peer)"][0]
    print(f"start-up, median of {args.repeats} runs (CPU = user + system of the child)")
    print(f"{'command':<30} {'CPU s':>7} {'wall s':>7} {'CPU / rio':>10}  target < {TARGET_S} s CPU")
    for label, (cpu, wall) in medians.items():
        verdict = ("met" if cpu < TARGET_S else "NOT met") if label.startswith("weihai-gis") else ""
        print(f"{label:<30} {cpu:>7.3f} {wall:>7.3f} {cpu / peer_cpu:>10.2f}  {verdict}")


if __name__ == "__main__":
    main()
