"""listSessions: the signed-in user's sessions, newest first, a page at a time (an
anonymous caller is told SIGN_IN_REQUIRED)."""

from __future__ import annotations

from typing import Any

from adapters.bootstrap import App
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import frame_route, websocket_route


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    async def run(cid: str, frame: dict[str, Any]) -> None:
        await app.chat.list_sessions(cid, frame)

    return await frame_route(event, app, run)


handler = lambda_entry(handle)
