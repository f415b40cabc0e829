"""HTTP over a bare socket, for what a client library would fix or hide: half-sent headers,
a body that stops, a NUL in a path."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

WAIT_S = 10.0  # a guard against a hang, not a figure under test


@dataclass(frozen=True)
class RawAnswer:
    status: int | None  # None: the server closed without answering
    headers: dict[str, str]
    body: bytes


def parse(raw: bytes) -> RawAnswer:
    if not raw:
        return RawAnswer(None, {}, b"")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(lines[0].split()[1]), headers, body)


class RawConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def until_closed(self) -> bytes:
        """Everything the server sends until it closes the connection."""
        async with asyncio.timeout(WAIT_S):
            return await self.reader.read(-1)

    async def answer(self) -> RawAnswer:
        """One answer with a Content-Length, the connection left open."""
        async with asyncio.timeout(WAIT_S):
            head = await self.reader.readuntil(b"\r\n\r\n")
            answer = parse(head)
            body = await self.reader.readexactly(int(answer.headers.get("content-length", 0)))
        return RawAnswer(answer.status, answer.headers, body)

    def close(self) -> None:
        self.writer.close()


async def connect(port: int) -> RawConnection:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return RawConnection(reader, writer)


async def request(port: int, data: bytes) -> RawAnswer:
    """Sends ``data`` whole and reads the answer up to the server's close."""
    conn = await connect(port)
    try:
        await conn.send(data)
        return parse(await conn.until_closed())
    finally:
        conn.close()


def get(path: str, port: int, extra: str = "") -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n"
    return head.encode("latin-1")
