"""MCP tools as agent tools: each server's listing, and one ``Tool`` per listed tool.

A call is checked against the tool's input schema before any connection is made, runs in
its own session within the server's time limit, and comes back as text for the model.
What a server answers is data: it becomes a tool result (and an AGENT_LOG line), and
nothing in it is read as an instruction to azuchi.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import jsonschema
import mcp.types as mt
from mcp import ClientSession

from adapters.mcp.client import failure_reason, open_session
from adapters.mcp.config import McpServer
from adapters.mcp.held import HeldSession
from adapters.tools.schema import schema_problem
from core.domain import ToolSpec
from core.ports import ToolContext

log = logging.getLogger(__name__)

SEPARATOR = "__"
# What Bedrock's Converse and OpenAI accept as a tool name.
MODEL_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")
# What a server may add to every model request (input tokens, paid each step) per tool.
MAX_DESCRIPTION = 1_024
MAX_SCHEMA_CHARS = 16_384


class McpToolError(RuntimeError):
    """The server answered the call with an error, or stopped offering the tool."""


def offered_name(server: str, tool: str) -> str:
    """``<server>__<tool>``, with any character a model API refuses turned into ``_``."""
    return f"{server}{SEPARATOR}{NOT_ALLOWED.sub('_', tool)}"


async def list_tools(session: ClientSession) -> list[mt.Tool]:
    tools: list[mt.Tool] = []
    cursor: str | None = None
    while True:
        params = mt.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


class ServerTools:
    """One server's listing, re-read within a call once it is older than ``ttl_s``."""

    def __init__(
        self,
        server: McpServer,
        listing: list[mt.Tool],
        ttl_s: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self._ttl = ttl_s
        self._now = now
        self._schemas: dict[str, dict[str, Any]] = {}
        self._fetched = now()
        self._absorb(listing)
        self.held: HeldSession | None = None  # azuchi serve: the session a keeper holds

    def schema(self, tool: str) -> dict[str, Any] | None:
        return self._schemas.get(tool)

    @property
    def stale(self) -> bool:
        return self._now() - self._fetched > self._ttl

    async def refresh(self, session: ClientSession) -> None:
        self._absorb(await list_tools(session))
        self._fetched = self._now()

    def _absorb(self, listing: list[mt.Tool]) -> None:
        self._schemas = {tool.name: dict(tool.input_schema) for tool in listing}

    def tools(self, listing: list[mt.Tool]) -> list[McpTool]:
        """The agent tools for ``listing``; a tool whose name no model API takes, or
        whose schema is not a JSON schema, is left out with a warning."""
        offered = []
        for tool in listing:
            name = offered_name(self.server.name, tool.name)
            if not MODEL_TOOL_NAME.match(name):
                log.warning(
                    "MCP server %r: tool %r left out: %r is over 64 characters",
                    self.server.name,
                    tool.name,
                    name,
                )
                continue
            try:
                jsonschema.validators.validator_for(tool.input_schema).check_schema(
                    tool.input_schema
                )
            except jsonschema.SchemaError as exc:
                log.warning(
                    "MCP server %r: tool %r left out: its input schema is invalid: %s",
                    self.server.name,
                    tool.name,
                    exc.message,
                )
                continue
            size = len(json.dumps(tool.input_schema))
            if size > MAX_SCHEMA_CHARS:
                log.warning(
                    "MCP server %r: tool %r left out: its input schema has %d characters "
                    "(at most %d: it goes with every model request)",
                    self.server.name,
                    tool.name,
                    size,
                    MAX_SCHEMA_CHARS,
                )
                continue
            description = (tool.description or tool.title or tool.name)[:MAX_DESCRIPTION]
            spec = ToolSpec(name, description, dict(tool.input_schema))
            offered.append(McpTool(spec, tool.name, self))
        return offered


@dataclass(frozen=True, slots=True)
class McpTool:
    """A tool of an MCP server, offered to the model as ``<server>__<tool>``."""

    spec: ToolSpec
    remote_name: str
    server_tools: ServerTools

    def __repr__(self) -> str:
        return f"MCP tool {self.remote_name!r} of server {self.server_tools.server.name!r}"

    @property
    def requires_approval(self) -> bool:
        """The servers file's ``requireApproval`` names it (or says ``true``): every call
        waits for the user's approval (core/services/approvals.py)."""
        return self.server_tools.server.needs_approval(self.remote_name)

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> str:
        server = self.server_tools.server
        stale = self.server_tools.stale
        if not stale:
            self._check(arguments)  # before any connection: a bad call costs nothing
        keeper = self.server_tools.held
        held = keeper.current() if keeper is not None else None
        try:
            with anyio.fail_after(server.timeout_s):
                if held is not None:
                    result = await self._call(held, arguments, stale)
                else:
                    async with open_session(server) as session:
                        result = await self._call(session, arguments, stale)
        except (McpToolError, ValueError):
            raise  # the tool is gone, or the arguments were refused: the session is fine
        except Exception as exc:  # the SDK's, often inside its task groups' ExceptionGroup
            if keeper is not None and held is not None:
                keeper.broke(held)  # a timeout too: a hung server gets a new session
            if isinstance(exc, TimeoutError):
                # Not a TimeoutError: the agent would report its own, longer limit.
                raise McpToolError(
                    f"MCP server {server.name!r} did not answer within {server.timeout_s:g} s"
                ) from None
            reason = failure_reason(exc)
            raise McpToolError(f"MCP server {server.name!r} failed: {reason}") from None
        text = _text(result)
        if result.is_error:
            raise McpToolError(
                f"MCP server {server.name!r} answered with an error: "
                f"{_cut(text, server.max_result_chars)}"
            )
        return _cut(text, server.max_result_chars)

    async def _call(
        self, session: ClientSession, arguments: dict[str, Any], stale: bool
    ) -> mt.CallToolResult:
        if stale:  # the schema may have changed: checked against the new one
            await self.server_tools.refresh(session)
            self._check(arguments)
        return await session.call_tool(self.remote_name, arguments)

    def _check(self, arguments: dict[str, Any]) -> None:
        schema = self.server_tools.schema(self.remote_name)
        if schema is None:
            raise McpToolError(
                f"MCP server {self.server_tools.server.name!r} no longer "
                f"offers {self.remote_name!r}"
            )
        # An empty registry (schema_problem): jsonschema's default fetches a remote $ref
        # with urllib, which would let a server's schema send azuchi anywhere.
        problem = schema_problem(schema, arguments)
        if problem is not None:
            raise ValueError(problem)


def _text(result: mt.CallToolResult) -> str:
    parts = []
    for block in result.content:
        if isinstance(block, mt.TextContent):
            parts.append(block.text)
        elif isinstance(block, mt.ImageContent | mt.AudioContent):
            parts.append(f"[{block.mime_type} content, {len(block.data):,} base64 characters]")
        elif isinstance(block, mt.ResourceLink):
            parts.append(f"[resource {block.uri}]")
        elif isinstance(block, mt.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, mt.TextResourceContents):
                parts.append(resource.text)
            else:
                parts.append(f"[resource {resource.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, sort_keys=True))
    return "\n".join(parts)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… (cut: {len(text):,} characters in all; the limit is {limit:,})"
