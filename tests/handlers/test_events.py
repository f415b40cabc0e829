"""The typed views of API Gateway events: AWS's shapes read right, anything else refused."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from handlers.events import Identity, MalformedEvent, RestEvent, WebSocketEvent
from tests.handlers import samples

SESSION = "3f1c1f0e-8a4b-4c1e-9d2a-1b2c3d4e5f60"


def test_a_connect_event_reads_as_api_gateway_wrote_it() -> None:
    event = WebSocketEvent.parse(samples.connect("Tqqg2cgqjoECFLQ=", SESSION))
    assert (event.route_key, event.event_type, event.connection_id) == (
        "$connect",
        "CONNECT",
        "Tqqg2cgqjoECFLQ=",
    )
    assert (event.connected_at, event.request_time_epoch) == (1795262400000, 1795262400123)
    assert event.domain_name == "abcd1234.execute-api.us-east-1.amazonaws.com"
    assert (event.stage, event.api_id, event.request_id) == ("prod", "abcd1234", "ZJ9aKHwzoAMFp3Q=")
    assert event.identity == Identity(source_ip="203.0.113.9", user_agent="Mozilla/5.0")
    assert event.headers["Sec-WebSocket-Version"] == "13"
    assert event.query == {"sessionId": SESSION}
    assert event.body is None and event.message_id is None


def test_a_connect_without_a_query_string_has_an_empty_query() -> None:
    assert WebSocketEvent.parse(samples.connect("abc=")).query == {}


def test_a_message_event_carries_the_clients_frame() -> None:
    event = WebSocketEvent.parse(samples.message("abc=", "putMessage", '{"action":"x"}'))
    assert (event.route_key, event.event_type) == ("putMessage", "MESSAGE")
    assert event.body == '{"action":"x"}'
    assert event.message_id == "ZJ9bSdwJoAMCLgg="
    assert event.headers == {} and event.query == {}


def test_a_disconnect_event_says_why() -> None:
    event = WebSocketEvent.parse(samples.disconnect("abc="))
    assert (event.disconnect_status_code, event.disconnect_reason) == (1001, "Going away")


def test_a_rest_event_reads_path_parameters_and_body() -> None:
    event = RestEvent.parse(samples.generate(SESSION, {"message": "hi"}))
    assert event.path_parameters == {"sessionId": SESSION}
    assert event.body == '{"message": "hi"}'
    assert event.http_method == "POST"
    assert event.resource == "/api/v1/chat/sessions/{sessionId}/reply/generate"
    assert event.headers["Content-Type"] == "application/json"
    assert event.query == {}
    assert (event.stage, event.api_id) == ("prod", "efgh5678")
    assert event.identity == Identity(source_ip="203.0.113.9", user_agent=None)


def test_a_base64_body_is_decoded() -> None:
    raw = samples.generate(SESSION, None)
    raw.update(body=base64.b64encode('{"message": "日本"}'.encode()).decode(), isBase64Encoded=True)
    assert RestEvent.parse(raw).body == '{"message": "日本"}'


def _with(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``raw`` with the field at dotted ``path`` set to ``value`` (deleted for ``...``)."""
    raw = copy.deepcopy(raw)
    *parents, last = path.split(".")
    target = raw
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return raw


MESSAGE = samples.message("abc=", "getMessages", "{}")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("not an event", "event must be a JSON object, not str"),
        ({"body": "{}"}, "requestContext must be a JSON object, not missing"),
        (_with(MESSAGE, "requestContext", ["x"]), "requestContext must be a JSON object"),
        (_with(MESSAGE, "requestContext.connectionId", ...), "connectionId must be a string"),
        (_with(MESSAGE, "requestContext.connectionId", 42), "not int"),
        (_with(MESSAGE, "requestContext.connectionId", ""), "connectionId is empty"),
        (_with(MESSAGE, "requestContext.eventType", "UPGRADE"), "'UPGRADE' is not one of"),
        (_with(MESSAGE, "requestContext.connectedAt", "yesterday"), "must be an integer"),
        (_with(MESSAGE, "requestContext.connectedAt", True), "must be an integer"),
        (_with(MESSAGE, "body", {"action": "x"}), "body must be a string, not dict"),
        (_with(MESSAGE, "headers", "Host: x"), "headers must be a JSON object"),
        (_with(MESSAGE, "queryStringParameters", {"sessionId": 7}), "sessionId must be a str"),
        (_with(MESSAGE, "requestContext.identity", "me"), "identity must be a JSON object"),
        (_with(MESSAGE, "isBase64Encoded", True), "not base64"),
    ],
)
def test_a_malformed_websocket_event_is_refused_with_the_field_named(raw: Any, words: str) -> None:
    with pytest.raises(MalformedEvent, match=words) as refused:
        WebSocketEvent.parse(raw)
    assert refused.value.code == "MALFORMED_EVENT"


REST = samples.generate(SESSION, {"message": "hi"})


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (_with(REST, "requestContext", ...), "requestContext must be a JSON object"),
        (_with(REST, "pathParameters", ["sessionId"]), "pathParameters must be a JSON object"),
        (_with(REST, "httpMethod", None), "httpMethod must be a string, not missing"),
        (_with(REST, "body", 12), "body must be a string, not int"),
    ],
)
def test_a_malformed_rest_event_is_refused_with_the_field_named(raw: Any, words: str) -> None:
    with pytest.raises(MalformedEvent, match=words):
        RestEvent.parse(raw)


def test_a_parsed_event_cannot_be_changed() -> None:
    event = WebSocketEvent.parse(samples.connect("abc=", SESSION))
    with pytest.raises(AttributeError):
        event.connection_id = "other="  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.query["sessionId"] = "other"  # type: ignore[index]
