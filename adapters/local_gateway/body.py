"""Reading a request's body within a time and a size, and only as JSON for the REST API.

A body that stops half-way (``Content-Length: 100`` and ten bytes sent) would otherwise
hold the handler, and the connection, until the client gave up; one larger than the cap
is refused from its ``Content-Length`` before a byte of it is read.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from adapters.local_gateway.origins import error_response

JSON = "application/json"


class BodyRefused(Exception):
    """The body cannot be read; ``answer`` is what to send instead (the connection closes)."""

    def __init__(self, answer: web.Response) -> None:
        super().__init__(answer.status)
        answer.force_close()  # what is left of the body is not a next request
        self.answer = answer


async def read_body(request: web.Request, timeout_s: float, max_bytes: int) -> bytes:
    """The whole body; the application's ``client_max_size`` is ``max_bytes``."""
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise BodyRefused(_too_large(max_bytes))
    try:
        async with asyncio.timeout(timeout_s):
            return await request.read()
    except TimeoutError:
        raise BodyRefused(
            error_response(
                408,
                code="REQUEST_TIMEOUT",
                message=f"The request's body did not arrive within {timeout_s:g} s.",
            )
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raise BodyRefused(_too_large(max_bytes)) from None


def unsupported_media_type(request: web.Request) -> web.Response | None:
    """None when the body may be read: it is declared JSON, or there is none at all. A
    cross-site form or ``text/plain`` POST (which a browser sends without asking first)
    gets 415."""
    declared = request.headers.get("Content-Type")
    if declared is None and not request.body_exists:
        return None
    if request.content_type == JSON:
        return None
    return error_response(
        415,
        code="UNSUPPORTED_MEDIA_TYPE",
        message=f"Send the body as {JSON} (this request said {declared or 'nothing'}).",
    )


def _too_large(max_bytes: int) -> web.Response:
    return error_response(
        413,
        code="BODY_TOO_LARGE",
        message=f"The request's body is over the {max_bytes}-byte limit.",
    )
