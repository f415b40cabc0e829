"""The WebSocket API at ``ws://HOST:PORT/{stage}``, played the way API Gateway plays it.

Lifecycle of one socket:

    upgrade request ──► Origin not allowed: 403 (origins.py)
                    ──► $connect handler ──► non-2xx: refuse the handshake with that status
                                         └─► 2xx: upgrade, attach to the hub, start the
                                              idle / max-duration watch
    each text frame ──► route on $request.body.action ──► its handler, as its own task
                        (API Gateway invokes integrations concurrently: a slow putMessage
                        must not hold up the stopGeneration sent after it)
    binary frame ─────► close 1003;  message over 128 KB ──► close 1009
    close (any side) ─► detach from the hub ──► $disconnect handler
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from adapters.bootstrap import App
from adapters.local_gateway.authorizer import GatewayAuthorizer, method_arn
from adapters.local_gateway.connection import ClientConnection
from adapters.local_gateway.events import (
    Event,
    SocketInfo,
    connect_event,
    disconnect_event,
    message_event,
    new_gateway_id,
    now_ms,
    select_route,
)
from adapters.local_gateway.origins import OriginPolicy
from adapters.local_gateway.responses import (
    INTERNAL_ERROR,
    internal_error_response,
    proxy_response,
)
from core.config import MAX_FRAME_BYTES

log = logging.getLogger(__name__)

RouteHandler = Callable[[Event, Any], Awaitable[dict[str, Any]]]


class WebSocketApi:
    def __init__(
        self,
        app: App,
        routes: Mapping[str, RouteHandler],
        connections: dict[str, ClientConnection],
        stage: str,
        api_id: str,
        on_send: Callable[[int], None] | None = None,
        origins: OriginPolicy | None = None,
        authorizer: GatewayAuthorizer | None = None,
    ) -> None:
        self._app = app
        self._origins = origins
        self._authorizer = authorizer
        self._on_send = on_send
        self._routes = routes
        self._connections = connections
        self._stage = stage
        self._api_id = api_id
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        refused = self._origins.check(request) if self._origins is not None else None
        if refused is not None:  # before $connect: a refused page costs nothing
            log.info("handshake refused: Origin %r", request.headers.get("Origin"))
            return refused
        probe = web.WebSocketResponse()
        if not probe.can_prepare(request).ok:
            return web.Response(
                status=426,
                text=f"This is a WebSocket API: connect with ws://{request.host}/{self._stage}\n",
                headers={"Upgrade": "websocket"},
            )
        info = SocketInfo(
            connection_id=new_gateway_id(),
            connected_at=now_ms(),
            source_ip=request.remote or "",
            user_agent=request.headers.get("User-Agent", ""),
            domain_name=request.host,
            stage=self._stage,
            api_id=self._api_id,
        )
        headers = [*request.headers.items(), *_forwarded(request)]
        event = connect_event(info, headers, request.query.items())
        if self._authorizer is not None:  # sign-in on: the $connect authorizer runs first
            arn = method_arn(self._api_id, self._stage, "$connect")
            allowed = await self._authorizer.authorize(event, arn)
            if isinstance(allowed, web.Response):
                return allowed
            info = dataclasses.replace(info, authorizer=allowed)
            event = connect_event(info, headers, request.query.items())
        result = await self._invoke("$connect", event)
        if result is None:
            return internal_error_response()
        if not 200 <= int(result.get("statusCode", 200)) < 300:
            log.info("handshake refused with %s: %s", result.get("statusCode"), result.get("body"))
            return proxy_response(result)

        # A subprotocol is accepted only when $connect echoes it, as on API Gateway.
        protocol = _header(result, "Sec-WebSocket-Protocol")
        ws = web.WebSocketResponse(
            max_msg_size=MAX_FRAME_BYTES, protocols=(protocol,) if protocol else ()
        )
        settings = self._app.settings
        transport = request.transport
        conn = ClientConnection(
            ws,
            info,
            settings.idle_timeout_s,
            settings.max_connection_s,
            self._on_send,
            send_timeout_s=settings.send_timeout_s,
            abort=transport.abort if transport is not None else None,
        )
        try:
            await ws.prepare(request)
        except (ConnectionError, RuntimeError):
            await self._disconnect(conn, WSCloseCode.ABNORMAL_CLOSURE, "Connection lost")
            return ws
        self._connections[info.connection_id] = conn
        self._app.hub.attach(info.connection_id, conn)
        log.info("connected %s from %s", info.connection_id, info.source_ip)
        watch = asyncio.create_task(conn.watch_limits())
        code: int = WSCloseCode.ABNORMAL_CLOSURE
        reason = "Connection lost"
        try:
            code, reason = await self._read(conn)
        finally:
            watch.cancel()
            await conn.wait_closed()
            await self._disconnect(conn, code, reason)
        return ws

    async def close_all(self) -> None:
        """Server shutdown: every client is told the server is going away."""
        await asyncio.gather(
            *(
                conn.close_with(WSCloseCode.GOING_AWAY, "Going away", "Server shutting down")
                for conn in list(self._connections.values())
            )
        )
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()

    async def _read(self, conn: ClientConnection) -> tuple[int, str]:
        ws = conn.ws
        while True:
            msg = await ws.receive()
            if msg.type is WSMsgType.TEXT:
                conn.touch()
                self._spawn(self._on_frame(conn, msg.data))
            elif msg.type is WSMsgType.BINARY:
                await conn.close_with(
                    WSCloseCode.UNSUPPORTED_DATA,
                    "Binary frames are not supported",
                    "Binary frames are not supported",
                )
            elif msg.type is WSMsgType.CLOSE and conn.close_code is None:
                code = int(msg.data)
                extra = msg.extra or ""
                return code, f"Client-side close frame status code '{code}' and reason '{extra}'"
            elif msg.type is WSMsgType.ERROR and ws.close_code == WSCloseCode.MESSAGE_TOO_BIG:
                return WSCloseCode.MESSAGE_TOO_BIG, "Message too big"
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                break
            elif msg.type is WSMsgType.ERROR:
                log.info("connection %s failed: %s", conn.connection_id, msg.data)
                break
        if conn.close_code is not None:
            return conn.close_code, conn.close_reason
        return ws.close_code or WSCloseCode.ABNORMAL_CLOSURE, "Connection lost"

    async def _on_frame(self, conn: ClientConnection, body: str) -> None:
        route_key = select_route(body, self._routes)
        event = message_event(conn.info, route_key, body)
        if route_key not in self._routes:
            await self._tell(conn, "Forbidden", event)  # API Gateway's answer to a missing route
            return
        if await self._invoke(route_key, event) is None:
            await self._tell(conn, INTERNAL_ERROR, event)

    async def _tell(self, conn: ClientConnection, message: str, event: Event) -> None:
        context = event["requestContext"]
        frame = {
            "message": message,
            "connectionId": context["connectionId"],
            "requestId": context["requestId"],
        }
        try:
            await conn.send(json.dumps(frame))
        except ConnectionError:
            pass

    async def _disconnect(self, conn: ClientConnection, code: int, reason: str) -> None:
        cid = conn.connection_id
        self._connections.pop(cid, None)
        self._app.hub.detach(cid)
        log.info("disconnected %s (%s %s)", cid, code, reason)
        await self._invoke("$disconnect", disconnect_event(conn.info, int(code), reason))

    async def _invoke(self, route_key: str, event: Event) -> dict[str, Any] | None:
        """The handler's result, or None when it raised (logged, as Lambda would)."""
        handler = self._routes.get(route_key)
        if handler is None:
            return {"statusCode": 200}
        try:
            result = await handler(event, self._app)
        except Exception:
            log.exception("%s handler failed", route_key)
            return None
        return result if isinstance(result, dict) else {"statusCode": 200}

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _forwarded(request: web.Request) -> list[tuple[str, str]]:
    """The X-Forwarded-* headers API Gateway adds to what the client sent."""
    extra = {
        "X-Forwarded-For": request.remote or "",
        "X-Forwarded-Port": str(request.url.port or ""),
        "X-Forwarded-Proto": request.scheme,
    }
    return [(k, v) for k, v in extra.items() if k not in request.headers]


def _header(result: Mapping[str, Any], name: str) -> str | None:
    for key, value in (result.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None
