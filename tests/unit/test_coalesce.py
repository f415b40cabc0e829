"""Delta coalescing: few frames, first text at once, nothing lost, nothing over 32 KB."""

from __future__ import annotations

import json

import anyio
import pytest

from adapters.inprocess import ConnectionHub, InProcessChatStore, InProcessTransport
from adapters.inprocess.transport import Outbox
from core.services.coalesce import DeltaStream
from core.services.fanout import Fanout

pytestmark = pytest.mark.anyio


def _stream(window_ms: int, max_bytes: int = 32 * 1024) -> tuple[DeltaStream, Outbox]:
    hub = ConnectionHub()
    outbox = Outbox()
    hub.attach("c1", outbox)
    fanout = Fanout(InProcessTransport(hub), InProcessChatStore(), ["c1"])
    return DeltaStream(fanout, "s1", "r1", "CONVERSATION", window_ms, max_bytes), outbox


def _texts(outbox: Outbox) -> list[str]:
    return [json.loads(f)["text"] for f in outbox.frames]


async def test_first_delta_goes_out_before_the_window_passes() -> None:
    stream, outbox = _stream(window_ms=10_000)
    async with stream:
        stream.push("Hel")
        with anyio.fail_after(1):
            while not outbox.frames:
                await anyio.sleep(0.001)
        assert _texts(outbox) == ["Hel"]


async def test_tokens_within_a_window_share_one_frame() -> None:
    stream, outbox = _stream(window_ms=100)
    async with stream:
        for _ in range(300):  # 300 tokens at ~1000 tokens/s: about 3 windows
            stream.push("tok ")
            await anyio.sleep(0.001)
    assert "".join(_texts(outbox)) == "tok " * 300
    assert len(outbox.frames) <= 30  # a tenth of one frame per token, with margin
    assert [json.loads(f)["seq"] for f in outbox.frames] == list(range(len(outbox.frames)))


async def test_no_frame_passes_the_billing_unit_even_with_escapes_and_multibyte() -> None:
    stream, outbox = _stream(window_ms=50)
    text = ('"\\\n' + "日本語の城" + "\x01") * 6000  # expands under JSON escaping
    async with stream:
        stream.push(text)
    assert all(len(f.encode("utf-8")) <= 32 * 1024 for f in outbox.frames)
    assert len(outbox.frames) > 1
    assert "".join(_texts(outbox)) == text


async def test_closing_flushes_what_is_left_at_once() -> None:
    stream, outbox = _stream(window_ms=10_000)
    with anyio.fail_after(1):  # must not wait for the window
        async with stream:
            stream.push("a")
            await anyio.sleep(0.01)
            stream.push("b")
            stream.push("c")
    assert _texts(outbox) == ["a", "bc"]
