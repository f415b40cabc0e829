"""Sign-in on `azuchi serve`: the gateway runs the authorizer's code before $connect and
each REST request, as API Gateway runs a Lambda REQUEST authorizer, and real clients see
what a browser would: 401 for a refused token, 403 for another user's session, the
signed-in user's chats over listSessions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from adapters.auth.settings import AuthSettings
from adapters.bootstrap import build_app
from adapters.local_gateway import RunningGateway, serving
from adapters.settings import Settings
from handlers.cli import _authorizer
from handlers.functions import FUNCTIONS
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from tests.conftest import FAST_ENV, TIMEOUT_S, Client
from testsupport.issuer import TestIssuer

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer(audience="azuchi-web") as running:
        yield running


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as exits:
        yield exits


async def start(
    stack: AsyncExitStack, issuer: TestIssuer, *, required: bool = False
) -> RunningGateway:
    env = {**FAST_ENV, **issuer.env(required=required)}
    settings = Settings.from_env(env)
    authorize = _authorizer(AuthSettings.from_env(settings.env))
    assert authorize is not None
    return await stack.enter_async_context(
        serving(
            build_app(settings),
            websocket_routes=WEBSOCKET_ROUTES,
            rest_routes=REST_ROUTES,
            functions=FUNCTIONS,
            port=0,
            authorize=authorize,
        )
    )


async def open_as(
    stack: AsyncExitStack, gateway: RunningGateway, token: str | None, session_id: str | None = None
) -> Client:
    query = {k: v for k, v in (("access_token", token), ("sessionId", session_id)) if v}
    url = gateway.ws_url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    ws = await stack.enter_async_context(connect(url, open_timeout=TIMEOUT_S, close_timeout=1))
    return Client(ws)


async def refused(
    stack: AsyncExitStack, gateway: RunningGateway, token: str | None, session_id: str | None = None
) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as caught:
        await open_as(stack, gateway, token, session_id)
    response = caught.value.response
    return response.status_code, json.loads(response.body.decode())


async def test_a_signed_in_user_lists_their_chats_and_anonymous_chats_stay_apart(
    stack: AsyncExitStack, issuer: TestIssuer
) -> None:
    gateway = await start(stack, issuer)
    alice = await open_as(stack, gateway, issuer.mint("alice"))
    first = await alice.session_id()
    await alice.send(action="renameSession", title="Alice's first")
    await alice.recv_type("session")
    second_tab = await open_as(stack, gateway, issuer.mint("alice"))
    second = await second_tab.session_id()
    anonymous = await open_as(stack, gateway, None)
    await anonymous.send(action="hello")
    routes = (await anonymous.recv_type("routes"))[-1]
    assert "listSessions" not in routes["routes"]
    await second_tab.send(action="hello")
    assert "listSessions" in (await second_tab.recv_type("routes"))[-1]["routes"]
    await second_tab.send(action="listSessions")
    listed = (await second_tab.recv_type("sessions"))[-1]
    assert [s["sessionId"] for s in listed["sessions"]] == [second, first]
    assert listed["sessions"][1]["title"] == "Alice's first" and listed["next"] is None


@pytest.mark.parametrize(
    ("mint", "code"),
    [
        (lambda i: i.mint("alice", exp=1), "TOKEN_EXPIRED"),
        (lambda i: i.mint("alice", aud="another-app"), "TOKEN_WRONG_AUDIENCE"),
        (lambda i: i.mint("alice", iss="https://elsewhere.example"), "TOKEN_WRONG_ISSUER"),
        (lambda i: "not.a.token", "TOKEN_MALFORMED"),
    ],
)
async def test_a_refused_token_refuses_the_handshake_with_401(
    stack: AsyncExitStack, issuer: TestIssuer, mint: Any, code: str
) -> None:
    gateway = await start(stack, issuer)
    status, body = await refused(stack, gateway, mint(issuer))
    assert (status, body["code"]) == (401, code)
    assert not gateway.connections
    assert gateway.stats is not None  # the cost model's input: the refusal was billed
    assert gateway.stats.functions["authorize"].invocations == 1
    assert gateway.stats.functions["authorize"].memory_mb == 128
    assert "connect" not in gateway.stats.functions  # $connect never ran


async def test_no_token_is_refused_only_where_sign_in_is_required(
    stack: AsyncExitStack, issuer: TestIssuer
) -> None:
    required = await start(stack, issuer, required=True)
    status, body = await refused(stack, required, None)
    assert (status, body["code"]) == (401, "TOKEN_REQUIRED")
    optional = await start(stack, issuer)
    assert await (await open_as(stack, optional, None)).session_id()


async def test_resuming_another_users_session_is_refused_with_403(
    stack: AsyncExitStack, issuer: TestIssuer
) -> None:
    gateway = await start(stack, issuer)
    alices = await (await open_as(stack, gateway, issuer.mint("alice"))).session_id()
    for intruder in (issuer.mint("bob"), None):
        status, body = await refused(stack, gateway, intruder, alices)
        assert (status, body["code"]) == (403, "SESSION_FORBIDDEN")
    again = await open_as(stack, gateway, issuer.mint("alice"), alices)
    assert await again.session_id() == alices


async def test_the_rest_api_checks_the_bearer_against_the_sessions_owner(
    stack: AsyncExitStack, issuer: TestIssuer
) -> None:
    gateway = await start(stack, issuer)
    alices = await (await open_as(stack, gateway, issuer.mint("alice"))).session_id()
    url = f"{gateway.http_url}/api/v1/chat/sessions/{alices}/reply/generate"
    async with aiohttp.ClientSession() as http:
        for token, status in (
            (issuer.mint("bob"), 403),
            (None, 403),
            ("garbage", 401),
            (issuer.mint("alice"), 202),
        ):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.post(url, json={"message": "hi"}, headers=headers) as answer:
                assert answer.status == status, await answer.text()
