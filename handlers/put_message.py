"""putMessage: store the user's message, echo it, start the reply. approveTool / denyTool:
store the user's decision on a paused tool call and start the reply that acts on it (the
same ports: a USER message stored, fanned out, a reply launched)."""

from __future__ import annotations

from typing import Any

from adapters.bootstrap import App
from handlers.events import Response, WebSocketEvent
from handlers.lambda_runtime import lambda_entry
from handlers.prelude import frame_route, websocket_route


@websocket_route
async def handle(event: WebSocketEvent, app: App) -> Response:
    if event.route_key in ("approveTool", "denyTool"):
        approve = event.route_key == "approveTool"

        async def decide(cid: str, frame: dict[str, Any]) -> None:
            await app.approvals.decide(cid, frame, approve)

        return await frame_route(event, app, decide)
    return await frame_route(event, app, app.chat.put_message)


handler = lambda_entry(handle)
