"""putMessage: store the user's message, echo it, start the reply."""

from __future__ import annotations

from adapters.bootstrap import App
from handlers.events import Event, Response, frame_route
from handlers.lambda_runtime import lambda_entry


async def handle(event: Event, app: App) -> Response:
    return await frame_route(event, app, app.chat.put_message)


handler = lambda_entry(handle)
