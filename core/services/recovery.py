"""Answering USER messages whose reply nobody is producing any more (docs/recovery.md).

A message is *stranded* when the session has it pending (``last_user_at > answered_at``)
and no lease is held: its replier crashed, timed out, lost the lease, or never got the lock
(its backend was down). Whoever finds one launches the session's reply; ``run_pending``
then closes the interrupted reply (``done`` status interrupted) and answers the message.
Launching twice is harmless: the second launch finds the lock taken and returns.

Who looks, and when:
- ``azuchi serve``: ``sweep`` at start-up and every ``AZUCHI_RECOVERY_SWEEP_SECONDS``;
- any runtime: ``ChatService`` launches a session with a message pending when a client
  connects to it or asks its messages (``nudge``, without asking the lock), and every
  launch for a session answers all it has pending;
- AWS: the reply worker's on-failure path calls ``recover_session`` (a failed or timed-out
  asynchronous invocation; the deployment's destination and consumer call it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import anyio

from core.config import ChatConfig
from core.domain import Session
from core.errors import BackendUnavailable
from core.ports import ChatStore, ReplyLauncher, SessionLock

log = logging.getLogger(__name__)

SWEEP_LIMIT = 500  # sessions launched per sweep; the next sweep takes the rest


class Nudger:
    """Launches a session's reply when it has a stranded message."""

    def __init__(self, store: ChatStore, lock: SessionLock, launcher: ReplyLauncher) -> None:
        self._store = store
        self._lock = lock
        self._launcher = launcher

    async def nudge(self, session: Session, ask_lock: bool = True) -> bool:
        """True when the session had work pending (and, when ``ask_lock``, no holder) and
        was launched. The chat routes do not ask the lock: on AWS they run outside the
        VPC that a Redis lock needs, and a launch that finds the lock taken costs only
        its failed acquire."""
        if not session.has_pending:
            return False
        try:
            if ask_lock and await self._lock.is_held(session.session_id):
                return False  # a live replier answers it (or its lease runs out first)
        except BackendUnavailable:
            pass  # launch anyway: the reply retries the lock until it is back
        await self._launcher.launch(session.session_id)
        return True

    async def sweep(self, limit: int = SWEEP_LIMIT) -> int:
        """Nudges every session of the store with a message pending; returns how many
        were launched."""
        launched = 0
        for session_id in await self._store.pending_sessions(limit):
            session = await self._store.get_session(session_id)
            if session is not None and await self.nudge(session):
                launched += 1
        return launched

    async def sweep_forever(self, interval_s: float) -> None:
        """``sweep`` now and every ``interval_s``; a failed sweep is logged and retried."""
        while True:
            try:
                launched = await self.sweep()
                if launched:
                    log.info("recovery sweep: launched %d stranded sessions", launched)
            except BackendUnavailable as exc:
                log.warning("recovery sweep failed: %s", exc)
            await anyio.sleep(interval_s)


class Recovery(StrEnum):
    ANSWERED = "answered"  # replies were produced
    NOTHING_PENDING = "nothing_pending"  # answered already (by someone), or no such session
    BUSY = "busy"  # a lease is still held after waiting: try again later


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    outcome: Recovery
    replies: int = 0


RunPending = Callable[[str], Awaitable[int]]


async def recover_session(
    run_pending: RunPending,
    store: ChatStore,
    session_id: str,
    config: ChatConfig,
    wait_s: float | None = None,
) -> RecoveryResult:
    """The public recovery entry point (the AWS on-failure consumer calls it with the
    failed invocation's ``sessionId``): answers what the session has pending, waiting up
    to ``wait_s`` (default: one lease and a heartbeat) for a dead holder's lease to run
    out. ``BUSY`` means a lease is still held: hand the event back to be retried later.
    Raises ``BackendUnavailable`` when the store or lock cannot be reached."""
    wait = config.lock_lease_ms / 1000 + config.heartbeat_ms / 1000 if wait_s is None else wait_s
    deadline = time.monotonic() + wait
    while True:
        session = await store.get_session(session_id)
        if session is None or not session.has_pending:
            return RecoveryResult(Recovery.NOTHING_PENDING)
        replies = await run_pending(session_id)
        if replies:
            return RecoveryResult(Recovery.ANSWERED, replies)
        if time.monotonic() >= deadline:
            return RecoveryResult(Recovery.BUSY)
        await anyio.sleep(min(config.heartbeat_ms / 1000, max(deadline - time.monotonic(), 0)))
