"""What every endpoint does before it streams: read the JSON body, parse it into a
``Turn``, and ask the script for an ``Answer``. Each step may refuse with an error
response instead, so the prelude is written once and each API supplies only its parser
and its streamer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from testsupport.stubs.openai.script import Answer, OpenAIStub, Turn
from testsupport.stubs.openai.wire import error_response

STUB = web.AppKey("stub", OpenAIStub)

Body = dict[str, Any]
Parse = Callable[[OpenAIStub, Body], Turn | web.Response]
Stream = Callable[[web.Request, OpenAIStub, Body, Turn, Answer], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def read_body(request: web.Request, endpoint: str) -> Body | web.Response:
    """The request's JSON object, recorded on the stub even when it lacks a model."""
    stub = request.app[STUB]
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return error_response(400, "We could not parse the JSON body of your request.")
    if not isinstance(body, dict):
        return error_response(400, "The request body must be a JSON object.")
    stub.requests.append(body)
    stub.endpoints.append(endpoint)
    if not body.get("model"):
        return error_response(400, "Missing required parameter: 'model'.", param="model")
    return body


def endpoint(name: str, parse: Parse, stream: Stream) -> Handler:
    """An aiohttp handler: the shared prelude, then ``stream`` with what it produced.
    ``name`` is what ``stub.endpoints`` records and what throttling is counted per."""

    async def handle(request: web.Request) -> web.StreamResponse:
        stub = request.app[STUB]
        body = await read_body(request, name)
        if isinstance(body, web.Response):
            return body
        turn = parse(stub, body)
        if isinstance(turn, web.Response):
            return turn
        if "drop first" in turn.last_user and stub.throttled[name, "drop"] < 2:
            # The connection closes before any byte of a response: a connection error.
            stub.throttled[name, "drop"] += 1
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        answer = await stub.answer(turn, name)
        if isinstance(answer, web.Response):
            return answer
        return await stream(request, stub, body, turn, answer)

    return handle
