"""The servers file: what it may say, and the clear refusal of what azuchi cannot use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.mcp.config import McpConfigError, load_servers


def write(tmp_path: Path, *servers: dict[str, Any], suffix: str = ".json") -> str:
    path = tmp_path / f"mcp{suffix}"
    path.write_text(json.dumps({"servers": list(servers)}))  # JSON is YAML too
    return str(path)


HTTP = {"name": "calc", "transport": "http", "url": "https://mcp.example.com/mcp"}
STDIO = {"name": "files", "transport": "stdio", "command": "python", "args": ["-m", "srv"]}


def test_yaml_and_json_give_the_same_servers_with_their_limits(tmp_path: Path) -> None:
    entry = {**HTTP, "timeoutSeconds": 3, "maxResultChars": 500}
    (from_json,) = load_servers(write(tmp_path, entry), {})
    (from_yaml,) = load_servers(write(tmp_path, entry, suffix=".yaml"), {})
    assert from_json == from_yaml
    assert (from_json.timeout_s, from_json.max_result_chars) == (3.0, 500)


def test_a_header_reads_its_secret_from_the_environment(tmp_path: Path) -> None:
    entry = {**HTTP, "headers": {"Authorization": "Bearer ${CALC_TOKEN}"}}
    (server,) = load_servers(write(tmp_path, entry), {"CALC_TOKEN": "s3cret"})
    assert server.headers == {"Authorization": "Bearer s3cret"}
    with pytest.raises(McpConfigError, match=r"\$\{CALC_TOKEN\} is not set"):
        load_servers(write(tmp_path, entry), {})


@pytest.mark.parametrize(
    ("entry", "refusal"),
    [
        ({**HTTP, "name": "a.b"}, "name must be"),
        ({**HTTP, "transport": "sse"}, "transport must be one of http, stdio"),
        ({**HTTP, "url": "file:///etc/passwd"}, "url must be an http"),
        ({**HTTP, "timeoutSeconds": 0}, "timeoutSeconds must be a positive number"),
        ({**HTTP, "maxResultChars": "big"}, "maxResultChars must be a positive integer"),
        ({**STDIO, "command": ""}, "command is required"),
        ({**STDIO, "args": "-m srv"}, "args must be a list of strings"),
        ({**HTTP, "requireApproval": "add"}, "requireApproval must be true"),
        ({**HTTP, "requireApproval": [""]}, "requireApproval must be true"),
    ],
)
def test_an_entry_azuchi_cannot_use_is_refused_naming_it(
    tmp_path: Path, entry: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(McpConfigError, match=refusal):
        load_servers(write(tmp_path, entry), {})


def test_two_servers_of_one_name_are_refused(tmp_path: Path) -> None:
    with pytest.raises(McpConfigError, match="two servers are named 'calc'"):
        load_servers(write(tmp_path, HTTP, {**STDIO, "name": "calc"}), {})


def test_stdio_servers_are_refused_on_lambda(tmp_path: Path) -> None:
    with pytest.raises(McpConfigError, match="stdio servers run only locally"):
        load_servers(write(tmp_path, STDIO), {}, on_lambda=True)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(McpConfigError, match=r"AZUCHI_MCP_CONFIG=.*nope\.json"):
        load_servers(str(tmp_path / "nope.json"), {})


def test_without_a_servers_file_the_sdk_is_not_even_imported() -> None:
    """An app with no MCP servers starts as fast as before (Lambda cold starts)."""
    import subprocess
    import sys

    probe = (
        "import sys; from adapters.bootstrap import build_app; from tests.support import "
        "fast_settings; build_app(fast_settings()); print('mcp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
