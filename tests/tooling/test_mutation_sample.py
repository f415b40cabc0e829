"""`make mutation`'s machinery, kept working: a small sample of mutants (fixed seed) of one
small module, run through cosmic-ray in its own venv as `make mutation` runs it, must give a
report with mutants killed. The figures themselves are printed by `make mutation`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testsupport.backend import backend_missing
from tooling.mutation.run import ROOT, load_equivalents, load_modules

MODULE = "core/services/coalescer.py"


@pytest.fixture(scope="module")
def cosmic_ray() -> Path:
    """``.venv-mutation/bin/cosmic-ray``, made when missing: a skip on a laptop that cannot,
    a failure under CI=true."""
    if not (ROOT / ".venv-mutation" / ".stamp").exists():
        made = subprocess.run(
            ["make", ".venv-mutation/.stamp"], cwd=ROOT, capture_output=True, text=True
        )
        if made.returncode != 0:
            backend_missing(f"cannot make .venv-mutation (cosmic-ray): {made.stderr[-500:]}")
    return ROOT / ".venv-mutation" / "bin" / "cosmic-ray"


@pytest.mark.timeout(600)
def test_a_sampled_run_reports_killed_mutants(cosmic_ray: Path, tmp_path: Path) -> None:
    before = (ROOT / MODULE).read_text()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tooling.mutation.run",
            "--module",
            MODULE,
            "--sample",
            "12",
            "--seed",
            "18",
            "--cosmic-ray",
            str(cosmic_ray),
            "--work",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    tally = report["files"][MODULE]
    assert tally["killed"] + tally["survived"] + tally["equivalent"] + tally["incompetent"] == 12
    assert tally["killed"] > 0
    assert f"{MODULE}" in run.stdout and "core/:" in run.stdout  # the per-file and group lines
    assert (ROOT / MODULE).read_text() == before  # mutated in a copy, never in place


def test_every_module_listed_exists_and_every_equivalent_has_a_reason() -> None:
    for module in load_modules():
        assert (ROOT / module.path).is_file(), module.path
    for mutant in load_equivalents():  # load_equivalents refuses one without a reason
        source = (ROOT / mutant.path).read_text().splitlines()
        assert mutant.line in (line.strip() for line in source), mutant
