"""$default: any frame with no known action (or not JSON) gets the list of routes."""

from __future__ import annotations

from adapters.bootstrap import App
from core.protocol import parse_client_frame
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import frame_route, websocket_route


def _note(body: str | None) -> str | None:
    frame = parse_client_frame(body)
    if frame is None:
        return 'That frame is not a JSON object; send {"action": <route>, ...}.'
    action = frame.get("action")
    if action == "hello":  # a client's greeting on connect: the routes and limits, no note
        return None
    if action is None:
        return 'That frame has no "action"; use one of the routes listed.'
    return f"Unknown action {str(action)[:64]!r}; use one of the routes listed."


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    note = _note(event.body)
    return await frame_route(event, app, lambda cid, _frame: app.chat.default_route(cid, note))


handler = lambda_entry(handle)
