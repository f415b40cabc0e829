"""$default: any frame with no known action (or not JSON) gets the list of routes."""

from __future__ import annotations

from adapters.bootstrap import App
from core.protocol import parse_client_frame
from handlers.events import Event, Response, frame_route
from handlers.lambda_runtime import lambda_entry


def _note(body: object) -> str:
    frame = parse_client_frame(body if isinstance(body, str) else None)
    if frame is None:
        return 'That frame is not a JSON object; send {"action": <route>, ...}.'
    action = frame.get("action")
    if action is None:
        return 'That frame has no "action"; use one of the routes listed.'
    return f"Unknown action {str(action)[:64]!r}; use one of the routes listed."


async def handle(event: Event, app: App) -> Response:
    note = _note(event.get("body"))
    return await frame_route(event, app, lambda cid, _frame: app.chat.default_route(cid, note))


handler = lambda_entry(handle)
