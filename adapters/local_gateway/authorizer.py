"""API Gateway's side of a Lambda REQUEST authorizer, played locally (sign-in on).

    $connect upgrade / REST request ──► authorizer event (the request's event, plus type
    │                                   REQUEST and methodArn) ──► the authorizer
    ├── raises ──────────────────────► 401 (API Gateway: "Unauthorized"; here the body also
    │                                   says why: its code and sentence, for local use)
    ├── an answer without Allow ─────► 403 Forbidden
    └── Allow ───────────────────────► requestContext.authorizer = {principalId, the
                                        context's keys, integrationLatency} on the event,
                                        and on every later event of that WebSocket

The authorizer is handed in (handlers/authorize.py in production): this package never
imports the handlers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.local_gateway.events import ACCOUNT_ID, Event
from core.errors import AzuchiError, SignInRequired

log = logging.getLogger(__name__)

Authorize = Callable[[Event], Awaitable[dict[str, Any]]]
REGION = "local"


class GatewayAuthorizer:
    def __init__(self, authorize: Authorize) -> None:
        self._authorize = authorize

    async def authorize(self, event: Event, method_arn: str) -> dict[str, Any] | web.Response:
        """``requestContext.authorizer`` for an allowed request, else the refusal."""
        request = {**event, "type": "REQUEST", "methodArn": method_arn, "stageVariables": {}}
        started = time.perf_counter()
        try:
            answer = await self._authorize(request)
        except AzuchiError as refused:
            log.info("authorizer refused %s: %s", method_arn, refused.code)
            body = {"message": "Unauthorized", "code": refused.code, "reason": refused.message}
            status = 401 if isinstance(refused, SignInRequired) else 500
            return web.json_response(body, status=status)
        except Exception:
            log.exception("authorizer failed for %s", method_arn)
            return web.json_response({"message": "Internal server error"}, status=500)
        if not _allows(answer, method_arn):
            return web.json_response({"message": "Forbidden"}, status=403)
        latency_ms = int((time.perf_counter() - started) * 1000)
        context = {k: v for k, v in (answer.get("context") or {}).items() if v is not None}
        return {
            "principalId": str(answer.get("principalId", "")),
            **context,
            "integrationLatency": latency_ms,
        }


def method_arn(api_id: str, stage: str, route: str) -> str:
    """The ARN API Gateway names the request by (``$connect``, or ``POST/api/...``)."""
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{stage}/{route}"


def _allows(answer: object, arn: str) -> bool:
    if not isinstance(answer, dict):
        return False
    statements = (answer.get("policyDocument") or {}).get("Statement") or []
    effects = {
        s.get("Effect")
        for s in statements
        if isinstance(s, dict) and s.get("Resource") in (arn, "*", [arn])
    }
    return effects == {"Allow"}
