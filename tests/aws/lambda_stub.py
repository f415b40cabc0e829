"""A stub of AWS Lambda's Invoke API, for the real aioboto3 client (``endpoint_url``).

    POST /2015-03-31/functions/{FunctionName}/invocations
      X-Amz-Invocation-Type: Event            202, no body; the payload is recorded
      X-Amz-Invocation-Type: RequestResponse  200, body "null" (recorded too)
      unknown function                        404 ResourceNotFoundException (rest-json)
      payload that is not JSON                400 InvalidRequestContentException

``on_event`` (optional) plays Lambda's queue: it runs each Event invocation's payload in the
background after the 202, as the worker function would run it.

Errors carry their name in ``x-amzn-ErrorType`` and ``{"Type", "Message"}`` in the body, as
Lambda sends them, so botocore raises the same exceptions it raises against AWS.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.aws.support import listening

ACCOUNT = "000000000000"


@dataclass(frozen=True, slots=True)
class Invocation:
    function: str
    invocation_type: str
    payload: Any  # the decoded JSON


@dataclass
class LambdaStub:
    functions: set[str]
    region: str = "us-east-1"
    on_event: Callable[[Any], Awaitable[object]] | None = None
    invocations: list[Invocation] = field(default_factory=list)
    url: str = ""
    runs: set[asyncio.Future[object]] = field(default_factory=set)

    def payloads(self, function: str) -> list[Any]:
        return [i.payload for i in self.invocations if i.function == function]

    def _arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}"

    async def invoke(self, request: web.Request) -> web.Response:
        requested = unquote(request.match_info["name"])
        # A name, a partial ARN ("123:function:name") or a full ARN, maybe with a qualifier.
        name = requested.split(":function:", 1)[-1].split(":", 1)[0]
        if name not in self.functions:
            missing = f"Function not found: {self._arn(name)}"
            return _error(404, "ResourceNotFoundException", missing)
        try:
            payload = json.loads(await request.read() or b"{}")
        except ValueError:
            return _error(
                400, "InvalidRequestContentException", "Could not parse request body into json"
            )
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        self.invocations.append(Invocation(name, kind, payload))
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if kind == "Event":
            if self.on_event is not None:
                run: asyncio.Future[object] = asyncio.ensure_future(self.on_event(payload))
                self.runs.add(run)
                run.add_done_callback(self.runs.discard)
            return web.Response(status=202, headers=headers)
        return web.Response(
            status=200, text="null", headers={**headers, "X-Amz-Executed-Version": "$LATEST"}
        )


def _error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response(
        {"Type": "User", "Message": message},
        status=status,
        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
    )


@asynccontextmanager
async def serving_lambda(
    functions: Iterable[str], on_event: Callable[[Any], Awaitable[object]] | None = None
) -> AsyncIterator[LambdaStub]:
    """The stub on a free port of 127.0.0.1 until the block ends (``stub.url``)."""
    stub = LambdaStub(set(functions), on_event=on_event)
    app = web.Application()
    app.router.add_post("/2015-03-31/functions/{name}/invocations", stub.invoke)
    async with listening(app) as url:
        stub.url = url
        try:
            yield stub
        finally:
            for run in list(stub.runs):
                run.cancel()
