"""Keeping the session lock while a reply streams, and noticing a stop or a lost lease."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio

from core.config import ChatConfig
from core.domain import Lease, Session
from core.errors import BackendUnavailable
from core.ports import LeaseState, SessionLock

MAX_RETRY_DELAY_S = 30.0

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Extends the lease every ``heartbeat_ms``; when the lease is lost or a stop was
    requested, records why and cancels ``scope`` (the reply's generation)."""

    def __init__(
        self,
        lock: SessionLock,
        session_id: str,
        token: str,
        lease_ms: int,
        heartbeat_ms: int,
        scope: anyio.CancelScope,
    ) -> None:
        self._lock = lock
        self._session_id = session_id
        self._token = token
        self._lease_ms = lease_ms
        self._heartbeat = heartbeat_ms / 1000
        self._scope = scope
        self.state = LeaseState.HELD

    async def run(self) -> None:
        last_ok = time.monotonic()
        while True:
            await anyio.sleep(self._heartbeat)
            try:
                state = await self._lock.extend(self._session_id, self._token, self._lease_ms)
            except BackendUnavailable:
                # Keep going while the lease we hold is surely still ours; past that,
                # another replier may hold it, so behave as if it were lost.
                if (time.monotonic() - last_ok) * 1000 < self._lease_ms * 0.8:
                    continue
                log.warning("lock backend unreachable for session %s", self._session_id)
                state = LeaseState.LOST
            last_ok = time.monotonic()
            if state is not LeaseState.HELD:
                self.state = state
                self._scope.cancel()
                return


async def acquire_retrying(
    lock: SessionLock,
    session: Session,
    config: ChatConfig,
    report: Callable[[Session, BackendUnavailable], Awaitable[None]],
) -> Lease | None:
    """Takes the session lock; while its backend cannot be reached, tries again (delays
    doubling from ``lock_retry_first_ms``) for ``lock_retry_s``, after telling the session
    once (``report``). A message stored meanwhile is so answered once the backend is back,
    without waiting for another message; past the budget ``BackendUnavailable`` is raised
    and the recovery sweep (``azuchi serve``) or the on-failure path (AWS) takes over."""
    delay = config.lock_retry_first_ms / 1000
    deadline = time.monotonic() + config.lock_retry_s
    reported = False
    while True:
        try:
            return await lock.acquire(session.session_id, config.lock_lease_ms)
        except BackendUnavailable as exc:
            if not reported:
                await report(session, exc)
                reported = True
            if time.monotonic() + delay > deadline:
                raise
            await anyio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)
