"""The agent REST API: POST /api/v1/chat/sessions/{sessionId}/reply/generate.

Body ``{"message": "…"}`` (optional ``clientMessageId``); without a message it answers
what the session has pending. Answers 202 with no body once the reply has started.
"""

from __future__ import annotations

from adapters.bootstrap import App
from core.errors import AzuchiError, InvalidInput
from core.protocol import parse_client_frame
from handlers.events import Event, Response, error_response
from handlers.lambda_runtime import lambda_entry


async def handle(event: Event, app: App) -> Response:
    session_id = str((event.get("pathParameters") or {}).get("sessionId", ""))
    raw = event.get("body")
    if event.get("isBase64Encoded") and raw:
        import base64

        raw = base64.b64decode(raw).decode("utf-8", "replace")
    frame = parse_client_frame(raw) if raw else {}
    try:
        if frame is None:
            raise InvalidInput(
                'The body must be a JSON object such as {"message": "hi"}.', code="INVALID_BODY"
            )
        await app.chat.generate(session_id, frame)
    except AzuchiError as error:
        return error_response(error)
    return {"statusCode": 202, "body": ""}


handler = lambda_entry(handle)
