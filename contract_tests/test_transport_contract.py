"""The transport port's contract (``core.ports.Transport``), for every registered adapter.

Each adapter's provider attaches clients to its backend (``TransportRig.connect``) and
reads back what they received.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import TransportRig, new_id
from core.errors import ConnectionGone, PayloadTooLarge

pytestmark = pytest.mark.anyio

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}


@pytest.fixture
async def rig(transport_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> TransportRig:
    return await exit_stack.enter_async_context(transport_adapter.open())


def text_of_bytes(size: int) -> str:
    """Exactly ``size`` UTF-8 bytes, mostly multi-byte characters."""
    unit = "あé😀x"  # 3 + 2 + 4 + 1 bytes
    text = unit * (size // len(unit.encode()))
    text += "x" * (size - len(text.encode()))
    assert len(text.encode()) == size
    return text


async def test_send_delivers_the_exact_text(rig: TransportRig) -> None:
    peer = await rig.connect()
    frames = ['{"type":"delta","text":"héllo 世界 👋"}', "second\nframe"]
    for frame in frames:
        await rig.transport.send(peer.connection_id, frame)
    assert await peer.received() == frames


async def test_frames_go_only_to_their_connection(rig: TransportRig) -> None:
    one, two = await rig.connect(), await rig.connect()
    await rig.transport.send(one.connection_id, "for one")
    await rig.transport.send(two.connection_id, "for two")
    assert await one.received() == ["for one"]
    assert await two.received() == ["for two"]


async def test_unknown_connection_is_gone(rig: TransportRig) -> None:
    with pytest.raises(ConnectionGone):
        await rig.transport.send(new_id(), "anyone there?")


async def test_client_that_left_is_gone(rig: TransportRig) -> None:
    peer = await rig.connect()
    await peer.hang_up()
    with pytest.raises(ConnectionGone):
        await rig.transport.send(peer.connection_id, "too late")
    with pytest.raises(ConnectionGone):
        await rig.transport.send(peer.connection_id, "still too late")


async def test_closed_connection_is_gone(rig: TransportRig) -> None:
    peer = await rig.connect()
    await rig.transport.send(peer.connection_id, "bye")
    await rig.transport.close(peer.connection_id)

    assert await peer.was_closed()
    with pytest.raises(ConnectionGone):
        await rig.transport.send(peer.connection_id, "after close")
    assert await peer.received() == ["bye"]


async def test_oversize_frame_is_refused_before_sending(rig: TransportRig) -> None:
    peer = await rig.connect()
    limit = rig.transport.max_payload_bytes
    over = text_of_bytes(limit) + "é"
    # Fewer characters than the limit, more bytes: the limit is on UTF-8 bytes.
    wide = "😀" * (limit // 4 + 1)
    assert len(wide) < limit < len(wide.encode())

    for frame in (over, wide):
        with pytest.raises(PayloadTooLarge):
            await rig.transport.send(peer.connection_id, frame)
    await rig.transport.send(peer.connection_id, "after")  # the connection still works
    assert await peer.received() == ["after"]


async def test_frame_of_exactly_the_limit_is_delivered(rig: TransportRig) -> None:
    peer = await rig.connect()
    frame = text_of_bytes(rig.transport.max_payload_bytes)
    await rig.transport.send(peer.connection_id, frame)
    assert await peer.received() == [frame]
