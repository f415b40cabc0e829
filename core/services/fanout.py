"""Sending one frame to every connection of a session."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio

from core.clock import SystemClock
from core.errors import BackendUnavailable, ConnectionGone, PayloadTooLarge, TransportError
from core.ports import ChatStore, Transport
from core.protocol import Frame, encode

log = logging.getLogger(__name__)

# A connection is stored by $connect before it can take frames: API Gateway answers a post
# to it with 410 Gone until $connect has returned (up to its 29 s integration timeout), and
# so does the local gateway until the handshake is done. Gone that young is not gone.
CONNECT_GRACE_MS = 30_000
_WALL = SystemClock()


class Fanout:
    """Delivers frames to a set of connections. A connection that turns out to be gone is
    dropped from the set and from the store; the others keep receiving."""

    def __init__(
        self,
        transport: Transport,
        store: ChatStore,
        connection_ids: list[str],
        now_ms: Callable[[], int] = _WALL.now_ms,
    ) -> None:
        self._transport = transport
        self._store = store
        self._ids = list(dict.fromkeys(connection_ids))
        self._now_ms = now_ms
        self._reached: set[str] = set()  # took a frame of this fanout: past its handshake

    @property
    def connection_ids(self) -> list[str]:
        return list(self._ids)

    def add(self, connection_ids: list[str]) -> None:
        for cid in connection_ids:
            if cid not in self._ids:
                self._ids.append(cid)

    async def send(self, frame: Frame) -> None:
        data = encode(frame)
        if len(self._ids) == 1:
            await self._send_one(self._ids[0], data)
            return
        async with anyio.create_task_group() as tg:
            for cid in list(self._ids):
                tg.start_soon(self._send_one, cid, data)

    async def _send_one(self, connection_id: str, data: str) -> None:
        try:
            await self._transport.send(connection_id, data)
            self._reached.add(connection_id)
        except ConnectionGone:
            if connection_id in self._ids:
                self._ids.remove(connection_id)
            try:
                stored = None
                if connection_id not in self._reached:
                    stored = await self._store.get_connection(connection_id)
                    if stored is None:
                        return
                if stored and self._now_ms() - stored.connected_at < CONNECT_GRACE_MS:
                    # Still in its handshake: it reads what it missed with getMessages.
                    log.info("connection %s not ready yet; frame skipped", connection_id)
                    return
                await self._store.delete_connection(connection_id)
            except BackendUnavailable:
                log.warning("could not delete gone connection %s", connection_id)
        except PayloadTooLarge:
            log.error("frame of %d bytes refused for %s", len(data.encode()), connection_id)
        except TransportError as exc:
            # Throttled past its retries, refused or unreachable: this frame is lost for this
            # connection, but the reply goes on and is stored (the client resumes with
            # getMessages); failing here would leave it half-done and answered twice on retry.
            log.warning("frame not delivered to %s: %s", connection_id, exc)
