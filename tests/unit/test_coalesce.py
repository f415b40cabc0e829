"""DeltaStream, the anyio driver of the Coalescer: what it sends and in which order.

Timing is the Coalescer's and is tested on a fake clock (test_coalescer.py); here the window
is an hour, so anything that waited for it would never finish.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from core.services.coalesce import DeltaStream

pytestmark = pytest.mark.anyio

HOUR_MS = 3_600_000


class Sink:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)


async def test_first_delta_at_once_the_rest_held_then_flushed_on_close_in_order() -> None:
    sink = Sink()
    async with DeltaStream(sink, "s1", "r1", "CONVERSATION", HOUR_MS, 32 * 1024) as stream:
        stream.push("Hel")
        await anyio.wait_all_tasks_blocked()
        assert [f["text"] for f in sink.frames] == ["Hel"]
        stream.push("lo, ")
        stream.push("")
        stream.push("world")
        await anyio.wait_all_tasks_blocked()
        assert [f["text"] for f in sink.frames] == ["Hel"]  # inside the window: held back
    assert [(f["seq"], f["text"]) for f in sink.frames] == [(0, "Hel"), (1, "lo, world")]
    assert {(f["type"], f["sessionId"], f["replyId"]) for f in sink.frames} == {
        ("delta", "s1", "r1")
    }
    assert stream.frames_sent == 2


async def test_every_frame_of_a_long_mixed_flush_fits_the_frame_budget() -> None:
    from core.protocol import encode

    sink = Sink()
    text = ('Say "hi" 日本語の城 🏯\n' * 60) + "end"
    async with DeltaStream(sink, "s1", "r1", "CONVERSATION", HOUR_MS, 400) as stream:
        stream.push(text[:5])
        await anyio.wait_all_tasks_blocked()
        stream.push(text[5:])
    sizes = [len(encode(f).encode()) for f in sink.frames]
    assert "".join(f["text"] for f in sink.frames) == text
    assert max(sizes) <= 400 and len(sizes) > 5
    assert [f["seq"] for f in sink.frames] == list(range(len(sizes)))
