"""core/ imports only the standard library, anyio and itself (DESIGN §1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
ALLOWED = {"anyio", "core"}


def forbidden_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in ALLOWED and top not in sys.stdlib_module_names:
                found.append(name)
    return found


def test_core_imports_no_adapter_handler_or_vendor_sdk() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 5
    offenders = {
        str(path.relative_to(CORE)): bad
        for path in files
        if (bad := forbidden_imports(path.read_text()))
    }
    assert offenders == {}


def test_the_rule_catches_what_it_must() -> None:
    source = "import boto3\nfrom adapters.inprocess import x\nfrom redis.asyncio import Redis\n"
    source += "import json\nfrom core.domain import Role\nimport anyio\n"
    source += "def f():\n    import openai\n"
    assert forbidden_imports(source) == ["boto3", "adapters.inprocess", "redis.asyncio", "openai"]
