"""One MCP session with one configured server, through the official SDK.

A session is opened for each listing and each call and closed after it: nothing is held
between replies (a Lambda is frozen between invocations, and a held stream would outlive
the event loop that opened it). Only ``McpServer``'s own URL or command is ever reached:
the SDK follows a redirect only within the endpoint's origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx2
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import DEFAULT_MAX_SSE_EVENT_SIZE, streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from adapters.mcp.config import McpServer

# One server-sent event may hold at most this many bytes per character of the result limit
# (an answer carries its text twice, as content and as structured content, JSON-escaped),
# and at least the SDK's own bound: a server cannot make azuchi buffer an unbounded answer.
BYTES_PER_CHAR = 16
EVENT_FLOOR = DEFAULT_MAX_SSE_EVENT_SIZE


@asynccontextmanager
async def open_session(server: McpServer) -> AsyncIterator[ClientSession]:
    """An initialized session with ``server``; the caller bounds it in time."""
    async with AsyncExitStack() as stack:
        if server.transport == "http":
            timeout = httpx2.Timeout(server.timeout_s)
            http = create_mcp_http_client(headers=dict(server.headers), timeout=timeout)
            await stack.enter_async_context(http)
            event_bytes = max(EVENT_FLOOR, server.max_result_chars * BYTES_PER_CHAR)
            read, write = await stack.enter_async_context(
                streamable_http_client(server.url, http_client=http, max_sse_event_size=event_bytes)
            )
        else:
            params = StdioServerParameters(
                command=server.command, args=list(server.args), env=dict(server.env)
            )
            read, write = await stack.enter_async_context(stdio_client(params))
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        yield session


def failure_reason(exc: BaseException) -> str:
    """What went wrong, in a line: the first error inside the SDK's task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return f"{type(exc).__name__}: {exc}"
