"""API Gateway events as AWS sends them (shapes of the AWS sample events), per route."""

from __future__ import annotations

import copy
import json
from typing import Any

from testsupport.lambda_events import failed_invocation as failed_invocation

_CONTEXT: dict[str, Any] = {
    "extendedRequestId": "ZJ9aKHwzoAMFp3Q=",
    "requestTime": "21/Nov/2026:12:00:00 +0000",
    "messageDirection": "IN",
    "stage": "prod",
    "connectedAt": 1795262400000,
    "requestTimeEpoch": 1795262400123,
    "identity": {"sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0"},
    "requestId": "ZJ9aKHwzoAMFp3Q=",
    "domainName": "abcd1234.execute-api.us-east-1.amazonaws.com",
    "apiId": "abcd1234",
}


def authorizer(user_id: str | None) -> dict[str, Any]:
    """``requestContext.authorizer`` as API Gateway passes a Lambda authorizer's answer
    (handlers/authorize.py) on every event of the connection: principalId, the context's
    keys, and the authorizer's latency."""
    return {
        "principalId": user_id or "anonymous",
        "integrationLatency": 87,
        "userId": user_id or "",
    }


def connect(
    connection_id: str,
    session_id: str | None = None,
    *,
    user_id: str | None = None,
    signed: bool | None = None,
) -> dict[str, Any]:
    """``user_id`` (or ``signed=True`` for an anonymous caller the authorizer let in):
    the event after a Lambda authorizer ran."""
    query = {"sessionId": session_id} if session_id is not None else None
    return {
        "headers": {
            "Host": "abcd1234.execute-api.us-east-1.amazonaws.com",
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
        },
        "multiValueHeaders": {"Host": ["abcd1234.execute-api.us-east-1.amazonaws.com"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": (
            {k: [v] for k, v in query.items()} if query is not None else None
        ),
        "requestContext": {
            **copy.deepcopy(_CONTEXT),
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "connectionId": connection_id,
            **_authorized(user_id, signed),
        },
        "isBase64Encoded": False,
    }


def _authorized(user_id: str | None, signed: bool | None) -> dict[str, Any]:
    return {"authorizer": authorizer(user_id)} if user_id is not None or signed else {}


CONNECT_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcd1234/prod/$connect"


def connect_authorizer(query: dict[str, str] | None = None) -> dict[str, Any]:
    """The REQUEST authorizer event API Gateway sends before $connect: the handshake's
    headers, query and requestContext, with ``type`` and the route's ``methodArn``."""
    event = connect("ZJ9aKe7ZoAMCJrg=")
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    return {"type": "REQUEST", "methodArn": CONNECT_ARN, "stageVariables": {}, **event}


def message(
    connection_id: str, route: str, body: Any, *, user_id: str | None = None
) -> dict[str, Any]:
    return {
        "requestContext": {
            **copy.deepcopy(_CONTEXT),
            "routeKey": route,
            "messageId": "ZJ9bSdwJoAMCLgg=",
            "eventType": "MESSAGE",
            "connectionId": connection_id,
            **_authorized(user_id, None),
        },
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def disconnect(connection_id: str) -> dict[str, Any]:
    return {
        "headers": {"Host": "abcd1234.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {"Host": ["abcd1234.execute-api.us-east-1.amazonaws.com"]},
        "requestContext": {
            **copy.deepcopy(_CONTEXT),
            "routeKey": "$disconnect",
            "disconnectStatusCode": 1001,
            "eventType": "DISCONNECT",
            "disconnectReason": "Going away",
            "connectionId": connection_id,
        },
        "isBase64Encoded": False,
    }


def generate(
    session_id: str, body: Any, *, user_id: str | None = None, signed: bool | None = None
) -> dict[str, Any]:
    return {
        "resource": "/api/v1/chat/sessions/{sessionId}/reply/generate",
        "path": f"/api/v1/chat/sessions/{session_id}/reply/generate",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"sessionId": session_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/v1/chat/sessions/{sessionId}/reply/generate",
            "httpMethod": "POST",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.9"},
            "apiId": "efgh5678",
            **_authorized(user_id, signed),
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }
