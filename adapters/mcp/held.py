"""One MCP session per server, held open for the app's life by a task of its own.

Opening a session costs a handshake (about 60 ms over local HTTP, a new process over
stdio: bench/mcp_bench.py), so ``azuchi serve`` keeps one per server. The SDK's streams
must be entered and left by one task, so a keeper task per server opens the session and
holds it; calls from any reply use it concurrently (MCP is JSON-RPC: requests carry ids).

    app start ─► keeper: open session ─► ready ── calls share it ──► broken? ─► reopened
                                                                               on demand
    app close ─► every keeper leaves its session (the stdio server process ends)

A call that finds no session open (the server was down, or its session broke) opens one
of its own, as on Lambda, where nothing is held (a frozen environment's streams go stale).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio
from mcp import ClientSession

from adapters.mcp.client import failure_reason, open_session
from adapters.mcp.config import McpServer

log = logging.getLogger(__name__)


class HeldSession:
    """The session a keeper holds for one server, when it holds one."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self.session: ClientSession | None = None
        self._wanted = anyio.Event()
        self._broken = anyio.Event()

    def current(self) -> ClientSession | None:
        """The open session, or None (and the keeper is asked to open one)."""
        if self.session is None:
            self._wanted.set()
        return self.session

    def broke(self, session: ClientSession) -> None:
        """A call on ``session`` failed in its transport: the keeper drops it."""
        if self.session is session:
            self.session = None
            self._broken.set()

    async def keep(self) -> None:
        while True:
            self._wanted, self._broken = anyio.Event(), anyio.Event()
            try:
                # Bounded until the session is open, then held without limit.
                with anyio.CancelScope(
                    deadline=anyio.current_time() + self.server.timeout_s
                ) as opening:
                    async with open_session(self.server) as session:
                        opening.deadline = math.inf
                        self.session = session
                        await self._broken.wait()
            except Exception as exc:
                log.warning(
                    "MCP server %r: no session held: %s", self.server.name, failure_reason(exc)
                )
            finally:
                self.session = None
            if opening.cancelled_caught:
                log.warning("MCP server %r: no session held: no answer in time", self.server.name)
            if not self._broken.is_set():
                await self._wanted.wait()  # opened again when a call next finds none


@asynccontextmanager
async def keepers(held: Sequence[HeldSession]) -> AsyncIterator[None]:
    async with anyio.create_task_group() as group:
        for one in held:
            group.start_soon(one.keep)
        try:
            yield
        finally:
            group.cancel_scope.cancel()
