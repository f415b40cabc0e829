"""What the local gateway counts for the cost model: ``GET /_azuchi/stats``.

API Gateway, Lambda and DynamoDB bill by counts the gateway is placed to see: frames in and
out (in 32 KB units), connection time, invocations and duration per function, and consumed
capacity. The counters only grow; a load test reads them before and after its run and
takes the difference (``load_tests``), so concurrent readers never reset each other.

Where each figure comes from:
- inbound messages and the route functions: every handler invocation is wrapped
  (``wrap_routes``); a MESSAGE event's body is one inbound message, ⌈bytes / 32 KB⌉ units;
  which function a route runs as, and its memory size, are the deployment facts handed in
  (``handlers.functions`` in production);
- outbound messages: every frame a client socket sends (``sent``), whether it came through
  the in-process transport or a POST to @connections;
- connection minutes: from each connection's ``connectedAt`` to its ``$disconnect``, plus
  the open time so far of connections still open when read;
- the reply worker: each run of the reply launcher (``wrap_reply_run``) — on AWS one
  asynchronous invocation per launch, lasting as long as the reply streams;
- DynamoDB: the app's ``dynamodb`` meter, which the DynamoDB plugin opens when
  ``AZUCHI_DYNAMODB_METER`` is on.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from adapters.registry import Meter
from core.config import BILLING_FRAME_BYTES

STATS_PATH = "/_azuchi/stats"

REPLY_RUNS = "reply runs"  # the name reply runs are counted under when no function is given
AUTHORIZER_RUNS = "authorizer"  # likewise for authorizer runs (sign-in on)


class DeployedFunction(Protocol):
    """What the stats need of a deployment fact (``handlers.functions.LambdaFunction``,
    handed in by the caller so that this package never imports the handlers)."""

    @property
    def name(self) -> str: ...
    @property
    def trigger(self) -> str: ...  # "websocket", "rest" or "launcher"
    @property
    def routes(self) -> tuple[str, ...]: ...
    @property
    def memory_mb(self) -> int: ...


Handler = Callable[[dict[str, Any], Any], Awaitable[dict[str, Any]]]
RunPending = Callable[[str], Awaitable[object]]


def billing_units(size: int) -> int:
    """API Gateway bills a message per started 32 KB (an empty one still counts once)."""
    return max(1, math.ceil(size / BILLING_FRAME_BYTES))


@dataclass(slots=True)
class FunctionStats:
    invocations: int = 0
    duration_ms: float = 0.0
    memory_mb: int | None = None  # the deployed size; None when no fact was given

    def to_json(self) -> dict[str, Any]:
        counted = {"invocations": self.invocations, "duration_ms": round(self.duration_ms, 3)}
        return counted if self.memory_mb is None else {**counted, "memory_mb": self.memory_mb}


class GatewayStats:
    """Monotonic counters of one gateway; ``snapshot()`` is what the endpoint returns.

    ``functions`` say which function each route runs as on AWS and its memory size; without
    them each route is counted under its own key, reply runs under ``REPLY_RUNS``, with no
    memory size (the cost model then asks for one). ``meters`` are the app's."""

    def __init__(
        self, functions: Iterable[DeployedFunction] = (), meters: Mapping[str, Meter] | None = None
    ) -> None:
        self._meters: Mapping[str, Meter] = meters if meters is not None else {}
        facts = tuple(functions)
        self._function_of = {route: f.name for f in facts for route in f.routes}
        self._memory_mb = {f.name: f.memory_mb for f in facts}
        launched = [f.name for f in facts if f.trigger == "launcher"]
        self._reply_worker = launched[0] if launched else REPLY_RUNS
        authorizers = [f.name for f in facts if f.trigger == "authorizer"]
        self._authorizer = authorizers[0] if authorizers else AUTHORIZER_RUNS
        self.started_at_ms = _now_ms()
        self.inbound_frames = 0
        self.inbound_units = 0
        self.outbound_frames = 0
        self.outbound_units = 0
        self.outbound_bytes = 0
        self._open: dict[str, int] = {}  # connectionId → connectedAt (epoch ms)
        self._closed_ms = 0
        self.functions: dict[str, FunctionStats] = {}

    # --- what the gateway sees ------------------------------------------------------

    def sent(self, size: int) -> None:
        """A frame of ``size`` bytes went to a client."""
        self.outbound_frames += 1
        self.outbound_units += billing_units(size)
        self.outbound_bytes += size

    def wrap_routes(self, routes: Mapping[str, Handler]) -> dict[str, Handler]:
        return {key: self._timed_route(key, handler) for key, handler in routes.items()}

    def wrap_authorizer(
        self, authorize: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
    ) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
        """Counts each run of the $connect / REST authorizer (sign-in on) as an invocation
        of the authorizer function, refusals included (API Gateway bills those too)."""

        async def timed(event: dict[str, Any]) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                return await authorize(event)
            finally:
                self._record(self._authorizer, started)

        return timed

    def wrap_reply_run(self, run: RunPending) -> RunPending:
        async def timed(session_id: str) -> object:
            started = time.perf_counter()
            try:
                return await run(session_id)
            finally:
                self._record(self._reply_worker, started)

        return timed

    def _timed_route(self, route_key: str, handler: Handler) -> Handler:
        name = self._function_of.get(route_key, route_key)

        async def timed(event: dict[str, Any], context: Any) -> dict[str, Any]:
            ctx = event.get("requestContext") or {}
            if ctx.get("eventType") == "MESSAGE":
                body = event.get("body") or ""
                self.inbound_frames += 1
                self.inbound_units += billing_units(len(body.encode("utf-8")))
            started = time.perf_counter()
            try:
                result = await handler(event, context)
            finally:
                self._record(name, started)
            if ctx.get("eventType") == "CONNECT" and _accepted(result):
                self._open[ctx["connectionId"]] = int(ctx.get("connectedAt") or _now_ms())
            elif ctx.get("eventType") == "DISCONNECT":
                opened = self._open.pop(ctx.get("connectionId", ""), None)
                if opened is not None:
                    self._closed_ms += max(0, _now_ms() - opened)
            return result

        return timed

    def _record(self, name: str, started: float) -> None:
        entry = self.functions.get(name)
        if entry is None:
            entry = self.functions[name] = FunctionStats(memory_mb=self._memory_mb.get(name))
        entry.invocations += 1
        entry.duration_ms += (time.perf_counter() - started) * 1000

    # --- what the endpoint answers --------------------------------------------------

    def connection_ms(self) -> int:
        now = _now_ms()
        return self._closed_ms + sum(max(0, now - opened) for opened in self._open.values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "since_ms": self.started_at_ms,
            "at_ms": _now_ms(),
            "apigw": {
                "inbound_messages": self.inbound_units,
                "outbound_messages": self.outbound_units,
                "connection_minutes": round(self.connection_ms() / 60_000, 6),
                "inbound_frames": self.inbound_frames,
                "outbound_frames": self.outbound_frames,
                "outbound_bytes": self.outbound_bytes,
                "open_connections": len(self._open),
            },
            "lambda": {name: f.to_json() for name, f in sorted(self.functions.items())},
            "dynamodb": dynamodb_units(self._meters),
            "redis": {"commands": 0, "measured": False},
        }

    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(
            text=json.dumps(self.snapshot()),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )


def dynamodb_units(meters: Mapping[str, Meter]) -> dict[str, Any]:
    """Consumed capacity from the app's ``dynamodb`` meter (there only when
    ``AZUCHI_DYNAMODB_METER`` is on)."""
    meter = meters.get("dynamodb")
    if meter is None:
        return {"read_units": 0.0, "write_units": 0.0, "measured": False}
    return meter.snapshot()


def _accepted(result: Any) -> bool:
    status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
    return 200 <= status < 300


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
