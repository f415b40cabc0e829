"""The transport port in process: frames go straight to the sockets a local server holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from core.config import MAX_FRAME_BYTES
from core.errors import ConnectionGone, PayloadTooLarge


class Sink(Protocol):
    """One live client connection as the hub sees it."""

    async def send(self, data: str) -> None: ...

    async def close(self) -> None: ...


class Outbox:
    """A sink that keeps what it receives: for tools and tests that play a client."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.closed = False

    async def send(self, data: str) -> None:
        if self.closed:
            raise ConnectionError("closed")
        self.frames.append(data)

    async def close(self) -> None:
        self.closed = True


class ConnectionHub:
    """The live connections of one process, by connection id."""

    def __init__(self) -> None:
        self._sinks: dict[str, Sink] = {}

    def attach(self, connection_id: str, sink: Sink) -> None:
        self._sinks[connection_id] = sink

    def detach(self, connection_id: str) -> None:
        self._sinks.pop(connection_id, None)

    def get(self, connection_id: str) -> Sink | None:
        return self._sinks.get(connection_id)

    def __contains__(self, connection_id: str) -> bool:
        return connection_id in self._sinks


class InProcessTransport:
    def __init__(self, hub: ConnectionHub, max_payload_bytes: int = MAX_FRAME_BYTES) -> None:
        self._hub = hub
        self._max = max_payload_bytes

    @property
    def max_payload_bytes(self) -> int:
        return self._max

    async def send(self, connection_id: str, data: str) -> None:
        if len(data) * 4 > self._max:  # only then can its UTF-8 (<= 4 bytes a character) pass
            size = len(data.encode("utf-8"))
            if size > self._max:
                raise PayloadTooLarge(f"A frame of {size} bytes passes the {self._max}-byte limit.")
        sink = self._hub.get(connection_id)
        if sink is None:
            raise ConnectionGone(f"Connection {connection_id} is gone.")
        try:
            await sink.send(data)
        except Exception as exc:  # whatever the socket library raises for a dead peer
            self._hub.detach(connection_id)
            raise ConnectionGone(f"Connection {connection_id} is gone.") from exc

    async def close(self, connection_id: str) -> None:
        sink = self._hub.get(connection_id)
        if sink is None:
            raise ConnectionGone(f"Connection {connection_id} is gone.")
        self._hub.detach(connection_id)
        await sink.close()

    def bind_event(self, event: Mapping[str, Any]) -> None:
        """Frames go straight to this process's sockets: nothing to learn from events."""
