"""One client WebSocket as API Gateway keeps it: its identity, its activity, its limits."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from aiohttp import WSCloseCode, WSMsgType, web

from adapters.local_gateway.events import SocketInfo, now_ms

log = logging.getLogger(__name__)

GOING_AWAY = "Going away"
# A client that does not read its frames is closed with 1008 and one of these reasons (the
# $disconnect event carries them too).
SLOW_CLIENT_CODE = WSCloseCode.POLICY_VIOLATION
SEND_TIMEOUT = "Send timeout: the client did not read its frames"
SEND_BUFFER_FULL = "Send buffer full: the client did not read its frames"
MAX_QUEUED_BYTES = 2 * 1024 * 1024  # 16 frames of 128 KB waiting for one slow reader
CLOSE_GRACE_S = 30.0  # then a peer that took not even the close frame is dropped (TCP)


class ClientConnection:
    """A live client socket; also the hub's ``Sink`` for it.

    API Gateway closes a connection with 1001 "Going away" after ``idle_timeout_s`` without a
    frame either way, and after ``max_connection_s`` whatever happens. The close code and
    reason the server chose are kept for the ``$disconnect`` event.

    Frames go out through a queue that one writer task drains, so ``send`` never waits for
    the peer: a reply fanned out to a session's connections streams on to the others while
    one of them stops reading. That one is closed with 1008 when a frame could not be
    written for ``send_timeout_s`` (its TCP window stayed shut) or ``MAX_QUEUED_BYTES`` wait
    for it; if even the close frame cannot be written in that time, the TCP connection is
    dropped (``abort``) ``CLOSE_GRACE_S`` later::

        send(f1) ─► queue ─► writer: send_frame(f1) ✓
        send(f2) ─► queue ─► writer: send_frame(f2) … peer not reading … send_timeout_s
        send(f3) ─► queue        └─► close 1008 "Send timeout" (bounded), else abort
        send(f4) ─► ConnectionError (closed): the hub's transport says ConnectionGone
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        info: SocketInfo,
        idle_timeout_s: float,
        max_connection_s: float,
        on_send: Callable[[int], None] | None = None,
        send_timeout_s: float = 10.0,
        abort: Callable[[], None] | None = None,
        close_grace_s: float = CLOSE_GRACE_S,
    ) -> None:
        self.ws = ws
        self._on_send = on_send  # told each frame's size in bytes (the gateway's stats)
        self.info = info
        self.last_active_at = info.connected_at  # epoch ms, for GET @connections
        self.close_code: int | None = None  # set when the server closes the socket
        self.close_reason = ""
        self._idle_s = idle_timeout_s
        self._max_s = max_connection_s
        self._send_timeout_s = send_timeout_s
        self._abort = abort
        self._close_grace_s = close_grace_s
        self._loop = asyncio.get_running_loop()
        self._opened = self._loop.time()
        self._last_active = self._opened
        self._closing: asyncio.Future[None] | None = None
        self._outgoing: deque[tuple[WSMsgType, bytes]] = deque()
        self._queued_bytes = 0
        self._waiting = asyncio.Event()  # frames wait in the queue
        self._flushed = asyncio.Event()  # the queue is empty
        self._flushed.set()
        self._writer: asyncio.Task[None] | None = None
        self._broken = False  # a write failed: the peer is gone
        # The send timeout: the writer notes when the frame it writes is due out, and one
        # timer per connection (not one per frame) checks it (``_check_write``).
        self._write_deadline: float | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def connection_id(self) -> str:
        return self.info.connection_id

    @property
    def open(self) -> bool:
        return not self.ws.closed and self.close_code is None and not self._broken

    def touch(self) -> None:
        self._last_active = self._loop.time()
        self.last_active_at = now_ms()

    async def send(self, data: str) -> None:
        self._enqueue(WSMsgType.TEXT, data.encode("utf-8"))

    async def send_bytes(self, data: bytes) -> None:
        self._enqueue(WSMsgType.BINARY, data)

    def _enqueue(self, kind: WSMsgType, payload: bytes) -> None:
        """Frames of all senders go out whole and in the order they were sent."""
        if not self.open:
            raise ConnectionError(f"connection {self.connection_id} is closed")
        if self._queued_bytes + len(payload) > MAX_QUEUED_BYTES:
            self._give_up(SEND_BUFFER_FULL)
            raise ConnectionError(f"connection {self.connection_id} is not reading its frames")
        self._outgoing.append((kind, payload))
        self._queued_bytes += len(payload)
        self._flushed.clear()
        self._waiting.set()
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop())
        self.touch()

    async def _write_loop(self) -> None:
        loop = self._loop
        try:
            while True:
                if not self._outgoing:
                    self._flushed.set()
                    self._waiting.clear()
                    await self._waiting.wait()
                    continue
                kind, payload = self._outgoing[0]
                self._write_deadline = loop.time() + self._send_timeout_s
                if self._watchdog is None:
                    self._watchdog = loop.call_at(self._write_deadline, self._check_write)
                try:
                    await self.ws.send_frame(payload, kind)
                except Exception as exc:  # whatever aiohttp raises for a peer that left
                    log.info("connection %s: write failed: %s", self.connection_id, exc)
                    self._broken = True
                    return
                finally:
                    self._write_deadline = None
                self._outgoing.popleft()
                self._queued_bytes -= len(payload)
                if self._on_send is not None:
                    self._on_send(len(payload))
        finally:
            self._outgoing.clear()
            self._queued_bytes = 0
            self._flushed.set()
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None

    def _check_write(self) -> None:
        """The send timeout's timer: a frame still being written past its deadline (the
        peer's TCP window stayed shut) stops the writer and closes the connection; one
        written since leaves the timer to the frame being written now, if any. A timer per
        frame would be armed and cancelled a thousand times a second at 250 sessions, each
        left in the loop's timer heap until its 10 s ran out."""
        self._watchdog = None
        deadline = self._write_deadline
        if deadline is None:
            return  # the next frame arms it again
        if self._loop.time() < deadline:
            self._watchdog = self._loop.call_at(deadline, self._check_write)
            return
        if self._writer is not None:
            self._writer.cancel()
        self._give_up(SEND_TIMEOUT)

    def _give_up(self, reason: str) -> None:
        """Closes a connection that does not read, without waiting for it (the caller may
        be the writer itself, or a sender that must not be held up)."""
        if self._closing is not None or self.ws.closed:
            return
        log.warning("closing connection %s: %s", self.connection_id, reason)
        self.close_code, self.close_reason = SLOW_CLIENT_CODE, reason
        self._closing = asyncio.ensure_future(self._close(SLOW_CLIENT_CODE, reason, flush=False))

    async def close(self) -> None:
        """The hub's close (DELETE @connections, or the app closing the connection)."""
        await self.close_with(WSCloseCode.OK, "Connection closed by the server")

    async def close_with(self, code: int, reason: str, message: str = "") -> None:
        if self._closing is None:
            if self.ws.closed:
                return
            self.close_code, self.close_reason = code, reason
            self._closing = asyncio.ensure_future(self._close(code, message, flush=True))
        # Shielded: the closing handshake finishes even when the caller (the limit watch,
        # a management request) is cancelled meanwhile.
        await asyncio.shield(self._closing)

    async def _close(self, code: int, message: str, *, flush: bool) -> None:
        """Frames already sent go first (``flush``), then the close frame; each step is
        bounded by the send timeout, and a peer that takes none of it is dropped."""
        if flush:
            try:
                async with asyncio.timeout(self._send_timeout_s):
                    await self._flushed.wait()
            except TimeoutError:
                pass
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        try:
            async with asyncio.timeout(self._send_timeout_s):
                await self.ws.close(code=code, message=message.encode("utf-8"))
        except TimeoutError:
            # aiohttp has closed the transport gracefully: a client that reads again within
            # the grace still gets what was sent and the close frame; then it is dropped.
            log.info("connection %s took no close frame yet", self.connection_id)
            if self._abort is not None:
                self._loop.call_later(self._close_grace_s, self._abort)

    async def wait_closed(self) -> None:
        """Waits for a closing handshake the server started (bounded by the send timeout),
        then stops the writer: the socket is done."""
        if self._closing is not None:
            await asyncio.wait([self._closing])
        if self._writer is not None:
            self._writer.cancel()

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
