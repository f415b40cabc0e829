"""regenerate and editMessage: take the session's last turn back and answer it again (the
last reply written anew, or the last message replaced by the one the frame holds)."""

from __future__ import annotations

from typing import Any

from adapters.bootstrap import App
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import frame_route, websocket_route


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    edit = event.route_key == "editMessage"

    async def run(cid: str, frame: dict[str, Any]) -> None:
        if edit:
            await app.turns.edit_message(cid, frame)
        else:
            await app.turns.regenerate(cid, frame)

    return await frame_route(event, app, run)


handler = lambda_entry(handle)
