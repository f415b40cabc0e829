"""The agent REST API: POST /api/v1/chat/sessions/{sessionId}/reply/generate.

Body ``{"message": "…"}`` (optional ``clientMessageId``); without a message it answers
what the session has pending. Answers 202 with no body once the reply has started.
"""

from __future__ import annotations

from adapters.bootstrap import App
from core.errors import AzuchiError, InvalidInput
from core.protocol import parse_client_frame
from handlers.events import Response, RestEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import error_response, rest_route


@rest_route
async def handle(event: RestEvent, app: App) -> Response:
    session_id = event.path_parameters.get("sessionId", "")
    frame = parse_client_frame(event.body) if event.body else {}
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
