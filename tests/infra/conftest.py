"""The Lambda folders the infra tests read, built once per run with this interpreter's
wheels (``--platform local``) so that they can be imported here; `make package` builds the
same folders from Lambda's arm64 wheels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testsupport.backend import backend_missing
from tooling.package import ROOT

BUILD = ["--profile", "redis", "--model", "openai", "--platform", "local"]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the folder holding one folder per function, the size table printed)."""
    out = tmp_path_factory.mktemp("lambda")
    result = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "package", "--out", str(out), *BUILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return out, result.stdout


@pytest.fixture(scope="session")
def infra_bin() -> Path:
    """``.venv-infra/bin`` (cfn-lint, checkov, the SAM translator), made when missing: a
    skip on a laptop that cannot, a failure under CI=true."""
    if not (ROOT / ".venv-infra" / ".stamp").exists():
        made = subprocess.run(
            ["make", ".venv-infra/.stamp"], cwd=ROOT, capture_output=True, text=True
        )
        if made.returncode != 0:
            backend_missing(f"cannot make .venv-infra (cfn-lint, checkov): {made.stderr[-500:]}")
    return ROOT / ".venv-infra" / "bin"
