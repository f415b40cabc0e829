"""Starting the test MCP server (testsupport/mcp_server.py) for tests and contract suites."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testsupport.ports import accepts, free_port, wait_ready

SERVER = str(Path(__file__).with_name("mcp_server.py"))


@contextmanager
def http_mcp_server(log: Path) -> Iterator[str]:
    """The server over streamable HTTP on a free port; yields its URL, stops it after."""
    port = free_port()
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
