"""Hostile frames through the handlers: each one is answered with a stable code, and a
refused one stores nothing (issue 13, part B)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.bootstrap import App
from adapters.inprocess.transport import Outbox
from handlers import default, generate_reply, get_messages, put_message, stop_generation
from handlers.events import RestEvent, WebSocketEvent
from handlers.prelude import frame_route, rest_route
from tests.handlers import samples
from tests.support import connected, running_app, settle

pytestmark = pytest.mark.anyio

CID = "Tqqg2cgqjoECFLQ="
DEEP = 100_000  # far past CPython's recursion limit (RecursionError in json.loads)


async def _connected(app: App) -> tuple[Outbox, str]:
    return await connected(app, CID)


def _frames(outbox: Outbox) -> list[dict[str, Any]]:
    return [json.loads(f) for f in outbox.frames]


def _nested(depth: int) -> str:
    return '{"action":"putMessage","message":"hi","x":' + "[" * depth + "]" * depth + "}"


async def test_a_deeply_nested_frame_on_default_gets_the_routes_with_a_code() -> None:
    async with running_app() as app:
        outbox, _ = await _connected(app)
        body = "[" * DEEP + "]" * DEEP
        assert await default.handle(samples.message(CID, "$default", body), app) == {
            "statusCode": 200
        }
        (frame,) = _frames(outbox)
        assert frame["type"] == "routes" and frame["code"] == "FRAME_TOO_DEEP"
        assert "nested" in frame["message"]


@pytest.mark.parametrize("depth", [40, DEEP])
async def test_a_deeply_nested_put_message_is_refused_and_stores_nothing(depth: int) -> None:
    async with running_app() as app:
        outbox, session_id = await _connected(app)
        await put_message.handle(samples.message(CID, "putMessage", _nested(depth)), app)
        (frame,) = _frames(outbox)
        assert frame["type"] == "error" and frame["code"] == "FRAME_TOO_DEEP"
        assert await app.store.last_messages(session_id, 10) == []


async def test_the_rest_api_answers_400_to_a_deeply_nested_body() -> None:
    async with running_app() as app:
        session_id = await app.chat.connect("c1", None)
        response = await generate_reply.handle(samples.generate(session_id, _nested(DEEP)), app)
        assert response["statusCode"] == 400
        assert json.loads(response["body"])["code"] == "FRAME_TOO_DEEP"
        assert await app.store.last_messages(session_id, 10) == []


SURROGATE_FRAMES = [
    '{"action":"putMessage","message":"x","clientMessageId":"\\ud800"}',
    '{"action":"putMessage","message":"x\\udfff y"}',
    '{"action":"putMessage","message":"x","note":{"deeper":["\\udbff"]}}',
    '{"action":"putMessage","message":"x","\\ud800":1}',
]


@pytest.mark.parametrize("body", SURROGATE_FRAMES)
async def test_a_lone_surrogate_is_refused_and_the_session_stays_readable(body: str) -> None:
    async with running_app() as app:
        outbox, session_id = await _connected(app)
        await put_message.handle(samples.message(CID, "putMessage", body), app)
        (frame,) = _frames(outbox)
        assert frame["type"] == "error" and frame["code"] == "TEXT_NOT_ENCODABLE"
        assert "clientMessageId" not in frame  # it could not be sent back either
        assert await app.store.last_messages(session_id, 10) == []
        # The session is not poisoned: the next getMessages and putMessage work.
        await get_messages.handle(samples.message(CID, "getMessages", {}), app)
        assert _frames(outbox)[-1]["type"] == "history"
        body = {"action": "putMessage", "message": "fine"}
        await put_message.handle(samples.message(CID, "putMessage", body), app)
        await settle(app)
        assert [f["status"] for f in _frames(outbox) if f["type"] == "done"] == ["complete"]


async def test_the_rest_api_answers_400_to_a_lone_surrogate() -> None:
    async with running_app() as app:
        session_id = await app.chat.connect("c1", None)
        body = '{"message":"\\ud800"}'
        response = await generate_reply.handle(samples.generate(session_id, body), app)
        assert response["statusCode"] == 400
        assert json.loads(response["body"])["code"] == "TEXT_NOT_ENCODABLE"
        assert await app.store.last_messages(session_id, 10) == []


async def test_stop_generation_with_nothing_running_says_so() -> None:
    async with running_app() as app:
        outbox, _ = await _connected(app)
        body = {"action": "stopGeneration"}
        assert await stop_generation.handle(samples.message(CID, "stopGeneration", body), app) == {
            "statusCode": 200
        }
        (frame,) = _frames(outbox)
        assert frame["type"] == "error" and frame["code"] == "NOTHING_RUNNING"
        assert frame["action"] == "stopGeneration"


@pytest.mark.parametrize("after", [int("1234567890" * 4), 2**63, -1, 1.5, "12", True])
async def test_get_messages_with_a_cursor_out_of_range_is_a_validation_error(after: Any) -> None:
    async with running_app() as app:
        outbox, _ = await _connected(app)
        body = {"action": "getMessages", "after": after}
        await get_messages.handle(samples.message(CID, "getMessages", body), app)
        (frame,) = _frames(outbox)
        assert frame["type"] == "error" and frame["code"] == "INVALID_CURSOR"


async def test_a_reused_client_message_id_with_another_text_is_refused() -> None:
    async with running_app() as app:
        outbox, session_id = await _connected(app)
        first = {"action": "putMessage", "message": "first", "clientMessageId": "m-1"}
        await put_message.handle(samples.message(CID, "putMessage", first), app)
        await settle(app)
        other = {**first, "message": "second"}
        await put_message.handle(samples.message(CID, "putMessage", other), app)
        error = _frames(outbox)[-1]
        assert error["type"] == "error" and error["code"] == "CLIENT_MESSAGE_ID_REUSED"
        assert error["clientMessageId"] == "m-1"
        users = [m for m in await app.store.last_messages(session_id, 10) if m.role == "USER"]
        assert [m.message for m in users] == ["first"]
        # A true retry (the same text) is still answered with the first message's echo.
        await put_message.handle(samples.message(CID, "putMessage", first), app)
        echo = _frames(outbox)[-1]
        assert echo["type"] == "message" and echo["message"] == "first"


async def test_a_bug_in_a_route_still_answers_the_frame() -> None:
    async def broken(_cid: str, _frame: dict[str, Any]) -> None:
        raise RuntimeError("a bug")

    async with running_app() as app:
        outbox, _ = await _connected(app)
        event = WebSocketEvent.parse(samples.message(CID, "putMessage", {"action": "putMessage"}))
        assert await frame_route(event, app, broken) == {"statusCode": 200}
        (frame,) = _frames(outbox)
        assert frame["type"] == "error" and frame["code"] == "INTERNAL_ERROR"
        assert frame["action"] == "putMessage"


async def test_a_bug_in_a_rest_route_answers_500_with_a_code() -> None:
    @rest_route
    async def broken(_event: RestEvent, _app: App) -> dict[str, Any]:
        raise RuntimeError("a bug")

    async with running_app() as app:
        response = await broken(samples.generate(await app.chat.connect("c1", None), {}), app)
        assert response["statusCode"] == 500
        assert json.loads(response["body"])["code"] == "INTERNAL_ERROR"
