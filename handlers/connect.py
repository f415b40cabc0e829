"""$connect: join the session named by ?sessionId=, or start a new one.

The user the authorizer let in (``requestContext.authorizer.userId``; handlers/authorize.py)
goes on the connection and owns a session made here; another user's session is refused
with 403 ``SESSION_FORBIDDEN``."""

from __future__ import annotations

from adapters.bootstrap import App
from core.errors import AzuchiError
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import OK, error_response, websocket_route


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    try:
        await app.chat.connect(
            event.connection_id,
            event.query.get("sessionId"),
            event.user_id,
            source_ip=event.identity.source_ip,
        )
    except AzuchiError as error:
        return error_response(error)  # a non-2xx refuses the handshake
    return OK


handler = lambda_entry(handle)
