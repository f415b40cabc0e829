"""Coalescing a reply's text deltas into few frames: the anyio driver of ``Coalescer``.

The policy (first delta at once, then one flush per window counted from each flush's start,
chunks that fit the frame budget) lives in ``core.services.coalescer`` and is tested on a
fake clock; this loop only sleeps until its deadlines and sends what it hands out.
"""

from __future__ import annotations

import asyncio
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


class Alarm:
    """Sleeps until a deadline or until ``ring()``, whichever comes first, and raises
    nothing either way. A ring while nobody sleeps is kept for the next sleep.

    The driver sleeps once per frame, and most sleeps end at their deadline: on asyncio
    that is one future and one timer, where ``anyio.move_on_at`` around an ``Event``
    would cancel the task at every deadline (a ``CancelledError`` raised through the
    driver and caught by its scope). Elsewhere it falls back to exactly that."""

    def __init__(self) -> None:
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._rung = False
        self._waiter: asyncio.Future[None] | None = None
        self._event: anyio.Event | None = None

    def ring(self) -> None:
        self._rung = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._event is not None:
            self._event.set()

    async def sleep_until(self, deadline: float) -> None:
        """``deadline`` on the loop's clock (``math.inf``: until rung)."""
        if self._rung:
            self._rung = False
            return
        loop = self._loop
        if loop is None:
            self._event = anyio.Event()
            with anyio.move_on_at(deadline):
                await self._event.wait()
            self._event = None
        else:
            waiter = self._waiter = loop.create_future()
            timer = None if deadline == math.inf else loop.call_at(deadline, _resolve, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        self._rung = False


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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
        self._alarm = Alarm()
        self._idle = False  # the driver waits for a push (no window is closed)
        self._closing = False
        self._driving = False  # the driver starts with the first text: most replies stream
        # no REASONING, and a stream that is never pushed to costs no task
        self._tg: anyio.abc.TaskGroup | None = None

    @property
    def frames_sent(self) -> int:
        return self._seq

    def push(self, text: str) -> None:
        coalescer = self._coalescer
        coalescer.push(text, self._now())
        if not self._driving:
            if coalescer.next_deadline is not None and self._tg is not None:
                self._driving = True
                self._tg.start_soon(self._run)  # the first delta is due at once
        elif self._idle and coalescer.next_deadline is not None:
            self._idle = False
            self._alarm.ring()  # a first delta after a quiet spell is due at once

    async def __aenter__(self) -> DeltaStream:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        if self._coalescer.next_deadline is not None:  # pushed to before it was entered
            self._driving = True
            self._tg.start_soon(self._run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._closing = True
        self._alarm.ring()
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
            await self._alarm.sleep_until(until)  # or the close
            self._idle = False
        await self._send(self._coalescer.flush())

    async def _send(self, chunks: list[str]) -> None:
        for chunk in chunks:
            frame = delta_frame(
                self._session_id, self._reply_id, self._seq, self._message_type, chunk
            )
            self._seq += 1
            await self._fanout.send(frame)
