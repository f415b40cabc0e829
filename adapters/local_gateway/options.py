"""What the local gateway lets in, from ``AZUCHI_*`` settings (read once, at start-up).

- ``AZUCHI_ADMIN_PORT`` (unset: off): the admin listener (@connections, stats), always on
  127.0.0.1; 0 picks a free port;
- ``AZUCHI_ALLOWED_ORIGINS`` (none): origins added to the page's own, comma-separated;
- ``AZUCHI_HEADER_TIMEOUT_S`` (10): a request's line and headers must arrive within this;
- ``AZUCHI_BODY_TIMEOUT_S`` (30): a request's body must arrive within this;
- ``AZUCHI_MAX_HEADER_BYTES`` (16384): request line plus headers;
- ``AZUCHI_MAX_BODY_BYTES`` (1048576): a REST request's body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from adapters.settings import EnvReader, SettingsError

ADMIN_HOST = "127.0.0.1"  # the admin listener is never reachable from another machine


@dataclass(frozen=True, slots=True)
class GatewayOptions:
    admin_port: int | None = None  # None: no admin listener; 0: any free port
    allowed_origins: frozenset[str] = frozenset()  # added to the page's own origins
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GatewayOptions:
        read = EnvReader(env)
        admin = read.optional_int("AZUCHI_ADMIN_PORT", low=0)
        if admin is not None and admin > 65535:
            raise SettingsError(f"AZUCHI_ADMIN_PORT={admin} is not between 0 and 65535")
        return cls(
            admin_port=admin,
            allowed_origins=parse_origins(env.get("AZUCHI_ALLOWED_ORIGINS") or ""),
            header_timeout_s=read.float("AZUCHI_HEADER_TIMEOUT_S", 10.0, low=0.05),
            body_timeout_s=read.float("AZUCHI_BODY_TIMEOUT_S", 30.0, low=0.05),
            max_header_bytes=read.int("AZUCHI_MAX_HEADER_BYTES", 16 * 1024, low=1024),
            max_body_bytes=read.int("AZUCHI_MAX_BODY_BYTES", 1024 * 1024, low=1024),
        )


def parse_origins(raw: str) -> frozenset[str]:
    """``scheme://host[:port]`` origins, normalised as browsers send them (lower case, no
    default port, no path). ``*`` is refused: any web page could then drive the server."""
    origins = set()
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item == "*":
            raise SettingsError(
                "AZUCHI_ALLOWED_ORIGINS=* would let any web page use this server (and its "
                "model key): list the origins, e.g. https://chat.example.com"
            )
        origin = normalise_origin(item)
        if origin is None:
            raise SettingsError(
                f"AZUCHI_ALLOWED_ORIGINS: {item!r} is not an origin "
                "(scheme://host[:port], e.g. http://192.168.1.20:8000)"
            )
        origins.add(origin)
    return frozenset(origins)


def normalise_origin(value: str) -> str | None:
    """The origin in the form an ``Origin`` header has, or None when it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")
