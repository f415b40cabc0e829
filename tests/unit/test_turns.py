"""regenerate and editMessage through their handler: the last turn is taken back in the
store, in the agent's memory (previous response id included) and in every tab, and
answered again; refused, with a code and nothing changed, while a reply runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from adapters.inprocess.lock import InProcessSessionLock
from adapters.inprocess.scripted_model import ScriptedChatModel, ScriptedSettings
from core.domain import ModelEvent, ModelRequest, Role
from handlers import regenerate
from tests.handlers import samples
from tests.support import Client, running_app, settle

pytestmark = pytest.mark.anyio


class RecordingModel(ScriptedChatModel):
    """The scripted model, noting each reply request (titles aside)."""

    def __init__(self, settings: ScriptedSettings | None = None) -> None:
        super().__init__(settings or ScriptedSettings(tokens_per_second=0, reply_tokens=8))
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if request.purpose == "reply":
            self.requests.append(request)
        async for event in super().stream(request):
            yield event


async def turn(client: Client, route: str, **frame: Any) -> None:
    event = samples.message(client.connection_id, route, {"action": route, **frame})
    assert await regenerate.handle(event, client.app) == {"statusCode": 200}


def stored(client: Client) -> list[dict[str, Any]]:
    return client.of_type("message")


async def test_regenerate_replaces_the_last_reply_in_the_store_and_every_tab() -> None:
    async with running_app(model=RecordingModel()) as app:
        a = await Client.connect(app, "a=")
        b = await Client.connect(app, "b=", a.session_id)
        await a.say("a haiku please")
        await settle(app)
        (old,) = [m for m in stored(a) if m["role"] == "AGENT"]
        prompt = stored(a)[0]["createdAt"]

        await turn(b, "regenerate", replyTo=prompt)
        await settle(app)
        for tab in (a, b):
            (removed,) = tab.of_type("removed")
            assert removed["createdAt"] == [old["createdAt"]]
            assert tab.of_type("done")[-1]["status"] == "complete"
            assert tab.of_type("done")[-1]["replyId"] != old["replyId"]
        kept = await app.store.messages_after(a.session_id, None, 50)
        assert [(m.role, m.reply_to) for m in kept] == [(Role.USER, None), (Role.AGENT, prompt)]
        assert kept[1].created_at > old["createdAt"]
        session = await app.store.get_session(a.session_id)
        assert session is not None and not session.has_pending


async def test_the_new_reply_sees_neither_the_old_reply_nor_its_response_chain() -> None:
    model = RecordingModel()
    async with running_app(model=model) as app:
        a = await Client.connect(app, "a=")
        for text in ("first", "second"):
            await a.say(text)
            await settle(app)
        assert model.requests[-1].previous_response_id is not None
        await turn(a, "regenerate")
        await settle(app)
        again = model.requests[-1]
        assert again.prompt == "second"
        # Rebuilt from the store: the first turn, and nothing of the reply taken back.
        first_reply = next(m["message"] for m in stored(a) if m["role"] == "AGENT")
        assert [(h.role, h.content) for h in again.history] == [
            ("user", "first"),
            ("assistant", first_reply),
        ]
        assert again.previous_response_id is None
        memory = await app.agent_memory.recent_history(a.session_id)
        assert [h.role for h in memory] == ["user", "assistant"]  # the new turn only


async def test_edit_replaces_the_last_message_and_its_reply_in_every_tab() -> None:
    model = RecordingModel()
    async with running_app(model=model) as app:
        a = await Client.connect(app, "a=")
        b = await Client.connect(app, "b=", a.session_id)
        await a.say("waht is the capital of Japan")
        await settle(app)
        typo, reply = [m["createdAt"] for m in stored(a)]

        await turn(
            a,
            "editMessage",
            message="what is the capital of Japan",
            clientMessageId="e1",
            replaces=typo,
        )
        await settle(app)
        for tab in (a, b):
            (removed,) = tab.of_type("removed")
            assert removed["createdAt"] == [typo, reply]
            assert [m["message"] for m in stored(tab) if m["role"] == "USER"][
                -1
            ] == "what is the capital of Japan"
        kept = await app.store.messages_after(a.session_id, None, 50)
        assert next(m.message for m in kept) == "what is the capital of Japan"
        assert [m.role for m in kept] == [Role.USER, Role.AGENT]
        assert model.requests[-1].prompt == "what is the capital of Japan"
        assert model.requests[-1].history == ()

        # The same frame again (a retry after a reconnect): its echo to the sender, no change.
        before = len(b.frames)
        await turn(
            a,
            "editMessage",
            message="what is the capital of Japan",
            clientMessageId="e1",
            replaces=typo,
        )
        assert (
            stored(a)[-1]["message"] == "what is the capital of Japan"
            and stored(a)[-1]["clientMessageId"] == "e1"
        )
        assert len(b.frames) == before
        assert len(await app.store.messages_after(a.session_id, None, 50)) == 2


async def test_regenerate_while_a_reply_streams_is_refused_and_changes_nothing() -> None:
    slow = RecordingModel(ScriptedSettings(tokens_per_second=20, reply_tokens=40))
    async with running_app(model=slow) as app:
        a = await Client.connect(app, "a=")
        await a.say("tell me a story")
        await a.wait_for(lambda f: f["type"] == "delta")
        await turn(a, "regenerate")
        await turn(a, "editMessage", message="x", replaces=stored(a)[0]["createdAt"])
        codes = [f["code"] for f in a.of_type("error")]
        assert codes == ["REPLY_RUNNING", "REPLY_RUNNING"]
        assert a.of_type("removed") == []
        await settle(app)
        assert [f["status"] for f in a.of_type("done")] == ["complete"]
        assert len(slow.requests) == 1


@pytest.mark.parametrize(
    ("route", "frame", "code"),
    [
        ("regenerate", {"replyTo": 1}, "NOT_LAST_MESSAGE"),
        ("regenerate", {"replyTo": "1"}, "INVALID_CREATED_AT"),
        ("editMessage", {"message": "x", "replaces": 1}, "NOT_LAST_MESSAGE"),
        ("editMessage", {"message": "x"}, "INVALID_CREATED_AT"),
        ("editMessage", {"message": "x", "replaces": True}, "INVALID_CREATED_AT"),
        ("editMessage", {"message": " ", "replaces": 1}, "MESSAGE_EMPTY"),
        ("editMessage", {"message": "x", "replaces": 1, "sessionId": "nope"}, "SESSION_MISMATCH"),
    ],
)
async def test_a_bad_turn_frame_gets_its_code_and_changes_nothing(
    route: str, frame: dict[str, Any], code: str
) -> None:
    async with running_app(model=RecordingModel()) as app:
        a = await Client.connect(app, "a=")
        await a.say("hello")
        await settle(app)
        before = await app.store.messages_after(a.session_id, None, 50)
        await turn(a, route, **frame)
        assert a.of_type("error")[-1]["code"] == code
        assert a.of_type("error")[-1]["action"] == route
        assert await app.store.messages_after(a.session_id, None, 50) == before


async def test_regenerate_in_a_chat_without_messages_says_there_is_nothing() -> None:
    async with running_app(model=RecordingModel()) as app:
        a = await Client.connect(app, "a=")
        await turn(a, "regenerate")
        assert a.of_type("error")[-1]["code"] == "NOTHING_TO_REGENERATE"


async def test_a_tab_resuming_from_before_the_rewind_is_told_to_reload() -> None:
    """getMessages cannot page back to what was deleted: a cursor below the rewind gets
    ``rewound``; one from after it (or a fresh load) does not."""
    async with running_app(model=RecordingModel()) as app:
        a = await Client.connect(app, "a=")
        await a.say("hello")
        await settle(app)
        before = stored(a)[-1]["createdAt"]  # what an offline tab saw last
        await turn(a, "regenerate")
        await settle(app)
        for after, told in ((before, True), (None, False), (stored(a)[-1]["createdAt"], False)):
            frame = {} if after is None else {"after": after}
            await app.chat.get_messages("a=", frame)
            assert a.of_type("history")[-1].get("rewound", False) is told, after


class RacingLock(InProcessSessionLock):
    """Runs ``hook`` just before the next release: another tab's message arrives while a
    turn holds the lock, and its reply, finding the lock taken, leaves it to the holder."""

    hook: Any = None

    async def release(self, session_id: str, token: str) -> bool:
        hook, self.hook = self.hook, None
        if hook is not None:
            await hook()
        return await super().release(session_id, token)


async def test_a_message_sent_while_a_refused_turn_holds_the_lock_is_still_answered() -> None:
    lock = RacingLock()
    async with running_app(model=RecordingModel(), lock=lock) as app:
        a = await Client.connect(app, "a=")
        b = await Client.connect(app, "b=", a.session_id)
        await a.say("hello")
        await settle(app)

        async def meanwhile() -> None:
            await b.say("meanwhile")
            await anyio.sleep(0.2)  # its reply starts, finds the lock taken, returns

        lock.hook = meanwhile
        await turn(a, "regenerate", replyTo=1)  # refused: not the last message
        assert a.of_type("error")[-1]["code"] == "NOT_LAST_MESSAGE"
        await settle(app)
        session = await app.store.get_session(a.session_id)
        assert session is not None and not session.has_pending
        assert [f["status"] for f in a.of_type("done")] == ["complete", "complete"]
