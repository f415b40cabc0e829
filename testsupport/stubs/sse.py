"""A tiny server-sent-events writer for aiohttp stubs (the format of the WHATWG spec:
optional ``event:`` line, ``data:`` line, blank line)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


async def open_stream(request: web.Request) -> web.StreamResponse:
    """Sends the headers of an event stream, as OpenAI does, and returns the response."""
    response = web.StreamResponse(
        status=200,
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"},
    )
    await response.prepare(request)
    return response


def encode(data: Any, event: str | None = None) -> bytes:
    """One event: ``data`` is JSON-encoded unless it is already a string (``[DONE]``)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


async def send(response: web.StreamResponse, data: Any, event: str | None = None) -> None:
    """Writes one event (see ``encode``) as soon as the stub has it, as a stream should."""
    await response.write(encode(data, event))
