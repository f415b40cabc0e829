"""Generating replies: streaming, persistence, stop, failures, one reply at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import anyio
import pytest

from adapters.inprocess import InProcessSessionLock, ScriptedChatModel
from adapters.inprocess.scripted_model import ScriptedSettings
from core.domain import Lease, ModelEvent, ModelRequest, Role, TextDelta
from core.errors import BackendUnavailable, NothingToStop
from core.ports import LeaseState
from tests.support import Client, fast_settings, running_app, settle

pytestmark = pytest.mark.anyio


def conversation(messages):  # type: ignore[no-untyped-def]
    return [(m.role.value, m.message) for m in messages if m.message_type == "CONVERSATION"]


class RecordingModel:
    """The scripted model, keeping every request it was given."""

    def __init__(self, **settings: object) -> None:
        self.inner = ScriptedChatModel(ScriptedSettings(tokens_per_second=0, **settings))  # type: ignore[arg-type]
        self.requests: list[ModelRequest] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        async for event in self.inner.stream(request):
            yield event


async def test_reply_streams_as_deltas_and_is_stored_whole() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)
        deltas = client.of_type("delta")
        (final,) = [f for f in client.of_type("message") if f["role"] == "AGENT"]
        assert [d["seq"] for d in deltas] == list(range(len(deltas)))
        assert "".join(d["text"] for d in deltas) == final["message"]
        assert "azuchi's offline scripted model" in final["message"]
        assert final["status"] == "complete" and final["usage"]["outputTokens"] > 0
        (done,) = client.of_type("done")
        assert done["status"] == "complete" and done["replyId"] == final["replyId"]
        stored = await app.store.last_messages(client.session_id, 10)
        assert conversation(stored) == [("USER", "hello"), ("AGENT", final["message"])]


async def test_first_exchange_gives_the_session_a_title_once() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await client.say("Tell me about castles in Japan")
        await settle(app)
        await client.say("and their gardens?")
        await settle(app)
        titles = client.of_type("session")
        assert [t["title"] for t in titles] == ["Tell me about castles in"]
        session = await app.store.get_session(client.session_id)
        assert session is not None and session.title == "Tell me about castles in"


async def test_second_turn_carries_the_history_and_previous_response_id() -> None:
    model = RecordingModel()
    async with running_app(model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("first question")
        await settle(app)
        await client.say("second question")
        await settle(app)
        replies = [r for r in model.requests if r.purpose == "reply"]
        assert replies[0].history == () and replies[0].previous_response_id is None
        last = replies[-1]
        assert [h.role for h in last.history] == ["user", "assistant"]
        assert last.history[0].content == "first question"
        assert last.prompt == "second question"
        assert last.previous_response_id is not None


async def test_history_is_rebuilt_from_storage_when_agent_memory_is_lost() -> None:
    model = RecordingModel()
    async with running_app(model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("remember me")
        await settle(app)
        app.agent_memory._history.clear()  # type: ignore[attr-defined]  # e.g. a cache flush
        await client.say("what did I say?")
        await settle(app)
        last = [r for r in model.requests if r.purpose == "reply"][-1]
        assert [h.content for h in last.history][:1] == ["remember me"]
        assert len(last.history) == 2


async def test_plan_and_tool_steps_are_shown_and_stored() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await client.say("make a plan and compute 12 * 7")
        await settle(app)
        kinds = [(f["role"], f["messageType"]) for f in client.of_type("message")]
        assert kinds[:2] == [("USER", "CONVERSATION"), ("AGENT", "PLAN")]
        logs = [f["message"] for f in client.of_type("message") if f["messageType"] == "AGENT_LOG"]
        assert "← calculate: 12 * 7 = 84" in logs
        assert any(line.startswith("→ current_time") for line in logs)
        final = [f for f in client.of_type("message") if f["messageType"] == "CONVERSATION"][-1]
        assert "12 * 7 = 84" in final["message"]


async def test_model_failure_mid_reply_keeps_the_partial_text_and_the_session_usable() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await client.say("please /fail now")
        await settle(app)
        stored = await app.store.last_messages(client.session_id, 10)
        agent = [m for m in stored if m.role is Role.AGENT][-1]
        system = [m for m in stored if m.role is Role.SYSTEM][-1]
        assert agent.status == "error" and agent.message.startswith("Hello!")
        assert "MODEL_STREAM_ERROR" in system.message and "saved" in system.message
        assert client.of_type("done")[-1]["status"] == "error"
        await client.say("are you back?")
        await settle(app)
        assert client.of_type("done")[-1]["status"] == "complete"


async def test_stop_ends_the_reply_and_keeps_the_partial_text() -> None:
    settings = fast_settings(
        AZUCHI_SCRIPTED_TOKENS_PER_SECOND="100", AZUCHI_SCRIPTED_REPLY_TOKENS="500"
    )
    async with running_app(settings) as app:
        client = await Client.connect(app, "c1")
        await client.say("talk for a long time")
        await client.wait_for(lambda f: f["type"] == "delta")
        await app.chat.stop_generation("c1")  # a reply is running: no NothingToStop
        await settle(app)
        (done,) = client.of_type("done")
        assert done["status"] == "stopped"
        agent = [
            m for m in await app.store.last_messages(client.session_id, 10) if m.role is Role.AGENT
        ]
        assert agent[-1].status == "stopped"
        assert 0 < len(agent[-1].message.split()) < 500
        assert agent[-1].message == "".join(d["text"] for d in client.of_type("delta"))


async def test_stop_with_nothing_running_says_so_and_spoils_nothing() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        with pytest.raises(NothingToStop):
            await app.chat.stop_generation("c1")
        await client.say("hello")
        await settle(app)
        assert client.of_type("done")[-1]["status"] == "complete"


async def test_messages_sent_during_a_reply_are_answered_one_after_the_other() -> None:
    settings = fast_settings(
        AZUCHI_SCRIPTED_TOKENS_PER_SECOND="400", AZUCHI_SCRIPTED_REPLY_TOKENS="40"
    )
    async with running_app(settings) as app:
        client = await Client.connect(app, "c1")
        async with anyio.create_task_group() as tg:
            for text in ("one", "two", "three"):
                tg.start_soon(client.say, text)
        await settle(app)
        # Replies never interleave: every reply's deltas come before its done, and the
        # next reply's deltas only after.
        order = [
            (f["type"], f.get("replyId")) for f in client.frames if f["type"] in ("delta", "done")
        ]
        finished: set[str] = set()
        current = None
        for kind, reply in order:
            assert reply not in finished
            if kind == "delta":
                assert current in (None, reply)
                current = reply
            else:
                finished.add(reply)  # type: ignore[arg-type]
                current = None
        assert len(finished) == 3  # one reply per message
        session = await app.store.get_session(client.session_id)
        assert session is not None and not session.has_pending
        users = [
            m for m in await app.store.last_messages(client.session_id, 50) if m.role is Role.USER
        ]
        assert sorted(m.message for m in users) == ["one", "three", "two"]


async def test_a_client_that_leaves_mid_reply_still_gets_its_reply_stored() -> None:
    settings = fast_settings(
        AZUCHI_SCRIPTED_TOKENS_PER_SECOND="300", AZUCHI_SCRIPTED_REPLY_TOKENS="60"
    )
    async with running_app(settings) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await client.wait_for(lambda f: f["type"] == "delta")
        client.outbox.closed = True  # the socket died without a $disconnect yet
        await settle(app)
        agent = [
            m for m in await app.store.last_messages(client.session_id, 10) if m.role is Role.AGENT
        ]
        assert agent[-1].status == "complete" and len(agent[-1].message.split()) == 60
        assert await app.store.get_connection("c1") is None  # gone connections are dropped


class LosingLock(InProcessSessionLock):
    """Loses the first lease it gives (as a holder paused past its lease does): the lease
    is gone at once, so the test waits for no expiry (a short lease flaked under load)."""

    lost = False

    async def extend(self, session_id: str, token: str, lease_ms: int) -> LeaseState:
        if not self.lost:
            self.lost = True
            self._leases.pop(session_id, None)
            return LeaseState.LOST
        return await super().extend(session_id, token, lease_ms)


async def test_a_holder_that_loses_its_lock_stops_writing_and_the_reply_is_recovered() -> None:
    settings = fast_settings(
        AZUCHI_SCRIPTED_TOKENS_PER_SECOND="100",
        AZUCHI_SCRIPTED_REPLY_TOKENS="300",
    )
    async with running_app(settings, lock=LosingLock()) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)
        first = client.of_type("done")[0]
        assert first["status"] == "interrupted"  # the page stops showing it streaming
        stored = await app.store.last_messages(client.session_id, 10)
        # The lost holder wrote nothing; the message is still pending, not answered.
        assert [m for m in stored if m.role is Role.AGENT] == []
        session = await app.store.get_session(client.session_id)
        assert session is not None and session.has_pending
        # The lease is gone: a client asking for its messages gets the reply.
        await app.chat.get_messages("c1", {})
        await settle(app)
        dones = client.of_type("done")
        assert [d["status"] for d in dones] == ["interrupted", "interrupted", "complete"]
        assert dones[1]["replyId"] == first["replyId"] != dones[2]["replyId"]
        stored = await app.store.last_messages(client.session_id, 10)
        final = [m for m in stored if m.role is Role.AGENT][-1]
        assert final.status == "complete" and len(final.message.split()) == 300


class DownLock(InProcessSessionLock):
    """Unreachable for its first ``failures`` acquires."""

    def __init__(self, failures: int = 10**9) -> None:
        super().__init__()
        self.failures = failures

    async def acquire(self, session_id: str, lease_ms: int) -> Lease | None:
        if self.failures > 0:
            self.failures -= 1
            raise BackendUnavailable("connection refused")
        return await super().acquire(session_id, lease_ms)


async def test_lock_backend_down_keeps_the_message_and_tells_the_user() -> None:
    async with running_app(lock=DownLock()) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)
        stored = await app.store.last_messages(client.session_id, 10)
        assert conversation(stored) == [("USER", "hello")]
        system = [f for f in client.of_type("message") if f["messageType"] == "SYSTEM_LOG"]
        assert "agent is unavailable" in system[0]["message"]


async def test_a_message_stored_while_the_lock_was_down_is_answered_when_it_is_back() -> None:
    lock = DownLock(failures=3)
    async with running_app(lock=lock) as app:
        app.replies._config = dataclasses.replace(  # type: ignore[attr-defined]
            app.replies._config,  # type: ignore[attr-defined]
            lock_retry_first_ms=10,
            lock_retry_s=30.0,
        )
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)  # nobody sends anything more
        system = [f for f in client.of_type("message") if f["messageType"] == "SYSTEM_LOG"]
        assert len(system) == 1 and "answers it by itself" in system[0]["message"]
        assert client.of_type("done")[-1]["status"] == "complete"
        stored = await app.store.last_messages(client.session_id, 10)
        assert [r for r, _ in conversation(stored)] == ["USER", "AGENT"]


class FailingModel:
    model_id = "broken"

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        yield TextDelta("Half a ")
        raise RuntimeError("bug in an adapter")


async def test_an_unexpected_error_is_reported_not_swallowed() -> None:
    async with running_app(model=FailingModel()) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)
        stored = await app.store.last_messages(client.session_id, 10)
        assert [m.message for m in stored if m.role is Role.AGENT] == ["Half a "]
        assert "INTERNAL_ERROR" in next(m for m in stored if m.role is Role.SYSTEM).message


class UnreleasableLock(InProcessSessionLock):
    async def release(self, session_id: str, token: str) -> bool:
        raise BackendUnavailable("connection reset")


async def test_a_lock_that_cannot_be_released_does_not_fail_a_delivered_reply() -> None:
    from core.domain import MessageDraft

    async with running_app(lock=UnreleasableLock()) as app:
        client = await Client.connect(app, "c1")
        stored = await app.store.append_message(
            MessageDraft(client.session_id, Role.USER, "CONVERSATION", "hello")
        )
        await app.store.record_user_message(client.session_id, stored.message.created_at)
        assert await app.replies.run_pending(client.session_id) == 1  # and no exception
        assert client.of_type("done")[-1]["status"] == "complete"


async def test_a_huge_reply_is_stored_cut_to_the_byte_limit_on_a_character_boundary() -> None:
    settings = fast_settings(AZUCHI_SCRIPTED_REPLY_TOKENS="3000")
    async with running_app(settings, model=RecordingModel(reply_tokens=3000)) as app:
        app.replies._config = __import__("dataclasses").replace(  # type: ignore[attr-defined]
            app.replies._config,  # type: ignore[attr-defined]
            max_reply_bytes=1001,
        )
        client = await Client.connect(app, "c1")
        await client.say("日本語で長く話して")
        await settle(app)
        agent = [
            m for m in await app.store.last_messages(client.session_id, 10) if m.role is Role.AGENT
        ]
        assert 990 < len(agent[-1].message.encode("utf-8")) <= 1001
        assert client.of_type("done")[-1]["status"] == "complete"
