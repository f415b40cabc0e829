"""API Gateway as the AWS tests see it: the local gateway, a tap in front of its management
API, and an app whose frames all go through @connections.

The local gateway never throttles nor refuses, so the retry and error paths of the API
Gateway transport are driven through ``ManagementTap``; everything else is the real
aioboto3 client against the real local gateway.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from adapters.apigateway.transport import ApiGatewayOptions, ApiGatewayTransport
from adapters.backoff import RetryPolicy
from adapters.bootstrap import build_app
from adapters.inprocess.transport import ConnectionHub
from adapters.local_gateway import RunningGateway, serving
from adapters.local_gateway.options import ADMIN_HOST
from adapters.registry import BuildContext
from adapters.settings import Settings
from contract_tests.transport_apigateway import Sockets, local_gateway
from core.clock import SystemClock
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from tests.aws.support import listening
from tests.handlers import samples
from tests.support import fast_settings
from testsupport.ports import free_port

# --- a tap between the transport and the gateway's management API -------------------------


@dataclass
class ManagementTap:
    """Forwards @connections requests to the gateway and records each one. It can answer the
    next POSTs itself with 429 LimitExceededException, as API Gateway does when posts come
    too fast (the local gateway never throttles), or refuse everything with one error."""

    upstream: str
    url: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    throttle_posts: int = 0
    refuse_with: tuple[int, str] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        self.requests.append((request.method, cid))
        if request.method == "POST" and self.throttle_posts > 0:
            self.throttle_posts -= 1
            return _aws_error(429, "LimitExceededException", "Rate exceeded")
        if self.refuse_with is not None:
            return _aws_error(*self.refuse_with, "Forbidden")
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                request.method, f"{self.upstream}/@connections/{cid}", data=await request.read()
            ) as answer,
        ):
            headers = {k: v for k, v in answer.headers.items() if k.lower().startswith("x-amzn")}
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                headers=headers,
                content_type=answer.content_type,
            )


def _aws_error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response(
        {"message": message}, status=status, headers={"x-amzn-ErrorType": error_type}
    )


@asynccontextmanager
async def tapped(upstream: str) -> AsyncIterator[ManagementTap]:
    """A tap in front of ``upstream`` (a management URL) until the block ends (``tap.url``)."""
    tap = ManagementTap(upstream)
    app = web.Application()
    app.router.add_route("*", "/local/@connections/{cid}", tap.handle)
    async with listening(app) as url:
        tap.url = f"{url}/local"
        yield tap


@dataclass
class Rig:
    """Peers on the local gateway, the tap in front of it, and transports posting through
    the tap whose backoff sleeps are recorded instead of waited."""

    sockets: Sockets
    tap: ManagementTap
    sleeps: list[float]
    stack: contextlib.AsyncExitStack

    async def transport(self, max_attempts: int = 4) -> ApiGatewayTransport:
        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)  # backoff without waiting

        options = ApiGatewayOptions(
            endpoint=self.tap.url, retry=RetryPolicy(max_attempts, 0.05, 1.0)
        )
        transport = ApiGatewayTransport(options, sleep=sleep)
        self.stack.push_async_callback(transport.aclose)
        return transport


@asynccontextmanager
async def rigged() -> AsyncIterator[Rig]:
    """A ``Rig`` until the block ends; its transports are closed with it."""
    async with (
        contextlib.AsyncExitStack() as stack,
        local_gateway() as (gateway, sockets),
        tapped(gateway.management_url) as tap,
    ):
        yield Rig(sockets, tap, [], stack)


# --- the whole app behind the gateway, posting through @connections ----------------------


def _binding(routes: dict[str, Any]) -> dict[str, Any]:
    """Routes that hand each event to the app first, as the Lambda runtime does."""

    def wrap(handle: Any) -> Any:
        async def run(event: dict[str, Any], app: Any) -> dict[str, Any]:
            app.transport.bind_event(event)
            return await handle(event, app)  # type: ignore[no-any-return]

        return run

    return {key: wrap(handle) for key, handle in routes.items()}


@asynccontextmanager
async def aws_like_gateway(launcher: Any = None, **routes: Any) -> AsyncIterator[RunningGateway]:
    """The local gateway serving an app whose frames all go through @connections, on its
    admin listener (``launcher``: a launcher to use instead of the app's). The endpoint is
    a setting, as it is for ``azuchi serve`` with this transport: the events name the
    public listener, where the management API is not."""
    admin_port = free_port()
    endpoint = f"http://{ADMIN_HOST}:{admin_port}/local"
    transport = ApiGatewayTransport(ApiGatewayOptions(endpoint=endpoint))
    overrides: dict[str, Any] = {"transport": transport}
    if launcher is not None:
        overrides["launcher"] = launcher
    app = build_app(fast_settings(AZUCHI_ADMIN_PORT=str(admin_port)), overrides=overrides)
    ws_routes = _binding({**WEBSOCKET_ROUTES, **routes})
    try:
        async with serving(app, websocket_routes=ws_routes, rest_routes=REST_ROUTES, port=0) as gw:
            yield gw
    finally:
        await transport.aclose()


# --- events and build contexts -------------------------------------------------------------


def apigw_event(domain: str, stage: str = "prod", api_id: str = "abcd1234") -> dict[str, Any]:
    """A WebSocket message event as API Gateway sends it from ``domain``/``stage``: what the
    transport learns its endpoint from."""
    event = samples.message("Tqqg2cgqjoECFLQ=", "$default", "hi")
    event["requestContext"].update(domainName=domain, stage=stage, apiId=api_id)
    return event


def build_context(env: dict[str, str]) -> BuildContext:
    """What the registry hands an adapter factory, from settings ``env`` alone."""
    return BuildContext(Settings.from_env(env), SystemClock(), ConnectionHub())
