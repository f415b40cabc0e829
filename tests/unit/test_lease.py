"""Keeping the session lock while a reply streams (core/services/lease.py), on a fake clock:
the heartbeat's cadence, riding out a lock backend that is briefly down, and giving up once
the lease may have passed to another replier (80 % of it without a successful extend)."""

from __future__ import annotations

import types

import anyio
import anyio.lowlevel
import pytest

from core.config import ChatConfig
from core.domain import Lease, Session
from core.errors import BackendUnavailable
from core.ports import LeaseState
from core.services import lease as lease_module
from core.services.lease import LeaseKeeper, acquire_retrying

pytestmark = pytest.mark.anyio

LEASE_MS = 1_000
HEARTBEAT_MS = 100


class FakeClock:
    """``time.monotonic`` and ``anyio.sleep`` for lease.py: a sleep moves the clock at once."""

    def __init__(self) -> None:
        self.now_ms = 0  # whole milliseconds: the 80 % boundary is compared exactly
        self.sleeps: list[float] = []

    @property
    def now(self) -> float:
        return self.now_ms / 1000

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_ms += round(seconds * 1000)
        await anyio.lowlevel.checkpoint()
        if len(self.sleeps) > 10_000:
            raise AssertionError("the heartbeat loops without waiting")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(lease_module, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(lease_module, "anyio", types.SimpleNamespace(sleep=fake.sleep))
    return fake


class ScriptedLock:
    """A lock whose ``extend`` answers from a script of results (an exception is raised);
    past the script it answers ``after``."""

    def __init__(self, clock: FakeClock, script: list[object], after: object) -> None:
        self._clock = clock
        self._script = list(script)
        self._after = after
        self.extends: list[tuple[float, int]] = []  # (when, lease_ms asked)

    async def extend(self, session_id: str, token: str, lease_ms: int) -> LeaseState:
        self.extends.append((round(self._clock.now, 6), lease_ms))
        result = self._script.pop(0) if self._script else self._after
        if isinstance(result, BaseException):
            raise result
        assert isinstance(result, LeaseState)
        return result


async def keep(lock: ScriptedLock) -> tuple[LeaseKeeper, anyio.CancelScope]:
    with anyio.CancelScope() as scope:
        keeper = LeaseKeeper(lock, "s1", Lease("tok", 1), LEASE_MS, HEARTBEAT_MS, scope)  # type: ignore[arg-type]
        await keeper.run()
    return keeper, scope


DOWN = BackendUnavailable("lock backend down")


async def test_the_lease_is_extended_once_per_heartbeat_for_the_full_lease(
    clock: FakeClock,
) -> None:
    lock = ScriptedLock(clock, [LeaseState.HELD] * 4, after=LeaseState.STOP_REQUESTED)
    keeper, scope = await keep(lock)
    assert clock.sleeps == [HEARTBEAT_MS / 1000] * 5  # never a busy loop against the backend
    assert lock.extends == [(0.1, LEASE_MS), (0.2, LEASE_MS), (0.3, LEASE_MS), (0.4, LEASE_MS),
                            (0.5, LEASE_MS)]  # fmt: skip
    assert keeper.state is LeaseState.STOP_REQUESTED and scope.cancel_called


async def test_a_lost_lease_cancels_the_reply_at_once(clock: FakeClock) -> None:
    lock = ScriptedLock(clock, [LeaseState.HELD], after=LeaseState.LOST)
    keeper, scope = await keep(lock)
    assert keeper.state is LeaseState.LOST and scope.cancel_called
    assert len(lock.extends) == 2


async def test_a_backend_down_briefly_does_not_stop_the_reply(clock: FakeClock) -> None:
    # Down for 700 ms (under 80 % of the lease), back, down 700 ms again, then a stop: the
    # reply went on throughout, as the lease it held was surely still its own.
    script: list[object] = [DOWN] * 7 + [LeaseState.HELD] + [DOWN] * 7 + [LeaseState.HELD]
    lock = ScriptedLock(clock, script, after=LeaseState.STOP_REQUESTED)
    keeper, _scope = await keep(lock)
    assert keeper.state is LeaseState.STOP_REQUESTED
    assert len(lock.extends) == 17


async def test_a_backend_down_for_80_percent_of_the_lease_counts_as_lost(
    clock: FakeClock,
) -> None:
    lock = ScriptedLock(clock, [LeaseState.HELD], after=DOWN)
    keeper, scope = await keep(lock)
    assert keeper.state is LeaseState.LOST and scope.cancel_called
    # Last success at 100 ms; 80 % of the 1 s lease later (900 ms) it gives up, not before.
    assert lock.extends[-1][0] == pytest.approx(0.9)
    assert len(lock.extends) == 9


async def test_acquiring_retries_with_doubling_delays_within_its_budget(
    clock: FakeClock,
) -> None:
    calls: list[float] = []
    reports: list[str] = []

    class DownLock:
        async def acquire(self, session_id: str, lease_ms: int) -> Lease | None:
            calls.append(clock.now)
            if len(calls) < 4:
                raise DOWN
            return Lease("tok", 7)

    async def report(session: Session, exc: BackendUnavailable) -> None:
        reports.append(session.session_id)

    config = ChatConfig(lock_retry_s=10.0, lock_retry_first_ms=500)
    got = await acquire_retrying(DownLock(), Session("s1", 0), config, report)  # type: ignore[arg-type]
    assert got == "tok" and got.fence == 7
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert reports == ["s1"]  # told once, not on every retry


async def test_acquiring_gives_up_past_its_budget(clock: FakeClock) -> None:
    class DownLock:
        async def acquire(self, session_id: str, lease_ms: int) -> Lease | None:
            raise DOWN

    async def report(session: Session, exc: BackendUnavailable) -> None:
        return None

    config = ChatConfig(lock_retry_s=3.0, lock_retry_first_ms=500)
    with pytest.raises(BackendUnavailable):
        await acquire_retrying(DownLock(), Session("s1", 0), config, report)  # type: ignore[arg-type]
    assert clock.sleeps == [0.5, 1.0]  # a third wait (2 s, to 3.5 s) would pass the budget


async def test_a_backend_down_just_under_80_percent_of_the_lease_is_ridden_out(
    clock: FakeClock,
) -> None:
    # A 10 s lease, one heartbeat of 7.995 s: the first extend fails 5 ms short of 8 s.
    lock = ScriptedLock(clock, [DOWN, LeaseState.HELD], after=LeaseState.STOP_REQUESTED)
    with anyio.CancelScope() as scope:
        keeper = LeaseKeeper(lock, "s1", Lease("tok", 1), 10_000, 7_995, scope)  # type: ignore[arg-type]
        await keeper.run()
    assert keeper.state is LeaseState.STOP_REQUESTED and len(lock.extends) == 3
