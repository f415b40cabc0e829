"""The Redis session lock on a real Redis: exclusion, owner checks, expiry, stop flags."""

from __future__ import annotations

import itertools
import time
import uuid

import anyio
import anyio.lowlevel
import pytest
import redis.asyncio as aioredis

from adapters.redis.client import RedisOptions, connect
from adapters.redis.lock import RedisSessionLock
from core.errors import BackendUnavailable
from core.ports import LeaseState
from testsupport.redis_server import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def lock(client: aioredis.Redis, options: RedisOptions) -> RedisSessionLock:
    return RedisSessionLock(client, options.keys, deadline_s=options.deadline_s)


def new_sid() -> str:
    return str(uuid.uuid4())


async def test_acquire_is_exclusive_and_sets_the_seed_key(
    lock: RedisSessionLock, client: aioredis.Redis, options: RedisOptions
) -> None:
    sid = new_sid()
    token = await lock.acquire(sid, 30_000)
    assert token is not None
    assert await lock.acquire(sid, 30_000) is None
    assert await client.get(options.keys.lock(sid)) == token
    assert 29_000 < await client.pttl(options.keys.lock(sid)) <= 30_000
    assert await lock.acquire(new_sid(), 30_000) is not None  # other sessions are free


async def test_release_and_extend_by_a_non_owner_fail(
    lock: RedisSessionLock, client: aioredis.Redis, options: RedisOptions
) -> None:
    sid = new_sid()
    token = await lock.acquire(sid, 30_000)
    assert token is not None
    assert await lock.release(sid, "not-the-token") is False
    assert await lock.extend(sid, "not-the-token", 30_000) is LeaseState.LOST
    assert await client.get(options.keys.lock(sid)) == token
    assert await lock.release(sid, token) is True
    assert await client.exists(options.keys.lock(sid)) == 0
    assert await lock.release(sid, token) is False  # twice is not twice the effect
    assert await lock.extend(sid, token, 30_000) is LeaseState.LOST


async def test_a_lease_not_extended_expires(lock: RedisSessionLock) -> None:
    sid = new_sid()
    old = await lock.acquire(sid, 200)
    assert old is not None
    await anyio.sleep(0.3)
    new = await lock.acquire(sid, 200)
    assert new is not None and new != old
    # The first holder learns it lost the lock, and cannot free the new holder's lease.
    assert await lock.extend(sid, old, 200) is LeaseState.LOST
    assert await lock.release(sid, old) is False
    assert await lock.release(sid, new) is True


async def test_extension_keeps_the_lease_past_its_first_term(lock: RedisSessionLock) -> None:
    sid = new_sid()
    token = await lock.acquire(sid, 200)
    assert token is not None
    for _ in range(6):  # 0.6 s in all, three times the first lease
        await anyio.sleep(0.1)
        assert await lock.extend(sid, token, 200) is LeaseState.HELD
    assert await lock.acquire(sid, 200) is None
    assert await lock.release(sid, token) is True


async def test_request_stop_reaches_the_holder_and_a_new_holder_starts_clean(
    lock: RedisSessionLock, client: aioredis.Redis, options: RedisOptions
) -> None:
    sid = new_sid()
    assert await lock.request_stop(sid) is False  # nobody to stop
    assert await client.exists(options.keys.stop(sid)) == 0
    token = await lock.acquire(sid, 5_000)
    assert token is not None
    assert await lock.request_stop(sid) is True
    assert 0 < await client.pttl(options.keys.stop(sid)) <= 5_000  # dies with the lease
    assert await lock.extend(sid, token, 5_000) is LeaseState.STOP_REQUESTED
    assert await lock.extend(sid, token, 5_000) is LeaseState.STOP_REQUESTED
    assert await lock.release(sid, token) is True
    assert await client.exists(options.keys.stop(sid)) == 0
    again = await lock.acquire(sid, 5_000)
    assert again is not None
    assert await lock.extend(sid, again, 5_000) is LeaseState.HELD


async def test_acquire_clears_a_stop_flag_left_behind(
    lock: RedisSessionLock, client: aioredis.Redis, options: RedisOptions
) -> None:
    sid = new_sid()
    token = await lock.acquire(sid, 200)
    assert token is not None and await lock.request_stop(sid)
    await client.pexpire(options.keys.stop(sid), 10_000)  # a flag outliving its lease
    await anyio.sleep(0.3)
    fresh = await lock.acquire(sid, 5_000)
    assert fresh is not None
    assert await lock.extend(sid, fresh, 5_000) is LeaseState.HELD


async def test_fifty_contenders_never_hold_the_lock_at_once(lock: RedisSessionLock) -> None:
    sid = new_sid()
    intervals: list[tuple[float, float, int]] = []

    async def contend(who: int) -> None:
        while True:
            token = await lock.acquire(sid, 5_000)
            if token is None:
                await anyio.sleep(0.001)
                continue
            start = time.monotonic()
            await anyio.lowlevel.checkpoint()  # let the others try while we hold it
            end = time.monotonic()
            intervals.append((start, end, who))
            assert await lock.release(sid, token)
            return

    with anyio.fail_after(60):
        for _ in range(20):
            async with anyio.create_task_group() as tg:
                for who in range(50):
                    tg.start_soon(contend, who)
    assert len(intervals) == 20 * 50
    intervals.sort()
    overlaps = [(a, b) for a, b in itertools.pairwise(intervals) if b[0] < a[1]]
    assert overlaps == []


async def test_a_lease_taken_while_redis_was_slow_is_not_left_to_block(
    own_server: RedisServer,
) -> None:
    options = RedisOptions.from_env(
        {"AZUCHI_REDIS_URL": own_server.url, "AZUCHI_REDIS_TIMEOUT_MS": "200"}
    )
    client = connect(options)
    lock = RedisSessionLock(client, options.keys, deadline_s=options.deadline_s)
    sid = new_sid()
    warm = await lock.acquire("warm-up", 1_000)  # connected, and the script is loaded
    assert warm is not None and await lock.release("warm-up", warm)
    own_server.pause()
    with pytest.raises(BackendUnavailable):
        await lock.acquire(sid, 30_000)  # sent, unanswered; the caller never gets the token
    own_server.resume()
    with anyio.fail_after(2):
        while not await client.exists(options.keys.lock(sid)):  # the queued SET NX lands
            await anyio.sleep(0.01)
    # A 30 s lease that nobody holds: without ghost takeover this would be None until then.
    token = await lock.acquire(sid, 30_000)
    assert token is not None
    assert await lock.acquire(sid, 30_000) is None  # and exclusion holds again
    assert await lock.release(sid, token) is True
    await client.aclose()
