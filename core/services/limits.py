"""Abuse and spend protection: what one client, one session and the whole deployment may
ask of the model, checked before anything is stored (docs/limits.md).

    putMessage ──► spend cap today? ──► session's tokens today? ──► replies busy here?
               ──► unanswered messages queued? ──► connection bucket ──► session bucket
               ──► store, launch                (any "no": LimitExceeded, nothing stored)
    $connect without a session ──► new sessions of this address (bucket) ──► create
    each reply ──► spend cap / tokens again (a queued or recovered message, too)
               ──► model ──► record its tokens (session, day) and dollars (deployment, day)

The reads come before the buckets so that a message refused for a cap takes no rate token.
The counters live behind ``LimitCounters`` (core/ports.py), shared by every process; the
replies running at once are this process's own (``ReplySlots``); on AWS the reply worker's
reserved concurrency bounds them across the account. A day is a UTC day.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field

import anyio

from core.domain import Session
from core.errors import LimitExceeded
from core.ports import ChatStore, Clock, LimitCounters

log = logging.getLogger(__name__)

DAY_S = 86_400
MICRO = 1_000_000  # spend is counted in micro-dollars, an integer every backend adds exactly
QUEUE_RETRY_S = 5  # "a reply is about this long": the wait suggested for queue and slots
OwnerAlert = Callable[[str, float, float], None]  # (what, spent today $, cap $)


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket: ``burst`` in a row, refilled at ``per_minute``; 0 per minute: off."""

    per_minute: int
    burst: int

    @property
    def on(self) -> bool:
        return self.per_minute > 0

    @property
    def interval_ms(self) -> int:
        return max(1, 60_000 // max(self.per_minute, 1))

    @property
    def capacity(self) -> int:
        return max(1, self.burst)

    def per_hour(self) -> int:
        """The most takes an hour can see: a full bucket, then the refill."""
        return 0 if not self.on else self.capacity + 60 * self.per_minute


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """Each limit's setting (``AZUCHI_LIMIT_*``, adapters/settings.py); 0 turns one off."""

    connection_messages: Rate = field(default_factory=lambda: Rate(10, 5))
    session_messages: Rate = field(default_factory=lambda: Rate(20, 8))
    queued_messages: int = 3  # unanswered USER messages per session, the running one too
    new_sessions: Rate = field(default_factory=lambda: Rate(2, 5))  # per client address
    concurrent_replies: int = 8  # per process
    session_tokens_per_day: int = 200_000
    spend_per_day_usd: float = 20.0  # the whole deployment, priced by the price table

    def published(self) -> dict[str, object]:
        """The limits that are on, for a page to check before sending (the ``routes``
        frame's ``limits``): buckets as per minute and burst, the others as counts."""
        c = self
        values: dict[str, tuple[bool, object]] = {
            "messagesPerMinute": (c.connection_messages.on, c.connection_messages.per_minute),
            "messageBurst": (c.connection_messages.on, c.connection_messages.capacity),
            "sessionMessagesPerMinute": (c.session_messages.on, c.session_messages.per_minute),
            "sessionMessageBurst": (c.session_messages.on, c.session_messages.capacity),
            "queuedMessages": (c.queued_messages > 0, c.queued_messages),
            "newSessionsPerMinute": (c.new_sessions.on, c.new_sessions.per_minute),
            "sessionTokensPerDay": (c.session_tokens_per_day > 0, c.session_tokens_per_day),
        }
        return {name: value for name, (on, value) in values.items() if on}


class ReplySlots:
    """The replies this process runs at once: at most ``limit`` (0: no bound). A reply
    waits for a slot; a new message is refused while every slot is taken by other
    sessions (``busy``)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots = anyio.CapacityLimiter(limit) if limit > 0 else None
        self.active: Counter[str] = Counter()  # session -> its runs holding a slot

    def busy(self, session_id: str) -> bool:
        return 0 < self._limit <= self.active.total() and session_id not in self.active

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        """A slot for one reply run of ``session_id``, waited for."""
        async with self._slots if self._slots is not None else nullcontext():
            self.active[session_id] += 1
            try:
                yield
            finally:
                self.active[session_id] -= 1
                if not self.active[session_id]:
                    del self.active[session_id]


def _day(now_ms: int) -> tuple[str, int]:
    """The UTC day's number and the epoch second it ends."""
    day = now_ms // 1000 // DAY_S
    return str(day), (day + 1) * DAY_S


class Limits:
    """Checks and counts every limit; raises ``LimitExceeded`` (nothing counted for the
    refused request but the rate tokens of checks that passed before it)."""

    def __init__(
        self,
        counters: LimitCounters,
        config: LimitsConfig,
        clock: Clock,
        slots: ReplySlots | None = None,
        alert: OwnerAlert | None = None,
    ) -> None:
        self._counters = counters
        self.config = config
        self._clock = clock
        self.slots = slots or ReplySlots(config.concurrent_replies)
        self._alert = alert or log_alert
        self._alerted_day: str | None = None

    # --- before storing a message --------------------------------------------------

    async def check_message(
        self, connection_id: str | None, session: Session, store: ChatStore
    ) -> None:
        now = self._clock.now_ms()
        await self.check_reply(session.session_id)
        if self.slots.busy(session.session_id):
            raise LimitExceeded(
                "The server is answering as many messages as it can right now; "
                f"send yours again in {QUEUE_RETRY_S} seconds.",
                code="REPLIES_BUSY",
                retry_after_s=QUEUE_RETRY_S,
            )
        await self._check_queue(session, store)
        if connection_id is not None:
            await self._take(
                f"conn:{connection_id}",
                self.config.connection_messages,
                now,
                code="RATE_LIMITED_CONNECTION",
                what="You are sending messages faster than this connection may",
            )
        await self._take(
            f"sess:{session.session_id}",
            self.config.session_messages,
            now,
            code="RATE_LIMITED_SESSION",
            what="This chat is receiving messages faster than it may",
        )

    async def _check_queue(self, session: Session, store: ChatStore) -> None:
        limit = self.config.queued_messages
        if limit <= 0 or not session.has_pending:
            return
        after = await store.messages_after(session.session_id, session.answered_at or None, 200)
        waiting = sum(1 for m in after if m.role.value == "USER")
        if waiting >= limit:
            raise LimitExceeded(
                f"{waiting} of your messages are still waiting for a reply (at most {limit}); "
                "send this one once the agent has answered.",
                code="QUEUE_FULL",
                retry_after_s=QUEUE_RETRY_S,
            )

    async def check_new_session(self, address: str | None) -> None:
        """On $connect without a session: a client address may start only so many."""
        await self._take(
            f"addr:{address or 'unknown'}",
            self.config.new_sessions,
            self._clock.now_ms(),
            code="TOO_MANY_NEW_SESSIONS",
            what="Too many new chats were started from your address",
        )

    async def _take(self, key: str, rate: Rate, now: int, *, code: str, what: str) -> None:
        if not rate.on:
            return
        wait_ms = await self._counters.take(key, rate.capacity, rate.interval_ms, now)
        if wait_ms:
            seconds = max(1, -(-wait_ms // 1000))
            raise LimitExceeded(
                f"{what} (at most {rate.per_minute} a minute); try again in {seconds} s.",
                code=code,
                retry_after_s=seconds,
            )

    # --- before each reply, and after it --------------------------------------------

    async def check_reply(self, session_id: str) -> None:
        """The day's caps: the deployment's spend and the session's tokens."""
        now = self._clock.now_ms()
        day, ends = _day(now)
        left = ends - now // 1000
        cap = self.config.spend_per_day_usd
        if cap > 0:
            spent = await self._counters.total(f"spend:{day}", now) / MICRO
            if spent >= cap:
                self._tell_owner(day, "the daily spend cap was reached", spent, cap)
                raise LimitExceeded(
                    f"This service has reached its model spending limit for today (${cap:g}); "
                    f"replies resume at 00:00 UTC, in {_hours(left)}. The owner was told.",
                    code="SPEND_CAP_REACHED",
                    retry_after_s=left,
                )
        tokens = self.config.session_tokens_per_day
        if tokens > 0:
            used = await self._counters.total(f"tok:{session_id}:{day}", now)
            if used >= tokens:
                raise LimitExceeded(
                    f"This chat has used its {tokens:,} model tokens for today; it can go on "
                    f"at 00:00 UTC, in {_hours(left)}, or start a new chat.",
                    code="TOKEN_LIMIT_REACHED",
                    retry_after_s=left,
                )

    async def record(self, session_id: str, tokens: int, cost_usd: float | None) -> None:
        """Counts a reply's tokens for its session and its dollars for the deployment."""
        now = self._clock.now_ms()
        day, ends = _day(now)
        keep = ends + DAY_S  # a day's totals outlive it by a day, for whoever reads them
        if tokens > 0 and self.config.session_tokens_per_day > 0:
            await self._counters.add(f"tok:{session_id}:{day}", tokens, keep)
        micro = round((cost_usd or 0.0) * MICRO)
        if micro > 0:
            spent = await self._counters.add(f"spend:{day}", micro, keep) / MICRO
            cap = self.config.spend_per_day_usd
            if 0 < cap <= spent:
                self._tell_owner(day, "the daily spend cap was reached", spent, cap)

    async def spent_today(self) -> float:
        now = self._clock.now_ms()
        return await self._counters.total(f"spend:{_day(now)[0]}", now) / MICRO

    def _tell_owner(self, day: str, what: str, spent: float, cap: float) -> None:
        if self._alerted_day != day:  # once a day per process; the metric counts each
            self._alerted_day = day
            self._alert(what, spent, cap)


def log_alert(what: str, spent: float, cap: float) -> None:
    """The owner's notice where there is no other: a log line (``azuchi serve``)."""
    log.warning(
        "SPEND CAP: %s: $%.2f spent today of $%.2f (AZUCHI_LIMIT_SPEND_PER_DAY_USD); "
        "replies are refused until 00:00 UTC",
        what,
        spent,
        cap,
    )


def _hours(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{max(1, rest // 60)} min"
