"""The agent REST API: POST /api/v1/chat/sessions/{sessionId}/reply/generate.

Body ``{"message": "…"}`` (optional ``clientMessageId``); without a message it answers
what the session has pending. Answers 202 with no body once the reply has started.
"""

from __future__ import annotations

from adapters.bootstrap import App
from handlers.events import Response, RestEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import read_body, rest_route


@rest_route
async def handle(event: RestEvent, app: App) -> Response:
    """Domain errors become their 4xx/5xx answer in ``rest_route``."""
    session_id = event.path_parameters.get("sessionId", "")
    await app.chat.generate(session_id, read_body(event.body))
    return {"statusCode": 202, "body": ""}


handler = lambda_entry(handle)
