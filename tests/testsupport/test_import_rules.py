"""Where the test-support package sits: tests, contract suites and benches import
``testsupport``; it, the contract suites and the benches never import ``tests`` (a test
directory is not a library); the runtime packages import neither, and the wheel ships
neither."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ("core", "adapters", "handlers")


def imported(source: str) -> list[str]:
    """Every absolute module name ``source`` imports, at any depth (functions included)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def offenders(folders: tuple[str, ...], forbidden: set[str]) -> dict[str, list[str]]:
    found = {}
    for folder in folders:
        files = sorted((ROOT / folder).rglob("*.py"))
        assert files, f"no Python files under {folder}/"
        for path in files:
            bad = [n for n in imported(path.read_text()) if n.split(".")[0] in forbidden]
            if bad:
                found[str(path.relative_to(ROOT))] = bad
    return found


def test_contract_suites_benches_and_testsupport_never_import_tests() -> None:
    assert offenders(("contract_tests", "bench", "testsupport"), {"tests"}) == {}


def test_runtime_packages_import_no_test_support() -> None:
    assert offenders(RUNTIME, {"tests", "testsupport", "contract_tests"}) == {}


def test_the_rule_sees_every_form_of_import() -> None:
    source = "import tests.support\nfrom tests.redis import server\nimport json\n"
    source += "def f():\n    from tests import backend\n"
    source += "from testsupport.ports import free_port\nfrom . import sibling\n"
    tops = [n for n in imported(source) if n.split(".")[0] == "tests"]
    assert tops == ["tests.support", "tests.redis", "tests"]


def test_the_wheel_ships_the_runtime_and_no_test_support() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]

    def shipped(package: str) -> bool:
        return any(fnmatch.fnmatch(package, pattern) for pattern in include)

    assert all(shipped(package) for package in RUNTIME)
    for package in ("testsupport", "testsupport.stubs", "tests", "contract_tests", "bench"):
        assert not shipped(package), f"{package} would ship in the wheel"
