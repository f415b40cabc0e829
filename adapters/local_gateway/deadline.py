"""A deadline and a size cap on a request's line and headers, in front of aiohttp.

aiohttp's server has no header timeout: a client that sends ``GET / HTTP/1.1\\r\\nHost:``
and then nothing holds the connection (and a file descriptor) for as long as it likes, and
a thousand such clients hold a thousand. ``HeaderGuard`` wraps each connection's protocol
and watches only the bytes before the first blank line::

    connect ──► deadline armed (header_timeout_s)
    bytes ────► counted; over max_header_bytes ──► 431, close
    "\\r\\n\\r\\n" ─► disarmed; from here on aiohttp alone reads the connection
    deadline ─► 408, close

Later requests on a kept-alive connection are held to the same time by aiohttp's own
keep-alive timeout (set to ``header_timeout_s`` by the server): it closes a connection
whose next request has not fully arrived when it expires. Bodies are timed where they are
read (``body.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

END_OF_HEADERS = b"\r\n\r\n"


def _plain(status: str, text: str) -> bytes:
    body = text.encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        "X-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode() + body


TIMED_OUT = _plain("408 Request Timeout", "The request's headers did not arrive in time.\n")
TOO_LARGE = _plain("431 Request Header Fields Too Large", "The request's headers are too large.\n")


class HeaderGuard(asyncio.Protocol):
    """Delegates everything to ``inner`` (aiohttp's protocol for the connection)."""

    def __init__(
        self, inner: asyncio.Protocol, loop: asyncio.AbstractEventLoop, timeout_s: float, cap: int
    ) -> None:
        self._inner = inner
        self._loop = loop
        self._timeout_s = timeout_s
        self._cap = cap
        self._seen = 0
        self._tail = b""
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._timer = self._loop.call_later(self._timeout_s, self._refuse, TIMED_OUT)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._timer is not None:
            window = self._tail + data
            end = window.find(END_OF_HEADERS)
            counted = len(data) if end < 0 else end + len(END_OF_HEADERS) - len(self._tail)
            self._seen += counted
            if self._seen > self._cap:
                self._refuse(TOO_LARGE)
                return
            if end < 0:
                self._tail = window[-(len(END_OF_HEADERS) - 1) :]
            else:
                self._disarm()
        self._inner.data_received(data)

    def _refuse(self, answer: bytes) -> None:
        self._disarm()
        self._refused = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(answer)
            self._transport.close()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def guarded(
    factory: Callable[[], asyncio.Protocol], timeout_s: float, cap: int
) -> Callable[[], asyncio.Protocol]:
    """A protocol factory for ``loop.create_server`` that wraps ``factory``'s protocols."""

    def make() -> asyncio.Protocol:
        return HeaderGuard(factory(), asyncio.get_running_loop(), timeout_s, cap)

    return make
