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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from adapters.mcp.client import open_session
from adapters.mcp.config import McpServer
from adapters.mcp.held import HeldSession, keepers
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
    print(f"  {name:<32} p50 {pct(values, 0.5):7.2f} ms   p99 {pct(values, 0.99):7.2f} ms")


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
    for wrapper, direct in (("azuchi held", "SDK held"), ("azuchi per call", "SDK per call")):
        paired = zip(times[wrapper], times[direct], strict=True)
        row(f"{wrapper} - {direct}", [w - d for w, d in paired])
    means = ", ".join(f"{k} {statistics.fmean(v) * 1000:.2f} ms" for k, v in times.items())
    print(f"  (means: {means})")
    if stdio_calls:
        print(f"MCP tool call over stdio, {stdio_calls} calls each:")
        for name, values in (await over_stdio(stdio_calls, context)).items():
            row(name, values)


async def wrapped(server: McpServer) -> McpTool:
    """The ``add`` tool as azuchi offers it (a session per call until one is held)."""
    async with open_session(server) as session:
        listing = await list_tools(session)
    (tool,) = ServerTools(server, listing, ttl_s=3600).tools(listing)
    return tool


@asynccontextmanager
async def held(server: McpServer) -> AsyncIterator[McpTool]:
    """The ``add`` tool on a session held as ``azuchi serve`` holds it."""
    tool = await wrapped(server)
    tool.server_tools.held = HeldSession(server)
    async with keepers([tool.server_tools.held]):
        with anyio.fail_after(30):
            while tool.server_tools.held.current() is None:  # noqa: ASYNC110 (a poll of the keeper)
                await anyio.sleep(0.01)
        yield tool


async def over_http(url: str, calls: int, context: ToolContext) -> dict[str, list[float]]:
    server = McpServer("bench", "http", url=url)
    per_call = await wrapped(server)

    async def fresh_session() -> None:
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            await s.call_tool("add", ARGS)

    names = ("SDK held", "azuchi held", "SDK per call", "azuchi per call")
    times: dict[str, list[float]] = {name: [] for name in names}
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write) as session,
        held(server) as on_held,
    ):
        await session.initialize()
        paths: dict[str, Callable[[], Awaitable[object]]] = {
            "SDK held": lambda: session.call_tool("add", ARGS),
            "azuchi held": lambda: on_held.run(ARGS, context),
            "SDK per call": fresh_session,
            "azuchi per call": lambda: per_call.run(ARGS, context),
        }
        for _ in range(10):  # warm every path
            for path in paths.values():
                await path()
        for _ in range(calls):
            for name, path in paths.items():
                times[name].append(await timed(path))
    return times


async def over_stdio(calls: int, context: ToolContext) -> dict[str, list[float]]:
    args = (SELF, "--serve", "stdio", "0")
    server = McpServer("bench", "stdio", command=sys.executable, args=args, timeout_s=30)
    per_call = await wrapped(server)
    async with held(server) as on_held:
        return {
            "azuchi held": [await timed(lambda: on_held.run(ARGS, context)) for _ in range(calls)],
            "azuchi per call": [
                await timed(lambda: per_call.run(ARGS, context)) for _ in range(calls)
            ],
        }


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
