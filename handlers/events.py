"""Reading API Gateway events and shaping the answers API Gateway expects."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.bootstrap import App
from core.errors import AzuchiError, ConnectionGone
from core.protocol import parse_client_frame

Event = dict[str, Any]
Response = dict[str, Any]
Handle = Callable[[Event, App], Awaitable[Response]]

OK: Response = {"statusCode": 200}


def connection_id(event: Event) -> str:
    return str(event["requestContext"]["connectionId"])


def query(event: Event, name: str) -> str | None:
    params = event.get("queryStringParameters") or {}
    value = params.get(name)
    return value if isinstance(value, str) else None


def status_for(error: AzuchiError) -> int:
    from core.errors import InvalidInput, NotFound

    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, NotFound):
        return 404
    return 500


def error_response(error: AzuchiError) -> Response:
    body = {"code": error.code, "message": error.message}
    return {
        "statusCode": status_for(error),
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


async def frame_route(
    event: Event, app: App, run: Callable[[str, dict[str, Any]], Awaitable[object]]
) -> Response:
    """A client frame's route: parse, run, and turn a domain error into an ``error`` frame
    for that client. The answer to API Gateway is 200 either way (the client was told)."""
    cid = connection_id(event)
    frame = parse_client_frame(event.get("body")) or {}
    try:
        await run(cid, frame)
    except ConnectionGone:
        pass  # the client left; nothing to tell
    except AzuchiError as error:
        await app.chat.report(cid, error, frame)
    return OK
