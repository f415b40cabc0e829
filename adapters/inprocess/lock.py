"""The lock port in memory."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.domain import Lease, next_fence
from core.ports import LeaseState


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class _Lease:
    token: str
    expires_at: float  # monotonic seconds
    stop: bool = False


class InProcessSessionLock:
    """Leases with owner tokens and expiry, on a monotonic clock (injectable for tests).
    Fences count up per session from the wall clock (``next_fence``), so they stay above
    the fences a store kept from before this process started."""

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        self._now = monotonic
        self._wall_ms = wall_ms
        self._leases: dict[str, _Lease] = {}
        self._fences: dict[str, int] = {}

    def _live(self, session_id: str) -> _Lease | None:
        lease = self._leases.get(session_id)
        if lease is not None and lease.expires_at <= self._now():
            del self._leases[session_id]
            return None
        return lease

    async def acquire(self, session_id: str, lease_ms: int) -> Lease | None:
        if self._live(session_id) is not None:
            return None
        token = secrets.token_hex(16)
        fence = next_fence(self._fences.get(session_id, 0), self._wall_ms())
        self._fences[session_id] = fence
        self._leases[session_id] = _Lease(token, self._now() + lease_ms / 1000)
        return Lease(token, fence)

    async def is_held(self, session_id: str) -> bool:
        return self._live(session_id) is not None

    async def extend(self, session_id: str, token: str, lease_ms: int) -> LeaseState:
        lease = self._live(session_id)
        if lease is None or lease.token != token:
            return LeaseState.LOST
        lease.expires_at = self._now() + lease_ms / 1000
        return LeaseState.STOP_REQUESTED if lease.stop else LeaseState.HELD

    async def release(self, session_id: str, token: str) -> bool:
        lease = self._live(session_id)
        if lease is None or lease.token != token:
            return False
        del self._leases[session_id]
        return True

    async def request_stop(self, session_id: str) -> bool:
        lease = self._live(session_id)
        if lease is None:
            return False
        lease.stop = True
        return True
