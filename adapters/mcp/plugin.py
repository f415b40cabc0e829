"""Registers the tools of the MCP servers that ``AZUCHI_MCP_CONFIG`` lists.

The servers are listed once, when the app is built (concurrently, each within its time
limit). A server that is down or answers badly is logged and left out: azuchi starts with
the others' tools. Two tools offered under one name stop the start with an error naming
both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.registry import Resources, hookimpl
from adapters.settings import EnvReader, Settings
from core.ports import Tool

if TYPE_CHECKING:  # the SDK (and anyio, the config reader) only when a servers file is set
    import mcp.types as mt

    from adapters.mcp.config import McpServer
    from adapters.mcp.tools import McpTool, ServerTools

Listing = tuple["ServerTools", list["mt.Tool"]]

log = logging.getLogger(__name__)


@hookimpl
def azuchi_tools(settings: Settings, resources: Resources) -> list[Tool]:
    path = (settings.env.get("AZUCHI_MCP_CONFIG") or "").strip()
    if not path:
        return []
    from adapters.mcp.config import McpConfigError, load_servers

    ttl = EnvReader(settings.env).float("AZUCHI_MCP_TOOLS_TTL_S", 300.0, low=0)
    on_lambda = bool(settings.env.get("AWS_LAMBDA_FUNCTION_NAME"))
    servers = load_servers(path, settings.env, on_lambda=on_lambda)
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise McpConfigError(
            "AZUCHI_MCP_CONFIG is set but the mcp package is not installed here "
            "(pip install mcp; on Lambda, build the worker with "
            "`make package MCP_CONFIG=servers.json`)"
        ) from None
    listings = list_all(servers, ttl)
    tools = offered_tools(listings)
    if not on_lambda:  # on Lambda every call opens its own session (see adapters/mcp/held.py)
        from adapters.mcp.held import HeldSession, keepers

        for server_tools, _ in listings:
            server_tools.held = HeldSession(server_tools.server)
        resources.while_open(keepers([st.held for st, _ in listings if st.held]))
    return list(tools)


def offered_tools(listings: Sequence[Listing]) -> list[McpTool]:
    from adapters.mcp.config import McpConfigError

    offered: dict[str, McpTool] = {}
    for server_tools, listing in listings:
        for tool in server_tools.tools(listing):
            other = offered.get(tool.spec.name)
            if other is not None:
                raise McpConfigError(
                    f"two MCP tools would be offered as {tool.spec.name!r}: {other!r} and "
                    f"{tool!r} (offered names are <server>__<tool>, other characters than "
                    "A-Z a-z 0-9 _ - made _); rename a server, or leave one out"
                )
            offered[tool.spec.name] = tool
    return list(offered.values())


def list_all(servers: Sequence[McpServer], ttl_s: float) -> list[Listing]:
    """Every reachable server's listing. Runs on its own event loop in a thread: the app
    is built by synchronous code, which may itself run on an event loop."""
    import anyio

    from adapters.mcp.client import failure_reason, open_session
    from adapters.mcp.tools import ServerTools, list_tools

    found: list[Listing] = []

    async def one(server: McpServer) -> None:
        try:
            with anyio.fail_after(server.timeout_s):
                async with open_session(server) as session:
                    listing = await list_tools(session)
        except Exception as exc:
            log.error(
                "MCP server %r is not available, its tools are not offered: %s",
                server.name,
                failure_reason(exc),
            )
            return
        found.append((ServerTools(server, listing, ttl_s), listing))
        unknown = set(server.require_approval) - {"*"} - {t.name for t in listing}
        if unknown:  # a typo, or a tool the server dropped: nothing of it is offered
            log.warning(
                "MCP server %r does not offer %s, which requireApproval names",
                server.name,
                ", ".join(sorted(unknown)),
            )
        log.info("MCP server %r lists %d tools", server.name, len(listing))

    async def every() -> None:
        async with anyio.create_task_group() as group:
            for server in servers:
                group.start_soon(one, server)

    thread = threading.Thread(target=anyio.run, args=(every,), name="mcp-listing")
    thread.start()
    thread.join()
    order = {server.name: index for index, server in enumerate(servers)}
    return sorted(found, key=lambda pair: order[pair[0].server.name])
