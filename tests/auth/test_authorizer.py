"""The $connect Lambda authorizer (handlers/authorize.py) with API Gateway REQUEST
authorizer events as AWS sends them: a WebSocket $connect (token in the query, as a
browser can send it) and a REST request (Authorization header)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.auth.authorizer import Authorizer
from adapters.auth.settings import AuthSettings
from core.errors import InvalidToken, SignInRequired
from handlers import authorize
from tests.handlers import samples
from testsupport.issuer import TestIssuer

pytestmark = pytest.mark.anyio

WS_ARN = samples.CONNECT_ARN
REST_ARN = (
    "arn:aws:execute-api:eu-west-1:123456789012:efgh5678/prod/POST/api/v1/chat/sessions/"
    "3f1c1f0e-8a4b-4c1e-9d2a-1b2c3d4e5f60/reply/generate"
)


def websocket_event(query: dict[str, str] | None = None) -> dict[str, Any]:
    return samples.connect_authorizer(query)


def rest_event(authorization: str | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return {
        "type": "REQUEST",
        "methodArn": REST_ARN,
        "resource": "/api/v1/chat/sessions/{sessionId}/reply/generate",
        "path": "/api/v1/chat/sessions/3f1c1f0e-8a4b-4c1e-9d2a-1b2c3d4e5f60/reply/generate",
        "httpMethod": "POST",
        "headers": headers,
        "queryStringParameters": {},
        "pathParameters": {"sessionId": "3f1c1f0e-8a4b-4c1e-9d2a-1b2c3d4e5f60"},
        "stageVariables": {},
        "requestContext": {"stage": "prod", "requestId": "c6af9ac6", "apiId": "efgh5678"},
    }


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer(audience="azuchi-web") as running:
        yield running


def authorizer(issuer: TestIssuer, *, required: bool = False) -> Authorizer:
    return Authorizer.from_settings(AuthSettings.from_env(issuer.env(required=required)))


def allowed(answer: dict[str, Any], arn: str) -> str:
    """The user id an Allow answer carries; checks the policy's shape."""
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}
    assert answer["policyDocument"]["Version"] == "2012-10-17"
    assert set(answer["context"]) == {"userId"}  # context values must be strings
    user_id: str = answer["context"]["userId"]
    assert answer["principalId"] == (user_id or "anonymous")
    return user_id


async def test_a_browser_token_in_the_query_lets_its_user_connect(issuer: TestIssuer) -> None:
    event = websocket_event({"access_token": issuer.mint("alice"), "sessionId": "x"})
    answer = await authorize.handle(event, authorizer(issuer))
    assert allowed(answer, WS_ARN) == "alice"


async def test_no_token_connects_anonymously_unless_sign_in_is_required(issuer: TestIssuer) -> None:
    assert allowed(await authorize.handle(websocket_event(), authorizer(issuer)), WS_ARN) == ""
    with pytest.raises(SignInRequired) as caught:
        await authorize.handle(websocket_event(), authorizer(issuer, required=True))
    assert caught.value.code == "TOKEN_REQUIRED"


async def test_a_bad_token_is_refused_even_where_anonymous_is_allowed(issuer: TestIssuer) -> None:
    """A caller who sent a token meant to sign in: letting them in anonymously would hide
    that their sign-in failed (and give them a chat list of nothing)."""
    expired = issuer.mint("alice", exp=1)
    with pytest.raises(InvalidToken) as caught:
        await authorize.handle(websocket_event({"access_token": expired}), authorizer(issuer))
    assert caught.value.code == "TOKEN_EXPIRED"


async def test_a_rest_call_signs_in_with_a_bearer_header(issuer: TestIssuer) -> None:
    auth = authorizer(issuer)
    answer = await authorize.handle(rest_event(f"Bearer {issuer.mint('bob')}"), auth)
    assert allowed(answer, REST_ARN) == "bob"
    with pytest.raises(InvalidToken) as caught:
        await authorize.handle(rest_event("Basic Ym9iOnNlY3JldA=="), auth)
    assert caught.value.code == "TOKEN_MALFORMED"


async def test_an_event_that_is_not_a_request_authorizer_event_is_refused(
    issuer: TestIssuer,
) -> None:
    token_event = {"type": "TOKEN", "authorizationToken": "x", "methodArn": WS_ARN}
    with pytest.raises(InvalidToken):
        await authorize.handle(token_event, authorizer(issuer))


def test_the_lambda_entry_answers_a_refusal_with_unauthorized(
    issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API Gateway turns an authorizer's "Unauthorized" error into a 401 for the client;
    an Allow reaches $connect as requestContext.authorizer."""
    for name, value in issuer.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(authorize, "_authorizer", None)
    event = websocket_event({"access_token": issuer.mint("alice", aud="other")})
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize.handler(copy.deepcopy(event), None)
    good = websocket_event({"access_token": issuer.mint("alice")})
    assert authorize.handler(good, None)["context"] == {"userId": "alice"}
