"""Cold import time of each Lambda handler module, next to a bare boto3 and aioboto3.

    .venv/bin/python bench/import_bench.py [--runs 5]

Each figure is the median over fresh processes of ``python -X importtime -c "import M"``,
summing the cumulative time of the top-level imports. Two columns: with bytecode caches
(a warm laptop), and with none (``PYTHONPYCACHEPREFIX`` set to an empty folder each run) —
what a Lambda cold start pays, because `azuchi package` ships no .pyc (they would be
for this interpreter, not Lambda's 3.13). The wall column is the whole process minus a bare
``python -c pass``. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.functions import FUNCTIONS  # noqa: E402  (pure data: imports nothing)

HANDLERS = tuple(f.module for f in FUNCTIONS)
BASELINES = ("boto3", "aioboto3")


def import_once(module: str, *, cached: bool) -> tuple[float, float]:
    """(import ms from -X importtime, wall ms) of one fresh process importing ``module``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as empty:
        if not cached:
            env["PYTHONPYCACHEPREFIX"] = empty
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}" if module else "pass"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        wall_ms = (time.perf_counter() - started) * 1000
    return _top_level_us(result.stderr) / 1000, wall_ms


def _top_level_us(report: str) -> int:
    """Sums the cumulative column of top-level lines ("import time: self | cumul | name",
    nested imports are indented under their parent)."""
    total = 0
    for line in report.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if not name[1:].startswith(" "):
            total += int(cumulative)
    return total


def median(module: str, runs: int, *, cached: bool) -> tuple[float, float]:
    samples = [import_once(module, cached=cached) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    _, bare_cached = median("", args.runs, cached=True)
    _, bare_cold = median("", args.runs, cached=False)
    print(f"python {sys.version.split()[0]}, median of {args.runs} fresh processes per cell")
    print(f"bare interpreter: {bare_cached:.0f} ms wall (with .pyc), {bare_cold:.0f} ms (without)")
    header = (
        f"{'module':<26} {'import ms':>10} {'wall-bare':>10} {'no-pyc ms':>10} {'wall-bare':>10}"
    )
    print(header)
    print("-" * len(header))
    for module in (*BASELINES, *HANDLERS):
        warm, warm_wall = median(module, args.runs, cached=True)
        cold, cold_wall = median(module, args.runs, cached=False)
        print(
            f"{module:<26} {warm:>10.0f} {warm_wall - bare_cached:>10.0f}"
            f" {cold:>10.0f} {cold_wall - bare_cold:>10.0f}"
        )


if __name__ == "__main__":
    main()
