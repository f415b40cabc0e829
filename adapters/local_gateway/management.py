"""The management API: ``/{stage}/@connections/{connectionId}`` (POST, GET, DELETE).

It speaks the wire format of the real service (``apigatewaymanagementapi``, a rest-json
protocol), so boto3's client works against it unchanged: errors carry their name in the
``x-amzn-ErrorType`` header, and GetConnection answers with the lower-camel field names
of the service model (``connectedAt``, ``lastActiveAt``, ``identity``). It is served on
the admin listener only (127.0.0.1, ``AZUCHI_ADMIN_PORT``), never where browsers connect.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

from aiohttp import web

from adapters.local_gateway.connection import ClientConnection
from adapters.local_gateway.events import iso8601
from core.config import MAX_FRAME_BYTES


def _error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response(
        {"message": message},
        status=status,
        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
    )


def _gone(connection_id: str) -> web.Response:
    return _error(410, "GoneException", f"Connection {connection_id} is gone")


class ManagementApi:
    def __init__(self, connections: Mapping[str, ClientConnection], body_timeout_s: float) -> None:
        self._connections = connections
        self._body_timeout_s = body_timeout_s

    def add_routes(self, router: web.UrlDispatcher, stage: str) -> None:
        path = f"/{stage}/@connections/{{connectionId}}"
        router.add_post(path, self.post)
        router.add_get(path, self.get, allow_head=False)
        router.add_delete(path, self.delete)

    def _live(self, request: web.Request) -> ClientConnection | None:
        conn = self._connections.get(request.match_info["connectionId"])
        return conn if conn is not None and conn.open else None

    async def post(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(self._body_timeout_s):
                data = await request.read()
        except TimeoutError:
            return _error(408, "RequestTimeoutException", "The body did not arrive in time")
        if len(data) > MAX_FRAME_BYTES:
            return _error(
                413,
                "PayloadTooLargeException",
                f"Message of {len(data)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit",
            )
        conn = self._live(request)
        if conn is None:
            return _gone(request.match_info["connectionId"])
        try:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                await conn.send_bytes(data)
            else:
                await conn.send(text)
        except ConnectionError:
            return _gone(conn.connection_id)
        return web.Response(status=200, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    async def get(self, request: web.Request) -> web.Response:
        conn = self._live(request)
        if conn is None:
            return _gone(request.match_info["connectionId"])
        return web.json_response(
            {
                "connectedAt": iso8601(conn.info.connected_at),
                "lastActiveAt": iso8601(conn.last_active_at),
                "identity": {"sourceIp": conn.info.source_ip, "userAgent": conn.info.user_agent},
            }
        )

    async def delete(self, request: web.Request) -> web.Response:
        conn = self._live(request)
        if conn is None:
            return _gone(request.match_info["connectionId"])
        await conn.close()
        return web.Response(status=204)
