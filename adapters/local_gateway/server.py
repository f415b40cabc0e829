"""One aiohttp server that plays API Gateway for the local stack (DESIGN §6).

    ws://HOST:PORT/{stage}                         WebSocket API     (websocket.py)
    http://HOST:PORT/{stage}/@connections/{id}     management API    (management.py)
    http://HOST:PORT/api/...  (and /{stage}/api/)  REST proxy routes (rest.py)
    http://HOST:PORT/  /config.json  /healthz      frontend          (frontend.py)
    http://HOST:PORT/_azuchi/stats                 counters for the cost model (stats.py)

The routes are handed in (``handlers.routes`` in production), so the same handler functions
that run in Lambda run here unchanged, and this package never imports the handlers; so are
the functions they run as (``handlers.functions``), which the stats count by.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from adapters.bootstrap import App
from adapters.local_gateway.authorizer import Authorize, GatewayAuthorizer
from adapters.local_gateway.connection import ClientConnection
from adapters.local_gateway.events import new_api_id
from adapters.local_gateway.frontend import DEFAULT_FRONTEND_DIR, Frontend
from adapters.local_gateway.management import ManagementApi
from adapters.local_gateway.rest import RestApi
from adapters.local_gateway.stats import STATS_PATH, DeployedFunction, GatewayStats
from adapters.local_gateway.websocket import RouteHandler, WebSocketApi

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunningGateway:
    """A listening gateway: the app it serves and where to reach it."""

    app: App
    host: str
    port: int
    stage: str
    connections: Mapping[str, ClientConnection]
    stats: GatewayStats | None = None

    @property
    def _reachable_host(self) -> str:
        if self.host in ("", "0.0.0.0"):
            return "127.0.0.1"
        if ":" in self.host:
            return "[::1]" if self.host == "::" else f"[{self.host}]"
        return self.host

    @property
    def http_url(self) -> str:
        return f"http://{self._reachable_host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._reachable_host}:{self.port}/{self.stage}"

    @property
    def management_url(self) -> str:
        """The endpoint for the ``apigatewaymanagementapi`` client (``endpoint_url``)."""
        return f"{self.http_url}/{self.stage}"


def build_web_app(
    app: App,
    websocket_routes: Mapping[str, RouteHandler],
    rest_routes: Mapping[str, RouteHandler],
    connections: dict[str, ClientConnection],
    frontend_dir: Path = DEFAULT_FRONTEND_DIR,
    stats: GatewayStats | None = None,
    authorize: Authorize | None = None,
) -> tuple[web.Application, WebSocketApi]:
    stage = app.settings.stage
    api_id = new_api_id()
    if stats is not None:  # counted where API Gateway and Lambda would bill
        websocket_routes = stats.wrap_routes(websocket_routes)
        rest_routes = stats.wrap_routes(rest_routes)
        if authorize is not None:
            authorize = stats.wrap_authorizer(authorize)
    on_send = stats.sent if stats is not None else None
    authorizer = GatewayAuthorizer(authorize) if authorize is not None else None
    sockets = WebSocketApi(app, websocket_routes, connections, stage, api_id, on_send, authorizer)
    web_app = web.Application()
    router = web_app.router
    router.add_get(f"/{stage}", sockets.handle)
    ManagementApi(connections).add_routes(router, stage)
    RestApi(app, rest_routes, stage, api_id, authorizer).add_routes(router)
    if stats is not None:
        router.add_get(STATS_PATH, stats.handle)
    Frontend(frontend_dir, stage).add_routes(router)  # last: it ends with a catch-all
    return web_app, sockets


@asynccontextmanager
async def serving(
    app: App,
    *,
    websocket_routes: Mapping[str, RouteHandler],
    rest_routes: Mapping[str, RouteHandler],
    functions: Sequence[DeployedFunction] = (),
    host: str = "127.0.0.1",
    port: int = 8000,
    frontend_dir: Path = DEFAULT_FRONTEND_DIR,
    authorize: Authorize | None = None,
) -> AsyncIterator[RunningGateway]:
    """Serves ``app`` on host:port (port 0: any free port) for as long as the block runs,
    inside ``async with app`` (the app starts with the server and closes with it: its
    launcher, its clients). On exit every client is closed with 1001. ``functions``
    (``handlers.functions.FUNCTIONS``) name what each route runs as in the stats the cost
    model reads. ``authorize`` (sign-in on: handlers/authorize.py's) runs before $connect
    and each REST request, as API Gateway runs a Lambda REQUEST authorizer."""
    connections: dict[str, ClientConnection] = {}
    stats = GatewayStats(functions, app.meters)
    app.observe_replies(stats.wrap_reply_run)
    web_app, sockets = build_web_app(
        app, websocket_routes, rest_routes, connections, frontend_dir, stats, authorize
    )
    listener = _listen(host, port)  # a busy port raises OSError here, plainly
    async with app:
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.SockSite(runner, listener).start()
            bound = listener.getsockname()[1]
            yield RunningGateway(app, host, int(bound), app.settings.stage, connections, stats)
        finally:
            await sockets.close_all()
            await runner.cleanup()
            listener.close()


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
        listener.setblocking(False)
    except OSError:
        listener.close()
        raise
    return listener
