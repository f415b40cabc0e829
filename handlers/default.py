"""$default: any frame with no known action (or not JSON) gets the list of routes."""

from __future__ import annotations

from adapters.bootstrap import App
from core.errors import FrameRejected, TextNotEncodable
from core.protocol import read_client_frame
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import frame_route, websocket_route


def _why(body: str | None) -> tuple[str | None, str | None]:
    """The routes frame's ``code`` and ``message``: what was wrong with the frame."""
    try:
        frame = read_client_frame(body)
    except (FrameRejected, TextNotEncodable) as error:
        return error.code, error.message
    action = frame.get("action")
    if action == "hello":  # a client's greeting on connect: the routes and limits, no note
        return None, None
    if action is None:
        return "NO_ACTION", 'That frame has no "action"; use one of the routes listed.'
    shown = action[:64] if isinstance(action, str) else type(action).__name__
    return "UNKNOWN_ACTION", f"Unknown action {shown!r}; use one of the routes listed."


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    code, note = _why(event.body)
    return await frame_route(
        event, app, lambda cid, _frame: app.chat.default_route(cid, note, code), read=False
    )


handler = lambda_entry(handle)
