"""getMessages: the stored messages after a cursor (resume, history)."""

from __future__ import annotations

from adapters.bootstrap import App
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import frame_route, websocket_route


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    return await frame_route(event, app, app.chat.get_messages)


handler = lambda_entry(handle)
