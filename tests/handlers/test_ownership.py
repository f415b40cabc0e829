"""Sign-in through the handlers, with the events API Gateway sends after the $connect
authorizer ran: a session belongs to the user who made it; another user (or an anonymous
caller) is refused it on $connect (403) and on every route (SESSION_FORBIDDEN) and nothing
changes; anonymous sessions stay anyone's; listSessions pages the caller's own."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from adapters.inprocess.transport import Outbox
from handlers import (
    connect,
    default,
    delete_session,
    generate_reply,
    get_messages,
    list_sessions,
    put_message,
    rename_session,
    stop_generation,
)
from tests.handlers import samples
from tests.support import running_app, settle

pytestmark = pytest.mark.anyio


async def joined(app: Any, cid: str, user: str | None, session_id: str | None = None) -> Outbox:
    response = await connect.handle(samples.connect(cid, session_id, user_id=user), app)
    assert response == {"statusCode": 200}, response
    outbox = Outbox()
    app.hub.attach(cid, outbox)
    return outbox


def frames(outbox: Outbox) -> list[dict[str, Any]]:
    return [json.loads(f) for f in outbox.frames]


async def session_of(app: Any, cid: str) -> str:
    connection = await app.store.get_connection(cid)
    assert connection is not None
    return str(connection.session_id)


@pytest.mark.parametrize("intruder", ["bob", None], ids=["another user", "anonymous"])
async def test_another_callers_connect_to_a_users_session_is_refused_with_403(
    intruder: str | None,
) -> None:
    async with running_app() as app:
        await joined(app, "alice=", "alice")
        alices = await session_of(app, "alice=")
        response = await connect.handle(samples.connect("x=", alices, user_id=intruder), app)
        assert response["statusCode"] == 403
        assert json.loads(response["body"])["code"] == "SESSION_FORBIDDEN"
        assert await app.store.get_connection("x=") is None
        assert await joined(app, "alice2=", "alice", alices)  # her other tab may


async def test_anonymous_sessions_stay_anyones_and_are_not_claimed() -> None:
    async with running_app() as app:
        await joined(app, "anon=", None)
        shared = await session_of(app, "anon=")
        await joined(app, "alice=", "alice", shared)
        await joined(app, "bob=", "bob", shared)
        session = await app.store.get_session(shared)
        assert session is not None and session.owner is None


def _route_frames(alices: str) -> list[tuple[Any, str, dict[str, Any]]]:
    return [
        (put_message, "putMessage", {"message": "hi", "sessionId": alices}),
        (get_messages, "getMessages", {"sessionId": alices}),
        (stop_generation, "stopGeneration", {"sessionId": alices}),
        (rename_session, "renameSession", {"title": "mine now", "sessionId": alices}),
        (delete_session, "deleteSession", {"sessionId": alices}),
    ]


@pytest.mark.parametrize("intruder", ["bob", None], ids=["another user", "anonymous"])
async def test_every_route_refuses_a_users_session_to_another_caller(intruder: str | None) -> None:
    async with running_app() as app:
        alice = await joined(app, "alice=", "alice")
        alices = await session_of(app, "alice=")
        put = {"action": "putMessage", "message": "my secret plan"}
        await put_message.handle(samples.message("alice=", "putMessage", put), app)
        await settle(app)
        seen_by_alice = len(alice.frames)
        intruders = await joined(app, "x=", intruder)
        for module, route, body in _route_frames(alices):
            await module.handle(samples.message("x=", route, {"action": route, **body}), app)
            last = frames(intruders)[-1]
            assert (last["type"], last["code"], last["action"]) == (
                "error",
                "SESSION_FORBIDDEN",
                route,
            )
        await settle(app)
        session = await app.store.get_session(alices)
        assert session is not None and session.title != "mine now"
        texts = [m.message for m in await app.store.messages_after(alices, None, 50)]
        assert texts[0] == "my secret plan" and "hi" not in texts
        assert len(alice.frames) == seen_by_alice  # alice's tab heard nothing of it
        assert not any("my secret plan" in f for f in intruders.frames)


async def test_the_rest_api_refuses_another_users_session_when_an_authorizer_ran() -> None:
    async with running_app() as app:
        await joined(app, "alice=", "alice")
        alices = await session_of(app, "alice=")
        body = {"message": "hi"}
        for intruder, signed in (("bob", None), (None, True)):
            event = samples.generate(alices, body, user_id=intruder, signed=signed)
            response = await generate_reply.handle(event, app)
            assert response["statusCode"] == 403
            assert json.loads(response["body"])["code"] == "SESSION_FORBIDDEN"
        assert await app.store.messages_after(alices, None, 5) == []
        own = await generate_reply.handle(samples.generate(alices, body, user_id="alice"), app)
        assert own["statusCode"] == 202
        # no authorizer at all: an IAM-signed service call (AWS_IAM on the agent API)
        service = await generate_reply.handle(samples.generate(alices, body), app)
        assert service["statusCode"] == 202
        await settle(app)


async def test_a_signed_in_connection_is_offered_list_sessions_and_anonymous_is_not() -> None:
    async with running_app() as app:
        signed, anonymous = await joined(app, "s=", "alice"), await joined(app, "a=", None)
        hello = {"action": "hello"}
        await default.handle(samples.message("s=", "$default", hello), app)
        await default.handle(samples.message("a=", "$default", hello), app)
        assert "listSessions" in frames(signed)[-1]["routes"]
        assert "listSessions" not in frames(anonymous)[-1]["routes"]
        await list_sessions.handle(samples.message("a=", "listSessions", {}), app)
        assert frames(anonymous)[-1]["code"] == "SIGN_IN_REQUIRED"


async def test_list_sessions_pages_the_users_own_newest_first() -> None:
    async with running_app() as app:
        mine = []
        for n in range(5):
            await anyio.sleep(0.002)  # one creation time each (same-ms ties go by id)
            await joined(app, f"alice{n}=", "alice")
            mine.append(await session_of(app, f"alice{n}="))
            title = {"action": "renameSession", "title": f"chat {n}"}
            await rename_session.handle(samples.message(f"alice{n}=", "renameSession", title), app)
        await joined(app, "bob=", "bob")
        await joined(app, "anon=", None)
        asker = await joined(app, "list=", "alice", mine[0])
        listed: list[dict[str, Any]] = []
        cursor = None
        pages = 0
        while True:
            frame = {"action": "listSessions", "limit": 2, **({"cursor": cursor} if cursor else {})}
            await list_sessions.handle(samples.message("list=", "listSessions", frame), app)
            page = frames(asker)[-1]
            assert page["type"] == "sessions" and len(page["sessions"]) <= 2
            listed += page["sessions"]
            pages += 1
            cursor = page["next"]
            if cursor is None:
                break
        assert pages == 3
        assert [s["sessionId"] for s in listed] == list(reversed(mine))
        assert [s["title"] for s in listed] == [f"chat {n}" for n in range(4, -1, -1)]
        assert set(listed[0]) == {"sessionId", "title", "createdAt"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"limit": 0}, "INVALID_LIMIT"),
        ({"limit": 101}, "INVALID_LIMIT"),
        ({"limit": True}, "INVALID_LIMIT"),
        ({"cursor": "yesterday"}, "INVALID_CURSOR"),
        ({"cursor": "12.not-a-session"}, "INVALID_CURSOR"),
        ({"cursor": 12}, "INVALID_CURSOR"),
    ],
)
async def test_bad_list_sessions_frames_get_an_error(frame: dict[str, Any], code: str) -> None:
    async with running_app() as app:
        asker = await joined(app, "s=", "alice")
        body = {"action": "listSessions", **frame}
        await list_sessions.handle(samples.message("s=", "listSessions", body), app)
        assert frames(asker)[-1]["code"] == code
