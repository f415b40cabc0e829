"""stopGeneration: end the session's running reply, keeping its partial text."""

from __future__ import annotations

from typing import Any

from adapters.bootstrap import App
from handlers.events import Event, Response, frame_route
from handlers.lambda_runtime import lambda_entry


async def handle(event: Event, app: App) -> Response:
    async def stop(cid: str, _frame: dict[str, Any]) -> None:
        await app.chat.stop_generation(cid)

    return await frame_route(event, app, stop)


handler = lambda_entry(handle)
