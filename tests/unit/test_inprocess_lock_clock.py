"""The in-process lock on a fake monotonic clock: a lease lasts exactly what was asked,
to the millisecond, when taken and when extended (the contract suite, on real time,
cannot see a lease a fraction short)."""

from __future__ import annotations

import pytest

from adapters.inprocess import InProcessSessionLock
from core.ports import LeaseState

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> float:
        return self.ms / 1000


async def test_a_lease_lasts_exactly_what_was_asked_when_taken_and_when_extended() -> None:
    clock = Clock()
    lock = InProcessSessionLock(monotonic=clock)
    token = await lock.acquire("s1", 10_000)
    assert token is not None
    clock.ms += 9_999
    assert await lock.is_held("s1")
    clock.ms += 1
    assert not await lock.is_held("s1")  # expired at 10 s to the millisecond
    token = await lock.acquire("s1", 10_000)
    assert token is not None
    assert await lock.extend("s1", token, 20_000) == LeaseState.HELD
    clock.ms += 19_999
    assert await lock.is_held("s1")
    clock.ms += 1
    assert not await lock.is_held("s1")
