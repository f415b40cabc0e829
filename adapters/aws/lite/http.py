"""HTTPS requests on kept-alive connections: ``http.client`` in worker threads.

Why threads and not asyncio streams: ``http.client`` is the standard library's tested
HTTP/1.1 (chunked bodies, keep-alive, ``Connection: close``), a handful of calls per event
make thread hand-offs negligible, and it imports in a few milliseconds. One pool per
client: idle connections are kept per (scheme, host, port) and reused by later calls (warm
Lambda invocations included); one that the server closed while idle (seen readable before
use) is dropped, and a reused connection closed before any answer byte is retried once on
a fresh one (the request never reached the service). At most ``max_connections`` requests
run at once.
"""

from __future__ import annotations

import functools
import http.client
import os
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from adapters.aws.lite.errors import AwsConnectionError, AwsTimeout

Key = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The system's trust store (``AWS_CA_BUNDLE`` when set, as the SDK reads it)."""
    bundle = os.environ.get("AWS_CA_BUNDLE") or None
    return ssl.create_default_context(cafile=bundle)


class HttpPool:
    def __init__(
        self,
        *,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        max_connections: int = 50,
    ) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._idle: dict[Key, list[http.client.HTTPConnection]] = {}
        self._guard = threading.Lock()
        self._limiter = anyio.CapacityLimiter(max_connections)
        self.opened = 0  # connections made, for tests of keep-alive

    async def request(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> HttpResponse:
        return await anyio.to_thread.run_sync(
            self._request, method, url, headers, body, limiter=self._limiter
        )

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _request(self, method: str, url: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AwsConnectionError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key: Key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        where = f"{parts.scheme}://{parts.netloc}"
        while True:
            connection, reused = self._take(key)
            try:
                if connection.sock is None:
                    connection.connect()
                    self.opened += 1
                    assert connection.sock is not None
                    connection.sock.settimeout(self.read_timeout_s)
                connection.request(method, target, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                connection.close()
                if reused:
                    continue  # closed while idle: the request did not reach the service
                raise AwsConnectionError(f"{where} closed the connection: {exc}") from exc
            except TimeoutError as exc:
                connection.close()
                raise AwsTimeout(f"{where} did not answer in time ({exc})") from exc
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise AwsConnectionError(
                    f"could not reach {where}: {type(exc).__name__}: {exc}"
                ) from exc
            response = HttpResponse(
                answer.status, {k.lower(): v for k, v in answer.getheaders()}, data
            )
            if answer.will_close:
                connection.close()
            else:
                self._give(key, connection)
            return response

    def _take(self, key: Key) -> tuple[http.client.HTTPConnection, bool]:
        with self._guard:
            idle = self._idle.get(key) or []
            while idle:
                connection = idle.pop()
                if _usable(connection):
                    return connection, True
                connection.close()
        scheme, host, port = key
        if scheme == "https":
            return (
                http.client.HTTPSConnection(
                    host, port, timeout=self.connect_timeout_s, context=tls_context()
                ),
                False,
            )
        return http.client.HTTPConnection(host, port, timeout=self.connect_timeout_s), False

    def _give(self, key: Key, connection: http.client.HTTPConnection) -> None:
        with self._guard:
            self._idle.setdefault(key, []).append(connection)


def _usable(connection: http.client.HTTPConnection) -> bool:
    """An idle connection is usable if nothing is readable on it: a readable idle socket
    has been closed by the server (or holds garbage), as urllib3 checks before reuse."""
    sock: socket.socket | None = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
