"""One load-test connection: an aiohttp WebSocket speaking wire protocol v1.

aiohttp is a runtime dependency (``websockets`` is dev-only), so ``azuchi load`` runs from
``make run``'s install. Frames are read by one task per connection and time-stamped when
they are read, then queued for the user; what a frame costs (API Gateway bills messages in
32 KB units) is counted here for the client-side estimate of a deployed run.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from core.config import BILLING_FRAME_BYTES

Frame = dict[str, Any]
CLOSED = object()  # queued when the socket ends


class ConnectFailed(Exception):
    """The handshake failed (refused, unreachable, or timed out); the message says how."""


def units(size: int) -> int:
    return max(1, math.ceil(size / BILLING_FRAME_BYTES))


@dataclass(slots=True)
class Traffic:
    """What the clients of a run sent and received, for the client-side cost estimate."""

    connects: int = 0
    connect_ms: float = 0.0
    frames_out: int = 0
    units_out: int = 0
    frames_in: int = 0
    units_in: int = 0
    connected_ms: float = 0.0  # summed open time of closed connections


class WsClient:
    """A connection that can be opened, dropped and opened again on the same session."""

    def __init__(self, http: aiohttp.ClientSession, url: str, traffic: Traffic) -> None:
        self._http = http
        self._url = url
        self._traffic = traffic
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._opened = 0.0
        self.frames: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()

    @property
    def open(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def connect(self, session_id: str | None = None, timeout_s: float = 10.0) -> None:
        url = self._url
        if session_id:
            url += ("&" if "?" in url else "?") + urlencode({"sessionId": session_id})
        started = time.perf_counter()
        try:
            self._ws = await self._http.ws_connect(
                url,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                max_msg_size=0,
                autoping=True,
                heartbeat=None,
                compress=0,
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise ConnectFailed(f"handshake refused with {exc.status}") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        self._opened = time.perf_counter()
        self._traffic.connects += 1
        self._traffic.connect_ms += (self._opened - started) * 1000
        self.frames = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(self._ws, self.frames))

    async def send(self, frame: Frame) -> None:
        if self._ws is None or self._ws.closed:
            raise ConnectionError("the connection is closed")
        data = json.dumps(frame)
        await self._ws.send_str(data)
        self._traffic.frames_out += 1
        self._traffic.units_out += units(len(data.encode("utf-8")))

    async def receive(self, timeout_s: float) -> tuple[float, Frame] | None:
        """The next frame and when it was read; None when the socket closed. Raises
        TimeoutError after ``timeout_s`` without a frame, and ValueError for a frame that is
        not a JSON object (a protocol violation)."""
        stamp, item = await asyncio.wait_for(self.frames.get(), timeout_s)
        if item is CLOSED:
            self.frames.put_nowait((stamp, CLOSED))  # later receives see the close too
            return None
        frame = json.loads(item)
        if not isinstance(frame, dict):
            raise ValueError(f"a frame that is not a JSON object: {item[:80]!r}")
        return stamp, frame

    async def close(self, code: int = 1000) -> None:
        """Closes the socket (code 1001 plays a tab going away mid-reply)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await ws.close(code=code)
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
            self._traffic.connected_ms += (time.perf_counter() - self._opened) * 1000
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, queue: asyncio.Queue[Any]) -> None:
        try:
            async for msg in ws:
                stamp = time.perf_counter()
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self._traffic.frames_in += 1
                    self._traffic.units_in += units(len(msg.data.encode("utf-8")))
                    queue.put_nowait((stamp, msg.data))
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    queue.put_nowait((stamp, "binary frame"))  # fails to parse: a violation
        finally:
            queue.put_nowait((time.perf_counter(), CLOSED))
