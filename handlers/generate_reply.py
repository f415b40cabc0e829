"""The agent REST API: POST /api/v1/chat/sessions/{sessionId}/reply/generate.

Body ``{"message": "…"}`` (optional ``clientMessageId``); without a message it answers
what the session has pending. Answers 202 with no body once the reply has started.
When an authorizer ran (``azuchi serve`` with sign-in on), the session must be the caller's
(403 ``SESSION_FORBIDDEN``); an IAM-signed call on AWS has none and is a trusted service.
"""

from __future__ import annotations

from adapters.bootstrap import App
from core.services.ownership import Caller
from handlers.events import Response, RestEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import read_body, rest_route


@rest_route
async def handle(event: RestEvent, app: App) -> Response:
    """Domain errors become their 4xx/5xx answer in ``rest_route``."""
    session_id = event.path_parameters.get("sessionId", "")
    caller = Caller(event.user_id) if event.authorized else None
    await app.chat.generate(session_id, read_body(event.body), caller)
    return {"statusCode": 202, "body": ""}


handler = lambda_entry(handle)
