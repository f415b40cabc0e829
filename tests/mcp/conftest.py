"""A real MCP server over streamable HTTP for the module's tests, and servers files."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testsupport.mcp_launch import SERVER, http_mcp_server


@pytest.fixture(scope="session")
def mcp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with http_mcp_server(tmp_path_factory.mktemp("mcp") / "server.log") as url:
        yield url


def http_server(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "transport": "http", "url": url, **extra}


def stdio_server(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "transport": "stdio",
        "command": sys.executable,
        "args": [SERVER, "stdio"],
        **extra,
    }


@pytest.fixture
def servers_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Writes a servers file and returns the settings that name it."""

    def write(*servers: dict[str, Any], **env: str) -> dict[str, str]:
        path = tmp_path / "mcp.json"
        path.write_text(json.dumps({"servers": list(servers)}))
        return {"AZUCHI_MCP_CONFIG": str(path), **env}

    return write
