"""What every handler does first and last: parse the event once, map errors to answers.

``websocket_route`` and ``rest_route`` turn a handler of a typed event into the entry
API Gateway (and the local gateway, and ``lambda_entry``) calls with the raw event: the
event is parsed once there, and a malformed one is answered 400 without reaching the
handler.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.bootstrap import App
from core.errors import (
    AzuchiError,
    ConnectionGone,
    Forbidden,
    FrameRejected,
    InvalidInput,
    LimitExceeded,
    NotFound,
    SignInRequired,
)
from core.protocol import Frame, read_client_frame
from handlers.events import Event, Handle, MalformedEvent, Response, RestEvent, WebSocketEvent

log = logging.getLogger(__name__)

OK: Response = {"statusCode": 200}


def status_for(error: AzuchiError) -> int:
    if isinstance(error, LimitExceeded):
        return 429
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, SignInRequired):
        return 401
    if isinstance(error, Forbidden):
        return 403
    return 500


def error_response(error: AzuchiError) -> Response:
    body: dict[str, object] = {"code": error.code, "message": error.message}
    headers = {"Content-Type": "application/json"}
    if isinstance(error, LimitExceeded):
        body["retryAfter"] = error.retry_after_s
        headers["Retry-After"] = str(error.retry_after_s)
    return {"statusCode": status_for(error), "headers": headers, "body": json.dumps(body)}


def _malformed(error: MalformedEvent, raw: object) -> Response:
    log.error("refused a malformed event (%s): %.200r", error, raw)
    return error_response(error)


def websocket_route(handle: Callable[[WebSocketEvent, App], Awaitable[Response]]) -> Handle:
    """The raw-event entry of a WebSocket route handler."""

    @functools.wraps(handle)
    async def entry(raw: Event, app: App) -> Response:
        try:
            event = WebSocketEvent.parse(raw)
        except MalformedEvent as error:
            return _malformed(error, raw)
        return await handle(event, app)

    return entry


def rest_route(handle: Callable[[RestEvent, App], Awaitable[Response]]) -> Handle:
    """The raw-event entry of a REST route handler."""

    @functools.wraps(handle)
    async def entry(raw: Event, app: App) -> Response:
        try:
            event = RestEvent.parse(raw)
        except MalformedEvent as error:
            return _malformed(error, raw)
        try:
            return await handle(event, app)
        except AzuchiError as error:
            return error_response(error)
        except Exception:  # a bug, not the caller's fault: still an answer, and logged
            log.exception("REST handler %s failed", handle.__name__)
            return error_response(AzuchiError("Internal error; it was logged."))

    return entry


def read_body(body: str | None) -> Frame:
    """A REST body as a JSON object (none is ``{}``); refused with a 400 code otherwise."""
    if not body:
        return {}
    try:
        return read_client_frame(body)
    except FrameRejected as error:
        if error.code == "FRAME_TOO_DEEP":
            raise
        raise InvalidInput(
            'The body must be a JSON object such as {"message": "hi"}.', code="INVALID_BODY"
        ) from error


async def frame_route(
    event: WebSocketEvent,
    app: App,
    run: Callable[[str, dict[str, Any]], Awaitable[object]],
    *,
    read: bool = True,
) -> Response:
    """A client frame's route: parse, run, and turn a domain error into an ``error`` frame
    for that client. A frame that cannot be read (not JSON, nested too deep, a lone
    surrogate) is refused before ``run``, so nothing is stored for it. The answer to API
    Gateway is 200 either way (the client was told). ``read=False``: ``run`` gets ``{}``
    and reads the body itself ($default answers any body with the routes)."""
    frame: Frame = {}
    try:
        if read:
            frame = read_client_frame(event.body)
        await run(event.connection_id, frame)
    except ConnectionGone:
        pass  # the client left; nothing to tell
    except AzuchiError as error:
        await app.chat.report(event.connection_id, error, frame)
    except Exception:  # a bug: the client still gets an answer, and the log says why
        log.exception("frame route failed for %s", event.connection_id)
        await app.chat.report(
            event.connection_id, AzuchiError("Internal error; it was logged."), frame
        )
    return OK
