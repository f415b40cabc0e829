"""The local gateway's per-connection send queue: a peer whose socket takes nothing is
closed with 1008 after the send timeout and dropped after the grace; frames already sent
go out before a close; senders are never held up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType

from adapters.local_gateway.connection import (
    SEND_TIMEOUT,
    SLOW_CLIENT_CODE,
    ClientConnection,
)
from adapters.local_gateway.events import SocketInfo

pytestmark = pytest.mark.anyio

INFO = SocketInfo("c-1", 0, "127.0.0.1", "test", "localhost:1", "local", "api")


class StuckSocket:
    """An aiohttp WebSocketResponse whose peer stopped reading: writes never finish."""

    def __init__(self, stuck: bool = True) -> None:
        self.stuck = stuck
        self.closed = False
        self.sent: list[bytes] = []
        self.close_codes: list[int] = []

    async def send_frame(self, payload: bytes, kind: WSMsgType) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(payload)

    async def close(self, *, code: int, message: bytes) -> None:
        self.close_codes.append(code)
        if self.stuck:
            await asyncio.Event().wait()
        self.closed = True


def connection(ws: Any, aborted: list[bool]) -> ClientConnection:
    return ClientConnection(
        ws,
        INFO,
        idle_timeout_s=600,
        max_connection_s=7200,
        send_timeout_s=0.05,
        abort=lambda: aborted.append(True),
        close_grace_s=0.05,
    )


async def _until(condition: Any) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_peer_that_takes_nothing_is_closed_with_1008_then_dropped() -> None:
    ws, aborted = StuckSocket(), []
    conn = connection(ws, aborted)
    await conn.send("one")  # returns at once: the writer is the one that waits
    await conn.send("two")
    await _until(lambda: aborted)
    assert (conn.close_code, conn.close_reason) == (SLOW_CLIENT_CODE, SEND_TIMEOUT)
    assert ws.close_codes == [1008]  # the close frame was tried first
    assert not conn.open
    with pytest.raises(ConnectionError):
        await conn.send("three")


async def test_frames_sent_before_a_close_go_out_first() -> None:
    ws, aborted = StuckSocket(stuck=False), []
    conn = connection(ws, aborted)
    for text in ("a", "b", "c"):
        await conn.send(text)
    await conn.close()
    assert ws.sent == [b"a", b"b", b"c"] and ws.close_codes == [1000]
    assert not aborted


class SlowSocket(StuckSocket):
    """A peer that reads, slowly: each frame takes most of the send timeout."""

    def __init__(self, per_frame_s: float) -> None:
        super().__init__(stuck=False)
        self.per_frame_s = per_frame_s

    async def send_frame(self, payload: bytes, kind: WSMsgType) -> None:
        await asyncio.sleep(self.per_frame_s)
        self.sent.append(payload)


async def test_a_slow_reader_is_kept_when_each_frame_goes_out_within_the_timeout() -> None:
    """The send timeout is per frame: a burst that takes longer than it in all, each of its
    frames written within it, is delivered whole and the connection stays open."""
    ws, aborted = SlowSocket(per_frame_s=0.03), []
    conn = connection(ws, aborted)  # send timeout 0.05 s
    frames = [f"frame {i}" for i in range(8)]  # about 0.24 s of writing
    for text in frames:
        await conn.send(text)
    await _until(lambda: len(ws.sent) == len(frames))
    await asyncio.sleep(0.1)  # past the timeout once more: nothing is being written
    assert ws.sent == [t.encode() for t in frames]
    assert conn.open and conn.close_code is None and not aborted
    await conn.send("later")  # the next frame arms the timeout again
    await _until(lambda: len(ws.sent) == len(frames) + 1)
    assert conn.open
