"""A real MCP server over streamable HTTP for the module's tests, and servers files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testsupport.ports import accepts, free_port, wait_ready

SERVER = str(Path(__file__).with_name("server.py"))


@pytest.fixture(scope="session")
def mcp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("mcp") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, SERVER, "http", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(
            lambda: accepts(port),
            what="the test MCP server",
            timeout=30,
            process=process,
            log=log.read_text,
        )
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


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
