"""MCP tools on Lambda: ``azuchi package --mcp-config`` ships the servers file and the mcp
SDK in the reply worker's folder only, and that folder alone (as Lambda runs it) lists a
real MCP server's tools at init and calls one; a servers file Lambda cannot use is refused
at build time; a worker whose build and stack disagree on MCP refuses at init."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from handlers.build_facts import BuildFacts, BuildMismatch
from testsupport.mcp_launch import http_mcp_server
from tooling import package
from tooling.package import MCP_FILE, ROOT, build_functions, requirements

pytestmark = pytest.mark.timeout(1200)

WORKER_INIT = """
import sys
sys.path.insert(0, sys.argv[1])
import anyio
import handlers.reply_worker
import handlers.lambda_runtime as rt
app = rt._app
assert app is not None
offered = sorted(n for n in app.tools if n.startswith("calc__"))
answer = anyio.run(app.tools["calc__add"].run, {"a": 12, "b": 7}, None)
outside = sorted(m.__name__ for m in list(sys.modules.values())
                 if getattr(m, "__file__", None) and "site-packages" in m.__file__)
print(offered, answer, outside)
"""


def test_only_the_worker_gets_the_mcp_sdk() -> None:
    with_mcp = {f: requirements(f, "lean", "bedrock", mcp=True) for f in package.BY_NAME}
    carrying = sorted(f for f, reqs in with_mcp.items() if any(r.startswith("mcp==") for r in reqs))
    assert carrying == ["reply_worker"]
    assert not any(r.startswith("mcp==") for r in requirements("reply_worker", "lean", "bedrock"))


@pytest.mark.parametrize(
    ("entry", "refusal"),
    [
        ({"name": "files", "transport": "stdio", "command": "python"}, "stdio servers run only"),
        ({"name": "x", "transport": "http", "url": "ftp://x"}, "url must be an http"),
    ],
)
def test_a_servers_file_lambda_cannot_use_is_refused_at_build_time(
    tmp_path: Path, entry: dict[str, str], refusal: str
) -> None:
    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps({"servers": [entry]}))
    result = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "package", "--platform", "local",
         "--out", str(tmp_path / "out"), "--mcp-config", str(servers)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert refusal in result.stderr and "--mcp-config" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_worker_built_with_mcp_lists_and_calls_a_servers_tools_from_its_folder(
    tmp_path: Path,
) -> None:
    with http_mcp_server(tmp_path / "mcp.log") as url:
        servers = tmp_path / "servers.yaml"
        servers.write_text(
            "servers:\n  - name: calc\n    transport: http\n"
            f"    url: {url}\n    headers: {{X-Test-Token: '${{CALC_TOKEN}}'}}\n"
        )
        (artefact,) = build_functions(
            tmp_path / "lambda",
            profile="lean",
            model="bedrock",
            platform="local",
            pip_cache=ROOT / ".cache" / "pip",
            mcp_config=servers,
            only=("reply_worker",),
        )
        shipped = json.loads((artefact.path / MCP_FILE).read_text())
        assert shipped["servers"][0]["headers"] == {"X-Test-Token": "${CALC_TOKEN}"}
        facts = BuildFacts.read(artefact.path)
        assert facts is not None and facts.mcp
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", WORKER_INIT, str(artefact.path)],
            capture_output=True,
            text=True,
            timeout=300,
            env={
                "AWS_LAMBDA_FUNCTION_NAME": "azuchi-test",
                "AWS_REGION": "us-east-1",
                "AZUCHI_PROFILE": "lean",
                "AZUCHI_MODEL": "bedrock",
                "AZUCHI_STORAGE": "inprocess",
                "AZUCHI_LOCK": "inprocess",
                "AZUCHI_AGENT_MEMORY": "inprocess",
                "AZUCHI_LIMITS": "inprocess",
                "AZUCHI_MCP_CONFIG": str(artefact.path / MCP_FILE),
                "CALC_TOKEN": "t0k",
            },
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("['calc__add', "), result.stdout
    assert "19 []" in result.stdout  # the answer, and nothing from outside the folder


@pytest.mark.parametrize(
    ("built_with", "env", "said"),
    [
        (False, {"AZUCHI_MCP_CONFIG": "/var/task/mcp-servers.json"}, "built without MCP"),
        (True, {}, "built with MCP servers"),
    ],
)
def test_a_worker_whose_build_and_stack_disagree_on_mcp_refuses(
    built_with: bool, env: dict[str, str], said: str
) -> None:
    facts = BuildFacts("reply_worker", "lean", "bedrock", "0", "3.13", "lambda", built_with)
    with pytest.raises(BuildMismatch, match=said):
        facts.check(
            {"AZUCHI_PROFILE": "lean", "AZUCHI_MODEL": "bedrock", **env}, talks_to_model=True
        )
    facts.check({"AZUCHI_PROFILE": "lean"}, talks_to_model=False)  # the other functions: no MCP
