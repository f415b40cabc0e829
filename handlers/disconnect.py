"""$disconnect: forget the connection."""

from __future__ import annotations

from adapters.bootstrap import App
from handlers.events import OK, Event, Response, connection_id
from handlers.lambda_runtime import lambda_entry


async def handle(event: Event, app: App) -> Response:
    await app.chat.disconnect(connection_id(event))
    return OK


handler = lambda_entry(handle)
