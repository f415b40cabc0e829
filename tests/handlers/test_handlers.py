"""Every handler, invoked with full API Gateway events, answers as API Gateway expects."""

from __future__ import annotations

import json

import pytest

from adapters.inprocess.transport import Outbox
from core.config import ROUTES
from handlers import (
    connect,
    default,
    delete_session,
    disconnect,
    generate_reply,
    get_messages,
    put_message,
    rename_session,
    stop_generation,
)
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from tests.handlers import samples
from tests.support import running_app, settle

pytestmark = pytest.mark.anyio


def _session_of(connection) -> str:  # type: ignore[no-untyped-def]
    assert connection is not None
    return str(connection.session_id)


async def _connected(app, connection_id: str = "Tqqg2cgqjoECFLQ=", session_id=None):  # type: ignore[no-untyped-def]
    response = await connect.handle(samples.connect(connection_id, session_id), app)
    assert response == {"statusCode": 200}
    outbox = Outbox()
    app.hub.attach(connection_id, outbox)
    return outbox


def _frames(outbox: Outbox) -> list[dict]:
    return [json.loads(f) for f in outbox.frames]


async def test_connect_then_chat_then_disconnect_through_the_handlers() -> None:
    async with running_app() as app:
        outbox = await _connected(app)
        response = await put_message.handle(
            samples.message(
                "Tqqg2cgqjoECFLQ=", "putMessage", {"action": "putMessage", "message": "hi"}
            ),
            app,
        )
        assert response == {"statusCode": 200}
        await settle(app)
        kinds = [f["type"] for f in _frames(outbox)]
        assert kinds[0] == "message" and "delta" in kinds and "done" in kinds
        session_id = _frames(outbox)[0]["sessionId"]
        await get_messages.handle(
            samples.message("Tqqg2cgqjoECFLQ=", "getMessages", {"action": "getMessages"}), app
        )
        history = _frames(outbox)[-1]
        assert history["type"] == "history"
        assert [m["role"] for m in history["messages"]] == ["USER", "AGENT"]
        assert await disconnect.handle(samples.disconnect("Tqqg2cgqjoECFLQ="), app) == {
            "statusCode": 200
        }
        assert await app.store.session_connections(session_id) == []


@pytest.mark.parametrize(
    ("session_id", "status", "code"),
    [
        ("not-a-session", 400, "INVALID_SESSION_ID"),
        ("3f1c1f0e-8a4b-4c1e-9d2a-1b2c3d4e5f60", 404, "SESSION_NOT_FOUND"),
    ],
)
async def test_connect_refuses_the_handshake_for_bad_session_ids(
    session_id: str, status: int, code: str
) -> None:
    async with running_app() as app:
        response = await connect.handle(samples.connect("abc=", session_id), app)
        assert response["statusCode"] == status
        assert json.loads(response["body"])["code"] == code


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("hello there", "not a JSON object"),
        ('{"action": "launchRockets"}', "Unknown action 'launchRockets'"),
        ("[1, 2]", "not a JSON object"),
        ('{"message": "hi"}', 'no "action"'),
    ],
)
async def test_default_route_answers_with_the_routes(body: str, words: str) -> None:
    async with running_app() as app:
        outbox = await _connected(app)
        response = await default.handle(samples.message("Tqqg2cgqjoECFLQ=", "$default", body), app)
        assert response == {"statusCode": 200}
        (frame,) = _frames(outbox)
        assert frame["type"] == "routes" and words in frame["message"]
        assert frame["routes"] == list(ROUTES)
        assert frame["limits"] == {"maxMessageBytes": 16 * 1024}
        assert frame["sessionId"]


async def test_hello_gets_the_routes_and_limits_without_a_complaint() -> None:
    """The page greets with {"action":"hello"} on connect to learn the server's limits."""
    async with running_app() as app:
        outbox = await _connected(app)
        hello = samples.message("Tqqg2cgqjoECFLQ=", "$default", {"action": "hello"})
        await default.handle(hello, app)
        (frame,) = _frames(outbox)
        assert "message" not in frame
        assert frame["limits"]["maxMessageBytes"] == 16 * 1024
        assert {"renameSession", "deleteSession"} <= set(frame["routes"])


async def test_rename_session_tells_every_tab_and_keeps_the_title() -> None:
    async with running_app() as app:
        first = await _connected(app, "a=")
        sid = _session_of(await app.store.get_connection("a="))
        second = await _connected(app, "b=", sid)
        event = samples.message("b=", "renameSession", {"title": "  Picnic plans  "})
        assert await rename_session.handle(event, app) == {"statusCode": 200}
        for outbox in (first, second):
            assert _frames(outbox)[-1] == {
                "type": "session",
                "sessionId": sid,
                "title": "Picnic plans",
            }
        assert (await app.store.get_session(sid)).title == "Picnic plans"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"title": ""}, "INVALID_TITLE"),
        ({"title": "x" * 201}, "INVALID_TITLE"),
        ({"title": 7}, "INVALID_TITLE"),
        ({"title": "ok", "sessionId": "nope"}, "INVALID_SESSION_ID"),
        ({"title": "ok", "sessionId": "3f1c1f0e-8a4b-4c1e-9d2a-1b2c3d4e5f60"}, "SESSION_NOT_FOUND"),
    ],
)
async def test_bad_rename_gets_an_error_frame_and_changes_nothing(frame: dict, code: str) -> None:
    async with running_app() as app:
        outbox = await _connected(app)
        sid = _session_of(await app.store.get_connection("Tqqg2cgqjoECFLQ="))
        await rename_session.handle(
            samples.message("Tqqg2cgqjoECFLQ=", "renameSession", frame), app
        )
        assert _frames(outbox)[-1]["code"] == code
        assert (await app.store.get_session(sid)).title is None  # type: ignore[union-attr]


async def test_delete_session_removes_it_and_its_messages_and_tells_its_tabs() -> None:
    async with running_app() as app:
        doomed = await _connected(app, "a=")
        sid = _session_of(await app.store.get_connection("a="))
        put = {"action": "putMessage", "message": "hi"}
        await put_message.handle(samples.message("a=", "putMessage", put), app)
        await settle(app)
        asker = await _connected(app, "other=")  # another chat of the same browser deletes it
        event = samples.message("other=", "deleteSession", {"sessionId": sid})
        assert await delete_session.handle(event, app) == {"statusCode": 200}
        for outbox in (doomed, asker):
            assert _frames(outbox)[-1] == {"type": "deleted", "sessionId": sid}
        assert await app.store.get_session(sid) is None
        assert await app.store.messages_after(sid, None, 50) == []
        await delete_session.handle(event, app)  # again: the session is unknown now
        assert _frames(asker)[-1]["code"] == "SESSION_NOT_FOUND"


async def test_bad_put_message_gets_an_error_frame_and_the_connection_stays_usable() -> None:
    async with running_app() as app:
        outbox = await _connected(app)
        bad = samples.message("Tqqg2cgqjoECFLQ=", "putMessage", {"action": "putMessage"})
        assert await put_message.handle(bad, app) == {"statusCode": 200}
        assert _frames(outbox)[-1]["code"] == "MESSAGE_REQUIRED"
        good = samples.message(
            "Tqqg2cgqjoECFLQ=", "putMessage", {"action": "putMessage", "message": "ok"}
        )
        await put_message.handle(good, app)
        await settle(app)
        assert [f["status"] for f in _frames(outbox) if f["type"] == "done"] == ["complete"]


async def test_stop_generation_handler_answers_200_with_nothing_running() -> None:
    async with running_app() as app:
        await _connected(app)
        event = samples.message("Tqqg2cgqjoECFLQ=", "stopGeneration", {"action": "stopGeneration"})
        assert await stop_generation.handle(event, app) == {"statusCode": 200}


async def test_a_frame_from_a_connection_that_left_is_answered_quietly() -> None:
    async with running_app() as app:
        event = samples.message("gone=", "putMessage", {"action": "putMessage", "message": "hi"})
        assert await put_message.handle(event, app) == {"statusCode": 200}


async def test_agent_rest_api_stores_the_message_and_starts_the_reply() -> None:
    async with running_app() as app:
        outbox = await _connected(app)
        session_id = (await app.store.get_connection("Tqqg2cgqjoECFLQ=")).session_id  # type: ignore[union-attr]
        response = await generate_reply.handle(samples.generate(session_id, {"message": "hi"}), app)
        assert response["statusCode"] == 202
        await settle(app)
        assert [f["status"] for f in _frames(outbox) if f["type"] == "done"] == ["complete"]
        stored = await app.store.last_messages(session_id, 10)
        assert stored[0].message == "hi" and stored[0].connection_id is None


@pytest.mark.parametrize(
    ("session_id", "body", "status"),
    [
        ("nope", {"message": "hi"}, 400),
        ("3f1c1f0e-8a4b-4c1e-9d2a-1b2c3d4e5f60", {"message": "hi"}, 404),
        (None, "not json", 400),
        (None, {"message": ""}, 400),
    ],
)
async def test_agent_rest_api_refuses_bad_requests(session_id, body, status) -> None:  # type: ignore[no-untyped-def]
    async with running_app() as app:
        if session_id is None:
            session_id = await app.chat.connect("c1", None)
        response = await generate_reply.handle(samples.generate(session_id, body), app)
        assert response["statusCode"] == status
        assert json.loads(response["body"])["message"]


@pytest.mark.parametrize("route", [*WEBSOCKET_ROUTES, *REST_ROUTES])
@pytest.mark.parametrize(
    "event",
    [
        {"body": '{"action": "putMessage", "message": "hi"}'},  # no requestContext
        {"requestContext": {"connectionId": 7}, "body": "{}"},
        {"requestContext": "abc=", "pathParameters": {"sessionId": "x"}},
    ],
)
async def test_a_malformed_event_is_answered_400_on_every_route(route: str, event: dict) -> None:
    handle = {**WEBSOCKET_ROUTES, **REST_ROUTES}[route]
    async with running_app() as app:
        response = await handle(event, app)
        assert response["statusCode"] == 400
        assert json.loads(response["body"])["code"] == "MALFORMED_EVENT"


def test_lambda_entry_points_run_synchronously_with_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from handlers import lambda_runtime

    monkeypatch.setattr(lambda_runtime, "_app", None)
    monkeypatch.delenv("AZUCHI_STORAGE", raising=False)
    assert connect.handler(samples.connect("lambda-conn="), None) == {"statusCode": 200}
    assert connect.handler(samples.connect("lambda-2=", "bad"), None)["statusCode"] == 400
    # A frame to a connection no socket holds: answered 200, the gone client is dropped.
    event = samples.message("lambda-conn=", "$default", "hi")
    assert default.handler(event, None) == {"statusCode": 200}
    assert put_message.handler({"body": "{}"}, None)["statusCode"] == 400  # no requestContext
