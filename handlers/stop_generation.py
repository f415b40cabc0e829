"""stopGeneration: end the session's running reply, keeping its partial text (or say that
nothing is running)."""

from __future__ import annotations

from typing import Any

from adapters.bootstrap import App
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import frame_route, websocket_route


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    async def stop(cid: str, frame: dict[str, Any]) -> None:
        await app.chat.stop_generation(cid, frame)

    return await frame_route(event, app, stop)


handler = lambda_entry(handle)
