"""One client WebSocket as API Gateway keeps it: its identity, its activity, its limits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import WSCloseCode, WSMsgType, web

from adapters.local_gateway.events import SocketInfo, now_ms

log = logging.getLogger(__name__)

GOING_AWAY = "Going away"


class ClientConnection:
    """A live client socket; also the hub's ``Sink`` for it.

    API Gateway closes a connection with 1001 "Going away" after ``idle_timeout_s`` without a
    frame either way, and after ``max_connection_s`` whatever happens. The close code and
    reason the server chose are kept for the ``$disconnect`` event.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        info: SocketInfo,
        idle_timeout_s: float,
        max_connection_s: float,
        on_send: Callable[[int], None] | None = None,
    ) -> None:
        self.ws = ws
        self._on_send = on_send  # told each frame's size in bytes (the gateway's stats)
        self.info = info
        self.last_active_at = info.connected_at  # epoch ms, for GET @connections
        self.close_code: int | None = None  # set when the server closes the socket
        self.close_reason = ""
        self._idle_s = idle_timeout_s
        self._max_s = max_connection_s
        self._loop = asyncio.get_running_loop()
        self._opened = self._loop.time()
        self._last_active = self._opened
        self._send_lock = asyncio.Lock()
        self._closing: asyncio.Future[bool] | None = None

    @property
    def connection_id(self) -> str:
        return self.info.connection_id

    @property
    def open(self) -> bool:
        return not self.ws.closed and self.close_code is None

    def touch(self) -> None:
        self._last_active = self._loop.time()
        self.last_active_at = now_ms()

    async def send(self, data: str) -> None:
        await self._send(data)

    async def send_bytes(self, data: bytes) -> None:
        await self._send(data)

    async def _send(self, data: str | bytes) -> None:
        if not self.open:
            raise ConnectionError(f"connection {self.connection_id} is closed")
        # Encoded here once: the frame goes out as these bytes and the stats count them.
        kind, payload = (
            (WSMsgType.TEXT, data.encode("utf-8"))
            if isinstance(data, str)
            else (WSMsgType.BINARY, data)
        )
        async with self._send_lock:  # frames of one sender arrive whole and in order
            await self.ws.send_frame(payload, kind)
        self.touch()
        if self._on_send is not None:
            self._on_send(len(payload))

    async def close(self) -> None:
        """The hub's close (DELETE @connections, or the app closing the connection)."""
        await self.close_with(WSCloseCode.OK, "Connection closed by the server")

    async def close_with(self, code: int, reason: str, message: str = "") -> None:
        if self._closing is None:
            if self.ws.closed:
                return
            self.close_code, self.close_reason = code, reason
            self._closing = asyncio.ensure_future(
                self.ws.close(code=code, message=message.encode("utf-8"))
            )
        # Shielded: the closing handshake finishes even when the caller (the limit watch,
        # a management request) is cancelled meanwhile.
        await asyncio.shield(self._closing)

    async def wait_closed(self) -> None:
        """Waits for a closing handshake the server started (bounded by aiohttp's timeout)."""
        if self._closing is not None:
            await asyncio.wait([self._closing])

    async def watch_limits(self) -> None:
        """Closes the socket with 1001 when it has been idle, or open, for too long."""
        while self.open:
            now = self._loop.time()
            idle_deadline = self._last_active + self._idle_s
            max_deadline = self._opened + self._max_s
            if now >= max_deadline:
                log.info("connection %s reached its maximum duration", self.connection_id)
                await self.close_with(WSCloseCode.GOING_AWAY, GOING_AWAY, GOING_AWAY)
                return
            if now >= idle_deadline:
                log.info("connection %s idle for %.1f s", self.connection_id, self._idle_s)
                await self.close_with(WSCloseCode.GOING_AWAY, GOING_AWAY, GOING_AWAY)
                return
            await asyncio.sleep(min(idle_deadline, max_deadline) - now)
