"""REST proxy resources (the agent's API), one aiohttp route per API Gateway route key.

Route keys read ``"POST /api/v1/chat/sessions/{sessionId}/reply/generate"``; aiohttp's path
templates use the same ``{name}`` syntax, so each key maps straight to a route. Each is
served both at the root (``http://HOST:PORT/api/...``, DESIGN §6) and under the stage
(``/{stage}/api/...``, where API Gateway itself serves it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from adapters.bootstrap import App
from adapters.local_gateway.authorizer import GatewayAuthorizer, method_arn
from adapters.local_gateway.events import RestRequest, rest_proxy_event
from adapters.local_gateway.responses import internal_error_response, proxy_response
from adapters.local_gateway.websocket import RouteHandler

log = logging.getLogger(__name__)


class RestApi:
    def __init__(
        self,
        app: App,
        routes: Mapping[str, RouteHandler],
        stage: str,
        api_id: str,
        authorizer: GatewayAuthorizer | None = None,
    ) -> None:
        self._app = app
        self._authorizer = authorizer
        self._routes = routes
        self._stage = stage
        self._api_id = api_id

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for route_key in self._routes:
            method, resource = route_key.split(" ", 1)
            serve = self._handler(route_key, method, resource)
            router.add_route(method, resource, serve)
            router.add_route(method, f"/{self._stage}{resource}", serve)

    def _handler(
        self, route_key: str, method: str, resource: str
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        handle = self._routes[route_key]

        async def serve(request: web.Request) -> web.StreamResponse:
            path = request.path
            if path.startswith(f"/{self._stage}/"):
                path = path[len(self._stage) + 1 :]
            event = rest_proxy_event(
                RestRequest(
                    method=method,
                    resource=resource,
                    path=path,
                    path_parameters=dict(request.match_info),
                    headers=list(request.headers.items()),
                    query=list(request.query.items()),
                    body=await request.read(),
                    source_ip=request.remote or "",
                    domain_name=request.host,
                    stage=self._stage,
                    api_id=self._api_id,
                )
            )
            if self._authorizer is not None:  # sign-in on (on AWS this API is IAM-signed)
                arn = method_arn(self._api_id, self._stage, f"{method}{path}")
                allowed = await self._authorizer.authorize(event, arn)
                if isinstance(allowed, web.Response):
                    return allowed
                event["requestContext"]["authorizer"] = allowed
            try:
                result = await handle(event, self._app)
            except Exception:
                log.exception("%s handler failed", route_key)
                return internal_error_response()
            return proxy_response(result)

        return serve
