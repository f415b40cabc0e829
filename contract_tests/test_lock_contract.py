"""The lock port's contract (``core.ports.SessionLock``), for every registered adapter.

Expiry is tested with real short waits: a real backend's clock cannot be mocked.
"""

from __future__ import annotations

import itertools
import time
from contextlib import AsyncExitStack

import anyio
import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.ports import LeaseState, SessionLock

pytestmark = pytest.mark.anyio

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

LONG_MS = 30_000  # never expires during a test
SHORT_MS = 200


@pytest.fixture
async def lock(lock_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> SessionLock:
    lock: SessionLock = await exit_stack.enter_async_context(lock_adapter.open())
    # A first call may open connections; make it here, so that the short leases below
    # measure the lease and not a client's handshake.
    await lock.request_stop(new_id())
    return lock


async def test_acquire_gives_a_token_and_excludes_others(lock: SessionLock) -> None:
    session_id = new_id()
    token = await lock.acquire(session_id, LONG_MS)
    assert isinstance(token, str) and token
    assert await lock.acquire(session_id, LONG_MS) is None
    assert await lock.acquire(new_id(), LONG_MS) is not None  # other sessions are free


async def test_only_the_owner_releases(lock: SessionLock) -> None:
    session_id = new_id()
    token = await lock.acquire(session_id, LONG_MS)
    assert token is not None

    assert await lock.release(session_id, "not-the-token") is False
    assert await lock.acquire(session_id, LONG_MS) is None  # still held
    assert await lock.release(session_id, token) is True
    again = await lock.acquire(session_id, LONG_MS)
    assert again is not None and again != token
    assert await lock.release(session_id, token) is False  # an old token is nobody's


async def test_only_the_owner_extends(lock: SessionLock) -> None:
    session_id = new_id()
    token = await lock.acquire(session_id, LONG_MS)
    assert token is not None
    assert await lock.extend(session_id, token, LONG_MS) == LeaseState.HELD
    assert await lock.extend(session_id, "not-the-token", LONG_MS) == LeaseState.LOST
    assert await lock.extend(new_id(), token, LONG_MS) == LeaseState.LOST
    assert await lock.acquire(session_id, LONG_MS) is None


async def test_lease_expires_and_the_old_holder_learns_it(lock: SessionLock) -> None:
    session_id = new_id()
    old = await lock.acquire(session_id, SHORT_MS)
    assert old is not None
    await anyio.sleep(2 * SHORT_MS / 1000)

    new = await lock.acquire(session_id, LONG_MS)
    assert new is not None and new != old
    assert await lock.extend(session_id, old, LONG_MS) == LeaseState.LOST
    assert await lock.release(session_id, old) is False
    assert await lock.extend(session_id, new, LONG_MS) == LeaseState.HELD  # untouched
    assert await lock.acquire(session_id, LONG_MS) is None


async def test_expired_lease_the_holder_never_took_back(lock: SessionLock) -> None:
    session_id = new_id()
    old = await lock.acquire(session_id, SHORT_MS)
    assert old is not None
    await anyio.sleep(2 * SHORT_MS / 1000)
    # Nobody took it, but the lease is gone: the holder must still stop.
    assert await lock.extend(session_id, old, LONG_MS) == LeaseState.LOST


async def test_extend_pushes_expiry_back(lock: SessionLock) -> None:
    # Acquired for 200 ms, extended at once to 30 s, then waited on until well past the
    # first lease's end (twice its length): still held. No margin to hit on a busy machine.
    session_id = new_id()
    token = await lock.acquire(session_id, SHORT_MS)
    assert token is not None
    assert await lock.extend(session_id, token, LONG_MS) == LeaseState.HELD
    await anyio.sleep(2 * SHORT_MS / 1000)
    assert await lock.acquire(session_id, LONG_MS) is None
    assert await lock.extend(session_id, token, LONG_MS) == LeaseState.HELD


async def test_stop_request_reaches_the_holder(lock: SessionLock) -> None:
    session_id = new_id()
    token = await lock.acquire(session_id, LONG_MS)
    assert token is not None

    assert await lock.request_stop(session_id) is True
    assert await lock.extend(session_id, token, LONG_MS) == LeaseState.STOP_REQUESTED
    assert await lock.acquire(session_id, LONG_MS) is None  # still held until released
    assert await lock.extend(session_id, "not-the-token", LONG_MS) == LeaseState.LOST
    assert await lock.release(session_id, token) is True


async def test_stop_request_without_a_holder(lock: SessionLock) -> None:
    session_id = new_id()
    assert await lock.request_stop(session_id) is False
    token = await lock.acquire(session_id, LONG_MS)
    assert token is not None
    assert await lock.extend(session_id, token, LONG_MS) == LeaseState.HELD


async def test_acquire_clears_an_old_stop_flag(lock: SessionLock) -> None:
    session_id = new_id()
    first = await lock.acquire(session_id, LONG_MS)
    assert first is not None
    assert await lock.request_stop(session_id) is True
    assert await lock.release(session_id, first) is True
    assert await lock.request_stop(session_id) is False  # released: nothing to stop

    second = await lock.acquire(session_id, LONG_MS)
    assert second is not None
    assert await lock.extend(session_id, second, LONG_MS) == LeaseState.HELD


async def test_acquire_after_expiry_clears_the_stop_flag(lock: SessionLock) -> None:
    session_id = new_id()
    assert await lock.acquire(session_id, SHORT_MS) is not None
    assert await lock.request_stop(session_id) is True
    await anyio.sleep(2 * SHORT_MS / 1000)

    token = await lock.acquire(session_id, LONG_MS)
    assert token is not None
    assert await lock.extend(session_id, token, LONG_MS) == LeaseState.HELD


async def test_contenders_never_overlap(lock: SessionLock) -> None:
    session_id = new_id()
    contenders, holds_each = 20, 3
    intervals: list[tuple[float, float, str]] = []

    async def contend(name: str) -> None:
        held = 0
        while held < holds_each:
            token = await lock.acquire(session_id, LONG_MS)
            if token is None:
                await anyio.sleep(0.005)
                continue
            start = time.monotonic()
            await anyio.sleep(0.002)  # the critical section
            intervals.append((start, time.monotonic(), name))
            assert await lock.release(session_id, token) is True
            held += 1

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for i in range(contenders):
                tg.start_soon(contend, f"contender-{i}")

    assert len(intervals) == contenders * holds_each
    intervals.sort()
    for (_, end, first), (start, _, second) in itertools.pairwise(intervals):
        assert end <= start, f"{first} and {second} held the lock at the same time"
