"""$disconnect: forget the connection."""

from __future__ import annotations

from adapters.bootstrap import App
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import OK, websocket_route


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    await app.chat.disconnect(event.connection_id)
    return OK


handler = lambda_entry(handle)
