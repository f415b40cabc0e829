"""Which web pages may use the API: the ``Origin`` allow-list and the CORS answers.

A browser sends ``Origin`` on every WebSocket handshake and on every cross-origin fetch, so
without this check any page a developer visits could open a socket to their local azuchi
and spend their model key. Allowed:

- no ``Origin`` at all: not a browser (boto3, curl, the load harness, a native client);
- ``http://localhost:P``, ``http://127.0.0.1:P``, ``http://[::1]:P`` and, when the server
  listens on a named address, ``http://HOST:P`` (P the port it serves on): the page itself;
- the page's own origin when the browser reached it by an IP literal (``Host:
  192.168.1.20:8000`` with ``Origin: http://192.168.1.20:8000``); a host *name* is not
  trusted this way, because DNS rebinding makes any name point at 127.0.0.1;
- whatever ``AZUCHI_ALLOWED_ORIGINS`` adds.

Anything else (``null`` included) is refused with 403 and a body that names the setting.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from aiohttp import web

from adapters.local_gateway.options import normalise_origin

CORS_HEADERS = "Content-Type, Authorization"
CORS_MAX_AGE_S = 600


class OriginPolicy:
    def __init__(self, host: str, port: int, extra: Iterable[str] = ()) -> None:
        self._port = port
        names = {"localhost", "127.0.0.1", "[::1]"}
        if host and host not in ("0.0.0.0", "::"):
            names.add(f"[{host}]" if ":" in host else host.lower())
        own = {f"{scheme}://{name}:{port}" for name in names for scheme in ("http", "https")}
        self._allowed = frozenset(own | set(extra))

    def allows(self, origin: str | None, host_header: str) -> bool:
        if origin is None:
            return True
        normal = normalise_origin(origin)
        if normal is None:
            return False
        return normal in self._allowed or self._same_ip_origin(normal, host_header)

    def _same_ip_origin(self, origin: str, host_header: str) -> bool:
        scheme, _, authority = origin.partition("://")
        hostname = authority.rsplit(":", 1)[0] if not authority.endswith("]") else authority
        try:
            ipaddress.ip_address(hostname.strip("[]"))
        except ValueError:
            return False
        return normalise_origin(f"{scheme}://{host_header}") == origin

    def check(self, request: web.Request) -> web.Response | None:
        """None when the request may go on; else the 403 to answer."""
        origin = request.headers.get("Origin")
        if self.allows(origin, request.host):
            return None
        return refused_origin(origin or "")

    def cors_headers(self, request: web.Request) -> dict[str, str]:
        """What an answer to an allowed cross-origin request carries (``Vary`` always: a
        cache must not hand one origin's answer to another)."""
        origin = request.headers.get("Origin")
        if origin is None or not self.allows(origin, request.host):
            return {"Vary": "Origin"}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    def preflight(self, request: web.Request, methods: Iterable[str]) -> web.Response:
        """The answer to ``OPTIONS``: the methods and headers an allowed page may use."""
        refused = self.check(request)
        if refused is not None:
            return refused
        allow = ", ".join(sorted({*methods, "OPTIONS"}))
        headers = {"Allow": allow, **self.cors_headers(request)}
        if "Access-Control-Allow-Origin" in headers:
            headers |= {
                "Access-Control-Allow-Methods": allow,
                "Access-Control-Allow-Headers": CORS_HEADERS,
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
            }
        return web.Response(status=204, headers=headers)


def refused_origin(origin: str) -> web.Response:
    shown = origin[:200] or "(empty)"
    return error_response(
        403,
        code="ORIGIN_NOT_ALLOWED",
        message=f"Requests from the web page at {shown} are not allowed here. Open the chat from "
        "this server's own address, or add the page's origin to AZUCHI_ALLOWED_ORIGINS.",
    )


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An error in the REST API's own shape: ``{"code", "message"}``."""
    return web.Response(
        status=status,
        text=json.dumps({"code": code, "message": message}),
        content_type="application/json",
        headers=headers,
    )
