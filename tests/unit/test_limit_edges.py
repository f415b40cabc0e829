"""The limits at their edges, as a user reads them: how long until the day's caps reset,
how full the queue may get, what a rate allows in an hour."""

from __future__ import annotations

import pytest

from adapters.inprocess.limits import InProcessLimitCounters
from adapters.inprocess.store import InProcessChatStore
from core.domain import MessageDraft, MessageType, Role, Session
from core.errors import LimitExceeded
from core.services.limits import Limits, LimitsConfig, Rate, _hours

pytestmark = pytest.mark.anyio

DAY_MS = 86_400_000
MIDNIGHT = 1_800_000_000_000 // DAY_MS * DAY_MS  # 00:00 UTC of some day


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now


def test_a_rate_allows_its_burst_then_its_refill_in_an_hour() -> None:
    assert Rate(per_minute=10, burst=5).per_hour() == 5 + 600
    assert Rate(per_minute=0, burst=5).per_hour() == 0


def test_the_wait_until_midnight_reads_in_hours_and_whole_minutes() -> None:
    assert _hours(3 * 3600 + 150) == "3 h 2 min"
    assert _hours(150) == "2 min"
    assert _hours(20) == "1 min"  # never "0 min"


async def test_a_day_cap_says_when_it_resets_in_seconds_and_words() -> None:
    config = LimitsConfig(session_tokens_per_day=100, spend_per_day_usd=0)
    clock = Clock(MIDNIGHT + DAY_MS - 3_600_000 - 90_000)  # 22:58:30 UTC
    limits = Limits(InProcessLimitCounters(), config, clock)
    await limits.record("s1", 100, None)
    with pytest.raises(LimitExceeded) as refused:
        await limits.check_reply("s1")
    assert refused.value.code == "TOKEN_LIMIT_REACHED"
    assert refused.value.retry_after_s == 3_690
    assert "in 1 h 1 min" in str(refused.value)


@pytest.mark.parametrize(("waiting", "refused"), [(1, False), (2, True)])
async def test_the_queue_takes_messages_up_to_its_size(waiting: int, refused: bool) -> None:
    store = InProcessChatStore()
    await store.create_session(Session("s1", created_at=1))
    for i in range(waiting):
        await store.append_message(MessageDraft("s1", Role.USER, MessageType.CONVERSATION, f"m{i}"))
    session = await store.get_session("s1")
    assert session is not None and session.has_pending
    off = Rate(0, 0)
    config = LimitsConfig(
        off, off, queued_messages=2, session_tokens_per_day=0, spend_per_day_usd=0
    )
    limits = Limits(InProcessLimitCounters(), config, Clock(MIDNIGHT))
    if refused:
        with pytest.raises(LimitExceeded) as error:
            await limits.check_message(None, session, store)
        assert error.value.code == "QUEUE_FULL"
    else:
        await limits.check_message(None, session, store)


async def test_one_address_may_start_only_its_burst_of_new_chats() -> None:
    from tests.support import running_app
    from tests.unit.test_limits_service import limited

    settings = limited(new_sessions_per_minute="1", new_sessions_burst="2")
    async with running_app(settings) as app:
        for i in range(2):
            await app.chat.connect(f"c{i}", None, source_ip="203.0.113.7")
        with pytest.raises(LimitExceeded) as refused:
            await app.chat.connect("c2", None, source_ip="203.0.113.7")
        assert refused.value.code == "TOO_MANY_NEW_SESSIONS"
        assert await app.store.get_connection("c2") is None  # nothing stored
        await app.chat.connect("c3", None, source_ip="198.51.100.1")  # another address may
