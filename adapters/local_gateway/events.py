"""The events API Gateway hands to its integrations, built from local requests.

Shapes follow what API Gateway sends a Lambda proxy integration: WebSocket CONNECT,
MESSAGE and DISCONNECT events, and REST (v1 payload) proxy events. Ids look like API
Gateway's (16 characters of base64, such as ``L0SM9cOFvHcCIhw=``).
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import string
import time
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Event = dict[str, Any]

DEFAULT_ROUTE = "$default"
LIFECYCLE_ROUTES = frozenset({"$connect", "$disconnect"})
ACCOUNT_ID = "000000000000"  # what the emulator reports where API Gateway has an account


def new_gateway_id() -> str:
    """An id in API Gateway's style: 11 random bytes, URL-safe base64, 16 characters."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")


def new_api_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def request_time(epoch_ms: int) -> str:
    """API Gateway's ``requestTime``: ``06/Oct/2021:16:17:07 +0000``."""
    return _request_second(epoch_ms // 1000)


@functools.lru_cache(maxsize=4)
def _request_second(epoch_s: int) -> str:
    # Formatted once per second, not once per event: every frame a client sends is one.
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def iso8601(epoch_ms: int) -> str:
    """The management API's timestamps: ``2021-10-06T16:17:07.123Z``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def select_route(body: str, route_keys: Collection[str]) -> str:
    """Route selection on ``$request.body.action``: a JSON object whose ``action`` names a
    route goes there; anything else (not JSON, no action, unknown action) to ``$default``."""
    try:
        frame = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return DEFAULT_ROUTE
    action = frame.get("action") if isinstance(frame, dict) else None
    if isinstance(action, str) and action in route_keys and action not in LIFECYCLE_ROUTES:
        return action
    return DEFAULT_ROUTE


def single_and_multi(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """API Gateway's two views of repeated headers or query parameters: the last value, and
    every value in order."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


@dataclass(frozen=True, slots=True)
class SocketInfo:
    """What API Gateway knows about one WebSocket connection, repeated in each of its events."""

    connection_id: str
    connected_at: int  # epoch ms
    source_ip: str
    user_agent: str
    domain_name: str  # "HOST:PORT" locally
    stage: str
    api_id: str
    # requestContext.authorizer from the $connect authorizer (sign-in on), which API
    # Gateway repeats on every event of the connection.
    authorizer: Mapping[str, Any] | None = None


def _socket_context(info: SocketInfo, route_key: str, event_type: str, at: int) -> dict[str, Any]:
    request_id = new_gateway_id()
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(at),
        "messageDirection": "IN",
        "stage": info.stage,
        "connectedAt": info.connected_at,
        "requestTimeEpoch": at,
        "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent},
        "requestId": request_id,
        "domainName": info.domain_name,
        "connectionId": info.connection_id,
        "apiId": info.api_id,
        **({"authorizer": dict(info.authorizer)} if info.authorizer is not None else {}),
    }


def connect_event(
    info: SocketInfo,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
) -> Event:
    single_headers, multi_headers = single_and_multi(headers)
    single_query, multi_query = single_and_multi(query)
    event: Event = {
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "requestContext": _socket_context(info, "$connect", "CONNECT", info.connected_at),
        "isBase64Encoded": False,
    }
    if single_query:  # API Gateway leaves both out when the URL has no query string
        event["queryStringParameters"] = single_query
        event["multiValueQueryStringParameters"] = multi_query
    return event


def message_event(info: SocketInfo, route_key: str, body: str) -> Event:
    context = _socket_context(info, route_key, "MESSAGE", now_ms())
    context["messageId"] = new_gateway_id()
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(info: SocketInfo, status_code: int, reason: str) -> Event:
    context = _socket_context(info, "$disconnect", "DISCONNECT", now_ms())
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    headers = {"Host": info.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One HTTP request to a REST proxy resource, as the server read it."""

    method: str
    resource: str  # the route template, e.g. /api/v1/chat/sessions/{sessionId}/reply/generate
    path: str  # the request path without the stage
    path_parameters: dict[str, str]
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    domain_name: str
    stage: str
    api_id: str


def rest_proxy_event(request: RestRequest) -> Event:
    at = now_ms()
    single_headers, multi_headers = single_and_multi(request.headers)
    single_query, multi_query = single_and_multi(request.query)
    body: str | None
    try:
        body, encoded = (request.body.decode("utf-8"), False) if request.body else (None, False)
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(request.body).decode("ascii"), True
    user_agent = next((v for k, v in request.headers if k.lower() == "user-agent"), None)
    return {
        "resource": request.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": request.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": request.resource,
            "httpMethod": request.method,
            "extendedRequestId": new_gateway_id(),
            "requestTime": request_time(at),
            "path": f"/{request.stage}{request.path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": request.stage,
            "domainPrefix": request.domain_name.split(".", 1)[0].split(":", 1)[0],
            "requestTimeEpoch": at,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": request.source_ip, "userAgent": user_agent},
            "domainName": request.domain_name,
            "apiId": request.api_id,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }
