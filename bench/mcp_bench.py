"""What azuchi's MCP tool wrapper adds to a tool call, against the SDK's ClientSession.

    nice -n 10 .venv/bin/python bench/mcp_bench.py [--calls 200] [--stdio-calls 10]

Starts a small MCP server (this file, ``--serve``) over streamable HTTP on a free port and
times, interleaved in one run, calls of its ``add`` tool made:
  held     on one ClientSession kept open (the SDK at its cheapest),
  session  on a new ClientSession per call (connect, initialize, call, close),
  azuchi   through ``McpTool.run`` (schema check, a session per call, the answer as text).
Prints p50/p99 of each and of azuchi minus session and minus held (per call, paired); with
``--stdio-calls`` also the wrapper over stdio (a server process per call). Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from adapters.mcp.client import open_session
from adapters.mcp.config import McpServer
from adapters.mcp.tools import McpTool, ServerTools, list_tools
from core.ports import ToolContext
from testsupport.ports import accepts, free_port, wait_ready

SELF = str(Path(__file__).resolve())
ARGS = {"a": 12, "b": 7}


def serve(transport: str, port: int) -> None:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bench")

    @server.tool()
    def add(a: int, b: int) -> str:
        """Add two integers."""
        return str(a + b)

    if transport == "stdio":
        server.run()
    else:
        server.run(transport="streamable-http", host="127.0.0.1", port=port)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def row(name: str, values: list[float]) -> None:
    print(f"  {name:<22} p50 {pct(values, 0.5):7.2f} ms   p99 {pct(values, 0.99):7.2f} ms")


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def main(url: str, calls: int, stdio_calls: int) -> None:
    from adapters.inprocess import InProcessChatStore
    from core.services.reply import ReplyContext

    context = ReplyContext("bench", InProcessChatStore())
    times = await over_http(url, calls, context)
    print(f"MCP tool call over streamable HTTP, {calls} calls each, interleaved:")
    for name, values in times.items():
        row(name, values)
    row("azuchi - session", [a - s for a, s in zip(times["azuchi"], times["session"], strict=True)])
    row("azuchi - held", [a - h for a, h in zip(times["azuchi"], times["held"], strict=True)])
    means = ", ".join(f"{k} {statistics.fmean(v) * 1000:.2f} ms" for k, v in times.items())
    print(f"  (means: {means})")
    if stdio_calls:
        values = await over_stdio(stdio_calls, context)
        print(f"MCP tool call over stdio (a server process per call), {stdio_calls} calls:")
        row("azuchi", values)


async def wrapped(server: McpServer) -> McpTool:
    """The ``add`` tool as azuchi offers it."""
    async with open_session(server) as session:
        listing = await list_tools(session)
    (tool,) = ServerTools(server, listing, ttl_s=3600).tools(listing)
    return tool


async def over_http(url: str, calls: int, context: ToolContext) -> dict[str, list[float]]:
    tool = await wrapped(McpServer("bench", "http", url=url))

    async def fresh_session() -> None:
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            await s.call_tool("add", ARGS)

    times: dict[str, list[float]] = {"held": [], "session": [], "azuchi": []}
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as held:
        await held.initialize()
        for _ in range(10):  # warm every path
            await held.call_tool("add", ARGS)
            await fresh_session()
            await tool.run(ARGS, context)
        for _ in range(calls):
            times["held"].append(await timed(lambda: held.call_tool("add", ARGS)))
            times["session"].append(await timed(fresh_session))
            times["azuchi"].append(await timed(lambda: tool.run(ARGS, context)))
    return times


async def over_stdio(calls: int, context: ToolContext) -> list[float]:
    args = (SELF, "--serve", "stdio", "0")
    tool = await wrapped(McpServer("bench", "stdio", command=sys.executable, args=args))
    return [await timed(lambda: tool.run(ARGS, context)) for _ in range(calls)]


def http_server() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, SELF, "--serve", "http", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(lambda: accepts(port), what="the bench MCP server", timeout=30, process=process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--stdio-calls", type=int, default=10)
    parser.add_argument("--serve", nargs=2, metavar=("TRANSPORT", "PORT"))
    options = parser.parse_args()
    if options.serve:
        serve(options.serve[0], int(options.serve[1]))
    else:
        with contextmanager(http_server)() as url:
            anyio.run(main, url, options.calls, options.stdio_calls)
