"""HTTP answers shaped from a Lambda proxy integration's result, as API Gateway shapes them."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from aiohttp import web

INTERNAL_ERROR = "Internal server error"


def proxy_response(result: Mapping[str, Any]) -> web.Response:
    """An HTTP answer from a Lambda proxy integration's result."""
    headers: dict[str, str] = {}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    headers.update({k: str(v) for k, v in (result.get("headers") or {}).items()})
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return web.Response(status=int(result.get("statusCode", 200)), body=body, headers=headers)


def internal_error_response() -> web.Response:
    return web.json_response({"message": INTERNAL_ERROR}, status=500)
