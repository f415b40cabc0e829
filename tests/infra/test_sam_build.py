"""`sam build` keeps the prebuilt folders whole (infra/README.md says so).

SAM's Python workflow would rebuild each CodeUri and drop every *.so (aiohttp, yaml, with an
OpenAI model pydantic_core, which has no pure-Python fallback). The template's
``Metadata: BuildMethod: makefile`` makes it run the Makefile `azuchi package` writes into
each folder, which copies the folder as it is. This runs the real SAM CLI (aws-sam-cli from
PyPI in ``.venv-sam``, made here when missing: a skip on a laptop that cannot, a failure
under CI=true) over the template and the folders, then imports the worker from what it built.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.template_support import FUNCTION_RESOURCES, ROOT, TEMPLATE_DOC
from testsupport.backend import backend_missing

pytestmark = pytest.mark.timeout(1800)  # the first run installs aws-sam-cli

SAM = ROOT / ".venv-sam" / "bin" / "sam"


@pytest.fixture(scope="module")
def sam() -> Path:
    if not (ROOT / ".venv-sam" / ".stamp").exists():
        made = subprocess.run(
            ["make", ".venv-sam/.stamp"], cwd=ROOT, capture_output=True, text=True
        )
        if made.returncode != 0:
            backend_missing(f"cannot make .venv-sam (aws-sam-cli): {made.stderr[-500:]}")
    return SAM


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _sam_build(sam: Path, project: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(sam), "build", "-t", "infra/template.yaml", "-b", "out", *names],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )


def test_every_function_builds_by_its_makefile() -> None:
    methods = {
        name: r.get("Metadata", {}).get("BuildMethod")
        for name, r in TEMPLATE_DOC["Resources"].items()
        if name in FUNCTION_RESOURCES
    }
    assert set(methods.values()) == {"makefile"}, methods


def test_sam_build_keeps_each_prebuilt_folder_whole(
    sam: Path, built: tuple[Path, str], tmp_path: Path
) -> None:
    out, _ = built
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "template.yaml").write_text(
        (ROOT / "infra" / "template.yaml").read_text()
    )
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "lambda").symlink_to(out)
    result = _sam_build(sam, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for logical_id, props in FUNCTION_RESOURCES.items():
        folder = out / Path(props["CodeUri"]).name
        shipped = tmp_path / "out" / logical_id
        assert _files(shipped) == _files(folder) - {"Makefile"}, logical_id
        assert any(p.suffix == ".so" for p in shipped.rglob("*.so")), logical_id
    worker = tmp_path / "out" / "ReplyWorkerFunction"
    check = (
        "import sys; sys.path.insert(0, sys.argv[1]); import handlers.reply_worker;"
        "import pydantic_core, yaml._yaml, aiohttp._http_parser; print('ok')"
    )
    imported = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", check, str(worker)], capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr[-2000:]


def test_sam_build_before_make_package_refuses_by_naming_the_makefile(
    sam: Path, tmp_path: Path
) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "template.yaml").write_text(
        (ROOT / "infra" / "template.yaml").read_text()
    )
    (tmp_path / "build" / "lambda" / "connect").mkdir(parents=True)
    result = _sam_build(sam, tmp_path, "ConnectFunction")
    assert result.returncode != 0
    assert "Makefile not found" in result.stdout + result.stderr
