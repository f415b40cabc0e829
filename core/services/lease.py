"""Keeping the session lock while a reply streams, and noticing a stop or a lost lease."""

from __future__ import annotations

import logging
import time

import anyio

from core.errors import BackendUnavailable
from core.ports import LeaseState, SessionLock

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
