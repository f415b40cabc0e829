"""The limits counters' contract (``core.ports.LimitCounters``), for every registered adapter.

Time is the caller's ``now_ms`` for buckets, so most of this runs on a made-up clock far in
the future of the wall clock (nothing expires under it); expiry of totals uses the wall
clock, as the backends' TTLs do.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import anyio
import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.ports import LimitCounters

pytestmark = pytest.mark.anyio

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

NOW = 4_000_000_000_000  # epoch ms in 2096: a bucket written at it outlives the test
INTERVAL = 1_000


@pytest.fixture
async def counters(limits_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> LimitCounters:
    counters: LimitCounters = await exit_stack.enter_async_context(limits_adapter.open())
    assert isinstance(counters, LimitCounters)
    return counters


async def test_a_full_bucket_gives_its_capacity_then_says_how_long_to_wait(
    counters: LimitCounters,
) -> None:
    key = new_id()
    assert [await counters.take(key, 3, INTERVAL, NOW) for _ in range(3)] == [0, 0, 0]
    assert await counters.take(key, 3, INTERVAL, NOW) == INTERVAL
    assert await counters.take(key, 3, INTERVAL, NOW + 400) == INTERVAL - 400


async def test_a_refused_take_counts_nothing(counters: LimitCounters) -> None:
    key = new_id()
    assert await counters.take(key, 1, INTERVAL, NOW) == 0
    for _ in range(5):  # refusals do not push the next allowed take further away
        assert await counters.take(key, 1, INTERVAL, NOW + 10) == INTERVAL - 10
    assert await counters.take(key, 1, INTERVAL, NOW + INTERVAL) == 0


async def test_the_bucket_refills_one_take_per_interval(counters: LimitCounters) -> None:
    key = new_id()
    for _ in range(2):
        assert await counters.take(key, 2, INTERVAL, NOW) == 0
    assert await counters.take(key, 2, INTERVAL, NOW + INTERVAL) == 0  # one back
    assert await counters.take(key, 2, INTERVAL, NOW + INTERVAL) > 0
    later = NOW + 10 * INTERVAL  # long idle: full again, never more than capacity
    assert [await counters.take(key, 2, INTERVAL, later) for _ in range(3)][2] == INTERVAL


async def test_keys_are_independent(counters: LimitCounters) -> None:
    a, b, c, d = new_id(), new_id(), new_id(), new_id()
    assert await counters.take(a, 1, INTERVAL, NOW) == 0
    assert await counters.take(a, 1, INTERVAL, NOW) > 0
    assert await counters.take(b, 1, INTERVAL, NOW) == 0
    await counters.add(c, 5, int(time.time()) + 60)
    assert await counters.total(d, time.time_ns() // 1_000_000) == 0


async def test_concurrent_takes_never_exceed_the_capacity(counters: LimitCounters) -> None:
    key = new_id()
    results: list[int] = []

    async def take() -> None:
        results.append(await counters.take(key, 5, 60_000, NOW))

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(take)
    assert results.count(0) == 5 and len(results) == 20


async def test_totals_add_up_atomically(counters: LimitCounters) -> None:
    key = new_id()
    expire = int(time.time()) + 600
    assert await counters.total(key, time.time_ns() // 1_000_000) == 0

    async def add(amount: int) -> None:
        await counters.add(key, amount, expire)

    async with anyio.create_task_group() as tg:
        for amount in range(1, 21):
            tg.start_soon(add, amount)
    assert await counters.total(key, time.time_ns() // 1_000_000) == sum(range(1, 21))
    assert await counters.add(key, 1_000_000_000_000, expire) == 210 + 1_000_000_000_000


async def test_a_total_is_gone_after_its_expiry(counters: LimitCounters) -> None:
    key = new_id()
    expire = int(time.time()) + 2
    assert await counters.add(key, 7, expire) == 7
    assert await counters.total(key, time.time_ns() // 1_000_000) == 7
    await anyio.sleep(expire - time.time() + 0.2)
    assert await counters.total(key, time.time_ns() // 1_000_000) == 0
    # A new window starts from nothing, whether or not the backend has removed the old one.
    assert await counters.add(key, 3, int(time.time()) + 60) == 3
