"""The Lambda authorizer (REQUEST type) of the WebSocket API's $connect: lets a caller in
as the user its token names, or anonymously when sign-in is optional and no token came
(adapters/auth/authorizer.py). A refusal raises "Unauthorized", which API Gateway answers
with 401; the log says why (its code). It builds no app: it reads no table and calls
nothing but the issuer's JWKS."""

from __future__ import annotations

import logging
import os
from typing import Any

from adapters.auth.authorizer import Authorizer
from adapters.auth.settings import AuthSettings
from core.errors import SignInRequired
from handlers import lambda_runtime
from handlers.events import Event, Response

log = logging.getLogger(__name__)

_authorizer: Authorizer | None = None


def authorizer() -> Authorizer:
    """Built once per execution environment: the JWKS cache outlives the invocation."""
    global _authorizer
    if _authorizer is None:
        settings = AuthSettings.from_env(os.environ)
        if not settings.enabled:
            raise RuntimeError("the authorizer is deployed without AZUCHI_AUTH_ISSUER")
        _authorizer = Authorizer.from_settings(settings)
    return _authorizer


async def handle(event: Event, auth: Authorizer) -> Response:
    return await auth.decide(event)


def handler(event: Event, context: Any = None) -> Response:
    try:
        answer: Response = lambda_runtime.run(handle(event, authorizer()))
    except SignInRequired as refused:
        log.info("refused %s: %s (%s)", event.get("methodArn"), refused.code, refused.message)
        raise Exception("Unauthorized") from None  # API Gateway's word for a 401
    return answer
