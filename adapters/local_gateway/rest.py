"""REST proxy resources (the agent's API), one aiohttp route per API Gateway route key.

Route keys read ``"POST /api/v1/chat/sessions/{sessionId}/reply/generate"``; aiohttp's path
templates use the same ``{name}`` syntax, so each key maps straight to a route. Each is
served both at the root (``http://HOST:PORT/api/...``, DESIGN §6) and under the stage
(``/{stage}/api/...``, where API Gateway itself serves it).

Before a handler runs: a body must be declared ``application/json`` (else 415: a browser
sends a cross-site ``text/plain`` or form POST without asking first), the ``Origin`` must be
allowed (else 403), and the body must arrive whole within the body timeout and size (else
408 / 413).
``OPTIONS`` on each resource answers a browser's CORS preflight; answers to an allowed
cross-origin page carry ``Access-Control-Allow-Origin`` for it, and ``Vary: Origin``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from adapters.bootstrap import App
from adapters.local_gateway.authorizer import GatewayAuthorizer, method_arn
from adapters.local_gateway.body import BodyRefused, read_body, unsupported_media_type
from adapters.local_gateway.events import RestRequest, rest_proxy_event
from adapters.local_gateway.options import GatewayOptions
from adapters.local_gateway.origins import OriginPolicy
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
        origins: OriginPolicy,
        options: GatewayOptions,
        authorizer: GatewayAuthorizer | None = None,
    ) -> None:
        self._app = app
        self._authorizer = authorizer
        self._routes = routes
        self._stage = stage
        self._api_id = api_id
        self._origins = origins
        self._options = options

    def add_routes(self, router: web.UrlDispatcher) -> None:
        methods: dict[str, set[str]] = defaultdict(set)
        for route_key in self._routes:
            method, resource = route_key.split(" ", 1)
            methods[resource].add(method)
            serve = self._handler(route_key, method, resource)
            router.add_route(method, resource, serve)
            router.add_route(method, f"/{self._stage}{resource}", serve)
        for resource, allowed in methods.items():
            preflight = self._preflight(allowed)
            router.add_route("OPTIONS", resource, preflight)
            router.add_route("OPTIONS", f"/{self._stage}{resource}", preflight)

    def _preflight(
        self, methods: set[str]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def answer(request: web.Request) -> web.StreamResponse:
            return self._origins.preflight(request, methods)

        return answer

    async def _admitted(self, request: web.Request) -> bytes | web.Response:
        """The body, or the answer that refuses the request."""
        # The media type first: a browser's cross-site text/plain or form POST (sent without
        # a preflight) is 415 whatever its Origin; then the Origin of any other.
        refused = unsupported_media_type(request) or self._origins.check(request)
        if refused is not None:
            return refused
        try:
            return await read_body(
                request, self._options.body_timeout_s, self._options.max_body_bytes
            )
        except BodyRefused as error:
            return error.answer

    def _handler(
        self, route_key: str, method: str, resource: str
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        handle = self._routes[route_key]

        async def serve(request: web.Request) -> web.StreamResponse:
            answer = await self._answer(request, handle, route_key, method, resource)
            answer.headers.update(self._origins.cors_headers(request))
            return answer

        return serve

    async def _answer(
        self,
        request: web.Request,
        handle: RouteHandler,
        route_key: str,
        method: str,
        resource: str,
    ) -> web.Response:
        body = await self._admitted(request)
        if isinstance(body, web.Response):
            return body
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
                body=body,
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
