"""Finding stranded messages (core/services/recovery.py), on fakes and a fake clock: the
sweep launches every session with a message pending and no live replier, a lock backend
that is down does not leave a message unanswered, a failed sweep is retried, and
``recover_session`` answers, waits out a live lease, or says BUSY."""

from __future__ import annotations

import types

import anyio
import anyio.lowlevel
import pytest

from core.config import ChatConfig
from core.domain import Session
from core.errors import BackendUnavailable
from core.services import recovery as recovery_module
from core.services.recovery import Nudger, Recovery, recover_session

pytestmark = pytest.mark.anyio

DOWN = BackendUnavailable("backend down")


def session(sid: str, pending: bool) -> Session:
    return Session(sid, 0, last_user_at=20, answered_at=10 if pending else 20)


class Store:
    def __init__(self, *sessions: Session, fail_listing: int = 0) -> None:
        self.sessions = {s.session_id: s for s in sessions}
        self.fail_listing = fail_listing
        self.limits: list[int] = []

    async def pending_sessions(self, limit: int) -> list[str]:
        self.limits.append(limit)
        if self.fail_listing:
            self.fail_listing -= 1
            raise DOWN
        return list(self.sessions)

    async def get_session(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)


class Lock:
    def __init__(self, held: set[str], down: bool = False) -> None:
        self.held, self.down = held, down

    async def is_held(self, session_id: str) -> bool:
        if self.down:
            raise DOWN
        return session_id in self.held


class Launcher:
    def __init__(self) -> None:
        self.launched: list[str] = []

    async def launch(self, session_id: str) -> None:
        self.launched.append(session_id)


class FakeClock:
    def __init__(self) -> None:
        self.now_ms = 0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now_ms / 1000

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_ms += round(seconds * 1000)
        await anyio.lowlevel.checkpoint()
        if len(self.sleeps) > 1_000:
            raise AssertionError("waits without the clock moving: a busy loop")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(recovery_module, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(recovery_module, "anyio", types.SimpleNamespace(sleep=fake.sleep))
    return fake


async def test_a_sweep_launches_the_stranded_sessions_only() -> None:
    store = Store(session("a", True), session("b", False), session("c", True), session("d", True))
    launcher = Launcher()
    nudger = Nudger(store, Lock(held={"c"}), launcher)  # type: ignore[arg-type]
    assert await nudger.sweep(limit=7) == 2
    assert launcher.launched == ["a", "d"]  # b is answered, c has a live replier
    assert store.limits == [7]


async def test_a_lock_backend_down_does_not_strand_a_message() -> None:
    launcher = Launcher()
    nudger = Nudger(Store(), Lock(held={"a"}, down=True), launcher)  # type: ignore[arg-type]
    assert await nudger.nudge(session("a", True)) is True
    assert launcher.launched == ["a"]  # the reply itself retries the lock


async def test_the_chat_routes_launch_without_asking_the_lock() -> None:
    launcher = Launcher()
    nudger = Nudger(Store(), Lock(held={"a"}), launcher)  # type: ignore[arg-type]
    assert await nudger.nudge(session("a", True), ask_lock=False) is True
    assert await nudger.nudge(session("b", False), ask_lock=False) is False
    assert launcher.launched == ["a"]


async def test_a_failed_sweep_is_retried_after_the_interval(clock: FakeClock) -> None:
    store = Store(session("a", True), fail_listing=1)
    launcher = Launcher()
    nudger = Nudger(store, Lock(held=set()), launcher)  # type: ignore[arg-type]
    with anyio.move_on_after(5):  # real time: only a hang would take this long
        async with anyio.create_task_group() as tg:
            tg.start_soon(nudger.sweep_forever, 30.0)
            while len(clock.sleeps) < 3:
                await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()
    assert clock.sleeps[:3] == [30.0, 30.0, 30.0]
    assert launcher.launched[:2] == ["a", "a"]  # the second sweep found it (still pending)


async def test_recover_session_answers_what_is_pending(clock: FakeClock) -> None:
    store = Store(session("a", True))
    calls: list[str] = []

    async def run_pending(session_id: str) -> int:
        calls.append(session_id)
        return 2

    got = await recover_session(run_pending, store, "a", ChatConfig())  # type: ignore[arg-type]
    assert (got.outcome, got.replies) == (Recovery.ANSWERED, 2) and calls == ["a"]
    nothing = await recover_session(run_pending, store, "gone", ChatConfig())  # type: ignore[arg-type]
    assert nothing.outcome is Recovery.NOTHING_PENDING and calls == ["a"]


async def test_recover_session_waits_out_a_dead_holders_lease(clock: FakeClock) -> None:
    store = Store(session("a", True))
    config = ChatConfig(lock_lease_ms=3_000, heartbeat_ms=1_000)

    async def run_pending(session_id: str) -> int:
        return 1 if clock.now_ms >= 2_000 else 0  # the lease runs out at t = 2 s

    got = await recover_session(run_pending, store, "a", config)  # type: ignore[arg-type]
    assert got.outcome is Recovery.ANSWERED and clock.sleeps == [1.0, 1.0]


async def test_recover_session_says_busy_after_a_lease_and_a_heartbeat(clock: FakeClock) -> None:
    store = Store(session("a", True))
    config = ChatConfig(lock_lease_ms=3_000, heartbeat_ms=1_000)

    async def run_pending(session_id: str) -> int:
        return 0  # a live replier holds it throughout

    got = await recover_session(run_pending, store, "a", config)  # type: ignore[arg-type]
    assert got.outcome is Recovery.BUSY
    assert clock.now_ms == 4_000 and clock.sleeps == [1.0, 1.0, 1.0, 1.0]
    short = await recover_session(run_pending, store, "a", config, wait_s=1.5)  # type: ignore[arg-type]
    assert short.outcome is Recovery.BUSY and clock.sleeps[4:] == [1.0, 0.5]
