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


def connect(connection_id: str, session_id: str | None = None) -> dict[str, Any]:
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
        },
        "isBase64Encoded": False,
    }


def message(connection_id: str, route: str, body: Any) -> dict[str, Any]:
    return {
        "requestContext": {
            **copy.deepcopy(_CONTEXT),
            "routeKey": route,
            "messageId": "ZJ9bSdwJoAMCLgg=",
            "eventType": "MESSAGE",
            "connectionId": connection_id,
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


def generate(session_id: str, body: Any) -> dict[str, Any]:
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
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }
