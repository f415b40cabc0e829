"""What an API Gateway Lambda authorizer (REQUEST type) answers, for a WebSocket $connect or
a REST request (docs/auth.md).

    event ──► the token: ?access_token= (browsers cannot set headers on a WebSocket), else
    │         "Authorization: Bearer <token>"
    ├── none, sign-in optional ──► Allow, principalId "anonymous", context userId ""
    ├── none, sign-in required ──► SignInRequired (TOKEN_REQUIRED)  ─┐  API Gateway: 401
    ├── refused by the verifier ──► InvalidToken (its code)          ─┘  (the Lambda raises
    │                                                                    "Unauthorized")
    └── verified ──► Allow, principalId and context userId: the user id

API Gateway passes the context to the integration as ``requestContext.authorizer`` (on
every event of a WebSocket connection), where $connect reads ``userId``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.auth.settings import AuthSettings
from adapters.auth.verifier import TokenVerifier
from core.errors import InvalidToken, SignInRequired

TOKEN_QUERY = "access_token"  # RFC 6750 §2.3's name for a bearer token in a URI
ANONYMOUS = "anonymous"  # principalId of a caller let in without a token


class Authorizer:
    def __init__(self, settings: AuthSettings, verifier: TokenVerifier) -> None:
        self._settings = settings
        self._verifier = verifier

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Authorizer:
        return cls(settings, TokenVerifier.from_settings(settings))

    async def decide(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The authorizer's answer (an IAM policy allowing ``methodArn``, and the context);
        raises ``SignInRequired`` / ``InvalidToken`` to refuse."""
        method_arn = event.get("methodArn")
        if event.get("type") != "REQUEST" or not isinstance(method_arn, str):
            raise InvalidToken(
                "Not an API Gateway REQUEST authorizer event.", code="TOKEN_MALFORMED"
            )
        token = bearer_token(event)
        if token is None:
            if self._settings.required:
                raise SignInRequired(
                    f"Sign in first: pass the token as ?{TOKEN_QUERY}= (or an Authorization "
                    "header).",
                    code="TOKEN_REQUIRED",
                )
            return policy(ANONYMOUS, method_arn, "")
        user_id = await self._verifier.user_id(token)
        return policy(user_id, method_arn, user_id)


def bearer_token(event: Mapping[str, Any]) -> str | None:
    query = event.get("queryStringParameters") or {}
    if isinstance(query, Mapping) and isinstance(query.get(TOKEN_QUERY), str):
        return query[TOKEN_QUERY].strip() or None
    headers = event.get("headers") or {}
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if str(name).lower() == "authorization" and isinstance(value, str):
                scheme, _, token = value.strip().partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    return token.strip()
                raise InvalidToken(
                    'The Authorization header must be "Bearer <token>".', code="TOKEN_MALFORMED"
                )
    return None


def policy(principal_id: str, method_arn: str, user_id: str) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}
            ],
        },
        "context": {"userId": user_id},
    }
