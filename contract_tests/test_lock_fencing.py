"""The lock port's fences (``core.ports.SessionLock.acquire``), for every registered adapter:
each acquisition's fence is above every earlier one's, across releases and takeovers."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import anyio
import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import Lease
from core.ports import LeaseState, SessionLock

pytestmark = pytest.mark.anyio

KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

LONG_MS = 30_000
SHORT_MS = 200


@pytest.fixture
async def lock(lock_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> SessionLock:
    lock: SessionLock = await exit_stack.enter_async_context(lock_adapter.open())
    await lock.request_stop(new_id())  # connect before the short leases below
    return lock


async def test_a_lease_carries_a_fence_at_least_the_wall_clock(lock: SessionLock) -> None:
    before = time.time_ns() // 1_000_000 - 60_000  # slack for another process's clock
    lease = await lock.acquire(new_id(), LONG_MS)
    assert isinstance(lease, Lease) and isinstance(lease, str)
    assert lease.fence >= before


async def test_fences_grow_across_releases_in_the_same_millisecond(lock: SessionLock) -> None:
    session_id = new_id()
    fences = []
    for _ in range(5):
        lease = await lock.acquire(session_id, LONG_MS)
        assert lease is not None
        fences.append(lease.fence)
        assert await lock.release(session_id, lease) is True
    assert fences == sorted(set(fences))  # strictly increasing


async def test_a_takeover_after_expiry_gets_a_newer_fence(lock: SessionLock) -> None:
    session_id = new_id()
    paused = await lock.acquire(session_id, SHORT_MS)
    assert paused is not None
    await anyio.sleep(SHORT_MS / 1000 * 2)  # holder A is paused past its lease
    taker = await lock.acquire(session_id, LONG_MS)
    assert taker is not None and taker.fence > paused.fence
    assert await lock.extend(session_id, paused, LONG_MS) is LeaseState.LOST


async def test_is_held_follows_the_lease(lock: SessionLock) -> None:
    session_id = new_id()
    assert await lock.is_held(session_id) is False
    lease = await lock.acquire(session_id, SHORT_MS)
    assert lease is not None
    assert await lock.is_held(session_id) is True
    await anyio.sleep(SHORT_MS / 1000 * 2)
    assert await lock.is_held(session_id) is False  # expired: a recovery may start
    again = await lock.acquire(session_id, LONG_MS)
    assert again is not None
    await lock.release(session_id, again)
    assert await lock.is_held(session_id) is False
