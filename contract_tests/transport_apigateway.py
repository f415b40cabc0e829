"""The API Gateway transport's provider for the transport contract suite.

Each test gets a local API Gateway (``adapters.local_gateway``) on a free port; the adapter
under test posts to its management API with the real aioboto3 client
(``AZUCHI_APIGW_ENDPOINT``), and peers are real WebSocket clients of that gateway.
Registered in ``backends.PROVIDERS`` as ``("transport", "apigateway")``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from adapters.bootstrap import build_app
from adapters.local_gateway import RunningGateway, serving
from adapters.registry import AdapterSpec, BuildContext
from adapters.settings import Settings
from contract_tests.providers import TransportProvider, TransportRig
from testsupport.profiles import IN_PROCESS

TIMEOUT_S = 5.0
QUIET_S = 0.05  # after a ping's pong, a frame already sent is queued: no wait beyond this


class SocketPeer:
    """A WebSocket client of the local gateway. ``received`` sends a ping and waits for its
    pong: the server wrote every earlier frame before the pong, so they have all arrived."""

    def __init__(self, connection_id: str, ws: ClientConnection) -> None:
        self.connection_id = connection_id
        self.ws = ws
        self._frames: list[str] = []

    async def received(self) -> list[str]:
        try:
            await asyncio.wait_for(await self.ws.ping(), TIMEOUT_S)
        except ConnectionClosed:
            pass  # closed: whatever came before the close is queued already
        while True:
            try:
                frame = await asyncio.wait_for(self.ws.recv(), QUIET_S)
            except (TimeoutError, ConnectionClosed):
                return list(self._frames)
            self._frames.append(frame if isinstance(frame, str) else frame.decode())

    async def hang_up(self) -> None:
        await self.ws.close()

    async def was_closed(self) -> bool:
        try:
            await asyncio.wait_for(self.ws.wait_closed(), TIMEOUT_S)
        except TimeoutError:
            return False
        return True


class Sockets:
    """Opens peers on one gateway and learns each one's connection id from its $connect."""

    def __init__(self, gateway: RunningGateway, ids: list[str], stack: AsyncExitStack) -> None:
        self._gateway = gateway
        self._ids = ids
        self._stack = stack

    async def open(self) -> SocketPeer:
        ws = await self._stack.enter_async_context(
            connect(self._gateway.ws_url, open_timeout=TIMEOUT_S, max_size=None, max_queue=None)
        )
        connection_id = self._ids[-1]  # $connect runs before the handshake completes
        async with asyncio.timeout(TIMEOUT_S):  # the gateway lists it right after the upgrade
            while connection_id not in self._gateway.connections:
                await asyncio.sleep(0.005)
        return SocketPeer(connection_id, ws)


@asynccontextmanager
async def local_gateway() -> AsyncIterator[tuple[RunningGateway, Sockets]]:
    """A gateway in front of an in-process app whose only route records connection ids."""
    ids: list[str] = []

    async def on_connect(event: dict[str, Any], app: Any) -> dict[str, Any]:
        ids.append(event["requestContext"]["connectionId"])
        return {"statusCode": 200}

    # The management API is on the admin listener (127.0.0.1, a free port).
    app = build_app(Settings.from_env({**IN_PROCESS, "AZUCHI_ADMIN_PORT": "0"}))
    async with AsyncExitStack() as stack:
        gateway = await stack.enter_async_context(
            serving(app, websocket_routes={"$connect": on_connect}, rest_routes={}, port=0)
        )
        yield gateway, Sockets(gateway, ids, stack)


class ApiGatewayTransportProvider(TransportProvider):
    def __init__(self) -> None:
        self._restore: Any = None

    def environment(self) -> dict[str, str]:
        if self._restore is None:
            from testsupport.aws_credentials import use_dummy_credentials

            # The SDK signs every request; the emulator, like DynamoDB Local, checks nothing.
            self._restore = use_dummy_credentials()
        env = {"AWS_REGION": "us-east-1"}
        # AZUCHI_AWS_CLIENT=lite: the suite on the standard-library client (adapters/aws/lite).
        if client := os.environ.get("AZUCHI_AWS_CLIENT", "").strip():
            env["AZUCHI_AWS_CLIENT"] = client
        return env

    def shutdown(self) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None

    @asynccontextmanager
    async def open(self, spec: AdapterSpec, **knobs: object) -> AsyncIterator[TransportRig]:
        async with local_gateway() as (gateway, sockets):
            base = self.context(spec, **knobs)
            env = {**base.settings.env, "AZUCHI_APIGW_ENDPOINT": gateway.management_url}
            ctx = BuildContext(Settings.from_env(env), base.clock, base.hub)
            try:
                yield TransportRig(spec.factory(ctx), sockets.open)
            finally:
                await ctx.resources.aclose()
