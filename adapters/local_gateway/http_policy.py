"""What every answer of the public listener carries, and which paths it refuses to look at.

The page's Content-Security-Policy is a header here, not only the ``<meta>`` tag of
``index.html``: a meta tag cannot say ``frame-ancestors``, so without the header any site
could frame the chat and trick a click. The header keeps every directive of the meta tag
(a test compares them) and adds ``frame-ancestors 'none'``.

A path with a NUL, a broken ``%`` escape, bytes that are not UTF-8 or a ``..`` segment is
answered 400 before any route sees it: such a path names no file, and reaching the file
system with it gave a 500 (NUL) or a 404 that told the server's directory.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import unquote_to_bytes

from aiohttp import web

from adapters.local_gateway.origins import error_response

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An ``on_response_prepare`` hook: every answer, error pages and 404s included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def path_problem(raw_path: str) -> str | None:
    """Why ``raw_path`` (the request target as sent) is refused, or None."""
    path = raw_path.split("?", 1)[0]
    if "\x00" in path or "%00" in path:
        return "a NUL character"
    if _BAD_ESCAPE.search(path):
        return "a broken %-escape"
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return "bytes that are not UTF-8"
    if "\x00" in decoded or any(part == ".." for part in re.split(r"[/\\]", decoded)):
        return "a '..' segment" if "\x00" not in decoded else "a NUL character"
    return None


@web.middleware
async def refuse_malformed_paths(request: web.Request, handler: Handler) -> web.StreamResponse:
    problem = path_problem(request.raw_path)
    if problem is not None:
        return error_response(
            400, code="MALFORMED_PATH", message=f"The request's path has {problem}."
        )
    return await handler(request)
