"""$connect: join the session named by ?sessionId=, or start a new one."""

from __future__ import annotations

from adapters.bootstrap import App
from core.errors import AzuchiError
from handlers.events import OK, Event, Response, connection_id, error_response, query
from handlers.lambda_runtime import lambda_entry


async def handle(event: Event, app: App) -> Response:
    try:
        await app.chat.connect(connection_id(event), query(event, "sessionId"))
    except AzuchiError as error:
        return error_response(error)  # a non-2xx refuses the handshake
    return OK


handler = lambda_entry(handle)
