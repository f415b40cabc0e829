"""One aiohttp process that plays API Gateway for the local stack (DESIGN §6), on two
listeners:

    public, HOST:PORT (what a browser reaches)
    ws://HOST:PORT/{stage}                         WebSocket API     (websocket.py)
    http://HOST:PORT/api/...  (and /{stage}/api/)  REST proxy routes (rest.py)
    http://HOST:PORT/  /config.json  /healthz      frontend          (frontend.py)

    admin, 127.0.0.1:AZUCHI_ADMIN_PORT (off unless asked for; never on another address)
    http://127.0.0.1:A/{stage}/@connections/{id}   management API    (management.py)
    http://127.0.0.1:A/_azuchi/stats               counters for the cost model (stats.py)

The management API reads a connection's IP and user agent, posts any frame to it and
closes it, given only its id (which error frames carry): on API Gateway it is behind IAM,
here it is behind the loopback interface and a port nobody opens by accident. The public
listener checks the ``Origin`` of handshakes and REST calls (origins.py), times and caps
what clients send (deadline.py, body.py) and puts security headers on every answer
(http_policy.py).

The routes are handed in (``handlers.routes`` in production), so the same handler functions
that run in Lambda run here unchanged, and this package never imports the handlers; so are
the functions they run as (``handlers.functions``), which the stats count by.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from adapters.bootstrap import App
from adapters.local_gateway.authorizer import Authorize, GatewayAuthorizer
from adapters.local_gateway.connection import ClientConnection
from adapters.local_gateway.deadline import guarded
from adapters.local_gateway.events import new_api_id
from adapters.local_gateway.frontend import DEFAULT_FRONTEND_DIR, Frontend
from adapters.local_gateway.http_policy import add_security_headers, refuse_malformed_paths
from adapters.local_gateway.management import ManagementApi
from adapters.local_gateway.options import ADMIN_HOST, GatewayOptions
from adapters.local_gateway.origins import OriginPolicy
from adapters.local_gateway.rest import RestApi
from adapters.local_gateway.stats import STATS_PATH, DeployedFunction, GatewayStats
from adapters.local_gateway.websocket import RouteHandler, WebSocketApi

log = logging.getLogger(__name__)

LINGER_S = 1.0


@dataclass(frozen=True, slots=True)
class RunningGateway:
    """A listening gateway: the app it serves and where to reach it."""

    app: App
    host: str
    port: int
    stage: str
    connections: Mapping[str, ClientConnection]
    stats: GatewayStats | None = None
    admin_port: int | None = None  # None: no admin listener

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
    def admin_url(self) -> str | None:
        """The admin listener (@connections, stats), or None when it is off."""
        return None if self.admin_port is None else f"http://{ADMIN_HOST}:{self.admin_port}"

    @property
    def management_url(self) -> str:
        """The endpoint for the ``apigatewaymanagementapi`` client (``endpoint_url``)."""
        return f"{self._admin()}/{self.stage}"

    @property
    def stats_url(self) -> str:
        return f"{self._admin()}{STATS_PATH}"

    def _admin(self) -> str:
        if self.admin_url is None:
            raise RuntimeError(
                "the admin listener is off: set AZUCHI_ADMIN_PORT (0 for any free port)"
            )
        return self.admin_url


@dataclass(frozen=True, slots=True)
class WebApps:
    public: web.Application
    admin: web.Application
    sockets: WebSocketApi


def build_web_apps(
    app: App,
    websocket_routes: Mapping[str, RouteHandler],
    rest_routes: Mapping[str, RouteHandler],
    connections: dict[str, ClientConnection],
    origins: OriginPolicy,
    options: GatewayOptions,
    frontend_dir: Path = DEFAULT_FRONTEND_DIR,
    stats: GatewayStats | None = None,
    authorize: Authorize | None = None,
) -> WebApps:
    stage = app.settings.stage
    api_id = new_api_id()
    if stats is not None:  # counted where API Gateway and Lambda would bill
        websocket_routes = stats.wrap_routes(websocket_routes)
        rest_routes = stats.wrap_routes(rest_routes)
        if authorize is not None:
            authorize = stats.wrap_authorizer(authorize)
    on_send = stats.sent if stats is not None else None
    authorizer = GatewayAuthorizer(authorize) if authorize is not None else None
    sockets = WebSocketApi(
        app, websocket_routes, connections, stage, api_id, on_send, origins, authorizer
    )
    public = web.Application(
        middlewares=[refuse_malformed_paths], client_max_size=options.max_body_bytes
    )
    public.on_response_prepare.append(add_security_headers)
    router = public.router
    router.add_get(f"/{stage}", sockets.handle)
    RestApi(app, rest_routes, stage, api_id, origins, options, authorizer).add_routes(router)
    Frontend(frontend_dir, stage).add_routes(router)  # last: it ends with a catch-all

    admin = web.Application(middlewares=[refuse_malformed_paths])
    ManagementApi(connections, options.body_timeout_s).add_routes(admin.router, stage)
    if stats is not None:
        admin.router.add_get(STATS_PATH, stats.handle)
    return WebApps(public, admin, sockets)


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
    options: GatewayOptions | None = None,
    authorize: Authorize | None = None,
) -> AsyncIterator[RunningGateway]:
    """Serves ``app`` on host:port (port 0: any free port) for as long as the block runs,
    inside ``async with app`` (the app starts with the server and closes with it: its
    launcher, its clients). On exit every client is closed with 1001. ``functions``
    (``handlers.functions.FUNCTIONS``) name what each route runs as in the stats the cost
    model reads. ``options`` (default: from the app's settings) say what is let in, and
    whether the admin listener runs. ``authorize`` (sign-in on: handlers/authorize.py's)
    runs before $connect and each REST request, as API Gateway runs a Lambda REQUEST
    authorizer."""
    options = options or GatewayOptions.from_env(app.settings.env)
    connections: dict[str, ClientConnection] = {}
    stats = GatewayStats(functions, app.meters)
    app.observe_replies(stats.wrap_reply_run)
    async with AsyncExitStack() as stack:
        listener = _listen(host, port)  # a busy port raises OSError here, plainly
        stack.callback(listener.close)
        admin_listener = None
        if options.admin_port is not None:
            try:
                admin_listener = _listen(ADMIN_HOST, options.admin_port)
            except OSError as error:  # name which port, the message says the public one
                where = f"{ADMIN_HOST}:{options.admin_port}"
                raise OSError(error.errno, f"{error.strerror} (the admin port {where})") from None
            stack.callback(admin_listener.close)
        bound = int(listener.getsockname()[1])
        origins = OriginPolicy(host, bound, options.allowed_origins)
        apps = build_web_apps(
            app,
            websocket_routes,
            rest_routes,
            connections,
            origins,
            options,
            frontend_dir,
            stats,
            authorize,
        )
        await stack.enter_async_context(app)
        public = web.AppRunner(
            apps.public,
            access_log=None,
            handle_signals=False,
            # Later requests on a kept-alive connection: aiohttp closes it when the next
            # one has not fully arrived within this (the first is timed by HeaderGuard).
            keepalive_timeout=options.header_timeout_s,
            max_line_size=options.max_header_bytes,
            max_field_size=options.max_header_bytes,
            # A refused body is drained this long (so the client reads the answer), not 10 s.
            lingering_time=LINGER_S,
        )
        await public.setup()
        stack.push_async_callback(public.cleanup)
        stack.push_async_callback(apps.sockets.close_all)  # before the runner's cleanup
        await GuardedSockSite(public, listener, options).start()
        admin_port = None
        if admin_listener is not None:
            admin = web.AppRunner(apps.admin, access_log=None, handle_signals=False)
            await admin.setup()
            stack.push_async_callback(admin.cleanup)
            await GuardedSockSite(admin, admin_listener, options).start()
            admin_port = int(admin_listener.getsockname()[1])
        yield RunningGateway(app, host, bound, app.settings.stage, connections, stats, admin_port)


class GuardedSockSite(web.SockSite):
    """A ``SockSite`` whose connections pass through ``HeaderGuard`` first."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, options: GatewayOptions):
        super().__init__(runner, sock)
        self._options = options

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        factory = guarded(server, self._options.header_timeout_s, self._options.max_header_bytes)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(factory, sock=self._sock, backlog=128)


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
