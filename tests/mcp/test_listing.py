"""A server's listing is re-read once it is older than AZUCHI_MCP_TOOLS_TTL_S: a call
is checked against the tool's schema as the server has it now, and a tool it no longer
offers is a failed step."""

from __future__ import annotations

from typing import Any

import mcp.types as mt
import pytest

from adapters.inprocess import InProcessChatStore
from adapters.mcp.config import McpServer
from adapters.mcp.tools import McpToolError, ServerTools
from core.services.reply import ReplyContext
from testsupport.ports import free_port

pytestmark = pytest.mark.anyio
CTX = ReplyContext("s1", InProcessChatStore())
STRING_A = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def listed(mcp_url: str, *tools: mt.Tool) -> tuple[ServerTools, list[float]]:
    clock = [0.0]
    server = McpServer("calc", "http", url=mcp_url)
    return ServerTools(server, list(tools), ttl_s=60, now=lambda: clock[0]), clock


async def test_a_fresh_listing_checks_arguments_without_asking_the_server() -> None:
    nobody = f"http://127.0.0.1:{free_port()}/mcp"  # a call that got this far would fail
    tool = mt.Tool(name="add", input_schema=STRING_A)
    server_tools, _ = listed(nobody, tool)
    (add,) = server_tools.tools([tool])
    with pytest.raises(ValueError) as refused:
        await add.run({"a": 12, "b": 7}, CTX)
    assert (
        str(refused.value)
        == "arguments refused by the tool's schema (a): 12 is not of type 'string'"
    )


async def test_a_stale_listing_is_read_again_before_the_call(mcp_url: str) -> None:
    old = mt.Tool(name="add", input_schema=STRING_A)  # what the server offered an hour ago
    server_tools, clock = listed(mcp_url, old)
    (add,) = server_tools.tools([old])
    clock[0] = 61
    assert await add.run({"a": 12, "b": 7}, CTX) == "19"
    assert server_tools.schema("add")["properties"]["a"]["type"] == "integer"  # type: ignore[index]


async def test_a_tool_the_server_no_longer_offers_is_a_failed_step(mcp_url: str) -> None:
    gone: Any = mt.Tool(name="vanished", input_schema={"type": "object"})
    server_tools, clock = listed(mcp_url, gone)
    (vanished,) = server_tools.tools([gone])
    clock[0] = 61
    with pytest.raises(McpToolError, match="no longer offers 'vanished'"):
        await vanished.run({}, CTX)


async def test_a_schema_that_points_elsewhere_is_never_fetched() -> None:
    """Only configured servers are reached: a ``$ref`` to another address is refused."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        elsewhere = f"http://127.0.0.1:{listener.getsockname()[1]}/schema.json"
        schema = {"type": "object", "properties": {"a": {"$ref": elsewhere}}}
        tool = mt.Tool(name="add", input_schema=schema)
        server_tools, _ = listed(f"http://127.0.0.1:{free_port()}/mcp", tool)
        (add,) = server_tools.tools([tool])
        with pytest.raises(ValueError, match="the tool's schema cannot be checked"):
            await add.run({"a": 1}, CTX)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody came to fetch it


def test_what_a_tool_adds_to_every_model_request_is_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wordy = mt.Tool(name="wordy", description="d" * 5_000, input_schema={"type": "object"})
    huge_schema = {
        "type": "object",
        "properties": {f"p{i}": {"type": "string"} for i in range(2_000)},
    }
    huge = mt.Tool(name="huge", input_schema=huge_schema)
    server_tools, _ = listed("http://127.0.0.1:9/mcp", wordy, huge)
    offered = server_tools.tools([wordy, huge])
    assert [t.spec.name for t in offered] == ["calc__wordy"]
    assert offered[0].spec.description == "d" * 1_024
    assert "tool 'huge' left out: its input schema has" in caplog.text
