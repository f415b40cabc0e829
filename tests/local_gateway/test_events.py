"""Every event the local gateway builds parses through the handlers' view, field for field.

The gateway builds raw dicts (it plays API Gateway); the handlers read them only through
``handlers.events``. A field renamed or retyped on either side fails here.
"""

from __future__ import annotations

from adapters.local_gateway.events import (
    RestRequest,
    SocketInfo,
    connect_event,
    disconnect_event,
    message_event,
    rest_proxy_event,
)
from handlers.events import Identity, RestEvent, WebSocketEvent

INFO = SocketInfo(
    connection_id="L0SM9cOFvHcCIhw=",
    connected_at=1795262400000,
    source_ip="127.0.0.1",
    user_agent="Python/3.11 websockets/15.0",
    domain_name="127.0.0.1:8000",
    stage="local",
    api_id="abcdefghij",
)


def _same_socket(event: WebSocketEvent) -> None:
    assert event.connection_id == INFO.connection_id
    assert event.connected_at == INFO.connected_at
    assert event.request_time_epoch >= INFO.connected_at
    assert (event.domain_name, event.stage, event.api_id) == (
        "127.0.0.1:8000",
        "local",
        "abcdefghij",
    )
    assert event.identity == Identity(INFO.source_ip, INFO.user_agent)
    assert len(event.request_id) == 16


def test_a_connect_event_parses_with_its_headers_and_last_query_value() -> None:
    raw = connect_event(
        INFO, [("Host", "127.0.0.1:8000")], [("sessionId", "a"), ("sessionId", "b")]
    )
    event = WebSocketEvent.parse(raw)
    _same_socket(event)
    assert (event.route_key, event.event_type) == ("$connect", "CONNECT")
    assert event.request_time_epoch == INFO.connected_at
    assert event.headers == {"Host": "127.0.0.1:8000"}
    assert event.query == {"sessionId": "b"}  # API Gateway keeps the last of repeated values
    assert event.body is None


def test_a_message_event_parses_with_its_body_and_message_id() -> None:
    event = WebSocketEvent.parse(message_event(INFO, "putMessage", '{"action":"putMessage"}'))
    _same_socket(event)
    assert (event.route_key, event.event_type) == ("putMessage", "MESSAGE")
    assert event.body == '{"action":"putMessage"}'
    assert event.message_id is not None and len(event.message_id) == 16


def test_a_disconnect_event_parses_with_its_status_and_reason() -> None:
    event = WebSocketEvent.parse(disconnect_event(INFO, 1006, "Connection lost"))
    _same_socket(event)
    assert (event.route_key, event.event_type) == ("$disconnect", "DISCONNECT")
    assert (event.disconnect_status_code, event.disconnect_reason) == (1006, "Connection lost")


def _request(body: bytes, **changes: object) -> RestRequest:
    fields: dict[str, object] = {
        "method": "POST",
        "resource": "/api/v1/chat/sessions/{sessionId}/reply/generate",
        "path": "/api/v1/chat/sessions/s-1/reply/generate",
        "path_parameters": {"sessionId": "s-1"},
        "headers": [("Content-Type", "application/json"), ("User-Agent", "curl/8")],
        "query": [],
        "body": body,
        "source_ip": "127.0.0.1",
        "domain_name": "127.0.0.1:8000",
        "stage": "local",
        "api_id": "abcdefghij",
    }
    fields.update(changes)
    return RestRequest(**fields)  # type: ignore[arg-type]


def test_a_rest_event_parses_with_path_parameters_body_and_headers() -> None:
    event = RestEvent.parse(rest_proxy_event(_request('{"message": "日本"}'.encode())))
    assert event.http_method == "POST"
    assert event.path_parameters == {"sessionId": "s-1"}
    assert event.body == '{"message": "日本"}'
    assert event.headers["Content-Type"] == "application/json"
    assert event.query == {}
    assert (event.stage, event.api_id) == ("local", "abcdefghij")
    assert event.identity == Identity("127.0.0.1", "curl/8")


def test_a_rest_event_without_body_or_parameters_parses_empty() -> None:
    event = RestEvent.parse(rest_proxy_event(_request(b"", path_parameters={}, headers=[])))
    assert event.body is None
    assert event.path_parameters == {} and event.headers == {}
    assert event.identity.user_agent is None


def test_a_binary_rest_body_comes_base64_and_reads_back_as_text() -> None:
    raw = rest_proxy_event(_request(b"\xff{}"))
    assert raw["isBase64Encoded"] is True
    assert RestEvent.parse(raw).body == "\ufffd{}"
