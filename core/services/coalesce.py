"""Coalescing a reply's text deltas into few frames: the anyio driver of ``Coalescer``.

The policy (first delta at once, then one flush per window counted from each flush's start,
chunks that fit the frame budget) lives in ``core.services.coalescer`` and is tested on a
fake clock; this loop only sleeps until its deadlines and sends what it hands out.
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Protocol

import anyio
import anyio.abc

from core.clock import loop_clock
from core.protocol import Frame, delta_frame, encoded_size
from core.services.coalescer import Coalescer

# The envelope is sized with the widest seq a reply could reach, so that a late frame whose
# seq has more digits still fits the budget.
_WIDEST_SEQ = 10**9


class FrameSink(Protocol):
    """Where delta frames go (``core.services.fanout.Fanout`` in the reply service)."""

    async def send(self, frame: Frame) -> None: ...


class DeltaStream:
    """Sends one reply's text deltas as ``delta`` frames, numbered from 0 (``seq``), while
    the reply streams; closing it sends what is left at once."""

    def __init__(
        self,
        fanout: FrameSink,
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
        envelope = encoded_size(delta_frame(session_id, reply_id, _WIDEST_SEQ, message_type, ""))
        self._coalescer = Coalescer(window_ms / 1000, max_frame_bytes - envelope)
        self._seq = 0
        self._now = loop_clock()
        self._wake = anyio.Event()
        self._idle = False  # the driver waits for a first push (no window is closed)
        self._closing = False
        self._tg: anyio.abc.TaskGroup | None = None

    @property
    def frames_sent(self) -> int:
        return self._seq

    def push(self, text: str) -> None:
        self._coalescer.push(text, self._now())
        if self._idle and self._coalescer.next_deadline is not None:
            self._idle = False
            self._wake.set()  # a first delta after a quiet spell is due at once

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
        assert self._tg is not None
        return await self._tg.__aexit__(exc_type, exc, tb)

    async def _run(self) -> None:
        """One wake-up per frame: after a flush the driver sleeps until the next window
        opens (text pushed meanwhile is not due before then, so pushes do not wake it);
        only when the window is open with nothing buffered does it wait for a push."""
        while not self._closing:
            deadline = self._coalescer.next_deadline
            now = self._now()
            if deadline is not None and deadline <= now:
                await self._send(self._coalescer.due(now))
                continue
            until = deadline if deadline is not None else self._coalescer.window_opens
            if until is None or until <= now:
                until, self._idle = math.inf, True
            with anyio.move_on_at(until):  # or the close
                await self._wake.wait()
            self._idle = False
            if self._wake.is_set():
                self._wake = anyio.Event()
        await self._send(self._coalescer.flush())

    async def _send(self, chunks: list[str]) -> None:
        for chunk in chunks:
            frame = delta_frame(
                self._session_id, self._reply_id, self._seq, self._message_type, chunk
            )
            self._seq += 1
            await self._fanout.send(frame)
