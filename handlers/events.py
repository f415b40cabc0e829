"""API Gateway events as typed, read-only views, parsed once at the edge.

API Gateway hands a Lambda proxy integration a JSON object; ``WebSocketEvent.parse`` and
``RestEvent.parse`` check it once and give the handlers typed attributes, and the local
gateway's tests parse what it builds through these same views, so the emulator and the
handlers cannot drift apart. An event that is not such an object (no ``requestContext``, a
field of the wrong type) raises ``MalformedEvent``, which the handler prelude
(``handlers.prelude``) answers with a 400, never a KeyError.

Fields every event of its kind carries are required; fields API Gateway sends on some
events only (headers and query on $connect, the disconnect status on $disconnect, a body on
MESSAGE) are optional and read as empty or None.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput

if TYPE_CHECKING:
    from adapters.bootstrap import App

Event = dict[str, Any]  # an event as Lambda hands it over, before parsing
Response = dict[str, Any]
Handle = Callable[[Event, "App"], Awaitable[Response]]

EVENT_TYPES = frozenset({"CONNECT", "MESSAGE", "DISCONNECT"})
_EMPTY: Mapping[str, str] = MappingProxyType({})


class MalformedEvent(InvalidInput):
    """The event is not what API Gateway sends (a test's or a misrouted invocation's dict)."""

    code = "MALFORMED_EVENT"


class _Fields:
    """Typed reads of one JSON object; each failure names the field's path."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, Mapping):
            raise MalformedEvent(f"{where} must be a JSON object, not {_kind(raw)}.")
        self._raw = raw
        self._where = where

    def _path(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where != "event" else key

    def text(self, key: str) -> str:
        value = self._raw.get(key)
        if not isinstance(value, str):
            raise MalformedEvent(f"{self._path(key)} must be a string, not {_kind(value)}.")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self._raw.get(key) is None else self.text(key)

    def integer(self, key: str) -> int:
        value = self._raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedEvent(f"{self._path(key)} must be an integer, not {_kind(value)}.")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self._raw.get(key) is None else self.integer(key)

    def nested(self, key: str) -> _Fields:
        return _Fields(self._raw.get(key), self._path(key))

    def optional_nested(self, key: str) -> _Fields:
        return _Fields({}, self._path(key)) if self._raw.get(key) is None else self.nested(key)

    def strings(self, key: str) -> Mapping[str, str]:
        """A string-to-string object (headers, query, path parameters); absent or null is
        empty, as API Gateway writes null when there are none."""
        value = self._raw.get(key)
        if value is None:
            return _EMPTY
        if not isinstance(value, Mapping):
            raise MalformedEvent(f"{self._path(key)} must be a JSON object, not {_kind(value)}.")
        for name, item in value.items():
            if not isinstance(item, str):
                raise MalformedEvent(f"{self._path(key)}.{name} must be a string.")
        return MappingProxyType(dict(value))

    def body(self) -> str | None:
        """The body as text, decoded when API Gateway marks it base64."""
        body = self.optional_text("body")
        if body is None or self._raw.get("isBase64Encoded") is not True:
            return body
        try:
            return base64.b64decode(body, validate=True).decode("utf-8", "replace")
        except binascii.Error as exc:
            raise MalformedEvent("body is marked isBase64Encoded but is not base64.") from exc


def _kind(value: object) -> str:
    return "missing" if value is None else type(value).__name__


@dataclass(frozen=True, slots=True)
class Identity:
    """Who sent the request, as API Gateway saw it."""

    source_ip: str | None
    user_agent: str | None

    @classmethod
    def parse(cls, context: _Fields) -> Identity:
        identity = context.optional_nested("identity")
        return cls(identity.optional_text("sourceIp"), identity.optional_text("userAgent"))


def _authorized_user(context: _Fields) -> str | None:
    """The user id a Lambda authorizer put in its context (``userId``; handlers/authorize.py),
    or None: no authorizer ran, or it let an anonymous caller in (an empty ``userId``)."""
    authorizer = context.optional_nested("authorizer")
    user_id = authorizer.optional_text("userId")
    return user_id or None


@dataclass(frozen=True, slots=True)
class WebSocketEvent:
    """One WebSocket API event: $connect, a client frame (MESSAGE) or $disconnect."""

    route_key: str
    event_type: str  # CONNECT | MESSAGE | DISCONNECT
    connection_id: str
    connected_at: int  # epoch ms
    request_time_epoch: int  # epoch ms
    domain_name: str
    stage: str
    api_id: str
    request_id: str
    identity: Identity
    message_id: str | None  # MESSAGE only
    headers: Mapping[str, str]  # $connect and $disconnect
    query: Mapping[str, str]  # queryStringParameters, $connect only
    body: str | None  # the client's frame, MESSAGE only
    disconnect_status_code: int | None  # $disconnect only
    disconnect_reason: str | None
    user_id: str | None = None  # requestContext.authorizer.userId (signed in)

    @classmethod
    def parse(cls, raw: object) -> WebSocketEvent:
        event = _Fields(raw, "event")
        context = event.nested("requestContext")
        event_type = context.text("eventType")
        if event_type not in EVENT_TYPES:
            raise MalformedEvent(
                f"requestContext.eventType {event_type[:32]!r} is not one of "
                f"{', '.join(sorted(EVENT_TYPES))}."
            )
        connection_id = context.text("connectionId")
        if not connection_id:
            raise MalformedEvent("requestContext.connectionId is empty.")
        return cls(
            route_key=context.text("routeKey"),
            event_type=event_type,
            connection_id=connection_id,
            connected_at=context.integer("connectedAt"),
            request_time_epoch=context.integer("requestTimeEpoch"),
            domain_name=context.text("domainName"),
            stage=context.text("stage"),
            api_id=context.text("apiId"),
            request_id=context.text("requestId"),
            identity=Identity.parse(context),
            message_id=context.optional_text("messageId"),
            headers=event.strings("headers"),
            query=event.strings("queryStringParameters"),
            body=event.body(),
            disconnect_status_code=context.optional_integer("disconnectStatusCode"),
            disconnect_reason=context.optional_text("disconnectReason"),
            user_id=_authorized_user(context),
        )


@dataclass(frozen=True, slots=True)
class RestEvent:
    """One REST API (v1 payload) proxy event: the agent's API."""

    http_method: str
    resource: str  # the route template, /api/v1/chat/sessions/{sessionId}/reply/generate
    path: str
    path_parameters: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: str | None  # decoded when it came base64-encoded
    stage: str
    api_id: str
    request_id: str
    identity: Identity
    # Whether a Lambda authorizer ran (requestContext.authorizer present), and the user it
    # let in (None: anonymous). No authorizer: an IAM-signed service call (AWS_IAM).
    authorized: bool = False
    user_id: str | None = None

    @classmethod
    def parse(cls, raw: object) -> RestEvent:
        event = _Fields(raw, "event")
        context = event.nested("requestContext")
        return cls(
            http_method=event.text("httpMethod"),
            resource=event.text("resource"),
            path=event.text("path"),
            path_parameters=event.strings("pathParameters"),
            query=event.strings("queryStringParameters"),
            headers=event.strings("headers"),
            body=event.body(),
            stage=context.text("stage"),
            api_id=context.text("apiId"),
            request_id=context.text("requestId"),
            identity=Identity.parse(context),
            authorized=context.optional_nested("authorizer").optional_text("principalId")
            is not None,
            user_id=_authorized_user(context),
        )
