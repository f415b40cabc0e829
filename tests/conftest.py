"""Shared fixtures: the local gateway in process on a free port, and a WebSocket client.

Async tests run on anyio's pytest plugin (``@pytest.mark.anyio``) over asyncio.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from adapters.bootstrap import build_app
from adapters.local_gateway import RunningGateway, serving
from adapters.settings import Settings
from handlers.functions import FUNCTIONS
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from testsupport.profiles import IN_PROCESS

# The scripted model streams as fast as it can, deltas coalesce over 20 ms and a stop is
# noticed within 50 ms, so a whole exchange takes a few tens of milliseconds.
FAST_ENV = {
    **IN_PROCESS,
    "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
    "AZUCHI_COALESCE_MS": "20",
    "AZUCHI_HEARTBEAT_MS": "50",
}
TIMEOUT_S = 5.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Client:
    """A real WebSocket client speaking wire protocol v1, with a timeout on every receive."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))  # type: ignore[no-any-return]

    async def recv_until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT_S
    ) -> list[dict[str, Any]]:
        """Every frame up to and including the first that satisfies ``predicate``."""
        frames: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                frames.append(await self.recv(timeout))
                if predicate(frames[-1]):
                    return frames

    async def recv_type(self, kind: str, timeout: float = TIMEOUT_S) -> list[dict[str, Any]]:
        return await self.recv_until(lambda f: f.get("type") == kind, timeout)

    async def session_id(self) -> str:
        """Asks for the routes (any frame does) to learn the connection's session id."""
        await self.send(action="hello")
        return str((await self.recv_type("routes"))[-1]["sessionId"])

    async def history(self, **query: Any) -> list[dict[str, Any]]:
        await self.send(action="getMessages", **query)
        return list((await self.recv_type("history"))[-1]["messages"])


@pytest.fixture
async def start_gateway() -> AsyncIterator[Callable[..., Any]]:
    """``await start_gateway(env={...}, websocket_routes=...)`` serves a fresh in-process
    stack on a free port for the rest of the test."""
    async with AsyncExitStack() as stack:

        async def start(
            env: dict[str, str] | None = None,
            websocket_routes: dict[str, Any] | None = None,
            rest_routes: dict[str, Any] | None = None,
        ) -> RunningGateway:
            app = build_app(Settings.from_env({**FAST_ENV, **(env or {})}))
            return await stack.enter_async_context(
                serving(
                    app,
                    websocket_routes=websocket_routes or WEBSOCKET_ROUTES,
                    rest_routes=rest_routes or REST_ROUTES,
                    functions=FUNCTIONS,
                    host="127.0.0.1",
                    port=0,
                )
            )

        yield start


@pytest.fixture
async def gateway(start_gateway: Callable[..., Any]) -> RunningGateway:
    return await start_gateway()  # type: ignore[no-any-return]


@pytest.fixture
async def open_client() -> AsyncIterator[Callable[..., Any]]:
    """``await open_client(gateway, session_id=None)``: a connected Client, closed at the end."""
    async with AsyncExitStack() as stack:

        async def open_(gateway: RunningGateway, session_id: str | None = None) -> Client:
            url = gateway.ws_url + (f"?sessionId={session_id}" if session_id else "")
            ws = await stack.enter_async_context(_connect(url))
            return Client(ws)

        yield open_


@asynccontextmanager
async def _connect(url: str) -> AsyncIterator[ClientConnection]:
    async with connect(url, open_timeout=TIMEOUT_S, close_timeout=1, max_size=None) as ws:
        yield ws
