"""npm packages the browser tests read (never the page): installed once under ``.cache/npm/``
with the machine's npm, as DynamoDB Local is (testsupport/dynamodb_local.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from testsupport.backend import backend_missing

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "npm"

# Pinned: the CommonMark examples and the axe rules must not move under the tests.
COMMONMARK_SPEC = "commonmark-spec@0.31.2"
AXE_CORE = "axe-core@4.14.1"


def npm_package(spec: str) -> Path:
    """The installed package directory of ``name@version``, installing it first if needed."""
    name = spec.rsplit("@", 1)[0]
    prefix = CACHE / spec.replace("/", "+")
    package = prefix / "node_modules" / name
    if (package / "package.json").is_file():
        return package
    npm = shutil.which("npm")
    if npm is None:
        backend_missing(f"npm is not installed, so {spec} cannot be installed")
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), spec],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not (package / "package.json").is_file():
        backend_missing(f"npm install {spec} failed: {done.stderr.strip()[-500:]}")
    return package


def commonmark_examples() -> list[dict[str, object]]:
    """The spec's examples as the package extracts them (tabs are written → in the spec)."""
    package = npm_package(COMMONMARK_SPEC)
    node = shutil.which("node")
    if node is None:
        backend_missing("node is not installed, so the CommonMark examples cannot be read")
    script = "process.stdout.write(JSON.stringify(require(process.argv[1]).tests))"
    done = subprocess.run(
        [node, "-e", script, str(package)], capture_output=True, text=True, timeout=60, check=True
    )
    examples: list[dict[str, object]] = json.loads(done.stdout)
    for example in examples:
        for key in ("markdown", "html"):
            example[key] = str(example[key]).replace("→", "\t")
    return examples


def axe_source() -> str:
    return (npm_package(AXE_CORE) / "axe.min.js").read_text()
