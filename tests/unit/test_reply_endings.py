"""How a reply ended reaches the user: ``done.stopReason``, the note that says what to do,
reasoning shown apart, and context limits that never break a session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest

from core.domain import (
    ModelEvent,
    ModelRequest,
    ReasoningDelta,
    StopReason,
    StreamEnded,
    TextDelta,
    Usage,
    UsageReported,
)
from core.errors import ModelContextExceeded
from core.services.stops import EMPTY, EMPTY_AFTER_THINKING, NOTES, TOO_LONG
from tests.support import Client, fast_settings, running_app, settle

pytestmark = pytest.mark.anyio

Script = Callable[[ModelRequest], list[ModelEvent]]


class FakeModel:
    """Streams what ``script`` says for each request, and keeps the requests."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[ModelRequest] = []

    @property
    def model_id(self) -> str:
        return "fake-model"

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        for event in self.script(request):
            yield event

    def replies(self) -> list[ModelRequest]:
        return [r for r in self.requests if r.purpose == "reply"]


def says(text: str, stop: str = "end_turn", reasoning: str = "") -> list[ModelEvent]:
    events: list[ModelEvent] = [ReasoningDelta(reasoning)] if reasoning else []
    events += [TextDelta(word) for word in re.findall(r"\S+\s*", text)]
    return [*events, UsageReported(Usage(10, 5)), StreamEnded(stop)]


async def one_reply(model: FakeModel, text: str = "hello", **env: str) -> Client:
    async with running_app(fast_settings(AZUCHI_TITLES="false", **env), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say(text)
        await settle(app)
        return client


def notes(client: Client) -> list[str]:
    return [f["message"] for f in client.of_type("message") if f["messageType"] == "SYSTEM_LOG"]


def agent(client: Client) -> list[dict[str, object]]:
    return [f for f in client.of_type("message") if f["role"] == "AGENT"]


async def test_a_normal_end_says_end_turn_and_adds_no_note() -> None:
    client = await one_reply(FakeModel(lambda r: says("all done")))
    (done,) = client.of_type("done")
    assert done["status"] == "complete" and done["stopReason"] == "end_turn"
    (reply,) = agent(client)
    assert "stopReason" not in reply and notes(client) == []


@pytest.mark.parametrize(
    "stop", ["max_tokens", "content_filtered", "guardrail", "refusal", "context_window"]
)
async def test_a_reply_cut_short_is_marked_and_explained(stop: str) -> None:
    client = await one_reply(FakeModel(lambda r: says("part of an answer", stop)))
    (done,) = client.of_type("done")
    assert done["stopReason"] == stop
    (reply,) = agent(client)
    assert reply["message"] == "part of an answer" and reply["stopReason"] == stop
    assert notes(client) == [NOTES[StopReason(stop)]]


async def test_an_empty_reply_is_never_stored_as_complete() -> None:
    client = await one_reply(FakeModel(lambda r: says("")))
    (done,) = client.of_type("done")
    assert done["status"] == "error"
    assert agent(client) == [] and notes(client) == [EMPTY]


async def test_thinking_that_used_the_whole_budget_says_so() -> None:
    model = FakeModel(lambda r: says("", "max_tokens", reasoning="Let me think about it"))
    client = await one_reply(model)
    (done,) = client.of_type("done")
    assert done["status"] == "error" and done["stopReason"] == "max_tokens"
    assert notes(client) == [EMPTY_AFTER_THINKING]
    (thought,) = agent(client)
    assert thought["messageType"] == "REASONING"
    assert thought["message"] == "Let me think about it"


async def test_reasoning_streams_as_its_own_type_numbered_apart() -> None:
    client = await one_reply(FakeModel(lambda r: says("The answer is 4", reasoning="2 + 2")))
    deltas = client.of_type("delta")
    for kind in ("REASONING", "CONVERSATION"):  # clients key a stream by reply and type
        seqs = [d["seq"] for d in deltas if d["messageType"] == kind]
        assert seqs == list(range(len(seqs))) and seqs
    by_type = {d["messageType"]: "" for d in deltas}
    for d in deltas:
        by_type[d["messageType"]] += d["text"]
    assert by_type == {"REASONING": "2 + 2", "CONVERSATION": "The answer is 4"}
    kinds = [(m["messageType"], m["message"]) for m in agent(client)]
    assert kinds == [("REASONING", "2 + 2"), ("CONVERSATION", "The answer is 4")]


def over_the_window(request: ModelRequest) -> list[ModelEvent]:
    """A model with a small context: about 1,000 characters fit."""
    if len(request.prompt) + sum(len(h.content) for h in request.history) > 1000:
        raise ModelContextExceeded("the input is too long for the model's context")
    return says(f"answered {request.prompt[:20]}")


async def test_a_context_error_drops_the_oldest_history_and_retries_once() -> None:
    def script(request: ModelRequest) -> list[ModelEvent]:
        if len(request.history) > 2:
            raise ModelContextExceeded("too long")
        return says("fine")

    model = FakeModel(script)
    async with running_app(fast_settings(AZUCHI_TITLES="false"), model=model) as app:
        client = await Client.connect(app, "c1")
        for text in ("one", "two", "three"):
            await client.say(text)
            await settle(app)
        last = [f for f in client.of_type("done")][-1]
        assert last["status"] == "complete"
    third = [r for r in model.replies() if r.prompt == "three"]
    assert [len(r.history) for r in third] == [4, 2]  # refused whole, then the newer half
    assert [h.content for h in third[-1].history] == ["two", "fine"]


async def test_a_message_too_long_for_the_model_leaves_the_session_usable() -> None:
    model = FakeModel(over_the_window)
    async with running_app(fast_settings(AZUCHI_TITLES="false"), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("x" * 15_000)
        await settle(app)
        (done,) = client.of_type("done")
        assert done["status"] == "error" and done["stopReason"] == "context_window"
        assert notes(client) == [TOO_LONG]
        assert "send another message to try again" not in TOO_LONG
        await client.say("short question")
        await settle(app)
        assert client.of_type("done")[-1]["status"] == "complete"
        # and again after agent memory is lost: the rebuilt history leaves it out too
        app.agent_memory._history.clear()  # type: ignore[attr-defined]
        await client.say("another")
        await settle(app)
        assert client.of_type("done")[-1]["status"] == "complete"
    assert [len(r.history) for r in model.replies()] == [0, 0, 2]
    sent = [r for r in model.replies() if r.prompt != "x" * 15_000]
    assert all("x" * 100 not in h.content for r in sent for h in r.history)


async def test_the_history_never_exceeds_the_context_window() -> None:
    model = FakeModel(lambda r: says("y " * 200))
    env = {"AZUCHI_TITLES": "false", "AZUCHI_CONTEXT_WINDOW_TOKENS": "2048"}
    async with running_app(fast_settings(**env), model=model) as app:
        client = await Client.connect(app, "c1")
        for index in range(12):
            await client.say(f"question {index} " + "z" * 1200)
            await settle(app)
    last = model.replies()[-1]
    sent = sum(len(h.content) for h in last.history) // 4
    assert 0 < sent <= 2048 // 2  # the other half is the reply's room
