"""Coalescing a reply's text deltas into few frames.

A model emits a token every ~20 ms; API Gateway bills every frame (in 32 KB units), so one
frame per token is the costliest way to stream. The first delta of a reply goes out at once
(time to first text matters most); then it sends what gathered as one frame per ``window_ms``,
split so that no frame passes ``max_frame_bytes``. Windows are counted from the start of each
flush, so time spent sending does not stretch them (a 300-token reply at 50 tokens/s with the
default 250 ms window is 1 + 24 frames, not 300).
"""

from __future__ import annotations

import math
from types import TracebackType

import anyio
import anyio.abc

from core.protocol import delta_frame, encoded_size
from core.services.fanout import Fanout


class DeltaStream:
    def __init__(
        self,
        fanout: Fanout,
        session_id: str,
        reply_id: str,
        message_type: str,
        window_ms: int,
        max_frame_bytes: int,
    ) -> None:
        self._fanout = fanout
        self._session_id = session_id
        self._reply_id = reply_id
        self._message_type = message_type
        self._window = window_ms / 1000
        self._max_frame_bytes = max_frame_bytes
        self._buffer: list[str] = []
        self._seq = 0
        self._wake = anyio.Event()
        self._closing = False
        self._sleep_scope: anyio.CancelScope | None = None
        self._tg: anyio.abc.TaskGroup | None = None

    @property
    def frames_sent(self) -> int:
        return self._seq

    def push(self, text: str) -> None:
        if text:
            self._buffer.append(text)
            self._wake.set()

    async def __aenter__(self) -> DeltaStream:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._closing = True
        self._wake.set()
        if self._sleep_scope is not None:
            self._sleep_scope.cancel()
        assert self._tg is not None
        return await self._tg.__aexit__(exc_type, exc, tb)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            started = anyio.current_time()
            await self._flush()
            if self._closing:
                await self._flush()
                return
            with anyio.CancelScope() as scope:
                self._sleep_scope = scope
                await anyio.sleep(max(0.0, started + self._window - anyio.current_time()))
            self._sleep_scope = None
            if self._buffer:
                self._wake.set()

    async def _flush(self) -> None:
        if not self._buffer:
            return
        text = "".join(self._buffer)
        self._buffer.clear()
        for chunk in self._split(text):
            frame = delta_frame(
                self._session_id, self._reply_id, self._seq, self._message_type, chunk
            )
            self._seq += 1
            await self._fanout.send(frame)

    def _split(self, text: str) -> list[str]:
        """Chunks whose frames fit ``max_frame_bytes`` (JSON escaping included)."""
        envelope = encoded_size(
            delta_frame(self._session_id, self._reply_id, 10**9, self._message_type, "")
        )
        budget = self._max_frame_bytes - envelope
        chunks: list[str] = []
        rest = text
        while rest:
            size = encoded_size({"t": rest}) - 8  # the text's own encoded size
            if size <= budget:
                chunks.append(rest)
                break
            take = max(1, math.floor(len(rest) * budget / size))
            while take > 1 and encoded_size({"t": rest[:take]}) - 8 > budget:
                take = take * 9 // 10
            chunks.append(rest[:take])
            rest = rest[take:]
        return chunks
