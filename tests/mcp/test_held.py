"""azuchi serve holds one session per server for the app's life: calls share it, a broken
one is opened again, and closing the app ends it (a stdio server's process with it)."""

from __future__ import annotations

import os
from typing import Any

import anyio
import pytest

from adapters.bootstrap import App
from adapters.inprocess import InProcessChatStore
from adapters.mcp.tools import McpToolError
from core.services.reply import ReplyContext
from tests.mcp.conftest import stdio_server
from tests.support import fast_settings, running_app

pytestmark = pytest.mark.anyio
CTX = ReplyContext("s1", InProcessChatStore())


async def held_open(app: App, name: str) -> Any:
    tool: Any = app.tools[name]
    with anyio.fail_after(10):
        while tool.server_tools.held.session is None:
            await anyio.sleep(0.01)
    return tool


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_calls_share_one_held_session_which_ends_with_the_app(servers_file: Any) -> None:
    async with running_app(fast_settings(**servers_file(stdio_server("local")))) as app:
        tool = await held_open(app, "local__pid")
        pids = {await tool.run({}, CTX) for _ in range(3)}
        assert len(pids) == 1  # one server process answered all three
        (pid,) = pids
        assert alive(int(pid))
    with anyio.fail_after(10):
        while alive(int(pid)):
            await anyio.sleep(0.05)


async def test_a_broken_session_is_a_failed_step_and_the_next_call_gets_a_new_one(
    servers_file: Any,
) -> None:
    async with running_app(
        fast_settings(**servers_file(stdio_server("local", timeoutSeconds=3)))
    ) as app:
        tool = await held_open(app, "local__pid")
        first = int(await tool.run({}, CTX))
        os.kill(first, 9)  # the server dies under its session
        with pytest.raises(McpToolError, match=r"MCP server 'local' failed: .*Connection closed"):
            await tool.run({}, CTX)
        tool = await held_open(app, "local__pid")
        second = int(await tool.run({}, CTX))
        assert second != first
